"""Every committed change is announced after its commit, in order, with a growing seq and the
right events; a refused change announces nothing. Real SQLite file, services called directly
with a recording sink (the realtime layer's side of the seam)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias

import pytest

from protocol import CounterStatus, QueueUpdate, TicketStatus
from publisher_api import schemas
from publisher_api.bootstrap.seed import seed_dev
from publisher_api.changes import NullSink, TenantChanged
from publisher_api.domain import counters as cn
from publisher_api.domain.counters import PAUSED, CloseOutcome
from publisher_api.domain.lifecycle import CommandKind, IllegalTransition, Placement
from publisher_api.errors import CounterRefused, NotFound
from publisher_api.services import admin
from publisher_api.services.changes import Change, Writer
from publisher_api.services.counters import command_op
from publisher_api.services.tickets import Action, TicketService
from publisher_api.store import records
from publisher_api.store.database import Database
from publisher_api.store.migrate import upgrade_to_head
from publisher_api.store.snapshot import SnapshotCache
from publisher_api.store.state_source import StoreStateSource
from tests.api.conftest import api_settings, open_counter


class RecordingSink:
    def __init__(self, database: Database) -> None:
        self.changes: list[TenantChanged] = []
        self.credentials: list[str] = []
        self.database = database
        self.seen_committed: list[bool] = []

    def notify(self, change: TenantChanged) -> None:
        # What a reader on another connection sees at notify time: the change must be there.
        source = StoreStateSource(self.database, SnapshotCache(self.database))
        for ticket_id in change.ticket_ids:
            self.seen_committed.append(source.ticket(change.tenant, ticket_id) is not None)
        self.changes.append(change)

    def credentials_changed(self, tenant: str) -> None:
        self.credentials.append(tenant)


World: TypeAlias = tuple[TicketService, RecordingSink, Database]


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    database = Database(database_url)
    upgrade_to_head(database)
    sink = RecordingSink(database)
    writer = Writer(database, sink)
    seed_dev(writer, api_settings(tmp_path))
    sink.changes.clear()
    sink.credentials.clear()
    yield TicketService(writer), sink, database
    database.dispose()


def test_each_change_is_announced_once_with_the_next_seq(world: World) -> None:
    service, sink, _ = world
    open_counter(service.writer, 1)
    sink.changes.clear()
    ticket = service.issue("default", service="A", priority=False)
    assert ticket.replayed is False
    calling = Action(CommandKind.CALL, counter=1, by="operator")
    called = service.act("default", ticket.ticket.id, calling)
    service.act("default", called.id, Action(CommandKind.RECALL))
    seqs = [c.seq for c in sink.changes]
    assert len(seqs) == 3
    assert seqs == list(range(seqs[0], seqs[0] + 3))
    issue, call, recall = sink.changes
    assert issue.ticket_ids == (ticket.ticket.id,)
    (e,) = issue.events
    assert (e.from_status, e.to_status, e.seq) == (None, TicketStatus.WAITING, issue.seq)
    (e,) = call.events
    assert (e.from_status, e.to_status, e.counter) == (TicketStatus.WAITING, TicketStatus.CALLED, 1)
    (r,) = recall.events
    assert (r.from_status, r.to_status) == (TicketStatus.CALLED, TicketStatus.CALLED)
    assert r.call_id is not None
    assert r.call_id != e.call_id
    assert all(sink.seen_committed)


def test_a_refused_change_announces_nothing_and_keeps_seq(world: World) -> None:
    service, sink, database = world
    ticket = service.issue("default", service="A", priority=False).ticket
    before = StoreStateSource(database, SnapshotCache(database)).queue_update("default")
    assert before is not None
    with pytest.raises(IllegalTransition):
        service.act("default", ticket.id, Action(CommandKind.COMPLETE))
    after = StoreStateSource(database, SnapshotCache(database)).queue_update("default")
    assert after is not None
    assert len(sink.changes) == 1
    assert after.seq == before.seq


def test_configuration_changes_bump_seq_too(world: World) -> None:
    service, sink, _ = world
    writer = service.writer
    admin.create_counter(writer, "default", schemas.CounterIn(number=9, name="Guichê 9"))
    admin.update_tenant(writer, "default", schemas.TenantPatch(ticker="Bem-vindo"))
    admin.create_user(
        writer, "default", schemas.UserIn(username="u1", password="password-1", role="operator")
    )  # not part of the snapshot: no announcement
    assert len(sink.changes) == 2
    assert sink.changes[1].seq == sink.changes[0].seq + 1


def test_announcements_follow_commit_order_under_concurrency(world: World) -> None:
    service, sink, database = world

    def worker() -> None:
        for _ in range(20):
            service.issue("default", service="A", priority=False)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = [c.seq for c in sink.changes]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 80
    snapshot = StoreStateSource(database, SnapshotCache(database)).queue_update("default")
    assert isinstance(snapshot, QueueUpdate)
    assert snapshot.seq == seqs[-1]
    assert snapshot.waiting_total == 80
    current = SnapshotCache(database).current("default")
    assert current is not None
    numbers = [row.label for row in current.ordered()[0]]
    assert len(numbers) == len(set(numbers)) == 80


def test_the_state_kept_in_memory_equals_a_rebuild_from_the_database(world: World) -> None:
    """What the writer hands the publisher (kept in memory, changed by each commit) is what
    a restart rebuilds from the database: the same queue document and the same places."""
    service, sink, database = world
    writer = service.writer
    open_counter(writer, 1)
    open_counter(writer, 2, by="admin")
    issued = [
        service.issue("default", service=prefix, priority=priority).ticket
        for prefix, priority in [("A", False), ("P", True), ("P", False), ("A", False)] * 4
    ]
    service.call_next("default", 1, by="operator", close=CloseOutcome.COMPLETED)
    service.call_next("default", 2, ("P",), by="admin", close=CloseOutcome.COMPLETED)
    back = Action(CommandKind.TRANSFER, service="P", placement=Placement.FRONT)  # A -> P
    service.act("default", issued[-1].id, back)
    called = service.call_next("default", 1, by="operator", close=CloseOutcome.NO_SHOW)
    assert called is not None
    service.call_next("default", 1, by="operator", close=CloseOutcome.NO_SHOW)
    service.act("default", called.id, Action(CommandKind.REACTIVATE))
    service.act("default", issued[5].id, Action(CommandKind.CANCEL))
    live = sink.changes[-1].state
    assert live is not None
    rebuilt = SnapshotCache(database).current("default")  # a fresh process: the database
    assert rebuilt is not None
    assert live.update.model_copy(update={"generated_at": rebuilt.update.generated_at}) == (
        rebuilt.update
    )
    assert list(live.waiting_places()) == list(rebuilt.waiting_places())
    assert len(list(live.waiting_places())) == rebuilt.update.waiting_total == 12


def test_state_source_reads(world: World) -> None:
    service, _, database = world
    from datetime import UTC, datetime, timedelta

    source = StoreStateSource(database, SnapshotCache(database))
    ticket = service.issue("default", service="A", priority=False).ticket
    done = service.issue("default", service="A", priority=False).ticket
    service.act("default", done.id, Action(CommandKind.CANCEL))
    assert source.tenant_ids() == ["default"]
    assert source.queue_update("ghost") is None
    assert source.ticket("default", "nope") is None
    doc = source.ticket("default", ticket.id)
    assert doc is not None
    assert doc.position == 1
    now = datetime.now(UTC)
    retained = {t.id for t in source.retained_tickets("default", now - timedelta(minutes=5))}
    assert retained == {ticket.id, done.id}
    retained = {t.id for t in source.retained_tickets("default", now + timedelta(minutes=5))}
    assert retained == {ticket.id}


def test_a_batch_commits_once_and_isolates_refusals(world: World) -> None:
    service, sink, _ = world
    writer = service.writer
    first = service.issue("default", service="A", priority=False).ticket
    open_counter(writer, 1, "ana")
    open_counter(writer, 2, "bia")
    sink.changes.clear()
    outcomes = writer.run_batch(
        "default",
        [
            service.issue_op(service="A", priority=False),
            service.act_op(first.id, Action(CommandKind.COMPLETE)),  # illegal: still waiting
            service.call_next_op(1, by="ana"),
            service.call_next_op(2, by="bia"),  # must see the first call and take the other one
            service.act_op("nope", Action(CommandKind.START)),
            service.call_next_op(1, by="ana"),  # must see counter 1 is busy now
        ],
    )
    issued, refused, call_1, call_2, missing, busy = outcomes
    assert isinstance(refused, IllegalTransition)
    assert isinstance(missing, NotFound)
    assert isinstance(busy, CounterRefused)
    assert (busy.code, busy.extra["ticket"]["id"]) == ("counter_busy", call_1.id)
    assert call_1 is not None
    assert call_2 is not None
    assert {call_1.id, call_2.id} == {first.id, issued.ticket.id}
    assert (call_1.status, call_1.counter, call_2.counter) == (TicketStatus.CALLED, 1, 2)
    (change,) = sink.changes  # one commit, one announcement, every event in order
    assert [(e.from_status, e.to_status) for e in change.events] == [
        (None, TicketStatus.WAITING),
        (TicketStatus.WAITING, TicketStatus.CALLED),
        (TicketStatus.WAITING, TicketStatus.CALLED),
    ]
    assert {e.seq for e in change.events} == {change.seq}


def test_a_ticket_issued_and_called_in_one_batch_is_stored_as_last_left(world: World) -> None:
    """Records are frozen, so each step makes a new one: the row inserted at commit must be the
    ticket as the call left it, and each event must carry the ticket as its own step left it."""
    service, sink, database = world
    open_counter(service.writer, 1)
    sink.changes.clear()
    issued, called = service.writer.run_batch(
        "default",
        [service.issue_op(service="A", priority=False), service.call_next_op(1, by="operator")],
    )
    assert called is not None
    assert called.id == issued.ticket.id
    stored = StoreStateSource(database, SnapshotCache(database)).ticket("default", called.id)
    assert stored is not None
    assert (stored.status, stored.counter) == (TicketStatus.CALLED, 1)
    (change,) = sink.changes
    assert [e.ticket.status for e in change.events] == [TicketStatus.WAITING, TicketStatus.CALLED]


def test_counter_commands_in_one_batch_each_see_the_last_one(world: World) -> None:
    """Counter records are frozen too: a call after an open in the same batch must see the new
    record, the row written at commit must be the counter as the last command left it, and each
    command's document shows the counter as its own command left it."""
    service, _, database = world
    service.issue("default", service="A", priority=False)
    at = datetime.now(UTC)
    opened, called, paused = service.writer.run_batch(
        "default",
        [
            command_op(1, cn.Open(by="ana", at=at)),
            service.call_next_op(1, by="ana"),
            command_op(1, cn.Pause(by="ana", reason="lunch", at=at)),
        ],
        now=at,
    )
    assert (opened.status, opened.holder, opened.open_ticket) == (CounterStatus.OPEN, "ana", None)
    assert called is not None
    assert (called.status, called.counter) == (TicketStatus.CALLED, 1)
    assert (paused.status, paused.pause_reason) == (CounterStatus.PAUSED, "lunch")
    assert paused.open_ticket is not None
    assert paused.open_ticket.id == called.id
    with database.engine.connect() as connection:
        stored = records.load_counters(connection, "default")[1].state
    assert (stored.status, stored.holder, stored.pause_reason) == (PAUSED, "ana", "lunch")
    rebuilt = SnapshotCache(database).current("default")  # a fresh process: the database
    assert rebuilt is not None
    assert {c.number: c.status for c in rebuilt.update.counters}[1] is CounterStatus.PAUSED
    with pytest.raises(CounterRefused) as refused:  # the next transaction sees it paused
        service.call_next("default", 1, by="ana", close=CloseOutcome.COMPLETED)
    assert refused.value.code == "counter_paused"


def test_an_unexpected_error_fails_only_its_own_operation(world: World) -> None:
    service, _, database = world

    def broken(change: Change) -> Callable[[], None]:
        raise RuntimeError("boom")

    outcomes = service.writer.run_batch(
        "default", [service.issue_op(service="A", priority=False), broken]
    )
    assert isinstance(outcomes[1], RuntimeError)
    snapshot = StoreStateSource(database, SnapshotCache(database)).queue_update("default")
    assert snapshot is not None
    assert [w.id for w in snapshot.waiting] == [outcomes[0].ticket.id]


def test_one_idempotency_key_twice_in_a_batch_is_one_ticket(world: World) -> None:
    service, sink, _ = world
    first, again = service.writer.run_batch(
        "default",
        [
            service.issue_op(service="A", priority=False, idempotency_key="k-1"),
            service.issue_op(service="A", priority=False, idempotency_key="k-1"),
        ],
    )
    assert (first.replayed, again.replayed) == (False, True)
    assert first.ticket.id == again.ticket.id
    assert again.ticket.position == 1
    (change,) = sink.changes
    assert len(change.events) == 1
    replay = service.issue("default", service="A", priority=False, idempotency_key="k-1")
    assert (replay.replayed, replay.ticket.id, replay.ticket.position) == (True, first.ticket.id, 1)
    assert len(sink.changes) == 1  # a replay commits nothing


def test_numbers_restart_at_local_midnight_of_the_tenant(world: World) -> None:
    service, _, _ = world
    from datetime import UTC, datetime

    # default is America/Sao_Paulo (UTC-3): local midnight is 03:00 UTC.
    before = datetime(2026, 11, 30, 2, 59, tzinfo=UTC)
    after = datetime(2026, 11, 30, 3, 1, tzinfo=UTC)
    numbers = [
        service.issue("default", service="A", priority=False, now=at).ticket.number
        for at in (before, before, after, after)
    ]
    assert numbers == ["A001", "A002", "A001", "A002"]
    assert service.issue("default", service="P", priority=False, now=after).ticket.number == "P001"


def test_revoking_credentials_is_announced_and_ticket_work_is_not(
    world: World, tmp_path: Path
) -> None:
    service, sink, _ = world
    settings = api_settings(tmp_path)
    ticket = service.issue("default", service="A", priority=False)
    open_counter(service.writer, 1)
    service.act("default", ticket.ticket.id, Action(CommandKind.CALL, counter=1, by="operator"))
    assert sink.credentials == []
    writer = service.writer
    admin.create_device(writer, settings, "default", schemas.DeviceIn(id="totem-9", role="totem"))
    admin.rotate_device_token(writer, settings, "default", "totem-9")
    admin.delete_device(writer, "default", "totem-9")
    assert sink.credentials == ["default"] * 3


def test_a_change_that_changes_nothing_answers_without_a_cached_snapshot(world: World) -> None:
    """A process that has cached nothing at the tenant's seq (just restarted, or another
    replica committed last) still answers an operation that changes nothing visible."""
    tickets, _, database = world
    open_counter(tickets.writer, 1, "ana")
    issued = tickets.issue("default", service="A", priority=False).ticket
    tickets.call_next("default", 1, by="ana")
    fresh = Writer(database, NullSink())  # its own, empty snapshot cache
    at = datetime.now(UTC)
    counter = fresh.run("default", command_op(1, cn.Open(by="ana", at=at, takeover=True)), now=at)
    assert counter.open_ticket is not None
    assert counter.open_ticket.id == issued.id
