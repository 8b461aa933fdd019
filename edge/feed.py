"""The part of every agent's state that follows the tenant: snapshot, connection, announcements.

Pure. Both reducers embed a :class:`Feed` and pass every network input through :func:`feed_step`,
which applies the two rules screens depend on:

* **seq** — a snapshot older than (or equal to) the one shown is ignored, whether it came from
  MQTT or from HTTP polling; except the first live snapshot after a (re)connect, which is the
  broker's retained truth and is trusted as is (this also recovers from a server whose
  database, and so its ``seq``, started over).
* **announce once, only if recent** — :func:`calls_to_announce`, the rule the browser pages
  share (``publisher_api/web/js/announce.js``; both run the cases of
  ``tests/contract/announce_cases.json``). Each ``call_id`` in ``last_calls`` is considered once:
  it is announced, oldest first, if it was called within the recency window by the server's
  clock (give or take :data:`FUTURE_TOLERANCE` of clock error); either way it is remembered, so it
  is never announced later. So a screen that starts (or restarts) announces only the calls of the
  last minute it has not announced, never the morning's; a reconnect never replays a call; a
  call made during a short outage is announced once when the snapshot that holds it arrives; and
  a recall, which has a new ``call_id``, is announced again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from edge.inputs import LinkDown, LinkUp, PollResult, SnapshotReceived
from protocol import CallRecord, QueueUpdate

# last_calls holds at most 10; remembering many more ids costs nothing and covers bursts.
_REMEMBERED_CALLS = 256
# How far in the future a call may be stamped and still count as recent: the error left in the
# device's estimate of the server's clock (the Date header has whole seconds, plus latency).
FUTURE_TOLERANCE = timedelta(seconds=5)


class Connection(StrEnum):
    LIVE = "live"  # MQTT session up
    POLLING = "polling"  # MQTT down, HTTP answering
    RECONNECTING = "reconnecting"  # neither (yet)


@dataclass(frozen=True, slots=True)
class Feed:
    snapshot: QueueUpdate | None = None
    link_up: bool = False
    poll_ok: bool = False
    trust_next_snapshot: bool = False
    announced: tuple[str, ...] = ()

    @property
    def connection(self) -> Connection:
        if self.link_up:
            return Connection.LIVE
        return Connection.POLLING if self.poll_ok else Connection.RECONNECTING


def feed_step(
    feed: Feed, event: object, *, now: datetime, recent: timedelta
) -> tuple[Feed, tuple[CallRecord, ...]]:
    """Apply one input; return the new feed (the same object if nothing changed) and the
    calls to announce, oldest first."""
    match event:
        case LinkUp():
            return replace(feed, link_up=True, trust_next_snapshot=True), ()
        case LinkDown():
            if not feed.link_up:
                return feed, ()
            # Until a poll answers, we do not know whether HTTP works either.
            return replace(feed, link_up=False, poll_ok=False, trust_next_snapshot=False), ()
        case PollResult(ok=ok):
            return (feed if feed.poll_ok == ok else replace(feed, poll_ok=ok)), ()
        case SnapshotReceived(snapshot=snapshot, live=live):
            return _snapshot(
                feed, snapshot, trusted=live and feed.trust_next_snapshot, now=now, recent=recent
            )
    return feed, ()


def _snapshot(
    feed: Feed, snapshot: QueueUpdate, *, trusted: bool, now: datetime, recent: timedelta
) -> tuple[Feed, tuple[CallRecord, ...]]:
    current = feed.snapshot
    if not trusted and current is not None and snapshot.seq <= current.seq:
        return feed, ()
    announced, fresh = calls_to_announce(
        feed.announced, snapshot.last_calls, now=now, recent=recent
    )
    return replace(feed, snapshot=snapshot, trust_next_snapshot=False, announced=announced), fresh


def calls_to_announce(
    seen: tuple[str, ...], last_calls: Sequence[CallRecord], *, now: datetime, recent: timedelta
) -> tuple[tuple[str, ...], tuple[CallRecord, ...]]:
    """The ids seen after this snapshot, and the calls of ``last_calls`` (newest first) to
    announce now, oldest first. ``now`` is the server's clock as well as the device knows it
    (:class:`edge.clock.ServerClock`): ``called_at`` is stamped by the server."""
    known = set(seen)
    unseen: list[CallRecord] = []
    for call in last_calls:
        if call.call_id not in known:
            known.add(call.call_id)
            unseen.append(call)
    unseen.reverse()
    fresh = tuple(call for call in unseen if is_recent(call, now=now, recent=recent))
    remembered = (seen + tuple(call.call_id for call in unseen))[-_REMEMBERED_CALLS:]
    return remembered, fresh


def is_recent(call: CallRecord, *, now: datetime, recent: timedelta) -> bool:
    """Whether a call is young enough to announce: after a long outage the retained snapshot
    may be hours old, and its calls must stay quiet. A call stamped in the future by more than
    the clock error we allow means the clock is not to be trusted (a device booted with a stale
    clock sees the morning's calls "in the future"): quiet too."""
    called_at = call.called_at if call.called_at.tzinfo else call.called_at.replace(tzinfo=UTC)
    age = now - called_at
    return -FUTURE_TOLERANCE <= age <= recent
