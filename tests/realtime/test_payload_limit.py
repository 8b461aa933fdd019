"""One tenant's queue can never stop another tenant's realtime: with our broker as a separate
process whose payload limit is small, a tenant with 5,000 waiting keeps a small queue document,
and a document that still exceeds the limit is reported and skipped (never sent, so the broker
never cuts the publisher's one connection and it is never re-sent first after a reconnect) while
the other tenant's events and documents keep arriving."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from protocol import QueueUpdate, TicketStatusChanged, decode
from protocol.topics import events_topic, queue_topic
from tests.support.mqtt import Received, Recorder
from tests.support.system import RunningSystem, start_system

LIMIT = 3000  # bytes: the busy tenant's document (10 next + 10 calls) is larger
WAITING = 5000


async def _fill(system: RunningSystem, token: str) -> None:
    url = f"{system.base_url}/api/v1/tenants/{system.tenant}/tickets"
    async with httpx.AsyncClient(headers=system.auth(token), timeout=60) as http:

        async def issue(i: int) -> None:
            for _ in range(3):  # a keep-alive connection the server just closed: retry
                try:
                    r = await http.post(
                        url, json={"service": "A"}, headers={"Idempotency-Key": f"fill-{i}"}
                    )
                except httpx.TransportError:
                    continue
                assert r.status_code in (200, 201), r.text
                return
            raise AssertionError(f"ticket {i} could not be issued")

        for start in range(0, WAITING, 32):
            await asyncio.gather(*(issue(i) for i in range(start, min(start + 32, WAITING))))


@pytest.mark.timeout(600)
def test_a_busy_tenant_never_disturbs_another_tenants_realtime(tmp_path: Path) -> None:
    env = {"QUEUECAST_MQTT_MAX_PAYLOAD_BYTES": str(LIMIT)}
    with start_system(tmp_path, separate_broker=True, env=env) as system:
        root = system.auth(system.login("root"))
        created = system.http.post(
            "/api/v1/tenants", json={"id": "quiet", "name": "Quiet"}, headers=root
        )
        assert created.status_code == 201, created.text
        quiet = "/api/v1/tenants/quiet"
        for path, body in [
            ("/services", {"prefix": "A", "name": "Geral"}),
            ("/users", {"username": "quiet-op", "password": "quiet-op-1", "role": "operator"}),
        ]:
            r = system.http.post(f"{quiet}{path}", json=body, headers=root)
            assert r.status_code == 201, r.text
        quiet_token = system.login("quiet-op", "quiet-op-1")
        watcher = Recorder("127.0.0.1", system.mqtt_port, username="quiet-op", password=quiet_token)
        watcher.connect()
        try:
            assert watcher.subscribe(events_topic("quiet")) == [1]
            assert watcher.subscribe(queue_topic("quiet")) == [1]

            operator = system.login("operator")
            asyncio.run(_fill(system, operator))
            busy = system.auth(operator)
            base = f"/api/v1/tenants/{system.tenant}"
            system.http.post(f"{base}/counters/1/open", json={"takeover": True}, headers=busy)
            for _ in range(12):  # fills last_calls: the busy document passes the limit
                r = system.http.post(
                    f"{base}/counters/1/call-next", params={"close": "completed"}, headers=busy
                )
                assert r.status_code == 200, r.text
            document = system.http.get(f"{base}/queue")
            assert document.json()["waiting_total"] == WAITING - 12
            assert len(document.content) > LIMIT  # what the publisher must not send

            issued = []
            for _ in range(5):
                r = system.http.post(
                    f"{quiet}/tickets", json={"service": "A"}, headers=system.auth(quiet_token)
                )
                assert r.status_code == 201, r.text
                issued.append(r.json()["id"])
            for ticket_id in issued:
                watcher.wait_for(_event_for(ticket_id), timeout=20)
            latest = watcher.wait_for(
                lambda m: m.topic == queue_topic("quiet") and _total(m.payload) == 5, timeout=20
            )
            assert latest is not None
        finally:
            watcher.close()
        log = system.api.log_path.read_text(errors="replace")
        assert "not published" in log  # reported
        assert "payload limit" in log
        # Skipped, not retried: the publisher's connection was never cut, so the state of
        # every tenant was published once at start-up and never again.
        assert log.count("published the retained state of") == 1


def _event_for(ticket_id: str) -> Callable[[Received], bool]:
    def matches(message: Received) -> bool:
        return message.topic == events_topic("quiet") and _event_of(message.payload) == ticket_id

    return matches


def _event_of(payload: bytes) -> str | None:
    message = decode(payload)
    return message.ticket.id if isinstance(message, TicketStatusChanged) else None


def _total(payload: bytes) -> int | None:
    message = decode(payload)
    return message.waiting_total if isinstance(message, QueueUpdate) else None
