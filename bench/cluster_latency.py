"""Operator call -> screen through the replicated deployment: the call goes through nginx to
an API replica on PostgreSQL, the outbox relay (whichever replica leads) publishes to Mosquitto
with dynamic security, and one screen subscribed with the login ``/mqtt-credentials`` gave it
receives the queue snapshot. The single-process default (embedded broker, SQLite) runs in the
same invocation, for comparison on the same machine and load.

    .venv/bin/python -m bench.cluster_latency [--replicas 1 3] [--calls 60] [--interval 0.1]

The timing is ``bench.call_latency``'s (from the call-next request's start to the screen's
socket holding the snapshot whose newest call is that ticket). The screen logs in as the
tenant's public pages do (no bearer token: the rotating public login of the tenant). A fresh
cluster per replica count, started by ``deploy/cluster/run.py`` as ``make run-cluster`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

import httpx

from bench.call_latency import Result, Scenario, Target, measure, save_report, table, time_calls
from bench.http_api import TENANT, login
from bench.mqtt_subscribers import Spec
from bench.replicas import run_cluster
from protocol.topics import queue_topic
from tests.support.system import start_system


def through_cluster(replicas: int, scenario: Scenario) -> Result:
    with tempfile.TemporaryDirectory(prefix="queuecast-bench-latency-") as tmp:
        if os.geteuid() == 0:
            shutil.chown(tmp, "postgres")  # the database server runs as postgres
        runner, port = run_cluster(Path(tmp), replicas)
        try:
            state = json.loads((Path(tmp) / "var" / "cluster.json").read_text())
            base_url = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base_url, timeout=60) as http:
                root = {"Authorization": f"Bearer {login(http, 'root', 'root')}"}
                response = http.get(f"/api/v1/tenants/{TENANT}/mqtt-credentials")
                response.raise_for_status()
                credentials = response.json()
            if credentials["login"] != "password":
                raise RuntimeError("the cluster's broker does not keep its own accounts")
            name = f"mosquitto dynsec, {replicas} replica{'s' if replicas > 1 else ''}"
            target = Target(
                name, base_url, root, int(state["mosquitto"]["tcp"]), credentials["username"]
            )
            specs: list[Spec] = [("screen-1", str(credentials["password"]), queue_topic(TENANT))]
            return time_calls(target, scenario, [TENANT], specs, [TENANT])
        finally:
            runner.send_signal(signal.SIGTERM)
            runner.wait(timeout=60)


def embedded(scenario: Scenario) -> Result:
    with (
        tempfile.TemporaryDirectory(prefix="bench-call-") as folder,
        start_system(
            Path(folder), broker_kind="embedded", env={"QUEUECAST_LOG_LEVEL": "WARNING"}
        ) as system,
    ):
        return measure(system, "embedded amqtt, 1 process (SQLite)", scenario)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between calls")
    args = parser.parse_args()
    scenario = Scenario("1 screen", 1, 1, args.calls, args.interval, warmup=5)
    results = [embedded(scenario)]
    print(results[-1], flush=True)
    for count in args.replicas:
        results.append(through_cluster(count, scenario))
        print(results[-1], flush=True)
    print(table(results))
    save_report("cluster_latency", results)


if __name__ == "__main__":
    main()
