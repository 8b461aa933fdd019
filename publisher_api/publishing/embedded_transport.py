"""The embedded broker as a publishing transport: messages go straight into its fan-out and
retained store, on its event loop (see :class:`~publisher_api.publishing.drivers.LoopPublisher`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from broker import EmbeddedBroker


class EmbeddedTransport:
    def __init__(self, broker: EmbeddedBroker) -> None:
        self._broker = broker

    @property
    def connected(self) -> bool:
        return self._broker.running

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> bool:
        if not self._broker.running:
            return False
        self._broker.publish_local(topic, payload, retain=retain)
        return True
