"""HTTP API throughput: concurrent operators run the issue -> call-next -> start -> complete
cycle against a real ``python -m publisher_api`` (uvicorn, SQLite in WAL mode, the embedded
broker and the MQTT publisher all running, as in production).

Each client is its own operator at its own open counter (a counter holds one open ticket and an
operator holds one counter), so every cycle is the same four requests as before the counter
workflow; call-next carries ``close=completed`` as a console does (it never has to close
anything here: each client completes its own ticket first).

    .venv/bin/python -m bench.http_api [--clients 1 4 16 64] [--seconds 20] [--warmup 3]

The load generator is a deliberately thin asyncio HTTP/1.1 keep-alive client (no client library
on the hot path), so the client's own CPU cost stays small next to the server's. Every request
counts as one operation; latency is measured per request from write to full response. The
server's CPU time over each measured window (psutil) gives its CPU cost per operation. Results go
to bench/results/http_api.json and a Markdown summary to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import psutil  # type: ignore[import-untyped]  # no stubs published

from tests.support.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TENANT = "default"


@dataclass
class Recorder:
    measuring: bool = False
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    server_cpu_s: float = 0.0

    def record(self, op: str, seconds: float, ok: bool) -> None:
        if not self.measuring:
            return
        if ok:
            self.latencies.setdefault(op, []).append(seconds)
        else:
            self.errors[op] = self.errors.get(op, 0) + 1


class Connection:
    """One keep-alive HTTP/1.1 connection; just enough protocol for our JSON API."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        payload = await self.reader.readexactly(length) if length else b""
        return status, payload

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def operator(
    conn: Connection,
    counter: int,
    recorder: Recorder,
    stop: asyncio.Event,
    tenant: str = TENANT,
) -> None:
    base = f"/api/v1/tenants/{tenant}"
    issue_body = json.dumps({"service": "A", "priority": False}).encode()

    async def timed(
        op: str, method: str, path: str, body: bytes, ok: set[int]
    ) -> tuple[int, bytes]:
        started = time.perf_counter()
        status, payload = await conn.request(method, path, body)
        recorder.record(op, time.perf_counter() - started, status in ok)
        return status, payload

    while not stop.is_set():
        await timed("issue", "POST", f"{base}/tickets", issue_body, {201})
        status, payload = await timed(
            "call-next",
            "POST",
            f"{base}/counters/{counter}/call-next?close=completed",
            b"",
            {200, 204},
        )
        if status != 200:
            continue
        ticket_id = json.loads(payload)["id"]
        await timed("start", "POST", f"{base}/tickets/{ticket_id}/start", b"", {200})
        await timed("complete", "POST", f"{base}/tickets/{ticket_id}/complete", b"", {200})


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def drive(
    port: int,
    tokens: list[str],
    clients: int,
    warmup: float,
    seconds: float,
    server: psutil.Process,
    places: list[tuple[str, int]] | None = None,
) -> Recorder:
    """``places``: each client's (tenant, counter); default: client i at counter i + 1 of the
    dev tenant."""
    recorder = Recorder()
    stop = asyncio.Event()
    conns = [Connection("127.0.0.1", port, tokens[i]) for i in range(clients)]
    for conn in conns:
        await conn.open()
    where = places or [(TENANT, 1 + i) for i in range(clients)]
    tasks = [
        asyncio.create_task(operator(conn, where[i][1], recorder, stop, where[i][0]))
        for i, conn in enumerate(conns)
    ]
    await asyncio.sleep(warmup)
    started = cpu_seconds(server)
    recorder.measuring = True
    await asyncio.sleep(seconds)
    recorder.measuring = False
    recorder.server_cpu_s = cpu_seconds(server) - started
    stop.set()
    await asyncio.gather(*tasks)
    for conn in conns:
        await conn.close()
    return recorder


def login(http: httpx.Client, username: str, password: str) -> str:
    form = urlencode({"username": username, "password": password})
    response = http.post(
        "/api/v1/auth/token",
        content=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def operators_at_counters(port: int, count: int) -> list[str]:
    """``count`` operators, operator i at open counter i + 1 (set up before measuring)."""
    base = f"/api/v1/tenants/{TENANT}"
    tokens = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        admin = {"Authorization": f"Bearer {login(http, 'admin', 'admin')}"}
        for index in range(count):
            number, username = index + 1, f"bench-op-{index + 1}"
            password = f"{username}-password"
            counter = {"number": number, "name": f"Guichê {number}"}
            created = http.post(f"{base}/counters", json=counter, headers=admin)
            assert created.status_code in (201, 409), created.text
            user = {"username": username, "password": password, "role": "operator"}
            http.post(f"{base}/users", json=user, headers=admin).raise_for_status()
            token = login(http, username, password)
            http.post(
                f"{base}/counters/{number}/open", headers={"Authorization": f"Bearer {token}"}
            ).raise_for_status()
            tokens.append(token)
    return tokens


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_server(var_dir: Path, port: int, *, lane: bool = True) -> subprocess.Popen[bytes]:
    env = {
        "QUEUECAST_TICKET_LANE": "true" if lane else "false",
        **os.environ,
        "QUEUECAST_ENV": "dev",
        "QUEUECAST_VAR_DIR": str(var_dir),
        "QUEUECAST_HTTP_PORT": str(port),
        "QUEUECAST_MQTT_TCP_PORT": str(free_port()),
        "QUEUECAST_LOG_LEVEL": "WARNING",
    }
    log = (var_dir / "api.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "publisher_api"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    wait_for_port("127.0.0.1", port, timeout=60)
    deadline = time.monotonic() + 60
    while httpx.get(f"http://127.0.0.1:{port}/readyz").status_code != 200:
        if time.monotonic() > deadline:
            raise TimeoutError("API not ready")
        time.sleep(0.1)
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clients", type=int, nargs="+", default=[1, 4, 16, 64], help="one run per value"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measured, per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured, per run")
    parser.add_argument(
        "--no-lane", action="store_true", help="FastAPI routes only (QUEUECAST_TICKET_LANE=false)"
    )
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="queuecast-bench-") as tmp:
        port = free_port()
        proc = start_server(Path(tmp), port, lane=not args.no_lane)
        RESULTS.mkdir(parents=True, exist_ok=True)
        try:
            tokens = operators_at_counters(port, max(args.clients))
            server = psutil.Process(proc.pid)
            for clients in args.clients:
                recorder = asyncio.run(
                    drive(port, tokens, clients, args.warmup, args.seconds, server)
                )
                results.append(summarise(recorder, clients, args.seconds))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            # Keep the server's log next to the results (the database goes with the temp dir).
            (RESULTS / "http_api.server.log").write_bytes((Path(tmp) / "api.log").read_bytes())
    for r in results:
        r["ticket_lane"] = not args.no_lane
    (RESULTS / "http_api.json").write_text(json.dumps(results, indent=2))
    print(f"ticket fast lane: {'off (FastAPI only)' if args.no_lane else 'on'}")
    print(
        "| clients | ops/s | p50 ms | p99 ms | errors | server CPU ms/op |\n"
        "|---:|---:|---:|---:|---:|---:|"
    )
    for r in results:
        print(
            f"| {r['clients']} | {r['ops_per_s']} | {r['p50_ms']} | {r['p99_ms']} "
            f"| {sum(r['errors'].values())} | {r['server_cpu_ms_per_op']} |"
        )


def summarise(recorder: Recorder, clients: int, seconds: float) -> dict[str, Any]:
    everything = [s for values in recorder.latencies.values() for s in values]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}",
        "clients": clients,
        "seconds": seconds,
        "ops": len(everything),
        "ops_per_s": round(len(everything) / seconds, 1),
        "server_cpu_ms_per_op": round(recorder.server_cpu_s / max(1, len(everything)) * 1000, 3),
        "server_cpu_share": round(recorder.server_cpu_s / seconds, 2),
        "load_average": os.getloadavg(),
        "p50_ms": round(percentile(everything, 0.50) * 1000, 2),
        "p99_ms": round(percentile(everything, 0.99) * 1000, 2),
        "errors": recorder.errors,
        "per_op": {
            op: {
                "count": len(v),
                "mean_ms": round(statistics.fmean(v) * 1000, 2),
                "p50_ms": round(percentile(v, 0.50) * 1000, 2),
                "p99_ms": round(percentile(v, 0.99) * 1000, 2),
            }
            for op, v in sorted(recorder.latencies.items())
        },
    }


if __name__ == "__main__":
    main()
