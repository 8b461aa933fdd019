"""The garbage collector's settings for a process that holds thousands of connections.

Every connection keeps ~100 container objects alive (session, handler, transport, tasks, events).
With CPython's default thresholds (700, 10, 10) a storm of 10,000 connections ran 13 full
collections, each walking every object in the process with the event loop stopped: 3.4 s of the
broker's 7.7 s of CPU, measured with ``gc.callbacks`` (docs/benchmarks.md). Two changes:

- what start-up built (imports, settings, the broker itself) is frozen out of the collector's
  scans, as the API process already does;
- the youngest generation is collected every 20,000 allocations instead of 700, so a storm runs
  a handful of collections instead of hundreds, and full collections (still bounded by CPython's
  own rule: not before the long-lived objects grew by a quarter) a handful too.

Cyclic garbage lives a little longer (at most ~2 million allocations before a full collection);
memory stays bounded by that.

And during a reconnect storm the collector waits (:class:`StormPacing`). A storm builds ~70
tracked objects per screen that all stay alive, so every collection in it walks objects it cannot
free: in a 3,000-screen WebSocket storm, 11 young collections and one of the middle generation
(110 ms, the event loop stopped) were ~200 ms of the storm's ~750 ms of CPU (``gc.callbacks``,
docs/benchmarks.md "Reconnect storms", sixth pass). While connections arrive faster than
:data:`STORM_ARRIVALS` per :data:`STORM_WINDOW_S` the automatic collector is off; it is back on
once they slow down, and runs then, with every screen live. Memory stays bounded: a storm
longer than :data:`STORM_MAX_S`, or one whose connections also end in numbers (a flood that
comes and goes, each closed connection leaving ~40 objects in cycles), gets the collector back
at once, and for at least :data:`STORM_MAX_S` before it may be held off again.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable

YOUNG_THRESHOLD = 20_000
STORM_ARRIVALS = 200
STORM_WINDOW_S = 0.5
"""A storm: at least this many connections within this window (400 a second)."""
STORM_MAX_S = 30.0


def settle_for_connections() -> None:
    """Call once, after start-up, in the process that serves MQTT (never in tests: they build
    many brokers in one process and must collect them)."""
    global _pacing
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    _pacing = StormPacing()


def connection_arrived() -> None:
    """Called for every new connection (the broker's accept): paces the collector in a process
    that :func:`settle_for_connections` settled, nothing elsewhere."""
    if _pacing is not None:
        _pacing.arrived()


def connection_left() -> None:
    """Called for every connection that ends (see :func:`connection_arrived`)."""
    if _pacing is not None:
        _pacing.left()


class StormPacing:
    """Holds the automatic collector off while a storm of connections arrives (see the module)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        disable: Callable[[], None] = gc.disable,
        enable: Callable[[], None] = gc.enable,
    ) -> None:
        self._clock, self._disable, self._enable = clock, disable, enable
        self._window_start = 0.0
        self._arrivals = 0  # in the window that started at _window_start
        self._since_check = 0
        self._left_since_check = 0
        self.holding = False
        self._held_since = 0.0
        self._not_before = 0.0  # after a flood (or the longest storm): no hold until then

    def arrived(self) -> None:
        now = self._clock()
        if now - self._window_start >= STORM_WINDOW_S:
            self._window_start, self._arrivals = now, 0
        self._arrivals += 1
        self._since_check += 1
        if self._arrivals >= STORM_ARRIVALS and not self.holding and now >= self._not_before:
            self.holding, self._held_since, self._since_check = True, now, 0
            self._disable()
            asyncio.get_running_loop().call_later(STORM_WINDOW_S, self.check)

    def left(self) -> None:
        self._left_since_check += 1

    def check(self) -> None:
        """Every :data:`STORM_WINDOW_S` while holding: release once the storm has passed, or
        as soon as connections end in numbers (a flood that comes and goes: each leaves cycles
        only the collector frees), or when it has held for :data:`STORM_MAX_S`."""
        if not self.holding:
            return
        now = self._clock()
        calm = self._since_check < STORM_ARRIVALS
        churn = self._left_since_check >= STORM_ARRIVALS // 2
        self._since_check = self._left_since_check = 0
        if calm or churn or now - self._held_since >= STORM_MAX_S:
            self.holding = False
            if not calm:  # a flood: the collector runs at least as long as it was held off
                self._not_before = now + STORM_MAX_S
            self._enable()
            return
        asyncio.get_running_loop().call_later(STORM_WINDOW_S, self.check)


_pacing: StormPacing | None = None
