"""The feed rules every screen depends on: seq order, announce once if recent. The announcement
rule's own cases are shared with the browser pages: tests/contract/test_announce_contract.py."""

from __future__ import annotations

from datetime import timedelta

from edge.feed import Connection, Feed, feed_step
from edge.inputs import LinkDown, LinkUp, PollResult, SnapshotReceived
from tests.agents.factories import T0, call, snapshot

RECENT = timedelta(seconds=60)
NOW = T0 + timedelta(seconds=5)


def step(feed: Feed, event: object, now=NOW):  # type: ignore[no-untyped-def]
    return feed_step(feed, event, now=now, recent=RECENT)


def live(seq: int, calls=()):  # type: ignore[no-untyped-def]
    return SnapshotReceived(snapshot(seq, list(calls)), live=True)


def polled(seq: int, calls=()):  # type: ignore[no-untyped-def]
    return SnapshotReceived(snapshot(seq, list(calls)), live=False)


def test_first_snapshot_replays_no_old_call_but_announces_the_last_minutes() -> None:
    # A screen switched on (or restarted) mid-morning: the earlier calls stay quiet; the one
    # made seconds ago, which it may have missed while starting, is announced.
    old = call(1, at=NOW - timedelta(minutes=30))
    feed, fresh = step(Feed(), live(5, [call(2), old]))
    assert [c.number for c in fresh] == ["A002"]
    assert feed.snapshot is not None
    assert feed.snapshot.seq == 5
    assert set(feed.announced) == {"call-A002-0", "call-A001-0"}


def test_new_calls_are_announced_once_oldest_first() -> None:
    feed, _ = step(Feed(), live(5, [call(1)]))
    feed, fresh = step(feed, live(6, [call(3), call(2), call(1)]))
    assert [c.number for c in fresh] == ["A002", "A003"]
    feed, fresh = step(feed, live(7, [call(3), call(2), call(1)]))
    assert fresh == ()


def test_a_recall_has_a_new_call_id_and_is_announced_again() -> None:
    feed, _ = step(Feed(), live(5, [call(1)]))
    _, fresh = step(feed, live(6, [call(1, recall=1), call(1)]))
    assert [c.call_id for c in fresh] == ["call-A001-1"]


def test_old_calls_are_never_announced() -> None:
    feed, _ = step(Feed(), live(5))
    stale = call(9, at=NOW - timedelta(seconds=61))
    feed, fresh = step(feed, live(6, [stale]))
    assert fresh == ()
    assert "call-A009-0" in feed.announced  # and remembered, so never later either


def test_older_or_equal_seq_is_ignored_from_any_source() -> None:
    feed, _ = step(Feed(), live(5))
    for event in (live(5, [call(1)]), live(4, [call(1)]), polled(3, [call(1)])):
        assert step(feed, event) == (feed, ())


def test_the_first_live_snapshot_after_a_reconnect_is_trusted_even_with_a_lower_seq() -> None:
    feed, _ = step(Feed(), live(50))
    feed, _ = step(feed, LinkUp())
    feed, _ = step(feed, LinkDown("lost"))
    feed, _ = step(feed, LinkUp())
    # The server's database started over: seq went back to 3. The broker's retained truth wins.
    feed, fresh = step(feed, live(3, [call(1)]))
    assert feed.snapshot is not None
    assert feed.snapshot.seq == 3
    assert [c.number for c in fresh] == ["A001"]
    # ...once: the next one is ordered again.
    assert step(feed, live(2))[0] is feed


def test_polled_snapshots_never_consume_the_reconnect_trust() -> None:
    feed, _ = step(Feed(), live(10))
    feed, _ = step(feed, LinkUp())
    feed, _ = step(feed, polled(4))
    assert feed.snapshot is not None
    assert feed.snapshot.seq == 10
    assert feed.trust_next_snapshot


def test_reconnect_replays_nothing_and_an_outage_call_is_announced() -> None:
    feed, _ = step(Feed(), LinkUp())
    feed, _ = step(feed, live(5, [call(1)]))
    feed, _ = step(feed, LinkDown("broker gone"))
    feed, _ = step(feed, LinkUp())
    feed, fresh = step(feed, live(6, [call(2), call(1)]))
    assert [c.number for c in fresh] == ["A002"]


def test_connection_state() -> None:
    feed = Feed()
    assert feed.connection is Connection.RECONNECTING
    feed, _ = step(feed, PollResult(ok=True))
    assert feed.connection is Connection.POLLING
    feed, _ = step(feed, LinkUp())
    assert feed.connection is Connection.LIVE
    feed, _ = step(feed, LinkDown("x"))
    assert feed.connection is Connection.RECONNECTING  # until a poll answers
    feed, _ = step(feed, PollResult(ok=False))
    assert feed.connection is Connection.RECONNECTING
    assert step(feed, PollResult(ok=False))[0] is feed


def test_remembered_call_ids_are_bounded() -> None:
    feed, _ = step(Feed(), live(0))
    for seq in range(1, 60):
        feed, _ = step(feed, live(seq, [call(n) for n in range(seq * 10, seq * 10 + 10)]))
    assert len(feed.announced) == 256
