"""The ticket lifecycle as a transition table, in the style of h11's ``_state.py``.

Everything that decides whether a command is legal, and what status it leads to, lives in
:data:`TRANSITIONS`. :func:`apply` is the only way a ticket changes: it returns the new ticket and
the events to announce, or raises :class:`IllegalTransition` and changes nothing (tickets are
immutable values, so "nothing" is guaranteed rather than hoped for).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TypeAlias, assert_never

from protocol import TicketStatus


class Placement(StrEnum):
    """Where a transferred ticket joins its new queue."""

    FRONT = "front"
    BACK = "back"


class CommandKind(StrEnum):
    CALL = "call"
    RECALL = "recall"
    START = "start"
    COMPLETE = "complete"
    NO_SHOW = "no_show"
    CANCEL = "cancel"
    REACTIVATE = "reactivate"
    TRANSFER = "transfer"


W, C, S = TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.IN_SERVICE
TRANSITIONS: dict[TicketStatus, dict[CommandKind, TicketStatus]] = {
    W: {CommandKind.CALL: C, CommandKind.CANCEL: TicketStatus.CANCELLED, CommandKind.TRANSFER: W},
    C: {
        CommandKind.RECALL: C,
        CommandKind.START: S,
        # An operator who never pressed "start" may still finish: service time then counts
        # from the call.
        CommandKind.COMPLETE: TicketStatus.COMPLETED,
        CommandKind.NO_SHOW: TicketStatus.NO_SHOW,
        CommandKind.CANCEL: TicketStatus.CANCELLED,
        CommandKind.TRANSFER: W,
    },
    S: {
        CommandKind.COMPLETE: TicketStatus.COMPLETED,
        CommandKind.CANCEL: TicketStatus.CANCELLED,
        CommandKind.TRANSFER: W,
    },
    TicketStatus.COMPLETED: {},
    TicketStatus.NO_SHOW: {CommandKind.REACTIVATE: W},
    TicketStatus.CANCELLED: {CommandKind.REACTIVATE: W},
}
"""``{status: {command: new status}}``; a pair missing here is illegal."""

OPEN_STATUSES = frozenset({C, S})
"""A ticket in one of these is held by its counter: at most one per counter."""


def action_name(command: CommandKind) -> str:
    """The command as clients name it (the last segment of its URL: ``no-show``)."""
    return command.value.replace("_", "-")


@dataclass(frozen=True, slots=True)
class TicketState:
    """The parts of a ticket the lifecycle owns. ``order_key`` places a waiting ticket in its
    queue (smaller goes first); ``enqueued_at`` is when it joined that queue (aging)."""

    status: TicketStatus
    service: str
    order_key: int
    enqueued_at: datetime
    counter: int | None = None
    called_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    call_id: str | None = None
    served_by: str | None = None
    end_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Call:
    counter: int
    call_id: str
    at: datetime
    by: str | None = None  # the operator calling: who served the ticket
    kind: CommandKind = CommandKind.CALL


@dataclass(frozen=True, slots=True)
class Recall:
    call_id: str
    at: datetime
    kind: CommandKind = CommandKind.RECALL


@dataclass(frozen=True, slots=True)
class Start:
    at: datetime
    kind: CommandKind = CommandKind.START


@dataclass(frozen=True, slots=True)
class Complete:
    at: datetime
    reason: str | None = None  # why it ended, when not by hand (call_timeout, day_closed)
    kind: CommandKind = CommandKind.COMPLETE


@dataclass(frozen=True, slots=True)
class NoShow:
    at: datetime
    reason: str | None = None  # why it ended, when not by hand (call_timeout, day_closed)
    kind: CommandKind = CommandKind.NO_SHOW


@dataclass(frozen=True, slots=True)
class Cancel:
    at: datetime
    reason: str | None = None  # why it ended, when not by hand (call_timeout, day_closed)
    kind: CommandKind = CommandKind.CANCEL


@dataclass(frozen=True, slots=True)
class Reactivate:
    """Back into the queue; ``order_key`` comes from :mod:`ordering` (the back of the queue)."""

    order_key: int
    at: datetime
    kind: CommandKind = CommandKind.REACTIVATE


@dataclass(frozen=True, slots=True)
class Transfer:
    """To ``service`` as waiting, keeping the number; ``order_key`` encodes front or back."""

    service: str
    order_key: int
    at: datetime
    kind: CommandKind = CommandKind.TRANSFER


Command: TypeAlias = Call | Recall | Start | Complete | NoShow | Cancel | Reactivate | Transfer


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """One change to announce. A recall is ``called -> called`` with a new ``call_id``."""

    from_status: TicketStatus
    to_status: TicketStatus
    command: CommandKind
    counter: int | None
    call_id: str | None
    at: datetime


class IllegalTransition(Exception):
    """The command is not allowed in the ticket's current status; nothing changed."""

    def __init__(self, status: TicketStatus, command: CommandKind) -> None:
        super().__init__(f"cannot {action_name(command)} a ticket that is {status.value}")
        self.status = status
        self.command = command


def allowed_commands(status: TicketStatus) -> frozenset[CommandKind]:
    return frozenset(TRANSITIONS[status])


def check(status: TicketStatus, command: CommandKind) -> TicketStatus:
    """The status ``command`` leads to from ``status``, or :class:`IllegalTransition`. What
    :func:`apply` asks first; a caller asks it too before it spends anything on a command (an
    order key, another ticket closed at the counter), so a refused command touches nothing."""
    target = TRANSITIONS[status].get(command)
    if target is None:
        raise IllegalTransition(status, command)
    return target


def apply(ticket: TicketState, command: Command) -> tuple[TicketState, tuple[StatusChanged, ...]]:
    """Apply one command: the new ticket and its events, or :class:`IllegalTransition`."""
    target = check(ticket.status, command.kind)
    new = _effect(replace(ticket, status=target), command)
    event = StatusChanged(
        from_status=ticket.status,
        to_status=target,
        command=command.kind,
        counter=new.counter,
        call_id=new.call_id if command.kind in (CommandKind.CALL, CommandKind.RECALL) else None,
        at=command.at,
    )
    return new, (event,)


def _effect(ticket: TicketState, command: Command) -> TicketState:
    """The fields each command sets, once the table said it is legal."""
    match command:
        case Call(counter=counter, call_id=call_id, at=at, by=by):
            return replace(ticket, counter=counter, call_id=call_id, called_at=at, served_by=by)
        case Recall(call_id=call_id, at=at):
            return replace(ticket, call_id=call_id, called_at=at)
        case Start(at=at):
            return replace(ticket, started_at=at)
        case (
            Complete(at=at, reason=reason)
            | NoShow(at=at, reason=reason)
            | Cancel(at=at, reason=reason)
        ):
            return replace(ticket, ended_at=at, end_reason=reason)
        case Reactivate(order_key=key, at=at):
            return _requeued(ticket, ticket.service, key, at)
        case Transfer(service=service, order_key=key, at=at):
            return _requeued(ticket, service, key, at)
        case _:  # pragma: no cover - mypy proves every command is handled
            assert_never(command)


def _requeued(ticket: TicketState, service: str, order_key: int, at: datetime) -> TicketState:
    return replace(
        ticket,
        service=service,
        order_key=order_key,
        enqueued_at=at,
        counter=None,
        called_at=None,
        started_at=None,
        ended_at=None,
        call_id=None,
        served_by=None,
        end_reason=None,
    )
