"""Tables. Ticket rows refer to services and counters by prefix and number (what people see),
not by foreign key, so history and stats survive a service or counter being removed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints, so Alembic migrations (batch mode on SQLite) can refer to them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TenantRow(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(16))
    ticker: Mapped[str | None] = mapped_column(String(500), default=None)
    priority_mode: Mapped[str] = mapped_column(String(16), default="ratio")
    normal_per_priority: Mapped[int] = mapped_column(Integer, default=2)
    aging_bound_s: Mapped[int | None] = mapped_column(Integer, default=None)
    # Grows with every committed change that alters what screens show (the snapshot's seq).
    seq: Mapped[int] = mapped_column(Integer, default=0)
    # Source of order_key for tickets joining the back of a queue (FIFO across services).
    order_counter: Mapped[int] = mapped_column(Integer, default=0)
    # Consecutive normal calls since the last priority call (ratio policy).
    normal_streak: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A ticket called and never started for this long becomes no_show (0: never).
    call_timeout_s: Mapped[int] = mapped_column(Integer, default=900, server_default="900")


class ServiceRow(Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("tenant_id", "prefix"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(3))
    name: Mapped[str] = mapped_column(String(200))
    priority_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
    last_number_day: Mapped[date | None] = mapped_column(Date, default=None)


class CounterRow(Base):
    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="closed", server_default="closed")
    holder: Mapped[str | None] = mapped_column(String(64), default=None)
    pause_reason: Mapped[str | None] = mapped_column(String(100), default=None)
    status_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The prefixes of the services it serves, comma-separated ("A,P"; empty: all). Prefixes are
    # [A-Z]{1,3}, and the list is read and written whole, with the counter: a join table would
    # only add a query to every snapshot.
    services: Mapped[str] = mapped_column(String(200), default="", server_default="")


class CounterEventRow(Base):
    """A counter's history (open, pause, resume, close, takeover): pause time per attendant."""

    __tablename__ = "counter_events"
    __table_args__ = (Index("ix_counter_events_tenant_at", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    counter: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(100), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    tenant_id: Mapped[str | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeviceRow(Base):
    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("tenant_id", "device_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(String(63))
    role: Mapped[str] = mapped_column(String(16))
    # Only the token with this id is accepted: rotating or deleting revokes the old one.
    token_id: Mapped[str] = mapped_column(String(64))
    token_issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketRow(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_tickets_tenant_status", "tenant_id", "status"),
        Index("ix_tickets_tenant_created", "tenant_id", "created_at"),
        Index("ix_tickets_tenant_ended", "tenant_id", "ended_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex: unguessable
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(3))
    number: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(8))
    priority: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    counter: Mapped[int | None] = mapped_column(Integer, default=None)
    order_key: Mapped[int] = mapped_column(Integer)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    call_id: Mapped[str | None] = mapped_column(String(32), default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    served_by: Mapped[str | None] = mapped_column(String(64), default=None)  # who called it
    # Why it ended when no operator ended it: call_timeout, day_closed.
    end_reason: Mapped[str | None] = mapped_column(String(32), default=None)


class CallRow(Base):
    """Every call and recall, each with its own id: the snapshot's ``last_calls``."""

    __tablename__ = "calls"
    __table_args__ = (Index("ix_calls_tenant_seq", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # call order
    call_id: Mapped[str] = mapped_column(String(32), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    ticket_id: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(8))
    service: Mapped[str] = mapped_column(String(3))
    counter: Mapped[int] = mapped_column(Integer)
    counter_name: Mapped[str] = mapped_column(String(200))
    called_at: Mapped[datetime] = mapped_column(UTCDateTime())
