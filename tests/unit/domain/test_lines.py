"""WaitingLines against the pure ordering: after any sequence of issues, calls (filtered by
service or not), priority interleaving, transfers (front and back), cancellations and
reactivations, every waiting ticket's place in its line, the head of the call order and the next
ticket of any service filter are exactly what ``call_order`` over the whole list says, with and
without overdue tickets; and a copy taken before a change never sees it."""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from publisher_api.domain.chunked import SharedMap, SortedChunks
from publisher_api.domain.lines import WaitingLines
from publisher_api.domain.ordering import (
    PriorityMode,
    PriorityPolicy,
    call_order,
    choose_next,
    front_key,
    next_streak,
    positions_per_line,
)

SERVICES = ("A", "B", "C")
T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class T:
    id: str
    service: str
    priority: bool
    order_key: int
    enqueued_at: datetime


policies = st.builds(
    PriorityPolicy,
    mode=st.sampled_from(list(PriorityMode)),
    normal_per_priority=st.integers(1, 3),
    aging_bound_s=st.one_of(st.none(), st.integers(30, 300)),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("issue"), st.sampled_from(SERVICES), st.booleans()),
        st.tuples(st.just("call"), st.lists(st.sampled_from(SERVICES), max_size=2)),
        st.tuples(
            st.just("transfer"), st.integers(0, 50), st.sampled_from(SERVICES), st.booleans()
        ),
        st.tuples(st.just("cancel"), st.integers(0, 50)),
        st.tuples(st.just("reactivate"), st.integers(0, 50)),
        st.tuples(st.just("wait"), st.integers(1, 120)),
    ),
    max_size=60,
)


def check(
    lines: WaitingLines[T], waiting: list[T], policy: PriorityPolicy, streak: int, now: datetime
) -> None:
    # Ties (same order key and time: a front-of-line key can equal another line's) go by id,
    # as the lines order them: call_order keeps its input's order for ties.
    waiting = sorted(waiting, key=lambda t: t.id)
    order = call_order(waiting, policy, streak=streak, now=now)
    expected = dict(zip((t.id for t in order), positions_per_line(order), strict=True))
    assert len(lines) == len(waiting)
    for t in waiting:
        assert lines.position(t.id, policy, streak=streak, now=now) == expected[t.id]
    assert lines.head(policy, streak=streak, now=now, count=5) == order[:5]
    assert lines.order(policy, streak=streak, now=now) == order
    for service in SERVICES:
        assert lines.count(service) == sum(t.service == service for t in waiting)
        mine = [t for t in waiting if t.service in (service, "C")]  # sorted by id above
        head = lines.head(policy, streak=streak, now=now, count=1, services=(service, "C"))
        assert head == [choose_next(mine, policy, streak=streak, now=now)] if mine else head == []


@settings(max_examples=150, deadline=None)
@given(policy=policies, streak=st.integers(0, 3), script=steps)
def test_positions_and_heads_match_the_pure_order(
    policy: PriorityPolicy, streak: int, script: list[tuple[object, ...]]
) -> None:
    # Chunks of 2: the shared, copied-on-write chunks split and empty all the time.
    lines: WaitingLines[T] = WaitingLines(chunk=2)
    waiting: list[T] = []
    ended: list[T] = []
    now, counter = T0, 0
    for step in script:
        kind = step[0]
        # A copy taken before the step (a committed snapshot) must not see the step.
        before, before_waiting, before_streak = lines.copy(), list(waiting), streak
        if kind == "issue":
            counter += 1
            t = T(f"t{counter}", str(step[1]), bool(step[2]), counter, now)
            waiting.append(t)
            lines.add(t)
        elif kind == "call":
            services = list(step[1])  # type: ignore[call-overload]
            mine = sorted(
                (t for t in waiting if not services or t.service in services), key=lambda t: t.id
            )
            chosen = choose_next(mine, policy, streak=streak, now=now)
            head = lines.head(policy, streak=streak, now=now, count=1, services=services)
            assert head == ([] if chosen is None else [chosen])
            if chosen is not None:
                waiting.remove(chosen)
                assert lines.remove(chosen.id) == chosen
                streak = next_streak(streak, chosen.priority)
                ended.append(chosen)
        elif kind == "transfer" and waiting:
            old = waiting[int(step[1]) % len(waiting)]  # type: ignore[call-overload]
            target, front = str(step[2]), bool(step[3])
            keys = [t.order_key for t in waiting if t.service == target and t is not old]
            counter += 1
            key = front_key(keys, back_key=counter) if front else counter
            new = T(old.id, target, old.priority, key, now)
            waiting[waiting.index(old)] = new
            lines.add(new)  # replaces the old entry
        elif kind == "cancel" and waiting:
            gone = waiting.pop(int(step[1]) % len(waiting))  # type: ignore[call-overload]
            lines.remove(gone.id)
            ended.append(gone)
        elif kind == "reactivate" and ended:
            back = ended.pop(int(step[1]) % len(ended))  # type: ignore[call-overload]
            counter += 1
            again = T(back.id, back.service, back.priority, counter, now)
            waiting.append(again)
            lines.add(again)
        elif kind == "wait":
            now += timedelta(seconds=int(step[1]))  # type: ignore[call-overload]
        check(lines, waiting, policy, streak, now)
        check(lines.copy(), waiting, policy, streak, now)
        check(before, before_waiting, policy, before_streak, now)


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(st.tuples(st.integers(0, 40), st.text("ab", max_size=2)), max_size=80),
    removals=st.lists(st.integers(0, 79), max_size=40),
)
def test_sorted_chunks_behave_as_a_sorted_list_and_copies_stay_apart(
    items: list[tuple[int, str]], removals: list[int]
) -> None:
    chunks: SortedChunks[tuple[int, str]] = SortedChunks(chunk=3)
    plain: list[tuple[int, str]] = []
    for item in items:
        if item not in plain:
            chunks.add(item)
            insort(plain, item)
    frozen, frozen_plain = chunks.copy(), list(plain)
    for index in removals:
        if plain:
            gone = plain.pop(index % len(plain))
            chunks.discard(gone)
    chunks.discard((99, "zz"))  # absent: nothing happens
    for structure, expected in ((chunks, plain), (frozen, frozen_plain)):
        assert list(structure) == expected
        assert len(structure) == len(expected)
        assert [structure[i] for i in range(len(expected))] == expected
        for probe in [(n, "a") for n in range(-1, 42)]:
            assert structure.bisect_left(probe) == bisect_left(expected, probe)
            assert structure.bisect_right(probe) == bisect_right(expected, probe)


def test_a_shared_map_copy_is_independent() -> None:
    first: SharedMap[int] = SharedMap()
    for n in range(300):
        first.set(f"k{n}", n)
    second = first.copy()
    second.set("k1", -1)
    second.pop("k2")
    second.set("new", 7)
    assert (first.get("k1"), first.get("k2"), first.get("new"), len(first)) == (1, 2, None, 300)
    assert (second["k1"], second.get("k2"), second["new"], len(second)) == (-1, None, 7, 300)
    assert sorted(first.values()) == list(range(300))


@settings(max_examples=300, deadline=None)
@given(
    policy=st.builds(
        PriorityPolicy,
        mode=st.sampled_from(list(PriorityMode)),
        normal_per_priority=st.integers(1, 3),
        aging_bound_s=st.integers(30, 120),
    ),
    streak=st.integers(0, 3),
    tickets=st.lists(
        st.tuples(st.sampled_from(SERVICES), st.booleans(), st.integers(0, 200)),
        min_size=1,
        max_size=40,
    ),
    later=st.integers(0, 200),
)
def test_with_some_tickets_overdue_the_places_match_the_pure_order(
    policy: PriorityPolicy,
    streak: int,
    tickets: list[tuple[str, bool, int]],
    later: int,
) -> None:
    """Order keys and waiting times disagree (transfers and reactivations re-key tickets), so
    the overdue ones are scattered through both classes' lists."""
    waiting = [
        T(f"t{n:02}", service, priority, key, T0 + timedelta(seconds=at))
        for n, (service, priority, at) in enumerate(tickets)
        for key in [(n * 7919) % 101]  # distinct keys, unrelated to the times
    ]
    lines: WaitingLines[T] = WaitingLines(waiting, chunk=3)
    check(lines, waiting, policy, streak, T0 + timedelta(seconds=later + 30))
