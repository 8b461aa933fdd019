"""The documents that travel over MQTT and HTTP, and their one decoder.

The REST API returns exactly these documents (``GET .../queue`` *is* a ``queue_update``,
``GET .../tickets/{id}`` is a :class:`Ticket`), so a screen that falls back to HTTP polling feeds
the same reducer as one that is live on MQTT.

Compatibility rule: receivers ignore fields they do not know (``extra="ignore"``), senders only
add fields within one ``version``; removing or changing a field means a new version. A receiver
ignores a whole document whose ``version`` it does not know (:func:`decode` raises
:class:`UnsupportedVersion`, a :class:`ProtocolError`), so an old retained document left on a
topic by a previous release, or a newer one, is skipped cleanly rather than misread.

Versions: ``queue_update`` is at 2 (its ``waiting`` list became the next few tickets only, with
``waiting_total``: the document stays small whatever the queue length; the ordered list is the
staff endpoint's :class:`WaitingPage`). ``ticket_update`` is at 2: its ticket carries the
``call_id`` of its current call, because a phone announces the call (and every recall) from its
ticket topic alone; a version-1 ticket document cannot tell a recall from the call before it, so
it is ignored (the API publishes every ticket again on start-up). Every other document is at 1.
Version-1 queue documents are still read (same fields): the API can label its bounded documents 1
for browser pages of an earlier release, which accept only 1.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from protocol.identifiers import DeviceId, TenantId

PROTOCOL_VERSION = 1
QUEUE_UPDATE_VERSION = 2
TICKET_UPDATE_VERSION = 2
NEXT_UP = 10
"""How many of the next tickets a ``queue_update`` lists (``waiting``), whatever the queue."""


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    IN_SERVICE = "in_service"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


ENDED_STATUSES = frozenset({TicketStatus.COMPLETED, TicketStatus.NO_SHOW, TicketStatus.CANCELLED})


class _Document(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Ticket(_Document):
    """One ticket as every client sees it (REST body and ``ticket_update.ticket``)."""

    id: str
    number: str = Field(description="Service prefix and zero-padded number, e.g. A023")
    service: str = Field(description="Prefix of the service the ticket is queued for")
    priority: bool
    status: TicketStatus
    counter: int | None = Field(description="Counter number that called or serves the ticket")
    position: int | None = Field(
        description="While waiting: 1-based place in its own service's line (1 + the tickets of "
        "the same service that will be called before it, under the tenant's ordering policy)"
    )
    estimated_wait_s: int | None = Field(description="Estimated seconds until called")
    created_at: datetime
    called_at: datetime | None
    counter_name: str | None = Field(
        default=None, description="Name of the counter (e.g. 'Sala de Coleta 4'), with counter"
    )
    people_ahead: int | None = Field(
        default=None, description="While waiting: position - 1 (people ahead in its own line)"
    )
    started_at: datetime | None = Field(
        default=None, description="When service started (in_service), if it did"
    )
    end_reason: str | None = Field(
        default=None,
        description="Why it ended when no operator ended it: call_timeout (called and never "
        "started in time -> no_show) or day_closed (still open at the tenant's local midnight)",
    )
    call_id: str | None = Field(
        default=None,
        description="While called or in service: the id of its latest call (new at every "
        "recall, the same as in last_calls and the event), so a phone announces each call once",
    )


class WaitingTicket(_Document):
    """A waiting ticket inside the queue snapshot. The list is in the tenant's call order;
    ``position`` is the place in the ticket's own service's line (as in :class:`Ticket`)."""

    id: str
    number: str
    service: str
    priority: bool
    position: int
    estimated_wait_s: int | None
    created_at: datetime


class ServiceQueue(_Document):
    prefix: str
    name: str
    priority_allowed: bool
    waiting: int
    estimated_wait_s: int | None = Field(description="Estimated wait for a ticket issued now")
    description: str | None = Field(default=None, description="A line under the name on kiosks")
    active: bool = Field(default=True, description="Offered on kiosks (list order is kiosk order)")


class CounterStatus(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


class CounterInfo(_Document):
    """A counter as screens see it (who holds it is for staff only, never published)."""

    number: int
    name: str
    status: CounterStatus = Field(default=CounterStatus.CLOSED)
    services: list[str] = Field(
        default_factory=list, description="Prefixes of the services it serves; empty: all"
    )


class CallRecord(_Document):
    """One call (or recall) of a ticket. ``call_id`` is new for every call, recall included,
    so screens announce each call id at most once."""

    call_id: str
    ticket_id: str
    number: str
    service: str
    counter: int
    counter_name: str
    called_at: datetime


class QueueUpdate(_Document):
    """The tenant's visible state, bounded whatever the queue length (counts and estimated
    waits per service, counters, the last calls, the next few tickets): retained on
    ``tenant/<t>/queue`` and the body of ``GET /api/v1/tenants/<t>/queue``. ``seq`` grows with
    every committed change of the tenant; receivers ignore a snapshot whose ``seq`` is lower than
    one they already applied. A phone follows its own ticket's topic instead (position, people
    ahead, estimated wait); staff page through the whole list over HTTP (:class:`WaitingPage`)."""

    type: Literal["queue_update"] = "queue_update"
    version: int = Field(default=QUEUE_UPDATE_VERSION, ge=1)
    tenant: TenantId
    seq: int = Field(ge=0)
    generated_at: datetime
    tenant_name: str
    locale: str = Field(description="BCP 47 tag of the tenant's language: pt-BR, en or es")
    timezone: str
    ticker: str | None = Field(default=None, description="Optional scrolling text for displays")
    logo_url: str | None = Field(
        default=None, description="The tenant's logo (path on the API; changes with each upload)"
    )
    accent_color: str | None = Field(default=None, description="The tenant's colour, #rrggbb")
    waiting: list[WaitingTicket] = Field(
        description=f"The next tickets to be called, in call order: at most {NEXT_UP}"
    )
    waiting_total: int = Field(default=0, ge=0, description="How many tickets wait in all")
    services: list[ServiceQueue]
    counters: list[CounterInfo]
    last_calls: list[CallRecord] = Field(description="Most recent first, at most 10")


class WaitingPage(_Document):
    """Staff only, over HTTP (``GET .../waiting``): one page of the tenant's waiting tickets in
    call order (optionally one service's, or those whose number matches), and how many match."""

    total: int = Field(ge=0, description="Waiting tickets matching the filter, all pages")
    offset: int = Field(ge=0)
    limit: int = Field(ge=1)
    tickets: list[WaitingTicket]


class TicketUpdate(_Document):
    """Retained on ``tenant/<t>/tickets/<id>``: the current state of one ticket, and all a phone
    follows (a few hundred bytes whatever the queue length). Published when the ticket changes
    (a recall included: new ``call_id`` and ``called_at``) and, while it waits, when its place
    moves (coalesced: a burst of calls gives one update, and a ticket far back is told when it
    moved noticeably, exactly within about half a minute)."""

    type: Literal["ticket_update"] = "ticket_update"
    version: int = Field(default=TICKET_UPDATE_VERSION, ge=1)
    tenant: TenantId
    seq: int = Field(ge=0)
    ticket: Ticket


class TicketStatusChanged(_Document):
    """Not retained, on ``tenant/<t>/events``: one change of one ticket. A recall is
    ``called -> called`` with a new ``call_id``; issuing a ticket is ``None -> waiting``."""

    type: Literal["ticket_status_changed"] = "ticket_status_changed"
    version: int = Field(default=PROTOCOL_VERSION, ge=1)
    tenant: TenantId
    seq: int = Field(ge=0)
    ticket: Ticket
    from_status: TicketStatus | None = Field(alias="from")
    to_status: TicketStatus = Field(alias="to")
    counter: int | None
    call_id: str | None
    at: datetime


class PresenceStatus(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class DevicePresence(_Document):
    """Retained on ``tenant/<t>/devices/<id>/status``; the ``offline`` one is the device's Will."""

    type: Literal["device_presence"] = "device_presence"
    version: int = Field(default=PROTOCOL_VERSION, ge=1)
    tenant: TenantId
    device_id: DeviceId
    role: str
    status: PresenceStatus


Message: TypeAlias = Annotated[
    QueueUpdate | TicketUpdate | TicketStatusChanged | DevicePresence,
    Field(discriminator="type"),
]

_MESSAGE_ADAPTER: TypeAdapter[Message] = TypeAdapter(Message)


VERSIONS: dict[str, frozenset[int]] = {
    # 1 is still read: the same fields (only ``waiting`` got shorter); the API labels its
    # documents 1 (QUEUECAST_QUEUE_UPDATE_VERSION=1) while pages of an earlier release run.
    "queue_update": frozenset({1, QUEUE_UPDATE_VERSION}),
    # 1 is not read: without call_id a phone cannot announce a recall (see the module docstring).
    "ticket_update": frozenset({TICKET_UPDATE_VERSION}),
    "ticket_status_changed": frozenset({PROTOCOL_VERSION}),
    "device_presence": frozenset({PROTOCOL_VERSION}),
}
"""The versions of each document this code understands."""


class ProtocolError(ValueError):
    """A payload that is not one of our documents (malformed JSON, unknown type, bad field)."""


class UnsupportedVersion(ProtocolError):
    """One of our documents, in a version this code does not know: skip it (not an error of
    the sender: an old retained document, or a newer release)."""


def decode(payload: bytes | str) -> Message:
    """Decode one payload. An empty payload is a cleared retained topic, not a message:
    callers check ``if not payload`` first; here it raises like any other non-message."""
    try:
        message = _MESSAGE_ADAPTER.validate_json(payload)
    except ValidationError as exc:
        raise ProtocolError(_summarise(exc)) from None
    if message.version not in VERSIONS[message.type]:
        raise UnsupportedVersion(f"{message.type} version {message.version} is not supported")
    return message


def encode(message: QueueUpdate | TicketUpdate | TicketStatusChanged | DevicePresence) -> bytes:
    """The one encoding every sender uses: JSON, field aliases (``from``/``to``), nulls kept."""
    return message.model_dump_json(by_alias=True).encode()


def _summarise(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "payload"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"
