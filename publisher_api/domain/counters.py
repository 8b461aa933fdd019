"""Counters as a transition table: open (held by one operator), paused (with a reason), closed.

Like the ticket lifecycle, everything that decides whether a counter command is legal lives in
:data:`TRANSITIONS` and :func:`apply`; a refusal raises and changes nothing (states are immutable
values). :func:`check_can_call` is the one rule every call path asks before calling at a counter,
and :func:`closing_command` the one-open-ticket rule: what to do with the ticket a counter still
holds when it calls another.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TypeAlias, assert_never

from protocol import CounterStatus, TicketStatus
from publisher_api.domain.lifecycle import OPEN_STATUSES, IllegalTransition
from publisher_api.domain.lifecycle import TRANSITIONS as TICKET_TRANSITIONS
from publisher_api.domain.lifecycle import CommandKind as TicketCommand


class CounterCommandKind(StrEnum):
    OPEN = "open"
    PAUSE = "pause"
    RESUME = "resume"
    CLOSE = "close"


class CounterEventKind(StrEnum):
    """What the counter's history records (pause time per attendant is computed from it)."""

    OPEN = "open"
    PAUSE = "pause"
    RESUME = "resume"
    CLOSE = "close"
    TAKEOVER = "takeover"


OPEN, PAUSED, CLOSED = CounterStatus.OPEN, CounterStatus.PAUSED, CounterStatus.CLOSED
TRANSITIONS: dict[CounterStatus, dict[CounterCommandKind, CounterStatus]] = {
    CLOSED: {CounterCommandKind.OPEN: OPEN, CounterCommandKind.CLOSE: CLOSED},
    OPEN: {
        CounterCommandKind.OPEN: OPEN,
        CounterCommandKind.PAUSE: PAUSED,
        CounterCommandKind.RESUME: OPEN,
        CounterCommandKind.CLOSE: CLOSED,
    },
    PAUSED: {
        CounterCommandKind.OPEN: OPEN,
        CounterCommandKind.RESUME: OPEN,
        CounterCommandKind.CLOSE: CLOSED,
    },
}
"""``{status: {command: new status}}``. Opening an open counter, resuming an open one and closing
a closed one are no-ops for the holder (a retried request changes nothing); a missing pair is
refused: pausing a closed counter (:class:`CounterClosed`), a paused one (:class:`CounterPaused`),
resuming a closed one (:class:`CounterClosed`)."""


@dataclass(frozen=True, slots=True)
class CounterState:
    """The parts of a counter its commands change (who holds it, since when, why paused); the
    counter's number, name and services are configuration, not state."""

    status: CounterStatus = CounterStatus.CLOSED
    holder: str | None = None
    pause_reason: str | None = None
    status_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Open:
    by: str
    at: datetime
    takeover: bool = False
    kind: CounterCommandKind = CounterCommandKind.OPEN


@dataclass(frozen=True, slots=True)
class Pause:
    by: str
    reason: str
    at: datetime
    kind: CounterCommandKind = CounterCommandKind.PAUSE


@dataclass(frozen=True, slots=True)
class Resume:
    by: str
    at: datetime
    kind: CounterCommandKind = CounterCommandKind.RESUME


@dataclass(frozen=True, slots=True)
class Close:
    """Anyone on staff may close a counter (it only frees it); ``by`` is recorded."""

    by: str
    at: datetime
    kind: CounterCommandKind = CounterCommandKind.CLOSE


CounterCommand: TypeAlias = Open | Pause | Resume | Close


@dataclass(frozen=True, slots=True)
class CounterEvent:
    kind: CounterEventKind
    username: str
    reason: str | None
    at: datetime


class CounterRefusal(Exception):
    """A counter command or a call was refused; nothing changed."""


class CounterClosed(CounterRefusal):
    def __init__(self) -> None:
        super().__init__("the counter is closed: open it first")


class CounterPaused(CounterRefusal):
    def __init__(self, reason: str | None) -> None:
        super().__init__(f"the counter is paused ({reason}): resume it first")
        self.reason = reason


class CounterHeld(CounterRefusal):
    def __init__(self, holder: str) -> None:
        super().__init__(f"the counter is held by {holder}")
        self.holder = holder


class CounterBusy(CounterRefusal):
    """The counter still holds an open ticket and the caller chose no ``close`` outcome."""

    def __init__(self, ticket_id: str) -> None:
        super().__init__(
            "the counter still holds a ticket: finish it, or call with close=completed|no_show"
        )
        self.ticket_id = ticket_id


def apply(
    state: CounterState, command: CounterCommand
) -> tuple[CounterState, tuple[CounterEvent, ...]]:
    """The counter after ``command`` and what to record, or a :class:`CounterRefusal`."""
    target = TRANSITIONS[state.status].get(command.kind)
    if target is None:
        raise _refusal(state)
    match command:
        case Open(by=by, at=at, takeover=takeover):
            if state.holder == by and state.status is CounterStatus.OPEN:
                return state, ()
            if state.holder not in (None, by) and state.status is not CounterStatus.CLOSED:
                if not takeover:
                    raise CounterHeld(state.holder)
                kind = CounterEventKind.TAKEOVER
            else:
                kind = CounterEventKind.OPEN
            opened = CounterState(CounterStatus.OPEN, holder=by, pause_reason=None, status_since=at)
            return opened, (CounterEvent(kind, by, None, at),)
        case Pause(by=by, reason=reason, at=at):
            _held_by(state, by)
            paused = replace(state, status=target, pause_reason=reason, status_since=at)
            return paused, (CounterEvent(CounterEventKind.PAUSE, by, reason, at),)
        case Resume(by=by, at=at):
            _held_by(state, by)
            if state.status is CounterStatus.OPEN:
                return state, ()
            resumed = replace(state, status=target, pause_reason=None, status_since=at)
            return resumed, (CounterEvent(CounterEventKind.RESUME, by, None, at),)
        case Close(by=by, at=at):
            if state.status is CounterStatus.CLOSED:
                return state, ()
            return CounterState(CounterStatus.CLOSED, status_since=at), (
                CounterEvent(CounterEventKind.CLOSE, by, None, at),
            )
        case _:  # pragma: no cover - mypy proves every command is handled
            assert_never(command)


def check_can_call(state: CounterState, by: str) -> None:
    """Refuse a call at a counter that is closed, paused, or held by someone else."""
    if state.status is CounterStatus.CLOSED:
        raise CounterClosed()
    if state.status is CounterStatus.PAUSED:
        raise CounterPaused(state.pause_reason)
    _held_by(state, by)


def _held_by(state: CounterState, by: str) -> None:
    if state.holder is not None and state.holder != by:
        raise CounterHeld(state.holder)


def _refusal(state: CounterState) -> CounterRefusal:
    if state.status is CounterStatus.PAUSED:
        return CounterPaused(state.pause_reason)
    return CounterClosed()


# --- one open ticket per counter --------------------------------------------------------------


class CloseOutcome(StrEnum):
    """How a caller ends the ticket its counter still holds when it calls the next one."""

    COMPLETED = "completed"
    NO_SHOW = "no_show"


_CLOSING = {
    CloseOutcome.COMPLETED: TicketCommand.COMPLETE,
    CloseOutcome.NO_SHOW: TicketCommand.NO_SHOW,
}


def closing_command(
    open_ticket: tuple[str, TicketStatus] | None, close: CloseOutcome | None
) -> TicketCommand | None:
    """What to apply to the counter's open ticket (``(id, status)``) before it calls another:
    nothing when it holds none; the command for ``close`` otherwise (in the same transaction as
    the call); :class:`CounterBusy` when it holds one and ``close`` is not given; and
    :class:`IllegalTransition` when the outcome does not fit the ticket (no-show of a customer
    already in service)."""
    if open_ticket is None:
        return None
    ticket_id, status = open_ticket
    if status not in OPEN_STATUSES:
        raise ValueError(f"ticket {ticket_id} is {status.value}, not open")
    if close is None:
        raise CounterBusy(ticket_id)
    command = _CLOSING[close]
    if command not in TICKET_TRANSITIONS[status]:
        raise IllegalTransition(status, command)
    return command
