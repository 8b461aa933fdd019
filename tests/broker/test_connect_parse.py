"""The CONNECT parsed from its bytes (broker.connect) says what amqtt's own parser says, for
every combination of flags and fields; a CONNECT shorter than its fields is refused."""

from __future__ import annotations

import asyncio

import pytest
from amqtt.adapters import BufferReader
from amqtt.mqtt.connect import ConnectPacket, ConnectPayload, ConnectVariableHeader
from hypothesis import given
from hypothesis import strategies as st

from broker.connect import MalformedConnect, parse_connect
from tests.broker.raw_mqtt import connect_packet

TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30)


def amqtt_parse(packet: bytes) -> ConnectPacket:
    return asyncio.run(ConnectPacket.from_stream(BufferReader(packet)))


def body_of(packet: bytes) -> bytes:
    index = 1
    while packet[index] & 0x80:
        index += 1
    return packet[index + 1 :]


@given(
    flags=st.integers(0, 255).map(lambda f: f & ~0x01),
    keep_alive=st.integers(0, 65535),
    client_id=TEXT.filter(bool),
    will_topic=TEXT,
    will_message=st.binary(max_size=50),
    username=TEXT,
    password=TEXT,
)
def test_fields_match_amqtts_parser(
    flags: int,
    keep_alive: int,
    client_id: str,
    will_topic: str,
    will_message: bytes,
    username: str,
    password: str,
) -> None:
    packet = ConnectPacket(
        variable_header=ConnectVariableHeader(flags, keep_alive, "MQTT", 4),
        payload=ConnectPayload(client_id, will_topic, will_message, username, password),
    ).to_bytes()
    ours, theirs = parse_connect(body_of(packet)), amqtt_parse(packet)
    assert theirs.variable_header is not None
    assert theirs.payload is not None
    assert (ours.proto_name, ours.proto_level, ours.keep_alive) == (
        theirs.proto_name,
        theirs.proto_level,
        theirs.keep_alive,
    )
    for flag in (
        "username_flag",
        "password_flag",
        "will_flag",
        "will_retain_flag",
        "will_qos",
        "clean_session_flag",
        "reserved_flag",
    ):
        assert getattr(ours, flag) == getattr(theirs, flag), flag
    assert ours.client_id == theirs.client_id
    assert (ours.will_topic, ours.will_message) == (theirs.will_topic, theirs.will_message)
    assert (ours.username, ours.password) == (theirs.username, theirs.password)


def test_an_empty_client_id_gets_a_random_one_as_amqtt_did() -> None:
    connect = parse_connect(body_of(connect_packet("", "token")))
    assert connect.client_id_is_random
    assert connect.client_id.startswith("amqtt/")
    assert len(connect.client_id) == 22
    assert connect.password == "token"


@pytest.mark.parametrize("cut", [1, 5, 9, 12, 20])
def test_a_connect_shorter_than_its_fields_is_malformed(cut: int) -> None:
    body = body_of(connect_packet("screen-1", "a-token"))
    with pytest.raises(MalformedConnect):
        parse_connect(body[:-cut])
