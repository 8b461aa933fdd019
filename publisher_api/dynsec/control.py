"""The admin's MQTT connection to Mosquitto's dynamic-security control API.

Commands are JSON published to ``$CONTROL/dynamic-security/v1`` (``{"commands": [...]}``); the
plugin answers on ``$CONTROL/dynamic-security/v1/response`` with ``{"responses": [...]}``, one
per command, each echoing its ``correlationData`` and carrying ``error`` when it failed and
``data`` for the list commands. :meth:`DynsecControl.run` sends a batch and blocks until every
answer of that batch arrived (the plugin runs a batch in one go, in order).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import ssl
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from protocol.broker_url import BrokerAddress

log = logging.getLogger(__name__)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"

Response = dict[str, Any]


class ControlError(Exception):
    """The broker did not answer (not connected, timed out)."""


class DynsecControl:
    """Connects in the background and reconnects by itself; ``on_connected`` runs (in paho's
    thread) once the response topic is subscribed, so a full sync can follow each connect."""

    def __init__(
        self,
        address: BrokerAddress,
        *,
        username: str,
        password: str,
        on_connected: Callable[[], None] = lambda: None,
    ) -> None:
        self._address = address
        self._on_connected = on_connected
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._waiting: dict[str, tuple[threading.Event, list[Response | None]]] = {}
        self._ids = itertools.count()
        self._prefix = uuid.uuid4().hex[:8]
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"queuecast-dynsec-{os.getpid()}-{self._prefix}",
            clean_session=True,
        )
        self._client.username_pw_set(username, password)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        if address.tls:
            self._client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        self._client.on_connect = self._handle_connect
        self._client.on_subscribe = self._handle_subscribe
        self._client.on_disconnect = self._handle_disconnect
        self._client.on_message = self._handle_message

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    def start(self) -> None:
        self._client.connect_async(self._address.host, self._address.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._ready.clear()

    def wait_connected(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def run(self, commands: Sequence[dict[str, Any]], timeout: float = 10.0) -> list[Response]:
        """Send ``commands`` as one batch; their responses, in the same order."""
        if not commands:
            return []
        if not self._ready.is_set():
            raise ControlError("not connected to the broker's control API")
        tags = [f"{self._prefix}-{next(self._ids)}" for _ in commands]
        slots: list[tuple[threading.Event, list[Response | None]]] = [
            (threading.Event(), [None]) for _ in commands
        ]
        with self._lock:
            self._waiting.update(zip(tags, slots, strict=True))
        try:
            payload = json.dumps(
                {
                    "commands": [
                        {**command, "correlationData": tag}
                        for command, tag in zip(commands, tags, strict=True)
                    ]
                }
            )
            info = self._client.publish(CONTROL_TOPIC, payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise ControlError(f"publish failed: {mqtt.error_string(info.rc)}")
            results: list[Response] = []
            for (done, box), command in zip(slots, commands, strict=True):
                if not done.wait(timeout) or box[0] is None:
                    raise ControlError(f"no answer to {command.get('command')} in {timeout}s")
                results.append(box[0])
            return results
        finally:
            with self._lock:
                for tag in tags:
                    self._waiting.pop(tag, None)

    def _handle_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code.is_failure:
            log.error("Mosquitto refused the dynamic-security admin login: %s", reason_code)
            return
        client.subscribe(RESPONSE_TOPIC, qos=1)

    def _handle_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, codes: Any, properties: Any
    ) -> None:
        if any(getattr(code, "is_failure", False) for code in codes):
            log.error("the admin may not read %s: is the dynsec admin role right?", RESPONSE_TOPIC)
            return
        log.info(
            "dynamic-security control connected (%s:%s)", self._address.host, self._address.port
        )
        self._ready.set()
        self._on_connected()

    def _handle_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        self._ready.clear()

    def _handle_message(
        self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage
    ) -> None:
        try:
            document = json.loads(message.payload)
            responses = document["responses"]
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable dynamic-security response ignored")
            return
        for response in responses if isinstance(responses, list) else []:
            if not isinstance(response, dict):
                continue
            with self._lock:
                slot = self._waiting.get(str(response.get("correlationData")))
            if slot is not None:
                slot[1][0] = response
                slot[0].set()
