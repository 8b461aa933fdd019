"""The ``acl`` claim of our tokens, evaluated as EMQX evaluates it, allows exactly what our
broker's policy allows, for every role and a table of filters and topics that probe each edge
(other tenants, wildcards, the tenant level alone, empty levels, $SYS, other devices).

EMQX itself cannot run here: ``emqx_allows`` restates its documented rule semantics (first
matching rule wins; ``eq`` compares literally; otherwise ``emqx_topic:match``, where a rule's
``+`` takes any one word of the filter, ``#`` included, and a rule's ``#`` the rest and the
parent level; a ``$`` topic never matches a rule that starts with a wildcard).
"""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from broker.policy import grant_for
from protocol import Role, issue_token, verify_token
from protocol.broker_acl import Rule, emqx_acl
from protocol.server_status import SERVER_STATUS_TOPIC

SECRET = "acl-tests-secret-0123456789-abcdefghijklmnopqrstuvwxyz"

FILTERS = [
    "#", "+/#", "+", "tenant", "tenant/", "tenant/#", "tenant/+", "tenant/+/queue", "tenant/+/#",
    "tenant/a", "tenant/a/", "tenant/a/#", "tenant/a/+", "tenant/a/queue", "tenant/a/events",
    "tenant/a/tickets/+", "tenant/a/tickets/#", "tenant/a/tickets/t1", "tenant/a/tickets/",
    "tenant/a/tickets/t1/x", "tenant/a/+/t1", "tenant/a/devices/+/status",
    "tenant/a/devices/totem-1/status", "tenant/ab/#", "tenant/ab/queue", "tenant/b/#",
    "tenant/b/queue", "tenant/b/tickets/+", "$SYS/#", "$SYS/broker/uptime", SERVER_STATUS_TOPIC,
    "queuecast/#", "other/topic",
]  # fmt: skip
TOPICS = [
    "tenant", "tenant/a", "tenant/a/", "tenant//queue", "tenant/a/queue", "tenant/a/events",
    "tenant/a/tickets/t1", "tenant/a/devices/totem-1/status", "tenant/a/devices/other/status",
    "tenant/b/queue", "tenant/b/devices/totem-1/status", "tenant/ab/queue", SERVER_STATUS_TOPIC,
    "$SYS/broker/uptime", "other/topic",
]  # fmt: skip
IDENTITIES = [
    (Role.PUBLISHER, None, "publisher"),
    (Role.SUPERADMIN, None, "root"),
    (Role.ADMIN, "a", "adm"),
    (Role.OPERATOR, "a", "op"),
    (Role.TOTEM, "a", "totem-1"),
    (Role.DISPLAY, "a", "display-1"),
    (Role.PUBLIC, "a", "public"),
]


def _words(topic: str) -> list[str]:
    return topic.split("/")


def _match(name: list[str], rule: list[str]) -> bool:
    if not name and not rule:
        return True
    if rule == ["#"]:
        return True
    if not name or not rule:
        return False
    if name[0] == rule[0] or rule[0] == "+":
        return _match(name[1:], rule[1:])
    return False


def topic_matches(name: str, rule: str) -> bool:
    if name.startswith("$") and rule[:1] in ("+", "#"):
        return False
    return _match(_words(name), _words(rule))


def emqx_allows(rules: list[Rule], action: str, topic: str) -> bool:
    for rule in rules:
        if rule["action"] not in (action, "all"):
            continue
        pattern = rule["topic"]
        hit = (
            topic == pattern.removeprefix("eq ")
            if pattern.startswith("eq ")
            else topic_matches(topic, pattern)
        )
        if hit:
            return rule["permission"] == "allow"
    return False  # our configuration: no_match = deny


def claim_of(role: Role, tenant: str | None, subject: str) -> list[Rule]:
    token, _ = issue_token(
        secret=SECRET, subject=subject, role=role, tenant=tenant, ttl=timedelta(hours=1)
    )
    verify_token(token, secret=SECRET)  # still a valid token of ours
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], issuer="queuecast")
    acl: list[Rule] = claims["acl"]
    assert acl == emqx_acl(role.value, tenant, subject)
    return acl


@pytest.mark.parametrize(("role", "tenant", "subject"), IDENTITIES)
def test_the_token_claim_allows_exactly_what_our_broker_allows(
    role: Role, tenant: str | None, subject: str
) -> None:
    rules = claim_of(role, tenant, subject)
    _, principal = issue_token(
        secret=SECRET, subject=subject, role=role, tenant=tenant, ttl=timedelta(hours=1)
    )
    grant = grant_for(principal)
    subscribe = {f: emqx_allows(rules, "subscribe", f) for f in FILTERS}
    expected_subscribe = {f: grant.may_subscribe(f) for f in FILTERS}
    if role is Role.PUBLISHER:
        # Our publisher may watch our broker's (silent) $SYS; an EMQX cluster's $SYS is not ours.
        for topic_filter in ("$SYS/#", "$SYS/broker/uptime"):
            expected_subscribe[topic_filter] = False
    assert subscribe == expected_subscribe
    publish = {t: emqx_allows(rules, "publish", t) for t in TOPICS}
    assert publish == {t: grant.may_publish(t) for t in TOPICS}


def test_each_role_is_granted_something_and_nothing_of_tenant_b() -> None:
    for role, tenant, subject in IDENTITIES:
        rules = claim_of(role, tenant, subject)
        assert emqx_allows(rules, "subscribe", SERVER_STATUS_TOPIC)
        if tenant is not None:
            assert not any(
                emqx_allows(rules, a, "tenant/b/queue") for a in ("subscribe", "publish")
            )
        assert rules[-2:] == [
            {"permission": "deny", "action": "all", "topic": "#"},
            {"permission": "deny", "action": "all", "topic": "$SYS/#"},
        ]
