"""uvicorn in a real broker's event loop, as ``publisher_api.server`` runs the API beside the
embedded broker: the one server the bridge (``/mqtt`` through the app) and the lane (``/mqtt``
before the app) tests start, each with its own app and uvicorn options."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from starlette.websockets import WebSocket

from tests.broker.harness import BrokerThread
from tests.support.mqtt import Recorder
from tests.support.ports import free_port, wait_for_port


def broker_route(broker: BrokerThread) -> Callable[[WebSocket], Awaitable[None]]:
    """The app's ``/mqtt`` WebSocket route: the connection handed to the broker (ASGI)."""

    async def mqtt(websocket: WebSocket) -> None:
        await broker.broker.serve_websocket(websocket)

    return mqtt


class HttpServer:
    """``app`` served by uvicorn on a free port inside ``broker``'s loop; ``close`` stops both.
    ``config``: more ``uvicorn.Config`` options (HTTP/WebSocket protocol classes, size limits)."""

    def __init__(self, broker: BrokerThread, app: ASGIApp, **config: Any) -> None:
        self.broker = broker
        self.port = free_port()
        options: dict[str, Any] = {"log_level": "warning", "ws_per_message_deflate": False}
        options.update(config)
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, lifespan="off", **options)
        )
        self.task = broker.run(lambda: asyncio.ensure_future(self.server.serve()))
        wait_for_port("127.0.0.1", self.port)

    def client(self, password: str, **kwargs: Any) -> Recorder:
        """A paho client (not yet connected) for MQTT over this server's ``/mqtt``."""
        return Recorder(
            "127.0.0.1",
            self.port,
            username="u",
            password=password,
            transport="websockets",
            **kwargs,
        )

    def close(self) -> None:
        self.server.should_exit = True

        async def wait() -> None:
            await asyncio.wait_for(self.task, timeout=15)

        self.broker.call(wait())
        self.broker.close()
