"""An agent on Mosquitto with dynamic security: it asks the API where the broker is with its
device token, logs in with the broker login it gets back (not its token, which Mosquitto cannot
check), goes live and publishes its presence, which the operator's own login reads."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from protocol import DevicePresence, PresenceStatus, decode
from protocol.auth import peek_token
from protocol.topics import device_status_topic
from tests.agents import audio
from tests.agents.running import display
from tests.agents.system_fixtures import device
from tests.support.dynsec import requires_dynsec
from tests.support.mqtt import Recorder
from tests.support.system import RunningSystem

pytestmark = [requires_dynsec, pytest.mark.external_broker, pytest.mark.timeout(120)]


def test_a_display_goes_live_with_the_login_the_api_gives_it(
    dynsec_system: RunningSystem, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = dynsec_system
    operator_token = system.login("operator")
    creds = system.http.get(
        f"/api/v1/tenants/{system.tenant}/mqtt-credentials", headers=system.auth(operator_token)
    ).json()
    url = urlsplit(creds["mqtt_url"])
    watcher = Recorder(
        url.hostname or "", url.port or 1883, username=creds["username"], password=creds["password"]
    ).connect()
    try:
        assert watcher.subscribe(f"tenant/{system.tenant}/devices/+/status") == [1]
        token = device(system, "display")
        audio.disk_audio_env(monkeypatch, output_dir / "dynsec-display-audio.raw")
        with display(system, token, mqtt_url=None) as runtime:
            runtime.run(until=lambda: runtime.state.feed.link_up, timeout_s=30)
            device_id = peek_token(token).subject
            message = watcher.wait_for(
                lambda m: (
                    m.topic == device_status_topic(system.tenant, device_id)
                    and b"online" in m.payload
                )
            )
            presence = decode(message.payload)
            assert isinstance(presence, DevicePresence)
            assert presence.status is PresenceStatus.ONLINE
    finally:
        watcher.close()
