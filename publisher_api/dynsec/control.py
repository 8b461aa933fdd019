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
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from mqtt_link.backoff import Backoff
from mqtt_link.client import Login, ResilientClient
from protocol.broker_url import BrokerAddress

log = logging.getLogger(__name__)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"

Response = dict[str, Any]


class ControlError(Exception):
    """The broker did not answer (not connected, timed out)."""


class DynsecControl:
    """Connects in the background and reconnects by itself (the shared resilient client);
    ``on_connected`` runs (in its thread) once the response topic is subscribed, so a full sync
    can follow each connect."""

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
        login = Login(
            replace(address, username=username, password=password),
            client_id=f"queuecast-dynsec-{os.getpid()}-{self._prefix}",
        )
        self._client = ResilientClient(
            lambda: login,
            name="dynamic-security control",
            backoff=Backoff(initial_s=1, cap_s=10, spread_s=1),  # one client: nothing to spread
            topics=[RESPONSE_TOPIC],
            on_subscribed=self._subscribed,
            on_lost=self._ready.clear,
            on_message=self._handle_message,
        )

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    def start(self) -> None:
        self._client.start()

    def stop(self) -> None:
        self._client.stop()
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
            if not self._client.publish(CONTROL_TOPIC, payload.encode()):
                raise ControlError("publish failed: the connection is down")
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

    def _subscribed(self, granted: bool) -> None:
        if not granted:
            log.error("the admin may not read %s: is the dynsec admin role right?", RESPONSE_TOPIC)
            return
        log.info(
            "dynamic-security control connected (%s:%s)", self._address.host, self._address.port
        )
        self._ready.set()
        self._on_connected()

    def _handle_message(self, topic: str, payload: bytes) -> None:
        try:
            document = json.loads(payload)
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
