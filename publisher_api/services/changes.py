"""Committed changes of one tenant, one at a time, each announced after its commit.

``Writer.tenant(...)`` is the only way code writes tenant state. It takes the write lock, opens
an immediate transaction, locks the tenant row and hands out a :class:`Change`; on exit it bumps
the tenant's ``seq`` if anything visible changed, builds the event documents, commits, runs the
after-commit hooks and calls ``sink.notify`` — still under the lock, so notifications leave in
commit order and never for a rolled-back transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol import Ticket, TicketStatus, TicketStatusChanged
from publisher_api.errors import Conflict, NotFound
from publisher_api.realtime import ChangeSink, TenantChanged
from publisher_api.store.database import Database
from publisher_api.store.models import TenantRow, TicketRow
from publisher_api.store.snapshot import ticket_documents


@dataclass(frozen=True, slots=True)
class PendingEvent:
    ticket: TicketRow
    from_status: TicketStatus | None
    to_status: TicketStatus
    counter: int | None
    call_id: str | None
    at: datetime


@dataclass
class Change:
    session: Session
    tenant: TenantRow
    now: datetime
    visible: bool = False
    deleted: bool = False
    touched: dict[str, TicketRow] = field(default_factory=dict)
    events: list[PendingEvent] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    documents: dict[str, Ticket] = field(default_factory=dict)
    """Filled on commit: the current document of every touched ticket."""

    def ticket_changed(self, row: TicketRow, *events: PendingEvent) -> None:
        self.visible = True
        self.touched[row.id] = row
        self.events.extend(events)

    def snapshot_changed(self) -> None:
        """Configuration that screens show (services, counters, settings) changed."""
        self.visible = True

    def delete_tenant(self) -> None:
        self.visible = True
        self.deleted = True


class Writer:
    def __init__(self, database: Database, sink: ChangeSink) -> None:
        self.database = database
        self.sink = sink

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
            if create is not None:
                change.snapshot_changed()
            yield change
            announced = self._commit(change)
            for hook in change.after_commit:
                hook()
            if announced is not None:
                self.sink.notify(announced)

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
            return TenantChanged(tenant=tenant.id, seq=seq)
        session.flush()
        if change.touched:
            change.documents = ticket_documents(
                session, tenant, list(change.touched.values()), change.now
            )
        events = tuple(
            TicketStatusChanged(
                tenant=tenant.id,
                seq=seq,
                ticket=change.documents[e.ticket.id],
                from_status=e.from_status,
                to_status=e.to_status,
                counter=e.counter,
                call_id=e.call_id,
                at=e.at,
            )
            for e in change.events
        )
        session.commit()
        return TenantChanged(
            tenant=tenant.id, seq=seq, ticket_ids=tuple(change.touched), events=events
        )


def _lock_tenant(session: Session, tenant_id: str) -> TenantRow | None:
    # FOR UPDATE matters on PostgreSQL (one writer per tenant); SQLite ignores it and relies on
    # BEGIN IMMEDIATE, already taken by Database.writing.
    return session.scalars(
        select(TenantRow).where(TenantRow.id == tenant_id).with_for_update()
    ).one_or_none()
