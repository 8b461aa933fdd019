"""The sweeper's write on a real SQLite file with a frozen clock: the close of day in the
tenant's time zone ends what is still open from an earlier local day (waiting -> cancelled,
called -> no_show, in service -> completed, each with ``end_reason = day_closed``), closes the
counters left open, and announces every change like an operator's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from protocol import CounterStatus, Ticket, TicketStatus
from publisher_api.bootstrap.seed import seed_dev
from publisher_api.changes import TenantChanged
from publisher_api.domain.lifecycle import CommandKind
from publisher_api.services.changes import Change, Operation, Writer
from publisher_api.services.expiry import Sweeper, expire_op
from publisher_api.services.tickets import Action, TicketService
from publisher_api.store import records
from publisher_api.store.database import Database
from publisher_api.store.migrate import upgrade_to_head
from tests.api.conftest import TENANT, api_settings, open_counter

# 1 December, 23:00 in São Paulo (the dev tenant's zone, UTC-3), then 00:05 on the 2nd.
EVENING = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2026, 12, 2, 3, 5, tzinfo=UTC)


class Sink:
    def __init__(self) -> None:
        self.changes: list[TenantChanged] = []

    def notify(self, change: TenantChanged) -> None:
        self.changes.append(change)

    def credentials_changed(self, tenant: str) -> None:
        return None


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[tuple[TicketService, Sink]]:
    database = Database(database_url)
    upgrade_to_head(database)
    sink = Sink()
    writer = Writer(database, sink)
    seed_dev(writer, api_settings(tmp_path))
    yield TicketService(writer), sink
    database.dispose()


def test_close_of_day_ends_everything_open_and_closes_counters(
    world: tuple[TicketService, Sink],
) -> None:
    service, sink = world
    writer = service.writer
    tickets = [
        service.issue(TENANT, service="A", priority=False, now=EVENING).ticket for _ in range(4)
    ]
    open_counter(writer, 1, "ana", now=EVENING)
    open_counter(writer, 2, "bia", now=EVENING)
    called = service.call_next(TENANT, 1, by="ana", now=EVENING)
    serving = service.call_next(TENANT, 2, by="bia", now=EVENING)
    assert called is not None
    assert serving is not None
    service.act(TENANT, serving.id, Action(CommandKind.START), now=EVENING)
    # Nothing to do before midnight (the call timeout is off for this test).
    writer.run(TENANT, _no_timeout, now=EVENING)
    assert writer.run(TENANT, expire_op(service), now=EVENING) == 0

    sink.changes.clear()
    fresh = service.issue(TENANT, service="A", priority=False, now=AFTER_MIDNIGHT).ticket
    assert fresh.number == "A001"  # numbering restarts with the local day
    made = writer.run(TENANT, expire_op(service), now=AFTER_MIDNIGHT)
    assert made == 4 + 2  # four tickets, two counters

    ended = {t.id: _document(service, t.id) for t in tickets}
    assert {d.status for d in ended.values()} == {
        TicketStatus.CANCELLED,
        TicketStatus.NO_SHOW,
        TicketStatus.COMPLETED,
    }
    assert ended[called.id].status is TicketStatus.NO_SHOW
    assert ended[serving.id].status is TicketStatus.COMPLETED
    assert all(d.end_reason == "day_closed" for d in ended.values())
    assert _document(service, fresh.id).status is TicketStatus.WAITING  # today's stays
    # Announced like any change: one commit, an event per ticket with the reason in it.
    (change,) = sink.changes[1:]
    assert {e.ticket.id for e in change.events} == set(ended)
    assert all(e.ticket.end_reason == "day_closed" for e in change.events)
    snapshot = writer.snapshots.current(TENANT)
    assert snapshot is not None
    assert {c.status for c in snapshot.update.counters} == {CounterStatus.CLOSED}
    assert [w.id for w in snapshot.update.waiting] == [fresh.id]
    # Running again changes nothing.
    assert writer.run(TENANT, expire_op(service), now=AFTER_MIDNIGHT) == 0


def test_the_sweeper_runs_every_tenant_through_the_writer(
    world: tuple[TicketService, Sink],
) -> None:
    service, _ = world
    writer = service.writer
    service.issue(TENANT, service="A", priority=False, now=EVENING)

    async def tenants() -> list[str]:
        return [TENANT]

    async def write(tenant: str, operation: Operation[int]) -> int:
        return writer.run(tenant, operation, now=AFTER_MIDNIGHT)  # an injected clock

    sweeper = Sweeper(service, tenants, write, interval_s=0.01)
    assert asyncio.run(sweeper.sweep()) == 1
    assert asyncio.run(sweeper.sweep()) == 0


def test_call_timeout_with_a_frozen_clock(world: tuple[TicketService, Sink]) -> None:
    service, _ = world
    writer = service.writer
    service.issue(TENANT, service="A", priority=False, now=EVENING)
    open_counter(writer, 1, "ana", now=EVENING)
    called = service.call_next(TENANT, 1, by="ana", now=EVENING)
    assert called is not None
    assert writer.run(TENANT, expire_op(service), now=EVENING + timedelta(seconds=899)) == 0
    assert writer.run(TENANT, expire_op(service), now=EVENING + timedelta(seconds=900)) == 1
    document = _document(service, called.id)
    assert (document.status, document.end_reason) == (TicketStatus.NO_SHOW, "call_timeout")
    # Reactivated, it waits again with no reason left over.
    back = service.act(TENANT, called.id, Action(CommandKind.REACTIVATE), now=EVENING)
    assert (back.status, back.end_reason) == (TicketStatus.WAITING, None)


def _no_timeout(change: Change) -> Callable[[], None]:
    change.tenant.call_timeout_s = 0
    change.snapshot_changed()
    return lambda: None


def _document(service: TicketService, ticket_id: str) -> Ticket:
    snapshot = service.writer.snapshots.current(TENANT)
    assert snapshot is not None
    with service.writer.database.engine.connect() as connection:
        row = records.load_ticket(connection, ticket_id)
        assert row is not None
        return snapshot.ticket(row)
