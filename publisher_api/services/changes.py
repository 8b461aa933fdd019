"""Committed changes of one tenant, one at a time, each announced after its commit.

``Writer.tenant(...)`` is the only way code writes tenant state. It takes the write lock, opens
an immediate transaction, locks the tenant row and hands out a :class:`Change`; on exit it bumps
the tenant's ``seq`` if anything visible changed, builds the new snapshot (which gives every
event its ticket document), commits, runs the after-commit hooks and calls ``sink.notify`` —
still under the lock, so notifications leave in commit order and never for a rolled-back
transaction. ``Writer.run`` runs one operation that way; ``Writer.run_batch`` runs several in
one transaction (group commit, driven by ``services.batching``).
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from protocol import CallRecord, QueueUpdate, Ticket, TicketStatus, TicketStatusChanged
from publisher_api.changes import ChangeSink, TenantChanged
from publisher_api.domain.lifecycle import IllegalTransition
from publisher_api.domain.lines import WaitingLines
from publisher_api.errors import ApiError, Conflict, NotFound
from publisher_api.store import outbox, records
from publisher_api.store.database import Database
from publisher_api.store.directory import Directory
from publisher_api.store.records import CounterRecord, ServiceRecord, TenantRecord, TicketRecord
from publisher_api.store.snapshot import (
    Lines,
    Snapshot,
    SnapshotCache,
    build_snapshot,
    counter_info,
)

_OPEN = frozenset(records.OPEN_STATUSES)
_HELD = frozenset({TicketStatus.CALLED, TicketStatus.IN_SERVICE})


@dataclass(frozen=True, slots=True)
class PendingEvent:
    ticket: TicketRecord  # as this event left it (a batch may change the ticket again)
    from_status: TicketStatus | None
    to_status: TicketStatus
    counter: int | None
    call_id: str | None
    at: datetime


@dataclass
class WorkingSet:
    """What ticket writes of one tenant read and change, kept between transactions: its
    services (numbering) and its unfinished tickets. Valid for one ``seq`` only; the writer
    checks it against the tenant row it locks, so a change made elsewhere (another process, a
    tool bumping seq) makes it reload instead of trusting memory."""

    seq: int
    tenant_created_at: datetime  # with seq: a tenant deleted and created again never matches
    services: dict[str, ServiceRecord]
    open: dict[str, TicketRecord]
    counters: dict[int, CounterRecord]
    lines: Lines = field(default_factory=WaitingLines)
    """The waiting tickets in call-order structures, so a write's ordering questions (next,
    front of a line, a ticket's place) cost binary searches, not a sort of the queue."""
    held: dict[str, TicketRecord] = field(default_factory=dict)
    """The called and in-service tickets (few: at most one per counter)."""
    created: list[tuple[datetime, str]] = field(default_factory=list)
    """A heap of (created_at, id) of tickets that became unfinished (entries of tickets since
    finished are dropped lazily): the oldest unfinished ticket without a scan."""

    def __post_init__(self) -> None:
        for ticket in self.open.values():
            self.track(ticket)
            heapq.heappush(self.created, (ticket.created_at, ticket.id))

    def oldest_created(self) -> datetime | None:
        """When the oldest unfinished ticket was created (close of day needs no scan when it
        is from today)."""
        while self.created and self.created[0][1] not in self.open:
            heapq.heappop(self.created)
        return self.created[0][0] if self.created else None

    def matches(self, tenant: TenantRecord) -> bool:
        return self.seq == tenant.seq and self.tenant_created_at == tenant.created_at

    def track(self, ticket: TicketRecord) -> None:
        """Follow a ticket's new state (after every change of it)."""
        status = ticket.state.status
        if status is TicketStatus.WAITING:
            self.lines.add(ticket)
        else:
            self.lines.remove(ticket.id)
        if status in _HELD:
            self.held[ticket.id] = ticket
        else:
            self.held.pop(ticket.id, None)


@dataclass
class Change:
    """One write transaction of one tenant, as operations see it: the transaction, the locked
    tenant, the clock, and what they changed (so the writer knows what to write and announce).

    Ticket operations work on records (``ticket``, ``service``, ``issue``, ``ticket_changed``);
    the writer writes them at commit. Administration uses ``session`` (the ORM, on the same
    transaction)."""

    connection: Connection
    tenant: TenantRecord
    now: datetime
    visible: bool = False
    deleted: bool = False
    directory: bool = False
    config_changed: bool = False
    touched: dict[str, TicketRecord] = field(default_factory=dict)
    """Every ticket this transaction changed, as it last left it (records are frozen: each
    change puts the new one here, in the working set and in the lines)."""
    issued: list[str] = field(default_factory=list)
    """Ids of the tickets issued here (inserted at commit as ``touched`` has them)."""
    calls: list[CallRecord] = field(default_factory=list)
    """Calls made in this transaction, in call order (rows to insert; the snapshot's newest)."""
    events: list[PendingEvent] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    current: Snapshot | None = None
    """The cached snapshot of the state this transaction started from, if the cache has it
    (same seq): operations read configuration from it, not the database."""
    snapshot: Snapshot | None = None
    """Filled on commit: the tenant's snapshot as committed."""
    working: WorkingSet | None = None
    """The tenant's services and unfinished tickets, once loaded (or carried over from the
    previous transaction): kept current by ``ticket_changed``."""
    numbering_changed: dict[str, ServiceRecord] = field(default_factory=dict)
    issued_by_key: dict[str, str] = field(default_factory=dict)
    """Ids of tickets issued in this transaction, by Idempotency-Key (not yet visible to
    queries)."""
    counters_touched: dict[int, CounterRecord] = field(default_factory=dict)
    counter_events: list[dict[str, Any]] = field(default_factory=list)
    """``counter_events`` rows to insert."""
    _session: Session | None = None

    @property
    def session(self) -> Session:
        """An ORM session on this very transaction, made on first use (administration)."""
        if self._session is None:
            # The session joins our transaction and never ends it: the writer commits.
            self._session = Session(
                bind=self.connection,
                join_transaction_mode="rollback_only",
                expire_on_commit=False,
                autoflush=False,
            )
        return self._session

    def flush_session(self) -> None:
        if self._session is not None:
            self._session.flush()

    def close_session(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def document(self, ticket: TicketRecord) -> Ticket:
        """After commit: the document of ``ticket`` (positions from the committed snapshot, or
        from the one this change started from if it changed nothing visible)."""
        snapshot = self.snapshot or self.current
        assert snapshot is not None, "documents exist only after the commit"
        return snapshot.ticket(ticket)

    def _working_set(self) -> WorkingSet:
        if self.working is None:
            self.working = WorkingSet(
                seq=self.tenant.seq,
                tenant_created_at=self.tenant.created_at,
                services=records.load_services(self.connection, self.tenant.id),
                open=records.load_open_tickets(self.connection, self.tenant.id),
                counters=records.load_counters(self.connection, self.tenant.id),
            )
        return self.working

    def ticket(self, ticket_id: str) -> TicketRecord | None:
        """A ticket of this tenant as this transaction has it (unfinished ones from memory,
        ended ones from the database), or ``None``."""
        found = self.touched.get(ticket_id) or self._working_set().open.get(ticket_id)
        if found is None:
            found = records.load_ticket(self.connection, ticket_id)
        return found if found is not None and found.tenant_id == self.tenant.id else None

    def ticket_by_idempotency_key(self, key: str) -> TicketRecord | None:
        issued = self.issued_by_key.get(key)
        if issued is not None:
            return self.touched[issued]
        return records.ticket_by_idempotency_key(self.connection, self.tenant.id, key)

    def service(self, prefix: str) -> ServiceRecord | None:
        return self._working_set().services.get(prefix)

    def numbered(self, service: ServiceRecord) -> None:
        """``service``'s numbering moved on (a ticket was issued)."""
        self.numbering_changed[service.prefix] = service

    def issue(self, ticket: TicketRecord, event: PendingEvent) -> None:
        """A new ticket, written at commit."""
        self.issued.append(ticket.id)
        if ticket.idempotency_key is not None:
            self.issued_by_key[ticket.idempotency_key] = ticket.id
        self.ticket_changed(ticket, event)

    def ticket_changed(self, ticket: TicketRecord, *events: PendingEvent) -> None:
        """Every change of a ticket goes through here (status, service, order), with the new
        record: it replaces the old one wherever this transaction and the working set hold it."""
        self.visible = True
        self.touched[ticket.id] = ticket
        self.events.extend(events)
        working = self._working_set()
        if ticket.state.status in _OPEN:
            if ticket.id not in working.open:
                heapq.heappush(working.created, (ticket.created_at, ticket.id))
            working.open[ticket.id] = ticket
        else:
            working.open.pop(ticket.id, None)
        working.track(ticket)

    def counter(self, number: int) -> CounterRecord | None:
        return self._working_set().counters.get(number)

    def counters(self) -> list[CounterRecord]:
        return sorted(self._working_set().counters.values(), key=lambda c: c.number)

    def counter_changed(self, counter: CounterRecord, *events: dict[str, Any]) -> None:
        """A counter's state changed (screens show it), with the new record: it replaces the
        old one here and in the working set; ``events`` go to its history."""
        self.visible = True
        self.counters_touched[counter.number] = counter
        self._working_set().counters[counter.number] = counter
        self.counter_events.extend(events)

    def open_tickets(self) -> list[TicketRecord]:
        """Unfinished tickets (waiting, called, in service), as this transaction has them."""
        return list(self._working_set().open.values())

    def oldest_created(self) -> datetime | None:
        return self._working_set().oldest_created()

    def held_tickets(self) -> list[TicketRecord]:
        """Tickets called or in service (at most one per counter)."""
        return list(self._working_set().held.values())

    def lines(self) -> Lines:
        """The waiting tickets, in call-order structures (see ``domain.lines``)."""
        return self._working_set().lines

    def call_made(self, call: CallRecord) -> None:
        """A call or recall was recorded: a row to insert and the snapshot's newest call."""
        self.calls.append(call)

    def snapshot_changed(self) -> None:
        """Configuration that screens show (services, counters, settings) changed."""
        self.visible = True
        self.config_changed = True

    def delete_tenant(self) -> None:
        self.visible = True
        self.deleted = True
        self.directory = True

    def directory_changed(self) -> None:
        """Users, devices or tenants changed: cached identities must be dropped on commit."""
        self.directory = True


log = logging.getLogger(__name__)
R = TypeVar("R")
Operation: TypeAlias = Callable[[Change], Callable[[], R]]
"""One write: it changes things through the ``Change`` (validating before it mutates anything,
so a refusal leaves nothing half-done) and returns how to read its result after the commit."""

# Refusals an operation raises before changing anything; other operations of a batch go on.
REFUSALS = (ApiError, IllegalTransition)


class Writer:
    def __init__(
        self,
        database: Database,
        sink: ChangeSink,
        *,
        snapshots: SnapshotCache | None = None,
        directory: Directory | None = None,
    ) -> None:
        self.database = database
        self.sink = sink
        self.snapshots = snapshots or SnapshotCache(database)
        self.directory = directory
        self.outbox = not database.is_sqlite
        """PostgreSQL: every change also writes its outbox row in its own transaction (see
        ``store.outbox``); SQLite keeps publishing straight from ``sink.notify``."""
        # Per tenant, the working set as the last commit left it. Taken out at the start of a
        # transaction and put back only after a successful commit, so a failed transaction
        # (whose records may be half-changed) can never leave a stale one behind.
        self._working: dict[str, WorkingSet] = {}

    @contextmanager
    def tenant(
        self, tenant_id: str, *, now: datetime, create: TenantRecord | None = None
    ) -> Iterator[Change]:
        """A change of ``tenant_id`` (404 if unknown); with ``create``, inserts it first
        (409 if it exists)."""
        with self.database.write_transaction(tenant_id) as connection:
            tenant = records.load_tenant(connection, tenant_id, lock=True)
            working = self._working.pop(tenant_id, None)
            if create is not None:
                if tenant is not None:
                    raise Conflict(f"tenant {tenant_id} already exists")
                records.insert_tenant(connection, create)
                tenant = create
            elif tenant is None:
                raise NotFound("tenant", tenant_id)
            change = Change(connection=connection, tenant=tenant, now=now)
            if working is not None and working.matches(tenant):
                change.working = working
            cached = self.snapshots.peek(tenant_id)
            if create is None and cached is not None and cached.seq == tenant.seq:
                change.current = cached
            if create is not None:
                change.snapshot_changed()
                change.directory_changed()
            try:
                yield change
                announced = self._commit(change)
            finally:
                change.close_session()
            if change.working is not None and not (change.config_changed or change.deleted):
                change.working.seq = change.tenant.seq
                self._working[tenant_id] = change.working
            if change.directory and self.directory is not None:
                self.directory.invalidate()
            for hook in change.after_commit:
                hook()
            if announced is not None:
                self.sink.notify(announced)
            if change.directory:
                self.sink.credentials_changed(tenant_id)

    def run(self, tenant_id: str, operation: Operation[R], *, now: datetime | None = None) -> R:
        """One operation in its own transaction."""
        with self.tenant(tenant_id, now=now or datetime.now(UTC)) as change:
            result = operation(change)
        return result()

    def run_batch(
        self, tenant_id: str, operations: Sequence[Operation[Any]], *, now: datetime | None = None
    ) -> list[Any]:
        """Several operations of one tenant in one transaction (group commit): one lock, one
        snapshot, one commit and one announcement for all of them. Each item of the result is
        the operation's result or the refusal it raised. An unexpected error rolls the batch
        back and runs each operation alone, so only the culprit fails."""
        outcomes: list[Callable[[], Any] | BaseException] = []
        try:
            with self.tenant(tenant_id, now=now or datetime.now(UTC)) as change:
                for operation in operations:
                    try:
                        outcomes.append(operation(change))
                    except REFUSALS as refusal:
                        outcomes.append(refusal)
        except ApiError as refused:  # the tenant itself: unknown
            return [refused] * len(operations)
        except Exception:
            if len(operations) == 1:
                raise
            log.warning(
                "a batch of %d writes failed; running each alone", len(operations), exc_info=True
            )
            return [self._run_alone(tenant_id, operation) for operation in operations]
        return [o if isinstance(o, BaseException) else o() for o in outcomes]

    def _run_alone(self, tenant_id: str, operation: Operation[Any]) -> Any:
        try:
            return self.run(tenant_id, operation)
        except Exception as exc:
            return exc

    def _commit(self, change: Change) -> TenantChanged | None:
        connection, tenant = change.connection, change.tenant
        change.flush_session()  # administration's ORM changes, if any
        if not change.visible:
            if change.current is None and not change.deleted:
                # Nothing cached at this seq (another replica committed it, or nothing was
                # written since start-up): the documents the operation returns after the
                # commit need the state it saw, read here inside the transaction.
                change.snapshot = build_snapshot(
                    connection, tenant, change.now, version=self.snapshots.version
                )
                self.snapshots.put(change.snapshot)
            if self.outbox and change.directory:  # other replicas drop their cached identities
                outbox.signal(connection, outbox.Signal(tenant.id, tenant.seq, directory=True))
            connection.commit()
            return None
        tenant.seq += 1
        seq = tenant.seq
        if change.deleted:
            records.delete_tenant(connection, tenant.id)
            self._record(change, seq, ())
            connection.commit()
            self.snapshots.drop(tenant.id)
            return TenantChanged(tenant=tenant.id, seq=seq, deleted=True)
        _write(change)
        # The snapshot is built inside the transaction, so it is exactly what was committed;
        # it also gives every touched ticket its position, and goes to the cache for readers.
        lines = None if change.working is None else change.working.lines
        counters = None  # unchanged: the previous snapshot's (or read, without one)
        if change.counters_touched and not change.config_changed:
            counters = [counter_info(c) for c in change.counters()]
        snapshot = build_snapshot(
            connection,
            tenant,
            change.now,
            previous=change.current,
            config_changed=change.config_changed,
            new_calls=change.calls,
            lines=lines,
            counters_now=counters,
            version=self.snapshots.version,
        )
        change.snapshot = snapshot
        tickets = {ticket.id: snapshot.ticket(ticket) for ticket in change.touched.values()}
        events = tuple(
            TicketStatusChanged(
                tenant=tenant.id,
                seq=seq,
                ticket=snapshot.ticket(e.ticket),
                from_status=e.from_status,
                to_status=e.to_status,
                counter=e.counter,
                call_id=e.call_id,
                at=e.at,
            )
            for e in change.events
        )
        self._record(change, seq, events, snapshot.update, tickets)
        connection.commit()
        snapshot = replace(snapshot, changed=tickets)
        change.snapshot = snapshot
        self.snapshots.put(snapshot)
        # The publisher is handed what was committed: it reads nothing back.
        return TenantChanged(
            tenant=tenant.id,
            seq=seq,
            ticket_ids=tuple(change.touched),
            events=events,
            state=snapshot,
        )

    def _record(
        self,
        change: Change,
        seq: int,
        events: Sequence[TicketStatusChanged],
        update: QueueUpdate | None = None,
        tickets: Mapping[str, Ticket] | None = None,
    ) -> None:
        if self.outbox:
            outbox.append(
                change.connection,
                tenant=change.tenant.id,
                seq=seq,
                ticket_ids=change.touched,
                events=events,
                update=update,
                tickets=tickets or {},
                deleted=change.deleted,
                directory=change.directory,
                now=change.now,
            )


def _write(change: Change) -> None:
    """Everything the transaction changed, one statement per table."""
    connection = change.connection
    issued = set(change.issued)
    records.insert_tickets(connection, [change.touched[i] for i in change.issued])
    # Tickets leaving their counter are written before those taking one, so the table never
    # shows a counter holding two, even between the statements of one transaction.
    updated = [t for t in change.touched.values() if t.id not in issued]
    updated.sort(key=lambda t: t.state.status in _HELD)
    records.update_tickets(connection, updated)
    records.update_counters(connection, change.counters_touched.values())
    records.insert_counter_events(connection, change.counter_events)
    records.insert_calls(connection, change.tenant.id, change.calls)
    records.update_numbering(connection, change.numbering_changed.values())
    records.update_tenant(connection, change.tenant)
