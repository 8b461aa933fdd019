"""The API as its own process (``python -m publisher_api``), as in the field: operators racing
``call-next`` over real HTTP never get the same ticket, many requests racing on one counter never
leave it holding two open tickets, and after ``kill -9`` and a restart on the same database every
acknowledged ticket is still there. Both on the default SQLite file and on a real PostgreSQL
server given by URL."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.postgres import BIN as POSTGRES_BIN
from tests.support.race import Racer, race_call_next
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
    # A database of its own on the session's server (an initdb per test took seconds).
    url = request.getfixturevalue("postgres_url")
    with start_system(tmp_path, env={"QUEUECAST_DATABASE_URL": url}) as running:
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


def operators(system: RunningSystem, names: list[str]) -> dict[str, str]:
    """Operators of the tenant (created through the admin API), by name: their tokens."""
    admin = system.auth(system.login("admin"))
    tokens = {}
    for name in names:
        password = f"{name}-password"
        body = {"username": name, "password": password, "role": "operator"}
        r = system.http.post(f"/api/v1/tenants/{system.tenant}/users", json=body, headers=admin)
        assert r.status_code in (201, 409), r.text
        tokens[name] = system.login(name, password)
    return tokens


def open_counter(system: RunningSystem, counter: int, token: str) -> None:
    r = system.http.post(
        f"/api/v1/tenants/{system.tenant}/counters/{counter}/open",
        json={"takeover": True},
        headers=system.auth(token),
    )
    assert r.status_code == 200, r.text


def test_racing_operators_never_get_the_same_ticket(system: RunningSystem) -> None:
    token = system.login("operator")
    issued = issue_many(system, TICKETS, token)
    at_counter = list(operators(system, ["op-1", "op-2", "op-3"]).values())
    for counter, holder in enumerate(at_counter, start=1):
        open_counter(system, counter, holder)
    # Two operators per counter.
    racers = [
        Racer(system.base_url, 1 + i % 3, system.auth(at_counter[i % 3])) for i in range(OPERATORS)
    ]
    race = race_call_next(system.tenant, racers, timeout_s=90)
    assert not race.errors
    duplicates = [tid for tid, n in Counter(race.called).items() if n > 1]
    assert duplicates == []
    assert sorted(race.called) == sorted(t["id"] for t in issued)  # every ticket, exactly once


def test_kill_9_and_restart_keeps_every_acknowledged_ticket(system: RunningSystem) -> None:
    token = system.login("operator")
    issued = issue_many(system, 50, token)
    open_counter(system, 2, token)
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


RACERS = 8
ROUNDS = 25


def test_racing_requests_on_one_counter_never_leave_two_open_tickets(
    system: RunningSystem,
) -> None:
    """Two operators fight over counter 1 (open with takeover, call-next, call a chosen ticket,
    with and without a close outcome, start, complete) while a watcher reads the counter's open
    tickets the whole time: it never sees two, and neither does the end state."""
    tokens = operators(system, ["racer-a", "racer-b"])
    issue_many(system, 120, system.login("operator"))
    base = f"/api/v1/tenants/{system.tenant}"
    open_tickets = f"{base}/tickets?counter=1&status=called&status=in_service&limit=100"
    seen: list[int] = []
    unexpected: list[str] = []
    done = threading.Event()
    barrier = threading.Barrier(RACERS + 1)

    def watcher() -> None:
        with httpx.Client(base_url=system.base_url, timeout=30) as client:
            headers = system.auth(tokens["racer-a"])
            barrier.wait()
            while not done.is_set():
                seen.append(len(client.get(open_tickets, headers=headers).json()))

    def racer(index: int) -> None:
        name = "racer-a" if index % 2 else "racer-b"
        headers = system.auth(tokens[name])
        chance = random.Random(index)
        with httpx.Client(base_url=system.base_url, timeout=30) as client:
            barrier.wait()
            for _ in range(ROUNDS):
                move = chance.choice(["open", "next", "next", "call", "start", "complete"])
                close = chance.choice([None, "completed", "no_show"])
                if move == "open":
                    r = client.post(
                        f"{base}/counters/1/open", json={"takeover": True}, headers=headers
                    )
                elif move == "next":
                    params = {} if close is None else {"close": close}
                    r = client.post(f"{base}/counters/1/call-next", params=params, headers=headers)
                elif move == "call":
                    waiting = client.get(f"{base}/queue").json()["waiting"]
                    if not waiting:
                        continue
                    body = {"counter": 1, **({} if close is None else {"close": close})}
                    ticket = chance.choice(waiting)["id"]
                    r = client.post(f"{base}/tickets/{ticket}/call", json=body, headers=headers)
                else:
                    held = client.get(open_tickets, headers=headers).json()
                    if not held:
                        continue
                    r = client.post(f"{base}/tickets/{held[0]['id']}/{move}", headers=headers)
                if r.status_code not in (200, 204, 409):
                    unexpected.append(f"{move}: {r.status_code} {r.text}")

    threads = [threading.Thread(target=watcher, daemon=True)]
    threads += [threading.Thread(target=racer, args=(i,), daemon=True) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads[1:]:
        t.join(timeout=200)
    done.set()
    threads[0].join(timeout=30)
    assert unexpected == []
    assert seen  # the watcher did read while the racers ran
    assert max(seen) <= 1
    final = system.http.get(open_tickets, headers=system.auth(tokens["racer-a"])).json()
    assert len(final) <= 1
    counters = system.http.get(f"{base}/counters", headers=system.auth(tokens["racer-a"])).json()
    counter_1 = next(c for c in counters if c["number"] == 1)
    assert (counter_1["open_ticket"] or {}).get("id") == (final[0]["id"] if final else None)


def _printed_totem_token(system: RunningSystem) -> str:
    log = system.api.log_path.read_text().splitlines()
    lines = [line for line in log if "totem device" in line]
    assert lines, system.api.log_tail()
    return lines[-1].rsplit(" ", 1)[-1]
