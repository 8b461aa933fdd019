"""Idle MQTT-over-WebSocket connections the embedded broker holds, and memory per connection.

    .venv/bin/python -m bench.broker_connections                 # 10,000 connections
    .venv/bin/python -m bench.broker_connections --connections 2000
    .venv/bin/python -m bench.broker_connections --via-http  # the API's own /mqtt route

Each connection is a real client as a browser page would be: WebSocket upgrade at ``/mqtt``
(subprotocol ``mqtt``), CONNECT with a ``public`` token, SUBSCRIBE to the tenant's queue
topic, then idle. Memory per connection is the broker's RSS growth divided by the number of
connections. Afterwards one retained message is published and every connection must receive it
(proof that all of them are alive), which also times a fan-out to all of them.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import time
from datetime import UTC, datetime

from bench import broker_wire as wire
from bench.broker_fanout import RESULTS, machine_description
from bench.broker_servers import (
    RunningBroker,
    api_with_embedded_broker,
    embedded_broker,
    raise_fd_limit,
)
from protocol import Role
from protocol.topics import queue_topic

TENANT = "bench"
BATCH = 250


def _read_http_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the WebSocket handshake")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode())
    return rest


def open_batch(broker: RunningBroker, count: int, first_id: int) -> list[socket.socket]:
    assert broker.ws_port is not None
    password = broker.token(Role.PUBLIC, TENANT, "public")
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", broker.ws_port), timeout=30)
        sock.sendall(wire.ws_handshake("127.0.0.1", broker.ws_port))
        sockets.append(sock)
    for sock in sockets:
        if _read_http_response(sock):
            raise ConnectionError("unexpected bytes after the handshake")
    for index, sock in enumerate(sockets):
        client_id = f"idle-{first_id + index}"
        sock.sendall(wire.ws_frame(wire.connect(client_id, password=password, keepalive=900)))
    for sock in sockets:
        frame = wire.recv_exactly(sock, 6)  # 2-byte frame header + CONNACK
        if frame[5] != 0:
            raise ConnectionError(f"CONNECT refused: {frame[5]}")
    for sock in sockets:
        sock.sendall(wire.ws_frame(wire.subscribe(1, queue_topic(TENANT))))
    for sock in sockets:
        frame = wire.recv_exactly(sock, 7)  # 2-byte frame header + SUBACK
        if frame[6] == 0x80:
            raise ConnectionError("SUBSCRIBE refused")
    return sockets


def count_deliveries(sockets: list[socket.socket], timeout_s: float) -> tuple[int, float]:
    """How many sockets receive one PUBLISH, and when the last one did (seconds)."""
    poller = select.epoll()
    pending: dict[int, socket.socket] = {}
    for sock in sockets:
        sock.setblocking(False)
        poller.register(sock.fileno(), select.EPOLLIN)
        pending[sock.fileno()] = sock
    started = time.monotonic()
    last = 0.0
    delivered = 0
    while pending and time.monotonic() - started < timeout_s:
        for fd, _ in poller.poll(0.5):
            receiver = pending.pop(fd, None)
            if receiver is None:
                continue
            poller.unregister(fd)
            if receiver.recv(65536):
                delivered += 1
                last = time.monotonic() - started
    poller.close()
    return delivered, last


def publish_once(broker: RunningBroker) -> None:
    sock = socket.create_connection(("127.0.0.1", broker.tcp_port), timeout=10)
    token = broker.token(Role.PUBLISHER, None, "publisher")
    sock.sendall(wire.connect("bench-publisher", password=token))
    wire.recv_exactly(sock, 4)
    sock.sendall(wire.publish(queue_topic(TENANT), b"x" * 1500, packet_id=1))
    wire.recv_exactly(sock, 4)  # PUBACK
    sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument(
        "--via-http",
        action="store_true",
        help="connect through the API process's /mqtt route (the default deployment) instead of "
        "the standalone broker's WebSocket port",
    )
    args = parser.parse_args()
    limit = raise_fd_limit()
    if limit < args.connections + 100:
        raise SystemExit(f"file descriptor limit {limit} is too low for {args.connections}")
    sockets: list[socket.socket] = []
    server = api_with_embedded_broker() if args.via_http else embedded_broker(ws=True)
    with server as broker:
        time.sleep(1.0)
        baseline = broker.rss_bytes()
        started = time.monotonic()
        while len(sockets) < args.connections:
            count = min(BATCH, args.connections - len(sockets))
            sockets += open_batch(broker, count, len(sockets))
        setup_s = time.monotonic() - started
        time.sleep(3.0)
        held = broker.rss_bytes()
        cpu_before = broker.cpu_seconds()
        time.sleep(5.0)
        idle_cpu = (broker.cpu_seconds() - cpu_before) / 5.0
        publish_once(broker)
        delivered, fan_out_s = count_deliveries(sockets, timeout_s=60)
        per_connection = (held - baseline) / args.connections
        result = {
            "server": broker.name,
            "connections": args.connections,
            "connect_and_subscribe_s": round(setup_s, 1),
            "baseline_rss_mib": round(baseline / 2**20, 1),
            "rss_mib": round(held / 2**20, 1),
            "kib_per_connection": round(per_connection / 1024, 1),
            "idle_cpu_percent": round(idle_cpu * 100, 1),
            "delivered": delivered,
            "fan_out_to_all_s": round(fan_out_s, 3),
            "machine": machine_description(),
        }
        for sock in sockets:
            sock.close()
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    (RESULTS / f"broker_connections-{stamp}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
