"""One running system (API + separate broker process, dev seed) per test module, and the
operator actions tests perform on it over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.desk import Desk
from tests.support.system import RunningSystem, start_system


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with start_system(tmp_path_factory.mktemp("system"), separate_broker=True) as running:
        yield running


class Operator:
    """The dev seed's operator, moving between counters: each call opens the counter first
    (only an open counter held by its operator calls) and completes what it still holds."""

    def __init__(self, system: RunningSystem) -> None:
        self.system = system
        self.desks: dict[int, Desk] = {}

    def desk(self, counter: int) -> Desk:
        if counter not in self.desks:
            self.desks[counter] = Desk(self.system, counter)
        return self.desks[counter]

    def issue(self, service: str = "A") -> dict[str, Any]:
        return self.desk(1).issue(service)

    def call(self, ticket_id: str, counter: int) -> dict[str, Any]:
        desk = self.desk(counter)
        desk.open()
        return desk.call(ticket_id)

    def call_next(self, counter: int) -> dict[str, Any]:
        desk = self.desk(counter)
        desk.open()
        ticket = desk.call_next()
        assert ticket is not None, "nothing was waiting"
        return ticket


def device(system: RunningSystem, role: str) -> str:
    """A fresh device of ``role`` (the dev seed already owns the obvious ids)."""
    return system.device_token(role=role, device_id=f"{role}-{uuid.uuid4().hex[:8]}")
