"""The MQTT lane: WebSocket connections to ``/mqtt`` go straight to the broker, in front of
FastAPI's middleware stack and routing.

Why: in a reconnect storm every screen opens one at the same moment, and the stack around the
route (routing, dependency analysis, the HTTP middlewares, each wrapping every ``send``) was a
fifth of the API process's CPU per connection (py-spy; 0.82 -> 0.60 ms per connection with this
lane, docs/benchmarks.md "Reconnect storms"). None of it applies to a WebSocket: the HTTP
middlewares pass WebSocket scopes through, and the route takes no dependency.

It changes no behaviour: it calls the route's own function
(:func:`publisher_api.routers.realtime.mqtt_over_websocket`) with the WebSocket FastAPI would
have built; any other scope or path goes to FastAPI untouched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from publisher_api.routers.realtime import MQTT_WS_PATH, mqtt_over_websocket


class MqttLane:
    def __init__(self, app: ASGIApp, owner: ASGIApp) -> None:
        self.app = app
        self.owner = owner  # the FastAPI app: the route reads its state (the running broker)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == MQTT_WS_PATH:
            scope["app"] = self.owner
            await mqtt_over_websocket(WebSocket(scope, receive, send))
            return
        await self.app(scope, receive, send)
