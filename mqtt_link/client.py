"""The resilient MQTT client: one paho client at a time in its own thread, reconnecting for ever.

paho's own reconnect doubles its delay without jitter and keeps the address and password it was
given, so the thread runs its own loop: ask ``login`` where and as whom to connect -> connect ->
``loop()`` until the connection drops -> wait a :class:`~mqtt_link.backoff.Backoff` delay ->
again. It never raises: every failure is logged and retried. On each connection it subscribes
to its topics, then runs ``on_connect``; the ``will`` stays with the broker for the day the
process dies. ``stop`` can publish a last message first (a clean DISCONNECT suppresses the Will,
so a status the Will would have set must be said).

Users: the agents' link (``edge.link``) and the API's connection to an external broker
(``publisher_api.publishing.connection``). Paho types never leave this module.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from mqtt_link.backoff import Backoff
from protocol.broker_url import BrokerAddress

log = logging.getLogger(__name__)

_LOOP_TIMEOUT_S = 1.0  # paho's loop wakes at once for traffic; this only bounds a stop request


@dataclass(frozen=True, slots=True)
class Login:
    """Where and as whom one connection attempt goes: the broker (with the username and
    password to present; none for an anonymous login) and the client id."""

    address: BrokerAddress
    client_id: str


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 1


def _nothing() -> None:
    pass


class ResilientClient:
    """``login`` is called before every attempt (so a renewed token or a moved broker is picked
    up); if it raises, the attempt counts as failed. ``on_connect`` runs in the network thread
    once the connection is up and its subscriptions sent; ``on_subscribed`` when the broker has
    answered them (False: it refused one); ``on_lost`` when a connection that was up ends (a
    stop included); ``on_message`` gets each message's topic and payload."""

    def __init__(
        self,
        login: Callable[[], Login],
        *,
        backoff: Backoff,
        name: str = "MQTT",
        will: Message | None = None,
        topics: Iterable[str] = (),
        on_connect: Callable[[], None] = _nothing,
        on_subscribed: Callable[[bool], None] | None = None,
        on_lost: Callable[[], None] = _nothing,
        on_message: Callable[[str, bytes], None] | None = None,
        keepalive_s: int = 30,
        max_inflight: int = 20,
    ) -> None:
        self._login = login
        self._backoff = backoff
        self._name = name
        self._will = will
        self._topics = list(topics)
        self._followed: set[str] = set()
        self._on_connect, self._on_lost, self._on_message = on_connect, on_lost, on_message
        self._on_subscribed = on_subscribed
        self._subscribe_mid: int | None = None  # the connect-time SUBSCRIBE, in this thread
        self._keepalive_s = keepalive_s
        self._max_inflight = max_inflight
        self._lock = threading.Lock()
        self._client: mqtt.Client | None = None
        self._up = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"mqtt-{name}", daemon=True)

    # --- called from any thread --------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, final: Message | None = None, timeout_s: float = 3.0) -> None:
        """Publish ``final`` (when connected, waiting up to a second for the broker to take
        it), then disconnect cleanly and end the thread."""
        with self._lock:
            client = self._client if self._up.is_set() else None
        if client is not None and final is not None:
            info = client.publish(final.topic, final.payload, qos=final.qos, retain=final.retain)
            try:
                info.wait_for_publish(timeout=min(1.0, timeout_s))
            except (RuntimeError, ValueError):
                log.info("%s: could not publish the last message before stopping", self._name)
        self._stop.set()
        if client is not None:
            client.disconnect()  # queued, and it wakes the network thread, which sends it
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    @property
    def is_up(self) -> bool:
        return self._up.is_set()

    def wait_up(self, timeout: float) -> bool:
        return self._up.wait(timeout)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1) -> bool:
        """Never blocks. False (the message dropped) when not connected; the callers re-publish
        what matters at the next ``on_connect``."""
        with self._lock:
            client = self._client if self._up.is_set() else None
        if client is None:
            return False
        return client.publish(topic, payload, qos=qos, retain=retain).rc == mqtt.MQTT_ERR_SUCCESS

    def follow(self, topic: str) -> None:
        """Subscribe to one more topic now and on every reconnect."""
        with self._lock:
            if topic in self._followed:
                return
            self._followed.add(topic)
            client = self._client if self._up.is_set() else None
        if client is not None:
            client.subscribe(topic, qos=1)

    def unfollow(self, topic: str) -> None:
        with self._lock:
            if topic not in self._followed:
                return
            self._followed.discard(topic)
            client = self._client if self._up.is_set() else None
        if client is not None:
            client.unsubscribe(topic)

    # --- the network thread ------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._attempt()
            except Exception:  # a bug in a hook must not end the thread: screens stay live
                log.exception("%s: connection failed", self._name)
            if not self._stop.is_set():
                delay = self._backoff.next_delay()
                log.info("%s: next connection attempt in %.1fs", self._name, delay)
                self._stop.wait(delay)

    def _attempt(self) -> None:
        try:
            login = self._login()
        except Exception as exc:  # the caller's lookup (an HTTP call, a token): retried later
            log.warning("%s: cannot learn where to connect: %s", self._name, exc)
            return
        client = self._new_client(login)
        address = login.address
        try:
            client.connect(address.host, address.port, keepalive=self._keepalive_s)
        except OSError as exc:
            log.warning("%s: cannot reach %s:%s: %s", self._name, address.host, address.port, exc)
            return
        self._serve(client)

    def _serve(self, client: mqtt.Client) -> None:
        with self._lock:
            self._client = client
        try:
            while not self._stop.is_set():
                rc = client.loop(timeout=_LOOP_TIMEOUT_S)
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    if not self._stop.is_set():
                        log.warning("%s: connection lost (%s)", self._name, mqtt.error_string(rc))
                    break
            else:  # stopping: send the DISCONNECT (if stop() has not), so the Will is dropped
                client.disconnect()
                client.loop_write()
        finally:
            with self._lock:
                self._client = None
                was_up = self._up.is_set()
                self._up.clear()
            if was_up:
                self._on_lost()

    def _new_client(self, login: Login) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=login.client_id,
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        # Only this thread writes to the socket: a publish from another thread is queued and
        # wakes the loop (paho's threaded mode does the same; without a registered writer paho
        # would write from the caller's thread, racing the loop's own writes).
        client.on_socket_register_write = _queued_for_the_loop
        client.max_inflight_messages_set(self._max_inflight)
        address = login.address
        if address.username is not None or address.password is not None:
            client.username_pw_set(address.username or "", address.password)
        if self._will is not None:
            will = self._will
            client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        if address.tls:
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        client.on_connect = self._handle_connect
        if self._on_message is not None:
            client.on_message = self._handle_message
        if self._on_subscribed is not None:
            client.on_subscribe = self._handle_subscribe
        return client

    def _handle_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code.is_failure:  # paho then ends the loop, and we retry after a delay
            log.error("%s: broker refused the connection: %s", self._name, reason_code)
            return
        with self._lock:
            topics = [*self._topics, *sorted(self._followed)]
            self._up.set()
        if topics:
            _, self._subscribe_mid = client.subscribe([(topic, 1) for topic in topics])
        self._backoff.reset()
        log.info("%s: connected to %s, subscribed to %s", self._name, client.host, topics)
        self._on_connect()

    def _handle_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, codes: Any, properties: Any
    ) -> None:
        if mid != self._subscribe_mid or self._on_subscribed is None:
            return  # a later follow(), or nobody asked
        self._on_subscribed(not any(getattr(code, "is_failure", False) for code in codes))

    def _handle_message(
        self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage
    ) -> None:
        assert self._on_message is not None  # only installed with one
        self._on_message(message.topic, bytes(message.payload))


def _queued_for_the_loop(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """paho's 'please write this socket' hook: the loop thread always does, so nothing to do."""
