"""The agent's MQTT link: the shared resilient client (:mod:`mqtt_link.client`) told what a
device says and hears.

Each attempt first learns where the broker is (from the API, or configured) and logs in as the
device (its current token) or with the broker's own login the API handed out. On each
connection it subscribes (the broker then sends the retained snapshot), publishes the retained
``online`` presence, and leaves a retained ``offline`` Will so a device that dies is shown
offline; a deliberate stop says ``offline`` itself.

Received messages become inputs through :func:`edge.inbound.interpret` and go to ``post``
(the runtime's inbox).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from edge.api import MqttEndpoint
from edge.credential import DeviceCredential
from edge.inbound import interpret
from edge.inputs import LinkDown, LinkUp
from mqtt_link.backoff import Backoff
from mqtt_link.client import Login, Message, ResilientClient
from protocol import DevicePresence, PresenceStatus, encode
from protocol.topics import device_status_topic


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
        self._post = post
        topic = device_status_topic(tenant, device_id)
        self._online, self._offline = (
            Message(
                topic,
                encode(DevicePresence(tenant=tenant, device_id=device_id, role=role, status=s)),
                retain=True,
            )
            for s in (PresenceStatus.ONLINE, PresenceStatus.OFFLINE)
        )
        self._client = ResilientClient(
            self._login,
            backoff=backoff,
            will=self._offline,
            topics=topics,
            on_connect=self._connected,
            on_lost=lambda: post(LinkDown("connection lost")),
            on_message=self._received,
        )

    def start(self) -> None:
        self._client.start()

    def stop(self, timeout_s: float = 3.0) -> None:
        self._client.stop(final=self._offline, timeout_s=timeout_s)

    @property
    def is_up(self) -> bool:
        return self._client.is_up

    def follow(self, topic: str) -> None:
        """Subscribe to one more topic now and on every reconnect."""
        self._client.follow(topic)

    def unfollow(self, topic: str) -> None:
        self._client.unfollow(topic)

    def _login(self) -> Login:
        # The device id as client id: a restarted device takes its old session over at once,
        # so the old connection's Will ("offline") fires before our new "online", never after.
        # With the broker's own login (Mosquitto), that login instead: it names the tenant too,
        # and Mosquitto closes the older of two connections sharing a client id, whoever they
        # are, so two tenants' "totem-1" must not share one.
        endpoint = self._endpoint()
        if endpoint.username is not None:
            return Login(endpoint, client_id=endpoint.username)
        device = replace(endpoint, username=self._device_id, password=self._credential.current())
        return Login(device, client_id=self._device_id)

    def _connected(self) -> None:
        self._client.publish(self._online.topic, self._online.payload, retain=True)
        self._post(LinkUp())

    def _received(self, topic: str, payload: bytes) -> None:
        item = interpret(topic, payload, tenant=self._tenant)
        if item is not None:
            self._post(item)
