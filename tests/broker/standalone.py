"""The same broker two ways, for tests that must hold on both: embedded in this process (its own
event-loop thread, :class:`~tests.broker.harness.BrokerThread`) and as ``python -m broker``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.broker.harness import SECRET, BrokerThread, broker_settings
from tests.support.ports import free_port, wait_for_port
from tests.support.process import terminate

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunningBroker:
    kind: str
    host: str
    port: int
    ws_port: int
    pid: int
    """The process whose memory the broker uses (this one, when embedded)."""
    thread: BrokerThread | None = None

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")


@contextmanager
def embedded_broker(**overrides: object) -> Iterator[RunningBroker]:
    thread = BrokerThread(broker_settings(**overrides)).start()
    try:
        yield RunningBroker(
            "embedded", "127.0.0.1", thread.tcp_port, thread.ws_port, os.getpid(), thread
        )
    finally:
        thread.close()


@contextmanager
def standalone_broker(tmp_path: Path, **env: str) -> Iterator[RunningBroker]:
    port, ws_port = free_port(), free_port()
    environment = {
        **os.environ,
        "QUEUECAST_ENV": "production",
        "QUEUECAST_SECRET_KEY": SECRET,
        "QUEUECAST_VAR_DIR": str(tmp_path),
        "QUEUECAST_DATABASE_URL": f"sqlite:///{tmp_path / 'broker.db'}",
        "QUEUECAST_MQTT_HOST": "127.0.0.1",
        "QUEUECAST_MQTT_TCP_PORT": str(port),
        "QUEUECAST_MQTT_WS_PORT": str(ws_port),
        **env,
    }
    log = (tmp_path / "broker.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "broker"], cwd=ROOT, env=environment, stdout=log, stderr=log
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        yield RunningBroker("separate", "127.0.0.1", port, ws_port, process.pid)
    finally:
        terminate(process, 10)
        log.close()
