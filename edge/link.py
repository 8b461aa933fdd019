"""The resilient MQTT subscriber: one paho client in its own thread, reconnecting for ever.

paho's own reconnect doubles its delay without jitter, so the thread runs its own loop:
resolve the broker endpoint (from the API, or configured) -> connect -> ``loop()`` until the
connection drops -> wait a :class:`~mqtt_link.backoff.Backoff` delay -> again. It never raises:
every failure is logged and retried. On each connection it subscribes (the broker then sends the
retained snapshot), publishes the retained ``online`` presence, and leaves a retained
``offline`` Will so a device that dies is shown offline.

Received messages become inputs through :func:`edge.inbound.interpret` and go to ``post``
(the runtime's inbox); paho types never leave this module.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from edge.api import ApiError, MqttEndpoint
from edge.credential import DeviceCredential
from edge.inbound import interpret
from edge.inputs import LinkDown, LinkUp
from mqtt_link.backoff import Backoff
from protocol import DevicePresence, PresenceStatus, encode
from protocol.topics import device_status_topic

log = logging.getLogger(__name__)

_KEEPALIVE_S = 30  # the broker declares a dead device offline after 1.5x this
_LOOP_TIMEOUT_S = 1.0  # paho's loop wakes at once for traffic; this only bounds a stop request


class MqttLink:
    def __init__(
        self,
        *,
        tenant: str,
        device_id: str,
        role: str,
        credential: DeviceCredential,
        endpoint: Callable[[], MqttEndpoint],
        topics: Iterable[str],
        post: Callable[[object], None],
        backoff: Backoff,
    ) -> None:
        self._tenant, self._device_id, self._credential = tenant, device_id, credential
        self._endpoint = endpoint
        self._topics = list(topics)
        self._followed: set[str] = set()
        self._post = post
        self._backoff = backoff
        self._presence_topic = device_status_topic(tenant, device_id)
        self._presence = {
            status: encode(
                DevicePresence(tenant=tenant, device_id=device_id, role=role, status=status)
            )
            for status in PresenceStatus
        }
        self._lock = threading.Lock()
        self._client: mqtt.Client | None = None
        self._up = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mqtt-link", daemon=True)

    # --- called from the main thread -------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 3.0) -> None:
        """Publish ``offline`` (a clean DISCONNECT suppresses the Will), then disconnect."""
        with self._lock:
            client = self._client if self._up else None
        if client is not None:
            info = client.publish(
                self._presence_topic, self._presence[PresenceStatus.OFFLINE], qos=1, retain=True
            )
            try:
                info.wait_for_publish(timeout=min(1.0, timeout_s))
            except (RuntimeError, ValueError):
                log.info("could not publish offline presence before stopping")
        self._stop.set()
        if client is not None:
            client.disconnect()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    @property
    def is_up(self) -> bool:
        return self._up

    def follow(self, topic: str) -> None:
        """Subscribe to one more topic now and on every reconnect."""
        with self._lock:
            if topic in self._followed:
                return
            self._followed.add(topic)
            client = self._client if self._up else None
        if client is not None:
            client.subscribe(topic, qos=1)

    def unfollow(self, topic: str) -> None:
        with self._lock:
            if topic not in self._followed:
                return
            self._followed.discard(topic)
            client = self._client if self._up else None
        if client is not None:
            client.unsubscribe(topic)

    # --- the link thread ---------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            client = self._connect()
            if client is not None:
                self._serve(client)
            if not self._stop.is_set():
                delay = self._backoff.next_delay()
                log.info("MQTT: next connection attempt in %.1fs", delay)
                self._stop.wait(delay)

    def _connect(self) -> mqtt.Client | None:
        try:
            endpoint = self._endpoint()
        except (ApiError, ValueError) as exc:
            log.warning("MQTT: cannot learn the broker address: %s", exc)
            return None
        client = self._new_client(endpoint)
        try:
            client.connect(endpoint.host, endpoint.port, keepalive=_KEEPALIVE_S)
        except OSError as exc:
            log.warning("MQTT: cannot reach %s:%s: %s", endpoint.host, endpoint.port, exc)
            return None
        return client

    def _serve(self, client: mqtt.Client) -> None:
        with self._lock:
            self._client = client
        try:
            while not self._stop.is_set():
                rc = client.loop(timeout=_LOOP_TIMEOUT_S)
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    if not self._stop.is_set():
                        log.warning("MQTT: connection lost (%s)", mqtt.error_string(rc))
                    break
        finally:
            with self._lock:
                self._client = None
                was_up, self._up = self._up, False
            if was_up:
                self._post(LinkDown("connection lost"))

    def _new_client(self, endpoint: MqttEndpoint) -> mqtt.Client:
        # The device id as client id: a restarted device takes its old session over at once,
        # so the old connection's Will ("offline") fires before our new "online", never after.
        # With the broker's own login (Mosquitto), that login instead: it names the tenant too,
        # and Mosquitto closes the older of two connections sharing a client id, whoever they
        # are, so two tenants' "totem-1" must not share one.
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=endpoint.username or self._device_id,
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        if endpoint.username is not None:
            client.username_pw_set(endpoint.username, endpoint.password)
        else:
            client.username_pw_set(self._device_id, self._credential.current())
        client.will_set(
            self._presence_topic, self._presence[PresenceStatus.OFFLINE], qos=1, retain=True
        )
        if endpoint.tls:
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        return client

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code.is_failure:
            log.error("MQTT: broker refused the connection: %s", reason_code)
            return
        with self._lock:
            topics = [*self._topics, *sorted(self._followed)]
            self._up = True
        client.subscribe([(topic, 1) for topic in topics])
        client.publish(
            self._presence_topic, self._presence[PresenceStatus.ONLINE], qos=1, retain=True
        )
        self._backoff.reset()
        log.info("MQTT: connected, subscribed to %s", ", ".join(topics))
        self._post(LinkUp())

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        item = interpret(message.topic, bytes(message.payload), tenant=self._tenant)
        if item is not None:
            self._post(item)
