"""Fails loudly when amqtt changes code that broker/core.py replaces or relies on.

broker/core.py replaces amqtt methods that leak across tenants or are slow, and relies on the
internals of others (the QoS 1 flow, the reader loop, the session queues). Those are pinned by
the hash of their source. If this test fails after an amqtt upgrade: read the new version of
each method listed in the failure, port any fix or behaviour change into broker/core.py (the
replacements say what they fix), re-run tests/broker, then update the hashes below.
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any

import amqtt
from amqtt.broker import Broker
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.mqtt.protocol.handler import ProtocolHandler
from amqtt.session import Session

PINNED_VERSION = "0.12.1"
CLASSES: dict[str, type[Any]] = {
    "Broker": Broker,
    "BrokerProtocolHandler": BrokerProtocolHandler,
    "ProtocolHandler": ProtocolHandler,
    "Session": Session,
}
SOURCE_HASHES = {
    "Broker.__init__": "5158ff3ca6493baf",
    "Broker.subscriptions": "c50a90f813c94e01",
    "Broker._client_connected": "432b724bc4fb7946",
    "Broker._initialize_client_session": "5dd89158bbe46266",
    "Broker._handle_client_session": "8b1b52a03df9daf5",
    "Broker._session_monitor": "5091fa20cdfdc203",
    "Broker._authenticate": "4d7db8cc6fe2c3f6",
    "Broker.add_subscription": "07757b63113c395e",
    "Broker._del_subscription": "415f349273b0552d",
    "Broker._del_all_subscriptions": "615579810f47d1e0",
    "Broker._publish_retained_messages_for_subscription": "d6ad257821ba29ef",
    "Broker._handle_message_delivery": "89727723da550bed",
    "Broker._broadcast_message": "78ad4edb7efb3b72",
    "Broker._topic_filtering": "9259ae5e1dd3e20d",
    "Broker._shutdown_broadcast_loop": "0667eb74fe2fe6c8",
    "Broker.external_connected": "4cd2084de8c317f3",
    "Broker._client_message_loop": "916c4647c3389918",
    "Broker._handle_disconnect": "8c3b8702f3567055",
    "Broker._handle_subscription": "3dae18afa195209e",
    "Broker._handle_unsubscription": "29253b1b63036d7a",
    "Broker._cleanup_session": "530ae891d9f536cc",
    "Broker._delete_session": "a8333dded50648a7",
    "Broker.retain_message": "6233eff2618baede",
    "Broker.shutdown": "800adcdd80ded223",
    "Broker.start": "bd1c165101f6fcbb",
    "Broker._get_handler": "169908c149fded36",
    "BrokerProtocolHandler.__init__": "95a1c78fecfdbffa",
    "BrokerProtocolHandler.handle_read_timeout": "ffd79f12457f41e1",
    "BrokerProtocolHandler.init_from_connect": "036dc04c1133a18f",
    "BrokerProtocolHandler.handle_disconnect": "63b454d06eab58f8",
    "BrokerProtocolHandler.handle_connection_closed": "e9c448557a8dab58",
    "BrokerProtocolHandler.start": "f7637c34a27f905e",
    "BrokerProtocolHandler.stop": "70e440da78e7178b",
    "BrokerProtocolHandler.mqtt_connack_authorize": "4e64256ea1f5c73c",
    "ProtocolHandler._handle_qos1_message_flow": "944e6a8130c70daf",
    "ProtocolHandler._retry_deliveries": "16fd2ca86991aba9",
    "ProtocolHandler.handle_puback": "7d8487deb2d589ee",
    "ProtocolHandler._stop_waiters": "78a59ebc21c3e9fa",
    "ProtocolHandler._reader_loop": "93f3b8e4483040d0",
    "ProtocolHandler._init_session": "d8f6979793e163e9",
    "ProtocolHandler.start": "684c58c16be73a2d",
    "ProtocolHandler.stop": "874ae8871911881f",
    "Session.__init__": "ad7888c0daff2038",
    "Session._init_states": "63c76988bf4f81ce",
    "Session.__getstate__": "e11dabf1f40f6c82",
    "Session.next_packet_id": "8f596d720b705e28",
    "Session.clear_queues": "933611a205c6def6",
    "Session.__setstate__": "cf33ebe727c54e1c",
}


def _source_hash(qualified: str) -> str:
    class_name, name = qualified.split(".")
    member = CLASSES[class_name].__dict__[name]
    if isinstance(member, property):
        member = member.fget
    if isinstance(member, classmethod | staticmethod):
        member = member.__func__
    return hashlib.sha256(inspect.getsource(member).encode()).hexdigest()[:16]


def test_amqtt_is_the_pinned_version() -> None:
    assert amqtt.__version__ == PINNED_VERSION, (
        f"amqtt {amqtt.__version__} is installed; broker/core.py was written against "
        f"{PINNED_VERSION}. Re-check every method in {__name__} before changing the pin."
    )


def test_amqtt_methods_we_replace_or_rely_on_are_unchanged() -> None:
    changed = [name for name, digest in SOURCE_HASHES.items() if _source_hash(name) != digest]
    assert not changed, (
        "amqtt changed code that broker/core.py replaces or relies on: "
        + ", ".join(changed)
        + ". Re-read each one, port the change (or drop our fix if amqtt now does it), "
        "re-run tests/broker, then update SOURCE_HASHES."
    )


def test_every_replaced_method_is_pinned() -> None:
    from broker.core import TenantBroker, TenantProtocolHandler
    from broker.session import TenantSession

    def overridden(ours: type[Any]) -> set[str]:
        """``Class.method`` of every amqtt method ``ours`` redefines, found along the MRO."""
        found = set()
        for name in ours.__dict__:
            if name.startswith("__") and name != "__init__":
                continue
            for base in ours.__mro__[1:]:
                if base.__module__.startswith("amqtt") and name in base.__dict__:
                    found.add(f"{base.__name__}.{name}")
                    break
        return found

    replaced = (
        overridden(TenantBroker) | overridden(TenantProtocolHandler) | overridden(TenantSession)
    )
    assert replaced <= set(SOURCE_HASHES), replaced - set(SOURCE_HASHES)
