"""No ticket stays open forever: what the sweeper ends, decided from plain values and a clock.

- **Call timeout**: a ticket called and never started for longer than the tenant's
  ``call_timeout_s`` (0 disables) becomes ``no_show`` with reason ``call_timeout``. A recall
  restarts the wait (``called_at`` is the latest call).
- **Close of day**: once the tenant's local day has moved on, every ticket created on an earlier
  local day that is still waiting, called or in service is ended with reason ``day_closed``
  (waiting -> cancelled, called -> no_show, in service -> completed), and every counter opened or
  paused on an earlier local day is closed. The next day starts clean and no phone keeps saying
  "your turn".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from protocol import CounterStatus, TicketStatus
from publisher_api.domain.counters import CounterState
from publisher_api.domain.lifecycle import CommandKind, TicketState
from publisher_api.domain.numbering import local_day

CALL_TIMEOUT = "call_timeout"
DAY_CLOSED = "day_closed"

DAY_CLOSE_COMMAND = {
    TicketStatus.WAITING: CommandKind.CANCEL,
    TicketStatus.CALLED: CommandKind.NO_SHOW,
    TicketStatus.IN_SERVICE: CommandKind.COMPLETE,
}


class Expirable(Protocol):
    """A ticket: who it is and its lifecycle state."""

    @property
    def id(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def state(self) -> TicketState: ...


T = TypeVar("T", bound=Expirable)


@dataclass(frozen=True, slots=True)
class Expiry:
    """End ``ticket`` with ``command``, recording ``reason``."""

    ticket_id: str
    command: CommandKind
    reason: str


def expired(
    tickets: Iterable[Expirable], *, now: datetime, timezone: str, call_timeout_s: int
) -> list[Expiry]:
    """Every automatic ending due at ``now``, in a stable order (oldest ticket first). The day
    close wins over the call timeout for a ticket both would end."""
    today = local_day(now, timezone)
    limit = now - timedelta(seconds=call_timeout_s)
    due: list[Expiry] = []
    for ticket in sorted(tickets, key=lambda t: (t.created_at, t.id)):
        state = ticket.state
        command = DAY_CLOSE_COMMAND.get(state.status)
        if command is None:
            continue
        if local_day(ticket.created_at, timezone) < today:
            due.append(Expiry(ticket.id, command, DAY_CLOSED))
        elif (
            call_timeout_s > 0
            and state.status is TicketStatus.CALLED
            and state.started_at is None
            and state.called_at is not None
            and state.called_at <= limit
        ):
            due.append(Expiry(ticket.id, CommandKind.NO_SHOW, CALL_TIMEOUT))
    return due


def counters_to_close(
    counters: Iterable[tuple[int, CounterState]], *, now: datetime, timezone: str
) -> list[int]:
    """Counters left open or paused since an earlier local day (numbers, ascending)."""
    today = local_day(now, timezone)
    return sorted(
        number
        for number, state in counters
        if state.status is not CounterStatus.CLOSED
        and state.status_since is not None
        and local_day(state.status_since, timezone) < today
    )
