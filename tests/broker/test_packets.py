"""The fast path's PUBLISH bytes are exactly what amqtt's own encoder produces."""

from __future__ import annotations

from amqtt.mqtt.publish import PublishPacket
from hypothesis import given
from hypothesis import strategies as st

from broker.packets import EncodedPublish, encode_connack, encode_remaining_length

TOPICS = st.text(
    alphabet=st.characters(blacklist_characters="+#\x00", blacklist_categories=["Cs"]),
    min_size=1,
    max_size=40,
)


@given(
    topic=TOPICS,
    payload=st.binary(max_size=300),
    retain=st.booleans(),
    packet_id=st.integers(1, 65535),
    dup=st.booleans(),
)
def test_publish_bytes_match_amqtt(
    topic: str, payload: bytes, retain: bool, packet_id: int, dup: bool
) -> None:
    encoded = EncodedPublish.build(topic, payload, retain=retain)
    assert (
        encoded.for_qos0 == PublishPacket.build(topic, payload, None, False, 0, retain).to_bytes()
    )
    expected = PublishPacket.build(topic, payload, packet_id, dup, 1, retain).to_bytes()
    assert encoded.qos1(packet_id, dup=dup) == expected


def test_large_payload_uses_a_multi_byte_length() -> None:
    payload = b"x" * 300_000
    encoded = EncodedPublish.build("t", payload, retain=True)
    assert encoded.for_qos0 == PublishPacket.build("t", payload, None, False, 0, True).to_bytes()


def test_remaining_length_examples_from_the_spec() -> None:
    assert encode_remaining_length(0) == b"\x00"
    assert encode_remaining_length(127) == b"\x7f"
    assert encode_remaining_length(128) == b"\x80\x01"
    assert encode_remaining_length(16_383) == b"\xff\x7f"
    assert encode_remaining_length(268_435_455) == b"\xff\xff\xff\x7f"


def test_connack_bytes() -> None:
    assert encode_connack(5) == b"\x20\x02\x00\x05"
    assert encode_connack(0, session_present=True) == b"\x20\x02\x01\x00"
