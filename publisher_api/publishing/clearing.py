"""When to clear the retained topic of a ticket that has ended."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field


@dataclass(order=True, frozen=True, slots=True)
class _Due:
    at: float
    tenant: str = field(compare=False)
    ticket_id: str = field(compare=False)


class ClearSchedule:
    """A min-heap of (monotonic time, tenant, ticket). Not thread-safe: the publisher's worker
    thread is its only user."""

    def __init__(self) -> None:
        self._heap: list[_Due] = []
        self._pending: set[tuple[str, str]] = set()

    def schedule(self, tenant: str, ticket_id: str, at: float) -> None:
        if (tenant, ticket_id) in self._pending:
            return
        self._pending.add((tenant, ticket_id))
        heapq.heappush(self._heap, _Due(at, tenant, ticket_id))

    def seconds_until_next(self, now: float) -> float | None:
        return max(0.0, self._heap[0].at - now) if self._heap else None

    def pop_due(self, now: float) -> list[tuple[str, str]]:
        due: list[tuple[str, str]] = []
        while self._heap and self._heap[0].at <= now:
            item = heapq.heappop(self._heap)
            self._pending.discard((item.tenant, item.ticket_id))
            due.append((item.tenant, item.ticket_id))
        return due

    def clear(self) -> None:
        self._heap.clear()
        self._pending.clear()
