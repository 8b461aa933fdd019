"""The API as its own process (``python -m publisher_api``), as in the field: operators racing
``call-next`` over real HTTP never get the same ticket, and after ``kill -9`` and a restart on
the same database every acknowledged ticket is still there. Both on the default SQLite file and
on a real PostgreSQL server given by URL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.postgres import BIN as POSTGRES_BIN
from tests.support.postgres import run_postgres
from tests.support.system import RunningSystem, start_system

# Generous: the machine may be busy with other suites; these tests assert outcomes, not speed.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

TICKETS = 300
OPERATORS = 6


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                POSTGRES_BIN is None, reason="Debian package postgresql is not installed"
            ),
        ),
    ]
)
def system(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningSystem]:
    if request.param == "sqlite":
        with start_system(tmp_path) as running:
            yield running
        return
    with (
        run_postgres() as url,
        start_system(tmp_path, env={"QUEUECAST_DATABASE_URL": url}) as running,
    ):
        yield running


def issue_many(system: RunningSystem, count: int, token: str) -> list[dict[str, Any]]:
    url = f"/api/v1/tenants/{system.tenant}/tickets"
    issued = []
    for i in range(count):
        r = system.http.post(
            url,
            json={"service": "P" if i % 3 == 0 else "A", "priority": i % 6 == 0},
            headers=system.auth(token),
        )
        assert r.status_code == 201, r.text
        issued.append(r.json())
    return issued


def test_racing_operators_never_get_the_same_ticket(system: RunningSystem) -> None:
    token = system.login("operator")
    issued = issue_many(system, TICKETS, token)
    called: list[str] = []
    lock = threading.Lock()
    errors: list[str] = []
    barrier = threading.Barrier(OPERATORS)

    def operator(counter: int) -> None:
        url = f"/api/v1/tenants/{system.tenant}/counters/{counter}/call-next"
        with httpx.Client(base_url=system.base_url, timeout=30) as client:
            barrier.wait()
            while True:
                r = client.post(url, headers=system.auth(token))
                if r.status_code == 204:
                    return
                if r.status_code != 200:
                    errors.append(r.text)
                    return
                with lock:
                    called.append(r.json()["id"])

    threads = [
        threading.Thread(target=operator, args=(1 + i % 3,), daemon=True) for i in range(OPERATORS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not errors
    duplicates = [tid for tid, n in Counter(called).items() if n > 1]
    assert duplicates == []
    assert sorted(called) == sorted(t["id"] for t in issued)  # every ticket, exactly once


def test_kill_9_and_restart_keeps_every_acknowledged_ticket(system: RunningSystem) -> None:
    token = system.login("operator")
    issued = issue_many(system, 50, token)
    called = system.http.post(
        f"/api/v1/tenants/{system.tenant}/counters/2/call-next", headers=system.auth(token)
    ).json()
    totem_token_before = _printed_totem_token(system)

    system.kill_api()
    system.start_api()

    for ticket in issued:
        r = system.http.get(f"/api/v1/tenants/{system.tenant}/tickets/{ticket['id']}")
        assert r.status_code == 200, ticket
        assert r.json()["number"] == ticket["number"]
    r = system.http.get(f"/api/v1/tenants/{system.tenant}/tickets/{called['id']}")
    assert (r.json()["status"], r.json()["counter"]) == ("called", 2)
    # Numbering continues after the restart, never reusing a number of the day.
    after = issue_many(system, 1, system.login("operator"))[0]
    assert after["number"] not in {t["number"] for t in issued if t["service"] == after["service"]}
    # The dev totem token printed at start-up is the same string and still works.
    assert _printed_totem_token(system) == totem_token_before
    r = system.http.post(
        f"/api/v1/tenants/{system.tenant}/tickets",
        json={"service": "A"},
        headers=system.auth(totem_token_before),
    )
    assert r.status_code == 201


def _printed_totem_token(system: RunningSystem) -> str:
    log = system.api.log_path.read_text().splitlines()
    lines = [line for line in log if "totem device" in line]
    assert lines, system.api.log_tail()
    return lines[-1].rsplit(" ", 1)[-1]
