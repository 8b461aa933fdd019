"""A real paho-mqtt client for tests: connect over TCP or WebSocket, record what arrives."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.client import ConnectFlags, DisconnectFlags
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    qos: int


class ConnectRefused(Exception):
    pass


class Recorder:
    """Connects, subscribes and keeps every message; ``wait_for`` blocks until one matches."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        transport: Literal["tcp", "websockets"] = "tcp",
        ws_path: str = "/mqtt",
        client_id: str | None = None,
        clean_session: bool = True,
        keepalive: int = 30,
        will: tuple[str, bytes, int, bool] | None = None,
    ) -> None:
        self.messages: queue.Queue[Received] = queue.Queue()
        self.seen: list[Received] = []
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._rc: object = None
        self._connecting = False
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-{uuid.uuid4().hex[:10]}",
            clean_session=clean_session,
            transport=transport,
        )
        if transport == "websockets":
            self.client.ws_set_options(path=ws_path)
        if username is not None or password is not None:
            self.client.username_pw_set(username or "", password)
        if will is not None:
            topic, payload, qos, retain = will
            self.client.will_set(topic, payload, qos=qos, retain=retain)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.disconnected = threading.Event()  # set when the connection ends, for any reason
        self.session_present: bool | None = None  # from the last CONNACK
        self.host, self.port, self.keepalive = host, port, keepalive

    def connect(self, timeout: float = 10.0) -> Recorder:
        # connect_async, not connect: paho's connect() makes a wake-up socket pair that
        # loop_start() then replaces without closing (a ResourceWarning, an error here).
        self._connecting = True
        self.client.connect_async(self.host, self.port, keepalive=self.keepalive)
        self.client.loop_start()
        ready = self._connected.wait(timeout)
        self._connecting = False
        if not ready:
            self.close()
            raise ConnectRefused(f"no CONNACK within {timeout}s (last reason: {self._rc})")
        if getattr(self._rc, "is_failure", False):
            self.close()
            raise ConnectRefused(str(self._rc))
        return self

    def subscribe(self, topic_filter: str, qos: int = 1, timeout: float = 5.0) -> list[int]:
        """Subscribe and wait for SUBACK; returns the granted QoS list (128 = refused)."""
        done = threading.Event()
        granted: list[int] = []

        def on_subscribe(
            client: mqtt.Client,
            userdata: Any,
            mid: int,
            reason_codes: list[ReasonCode],
            properties: Properties | None,
        ) -> None:
            granted.extend(rc.value for rc in reason_codes)
            done.set()

        self.client.on_subscribe = on_subscribe
        self.client.subscribe(topic_filter, qos=qos)
        if not done.wait(timeout):
            raise TimeoutError(f"no SUBACK for {topic_filter}")
        return granted

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if qos > 0:
            info.wait_for_publish(timeout=5)

    def wait_for(
        self, predicate: Callable[[Received], bool] = lambda m: True, timeout: float = 10.0
    ) -> Received:
        """Return the first message (already seen or arriving) that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            for m in self.seen:
                if predicate(m):
                    return m
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no matching message")
            try:
                m = self.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if predicate(m):
                return m

    def drain(self, settle: float = 0.5) -> list[Received]:
        """Everything received so far, after ``settle`` seconds of letting stragglers arrive."""
        time.sleep(settle)
        with self._lock:
            return list(self.seen)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        # paho closes its wake-up socket pair (made by loop_start) only in Client.__del__; our
        # callbacks make Recorder and Client a cycle, and when the garbage collector frees it the
        # sockets may be finalised first: a ResourceWarning that pytest turns into a failure.
        # paho has no public call for this; _reset_sockets is what its own __del__ runs.
        self.client._reset_sockets()

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._rc = reason_code
        if self._connecting and reason_code.is_failure:
            # connect() raises and closes: no retry. Said here, in paho's thread, before it
            # goes to sleep for its reconnect delay, which the close would otherwise wait out
            # (a second per refused connect, and the suite refuses many).
            client.disconnect()
        self.session_present = bool(getattr(flags, "session_present", False))
        self.disconnected.clear()
        self._connected.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.disconnected.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        received = Received(msg.topic, bytes(msg.payload), bool(msg.retain), msg.qos)
        with self._lock:
            self.seen.append(received)
        self.messages.put(received)
