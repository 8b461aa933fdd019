"""Counter use cases: open (or take over), pause, resume, close — through the writer, like ticket
writes, so they are serialized with the calls they govern and published like any other change.

The rules are the domain's (:mod:`publisher_api.domain.counters`); this module only loads the
counter, applies the command and records what the domain returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from publisher_api.domain import counters as cn
from publisher_api.domain.lifecycle import OPEN_STATUSES
from publisher_api.errors import CounterRefused
from publisher_api.schemas import CounterOut
from publisher_api.services.changes import Change, Operation
from publisher_api.services.tickets import find_counter, held_ticket
from publisher_api.store import records
from publisher_api.store.models import CounterRow, TicketRow
from publisher_api.store.records import CounterRecord
from publisher_api.store.snapshot import Snapshot

SYSTEM = "system"
"""The username recorded for counter changes no operator made (the close of day)."""


def command_op(number: int, command: cn.CounterCommand) -> Operation[CounterOut]:
    """Apply ``command`` to counter ``number``; the counter document after the commit."""

    def op(change: Change) -> Callable[[], CounterOut]:
        if isinstance(command, cn.Open):
            _release_others(change, number, command)
        counter = apply(change, find_counter(change, number), command)
        held = held_ticket(change, number)
        return lambda: _document(counter, None if held is None else change.document(held))

    return op


def apply(change: Change, counter: CounterRecord, command: cn.CounterCommand) -> CounterRecord:
    """Apply one command to ``counter`` inside ``change`` (a refusal changes nothing); the
    counter as the command left it."""
    try:
        state, events = cn.apply(counter.state, command)
    except cn.CounterRefusal as refusal:
        raise CounterRefused.of(refusal) from None
    if not events:
        return counter
    counter = replace(counter, state=state)
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
    return counter


def _release_others(change: Change, number: int, command: cn.Open) -> None:
    """An operator holds one counter: opening another closes the one they held. Checked on the
    target first, so a refused open (held by someone else) releases nothing."""
    try:
        cn.apply(find_counter(change, number).state, command)
    except cn.CounterRefusal as refusal:
        raise CounterRefused.of(refusal) from None
    for other in change.counters():
        if other.number != number and other.state.holder == command.by:
            apply(change, other, cn.Close(by=command.by, at=command.at))


def _document(counter: CounterRecord, open_ticket: Any) -> CounterOut:
    state = counter.state
    return CounterOut(
        number=counter.number,
        name=counter.name,
        status=state.status,
        holder=state.holder,
        pause_reason=state.pause_reason,
        status_since=state.status_since,
        services=counter.service_list,
        open_ticket=open_ticket,
    )


def list_counters(session: Session, tenant: str, snapshot: Snapshot) -> list[CounterOut]:
    """Every counter of ``tenant`` with its state and the ticket it holds (read-only)."""
    rows = session.execute(
        records.select_counters().where(CounterRow.tenant_id == tenant).order_by(CounterRow.number)
    )
    held = session.execute(
        records.select_tickets().where(
            TicketRow.tenant_id == tenant,
            TicketRow.status.in_([s.value for s in OPEN_STATUSES]),
            TicketRow.counter.is_not(None),
        )
    )
    by_counter = {t.state.counter: t for t in map(records.ticket_of, held)}
    return [
        counter_document(counter, snapshot, by_counter.get(counter.number))
        for counter in map(records.counter_of, rows)
    ]


def counter_document(
    counter: CounterRecord, snapshot: Snapshot, held: records.TicketRecord | None
) -> CounterOut:
    ticket = None
    if held is not None and held.state.status in OPEN_STATUSES:
        ticket = snapshot.ticket(held)
    return _document(counter, ticket)
