"""Publishes committed state: the :class:`~publisher_api.realtime.ChangeSink` behind the API.

One worker thread does all publishing, so messages leave in the order changes were committed.
It reads the *current* state for each changed tenant, which coalesces bursts (ten changes
waiting in the inbox cost one snapshot) and means a snapshot can never be older than one already
sent. Events are sent one by one, in order. After every (re)connect everything retained is
published again from the database, because a restarted broker has forgotten it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from protocol import ENDED_STATUSES, Ticket, TicketUpdate, encode
from protocol.topics import events_topic, queue_topic, ticket_topic
from publisher_api.changes import StateSource, TenantChanged
from publisher_api.publishing.clearing import ClearSchedule

log = logging.getLogger(__name__)

_IDLE_WAKE_S = 1.0


class Transport(Protocol):
    @property
    def connected(self) -> bool: ...

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> bool: ...


@dataclass(frozen=True, slots=True)
class _RepublishAll:
    pass


@dataclass(frozen=True, slots=True)
class _Stop:
    pass


_Item = TenantChanged | _RepublishAll | _Stop


class StatePublisher:
    def __init__(self, source: StateSource, transport: Transport, *, clear_grace_s: float) -> None:
        self._source = source
        self._transport = transport
        self._grace = clear_grace_s
        self._inbox: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._clears = ClearSchedule()
        self._last_seq: dict[str, int] = {}
        self._thread = threading.Thread(target=self._run, name="mqtt-state-publisher", daemon=True)

    # --- ChangeSink -----------------------------------------------------------------------------
    def notify(self, change: TenantChanged) -> None:
        self._inbox.put(change)

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._inbox.put(_Stop())
        self._thread.join(timeout)

    def republish_all(self) -> None:
        """Ask for every tenant's retained state to be sent again (called at each connect)."""
        self._inbox.put(_RepublishAll())

    # --- worker -----------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if any(isinstance(item, _Stop) for item in batch):
                return
            try:
                self._process(batch)
                self._clear_due()
            except Exception:
                # A bad row or a broker hiccup must not kill publishing for every tenant; the
                # next change or reconnect publishes the state again.
                log.exception("publishing failed; continuing")

    def _next_batch(self) -> list[_Item]:
        wait = self._clears.seconds_until_next(time.monotonic())
        timeout = _IDLE_WAKE_S if wait is None else min(wait, _IDLE_WAKE_S)
        try:
            batch = [self._inbox.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                batch.append(self._inbox.get_nowait())
            except queue.Empty:
                return batch

    def _process(self, batch: list[_Item]) -> None:
        if not batch:
            return
        if not self._transport.connected:
            # Nothing can be delivered now; the connect that ends this outage republishes all.
            return
        changes = [item for item in batch if isinstance(item, TenantChanged)]
        if any(isinstance(item, _RepublishAll) for item in batch):
            self._publish_everything()  # covers the state of every change in this batch
            changes_needing_state: list[TenantChanged] = []
        else:
            changes_needing_state = changes
        tickets_by_tenant: dict[str, dict[str, None]] = {}
        for change in (
            changes_needing_state
        ):  # insertion-ordered dicts keep first-change order, without repeats
            tickets_by_tenant.setdefault(change.tenant, {}).update(dict.fromkeys(change.ticket_ids))
        for tenant, ticket_ids in tickets_by_tenant.items():
            tickets = (self._source.ticket(tenant, t) for t in ticket_ids)
            self._publish_tenant(tenant, tickets)
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
                self._clears.schedule(tenant, ticket.id, time.monotonic() + self._grace)
        self._transport.publish(queue_topic(tenant), encode(snapshot), retain=True)

    def _clear_due(self) -> None:
        if not self._transport.connected:
            return
        for tenant, ticket_id in self._clears.pop_due(time.monotonic()):
            current = self._source.ticket(tenant, ticket_id)
            if current is not None and current.status not in ENDED_STATUSES:
                continue  # reactivated meanwhile: its topic holds live state again
            self._transport.publish(ticket_topic(tenant, ticket_id), b"", retain=True)
