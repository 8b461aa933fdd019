"""Queue ordering: examples, then hypothesis properties over random arrival/call sequences."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publisher_api.domain.ordering import (
    PriorityMode,
    PriorityPolicy,
    call_order,
    choose_next,
    front_key,
    next_streak,
    positions_per_line,
)

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class T:
    name: str
    priority: bool
    order_key: int
    enqueued_at: datetime = T0


def names(tickets: list[T]) -> str:
    return " ".join(t.name for t in tickets)


def queue(spec: str) -> list[T]:
    """``"n1 p2 n3"`` -> tickets arriving in that order (p = priority)."""
    return [
        T(name, name[0] == "p", i, T0 + timedelta(seconds=i)) for i, name in enumerate(spec.split())
    ]


RATIO_2 = PriorityPolicy(PriorityMode.RATIO, normal_per_priority=2)


def test_fifo_without_priority() -> None:
    assert names(call_order(queue("n1 n2 n3"), RATIO_2, streak=0, now=T0)) == "n1 n2 n3"


def test_strict_calls_every_priority_first() -> None:
    policy = PriorityPolicy(PriorityMode.STRICT)
    order = call_order(queue("n1 n2 p3 n4 p5"), policy, streak=0, now=T0)
    assert names(order) == "p3 p5 n1 n2 n4"


def test_ratio_two_normal_then_one_priority() -> None:
    order = call_order(queue("p1 p2 p3 n4 n5 n6 n7 n8"), RATIO_2, streak=0, now=T0)
    assert names(order) == "n4 n5 p1 n6 n7 p2 n8 p3"


def test_ratio_remembers_the_streak_between_calls() -> None:
    assert names(call_order(queue("n1 p2"), RATIO_2, streak=2, now=T0)) == "p2 n1"
    assert names(call_order(queue("n1 p2"), RATIO_2, streak=1, now=T0)) == "n1 p2"


def test_aging_bound_puts_overdue_tickets_first_oldest_first() -> None:
    policy = PriorityPolicy(PriorityMode.STRICT, aging_bound_s=600)
    tickets = [
        T("n-old", False, 1, T0),
        T("n-older", False, 2, T0 - timedelta(minutes=5)),
        T("p-new", True, 3, T0 + timedelta(minutes=9)),
    ]
    now = T0 + timedelta(minutes=10)
    assert names(call_order(tickets, policy, streak=0, now=now)) == "n-older n-old p-new"
    before_bound = T0 + timedelta(minutes=4)
    assert names(call_order(tickets, policy, streak=0, now=before_bound)) == "p-new n-old n-older"


def test_choose_next_is_the_head_of_the_order_or_none() -> None:
    tickets = queue("n1 p2 n3")
    assert (
        choose_next(tickets, RATIO_2, streak=5, now=T0)
        == call_order(tickets, RATIO_2, streak=5, now=T0)[0]
    )
    assert choose_next([], RATIO_2, streak=0, now=T0) is None


def test_front_key_goes_ahead_of_the_target_queue() -> None:
    assert front_key([5, 3, 9], back_key=20) == 2
    assert front_key([], back_key=20) == 20


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="normal_per_priority"):
        PriorityPolicy(PriorityMode.RATIO, normal_per_priority=0)
    with pytest.raises(ValueError, match="aging_bound_s"):
        PriorityPolicy(PriorityMode.RATIO, aging_bound_s=0)


# --- properties -------------------------------------------------------------------------------

policies = st.builds(
    PriorityPolicy,
    mode=st.sampled_from(PriorityMode),
    normal_per_priority=st.integers(1, 4),
    aging_bound_s=st.one_of(st.none(), st.integers(1, 120)),
)
# A step: a normal arrival, a priority arrival, or a call; each step takes 0..30 s.
steps = st.lists(
    st.tuples(st.sampled_from(["normal", "priority", "call"]), st.integers(0, 30)), max_size=80
)


@dataclass
class CallRecord:
    ticket: T
    at: datetime
    waiting_before: list[T]


def simulate(
    policy: PriorityPolicy, plan: list[tuple[str, int]]
) -> tuple[list[T], list[CallRecord]]:
    """Run the plan, then keep calling until the queue is empty (counters never stop)."""
    waiting: list[T] = []
    arrived: list[T] = []
    calls: list[CallRecord] = []
    streak, now, key = 0, T0, 0

    def call() -> None:
        nonlocal streak
        chosen = choose_next(waiting, policy, streak=streak, now=now)
        if chosen is None:
            return
        calls.append(CallRecord(chosen, now, list(waiting)))
        waiting.remove(chosen)
        streak = next_streak(streak, chosen.priority)

    for action, seconds in plan:
        now += timedelta(seconds=seconds)
        if action == "call":
            call()
        else:
            key += 1
            ticket = T(f"t{key}", action == "priority", key, now)
            waiting.append(ticket)
            arrived.append(ticket)
    while waiting:
        now += timedelta(seconds=10)
        call()
    return arrived, calls


@settings(max_examples=300)
@given(policies, steps)
def test_every_ticket_is_called_exactly_once(
    policy: PriorityPolicy, plan: list[tuple[str, int]]
) -> None:
    arrived, calls = simulate(policy, plan)
    called = [c.ticket.name for c in calls]
    assert len(called) == len(set(called)), "a ticket was called twice"
    assert sorted(called) == sorted(t.name for t in arrived), "a waiting ticket was never called"


@settings(max_examples=300)
@given(st.integers(1, 4), steps)
def test_ratio_holds_over_any_window(n: int, plan: list[tuple[str, int]]) -> None:
    """While both classes wait, every window of k calls holds k/(n+1) priority calls (rounded
    either way): normals are never starved and neither are priority tickets."""
    _, calls = simulate(PriorityPolicy(PriorityMode.RATIO, normal_per_priority=n), plan)
    both = [
        any(t.priority for t in c.waiting_before) and any(not t.priority for t in c.waiting_before)
        for c in calls
    ]
    for start in range(len(calls)):
        for end in range(start + 1, len(calls) + 1):
            if not all(both[start:end]):
                break
            k = end - start
            got = sum(c.ticket.priority for c in calls[start:end])
            assert k // (n + 1) <= got <= -(-k // (n + 1)), (
                start,
                end,
                names([c.ticket for c in calls]),
            )


@settings(max_examples=300)
@given(steps)
def test_strict_never_calls_a_normal_ticket_while_a_priority_one_waits(
    plan: list[tuple[str, int]],
) -> None:
    _, calls = simulate(PriorityPolicy(PriorityMode.STRICT), plan)
    for c in calls:
        if not c.ticket.priority:
            assert not any(t.priority for t in c.waiting_before)


@settings(max_examples=300)
@given(policies.filter(lambda p: p.aging_bound_s is not None), steps)
def test_aging_bound_no_overdue_ticket_is_passed_by_a_later_arrival(
    policy: PriorityPolicy, plan: list[tuple[str, int]]
) -> None:
    assert policy.aging_bound_s is not None
    bound = timedelta(seconds=policy.aging_bound_s)
    _, calls = simulate(policy, plan)
    for c in calls:
        overdue_earlier = [
            t
            for t in c.waiting_before
            if c.at - t.enqueued_at >= bound and t.enqueued_at < c.ticket.enqueued_at
        ]
        assert not overdue_earlier, f"{c.ticket.name} passed overdue {names(overdue_earlier)}"


@settings(max_examples=200)
@given(policies, st.integers(0, 5), st.lists(st.booleans(), max_size=30))
def test_positions_shown_are_the_order_calls_happen(
    policy: PriorityPolicy, streak: int, kinds: list[bool]
) -> None:
    """With nobody new arriving, calling one by one follows the order computed up front."""
    waiting = [T(f"t{i}", p, i, T0 + timedelta(seconds=i)) for i, p in enumerate(kinds)]
    now = T0 + timedelta(seconds=60)
    expected = call_order(waiting, policy, streak=streak, now=now)
    assert sorted(t.name for t in expected) == sorted(t.name for t in waiting)
    got = []
    while waiting:
        chosen = choose_next(waiting, policy, streak=streak, now=now)
        assert chosen is not None
        got.append(chosen)
        waiting.remove(chosen)
        streak = next_streak(streak, chosen.priority)
    assert got == expected


# --- position per line ---


@dataclass(frozen=True)
class S:
    name: str
    service: str
    priority: bool
    order_key: int
    enqueued_at: datetime = T0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("ABC"), st.booleans(), st.integers(0, 3600)), max_size=30),
    st.sampled_from(
        [RATIO_2, PriorityPolicy(PriorityMode.STRICT), PriorityPolicy(aging_bound_s=600)]
    ),
    st.integers(0, 3),
)
def test_position_per_line_counts_only_the_same_service_ahead(
    spec: list[tuple[str, bool, int]], policy: PriorityPolicy, streak: int
) -> None:
    tickets = [
        S(f"t{i}", service, priority, i, T0 - timedelta(seconds=age))
        for i, (service, priority, age) in enumerate(spec)
    ]
    order = call_order(tickets, policy, streak=streak, now=T0)
    positions = positions_per_line(order)
    for index, (ticket, position) in enumerate(zip(order, positions, strict=True)):
        ahead = [t for t in order[:index] if t.service == ticket.service]
        assert position == len(ahead) + 1
    for service in "ABC":
        line = [p for t, p in zip(order, positions, strict=True) if t.service == service]
        assert line == list(range(1, len(line) + 1))  # each line counts 1, 2, 3, ...
        # and the first of each line is who a counter serving only that service calls next,
        # when the policy has no cross-service state to disagree on (FIFO inside one class).
        only = [t for t in tickets if t.service == service and not t.priority]
        if only and all(not t.priority for t in tickets) and policy.aging_bound_s is None:
            first = next(t for t in order if t.service == service)
            assert first == choose_next(only, policy, streak=streak, now=T0)
