"""Write throughput with 1, 2 and 3 API replicas on PostgreSQL behind nginx, as ``make
run-cluster`` runs them (``deploy/cluster/run.py``: PostgreSQL, Mosquitto, N replicas, nginx).

The load is ``bench.http_api``'s: N concurrent keep-alive clients, each an operator at its own
open counter, loop issue -> call-next -> start -> complete, all through nginx (round-robin over
the replicas), all on one tenant (so every write of every replica queues on the same tenant
row lock: the worst case for replicas, and the common one for a single busy site). A fresh
cluster per replica count. CPU per operation counts every process of the cluster (replicas,
PostgreSQL, nginx, Mosquitto), not the load generator.

    .venv/bin/python -m bench.replicas [--replicas 1 2 3] [--clients 16] [--seconds 20]
        [--tenants N]  # the clients spread over N new tenants (nginx: tenant affinity)

Results go to bench/results/replicas.json and a Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import psutil  # type: ignore[import-untyped]  # no stubs published

from bench.http_api import RESULTS, drive, login, operators_at_counters, summarise
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parent.parent


class _Times(NamedTuple):
    user: float
    system: float


class ProcessTree:
    """The CPU time of a process and all its descendants, alive or reaped since the start."""

    def __init__(self, *roots: psutil.Process) -> None:
        self.roots = roots

    def cpu_times(self) -> _Times:
        user = system = 0.0
        every = [p for root in self.roots for p in (root, *root.children(recursive=True))]
        for process in every:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            user += times.user + times.children_user
            system += times.system + times.children_system
        return _Times(user, system)


def run_cluster(workdir: Path, replicas: int) -> tuple[subprocess.Popen[bytes], int]:
    var = workdir / "var"
    port = free_port()
    argv = [
        sys.executable, str(ROOT / "deploy" / "cluster" / "run.py"), "--var", str(var),
        "--replicas", str(replicas), "--http-port", str(port),
        "--replica-base-port", str(free_port()), "--mqtt-port", str(free_port()),
        "--mqtt-ws-port", str(free_port()), "--pg-port", str(free_port()),
    ]  # fmt: skip
    env = {**os.environ, "QUEUECAST_LOG_LEVEL": "WARNING"}
    log = (workdir / "run.log").open("wb")
    runner = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while not (var / "cluster.json").exists():
        if runner.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the cluster did not start: see {workdir}/run.log")
        time.sleep(0.2)
    return runner, port


def tenants_with_operators(port: int, tenants: int, clients: int) -> list[tuple[str, str, int]]:
    """``tenants`` new tenants (service A, a counter and an operator per client of theirs):
    client i works in tenant i % tenants. Returns each client's (token, tenant, counter)."""
    made: list[tuple[str, str, int]] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        root = {"Authorization": f"Bearer {login(http, 'root', 'root')}"}
        for k in range(tenants):
            tenant = f"bench-{k + 1}"
            base = f"/api/v1/tenants/{tenant}"
            http.post("/api/v1/tenants", json={"id": tenant, "name": tenant}, headers=root)
            http.post(f"{base}/services", json={"prefix": "A", "name": "A"}, headers=root)
        for i in range(clients):
            tenant, number = f"bench-{i % tenants + 1}", i // tenants + 1
            base = f"/api/v1/tenants/{tenant}"
            counter = {"number": number, "name": f"Guichê {number}"}
            created = http.post(f"{base}/counters", json=counter, headers=root)
            assert created.status_code in (201, 409), created.text
            username, password = f"bench-{i}", f"bench-{i}-password"
            user = {"username": username, "password": password, "role": "operator"}
            http.post(f"{base}/users", json=user, headers=root).raise_for_status()
            token = login(http, username, password)
            http.post(
                f"{base}/counters/{number}/open", headers={"Authorization": f"Bearer {token}"}
            ).raise_for_status()
            made.append((token, tenant, number))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--tenants",
        type=int,
        default=0,
        help="spread the clients over this many new tenants (default 0: all on the dev tenant)",
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    RESULTS.mkdir(parents=True, exist_ok=True)
    for count in args.replicas:
        with tempfile.TemporaryDirectory(prefix="queuecast-bench-cluster-") as tmp:
            if os.geteuid() == 0:
                shutil.chown(tmp, "postgres")  # the database server runs as postgres
            runner, port = run_cluster(Path(tmp), count)
            try:
                places: list[tuple[str, int]] | None = None
                if args.tenants:
                    made = tenants_with_operators(port, args.tenants, args.clients)
                    tokens = [token for token, _, _ in made]
                    places = [(tenant, counter) for _, tenant, counter in made]
                else:
                    tokens = operators_at_counters(port, args.clients)
                # pg_ctl detaches the database server: found by its data directory.
                data = str(Path(tmp) / "var" / "pgdata")
                postmaster = [
                    p
                    for p in psutil.process_iter(["cmdline"])
                    if data in (p.info["cmdline"] or []) and "postgres" in p.info["cmdline"][0]
                ]
                tree = ProcessTree(psutil.Process(runner.pid), *postmaster)
                recorder = asyncio.run(
                    drive(port, tokens, args.clients, args.warmup, args.seconds, tree, places)
                )
                result = summarise(recorder, args.clients, args.seconds)
                result["replicas"] = count
                result["tenants"] = args.tenants or 1
                results.append(result)
            finally:
                runner.send_signal(signal.SIGTERM)
                runner.wait(timeout=60)
    (RESULTS / f"replicas-{args.tenants or 1}-tenants.json").write_text(
        json.dumps(results, indent=2)
    )
    print(
        "| replicas | tenants | clients | ops/s | p50 ms | p99 ms | errors | cluster CPU ms/op |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    for r in results:
        print(
            f"| {r['replicas']} | {r['tenants']} | {r['clients']} | {r['ops_per_s']} "
            f"| {r['p50_ms']} | {r['p99_ms']} | {sum(r['errors'].values())} "
            f"| {r['server_cpu_ms_per_op']} |"
        )


if __name__ == "__main__":
    main()
