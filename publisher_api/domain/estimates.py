"""Estimated waits from recent service times and the counters that are open.

A deliberately simple model that is easy to explain on a screen: counters serve in parallel, each
ticket takes the recent mean service time, so the ticket at position ``p`` waits about
``p * mean / open_counters``. Without any recent history there is no honest estimate: ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WaitModel:
    mean_service_s: float | None
    open_counters: int

    @classmethod
    def from_history(cls, service_times_s: Sequence[float], open_counters: int) -> WaitModel:
        samples = [s for s in service_times_s if s >= 0]
        mean = sum(samples) / len(samples) if samples else None
        return cls(mean_service_s=mean, open_counters=max(1, open_counters))

    def wait_s(self, position: int) -> int | None:
        """Seconds until the ticket at 1-based ``position`` is called."""
        if self.mean_service_s is None:
            return None
        if position < 1:
            raise ValueError("position is 1-based")
        return round(position * self.mean_service_s / self.open_counters)
