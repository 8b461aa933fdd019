"""Protocol documents for agent tests, built through the protocol models (never by hand)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from protocol import (
    CallRecord,
    CounterInfo,
    QueueUpdate,
    ServiceQueue,
    Ticket,
    TicketStatus,
    WaitingTicket,
)

T0 = datetime(2026, 11, 29, 15, 0, 0, tzinfo=UTC)

# Counter names as an admin would give them: screens and speech say these, not "counter 4".
COUNTER_NAMES = {1: "Guichê 1", 2: "Guichê 2", 3: "Guichê 3", 4: "Sala de Coleta 4"}

SERVICES = (
    ServiceQueue(
        prefix="A",
        name="Atendimento geral",
        priority_allowed=False,
        waiting=4,
        estimated_wait_s=420,
    ),
    ServiceQueue(
        prefix="P", name="Prioritário", priority_allowed=True, waiting=1, estimated_wait_s=120
    ),
)


def call(
    n: int, *, counter: int = 3, service: str = "A", at: datetime = T0, recall: int = 0
) -> CallRecord:
    number = f"{service}{n:03d}"
    return CallRecord(
        call_id=f"call-{number}-{recall}",
        ticket_id=f"ticket-{number}",
        number=number,
        service=service,
        counter=counter,
        counter_name=COUNTER_NAMES.get(counter, f"Guichê {counter}"),
        called_at=at,
    )


def waiting(n: int, position: int, *, service: str = "A") -> WaitingTicket:
    return WaitingTicket(
        id=f"ticket-{service}{n:03d}",
        number=f"{service}{n:03d}",
        service=service,
        priority=False,
        position=position,
        estimated_wait_s=position * 180,
        created_at=T0 - timedelta(minutes=10),
    )


def snapshot(
    seq: int,
    calls: list[CallRecord] | tuple[CallRecord, ...] = (),
    *,
    tenant: str = "default",
    locale: str = "pt-BR",
    ticker: str | None = None,
    waiting_tickets: tuple[WaitingTicket, ...] = (),
    generated_at: datetime = T0,
) -> QueueUpdate:
    """``calls`` newest first, as in ``last_calls``."""
    return QueueUpdate(
        tenant=tenant,
        seq=seq,
        generated_at=generated_at,
        tenant_name="Clínica São Lucas",
        locale=locale,
        timezone="America/Sao_Paulo",
        ticker=ticker,
        waiting=list(waiting_tickets),
        services=list(SERVICES),
        counters=[CounterInfo(number=n, name=name) for n, name in COUNTER_NAMES.items()],
        last_calls=list(calls),
    )


def ticket(
    number: str = "A023",
    *,
    status: TicketStatus = TicketStatus.WAITING,
    counter: int | None = None,
    position: int | None = 3,
    ticket_id: str | None = None,
) -> Ticket:
    return Ticket(
        id=ticket_id or f"ticket-{number}",
        number=number,
        service=number[0],
        priority=False,
        status=status,
        counter=counter,
        position=position,
        estimated_wait_s=540 if position else None,
        created_at=T0,
        called_at=T0 if status is TicketStatus.CALLED else None,
    )
