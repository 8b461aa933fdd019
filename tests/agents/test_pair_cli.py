"""``python -m display_agent --pair CODE`` / ``python -m totem_agent --pair CODE``: the agent
exchanges the admin's one-time code for its device token, writes it to --device-token-file
(owner-only) and runs with it (its presence goes online); a restart with the same, now used,
code keeps the token; a wrong code stops the agent with a clear message."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from protocol import DevicePresence, PresenceStatus, decode
from protocol.auth import peek_token
from protocol.topics import device_status_topic
from tests.agents.system_fixtures import system
from tests.support.mqtt import Recorder
from tests.support.system import ROOT, RunningSystem

__all__ = ["system"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def _code(system: RunningSystem, device_id: str, role: str) -> str:
    response = system.http.post(
        f"/api/v1/tenants/{system.tenant}/pairing-codes",
        json={"id": device_id, "role": role},
        headers=system.auth(system.login("admin")),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["code"])


def _start(
    agent: str, system: RunningSystem, code: str, token_file: Path, output_dir: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SDL_VIDEODRIVER": "dummy",
        "SDL_AUDIODRIVER": "disk",
        "SDL_DISKAUDIOFILE": str(output_dir / f"{agent}-paired.raw"),
        "QUEUECAST_AGENT_MQTT_URL": f"mqtt://127.0.0.1:{system.mqtt_port}",
    }
    argv = [sys.executable, "-m", agent, "--api", system.base_url, "--tenant", system.tenant]
    argv += ["--pair", code, "--device-token-file", str(token_file)]
    log = (output_dir / f"{agent}-paired.log").open("ab")
    try:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()


def _wait_online(watcher: Recorder, topic: str, after: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for message in watcher.seen[after:]:
            if message.topic == topic and message.payload:
                document = decode(message.payload)
                if (
                    isinstance(document, DevicePresence)
                    and document.status is PresenceStatus.ONLINE
                ):
                    return
        time.sleep(0.05)
    raise AssertionError(f"no online presence on {topic}")


@pytest.mark.parametrize(
    ("agent", "role"), [("display_agent", "display"), ("totem_agent", "totem")]
)
def test_an_agent_pairs_with_a_code_and_runs_with_its_token(
    agent: str, role: str, system: RunningSystem, output_dir: Path, tmp_path: Path
) -> None:
    device_id = f"paired-{role}"
    token_file = tmp_path / "secrets" / "device.token"
    watcher_token = system.device_token(role="display", device_id=f"watch-{role}")
    watcher = Recorder("127.0.0.1", system.mqtt_port, username="w", password=watcher_token)
    watcher.connect().subscribe(f"tenant/{system.tenant}/devices/+/status")
    topic = device_status_topic(system.tenant, device_id)
    code = _code(system, device_id, role)
    process = _start(agent, system, code, token_file, output_dir)
    try:
        _wait_online(watcher, topic, 0)
        principal = peek_token(token_file.read_text().strip())
        assert (principal.subject, principal.role.value, principal.tenant) == (
            device_id,
            role,
            system.tenant,
        )
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        process.terminate()
        assert process.wait(15) == 0

        # The unit file still says --pair with the used code: the stored token is used.
        mark = len(watcher.seen)
        process = _start(agent, system, code, token_file, output_dir)
        _wait_online(watcher, topic, mark)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(15)
        watcher.close()


def test_a_wrong_code_stops_with_a_clear_message(
    system: RunningSystem, output_dir: Path, tmp_path: Path
) -> None:
    token_file = tmp_path / "device.token"
    process = _start("display_agent", system, "000000", token_file, output_dir)
    assert process.wait(30) != 0
    log = (output_dir / "display_agent-paired.log").read_text()
    assert "wrong or expired code; ask the admin for a new one" in log
    assert "Traceback" not in log
    assert not token_file.exists()


def test_pair_needs_a_token_file(system: RunningSystem, output_dir: Path) -> None:
    argv = [sys.executable, "-m", "totem_agent", "--api", system.base_url]
    argv += ["--tenant", system.tenant, "--pair", "123456"]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "pair needs device_token_file" in result.stderr
