"""amqtt 0.12.1 made safe for many tenants, and fast at fan-out.

:class:`TenantBroker` subclasses amqtt's ``Broker`` and replaces the paths that leak across
tenants or cost O(subscribers) per check (GUIDE §4). Each replaced method says which amqtt
behaviour it fixes; ``tests/broker/test_amqtt_guard.py`` fingerprints every amqtt method we
replace or rely on, so an amqtt upgrade that changes one fails loudly.

Fixed leaks and gaps
  * amqtt pushes, at every CONNECT, all retained messages matching *any* client's filters to the
    new client (``_handle_client_session``). Here a resumed session gets only what its own
    filters match, and every retained delivery passes the receive check.
  * amqtt authenticates *after* it has deleted or resumed the session of the claimed client id,
    so anyone could wipe or inherit another client's session. Here the token is checked first
    and client ids are namespaced per identity (tenant, role, subject): two identities never
    share a session.
  * a Will is accepted only on a topic the client may publish; otherwise CONNECT is refused.
  * keepalive: amqtt never closes a silent client; here 1.5 x keepalive without a packet closes
    it (and fires its Will), as §3.1.2.10 asks.
  * no connection limit refusal, no CONNECT timeout: a full listener now answers CONNACK 3 and
    a client that sends no CONNECT within 10 s (plus 2 ms per connection waiting ahead of it,
    for reconnect storms) is dropped.
  * ``$SYS`` is not published (no ``BrokerSysPlugin``) and only the publisher role may subscribe.
  * an acknowledged PUBLISH was only queued; a publisher that left right after its PUBACKs took
    the queue with it. Here the reader fans each PUBLISH out before acknowledging it, reads the
    next only after that (inbound backpressure), answers every PUBREL, and keeps only packet ids
    for QoS 2 (see :mod:`broker.inbound`).

Faster delivery
  amqtt fans a message out by creating one task per subscriber, each running the ACL plugins
  (another task each) and encoding its own packet. Here a topic tree finds the subscribers, the
  per-connection :class:`~broker.policy.Grant` answers the receive check with a string prefix
  test, the packet is encoded once, and each subscriber gets a synchronous write; QoS 1 is
  tracked with a future per packet id, no task.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from typing import Any

from amqtt.adapters import BufferReader, ReaderAdapter, WriterAdapter
from amqtt.broker import Broker, RetainedApplicationMessage, Server
from amqtt.contexts import Action
from amqtt.errors import AMQTTError, MQTTError, NoDataError, ProtocolHandlerError
from amqtt.events import BrokerEvents
from amqtt.mqtt import packet_class
from amqtt.mqtt.connect import ConnectPacket
from amqtt.mqtt.packet import (
    CONNECT,
    DISCONNECT,
    PINGREQ,
    PUBACK,
    PUBCOMP,
    PUBLISH,
    PUBREC,
    PUBREL,
    RESERVED_0,
    RESERVED_15,
    SUBSCRIBE,
    UNSUBSCRIBE,
    MQTTFixedHeader,
)
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.mqtt.protocol.handler import ProtocolHandler
from amqtt.mqtt.puback import PubackPacket
from amqtt.mqtt.publish import PublishPacket
from amqtt.session import OutgoingApplicationMessage, Session
from transitions import MachineError

from broker.auth import Authenticator, Refused
from broker.heap import connection_arrived, connection_left
from broker.inbound import (
    MAX_UNRELEASED_QOS2,
    YIELD_EVERY,
    InboundPublish,
    MalformedPublish,
    MalformedSubscription,
    is_topic_name,
    parse_publish,
    parse_subscribe,
    parse_unsubscribe,
    puback,
    pubcomp,
    pubrec,
    receipts_of,
    suback,
    unsuback,
)
from broker.packets import (
    CONNACK_ACCEPTED,
    CONNACK_NOT_AUTHORIZED,
    CONNACK_SERVER_UNAVAILABLE,
    EncodedPublish,
    encode_connack,
)
from broker.policy import Grant
from broker.refusals import RefusalLog
from broker.retained import RetainedMessages
from broker.session import TenantSession, read_connect, read_remaining_length
from broker.stats import BrokerSnapshot, BrokerStats
from broker.subscriptions import SubscriptionTree
from broker.tcp import TcpReader, TcpWriter
from broker.transport import GuardedReader, PacketTooLarge, StarletteReader
from broker.ws_stream import WsReader
from config.deadlines import Deadline, deadlines
from config.faultlog import FaultLog, printable
from protocol.server_status import SERVER_STATUS_TOPIC
from protocol.topics import filter_matches

logger = logging.getLogger(__name__)
_AMQTT_HANDLER_LOG = logging.getLogger("amqtt.mqtt.protocol.handler")

GRANT_KEY = "queuecast.grant"
"""Where a session keeps its :class:`Grant` (``Session.attributes`` is amqtt's extension dict)."""

MAX_QOS = 1
"""Highest QoS granted to a subscription. Our contract uses 0 and 1; granting 1 for a QoS 2
request is allowed by §3.9.3 and keeps every delivery on the fast path."""

CONNECT_TIMEOUT_S = 10.0
CONNECT_QUEUE_S = 0.002
"""Added to a new connection's CONNECT timeout per connection already waiting for theirs: in a
reconnect storm the broker reaches a CONNECT only after those that arrived before it (~0.3-1 ms
of CPU each), so a fixed 10 s cut thousands of screens whose CONNECT had long arrived."""
MAX_INFLIGHT = 1000
"""Unacknowledged QoS 1 deliveries per client before it is treated as stuck and disconnected."""
MAX_WAITING = 10_000
"""Deliveries that may wait behind a full window of unacknowledged QoS 1 (a burst meeting a
subscriber whose PUBACKs are on their way); beyond, the subscriber counts as stuck."""
MAX_QUEUED_OFFLINE = 1000
"""Messages kept for a disconnected persistent session (as Mosquitto's max_queued_messages)."""
SESSION_EXPIRY_S = 6 * 3600
"""A disconnected persistent session is forgotten after this long; retained state covers it."""

# The retry path of amqtt's QoS 1 flow sends DUP=1 when ``publish_packet`` is set; deliveries
# written by the fast path carry this marker instead of a packet object of their own.
_SENT_MARKER = PublishPacket.build("sent", b"", 1, False, 1, False)


def grant_of(session: Session) -> Grant | None:
    grant = session.attributes.get(GRANT_KEY)
    return grant if isinstance(grant, Grant) else None


def describe(session: Session) -> str:
    return f"{session.client_id} from {session.remote_address}:{session.remote_port}"


class TenantProtocolHandler(BrokerProtocolHandler):  # type: ignore[misc]  # amqtt: untyped
    """amqtt's per-connection protocol handler, plus keepalive enforcement and a fast send."""

    max_pending_bytes = 4 * 1024 * 1024
    max_payload_bytes = 256 * 1024  # set per broker from settings.mqtt_max_payload_bytes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # amqtt's BrokerProtocolHandler.__init__ would add two asyncio.Queue (an Event each) for
        # SUBSCRIBE and UNSUBSCRIBE, which the reader handles itself: 6.5 % of the API's samples
        # in a 3,000 WebSocket storm went to building them. Its stop() only drains them.
        ProtocolHandler.__init__(self, *args, **kwargs)
        self._disconnect_waiter: asyncio.Future[Any] | None = None
        self._pending_subscriptions = _NEVER_PENDING
        self._pending_unsubscriptions = _NEVER_PENDING
        self._closing = False
        self._stopped_before_reading = False
        self._last_read = 0.0
        self._keepalive_timer: asyncio.TimerHandle | None = None
        # Unacknowledged QoS 1 packet ids of a clean session: ints, so a fan-out to many
        # subscribers leaves no objects behind for the garbage collector to walk.
        self._unacked: set[int] = set()
        self._next_packet_id = 0
        self.broker: TenantBroker | None = None  # set by the broker that accepted the CONNECT
        self.admitted_at = 0
        """The revocation answers' generation its CONNECT was admitted under (broker.verdicts)."""
        self._waiting: deque[tuple[EncodedPublish, int]] = deque()
        """Deliveries behind a full window of unacknowledged QoS 1 (see send_nowait)."""
        self._waiting_bytes = 0
        self._refused_publishes = 0

    def _init_session(self, session: Session) -> None:
        """Replaces amqtt's, which built a ``LoggerAdapter`` (after a ``getLogger``) per
        connection only to add the client id to its debug lines."""
        if not session:
            raise AMQTTError("Session cannot be None")
        self.session = session
        self.logger = _AMQTT_HANDLER_LOG
        self.keepalive_timeout = session.keep_alive if session.keep_alive > 0 else None

    async def start(self) -> None:
        """Replaces amqtt's (ProtocolHandler's and BrokerProtocolHandler's) without the
        write-timeout timer it armed per connection (a broker's ``handle_write_timeout`` does
        nothing; the keepalive is the reader's timer) and its two debug lines."""
        if not self._is_attached():
            raise ProtocolHandlerError("Handler is not attached to a stream")
        self._reader_ready = asyncio.Event()
        self._reader_stopped = asyncio.Event()
        self._reader_task = asyncio.create_task(self._reader_loop())
        await self._reader_ready.wait()
        await self._retry_deliveries()
        if self._disconnect_waiter is None or self._disconnect_waiter.done():
            self._disconnect_waiter = asyncio.Future()
        if self._stopped_before_reading:
            self.close_now()  # stopped while starting: end the connection now, not never

    async def mqtt_connack_authorize(self, authorize: bool) -> None:
        """Replaces amqtt's: the CONNACK's four bytes written in order with what follows,
        without a packet object, the write lock and a drain each connection waited on (the
        same bytes: ``tests/broker/test_subscribe_in_reader.py``)."""
        session, writer = self.session, self.writer
        if session is None or writer is None:
            raise MQTTError("CONNACK without a session")
        code = CONNACK_ACCEPTED if authorize else CONNACK_NOT_AUTHORIZED
        writer.write(encode_connack(code, session_present=bool(session.parent)))

    async def _retry_deliveries(self) -> None:
        session = self.session
        if session is not None and not session.inflight_in and not session.inflight_out:
            return  # a clean session, or nothing left in flight: amqtt's would do nothing
        await super()._retry_deliveries()

    async def stop(self) -> None:
        reader = self._reader_task
        if reader is not None and not reader.done():
            reader.add_done_callback(self._reader_ended)
        await super().stop()

    def _reader_ended(self, _: asyncio.Task[None]) -> None:
        """A reader task cancelled before its first step never runs its own ending, which is
        what sets these events: amqtt's stop() would wait for it, and start() for the reader,
        forever (seen when the broker shut down while a connection was starting)."""
        if self._reader_stopped.is_set():
            return  # it ran and ended normally
        self._stopped_before_reading = True
        self._reader_stopped.set()
        if self._reader_ready is not None:
            self._reader_ready.set()

    async def _reader_loop(self) -> None:
        """Replaces amqtt's reader loop, which wrapped every packet read in ``wait_for`` (a task
        and a timer each) and spawned a task per packet: at 1,000 subscribers the PUBACKs of one
        message cost more than its delivery. Here PUBACK and PINGREQ are handled inline, other
        packets are parsed from their bytes and dispatched to amqtt's handlers as before, and
        the keepalive is one re-armed timer instead of a timeout per read."""
        session, reader = self.session, self.reader
        if session is None or reader is None or self._reader_ready is None:
            raise AMQTTError("reader loop started without a session")
        running: deque[asyncio.Task[None]] = deque()
        self._arm_keepalive(session.keep_alive)
        if isinstance(reader, GuardedReader):
            reader.fast_lane = self._fast_packet
        self._reader_ready.set()
        handled = 0
        try:
            while True:
                while running and running[0].done():
                    running.popleft()
                handled += 1
                if handled % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # take turns with other connections (inbound.py)
                first = await reader.read(1)
                if not first:
                    break
                length = await read_remaining_length(reader)
                body = await reader.read(length) if length else b""
                if len(body) < length:
                    break
                self._last_read = self._loop.time()
                packet_type = first[0] >> 4
                if packet_type == PUBLISH and self._payload_too_large(first[0], body):
                    break
                if packet_type == PUBLISH:
                    if not self._publish_received(first[0], body):
                        break
                elif packet_type == SUBSCRIBE:
                    self._subscribe_received(body)
                elif packet_type == UNSUBSCRIBE:
                    self._unsubscribe_received(body)
                elif packet_type == PUBREL and length == 2:
                    self._pubrel_received(int.from_bytes(body, "big"))
                elif packet_type == PUBACK and length == 2:
                    self._puback_received(int.from_bytes(body, "big"))
                elif packet_type == PINGREQ:
                    if self.writer is not None:
                        self.writer.write(_PINGRESP)
                elif packet_type in (RESERVED_0, RESERVED_15) or packet_type not in _HANDLERS:
                    logger.warning(
                        "%s sent packet type %d: closing", describe(session), packet_type
                    )
                    break
                else:
                    header = MQTTFixedHeader(packet_type, first[0] & 0x0F, length)
                    packet_cls = packet_class(header)
                    packet = await packet_cls.from_stream(BufferReader(body), fixed_header=header)
                    handle = getattr(self, _HANDLERS[packet_type])
                    if packet_type == CONNECT:
                        await handle(packet)  # amqtt: a second CONNECT ends the session
                    else:
                        running.append(asyncio.create_task(handle(packet)))
        except asyncio.CancelledError:
            pass
        except (asyncio.IncompleteReadError, ConnectionError, NoDataError, PacketTooLarge):
            pass  # the peer went away (or sent too much: already logged by the reader)
        except MalformedSubscription:
            pass  # closed as amqtt's parser did, when the packet id could not be read
        except Exception as exc:  # a malformed packet ends only this connection
            logger.warning("closing %s after a bad packet: %r", describe(session), exc)
        if isinstance(reader, GuardedReader):
            reader.fast_lane = None
        self._account_for_reader_end(reader)
        if self._keepalive_timer is not None:
            self._keepalive_timer.cancel()
        while running:
            running.popleft().cancel()
        await self.handle_connection_closed()
        self._reader_stopped.set()
        await self.stop()

    def _payload_too_large(self, first_byte: int, body: bytes) -> bool:
        header = 2 + int.from_bytes(body[:2], "big") + (2 if first_byte & 0x06 else 0)
        size = len(body) - header
        if size <= self.max_payload_bytes:
            return False
        if self.broker is not None:
            self.broker.stats.disconnected("payload_too_large")
        logger.warning(
            "refusing a %d-byte PUBLISH payload from %s (limit %d): closing it",
            size,
            describe(self.session) if self.session else "?",
            self.max_payload_bytes,
        )
        return True

    def _publish_received(self, first_byte: int, body: bytes) -> bool:
        """One PUBLISH, handled to the end before the next packet is read: fanned out (or
        refused), then acknowledged (see :mod:`broker.inbound`). False closes the connection."""
        session, writer, broker = self.session, self.writer, self.broker
        if session is None or writer is None or broker is None:
            return False
        try:
            message = parse_publish(first_byte, body)
        except MalformedPublish as exc:
            logger.warning("closing %s after a malformed PUBLISH: %s", describe(session), exc)
            broker.stats.disconnected("malformed_packet")
            return False
        if message.qos == 2:
            receipts = receipts_of(session.attributes)
            if message.packet_id in receipts:  # sent again before its PUBREL: once only
                writer.write(pubrec(message.packet_id))
                return True
            if len(receipts) >= MAX_UNRELEASED_QOS2:
                logger.warning(
                    "%s left %d QoS 2 messages without PUBREL: closing",
                    describe(session),
                    len(receipts),
                )
                broker.stats.disconnected("qos2_unreleased_limit")
                return False
        accepted = broker.accept_publish(session, message)
        if accepted is None:
            return False
        if not accepted:
            self._refused_publish(message.topic)
        if message.qos == 1:
            writer.write(puback(message.packet_id))
        elif message.qos == 2:
            if accepted:
                receipts_of(session.attributes).add(message.packet_id)
            writer.write(pubrec(message.packet_id))
        return True

    def _subscribe_received(self, body: bytes) -> None:
        """One SUBSCRIBE, handled to the end in the reader (no amqtt queue, waiter or task):
        each filter granted or refused by the broker, the SUBACK written, then the retained
        messages of each granted filter, in that order as amqtt's loop did."""
        session, writer, broker = self.session, self.writer, self.broker
        if session is None or writer is None or broker is None:
            return
        packet_id, topics = parse_subscribe(body)
        codes = [broker.subscribe_now(topic_filter, qos, session) for topic_filter, qos in topics]
        # SUBACK and the retained messages leave in one write (see TcpWriter).
        corked = isinstance(writer, TcpWriter)
        if corked:
            writer.cork()
        try:
            writer.write(suback(packet_id, codes))
            for (topic_filter, _), code in zip(topics, codes, strict=True):
                if code != SUBSCRIBE_REFUSED:
                    broker.deliver_retained_for(topic_filter, session, self)
        finally:
            if corked:
                writer.uncork()

    def _unsubscribe_received(self, body: bytes) -> None:
        session, writer, broker = self.session, self.writer, self.broker
        if session is None or writer is None or broker is None:
            return
        packet_id, topics = parse_unsubscribe(body)
        for topic_filter in topics:
            broker._del_subscription(topic_filter, session)
        writer.write(unsuback(packet_id))

    def _pubrel_received(self, packet_id: int) -> None:
        """Every PUBREL is answered, known id or not (§4.3.3): a client resends PUBREL when our
        PUBCOMP was lost, on this connection or after reconnecting."""
        session, writer = self.session, self.writer
        if session is not None:
            receipts_of(session.attributes).discard(packet_id)
        if writer is not None:
            writer.write(pubcomp(packet_id))

    def _refused_publish(self, topic: str) -> None:
        """Logged once per connection (a client that keeps trying must not flood the log); the
        total is logged when the connection ends and counted in the broker's stats."""
        self._refused_publishes += 1
        if self._refused_publishes == 1:
            logger.warning(
                "dropped PUBLISH to %r from %s: not a topic it may publish",
                topic,
                describe(self.session) if self.session else "?",
            )

    def _account_for_reader_end(self, reader: ReaderAdapter) -> None:
        session, waiting = self.session, self._waiting
        if waiting and session is not None and self.broker is not None:
            if session.clean_session:
                self.broker.stats.drop("connection_closed", len(waiting))
            else:  # a persistent session gets them when it is back, like any offline message
                for message, qos in waiting:
                    if qos:
                        self.broker._queue_offline(session, message.topic, message.payload, qos)
            waiting.clear()
            self._waiting_bytes = 0
        if self._refused_publishes > 1 and self.session is not None:
            logger.warning(
                "%s sent %d PUBLISH packets it may not send (dropped)",
                describe(self.session),
                self._refused_publishes,
            )
        if self.broker is not None and isinstance(reader, GuardedReader):
            self.broker.stats.reader_pauses += reader.pauses

    def _fast_packet(self, first_byte: int, body: bytes) -> None:
        """PUBACK or PINGREQ, recognised by the transport as the bytes arrived."""
        self._last_read = self._loop.time()
        if first_byte >> 4 == PUBACK:
            self._puback_received(int.from_bytes(body, "big"))
        elif self.writer is not None:
            self.writer.write(_PINGRESP)

    def _puback_received(self, packet_id: int) -> None:
        waiter = self._puback_waiters.get(packet_id)
        if waiter is not None:  # amqtt's own flow (redelivery on resume) waits for this one
            if not waiter.done():
                waiter.set_result(PubackPacket.build(packet_id))
            return
        if packet_id in self._unacked:  # a fast-path delivery to a clean session
            self._unacked.discard(packet_id)
        elif self.session is not None:  # a fast-path delivery to a persistent session
            self.session.inflight_out.pop(packet_id, None)
        if self._waiting:
            self._send_waiting()

    def _send_waiting(self) -> None:
        session, writer, waiting = self.session, self.writer, self._waiting
        if session is None or writer is None or self._closing:
            return
        while waiting:
            message, qos = waiting[0]
            if qos and len(self._unacked) + len(session.inflight_out) >= MAX_INFLIGHT:
                return
            waiting.popleft()
            self._waiting_bytes -= len(message.payload)
            if qos == 0:
                writer.write(message.for_qos0)
            else:
                self._send_qos1(session, writer, message)

    def _arm_keepalive(self, keepalive_s: int) -> None:
        self._last_read = self._loop.time()
        if keepalive_s > 0:
            self._keepalive_timer = self._loop.call_later(
                keepalive_s, self._check_keepalive, keepalive_s
            )

    def _check_keepalive(self, keepalive_s: int) -> None:
        # A method, not a closure calling itself: that closure was a reference cycle left for
        # the garbage collector by every closed connection (five objects each).
        idle = self._loop.time() - self._last_read
        if idle >= keepalive_s:
            self.handle_read_timeout()
        else:
            self._keepalive_timer = self._loop.call_later(
                keepalive_s - idle, self._check_keepalive, keepalive_s
            )

    def handle_read_timeout(self) -> None:
        # amqtt's handler ignores the timeout, so a dead client would stay forever.
        if self.session is not None:
            logger.info("keepalive expired for %s: closing", describe(self.session))
        if self.broker is not None:
            self.broker.stats.disconnected("keepalive_expired")
        self.close_now()

    def close_now(self) -> None:
        """End the connection as an abnormal disconnect (the Will fires). Idempotent, sync."""
        self._closing = True
        waiter = self._disconnect_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def send_nowait(self, message: EncodedPublish, qos: int) -> None:
        """Write one PUBLISH now. QoS 1 stays unacknowledged until its PUBACK: for a clean
        session as a bare packet id (nothing to redeliver after the connection), for a
        persistent one as a message amqtt's resume path redelivers with DUP=1 (§4.4)."""
        session, writer = self.session, self.writer
        if session is None or writer is None or self._closing:
            return
        if writer.pending_bytes() + self._waiting_bytes > self.max_pending_bytes:
            logger.warning("%s does not read its messages: disconnecting", describe(session))
            if self.broker is not None:
                self.broker.stats.disconnected("slow_subscriber")
            self.close_now()
            return
        waiting = self._waiting
        if waiting or (qos and len(self._unacked) + len(session.inflight_out) >= MAX_INFLIGHT):
            # The window of unacknowledged QoS 1 is full: later messages wait their turn (QoS 0
            # too, so none overtakes another) and go out as PUBACKs free the window.
            if len(waiting) >= MAX_WAITING:
                logger.warning(
                    "%s left %d messages unacknowledged and %d waiting: disconnecting",
                    describe(session),
                    MAX_INFLIGHT,
                    len(waiting),
                )
                if self.broker is not None:
                    self.broker.stats.disconnected("unacknowledged_limit")
                self.close_now()
                return
            waiting.append((message, qos))
            self._waiting_bytes += len(message.payload)
            return
        if qos == 0:
            writer.write(message.for_qos0)
        else:
            self._send_qos1(session, writer, message)

    def _send_qos1(self, session: Session, writer: WriterAdapter, message: EncodedPublish) -> None:
        unacked = self._unacked
        if session.clean_session:
            packet_id = self._next_packet_id % 65535 + 1
            while packet_id in unacked or packet_id in session.inflight_out:
                packet_id = packet_id % 65535 + 1
            self._next_packet_id = packet_id
            unacked.add(packet_id)
        else:
            packet_id = session.next_packet_id
            while packet_id in unacked:
                packet_id = session.next_packet_id
            outgoing = OutgoingApplicationMessage(
                packet_id, message.topic, 1, message.payload, message.retain
            )
            outgoing.publish_packet = _SENT_MARKER
            session.inflight_out[packet_id] = outgoing
        writer.write(message.qos1(packet_id))


class _NeverPending:
    """Stands in for amqtt's pending SUBSCRIBE/UNSUBSCRIBE queues, which nothing fills."""

    @staticmethod
    def empty() -> bool:
        return True


_NEVER_PENDING = _NeverPending()
_PINGRESP = b"\xd0\x00"
SUBSCRIBE_REFUSED = 0x80
"""SUBACK return code of a refused filter (§3.9.3)."""
_HANDLERS = {
    CONNECT: "handle_connect",
    PUBLISH: "handle_publish",
    PUBREC: "handle_pubrec",
    PUBREL: "handle_pubrel",
    PUBCOMP: "handle_pubcomp",
    PUBACK: "handle_puback",
    SUBSCRIBE: "handle_subscribe",
    UNSUBSCRIBE: "handle_unsubscribe",
    DISCONNECT: "handle_disconnect",
}
"""Client-to-server packets and the amqtt handler method for each (PINGREQ is answered inline)."""


class TenantBroker(Broker):  # type: ignore[misc]  # amqtt ships no type information
    """amqtt's broker with tenant isolation on every path. Listeners are ours (see
    :mod:`broker.embedded`): they hand connections in through ``external_connected``."""

    def __init__(
        self,
        *,
        authenticator: Authenticator,
        listener_names: tuple[str, ...],
        max_connections: int,
        max_payload_bytes: int,
        max_total_connections: int | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        listeners: dict[str, Any] = {"default": {"type": "external"}}
        listeners.update({name: {"type": "external"} for name in listener_names})
        config = {
            "listeners": listeners,
            # No plugins: no anonymous access, no $SYS, no per-packet logging. Auth and ACL
            # are methods of this class (faster than plugin dispatch, which spawns tasks).
            "plugins": {},
            "session_expiry_interval": SESSION_EXPIRY_S,
        }
        super().__init__(config, loop=loop)
        self._authenticator = authenticator
        self._max_connections = max_connections
        self._max_total = max_total_connections
        self._max_payload_bytes = max_payload_bytes
        self._connections = dict.fromkeys(listener_names, 0)
        self._tree: SubscriptionTree[Session] = SubscriptionTree()
        self._retained_messages = RetainedMessages()
        self._expiry_timers: dict[str, asyncio.TimerHandle] = {}
        # Faults a client can repeat at will are logged once per interval with a count.
        self.faults = FaultLog(logger)
        self.stats = BrokerStats()
        self._full_refusals = RefusalLog(logger, "connection refused")
        self._connect_refusals = RefusalLog(logger, "refused CONNECT")
        self._connect_timeouts = RefusalLog(
            logger, "no CONNECT in time (10 s plus 2 ms per connection ahead of it), closed"
        )
        self._awaiting_connect = 0
        self._side_tasks: set[asyncio.Task[None]] = set()
        """Tasks started from callbacks (revocation re-checks, closes), kept until done."""

    # --- introspection ------------------------------------------------------------------

    @property
    def subscriptions(self) -> dict[str, list[tuple[Session, int]]]:
        return self._tree.all_filters()

    def connection_count(self, listener_name: str) -> int:
        return self._connections.get(listener_name, 0)

    def open_connections(self) -> int:
        """Connections on every listener (each holds an open file)."""
        return sum(self._connections.values())

    def connected_handlers(self) -> list[tuple[Session, TenantProtocolHandler]]:
        return [
            (session, handler)
            for session, handler in self._sessions.values()
            if isinstance(handler, TenantProtocolHandler)
            and session.transitions.state == "connected"
        ]

    def snapshot(self) -> BrokerSnapshot:
        """Gauges for the operator (``/metrics``): connections by listener and role, and what
        clients have sent that the broker has not handled yet."""
        connections: dict[tuple[str, str], int] = {}
        backlog = paused = 0
        for session, handler in self.connected_handlers():
            grant = grant_of(session)
            role = grant.principal.role.value if grant is not None else "unknown"
            key = (_listener_of(handler.reader), role)
            connections[key] = connections.get(key, 0) + 1
            reader = handler.reader
            if isinstance(reader, GuardedReader):
                backlog += reader.buffered_bytes()
                paused += reader.paused
        return BrokerSnapshot(
            connections=connections,
            inbound_backlog_bytes=backlog,
            paused_readers=paused,
            sessions=len(self._sessions),
            retained=len(self._retained_messages),
        )

    # --- connections --------------------------------------------------------------------

    async def _client_connected(
        self, listener_name: str, reader: ReaderAdapter, writer: WriterAdapter
    ) -> None:
        """Replaces amqtt's: counts per listener and refuses (CONNACK 3) instead of making the
        client wait on a semaphore; bounds the wait for CONNECT; authenticates before any
        session is touched."""
        if listener_name not in self._connections:
            raise AMQTTError(f"Invalid listener name '{listener_name}'")
        peer = writer.get_peer_info() or ("unknown", 0)
        if self._connections[listener_name] >= self._max_connections or (
            self._max_total is not None and sum(self._connections.values()) >= self._max_total
        ):
            self._full_refusals.refused(
                f"listener {listener_name} is full ({self._max_connections} connections): "
                f"refusing {peer[0]}:{peer[1]} (the cap stays below the open-files limit)"
            )
            await _refuse_connect(reader, writer, CONNACK_SERVER_UNAVAILABLE)
            return
        self._connections[listener_name] += 1
        connection_arrived()
        try:
            # One heap and timer for every connection's deadline (config.deadlines), awaited in
            # this task: ``wait_for`` wrapped the coroutine in a task of its own, and
            # ``asyncio.timeout`` cost a timer and the task's cancel bookkeeping each.
            deadline = deadlines().add(
                connect_timeout(self._awaiting_connect),
                lambda: self._connect_expired(writer, peer),
            )
            self._awaiting_connect += 1
            try:
                handler, session = await self._initialize_client_session(
                    reader, writer, peer[0], peer[1], deadline
                )
            except Exception as exc:  # any malformed, oversized or refused first packet
                if not deadline.expired:  # its closing was logged already
                    logger.info("connection from %s:%s ended before CONNACK: %r", *peer, exc)
                await writer.close()
                return
            finally:
                deadline.cancel()
                self._awaiting_connect -= 1
            if deadline.expired:  # its CONNECT came, but too late (the socket is closing)
                await writer.close()
                return
            try:
                await self._handle_client_session(
                    reader, writer, session, handler, self._servers[listener_name], listener_name
                )
            except (AMQTTError, MQTTError, NoDataError) as exc:
                logger.warning("error in session %s: %s", describe(session), exc)
        finally:
            self._connections[listener_name] -= 1
            connection_left()

    async def _initialize_client_session(
        self,
        reader: ReaderAdapter,
        writer: WriterAdapter,
        remote_address: str,
        remote_port: int,
        deadline: Deadline | None = None,
    ) -> tuple[BrokerProtocolHandler, Session]:
        """Replaces amqtt's: read CONNECT, then authenticate and check the Will, and only then
        look up, resume or delete a session, under a client id namespaced by identity. Past
        ``deadline`` (the CONNECT's, which closes the connection) nothing is looked up: a
        slow revocation check must not end an older connection for one already closing."""
        incoming = await read_connect(reader, writer)
        handler = TenantProtocolHandler(self.plugins_manager)
        handler.max_payload_bytes = self._max_payload_bytes
        handler.broker = self
        try:
            grant, handler.admitted_at = await self._authenticator.admit(incoming.password)
            if incoming.will_flag and not (
                grant.may_publish(incoming.will_topic or "")
                and grant.may_publish_payload(
                    incoming.will_topic or "", bytes(incoming.will_message or b"")
                )
            ):
                raise Refused(
                    CONNACK_NOT_AUTHORIZED,
                    f"Will on {incoming.will_topic!r} is not a topic (or a document) it may "
                    "publish",
                )
        except Refused as refusal:
            self._connect_refusals.refused(
                f"{remote_address}:{remote_port} (client id {printable(incoming.client_id)!r}, "
                f"username {printable(incoming.username)!r}): {refusal.reason}"
            )
            writer.write(encode_connack(refusal.code))
            await writer.drain()
            await writer.close()
            raise
        if deadline is not None and deadline.expired:
            raise TimeoutError("CONNECT admitted after its deadline")
        incoming.attributes[GRANT_KEY] = grant
        incoming.password = None  # the token is not needed (nor kept) after CONNECT
        incoming.client_id = f"{grant.identity}|{incoming.client_id}"
        # §3.1.2.10: the server allows one and a half keepalive periods of silence.
        incoming.keep_alive = math.ceil(incoming.keep_alive * 1.5)

        known = self._sessions.get(incoming.client_id)
        if known is not None and known[0].transitions.state == "connected":
            # Take-over (§3.1.4-2): the older connection of the same client id is closed.
            old_handler = known[1]
            if isinstance(old_handler, TenantProtocolHandler):
                old_handler.close_now()
            else:
                await old_handler.handle_connection_closed()
        if incoming.clean_session:
            await self._delete_session(incoming.client_id)
            incoming.parent = 0
            return handler, incoming
        if known is None or known[0].clean_session:
            # A clean session lasts only as long as its connection (§3.1.2.4): nothing to resume.
            if known is not None:
                await self._delete_session(incoming.client_id)
            incoming.parent = 0
            return handler, incoming
        resumed = known[0]
        for name in (
            "will_flag",
            "will_message",
            "will_topic",
            "will_qos",
            "will_retain",
            "keep_alive",
            "username",
            "remote_address",
            "remote_port",
            "ssl_object",
        ):
            setattr(resumed, name, getattr(incoming, name))
        resumed.attributes[GRANT_KEY] = grant
        resumed.password = None
        resumed.parent = 1
        return handler, resumed

    async def _handle_client_session(
        self,
        reader: ReaderAdapter,
        writer: WriterAdapter,
        client_session: Session,
        handler: BrokerProtocolHandler,
        server: Server,
        listener_name: str,
    ) -> None:
        """Replaces amqtt's: no second authentication (done before the session lookup), and
        retained messages only for this session's own filters (amqtt walks every filter in the
        broker and sends the new client whatever matches, across tenants)."""
        del server, listener_name
        client_id = client_session.client_id
        if client_id is None:
            raise AMQTTError("client id was not set")
        for _ in range(100):
            try:
                client_session.transitions.connect()
                break
            except (MachineError, ValueError):
                # A resumed session whose older connection was told to close (take-over) is
                # still "connected" until that connection has let go.
                await asyncio.sleep(0.05)
        else:
            raise AMQTTError(f"session {client_id} is still held by an older connection")
        handler.attach(client_session, reader, writer)
        self._sessions[client_id] = (client_session, handler)
        await handler.mqtt_connack_authorize(True)
        if (
            isinstance(handler, TenantProtocolHandler)
            and handler.admitted_at != self._authenticator.verdicts.generation
        ):
            # Credentials changed between the revocation answer and this registration: the
            # close of revoked connections that followed the change may have missed it.
            self._recheck(client_session, handler)
        await self.plugins_manager.fire_event(
            BrokerEvents.CLIENT_CONNECTED, client_id=client_id, client_session=client_session
        )
        self._schedule_token_expiry(client_session, handler)
        # The filters a resumed session held, read before its reader starts: a SUBSCRIBE the
        # reader handles while start() is awaited gets its retained messages there already
        # (reading them after start() sent a screen's retained document twice).
        resumed = self._tree.filters_of(client_id)
        try:
            await handler.start()
            if isinstance(handler, TenantProtocolHandler):
                self._deliver_queued(client_session, handler)
                for topic_filter, qos in resumed.items():
                    self._deliver_retained(topic_filter, qos, client_session, handler)
            await self._client_message_loop(client_session, handler)
        finally:
            timer = self._expiry_timers.pop(client_id, None)
            if timer is not None:
                timer.cancel()

    async def _client_message_loop(
        self, client_session: Session, handler: BrokerProtocolHandler
    ) -> None:
        """Replaces amqtt's loop over four waiters (DISCONNECT, SUBSCRIBE, UNSUBSCRIBE and the
        delivery queue), a task each per connection woken through ``asyncio.wait``. The reader
        handles PUBLISH (:meth:`accept_publish`, :mod:`broker.inbound`), SUBSCRIBE and
        UNSUBSCRIBE (:meth:`TenantProtocolHandler._subscribe_received`) itself, so amqtt's
        pending queues and ``session.delivered_message_queue`` are never filled: what is left to
        wait for is the end of the connection. Three tasks and their wake-ups fewer per
        connection in a reconnect storm; and a message that reached the delivery queue some
        other way would sit there, never delivered around the reader's checks (amqtt's delivery
        skipped the presence check).

        The handler's own disconnect future is awaited here, as amqtt's ``wait_disconnect``
        would await it, without a task around it and ``asyncio.wait`` on that task: one task,
        a waiter future and two event-loop passes fewer per connection. The outcomes are the
        same: a cancelled future (or this task cancelled) ends the loop without
        ``_handle_disconnect``, and the future is cancelled on the way out as the task's
        cancellation cancelled it."""
        disconnect_waiter: asyncio.Future[Any] | None = handler._disconnect_waiter
        if disconnect_waiter is None:  # amqtt's wait_disconnect() answers None at once
            disconnect_waiter = self._loop.create_future()
            disconnect_waiter.set_result(None)
        try:
            await disconnect_waiter
            await self._handle_disconnect(client_session, handler, disconnect_waiter)
        except asyncio.CancelledError:
            pass
        finally:
            disconnect_waiter.cancel()

    def _connect_expired(self, writer: WriterAdapter, peer: tuple[str, int]) -> None:
        """No CONNECT in time: closed, which ends the read waiting for it."""
        self._connect_timeouts.refused(f"{peer[0]}:{peer[1]}")
        closing = self._loop.create_task(writer.close())
        self._side_tasks.add(closing)
        closing.add_done_callback(self._side_tasks.discard)

    def _recheck(self, session: Session, handler: TenantProtocolHandler) -> None:
        grant = grant_of(session)
        if grant is None:
            return

        async def recheck() -> None:
            if not await self._authenticator.still_active(grant.principal):
                logger.info("token of %s was revoked while it connected: closing", grant.identity)
                handler.close_now()

        task = self._loop.create_task(recheck())
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    def _schedule_token_expiry(self, session: Session, handler: BrokerProtocolHandler) -> None:
        grant = grant_of(session)
        if grant is None or not isinstance(handler, TenantProtocolHandler) or not session.client_id:
            return
        delay = grant.principal.expires_at.timestamp() - time.time()
        old = self._expiry_timers.pop(session.client_id, None)
        if old is not None:
            old.cancel()

        def expire() -> None:
            logger.info("token of %s expired: closing its connection", describe(session))
            handler.close_now()

        self._expiry_timers[session.client_id] = self._loop.call_later(max(delay, 0.0), expire)

    async def _session_monitor(self) -> None:
        """Replaces amqtt's: each session is re-checked right before it is removed (amqtt
        decided from a snapshot, then awaited between removals, so a client that had just
        reconnected under the same id could be removed)."""
        while True:
            now = time.time()
            for client_id in list(self._sessions):
                entry = self._sessions.get(client_id)
                if entry is not None and _is_expired(entry[0], now):
                    await self._cleanup_session(client_id)  # pops before its first await
            await asyncio.sleep(1)

    async def _authenticate(self, session: Session, _: Any) -> bool:
        """Replaces amqtt's plugin-based check; the real check runs before the session lookup
        (:meth:`_initialize_client_session`) and leaves its grant on the session."""
        return grant_of(session) is not None

    # --- subscriptions ------------------------------------------------------------------

    async def add_subscription(self, subscription: tuple[str, int], session: Session) -> int:
        """Replaces amqtt's (its own paths still call it): see :meth:`subscribe_now`."""
        return self.subscribe_now(subscription[0], subscription[1], session)

    def subscribe_now(self, topic_filter: str, qos: int, session: Session) -> int:
        """The grant decides (O(1)); the tree keeps one entry per client. The granted QoS, or
        :data:`SUBSCRIBE_REFUSED`."""
        grant = grant_of(session)
        if grant is None or not grant.may_subscribe(topic_filter) or session.client_id is None:
            self.faults.warning(
                f"subscribe:{describe(session)}",
                "refused SUBSCRIBE to %r by %s",
                topic_filter,
                describe(session),
            )
            return SUBSCRIBE_REFUSED
        granted = min(qos, MAX_QOS)
        self._tree.add(session.client_id, session, topic_filter, granted)
        return granted

    def _del_subscription(self, a_filter: str, session: Session) -> int:
        return int(session.client_id is not None and self._tree.remove(session.client_id, a_filter))

    async def _del_all_subscriptions(self, session: Session) -> None:
        if session.client_id is not None:
            self._tree.remove_client(session.client_id)

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Session
    ) -> None:
        """Replaces amqtt's: retained delivery at SUBSCRIBE passes the receive check, uses the
        granted QoS, and does not wait for acknowledgements."""
        handler = self._get_handler(session)
        if isinstance(handler, TenantProtocolHandler):
            self.deliver_retained_for(subscription[0], session, handler)

    def deliver_retained_for(
        self, topic_filter: str, session: Session, handler: TenantProtocolHandler
    ) -> None:
        """The retained messages a new subscription gets, at the QoS it holds in the tree."""
        granted = self._tree.filters_of(session.client_id or "").get(topic_filter)
        if granted is not None:
            self._deliver_retained(topic_filter, granted, session, handler)

    def _deliver_retained(
        self, topic_filter: str, sub_qos: int, session: Session, handler: TenantProtocolHandler
    ) -> None:
        grant = grant_of(session)
        if grant is None:
            return
        store = self._retained_messages
        assert isinstance(store, RetainedMessages)
        for topic, retained in store.candidates(topic_filter):
            if filter_matches(topic_filter, topic) and grant.may_receive(topic):
                qos = min(sub_qos, retained.qos if retained.qos is not None else sub_qos)
                handler.send_nowait(store.encoded(topic, retained), qos)

    def _deliver_queued(self, session: Session, handler: TenantProtocolHandler) -> None:
        """Messages that arrived while a persistent session was offline (amqtt resent them with
        the retain flag set; they were live messages, so here they go out without it)."""
        queue = (
            session.offline_queue()
            if isinstance(session, TenantSession)
            else session.retained_messages
        )
        while queue is not None and not queue.empty():
            message = queue.get_nowait()
            encoded = EncodedPublish.build(message.topic, bytes(message.data), retain=False)
            handler.send_nowait(encoded, message.qos or 0)

    # --- publishing ---------------------------------------------------------------------

    async def _broadcast_message(
        self,
        session: Session | None,
        topic: str | None,
        data: bytes | bytearray | None,
        force_qos: int | None = None,
    ) -> None:
        """Replaces amqtt's queue + broadcast task with a synchronous fan-out (Will messages and
        internal broadcasts come here)."""
        del session
        if topic:
            self._fan_out(topic, bytes(data or b""), MAX_QOS if force_qos is None else force_qos)

    async def _topic_filtering(self, session: Session, topic: str, action: Action) -> bool:
        """Replaces amqtt's plugin dispatch (a task per plugin per check) with the grant."""
        grant = grant_of(session)
        if grant is None:
            return False
        if action is Action.PUBLISH:
            return grant.may_publish(topic)
        if action is Action.SUBSCRIBE:
            return grant.may_subscribe(topic)
        return grant.may_receive(topic)

    def accept_publish(self, session: Session, message: InboundPublish) -> bool | None:
        """A client's PUBLISH, as it arrives: fanned out and retained now, before the reader
        acknowledges it (see :mod:`broker.inbound`). False: refused (dropped, the client stays
        connected); None: not a topic name at all (the connection is closed, §4.7.3)."""
        self.stats.messages_in[message.qos] += 1
        topic = message.topic
        if not is_topic_name(topic):
            logger.warning("%s published to invalid topic %r: closing", describe(session), topic)
            self.stats.disconnected("invalid_topic")
            return None
        grant = grant_of(session)
        if grant is None or not grant.may_publish(topic):
            self.stats.drop("publish_refused")
            return False
        if not grant.may_publish_payload(topic, message.payload):
            # A device's presence must name that device: the console would show ghosts.
            self.stats.drop("document_refused")
            return False
        self._fan_out(topic, message.payload, message.qos)
        if message.retain:
            self._retain(topic, message.payload, message.qos, session)
        return True

    def _retain(self, topic: str, payload: bytes, qos: int, source: Session | None) -> None:
        if payload:
            self._retained_messages[topic] = RetainedApplicationMessage(source, topic, payload, qos)
        else:  # an empty retained payload clears the topic [MQTT-3.3.1-10]
            self._retained_messages.pop(topic, None)

    def publish_local(self, topic: str, payload: bytes, *, retain: bool, qos: int = 1) -> None:
        """A message from this process's own publisher (the API's state publisher): the same
        fan-out and retained store as a client's PUBLISH, without encoding it, sending it over
        loopback and parsing it again. Call it on the broker's event loop."""
        if not topic or "#" in topic or "+" in topic or topic.startswith("$"):
            raise ValueError(f"not a topic name: {topic!r}")
        self.stats.messages_in[qos] += 1
        self._fan_out(topic, payload, qos)
        if retain:
            self._retain(topic, payload, qos, None)

    def _fan_out(self, topic: str, payload: bytes, publish_qos: int) -> None:
        subscribers = self._tree.match(topic)
        if not subscribers:
            return
        encoded = EncodedPublish.build(topic, payload, retain=False)
        public_rules: dict[tuple[str, ...], bool] = {}
        sessions = self._sessions
        sent = 0
        for client_id, (target, sub_qos) in subscribers.items():
            grant = target.attributes.get(GRANT_KEY)
            if grant is None:
                continue
            # Defence in depth: SUBSCRIBE already confined the filter; this is a prefix test
            # (public grants, matched against their three filters, are memoised per message).
            if grant.subscribe_within:
                allowed = public_rules.get(grant.subscribe_within)
                if allowed is None:
                    allowed = public_rules[grant.subscribe_within] = grant.may_receive(topic)
            else:
                allowed = topic.startswith(grant.receive_prefix) or topic == SERVER_STATUS_TOPIC
            if not allowed:
                logger.error("receive check stopped %r for %s", topic, client_id)
                continue
            qos = publish_qos if publish_qos < sub_qos else sub_qos
            if target.transitions.state != "connected":
                if not target.clean_session and qos > 0:
                    self._queue_offline(target, topic, payload, qos)
                continue
            entry = sessions.get(client_id)
            if entry is not None and type(entry[1]) is TenantProtocolHandler:
                entry[1].send_nowait(encoded, qos)
                sent += 1
        self.stats.messages_out += sent

    def _queue_offline(self, session: Session, topic: str, payload: bytes, qos: int) -> None:
        queue = session.retained_messages
        if queue.qsize() >= MAX_QUEUED_OFFLINE:
            logger.debug("offline queue of %s is full: dropping %r", session.client_id, topic)
            self.stats.drop("offline_queue_full")
            return
        queue.put_nowait(RetainedApplicationMessage(None, topic, payload, qos))

    async def _shutdown_broadcast_loop(self) -> None:
        """The broadcast queue is unused (fan-out is synchronous); stop its idle task."""
        await super()._shutdown_broadcast_loop()
        for timer in self._expiry_timers.values():
            timer.cancel()
        self._expiry_timers.clear()
        self._full_refusals.close()
        self._connect_refusals.close()
        self._connect_timeouts.close()


def connect_timeout(waiting: int) -> float:
    """How long a new connection has to get its CONNECT through, with ``waiting`` connections
    ahead of it (capped by the connection limit, so an idle connection is still dropped)."""
    return CONNECT_TIMEOUT_S + waiting * CONNECT_QUEUE_S


def _listener_of(reader: ReaderAdapter | None) -> str:
    """The listener a connection came through, told by its transport (names as in embedded)."""
    if isinstance(reader, (WsReader, StarletteReader)):  # WsReader is a TcpReader: first
        return "http-ws"
    if isinstance(reader, TcpReader):
        return "tcp"
    return "ws"


def _is_expired(session: Session, now: float) -> bool:
    if session.transitions.state != "disconnected":
        return False
    if session.clean_session:
        return True
    last = session.last_disconnect_time
    return last is not None and last < now - SESSION_EXPIRY_S


async def _refuse_connect(reader: ReaderAdapter, writer: WriterAdapter, code: int) -> None:
    """Answer a CONNECT with a refusal CONNACK (the client sees a reason, not a reset)."""
    try:
        await asyncio.wait_for(ConnectPacket.from_stream(reader), timeout=5)
        writer.write(encode_connack(code))
        await writer.drain()
    except Exception as exc:  # any malformed or missing CONNECT: just close
        logger.debug("refusal CONNACK not sent: %r", exc)
    finally:
        await writer.close()
