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

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol import Ticket, TicketStatus, TicketStatusChanged
from publisher_api.domain.lifecycle import IllegalTransition
from publisher_api.errors import ApiError, Conflict, NotFound
from publisher_api.realtime import ChangeSink, TenantChanged
from publisher_api.store.database import Database
from publisher_api.store.directory import Directory
from publisher_api.store.models import ServiceRow, TenantRow, TicketRow
from publisher_api.store.snapshot import (
    Snapshot,
    SnapshotCache,
    TicketCopy,
    TicketFacts,
    WaitingRow,
    build_snapshot,
    waiting_rows,
)


@dataclass(frozen=True, slots=True)
class PendingEvent:
    ticket: TicketCopy  # as this event left it (a batch may change the ticket again)
    from_status: TicketStatus | None
    to_status: TicketStatus
    counter: int | None
    call_id: str | None
    at: datetime


@dataclass
class Change:
    """One write transaction of one tenant, as operations see it: the session, the locked
    tenant row, the clock, and what they changed (so the writer knows what to announce)."""

    session: Session
    tenant: TenantRow
    now: datetime
    visible: bool = False
    deleted: bool = False
    directory: bool = False
    config_changed: bool = False
    calls_changed: bool = False
    touched: dict[str, TicketRow] = field(default_factory=dict)
    events: list[PendingEvent] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    current: Snapshot | None = None
    """The cached snapshot of the state this transaction started from, if the cache has it
    (same seq): operations read configuration and the waiting list from it, not the database."""
    snapshot: Snapshot | None = None
    """Filled on commit: the tenant's snapshot as committed."""
    waiting: dict[str, WaitingRow] | None = None
    """The tenant's waiting tickets as this transaction has them, once known: kept up to date by
    ``ticket_changed``, so operations never re-query it nor flush to see each other's writes."""
    services: dict[str, ServiceRow] = field(default_factory=dict)
    """Service rows already loaded in this transaction, by prefix."""
    issued_by_key: dict[str, TicketRow] = field(default_factory=dict)
    """Tickets issued in this transaction, by Idempotency-Key (not yet visible to queries)."""

    def document(self, ticket: TicketFacts) -> Ticket:
        """After commit: the document of ``ticket`` (positions from the committed snapshot, or
        from the one this change started from if it changed nothing visible)."""
        snapshot = self.snapshot or self.current
        assert snapshot is not None, "documents exist only after the commit"
        return snapshot.ticket(ticket)

    def ticket_changed(self, row: TicketRow, *events: PendingEvent) -> None:
        """Every change of a ticket goes through here (status, service, order)."""
        self.visible = True
        self.touched[row.id] = row
        self.events.extend(events)
        if self.waiting is not None:
            if row.status == TicketStatus.WAITING.value:
                self.waiting[row.id] = WaitingRow.of(row)
            else:
                self.waiting.pop(row.id, None)

    def waiting_list(self) -> list[WaitingRow]:
        if self.waiting is None:
            self.session.flush()  # what earlier operations wrote must be visible to the query
            self.waiting = {r.id: r for r in waiting_rows(self.session, self.tenant.id)}
        return list(self.waiting.values())

    def snapshot_changed(self) -> None:
        """Configuration that screens show (services, counters, settings) changed."""
        self.visible = True
        self.config_changed = True

    def call_made(self) -> None:
        """A call or recall was recorded: the snapshot's last calls changed."""
        self.calls_changed = True

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

    @contextmanager
    def tenant(
        self, tenant_id: str, *, now: datetime, create: TenantRow | None = None
    ) -> Iterator[Change]:
        """A change of ``tenant_id`` (404 if unknown); with ``create``, inserts it first
        (409 if it exists)."""
        with self.database.writing(tenant_id) as session:
            tenant = _lock_tenant(session, tenant_id)
            if create is not None:
                if tenant is not None:
                    raise Conflict(f"tenant {tenant_id} already exists")
                session.add(create)
                tenant = create
            elif tenant is None:
                raise NotFound("tenant", tenant_id)
            change = Change(session=session, tenant=tenant, now=now)
            cached = self.snapshots.peek(tenant_id)
            if create is None and cached is not None and cached.seq == tenant.seq:
                change.current = cached
                change.waiting = {r.id: r for r in cached.rows}
            if create is not None:
                change.snapshot_changed()
                change.directory_changed()
            yield change
            announced = self._commit(change)
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
                    # No flush between operations: those that read what others may have
                    # written (the waiting list) flush first; the rest is written in one go.
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
        session, tenant = change.session, change.tenant
        if not change.visible:
            session.commit()
            return None
        tenant.seq += 1
        seq = tenant.seq
        if change.deleted:
            session.delete(tenant)
            session.commit()
            self.snapshots.drop(tenant.id)
            return TenantChanged(tenant=tenant.id, seq=seq)
        session.flush()
        # The snapshot is built inside the transaction, so it is exactly what was committed;
        # it also gives every touched ticket its position, and goes to the cache for readers.
        snapshot = build_snapshot(
            session,
            tenant,
            change.now,
            previous=change.current,
            config_changed=change.config_changed,
            calls_changed=change.calls_changed,
            waiting_now=None if change.waiting is None else change.waiting.values(),
        )
        change.snapshot = snapshot
        tickets = {row.id: snapshot.ticket(row) for row in change.touched.values()}
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
        session.commit()
        self.snapshots.put(snapshot, tickets)
        return TenantChanged(
            tenant=tenant.id, seq=seq, ticket_ids=tuple(change.touched), events=events
        )


def _lock_tenant(session: Session, tenant_id: str) -> TenantRow | None:
    # FOR UPDATE matters on PostgreSQL (one writer per tenant); SQLite ignores it and relies on
    # BEGIN IMMEDIATE, already taken by Database.writing.
    return session.scalars(
        select(TenantRow).where(TenantRow.id == tenant_id).with_for_update()
    ).one_or_none()
