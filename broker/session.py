"""Broker sessions without a ``transitions.Machine`` each, and the CONNECT that builds them.

amqtt gives every session its own ``transitions.Machine`` (three states, five transitions, two
callbacks): building it took ~0.3 ms of CPU, a third of a connection's cost in a reconnect storm
(profiled with py-spy, docs/benchmarks.md), and left dozens of objects per connection for the
garbage collector to walk. :class:`SessionState` keeps the same three states and the same moves
with one string, behind the part of the Machine's interface amqtt and :mod:`broker.core` use
(``state``, ``connect()``, ``disconnect()``, ``is_connected()``).

:func:`read_connect` replaces ``BrokerProtocolHandler.init_from_connect`` (which builds amqtt's
``Session``) with the same checks and refusals, returning a :class:`TenantSession`; the packet is
parsed by :mod:`broker.connect`, not by amqtt's ``ConnectPacket``.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from typing import Any, Literal

from amqtt.adapters import ReaderAdapter, WriterAdapter
from amqtt.errors import MQTTError, NoDataError
from amqtt.session import Session
from transitions import MachineError

from broker.connect import CONNECT_TYPE, Connect, MalformedConnect, parse_connect
from broker.packets import encode_connack

_MQTT_3_1_1 = 4
_UNACCEPTABLE_PROTOCOL = 0x01
_IDENTIFIER_REJECTED = 0x02
_BAD_USERNAME_PASSWORD = 0x04

StateName = Literal["new", "connected", "disconnected"]


class SessionState:
    """amqtt's session life cycle: ``new`` -> ``connected`` <-> ``disconnected``.

    ``connect()`` from ``connected`` raises ``MachineError`` as the Machine did (a take-over
    waits for the older connection to let go); ``disconnect()`` is allowed from every state."""

    __slots__ = ("_session", "state")

    def __init__(self, session: TenantSession) -> None:
        # Weak: the session holds its state, and a strong link back made the pair a reference
        # cycle that every ended session left for the garbage collector.
        self._session = weakref.ref(session)
        self.state: StateName = "new"

    def connect(self) -> None:
        if self.state == "connected":
            raise MachineError("session is already connected")
        self.state = "connected"
        session = self._session()
        if session is not None:
            session._on_enter_connected()

    def disconnect(self) -> None:
        self.state = "disconnected"
        session = self._session()
        if session is not None:
            session._on_enter_disconnected()

    def is_new(self) -> bool:
        return self.state == "new"

    def is_connected(self) -> bool:
        return self.state == "connected"

    def is_disconnected(self) -> bool:
        return self.state == "disconnected"


_LAZY_QUEUES = frozenset({"retained_messages", "delivered_message_queue"})


class TenantSession(Session):  # type: ignore[misc]  # amqtt ships no type information
    def __init__(self) -> None:
        """amqtt's ``Session.__init__`` (pinned in tests/broker/test_amqtt_guard.py) without
        its two ``asyncio.Queue``, built on first use instead (:meth:`__getattr__`).

        Why: a screen never uses them (nothing queues for a clean session; the reader, not
        ``delivered_message_queue``, handles what arrives), yet each is a queue, three deques
        and an Event: a dozen objects per connection that every garbage collection in a
        reconnect storm walked (one mid-storm collection walked 212,805 objects at 3,000
        screens, ~82 per connection; docs/benchmarks.md, fifth pass)."""
        self._init_states()
        self.remote_address: str | None = None
        self.remote_port: int | None = None
        self.client_id: str | None = None
        self.clean_session: bool | None = None
        self.will_flag = False
        self.will_message: bytes | bytearray | None = None
        self.will_qos: int | None = None
        self.will_retain: bool | None = None
        self.will_topic: str | None = None
        self.keep_alive = 0
        self.publish_retry_delay = 0
        self.broker_uri: str | None = None
        self.username: str | None = None
        self.password: str | None = None
        self.cafile: str | None = None
        self.capath: str | None = None
        self.cadata: bytes | None = None
        self._packet_id = 0
        self.parent = 0
        self.last_connect_time: int | None = None
        self.ssl_object: Any = None
        self.last_disconnect_time: int | None = None
        self.attributes: dict[str, Any] = {}
        self.inflight_out: OrderedDict[int, Any] = OrderedDict()
        self.inflight_in: OrderedDict[int, Any] = OrderedDict()
        self.is_anonymous = False

    def __getattr__(self, name: str) -> Any:
        """Reached only for an attribute not set: one of the two queues, built at first use
        (then an ordinary attribute), as amqtt's code and a persistent session's offline
        messages use them."""
        if name in _LAZY_QUEUES:
            queue: asyncio.Queue[Any] = asyncio.Queue()
            setattr(self, name, queue)
            return queue
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def clear_queues(self) -> None:
        """amqtt's (called at every session's end), without building a queue never used."""
        for name in _LAZY_QUEUES:
            queue = self.__dict__.get(name)
            while queue is not None and not queue.empty():
                queue.get_nowait()

    def __getstate__(self) -> dict[str, Any]:
        for name in _LAZY_QUEUES:
            getattr(self, name)  # amqtt's removes both from the state it pickles
        state: dict[str, Any] = super().__getstate__()
        state["transitions"] = self.transitions.state  # its link back here is weak: a name
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self.transitions = SessionState(self)
        self.transitions.state = state["transitions"]

    def offline_queue(self) -> asyncio.Queue[Any] | None:
        """Messages queued while this (persistent) session was offline, if any were ever
        queued; unlike ``retained_messages``, never builds the queue."""
        queue: asyncio.Queue[Any] | None = self.__dict__.get("retained_messages")
        return queue

    def _init_states(self) -> None:
        self.transitions = SessionState(self)


async def read_connect(reader: ReaderAdapter, writer: WriterAdapter) -> TenantSession:
    """Read and check a CONNECT as amqtt does (MQTT 3.1.1 §3.1), refusing with amqtt's CONNACK
    codes; the session it returns carries everything the CONNECT said. The packet is read
    whole and parsed from its bytes (:mod:`broker.connect`)."""
    first = await reader.read(1)
    if not first:
        raise NoDataError("No data to decode MQTT packet fixed header")
    if first[0] >> 4 != CONNECT_TYPE:
        raise MQTTError(f"first packet is of type {first[0] >> 4}, not CONNECT")
    length = await read_remaining_length(reader)
    body = await reader.read(length) if length else b""
    if len(body) < length:
        raise NoDataError("connection closed inside CONNECT")
    try:
        connect = parse_connect(body)
    except MalformedConnect as exc:
        raise MQTTError(str(exc)) from None
    if connect.reserved_flag:
        raise MQTTError("[MQTT-3.1.2-3] CONNECT reserved flag must be set to 0")
    if connect.proto_name != "MQTT":
        raise MQTTError(f"[MQTT-3.1.2-1] incorrect protocol name {connect.proto_name!r}")
    refusal = _refusal(connect)
    if refusal is not None:
        code, reason = refusal
        writer.write(encode_connack(code))
        await writer.drain()
        await writer.close()
        raise MQTTError(reason)
    session = TenantSession()
    session.client_id = connect.client_id
    session.clean_session = connect.clean_session_flag
    session.will_flag = connect.will_flag
    session.will_retain = connect.will_retain_flag
    session.will_qos = connect.will_qos
    session.will_topic = connect.will_topic
    session.will_message = connect.will_message
    session.username = connect.username
    session.password = connect.password
    peer = writer.get_peer_info()
    if peer is not None:
        session.remote_address, session.remote_port = peer
    session.ssl_object = writer.get_ssl_info()
    session.keep_alive = max(connect.keep_alive, 0)
    return session


async def read_remaining_length(reader: ReaderAdapter) -> int:
    """A fixed header's remaining length (§2.2.3), read a byte at a time."""
    length, multiplier = 0, 1
    for _ in range(4):
        data: bytes = await reader.read(1)
        if not data:
            raise NoDataError("connection closed inside a packet header")
        byte = data[0]
        length += (byte & 0x7F) * multiplier
        if not byte & 0x80:
            return length
        multiplier *= 128
    raise MQTTError("malformed remaining length")


def _refusal(connect: Connect) -> tuple[int, str] | None:
    if connect.proto_level != _MQTT_3_1_1:
        return _UNACCEPTABLE_PROTOCOL, f"protocol level {connect.proto_level} (only 4 is served)"
    if not connect.username_flag and connect.password_flag:
        return _BAD_USERNAME_PASSWORD, "[MQTT-3.1.2-22] password without a username"
    if connect.username_flag and connect.username is None:
        return _BAD_USERNAME_PASSWORD, "username flag set without a username"
    if connect.password_flag and connect.password is None:
        return _BAD_USERNAME_PASSWORD, "password flag set without a password"
    if not connect.clean_session_flag and connect.client_id_is_random:
        return _IDENTIFIER_REJECTED, "[MQTT-3.1.3-8] no client id with clean session 0"
    return None
