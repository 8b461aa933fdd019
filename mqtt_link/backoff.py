"""Reconnect delays: exponential growth, a cap, and jitter.

Jitter matters when a broker restarts and every screen in a building reconnects: without it
they all come back in the same millisecond, again and again. So the first attempt after a loss
already waits a random 0..``spread_s`` seconds ("full jitter": a site's screens arrive evenly
over the window instead of all at once; bounded by ``cap_s``). Later failures back off from
``initial_s``, doubling, with "equal jitter" (half the delay fixed, half random), so a device
never retries sooner than half the nominal delay.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    def __init__(
        self,
        *,
        initial_s: float,
        cap_s: float,
        factor: float = 2.0,
        spread_s: float = 5.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if not 0 < initial_s <= cap_s:
            raise ValueError("need 0 < initial_s <= cap_s")
        if spread_s < 0:
            raise ValueError("need spread_s >= 0")
        self.initial_s, self.cap_s, self.factor = initial_s, cap_s, factor
        self.spread_s = min(spread_s, cap_s)
        self._rand = rand
        self._attempt = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; each call counts one more failure."""
        if self._attempt == 0:  # the first attempt after a loss: spread, not backed off
            self._attempt = 1
            return self._rand() * self.spread_s
        nominal = min(self.cap_s, self.initial_s * self.factor ** (self._attempt - 1))
        if nominal < self.cap_s:  # stop counting at the cap: the power would overflow one day
            self._attempt += 1
        return nominal / 2 + self._rand() * nominal / 2

    def reset(self) -> None:
        """After a success the next failure starts from the initial delay again."""
        self._attempt = 0
