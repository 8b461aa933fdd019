"""A ticket's retained topic holds its state while it lives and is cleared after it ends."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from protocol import TicketStatus, TicketUpdate, decode
from protocol.topics import ticket_topic
from tests.support.mqtt import Received, Recorder
from tests.support.system import RunningSystem, start_system


@pytest.fixture
def quick_clearing(tmp_path: Path) -> Iterator[RunningSystem]:
    with start_system(tmp_path, env={"QUEUECAST_TICKET_CLEAR_GRACE_S": "1"}) as running:
        yield running


def test_ticket_topic_follows_the_ticket_then_is_cleared(quick_clearing: RunningSystem) -> None:
    system = quick_clearing
    tenant = system.tenant
    totem = system.device_token(role="totem", device_id="totem-1")
    operator = system.auth(system.login("operator"))
    ticket = system.http.post(
        f"/api/v1/tenants/{tenant}/tickets", json={"service": "A"}, headers=system.auth(totem)
    ).json()
    topic = ticket_topic(tenant, ticket["id"])

    follower = Recorder("127.0.0.1", system.mqtt_port, username="t", password=totem).connect()
    try:
        follower.subscribe(topic)
        first = decode(follower.wait_for(lambda m: bool(m.payload)).payload)
        assert isinstance(first, TicketUpdate)
        assert first.ticket.status is TicketStatus.WAITING

        opened = system.http.post(f"/api/v1/tenants/{tenant}/counters/1/open", headers=operator)
        assert opened.status_code == 200, opened.text
        for action in ("call", "start", "complete"):
            response = system.http.post(
                f"/api/v1/tenants/{tenant}/tickets/{ticket['id']}/{action}",
                json={"counter": 1} if action == "call" else None,
                headers=operator,
            )
            assert response.status_code == 200, (action, response.text)

        done = follower.wait_for(
            lambda m: bool(m.payload) and decode(m.payload).ticket.status == "completed"  # type: ignore[union-attr]
        )
        assert decode(done.payload).ticket.status is TicketStatus.COMPLETED  # type: ignore[union-attr]
        follower.wait_for(lambda m: m.payload == b"", timeout=10)
    finally:
        follower.close()

    newcomer = Recorder("127.0.0.1", system.mqtt_port, username="t", password=totem).connect()
    try:
        newcomer.subscribe(topic)
        assert newcomer.drain(1.0) == [], "a cleared topic retains nothing"
    finally:
        newcomer.close()


def test_the_ticket_topic_carries_each_call_id_so_a_phone_announces_a_recall(
    quick_clearing: RunningSystem,
) -> None:
    """The phone follows its ticket topic alone: the call and every recall reach it with their
    own call id (the one the events and the queue document's last calls carry)."""
    system = quick_clearing
    tenant = system.tenant
    totem = system.device_token(role="totem", device_id="totem-1")
    operator = system.auth(system.login("operator"))
    ticket = system.http.post(
        f"/api/v1/tenants/{tenant}/tickets", json={"service": "A"}, headers=system.auth(totem)
    ).json()
    assert ticket["call_id"] is None
    follower = Recorder("127.0.0.1", system.mqtt_port, username="t", password=totem).connect()
    try:
        follower.subscribe(ticket_topic(tenant, ticket["id"]))
        follower.wait_for(lambda m: bool(m.payload))
        assert system.http.post(
            f"/api/v1/tenants/{tenant}/counters/1/open", headers=operator
        ).is_success
        calls: list[str] = []
        for action in ("call", "recall", "start"):
            response = system.http.post(
                f"/api/v1/tenants/{tenant}/tickets/{ticket['id']}/{action}",
                json={"counter": 1} if action == "call" else None,
                headers=operator,
            )
            assert response.status_code == 200, (action, response.text)
            calls.append(response.json()["call_id"])
            follower.wait_for(partial(_carries_call, calls[-1]))
        call, recall, started = calls
        assert call
        assert recall != call, "a recall is a new call id"
        assert started == recall, "in service under the call that brought it"
        last_calls = system.http.get(f"/api/v1/tenants/{tenant}/queue").json()["last_calls"]
        assert [c["call_id"] for c in last_calls[:2]] == [recall, call]
    finally:
        follower.close()


def _carries_call(call_id: str, message: Received) -> bool:
    if not message.payload:
        return False
    update = decode(message.payload)
    return isinstance(update, TicketUpdate) and update.ticket.call_id == call_id
