"""Read-side adapters for the realtime layer: the :class:`~publisher_api.changes.StateSource`
over our store, and ``token_active`` (is a verified token still honoured?)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import or_, select

from protocol import ENDED_STATUSES, Principal, QueueUpdate, Role, Ticket, TicketStatus
from publisher_api.store.database import Database
from publisher_api.store.models import DeviceRow, TenantRow, TicketRow, UserRow
from publisher_api.store.snapshot import QueueView

_UNFINISHED = [s.value for s in TicketStatus if s not in ENDED_STATUSES]


class StoreStateSource:
    def __init__(self, database: Database) -> None:
        self.database = database

    def tenant_ids(self) -> Sequence[str]:
        with self.database.session() as session:
            return list(session.scalars(select(TenantRow.id).order_by(TenantRow.id)))

    def queue_update(self, tenant: str) -> QueueUpdate | None:
        with self.database.session() as session:
            row = session.get(TenantRow, tenant)
            if row is None:
                return None
            return QueueView.load(session, row, datetime.now(UTC)).queue_update(session)

    def ticket(self, tenant: str, ticket_id: str) -> Ticket | None:
        with self.database.session() as session:
            tenant_row = session.get(TenantRow, tenant)
            row = session.get(TicketRow, ticket_id)
            if tenant_row is None or row is None or row.tenant_id != tenant:
                return None
            return QueueView.load(session, tenant_row, datetime.now(UTC)).ticket(row)

    def retained_tickets(self, tenant: str, ended_after: datetime) -> Sequence[Ticket]:
        with self.database.session() as session:
            tenant_row = session.get(TenantRow, tenant)
            if tenant_row is None:
                return []
            rows = session.scalars(
                select(TicketRow).where(
                    TicketRow.tenant_id == tenant,
                    or_(TicketRow.status.in_(_UNFINISHED), TicketRow.ended_at > ended_after),
                )
            ).all()
            view = QueueView.load(session, tenant_row, datetime.now(UTC))
            return [view.ticket(row) for row in rows]


class TokenChecker:
    """``token_active``: devices must still exist with this very token id (rotation and deletion
    revoke); users must still exist with the same role and tenant; public and publisher tokens
    have nothing to revoke."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def __call__(self, principal: Principal) -> bool:
        if principal.role in (Role.PUBLIC, Role.PUBLISHER):
            return True
        with self.database.session() as session:
            if principal.is_device:
                token_id = session.scalars(
                    select(DeviceRow.token_id).where(
                        DeviceRow.tenant_id == principal.tenant,
                        DeviceRow.device_id == principal.subject,
                        DeviceRow.role == principal.role.value,
                    )
                ).one_or_none()
                return token_id is not None and token_id == principal.token_id
            user = session.execute(
                select(UserRow.role, UserRow.tenant_id).where(UserRow.username == principal.subject)
            ).one_or_none()
            return user is not None and (user.role, user.tenant_id) == (
                principal.role.value,
                principal.tenant,
            )
