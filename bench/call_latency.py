"""Operator call -> screen: from sending ``POST .../call-next`` until each subscriber's socket
holds the queue snapshot showing that call. The whole path is real: uvicorn, FastAPI, SQLite
commit, the MQTT state publisher, the broker, TCP. Our embedded broker and the same API
publishing to Mosquitto run in the same script.

    .venv/bin/python -m bench.call_latency            # every scenario, both brokers
    .venv/bin/python -m bench.call_latency --quick    # fewer calls

Scenarios: 1, 100 and 1,000 subscribers of one tenant's queue topic, and 100 tenants x 10
subscribers (calls round-robin over the tenants). Calls are spaced (not a throughput test): the
figure is the latency a waiting room sees. Subscribers run in a separate process (raw sockets,
epoll; see bench.mqtt_subscribers).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

from bench.broker_fanout import RESULTS, machine_description, percentile
from bench.broker_servers import raise_fd_limit, version_of_mosquitto
from bench.mqtt_subscribers import Spec, open_subscribers, receive
from protocol.topics import queue_topic
from tests.support.system import BrokerKind, RunningSystem, start_system

_LAST_CALLS = b'"last_calls":['
_TICKET_ID = b'"ticket_id":"'


@dataclass(frozen=True)
class Scenario:
    name: str
    tenants: int
    subscribers_per_tenant: int
    calls: int
    interval_s: float
    warmup: int


def scenarios(quick: bool) -> list[Scenario]:
    calls = 40 if quick else 150
    return [
        Scenario("1 subscriber", 1, 1, calls, 0.05, 5),
        Scenario("100 subscribers", 1, 100, calls, 0.05, 5),
        Scenario("1,000 subscribers", 1, 1000, calls, 0.1, 5),
        Scenario("100 tenants x 10", 100, 10, calls * 2, 0.05, 10),
    ]


@dataclass(frozen=True)
class Result:
    broker: str
    scenario: str
    subscribers: int
    calls: int
    deliveries: int
    expected: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    http_p50_ms: float
    after_response_p50_ms: float
    """Screen arrival minus the end of the HTTP response: what publishing adds after the
    caller got its answer (negative: the screen had it first)."""


def newest_call(payload: bytes) -> bytes | None:
    """The ticket id of ``last_calls[0]`` in a queue_update, found without parsing the JSON
    (the subscriber process must stay cheap at 1,000 subscribers)."""
    start = payload.find(_LAST_CALLS)
    if start < 0 or payload[start + len(_LAST_CALLS) : start + len(_LAST_CALLS) + 1] != b"{":
        return None
    at = payload.find(_TICKET_ID, start)
    if at < 0:
        return None
    at += len(_TICKET_ID)
    return payload[at : payload.find(b'"', at)]


def subscriber_process(port: int, specs: list[Spec], username: str, channel: Connection) -> None:
    sockets = open_subscribers(port, specs, username=username)
    channel.send("ready")
    first_seen: dict[tuple[int, bytes], int] = {}

    def on_publish(index: int, payload: bytes, arrived_ns: int) -> None:
        ticket = newest_call(payload)
        if ticket is not None:
            first_seen.setdefault((index, ticket), arrived_ns)

    receive(sockets, on_publish=on_publish, done=channel.poll, timeout_s=3600)
    channel.send(first_seen)


def _prepare_tenants(system: RunningSystem, scenario: Scenario, root: dict[str, str]) -> list[str]:
    if scenario.tenants == 1:
        return [system.tenant]
    tenants = []
    for index in range(scenario.tenants):
        tenant = f"bench{index}"
        api = system.http
        created = api.post(
            "/api/v1/tenants",
            json={"id": tenant, "name": tenant, "timezone": "UTC", "locale": "en"},
            headers=root,
        )
        if created.status_code != 409:
            created.raise_for_status()
            api.post(
                f"/api/v1/tenants/{tenant}/services",
                json={"prefix": "A", "name": "General", "priority_allowed": False},
                headers=root,
            ).raise_for_status()
            api.post(
                f"/api/v1/tenants/{tenant}/counters",
                json={"number": 1, "name": "Counter 1"},
                headers=root,
            ).raise_for_status()
        tenants.append(tenant)
    return tenants


def _display_password(system: RunningSystem, tenant: str, root: dict[str, str]) -> str:
    devices = f"/api/v1/tenants/{tenant}/devices"
    response = system.http.post(
        devices, json={"id": "bench-display", "role": "display"}, headers=root
    )
    if response.status_code == 409:
        response = system.http.post(f"{devices}/bench-display/token", headers=root)
    response.raise_for_status()
    return str(response.json()["token"])


@dataclass(frozen=True)
class Target:
    """Where the calls go and where the screens listen: the API's base URL (a replica or the
    load balancer in front of several), the caller's headers, the MQTT TCP port, and the
    username the screens log in with (a broker with its own accounts needs the one the API
    gave with the password)."""

    broker: str
    base_url: str
    headers: dict[str, str]
    mqtt_port: int
    username: str = "bench"


def measure(system: RunningSystem, broker: str, scenario: Scenario) -> Result:
    root = system.auth(system.login("root"))
    tenants = _prepare_tenants(system, scenario, root)
    specs: list[Spec] = []
    owner: list[str] = []
    for tenant in tenants:
        password = _display_password(system, tenant, root)
        for s in range(scenario.subscribers_per_tenant):
            specs.append((f"sub-{tenant}-{s}", password, queue_topic(tenant)))
            owner.append(tenant)
    target = Target(broker, system.base_url, root, system.mqtt_port)
    return time_calls(target, scenario, tenants, specs, owner)


def time_calls(
    target: Target, scenario: Scenario, tenants: list[str], specs: list[Spec], owner: list[str]
) -> Result:
    """Subscribe ``specs`` (``owner[i]``: the tenant of subscriber i), then issue and call
    ``scenario.calls`` tickets round-robin over ``tenants`` at counter 1 of each; each latency
    runs from the call-next request's start to a subscriber of that tenant holding the queue
    snapshot whose newest call is that ticket."""
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    process = context.Process(
        target=subscriber_process, args=(target.mqtt_port, specs, target.username, theirs)
    )
    process.start()
    if not ours.poll(300) or ours.recv() != "ready":
        raise RuntimeError("subscribers did not get ready")
    time.sleep(1.0)  # retained snapshots delivered at subscribe time settle first

    # ticket id -> (send ns, tenant, call index, response ns)
    sent: dict[bytes, tuple[int, str, int, int]] = {}
    http_ms: list[float] = []
    with httpx.Client(base_url=target.base_url, headers=target.headers, timeout=30) as api:
        for tenant in tenants:  # the calling user opens counter 1 of each tenant
            api.post(
                f"/api/v1/tenants/{tenant}/counters/1/open", json={"takeover": True}
            ).raise_for_status()
        next_at = time.monotonic()
        for index in range(scenario.calls):
            tenant = tenants[index % len(tenants)]
            api.post(f"/api/v1/tenants/{tenant}/tickets", json={"service": "A"}).raise_for_status()
            time.sleep(0.01)  # the snapshot goes out before the call we time
            started = time.monotonic_ns()
            # The previous call's ticket is completed in the same write, as a console does.
            response = api.post(f"/api/v1/tenants/{tenant}/counters/1/call-next?close=completed")
            answered = time.monotonic_ns()
            http_ms.append((answered - started) / 1e6)
            response.raise_for_status()
            sent[response.json()["id"].encode()] = (started, tenant, index, answered)
            next_at += scenario.interval_s
            time.sleep(max(0.0, next_at - time.monotonic()))
    time.sleep(2.0)  # stragglers
    ours.send("stop")
    first_seen: dict[tuple[int, bytes], int] = ours.recv()
    process.join(timeout=30)

    measured = [
        (arrived, sent[ticket])
        for (subscriber, ticket), arrived in first_seen.items()
        if ticket in sent
        and sent[ticket][2] >= scenario.warmup
        and owner[subscriber] == sent[ticket][1]
    ]
    latencies = sorted((arrived - call[0]) / 1e6 for arrived, call in measured)
    after_response = [(arrived - call[3]) / 1e6 for arrived, call in measured]
    measured_calls = scenario.calls - scenario.warmup
    return Result(
        broker=target.broker,
        scenario=scenario.name,
        subscribers=len(specs),
        calls=scenario.calls,
        deliveries=len(latencies),
        expected=measured_calls * scenario.subscribers_per_tenant,
        p50_ms=round(percentile(latencies, 50), 2),
        p99_ms=round(percentile(latencies, 99), 2),
        max_ms=round(latencies[-1], 2) if latencies else float("nan"),
        http_p50_ms=round(statistics.median(http_ms), 2),
        after_response_p50_ms=round(statistics.median(after_response), 2)
        if after_response
        else float("nan"),
    )


def table(results: list[Result]) -> str:
    lines = [
        "| scenario | broker | deliveries | p50 ms | p99 ms | max ms | HTTP call-next p50 ms "
        "| screen after response p50 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.scenario} | {r.broker} | {r.deliveries}/{r.expected} | {r.p50_ms} | "
        f"{r.p99_ms} | {r.max_ms} | {r.http_p50_ms} | {r.after_response_p50_ms} |"
        for r in results
    ]
    return "\n".join(lines)


BROKERS: list[tuple[str, BrokerKind]] = [("embedded amqtt", "embedded"), ("mosquitto", "mosquitto")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls per scenario")
    parser.add_argument("--only", help="run only scenarios whose name contains this")
    args = parser.parse_args()
    raise_fd_limit()
    RESULTS.mkdir(parents=True, exist_ok=True)
    chosen = [s for s in scenarios(args.quick) if not args.only or args.only in s.name]
    results: list[Result] = []
    for name, kind in BROKERS:
        with (
            tempfile.TemporaryDirectory(prefix="bench-call-") as folder,
            start_system(
                Path(folder), broker_kind=kind, env={"QUEUECAST_LOG_LEVEL": "WARNING"}
            ) as system,
        ):
            for scenario in chosen:
                result = measure(system, name, scenario)
                results.append(result)
                print(result, flush=True)
    print(table(results))
    save_report("call_latency", results)


def save_report(name: str, results: list[Result]) -> Path:
    """The run's figures with the machine, the Mosquitto version and the load, as JSON under
    bench/results (named after the bench and the time)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    report = {
        "machine": machine_description(),
        "mosquitto": version_of_mosquitto(),
        "load_average_after": os.getloadavg(),
        "runs": [asdict(r) for r in results],
    }
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))
    return path


if __name__ == "__main__":
    main()
