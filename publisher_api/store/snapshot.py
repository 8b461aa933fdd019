"""Build the documents every client sees from the database: the queue snapshot (the retained
``queue_update`` and ``GET .../queue``) and single tickets. One place, so HTTP and MQTT can never
disagree, and cheap: a handful of indexed queries, rebuilt after every change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol import (
    CallRecord,
    CounterInfo,
    QueueUpdate,
    ServiceQueue,
    Ticket,
    TicketStatus,
    WaitingTicket,
)
from publisher_api.domain.estimates import WaitModel
from publisher_api.domain.ordering import PriorityMode, PriorityPolicy, call_order
from publisher_api.store.models import CallRow, CounterRow, ServiceRow, TenantRow, TicketRow

LAST_CALLS = 10
SERVICE_TIME_SAMPLES = 20
OPEN_COUNTER_WINDOW = timedelta(minutes=30)


def policy_of(tenant: TenantRow) -> PriorityPolicy:
    return PriorityPolicy(
        mode=PriorityMode(tenant.priority_mode),
        normal_per_priority=tenant.normal_per_priority,
        aging_bound_s=tenant.aging_bound_s,
    )


def waiting_rows(session: Session, tenant_id: str) -> list[TicketRow]:
    return list(
        session.scalars(
            select(TicketRow).where(
                TicketRow.tenant_id == tenant_id, TicketRow.status == TicketStatus.WAITING.value
            )
        )
    )


@dataclass(frozen=True, slots=True)
class QueueView:
    """The waiting tickets in call order and the wait model, at one instant."""

    tenant: TenantRow
    order: list[TicketRow]
    positions: dict[str, int]
    model: WaitModel
    now: datetime

    @classmethod
    def load(cls, session: Session, tenant: TenantRow, now: datetime) -> QueueView:
        order = call_order(
            waiting_rows(session, tenant.id),
            policy_of(tenant),
            streak=tenant.normal_streak,
            now=now,
        )
        return cls(
            tenant=tenant,
            order=order,
            positions={row.id: i for i, row in enumerate(order, start=1)},
            model=_wait_model(session, tenant.id, now),
            now=now,
        )

    def ticket(self, row: TicketRow) -> Ticket:
        position = self.positions.get(row.id)
        return Ticket(
            id=row.id,
            number=row.label,
            service=row.service,
            priority=row.priority,
            status=TicketStatus(row.status),
            counter=row.counter,
            position=position,
            estimated_wait_s=self.model.wait_s(position) if position is not None else None,
            created_at=row.created_at,
            called_at=row.called_at,
        )

    def queue_update(self, session: Session) -> QueueUpdate:
        tenant = self.tenant
        services = session.scalars(
            select(ServiceRow).where(ServiceRow.tenant_id == tenant.id).order_by(ServiceRow.prefix)
        ).all()
        counters = session.scalars(
            select(CounterRow).where(CounterRow.tenant_id == tenant.id).order_by(CounterRow.number)
        ).all()
        calls = session.scalars(
            select(CallRow)
            .where(CallRow.tenant_id == tenant.id)
            .order_by(CallRow.id.desc())
            .limit(LAST_CALLS)
        ).all()
        waiting_per_service: dict[str, int] = {}
        for row in self.order:
            waiting_per_service[row.service] = waiting_per_service.get(row.service, 0) + 1
        new_ticket_wait = self.model.wait_s(len(self.order) + 1)
        return QueueUpdate(
            tenant=tenant.id,
            seq=tenant.seq,
            generated_at=self.now,
            tenant_name=tenant.name,
            locale=tenant.locale,
            timezone=tenant.timezone,
            ticker=tenant.ticker,
            waiting=[
                WaitingTicket(
                    id=row.id,
                    number=row.label,
                    service=row.service,
                    priority=row.priority,
                    position=position,
                    estimated_wait_s=self.model.wait_s(position),
                    created_at=row.created_at,
                )
                for position, row in enumerate(self.order, start=1)
            ],
            services=[
                ServiceQueue(
                    prefix=s.prefix,
                    name=s.name,
                    priority_allowed=s.priority_allowed,
                    waiting=waiting_per_service.get(s.prefix, 0),
                    estimated_wait_s=new_ticket_wait,
                )
                for s in services
            ],
            counters=[CounterInfo(number=c.number, name=c.name) for c in counters],
            last_calls=[
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
            ],
        )


def _wait_model(session: Session, tenant_id: str, now: datetime) -> WaitModel:
    served = session.execute(
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
            session.scalars(
                select(CallRow.counter)
                .distinct()
                .where(
                    CallRow.tenant_id == tenant_id, CallRow.called_at >= now - OPEN_COUNTER_WINDOW
                )
            )
        )
    )
    return WaitModel.from_history(samples, open_counters)


def ticket_documents(
    session: Session, tenant: TenantRow, rows: Sequence[TicketRow], now: datetime
) -> dict[str, Ticket]:
    """Documents for a few tickets, sharing one view of the queue."""
    view = QueueView.load(session, tenant, now)
    return {row.id: view.ticket(row) for row in rows}
