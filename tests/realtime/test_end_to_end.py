"""Operator action over HTTP -> MQTT subscribers over TCP and WebSocket, with the documented
payloads, against the real API, broker and SQLite."""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

from protocol import (
    QueueUpdate,
    TicketStatus,
    TicketStatusChanged,
    TicketUpdate,
    decode,
)
from protocol.topics import events_topic, queue_topic, tenant_wildcard, ticket_topic
from tests.support.mqtt import Received, Recorder
from tests.support.system import RunningSystem


def _recorder(system: RunningSystem, transport: str = "tcp") -> Recorder:
    """A display device's connection (device token as password), subscribed to its tenant."""
    token = system.device_token(role="display", device_id=f"display-{transport}")
    if transport == "tcp":
        recorder = Recorder("127.0.0.1", system.mqtt_port, username="display", password=token)
    else:
        ws = urlsplit(system.ws_url)
        recorder = Recorder(
            ws.hostname or "127.0.0.1",
            ws.port or 80,
            username="display",
            password=token,
            transport="websockets",
            ws_path=ws.path,
        )
    recorder.connect()
    assert recorder.subscribe(tenant_wildcard(system.tenant)) == [1]
    return recorder


def _issue(system: RunningSystem, service: str = "A") -> dict[str, object]:
    totem = system.device_token(role="totem", device_id="totem-1")
    response = system.http.post(
        f"/api/v1/tenants/{system.tenant}/tickets",
        json={"service": service, "priority": False},
        headers=system.auth(totem),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _call_next(system: RunningSystem, counter: int = 1) -> dict[str, object]:
    """Open the counter for the operator, then call the next ticket (completing what the
    counter still held)."""
    operator = system.auth(system.login("operator"))
    counters = f"/api/v1/tenants/{system.tenant}/counters"
    opened = system.http.post(
        f"{counters}/{counter}/open", json={"takeover": True}, headers=operator
    )
    assert opened.status_code == 200, opened.text
    response = system.http.post(
        f"{counters}/{counter}/call-next", params={"close": "completed"}, headers=operator
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _is_call_of(number: object):  # type: ignore[no-untyped-def]
    def predicate(message: Received) -> bool:
        if not message.payload:
            return False
        decoded = decode(message.payload)
        return (
            isinstance(decoded, QueueUpdate)
            and bool(decoded.last_calls)
            and decoded.last_calls[0].number == number
        )

    return predicate


def test_an_operator_call_reaches_tcp_and_websocket_subscribers(system: RunningSystem) -> None:
    tcp, ws = _recorder(system, "tcp"), _recorder(system, "websockets")
    try:
        ticket = _issue(system)
        called = _call_next(system, counter=2)
        assert called["id"] == ticket["id"]
        for recorder in (tcp, ws):
            snapshot_msg = recorder.wait_for(_is_call_of(ticket["number"]))
            snapshot = decode(snapshot_msg.payload)
            assert isinstance(snapshot, QueueUpdate)
            call = snapshot.last_calls[0]
            assert (call.ticket_id, call.counter) == (ticket["id"], 2)
            assert all(w.id != ticket["id"] for w in snapshot.waiting)

            ticket_msg = recorder.wait_for(
                lambda m: (
                    m.topic == ticket_topic(system.tenant, str(ticket["id"]))
                    and bool(m.payload)
                    and json.loads(m.payload)["ticket"]["status"] == "called"
                )
            )
            update = decode(ticket_msg.payload)
            assert isinstance(update, TicketUpdate)
            assert update.ticket.counter == 2

            event_msg = recorder.wait_for(
                lambda m: (
                    m.topic == events_topic(system.tenant)
                    and json.loads(m.payload).get("to") == "called"
                )
            )
            event = decode(event_msg.payload)
            assert isinstance(event, TicketStatusChanged)
            assert event.from_status is TicketStatus.WAITING
            assert event.call_id == call.call_id
            assert not event_msg.retain
    finally:
        tcp.close()
        ws.close()


def test_a_late_subscriber_gets_the_true_state_at_once_as_retained(system: RunningSystem) -> None:
    ticket = _issue(system)
    _call_next(system)
    time.sleep(0.5)  # let the publisher send; the late subscriber must not depend on live traffic
    late = _recorder(system)
    try:
        snapshot_msg = late.wait_for(_is_call_of(ticket["number"]), timeout=5)
        assert snapshot_msg.retain
        http_snapshot = system.http.get(f"/api/v1/tenants/{system.tenant}/queue").json()
        retained = decode(snapshot_msg.payload)
        assert isinstance(retained, QueueUpdate)
        assert retained.model_dump(exclude={"generated_at"}) == QueueUpdate.model_validate(
            http_snapshot
        ).model_dump(exclude={"generated_at"})
    finally:
        late.close()


def test_a_recall_is_a_new_call_with_a_new_call_id(system: RunningSystem) -> None:
    recorder = _recorder(system)
    try:
        ticket = _issue(system)
        _call_next(system)
        operator = system.login("operator")
        response = system.http.post(
            f"/api/v1/tenants/{system.tenant}/tickets/{ticket['id']}/recall",
            headers=system.auth(operator),
        )
        assert response.status_code == 200, response.text

        def recall_event(m: Received) -> bool:
            body = json.loads(m.payload) if m.topic == events_topic(system.tenant) else {}
            return body.get("from") == "called" and body.get("to") == "called"

        recall = decode(recorder.wait_for(recall_event).payload)
        assert isinstance(recall, TicketStatusChanged)

        def snapshot_with_recall(m: Received) -> bool:
            if m.topic != queue_topic(system.tenant):
                return False
            calls = json.loads(m.payload)["last_calls"]
            return bool(calls) and calls[0]["call_id"] == recall.call_id

        snapshot = decode(recorder.wait_for(snapshot_with_recall).payload)
        assert isinstance(snapshot, QueueUpdate)
        first, second = snapshot.last_calls[0], snapshot.last_calls[1]
        assert first.ticket_id == second.ticket_id == ticket["id"]
        assert first.call_id != second.call_id
    finally:
        recorder.close()
