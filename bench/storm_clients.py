"""A reconnect storm from one process: thousands of screens that all (re)connect at the same
moment, each as a state machine on a non-blocking socket driven by one epoll loop.

A screen is live once it holds the retained queue document: TCP connect (and, over WebSocket, the
upgrade at ``/mqtt``), CONNECT, then SUBSCRIBE right after CONNACK, then the retained PUBLISH.
An attempt that is refused (TCP reset, CONNACK not 0, SUBACK 0x80, a closed socket) or not live
within ``attempt_timeout_s`` counts as a failure; that screen retries after a jittered, doubling
delay (as our clients do) until the storm's deadline.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import random
import select
import socket
import struct
import time
from collections import Counter
from dataclasses import dataclass, field

from bench import broker_wire as wire

_LINGER_RESET = struct.pack("ii", 1, 0)
"""SO_LINGER on, 0 s: close() sends a reset, so a run leaves no TIME_WAIT ports behind."""


@dataclass(frozen=True)
class StormTarget:
    port: int
    websocket: bool
    password: str | None
    topic: str


@dataclass
class StormResult:
    clients: int
    live: int
    failures: int
    all_live_s: float | None
    """When the last screen got its retained document; ``None`` if some never did."""
    times_s: list[float] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    """Failed attempts by kind (``timeout in connack``, ``closed in upgrade``, ...)."""

    def percentile(self, fraction: float) -> float | None:
        if not self.times_s:
            return None
        ordered = sorted(self.times_s)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class _Screen:
    index: int
    attempt: int = 0
    sock: socket.socket | None = None
    phase: str = "idle"
    started: float = 0.0
    http: bytes = b""
    frames: wire.WsFrameReader | None = None
    packets: wire.PacketReader | None = None


def storm(
    target: StormTarget,
    clients: int,
    *,
    attempt_timeout_s: float = 30.0,
    deadline_s: float = 180.0,
    seed: int = 17,
) -> StormResult:
    """Connect ``clients`` screens at once; return when all are live or at the deadline.

    The sockets of live screens stay open until the result is returned, then are reset."""
    rng = random.Random(seed)
    poller = select.epoll()
    screens = [_Screen(i) for i in range(clients)]
    by_fd: dict[int, _Screen] = {}
    retries: list[tuple[float, int]] = []
    times: list[float] = []
    reasons: Counter[str] = Counter()
    origin = time.monotonic()

    def fail(screen: _Screen, reason: str) -> None:
        reasons[reason] += 1
        _close(screen)
        delay = min(30.0, 2.0 ** min(screen.attempt - 1, 5)) * rng.uniform(0.5, 1.5)
        heapq.heappush(retries, (time.monotonic() + delay, screen.index))

    def _close(screen: _Screen) -> None:
        sock = screen.sock
        if sock is None:
            return
        fd = sock.fileno()
        by_fd.pop(fd, None)
        with contextlib.suppress(OSError, ValueError):
            poller.unregister(fd)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        sock.close()
        screen.sock = None

    def start(screen: _Screen) -> None:
        screen.attempt += 1
        screen.started = time.monotonic()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        screen.sock = sock
        screen.phase = "tcp"
        screen.http = b""
        screen.frames = wire.WsFrameReader() if target.websocket else None
        screen.packets = wire.PacketReader()
        code = sock.connect_ex(("127.0.0.1", target.port))
        if code not in (0, errno.EINPROGRESS):
            fail(screen, f"connect: {errno.errorcode.get(code, code)}")
            return
        by_fd[sock.fileno()] = screen
        poller.register(sock.fileno(), select.EPOLLOUT | select.EPOLLIN)

    def send(screen: _Screen, packet: bytes) -> None:
        assert screen.sock is not None
        screen.sock.send(wire.ws_frame(packet) if target.websocket else packet)

    def connected(screen: _Screen) -> None:
        assert screen.sock is not None
        code = screen.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            fail(screen, f"connect: {errno.errorcode.get(code, code)}")
            return
        poller.modify(screen.sock.fileno(), select.EPOLLIN)
        if target.websocket:
            screen.phase = "upgrade"
            screen.sock.send(wire.ws_handshake("127.0.0.1", target.port))
        else:
            mqtt_connect(screen)

    def mqtt_connect(screen: _Screen) -> None:
        screen.phase = "connack"
        send(screen, wire.connect(f"storm-{screen.index}", password=target.password))

    def received(screen: _Screen, data: bytes) -> None:
        if screen.phase == "upgrade":
            screen.http += data
            if b"\r\n\r\n" not in screen.http:
                return
            head, _, data = screen.http.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 101"):
                fail(screen, f"upgrade: {head.split(b' ')[1][:3].decode(errors='replace')}")
                return
            mqtt_connect(screen)
        if screen.frames is not None:
            data = screen.frames.feed(data)
        assert screen.packets is not None
        for kind, flags, body in screen.packets.feed(data):
            if kind == wire.CONNACK:
                if len(body) < 2 or body[1] != 0:
                    fail(screen, f"CONNACK {body[1:2].hex()}")
                    return
                screen.phase = "retained"
                send(screen, wire.subscribe(1, target.topic, qos=1))
            elif kind == wire.SUBACK and body[-1:] == b"\x80":
                fail(screen, "SUBACK 0x80")
                return
            elif kind == wire.PUBLISH:
                topic, packet_id, _ = wire.parse_publish(flags, body)
                if packet_id is not None:
                    send(screen, wire.puback(packet_id))
                if topic == target.topic and screen.phase == "retained":
                    screen.phase = "live"
                    times.append(time.monotonic() - origin)
                    assert screen.sock is not None
                    poller.unregister(screen.sock.fileno())
                    by_fd.pop(screen.sock.fileno(), None)
                    return

    for screen in screens:
        start(screen)
    next_sweep = time.monotonic() + 0.5
    try:
        while len(times) < clients and time.monotonic() - origin < deadline_s:
            for fd, events in poller.poll(0.1):
                ready = by_fd.get(fd)
                if ready is None or ready.sock is None:
                    continue
                screen, sock = ready, ready.sock
                try:
                    if screen.phase == "tcp":
                        if events & (select.EPOLLOUT | select.EPOLLERR | select.EPOLLHUP):
                            connected(screen)
                        continue
                    data = sock.recv(65536)
                    if not data:
                        fail(screen, f"closed in {screen.phase}")
                        continue
                    received(screen, data)
                except OSError as exc:
                    fail(screen, f"{type(exc).__name__} in {screen.phase}")
            now = time.monotonic()
            while retries and retries[0][0] <= now:
                start(screens[heapq.heappop(retries)[1]])
            if now >= next_sweep:
                next_sweep = now + 0.5
                for screen in list(by_fd.values()):
                    if now - screen.started > attempt_timeout_s:
                        fail(screen, f"timeout in {screen.phase}")
    finally:
        for screen in screens:
            _close(screen)
        poller.close()
    return StormResult(
        clients=clients,
        live=len(times),
        failures=sum(reasons.values()),
        all_live_s=max(times) if len(times) == clients else None,
        times_s=times,
        reasons=reasons,
    )
