"""What to publish for committed changes, and when to clear a ended ticket's topic.

:class:`PublishingRules` holds no thread and no event loop: a driver (see ``drivers``) hands it
batches of work in commit order, on one thread at a time. For each changed tenant it reads the
*current* state, which coalesces bursts (ten changes waiting cost one snapshot) and means a
snapshot can never be older than one already sent; events go out one by one, in order. After
every (re)connect everything retained is published again from the database, because a
restarted broker has forgotten it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from protocol import ENDED_STATUSES, Ticket, TicketUpdate, encode
from protocol.topics import events_topic, queue_topic, ticket_topic
from publisher_api.changes import StateSource, TenantChanged
from publisher_api.publishing.clearing import ClearSchedule

log = logging.getLogger(__name__)


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


class PublishingRules:
    def __init__(
        self,
        source: StateSource,
        transport: Transport,
        *,
        clear_grace_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._transport = transport
        self._grace = clear_grace_s
        self._clock = clock
        self._clears = ClearSchedule()
        self._last_seq: dict[str, int] = {}

    def process(self, batch: Sequence[Work]) -> None:
        """Publish one batch of work (commit order), then clear what is due. Never raises: a bad
        row or a broker hiccup must not stop publishing for every tenant; the next change or
        reconnect publishes the state again."""
        try:
            self._process(batch)
            self._clear_due()
        except Exception:
            log.exception("publishing failed; continuing")

    def seconds_until_next_clear(self) -> float | None:
        return self._clears.seconds_until_next(self._clock())

    def _process(self, batch: Sequence[Work]) -> None:
        if not batch or not self._transport.connected:
            # Nothing can be delivered now; the connect that ends this outage republishes all.
            return
        changes = [item for item in batch if isinstance(item, TenantChanged)]
        if any(isinstance(item, RepublishAll) for item in batch):
            self._publish_everything()  # covers the state of every change in this batch
            changes_needing_state: list[TenantChanged] = []
        else:
            changes_needing_state = changes
        tickets_by_tenant: dict[str, dict[str, None]] = {}
        for change in changes_needing_state:  # insertion-ordered: first-change order, no repeats
            tickets_by_tenant.setdefault(change.tenant, {}).update(dict.fromkeys(change.ticket_ids))
        for tenant, ticket_ids in tickets_by_tenant.items():
            self._publish_tenant(tenant, (self._source.ticket(tenant, t) for t in ticket_ids))
        for change in changes:
            for event in change.events:
                self._transport.publish(events_topic(change.tenant), encode(event), retain=False)

    def _publish_everything(self) -> None:
        self._clears.clear()
        self._last_seq.clear()
        ended_after = datetime.now(UTC) - timedelta(seconds=self._grace)
        tenants = list(self._source.tenant_ids())
        for tenant in tenants:
            self._publish_tenant(tenant, self._source.retained_tickets(tenant, ended_after))
        log.info("published the retained state of %d tenant(s)", len(tenants))

    def _publish_tenant(self, tenant: str, tickets: Iterable[Ticket | None]) -> None:
        """The changed tickets' retained state, then the snapshot, all stamped with its seq."""
        snapshot = self._source.queue_update(tenant)
        if snapshot is None:
            return  # tenant deleted meanwhile
        if snapshot.seq < self._last_seq.get(tenant, -1):
            return  # never let an older state replace a newer retained one
        self._last_seq[tenant] = snapshot.seq
        for ticket in tickets:
            if ticket is None:
                continue
            update = TicketUpdate(tenant=tenant, seq=snapshot.seq, ticket=ticket)
            self._transport.publish(ticket_topic(tenant, ticket.id), encode(update), retain=True)
            if ticket.status in ENDED_STATUSES:
                self._clears.schedule(tenant, ticket.id, self._clock() + self._grace)
        self._transport.publish(queue_topic(tenant), encode(snapshot), retain=True)

    def _clear_due(self) -> None:
        if not self._transport.connected:
            return
        for tenant, ticket_id in self._clears.pop_due(self._clock()):
            current = self._source.ticket(tenant, ticket_id)
            if current is not None and current.status not in ENDED_STATUSES:
                continue  # reactivated meanwhile: its topic holds live state again
            self._transport.publish(ticket_topic(tenant, ticket_id), b"", retain=True)
