"""A CONNECT packet's fields, parsed from its bytes in one pass. Pure.

amqtt's ``ConnectPacket.from_stream`` awaited a read for every field (about twenty per CONNECT,
each through the reader's lock and buffer) and built four objects: ~12 % of the standalone
broker's CPU in a 3,000-screen reconnect storm (py-spy, docs/benchmarks.md). Here the reader
hands over the whole packet body and the fields are sliced from it.

The fields mean what amqtt's parser made of them (same UTF-8 fallback, same random client id
for an empty one); unlike amqtt, which read fields past the end of a short packet into the next
one and left a long packet's extra bytes to be read as a packet, the packet's length is the
limit: a field that does not fit is a :class:`MalformedConnect`, and trailing bytes are ignored
(MQTT 3.1.1 §3.1: the payload is the fields the flags announce).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

CONNECT_TYPE = 1

_USERNAME = 0x80
_PASSWORD = 0x40
_WILL_RETAIN = 0x20
_WILL = 0x04
_CLEAN_SESSION = 0x02
_RESERVED = 0x01

_CLIENT_ID_CHARS = string.ascii_letters + string.digits


class MalformedConnect(ValueError):
    pass


@dataclass(slots=True)
class Connect:
    proto_name: str
    proto_level: int
    flags: int
    keep_alive: int
    client_id: str
    client_id_is_random: bool
    will_topic: str | None
    will_message: bytes | None
    username: str | None
    password: str | None

    @property
    def username_flag(self) -> bool:
        return bool(self.flags & _USERNAME)

    @property
    def password_flag(self) -> bool:
        return bool(self.flags & _PASSWORD)

    @property
    def will_flag(self) -> bool:
        return bool(self.flags & _WILL)

    @property
    def will_retain_flag(self) -> bool:
        return bool(self.flags & _WILL_RETAIN)

    @property
    def will_qos(self) -> int:
        return (self.flags & 0x18) >> 3

    @property
    def clean_session_flag(self) -> bool:
        return bool(self.flags & _CLEAN_SESSION)

    @property
    def reserved_flag(self) -> bool:
        return bool(self.flags & _RESERVED)


def parse_connect(body: bytes) -> Connect:
    """The CONNECT whose variable header and payload are ``body``."""
    cursor = _Cursor(body)
    proto_name = cursor.string()
    proto_level, flags = cursor.byte(), cursor.byte()
    keep_alive = cursor.uint16()
    client_id = cursor.string()
    random_id = client_id == ""
    if random_id:  # §3.1.3-6: a server may accept an empty id; amqtt names it thus
        client_id = "amqtt/" + "".join(secrets.choice(_CLIENT_ID_CHARS) for _ in range(16))
    will_topic = will_message = username = password = None
    if flags & _WILL:
        will_topic = cursor.string()
        will_message = cursor.data()
    if flags & _USERNAME:
        username = cursor.string()
    if flags & _PASSWORD:
        password = cursor.string()
    return Connect(
        proto_name=proto_name,
        proto_level=proto_level,
        flags=flags,
        keep_alive=keep_alive,
        client_id=client_id,
        client_id_is_random=random_id,
        will_topic=will_topic,
        will_message=will_message,
        username=username,
        password=password,
    )


class _Cursor:
    __slots__ = ("_body", "_offset")

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._offset = 0

    def _take(self, size: int) -> bytes:
        end = self._offset + size
        if end > len(self._body):
            raise MalformedConnect("CONNECT shorter than its fields")
        taken = self._body[self._offset : end]
        self._offset = end
        return taken

    def byte(self) -> int:
        return self._take(1)[0]

    def uint16(self) -> int:
        return int.from_bytes(self._take(2), "big")

    def data(self) -> bytes:
        return self._take(self.uint16())

    def string(self) -> str:
        raw = self.data()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return str(raw)  # as amqtt's decode_string: never valid as a token or a topic
