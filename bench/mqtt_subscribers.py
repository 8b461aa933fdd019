"""Many MQTT subscribers in one process, on raw sockets and epoll: cheap enough that the load
client is never the bottleneck. Each arriving PUBLISH is stamped with the time epoll reported its
socket readable, before any parsing, so the client's own work is not counted."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable

from bench import broker_wire as wire

Spec = tuple[str, str | None, str]
"""(client id, password or None, topic filter)"""


def open_subscribers(
    port: int, specs: list[Spec], *, username: str = "bench"
) -> list[socket.socket]:
    """Connect and subscribe every spec (QoS 1); raises if the broker refuses any. ``username``
    matters only to a broker that keeps its own accounts (Mosquitto with dynamic security); ours
    checks the token in the password."""
    sockets: list[socket.socket] = []
    for client_id, password, _ in specs:
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(wire.connect(client_id, password=password, username=username))
        sockets.append(sock)
    for sock in sockets:  # CONNACK
        if wire.recv_exactly(sock, 4)[3] != 0:
            raise ConnectionError("CONNECT refused")
    for sock, (_, _, topic_filter) in zip(sockets, specs, strict=True):
        sock.sendall(wire.subscribe(1, topic_filter))
    for sock in sockets:  # SUBACK
        if wire.recv_exactly(sock, 5)[4] == 0x80:
            raise ConnectionError("SUBSCRIBE refused")
    return sockets


def receive(
    sockets: list[socket.socket],
    *,
    on_publish: Callable[[int, bytes, int], None],
    done: Callable[[], bool],
    timeout_s: float,
) -> None:
    """Read until ``done()`` or the timeout, acknowledging QoS 1. ``on_publish(subscriber index,
    payload, arrival ns)`` is called for every message."""
    poller = select.epoll()
    readers = {}
    for index, sock in enumerate(sockets):
        sock.setblocking(False)
        poller.register(sock.fileno(), select.EPOLLIN)
        readers[sock.fileno()] = (index, sock, wire.PacketReader())
    deadline = time.monotonic() + timeout_s
    # One preallocated buffer: a fresh 256 KB bytes per recv() costs more than the message.
    buffer = bytearray(1 << 16)
    view = memoryview(buffer)
    while not done() and time.monotonic() < deadline:
        events = poller.poll(0.5)
        now = time.monotonic_ns()
        for fd, _ in events:
            index, sock, reader = readers[fd]
            size = sock.recv_into(buffer)
            if not size:
                poller.unregister(fd)
                continue
            acks = []
            for packet_type, flags, body in reader.feed(view[:size]):
                if packet_type != wire.PUBLISH:
                    continue
                _, packet_id, payload = wire.parse_publish(flags, body)
                on_publish(index, payload, now)
                if packet_id is not None:
                    acks.append(wire.puback(packet_id))
            if acks:
                sock.send(b"".join(acks))
    poller.close()
    for sock in sockets:
        sock.close()
