"""One client floods the broker while others carry normal traffic: does the broker stay bounded,
and do the others still get their messages on time? Our broker (``python -m broker``) and
Debian's Mosquitto, in the same run.

    .venv/bin/python -m bench.broker_flood            # 200,000 x 1 KiB QoS 0, 100,000 QoS 1
    .venv/bin/python -m bench.broker_flood --quick    # a tenth of that

Per broker: a flood publisher sends its messages back to back on one connection (QoS 0: as fast
as TCP takes them; QoS 1: without waiting for PUBACKs, which it counts on a second thread); a
flood subscriber reads the flood topic (acknowledging QoS 1); meanwhile a normal publisher sends
a small QoS 1 message every 20 ms on another topic and a normal subscriber timestamps each one.
Every client is its own process (raw sockets, no paho), so the clients do not share a GIL.

Reported per phase: the broker's memory growth (peak RSS during the phase minus RSS before it),
the normal subscriber's delivery latency (p50 / p99 / max) and how many of its messages arrived,
and the flood's throughput (messages per second accepted from the publisher, i.e. written to the
socket for QoS 0 and PUBACKed for QoS 1, and delivered to the flood subscriber).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection

from bench.broker_fanout import RESULTS, machine_description, percentile
from bench.broker_servers import (
    RunningBroker,
    embedded_broker,
    mosquitto_broker,
    version_of_mosquitto,
)
from bench.broker_wire import CONNACK, PUBACK, PUBLISH, SUBACK, PacketReader, recv_exactly
from bench.broker_wire import connect as connect_packet
from bench.broker_wire import puback as puback_packet
from bench.broker_wire import subscribe as subscribe_packet
from broker.packets import EncodedPublish
from protocol import Role
from protocol.topics import events_topic

FLOOD_TOPIC = events_topic("flood")
NORMAL_TOPIC = events_topic("normal")
NORMAL_INTERVAL_S = 0.02
PAYLOAD = b"f" * 1024


def _open(port: int, client_id: str, password: str | None) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(connect_packet(client_id, password=password))
    connack = recv_exactly(sock, 4)
    if connack[0] >> 4 != CONNACK or connack[3] != 0:
        raise RuntimeError(f"{client_id}: CONNACK {connack!r}")
    return sock


def _subscribe(sock: socket.socket, topic_filter: str) -> None:
    sock.sendall(subscribe_packet(1, topic_filter, qos=1))
    suback = recv_exactly(sock, 5)
    if suback[0] >> 4 != SUBACK or suback[4] == 0x80:
        raise RuntimeError(f"SUBSCRIBE {topic_filter} refused: {suback!r}")


# --- client processes ---------------------------------------------------------------------------


def flood_subscriber(port: int, password: str | None, ready: Connection, out: Connection) -> None:
    """Counts flood messages (acknowledging QoS 1) until told to stop; reports count and the
    time of the last one."""
    sock = _open(port, "flood-sub", password)
    _subscribe(sock, FLOOD_TOPIC)
    sock.settimeout(0.2)
    ready.send("ready")
    reader = PacketReader()
    count, last = 0, 0.0
    while not out.poll():
        try:
            data = sock.recv(1 << 18)
        except TimeoutError:
            continue
        if not data:
            break
        acks = []
        for kind, flags, body in reader.feed(data):
            if kind != PUBLISH:
                continue
            count += 1
            if flags & 0x06:
                topic_length = struct.unpack_from("!H", body)[0]
                acks.append(puback_packet(struct.unpack_from("!H", body, 2 + topic_length)[0]))
        if acks:
            sock.sendall(b"".join(acks))
        last = time.monotonic()
    out.recv()
    out.send((count, last))
    sock.close()


def normal_traffic(port: int, password: str | None, ready: Connection, out: Connection) -> None:
    """A publisher sending a small QoS 1 message every 20 ms and a subscriber timestamping each
    (one process, two connections); reports (sent, latencies in ms)."""
    sub = _open(port, "normal-sub", password)
    _subscribe(sub, NORMAL_TOPIC)
    pub = _open(port, "normal-pub", password)
    latencies: list[float] = []
    stop = threading.Event()

    def receive() -> None:
        reader = PacketReader()
        sub.settimeout(0.2)
        acks = []
        while not stop.is_set():
            try:
                data = sub.recv(1 << 16)
            except TimeoutError:
                continue
            if not data:
                return
            now = time.monotonic_ns()
            for kind, flags, body in reader.feed(data):
                if kind != PUBLISH:
                    continue
                topic_length = struct.unpack_from("!H", body)[0]
                offset = 2 + topic_length
                if flags & 0x06:
                    acks.append(puback_packet(struct.unpack_from("!H", body, offset)[0]))
                    offset += 2
                sent_ns = int(body[offset:])
                latencies.append((now - sent_ns) / 1e6)
            if acks:
                sub.sendall(b"".join(acks))
                acks.clear()

    def drain_pubacks() -> None:
        pub.settimeout(0.2)
        while not stop.is_set():
            try:
                if not pub.recv(1 << 16):
                    return
            except TimeoutError:
                continue

    threads = [threading.Thread(target=receive), threading.Thread(target=drain_pubacks)]
    for thread in threads:
        thread.start()
    ready.send("ready")
    sent, packet_id = 0, 0
    while not out.poll():
        packet_id = packet_id % 65535 + 1
        payload = str(time.monotonic_ns()).encode()
        pub.sendall(EncodedPublish.build(NORMAL_TOPIC, payload, retain=False).qos1(packet_id))
        sent += 1
        time.sleep(NORMAL_INTERVAL_S)
        if out.poll():
            break
    command = out.recv()
    del command
    time.sleep(1.0)  # the last ones in flight
    stop.set()
    for thread in threads:
        thread.join(5)
    out.send((sent, latencies))
    sub.close()
    pub.close()


def flood_publisher(port: int, password: str | None, qos: int, count: int, out: Connection) -> None:
    """Sends ``count`` messages back to back; reports (seconds to send, seconds to the last
    PUBACK, PUBACKs received)."""
    sock = _open(port, f"flood-pub-{qos}", password)
    encoded = EncodedPublish.build(FLOOD_TOPIC, PAYLOAD, retain=False)
    acked = 0
    done = threading.Event()
    last_ack = 0.0

    def count_pubacks() -> None:
        nonlocal acked, last_ack
        reader = PacketReader()
        while acked < count:
            data = sock.recv(1 << 18)
            if not data:
                break
            acked += sum(1 for kind, _, _ in reader.feed(data) if kind == PUBACK)
            last_ack = time.monotonic()
        done.set()

    acker = threading.Thread(target=count_pubacks, daemon=True)
    if qos:
        acker.start()
    batch = 256
    start = time.monotonic()
    for first in range(0, count, batch):
        if qos:
            chunk = b"".join(
                encoded.qos1((n % 65535) + 1) for n in range(first, min(first + batch, count))
            )
        else:
            chunk = encoded.for_qos0 * min(batch, count - first)
        sock.sendall(chunk)
    sent_s = time.monotonic() - start
    if qos:
        done.wait(300)
    acked_s = (last_ack - start) if qos else sent_s
    out.send((sent_s, acked_s, acked))
    sock.sendall(b"\xe0\x00")
    sock.close()


# --- one broker -----------------------------------------------------------------------------


@dataclass
class Phase:
    broker: str
    phase: str
    flood_messages: int
    flood_send_s: float
    flood_accepted_per_s: float
    flood_delivered: int
    flood_delivered_per_s: float
    rss_before_mib: float
    rss_peak_growth_mib: float
    rss_after_mib: float
    normal_sent: int
    normal_delivered: int
    normal_p50_ms: float
    normal_p99_ms: float
    normal_max_ms: float


def _start(
    target: Callable[..., None], *args: object
) -> tuple[multiprocessing.Process, Connection]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=target, args=(*args, child), daemon=True)
    process.start()
    return process, parent


def run_phase(broker: RunningBroker, phase: str, qos: int, count: int) -> Phase:
    pub_token = broker.token(Role.PUBLISHER, None, "flood-publisher")
    flood_sub_token = broker.token(Role.PUBLIC, "flood", "flood-sub")
    normal_token = broker.token(Role.PUBLISHER, None, "normal")
    ready_parent, ready_child = multiprocessing.Pipe()
    flood_sub, flood_sub_pipe = _start(
        flood_subscriber, broker.tcp_port, flood_sub_token, ready_child
    )
    ready_parent.recv()
    normal, normal_pipe = _start(normal_traffic, broker.tcp_port, normal_token, ready_child)
    ready_parent.recv()
    time.sleep(1.0)
    rss_before = broker.rss_bytes()
    peak = rss_before
    flood, flood_pipe = _start(flood_publisher, broker.tcp_port, pub_token, qos, count)
    start = time.monotonic()
    while not flood_pipe.poll(0.05):
        peak = max(peak, broker.rss_bytes())
    sent_s, accepted_s, acked = flood_pipe.recv()
    flood.join(30)
    # Let deliveries finish (the flood subscriber reads as fast as it can), sampling memory.
    settle_until = time.monotonic() + 3.0
    while time.monotonic() < settle_until:
        peak = max(peak, broker.rss_bytes())
        time.sleep(0.05)
    flood_sub_pipe.send("stop")
    delivered, last = flood_sub_pipe.recv()
    normal_pipe.send("stop")
    normal_sent, latencies = normal_pipe.recv()
    for process in (flood_sub, normal):
        process.join(10)
    latencies.sort()
    delivered_s = max(last - start, 1e-9)
    return Phase(
        broker=broker.name,
        phase=phase,
        flood_messages=count,
        flood_send_s=round(sent_s, 2),
        flood_accepted_per_s=round((acked if qos else count) / max(accepted_s, 1e-9)),
        flood_delivered=delivered,
        flood_delivered_per_s=round(delivered / delivered_s),
        rss_before_mib=round(rss_before / 2**20, 1),
        rss_peak_growth_mib=round((peak - rss_before) / 2**20, 1),
        rss_after_mib=round(broker.rss_bytes() / 2**20, 1),
        normal_sent=normal_sent,
        normal_delivered=len(latencies),
        normal_p50_ms=round(percentile(latencies, 50), 2) if latencies else -1,
        normal_p99_ms=round(percentile(latencies, 99), 2) if latencies else -1,
        normal_max_ms=round(latencies[-1], 2) if latencies else -1,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the messages")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    phases = [("QoS 0 flood", 0, 200_000 // scale), ("QoS 1 flood", 1, 100_000 // scale)]
    brokers: list[Callable[[], AbstractContextManager[RunningBroker]]] = [
        embedded_broker,
        mosquitto_broker,
    ]
    results: list[Phase] = []
    load_before = os.getloadavg()
    for make in brokers:
        for name, qos, count in phases:
            with make() as broker:  # a fresh broker per phase: growth is the phase's alone
                time.sleep(0.5)
                result = run_phase(broker, name, qos, count)
            results.append(result)
            print(result, flush=True)
    print(
        "| broker | phase | memory growth MiB (peak) | other subscriber p50 / p99 / max ms"
        " | other delivered | flood accepted msg/s | flood delivered msg/s |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.broker} | {r.phase} ({r.flood_messages:,} x 1 KiB) | {r.rss_peak_growth_mib} "
            f"| {r.normal_p50_ms} / {r.normal_p99_ms} / {r.normal_max_ms} "
            f"| {r.normal_delivered}/{r.normal_sent} | {r.flood_accepted_per_s:,} "
            f"| {r.flood_delivered_per_s:,} ({r.flood_delivered:,}) |"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    report = {
        "machine": machine_description(),
        "mosquitto": version_of_mosquitto(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "results": [asdict(r) for r in results],
    }
    path = RESULTS / f"broker_flood-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"load average before {load_before}, after {os.getloadavg()}; raw results: {path}")


if __name__ == "__main__":
    main()
