"""The API's own MQTT connection to an external broker, on the shared resilient client
(:mod:`mqtt_link.client`, in its own thread). It reconnects by itself with jittered backoff and
tells its owner each time it is (re)connected, because a broker that restarted has forgotten
every retained message.

It also keeps the server's retained status (``protocol.server_status``) true: ``online`` at
every connect, ``offline`` before a deliberate stop, and ``offline`` as the connection's Will,
so the broker announces it when the API dies; screens can then tell "server down" from a quiet
queue."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from mqtt_link.backoff import Backoff
from mqtt_link.client import Login, Message, ResilientClient
from protocol import Role, issue_token
from protocol.broker_url import BrokerAddress
from protocol.server_status import SERVER_STATUS_TOPIC, ServerState, encode_server_status

log = logging.getLogger(__name__)

_PUBLISHER_TOKEN_TTL = timedelta(hours=12)
_ONLINE, _OFFLINE = (
    Message(SERVER_STATUS_TOPIC, encode_server_status(state), retain=True)
    for state in (ServerState.ONLINE, ServerState.OFFLINE)
)


class MqttConnection:
    """Connects in the background and keeps reconnecting; ``publish`` never blocks and reports
    whether the message was handed to a live connection.

    Without a password in the address, it signs itself a short-lived ``publisher`` token with
    the shared secret, anew at every attempt, so a long outage never leaves it expired (our
    broker accepts it; Mosquitto configured for anonymous publishers ignores it)."""

    def __init__(
        self,
        address: BrokerAddress,
        *,
        secret: str,
        on_connected: Callable[[], None],
        client_id: str | None = None,
    ) -> None:
        self._address = address
        self._secret = secret
        self._on_connected = on_connected
        self._client_id = client_id or f"queuecast-publisher-{os.getpid()}"
        self._client = ResilientClient(
            self._login,
            name="publisher",
            # One client, no crowd to spread: back at about a second, then up to ten.
            backoff=Backoff(initial_s=1, cap_s=10, spread_s=1),
            will=_OFFLINE,
            on_connect=self._connected,
            # Snapshots of many tenants go out back to back after a reconnect: no throttling.
            max_inflight=1000,
        )

    @property
    def connected(self) -> bool:
        return self._client.is_up

    def start(self) -> None:
        self._client.start()

    def stop(self) -> None:
        self._client.stop(final=_OFFLINE)

    def wait_connected(self, timeout: float) -> bool:
        return self._client.wait_up(timeout)

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> bool:
        """QoS 1. Returns False (and drops the message) when not connected: the state it carried
        is re-published in full at the next connect, so nothing is lost."""
        return self._client.publish(topic, payload, retain=retain)

    def _login(self) -> Login:
        password = self._address.password
        if password is None:
            password, _ = issue_token(
                secret=self._secret,
                subject="publisher",
                role=Role.PUBLISHER,
                tenant=None,
                ttl=_PUBLISHER_TOKEN_TTL,
            )
        username = self._address.username or "queuecast-publisher"
        return Login(replace(self._address, username=username, password=password), self._client_id)

    def _connected(self) -> None:
        log.info("publisher connected to MQTT broker %s:%s", self._address.host, self._address.port)
        self._client.publish(_ONLINE.topic, _ONLINE.payload, retain=True)
        self._on_connected()
