"""The outbox relay (PostgreSQL): one replica at a time publishes what every replica committed,
in per-tenant ``seq`` order; every replica keeps its in-memory copies coherent with the others'
commits.

Each replica runs one :class:`OutboxRelay` thread with one dedicated database connection that
``LISTEN``s on ``store.outbox.CHANNEL`` and tries ``pg_try_advisory_lock`` every
``poll_s``. The lock belongs to that connection's session: when the leader dies (``kill -9``,
lost network) PostgreSQL ends its session and frees the lock, and the next try of another
replica takes it (within ``poll_s``). A new leader first re-publishes every tenant's retained
state from the database (what its predecessor may have left half-sent), then the pending rows.

The leader, woken by each commit's ``NOTIFY`` (or by its poll), reads the pending rows in id
order (per tenant, ``seq`` order), hands them to the publisher as ``TenantChanged`` carrying the
documents each row committed (stamped with its ``seq``: the publishing rules never let an older
``seq`` replace a newer retained one) and its events, then marks them published. Rows are
marked after they are handed over: a leader that dies in between leaves them pending and its
successor sends them again (at least once; the retained documents carry ``seq``, which
screens use to ignore what they already have).

Every replica, leader or not, reads the signals: a tenant whose ``seq`` moved past the cached
snapshot is dropped from the cache (the next reader rebuilds it from the database), and a change
of who may connect drops the cached identities. The writer needs no signal: it locks the tenant
row and reloads its working set whenever the row's ``seq`` is not the one it last wrote.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

import psycopg

from protocol import QueueUpdate, Ticket
from publisher_api.changes import ChangeSink, TenantChanged
from publisher_api.store import outbox
from publisher_api.store.database import Database
from publisher_api.store.directory import Directory
from publisher_api.store.snapshot import Snapshot, SnapshotCache

log = logging.getLogger(__name__)

LOCK_KEY = 0x51430001
"""The advisory lock whose holder is the relay leader (any constant the deployment keeps)."""
BATCH = 500
KEEP_PUBLISHED = timedelta(hours=1)
PRUNE_EVERY_S = 60.0


class Publisher(Protocol):
    def notify(self, change: TenantChanged) -> None: ...

    def republish_all(self) -> None: ...


class RelayedSink:
    """The writer's sink when the outbox relays: commits are published by the relay (from the
    outbox), not by the writer; revocations still close the local broker's connections."""

    def __init__(self, sink: ChangeSink) -> None:
        self._sink = sink

    def notify(self, change: TenantChanged) -> None:
        return None

    def credentials_changed(self, tenant: str) -> None:
        self._sink.credentials_changed(tenant)


class OutboxRelay:
    def __init__(
        self,
        database: Database,
        publisher: Publisher,
        snapshots: SnapshotCache,
        directory: Directory | None = None,
        *,
        credentials_changed: Callable[[str], None] | None = None,
        poll_s: float = 1.0,
        name: str = "outbox-relay",
    ) -> None:
        self._database = database
        self._publisher = publisher
        self._snapshots = snapshots
        self._directory = directory
        self._credentials_changed = credentials_changed
        self._poll_s = poll_s
        self._dsn = database.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._leader = False
        self._pruned_at = 0.0
        self.published = 0
        """Outbox rows handed to the publisher by this replica (tests and metrics)."""

    @property
    def is_leader(self) -> bool:
        return self._leader

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    # --- the thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._serve()
            except Exception:
                if self._leader:
                    log.warning("outbox relay: lost its database session; no longer leader")
                else:
                    log.warning("outbox relay: database session failed", exc_info=True)
                self._leader = False
                self._stop.wait(self._poll_s)

    def _serve(self) -> None:
        # The process id in the session's name: an operator (or a test) sees which replica
        # leads in pg_stat_activity, joined with pg_locks.
        name = f"queuecast-relay {os.getpid()}"
        with psycopg.connect(self._dsn, autocommit=True, application_name=name) as connection:
            connection.execute(f"LISTEN {outbox.CHANNEL}")
            # Signals sent while we were not listening are lost: trust no cached state.
            self._snapshots.clear()
            if self._directory is not None:
                self._directory.invalidate()
            while not self._stop.is_set():
                if not self._leader:
                    row = connection.execute(
                        "SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)
                    ).fetchone()
                    if row is not None and row[0] is True:
                        self._leader = True
                        log.info("outbox relay: this replica publishes now (leader)")
                        # Whatever the previous leader left half-sent: the current state.
                        self._publisher.republish_all()
                if self._leader:
                    self._drain()
                    self._prune()
                self._listen(connection)
            if self._leader:
                connection.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
                self._leader = False

    def _listen(self, connection: psycopg.Connection[tuple[object, ...]]) -> None:
        """Wait up to ``poll_s`` for signals; apply every one that arrived."""
        for notify in connection.notifies(timeout=self._poll_s, stop_after=1):
            self._apply(notify.payload)
        for notify in connection.notifies(timeout=0.0):
            self._apply(notify.payload)

    def _apply(self, payload: str) -> None:
        signal = outbox.Signal.decode(payload)
        if signal is None:
            log.warning("outbox relay: ignoring a malformed signal %r", payload[:200])
            return
        self._snapshots.forget_older(signal.tenant, signal.seq)
        if signal.directory:
            if self._directory is not None:
                self._directory.invalidate()
            if self._credentials_changed is not None:
                self._credentials_changed(signal.tenant)

    # --- the leader's work --------------------------------------------------------------------
    def _drain(self) -> None:
        while not self._stop.is_set():
            with self._database.engine.connect() as connection:
                rows = outbox.pending(connection, BATCH)
                connection.rollback()
            if not rows:
                return
            self._publish(rows)
            with self._database.engine.begin() as connection:
                outbox.mark_published(connection, [row.id for row in rows], datetime.now(UTC))
            self.published += len(rows)
            if len(rows) < BATCH:
                return

    def _publish(self, rows: list[outbox.Pending]) -> None:
        last: dict[str, int] = {}  # tenant -> index of its newest row here
        tickets: dict[str, dict[str, Ticket]] = {}
        for index, row in enumerate(rows):
            last[row.tenant] = index
            tickets.setdefault(row.tenant, {}).update(row.tickets)
            self._snapshots.forget_older(row.tenant, row.seq)
        for index, row in enumerate(rows):
            state = None
            if last[row.tenant] == index and row.update is not None:
                state = _Relayed(row.update, tickets[row.tenant], row.tenant, self._snapshots)
            self._publisher.notify(
                TenantChanged(
                    tenant=row.tenant,
                    seq=row.seq,
                    ticket_ids=row.ticket_ids,
                    events=row.events,
                    state=state,
                    deleted=row.deleted,
                )
            )

    def _prune(self) -> None:
        now = time.monotonic()
        if now - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = now
        with self._database.engine.begin() as connection:
            gone = outbox.prune(connection, datetime.now(UTC) - KEEP_PUBLISHED)
        if gone:
            log.debug("outbox relay: pruned %d published rows", gone)


class _Relayed:
    """A change's committed state as its outbox row carries it: the queue document and the
    touched tickets' documents, exactly as committed. Followers' places (a walk of every waiting
    ticket, at most once a second per tenant) come from the tenant's snapshot, read when first
    asked for."""

    def __init__(
        self,
        update: QueueUpdate,
        changed: Mapping[str, Ticket],
        tenant: str,
        snapshots: SnapshotCache,
    ) -> None:
        self._update = update
        self._changed = changed
        self._tenant = tenant
        self._snapshots = snapshots
        self._snapshot: Snapshot | None = None

    @property
    def update(self) -> QueueUpdate:
        return self._update

    @property
    def changed(self) -> Mapping[str, Ticket]:
        return self._changed

    def waiting_places(self) -> Iterator[tuple[str, int]]:
        snapshot = self._current()
        return iter(()) if snapshot is None else snapshot.waiting_places()

    def waiting_document(self, ticket_id: str, position: int) -> Ticket:
        snapshot = self._current()
        assert snapshot is not None, "only asked for tickets waiting_places gave"
        return snapshot.waiting_document(ticket_id, position)

    def _current(self) -> Snapshot | None:
        if self._snapshot is None:
            self._snapshot = self._snapshots.current(self._tenant)
        return self._snapshot
