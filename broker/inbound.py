"""Inbound PUBLISH, PUBREL, SUBSCRIBE, UNSUBSCRIBE: what a connection's reader does with a client's
messages. Pure.

Ownership on acknowledgement (MQTT 3.1.1 §4.3, §4.5). amqtt queued each PUBLISH for a second
task to fan out and acknowledged it at once; when the publisher left, the queue was dropped with
messages already acknowledged in it (a subscriber got 404 of 2,000). Here the reader fans the
message out (writes it to every matching subscriber, or to a persistent session's queue) *before*
it writes the PUBACK, in the same synchronous step, so there is nothing left to lose.

Backpressure follows: the reader does not read the next packet until the previous one has been
fanned out, so what a publisher has sent and the broker has not delivered is only what sits in
that connection's read buffer, and a full buffer stops reading from the socket (TCP then slows
the publisher). The reader yields to the event loop every :data:`YIELD_EVERY` packets, so one
connection with a full buffer takes turns with the others instead of starving them.

QoS 2 uses "method B" of §4.3.3 (figure 4.3): at PUBLISH the message is delivered onward and only
its packet id is kept until PUBREL. A client that never sends PUBREL holds 2 bytes per message,
not the message, and at most :data:`MAX_UNRELEASED_QOS2` of them; a duplicate PUBLISH of a kept
id is acknowledged and not delivered again (§4.3.3, exactly once); every PUBREL gets its PUBCOMP,
whether its id is known or not (a repeated PUBREL after a lost PUBCOMP, or one sent again after
reconnecting). The permission check runs when the PUBLISH arrives, so a refused message is never
stored. The ids live on the session: a persistent session keeps them across connections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broker.packets import encode_remaining_length

YIELD_EVERY = 32
"""Packets a connection's reader handles before it lets other connections run."""

MAX_UNRELEASED_QOS2 = 1000
"""QoS 2 messages a session may leave without PUBREL; one more closes the connection."""

RECEIPTS_KEY = "queuecast.qos2_receipts"
"""Where a session keeps the packet ids of QoS 2 messages received and not yet released."""


class MalformedPublish(ValueError):
    """A PUBLISH whose bytes do not follow §3.3; the connection is closed."""


@dataclass(frozen=True, slots=True)
class InboundPublish:
    topic: str
    payload: bytes
    qos: int
    packet_id: int
    retain: bool
    dup: bool


def parse_publish(first_byte: int, body: bytes) -> InboundPublish:
    """A PUBLISH from its first byte and the bytes after the remaining length."""
    qos = (first_byte >> 1) & 0x03
    if qos == 3:
        raise MalformedPublish("QoS 3 is not a QoS [MQTT-3.3.1-4]")
    if len(body) < 2:
        raise MalformedPublish("PUBLISH without a topic")
    topic_end = 2 + int.from_bytes(body[:2], "big")
    payload_start = topic_end + (2 if qos else 0)
    if len(body) < payload_start:
        raise MalformedPublish("PUBLISH shorter than its topic and packet id")
    try:
        topic = body[2:topic_end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPublish("topic is not UTF-8 [MQTT-1.5.3-1]") from exc
    packet_id = int.from_bytes(body[topic_end:payload_start], "big") if qos else 0
    if qos and packet_id == 0:
        raise MalformedPublish("packet id 0 [MQTT-2.3.1-1]")
    return InboundPublish(
        topic=topic,
        payload=body[payload_start:],
        qos=qos,
        packet_id=packet_id,
        retain=bool(first_byte & 0x01),
        dup=bool(first_byte & 0x08),
    )


def is_topic_name(topic: str) -> bool:
    """A name a client may publish to: not empty, no wildcard, not ``$...`` (§4.7)."""
    return bool(topic) and "#" not in topic and "+" not in topic and not topic.startswith("$")


def receipts_of(attributes: dict[str, Any]) -> set[int]:
    """The unreleased QoS 2 packet ids kept in a session's attributes (created on first use)."""
    receipts = attributes.get(RECEIPTS_KEY)
    if not isinstance(receipts, set):
        receipts = attributes[RECEIPTS_KEY] = set()
    return receipts


def _ack(first_byte: int, packet_id: int) -> bytes:
    return bytes((first_byte, 2)) + packet_id.to_bytes(2, "big")


def puback(packet_id: int) -> bytes:
    return _ack(0x40, packet_id)


def pubrec(packet_id: int) -> bytes:
    return _ack(0x50, packet_id)


def pubcomp(packet_id: int) -> bytes:
    return _ack(0x70, packet_id)


# --- SUBSCRIBE, UNSUBSCRIBE -------------------------------------------------------------------
#
# Read by the reader like PUBLISH: no amqtt queue, no waiter task per connection and no task per
# packet (a reconnect storm is thousands of connections that each send exactly one SUBSCRIBE).
# Parsing is as lenient as amqtt's, which the broker used before: a topic filter cut short ends
# the list, and a filter that is not UTF-8 becomes the ``repr`` of its bytes (which no grant
# allows, so it is refused with 0x80). A body shorter than its packet id closes the connection.


class MalformedSubscription(ValueError):
    """A SUBSCRIBE or UNSUBSCRIBE too short to carry its packet id; the connection is closed."""


def _mqtt_strings(body: bytes, start: int, *, with_qos: bool) -> list[tuple[str, int]]:
    """Length-prefixed strings (each followed by a QoS byte when ``with_qos``) from ``start``."""
    out: list[tuple[str, int]] = []
    position, end = start, len(body)
    while position < end:
        if position + 2 > end:
            break
        text_end = position + 2 + int.from_bytes(body[position : position + 2], "big")
        if text_end + (1 if with_qos else 0) > end:
            break
        raw = body[position + 2 : text_end]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = str(raw)
        out.append((text, body[text_end] if with_qos else 0))
        position = text_end + (1 if with_qos else 0)
    return out


def parse_subscribe(body: bytes) -> tuple[int, list[tuple[str, int]]]:
    """A SUBSCRIBE's packet id and its (filter, requested QoS) pairs (§3.8)."""
    if len(body) < 2:
        raise MalformedSubscription("SUBSCRIBE without a packet id")
    return int.from_bytes(body[:2], "big"), _mqtt_strings(body, 2, with_qos=True)


def parse_unsubscribe(body: bytes) -> tuple[int, list[str]]:
    """An UNSUBSCRIBE's packet id and its filters (§3.10)."""
    if len(body) < 2:
        raise MalformedSubscription("UNSUBSCRIBE without a packet id")
    return int.from_bytes(body[:2], "big"), [
        text for text, _ in _mqtt_strings(body, 2, with_qos=False)
    ]


def suback(packet_id: int, return_codes: list[int]) -> bytes:
    """SUBACK (§3.9): the packet id, then one return code per filter, in order."""
    body = packet_id.to_bytes(2, "big") + bytes(return_codes)
    return b"\x90" + encode_remaining_length(len(body)) + body


def unsuback(packet_id: int) -> bytes:
    return _ack(0xB0, packet_id)
