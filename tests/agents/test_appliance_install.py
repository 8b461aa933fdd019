"""The agents installed as an appliance: ``deploy/agent/install.sh`` into a fresh folder, with
only ``requirements-agent.txt`` in a new virtualenv (no server, no test tools, no npm), then each
agent started the way its systemd unit starts it — from the installed copy, configured by the
generated environment file and token file — against a running system."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.agents.system_fixtures import device, system
from tests.support.system import ROOT, RunningSystem

__all__ = ["system"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SERVER_ONLY = {"fastapi", "sqlalchemy", "amqtt", "uvicorn", "alembic", "pytest", "mypy"}


@dataclass(frozen=True)
class Installed:
    prefix: Path
    conf_dir: Path
    systemd_dir: Path

    @property
    def python(self) -> Path:
        return self.prefix / "venv" / "bin" / "python"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("appliance")
    target = Installed(root / "opt", root / "etc", root / "systemd")
    env = {
        **os.environ,
        "PREFIX": str(target.prefix),
        "CONF_DIR": str(target.conf_dir),
        "SYSTEMD_DIR": str(target.systemd_dir),
        "AGENT_USER": subprocess.check_output(["id", "-un"], text=True).strip(),
        "NO_APT": "1",
        "NO_SYSTEMCTL": "1",
    }
    env.pop("PYTHONPATH", None)
    for agent in ("display", "totem"):
        result = subprocess.run(
            ["bash", str(ROOT / "deploy/agent/install.sh"), agent],
            env=env,
            capture_output=True,
            text=True,
            timeout=540,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    return target


def test_the_appliance_holds_only_the_agent_runtime(installed: Installed) -> None:
    listed = subprocess.run(
        [str(installed.python), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    )
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert {"pygame", "paho-mqtt", "pydantic"} <= names
    assert not names & SERVER_ONLY, names & SERVER_ONLY
    app = installed.prefix / "app"
    assert sorted(p.name for p in app.iterdir() if p.is_dir()) == [
        "display_agent",
        "edge",
        "mqtt_link",
        "protocol",
        "totem_agent",
    ]


def test_the_unit_and_configuration_are_filled_in(installed: Installed) -> None:
    unit = (installed.systemd_dir / "queuecast-agent@.service").read_text()
    assert "@" not in unit.replace("%i", "").replace("queuecast-agent@", "")
    assert f"ExecStart={installed.python} -m %i_agent" in unit
    assert f"EnvironmentFile={installed.conf_dir}/%i.env" in unit
    assert "Restart=always" in unit
    for agent in ("display", "totem"):
        settings = _env_file(installed.conf_dir / f"{agent}.env")
        token_file = Path(settings["QUEUECAST_AGENT_DEVICE_TOKEN_FILE"])
        assert token_file == installed.conf_dir / "tokens" / f"{agent}.token"
        assert token_file.stat().st_mode & 0o777 == 0o600
        assert token_file.parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("agent", ["display", "totem"])
def test_an_installed_agent_connects_and_renders(
    agent: str, installed: Installed, system: RunningSystem, output_dir: Path
) -> None:
    settings = _env_file(installed.conf_dir / f"{agent}.env")
    Path(settings["QUEUECAST_AGENT_DEVICE_TOKEN_FILE"]).write_text(device(system, agent) + "\n")
    trace = output_dir / f"installed-{agent}-{uuid.uuid4().hex[:6]}.jsonl"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("QUEUECAST_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(settings)
    env.update(
        {
            # What the unit's environment file says, pointed at this test's system, headless.
            "QUEUECAST_AGENT_API": system.base_url,
            "QUEUECAST_AGENT_TENANT": system.tenant,
            "QUEUECAST_AGENT_MQTT_URL": f"mqtt://127.0.0.1:{system.mqtt_port}",
            "QUEUECAST_AGENT_FULLSCREEN": "false",
            "QUEUECAST_AGENT_TRACE_FILE": str(trace),
            "SDL_VIDEODRIVER": "dummy",
            "SDL_AUDIODRIVER": "disk",
            "SDL_DISKAUDIOFILE": str(output_dir / f"installed-{agent}.raw"),
        }
    )
    log = output_dir / f"installed-{agent}.log"
    with _running(installed, agent, env, log) as process:
        events = _wait_for(trace, lambda e: e.get("event") == "snapshot" and e.get("live") is True)
        assert any(e.get("event") == "frame" for e in events), "the agent never drew a frame"
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0


def _env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.lstrip().startswith("#")}


@contextlib.contextmanager
def _running(
    installed: Installed, agent: str, env: dict[str, str], log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """The agent as its unit runs it: the installed interpreter, in the installed code's folder."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(installed.python), "-m", f"{agent}_agent"],
            cwd=installed.prefix / "app",
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(15)


def _wait_for(
    trace: Path, wanted: Callable[[dict[str, Any]], bool], timeout: float = 60
) -> list[dict[str, Any]]:
    """The trace's events so far, once one of them is ``wanted``."""
    deadline = time.monotonic() + timeout
    events: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        if trace.exists():
            events = [json.loads(line) for line in trace.read_text().splitlines() if line]
            if any(wanted(e) for e in events):
                return events
        time.sleep(0.1)
    raise AssertionError(f"no matching trace event within {timeout} s: {events[-5:]}")
