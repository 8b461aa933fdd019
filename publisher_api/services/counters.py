"""Counter use cases: open (or take over), pause, resume, close — through the writer, like ticket
writes, so they are serialized with the calls they govern and published like any other change.

The rules are the domain's (:mod:`publisher_api.domain.counters`); this module only loads the
counter, applies the command and records what the domain returned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol import CounterStatus
from publisher_api.domain import counters as cn
from publisher_api.domain.lifecycle import OPEN_STATUSES
from publisher_api.errors import CounterRefused
from publisher_api.schemas import CounterOut
from publisher_api.services.changes import Change, Operation
from publisher_api.services.tickets import counter_state, find_counter, held_ticket
from publisher_api.store import records
from publisher_api.store.models import CounterRow, TicketRow
from publisher_api.store.records import CounterRecord
from publisher_api.store.snapshot import Snapshot

SYSTEM = "system"
"""The username recorded for counter changes no operator made (the close of day)."""


def command_op(number: int, command: cn.CounterCommand) -> Operation[CounterOut]:
    """Apply ``command`` to counter ``number``; the counter document after the commit."""

    def op(change: Change) -> Callable[[], CounterOut]:
        counter = find_counter(change, number)
        if isinstance(command, cn.Open):
            _release_others(change, number, command)
        apply(change, counter, command)
        held = held_ticket(change, number)
        return lambda: _document(counter, None if held is None else change.document(held))

    return op


def apply(change: Change, counter: CounterRecord, command: cn.CounterCommand) -> None:
    """Apply one command to ``counter`` inside ``change`` (a refusal changes nothing)."""
    try:
        state, events = cn.apply(counter_state(counter), command)
    except cn.CounterRefusal as refusal:
        raise CounterRefused.of(refusal) from None
    if not events:
        return
    counter.status = state.status.value
    counter.holder = state.holder
    counter.pause_reason = state.pause_reason
    counter.status_since = state.since
    change.counter_changed(
        counter,
        *(
            {
                "tenant_id": change.tenant.id,
                "counter": counter.number,
                "username": e.username,
                "kind": e.kind.value,
                "reason": e.reason,
                "at": e.at,
            }
            for e in events
        ),
    )


def _release_others(change: Change, number: int, command: cn.Open) -> None:
    """An operator holds one counter: opening another closes the one they held. Checked on the
    target first, so a refused open (held by someone else) releases nothing."""
    try:
        cn.apply(counter_state(find_counter(change, number)), command)
    except cn.CounterRefusal as refusal:
        raise CounterRefused.of(refusal) from None
    for other in change.counters():
        if other.number != number and other.holder == command.by:
            apply(change, other, cn.Close(by=command.by, at=command.at))


def _document(counter: CounterRecord, open_ticket: Any) -> CounterOut:
    return CounterOut(
        number=counter.number,
        name=counter.name,
        status=CounterStatus(counter.status),
        holder=counter.holder,
        pause_reason=counter.pause_reason,
        status_since=counter.status_since,
        services=counter.service_list,
        open_ticket=open_ticket,
    )


def list_counters(session: Session, tenant: str, snapshot: Snapshot) -> list[CounterOut]:
    """Every counter of ``tenant`` with its state and the ticket it holds (read-only)."""
    rows = session.scalars(
        select(CounterRow).where(CounterRow.tenant_id == tenant).order_by(CounterRow.number)
    ).all()
    held = session.execute(
        records.select_tickets().where(
            TicketRow.tenant_id == tenant,
            TicketRow.status.in_([s.value for s in OPEN_STATUSES]),
            TicketRow.counter.is_not(None),
        )
    )
    by_counter = {t.state.counter: t for t in map(records.ticket_of, held)}
    return [counter_document(row, snapshot, by_counter.get(row.number)) for row in rows]


def counter_document(
    row: CounterRow, snapshot: Snapshot, held: records.TicketRecord | None
) -> CounterOut:
    record = CounterRecord(
        id=row.id,
        number=row.number,
        name=row.name,
        status=row.status,
        holder=row.holder,
        pause_reason=row.pause_reason,
        status_since=row.status_since,
        services=row.services,
    )
    ticket = None
    if held is not None and held.state.status in OPEN_STATUSES:
        ticket = snapshot.ticket(held)
    return _document(record, ticket)
