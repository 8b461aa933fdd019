"""Every (counter status, command) pair, h11-style, and the one-open-ticket rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from protocol import CounterStatus, TicketStatus
from publisher_api.domain.counters import (
    TRANSITIONS,
    Close,
    CloseOutcome,
    CounterBusy,
    CounterClosed,
    CounterCommand,
    CounterCommandKind,
    CounterEventKind,
    CounterHeld,
    CounterPaused,
    CounterState,
    Open,
    Pause,
    Resume,
    apply,
    check_can_call,
    closing_command,
)
from publisher_api.domain.lifecycle import CommandKind, IllegalTransition

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AT = T0 + timedelta(minutes=5)
OPEN, PAUSED, CLOSED = CounterStatus.OPEN, CounterStatus.PAUSED, CounterStatus.CLOSED

EXPECTED = {
    (CLOSED, CounterCommandKind.OPEN): OPEN,
    (CLOSED, CounterCommandKind.CLOSE): CLOSED,
    (OPEN, CounterCommandKind.OPEN): OPEN,
    (OPEN, CounterCommandKind.PAUSE): PAUSED,
    (OPEN, CounterCommandKind.RESUME): OPEN,
    (OPEN, CounterCommandKind.CLOSE): CLOSED,
    (PAUSED, CounterCommandKind.OPEN): OPEN,
    (PAUSED, CounterCommandKind.RESUME): OPEN,
    (PAUSED, CounterCommandKind.CLOSE): CLOSED,
}
REFUSED = {
    (CLOSED, CounterCommandKind.PAUSE): CounterClosed,
    (CLOSED, CounterCommandKind.RESUME): CounterClosed,
    (PAUSED, CounterCommandKind.PAUSE): CounterPaused,
}


def counter_in(status: CounterStatus, holder: str = "ana") -> CounterState:
    if status is CLOSED:
        return CounterState(CLOSED, status_since=T0)
    return CounterState(status, holder, "lunch" if status is PAUSED else None, T0)


def command_of(kind: CounterCommandKind, by: str = "ana") -> CounterCommand:
    commands: dict[CounterCommandKind, CounterCommand] = {
        CounterCommandKind.OPEN: Open(by=by, at=AT),
        CounterCommandKind.PAUSE: Pause(by=by, reason="coffee", at=AT),
        CounterCommandKind.RESUME: Resume(by=by, at=AT),
        CounterCommandKind.CLOSE: Close(by=by, at=AT),
    }
    return commands[kind]


def test_table_is_complete() -> None:
    table = {(s, c): to for s, row in TRANSITIONS.items() for c, to in row.items()}
    assert table == EXPECTED
    assert set(EXPECTED) | set(REFUSED) == {
        (s, c) for s in CounterStatus for c in CounterCommandKind
    }


@pytest.mark.parametrize(
    ("status", "kind"), [(s, c) for s in CounterStatus for c in CounterCommandKind], ids=str
)
def test_every_pair_for_the_holder(status: CounterStatus, kind: CounterCommandKind) -> None:
    before = counter_in(status)
    if (status, kind) in REFUSED:
        with pytest.raises(REFUSED[(status, kind)]):
            apply(before, command_of(kind))
        assert before == counter_in(status)
        return
    after, events = apply(before, command_of(kind))
    assert after.status is EXPECTED[(status, kind)]
    if after == before:
        assert events == ()  # a retried open/resume/close changes nothing
        return
    (event,) = events
    assert (event.username, event.at) == ("ana", AT)
    assert after.status_since == AT
    assert after.holder == (None if after.status is CLOSED else "ana")
    assert (after.pause_reason is not None) == (after.status is PAUSED)


@pytest.mark.parametrize("status", [OPEN, PAUSED])
@pytest.mark.parametrize(
    "kind", [CounterCommandKind.OPEN, CounterCommandKind.PAUSE, CounterCommandKind.RESUME]
)
def test_another_operator_is_refused_naming_the_holder(
    status: CounterStatus, kind: CounterCommandKind
) -> None:
    if (status, kind) in REFUSED:
        return
    with pytest.raises(CounterHeld) as info:
        apply(counter_in(status), command_of(kind, by="bia"))
    assert info.value.holder == "ana"


@pytest.mark.parametrize("status", [OPEN, PAUSED])
def test_takeover_moves_the_counter_to_the_new_operator(status: CounterStatus) -> None:
    after, (event,) = apply(counter_in(status), Open(by="bia", at=AT, takeover=True))
    assert (after.status, after.holder, after.pause_reason) == (OPEN, "bia", None)
    assert event.kind is CounterEventKind.TAKEOVER


def test_anyone_may_close_a_held_counter() -> None:
    after, (event,) = apply(counter_in(OPEN), Close(by="admin", at=AT))
    assert (after.status, after.holder) == (CLOSED, None)
    assert (event.kind, event.username) == (CounterEventKind.CLOSE, "admin")


def test_pause_records_its_reason() -> None:
    after, (event,) = apply(counter_in(OPEN), Pause(by="ana", reason="coffee", at=AT))
    assert (after.pause_reason, event.kind, event.reason) == (
        "coffee",
        CounterEventKind.PAUSE,
        "coffee",
    )


def test_only_the_holder_of_an_open_counter_calls() -> None:
    check_can_call(counter_in(OPEN), "ana")
    with pytest.raises(CounterClosed):
        check_can_call(counter_in(CLOSED), "ana")
    with pytest.raises(CounterPaused) as paused:
        check_can_call(counter_in(PAUSED), "ana")
    assert paused.value.reason == "lunch"
    with pytest.raises(CounterHeld) as held:
        check_can_call(counter_in(OPEN), "bia")
    assert held.value.holder == "ana"


# --- one open ticket per counter ---


def test_a_free_counter_closes_nothing() -> None:
    for close in (None, *CloseOutcome):
        assert closing_command(None, close) is None


@pytest.mark.parametrize("status", [TicketStatus.CALLED, TicketStatus.IN_SERVICE])
def test_a_busy_counter_without_an_outcome_is_refused_with_the_ticket(status: TicketStatus) -> None:
    with pytest.raises(CounterBusy) as info:
        closing_command(("t1", status), None)
    assert info.value.ticket_id == "t1"


@pytest.mark.parametrize(
    ("status", "close", "expected"),
    [
        (TicketStatus.CALLED, CloseOutcome.COMPLETED, CommandKind.COMPLETE),
        (TicketStatus.CALLED, CloseOutcome.NO_SHOW, CommandKind.NO_SHOW),
        (TicketStatus.IN_SERVICE, CloseOutcome.COMPLETED, CommandKind.COMPLETE),
    ],
)
def test_the_chosen_outcome_closes_the_open_ticket(
    status: TicketStatus, close: CloseOutcome, expected: CommandKind
) -> None:
    assert closing_command(("t1", status), close) is expected


def test_a_customer_in_service_cannot_be_a_no_show() -> None:
    with pytest.raises(IllegalTransition):
        closing_command(("t1", TicketStatus.IN_SERVICE), CloseOutcome.NO_SHOW)


def test_an_ended_ticket_is_not_open() -> None:
    with pytest.raises(ValueError, match="not open"):
        closing_command(("t1", TicketStatus.COMPLETED), CloseOutcome.COMPLETED)
