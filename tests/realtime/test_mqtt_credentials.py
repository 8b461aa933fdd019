"""GET /mqtt-credentials gives a browser or quick-start client a short-lived, read-only identity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from protocol import QueueUpdate, decode
from protocol.topics import queue_topic
from tests.support.mqtt import Recorder
from tests.support.system import RunningSystem


def test_credentials_connect_over_websocket_read_only(system: RunningSystem) -> None:
    response = system.http.get(f"/api/v1/tenants/{system.tenant}/mqtt-credentials")
    assert response.status_code == 200, response.text
    creds = response.json()
    assert set(creds) >= {"username", "password", "mqtt_url", "ws_url", "topics", "expires_at"}
    assert queue_topic(system.tenant) in creds["topics"]
    expires = datetime.fromisoformat(creds["expires_at"])
    assert datetime.now(UTC) < expires <= datetime.now(UTC) + timedelta(hours=2)
    assert urlsplit(creds["mqtt_url"]).port == system.mqtt_port
    assert creds["ws_url"] == system.ws_url

    ws = urlsplit(creds["ws_url"])
    client = Recorder(
        ws.hostname or "",
        ws.port or 80,
        username=creds["username"],
        password=creds["password"],
        transport="websockets",
        ws_path=ws.path,
    ).connect()
    try:
        assert client.subscribe(queue_topic(system.tenant)) == [1]
        snapshot = decode(client.wait_for(lambda m: m.topic == queue_topic(system.tenant)).payload)
        assert isinstance(snapshot, QueueUpdate)
        assert snapshot.tenant == system.tenant
    finally:
        client.close()


@pytest.mark.parametrize("tenant", ["nope", "UPPER", "a+b"])
def test_unknown_or_invalid_tenant_gets_a_clear_error(system: RunningSystem, tenant: str) -> None:
    response = system.http.get(f"/api/v1/tenants/{tenant}/mqtt-credentials")
    assert response.status_code in (404, 422)
    assert "message" in response.json()


def test_the_asyncapi_document_describes_every_topic(system: RunningSystem) -> None:
    document = system.http.get("/asyncapi.json").json()
    assert document["asyncapi"].startswith("2.")
    assert set(document["channels"]) == {
        "tenant/{tenant}/queue",
        "tenant/{tenant}/tickets/{ticketId}",
        "tenant/{tenant}/events",
        "tenant/{tenant}/devices/{deviceId}/status",
        "queuecast/server/status",
    }
    assert "/asyncapi.json" in system.http.get("/openapi.json").json()["info"]["description"]
