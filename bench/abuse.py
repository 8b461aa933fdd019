"""Honest clients under attack (issue 12): operator call -> screen latency while one hostile
client floods logins, holds 2,000 idle connections, or sends 100 MB bodies.

    .venv/bin/python -m bench.abuse            # quiet, then each attack
    .venv/bin/python -m bench.abuse --quick    # fewer calls per phase
    .venv/bin/python -m bench.abuse --attacker-cpu 1   # the attacker on core 1, the rest on others
    .venv/bin/python -m bench.abuse --attacker-cpu 1 --paired   # a quiet phase before each attack

The whole system runs for real (``python -m publisher_api``, dev mode, embedded broker). The
honest side, in this process: a paho subscriber of the tenant's queue topic, and an operator
who issues a ticket and calls it, ``--calls`` times per phase; the figure is the time from
sending ``call-next`` to the subscriber holding the snapshot that shows that call. The attack
runs in another process so it does not share this one's CPU time:

- ``login flood``: 60 concurrent wrong sign-ins, each from a different address (``X-Forwarded-
  For``, trusted from loopback like a local reverse proxy) and username, so neither per-address
  nor per-user limits stop them: only the bounded password pool does;
- ``login flood, one address``: the same from one address (the audit's case);
- ``slowloris``: 2,000 connections that send a partial request and a header line now and then,
  re-opened whenever the server closes them;
- ``100 MB bodies``: 4 clients sending 100 MB JSON bodies to the login endpoint, again and again.

On a small shared machine the attacker's own CPU burn (60 client threads in a tight loop) takes
cores from the server and the honest client, so the tail measures the machine as much as the
server. ``--attacker-cpu N`` pins the attacker's process to core N and the API server (every
thread) and this process to the other cores, in every phase, quiet included: what is left is the
cost the attack causes inside the server, as with an attacker on another machine.

On a machine shared with other work the load changes within minutes, and a quiet phase
measured once at the start stops being a fair baseline for the last attack. ``--paired``
measures a quiet phase right before each attack and gives each attack's ratio against its own.

Reported per phase: p50/p99 call -> screen, how many honest requests failed (5xx or transport
errors), and what the attack got back. Goal: p99 <= 3 x quiet, zero 5xx.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import multiprocessing
import os
import resource
import socket
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.broker_fanout import RESULTS, machine_description, percentile
from bench.broker_servers import raise_fd_limit
from tests.support.system import RunningSystem, start_system

TENANT = "default"


# --- attacks (run in a child process until `stop` is set; return what they saw) ----------------


def login_flood(base_url: str, stop: Event, spoof: bool) -> dict[str, int]:
    seen: Counter[str] = Counter()
    lock = threading.Lock()
    counter = itertools.count()

    def worker() -> None:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            while not stop.is_set():
                n = next(counter)
                headers = {"X-Forwarded-For": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}
                try:
                    r = http.post(
                        "/api/v1/auth/token",
                        data={"username": f"guess{n}", "password": "wrong"},
                        headers=headers if spoof else None,
                    )
                    key = str(r.status_code)
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                with lock:
                    seen[key] += 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return dict(seen)


def slowloris(base_url: str, stop: Event, connections: int = 2000) -> dict[str, int]:
    host, port = base_url.removeprefix("http://").split(":")
    seen: Counter[str] = Counter()
    socks: list[socket.socket | None] = [None] * connections

    def open_one() -> socket.socket | None:
        try:
            s = socket.create_connection((host, int(port)), timeout=5)
            s.sendall(b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n")
            s.setblocking(False)
            seen["opened"] += 1
            return s
        except OSError as exc:
            seen[f"open failed: {type(exc).__name__}"] += 1
            return None

    while not stop.is_set():
        for i in range(connections):
            if stop.is_set():
                break
            s = socks[i]
            if s is not None:
                try:
                    s.send(b"X-a: b\r\n")
                    if s.recv(1) == b"":
                        raise ConnectionResetError
                except BlockingIOError:
                    continue  # still open, nothing to read: as intended
                except OSError:
                    seen["closed by server"] += 1
                    s.close()
                    s = None
            socks[i] = s or open_one()
        stop.wait(1.0)
    held = sum(1 for s in socks if s is not None)
    for s in socks:
        if s is not None:
            s.close()
    seen["held at the end"] = held
    return dict(seen)


def big_bodies(base_url: str, stop: Event, clients: int = 4) -> dict[str, int]:
    host, port = base_url.removeprefix("http://").split(":")
    seen: Counter[str] = Counter()
    lock = threading.Lock()
    chunk = b"[" + b"1," * 32_767 + b"1"

    def worker() -> None:
        while not stop.is_set():
            try:
                with socket.create_connection((host, int(port)), timeout=10) as s:
                    s.sendall(
                        b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
                    )
                    sent = 0
                    while sent < 100_000_000 and not stop.is_set():
                        s.sendall(chunk)
                        sent += len(chunk)
                    reply = s.recv(64)
                    key = reply.split(b" ", 2)[1].decode() if reply else "closed"
            except OSError as exc:
                key = f"refused mid-body ({type(exc).__name__})"
            with lock:
                seen[key] += 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return dict(seen)


def _attack_main(
    name: str, base_url: str, stop: Event, out: Any, cpus: set[int] | None = None
) -> None:
    if cpus is not None:
        os.sched_setaffinity(0, cpus)  # before any thread is made: they inherit it
    attacks: dict[str, Callable[[], dict[str, int]]] = {
        "login flood": lambda: login_flood(base_url, stop, spoof=True),
        "login flood, one address": lambda: login_flood(base_url, stop, spoof=False),
        "slowloris 2,000": lambda: slowloris(base_url, stop),
        "100 MB bodies": lambda: big_bodies(base_url, stop),
    }
    raise_fd_limit()
    seen = attacks[name]()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    seen["attacker CPU s"] = round(usage.ru_utime + usage.ru_stime)
    out.send(seen)


# --- the honest side ----------------------------------------------------------------------------


class Screen:
    """A paho subscriber of the queue topic: when did the snapshot showing a call arrive?"""

    def __init__(self, system: RunningSystem) -> None:
        creds = httpx.get(f"{system.base_url}/api/v1/tenants/{TENANT}/mqtt-credentials").json()
        self._arrived: dict[str, float] = {}
        self._cond = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-screen")
        self.client.username_pw_set(creds["username"], creds["password"])
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe(f"tenant/{TENANT}/queue", qos=1)
        self.client.connect("127.0.0.1", system.mqtt_port, keepalive=30)
        self.client.loop_start()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        now = time.perf_counter()
        try:
            calls = json.loads(message.payload).get("last_calls") or []
        except ValueError:
            return
        if calls:
            with self._cond:
                self._arrived.setdefault(calls[0]["ticket_id"], now)
                self._cond.notify_all()

    def arrival(self, ticket_id: str, timeout: float = 30) -> float | None:
        with self._cond:
            self._cond.wait_for(lambda: ticket_id in self._arrived, timeout)
            return self._arrived.get(ticket_id)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class Phase:
    name: str
    calls: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    honest_failures: dict[str, int]
    attack_saw: dict[str, int] = field(default_factory=dict)
    server_cpu_pct: int = 0
    load_1min: float = 0.0  # the machine's load average when the phase ended


def measure(system: RunningSystem, screen: Screen, token: str, name: str, calls: int) -> Phase:
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=system.base_url, timeout=30, headers=headers) as http:
        opened = http.post(f"/api/v1/tenants/{TENANT}/counters/1/open", json={"takeover": True})
        opened.raise_for_status()
        for _ in range(calls):
            try:
                issued = http.post(f"/api/v1/tenants/{TENANT}/tickets", json={"service": "A"})
                if issued.status_code != 201:
                    failures[f"issue {issued.status_code}"] += 1
                    continue
                sent = time.perf_counter()
                r = http.post(f"/api/v1/tenants/{TENANT}/counters/1/call-next")
                if r.status_code != 200:
                    failures[f"call-next {r.status_code}"] += 1
                    continue
                arrived = screen.arrival(r.json()["id"])
                if arrived is None:
                    failures["never on screen"] += 1
                    continue
                latencies.append((arrived - sent) * 1000)
                http.post(f"/api/v1/tenants/{TENANT}/tickets/{r.json()['id']}/complete")
                health = http.get("/healthz")
                if health.status_code != 200:
                    failures[f"healthz {health.status_code}"] += 1
            except httpx.HTTPError as exc:
                failures[type(exc).__name__] += 1
            time.sleep(0.1)
    ordered = sorted(latencies)
    return Phase(
        name=name,
        calls=len(latencies),
        p50_ms=round(statistics.median(ordered), 2) if ordered else float("nan"),
        p99_ms=round(percentile(ordered, 99), 2),
        max_ms=round(max(ordered), 2) if ordered else float("nan"),
        honest_failures=dict(failures),
        load_1min=round(os.getloadavg()[0], 1),
    )


ATTACKS = ["login flood", "login flood, one address", "slowloris 2,000", "100 MB bodies"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls per phase")
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument(
        "--attacker-cpu", type=int, default=None, help="pin the attacker to this core alone"
    )
    parser.add_argument(
        "--paired", action="store_true", help="a quiet phase right before each attack"
    )
    args = parser.parse_args()
    calls = args.calls or (30 if args.quick else 100)
    attacker_cpus = None if args.attacker_cpu is None else {args.attacker_cpu}
    raise_fd_limit()
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory() as tmp, start_system(Path(tmp)) as system:
        if attacker_cpus is not None:
            others = os.sched_getaffinity(0) - attacker_cpus
            assert system.api.proc is not None
            _pin(system.api.proc.pid, others)
            _pin(os.getpid(), others)
        operator = system.login("operator")
        screen = Screen(system)
        try:
            time.sleep(1)
            honest = (system, screen, operator)
            measure(*honest, "warm-up", 10)
            for n, attack in enumerate(ATTACKS):
                if n == 0 or args.paired:
                    phase = _timed(system, functools.partial(measure, *honest, "quiet", calls))
                    phases.append(phase)
                    print(_row(phase, phase), flush=True)
                stop = multiprocessing.Event()
                receive, send = multiprocessing.Pipe(duplex=False)
                process = multiprocessing.Process(
                    target=_attack_main,
                    args=(attack, system.base_url, stop, send, attacker_cpus),
                    daemon=True,
                )
                process.start()
                time.sleep(5)  # let the attack reach full strength
                phase = _timed(system, functools.partial(measure, *honest, attack, calls))
                stop.set()
                phase.attack_saw = receive.recv() if receive.poll(120) else {"no report": 1}
                process.join(30)
                phases.append(phase)
                print(_row(phase, _baseline(phases)), flush=True)
                time.sleep(3)
            server_errors = _server_errors(system)
        finally:
            screen.close()
    print(_table(phases, server_errors))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"abuse-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(
        json.dumps(
            {
                "machine": machine_description(),
                "load": os.getloadavg(),
                "attacker_cpu": args.attacker_cpu,
                "phases": [asdict(p) for p in phases],
                "server_log_errors": server_errors,
            },
            indent=2,
        )
    )
    print(f"raw results: {out}")


def _timed(system: RunningSystem, run: Callable[[], Phase]) -> Phase:
    """``run()``'s phase, with the API process's CPU use (% of one core) while it ran."""
    cpu_before, started = _cpu_s(system), time.monotonic()
    phase = run()
    phase.server_cpu_pct = round(100 * (_cpu_s(system) - cpu_before) / (time.monotonic() - started))
    return phase


def _baseline(phases: list[Phase]) -> Phase:
    """The latest quiet phase: what the last of ``phases`` compares with."""
    return next(p for p in reversed(phases) if p.name == "quiet")


def _pin(pid: int, cpus: set[int]) -> None:
    """Every thread of ``pid`` onto ``cpus`` (affinity is per thread on Linux; threads made later
    inherit their creator's)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(task.name), cpus)


def _cpu_s(system: RunningSystem) -> float:
    """CPU time (user + system) of the API process so far."""
    assert system.api.proc is not None
    fields = Path(f"/proc/{system.api.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_errors(system: RunningSystem) -> int:
    log = (system.var_dir / "api.log").read_text(errors="replace")
    return sum(1 for line in log.splitlines() if " ERROR " in line or "Traceback" in line)


def _row(phase: Phase, quiet: Phase) -> str:
    ratio = phase.p99_ms / quiet.p99_ms if quiet.p99_ms else float("nan")
    return (
        f"| {phase.name} | {phase.calls} | {phase.p50_ms:.1f} | {phase.p99_ms:.1f} | "
        f"{ratio:.2f}x | {phase.max_ms:.1f} | {_counts(phase.honest_failures) or '0'} | "
        f"{phase.server_cpu_pct} | {phase.load_1min} | {_counts(phase.attack_saw)} |"
    )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))


def _table(phases: list[Phase], server_errors: int) -> str:
    head = (
        "| phase | calls | p50 ms | p99 ms | p99 / quiet | max ms | honest failures | "
        "server CPU % | load | what the attack got |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = [_row(p, _baseline(phases[: n + 1])) for n, p in enumerate(phases)]
    return "\n".join([head, *rows, "", f"ERROR lines / tracebacks in the API log: {server_errors}"])


if __name__ == "__main__":
    main()
