"""The benchmark's own MQTT 3.1.1 client side, as bytes: cheap enough that one Python process can
drive a thousand subscribers without becoming the bottleneck (a paho client per subscriber
would cost a thread and a few hundred microseconds per message each).

Server-side encoding (PUBLISH) is shared with the broker (:mod:`broker.packets`); only what a
client sends or must parse lives here.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
from collections.abc import Iterator

from broker.packets import EncodedPublish, encode_remaining_length

CONNACK, PUBLISH, PUBACK, SUBACK, PINGRESP = 2, 3, 4, 9, 13


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    """Blocking read of exactly ``size`` bytes (set-up packets: CONNACK, SUBACK)."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("broker closed the connection during setup")
        data += chunk
    return data


def _string(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack("!H", len(raw)) + raw


def connect(
    client_id: str, *, password: str | None = None, username: str = "bench", keepalive: int = 600
) -> bytes:
    flags = 0x02  # clean session
    payload = _string(client_id)
    if password is not None:
        flags |= 0x80 | 0x40
        payload += _string(username) + _string(password)
    body = _string("MQTT") + bytes((4, flags)) + struct.pack("!H", keepalive) + payload
    return b"\x10" + encode_remaining_length(len(body)) + body


def subscribe(packet_id: int, topic_filter: str, qos: int = 1) -> bytes:
    body = struct.pack("!H", packet_id) + _string(topic_filter) + bytes((qos,))
    return b"\x82" + encode_remaining_length(len(body)) + body


def puback(packet_id: int) -> bytes:
    return b"\x40\x02" + struct.pack("!H", packet_id)


def publish(topic: str, payload: bytes, *, packet_id: int, retain: bool = True) -> bytes:
    return EncodedPublish.build(topic, payload, retain=retain).qos1(packet_id)


class PacketReader:
    """Splits a byte stream into (packet type, flags, body) as data arrives."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes | memoryview) -> Iterator[tuple[int, int, bytes]]:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= 2:
            length, multiplier, index = 0, 1, 1
            while True:
                if index >= len(buffer):
                    return
                byte = buffer[index]
                length += (byte & 0x7F) * multiplier
                multiplier *= 128
                index += 1
                if not byte & 0x80:
                    break
            end = index + length
            if len(buffer) < end:
                return
            first = buffer[0]
            body = bytes(buffer[index:end])
            del buffer[:end]
            yield first >> 4, first & 0x0F, body


def parse_publish(flags: int, body: bytes) -> tuple[str, int | None, bytes]:
    """Topic, packet id (QoS > 0) and payload of a PUBLISH body."""
    topic_length = struct.unpack_from("!H", body)[0]
    topic = body[2 : 2 + topic_length].decode()
    offset = 2 + topic_length
    packet_id = None
    if flags & 0x06:
        packet_id = struct.unpack_from("!H", body, offset)[0]
        offset += 2
    return topic, packet_id, body[offset:]


# --- WebSocket framing (client side: frames are masked, RFC 6455 §5.3) ----------------------


def ws_handshake(host: str, port: int, path: str = "/mqtt") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: mqtt\r\n\r\n"
    ).encode()


def ws_frame(data: bytes) -> bytes:
    """One masked binary frame. The mask is all zeros: legal, and XOR-free to build."""
    length = len(data)
    if length < 126:
        header = bytes((0x82, 0x80 | length))
    elif length < 65536:
        header = bytes((0x82, 0x80 | 126)) + struct.pack("!H", length)
    else:
        header = bytes((0x82, 0x80 | 127)) + struct.pack("!Q", length)
    return header + b"\x00\x00\x00\x00" + data


class WsFrameReader:
    """Unframes server-to-client (unmasked) WebSocket binary frames into a byte stream."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> bytes:
        buffer = self._buffer
        buffer += data
        out = bytearray()
        while len(buffer) >= 2:
            length = buffer[1] & 0x7F
            offset = 2
            if length == 126:
                if len(buffer) < 4:
                    break
                length = struct.unpack_from("!H", buffer, 2)[0]
                offset = 4
            elif length == 127:
                if len(buffer) < 10:
                    break
                length = struct.unpack_from("!Q", buffer, 2)[0]
                offset = 10
            if len(buffer) < offset + length:
                break
            out += buffer[offset : offset + length]
            del buffer[: offset + length]
        return bytes(out)
