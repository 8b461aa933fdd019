"""The :class:`~publisher_api.changes.StateSource` the realtime layer reads, over our store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select

from protocol import ENDED_STATUSES, QueueUpdate, Ticket, TicketStatus
from publisher_api.store import records
from publisher_api.store.database import Database
from publisher_api.store.models import TenantRow, TicketRow
from publisher_api.store.snapshot import SnapshotCache

_UNFINISHED = [s.value for s in TicketStatus if s not in ENDED_STATUSES]


class StoreStateSource:
    """What the MQTT publisher reads; snapshots come from the shared :class:`SnapshotCache`."""

    def __init__(self, database: Database, snapshots: SnapshotCache) -> None:
        self.database = database
        self.snapshots = snapshots

    def tenant_ids(self) -> Sequence[str]:
        with self.database.session() as session:
            return list(session.scalars(select(TenantRow.id).order_by(TenantRow.id)))

    def queue_update(self, tenant: str) -> QueueUpdate | None:
        snapshot = self.snapshots.current(tenant)
        return None if snapshot is None else snapshot.update

    def ticket(self, tenant: str, ticket_id: str) -> Ticket | None:
        snapshot = self.snapshots.current(tenant)
        if snapshot is None:
            return None
        if ticket_id in snapshot.changed:  # just written: no query needed
            return snapshot.changed[ticket_id]
        with self.database.engine.connect() as connection:
            row = records.load_ticket(connection, ticket_id)
        if row is None or row.tenant_id != tenant:
            return None
        return snapshot.ticket(row)

    def retained_tickets(self, tenant: str, ended_after: datetime) -> Sequence[Ticket]:
        snapshot = self.snapshots.current(tenant)
        if snapshot is None:
            return []
        with self.database.engine.connect() as connection:
            rows = connection.execute(
                records.select_tickets().where(
                    TicketRow.tenant_id == tenant,
                    or_(TicketRow.status.in_(_UNFINISHED), TicketRow.ended_at > ended_after),
                )
            ).all()
        return [snapshot.ticket(records.ticket_of(row)) for row in rows]
