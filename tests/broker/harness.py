"""A real EmbeddedBroker on free ports, in its own event-loop thread, for synchronous tests
that drive it with real paho clients (tests.support.mqtt.Recorder)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from broker import EmbeddedBroker
from broker.auth import TokenActive
from config import Settings
from protocol import Principal, Role, issue_token
from tests.support.mqtt import Received, Recorder
from tests.support.ports import free_port

T = TypeVar("T")

SECRET = "broker-tests-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
OTHER_SECRET = "someone-elses-secret-0123456789-abcdefghijklmnopqrstuvwxyz"

FOREIGN_FILTERS = [
    "#",
    "+/#",
    "+/+/queue",
    "tenant/#",
    "tenant/+/queue",
    "tenant/+/#",
    "tenant/b/#",
    "tenant/b/queue",
    "tenant/+/tickets/+",
    "$SYS/#",
    "$SYS/broker/uptime",
    "tenant/a",  # the tenant level alone is not a topic of ours
    "tenant/ab/#",  # a prefix of another tenant's id is not the tenant
]
"""Filters a client of tenant ``a`` (any role but publisher/superadmin) must never be granted."""


def broker_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "production",
        "secret_key": SECRET,
        "mqtt_host": "127.0.0.1",
        "mqtt_tcp_port": free_port(),
        "mqtt_ws_port": free_port(),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def token(
    role: Role,
    tenant: str | None,
    subject: str | None = None,
    *,
    ttl: timedelta = timedelta(hours=1),
    secret: str = SECRET,
) -> str:
    value, _ = issue_token(
        secret=secret, subject=subject or role.value, role=role, tenant=tenant, ttl=ttl
    )
    return value


def payload_is(payload: bytes) -> Callable[[Received], bool]:
    """A ``Recorder.wait_for`` predicate (a function, so loops do not capture late)."""
    return lambda message: message.payload == payload


class Revocations:
    """A ``token_active`` for tests: records each question; ``revoked`` subjects are refused."""

    def __init__(self) -> None:
        self.revoked: set[str] = set()
        self.asked: list[str] = []

    def __call__(self, principal: Principal) -> bool:
        self.asked.append(principal.subject)
        return principal.subject not in self.revoked


class BrokerThread:
    """Runs an EmbeddedBroker in a private event loop; ``call`` runs a coroutine there."""

    def __init__(self, settings: Settings, token_active: TokenActive | None = None) -> None:
        self.settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.broker = self.call(self._make(settings, token_active))

    @staticmethod
    async def _make(settings: Settings, token_active: TokenActive | None) -> EmbeddedBroker:
        return EmbeddedBroker(settings, token_active=token_active)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def run(self, fn: Callable[[], T], timeout: float = 30) -> T:
        async def wrapper() -> T:
            return fn()

        return self.call(wrapper(), timeout)

    def start(self) -> BrokerThread:
        self.call(self.broker.start())
        return self

    def stop(self) -> None:
        if self.broker.running:
            self.call(self.broker.stop())

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    @property
    def tcp_port(self) -> int:
        return self.broker.tcp_port

    @property
    def ws_port(self) -> int:
        assert self.broker.ws_port is not None
        return self.broker.ws_port

    def client(
        self, password: str | None, *, transport: str = "tcp", username: str = "u", **kwargs: Any
    ) -> Recorder:
        port = self.ws_port if transport == "websockets" else self.tcp_port
        return Recorder(
            "127.0.0.1",
            port,
            username=username,
            password=password,
            transport=transport,  # type: ignore[arg-type]
            **kwargs,
        )
