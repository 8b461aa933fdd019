"""The publisher's ordering, coalescing, re-publishing and clearing rules, under both drivers
(a worker thread for an external broker, the event loop for the embedded one), with an
in-memory state source and a transport that records what it was asked to send (the real broker
paths are covered by tests/realtime)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from protocol import (
    ENDED_STATUSES,
    DevicePresence,
    QueueUpdate,
    Ticket,
    TicketStatus,
    TicketStatusChanged,
    TicketUpdate,
    decode,
)
from protocol.topics import events_topic, queue_topic, ticket_topic
from publisher_api.changes import TenantChanged
from publisher_api.publishing.drivers import LoopPublisher, ThreadedPublisher
from publisher_api.publishing.rules import PublishingRules

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _ticket(ticket_id: str, status: TicketStatus) -> Ticket:
    return Ticket(
        id=ticket_id,
        number="A001",
        service="A",
        priority=False,
        status=status,
        counter=None,
        position=None,
        estimated_wait_s=None,
        created_at=NOW,
        called_at=None,
    )


@dataclass
class MemorySource:
    seq: dict[str, int] = field(default_factory=dict)
    tickets: dict[tuple[str, str], Ticket] = field(default_factory=dict)
    snapshot_reads: int = 0

    def tenant_ids(self) -> Sequence[str]:
        return sorted(self.seq)

    def queue_update(self, tenant: str) -> QueueUpdate | None:
        if tenant not in self.seq:
            return None
        self.snapshot_reads += 1
        return QueueUpdate(
            tenant=tenant,
            seq=self.seq[tenant],
            generated_at=NOW,
            tenant_name=tenant,
            locale="pt-BR",
            timezone="America/Sao_Paulo",
            waiting=[],
            services=[],
            counters=[],
            last_calls=[],
        )

    def ticket(self, tenant: str, ticket_id: str) -> Ticket | None:
        return self.tickets.get((tenant, ticket_id))

    def retained_tickets(self, tenant: str, ended_after: datetime) -> Sequence[Ticket]:
        return [
            t
            for (ten, _), t in self.tickets.items()
            if ten == tenant and t.status not in ENDED_STATUSES
        ]


@dataclass
class RecordingTransport:
    connected: bool = True
    sent: list[tuple[str, bytes, bool]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> bool:
        if not self.connected:
            return False
        with self.lock:
            self.sent.append((topic, payload, retain))
        return True

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[str, bytes, bool]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.sent) >= count:
                    return list(self.sent)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} publishes, got {self.sent}")


Publisher = ThreadedPublisher | LoopPublisher
World = tuple[MemorySource, RecordingTransport, Publisher]


def _seq(payload: bytes) -> int:
    message = decode(payload)
    assert not isinstance(message, DevicePresence)
    return message.seq


@pytest.fixture(params=["thread", "loop"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    source, transport = MemorySource(), RecordingTransport()
    rules = PublishingRules(source, transport, clear_grace_s=0.2)
    if request.param == "thread":
        threaded = ThreadedPublisher(rules)
        threaded.start()
        yield source, transport, threaded
        threaded.stop()
        return
    # The API's event loop, here in a thread of its own; the test notifies from another thread,
    # as the API's worker threads do.
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    in_loop = LoopPublisher(rules, loop)
    yield source, transport, in_loop
    loop.call_soon_threadsafe(in_loop.stop)
    loop.call_soon_threadsafe(loop.stop)
    runner.join(5)
    loop.close()


def _event(tenant: str, ticket: Ticket, seq: int, to: TicketStatus) -> TicketStatusChanged:
    return TicketStatusChanged.model_validate(
        {
            "tenant": tenant,
            "seq": seq,
            "ticket": ticket,
            "from": None,
            "to": to,
            "counter": None,
            "call_id": None,
            "at": NOW,
        }
    )


def test_a_change_publishes_ticket_then_snapshot_retained_then_event(world: World) -> None:
    source, transport, publisher = world
    ticket = _ticket("t1", TicketStatus.WAITING)
    source.seq["a"] = 1
    source.tickets[("a", "t1")] = ticket
    publisher.notify(TenantChanged("a", 1, ("t1",), (_event("a", ticket, 1, ticket.status),)))
    sent = transport.wait_for(3)
    assert [(topic, retain) for topic, _, retain in sent] == [
        (ticket_topic("a", "t1"), True),
        (queue_topic("a"), True),
        (events_topic("a"), False),
    ]
    update = decode(sent[0][1])
    assert isinstance(update, TicketUpdate)
    assert update.seq == 1
    assert update.ticket == ticket


def test_events_keep_commit_order_and_bursts_cost_one_snapshot_per_tenant(world: World) -> None:
    source, transport, publisher = world
    source.seq["a"] = 50
    ticket = _ticket("t1", TicketStatus.WAITING)
    source.tickets[("a", "t1")] = ticket
    changes = [
        TenantChanged("a", seq, ("t1",), (_event("a", ticket, seq, ticket.status),))
        for seq in range(1, 51)
    ]
    for change in changes:
        publisher.notify(change)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        events = [p for t, p, _ in transport.sent if t == events_topic("a")]
        if len(events) == 50:
            break
        time.sleep(0.01)
    seqs = [_seq(p) for t, p, _ in transport.sent if t == events_topic("a")]
    assert seqs == list(range(1, 51))
    assert source.snapshot_reads < 50  # coalesced: the inbox held several changes per read


def test_an_older_snapshot_never_replaces_a_newer_one(world: World) -> None:
    source, transport, publisher = world
    source.seq["a"] = 7
    publisher.notify(TenantChanged("a", 7))
    transport.wait_for(1)
    source.seq["a"] = 6  # e.g. a lagging replica: must not go backwards on the retained topic
    publisher.notify(TenantChanged("a", 6))
    source.seq["a"] = 8
    publisher.notify(TenantChanged("a", 8))
    sent = transport.wait_for(2)
    assert [_seq(p) for t, p, _ in sent if t == queue_topic("a")] == [7, 8]


def test_while_disconnected_nothing_is_sent_and_reconnect_republishes_everything(
    world: World,
) -> None:
    source, transport, publisher = world
    transport.connected = False
    source.seq |= {"a": 3, "b": 9}
    source.tickets[("a", "t1")] = _ticket("t1", TicketStatus.CALLED)
    source.tickets[("b", "gone")] = _ticket("gone", TicketStatus.COMPLETED)
    publisher.notify(TenantChanged("a", 3, ("t1",)))
    time.sleep(0.2)
    assert transport.sent == []
    transport.connected = True
    publisher.republish_all()
    sent = transport.wait_for(3)
    assert {(t, r) for t, _, r in sent} == {
        (ticket_topic("a", "t1"), True),
        (queue_topic("a"), True),
        (queue_topic("b"), True),
    }


def test_an_ended_ticket_is_cleared_after_the_grace_period(world: World) -> None:
    source, transport, publisher = world
    source.seq["a"] = 2
    source.tickets[("a", "t1")] = _ticket("t1", TicketStatus.COMPLETED)
    publisher.notify(TenantChanged("a", 2, ("t1",)))
    sent = transport.wait_for(3)
    assert sent[-1] == (ticket_topic("a", "t1"), b"", True)


def test_a_ticket_reactivated_within_the_grace_period_is_not_cleared(world: World) -> None:
    source, transport, publisher = world
    source.seq["a"] = 2
    source.tickets[("a", "t1")] = _ticket("t1", TicketStatus.NO_SHOW)
    publisher.notify(TenantChanged("a", 2, ("t1",)))
    transport.wait_for(2)
    source.tickets[("a", "t1")] = _ticket("t1", TicketStatus.WAITING)
    source.seq["a"] = 3
    publisher.notify(TenantChanged("a", 3, ("t1",)))  # the reactivation's commit
    time.sleep(0.6)
    assert (ticket_topic("a", "t1"), b"", True) not in transport.sent


def test_a_failing_source_does_not_stop_publishing(world: World) -> None:
    source, transport, publisher = world
    source.seq["a"] = 1
    original = source.queue_update
    calls = {"n": 0}

    def flaky(tenant: str) -> QueueUpdate | None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database is locked")
        snapshot: QueueUpdate | None = original(tenant)
        return snapshot

    source.queue_update = flaky  # type: ignore[method-assign]
    publisher.notify(TenantChanged("a", 1))
    time.sleep(0.1)
    publisher.notify(TenantChanged("a", 1))
    sent = transport.wait_for(1)
    assert sent[0][0] == queue_topic("a")


@dataclass
class Places:
    """A committed state whose 100 waiting tickets of one line move up by ``shift``."""

    seq: int
    shift: int
    count: int = 100

    @property
    def update(self) -> QueueUpdate:
        return MemorySource(seq={"a": self.seq}).queue_update("a")  # type: ignore[return-value]

    @property
    def changed(self) -> dict[str, Ticket]:
        return {}

    def waiting_places(self) -> Iterator[tuple[str, int]]:
        for i in range(self.shift, self.count):
            yield f"w{i}", i - self.shift + 1

    def waiting_document(self, ticket_id: str, position: int) -> Ticket:
        return _ticket(ticket_id, TicketStatus.WAITING).model_copy(
            update={"position": position, "people_ahead": position - 1}
        )


def _places(sent: list[tuple[str, bytes, bool]]) -> dict[str, list[int | None]]:
    told: dict[str, list[int | None]] = {}
    for _topic, payload, _ in sent:
        message = decode(payload) if payload else None
        if isinstance(message, TicketUpdate):
            told.setdefault(message.ticket.id, []).append(message.ticket.position)
    return told


def test_a_burst_of_calls_tells_each_follower_once_not_once_per_call(world: World) -> None:
    """Twenty calls in a burst move 100 waiting tickets twenty times; each ticket hears its
    new place in one coalesced pass (never one message per call per ticket), and the place
    it hears last is exact."""
    _, transport, publisher = world
    publisher.notify(TenantChanged("a", 1, state=Places(1, 0)))
    deadline = time.monotonic() + 10
    while len(_places(transport.sent)) < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    first = _places(transport.sent)
    assert len(first) == 100  # everyone is told their place once
    for seq in range(2, 22):  # the burst: each call moves everyone up by one
        publisher.notify(TenantChanged("a", seq, state=Places(seq, seq - 1)))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        told = _places(transport.sent)
        if all(told[f"w{i}"][-1] == i - 20 + 1 for i in range(20, 100)):
            break
        time.sleep(0.1)
    told = _places(transport.sent)
    for i in range(20, 100):  # still waiting: the last word is the exact place
        assert told[f"w{i}"][-1] == i - 19
    burst = sum(len(v) for v in told.values()) - 100
    assert burst < 20 * 80 / 4  # one per call per ticket would be 1,600
    assert max(len(v) for v in told.values()) <= 4
