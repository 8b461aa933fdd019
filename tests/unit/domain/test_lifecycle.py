"""Every (status, command) pair of the lifecycle table, h11-style: legal ones land where the
table says with the right event; illegal ones raise and leave the ticket exactly as it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from protocol import TicketStatus
from publisher_api.domain.lifecycle import (
    TRANSITIONS,
    Call,
    Cancel,
    Command,
    CommandKind,
    Complete,
    IllegalTransition,
    NoShow,
    Reactivate,
    Recall,
    Start,
    TicketState,
    Transfer,
    apply,
)

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
AT = T0 + timedelta(minutes=5)

EXPECTED = {
    (TicketStatus.WAITING, CommandKind.CALL): TicketStatus.CALLED,
    (TicketStatus.WAITING, CommandKind.CANCEL): TicketStatus.CANCELLED,
    (TicketStatus.WAITING, CommandKind.TRANSFER): TicketStatus.WAITING,
    (TicketStatus.CALLED, CommandKind.RECALL): TicketStatus.CALLED,
    (TicketStatus.CALLED, CommandKind.START): TicketStatus.IN_SERVICE,
    (TicketStatus.CALLED, CommandKind.COMPLETE): TicketStatus.COMPLETED,
    (TicketStatus.CALLED, CommandKind.NO_SHOW): TicketStatus.NO_SHOW,
    (TicketStatus.CALLED, CommandKind.CANCEL): TicketStatus.CANCELLED,
    (TicketStatus.CALLED, CommandKind.TRANSFER): TicketStatus.WAITING,
    (TicketStatus.IN_SERVICE, CommandKind.COMPLETE): TicketStatus.COMPLETED,
    (TicketStatus.IN_SERVICE, CommandKind.CANCEL): TicketStatus.CANCELLED,
    (TicketStatus.IN_SERVICE, CommandKind.TRANSFER): TicketStatus.WAITING,
    (TicketStatus.NO_SHOW, CommandKind.REACTIVATE): TicketStatus.WAITING,
    (TicketStatus.CANCELLED, CommandKind.REACTIVATE): TicketStatus.WAITING,
}


def ticket_in(status: TicketStatus) -> TicketState:
    """A ticket that reached ``status`` the normal way (fields consistent with it)."""
    called = status not in (TicketStatus.WAITING,)
    return TicketState(
        status=status,
        service="A",
        order_key=7,
        enqueued_at=T0,
        counter=2 if called else None,
        called_at=T0 + timedelta(minutes=1) if called else None,
        started_at=T0 + timedelta(minutes=2)
        if status in (TicketStatus.IN_SERVICE, TicketStatus.COMPLETED)
        else None,
        ended_at=T0 + timedelta(minutes=3)
        if status in (TicketStatus.COMPLETED, TicketStatus.NO_SHOW, TicketStatus.CANCELLED)
        else None,
        call_id="call-old" if called else None,
    )


def command_of(kind: CommandKind) -> Command:
    commands: dict[CommandKind, Command] = {
        CommandKind.CALL: Call(counter=3, call_id="call-new", at=AT),
        CommandKind.RECALL: Recall(call_id="call-new", at=AT),
        CommandKind.START: Start(at=AT),
        CommandKind.COMPLETE: Complete(at=AT),
        CommandKind.NO_SHOW: NoShow(at=AT),
        CommandKind.CANCEL: Cancel(at=AT),
        CommandKind.REACTIVATE: Reactivate(order_key=99, at=AT),
        CommandKind.TRANSFER: Transfer(service="P", order_key=-5, at=AT),
    }
    return commands[kind]


ALL_PAIRS = [(s, c) for s in TicketStatus for c in CommandKind]


def test_table_is_the_issue_lifecycle() -> None:
    table = {(s, c): to for s, row in TRANSITIONS.items() for c, to in row.items()}
    assert table == EXPECTED
    assert set(TRANSITIONS) == set(TicketStatus)


@pytest.mark.parametrize(("status", "kind"), ALL_PAIRS, ids=lambda v: str(v))
def test_every_pair(status: TicketStatus, kind: CommandKind) -> None:
    before = ticket_in(status)
    command = command_of(kind)
    expected = EXPECTED.get((status, kind))
    if expected is None:
        with pytest.raises(IllegalTransition) as info:
            apply(before, command)
        assert info.value.status is status
        assert info.value.command is kind
        assert status.value in str(info.value)
        assert before == ticket_in(status)  # unchanged (and immutable)
        return
    after, events = apply(before, command)
    assert after.status is expected
    (event,) = events
    assert (event.from_status, event.to_status, event.command) == (status, expected, kind)
    assert event.at == AT


def test_call_sets_counter_call_id_and_time() -> None:
    after, (event,) = apply(ticket_in(TicketStatus.WAITING), Call(counter=3, call_id="c1", at=AT))
    assert (after.counter, after.call_id, after.called_at) == (3, "c1", AT)
    assert (event.counter, event.call_id) == (3, "c1")


def test_recall_keeps_called_and_counter_with_a_new_call_id() -> None:
    before = ticket_in(TicketStatus.CALLED)
    after, (event,) = apply(before, Recall(call_id="c2", at=AT))
    assert after.status is TicketStatus.CALLED
    assert after.counter == before.counter
    assert after.call_id == "c2" != before.call_id
    assert event.from_status is event.to_status is TicketStatus.CALLED
    assert event.call_id == "c2"


@pytest.mark.parametrize("kind", [CommandKind.START, CommandKind.COMPLETE, CommandKind.CANCEL])
def test_non_call_events_carry_no_call_id(kind: CommandKind) -> None:
    status = TicketStatus.IN_SERVICE if kind is CommandKind.COMPLETE else TicketStatus.CALLED
    _, (event,) = apply(ticket_in(status), command_of(kind))
    assert event.call_id is None


@pytest.mark.parametrize(
    "status", [TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.IN_SERVICE]
)
def test_transfer_requeues_in_the_new_service_keeping_nothing_of_the_call(
    status: TicketStatus,
) -> None:
    after, _ = apply(ticket_in(status), Transfer(service="P", order_key=-5, at=AT))
    assert (after.status, after.service, after.order_key, after.enqueued_at) == (
        TicketStatus.WAITING,
        "P",
        -5,
        AT,
    )
    assert (after.counter, after.called_at, after.started_at, after.call_id) == (None,) * 4


@pytest.mark.parametrize("status", [TicketStatus.NO_SHOW, TicketStatus.CANCELLED])
def test_reactivate_puts_the_ticket_back_in_its_service(status: TicketStatus) -> None:
    after, _ = apply(ticket_in(status), Reactivate(order_key=99, at=AT))
    assert (after.status, after.service, after.order_key) == (TicketStatus.WAITING, "A", 99)
    assert after.ended_at is None


@pytest.mark.parametrize("kind", [CommandKind.COMPLETE, CommandKind.NO_SHOW, CommandKind.CANCEL])
def test_ending_commands_stamp_ended_at(kind: CommandKind) -> None:
    status = TicketStatus.IN_SERVICE if kind is CommandKind.COMPLETE else TicketStatus.CALLED
    after, _ = apply(ticket_in(status), command_of(kind))
    assert after.ended_at == AT


def test_call_records_who_served_and_requeue_forgets_it() -> None:
    after, _ = apply(ticket_in(TicketStatus.WAITING), Call(counter=3, call_id="c", at=AT, by="ana"))
    assert after.served_by == "ana"
    back, _ = apply(after, Transfer(service="P", order_key=1, at=AT))
    assert back.served_by is None


def test_complete_straight_from_called() -> None:
    after, (event,) = apply(ticket_in(TicketStatus.CALLED), Complete(at=AT))
    assert (after.status, after.started_at, after.ended_at) == (TicketStatus.COMPLETED, None, AT)
    assert event.from_status is TicketStatus.CALLED


@pytest.mark.parametrize(
    ("status", "command"),
    [
        (TicketStatus.CALLED, NoShow(at=AT, reason="call_timeout")),
        (TicketStatus.WAITING, Cancel(at=AT, reason="day_closed")),
        (TicketStatus.IN_SERVICE, Complete(at=AT, reason="day_closed")),
    ],
)
def test_automatic_endings_record_their_reason(status: TicketStatus, command: Command) -> None:
    after, _ = apply(ticket_in(status), command)
    assert after.end_reason == getattr(command, "reason", None)
    again, _ = (
        apply(after, Reactivate(order_key=1, at=AT))
        if after.status
        in (
            TicketStatus.NO_SHOW,
            TicketStatus.CANCELLED,
        )
        else (after, ())
    )
    assert again.status is TicketStatus.COMPLETED or again.end_reason is None
