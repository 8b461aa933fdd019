"""Publish -> delivery latency through the broker: embedded amqtt (ours) and Mosquitto, same run.

    .venv/bin/python -m bench.broker_fanout            # every scenario, both brokers
    .venv/bin/python -m bench.broker_fanout --quick    # fewer messages
    .venv/bin/python -m bench.broker_fanout --profile  # cProfile the embedded broker at 1,000

Scenarios: 1, 100 and 1,000 subscribers of one tenant's queue topic, and 100 tenants x 10
subscribers. Each scenario gets a fresh broker process. The publisher sends retained QoS 1
messages of ~1.5 KB (a queue snapshot's size) at a steady interval, each carrying its send time
(CLOCK_MONOTONIC, shared by all processes); subscribers (QoS 1, raw sockets in one separate
process, epoll) stamp each message with the time epoll reported its socket readable, so the
load client's own per-message work is not counted. The first messages of each run are warm-up.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import pstats
import socket
import statistics
import struct
import threading
import time
from array import array
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from bench import broker_wire as wire
from bench.broker_servers import (
    RunningBroker,
    embedded_broker,
    mosquitto_broker,
    raise_fd_limit,
    version_of_mosquitto,
)
from bench.mqtt_subscribers import Spec, open_subscribers, receive
from protocol import Role
from protocol.topics import queue_topic

RESULTS = Path(__file__).resolve().parent / "results"
PAYLOAD_BYTES = 1500
_STAMP = struct.Struct("!qq")  # sequence number, send time in ns


@dataclass(frozen=True)
class Scenario:
    name: str
    tenants: int
    subscribers_per_tenant: int
    messages: int
    interval_s: float
    warmup: int

    @property
    def subscribers(self) -> int:
        return self.tenants * self.subscribers_per_tenant


def scenarios(quick: bool) -> list[Scenario]:
    scale = 0.3 if quick else 1.0

    def n(value: int) -> int:
        return max(10, int(value * scale))

    return [
        Scenario("1 subscriber", 1, 1, n(300), 0.01, 20),
        Scenario("100 subscribers", 1, 100, n(200), 0.02, 10),
        Scenario("1,000 subscribers", 1, 1000, n(100), 0.1, 5),
        Scenario("100 tenants x 10 subscribers", 100, 10, n(400), 0.01, 20),
    ]


@dataclass(frozen=True)
class Result:
    broker: str
    scenario: str
    subscribers: int
    messages: int
    deliveries: int
    expected: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    broker_cpu_s: float


# --- subscribers (separate process) -------------------------------------------------------


def subscriber_process(
    port: int,
    specs: list[Spec],
    expected: int,
    warmup: int,
    timeout_s: float,
    channel: Connection,
) -> None:
    sockets = open_subscribers(port, specs)
    channel.send("ready")
    latencies_us = array("d")
    received = 0

    def on_publish(_: int, payload: bytes, arrived_ns: int) -> None:
        nonlocal received
        sequence, sent_ns = _STAMP.unpack_from(payload)
        received += 1
        if sequence >= warmup:
            latencies_us.append((arrived_ns - sent_ns) / 1000)

    receive(sockets, on_publish=on_publish, done=lambda: received >= expected, timeout_s=timeout_s)
    channel.send((latencies_us.tobytes(), received))


# --- publisher ----------------------------------------------------------------------------


class Publisher:
    def __init__(self, broker: RunningBroker) -> None:
        self.sock = socket.create_connection(("127.0.0.1", broker.tcp_port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        token = broker.token(Role.PUBLISHER, None, "publisher")
        self.sock.sendall(wire.connect("bench-publisher", password=token))
        if wire.recv_exactly(self.sock, 4)[3] != 0:
            raise ConnectionError("publisher refused")
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()

    def _drain(self) -> None:  # PUBACKs: read and forget
        try:
            while self.sock.recv(65536):
                pass
        except OSError:
            return

    def run(self, topics: list[str], scenario: Scenario) -> None:
        padding = b"q" * (PAYLOAD_BYTES - _STAMP.size)
        next_at = time.monotonic()
        for sequence in range(scenario.messages):
            topic = topics[sequence % len(topics)]
            payload = _STAMP.pack(sequence, time.monotonic_ns()) + padding
            self.sock.sendall(wire.publish(topic, payload, packet_id=sequence % 65535 + 1))
            next_at += scenario.interval_s
            time.sleep(max(0.0, next_at - time.monotonic()))

    def close(self) -> None:
        self.sock.close()


# --- one run ------------------------------------------------------------------------------


def measure(broker: RunningBroker, scenario: Scenario) -> Result:
    tenants = [f"bench{t}" for t in range(scenario.tenants)]
    topics = [queue_topic(t) for t in tenants]
    specs = []
    for t, tenant in enumerate(tenants):
        # Public, as a browser display: python -m broker honours device tokens only if its
        # database knows the device, and the bench runs it without the API's database.
        password = broker.token(Role.PUBLIC, tenant, "bench-display")
        for s in range(scenario.subscribers_per_tenant):
            specs.append((f"sub-{t}-{s}", password, topics[t]))
    expected = scenario.messages * scenario.subscribers_per_tenant
    timeout = scenario.messages * scenario.interval_s + 60
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    process = context.Process(
        target=subscriber_process,
        args=(broker.tcp_port, specs, expected, scenario.warmup, timeout, theirs),
    )
    process.start()
    if not ours.poll(120) or ours.recv() != "ready":
        raise RuntimeError("subscribers did not get ready")
    publisher = Publisher(broker)
    cpu_before = broker.cpu_seconds()
    publisher.run(topics, scenario)
    raw, received = ours.recv()
    cpu = broker.cpu_seconds() - cpu_before
    publisher.close()
    process.join(timeout=30)
    latencies = sorted(array("d", raw))
    return Result(
        broker=broker.name,
        scenario=scenario.name,
        subscribers=scenario.subscribers,
        messages=scenario.messages,
        deliveries=received,
        expected=expected,
        p50_ms=round(percentile(latencies, 50) / 1000, 3),
        p99_ms=round(percentile(latencies, 99) / 1000, 3),
        max_ms=round(latencies[-1] / 1000, 3) if latencies else float("nan"),
        broker_cpu_s=round(cpu, 2),
    )


def percentile(ordered: list[float], pct: float) -> float:
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def run_all(
    brokers: list[tuple[str, Callable[[], AbstractContextManager[RunningBroker]]]],
    chosen: list[Scenario],
    rounds: int,
) -> Iterator[Result]:
    """Every scenario on every broker, ``rounds`` times; the brokers' order alternates so a
    burst of load from elsewhere on the machine does not always hit the same one."""
    for round_index in range(rounds):
        order = brokers if round_index % 2 == 0 else list(reversed(brokers))
        for scenario in chosen:
            for _, start in order:
                with start() as broker:
                    time.sleep(0.5)
                    yield measure(broker, scenario)


def summarise(results: list[Result]) -> list[dict[str, object]]:
    """Per scenario and broker: the median over rounds of p50 and p99, and the worst p99."""
    rows = []
    keys = dict.fromkeys((r.scenario, r.broker) for r in results)
    for scenario, broker in keys:
        runs = [r for r in results if (r.scenario, r.broker) == (scenario, broker)]
        rows.append(
            {
                "scenario": scenario,
                "broker": broker,
                "rounds": len(runs),
                "deliveries": f"{sum(r.deliveries for r in runs)}/{sum(r.expected for r in runs)}",
                "p50_ms": statistics.median(r.p50_ms for r in runs),
                "p99_ms": statistics.median(r.p99_ms for r in runs),
                "worst_p99_ms": max(r.p99_ms for r in runs),
                "cpu_s_per_1000_deliveries": round(
                    1000
                    * sum(r.broker_cpu_s for r in runs)
                    / max(1, sum(r.deliveries for r in runs)),
                    3,
                ),
            }
        )
    return rows


def machine_description() -> str:
    cores = multiprocessing.cpu_count()
    return f"{platform.machine()}, {cores} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages per scenario")
    parser.add_argument("--only", help="run only scenarios whose name contains this")
    parser.add_argument("--rounds", type=int, default=3, help="repeat everything (median)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the embedded broker in the 1,000-subscriber scenario",
    )
    args = parser.parse_args()
    raise_fd_limit()
    RESULTS.mkdir(parents=True, exist_ok=True)
    chosen = [s for s in scenarios(args.quick) if not args.only or args.only in s.name]

    if args.profile:
        stats_file = RESULTS / "broker_fanout.prof"
        scenario = next(s for s in chosen if s.subscribers_per_tenant == 1000)
        with embedded_broker(profile_to=stats_file) as broker:
            time.sleep(0.5)
            print(measure(broker, scenario))
        pstats.Stats(str(stats_file)).sort_stats("tottime").print_stats(30)
        return

    brokers: list[tuple[str, Callable[[], AbstractContextManager[RunningBroker]]]] = [
        ("embedded", embedded_broker),
        ("mosquitto", mosquitto_broker),
    ]
    results = []
    for result in run_all(brokers, chosen, args.rounds):
        results.append(result)
        print(result, flush=True)
    summary = summarise(results)
    columns = ["scenario", "broker", "deliveries", "p50 ms", "p99 ms", "worst p99 ms"]
    print("| " + " | ".join([*columns, "CPU s / 1,000 deliveries"]) + " |")
    print("|---|---|---|---|---|---|---|")
    for row in summary:
        print(
            f"| {row['scenario']} | {row['broker']} | {row['deliveries']} | {row['p50_ms']} | "
            f"{row['p99_ms']} | {row['worst_p99_ms']} | {row['cpu_s_per_1000_deliveries']} |"
        )
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    report = {
        "machine": machine_description(),
        "mosquitto": version_of_mosquitto(),
        "load_average_after": os.getloadavg(),
        "summary": summary,
        "runs": [asdict(r) for r in results],
    }
    (RESULTS / f"broker_fanout-{stamp}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
