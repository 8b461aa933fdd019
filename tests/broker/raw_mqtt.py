"""A bare MQTT 3.1.1 client on a blocking socket, for tests that need exact control of what goes
on the wire and when (pipelined publishes, a PUBREL sent twice, a connection closed right after
its acknowledgements), which paho does not give."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass

from broker.packets import encode_remaining_length

CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK = 2, 3, 4, 5, 6, 7, 9


def _string(value: bytes) -> bytes:
    return len(value).to_bytes(2, "big") + value


def _packet(first: int, body: bytes) -> bytes:
    return bytes((first,)) + encode_remaining_length(len(body)) + body


def connect_packet(
    client_id: str, password: str, *, clean: bool = True, keepalive: int = 60
) -> bytes:
    flags = 0x80 | 0x40 | (0x02 if clean else 0)  # username, password, clean session
    body = (
        _string(b"MQTT")
        + bytes((4, flags))
        + keepalive.to_bytes(2, "big")
        + _string(client_id.encode())
        + _string(b"u")
        + _string(password.encode())
    )
    return _packet(0x10, body)


def publish_packet(
    topic: str, payload: bytes, *, qos: int = 0, packet_id: int = 0, dup: bool = False
) -> bytes:
    first = 0x30 | (qos << 1) | (0x08 if dup else 0)
    body = _string(topic.encode()) + (packet_id.to_bytes(2, "big") if qos else b"") + payload
    return _packet(first, body)


def pubrel_packet(packet_id: int) -> bytes:
    return bytes((0x62, 2)) + packet_id.to_bytes(2, "big")


def puback_packet(packet_id: int) -> bytes:
    return bytes((0x40, 2)) + packet_id.to_bytes(2, "big")


def subscribe_packet(packet_id: int, topic_filter: str, qos: int) -> bytes:
    body = packet_id.to_bytes(2, "big") + _string(topic_filter.encode()) + bytes((qos,))
    return _packet(0x82, body)


DISCONNECT = b"\xe0\x00"


@dataclass(frozen=True)
class Packet:
    kind: int
    flags: int
    body: bytes

    @property
    def packet_id(self) -> int:
        return int.from_bytes(self.body[:2], "big")


class RawClient:
    """One connection; ``read()`` returns the next whole packet from the broker."""

    def __init__(self, host: str, port: int, *, timeout: float = 20.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = bytearray()

    def connect(self, password: str, client_id: str, *, clean: bool = True) -> Packet:
        self.send(connect_packet(client_id, password, clean=clean))
        connack = self.read()
        assert connack.kind == CONNACK, connack
        assert connack.body[1] == 0, connack
        return connack

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, n: int) -> None:
        while len(self._buffer) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed by the broker")
            self._buffer += chunk

    def read(self) -> Packet:
        self._fill(2)
        length, multiplier, index = 0, 1, 1
        while True:
            self._fill(index + 1)
            byte = self._buffer[index]
            length += (byte & 0x7F) * multiplier
            multiplier *= 128
            index += 1
            if not byte & 0x80:
                break
        self._fill(index + length)
        first = self._buffer[0]
        body = bytes(self._buffer[index : index + length])
        del self._buffer[: index + length]
        return Packet(first >> 4, first & 0x0F, body)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class CountingSubscriber:
    """Subscribes, then acknowledges and counts every PUBLISH on a thread of its own."""

    def __init__(self, host: str, port: int, password: str, topic_filter: str, qos: int) -> None:
        self.client = RawClient(host, port)
        self.client.connect(password, f"counter-{id(self)}")
        self.client.send(subscribe_packet(1, topic_filter, qos))
        suback = self.client.read()
        assert suback.kind == SUBACK, suback
        assert suback.body[2] == qos, suback
        self.payloads: list[bytes] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.closed = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                packet = self.client.read()
                if packet.kind != PUBLISH:
                    continue
                qos = (packet.flags >> 1) & 3
                topic_length = int.from_bytes(packet.body[:2], "big")
                start = 2 + topic_length
                if qos:
                    self.client.send(puback_packet(int.from_bytes(packet.body[start : start + 2])))
                    start += 2
                with self._changed:
                    self.payloads.append(packet.body[start:])
                    self._changed.notify_all()
        except (OSError, ConnectionError):
            with self._changed:
                self.closed = True
                self._changed.notify_all()

    def wait_count(self, count: int, timeout: float = 30.0) -> int:
        """Wait until ``count`` messages arrived (or the time is up); the count seen."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.payloads) >= count or self.closed, timeout)
            return len(self.payloads)

    def close(self) -> None:
        # A close alone does not wake the reader blocked in recv (Linux): every test then
        # waited the whole join timeout at teardown. shutdown does, with an end of stream.
        with contextlib.suppress(OSError):
            self.client.sock.shutdown(socket.SHUT_RDWR)
        self.client.close()
        self._thread.join(5)
        assert not self._thread.is_alive(), "the subscriber's reader did not stop"
