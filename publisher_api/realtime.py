"""The realtime lifespan step: embedded broker (unless external) and the MQTT state publisher.

The seam types live in :mod:`publisher_api.changes` and are re-exported here, so the REST side
imports everything it needs from one place.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from config import Settings
from protocol import Principal
from publisher_api.changes import (
    ChangeSink,
    NullSink,
    StateSource,
    TenantChanged,
    TokenActive,
)
from publisher_api.publishing.connection import BrokerAddress, MqttConnection
from publisher_api.publishing.state_publisher import StatePublisher

if TYPE_CHECKING:
    from broker import EmbeddedBroker

__all__ = [
    "ChangeSink",
    "NullSink",
    "Realtime",
    "StateSource",
    "TenantChanged",
    "TokenActive",
    "realtime",
]


@dataclass(frozen=True)
class Realtime:
    """What the realtime step hands the app: the sink for committed changes and, when embedded,
    the broker (whose WebSocket bridge the HTTP server mounts at ``/mqtt``)."""

    sink: StatePublisher
    broker: EmbeddedBroker | None
    connection: MqttConnection
    token_active: TokenActive
    loop: asyncio.AbstractEventLoop

    def notify(self, change: TenantChanged) -> None:
        self.sink.notify(change)

    def credentials_changed(self, tenant: str) -> None:
        """Close the embedded broker's connections whose token was just revoked, at once rather
        than at their next CONNECT. (An external broker keeps them until the token expires.)"""
        if self.broker is None:
            return
        broker, token_active = self.broker, self.token_active

        def revoked(principal: Principal) -> bool:
            return principal.tenant == tenant and not token_active(principal)

        self.loop.call_soon_threadsafe(lambda: self.loop.create_task(broker.disconnect(revoked)))


@asynccontextmanager
async def realtime(
    settings: Settings, source: StateSource, *, token_active: TokenActive
) -> AsyncIterator[Realtime]:
    """Start the embedded broker (unless an external one is configured), then the publisher's
    connection and worker; tear down in reverse. The publisher connects in the background, so
    the API keeps answering while no broker is reachable."""
    async with AsyncExitStack() as stack:
        broker: EmbeddedBroker | None = None
        if settings.mqtt_external_url:
            address = BrokerAddress.from_url(settings.mqtt_external_url)
        elif settings.mqtt_embedded:
            # Imported here so deployments on an external broker never load amqtt.
            from broker import EmbeddedBroker

            broker = EmbeddedBroker(settings, token_active=token_active)
            await broker.start()
            stack.push_async_callback(broker.stop)
            address = BrokerAddress("127.0.0.1", broker.tcp_port)
        else:
            raise ValueError(
                "no MQTT broker: set QUEUECAST_MQTT_EXTERNAL_URL or QUEUECAST_MQTT_EMBEDDED=true"
            )
        publisher: StatePublisher
        connection = MqttConnection(
            address,
            secret=settings.secret_key.get_secret_value(),
            on_connected=lambda: publisher.republish_all(),
        )
        publisher = StatePublisher(source, connection, clear_grace_s=settings.ticket_clear_grace_s)
        publisher.start()
        stack.callback(publisher.stop)
        connection.start()
        stack.callback(connection.stop)
        yield Realtime(
            sink=publisher,
            broker=broker,
            connection=connection,
            token_active=token_active,
            loop=asyncio.get_running_loop(),
        )
