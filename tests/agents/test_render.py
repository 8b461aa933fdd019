"""Every screen of both agents rendered at 1920x1080 and 1280x720 (and portrait for the
kiosk), saved as PNG for a human to look at, with checks a machine can make: the right colours
where the eye must go, text inside the screen, nothing drawn off-canvas."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest

from display_agent.render import regions
from display_agent.render import render as render_display
from display_agent.state import DisplayConfig, DisplayState
from display_agent.view import display_view
from edge.feed import Feed
from edge.pg import pygame
from edge.ui import theme
from edge.ui.fonts import Fonts
from tests.agents.factories import T0, call, snapshot, ticket, waiting
from totem_agent.render import render as render_totem
from totem_agent.state import (
    ChoosingPriority,
    Home,
    Issuing,
    Mine,
    Screen,
    ShowingCall,
    ShowingError,
    ShowingTicket,
    TotemState,
)
from totem_agent.view import totem_view

SIZES = [(1920, 1080), (1280, 720)]
TICKER = "Bem-vindo! Tenha um documento com foto em mãos ao ser chamado. Atendimento das 7h às 19h."


@pytest.fixture(scope="module")
def fonts() -> Fonts:
    pygame.display.init()
    return Fonts()


def _share(surface: pygame.Surface, color: theme.Color, area: pygame.Rect | None = None) -> float:
    """Fraction of sampled pixels of ``area`` that are exactly ``color``."""
    area = area or surface.get_rect()
    step = max(1, min(area.size) // 60)
    hits = total = 0
    for x in range(area.left, area.right, step):
        for y in range(area.top, area.bottom, step):
            total += 1
            pixel = surface.get_at((x, y))
            hits += (pixel.r, pixel.g, pixel.b) == color
    return hits / total


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("highlighted", [True, False])
def test_display_screens(
    fonts: Fonts, size: tuple[int, int], highlighted: bool, output_dir: Path
) -> None:
    calls = [
        call(23, counter=3),
        call(22, counter=1),
        call(5, service="P", counter=2),
        *[call(n) for n in range(21, 14, -1)],
    ]
    state = DisplayState(
        config=DisplayConfig(),
        feed=Feed(snapshot=snapshot(5, calls, ticker=TICKER), link_up=True),
        highlighted_call="call-A023-0" if highlighted else None,
    )
    view = display_view(state, T0, fallback_title="x")
    assert len(view.history) == 6
    surface = pygame.Surface(size)
    render_display(surface, fonts, view)
    pygame.image.save(
        surface,
        str(output_dir / f"display-{size[0]}x{size[1]}-{'new' if highlighted else 'calm'}.png"),
    )
    current_panel = pygame.Rect(0, 0, size[0] * 6 // 10, size[1])
    accent = _share(surface, theme.ACCENT, current_panel)
    # A new call turns the whole current-call panel amber; afterwards only its counter is.
    assert accent > 0.5 if highlighted else 0.01 < accent < 0.3, accent


@pytest.mark.parametrize("size", [*SIZES, (1080, 1920)])
def test_every_history_row_is_whole_on_screen_and_names_its_counter_readably(
    fonts: Fonts, size: tuple[int, int], output_dir: Path
) -> None:
    # The named room on every row: the longest text a row must hold.
    calls = [call(n, counter=4) for n in range(30, 22, -1)]
    state = DisplayState(feed=Feed(snapshot=snapshot(5, calls, ticker=TICKER), link_up=True))
    view = display_view(state, T0, fallback_title="x")
    assert [line.counter for line in view.history] == ["Sala de Coleta 4"] * 6
    screen = pygame.Rect(0, 0, *size)
    where = regions(screen, view)
    assert len(where.history) == len(view.history)
    bottom = where.ticker.top if where.ticker is not None else screen.bottom
    for above, below in itertools.pairwise(where.history):
        assert above.panel.bottom <= below.panel.top, "rows never overlap"
    for row in where.history:
        assert screen.contains(row.panel)
        assert row.panel.bottom <= bottom, "no row runs under the ticker"
        assert row.panel.contains(row.number)
        assert row.panel.contains(row.counter)
        # The name is drawn at a size read from afar, not squeezed to fit.
        name = fonts.fit("Sala de Coleta 4", row.counter.width, row.counter.height)
        assert name >= 0.5 * row.counter.height, (size, name, row.counter)
    surface = pygame.Surface(size)
    render_display(surface, fonts, view)
    pygame.image.save(surface, str(output_dir / f"display-{size[0]}x{size[1]}-named-rows.png"))


@pytest.mark.parametrize("size", [*SIZES, (1080, 1920)])
@pytest.mark.parametrize("screen", ["home", "priority", "issuing", "ticket", "called", "error"])
def test_totem_screens(fonts: Fonts, size: tuple[int, int], screen: str, output_dir: Path) -> None:
    mine = ticket("A023", position=3)
    screens: dict[str, Screen] = {
        "home": Home(),
        "priority": ChoosingPriority("P"),
        "issuing": Issuing("A", False, "k", T0 + timedelta(seconds=30)),
        "ticket": ShowingTicket(mine.id, T0 + timedelta(seconds=20)),
        "called": ShowingCall(call(23, counter=3), T0 + timedelta(seconds=15)),
        "error": ShowingError(True, "", T0 + timedelta(seconds=8)),
    }
    state = TotemState(
        feed=Feed(
            snapshot=snapshot(5, [call(22)], waiting_tickets=(waiting(23, 3),)), link_up=True
        ),
        screen=screens[screen],
        mine=(Mine(mine),),
    )
    view = totem_view(state, T0, fallback_title="x", api="http://10.0.0.5:8000", tenant="default")
    surface = pygame.Surface(size)
    render_totem(surface, fonts, view)
    pygame.image.save(surface, str(output_dir / f"totem-{screen}-{size[0]}x{size[1]}.png"))
    if screen == "called":
        assert _share(surface, theme.ACCENT) > 0.6
    elif screen == "error":
        assert _share(surface, theme.ERROR) > 0.3
    elif screen == "ticket":
        assert _share(surface, theme.WHITE) > 0.05  # the QR code's white field
    else:
        assert _share(surface, theme.BACKGROUND) > 0.2
