"""The API on Mosquitto with dynamic security, as ``make run-cluster`` runs it: the broker from
``deploy/cluster/start-mosquitto``, the API configured by the ``mosquitto.env`` it wrote.

The API provisions the broker (its own publisher login included), hands out broker logins from
``GET /mqtt-credentials`` (public without a bearer token, the caller's own with one), and a
revocation in the admin API cuts the live session at once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from protocol import QueueUpdate, decode
from protocol.server_status import SERVER_STATUS_TOPIC
from protocol.topics import device_status_topic, queue_topic, tenant_wildcard
from tests.support.dynsec import requires_dynsec
from tests.support.mqtt import ConnectRefused, Recorder
from tests.support.system import RunningSystem

pytestmark = [requires_dynsec, pytest.mark.external_broker]


@pytest.fixture
def system(dynsec_system: RunningSystem) -> RunningSystem:
    return dynsec_system


def credentials(system: RunningSystem, bearer: str | None = None) -> dict[str, Any]:
    response = system.http.get(
        f"/api/v1/tenants/{system.tenant}/mqtt-credentials",
        headers=system.auth(bearer) if bearer else None,
    )
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    assert document["login"] == "password"
    return document


def connect(creds: dict[str, Any], *, websocket: bool = False, **kwargs: Any) -> Recorder:
    url = urlsplit(creds["ws_url"] if websocket else creds["mqtt_url"])
    return Recorder(
        url.hostname or "",
        url.port or 1883,
        username=creds["username"],
        password=creds["password"],
        transport="websockets" if websocket else "tcp",
        ws_path=url.path or "/mqtt",
        **kwargs,
    ).connect()


def test_public_pages_read_their_tenant_over_websocket(
    system: RunningSystem, clients: list[Recorder]
) -> None:
    creds = credentials(system)
    assert creds["username"].startswith(f"qc-public:{system.tenant}:")
    assert creds["expires_at"] is not None
    page = connect(creds, websocket=True)
    clients.append(page)
    assert page.subscribe(queue_topic(system.tenant)) == [1]
    snapshot = decode(page.wait_for(lambda m: m.topic == queue_topic(system.tenant)).payload)
    assert isinstance(snapshot, QueueUpdate)
    assert snapshot.tenant == system.tenant
    assert page.subscribe(SERVER_STATUS_TOPIC) == [1]
    page.wait_for(lambda m: m.topic == SERVER_STATUS_TOPIC)  # the API's publisher is online
    for refused in ("tenant/other/queue", tenant_wildcard(system.tenant), "#"):
        assert page.subscribe(refused) == [0x80]


def test_a_device_logs_in_with_its_own_login_and_rotation_cuts_it(
    system: RunningSystem, clients: list[Recorder]
) -> None:
    token = system.device_token(role="display", device_id="disp-dynsec")
    creds = credentials(system, token)
    assert creds["username"] == f"qc-device:{system.tenant}:disp-dynsec"
    assert creds["expires_at"] is None
    device = connect(creds, client_id=creds["username"])
    clients.append(device)
    watcher = connect(credentials(system, system.login("operator")))
    clients.append(watcher)
    assert watcher.subscribe(tenant_wildcard(system.tenant)) == [1]
    presence = device_status_topic(system.tenant, "disp-dynsec")
    device.publish(presence, b"online-by-device", retain=True)
    watcher.wait_for(lambda m: m.payload == b"online-by-device")

    admin = system.auth(system.login("admin"))
    rotated = system.http.post(
        f"/api/v1/tenants/{system.tenant}/devices/disp-dynsec/token", headers=admin
    )
    assert rotated.status_code == 200, rotated.text
    device.client.reconnect_delay_set(60, 60)
    assert device.disconnected.wait(10), "the rotated device kept its broker session"
    with pytest.raises(ConnectRefused):
        connect(creds)
    fresh = credentials(system, rotated.json()["token"])
    assert fresh["password"] != creds["password"]
    connect(fresh).close()


def test_a_disabled_operator_is_cut_and_refused(
    system: RunningSystem, clients: list[Recorder]
) -> None:
    admin = system.auth(system.login("admin"))
    users = f"/api/v1/tenants/{system.tenant}/users"
    created = system.http.post(
        users,
        json={"username": "op-dynsec", "role": "operator", "password": "op-dynsec-pw"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    creds = credentials(system, system.login("op-dynsec", "op-dynsec-pw"))
    assert creds["username"] == "qc-user:op-dynsec"
    live = connect(creds)
    clients.append(live)
    disabled = system.http.put(f"{users}/op-dynsec/disabled", headers=admin)
    assert disabled.status_code in (200, 204), disabled.text
    live.client.reconnect_delay_set(60, 60)
    assert live.disconnected.wait(10), "the disabled operator kept its broker session"
    with pytest.raises(ConnectRefused):
        connect(creds)


@pytest.mark.parametrize("authorization", ["Bearer not-a-token", "Basic b3A6b3A="])
def test_a_bad_bearer_token_gets_a_clear_error(system: RunningSystem, authorization: str) -> None:
    response = system.http.get(
        f"/api/v1/tenants/{system.tenant}/mqtt-credentials",
        headers={"Authorization": authorization},
    )
    if authorization.startswith("Bearer"):
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
    else:  # no bearer token at all: the public login
        assert response.status_code == 200
        assert response.json()["username"].startswith("qc-public:")
