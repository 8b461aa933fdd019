"""The totem's state, inputs, effects and pure reducer: (state, input, now) -> (state, effects).

Screens: home -> (priority choice) -> issuing -> ticket -> home; a call of a ticket issued here
interrupts with the called screen (sound included), unless a customer is in the middle of
taking a ticket, who then only hears it. Every screen but home times out back to home.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from edge.feed import Feed, feed_step
from edge.inputs import (
    Announce,
    Follow,
    LinkUp,
    SnapshotReceived,
    Tick,
    TicketCleared,
    TicketReceived,
    Unfollow,
)
from edge.texts import texts_for
from protocol import CallRecord, QueueUpdate, Ticket
from totem_agent.links import usable_public_url


# --- inputs of the totem ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ServiceTapped:
    prefix: str
    key: str  # Idempotency-Key for the ticket this tap may request


@dataclass(frozen=True, slots=True)
class PriorityTapped:
    priority: bool
    key: str


@dataclass(frozen=True, slots=True)
class BackTapped:
    """Back from the priority choice, or done with the ticket / called / error screen."""


@dataclass(frozen=True, slots=True)
class TicketIssued:
    key: str
    ticket: Ticket


@dataclass(frozen=True, slots=True)
class IssueFailed:
    key: str
    retryable: bool  # the server could not be reached; otherwise it refused (detail says why)
    detail: str


@dataclass(frozen=True, slots=True)
class PublicUrlLearned:
    """What the API said the tenant's public URL is (``None``: it could not say)."""

    url: object


# --- effects ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LearnPublicUrl:
    """Ask the API for the tenant's public URL (at each connection: it may have changed)."""


@dataclass(frozen=True, slots=True)
class IssueTicket:
    service: str
    priority: bool
    key: str


@dataclass(frozen=True, slots=True)
class PrintTicket:
    ticket: Ticket
    service_name: str
    tenant_name: str
    locale: str
    places: tuple[str, ...] = ()  # the counters that serve this service, when not all do
    timezone: str | None = None  # the tenant's: the paper shows the time the kiosk's clock shows
    public_url: str | None = None  # the tenant's public base URL, for the QR (else --api)


# --- screens ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Home:
    pass


@dataclass(frozen=True, slots=True)
class ChoosingPriority:
    service: str


@dataclass(frozen=True, slots=True)
class Issuing:
    service: str
    priority: bool
    key: str
    until: datetime  # a lost answer must not freeze the kiosk


@dataclass(frozen=True, slots=True)
class ShowingTicket:
    ticket_id: str
    until: datetime


@dataclass(frozen=True, slots=True)
class ShowingCall:
    call: CallRecord
    until: datetime


@dataclass(frozen=True, slots=True)
class ShowingError:
    retryable: bool
    detail: str
    until: datetime


Screen = Home | ChoosingPriority | Issuing | ShowingTicket | ShowingCall | ShowingError


@dataclass(frozen=True, slots=True)
class TotemConfig:
    ticket_screen: timedelta = timedelta(seconds=20)
    called_screen: timedelta = timedelta(seconds=15)
    error_screen: timedelta = timedelta(seconds=8)
    issue_timeout: timedelta = timedelta(seconds=25)
    recent: timedelta = timedelta(seconds=60)
    locale: str | None = None
    remembered_tickets: int = 100  # tickets issued here whose calls this totem announces


@dataclass(frozen=True, slots=True)
class Mine:
    """A ticket issued by this totem; ``seq`` of the update it came from (-1: not from one)."""

    ticket: Ticket
    seq: int = -1


@dataclass(frozen=True, slots=True)
class TotemState:
    config: TotemConfig = field(default_factory=TotemConfig)
    feed: Feed = field(default_factory=Feed)
    screen: Screen = field(default_factory=Home)
    mine: tuple[Mine, ...] = ()
    public_url: str | None = None  # for QR codes; None: --api
    asked_public_url: bool = False

    def my_ticket(self, ticket_id: str) -> Mine | None:
        return next((m for m in self.mine if m.ticket.id == ticket_id), None)

    def locale(self) -> str:
        snapshot_locale = self.feed.snapshot.locale if self.feed.snapshot else None
        return texts_for(self.config.locale, snapshot_locale).locale


Result = tuple[TotemState, list[object]]


def reduce(state: TotemState, event: object, now: datetime) -> Result:
    match event:
        case Tick():
            return _tick(state, now)
        case ServiceTapped(prefix=prefix, key=key):
            return _service_tapped(state, prefix, key, now)
        case PriorityTapped(priority=priority, key=key):
            if isinstance(state.screen, ChoosingPriority):
                return _issue(state, state.screen.service, priority, key, now)
            return state, []
        case BackTapped():
            if isinstance(state.screen, Home | Issuing):
                return state, []
            return _go(state, Home())
        case TicketIssued(key=key, ticket=ticket):
            return _issued(state, key, ticket, now)
        case IssueFailed(key=key, retryable=retryable, detail=detail):
            if isinstance(state.screen, Issuing) and state.screen.key == key:
                return _go(state, ShowingError(retryable, detail, now + state.config.error_screen))
            return state, []
        case TicketReceived(ticket=ticket, seq=seq):
            return _ticket_update(state, ticket, seq), []
        case TicketCleared():
            return state, []  # the screen keeps the last state it knew; the timeout clears it
        case PublicUrlLearned(url=url):
            learnt = usable_public_url(url)
            if learnt is None:  # a failed ask is asked again at the next connection
                return replace(state, asked_public_url=False), []
            return (state if learnt == state.public_url else replace(state, public_url=learnt)), []
    state, effects = _network(state, event, now)
    # At each connection (and once, should polling be the first to answer), as the snapshot.
    if isinstance(event, LinkUp) or (
        isinstance(event, SnapshotReceived) and not state.asked_public_url
    ):
        return replace(state, asked_public_url=True), [*effects, LearnPublicUrl()]
    return state, effects


def _tick(state: TotemState, now: datetime) -> Result:
    screen = state.screen
    if isinstance(screen, Issuing) and now >= screen.until:
        return _go(state, ShowingError(True, "timeout", now + state.config.error_screen))
    if isinstance(screen, ShowingTicket | ShowingCall | ShowingError) and now >= screen.until:
        return _go(state, Home())
    return state, []


def _service_tapped(state: TotemState, prefix: str, key: str, now: datetime) -> Result:
    snapshot = state.feed.snapshot
    if not isinstance(state.screen, Home) or snapshot is None:
        return state, []
    service = next((s for s in snapshot.services if s.prefix == prefix and s.active), None)
    if service is None:
        return state, []
    if service.priority_allowed:
        return _go(state, ChoosingPriority(prefix))
    return _issue(state, prefix, False, key, now)


def _issue(state: TotemState, service: str, priority: bool, key: str, now: datetime) -> Result:
    issuing = Issuing(service, priority, key, now + state.config.issue_timeout)
    new_state, effects = _go(state, issuing)
    return new_state, [*effects, IssueTicket(service, priority, key)]


def _issued(state: TotemState, key: str, ticket: Ticket, now: datetime) -> Result:
    if not (isinstance(state.screen, Issuing) and state.screen.key == key):
        return state, []  # an answer that arrived after we gave up: nobody is waiting for it
    mine = (*state.mine, Mine(ticket))[-state.config.remembered_tickets :]
    new_state, effects = _go(
        replace(state, mine=mine), ShowingTicket(ticket.id, now + state.config.ticket_screen)
    )
    snapshot = state.feed.snapshot
    service_name = (
        next((s.name for s in snapshot.services if s.prefix == ticket.service), ticket.service)
        if snapshot
        else ticket.service
    )
    tenant_name = snapshot.tenant_name if snapshot else ""
    places = serving_counters(snapshot, ticket.service) if snapshot else ()
    timezone = snapshot.timezone if snapshot else None
    printing = PrintTicket(
        ticket,
        service_name,
        tenant_name,
        state.locale(),
        places,
        timezone,
        state.public_url,
    )
    return new_state, [*effects, Follow(ticket.id), printing]


def _ticket_update(state: TotemState, ticket: Ticket, seq: int | None) -> TotemState:
    known = state.my_ticket(ticket.id)
    if known is None or (seq is not None and seq < known.seq):
        return state  # not ours, or older than what we have
    updated = Mine(ticket, known.seq if seq is None else seq)
    if updated == known:
        return state
    return replace(state, mine=tuple(updated if m is known else m for m in state.mine))


def _network(state: TotemState, event: object, now: datetime) -> Result:
    feed, fresh = feed_step(state.feed, event, now=now, recent=state.config.recent)
    if feed is state.feed:
        return state, []
    state = replace(state, feed=feed)
    my_calls = [call for call in fresh if state.my_ticket(call.ticket_id) is not None]
    if not my_calls:
        return state, []
    locale = state.locale()
    announcements: list[object] = [
        Announce(call.call_id, call.number, call.counter, locale, call.counter_name)
        for call in my_calls
    ]
    if isinstance(state.screen, ChoosingPriority | Issuing):
        return state, announcements  # a customer is busy here: sound only
    new_state, effects = _go(state, ShowingCall(my_calls[-1], now + state.config.called_screen))
    return new_state, [*effects, *announcements]


def _go(state: TotemState, screen: Screen) -> Result:
    """Change screen; stop following the ticket that was on screen."""
    effects: list[object] = []
    old = state.screen
    if isinstance(old, ShowingTicket) and not (
        isinstance(screen, ShowingTicket) and screen.ticket_id == old.ticket_id
    ):
        effects.append(Unfollow(old.ticket_id))
    return replace(state, screen=screen), effects


def serving_counters(snapshot: QueueUpdate, service: str) -> tuple[str, ...]:
    """Names of the counters that serve ``service`` (a counter with no assigned services serves
    all). Empty when every counter serves it: the slip then needs no "served at" line."""
    counters = snapshot.counters
    serving = [c for c in counters if not c.services or service in c.services]
    if len(serving) == len(counters):
        return ()
    return tuple(c.name for c in serving)
