"""The whole system running for real: the API (with its embedded broker, or publishing to a
separate broker process) as subprocesses on free ports, a temporary SQLite database, dev seed.

Subprocesses, not threads: tests can kill -9 the API or the broker and start them again on the
same database, exactly as a crash or a restart in the field.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

import httpx

from tests.support.mosquitto import MOSQUITTO, write_mosquitto_conf
from tests.support.ports import free_port, wait_for_port
from tests.support.process import terminate

ROOT = Path(__file__).resolve().parents[2]
BrokerKind = Literal["embedded", "separate", "mosquitto"]


@dataclass
class _Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            terminate(self.proc, timeout, sig)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_listening(self, port: int, timeout: float = 15.0) -> None:
        """Until ``port`` accepts; a process that exits or stays deaf fails with its log."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited during start-up:\n{self.log_tail()}")
            try:
                wait_for_port("127.0.0.1", port, timeout=0.2)
                return
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{self.name} not listening on {port} after {timeout}s:\n{self.log_tail()}"
                    ) from None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


@dataclass
class RunningSystem:
    """Handles to a running system. ``tenant`` is the dev-seeded ``default`` tenant."""

    base_url: str
    http_port: int
    mqtt_port: int
    ws_url: str
    var_dir: Path
    broker_kind: BrokerKind
    api: _Process
    broker: _Process | None
    tenant: str = "default"
    http: httpx.Client = field(init=False)
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=10.0)

    # --- identities -------------------------------------------------------------------------
    def login(self, username: str = "operator", password: str | None = None) -> str:
        """Bearer token of a dev-seeded (or created) user."""
        response = self.http.post(
            "/api/v1/auth/token",
            data={"username": username, "password": password or username},
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def device_token(self, role: str = "totem", device_id: str = "totem-1") -> str:
        """The device's token, through the admin API: created once, or rotated if the device
        already exists (the dev seed has some), so this handle holds its only valid token."""
        key = (role, device_id)
        if key not in self._tokens:
            admin = self.auth(self.login("admin"))
            devices = f"/api/v1/tenants/{self.tenant}/devices"
            response = self.http.post(devices, json={"id": device_id, "role": role}, headers=admin)
            if response.status_code == 409:
                response = self.http.post(f"{devices}/{device_id}/token", headers=admin)
            response.raise_for_status()
            assert response.json()["role"] == role, response.text
            self._tokens[key] = str(response.json()["token"])
        return self._tokens[key]

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    # --- lifecycle ----------------------------------------------------------------------------
    def stop_broker(self) -> None:
        """Take MQTT down while HTTP keeps answering (separate or mosquitto broker only)."""
        if self.broker is None:
            raise RuntimeError("the broker is embedded in the API; use broker_kind='separate'")
        self.broker.stop()

    def start_broker(self) -> None:
        if self.broker is None:
            raise RuntimeError("the broker is embedded in the API; use broker_kind='separate'")
        self.broker.start()
        self.broker.wait_listening(self.mqtt_port)

    def kill_api(self) -> None:
        """kill -9: no shutdown hooks, as in a crash."""
        self.api.stop(signal.SIGKILL)

    def start_api(self) -> None:
        self.api.start()
        self.wait_ready()

    def restart_api(self) -> None:
        self.api.stop()
        self.start_api()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.api.alive():
                raise RuntimeError(f"API exited during start-up:\n{self.api.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if self.http.get("/readyz").status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"API not ready after {timeout}s:\n{self.api.log_tail()}")

    def close(self) -> None:
        self.http.close()
        self.api.stop()
        if self.broker is not None:
            self.broker.stop()


@contextlib.contextmanager
def start_system(
    tmp_path: Path,
    *,
    broker_kind: BrokerKind = "embedded",
    separate_broker: bool = False,
    env: dict[str, str] | None = None,
    http_port: int | None = None,
) -> Iterator[RunningSystem]:
    """Start the API (and a broker process unless embedded) and wait until it is ready.

    ``separate_broker=True`` is shorthand for ``broker_kind="separate"``: our own broker as its
    own process (``python -m broker``), so tests can stop MQTT while HTTP keeps answering.
    ``"mosquitto"`` runs the same API against Debian's Mosquitto as an external broker.
    ``http_port``: the API's port when ``env`` must name it (``QUEUECAST_PUBLIC_URL``).
    """
    if separate_broker:
        broker_kind = "separate"
    var_dir = tmp_path / "var"
    var_dir.mkdir(parents=True, exist_ok=True)
    http_port, mqtt_port = http_port or free_port(), free_port()
    base_env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "QUEUECAST_ENV": "dev",
        "QUEUECAST_VAR_DIR": str(var_dir),
        "QUEUECAST_HTTP_HOST": "127.0.0.1",
        "QUEUECAST_HTTP_PORT": str(http_port),
        "QUEUECAST_MQTT_TCP_PORT": str(mqtt_port),
        "QUEUECAST_LOG_LEVEL": "INFO",
        **(env or {}),
    }
    api_env = dict(base_env)
    broker: _Process | None = None
    ws_url = f"ws://127.0.0.1:{http_port}/mqtt"
    if broker_kind != "embedded":
        ws_port = free_port()
        ws_url = f"ws://127.0.0.1:{ws_port}/mqtt"
        if broker_kind == "separate":
            argv = [sys.executable, "-m", "broker"]
            broker_env = {**base_env, "QUEUECAST_MQTT_WS_PORT": str(ws_port)}
        else:
            argv = [str(MOSQUITTO), "-c", str(write_mosquitto_conf(var_dir, mqtt_port, ws_port))]
            broker_env = dict(os.environ)
        broker = _Process("broker", argv, broker_env, var_dir / "broker.log")
        api_env |= {
            "QUEUECAST_MQTT_EMBEDDED": "false",
            "QUEUECAST_MQTT_EXTERNAL_URL": f"mqtt://127.0.0.1:{mqtt_port}",
            "QUEUECAST_MQTT_PUBLIC_URL": f"mqtt://127.0.0.1:{mqtt_port}",
            "QUEUECAST_MQTT_PUBLIC_WS_URL": ws_url,
        }
    api = _Process("api", [sys.executable, "-m", "publisher_api"], api_env, var_dir / "api.log")
    system = RunningSystem(
        base_url=f"http://127.0.0.1:{http_port}",
        http_port=http_port,
        mqtt_port=mqtt_port,
        ws_url=ws_url,
        var_dir=var_dir,
        broker_kind=broker_kind,
        api=api,
        broker=broker,
    )
    try:
        if broker is not None:
            broker.start()
            broker.wait_listening(mqtt_port)
        api.start()
        system.wait_ready()
        yield system
    finally:
        system.close()
