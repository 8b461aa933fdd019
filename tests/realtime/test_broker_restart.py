"""The broker restarts while calls are being made: afterwards every subscriber sees the true
state, including a call made while the broker was down (amqtt forgets retained messages on
restart; the publisher re-publishes them from the database)."""

from __future__ import annotations

import threading

from protocol import QueueUpdate, decode
from protocol.topics import queue_topic
from tests.support.mqtt import Received, Recorder
from tests.support.system import RunningSystem


def _snapshot(message: Received) -> QueueUpdate | None:
    decoded = decode(message.payload) if message.payload else None
    return decoded if isinstance(decoded, QueueUpdate) else None


def test_state_survives_a_broker_restart_during_calls(separate_system: RunningSystem) -> None:
    system = separate_system
    tenant = system.tenant
    operator = system.auth(system.login("operator"))
    totem = system.auth(system.device_token(role="totem", device_id="totem-1"))
    for _ in range(12):
        issued = system.http.post(
            f"/api/v1/tenants/{tenant}/tickets", json={"service": "A"}, headers=totem
        )
        assert issued.status_code == 201, issued.text

    counters = f"/api/v1/tenants/{tenant}/counters"
    assert system.http.post(f"{counters}/1/open", headers=operator).status_code == 200
    stop = threading.Event()
    statuses: list[int] = []

    def keep_calling() -> None:  # an operator who does not know the broker is restarting
        while not stop.is_set():
            statuses.append(
                system.http.post(
                    f"{counters}/1/call-next?close=completed", headers=operator
                ).status_code
            )
            stop.wait(0.1)

    caller = threading.Thread(target=keep_calling)
    caller.start()
    try:
        stop.wait(0.5)
        system.stop_broker()
        stop.wait(0.5)  # calls keep succeeding over HTTP while MQTT is down
        system.start_broker()
        stop.wait(0.5)
    finally:
        stop.set()
        caller.join(10)
    assert statuses
    assert set(statuses) <= {200, 204}, statuses

    waiting = system.http.post(
        f"/api/v1/tenants/{tenant}/tickets", json={"service": "A"}, headers=totem
    )
    assert waiting.status_code == 201, waiting.text
    assert system.http.post(f"{counters}/2/open", headers=operator).status_code == 200
    system.stop_broker()
    made_while_down = system.http.post(f"{counters}/2/call-next", headers=operator)
    assert made_while_down.status_code == 200, made_while_down.text
    system.start_broker()

    display = system.auth(system.device_token(role="display", device_id="display-1"))
    recorder = Recorder(
        "127.0.0.1", system.mqtt_port, username="display", password=display["Authorization"][7:]
    ).connect()
    try:
        recorder.subscribe(queue_topic(tenant))
        truth = QueueUpdate.model_validate(
            system.http.get(f"/api/v1/tenants/{tenant}/queue").json()
        )
        arrived = recorder.wait_for(
            lambda m: (s := _snapshot(m)) is not None and s.seq == truth.seq, timeout=20
        )
        snapshot = _snapshot(arrived)
        assert snapshot is not None
        assert snapshot.last_calls[0].ticket_id == made_while_down.json()["id"]
        assert snapshot.last_calls[0].counter == 2
        assert snapshot.model_dump(exclude={"generated_at"}) == truth.model_dump(
            exclude={"generated_at"}
        )
    finally:
        recorder.close()
