"""The broker as the running API serves it: a page takes its credentials from
/mqtt-credentials and reaches MQTT through the HTTP server's own /mqtt WebSocket route."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from protocol import QueueUpdate, decode
from protocol.topics import queue_topic
from tests.support.mqtt import ConnectRefused, Recorder
from tests.support.system import start_system


@pytest.mark.slow
def test_page_and_device_through_the_http_bridge(tmp_path: Path) -> None:
    with start_system(tmp_path) as system:
        credentials = system.http.get(f"/api/v1/tenants/{system.tenant}/mqtt-credentials").json()
        ws = urlsplit(credentials["ws_url"])
        assert (ws.path, ws.port) == ("/mqtt", system.http_port)

        def client(password: str) -> Recorder:
            return Recorder(
                "127.0.0.1",
                system.http_port,
                username=credentials["username"],
                password=password,
                transport="websockets",
            )

        page = client(credentials["password"]).connect()
        try:
            assert page.subscribe("tenant/#") == [0x80]
            assert page.subscribe(queue_topic(system.tenant)) == [1]
            snapshot = decode(page.wait_for(lambda m: m.retain).payload)
            assert isinstance(snapshot, QueueUpdate)
            assert snapshot.tenant == system.tenant
            page.publish(queue_topic(system.tenant), b"forged", retain=True)  # dropped
        finally:
            page.close()

        display = client(system.device_token(role="display", device_id="display-9")).connect()
        try:
            assert display.subscribe(f"tenant/{system.tenant}/#") == [1]
            retained = [m for m in display.drain(0.5) if m.topic == queue_topic(system.tenant)]
            assert retained
            assert isinstance(decode(retained[0].payload), QueueUpdate)
        finally:
            display.close()

        with pytest.raises(ConnectRefused):
            client("forged.token.value").connect()
