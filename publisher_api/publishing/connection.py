"""The API's own MQTT connection (paho, in its network thread), to the embedded broker or an
external one. It reconnects by itself with backoff and tells its owner each time it is
(re)connected, because a broker that restarted has forgotten every retained message.

It also keeps the server's retained status (``protocol.server_status``) true: ``online`` at
every connect, ``offline`` before a deliberate stop, and ``offline`` as the connection's Will,
so the broker announces it when the API dies; screens can then tell "server down" from a quiet
queue."""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from protocol import Role, issue_token
from protocol.broker_url import BrokerAddress
from protocol.server_status import SERVER_STATUS_TOPIC, ServerState, encode_server_status

log = logging.getLogger(__name__)

_PUBLISHER_TOKEN_TTL = timedelta(hours=12)


class MqttConnection:
    """Connects in the background and keeps reconnecting; ``publish`` never blocks and reports
    whether the message was handed to a live connection.

    Without a password in the address, it signs itself a short-lived ``publisher`` token with
    the shared secret, renewed at every reconnect (our broker accepts it; Mosquitto configured
    for anonymous publishers ignores it)."""

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
        self._connected = threading.Event()
        self._stopping = False
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"queuecast-publisher-{os.getpid()}",
            clean_session=True,
        )
        # Snapshots of many tenants go out back to back after a reconnect; do not throttle them.
        self._client.max_inflight_messages_set(1000)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        if address.tls:
            self._client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        self._client.will_set(
            SERVER_STATUS_TOPIC, encode_server_status(ServerState.OFFLINE), qos=1, retain=True
        )
        self._client.on_connect = self._handle_connect
        self._client.on_disconnect = self._handle_disconnect
        self._refresh_credentials()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        self._client.connect_async(self._address.host, self._address.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        self._stopping = True
        if self._connected.is_set():  # a clean DISCONNECT does not fire the Will: say it
            info = self._client.publish(
                SERVER_STATUS_TOPIC, encode_server_status(ServerState.OFFLINE), qos=1, retain=True
            )
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=2)
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> bool:
        """QoS 1. Returns False (and drops the message) when not connected: the state it carried
        is re-published in full at the next connect, so nothing is lost."""
        if not self._connected.is_set():
            return False
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def _refresh_credentials(self) -> None:
        username = self._address.username or "queuecast-publisher"
        password = self._address.password
        if password is None:
            password, _ = issue_token(
                secret=self._secret,
                subject="publisher",
                role=Role.PUBLISHER,
                tenant=None,
                ttl=_PUBLISHER_TOKEN_TTL,
            )
        self._client.username_pw_set(username, password)

    def _handle_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker refused the publisher: %s", reason_code)
            return
        log.info("publisher connected to MQTT broker %s:%s", self._address.host, self._address.port)
        self._connected.set()
        client.publish(
            SERVER_STATUS_TOPIC, encode_server_status(ServerState.ONLINE), qos=1, retain=True
        )
        self._on_connected()

    def _handle_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        # A new token for the automatic reconnect, so a long outage never leaves us expired.
        self._refresh_credentials()
        if was_connected and not self._stopping:
            log.warning("publisher lost the MQTT broker (%s); reconnecting", reason_code)
