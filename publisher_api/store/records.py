"""Plain in-memory copies of the rows every ticket write touches (tenant, services, tickets,
calls), and the few Core statements that read and write them.

Why not the ORM here: a ticket write changes two or three rows, and the ORM's unit of work
(identity map, attribute history, flush planning, one ``SELECT`` per object loaded) cost about
2 ms per single-change transaction, ten times the SQL itself. The writer instead keeps these
records (see ``services.changes``) and writes what a transaction changed with one executemany
per table. Administration keeps using the ORM on the same transaction; both meet at the
database, never in an identity map (admin writes never run in a ticket batch).

Records mirror their table's columns (field name = column name), so loading is
``Record(*row)`` and saving is a dict of the same names. A ticket nests its state (the domain's
``TicketState``, whose fields are the columns a ticket write may change): :func:`ticket_of` and
:func:`_ticket_columns` are its one way in and one way out. A counter nests the domain's
``CounterState`` the same way (:func:`counter_of`, :func:`_counter_columns`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Select, Table, bindparam, delete, insert, select, update

from protocol import ENDED_STATUSES, CallRecord, CounterStatus, TicketStatus
from publisher_api.domain.counters import CounterState
from publisher_api.domain.lifecycle import TicketState
from publisher_api.store.models import (
    CallRow,
    CounterEventRow,
    CounterRow,
    ServiceRow,
    TenantRow,
    TicketRow,
)
from publisher_api.store.prepared import Prepared

OPEN_STATUSES = tuple(s.value for s in TicketStatus if s not in ENDED_STATUSES)
"""Unfinished tickets: what a tenant's writes work on (waiting, called, in service)."""


@dataclass(slots=True)
class TenantRecord:
    id: str
    name: str
    timezone: str
    locale: str
    ticker: str | None
    priority_mode: str
    normal_per_priority: int
    aging_bound_s: int | None
    seq: int
    order_counter: int
    normal_streak: int
    created_at: datetime
    call_timeout_s: int


@dataclass(slots=True)
class ServiceRecord:
    """A service as numbering needs it (``last_number`` changes with every ticket issued)."""

    id: int
    prefix: str
    name: str
    priority_allowed: bool
    last_number: int
    last_number_day: date | None


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """A ticket as every layer above the database holds it: who it is (fixed at issue) and its
    ``state``, the domain's :class:`~publisher_api.domain.lifecycle.TicketState`, which every
    command replaces whole (``replace(record, state=new)``). Frozen, so one object serves as the
    writer's record, a waiting line's element, the copy an event carries and a document's source:
    nobody can change it under another's feet."""

    id: str
    tenant_id: str
    number: int
    label: str
    priority: bool
    created_at: datetime
    idempotency_key: str | None
    state: TicketState

    # What the call order reads (``domain.ordering.InLine``); a transfer changes the service.
    @property
    def service(self) -> str:
        return self.state.service

    @property
    def order_key(self) -> int:
        return self.state.order_key

    @property
    def enqueued_at(self) -> datetime:
        return self.state.enqueued_at


@dataclass(frozen=True, slots=True)
class CounterRecord:
    """A counter as the writer holds it: its configuration (number, name, services) and its
    ``state``, the domain's :class:`~publisher_api.domain.counters.CounterState`, which every
    command replaces whole (``replace(record, state=new)``), as a ticket's is."""

    id: int
    number: int
    name: str
    services: str  # comma-separated prefixes; empty: every service
    state: CounterState

    @property
    def service_list(self) -> list[str]:
        return [p for p in self.services.split(",") if p]


def _names(record: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(record))


R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class _Nested(Generic[R]):
    """A frozen record whose ``state`` is the domain's state, which starts with a ``status``
    enum: its table's columns are the record's other fields, then the state's (what a command
    may change). One rule, both ways, for tickets and counters."""

    record: Callable[..., R]
    state: Callable[..., Any]
    status: Callable[[str], Any]
    identity: tuple[str, ...]
    changing: tuple[str, ...]

    @classmethod
    def of(cls, record: type[R], state: type[Any], status: Callable[[str], Any]) -> _Nested[R]:
        identity = tuple(f for f in _names(record) if f != "state")
        return cls(record, state, status, identity, _names(state))

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.identity, *self.changing)

    def load(self, row: Sequence[Any]) -> R:
        at = len(self.identity)
        return self.record(*row[:at], self.state(self.status(row[at]), *row[at + 1 :]))

    def dump(self, record: R) -> dict[str, Any]:
        state = record.state  # type: ignore[attr-defined]
        columns = {f: getattr(record, f) for f in self.identity}
        columns.update({f: getattr(state, f) for f in self.changing})
        columns["status"] = state.status.value
        return columns


_TENANT_FIELDS = _names(TenantRecord)
_SERVICE_FIELDS = _names(ServiceRecord)
_TICKET = _Nested.of(TicketRecord, TicketState, TicketStatus)
_TENANTS: Table = TenantRow.__table__  # type: ignore[assignment]
_SERVICES: Table = ServiceRow.__table__  # type: ignore[assignment]
_TICKETS: Table = TicketRow.__table__  # type: ignore[assignment]
_CALLS: Table = CallRow.__table__  # type: ignore[assignment]
_COUNTERS: Table = CounterRow.__table__  # type: ignore[assignment]
_COUNTER_EVENTS: Table = CounterEventRow.__table__  # type: ignore[assignment]
_COUNTER = _Nested.of(CounterRecord, CounterState, CounterStatus)

_TENANT_MUTABLE = tuple(f for f in _TENANT_FIELDS if f not in ("id", "created_at"))

# Statements built once. Those every write runs are Prepared (run on the DBAPI cursor, see
# store.prepared); the rest go through SQLAlchemy as usual. Bind names are prefixed where a
# column of the same name is SET.
_SELECT_TENANT = select(*(_TENANTS.c[f] for f in _TENANT_FIELDS)).where(
    _TENANTS.c.id == bindparam("b_id")
)
_GET_TENANT = Prepared(_SELECT_TENANT)
_LOCK_TENANT = Prepared(_SELECT_TENANT.with_for_update())
_UPDATE_TENANT = Prepared(
    update(_TENANTS)
    .where(_TENANTS.c.id == bindparam("b_id"))
    .values({f: bindparam(f"b_{f}") for f in _TENANT_MUTABLE})
)
_SELECT_SERVICES = select(*(_SERVICES.c[f] for f in _SERVICE_FIELDS)).where(
    _SERVICES.c.tenant_id == bindparam("b_tenant")
)
_UPDATE_NUMBERING = Prepared(
    update(_SERVICES)
    .where(_SERVICES.c.id == bindparam("b_id"))
    .values(last_number=bindparam("b_last_number"), last_number_day=bindparam("b_day"))
)
_TICKET_COLUMNS = tuple(_TICKETS.c[f] for f in _TICKET.columns)
_SELECT_OPEN_TICKETS = select(*_TICKET_COLUMNS).where(
    _TICKETS.c.tenant_id == bindparam("b_tenant"), _TICKETS.c.status.in_(OPEN_STATUSES)
)
_SELECT_WAITING_TICKETS = select(*_TICKET_COLUMNS).where(
    _TICKETS.c.tenant_id == bindparam("b_tenant"),
    _TICKETS.c.status == TicketStatus.WAITING.value,
)
_SELECT_TICKET = Prepared(select(*_TICKET_COLUMNS).where(_TICKETS.c.id == bindparam("b_id")))
_SELECT_TICKET_BY_KEY = Prepared(
    select(*_TICKET_COLUMNS).where(
        _TICKETS.c.tenant_id == bindparam("b_tenant"),
        _TICKETS.c.idempotency_key == bindparam("b_key"),
    )
)
_INSERT_TICKETS = Prepared(insert(_TICKETS), keys=_TICKET.columns)
_UPDATE_TICKETS = Prepared(
    update(_TICKETS)
    .where(_TICKETS.c.id == bindparam("b_id"))
    .values({f: bindparam(f"b_{f}") for f in _TICKET.changing})
)
_CALL_FIELDS = (
    "call_id",
    "tenant_id",
    "ticket_id",
    "label",
    "service",
    "counter",
    "counter_name",
    "called_at",
)
_INSERT_CALLS = Prepared(insert(_CALLS), keys=_CALL_FIELDS)
_COUNTER_COLUMNS = tuple(_COUNTERS.c[f] for f in _COUNTER.columns)
_SELECT_COUNTERS = select(*_COUNTER_COLUMNS).where(_COUNTERS.c.tenant_id == bindparam("b_tenant"))
_UPDATE_COUNTERS = Prepared(
    update(_COUNTERS)
    .where(_COUNTERS.c.id == bindparam("b_id"))
    .values({f: bindparam(f"b_{f}") for f in _COUNTER.changing})
)
_COUNTER_EVENT_FIELDS = ("tenant_id", "counter", "username", "kind", "reason", "at")
_INSERT_COUNTER_EVENTS = Prepared(insert(_COUNTER_EVENTS), keys=_COUNTER_EVENT_FIELDS)


# --- tickets: rows <-> records ------------------------------------------------------------


def select_tickets() -> Select[Any]:
    """``SELECT`` of whole tickets (add the ``WHERE``); map each row with :func:`ticket_of`."""
    return select(*_TICKET_COLUMNS)


def ticket_of(row: Sequence[Any]) -> TicketRecord:
    """A ticket row (of :func:`select_tickets`) as a record: the one way in."""
    return _TICKET.load(row)


def _ticket_columns(ticket: TicketRecord) -> dict[str, Any]:
    """A record as its row (column name: value): the one way out."""
    return _TICKET.dump(ticket)


# --- counters: rows <-> records -----------------------------------------------------------


def select_counters() -> Select[Any]:
    """``SELECT`` of whole counters (add the ``WHERE``); map each row with :func:`counter_of`."""
    return select(*_COUNTER_COLUMNS)


def counter_of(row: Sequence[Any]) -> CounterRecord:
    """A counter row (of :func:`select_counters`) as a record: the one way in."""
    return _COUNTER.load(row)


def _counter_columns(counter: CounterRecord) -> dict[str, Any]:
    """A record as its row (column name: value): the one way out."""
    return _COUNTER.dump(counter)


# --- reads ------------------------------------------------------------------------------------


def load_tenant(connection: Connection, tenant_id: str, *, lock: bool) -> TenantRecord | None:
    """The tenant; ``lock`` takes its row lock (``FOR UPDATE`` on PostgreSQL; SQLite ignores it
    and relies on the ``BEGIN IMMEDIATE`` its writers start with)."""
    row = (_LOCK_TENANT if lock else _GET_TENANT).first(connection, {"b_id": tenant_id})
    return None if row is None else TenantRecord(*row)


def load_services(connection: Connection, tenant_id: str) -> dict[str, ServiceRecord]:
    rows = connection.execute(_SELECT_SERVICES, {"b_tenant": tenant_id})
    return {r.prefix: ServiceRecord(*r) for r in rows}


def load_open_tickets(connection: Connection, tenant_id: str) -> dict[str, TicketRecord]:
    rows = connection.execute(_SELECT_OPEN_TICKETS, {"b_tenant": tenant_id})
    return {r.id: ticket_of(r) for r in rows}


def load_waiting_tickets(connection: Connection, tenant_id: str) -> list[TicketRecord]:
    rows = connection.execute(_SELECT_WAITING_TICKETS, {"b_tenant": tenant_id})
    return [ticket_of(r) for r in rows]


def load_counters(connection: Connection, tenant_id: str) -> dict[int, CounterRecord]:
    rows = connection.execute(_SELECT_COUNTERS, {"b_tenant": tenant_id})
    return {r.number: counter_of(r) for r in rows}


def load_ticket(connection: Connection, ticket_id: str) -> TicketRecord | None:
    row = _SELECT_TICKET.first(connection, {"b_id": ticket_id})
    return None if row is None else ticket_of(row)


def ticket_by_idempotency_key(
    connection: Connection, tenant_id: str, key: str
) -> TicketRecord | None:
    row = _SELECT_TICKET_BY_KEY.first(connection, {"b_tenant": tenant_id, "b_key": key})
    return None if row is None else ticket_of(row)


# --- writes -----------------------------------------------------------------------------------


def insert_tenant(connection: Connection, tenant: TenantRecord) -> None:
    connection.execute(insert(_TENANTS), {f: getattr(tenant, f) for f in _TENANT_FIELDS})


def update_tenant(connection: Connection, tenant: TenantRecord) -> None:
    values = {f"b_{f}": getattr(tenant, f) for f in _TENANT_MUTABLE}
    _UPDATE_TENANT.execute(connection, [{"b_id": tenant.id, **values}])


def delete_tenant(connection: Connection, tenant_id: str) -> None:
    """Its services, counters, users, devices, tickets and calls go with it (ON DELETE CASCADE)."""
    connection.execute(delete(_TENANTS).where(_TENANTS.c.id == tenant_id))


def update_numbering(connection: Connection, services: Iterable[ServiceRecord]) -> None:
    rows = [
        {"b_id": s.id, "b_last_number": s.last_number, "b_day": s.last_number_day} for s in services
    ]
    _UPDATE_NUMBERING.execute(connection, rows)


def insert_tickets(connection: Connection, tickets: Iterable[TicketRecord]) -> None:
    _INSERT_TICKETS.execute(connection, [_ticket_columns(t) for t in tickets])


def update_tickets(connection: Connection, tickets: Iterable[TicketRecord]) -> None:
    rows = []
    for ticket in tickets:
        columns = _ticket_columns(ticket)
        rows.append({"b_id": ticket.id, **{f"b_{f}": columns[f] for f in _TICKET.changing}})
    _UPDATE_TICKETS.execute(connection, rows)


def insert_calls(connection: Connection, tenant_id: str, calls: Iterable[CallRecord]) -> None:
    rows = [
        {
            "call_id": c.call_id,
            "tenant_id": tenant_id,
            "ticket_id": c.ticket_id,
            "label": c.number,
            "service": c.service,
            "counter": c.counter,
            "counter_name": c.counter_name,
            "called_at": c.called_at,
        }
        for c in calls
    ]
    _INSERT_CALLS.execute(connection, rows)


def update_counters(connection: Connection, counters: Iterable[CounterRecord]) -> None:
    rows = []
    for counter in counters:
        columns = _counter_columns(counter)
        rows.append({"b_id": counter.id, **{f"b_{f}": columns[f] for f in _COUNTER.changing}})
    _UPDATE_COUNTERS.execute(connection, rows)


def insert_counter_events(connection: Connection, events: Iterable[dict[str, Any]]) -> None:
    """Rows of ``counter_events`` (keys: tenant_id, counter, username, kind, reason, at)."""
    _INSERT_COUNTER_EVENTS.execute(connection, list(events))
