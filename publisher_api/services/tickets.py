"""Ticket use cases: issue, call-next, and every action on one ticket through :func:`act`.

All actions (call, recall, start, complete, no-show, cancel, reactivate, transfer, and the PATCH
status flow) funnel into :meth:`TicketService.apply_action`, which turns a request into a domain
command, applies the transition table and persists the result: one code path, one set of rules.
Every call also passes the counter's rules (open, held by the caller, at most one open ticket).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import assert_never

from protocol import CallRecord, Ticket, TicketStatus
from publisher_api.domain import counters as cn
from publisher_api.domain import lifecycle as lc
from publisher_api.domain.numbering import label, local_day, next_number
from publisher_api.domain.ordering import front_key, next_streak
from publisher_api.domain.service_rules import PriorityNotTaken, check_issue
from publisher_api.errors import CounterRefused, Invalid, NotFound
from publisher_api.metrics import Metrics
from publisher_api.services.changes import Change, Operation, PendingEvent, Writer
from publisher_api.store.records import CounterRecord, ServiceRecord, TicketRecord
from publisher_api.store.snapshot import NO_ESTIMATE, build_snapshot, policy_of, ticket_document


@dataclass(frozen=True, slots=True)
class Action:
    """What an operator asked for. ``counter``, ``by`` (who calls) and ``close`` (what to do
    with the ticket the counter still holds) are for call; ``service``/``placement`` for
    transfer; ``reason`` records why an automatic ending happened."""

    kind: lc.CommandKind
    counter: int | None = None
    service: str | None = None
    placement: lc.Placement = lc.Placement.BACK
    by: str | None = None
    close: cn.CloseOutcome | None = None
    reason: str | None = None


# The PATCH {status} flow: which command leads to each status.
COMMAND_FOR_STATUS = {
    TicketStatus.CALLED: lc.CommandKind.CALL,
    TicketStatus.IN_SERVICE: lc.CommandKind.START,
    TicketStatus.COMPLETED: lc.CommandKind.COMPLETE,
    TicketStatus.NO_SHOW: lc.CommandKind.NO_SHOW,
    TicketStatus.CANCELLED: lc.CommandKind.CANCEL,
    TicketStatus.WAITING: lc.CommandKind.REACTIVATE,
}


@dataclass(frozen=True, slots=True)
class Issued:
    ticket: Ticket
    replayed: bool  # an Idempotency-Key seen before: the original ticket, nothing new


class TicketService:
    def __init__(self, writer: Writer, metrics: Metrics | None = None) -> None:
        self.writer = writer
        self.metrics = metrics

    # Each use case comes in two forms: ``issue`` / ``act`` / ``call_next`` run one operation in
    # its own transaction; ``*_op`` build the operation itself, which the batching writer runs
    # together with others in one transaction (group commit, see services.batching).

    def issue(
        self,
        tenant_id: str,
        *,
        service: str,
        priority: bool,
        idempotency_key: str | None = None,
        now: datetime | None = None,
    ) -> Issued:
        op = self.issue_op(service=service, priority=priority, idempotency_key=idempotency_key)
        return self.writer.run(tenant_id, op, now=now)

    def act(
        self, tenant_id: str, ticket_id: str, action: Action, *, now: datetime | None = None
    ) -> Ticket:
        return self.writer.run(tenant_id, self.act_op(ticket_id, action), now=now)

    def call_next(
        self,
        tenant_id: str,
        counter: int,
        services: Sequence[str] = (),
        *,
        by: str,
        close: cn.CloseOutcome | None = None,
        now: datetime | None = None,
    ) -> Ticket | None:
        operation = self.call_next_op(counter, services, by=by, close=close)
        return self.writer.run(tenant_id, operation, now=now)

    def issue_op(
        self, *, service: str, priority: bool, idempotency_key: str | None = None
    ) -> Operation[Issued]:
        def op(change: Change) -> Callable[[], Issued]:
            if idempotency_key is not None:
                existing = change.ticket_by_idempotency_key(idempotency_key)
                if existing is not None:
                    # Same key, same ticket, whatever happened to it since; nothing changes.
                    if change.current is None and idempotency_key not in change.issued_by_key:
                        # No committed snapshot to read its position from after the commit.
                        document = build_snapshot(change.connection, change.tenant, change.now)
                        return lambda: Issued(document.ticket(existing), replayed=True)
                    return lambda: Issued(change.document(existing), replayed=True)
            issued = _new_ticket(change, _service(change, service), priority, idempotency_key)
            change.issue(
                issued, PendingEvent(issued, None, TicketStatus.WAITING, None, None, change.now)
            )
            if self.metrics is not None:
                change.after_commit.append(self.metrics.tickets_issued.labels(change.tenant.id).inc)
            return lambda: Issued(change.document(issued), replayed=False)

        return op

    def act_op(self, ticket_id: str, action: Action) -> Operation[Ticket]:
        def op(change: Change) -> Callable[[], Ticket]:
            row = change.ticket(ticket_id)
            if row is None:
                raise NotFound("ticket", ticket_id)
            after = self.apply_action(change, row, action)
            return lambda: change.document(after)

        return op

    def call_next_op(
        self,
        counter: int,
        services: Sequence[str] = (),
        *,
        by: str,
        close: cn.CloseOutcome | None = None,
    ) -> Operation[Ticket | None]:
        """Call the next ticket at ``counter``, from ``services`` (default: the services the
        counter serves; none assigned: all). Atomic: the checks, the choice and the call happen
        in one write transaction, so racing operators never get the same ticket and a counter
        never holds two. ``None`` when nothing waits (and then nothing changes)."""

        def op(change: Change) -> Callable[[], Ticket | None]:
            record = find_counter(change, counter)
            lines = list(services) or record.service_list
            for prefix in services:
                _service(change, prefix)
            closing = _check_call(change, record, by, close)
            tenant = change.tenant
            head = change.lines().head(
                policy_of(tenant),
                streak=tenant.normal_streak,
                now=change.now,
                count=1,
                services=lines,
            )
            if not head:
                return lambda: None
            chosen = change.ticket(head[0].id)
            assert chosen is not None, "a waiting ticket is an unfinished ticket of the tenant"
            self._close_open_ticket(change, closing)
            call = Action(lc.CommandKind.CALL, counter=counter, by=by)
            after = self.apply_action(change, chosen, call, checked=True)
            return lambda: change.document(after)

        return op

    def _close_open_ticket(
        self, change: Change, closing: tuple[TicketRecord, lc.CommandKind] | None
    ) -> None:
        if closing is not None:
            row, kind = closing
            self.apply_action(change, row, Action(kind))

    def apply_action(
        self, change: Change, row: TicketRecord, action: Action, *, checked: bool = False
    ) -> TicketRecord:
        """Apply ``action`` to ``row``; returns the ticket as this action left it (a new
        record: ``row`` is frozen). A call is first checked against its counter (``checked``:
        the caller did it already) and closes the counter's open ticket with the caller's
        outcome."""
        if action.kind is lc.CommandKind.CALL and not checked:
            lc.check(row.state.status, action.kind)
            if action.counter is None:
                raise Invalid("calling a ticket needs a counter", field="counter")
            record = find_counter(change, action.counter)
            self._close_open_ticket(
                change, _check_call(change, record, action.by or "", action.close)
            )
        command = self._command(change, row, action)
        state, events = lc.apply(row.state, command)
        after = replace(row, state=state)
        if isinstance(command, lc.Call | lc.Recall):
            _record_call(change, after)
        if isinstance(command, lc.Call):
            change.tenant.normal_streak = next_streak(change.tenant.normal_streak, row.priority)
        change.ticket_changed(
            after,
            *(
                PendingEvent(after, e.from_status, e.to_status, e.counter, e.call_id, e.at)
                for e in events
            ),
        )
        if self.metrics is not None and isinstance(command, lc.Call | lc.Recall):
            self._count_call(change, after, first_call=isinstance(command, lc.Call))
        return after

    def _command(self, change: Change, row: TicketRecord, action: Action) -> lc.Command:
        at = change.now
        match action.kind:
            case lc.CommandKind.CALL:
                if action.counter is None:
                    raise Invalid("calling a ticket needs a counter", field="counter")
                return lc.Call(counter=action.counter, call_id=_new_id(), at=at, by=action.by)
            case lc.CommandKind.RECALL:
                return lc.Recall(call_id=_new_id(), at=at)
            case lc.CommandKind.START:
                return lc.Start(at=at)
            case lc.CommandKind.COMPLETE:
                return lc.Complete(at=at, reason=action.reason)
            case lc.CommandKind.NO_SHOW:
                return lc.NoShow(at=at, reason=action.reason)
            case lc.CommandKind.CANCEL:
                return lc.Cancel(at=at, reason=action.reason)
            case lc.CommandKind.REACTIVATE:
                lc.check(row.state.status, action.kind)
                return lc.Reactivate(order_key=_back_key(change), at=at)
            case lc.CommandKind.TRANSFER:
                if action.service is None:
                    raise Invalid("a transfer needs the target service", field="service")
                target = _service(change, action.service)
                lc.check(row.state.status, action.kind)
                return lc.Transfer(
                    service=target.prefix, order_key=_placement_key(change, target, action), at=at
                )
            case _:  # pragma: no cover - mypy proves every action is handled
                assert_never(action.kind)

    def _count_call(self, change: Change, row: TicketRecord, *, first_call: bool) -> None:
        metrics, tenant, waited = self.metrics, change.tenant.id, None
        assert metrics is not None
        called_at = row.state.called_at
        if first_call and called_at is not None:
            waited = (called_at - row.created_at).total_seconds()

        def record() -> None:
            metrics.tickets_called.labels(tenant).inc()
            if waited is not None:
                metrics.wait_time.labels(tenant).observe(waited)

        change.after_commit.append(record)


def _new_id() -> str:
    return uuid.uuid4().hex


def _back_key(change: Change) -> int:
    change.tenant.order_counter += 1
    return change.tenant.order_counter


def _placement_key(change: Change, target: ServiceRecord, action: Action) -> int:
    if action.placement is lc.Placement.BACK:
        return _back_key(change)
    first = change.lines().first_key(target.prefix)
    return front_key([] if first is None else [first], back_key=_back_key(change))


def _service(change: Change, prefix: str) -> ServiceRecord:
    service = change.service(prefix)
    if service is None:
        raise NotFound("service", prefix)
    return service


def _counter_names(change: Change) -> dict[int, str]:
    return {c.number: c.name for c in change.counters()}


def find_counter(change: Change, number: int) -> CounterRecord:
    """The counter; 404 if the tenant has no such counter."""
    counter = change.counter(number)
    if counter is None:
        raise NotFound("counter", number)
    return counter


def held_ticket(change: Change, number: int) -> TicketRecord | None:
    """The ticket counter ``number`` holds (called or in service there), if any."""
    for row in change.held_tickets():
        if row.state.counter == number and row.state.status in lc.OPEN_STATUSES:
            return row
    return None


def _check_call(
    change: Change, counter: CounterRecord, by: str, close: cn.CloseOutcome | None
) -> tuple[TicketRecord, lc.CommandKind] | None:
    """Refuse a call the counter may not make (closed, paused, held by another, busy without
    an outcome), changing nothing; otherwise what to apply to the ticket it still holds."""
    held = held_ticket(change, counter.number)
    try:
        cn.check_can_call(counter.state, by)
        kind = cn.closing_command(None if held is None else (held.id, held.state.status), close)
    except cn.CounterBusy as busy:
        assert held is not None
        document = ticket_document(held, None, NO_ESTIMATE, _counter_names(change))
        raise CounterRefused.of(busy, ticket=document.model_dump(mode="json")) from None
    except cn.CounterRefusal as refusal:
        raise CounterRefused.of(refusal) from None
    return None if kind is None or held is None else (held, kind)


def _new_ticket(
    change: Change, service: ServiceRecord, priority: bool, idempotency_key: str | None
) -> TicketRecord:
    try:
        check_issue(service.prefix, priority_allowed=service.priority_allowed, priority=priority)
    except PriorityNotTaken as refusal:
        raise Invalid(str(refusal), field="priority") from None
    today = local_day(change.now, change.tenant.timezone)
    number = next_number(service.last_number, service.last_number_day, today)
    service.last_number, service.last_number_day = number, today
    change.numbered(service)
    return TicketRecord(
        id=_new_id(),
        tenant_id=change.tenant.id,
        number=number,
        label=label(service.prefix, number),
        priority=priority,
        created_at=change.now,
        idempotency_key=idempotency_key,
        state=lc.TicketState(
            TicketStatus.WAITING, service.prefix, _back_key(change), enqueued_at=change.now
        ),
    )


def _record_call(change: Change, row: TicketRecord) -> None:
    state = row.state
    assert state.counter is not None
    assert state.call_id is not None
    assert state.called_at is not None
    # A recall at a counter deleted since the call still records a call, under its number.
    counter_name = _counter_names(change).get(state.counter, str(state.counter))
    change.call_made(
        CallRecord(
            call_id=state.call_id,
            ticket_id=row.id,
            number=row.label,
            service=state.service,
            counter=state.counter,
            counter_name=counter_name,
            called_at=state.called_at,
        )
    )
