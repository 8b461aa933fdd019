from __future__ import annotations

import pytest

from protocol import InvalidIdentifier, validate_identifier
from protocol.topics import (
    TopicKind,
    TopicRef,
    device_status_topic,
    events_topic,
    filter_matches,
    parse_topic,
    public_topics,
    queue_topic,
    tenant_wildcard,
    ticket_topic,
    ticket_wildcard,
)


@pytest.mark.parametrize("good", ["default", "a", "clinica-2", "loja_9", "0abc", "x" * 63])
def test_valid_identifiers_pass_unchanged(good: str) -> None:
    assert validate_identifier(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "+",
        "#",
        "a/b",
        "a+",
        "a#",
        "tenant/+",
        "Upper",
        "-lead",
        "_lead",
        "sp ace",
        "é",
        "x" * 64,
    ],
)
def test_identifiers_that_could_escape_a_topic_level_are_refused(bad: str) -> None:
    with pytest.raises(InvalidIdentifier, match="invalid"):
        validate_identifier(bad)


def test_topic_builders_write_the_documented_names() -> None:
    assert queue_topic("t1") == "tenant/t1/queue"
    assert ticket_topic("t1", "abc123") == "tenant/t1/tickets/abc123"
    assert ticket_wildcard("t1") == "tenant/t1/tickets/+"
    assert events_topic("t1") == "tenant/t1/events"
    assert device_status_topic("t1", "totem-1") == "tenant/t1/devices/totem-1/status"
    assert tenant_wildcard("t1") == "tenant/t1/#"
    assert public_topics("t1") == ("tenant/t1/queue", "tenant/t1/events", "tenant/t1/tickets/+")


@pytest.mark.parametrize("bad_tenant", ["", "+", "#", "a/b"])
def test_topic_builders_refuse_wildcards_in_the_tenant_level(bad_tenant: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        queue_topic(bad_tenant)


@pytest.mark.parametrize("bad_ticket", ["", "+", "#", "a/b"])
def test_ticket_topic_refuses_wildcards_in_the_ticket_level(bad_ticket: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        ticket_topic("t1", bad_ticket)


@pytest.mark.parametrize(
    ("topic", "ref"),
    [
        ("tenant/t1/queue", TopicRef("t1", TopicKind.QUEUE)),
        ("tenant/t1/events", TopicRef("t1", TopicKind.EVENTS)),
        ("tenant/t1/tickets/abc", TopicRef("t1", TopicKind.TICKET, "abc")),
        ("tenant/t1/devices/d-1/status", TopicRef("t1", TopicKind.DEVICE_STATUS, "d-1")),
    ],
)
def test_parse_topic_round_trips_our_topics(topic: str, ref: TopicRef) -> None:
    assert parse_topic(topic) == ref


@pytest.mark.parametrize(
    "topic",
    [
        "tenant/t1",
        "tenant/+/queue",
        "tenant/t1/#",
        "tenant/T1/queue",
        "other/t1/queue",
        "tenant/t1/queue/extra",
        "tenant/t1/tickets/",
        "tenant/t1/devices/d/other",
        "$SYS/broker/uptime",
    ],
)
def test_parse_topic_rejects_anything_else(topic: str) -> None:
    assert parse_topic(topic) is None


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("tenant/t1/queue", "tenant/t1/queue", True),
        ("tenant/t1/queue", "tenant/t2/queue", False),
        ("tenant/+/queue", "tenant/t2/queue", True),
        ("tenant/t1/#", "tenant/t1/tickets/x", True),
        ("tenant/t1/#", "tenant/t1", True),  # '#' also matches the parent level (§4.7.1.2)
        ("tenant/t1/#", "tenant/t2/queue", False),
        ("#", "tenant/t1/queue", True),
        ("#", "$SYS/broker/load", False),
        ("+/t1/queue", "$SYS/t1/queue", False),
        ("$SYS/#", "$SYS/broker/load", True),
        ("tenant/t1/tickets/+", "tenant/t1/tickets/a/b", False),
        ("tenant/t1/+", "tenant/t1/queue", True),
        ("tenant/t1", "tenant/t1/queue", False),
    ],
)
def test_filter_matching_follows_mqtt_3_1_1(topic_filter: str, topic: str, expected: bool) -> None:
    assert filter_matches(topic_filter, topic) is expected
