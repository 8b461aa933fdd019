"""The publisher against a real external broker (Mosquitto): retained state delivered, and
re-published by itself after the broker restarts and forgets it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config import Settings
from protocol import QueueUpdate, Ticket, decode
from protocol.topics import queue_topic, tenant_wildcard
from publisher_api.changes import TenantChanged
from publisher_api.realtime import realtime
from tests.support.mosquitto import requires_mosquitto, run_mosquitto
from tests.support.mqtt import Recorder

pytestmark = [requires_mosquitto, pytest.mark.external_broker]

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


class OneTenant:
    def __init__(self) -> None:
        self.seq = 1

    def tenant_ids(self) -> Sequence[str]:
        return ["clinic"]

    def queue_update(self, tenant: str) -> QueueUpdate | None:
        return QueueUpdate(
            tenant=tenant,
            seq=self.seq,
            generated_at=NOW,
            tenant_name="Clinic",
            locale="en",
            timezone="UTC",
            waiting=[],
            services=[],
            counters=[],
            last_calls=[],
        )

    def ticket(self, tenant: str, ticket_id: str) -> Ticket | None:
        return None

    def retained_tickets(self, tenant: str, ended_after: datetime) -> Sequence[Ticket]:
        return []


def _settings(tmp_path: Path, port: int) -> Settings:
    return Settings(
        env="dev",
        var_dir=tmp_path,
        mqtt_external_url=f"mqtt://127.0.0.1:{port}",
        mqtt_embedded=False,
    )


def _seq_of(payload: bytes) -> int:
    message = decode(payload)
    assert isinstance(message, QueueUpdate)
    return message.seq


async def test_state_is_retained_and_republished_after_a_broker_restart(tmp_path: Path) -> None:
    import asyncio

    source = OneTenant()
    with run_mosquitto(tmp_path / "mosquitto") as mosquitto:
        settings = _settings(tmp_path, mosquitto.tcp_port)
        async with realtime(settings, source, token_active=lambda p: True) as rt:
            connection = rt.connection
            assert connection is not None, "an external broker URL means our own paho connection"
            assert await asyncio.to_thread(connection.wait_connected, 10)
            source.seq = 2
            rt.notify(TenantChanged("clinic", 2))

            late = Recorder("127.0.0.1", mosquitto.tcp_port).connect()
            late.subscribe(tenant_wildcard("clinic"))
            first = await asyncio.to_thread(
                late.wait_for,
                lambda m: m.topic == queue_topic("clinic") and _seq_of(m.payload) == 2,
            )
            assert first.retain, "a subscriber arriving later gets the snapshot as retained"
            late.close()

            mosquitto.stop()  # forgets every retained message (persistence off)
            source.seq = 3  # a change committed while the broker is down
            rt.notify(TenantChanged("clinic", 3))
            mosquitto.start()

            after = Recorder("127.0.0.1", mosquitto.tcp_port).connect()
            after.subscribe(queue_topic("clinic"))
            restored = await asyncio.to_thread(after.wait_for, lambda m: True, 20)
            if _seq_of(restored.payload) != 3:  # the first may race the reconnect; wait for ours
                restored = await asyncio.to_thread(
                    after.wait_for, lambda m: _seq_of(m.payload) == 3, 20
                )
            assert _seq_of(restored.payload) == 3
            after.close()
