"""The MQTT lane hands ``/mqtt`` WebSockets to the broker's route in front of FastAPI and
everything else to FastAPI untouched (the end-to-end tests use ``/mqtt`` through the whole app).
Driven as ASGI directly: the route's answer without a broker (close 1008) shows it was reached."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from publisher_api.routers.mqtt_lane import MqttLane


def call(lane: MqttLane, scope_type: str, path: str) -> list[Message]:
    sent: list[Message] = []
    first = {"type": "websocket.connect"} if scope_type == "websocket" else {"type": "http.request"}

    async def receive() -> Message:
        return first

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {"type": scope_type, "path": path, "headers": [], "query_string": b""}
    asyncio.run(lane(scope, receive, send))
    return sent


def test_mqtt_websockets_skip_the_app_and_everything_else_reaches_it() -> None:
    reached: list[tuple[str, str]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append((scope["type"], scope["path"]))

    owner = Starlette()
    # No lifespan state (so no embedded broker): the route itself refuses with 1008.
    lane = MqttLane(app, owner=owner)

    answer = call(lane, "websocket", "/mqtt")
    assert [(m["type"], m.get("code")) for m in answer] == [("websocket.close", 1008)]
    assert reached == []

    assert call(lane, "websocket", "/mqtt/x") == []
    assert call(lane, "http", "/mqtt") == []  # plain HTTP on the same path is not MQTT
    assert reached == [("websocket", "/mqtt/x"), ("http", "/mqtt")]
