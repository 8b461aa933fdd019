"""One running system (API + separate broker process, dev seed) per test module, and the
operator actions tests perform on it over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.system import RunningSystem, start_system


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with start_system(tmp_path_factory.mktemp("system"), separate_broker=True) as running:
        yield running


class Operator:
    def __init__(self, system: RunningSystem) -> None:
        self.system = system
        self.headers = system.auth(system.login("operator"))
        self.path = f"/api/v1/tenants/{system.tenant}"

    def issue(self, service: str = "A") -> dict[str, Any]:
        response = self.system.http.post(
            f"{self.path}/tickets",
            json={"service": service, "priority": False},
            headers={**self.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def call(self, ticket_id: str, counter: int) -> dict[str, Any]:
        response = self.system.http.post(
            f"{self.path}/tickets/{ticket_id}/call",
            json={"counter": counter},
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def call_next(self, counter: int) -> dict[str, Any]:
        response = self.system.http.post(
            f"{self.path}/counters/{counter}/call-next", headers=self.headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


def name_counter(system: RunningSystem, number: int, name: str) -> None:
    """Give a counter the name people know it by (an admin action)."""
    response = system.http.patch(
        f"/api/v1/tenants/{system.tenant}/counters/{number}",
        json={"name": name},
        headers=system.auth(system.login("admin")),
    )
    assert response.status_code == 200, response.text


def device(system: RunningSystem, role: str) -> str:
    """A fresh device of ``role`` (the dev seed already owns the obvious ids)."""
    return system.device_token(role=role, device_id=f"{role}-{uuid.uuid4().hex[:8]}")
