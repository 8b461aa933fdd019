"""Operators racing ``call-next`` over real HTTP until nothing is waiting: the driver of the race
tests on one API process (tests/api/test_race_and_restart.py) and on replicas
(tests/cluster/test_replicas.py). It reports what happened; the tests assert on it."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class Racer:
    """One operator: the server it talks to, its (open) counter, its Authorization header."""

    base_url: str
    counter: int
    headers: dict[str, str]


@dataclass
class RaceResult:
    called: list[str] = field(default_factory=list)
    """Ids of the tickets call-next answered with, every answer counted (a ticket twice = a bug)."""
    errors: list[str] = field(default_factory=list)
    """Answers other than 200 (a ticket) and 204 (nothing waiting), and racers still running."""


def race_call_next(tenant: str, racers: Sequence[Racer], *, timeout_s: float = 120) -> RaceResult:
    """Start every racer at once (a barrier) and let each call its counter's next ticket, closing
    the one before as completed, until the queue answers 204."""
    result = RaceResult()
    lock = threading.Lock()
    barrier = threading.Barrier(len(racers))

    def race(racer: Racer) -> None:
        url = f"/api/v1/tenants/{tenant}/counters/{racer.counter}/call-next?close=completed"
        with httpx.Client(base_url=racer.base_url, timeout=30) as client:
            barrier.wait()
            while True:
                r = client.post(url, headers=racer.headers)
                if r.status_code == 204:
                    return
                with lock:
                    if r.status_code != 200:
                        result.errors.append(f"{r.status_code} {r.text}")
                        return
                    result.called.append(r.json()["id"])

    threads = [threading.Thread(target=race, args=(r,), daemon=True) for r in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout_s)
    with lock:
        result.errors += [
            f"{t.name} still calling after {timeout_s} s" for t in threads if t.is_alive()
        ]
    return result
