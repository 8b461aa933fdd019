"""What the totem shows, as a comparable value (redraw only when it changes), in words
already translated: the renderer and the touch handler only read it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from edge.clock import clock_text
from edge.texts import Texts, texts_for
from edge.ui.widgets import HeaderView, header_view
from protocol import QueueUpdate, Ticket, TicketStatus
from totem_agent.links import ticket_page_url
from totem_agent.state import (
    ChoosingPriority,
    Home,
    Issuing,
    ShowingCall,
    ShowingError,
    ShowingTicket,
    TotemState,
)


@dataclass(frozen=True, slots=True)
class ServiceButton:
    prefix: str
    name: str
    detail: str


@dataclass(frozen=True, slots=True)
class HomeView:
    title: str
    subtitle: str
    buttons: tuple[ServiceButton, ...]


@dataclass(frozen=True, slots=True)
class PriorityView:
    service_name: str
    question: str
    hint: str
    normal: str
    priority: str
    back: str


@dataclass(frozen=True, slots=True)
class MessageView:
    title: str
    message: str
    error: bool


@dataclass(frozen=True, slots=True)
class TicketView:
    heading: str
    number: str
    service_name: str
    lines: tuple[str, ...]
    qr_url: str
    qr_caption: str
    footer: str


@dataclass(frozen=True, slots=True)
class CalledView:
    number: str
    please_go_to: str
    counter: str
    footer: str


Body = HomeView | PriorityView | MessageView | TicketView | CalledView


@dataclass(frozen=True, slots=True)
class TotemView:
    header: HeaderView
    body: Body


def totem_view(
    state: TotemState, now: datetime, *, fallback_title: str, api: str, tenant: str
) -> TotemView:
    """``api`` and ``tenant`` locate the phone follower page of a ticket (its QR code) when the
    server publishes no public URL for the tenant."""
    snapshot = state.feed.snapshot
    texts = texts_for(state.config.locale, snapshot.locale if snapshot else None)
    header = header_view(
        snapshot.tenant_name if snapshot else fallback_title,
        clock_text(now, snapshot.timezone if snapshot else None),
        state.feed.connection,
        texts,
        logo_url=snapshot.logo_url if snapshot else None,
        accent=snapshot.accent_color if snapshot else None,
    )
    ticket_url = partial(ticket_page_url, state.public_url, api, tenant)
    return TotemView(header, _body(state, texts, snapshot, ticket_url))


def _body(
    state: TotemState,
    texts: Texts,
    snapshot: QueueUpdate | None,
    ticket_url: Callable[[str], str],
) -> Body:
    screen = state.screen
    if isinstance(screen, ChoosingPriority):
        return PriorityView(
            service_name=_service_name(snapshot, screen.service),
            question=texts.choose_priority,
            hint=texts.priority_hint,
            normal=texts.normal,
            priority=texts.priority,
            back=texts.back,
        )
    if isinstance(screen, Issuing):
        return MessageView(texts.issuing, "", error=False)
    if isinstance(screen, ShowingError):
        message = texts.server_unreachable if screen.retryable else screen.detail
        return MessageView(texts.issue_failed, message, error=True)
    if isinstance(screen, ShowingCall):
        return CalledView(
            number=screen.call.number,
            please_go_to=texts.please_go_to,
            counter=texts.place(screen.call.counter, screen.call.counter_name),
            footer=texts.touch_to_finish,
        )
    if isinstance(screen, ShowingTicket):
        mine = state.my_ticket(screen.ticket_id)
        if mine is not None:
            return TicketView(
                heading=texts.your_ticket,
                number=mine.ticket.number,
                service_name=_service_name(snapshot, mine.ticket.service),
                lines=_ticket_lines(mine.ticket, mine.seq, snapshot, texts),
                qr_url=ticket_url(mine.ticket.id),
                qr_caption=texts.follow_on_phone,
                footer=texts.touch_to_finish,
            )
    assert isinstance(screen, Home | ShowingTicket)
    return _home(texts, snapshot)


def _home(texts: Texts, snapshot: QueueUpdate | None) -> HomeView:
    if snapshot is None:
        return HomeView(texts.welcome, texts.reconnecting, ())
    buttons = tuple(
        ServiceButton(
            prefix=service.prefix,
            name=service.name,
            detail=" · ".join(
                part
                for part in (
                    service.description or "",
                    texts.waiting_count.format(count=service.waiting),
                    texts.minutes(service.estimated_wait_s) if service.waiting else "",
                )
                if part
            ),
        )
        for service in snapshot.services
        if service.active  # the admin's choice of what kiosks offer (in the snapshot's order)
    )
    return HomeView(texts.welcome, texts.choose_service if buttons else texts.no_services, buttons)


def _ticket_lines(
    ticket: Ticket, seq: int, snapshot: QueueUpdate | None, texts: Texts
) -> tuple[str, ...]:
    if ticket.status is TicketStatus.CALLED or ticket.status is TicketStatus.IN_SERVICE:
        place = texts.place(ticket.counter, counter_name(ticket, snapshot))
        return (f"{texts.please_go_to} {place}".strip(),)
    if ticket.status is not TicketStatus.WAITING:
        return (texts.ticket_status_ended,)
    position, wait = ticket.position, ticket.estimated_wait_s
    # The snapshot is fresher than the ticket when its seq is newer: positions move with
    # every call, and the snapshot carries them for every waiting ticket.
    if snapshot is not None and snapshot.seq > seq:
        entry = next((w for w in snapshot.waiting if w.id == ticket.id), None)
        if entry is not None:
            position, wait = entry.position, entry.estimated_wait_s
    if position is None:
        return ()
    first = texts.next_in_line if position == 1 else texts.position.format(n=position)
    return (first, texts.estimated_wait.format(text=texts.minutes(wait)))


def _service_name(snapshot: QueueUpdate | None, prefix: str) -> str:
    if snapshot is not None:
        for service in snapshot.services:
            if service.prefix == prefix:
                return service.name
    return prefix


def counter_name(ticket: Ticket, snapshot: QueueUpdate | None) -> str | None:
    """The name of the ticket's counter: the ticket's own ``counter_name``, else the snapshot's
    counter list (a ticket document from before the counter was renamed, or without a name)."""
    if ticket.counter_name or ticket.counter is None or snapshot is None:
        return ticket.counter_name
    return next((c.name for c in snapshot.counters if c.number == ticket.counter), None)
