"""The part of every agent's state that follows the tenant: snapshot, connection, announcements.

Pure. Both reducers embed a :class:`Feed` and pass every network input through :func:`feed_step`,
which applies the three rules screens depend on:

* **seq** — a snapshot older than (or equal to) the one shown is ignored, whether it came from
  MQTT or from HTTP polling; except the first live snapshot after a (re)connect, which is the
  broker's retained truth and is trusted as is (this also recovers from a server whose
  database, and so its ``seq``, started over).
* **silent start** — the first snapshot an agent ever sees sets the screen without a sound.
* **announce once, only if recent** — afterwards, each ``call_id`` in ``last_calls`` that was
  never seen before and is younger than the recency window is returned as a new call, oldest
  first. A reconnect therefore never replays a call, and a call made during an outage is still
  announced when the snapshot that holds it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from edge.inputs import LinkDown, LinkUp, PollResult, SnapshotReceived
from protocol import CallRecord, QueueUpdate

# last_calls holds at most 10; remembering many more ids costs nothing and covers bursts.
_REMEMBERED_CALLS = 256


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
    primed: bool = False
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
    seen = set(feed.announced)
    unseen = [call for call in reversed(snapshot.last_calls) if call.call_id not in seen]
    fresh = (
        tuple(call for call in unseen if is_recent(call, now=now, recent=recent))
        if feed.primed
        else ()
    )
    announced = (feed.announced + tuple(call.call_id for call in unseen))[-_REMEMBERED_CALLS:]
    updated = replace(
        feed, snapshot=snapshot, trust_next_snapshot=False, primed=True, announced=announced
    )
    return updated, fresh


def is_recent(call: CallRecord, *, now: datetime, recent: timedelta) -> bool:
    """Whether a call is young enough to announce. Uses the device clock (kept by NTP):
    after a long outage the retained snapshot may be hours old, and its calls must stay quiet."""
    called_at = call.called_at if call.called_at.tzinfo else call.called_at.replace(tzinfo=UTC)
    return now - called_at <= recent
