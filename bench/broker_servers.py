"""Brokers under test, each as its own process on free loopback ports: our embedded broker
(``python -m broker``) and Debian's Mosquitto with a generated configuration."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # no stubs installed

from protocol import Role, issue_token
from tests.support.ports import free_port, wait_for_port

MOSQUITTO = "/usr/sbin/mosquitto"
SECRET = "benchmark-secret-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105 - loopback only


@dataclass(frozen=True)
class RunningBroker:
    name: str
    pid: int
    tcp_port: int
    ws_port: int | None
    needs_token: bool

    def token(self, role: Role, tenant: str | None, subject: str) -> str | None:
        if not self.needs_token:
            return None
        value, _ = issue_token(
            secret=SECRET, subject=subject, role=role, tenant=tenant, ttl=timedelta(hours=2)
        )
        return value

    def rss_bytes(self) -> int:
        return int(psutil.Process(self.pid).memory_info().rss)

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)


def raise_fd_limit() -> int:
    """As many descriptors as the hard limit allows (inherited by the brokers we start)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def embedded_broker(*, ws: bool = False, profile_to: Path | None = None) -> Iterator[RunningBroker]:
    tcp_port = free_port()
    ws_port = free_port() if ws else None
    env = {
        **os.environ,
        "QUEUECAST_ENV": "production",
        "QUEUECAST_SECRET_KEY": SECRET,
        "QUEUECAST_MQTT_HOST": "127.0.0.1",
        "QUEUECAST_MQTT_TCP_PORT": str(tcp_port),
        "QUEUECAST_MQTT_WS_PORT": str(ws_port or free_port()),
        "QUEUECAST_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "broker"]
    if profile_to is not None:
        command = [sys.executable, "-m", "cProfile", "-o", str(profile_to), "-m", "broker"]
    process = subprocess.Popen(command, env=env, cwd=Path(__file__).resolve().parent.parent)
    try:
        wait_for_port("127.0.0.1", tcp_port, timeout=30)
        yield RunningBroker("embedded amqtt", process.pid, tcp_port, ws_port, needs_token=True)
    finally:
        _stop(process)


@contextmanager
def api_with_embedded_broker(
    env_overrides: dict[str, str] | None = None,
) -> Iterator[RunningBroker]:
    """The whole API process (``python -m publisher_api``, production mode, empty database) with
    its embedded broker: ``ws_port`` is the HTTP port, whose ``/mqtt`` route browsers use.
    ``env_overrides``: more QUEUECAST_* settings for that process."""
    http_port, tcp_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as folder:
        env = {
            **os.environ,
            **(env_overrides or {}),
            "QUEUECAST_ENV": "production",
            "QUEUECAST_SECRET_KEY": SECRET,
            "QUEUECAST_VAR_DIR": folder,
            "QUEUECAST_HTTP_PORT": str(http_port),
            "QUEUECAST_MQTT_TCP_PORT": str(tcp_port),
            "QUEUECAST_LOG_LEVEL": "WARNING",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "publisher_api"],
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
        )
        try:
            wait_for_port("127.0.0.1", http_port, timeout=60)
            yield RunningBroker("API process, HTTP /mqtt", process.pid, tcp_port, http_port, True)
        finally:
            _stop(process)


@contextmanager
def mosquitto_broker(*, ws: bool = False) -> Iterator[RunningBroker]:
    """``ws``: a WebSocket listener too (``protocol websockets``, libwebsockets inside Debian's
    build). Mosquitto 2.0.x refuses to start with a WebSocket listener alone ("Unable to start
    any listening sockets", eclipse-mosquitto/mosquitto#2284 and #2578: libwebsockets keeps its
    socket outside Mosquitto's own list), so the TCP listener always comes first; and 2.0.11
    binds the WebSocket listener to every address whatever the configuration says (#3045)."""
    if not shutil.which(MOSQUITTO) and not Path(MOSQUITTO).exists():
        raise RuntimeError(f"{MOSQUITTO} not found: install Debian's mosquitto (make system-deps)")
    tcp_port = free_port()
    ws_port = free_port() if ws else None
    with tempfile.TemporaryDirectory(prefix="bench-mosquitto-") as folder:
        config = Path(folder) / "mosquitto.conf"
        config.write_text(
            f"listener {tcp_port} 127.0.0.1\n"
            + (f"listener {ws_port} 127.0.0.1\nprotocol websockets\n" if ws_port else "")
            + "allow_anonymous true\n"
            "persistence false\n"
            "log_dest none\n"
            "max_queued_messages 1000\n"
        )
        process = subprocess.Popen([MOSQUITTO, "-c", str(config)])
        try:
            wait_for_port("127.0.0.1", tcp_port, timeout=30)
            if ws_port is not None:
                wait_for_port("127.0.0.1", ws_port, timeout=30)
            yield RunningBroker("mosquitto", process.pid, tcp_port, ws_port, needs_token=False)
        finally:
            _stop(process)


def version_of_mosquitto() -> str:
    result = subprocess.run([MOSQUITTO, "-h"], capture_output=True, text=True, check=False)
    first = (result.stdout or result.stderr).splitlines()[:1]
    return first[0] if first else "mosquitto"
