"""Reconnect storms: N screens connect at the same moment; how long until all show the queue?

    .venv/bin/python -m bench.broker_storm                       # 1,000 / 3,000 / 10,000
    .venv/bin/python -m bench.broker_storm --sizes 1000 3000     # fewer sizes
    .venv/bin/python -m bench.broker_storm --only embedded-tcp   # one broker/transport
    .venv/bin/python -m bench.broker_storm --rounds 3            # medians over 3 runs each
    .venv/bin/python -m bench.broker_storm --api-defaults        # the API's default caps (see
                                                                 # api_sized_for_screens)
    .venv/bin/python -m bench.broker_storm --profile out.svg     # py-spy flame graph of the
                                                                 # embedded broker (largest size)

For each size, in the same run and each against a fresh broker process:

- ``embedded-tcp``: ``python -m broker`` over TCP;
- ``embedded-ws``: the API process (``python -m publisher_api``) over WebSocket at its own
  ``/mqtt`` route, the way browser pages connect;
- ``mosquitto-tcp``: Debian's Mosquitto over TCP, the anchor for ``embedded-tcp``;
- ``mosquitto-ws``: the same Mosquitto over WebSocket (its libwebsockets listener), the anchor
  for ``embedded-ws``. Mosquitto 2.0.11 starts a WebSocket listener only beside a TCP one, so
  both are configured (see :func:`bench.broker_servers.mosquitto_broker`).

A publisher first retains one queue document (4.3 KB, a ``queue_update`` with 10 waiting) on
``tenant/bench/queue``. Then every screen connects at once, each with the same ``public`` token:
CONNECT, SUBSCRIBE after CONNACK, live when the retained document arrives
(:mod:`bench.storm_clients`). Reported: all-live time, p50 and p99 of the time to live,
failed attempts (retried with jittered backoff until the deadline) and CPU per connection of
the broker process and of the load client (user+system time over the storm, divided by N).

The load client and the brokers raise their open-file limit to the hard limit (a storm of N needs
N descriptors in the broker process and N in the client).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bench import broker_wire as wire
from bench.broker_fanout import RESULTS, machine_description
from bench.broker_servers import (
    RunningBroker,
    api_with_embedded_broker,
    embedded_broker,
    mosquitto_broker,
    raise_fd_limit,
    version_of_mosquitto,
)
from bench.storm_clients import StormResult, StormTarget, storm
from config.fd_budget import RESERVE
from protocol import Role
from protocol.topics import queue_topic

TENANT = "bench"
DOCUMENT_BYTES = 4300
SIZES = (1_000, 3_000, 10_000)

Server = Callable[[argparse.Namespace], AbstractContextManager[RunningBroker]]


def api_sized_for_screens(args: argparse.Namespace) -> AbstractContextManager[RunningBroker]:
    """The API process configured as an operator would for this storm's largest size under this
    open-files limit (``--api-defaults`` keeps its defaults instead). By default it asks for
    10,000 HTTP and 20,000 MQTT connections; on a 20,000-file limit the budget shares that
    out (config.fd_budget): 6,624 for HTTP and 13,248 for MQTT. A screen not yet read counts
    against both together (the API's front door), so the defaults carry a 10,000-screen storm
    too (0 failed, docs/benchmarks.md sixth pass); when screens waited in HTTP's share alone,
    2,302 attempts of one such run were refused and retried. Here MQTT gets the largest size
    plus the publisher's connection and a margin, HTTP the rest of the limit."""
    if args.api_defaults:
        return api_with_embedded_broker()
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    mqtt = max(args.sizes) + 50
    http = limit - RESERVE - mqtt
    return api_with_embedded_broker(
        {
            "QUEUECAST_MQTT_MAX_CONNECTIONS": str(mqtt),
            "QUEUECAST_HTTP_MAX_CONNECTIONS": str(http),
        }
    )


TARGETS: dict[str, tuple[Server, bool]] = {
    "embedded-tcp": (lambda _: embedded_broker(ws=False), False),
    "embedded-ws": (api_sized_for_screens, True),
    "mosquitto-tcp": (lambda _: mosquitto_broker(), False),
    "mosquitto-ws": (lambda _: mosquitto_broker(ws=True), True),
}


def retain_document(broker: RunningBroker) -> None:
    """Retain the queue document the screens wait for (QoS 1, acknowledged)."""
    token = broker.token(Role.PUBLISHER, None, "publisher")
    with socket.create_connection(("127.0.0.1", broker.tcp_port), timeout=10) as sock:
        sock.sendall(wire.connect("storm-publisher", password=token))
        if wire.recv_exactly(sock, 4)[3] != 0:
            raise ConnectionError("the publisher was refused")
        sock.sendall(wire.publish(queue_topic(TENANT), b"q" * DOCUMENT_BYTES, packet_id=1))
        wire.recv_exactly(sock, 4)  # PUBACK
        sock.sendall(b"\xe0\x00")  # DISCONNECT: the document stays retained


@contextmanager
def py_spy(pid: int, output: Path | None) -> Iterator[None]:
    """Sample the broker with py-spy while the storm runs: a flame graph (.svg), speedscope JSON
    (.json) or collapsed stacks (.txt, one ``frame;frame;... count`` line each, for grep and
    sums)."""
    if output is None:
        yield
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    fmt = {".json": "speedscope", ".txt": "raw"}.get(output.suffix, "flamegraph")
    process = subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--rate", "500", "--format", fmt, "-o", str(output)],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # let it attach before the storm starts
    try:
        yield
    finally:
        process.send_signal(2)  # SIGINT: py-spy writes its output and exits
        process.wait(timeout=60)


def run_one(name: str, size: int, args: argparse.Namespace) -> dict[str, object]:
    server, websocket = TARGETS[name]
    with server(args) as broker:
        retain_document(broker)
        port = broker.ws_port if websocket else broker.tcp_port
        assert port is not None
        target = StormTarget(
            port=port,
            websocket=websocket,
            password=broker.token(Role.PUBLIC, TENANT, "public"),
            topic=queue_topic(TENANT),
        )
        profile = args.profile if name.startswith("embedded") and size == max(args.sizes) else None
        if profile is not None:
            profile = profile.with_name(f"{profile.stem}-{name}{profile.suffix}")
        with py_spy(broker.pid, profile):
            cpu_before, client_before = broker.cpu_seconds(), _own_cpu_seconds()
            result = storm(
                target, size, attempt_timeout_s=args.attempt_timeout, deadline_s=args.deadline
            )
            cpu = broker.cpu_seconds() - cpu_before
            client_cpu = _own_cpu_seconds() - client_before
    return summary(name, result, cpu, client_cpu)


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def summary(name: str, result: StormResult, cpu_s: float, client_cpu_s: float) -> dict[str, object]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return {
        "target": name,
        "clients": result.clients,
        "live": result.live,
        "all_live_s": rounded(result.all_live_s),
        "p50_s": rounded(result.percentile(0.5)),
        "p99_s": rounded(result.percentile(0.99)),
        "failed_attempts": result.failures,
        "failures_by_kind": dict(result.reasons),
        "broker_cpu_s": round(cpu_s, 2),
        "broker_cpu_ms_per_connection": round(cpu_s * 1000 / result.clients, 3),
        "client_cpu_ms_per_connection": round(client_cpu_s * 1000 / result.clients, 3),
    }


def print_table(rows: list[dict[str, object]], *, header: bool = True) -> None:
    if header:
        print(
            f"{'target':<15}{'clients':>8}{'live':>7}{'all live s':>11}{'p50 s':>8}{'p99 s':>8}"
            f"{'failed':>8}{'CPU ms/conn':>12}{'client CPU':>11}"
        )
    for row in rows:
        all_live = row["all_live_s"] if row["all_live_s"] is not None else "never"
        print(
            f"{row['target']!s:<15}{row['clients']!s:>8}{row['live']!s:>7}{all_live!s:>11}"
            f"{row['p50_s']!s:>8}{row['p99_s']!s:>8}{row['failed_attempts']!s:>8}"
            f"{row['broker_cpu_ms_per_connection']!s:>12}"
            f"{row['client_cpu_ms_per_connection']!s:>11}",
            flush=True,
        )
        if row["failures_by_kind"]:
            print(f"{'':<15}failed attempts: {row['failures_by_kind']}", flush=True)


def print_medians(rows: list[dict[str, object]]) -> None:
    """Medians per target and size; ``x anchor``: the embedded broker's median all-live time
    over Mosquitto's on the same transport (the issue's goal is 2.0 or less)."""
    print(
        f"{'target':<15}{'clients':>8}{'all live s (median / best)':>28}{'p50 s':>8}"
        f"{'failed':>8}{'CPU ms/conn':>12}{'x anchor':>10}"
    )
    groups: dict[tuple[str, int], list[dict[str, object]]] = {}
    for row in rows:
        groups.setdefault((str(row["target"]), int(str(row["clients"]))), []).append(row)

    def median_live(runs: list[dict[str, object]]) -> float | None:
        live = [float(str(r["all_live_s"])) for r in runs if r["all_live_s"] is not None]
        return statistics.median(live) if live and len(live) == len(runs) else None

    for (target, clients), runs in groups.items():
        live = [float(str(r["all_live_s"])) for r in runs if r["all_live_s"] is not None]
        never = len(runs) - len(live)
        all_live = (f"{statistics.median(live):.2f} / {min(live):.2f}" if live else "never") + (
            f" ({never} never)" if never and live else ""
        )
        p50 = statistics.median(float(str(r["p50_s"])) for r in runs if r["p50_s"] is not None)
        failed = sum(int(str(r["failed_attempts"])) for r in runs)
        cpu = statistics.median(float(str(r["broker_cpu_ms_per_connection"])) for r in runs)
        ratio = ""
        anchor_runs = groups.get((target.replace("embedded-", "mosquitto-"), clients))
        if target.startswith("embedded-") and anchor_runs:
            ours, anchor = median_live(runs), median_live(anchor_runs)
            ratio = f"{ours / anchor:.2f}" if ours is not None and anchor else "-"
        print(
            f"{target:<15}{clients:>8}{all_live:>28}{p50:>8.2f}{failed:>8}{cpu:>12.3f}{ratio:>10}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--only", choices=sorted(TARGETS), action="append")
    parser.add_argument("--attempt-timeout", type=float, default=30.0)
    parser.add_argument("--deadline", type=float, default=180.0)
    parser.add_argument("--profile", type=Path, help="py-spy output (.svg, .json or .txt)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat everything")
    parser.add_argument(
        "--api-defaults",
        action="store_true",
        help="run the API with its default connection caps (see api_sized_for_screens)",
    )
    args = parser.parse_args()
    limit = raise_fd_limit()  # inherited by the broker processes started below
    if limit < max(args.sizes) + 200:
        raise SystemExit(f"open-file limit {limit} is too low for {max(args.sizes)} clients")
    names = args.only or list(TARGETS)
    rows: list[dict[str, object]] = []
    for _ in range(args.rounds):
        for size in args.sizes:
            for name in names:
                rows.append(run_one(name, size, args))
                print_table(rows[-1:], header=len(rows) == 1)
                time.sleep(2.0)  # let the previous broker's sockets drain
    print()
    print_table(rows)
    if args.rounds > 1:
        print(f"\nover {args.rounds} rounds (the machine is shared: medians, and the best run)")
        print_medians(rows)
    load = os.getloadavg()
    report = {
        "rows": rows,
        "mosquitto": version_of_mosquitto(),
        "machine": machine_description(),
        "load_average": [round(x, 2) for x in load],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "open_file_limit": limit,
        "api_connection_caps": "defaults" if args.api_defaults else "sized for the storm",
    }
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    (RESULTS / f"broker_storm-{stamp}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
