"""A real API: ``create_app`` served by uvicorn on a free loopback port in a thread, its own
SQLite file and embedded broker, in dev mode (tenant ``default`` seeded). Tests talk to it over
real HTTP with httpx."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from config import Settings
from publisher_api.app import create_app
from publisher_api.domain import counters as cn
from publisher_api.server import server_config
from publisher_api.services.changes import Writer
from publisher_api.services.counters import command_op
from tests.support.ports import free_port

TENANT = "default"


def api_settings(var_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "dev",
        "var_dir": var_dir,
        "http_port": free_port(),
        "mqtt_tcp_port": free_port(),
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(**values)


def open_counter(
    writer: Writer, number: int, by: str = "operator", *, now: datetime | None = None
) -> None:
    """Open counter ``number`` of the dev tenant for ``by`` (service-level tests)."""
    at = now or datetime.now(UTC)
    writer.run(TENANT, command_op(number, cn.Open(by=by, at=at, takeover=True)), now=at)


@dataclass
class Api:
    """A running API and an httpx client bound to it; ``login`` caches tokens per user."""

    settings: Settings
    http: httpx.Client
    _tokens: dict[str, str] = field(default_factory=dict)

    def login(self, username: str, password: str | None = None) -> str:
        if username not in self._tokens:
            r = self.http.post(
                "/api/v1/auth/token", data={"username": username, "password": password or username}
            )
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["access_token"]
        return self._tokens[username]

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.login(username)}"}

    def issue(self, service: str = "A", priority: bool = False, user: str = "operator") -> Any:
        r = self.http.post(
            f"/api/v1/tenants/{TENANT}/tickets",
            json={"service": service, "priority": priority},
            headers=self.auth(user),
        )
        assert r.status_code == 201, r.text
        return r.json()

    def act(
        self, ticket_id: str, action: str, user: str = "operator", **body: Any
    ) -> httpx.Response:
        """One action on a ticket. A ``call`` first opens its counter for ``user`` (taking it
        over if needed) and, unless ``close`` is given, completes whatever ticket the counter
        still holds: tests about other things need not replay the counter workflow."""
        if action == "call":
            self.open_counter(body["counter"], user)
            body.setdefault("close", "completed")
        return self.http.post(
            f"/api/v1/tenants/{TENANT}/tickets/{ticket_id}/{action}",
            json=body or None,
            headers=self.auth(user),
        )

    def open_counter(
        self, counter: int, user: str = "operator", takeover: bool = True
    ) -> httpx.Response:
        r = self.http.post(
            f"/api/v1/tenants/{TENANT}/counters/{counter}/open",
            json={"takeover": takeover},
            headers=self.auth(user),
        )
        assert r.status_code in (200, 409), r.text
        return r

    def call_next(
        self, counter: int, user: str = "operator", open_first: bool = True, **params: Any
    ) -> httpx.Response:
        """``call-next`` at ``counter`` (opened for ``user`` first), completing what it holds
        unless ``close`` is given (``close=None`` sends none)."""
        if open_first:
            self.open_counter(counter, user)
        params.setdefault("close", "completed")
        params = {k: v for k, v in params.items() if v is not None}
        return self.http.post(
            f"/api/v1/tenants/{TENANT}/counters/{counter}/call-next",
            params=params,
            headers=self.auth(user),
        )

    def add_user(self, username: str, role: str = "operator") -> None:
        """A user of the tenant whose password is its name twice (8+ characters)."""
        r = self.http.post(
            f"/api/v1/tenants/{TENANT}/users",
            json={"username": username, "password": username * 2 + "-pass", "role": role},
            headers=self.auth("admin"),
        )
        assert r.status_code in (201, 409), r.text
        self.login(username, username * 2 + "-pass")

    def queue(self, tenant: str = TENANT) -> Any:
        r = self.http.get(f"/api/v1/tenants/{tenant}/queue")
        assert r.status_code == 200, r.text
        return r.json()


@dataclass
class ServerThread:
    server: uvicorn.Server
    thread: threading.Thread
    base_url: str

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def serve(settings: Settings, app: FastAPI | None = None) -> ServerThread:
    """``app`` (default: ``create_app(settings)``) served as python -m publisher_api serves it
    (the same limits, timeouts and connection cap)."""
    config = server_config(
        app or create_app(settings), settings, host="127.0.0.1", log_level="warning", loop="asyncio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the API server failed to start (see the log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError("the API server did not start within 30 s")
        time.sleep(0.02)
    return ServerThread(server, thread, f"http://127.0.0.1:{settings.http_port}")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One server per test module (start-up migrates, seeds and starts a broker: not free)."""
    settings = api_settings(tmp_path_factory.mktemp("api"))
    running = serve(settings)
    with httpx.Client(base_url=running.base_url, timeout=20) as http:
        yield Api(settings, http)
    running.stop()


StartApi = Callable[..., Api]


@pytest.fixture
def start_api(tmp_path: Path) -> Iterator[StartApi]:
    """A server of its own per test, with the settings it needs (short limits, production)."""
    running: list[tuple[ServerThread, httpx.Client]] = []

    def start(**overrides: Any) -> Api:
        settings = api_settings(tmp_path / f"api{len(running)}", **overrides)
        server = serve(settings)
        http = httpx.Client(base_url=server.base_url, timeout=20)
        running.append((server, http))
        return Api(settings, http)

    yield start
    for server, http in running:
        http.close()
        server.stop()
