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
* With an aging bound, overdue tickets jump ahead of everything, oldest first. They are a prefix
  of the tickets sorted by ``enqueued_at`` (kept too), so no sort is needed: the order is that
  prefix, then the same merge over the tickets that are not overdue. The prefix's ``m`` tickets
  are summarised once per state and moment (which are overdue, how many of each class and line,
  the streak after them), then each answer costs binary searches again: ``O(m)`` once instead of
  sorting the whole queue at every question.
* The lists and the id map are :mod:`~publisher_api.domain.chunked` structures: a
  :meth:`WaitingLines.copy` (one per commit, for the snapshot) shares them and costs the same
  whatever the queue length.

Ties: tickets are ordered by ``(order_key, enqueued_at, id)``; order keys are unique per tenant
(a tenant-wide counter; "front of the line" takes one below the line's smallest).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Generic, Protocol, TypeVar

from publisher_api.domain.chunked import CHUNK, SharedMap, SortedChunks
from publisher_api.domain.ordering import (
    InLine,
    PriorityMode,
    PriorityPolicy,
    next_streak,
)

L = TypeVar("L", bound="Waiting")


class Waiting(InLine, Protocol):
    """What the lines need of a waiting ticket (an immutable copy: keys must not move while
    the ticket is in a list)."""

    @property
    def id(self) -> str: ...


_Key = tuple[int, datetime, str]
_Enqueued = tuple[datetime, int, str]
_EPSILON = timedelta(microseconds=1)


def _key(t: Waiting) -> _Key:
    return (t.order_key, t.enqueued_at, t.id)


def _enqueued(t: Waiting) -> _Enqueued:
    return (t.enqueued_at, t.order_key, t.id)


@dataclass(frozen=True, slots=True)
class _Overdue:
    """The overdue tickets at one moment (the first ``count`` by ``enqueued_at``), summarised
    so every question about the rest costs binary searches."""

    count: int
    ids: frozenset[str]
    streak: int
    """The normal streak once they have been called (the merge of the others starts there)."""
    keys: tuple[list[_Key], list[_Key]]
    """Their keys per class (priority, normal), sorted."""
    by_service: dict[str, tuple[list[_Key], list[_Key]]]
    by_service_enqueued: dict[str, list[_Enqueued]]

    def count_in(self, service: str) -> int:
        return len(self.by_service_enqueued.get(service, ()))


_NONE_OVERDUE = _Overdue(0, frozenset(), 0, ([], []), {}, {})


class WaitingLines(Generic[L]):
    def __init__(self, tickets: Iterable[L] = (), *, chunk: int = CHUNK) -> None:
        self._chunk = chunk
        self._tickets: SharedMap[L] = SharedMap()
        self._priority: SortedChunks[_Key] = SortedChunks(chunk=chunk)
        self._normal: SortedChunks[_Key] = SortedChunks(chunk=chunk)
        self._by_service: dict[str, tuple[SortedChunks[_Key], SortedChunks[_Key]]] = {}
        self._enqueued: SortedChunks[_Enqueued] = SortedChunks(chunk=chunk)
        self._overdue: tuple[tuple[int, int, int], _Overdue] | None = None
        """The last overdue summary, for (change count, overdue count, streak given)."""
        self._changes = 0
        for ticket in tickets:
            self.add(ticket)

    # --- changes ------------------------------------------------------------------------------
    def add(self, ticket: L) -> None:
        if ticket.id in self._tickets:
            self.remove(ticket.id)
        self._changes += 1
        self._tickets.set(ticket.id, ticket)
        key = _key(ticket)
        line = self._by_service.get(ticket.service)
        if line is None:
            line = self._by_service[ticket.service] = (
                SortedChunks(chunk=self._chunk),
                SortedChunks(chunk=self._chunk),
            )
        if ticket.priority:
            self._priority.add(key)
            line[0].add(key)
        else:
            self._normal.add(key)
            line[1].add(key)
        self._enqueued.add(_enqueued(ticket))

    def remove(self, ticket_id: str) -> L | None:
        ticket = self._tickets.pop(ticket_id)
        if ticket is None:
            return None
        self._changes += 1
        key = _key(ticket)
        line = self._by_service[ticket.service]
        (self._priority if ticket.priority else self._normal).discard(key)
        (line[0] if ticket.priority else line[1]).discard(key)
        if not line[0] and not line[1]:
            del self._by_service[ticket.service]
        self._enqueued.discard(_enqueued(ticket))
        return ticket

    def copy(self) -> WaitingLines[L]:
        """An independent copy (a committed snapshot keeps one while writes go on). It shares
        the chunks of every list until either side changes one: the cost does not grow with
        the queue."""
        other: WaitingLines[L] = WaitingLines.__new__(WaitingLines)
        other._chunk = self._chunk
        other._tickets = self._tickets.copy()
        other._priority = self._priority.copy()
        other._normal = self._normal.copy()
        other._by_service = {s: (p.copy(), n.copy()) for s, (p, n) in self._by_service.items()}
        other._enqueued = self._enqueued.copy()
        other._overdue = self._overdue
        other._changes = self._changes
        return other

    # --- questions ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._tickets)

    def __contains__(self, ticket_id: object) -> bool:
        return ticket_id in self._tickets

    def __iter__(self) -> Iterator[L]:
        return self._tickets.values()

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
        """The call order (of ``services`` only, if given), lazily: the overdue tickets oldest
        first, then a merge of the sorted lists, so taking the first ``k`` costs ``k`` steps
        (plus the overdue ones), and a long walk can be split."""
        tickets = self._tickets
        overdue = self._overdue_at(policy, now, streak)
        skip = overdue.ids
        if overdue.count:
            for _, _, ticket_id in self._enqueued.head(overdue.count):
                ticket = tickets[ticket_id]
                if not services or ticket.service in services:
                    streak = next_streak(streak, ticket.priority)
                    yield ticket
        if services:
            lines = [self._by_service[s] for s in services if s in self._by_service]
            priority: Iterable[_Key] = heapq.merge(*(p for p, _ in lines))
            normal: Iterable[_Key] = heapq.merge(*(n for _, n in lines))
        else:
            priority, normal = self._priority, self._normal
        if skip:
            priority = (k for k in priority if k[2] not in skip)
            normal = (k for k in normal if k[2] not in skip)
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
        overdue = self._overdue_at(policy, now, streak)
        service = ticket.service
        if ticket_id in overdue.ids:
            # Among the overdue, oldest first: the older ones of its line are ahead of it.
            older = overdue.by_service_enqueued.get(service, [])
            return 1 + bisect_left(older, _enqueued(ticket))
        key = _key(ticket)
        streak = overdue.streak if overdue.count else streak
        od_p, od_n = overdue.keys
        od_line_p, od_line_n = overdue.by_service.get(service, ([], []))
        n_priority = len(self._priority) - len(od_p)
        n_normal = len(self._normal) - len(od_n)
        own_p, own_n = self._by_service[service]
        if ticket.priority:
            mine, others, own_other = own_p, self._normal, own_n
            od_mine, od_others, od_own_other = od_line_p, od_n, od_line_n
            before_mine = self._priority.bisect_left(key) - bisect_left(od_p, key)
            others_before = _normal_before_priority(before_mine, policy, streak, n_normal)
        else:
            mine, others, own_other = own_n, self._priority, own_p
            od_mine, od_others, od_own_other = od_line_n, od_p, od_line_p
            before_mine = self._normal.bisect_left(key) - bisect_left(od_n, key)
            others_before = _priority_before_normal(before_mine, policy, streak, n_priority)
        same_class = mine.bisect_left(key) - bisect_left(od_mine, key)
        other_class = 0
        if others_before:
            last = _nth_not_overdue(others, od_others, others_before)
            other_class = own_other.bisect_right(last) - bisect_right(od_own_other, last)
        return 1 + overdue.count_in(service) + same_class + other_class

    # --- aging --------------------------------------------------------------------------------
    def _overdue_at(self, policy: PriorityPolicy, now: datetime, streak: int) -> _Overdue:
        """Which tickets are overdue at ``now``: the first ``m`` by ``enqueued_at``; summarised
        once per state (the summary is kept until the lines change or ``m`` does)."""
        if policy.aging_bound_s is None or not self._enqueued:
            return _NONE_OVERDUE
        limit = now - timedelta(seconds=policy.aging_bound_s) + _EPSILON
        count = self._enqueued.bisect_left((limit,))  # type: ignore[arg-type]
        if count == 0:
            return _NONE_OVERDUE
        cached = self._overdue
        if cached is not None and cached[0] == (self._changes, count, streak):
            return cached[1]
        summary = self._summarise(count, streak)
        self._overdue = ((self._changes, count, streak), summary)
        return summary

    def _summarise(self, count: int, streak: int) -> _Overdue:
        ids: set[str] = set()
        keys: tuple[list[_Key], list[_Key]] = ([], [])
        by_service: dict[str, tuple[list[_Key], list[_Key]]] = {}
        by_service_enqueued: dict[str, list[_Enqueued]] = {}
        for entry in self._enqueued.head(count):
            ticket = self._tickets[entry[2]]
            ids.add(ticket.id)
            streak = next_streak(streak, ticket.priority)
            cls = 0 if ticket.priority else 1
            keys[cls].append(_key(ticket))
            by_service.setdefault(ticket.service, ([], []))[cls].append(_key(ticket))
            by_service_enqueued.setdefault(ticket.service, []).append(entry)  # already in order
        # Only the overdue ones are sorted by key (a few, unless counters fell far behind).
        for group in (keys, *by_service.values()):
            group[0].sort()
            group[1].sort()
        return _Overdue(count, frozenset(ids), streak, keys, by_service, by_service_enqueued)


# --- the merge pattern ------------------------------------------------------------------------
def _priority_before_normal(k: int, policy: PriorityPolicy, streak: int, priority: int) -> int:
    """How many priority tickets (of ``priority`` in the merge) the merge calls before the
    ``k``-th (0-based) normal one."""
    if policy.mode is PriorityMode.STRICT:
        return priority
    gap = max(0, policy.normal_per_priority - streak)
    placed = 0 if k < gap else 1 + (k - gap) // policy.normal_per_priority
    return min(priority, placed)


def _normal_before_priority(j: int, policy: PriorityPolicy, streak: int, normal: int) -> int:
    """How many normal tickets (of ``normal`` in the merge) the merge calls before the ``j``-th
    (0-based) priority one."""
    if policy.mode is PriorityMode.STRICT:
        return 0
    gap = max(0, policy.normal_per_priority - streak)
    return min(normal, gap + j * policy.normal_per_priority)


def _nth_not_overdue(keys: SortedChunks[_Key], overdue: list[_Key], n: int) -> _Key:
    """The ``n``-th (1-based) key of ``keys`` that is not in ``overdue`` (sorted, a subset):
    the smallest index ``i`` with ``i + 1 - (overdue keys <= keys[i]) >= n``, by bisection."""
    if not overdue:
        return keys[n - 1]
    low, high = n - 1, min(len(keys) - 1, n - 1 + len(overdue))
    while low < high:
        middle = (low + high) // 2
        if middle + 1 - bisect_right(overdue, keys[middle]) >= n:
            high = middle
        else:
            low = middle + 1
    return keys[low]
