"""Build the documents every client sees: the queue snapshot (the retained ``queue_update`` and
``GET .../queue``), single tickets, and the staff's page of the waiting list. One place, so HTTP
and MQTT can never disagree.

Cheap by construction: the writer hands in the tenant's :class:`WaitingLines` (kept in memory and
updated from what each commit changed), so a snapshot costs a few binary searches and the bounded
document (counts, the next ``NEXT_UP`` tickets, counters, last calls), whatever the queue length.
Everything else is reused from the previous snapshot when the change cannot have touched it. The
database is read only to start from nothing (start-up, after a failed transaction, a stale cache).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select

from protocol import (
    NEXT_UP,
    QUEUE_UPDATE_VERSION,
    CallRecord,
    CounterInfo,
    QueueUpdate,
    ServiceQueue,
    Ticket,
    TicketStatus,
    WaitingTicket,
)
from publisher_api.domain.estimates import WaitModel
from publisher_api.domain.lines import WaitingLines
from publisher_api.domain.ordering import (
    PriorityMode,
    PriorityPolicy,
    positions_per_line,
)
from publisher_api.store.branding import branding_of
from publisher_api.store.database import Database
from publisher_api.store.kiosk import Presentation, presentations
from publisher_api.store.models import CallRow, CounterRow, ServiceRow, TicketRow
from publisher_api.store.records import (
    CounterRecord,
    TenantRecord,
    TicketRecord,
    counter_of,
    load_tenant,
    load_waiting_tickets,
    select_counters,
)

LAST_CALLS = 10
SERVICE_TIME_SAMPLES = 20
OPEN_COUNTER_WINDOW = timedelta(minutes=30)
# Estimates move slowly; re-reading service times on every change would cost more than the rest
# of the snapshot together.
WAIT_MODEL_MAX_AGE_S = 5.0


NO_ESTIMATE = WaitModel(mean_service_s=None, open_counters=1)
_CALL_STANDS = frozenset({TicketStatus.CALLED, TicketStatus.IN_SERVICE})


def policy_of(tenant: TenantRecord) -> PriorityPolicy:
    return PriorityPolicy(
        mode=PriorityMode(tenant.priority_mode),
        normal_per_priority=tenant.normal_per_priority,
        aging_bound_s=tenant.aging_bound_s,
    )


Lines = WaitingLines[TicketRecord]
"""A tenant's waiting tickets: the writer's frozen records themselves, shared, not copied."""


def counter_info(counter: CounterRecord) -> CounterInfo:
    return CounterInfo(
        number=counter.number,
        name=counter.name,
        status=counter.state.status,
        services=counter.service_list,
    )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A tenant's committed state at one instant: the queue document, and its waiting lines
    (a copy nobody mutates) from which any waiting ticket's place is computed on demand."""

    update: QueueUpdate
    lines: Lines
    policy: PriorityPolicy
    streak: int
    at: datetime
    model: WaitModel
    model_at: float
    built_at: float = field(default_factory=time.monotonic)
    changed: dict[str, Ticket] = field(default_factory=dict)
    """Documents of the tickets the change that produced this snapshot touched: what the
    publisher is handed with the change, and what readers ask for right after it."""
    counter_names: dict[int, str] = field(default_factory=dict)
    _ordered: list[tuple[list[TicketRecord], list[int]]] = field(default_factory=list)

    @property
    def tenant(self) -> str:
        return self.update.tenant

    @property
    def seq(self) -> int:
        return self.update.seq

    def position(self, ticket_id: str) -> int | None:
        if ticket_id not in self.lines:
            return None
        return self.lines.position(ticket_id, self.policy, streak=self.streak, now=self.at)

    def ticket(self, ticket: TicketRecord) -> Ticket:
        """The document of one ticket; position and estimate come from the snapshot."""
        waiting = ticket.state.status is TicketStatus.WAITING
        position = self.position(ticket.id) if waiting else None
        return ticket_document(ticket, position, self.model, self.counter_names)

    def ordered(self) -> tuple[list[TicketRecord], list[int]]:
        """Every waiting ticket in call order with its place in its line: the whole sort, done
        at most once per snapshot and only for staff lists and follower updates."""
        if not self._ordered:
            order = self.lines.order(self.policy, streak=self.streak, now=self.at)
            self._ordered.append((order, positions_per_line(order)))
        return self._ordered[0]

    def waiting_places(self) -> Iterator[tuple[str, int]]:
        seen: dict[str, int] = {}
        for row in self.lines.walk(self.policy, streak=self.streak, now=self.at):
            seen[row.service] = place = seen.get(row.service, 0) + 1
            yield row.id, place

    def waiting_document(self, ticket_id: str, position: int) -> Ticket:
        ticket = self.lines.get(ticket_id)
        assert ticket is not None, "only tickets of this snapshot's lines"
        return ticket_document(ticket, position, self.model, self.counter_names)

    def waiting_ticket(self, ticket: TicketRecord, position: int) -> WaitingTicket:
        return waiting_ticket(ticket, position, self.model)


def waiting_ticket(row: TicketRecord, position: int, model: WaitModel) -> WaitingTicket:
    return WaitingTicket(
        id=row.id,
        number=row.label,
        service=row.service,
        priority=row.priority,
        position=position,
        estimated_wait_s=model.wait_s(position),
        created_at=row.created_at,
    )


def ticket_document(
    ticket: TicketRecord, position: int | None, model: WaitModel, counter_names: dict[int, str]
) -> Ticket:
    """A ticket's document; ``position`` is its place in its line while it waits."""
    state = ticket.state
    counter = state.counter
    return Ticket(
        id=ticket.id,
        number=ticket.label,
        service=state.service,
        priority=ticket.priority,
        status=state.status,
        counter=counter,
        position=position,
        estimated_wait_s=None if position is None else model.wait_s(position),
        created_at=ticket.created_at,
        called_at=state.called_at,
        started_at=state.started_at,
        # A counter removed since keeps its number as its name (as calls do).
        counter_name=None if counter is None else counter_names.get(counter, str(counter)),
        people_ahead=None if position is None else position - 1,
        end_reason=state.end_reason,
        # Only while the call stands: a phone announces each call id once, recalls included.
        call_id=state.call_id if state.status in _CALL_STANDS else None,
    )


def build_snapshot(
    connection: Connection,
    tenant: TenantRecord,
    now: datetime,
    *,
    previous: Snapshot | None = None,
    config_changed: bool = True,
    new_calls: Sequence[CallRecord] = (),
    lines: Lines | None = None,
    counters_now: Sequence[CounterInfo] | None = None,
    version: int = QUEUE_UPDATE_VERSION,
) -> Snapshot:
    """Everything screens show about ``tenant``, read inside the caller's transaction.

    With ``previous`` (the snapshot of the change just before this one), the parts this change
    cannot have touched are reused instead of queried again: services and counters unless the
    configuration changed, the wait model for a few seconds, the waiting lines if ``lines`` is
    not given, and the last calls, which are ``new_calls`` (the calls this change made, oldest
    first) in front of the previous ones. ``lines`` are the writer's live lines (copied here);
    without them or ``previous`` the waiting tickets are read. ``counters_now`` likewise for the
    counters (their state changes without a config change).
    """
    if previous is not None and previous.seq != tenant.seq - 1:
        previous = None  # not our immediate predecessor: rebuild everything
    clock = time.monotonic()
    if previous is not None and clock - previous.model_at < WAIT_MODEL_MAX_AGE_S:
        model, model_at = previous.model, previous.model_at
    else:
        model, model_at = _wait_model(connection, tenant.id, now), clock
    if lines is not None:
        lines = lines.copy()
    elif previous is not None:
        lines = previous.lines  # nothing waiting changed; never mutated, so shared
    else:
        lines = WaitingLines(load_waiting_tickets(connection, tenant.id))
    policy = policy_of(tenant)
    head = lines.head(policy, streak=tenant.normal_streak, now=now, count=NEXT_UP)
    if previous is not None and not config_changed:
        services = [(s.prefix, s.name, s.priority_allowed) for s in previous.update.services]
        counters = previous.update.counters
    else:
        services, counters = _configuration(connection, tenant.id)
    if counters_now is not None:
        counters = list(counters_now)
    branding = (
        (previous.update.accent_color, previous.update.logo_url)
        if previous is not None and not config_changed
        else branding_of(connection, tenant.id)
    )
    offered = (
        {
            s.prefix: Presentation(i, s.description, s.active)
            for i, s in enumerate(previous.update.services)
        }
        if previous is not None and not config_changed
        else presentations(connection, tenant.id)
    )
    # Kiosk order: the admin's position, then prefix.
    services = sorted(services, key=lambda s: (offered.get(s[0], Presentation()).position, s[0]))
    if previous is not None:
        # Calls are recorded in call order, so the newest ten are this change's (newest first)
        # followed by the previous snapshot's: the same as the query, without it.
        last_calls = [*reversed(new_calls), *previous.update.last_calls][:LAST_CALLS]
    else:
        last_calls = _last_calls(connection, tenant.id)
    update = QueueUpdate(
        version=version,
        tenant=tenant.id,
        seq=tenant.seq,
        generated_at=now,
        tenant_name=tenant.name,
        locale=tenant.locale,
        timezone=tenant.timezone,
        ticker=tenant.ticker,
        accent_color=branding[0],
        logo_url=branding[1],
        # The head is a prefix of the call order, so places counted over it are exact.
        waiting=[
            waiting_ticket(row, position, model)
            for row, position in zip(head, positions_per_line(head), strict=True)
        ],
        waiting_total=len(lines),
        services=[
            ServiceQueue(
                prefix=prefix,
                name=name,
                priority_allowed=priority_allowed,
                waiting=lines.count(prefix),
                estimated_wait_s=model.wait_s(lines.count(prefix) + 1),
                description=offered.get(prefix, Presentation()).description,
                active=offered.get(prefix, Presentation()).active,
            )
            for prefix, name, priority_allowed in services
        ],
        counters=counters,
        last_calls=last_calls,
    )
    return Snapshot(
        update=update,
        lines=lines,
        policy=policy,
        streak=tenant.normal_streak,
        at=now,
        model=model,
        model_at=model_at,
        counter_names={c.number: c.name for c in counters},
    )


def _configuration(
    connection: Connection, tenant_id: str
) -> tuple[list[tuple[str, str, bool]], list[CounterInfo]]:
    services = connection.execute(
        select(ServiceRow.prefix, ServiceRow.name, ServiceRow.priority_allowed)
        .where(ServiceRow.tenant_id == tenant_id)
        .order_by(ServiceRow.prefix)
    ).all()
    counters = connection.execute(
        select_counters().where(CounterRow.tenant_id == tenant_id).order_by(CounterRow.number)
    )
    return (
        [(s.prefix, s.name, s.priority_allowed) for s in services],
        [counter_info(counter_of(c)) for c in counters],
    )


def _last_calls(connection: Connection, tenant_id: str) -> list[CallRecord]:
    calls = connection.execute(
        select(
            CallRow.call_id,
            CallRow.ticket_id,
            CallRow.label,
            CallRow.service,
            CallRow.counter,
            CallRow.counter_name,
            CallRow.called_at,
        )
        .where(CallRow.tenant_id == tenant_id)
        .order_by(CallRow.id.desc())
        .limit(LAST_CALLS)
    )
    return [
        CallRecord(
            call_id=c.call_id,
            ticket_id=c.ticket_id,
            number=c.label,
            service=c.service,
            counter=c.counter,
            counter_name=c.counter_name,
            called_at=c.called_at,
        )
        for c in calls
    ]


class SnapshotCache:
    """The latest snapshot per tenant. The writer puts a fresh one after every commit, so
    readers (``GET .../queue``, ticket documents, the MQTT publisher) rarely touch the database.

    Entries expire after ``max_age_s`` even without changes, because estimates and the aging
    rule move with the clock; a reader then rebuilds. A snapshot never replaces a newer one.
    """

    def __init__(
        self, database: Database, max_age_s: float = 5.0, *, version: int = QUEUE_UPDATE_VERSION
    ) -> None:
        self.database = database
        self.max_age_s = max_age_s
        self.version = version
        """The ``queue_update`` version label every snapshot carries (see the setting
        ``queue_update_version``)."""
        self._lock = threading.Lock()
        self._entries: dict[str, Snapshot] = {}

    def peek(self, tenant: str) -> Snapshot | None:
        """The cached snapshot, however old (the writer's ``previous``)."""
        with self._lock:
            return self._entries.get(tenant)

    def put(self, snapshot: Snapshot, changed: dict[str, Ticket] | None = None) -> None:
        if changed:
            snapshot = replace(snapshot, changed=changed)
        with self._lock:
            current = self._entries.get(snapshot.tenant)
            if current is None or snapshot.seq >= current.seq:
                self._entries[snapshot.tenant] = snapshot

    def drop(self, tenant: str) -> None:
        with self._lock:
            self._entries.pop(tenant, None)

    def forget_older(self, tenant: str, seq: int) -> None:
        """Another process committed ``seq``: a cached snapshot older than that is stale."""
        with self._lock:
            current = self._entries.get(tenant)
            if current is not None and current.seq < seq:
                del self._entries[tenant]

    def clear(self) -> None:
        """Forget everything (commits of other processes may have been missed)."""
        with self._lock:
            self._entries.clear()

    def current(self, tenant: str) -> Snapshot | None:
        """The tenant's snapshot (cached if fresh, else rebuilt); ``None`` if no such tenant."""
        with self._lock:
            cached = self._entries.get(tenant)
        if cached is not None and time.monotonic() - cached.built_at < self.max_age_s:
            return cached
        with self.database.engine.connect() as connection:
            row = load_tenant(connection, tenant, lock=False)
            if row is None:
                return None
            snapshot = build_snapshot(connection, row, datetime.now(UTC), version=self.version)
        self.put(snapshot)
        return snapshot


def _wait_model(connection: Connection, tenant_id: str, now: datetime) -> WaitModel:
    served = connection.execute(
        select(TicketRow.called_at, TicketRow.ended_at)
        .where(
            TicketRow.tenant_id == tenant_id,
            TicketRow.status == TicketStatus.COMPLETED.value,
            TicketRow.ended_at.is_not(None),
        )
        .order_by(TicketRow.ended_at.desc())
        .limit(SERVICE_TIME_SAMPLES)
    ).all()
    samples = [(ended - called).total_seconds() for called, ended in served if called and ended]
    open_counters = len(
        set(
            connection.scalars(
                select(CallRow.counter)
                .distinct()
                .where(
                    CallRow.tenant_id == tenant_id, CallRow.called_at >= now - OPEN_COUNTER_WINDOW
                )
            )
        )
    )
    return WaitModel.from_history(samples, open_counters)
