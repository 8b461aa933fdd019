"""Cost of one change as the queue grows: a tenant filled to 10, 1,000 and 5,000 waiting tickets,
side by side in one run, against a real ``python -m publisher_api`` (uvicorn, SQLite, embedded
broker, the MQTT publisher).

    .venv/bin/python -m bench.queue_length [--levels 10 1000 5000] [--pairs 100]

At each level a serial keep-alive client does ``--pairs`` x (issue + call-next), so the queue
stays at its level, and we report:

* write p50 / p99 over those requests;
* bytes per change delivered to one display and one kiosk (both subscribe to the retained
  ``tenant/<t>/queue`` document) and to one phone follower: its own ticket topic only (what the
  phone page subscribes to since issue 10: it announces its call from its ticket document), and,
  for comparison, its ticket topic plus the queue document (the issue-9 phone page);
* bytes leaving the broker per change with 1,000 followers + 10 displays subscribed (phones on
  their ticket topic; and, for comparison, as the issue-9 phone page subscribed);
* the API process's CPU time per change (writes, publishing, follower passes, the embedded
  broker), the figure that stays readable when the shared machine is busy.

How bytes are counted: one MQTT connection subscribed to the whole tenant (``tenant/<t>/#``)
records every payload and topic the publisher sends during the measured writes (payload + topic +
5 bytes of fixed header per message, about MQTT's PUBLISH framing). The follower figure is the
mean over the waiting tickets (followers spread evenly over them); the total is
``10 x display + 1,000 x follower`` computed from those measured per-topic bytes, not from 1,010
live connections (which this 2-core shared machine cannot hold steady while it also measures).
Raw results go to bench/results/queue_length.json, a Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.http_api import percentile
from protocol.topics import queue_topic, tenant_wildcard
from tests.support.mqtt import Recorder
from tests.support.system import RunningSystem, start_system

RESULTS = Path(__file__).resolve().parent / "results"
MQTT_HEADER = 5  # fixed header + topic length + packet id, roughly, per PUBLISH
FOLLOWERS = 1000
DISPLAYS = 10
FILL_CONCURRENCY = 32


@dataclass(frozen=True)
class Level:
    waiting: int
    writes: int
    p50_ms: float
    p99_ms: float
    queue_document_bytes: int
    queue_version: int
    display_bytes_per_change: float
    kiosk_bytes_per_change: float
    follower_bytes_per_change: float
    follower_with_queue_bytes_per_change: float
    largest_ticket_message: int
    total_bytes_per_change: float
    total_with_queue_followers_bytes_per_change: float
    server_cpu_ms_per_change: float


def _cpu_s(pid: int) -> float:
    """CPU time (user + system) the process has used: the API with its embedded broker and
    publisher. Steadier than latency on a shared machine: other processes delay a request, they
    do not make it cost more."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _size(topic: str, payload: bytes) -> int:
    return len(payload) + len(topic) + MQTT_HEADER


async def _fill(system: RunningSystem, token: str, count: int) -> None:
    """Issue ``count`` tickets, ``FILL_CONCURRENCY`` at a time (group commit keeps this quick)."""
    url = f"{system.base_url}/api/v1/tenants/{system.tenant}/tickets"
    headers = system.auth(token)
    async with httpx.AsyncClient(timeout=120) as http:
        remaining = count
        while remaining > 0:
            batch = min(remaining, FILL_CONCURRENCY)
            responses = await asyncio.gather(
                *(
                    http.post(url, json={"service": "A", "priority": False}, headers=headers)
                    for _ in range(batch)
                )
            )
            for r in responses:
                assert r.status_code == 201, r.text
            remaining -= batch


def _waiting(system: RunningSystem) -> tuple[int, bytes]:
    response = system.http.get(f"/api/v1/tenants/{system.tenant}/queue")
    response.raise_for_status()
    document = response.json()
    total = document.get("waiting_total")
    if total is None:
        total = len(document["waiting"])
    return int(total), response.content


def _forget(recorder: Recorder) -> None:
    """Drop what arrived so far (the fill's messages), so only the measured writes count."""
    with recorder._lock:
        recorder.seen.clear()
    while not recorder.messages.empty():
        recorder.messages.get_nowait()


def measure(system: RunningSystem, recorder: Recorder, level: int, pairs: int) -> Level:
    operator = system.login("operator")
    base = f"/api/v1/tenants/{system.tenant}"
    waiting, _ = _waiting(system)
    if waiting < level:
        asyncio.run(_fill(system, operator, level - waiting))
    waiting, document = _waiting(system)
    version = int(json.loads(document)["version"])
    time.sleep(1.5)  # let the fill's messages (and any coalesced follower updates) arrive
    _forget(recorder)
    latencies: list[float] = []
    pid = system.api.proc.pid if system.api.proc is not None else None
    cpu_before = _cpu_s(pid) if pid is not None else 0.0
    with httpx.Client(base_url=system.base_url, headers=system.auth(operator)) as http:
        for _ in range(pairs):
            started = time.perf_counter()
            issued = http.post(f"{base}/tickets", json={"service": "A", "priority": False})
            latencies.append(time.perf_counter() - started)
            assert issued.status_code == 201, issued.text
            started = time.perf_counter()
            called = http.post(f"{base}/counters/1/call-next", params={"close": "completed"})
            latencies.append(time.perf_counter() - started)
            assert called.status_code == 200, called.text
    changes = 2 * pairs
    received = recorder.drain(settle=2.0)
    # Includes the follower passes the writes caused (the settle lets them finish).
    cpu = (_cpu_s(pid) - cpu_before) if pid is not None else 0.0
    queue = queue_topic(system.tenant)
    queue_bytes = sum(_size(m.topic, m.payload) for m in received if m.topic == queue)
    tickets = [m for m in received if "/tickets/" in m.topic]
    ticket_bytes = sum(_size(m.topic, m.payload) for m in tickets)
    display = queue_bytes / changes
    follower = ticket_bytes / changes / max(1, waiting)
    return Level(
        waiting=waiting,
        writes=changes,
        p50_ms=round(percentile(latencies, 0.5) * 1000, 2),
        p99_ms=round(percentile(latencies, 0.99) * 1000, 2),
        queue_document_bytes=len(document),
        queue_version=version,
        display_bytes_per_change=round(display),
        kiosk_bytes_per_change=round(display),
        follower_bytes_per_change=round(follower, 1),
        follower_with_queue_bytes_per_change=round(follower + display, 1),
        largest_ticket_message=max((len(m.payload) for m in tickets), default=0),
        total_bytes_per_change=round(DISPLAYS * display + FOLLOWERS * follower),
        total_with_queue_followers_bytes_per_change=round(
            DISPLAYS * display + FOLLOWERS * (follower + display)
        ),
        server_cpu_ms_per_change=round(cpu * 1000 / changes, 3),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[10, 1000, 5000])
    parser.add_argument("--pairs", type=int, default=100, help="issue + call-next per level")
    args = parser.parse_args()
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="queuecast-bench-") as tmp,
        start_system(Path(tmp), env={"QUEUECAST_LOG_LEVEL": "WARNING"}) as system,
    ):
        operator = system.auth(system.login("operator"))
        opened = system.http.post(
            f"/api/v1/tenants/{system.tenant}/counters/1/open",
            json={"takeover": True},
            headers=operator,
        )
        opened.raise_for_status()
        token = system.device_token(role="display", device_id="bench-display")
        recorder = Recorder("127.0.0.1", system.mqtt_port, username="display", password=token)
        recorder.connect()
        recorder.subscribe(tenant_wildcard(system.tenant))
        try:
            for level in sorted(args.levels):
                results.append(measure(system, recorder, level, args.pairs))
        finally:
            recorder.close()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "queue_length.json").write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": f"{os.cpu_count()} cores, {platform.platform()}, "
                f"Python {platform.python_version()}",
                "load_average": os.getloadavg(),
                "levels": [asdict(r) for r in results],
            },
            indent=2,
        )
    )
    print(
        "| waiting | write p50 ms | write p99 ms | queue doc B (v) | display/kiosk B per change "
        "| follower B per change: ticket topic / + queue doc | largest ticket msg B "
        "| total B per change, 1,000 followers + 10 displays: ticket topic / + queue doc "
        "| server CPU ms per change |"
        "\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    for r in results:
        print(
            f"| {r.waiting:,} | {r.p50_ms} | {r.p99_ms} | {r.queue_document_bytes:,} "
            f"(v{r.queue_version}) | {r.display_bytes_per_change:,.0f} "
            f"| {r.follower_bytes_per_change:,.1f} / {r.follower_with_queue_bytes_per_change:,.1f} "
            f"| {r.largest_ticket_message:,} "
            f"| {r.total_bytes_per_change:,.0f} / "
            f"{r.total_with_queue_followers_bytes_per_change:,.0f} | {r.server_cpu_ms_per_change} |"
        )
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
