"""The MQTT side of the server as operators and screens see it: ``/readyz`` says whether MQTT is
up, ``/metrics`` carries the embedded broker's figures, and with an external broker (ours as
``python -m broker``, or Mosquitto) the API keeps a retained ``online``/``offline`` status whose
``offline`` is its connection's Will, so a screen can tell "server down" from a quiet queue."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from protocol.server_status import SERVER_STATUS_TOPIC, ServerState, decode_server_status
from protocol.topics import queue_topic
from tests.support.mosquitto import MOSQUITTO
from tests.support.mqtt import Received, Recorder
from tests.support.system import BrokerKind, RunningSystem, start_system


def _status_is(state: ServerState) -> Callable[[Received], bool]:
    def matches(message: Received) -> bool:
        return (
            message.topic == SERVER_STATUS_TOPIC
            and bool(message.payload)
            and decode_server_status(message.payload).status is state
        )

    return matches


def _public_client(system: RunningSystem) -> Recorder:
    creds = system.http.get(f"/api/v1/tenants/{system.tenant}/mqtt-credentials").json()
    return Recorder(
        "127.0.0.1", system.mqtt_port, username=creds["username"], password=creds["password"]
    ).connect()


@pytest.fixture(
    params=[
        "separate",
        pytest.param(
            "mosquitto",
            marks=pytest.mark.skipif(not MOSQUITTO.exists(), reason="mosquitto not installed"),
        ),
    ]
)
def external(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningSystem]:
    kind: BrokerKind = request.param
    with start_system(tmp_path, broker_kind=kind) as running:
        yield running


def test_a_public_screen_sees_the_server_online_then_offline_when_it_dies(
    external: RunningSystem,
) -> None:
    system = external
    assert system.http.get("/readyz").json() == {
        "status": "ready",
        "database": "ok",
        "mqtt": "connected",
    }
    screen = _public_client(system)
    try:
        assert screen.subscribe(SERVER_STATUS_TOPIC) == [1]
        assert screen.wait_for(_status_is(ServerState.ONLINE)).retain  # retained: at once
        system.kill_api()  # kill -9: no goodbye; the broker fires the API's Will
        assert screen.wait_for(_status_is(ServerState.OFFLINE), timeout=20)
        late = _public_client_after_restart(system)
        try:
            assert late.subscribe(SERVER_STATUS_TOPIC) == [1]
            assert late.wait_for(_status_is(ServerState.ONLINE)).retain  # back, and says so
        finally:
            late.close()
    finally:
        screen.close()


def _public_client_after_restart(system: RunningSystem) -> Recorder:
    system.start_api()
    return _public_client(system)


def test_a_deliberate_stop_says_offline_too(external: RunningSystem) -> None:
    system = external
    screen = _public_client(system)
    try:
        assert screen.subscribe(SERVER_STATUS_TOPIC) == [1]
        screen.wait_for(_status_is(ServerState.ONLINE))
        system.api.stop()  # SIGTERM: a clean DISCONNECT, which does not fire the Will
        assert screen.wait_for(_status_is(ServerState.OFFLINE), timeout=20)
    finally:
        screen.close()


def test_readyz_reports_the_external_broker_down(tmp_path: Path) -> None:
    with start_system(tmp_path, broker_kind="separate") as system:
        system.stop_broker()
        down = system.http.get("/readyz")
        assert down.status_code == 503
        assert down.json()["error"] == "not_ready"
        assert down.json()["mqtt"] == "disconnected"
        assert down.json()["database"] == "ok"
        system.start_broker()
        system.wait_ready()
        assert system.http.get("/readyz").json()["mqtt"] == "connected"


def test_no_role_may_publish_the_server_status_but_the_publisher(
    external: RunningSystem,
) -> None:
    if external.broker_kind != "separate":
        pytest.skip("Mosquitto's ACLs are its operator's (tests run it open)")
    system = external
    screen = _public_client(system)
    forger = _public_client(system)
    try:
        assert screen.subscribe(SERVER_STATUS_TOPIC) == [1]
        screen.wait_for(_status_is(ServerState.ONLINE))
        forger.client.publish(SERVER_STATUS_TOPIC, b'{"type":"server_status","status":"offline"}')
        assert not [m for m in screen.drain(0.5) if _status_is(ServerState.OFFLINE)(m)]
        # ...and no wildcard reaches beyond that one topic.
        assert forger.subscribe("queuecast/#") == [0x80]
    finally:
        forger.close()
        screen.close()


def test_metrics_show_the_embedded_broker(system: RunningSystem) -> None:
    if system.broker_kind != "embedded":
        pytest.skip("broker figures come from the embedded broker")
    watcher = _public_client(system)
    try:
        assert watcher.subscribe(queue_topic(system.tenant)) == [1]
        watcher.wait_for(lambda m: m.topic == queue_topic(system.tenant))
        text = system.http.get("/metrics").text
    finally:
        watcher.close()
    assert 'queuecast_mqtt_up{mode="embedded"} 1.0' in text
    assert 'queuecast_mqtt_connections{listener="tcp",role="public"} 1.0' in text
    assert "queuecast_mqtt_messages_sent_total" in text
    assert "queuecast_mqtt_inbound_backlog_bytes" in text
    assert system.http.get("/readyz").json()["mqtt"] == "serving"
