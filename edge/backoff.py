"""Reconnect delays: exponential growth, a cap, and jitter.

Jitter matters when a broker restarts and every screen in a building reconnects: without it
they all come back in the same millisecond, again and again. We use "equal jitter" (half the
delay fixed, half random), so a device never retries sooner than half the nominal delay.
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
        rand: Callable[[], float] = random.random,
    ) -> None:
        if not 0 < initial_s <= cap_s:
            raise ValueError("need 0 < initial_s <= cap_s")
        self.initial_s, self.cap_s, self.factor = initial_s, cap_s, factor
        self._rand = rand
        self._attempt = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; each call counts one more failure."""
        nominal = min(self.cap_s, self.initial_s * self.factor**self._attempt)
        if nominal < self.cap_s:  # stop counting at the cap: the power would overflow one day
            self._attempt += 1
        return nominal / 2 + self._rand() * nominal / 2

    def reset(self) -> None:
        """After a success the next failure starts from the initial delay again."""
        self._attempt = 0
