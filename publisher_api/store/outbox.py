"""The transactional outbox (PostgreSQL): what each committed change must publish, written by the
change's own transaction, so a change is published if and only if it was committed, even when
the process that made it dies right after the commit.

A row says which tenant changed, its new ``seq``, which tickets it touched, the events it made
and the documents it left (the queue document and the touched tickets', exactly as committed,
stamped with the row's ``seq``), so the relay publishes without reading the tenant's state back:
a replica other than the one that wrote would otherwise rebuild it from the database for every
commit it relays.

Every change also sends a ``NOTIFY`` on :data:`CHANNEL` (delivered at commit, never for a
rolled-back transaction): it wakes the relay at once, and tells every other replica that its
in-memory copy of that tenant is behind (see ``publishing.relay``).

With SQLite nothing is written here: one process owns the file and publishes its commits
directly (``changes.ChangeSink``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Index,
    Integer,
    String,
    Table,
    Text,
    select,
    text,
    update,
)
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Mapped, mapped_column

from protocol import QueueUpdate, Ticket, TicketStatusChanged, TicketUpdate, decode, encode
from publisher_api.store.models import Base, UTCDateTime

CHANNEL = "queuecast_outbox"


class OutboxRow(Base):
    __tablename__ = "outbox"
    # The pending rows in id order: "published_at IS NULL ORDER BY id" is a range scan.
    __table_args__ = (Index("ix_outbox_pending", "published_at", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[str] = mapped_column(String(63))  # no foreign key: a deletion is published
    seq: Mapped[int] = mapped_column(Integer)
    ticket_ids: Mapped[str] = mapped_column(Text)  # JSON list
    events: Mapped[str] = mapped_column(Text)  # JSON list of encoded ticket_status_changed
    # JSON {"queue": encoded queue_update, "tickets": [encoded ticket_update, ...]}; null for a
    # deletion.
    documents: Mapped[str | None] = mapped_column(Text, default=None)
    deleted: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


_OUTBOX: Table = OutboxRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Signal:
    """The ``NOTIFY`` payload: a tenant reached ``seq``; ``directory``: who may connect changed
    (every replica drops its cached identities)."""

    tenant: str
    seq: int
    directory: bool = False

    def encode(self) -> str:
        return json.dumps({"t": self.tenant, "s": self.seq, "d": self.directory})

    @classmethod
    def decode(cls, payload: str) -> Signal | None:
        try:
            value = json.loads(payload)
            return cls(str(value["t"]), int(value["s"]), bool(value["d"]))
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True, slots=True)
class Pending:
    """An outbox row not yet published."""

    id: int
    tenant: str
    seq: int
    ticket_ids: tuple[str, ...]
    events: tuple[TicketStatusChanged, ...]
    deleted: bool
    update: QueueUpdate | None = None
    """The queue document this change committed (``None``: a deletion)."""
    tickets: Mapping[str, Ticket] = field(default_factory=dict)
    """The documents of the tickets it touched, as committed."""


def append(
    connection: Connection,
    *,
    tenant: str,
    seq: int,
    ticket_ids: Iterable[str],
    events: Iterable[TicketStatusChanged],
    deleted: bool,
    directory: bool,
    now: datetime,
    update: QueueUpdate | None = None,
    tickets: Mapping[str, Ticket] | None = None,
) -> None:
    """Record a change in the caller's transaction, and signal it at commit."""
    documents = None
    if update is not None:
        documents = json.dumps(
            {
                "queue": encode(update).decode(),
                "tickets": [
                    encode(TicketUpdate(tenant=tenant, seq=seq, ticket=ticket)).decode()
                    for ticket in (tickets or {}).values()
                ],
            }
        )
    connection.execute(
        _OUTBOX.insert(),
        {
            "tenant_id": tenant,
            "seq": seq,
            "ticket_ids": json.dumps(list(ticket_ids)),
            "events": json.dumps([encode(event).decode() for event in events]),
            "deleted": deleted,
            "documents": documents,
            "created_at": now,
        },
    )
    signal(connection, Signal(tenant, seq, directory))


def signal(connection: Connection, what: Signal) -> None:
    """``NOTIFY`` at commit (transactional: nothing is sent for a rollback)."""
    connection.execute(
        text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": what.encode()}
    )


def pending(connection: Connection, limit: int) -> list[Pending]:
    """The oldest unpublished rows, in id order. Per tenant, id order is ``seq`` order: a
    tenant's writes hold its row lock from before the insert until the commit."""
    rows = connection.execute(
        select(
            OutboxRow.id,
            OutboxRow.tenant_id,
            OutboxRow.seq,
            OutboxRow.ticket_ids,
            OutboxRow.events,
            OutboxRow.deleted,
            OutboxRow.documents,
        )
        .where(OutboxRow.published_at.is_(None))
        .order_by(OutboxRow.id)
        .limit(limit)
    ).all()
    return [
        Pending(
            id=row.id,
            tenant=row.tenant_id,
            seq=row.seq,
            ticket_ids=tuple(json.loads(row.ticket_ids)),
            events=tuple(
                TicketStatusChanged.model_validate_json(event) for event in json.loads(row.events)
            ),
            deleted=row.deleted,
            **_documents(row.documents),
        )
        for row in rows
    ]


def _documents(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    value = json.loads(text)
    update = decode(value["queue"])
    tickets = [decode(ticket) for ticket in value["tickets"]]
    assert isinstance(update, QueueUpdate)
    return {
        "update": update,
        "tickets": {t.ticket.id: t.ticket for t in tickets if isinstance(t, TicketUpdate)},
    }


def mark_published(connection: Connection, ids: Sequence[int], at: datetime) -> None:
    if ids:
        connection.execute(update(OutboxRow).where(OutboxRow.id.in_(ids)).values(published_at=at))


def prune(connection: Connection, published_before: datetime) -> int:
    """Forget rows published before ``published_before`` (kept a while for inspection)."""
    result = connection.execute(
        sql_delete(OutboxRow).where(OutboxRow.published_at < published_before)
    )
    return int(result.rowcount or 0)
