"""Debian's Mosquitto as a real external broker for tests (started on free ports)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.ports import free_port, wait_for_port

MOSQUITTO = Path("/usr/sbin/mosquitto")

requires_mosquitto = pytest.mark.skipif(
    not MOSQUITTO.exists(), reason="Debian package mosquitto is not installed (make system-deps)"
)


@dataclass
class Mosquitto:
    tcp_port: int
    ws_port: int
    conf: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.conf.parent / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen(
            [str(MOSQUITTO), "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        wait_for_port("127.0.0.1", self.tcp_port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


def write_mosquitto_conf(workdir: Path, tcp_port: int, ws_port: int) -> Path:
    """Anonymous access, no persistence, a TCP and a WebSocket listener on loopback."""
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        "per_listener_settings false\nallow_anonymous true\npersistence false\n"
        f"listener {tcp_port} 127.0.0.1\nprotocol mqtt\n"
        f"listener {ws_port} 127.0.0.1\nprotocol websockets\n"
    )
    return conf


@contextlib.contextmanager
def run_mosquitto(workdir: Path) -> Iterator[Mosquitto]:
    tcp_port, ws_port = free_port(), free_port()
    broker = Mosquitto(tcp_port, ws_port, write_mosquitto_conf(workdir, tcp_port, ws_port))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
