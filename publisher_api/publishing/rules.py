"""What to publish for committed changes, when to tell waiting tickets their place moved, and
when to clear an ended ticket's topic.

:class:`PublishingRules` holds no thread and no event loop: a driver (see ``drivers``) hands it
batches of work in commit order, on one thread at a time, and calls :meth:`~PublishingRules.tick`
when :meth:`~PublishingRules.seconds_until_due` says something is due.

* Each change arrives with the state it committed (``TenantChanged.state``): the touched
  tickets' documents and the bounded queue document are published from it, nothing is read back.
  Ten changes waiting in the inbox cost one queue document (the newest); events go out one by
  one, in order.
* A waiting ticket's place moves when others are called, transferred or reactivated. Followers
  are told on their ticket topic, coalesced: at most one pass per tenant every
  ``FOLLOWER_PERIOD_S``, sending at most ``FOLLOWER_MAX_PER_PASS`` messages, front first; in it
  a ticket near the front is told of any move, one further back when it moved by a tenth or its
  last update is ``FOLLOWER_STALE_S`` old (so a burst of calls never means one message per call
  per waiting ticket, following costs a bounded number of messages a second whatever the queue
  length, and every place becomes exact: the first ones within a second).
* A message larger than the broker accepts is reported and skipped: never sent, so it can
  never make the broker drop our connection and come back first after every reconnect.
* After every (re)connect everything retained is published again from the database, because a
  restarted broker has forgotten it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Protocol

from protocol import ENDED_STATUSES, QueueUpdate, Ticket, TicketStatus, TicketUpdate, encode
from protocol.topics import events_topic, queue_topic, ticket_topic
from publisher_api.changes import CommittedState, StateSource, TenantChanged
from publisher_api.publishing.clearing import ClearSchedule

log = logging.getLogger(__name__)

FOLLOWER_PERIOD_S = 1.0
FOLLOWER_NEAR = 10
"""Places 1..FOLLOWER_NEAR are told of every move (they are about to be called)."""
FOLLOWER_STALE_S = 30.0
FOLLOWER_MAX_PER_PASS = 200
"""Messages per tenant per pass at most (the walk goes front first, so the first places are
served first; the rest are owed to the next pass): the cost of following is bounded per second
whatever the queue length and the call rate (5,000 waiting / 30 s < 200 a second)."""
FOLLOWER_HEAD = 500
FOLLOWER_FULL_S = 5.0
"""A pass walks a tenant's first FOLLOWER_HEAD tickets in call order (those about to be called,
whose every move matters); the whole list at most every FOLLOWER_FULL_S."""
FOLLOWER_SLICE = 200
FOLLOWER_SEND_COST = 25
"""A step of a pass looks at up to FOLLOWER_SLICE tickets, a message counting for
FOLLOWER_SEND_COST of them (building, encoding and handing one to the broker costs about that
many comparisons): the publisher shares the API's event loop, so a pass over 5,000 tickets is cut
into steps of well under a millisecond of CPU (measured at 5,000 waiting: 0.1 ms typical, 0.6 ms
at most; 1.1 ms with steps of 500), with writes in between. A write that arrives during a step
waits for it: that wait is what the write p99 at 5,000 waiting has over the one at 10."""


class Transport(Protocol):
    """Where messages go: a paho connection to a broker, or the embedded broker itself."""

    @property
    def connected(self) -> bool: ...

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> bool:
        """QoS 1. False (and the message dropped) when it cannot be delivered now: the state it
        carried is published again in full at the next connect."""


@dataclass(frozen=True, slots=True)
class RepublishAll:
    """Work item: send every tenant's retained state again (the broker may have lost it)."""


Work = TenantChanged | RepublishAll


@dataclass(frozen=True, slots=True)
class Everything:
    """Every tenant's retained state as read from the database (blocking: a driver reads it
    off the event loop, then hands it to :meth:`PublishingRules.process`)."""

    tenants: list[tuple[str, QueueUpdate | None, Sequence[Ticket]]]


@dataclass(slots=True)
class _Told:
    position: int
    at: float


class _Pass:
    """One follower pass over the tenants whose places may have moved: a walk of each one's
    committed (immutable) state, resumable between slices."""

    def __init__(self, tenants: list[tuple[str, CommittedState]], full: set[str]) -> None:
        self._tenants = tenants
        self._full = full
        """Tenants walked to the end this pass; the others only their first FOLLOWER_HEAD."""
        self._walk: Iterator[tuple[str, int]] | None = None
        self._waiting: set[str] = set()
        self._owed = False
        self._sent = 0

    def step(self, rules: PublishingRules, now: float, budget: int) -> bool:
        """Look at up to ``budget`` tickets; True when the pass is over."""
        while self._tenants:
            tenant, state = self._tenants[0]
            if self._walk is None:
                if state.update.seq < rules._last_seq.get(tenant, -1):
                    self._tenants.pop(0)  # a newer state was published: its own pass follows
                    continue
                self._walk, self._waiting, self._owed = state.waiting_places(), set(), False
                if tenant not in self._full:
                    self._walk = islice(self._walk, FOLLOWER_HEAD)
                    self._owed = state.update.waiting_total > FOLLOWER_HEAD  # the rest: later
                self._sent = 0
            over = True
            for ticket_id, place in self._walk:
                self._waiting.add(ticket_id)
                may_send = self._sent < FOLLOWER_MAX_PER_PASS
                sent = rules._tell_one(tenant, state, ticket_id, place, now, may_send=may_send)
                if sent is None:
                    self._owed = True
                elif sent:
                    self._sent += 1
                budget -= FOLLOWER_SEND_COST if sent else 1
                if budget <= 0:
                    over = False
                    break
            if over:  # this tenant's walk is over
                if tenant in self._full:
                    told = rules._told.get(tenant, {})
                    for gone in [t for t in told if t not in self._waiting]:
                        del told[gone]
                if self._owed and tenant not in rules._moved:
                    rules._places_may_have_moved(tenant, state)  # someone is owed a place
                self._tenants.pop(0)
                self._walk = None
            else:
                return False
        return True


class PublishingRules:
    def __init__(
        self,
        source: StateSource,
        transport: Transport,
        *,
        clear_grace_s: float,
        max_payload_bytes: int = 256 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._transport = transport
        self._grace = clear_grace_s
        self._max_payload = max_payload_bytes
        self._clock = clock
        self._clears = ClearSchedule()
        self._last_seq: dict[str, int] = {}
        self._ended: set[tuple[str, str]] = set()
        """Tickets whose last published state is ended (their topic may be cleared)."""
        self._told: dict[str, dict[str, _Told]] = {}
        """Per tenant, the place each waiting ticket's topic last said."""
        self._moved: dict[str, CommittedState] = {}
        """Tenants whose waiting places may have moved: their newest committed state."""
        self._next_pass: float | None = None
        self._pass: _Pass | None = None
        self._full_walk: dict[str, float] = {}
        """When each tenant's waiting list was last walked to the end."""
        """The follower pass under way, walked a slice at a time so writes run in between."""
        self.skipped = 0
        """Messages refused for their size (reported in the log; also read by tests)."""

    def read_everything(self) -> Everything:
        """What a :class:`RepublishAll` publishes, read from the database (blocking)."""
        ended_after = datetime.now(UTC) - timedelta(seconds=self._grace)
        return Everything(
            [
                (
                    tenant,
                    self._source.queue_update(tenant),
                    self._source.retained_tickets(tenant, ended_after),
                )
                for tenant in self._source.tenant_ids()
            ]
        )

    def process(self, batch: Sequence[Work], everything: Everything | None = None) -> None:
        """Publish one batch of work (commit order), then whatever is due. ``everything`` is
        the state a :class:`RepublishAll` in the batch publishes, if already read (otherwise it
        is read here). Never raises: a bad row or a broker hiccup must not stop publishing for
        every tenant; the next change or reconnect publishes the state again."""
        try:
            self._process(batch, everything)
        except Exception:
            log.exception("publishing failed; continuing")
        self.tick()

    def tick(self) -> None:
        """Clear the ended topics and tell the followers whose turn has come."""
        try:
            self._clear_due()
            self._tell_followers()
        except Exception:
            log.exception("publishing failed; continuing")

    def seconds_until_due(self) -> float | None:
        now = self._clock()
        due = [
            d for d in (self._clears.seconds_until_next(now), self._pass_in(now)) if d is not None
        ]
        return min(due) if due else None

    def _pass_in(self, now: float) -> float | None:
        if self._pass is not None:
            return 0.0  # the next slice: at once, after whatever else is waiting
        return None if self._next_pass is None else max(0.0, self._next_pass - now)

    # --- committed changes --------------------------------------------------------------------
    def _process(self, batch: Sequence[Work], everything: Everything | None) -> None:
        if not batch or not self._transport.connected:
            # Nothing can be delivered now; the connect that ends this outage republishes all.
            return
        changes = [item for item in batch if isinstance(item, TenantChanged)]
        if any(isinstance(item, RepublishAll) for item in batch):
            # Covers the state of every change in this batch (read after they committed).
            self._publish_everything(everything or self.read_everything())
            changes_needing_state: list[TenantChanged] = []
        else:
            changes_needing_state = changes
        by_tenant: dict[str, list[TenantChanged]] = {}
        for change in changes_needing_state:
            by_tenant.setdefault(change.tenant, []).append(change)
        for tenant, group in by_tenant.items():
            newest = group[-1].state
            if group[-1].deleted:
                self._forget(tenant)
                continue
            if newest is None:  # no state handed over (a caller other than the writer)
                ids = dict.fromkeys(t for change in group for t in change.ticket_ids)
                self._publish_tenant(
                    tenant,
                    self._source.queue_update(tenant),
                    (self._source.ticket(tenant, t) for t in ids),
                )
                continue
            # Each ticket as the last change of the batch that touched it left it.
            tickets: dict[str, Ticket] = {}
            for change in group:
                if change.state is not None:
                    tickets.update(change.state.changed)
            self._publish_tenant(tenant, newest.update, tickets.values())
            self._places_may_have_moved(tenant, newest)
        for change in changes:
            for event in change.events:
                self._send(events_topic(change.tenant), encode(event), retain=False)

    def _publish_everything(self, everything: Everything) -> None:
        self._clears.clear()
        self._last_seq.clear()
        self._told.clear()
        self._ended.clear()
        for tenant, snapshot, tickets in everything.tenants:
            self._publish_tenant(tenant, snapshot, tickets)
        log.info("published the retained state of %d tenant(s)", len(everything.tenants))

    def _forget(self, tenant: str) -> None:
        self._last_seq.pop(tenant, None)
        self._told.pop(tenant, None)
        self._moved.pop(tenant, None)
        self._full_walk.pop(tenant, None)

    def _publish_tenant(
        self, tenant: str, snapshot: QueueUpdate | None, tickets: Iterable[Ticket | None]
    ) -> None:
        """The changed tickets' retained state, then the snapshot, all stamped with its seq."""
        if snapshot is None:
            return  # tenant deleted meanwhile
        if snapshot.seq < self._last_seq.get(tenant, -1):
            return  # never let an older state replace a newer retained one
        self._last_seq[tenant] = snapshot.seq
        told = self._told.setdefault(tenant, {})
        for ticket in tickets:
            if ticket is None:
                continue
            self._send_ticket(tenant, snapshot.seq, ticket)
            if ticket.status is TicketStatus.WAITING and ticket.position is not None:
                told[ticket.id] = _Told(ticket.position, self._clock())
            else:
                told.pop(ticket.id, None)
            if ticket.status in ENDED_STATUSES:
                self._ended.add((tenant, ticket.id))
                self._clears.schedule(tenant, ticket.id, self._clock() + self._grace)
            else:
                self._ended.discard((tenant, ticket.id))
        self._send(queue_topic(tenant), encode(snapshot), retain=True)

    def _send_ticket(self, tenant: str, seq: int, ticket: Ticket) -> None:
        update = TicketUpdate(tenant=tenant, seq=seq, ticket=ticket)
        self._send(ticket_topic(tenant, ticket.id), encode(update), retain=True)

    def _send(self, topic: str, payload: bytes, *, retain: bool) -> None:
        if len(payload) > self._max_payload:
            # Sending it would make the broker drop our connection, and the reconnect would
            # send it first again, for ever, ahead of every other tenant's messages.
            self.skipped += 1
            log.error(
                "not published: %d bytes on %s exceed the broker's %d-byte payload limit",
                len(payload),
                topic,
                self._max_payload,
            )
            return
        self._transport.publish(topic, payload, retain=retain)

    # --- followers ----------------------------------------------------------------------------
    def _places_may_have_moved(self, tenant: str, state: CommittedState) -> None:
        self._moved[tenant] = state
        if self._next_pass is None:
            self._next_pass = self._clock() + FOLLOWER_PERIOD_S

    def _tell_followers(self) -> None:
        now = self._clock()
        if self._pass is None:
            if self._next_pass is None or now < self._next_pass or not self._moved:
                return
            if not self._transport.connected:
                return
            moved, self._moved = self._moved, {}
            self._next_pass = None
            full = {
                t
                for t in moved
                if now - self._full_walk.get(t, -FOLLOWER_FULL_S) >= FOLLOWER_FULL_S
            }
            for tenant in full:
                self._full_walk[tenant] = now
            self._pass = _Pass(list(moved.items()), full)
        if self._pass.step(self, now, FOLLOWER_SLICE):
            self._pass = None

    def _tell_one(
        self,
        tenant: str,
        state: CommittedState,
        ticket_id: str,
        place: int,
        now: float,
        *,
        may_send: bool = True,
    ) -> bool | None:
        """Tell a waiting ticket its place if it moved enough: True if a message went, False
        if none was needed, None if it is owed one later."""
        told = self._told.setdefault(tenant, {})
        last = told.get(ticket_id)
        if last is not None and last.position == place:
            return False
        if may_send and (
            last is None
            or place <= FOLLOWER_NEAR
            or abs(last.position - place) * 10 >= last.position
            or now - last.at >= FOLLOWER_STALE_S
        ):
            self._send_ticket(tenant, state.update.seq, state.waiting_document(ticket_id, place))
            told[ticket_id] = _Told(place, now)
            return True
        return None

    # --- clearing -----------------------------------------------------------------------------
    def _clear_due(self) -> None:
        if not self._transport.connected:
            return
        for tenant, ticket_id in self._clears.pop_due(self._clock()):
            if (tenant, ticket_id) not in self._ended:
                continue  # reactivated meanwhile: its topic holds live state again
            self._ended.discard((tenant, ticket_id))
            self._transport.publish(ticket_topic(tenant, ticket_id), b"", retain=True)
