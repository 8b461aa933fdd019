"""What the display shows, as a comparable value: redraw happens only when it changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from display_agent.state import DisplayState, visible_calls
from edge.clock import clock_text
from edge.texts import texts_for
from edge.ui.widgets import HeaderView, header_view


@dataclass(frozen=True, slots=True)
class CallLine:
    number: str
    counter: str  # the counter's name, "Sala de Coleta 4" (or "Guichê 3" without one)


@dataclass(frozen=True, slots=True)
class DisplayView:
    header: HeaderView
    now_calling: str
    ticket_word: str
    last_calls_title: str
    empty_text: str
    current: CallLine | None
    highlighted: bool
    history: tuple[CallLine, ...]
    ticker: str | None


def display_view(state: DisplayState, now: datetime, *, fallback_title: str) -> DisplayView:
    snapshot = state.feed.snapshot
    texts = texts_for(state.config.locale, snapshot.locale if snapshot else None)
    calls = visible_calls(state)
    lines = [CallLine(call.number, texts.place(call.counter, call.counter_name)) for call in calls]
    current = calls[0] if calls else None
    return DisplayView(
        header=header_view(
            snapshot.tenant_name if snapshot else fallback_title,
            clock_text(now, snapshot.timezone if snapshot else None),
            state.feed.connection,
            texts,
        ),
        now_calling=texts.now_calling,
        ticket_word=texts.ticket,
        last_calls_title=texts.last_calls,
        empty_text=texts.waiting_for_calls,
        current=lines[0] if lines else None,
        highlighted=current is not None and current.call_id == state.highlighted_call,
        history=tuple(lines[1 : 1 + state.config.history]),
        ticker=(snapshot.ticker or None) if snapshot else None,
    )
