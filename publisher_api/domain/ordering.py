"""Which waiting ticket is called next: FIFO, a priority policy, and an aging bound.

The whole call order is computed in one pass (:func:`call_order`), and "the next ticket" is
simply its head (:func:`choose_next`), so the positions a screen shows and the ticket an operator
gets can never disagree.

Rules, in order:

1. **Aging.** A ticket that has waited at least ``aging_bound_s`` is *overdue*; overdue tickets
   go first, oldest first, so no ticket waits longer than the bound behind others that arrived
   later (as long as counters keep calling).
2. **Priority policy.** ``strict``: every priority ticket before any normal one. ``ratio``: after
   ``normal_per_priority`` normal calls in a row, the next call is a priority ticket if one waits
   (2 means 2 normal : 1 priority); otherwise normal tickets go first, and each class is served
   whenever the other is empty. The streak of normal calls is remembered per tenant.
3. **FIFO** within a class by ``order_key`` (a tenant-wide counter; smaller first).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, TypeVar


class PriorityMode(StrEnum):
    STRICT = "strict"
    RATIO = "ratio"


@dataclass(frozen=True, slots=True)
class PriorityPolicy:
    mode: PriorityMode = PriorityMode.RATIO
    normal_per_priority: int = 2
    aging_bound_s: int | None = None

    def __post_init__(self) -> None:
        if self.normal_per_priority < 1:
            raise ValueError("normal_per_priority must be at least 1")
        if self.aging_bound_s is not None and self.aging_bound_s < 1:
            raise ValueError("aging_bound_s must be positive (or None for no bound)")


class Queued(Protocol):
    """What ordering needs to know about a waiting ticket."""

    @property
    def priority(self) -> bool: ...

    @property
    def order_key(self) -> int: ...

    @property
    def enqueued_at(self) -> datetime: ...


T = TypeVar("T", bound=Queued)


def next_streak(streak: int, called_priority: bool) -> int:
    """The tenant's count of consecutive normal calls after one more call."""
    return 0 if called_priority else streak + 1


def call_order(
    waiting: Iterable[T], policy: PriorityPolicy, *, streak: int, now: datetime
) -> list[T]:
    """Every waiting ticket in the order it would be called if nobody new arrived."""
    tickets = list(waiting)
    overdue: list[T] = []
    if policy.aging_bound_s is not None:
        limit = now - timedelta(seconds=policy.aging_bound_s)
        overdue = sorted(
            (t for t in tickets if t.enqueued_at <= limit), key=lambda t: (t.enqueued_at, _key(t))
        )
    chosen = {id(t) for t in overdue}
    priority = sorted((t for t in tickets if t.priority and id(t) not in chosen), key=_key)
    normal = sorted((t for t in tickets if not t.priority and id(t) not in chosen), key=_key)
    order = list(overdue)
    for t in overdue:
        streak = next_streak(streak, t.priority)
    p = n = 0
    while p < len(priority) or n < len(normal):
        if p < len(priority) and (n >= len(normal) or _priority_turn(policy, streak)):
            order.append(priority[p])
            p += 1
            streak = 0
        else:
            order.append(normal[n])
            n += 1
            streak += 1
    return order


def choose_next(
    waiting: Iterable[T], policy: PriorityPolicy, *, streak: int, now: datetime
) -> T | None:
    """The ticket to call now, or ``None`` when nothing waits."""
    order = call_order(waiting, policy, streak=streak, now=now)
    return order[0] if order else None


class InLine(Queued, Protocol):
    @property
    def service(self) -> str: ...


L = TypeVar("L", bound=InLine)


def positions_per_line(order: Sequence[L]) -> list[int]:
    """For each ticket of ``order`` (a :func:`call_order`), its 1-based place in its own
    service's line: 1 + the tickets of the same service called before it. What a customer
    cares about ("people ahead of you") is their own line, not every service's."""
    seen: dict[str, int] = {}
    positions = []
    for ticket in order:
        seen[ticket.service] = seen.get(ticket.service, 0) + 1
        positions.append(seen[ticket.service])
    return positions


def front_key(service_keys: Sequence[int], back_key: int) -> int:
    """An ``order_key`` ahead of every ticket of the target queue (``back_key`` when empty)."""
    return min(service_keys) - 1 if service_keys else back_key


def _priority_turn(policy: PriorityPolicy, streak: int) -> bool:
    return policy.mode is PriorityMode.STRICT or streak >= policy.normal_per_priority


def _key(t: Queued) -> tuple[int, datetime]:
    return (t.order_key, t.enqueued_at)
