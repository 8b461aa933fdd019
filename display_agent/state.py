"""The display's state and its pure reducer: (state, input, now) -> (state, effects)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from edge.feed import Feed, feed_step
from edge.inputs import Announce, Tick
from edge.texts import texts_for
from protocol import CallRecord


@dataclass(frozen=True, slots=True)
class DisplayConfig:
    services: frozenset[str] | None = None
    counters: frozenset[int] | None = None
    history: int = 6
    highlight: timedelta = timedelta(seconds=10)
    recent: timedelta = timedelta(seconds=60)
    locale: str | None = None  # None: the tenant's

    def shows(self, call: CallRecord) -> bool:
        return (self.services is None or call.service in self.services) and (
            self.counters is None or call.counter in self.counters
        )


@dataclass(frozen=True, slots=True)
class DisplayState:
    config: DisplayConfig = field(default_factory=DisplayConfig)
    feed: Feed = field(default_factory=Feed)
    highlighted_call: str | None = None
    highlight_until: datetime | None = None


def reduce(state: DisplayState, event: object, now: datetime) -> tuple[DisplayState, list[object]]:
    if isinstance(event, Tick):
        if state.highlight_until is not None and now >= state.highlight_until:
            return replace(state, highlighted_call=None, highlight_until=None), []
        return state, []
    feed, fresh = feed_step(state.feed, event, now=now, recent=state.config.recent)
    if feed is state.feed:
        return state, []
    calls = [call for call in fresh if state.config.shows(call)]
    if not calls:
        return replace(state, feed=feed), []
    snapshot_locale = feed.snapshot.locale if feed.snapshot is not None else None
    locale = texts_for(state.config.locale, snapshot_locale).locale
    effects: list[object] = [
        Announce(call.call_id, call.number, call.counter, locale, call.counter_name)
        for call in calls
    ]
    return (
        replace(
            state,
            feed=feed,
            highlighted_call=calls[-1].call_id,
            highlight_until=now + state.config.highlight,
        ),
        effects,
    )


def visible_calls(state: DisplayState) -> list[CallRecord]:
    """Calls this display shows, newest first, one line per ticket (a recall moves the ticket
    to the top instead of listing it twice)."""
    snapshot = state.feed.snapshot
    if snapshot is None:
        return []
    seen: set[str] = set()
    calls: list[CallRecord] = []
    for call in snapshot.last_calls:
        if state.config.shows(call) and call.ticket_id not in seen:
            seen.add(call.ticket_id)
            calls.append(call)
    return calls
