"""An operator at a counter, over the real HTTP API (the issue 9 counter workflow): open the
counter, issue, call (closing the ticket the counter still holds with an explicit outcome), act
on tickets. Browser and agent tests drive the system through this instead of raw requests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.system import RunningSystem


def ensure_user(system: RunningSystem, username: str, role: str = "operator") -> None:
    """A user of the dev tenant whose password is its username (created once)."""
    admin = system.auth(system.login("admin"))
    response = system.http.post(
        f"/api/v1/tenants/{system.tenant}/users",
        json={"username": username, "password": f"{username}-pass-0", "role": role},
        headers=admin,
    )
    assert response.status_code in (201, 409), response.text


def password_of(username: str) -> str:
    """Dev-seed users' password is their name; users made by :func:`ensure_user` get this."""
    return username if username in {"root", "admin", "operator"} else f"{username}-pass-0"


class Desk:
    """``username`` working at counter ``counter`` of the dev tenant."""

    def __init__(self, system: RunningSystem, counter: int, username: str = "operator") -> None:
        self.system = system
        self.counter = counter
        self.username = username
        self.headers = system.auth(system.login(username, password_of(username)))
        self.path = f"/api/v1/tenants/{system.tenant}"

    @property
    def http(self) -> httpx.Client:
        return self.system.http

    def post(self, path: str, json: Any = None, **params: Any) -> httpx.Response:
        return self.http.post(f"{self.path}{path}", json=json, params=params, headers=self.headers)

    def open(self, *, takeover: bool = True) -> dict[str, Any]:
        response = self.post(f"/counters/{self.counter}/open", {"takeover": takeover})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def issue(self, service: str = "A", *, priority: bool = False) -> dict[str, Any]:
        response = self.http.post(
            f"{self.path}/tickets",
            json={"service": service, "priority": priority},
            headers={**self.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def call(self, ticket_id: str, *, close: str | None = "completed") -> dict[str, Any]:
        """Call this ticket here; whatever the counter still holds ends with ``close``."""
        body: dict[str, Any] = {"counter": self.counter}
        if close is not None and self.holding() is not None:
            body["close"] = close
        response = self.post(f"/tickets/{ticket_id}/call", body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def call_next(self, *services: str, close: str = "completed") -> dict[str, Any] | None:
        params: dict[str, Any] = {"service": list(services)} if services else {}
        if self.holding() is not None:
            params["close"] = close
        response = self.post(f"/counters/{self.counter}/call-next", **params)
        assert response.status_code in (200, 204), response.text
        return None if response.status_code == 204 else dict(response.json())

    def act(self, ticket_id: str, action: str, json: Any = None) -> httpx.Response:
        """``POST /tickets/{id}/{action}``, answer returned as is (tests check refusals)."""
        return self.post(f"/tickets/{ticket_id}/{action}", json)

    def state(self) -> dict[str, Any]:
        response = self.http.get(f"{self.path}/counters", headers=self.headers)
        assert response.status_code == 200, response.text
        return next(c for c in response.json() if c["number"] == self.counter)

    def holding(self) -> dict[str, Any] | None:
        """The ticket this counter holds (called or in service), if any."""
        ticket: dict[str, Any] | None = self.state()["open_ticket"]
        return ticket

    def finish(self) -> None:
        """End whatever the counter holds (completed), so the next call needs no outcome."""
        held = self.holding()
        if held is not None:
            response = self.act(held["id"], "complete")
            assert response.status_code == 200, response.text


def name_counter(system: RunningSystem, number: int, name: str) -> None:
    """Give a counter the name people know it by (an admin action)."""
    response = system.http.patch(
        f"/api/v1/tenants/{system.tenant}/counters/{number}",
        json={"name": name},
        headers=system.auth(system.login("admin")),
    )
    assert response.status_code == 200, response.text
