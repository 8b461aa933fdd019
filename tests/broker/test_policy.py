"""The tenant ACL alone: every role's grant, filter containment, filter syntax. No network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker.policy import DECISIONS_KEPT, Grant, filter_within, grant_for, is_valid_filter
from protocol import Principal, Role
from protocol.topics import (
    device_status_topic,
    events_topic,
    filter_matches,
    queue_topic,
    ticket_topic,
)
from tests.broker.harness import FOREIGN_FILTERS


def principal(role: Role, tenant: str | None, subject: str = "someone") -> Principal:
    return Principal(
        subject=subject,
        role=role,
        tenant=tenant,
        token_id="t1",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )


def grant(role: Role, tenant: str | None = "a", subject: str = "dev-1") -> Grant:
    return grant_for(principal(role, tenant, subject))


TENANT_ROLES = [Role.ADMIN, Role.OPERATOR, Role.TOTEM, Role.DISPLAY]


@pytest.mark.parametrize("role", TENANT_ROLES)
@pytest.mark.parametrize("topic_filter", FOREIGN_FILTERS)
def test_tenant_roles_cannot_subscribe_outside_their_tenant(role: Role, topic_filter: str) -> None:
    assert not grant(role).may_subscribe(topic_filter)


@pytest.mark.parametrize("role", TENANT_ROLES)
@pytest.mark.parametrize(
    "topic_filter",
    [
        "tenant/a/#",
        "tenant/a/queue",
        "tenant/a/+",
        "tenant/a/tickets/+",
        "tenant/a/devices/+/status",
    ],
)
def test_tenant_roles_subscribe_to_their_own_tenant(role: Role, topic_filter: str) -> None:
    assert grant(role).may_subscribe(topic_filter)


@pytest.mark.parametrize("topic_filter", ["tenant/a/#", "tenant/a/+", "tenant/a/devices/+/status"])
def test_public_cannot_widen_its_topics(topic_filter: str) -> None:
    assert not grant(Role.PUBLIC).may_subscribe(topic_filter)


@pytest.mark.parametrize(
    "topic_filter",
    ["tenant/a/queue", "tenant/a/events", "tenant/a/tickets/+", "tenant/a/tickets/x1"],
)
def test_public_subscribes_to_public_topics_or_narrower(topic_filter: str) -> None:
    assert grant(Role.PUBLIC).may_subscribe(topic_filter)


@pytest.mark.parametrize("topic_filter", FOREIGN_FILTERS)
def test_public_refused_everything_foreign(topic_filter: str) -> None:
    assert not grant(Role.PUBLIC).may_subscribe(topic_filter)


def test_devices_publish_only_their_own_presence() -> None:
    g = grant(Role.DISPLAY, "a", "disp-1")
    assert g.may_publish(device_status_topic("a", "disp-1"))
    assert not g.may_publish(device_status_topic("a", "disp-2"))
    assert not g.may_publish(device_status_topic("b", "disp-1"))
    assert not g.may_publish(queue_topic("a"))
    assert not g.may_publish(events_topic("a"))


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR, Role.PUBLIC, Role.SUPERADMIN])
def test_users_public_and_superadmin_publish_nothing(role: Role) -> None:
    g = grant(role, None if role is Role.SUPERADMIN else "a")
    for topic in (queue_topic("a"), ticket_topic("a", "t1"), device_status_topic("a", "dev-1")):
        assert not g.may_publish(topic)


def test_publisher_publishes_under_every_tenant_only() -> None:
    g = grant(Role.PUBLISHER, None, "publisher")
    assert g.may_publish(queue_topic("a"))
    assert g.may_publish(ticket_topic("zz", "t9"))
    for topic in ("tenant/a", "tenant//queue", "other/a/queue", "$SYS/x", "tenant/+/queue"):
        assert not g.may_publish(topic)
    assert g.may_subscribe("tenant/+/queue")
    assert g.may_subscribe("$SYS/#")
    assert not g.may_subscribe("#")


def test_superadmin_reads_every_tenant_but_not_sys() -> None:
    g = grant(Role.SUPERADMIN, None, "root")
    assert g.may_subscribe("tenant/#")
    assert g.may_subscribe("tenant/+/queue")
    assert not g.may_subscribe("#")
    assert not g.may_subscribe("$SYS/#")
    assert g.may_receive(queue_topic("b"))


def test_receive_check_confines_tenant_and_public_grants() -> None:
    assert grant(Role.OPERATOR).may_receive(queue_topic("a"))
    assert not grant(Role.OPERATOR).may_receive(queue_topic("b"))
    public = grant(Role.PUBLIC)
    assert public.may_receive(ticket_topic("a", "t1"))
    assert not public.may_receive(device_status_topic("a", "dev-1"))
    assert not public.may_receive(queue_topic("b"))


def test_identity_separates_tenants_roles_and_subjects() -> None:
    identities = {
        grant(Role.DISPLAY, "a", "d1").identity,
        grant(Role.DISPLAY, "b", "d1").identity,
        grant(Role.TOTEM, "a", "d1").identity,
        grant(Role.DISPLAY, "a", "d2").identity,
    }
    assert len(identities) == 4


def test_a_tenant_role_without_tenant_cannot_be_scoped() -> None:
    with pytest.raises(ValueError, match="needs a tenant"):
        grant_for(principal(Role.OPERATOR, None))


def test_a_device_with_an_unusable_id_cannot_be_scoped() -> None:
    with pytest.raises(ValueError, match="device id"):
        grant_for(principal(Role.TOTEM, "a", "bad/id"))


@pytest.mark.parametrize(
    ("topic_filter", "valid"),
    [
        ("a/#", True),
        ("#", True),
        ("+/+", True),
        ("a/#/b", False),
        ("a#", False),
        ("a/b+", False),
        ("", False),
        ("a/\x00", False),
    ],
)
def test_filter_syntax(topic_filter: str, valid: bool) -> None:
    assert is_valid_filter(topic_filter) is valid


LEVEL = st.sampled_from(["a", "b", "+", "#", ""])
FILTER = st.lists(LEVEL, min_size=1, max_size=4).map("/".join).filter(is_valid_filter)
TOPIC = st.lists(st.sampled_from(["a", "b", ""]), min_size=1, max_size=5).map("/".join)


@given(narrow=FILTER, broad=FILTER, topic=TOPIC)
def test_filter_within_means_every_match_of_narrow_matches_broad(
    narrow: str, broad: str, topic: str
) -> None:
    if filter_within(narrow, broad) and filter_matches(narrow, topic):
        assert filter_matches(broad, topic)


@given(topic_filter=FILTER)
def test_a_filter_is_within_itself(topic_filter: str) -> None:
    assert filter_within(topic_filter, topic_filter)


def test_a_grant_decides_each_question_once_and_remembers_a_bounded_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A grant is shared by every screen of its token: in a storm each asks the same questions."""
    decided: list[str] = []
    real_subscribe, real_receive = Grant._decide_subscribe, Grant._decide_receive

    def subscribe(self: Grant, topic_filter: str) -> bool:
        decided.append(topic_filter)
        return real_subscribe(self, topic_filter)

    def receive(self: Grant, topic: str) -> bool:
        decided.append(topic)
        return real_receive(self, topic)

    monkeypatch.setattr(Grant, "_decide_subscribe", subscribe)
    monkeypatch.setattr(Grant, "_decide_receive", receive)
    public = grant(Role.PUBLIC)
    for _ in range(3):
        assert public.may_subscribe(queue_topic("a"))
        assert not public.may_subscribe(queue_topic("b"))
        assert public.may_receive(queue_topic("a"))
        assert not public.may_receive(queue_topic("b"))
    assert decided == [queue_topic("a"), queue_topic("b")] * 2
    decided.clear()
    tickets = [ticket_topic("a", f"t{i}") for i in range(DECISIONS_KEPT * 2)]
    for _ in range(2):
        assert all(public.may_subscribe(topic) for topic in tickets)
    # The first ones (up to the bound, less the two above) are remembered; the rest decided
    # again each time, and nothing more is kept.
    assert len(decided) == len(tickets) + (len(tickets) - (DECISIONS_KEPT - 2))
    assert grant_for(public.principal) == public  # the decisions are no part of its value
