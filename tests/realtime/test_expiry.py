"""No ticket stays open forever, and every automatic ending is published like an operator's:
the sweeper of a real API (own process, embedded broker) ends a called ticket past the call
timeout, and subscribers get the ``ticket_status_changed`` event and the retained ticket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol import TicketStatus, TicketStatusChanged, TicketUpdate, decode
from protocol.topics import events_topic, ticket_topic
from tests.support.mqtt import Received, Recorder
from tests.support.system import RunningSystem, start_system


@pytest.fixture
def sweeping(tmp_path: Path) -> Iterator[RunningSystem]:
    with start_system(tmp_path, env={"QUEUECAST_SWEEP_INTERVAL_S": "0.2"}) as running:
        yield running


def _event_for(ticket_id: str):  # type: ignore[no-untyped-def]
    def predicate(message: Received) -> bool:
        if not message.payload:
            return False
        decoded = decode(message.payload)
        return (
            isinstance(decoded, TicketStatusChanged)
            and decoded.ticket.id == ticket_id
            and decoded.to_status is TicketStatus.NO_SHOW
        )

    return predicate


def test_a_called_ticket_past_the_call_timeout_becomes_no_show_and_is_published(
    sweeping: RunningSystem,
) -> None:
    system = sweeping
    base = f"/api/v1/tenants/{system.tenant}"
    admin = system.auth(system.login("admin"))
    operator = system.auth(system.login("operator"))
    r = system.http.patch(base, json={"call_timeout_s": 1}, headers=admin)
    assert r.status_code == 200, r.text
    display = system.device_token(role="display", device_id="display-1")
    recorder = Recorder("127.0.0.1", system.mqtt_port, username="d", password=display).connect()
    try:
        recorder.subscribe(events_topic(system.tenant))
        ticket = system.http.post(f"{base}/tickets", json={"service": "A"}, headers=operator)
        assert system.http.post(f"{base}/counters/1/open", headers=operator).status_code == 200
        called = system.http.post(f"{base}/counters/1/call-next", headers=operator).json()
        assert called["id"] == ticket.json()["id"]
        recorder.subscribe(ticket_topic(system.tenant, called["id"]))

        event = decode(recorder.wait_for(_event_for(called["id"]), timeout=20).payload)
        assert isinstance(event, TicketStatusChanged)
        assert event.from_status is TicketStatus.CALLED
        assert event.ticket.end_reason == "call_timeout"
        topic = ticket_topic(system.tenant, called["id"])
        retained = recorder.wait_for(
            lambda m: m.topic == topic and b'"status":"no_show"' in m.payload, timeout=10
        )
        update = decode(retained.payload)
        assert isinstance(update, TicketUpdate)
        assert update.ticket.end_reason == "call_timeout"
    finally:
        recorder.close()
    # The counter is free again, and the ticket's document says why it ended.
    document = system.http.get(f"{base}/tickets/{called['id']}").json()
    assert (document["status"], document["end_reason"]) == ("no_show", "call_timeout")
    counters = system.http.get(f"{base}/counters", headers=operator).json()
    assert next(c for c in counters if c["number"] == 1)["open_ticket"] is None
