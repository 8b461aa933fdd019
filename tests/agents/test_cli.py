"""The agents as they run on a device: ``python -m ...`` subprocesses against the running
system. Presence is retained ``online`` while up; a clean stop publishes ``offline``; a crash
(kill -9) leaves it to the broker, which publishes the Will ``offline``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol import DevicePresence, PresenceStatus, decode
from protocol.topics import device_status_topic
from tests.agents.system_fixtures import system
from tests.support.mqtt import Received, Recorder
from tests.support.system import ROOT, RunningSystem

__all__ = ["system"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def _presence(message: Received) -> PresenceStatus | None:
    if not message.payload:
        return None
    document = decode(message.payload)
    return document.status if isinstance(document, DevicePresence) else None


def _start(
    agent: str, system: RunningSystem, token: str, output_dir: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SDL_VIDEODRIVER": "dummy",
        "SDL_AUDIODRIVER": "disk",
        "SDL_DISKAUDIOFILE": str(output_dir / f"{agent}.raw"),
        "QUEUECAST_AGENT_API": system.base_url,
        "QUEUECAST_AGENT_TENANT": system.tenant,
        "QUEUECAST_AGENT_DEVICE_TOKEN": token,
        "QUEUECAST_AGENT_MQTT_URL": f"mqtt://127.0.0.1:{system.mqtt_port}",
    }
    log = (output_dir / f"{agent}.log").open("ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", agent], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    finally:
        log.close()


@pytest.fixture
def watcher(system: RunningSystem) -> Iterator[Recorder]:
    token = system.device_token(role="display", device_id=f"watch-{uuid.uuid4().hex[:6]}")
    recorder = Recorder("127.0.0.1", system.mqtt_port, username="watcher", password=token).connect()
    recorder.subscribe(f"tenant/{system.tenant}/devices/+/status")
    yield recorder
    recorder.close()


@pytest.mark.parametrize(
    ("agent", "role"), [("display_agent", "display"), ("totem_agent", "totem")]
)
def test_presence_online_then_offline_on_stop_and_will_on_crash(
    agent: str, role: str, system: RunningSystem, watcher: Recorder, output_dir: Path
) -> None:
    device_id = f"{role}-{uuid.uuid4().hex[:6]}"
    token = system.device_token(role=role, device_id=device_id)
    topic = device_status_topic(system.tenant, device_id)

    def status(expected: PresenceStatus, after: int) -> None:
        """Wait for ``expected`` on the device's topic among messages seen after ``after``."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if any(m.topic == topic and _presence(m) is expected for m in watcher.seen[after:]):
                return
            time.sleep(0.05)
        raise AssertionError(f"no {expected} presence for {device_id}")

    process = _start(agent, system, token, output_dir)
    try:
        status(PresenceStatus.ONLINE, 0)
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        status(PresenceStatus.OFFLINE, 0)

        mark = len(watcher.seen)
        process = _start(agent, system, token, output_dir)
        status(PresenceStatus.ONLINE, mark)
        mark = len(watcher.seen)
        process.kill()  # no goodbye: only the Will can tell
        process.wait(15)
        status(PresenceStatus.OFFLINE, mark)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(15)


def test_a_token_for_another_tenant_is_refused_with_a_clear_message(
    system: RunningSystem, output_dir: Path
) -> None:
    from datetime import timedelta

    from config.settings import DEV_SECRET
    from protocol import Role, issue_token

    foreign, _ = issue_token(
        secret=DEV_SECRET, subject="tv-x", role=Role.DISPLAY, tenant="other", ttl=timedelta(hours=1)
    )
    process = _start("display_agent", system, foreign, output_dir)
    assert process.wait(30) == 2
    log = (output_dir / "display_agent.log").read_text()
    assert "the device token belongs to tenant 'other', not 'default'" in log
    assert "Traceback" not in log
