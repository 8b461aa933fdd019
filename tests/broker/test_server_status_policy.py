"""The server status topic in the tenant ACL: every role may read that one literal topic (it names
no tenant), only the API's publisher may write it, and nothing around it opens up. No network."""

from __future__ import annotations

import pytest

from protocol import Role
from protocol.server_status import SERVER_STATUS_TOPIC
from tests.broker.test_policy import grant

ALL_ROLES = [Role.PUBLISHER, Role.SUPERADMIN, Role.ADMIN, Role.OPERATOR, Role.TOTEM, Role.DISPLAY]
NEAR_MISSES = ["queuecast/#", "queuecast/server/+", "queuecast/+/status", "+/server/status", "#"]


@pytest.mark.parametrize("role", [*ALL_ROLES, Role.PUBLIC])
def test_every_role_reads_the_server_status_and_nothing_near_it(role: Role) -> None:
    tenant = None if role in (Role.PUBLISHER, Role.SUPERADMIN) else "a"
    g = grant(role, tenant)
    assert g.may_subscribe(SERVER_STATUS_TOPIC)
    assert g.may_receive(SERVER_STATUS_TOPIC)
    for topic_filter in NEAR_MISSES:
        assert not g.may_subscribe(topic_filter), topic_filter
    assert not g.may_receive("queuecast/server/other")


@pytest.mark.parametrize("role", [*ALL_ROLES, Role.PUBLIC])
def test_only_the_publisher_writes_the_server_status(role: Role) -> None:
    tenant = None if role in (Role.PUBLISHER, Role.SUPERADMIN) else "a"
    assert grant(role, tenant).may_publish(SERVER_STATUS_TOPIC) is (role is Role.PUBLISHER)
    assert not grant(role, tenant).may_publish("queuecast/server/other")
