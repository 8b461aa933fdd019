"""A tenant's waiting tickets kept so that a change costs work proportional to what changed.

:mod:`~publisher_api.domain.ordering` defines the call order by computing all of it
(``call_order``). That is the truth, and the reference the tests compare against; but a write
that only needs "the next ticket" or "this ticket's place in its line" should not sort thousands
of tickets. :class:`WaitingLines` keeps the same tickets in sorted lists (all priority / all
normal, and the same per service) and answers those questions with a few binary searches:

* Without overdue tickets the call order is a merge of the priority and the normal sequences in
  a pattern that depends only on the policy and the streak (ratio ``n``: ``n - streak`` normal
  ones, then one priority, then ``n`` normal, one priority, ...; strict: every priority first).
  So the number of priority tickets called before the ``k``-th normal one is arithmetic, and a
  ticket's place in its own line is "same-service tickets of its class before it" plus
  "same-service tickets of the other class among those the pattern puts before it".
* With an aging bound, overdue tickets jump ahead of everything. When any ticket is overdue
  (counters have fallen behind the bound: rare, and then temporary) the answers fall back to
  ``call_order`` itself, so they stay exact.

Ties: tickets are ordered by ``(order_key, enqueued_at, id)``; order keys are unique per tenant
(a tenant-wide counter; "front of the line" takes one below the line's smallest).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from collections.abc import Collection, Iterable, Iterator
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, Generic, Protocol, TypeVar

from publisher_api.domain.ordering import (
    InLine,
    PriorityMode,
    PriorityPolicy,
    call_order,
    positions_per_line,
)

L = TypeVar("L", bound="Waiting")


class Waiting(InLine, Protocol):
    """What the lines need of a waiting ticket (an immutable copy: keys must not move while
    the ticket is in a list)."""

    @property
    def id(self) -> str: ...


_Key = tuple[int, datetime, str]


def _key(t: Waiting) -> _Key:
    return (t.order_key, t.enqueued_at, t.id)


class WaitingLines(Generic[L]):
    def __init__(self, tickets: Iterable[L] = ()) -> None:
        self._tickets: dict[str, L] = {}
        self._priority: list[_Key] = []
        self._normal: list[_Key] = []
        self._by_service: dict[str, tuple[list[_Key], list[_Key]]] = {}
        self._enqueued: list[tuple[datetime, int, str]] = []
        for ticket in tickets:
            self.add(ticket)

    # --- changes ------------------------------------------------------------------------------
    def add(self, ticket: L) -> None:
        if ticket.id in self._tickets:
            self.remove(ticket.id)
        self._tickets[ticket.id] = ticket
        key = _key(ticket)
        line = self._by_service.setdefault(ticket.service, ([], []))
        if ticket.priority:
            insort(self._priority, key)
            insort(line[0], key)
        else:
            insort(self._normal, key)
            insort(line[1], key)
        insort(self._enqueued, (ticket.enqueued_at, ticket.order_key, ticket.id))

    def remove(self, ticket_id: str) -> L | None:
        ticket = self._tickets.pop(ticket_id, None)
        if ticket is None:
            return None
        key = _key(ticket)
        line = self._by_service[ticket.service]
        _discard(self._priority if ticket.priority else self._normal, key)
        _discard(line[0] if ticket.priority else line[1], key)
        if not line[0] and not line[1]:
            del self._by_service[ticket.service]
        _discard(self._enqueued, (ticket.enqueued_at, ticket.order_key, ticket.id))
        return ticket

    def copy(self) -> WaitingLines[L]:
        """An independent copy (a committed snapshot keeps one while writes go on): list copies
        are memcpy of pointers, far cheaper than any ordering."""
        other: WaitingLines[L] = WaitingLines()
        other._tickets = dict(self._tickets)
        other._priority = list(self._priority)
        other._normal = list(self._normal)
        other._by_service = {s: (list(p), list(n)) for s, (p, n) in self._by_service.items()}
        other._enqueued = list(self._enqueued)
        return other

    # --- questions ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._tickets)

    def __contains__(self, ticket_id: object) -> bool:
        return ticket_id in self._tickets

    def __iter__(self) -> Iterator[L]:
        return iter(self._tickets.values())

    def get(self, ticket_id: str) -> L | None:
        return self._tickets.get(ticket_id)

    def first_key(self, service: str) -> int | None:
        """The smallest ``order_key`` in ``service``'s line (``None`` when it is empty)."""
        line = self._by_service.get(service)
        if line is None:
            return None
        return min(keys[0][0] for keys in line if keys)

    def count(self, service: str) -> int:
        line = self._by_service.get(service)
        return 0 if line is None else len(line[0]) + len(line[1])

    def order(self, policy: PriorityPolicy, *, streak: int, now: datetime) -> list[L]:
        """The whole call order (what ``ordering.call_order`` gives), as a merge of the sorted
        lists (no sort): for staff lists and follower updates, never on the write path."""
        return list(self.walk(policy, streak=streak, now=now))

    def head(
        self,
        policy: PriorityPolicy,
        *,
        streak: int,
        now: datetime,
        count: int,
        services: Collection[str] = (),
    ) -> list[L]:
        """The first ``count`` tickets of the call order (of ``services`` only, if given)."""
        return list(islice(self.walk(policy, streak=streak, now=now, services=services), count))

    def walk(
        self,
        policy: PriorityPolicy,
        *,
        streak: int,
        now: datetime,
        services: Collection[str] = (),
    ) -> Iterator[L]:
        """The call order (of ``services`` only, if given), lazily: a merge of the sorted
        lists, so taking the first ``k`` costs ``k`` steps, and a long walk can be split."""
        if self._any_overdue(policy, now):
            chosen = [t for t in self._tickets.values() if not services or t.service in services]
            yield from call_order(chosen, policy, streak=streak, now=now)
            return
        if services:
            lines = [self._by_service[s] for s in services if s in self._by_service]
            priority: Iterable[_Key] = _merged([p for p, _ in lines])
            normal: Iterable[_Key] = _merged([n for _, n in lines])
        else:
            priority, normal = self._priority, self._normal
        tickets = self._tickets
        p_iter, n_iter = iter(priority), iter(normal)
        p_next, n_next = next(p_iter, None), next(n_iter, None)
        while p_next is not None or n_next is not None:
            turn = policy.mode is PriorityMode.STRICT or streak >= policy.normal_per_priority
            if p_next is not None and (n_next is None or turn):
                yield tickets[p_next[2]]
                p_next, streak = next(p_iter, None), 0
            else:
                assert n_next is not None
                yield tickets[n_next[2]]
                n_next, streak = next(n_iter, None), streak + 1

    def position(
        self, ticket_id: str, policy: PriorityPolicy, *, streak: int, now: datetime
    ) -> int:
        """1-based place of a waiting ticket in its own service's line (as
        ``ordering.positions_per_line`` over the whole call order gives it)."""
        ticket = self._tickets[ticket_id]
        if self._any_overdue(policy, now):
            order = self.order(policy, streak=streak, now=now)
            return positions_per_line(order)[next(i for i, t in enumerate(order) if t is ticket)]
        key = _key(ticket)
        own_p, own_n = self._by_service[ticket.service]
        if ticket.priority:
            mine, others, own_other = own_p, self._normal, own_n
            before_mine = bisect_left(self._priority, key)
            others_before = self._normal_before_priority(before_mine, policy, streak)
        else:
            mine, others, own_other = own_n, self._priority, own_p
            before_mine = bisect_left(self._normal, key)
            others_before = self._priority_before_normal(before_mine, policy, streak)
        same_class = bisect_left(mine, key)
        other_class = (
            0 if others_before == 0 else bisect_right(own_other, others[others_before - 1])
        )
        return 1 + same_class + other_class

    # --- the merge pattern --------------------------------------------------------------------
    def _priority_before_normal(self, k: int, policy: PriorityPolicy, streak: int) -> int:
        """How many priority tickets the merge calls before the ``k``-th (0-based) normal one."""
        if policy.mode is PriorityMode.STRICT:
            return len(self._priority)
        gap = max(0, policy.normal_per_priority - streak)
        placed = 0 if k < gap else 1 + (k - gap) // policy.normal_per_priority
        return min(len(self._priority), placed)

    def _normal_before_priority(self, j: int, policy: PriorityPolicy, streak: int) -> int:
        """How many normal tickets the merge calls before the ``j``-th (0-based) priority one."""
        if policy.mode is PriorityMode.STRICT:
            return 0
        gap = max(0, policy.normal_per_priority - streak)
        return min(len(self._normal), gap + j * policy.normal_per_priority)

    def _any_overdue(self, policy: PriorityPolicy, now: datetime) -> bool:
        if policy.aging_bound_s is None or not self._enqueued:
            return False
        return self._enqueued[0][0] <= now - timedelta(seconds=policy.aging_bound_s)


K = TypeVar("K", bound=tuple[Any, ...])


def _discard(items: list[K], key: K) -> None:
    index = bisect_left(items, key)
    if index < len(items) and items[index] == key:
        del items[index]


def _merged(lists: list[list[_Key]]) -> Iterator[_Key]:
    return heapq.merge(*lists)
