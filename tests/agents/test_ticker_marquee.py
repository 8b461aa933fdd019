"""The pygame TV's ticker scrolls when it is longer than the screen is wide: never cut with
"…", every word passes through the bar, and only the bar is redrawn while it moves (a short
ticker stays still, and the agent idles)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from display_agent.render import animate, regions, render, ticker_text_area
from display_agent.state import DisplayState
from display_agent.view import DisplayView, display_view
from edge.feed import Feed
from edge.pg import pygame
from edge.ui import theme
from edge.ui.fonts import Fonts
from edge.ui.marquee import PAUSE_S, Marquee
from tests.agents import audio
from tests.agents.factories import T0, call, snapshot
from tests.agents.running import display, view_of
from tests.agents.system_fixtures import device, system
from tests.support.system import RunningSystem

__all__ = ["system"]

LONG = (
    "Bem-vindo à Clínica São Lucas! Tenha um documento com foto em mãos ao ser chamado. "
    "Atendimento das 7h às 19h, de segunda a sábado. Exames de sangue: jejum de 8 horas. "
    "Fim do aviso."
)
SHORT = "Bom dia!"


@pytest.fixture(scope="module")
def fonts() -> Fonts:
    pygame.display.init()
    return Fonts()


def _view(ticker: str) -> DisplayView:
    calls = [call(23, counter=3), call(22, counter=1)]
    state = DisplayState(feed=Feed(snapshot=snapshot(5, calls, ticker=ticker), link_up=True))
    return display_view(state, T0, fallback_title="x")


def _strip(surface: pygame.Surface, rect: pygame.Rect) -> bytes:
    return pygame.image.tobytes(surface.subsurface(rect), "RGB")


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)])
def test_a_long_ticker_scrolls_through_the_bar_and_nothing_else_moves(
    fonts: Fonts, size: tuple[int, int], output_dir: Path
) -> None:
    view = _view(LONG)
    surface = pygame.Surface(size)
    render(surface, fonts, view)
    where = regions(surface.get_rect(), view)
    assert where.ticker is not None
    above = pygame.Rect(0, 0, size[0], where.ticker.top)
    body = _strip(surface, above)
    frames = []
    for second in (0.0, PAUSE_S + 1, PAUSE_S + 4):
        area = animate(surface, fonts, view, second)
        assert area == where.ticker, "only the ticker bar is redrawn"
        frames.append(_strip(surface, where.ticker))
        name = f"display-{size[0]}x{size[1]}-ticker-{second:.1f}s.png"
        pygame.image.save(surface, str(output_dir / name))
    assert len(set(frames)) == 3, "the text moves"
    assert _strip(surface, above) == body, "the rest of the screen is untouched"
    # No ellipsis: the drawn text is the whole ticker, rendered once and scrolled.
    inner = ticker_text_area(where.ticker)
    whole = fonts.render(LONG, fonts.fit(LONG, 1_000_000, inner.height), theme.TEXT)
    assert whole.get_width() > inner.width
    assert whole.get_height() >= 0.6 * inner.height, "read at the bar's size, not shrunk"


def test_every_part_of_the_text_passes_through_the_bar_each_turn() -> None:
    marquee = Marquee(text_width=5000, box_width=1800, box_height=60)
    assert marquee.scrolls
    # Sample one turn at 30 frames a second: which text columns were inside the box.
    shown = bytearray(marquee.text_width)
    frames = int(marquee.period_s * 30) + 1
    offsets = [marquee.offset(i / 30) for i in range(frames)]
    for offset in offsets:
        for column in range(max(0, offset), min(marquee.text_width, offset + marquee.box_width)):
            shown[column] = 1
    assert all(shown), "every column of the text is shown at some moment"
    # The beginning is still while it is read, then it moves steadily, and the turn closes
    # where it began (text + gap further: the head is back at the left edge, no jump).
    assert marquee.offset(0) == marquee.offset(PAUSE_S) == 0
    assert 0 < marquee.offset(PAUSE_S + 1) < marquee.offset(PAUSE_S + 2)
    end = marquee.offset(marquee.period_s - 1e-6)
    assert abs(end - (marquee.text_width + marquee.gap)) <= 1
    assert marquee.offset(marquee.period_s + 0.5) == 0
    # Consecutive frames step by a few pixels: readable, not jumping.
    assert max(b - a for a, b in itertools.pairwise(offsets)) <= 0.1 * 1800


def test_a_ticker_that_fits_is_still_and_costs_no_frames(fonts: Fonts) -> None:
    view = _view(SHORT)
    surface = pygame.Surface((1920, 1080))
    render(surface, fonts, view)
    assert animate(surface, fonts, view, 5.0) is None
    assert animate(surface, fonts, _view(""), 5.0) is None  # no ticker at all
    assert Marquee(text_width=300, box_width=1800, box_height=60).offset(7.0) == 0


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_running_display_scrolls_the_ticker_an_admin_sets(
    system: RunningSystem, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audio.disk_audio_env(monkeypatch, output_dir / "display-ticker-audio.raw")
    admin = system.auth(system.login("admin"))
    tenant = f"/api/v1/tenants/{system.tenant}"
    assert system.http.patch(tenant, json={"ticker": LONG}, headers=admin).status_code == 200
    try:
        with display(system, device(system, "display"), width=1280, height=720) as runtime:
            runtime.run(until=lambda: runtime.view is not None and runtime.view.ticker == LONG)
            assert runtime.surface is not None
            where = regions(runtime.surface.get_rect(), view_of(runtime))
            assert where.ticker is not None
            runtime.run(until=lambda: runtime.moving_frames >= 10, timeout_s=30)
            start = runtime.moving_frames
            first = _strip(runtime.surface, where.ticker)
            # Past the still start of a turn, whenever the first look fell.
            runtime.run(until=_after(PAUSE_S + 1.0), timeout_s=30)
            assert runtime.moving_frames > start
            assert _strip(runtime.surface, where.ticker) != first, "the loop scrolls the bar"
            pygame.image.save(runtime.surface, str(output_dir / "display-live-ticker.png"))
            # A short ticker: still again, and the loop goes back to sleeping between changes.
            short = {"ticker": SHORT}
            assert system.http.patch(tenant, json=short, headers=admin).status_code == 200
            runtime.run(until=lambda: view_of(runtime).ticker == SHORT, timeout_s=20)
            frames = runtime.moving_frames
            runtime.run(until=_after(1.0), timeout_s=10)
            assert runtime.moving_frames == frames
    finally:
        system.http.patch(tenant, json={"ticker": None}, headers=admin)


def _after(seconds: float) -> Callable[[], bool]:
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() >= deadline
