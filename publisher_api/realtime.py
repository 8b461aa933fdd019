"""The realtime lifespan step: embedded broker (unless external) and the MQTT state publisher.

The seam types live in :mod:`publisher_api.changes` and are re-exported here, so the REST side
imports everything it needs from one place.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from config import Settings
from protocol.broker_url import BrokerAddress
from publisher_api.changes import (
    ChangeSink,
    NullSink,
    StateSource,
    TenantChanged,
    TokenActive,
)
from publisher_api.dynsec.control import DynsecControl
from publisher_api.dynsec.model import Grants, publisher_login
from publisher_api.dynsec.provisioner import Provisioner
from publisher_api.publishing.connection import MqttConnection
from publisher_api.publishing.drivers import LoopPublisher, ThreadedPublisher
from publisher_api.publishing.embedded_transport import EmbeddedTransport
from publisher_api.publishing.rules import PublishingRules

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


class Publisher(Protocol):
    """A publishing driver: takes committed changes; re-sends everything on demand."""

    def notify(self, change: TenantChanged) -> None: ...

    def republish_all(self) -> None: ...


@dataclass(frozen=True)
class Realtime:
    """What the realtime step hands the app: the sink for committed changes and, when embedded,
    the broker (whose WebSocket bridge the HTTP server mounts at ``/mqtt``); with an external
    broker, the publisher's MQTT connection instead."""

    sink: Publisher
    broker: EmbeddedBroker | None
    connection: MqttConnection | None
    token_active: TokenActive
    loop: asyncio.AbstractEventLoop
    provisioner: Provisioner | None = None
    """With Mosquitto's dynamic security: keeps the broker's logins in step with our grants."""

    def notify(self, change: TenantChanged) -> None:
        self.sink.notify(change)

    def credentials_changed(self, tenant: str) -> None:
        """Close the embedded broker's connections whose token was just revoked, at once rather
        than at their next CONNECT; with dynamic security, re-sync the broker's logins (which
        deletes the revoked ones and so disconnects them). Another external broker keeps them
        until the token expires."""
        if self.provisioner is not None:
            self.provisioner.request_sync()
        if self.broker is None:
            return
        from broker.revocation import credentials_changed  # only with the embedded broker

        broker, token_active = self.broker, self.token_active
        # On the broker's loop: it forgets its remembered answers for the tenant before any
        # further CONNECT is read, then closes the connections that lost their right.
        self.loop.call_soon_threadsafe(credentials_changed, broker, token_active, tenant)


@asynccontextmanager
async def realtime(
    settings: Settings,
    source: StateSource,
    *,
    token_active: TokenActive,
    grants: Callable[[], Grants] | None = None,
    publishes: Callable[[], bool] = lambda: True,
) -> AsyncIterator[Realtime]:
    """Start the embedded broker and publish straight into it on this event loop; or, with an
    external broker configured, publish to it over MQTT from a worker thread. Torn down in
    reverse. The external connection is made in the background, so the API keeps answering
    while no broker is reachable. ``publishes``: whether this process may re-publish the retained
    state when it (re)connects to an external broker (with replicas, only the outbox relay's
    leader: another replica's read could land after a newer state the leader sent)."""
    loop = asyncio.get_running_loop()
    grace = settings.ticket_clear_grace_s
    limit = settings.mqtt_max_payload_bytes  # the broker's: larger messages are skipped
    async with AsyncExitStack() as stack:
        broker: EmbeddedBroker | None = None
        connection: MqttConnection | None = None
        provisioner: Provisioner | None = None
        publisher: Publisher
        if settings.mqtt_external_url:
            address = BrokerAddress.from_url(settings.mqtt_external_url)
            if settings.mqtt_dynsec:
                provisioner = _start_provisioner(settings, address, grants, stack)
                login = publisher_login(settings.secret_key.get_secret_value())
                address = replace(address, username=login.username, password=login.password)
            threaded: ThreadedPublisher
            connection = MqttConnection(
                address,
                secret=settings.secret_key.get_secret_value(),
                on_connected=lambda: threaded.republish_all() if publishes() else None,
            )
            threaded = ThreadedPublisher(
                PublishingRules(source, connection, clear_grace_s=grace, max_payload_bytes=limit)
            )
            threaded.start()
            stack.callback(threaded.stop)
            connection.start()
            stack.callback(connection.stop)
            publisher = threaded
        elif settings.mqtt_embedded:
            # Imported here so deployments on an external broker never load amqtt.
            from broker import EmbeddedBroker

            broker = EmbeddedBroker(settings, token_active=token_active)
            await broker.start()
            stack.push_async_callback(broker.stop)
            in_loop = LoopPublisher(
                PublishingRules(
                    source, EmbeddedTransport(broker), clear_grace_s=grace, max_payload_bytes=limit
                ),
                loop,
            )
            in_loop.start()
            stack.callback(in_loop.stop)
            publisher = in_loop
        else:
            raise ValueError(
                "no MQTT broker: set QUEUECAST_MQTT_EXTERNAL_URL or QUEUECAST_MQTT_EMBEDDED=true"
            )
        yield Realtime(
            sink=publisher,
            broker=broker,
            connection=connection,
            token_active=token_active,
            loop=loop,
            provisioner=provisioner,
        )


def _start_provisioner(
    settings: Settings,
    address: BrokerAddress,
    grants: Callable[[], Grants] | None,
    stack: AsyncExitStack,
) -> Provisioner:
    """The admin connection and the sync worker; the first sync runs at the first connect,
    while the publisher's own login (created by that sync) retries with backoff."""
    if grants is None:
        raise ValueError("dynamic security needs the grants (the API's database)")
    username = settings.mqtt_dynsec_admin_username
    password = settings.mqtt_dynsec_admin_password
    assert username is not None  # Settings checked both
    assert password is not None
    provisioner: Provisioner
    control = DynsecControl(
        replace(address, username=None, password=None),
        username=username,
        password=password.get_secret_value(),
        on_connected=lambda: provisioner.request_sync(),
    )
    provisioner = Provisioner(
        control,
        grants,
        secret=settings.secret_key.get_secret_value(),
        period_s=settings.mqtt_dynsec_public_rotation_s,
        interval_s=settings.mqtt_dynsec_sync_interval_s,
    )
    provisioner.start()
    stack.callback(provisioner.stop)
    control.start()
    stack.callback(control.stop)
    return provisioner
