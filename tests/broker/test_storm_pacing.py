"""The collector waits out a reconnect storm (broker.heap.StormPacing): off while connections
arrive faster than the storm rate, back on once they slow down, and back on anyway after
STORM_MAX_S, for at least as long, so a flood cannot hold it off for ever."""

from __future__ import annotations

import asyncio

import pytest

import broker.heap
from broker.heap import STORM_ARRIVALS, STORM_MAX_S, STORM_WINDOW_S, StormPacing
from protocol import Role
from tests.broker.harness import BrokerThread, broker_settings, token
from tests.support.mqtt import Recorder


class Collector:
    def __init__(self) -> None:
        self.now = 100.0
        self.calls: list[str] = []

    def pacing(self) -> StormPacing:
        return StormPacing(
            clock=lambda: self.now,
            disable=lambda: self.calls.append("off"),
            enable=lambda: self.calls.append("on"),
        )

    def arrive(self, pacing: StormPacing, count: int, over_s: float) -> None:
        for _ in range(count):
            pacing.arrived()
            self.now += over_s / count


async def test_the_collector_is_off_during_a_storm_and_on_after_it() -> None:
    collector = Collector()
    pacing = collector.pacing()
    collector.arrive(pacing, STORM_ARRIVALS - 1, over_s=STORM_WINDOW_S * 0.9)
    collector.now += STORM_WINDOW_S  # a trickle is no storm
    collector.arrive(pacing, STORM_ARRIVALS - 1, over_s=STORM_WINDOW_S * 0.9)
    assert collector.calls == []
    collector.arrive(pacing, STORM_ARRIVALS, over_s=STORM_WINDOW_S * 0.5)
    assert collector.calls == ["off"]
    assert pacing.holding
    collector.arrive(pacing, STORM_ARRIVALS * 2, over_s=STORM_WINDOW_S)
    pacing.check()  # still storming
    assert collector.calls == ["off"]
    collector.arrive(pacing, 10, over_s=STORM_WINDOW_S)
    pacing.check()  # calm
    assert collector.calls == ["off", "on"]
    assert not pacing.holding
    collector.arrive(pacing, STORM_ARRIVALS, over_s=STORM_WINDOW_S * 0.5)
    assert collector.calls == ["off", "on", "off"]  # the next storm


async def test_a_flood_gets_the_collector_back_after_the_longest_storm() -> None:
    collector = Collector()
    pacing = collector.pacing()
    held_at = collector.now
    while collector.now - held_at < STORM_MAX_S:
        collector.arrive(pacing, STORM_ARRIVALS * 2, over_s=STORM_WINDOW_S)
        pacing.check()
    assert collector.calls == ["off", "on"]
    released_at = collector.now
    while collector.now - released_at < STORM_MAX_S - STORM_WINDOW_S:
        collector.arrive(pacing, STORM_ARRIVALS * 2, over_s=STORM_WINDOW_S)
    assert collector.calls == ["off", "on"]  # not held off again while the flood goes on
    collector.arrive(pacing, STORM_ARRIVALS * 4, over_s=STORM_WINDOW_S * 2)
    assert collector.calls == ["off", "on", "off"]


async def test_a_flood_that_comes_and_goes_gets_the_collector_back_at_once() -> None:
    """Connections that end leave cycles only the collector frees: no holding it off then."""
    collector = Collector()
    pacing = collector.pacing()
    collector.arrive(pacing, STORM_ARRIVALS * 2, over_s=STORM_WINDOW_S)
    for _ in range(STORM_ARRIVALS):
        pacing.left()
    pacing.check()
    assert collector.calls == ["off", "on"]
    collector.arrive(pacing, STORM_ARRIVALS * 2, over_s=STORM_WINDOW_S)
    assert collector.calls == ["off", "on"]  # and not held off again while it goes on


async def test_the_check_runs_by_itself_while_holding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(broker.heap, "STORM_WINDOW_S", 0.05)
    collector = Collector()
    pacing = collector.pacing()
    collector.arrive(pacing, STORM_ARRIVALS, over_s=0.01)
    assert pacing.holding
    await asyncio.sleep(0.3)
    assert collector.calls == ["off", "on"]


@pytest.fixture
def paced(monkeypatch: pytest.MonkeyPatch) -> Collector:
    collector = Collector()
    collector.now = 0.0
    monkeypatch.setattr(broker.heap, "STORM_ARRIVALS", 3)
    monkeypatch.setattr(broker.heap, "_pacing", collector.pacing())
    return collector


def test_every_connection_the_broker_accepts_counts(paced: Collector) -> None:
    running = BrokerThread(broker_settings()).start()
    clients: list[Recorder] = []
    try:
        for _ in range(3):
            clients.append(running.client(token(Role.PUBLIC, "a", "public")).connect())
        # Three connections at once made a (test-sized) storm; it may be over by now.
        assert paced.calls[:1] == ["off"]
    finally:
        for client in clients:
            client.close()
        running.close()
