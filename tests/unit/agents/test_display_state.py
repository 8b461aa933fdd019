"""The display's pure reducer and view: filters, highlight, history order, announcements."""

from __future__ import annotations

from datetime import timedelta

from display_agent.state import DisplayConfig, DisplayState, reduce
from display_agent.view import display_view
from edge.inputs import Announce, SnapshotReceived, Tick
from tests.agents.factories import T0, call, snapshot

NOW = T0 + timedelta(seconds=2)


def primed(config: DisplayConfig | None = None) -> DisplayState:
    state, effects = reduce(
        DisplayState(config=config or DisplayConfig()), SnapshotReceived(snapshot(1), True), NOW
    )
    assert effects == []
    return state


def test_calls_arriving_together_are_announced_in_call_order_and_the_newest_highlighted() -> None:
    calls = [call(3, counter=3), call(2, counter=2), call(1, counter=1)]
    state, effects = reduce(primed(), SnapshotReceived(snapshot(2, calls), True), NOW)
    assert effects == [
        Announce("call-A001-0", "A001", 1, "pt-BR", "Guichê 1"),
        Announce("call-A002-0", "A002", 2, "pt-BR", "Guichê 2"),
        Announce("call-A003-0", "A003", 3, "pt-BR", "Guichê 3"),
    ]
    view = display_view(state, NOW, fallback_title="x")
    assert view.current is not None
    assert (view.current.number, view.current.counter, view.highlighted) == (
        "A003",
        "Guichê 3",
        True,
    )
    assert [line.number for line in view.history] == ["A002", "A001"]


def test_a_counter_is_shown_and_announced_by_its_name() -> None:
    calls = [call(23, counter=4), call(22, counter=4, service="P")]
    state, effects = reduce(primed(), SnapshotReceived(snapshot(2, calls), True), NOW)
    assert effects[-1] == Announce("call-A023-0", "A023", 4, "pt-BR", "Sala de Coleta 4")
    view = display_view(state, NOW, fallback_title="x")
    assert view.current is not None
    assert view.current.counter == "Sala de Coleta 4"
    assert [line.counter for line in view.history] == ["Sala de Coleta 4"]


def test_highlight_ends_after_its_time_on_a_tick() -> None:
    state, _ = reduce(primed(), SnapshotReceived(snapshot(2, [call(1)]), True), NOW)
    same, _ = reduce(state, Tick(), NOW + timedelta(seconds=9))
    assert same is state
    later, _ = reduce(state, Tick(), NOW + timedelta(seconds=10))
    assert not display_view(later, NOW, fallback_title="x").highlighted


def test_filters_by_service_and_counter() -> None:
    config = DisplayConfig(services=frozenset({"P"}), counters=frozenset({1, 2}))
    calls = [call(1, service="P", counter=3), call(2, service="P", counter=1), call(3, counter=1)]
    state, effects = reduce(primed(config), SnapshotReceived(snapshot(2, calls), True), NOW)
    assert [e.number for e in effects if isinstance(e, Announce)] == ["P002"]
    view = display_view(state, NOW, fallback_title="x")
    assert view.current is not None
    assert view.current.number == "P002"
    assert view.history == ()


def test_a_recall_moves_the_ticket_to_the_top_without_a_duplicate_line() -> None:
    state, _ = reduce(primed(), SnapshotReceived(snapshot(2, [call(2), call(1)]), True), NOW)
    calls = [call(1, recall=1), call(2), call(1)]
    state, effects = reduce(state, SnapshotReceived(snapshot(3, calls), True), NOW)
    assert [e.call_id for e in effects if isinstance(e, Announce)] == ["call-A001-1"]
    view = display_view(state, NOW, fallback_title="x")
    assert view.current is not None
    assert view.current.number == "A001"
    assert [line.number for line in view.history] == ["A002"]


def test_history_length_and_locale_follow_config_and_tenant() -> None:
    calls = [call(n) for n in range(10, 0, -1)]
    state, effects = reduce(
        primed(DisplayConfig(history=3)),
        SnapshotReceived(snapshot(2, calls, locale="es"), True),
        NOW,
    )
    view = display_view(state, NOW, fallback_title="x")
    assert len(view.history) == 3
    assert view.now_calling == "Llamando ahora"
    assert all(isinstance(e, Announce) and e.locale == "es" for e in effects)
    english = reduce(
        primed(DisplayConfig(locale="en")),
        SnapshotReceived(snapshot(2, calls, locale="es"), True),
        NOW,
    )[0]
    assert display_view(english, NOW, fallback_title="x").last_calls_title == "Last calls"


def test_the_view_changes_only_when_something_visible_changes() -> None:
    state = primed()
    assert display_view(state, NOW, fallback_title="x") == display_view(
        state, NOW + timedelta(seconds=30), fallback_title="x"
    )  # same minute: no redraw
    assert display_view(state, NOW, fallback_title="x") != display_view(
        state, NOW + timedelta(minutes=1), fallback_title="x"
    )
