"""The real open-files limit (issue 12): with ``ulimit -n`` at 300, 350 idle HTTP connections
used to exhaust the process: every accept() failed, /healthz stopped answering and new MQTT
connections were reset, with nothing logged. Now HTTP refuses beyond its share (logged), the
broker keeps its own share, and the idle connections are closed at the request deadline."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.mqtt import Recorder
from tests.support.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
FILES = 300


def _tight_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILES, FILES))  # hard too: no raising it back


def test_idle_connections_past_the_open_files_limit_take_nothing_down(tmp_path: Path) -> None:
    http_port, mqtt_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("QUEUECAST_")},
        "QUEUECAST_ENV": "dev",
        "QUEUECAST_VAR_DIR": str(tmp_path),
        "QUEUECAST_HTTP_PORT": str(http_port),
        "QUEUECAST_MQTT_TCP_PORT": str(mqtt_port),
        "QUEUECAST_HTTP_REQUEST_TIMEOUT_S": "3",
        "QUEUECAST_LOG_LEVEL": "INFO",
    }
    log_path = tmp_path / "api.log"
    with log_path.open("wb") as log:
        api = subprocess.Popen(
            [sys.executable, "-m", "publisher_api"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_tight_limit,
        )
    idle: list[socket.socket] = []
    try:
        wait_for_port("127.0.0.1", http_port, timeout=60)
        password = _public_password(http_port)
        for _ in range(FILES + 50):
            with contextlib.suppress(OSError):
                idle.append(socket.create_connection(("127.0.0.1", http_port), timeout=5))
        time.sleep(0.5)
        screen = Recorder("127.0.0.1", mqtt_port, password=password).connect()
        screen.close()  # MQTT has its own share of descriptors: still accepting
        time.sleep(3.5)  # the request deadline closes the idle connections
        assert httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=10).status_code == 200
        text = log_path.read_text(errors="replace")
        assert "HTTP connection cap reached" in text
        assert "no whole request" in text
        assert "Traceback" not in text
    finally:
        for sock in idle:
            sock.close()
        api.terminate()
        api.wait(20)


def _public_password(http_port: int) -> str:
    r = httpx.get(
        f"http://127.0.0.1:{http_port}/api/v1/tenants/default/mqtt-credentials", timeout=10
    )
    return str(r.json()["password"])
