"""Revoking a device (new token, or removal) cuts its live MQTT connection — at once on the
embedded broker, within its check interval on ``python -m broker`` run apart, which reads the
API's database — and its old token cannot connect again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from protocol.topics import tenant_wildcard
from tests.support.mqtt import ConnectRefused, Recorder
from tests.support.system import RunningSystem, start_system


@pytest.fixture(scope="module", params=["embedded", "separate"])
def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSystem]:
    with start_system(
        tmp_path_factory.mktemp("system"),
        broker_kind=request.param,
        env={"QUEUECAST_MQTT_REVOCATION_CHECK_S": "1"},
    ) as running:
        yield running


def _connected(system: RunningSystem, token: str) -> Recorder:
    recorder = Recorder("127.0.0.1", system.mqtt_port, username="d", password=token).connect()
    assert recorder.subscribe(tenant_wildcard(system.tenant)) == [1]
    return recorder


@pytest.mark.parametrize("revocation", ["rotate", "delete"])
def test_a_revoked_device_is_disconnected_and_refused(
    system: RunningSystem, revocation: str
) -> None:
    device = f"display-{revocation}"
    old_token = system.device_token(role="display", device_id=device)
    bystander = _connected(system, system.device_token(role="display", device_id="bystander"))
    revoked = _connected(system, old_token)
    admin = system.auth(system.login("admin"))
    url = f"/api/v1/tenants/{system.tenant}/devices/{device}"
    response = (
        system.http.post(f"{url}/token", headers=admin)
        if revocation == "rotate"
        else system.http.delete(url, headers=admin)
    )
    assert response.status_code in (200, 204), response.text
    try:
        assert revoked.disconnected.wait(10), "the revoked device is still connected"
        with pytest.raises(ConnectRefused):
            Recorder("127.0.0.1", system.mqtt_port, username="d", password=old_token).connect()
        assert not bystander.disconnected.is_set(), "other devices keep their connection"
    finally:
        revoked.close()
        bystander.close()
