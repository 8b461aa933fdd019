"""Many deadlines on one timer (config.deadlines): each fires once, in time order, never when
cancelled; thousands of them arm one timer, not one each."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from config.deadlines import Deadlines, deadlines


async def test_deadlines_fire_in_time_order_and_cancelled_ones_never(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    armed: list[float] = []
    real_call_at = loop.call_at

    def call_at(when: float, callback: Any, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        armed.append(when)
        return real_call_at(when, callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_at", call_at)
    fired: list[str] = []
    room = Deadlines(loop)
    met = [room.add(0.05, lambda: fired.append("met")) for _ in range(1000)]
    late = room.add(0.10, lambda: fired.append("late"))
    early = room.add(0.02, lambda: fired.append("early"))  # earlier than all: re-arms
    assert len(armed) == 2
    for deadline in met:
        deadline.cancel()
    missed = room.add(0.06, lambda: fired.append("missed"))
    await asyncio.sleep(0.2)
    assert fired == ["early", "missed", "late"]
    assert early.expired
    assert missed.expired
    assert late.expired
    assert not any(deadline.expired for deadline in met)
    assert len(room) == 0
    assert len(armed) < 20  # a few re-arms as time passes, not one per deadline (1,003)


async def test_a_deadline_never_fires_before_its_time() -> None:
    loop = asyncio.get_running_loop()
    room = Deadlines(loop)
    fired_at: list[float] = []
    started = loop.time()
    room.add(0.05, lambda: fired_at.append(loop.time()))
    await asyncio.sleep(0.15)
    assert len(fired_at) == 1
    assert fired_at[0] - started >= 0.05 - 0.001


async def test_each_loop_has_its_own_deadlines() -> None:
    assert deadlines() is deadlines()
    assert deadlines().loop is asyncio.get_running_loop()
