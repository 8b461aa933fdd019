"""A phone follows only its own ticket's topic: through calls, priority interleaving, transfers
and reactivations, the place and people-ahead its retained ticket_update ends up saying are
exactly what the API says (the database), once the coalesced updates have gone out; and the
retained queue document is the bounded version 2 (next few tickets + total)."""

from __future__ import annotations

from typing import Any

from protocol import QueueUpdate, TicketStatus, TicketUpdate, decode
from protocol.topics import queue_topic, ticket_wildcard
from tests.support.mqtt import Recorder
from tests.support.system import RunningSystem

SETTLE_S = 3.0  # more than the publisher's follower period (1 s), under load


def _post(system: RunningSystem, path: str, user: str = "operator", **kwargs: Any) -> Any:
    response = system.http.post(
        f"/api/v1/tenants/{system.tenant}{path}", headers=system.auth(system.login(user)), **kwargs
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def _latest_tickets(recorder: Recorder) -> dict[str, TicketUpdate]:
    latest: dict[str, TicketUpdate] = {}
    for message in recorder.drain(settle=SETTLE_S):
        if "/tickets/" in message.topic and message.payload:
            update = decode(message.payload)
            assert isinstance(update, TicketUpdate)
            latest[update.ticket.id] = update
    return latest


def test_followers_places_stay_exact_through_calls_transfers_and_reactivations(
    system: RunningSystem,
) -> None:
    tenant = system.tenant
    token = system.device_token(role="display", device_id="followers-test")
    recorder = Recorder("127.0.0.1", system.mqtt_port, username="display", password=token)
    recorder.connect()
    try:
        assert recorder.subscribe(ticket_wildcard(tenant)) == [1]
        _post(system, "/counters/3/open", json={"takeover": True})
        issued = [
            _post(system, "/tickets", json=body)
            for body in [{"service": "A"}, {"service": "P", "priority": True}, {"service": "P"}] * 4
        ]
        _post(system, "/counters/3/call-next", params={"close": "completed"})
        _post(system, "/counters/3/call-next", params={"close": "no_show"})
        moved = issued[-1]
        _post(
            system, f"/tickets/{moved['id']}/transfer", json={"service": "A", "placement": "front"}
        )
        missed = _post(system, "/counters/3/call-next", params={"close": "completed"})
        _post(system, "/counters/3/call-next", params={"close": "no_show"})  # missed: no-show
        _post(system, f"/tickets/{missed['id']}/reactivate")
        latest = _latest_tickets(recorder)
        checked = 0
        for ticket in issued:
            truth = system.http.get(f"/api/v1/tenants/{tenant}/tickets/{ticket['id']}").json()
            told = latest[ticket["id"]].ticket
            assert told.status == TicketStatus(truth["status"])
            assert (told.position, told.people_ahead) == (truth["position"], truth["people_ahead"])
            if told.status is TicketStatus.WAITING:
                assert told.people_ahead == told.position - 1  # type: ignore[operator]
                checked += 1
        assert checked >= 8
        _post(system, "/counters/3/close")
    finally:
        recorder.close()


def test_the_retained_queue_document_is_bounded(system: RunningSystem) -> None:
    token = system.device_token(role="display", device_id="bounded-test")
    recorder = Recorder("127.0.0.1", system.mqtt_port, username="display", password=token)
    recorder.connect()
    try:
        recorder.subscribe(queue_topic(system.tenant))
        message = recorder.wait_for(lambda m: m.retain)
        document = decode(message.payload)
        assert isinstance(document, QueueUpdate)
        assert document.version == 2
        assert len(document.waiting) <= 10
        assert document.waiting_total >= len(document.waiting)
    finally:
        recorder.close()
