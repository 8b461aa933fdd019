"""The transactional outbox on real PostgreSQL, in one process: two writers (two "replicas"
sharing nothing but the database) interleave without duplicate numbers, every commit leaves one
outbox row in seq order, one relay at a time publishes them (the other takes over when the
leader's session ends), a change committed while no relay runs is published by the next, and
a replica's cached snapshot follows the other replica's commits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypeAlias

import pytest
from sqlalchemy import text

from protocol import Role
from protocol.auth import issue_token
from publisher_api.bootstrap.seed import seed_dev
from publisher_api.changes import NullSink, TenantChanged
from publisher_api.publishing.relay import OutboxRelay, RelayedSink
from publisher_api.services import admin
from publisher_api.services.changes import Writer
from publisher_api.services.tickets import TicketService
from publisher_api.store.database import Database
from publisher_api.store.directory import Directory
from publisher_api.store.migrate import upgrade_to_head
from publisher_api.store.snapshot import SnapshotCache
from tests.api.conftest import TENANT, api_settings

pytestmark = pytest.mark.timeout(120)


class RecordingPublisher:
    def __init__(self) -> None:
        self.changes: list[TenantChanged] = []
        self.republished = 0
        self._lock = threading.Lock()

    def notify(self, change: TenantChanged) -> None:
        with self._lock:
            self.changes.append(change)

    def republish_all(self) -> None:
        with self._lock:
            self.republished += 1


Replica: TypeAlias = tuple[Database, TicketService, SnapshotCache]


@pytest.fixture
def replicas(postgres_url: str, tmp_path: Path) -> Iterator[Callable[[], Replica]]:
    seeded = Database(postgres_url)
    upgrade_to_head(seeded)
    seed_dev(Writer(seeded, NullSink()), api_settings(tmp_path))
    seeded.dispose()
    made: list[Database] = []

    def replica() -> Replica:
        database = Database(postgres_url)
        made.append(database)
        snapshots = SnapshotCache(database)
        writer = Writer(database, RelayedSink(NullSink()), snapshots=snapshots)
        return database, TicketService(writer), snapshots

    yield replica
    for database in made:
        database.dispose()


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def pending_rows(database: Database) -> int:
    with database.engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            ).scalar_one()
        )


def test_two_writers_interleave_and_every_commit_leaves_one_row_in_seq_order(
    replicas: Callable[[], Replica],
) -> None:
    (db_a, service_a, _), (_, service_b, _) = replicas(), replicas()
    numbers: list[str] = []
    lock = threading.Lock()

    def issue(service: TicketService) -> None:
        for _ in range(40):
            label = service.issue(TENANT, service="A", priority=False).ticket.number
            with lock:
                numbers.append(label)

    workers = [threading.Thread(target=issue, args=(s,)) for s in (service_a, service_b) * 2]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(numbers) == len(set(numbers)) == 160  # no number given twice
    with db_a.engine.connect() as connection:
        seqs = connection.execute(
            text("SELECT seq FROM outbox WHERE tenant_id = :t ORDER BY id"), {"t": TENANT}
        ).scalars()
        ordered = list(seqs)
        final = connection.execute(
            text("SELECT seq FROM tenants WHERE id = :t"), {"t": TENANT}
        ).scalar_one()
    issued = ordered[-160:]
    assert issued == list(range(issued[0], issued[0] + 160))  # one row per commit, in seq order
    assert ordered[-1] == final


def test_one_relay_publishes_and_another_takes_over_when_its_session_ends(
    replicas: Callable[[], Replica],
) -> None:
    (db_a, service_a, snaps_a), (db_b, service_b, snaps_b) = replicas(), replicas()
    first, second = RecordingPublisher(), RecordingPublisher()
    relay_a = OutboxRelay(db_a, first, snaps_a, poll_s=0.2, name="relay-a")
    relay_a.start()
    wait_until(lambda: relay_a.is_leader)
    relay_b = OutboxRelay(db_b, second, snaps_b, poll_s=0.2, name="relay-b")
    relay_b.start()
    try:
        issued = [service_b.issue(TENANT, service="A", priority=False) for _ in range(5)]
        wait_until(lambda: pending_rows(db_a) == 0)
        assert not relay_b.is_leader
        assert second.changes == []
        mine = [
            c
            for c in first.changes
            if c.ticket_ids and c.ticket_ids[0] in {i.ticket.id for i in issued}
        ]
        assert [c.seq for c in mine] == sorted(c.seq for c in mine)
        assert [e.ticket.id for c in mine for e in c.events] == [i.ticket.id for i in issued]
        newest = mine[-1].state
        assert newest is not None
        assert newest.update.seq >= mine[-1].seq
        assert set(newest.changed) >= {mine[-1].ticket_ids[0]}

        relay_a.stop()  # its session ends: the advisory lock is free
        wait_until(lambda: relay_b.is_leader)
        assert second.republished == 1  # the new leader first re-sends the current state
        later = service_a.issue(TENANT, service="A", priority=False)
        wait_until(lambda: any(later.ticket.id in c.ticket_ids for c in second.changes))
        assert pending_rows(db_a) == 0
    finally:
        relay_a.stop()
        relay_b.stop()


def test_a_change_committed_while_no_relay_runs_is_published_by_the_next(
    replicas: Callable[[], Replica],
) -> None:
    database, service, snapshots = replicas()
    orphan = service.issue(TENANT, service="P", priority=True)  # "the process died after this"
    assert pending_rows(database) > 0
    publisher = RecordingPublisher()
    relay = OutboxRelay(database, publisher, snapshots, poll_s=0.2)
    relay.start()
    try:
        wait_until(lambda: any(orphan.ticket.id in c.ticket_ids for c in publisher.changes))
        assert pending_rows(database) == 0
    finally:
        relay.stop()


def test_a_replica_cache_follows_the_other_replica_commits(
    replicas: Callable[[], Replica],
) -> None:
    (db_a, _, snaps_a), (_, service_b, _) = replicas(), replicas()
    relay = OutboxRelay(db_a, RecordingPublisher(), snaps_a, poll_s=0.2)
    relay.start()
    try:
        wait_until(lambda: relay.is_leader)
        before = snaps_a.current(TENANT)
        assert before is not None
        service_b.issue(TENANT, service="A", priority=False)
        # Well inside the cache's 5 s freshness: only the signal can have made it stale.
        wait_until(lambda: _cached_seq(snaps_a) != before.seq, timeout=3.0)
        after = snaps_a.current(TENANT)
        assert after is not None
        assert after.seq > before.seq
    finally:
        relay.stop()


def _cached_seq(snapshots: SnapshotCache) -> int | None:
    cached = snapshots.peek(TENANT)
    return None if cached is None else cached.seq


@pytest.mark.parametrize(
    ("tenant", "username", "role"),
    [(TENANT, "operator", Role.OPERATOR), (None, "root", Role.SUPERADMIN)],
)
def test_a_sign_out_on_one_replica_revokes_the_token_on_the_others(
    replicas: Callable[[], Replica], tenant: str | None, username: str, role: Role
) -> None:
    (db_a, _, snaps_a), (_, service_b, _) = replicas(), replicas()
    directory = Directory(db_a)
    relay = OutboxRelay(db_a, RecordingPublisher(), snaps_a, directory, poll_s=0.2)
    relay.start()
    try:
        wait_until(lambda: relay.is_leader)
        with db_a.engine.connect() as connection:
            version = connection.execute(
                text("SELECT token_version FROM users WHERE username = :u"), {"u": username}
            ).scalar_one()
        _, principal = issue_token(
            secret="x" * 32,
            subject=username,
            role=role,
            tenant=tenant,
            ttl=timedelta(hours=1),
            token_version=version,
        )
        assert directory.token_active(principal)  # now cached on replica A
        admin.sign_out(service_b.writer, tenant, username)  # on replica B
        wait_until(lambda: not directory.token_active(principal), timeout=5.0)
    finally:
        relay.stop()
