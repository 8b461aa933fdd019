"""Many deadlines on one event-loop timer.

A reconnect storm brings thousands of connections at once, each with a deadline: the API's for
a connection's first request, the broker's for its CONNECT. A timer each is a ``TimerHandle``
(and, under uvloop, a libuv timer) armed and cancelled per connection, and ``asyncio.timeout``
adds a context manager, a reschedule and the task's cancellation bookkeeping around it: 4 % of
the API's CPU per screen in a 10,000-screen storm (py-spy, docs/benchmarks.md "Reconnect
storms", sixth pass). Here the deadlines of one loop sit in one heap served by one timer, armed
for the earliest; a deadline that is met is cancelled by dropping its callback, and leaves the
heap when its time comes.

A deadline fires its callback once, never more than a millisecond before its time; the
callback decides what expiring means (close a connection, log it), so nothing is cancelled
mid-``await``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable

_RESOLUTION_S = 0.001


class Deadline:
    __slots__ = ("_expire", "expired")

    def __init__(self, expire: Callable[[], None]) -> None:
        self._expire: Callable[[], None] | None = expire
        self.expired = False
        """Whether it passed before :meth:`cancel` (its callback ran)."""

    def cancel(self) -> None:
        """Met: the callback will not run (and is let go at once)."""
        self._expire = None

    def _fire(self) -> None:
        expire, self._expire = self._expire, None
        if expire is not None:
            self.expired = True
            expire()


class Deadlines:
    """The deadlines of one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()  # equal times fire in the order they were added
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0

    def __len__(self) -> int:
        """Deadlines not yet come (cancelled ones included until their time)."""
        return len(self._heap)

    def add(self, delay: float, expire: Callable[[], None]) -> Deadline:
        """Call ``expire`` in ``delay`` seconds unless the returned deadline is cancelled."""
        deadline = Deadline(expire)
        when = self.loop.time() + delay
        heapq.heappush(self._heap, (when, next(self._order), deadline))
        if self._timer is None or when < self._timer_at:
            self._arm(when)
        return deadline

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_at(when, self._fire_due)
        self._timer_at = when

    def _fire_due(self) -> None:
        self._timer = None
        heap = self._heap
        # Timers fire at the loop's clock resolution (uvloop's is a millisecond): a deadline
        # due within it is due now, or the timer would be re-armed for a sliver, again.
        now = self.loop.time() + _RESOLUTION_S
        while heap and heap[0][0] <= now:
            heapq.heappop(heap)[2]._fire()
        if heap and self._timer is None:  # a callback may have added (and armed) one
            self._arm(heap[0][0])


_PER_LOOP: dict[asyncio.AbstractEventLoop, Deadlines] = {}


def deadlines() -> Deadlines:
    """The running loop's deadlines (made on first use; a closed loop's are let go)."""
    loop = asyncio.get_running_loop()
    found = _PER_LOOP.get(loop)
    if found is None:
        for old in [old for old in _PER_LOOP if old.is_closed()]:
            del _PER_LOOP[old]
        found = _PER_LOOP[loop] = Deadlines(loop)
    return found
