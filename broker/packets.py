"""MQTT 3.1.1 packet bytes the fast delivery path writes itself. Pure.

amqtt builds a packet object per subscriber per message; fanning one message out to a thousand
subscribers then costs a thousand encodings of the same topic and payload. Here the part that is
the same for every subscriber (fixed header, topic, payload) is encoded once per message and
only the 2-byte packet id differs per QoS 1 delivery. ``tests/broker/test_packets.py`` checks the
bytes against amqtt's own encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

_PUBLISH = 0x30
_DUP = 0x08
_RETAIN = 0x01


def encode_remaining_length(length: int) -> bytes:
    """The variable-length integer of §2.2.3 (1 to 4 bytes)."""
    if not 0 <= length <= 268_435_455:
        raise ValueError(f"remaining length {length} out of range")
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        if length:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


@dataclass(frozen=True, slots=True)
class EncodedPublish:
    """One message, pre-encoded for every QoS it may be delivered at.

    ``for_qos0`` is the whole packet; a QoS 1 packet is ``qos1_head + packet_id + payload``.
    """

    topic: str
    payload: bytes
    retain: bool
    for_qos0: bytes
    qos1_head: bytes
    qos1_dup_head: bytes

    @classmethod
    def build(cls, topic: str, payload: bytes, *, retain: bool) -> EncodedPublish:
        topic_bytes = topic.encode()
        topic_field = len(topic_bytes).to_bytes(2, "big") + topic_bytes
        flags = _RETAIN if retain else 0
        qos0_length = encode_remaining_length(len(topic_field) + len(payload))
        qos1_length = encode_remaining_length(len(topic_field) + 2 + len(payload))
        qos1_first = _PUBLISH | (1 << 1) | flags
        return cls(
            topic=topic,
            payload=payload,
            retain=retain,
            for_qos0=bytes((_PUBLISH | flags,)) + qos0_length + topic_field + payload,
            qos1_head=bytes((qos1_first,)) + qos1_length + topic_field,
            qos1_dup_head=bytes((qos1_first | _DUP,)) + qos1_length + topic_field,
        )

    def qos1(self, packet_id: int, *, dup: bool = False) -> bytes:
        head = self.qos1_dup_head if dup else self.qos1_head
        return head + packet_id.to_bytes(2, "big") + self.payload


# CONNACK return codes (§3.2.2.3).
CONNACK_ACCEPTED = 0x00
CONNACK_SERVER_UNAVAILABLE = 0x03
CONNACK_BAD_CREDENTIALS = 0x04
CONNACK_NOT_AUTHORIZED = 0x05


def encode_connack(return_code: int, *, session_present: bool = False) -> bytes:
    return bytes((0x20, 0x02, 0x01 if session_present else 0x00, return_code))
