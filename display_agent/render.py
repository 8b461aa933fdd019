"""Draw a :class:`DisplayView`: header; the current call very large; the last calls; ticker
(which scrolls when its text is longer than the screen is wide: :func:`animate`).

Proportions, not pixels: the same code fills a 1920x1080 TV and a 1280x720 panel, and stacks
the two areas on a portrait screen. At 1080 p the current number is ~330 px tall (legible well
beyond 5 m) and history rows ~80 px.
"""

from __future__ import annotations

from dataclasses import dataclass

from display_agent.view import DisplayView
from edge.pg import pygame
from edge.ui import theme
from edge.ui.fonts import Fonts
from edge.ui.layout import Rect, columns, inset, rows
from edge.ui.marquee import Marquee, draw_marquee
from edge.ui.widgets import draw_header, draw_panel, draw_text, header_height

# A width no text reaches: the ticker's size is set by the bar's height alone.
_UNBOUNDED = 1_000_000


@dataclass(frozen=True, slots=True)
class HistoryRow:
    panel: Rect
    number: Rect
    counter: Rect


@dataclass(frozen=True, slots=True)
class Regions:
    """Where everything goes on a screen of a given size (pure: tests check it fits)."""

    header: Rect
    current: Rect
    history_title: Rect
    history: tuple[HistoryRow, ...]
    ticker: Rect | None


def regions(screen: Rect, view: DisplayView) -> Regions:
    header = Rect(0, 0, screen.width, header_height(screen))
    ticker_h = round(screen.height * 0.08) if view.ticker else 0
    gap = round(min(screen.width, screen.height) * 0.025)
    body = Rect(0, header.bottom, screen.width, screen.height - header.height - ticker_h)
    body = inset(body, gap)
    if screen.width >= screen.height:
        current_rect, history_rect = columns(body, [0.6, 0.4], gap=gap)
    else:
        current_rect, history_rect = rows(body, [0.55, 0.45], gap=gap)
    title_h = round(history_rect.height * 0.12)
    title = Rect(history_rect.left, history_rect.top, history_rect.width, title_h)
    ticker = Rect(0, screen.height - ticker_h, screen.width, ticker_h) if view.ticker else None
    return Regions(header, current_rect, title, _history_rows(history_rect, title, view), ticker)


def _history_rows(rect: Rect, title: Rect, view: DisplayView) -> tuple[HistoryRow, ...]:
    slots = max(1, len(view.history))
    area = Rect(rect.left, title.bottom, rect.width, rect.height - title.height)
    # Rows keep the height they would have with 6 entries: a short history does not balloon;
    # a longer one gets thinner rows, never rows below the screen's edge.
    row_h = min(area.height // slots, area.height // 6)
    result = []
    for i in range(len(view.history)):
        panel = Rect(area.left, area.top + i * row_h, area.width, row_h - max(2, row_h // 12))
        number, counter = columns(
            inset(panel, round(panel.height * 0.16)), [0.45, 0.55], gap=round(row_h * 0.2)
        )
        result.append(HistoryRow(panel, number, counter))
    return tuple(result)


def render(surface: pygame.Surface, fonts: Fonts, view: DisplayView) -> None:
    surface.fill(theme.BACKGROUND)
    where = regions(surface.get_rect(), view)
    draw_header(surface, fonts, where.header, view.header)
    _draw_current(surface, fonts, where.current, view)
    _draw_history(surface, fonts, where, view)
    if where.ticker is not None and view.ticker:
        draw_ticker(surface, fonts, where.ticker, view.ticker)


def _draw_current(surface: pygame.Surface, fonts: Fonts, rect: Rect, view: DisplayView) -> None:
    radius = round(rect.height * 0.04)
    background = theme.ACCENT if view.highlighted else theme.PANEL
    ink = theme.ON_ACCENT if view.highlighted else theme.TEXT
    counter_ink = theme.ON_ACCENT if view.highlighted else theme.ACCENT
    draw_panel(surface, rect, background, radius=radius)
    inner = inset(rect, round(rect.height * 0.06))
    label, word, number, counter = rows(inner, [0.12, 0.1, 0.5, 0.28])
    draw_text(surface, fonts, view.now_calling.upper(), label, ink, bold=True)
    if view.current is None:
        draw_text(surface, fonts, view.empty_text, inset(number, round(number.height * 0.2)), ink)
        return
    draw_text(surface, fonts, view.ticket_word.upper(), word, ink)
    draw_text(surface, fonts, view.current.number, number, ink, bold=True)
    draw_text(surface, fonts, view.current.counter.upper(), counter, counter_ink, bold=True)


def _draw_history(surface: pygame.Surface, fonts: Fonts, where: Regions, view: DisplayView) -> None:
    title = where.history_title
    draw_text(
        surface,
        fonts,
        view.last_calls_title,
        inset(title, round(title.height * 0.12)),
        theme.MUTED,
        bold=True,
        align="left",
    )
    for i, (line, row) in enumerate(zip(view.history, where.history, strict=True)):
        background = theme.PANEL if i % 2 == 0 else theme.PANEL_ALT
        draw_panel(surface, row.panel, background, radius=round(row.panel.height * 0.12))
        draw_text(surface, fonts, line.number, row.number, theme.TEXT, bold=True, align="left")
        draw_text(surface, fonts, line.counter, row.counter, theme.ACCENT, align="right")


def draw_ticker(
    surface: pygame.Surface, fonts: Fonts, rect: Rect, text: str, elapsed_s: float = 0.0
) -> Rect:
    """The ticker bar: the whole text at a readable size, still and centred when it fits,
    scrolling through the bar when it does not (never cut). Returns the area it drew."""
    draw_panel(surface, rect, theme.HEADER)
    inner = ticker_text_area(rect)
    size = fonts.fit(text, _UNBOUNDED, inner.height)
    rendered = fonts.render(text, size, theme.TEXT)
    marquee = Marquee(rendered.get_width(), inner.width, inner.height)
    if not marquee.scrolls:
        surface.blit(rendered, rendered.get_rect(center=inner.center))
    else:
        draw_marquee(surface, rendered, inner, marquee, marquee.offset(elapsed_s))
    return rect


def ticker_scrolls(fonts: Fonts, rect: Rect, text: str) -> bool:
    inner = ticker_text_area(rect)
    rendered = fonts.render(text, fonts.fit(text, _UNBOUNDED, inner.height), theme.TEXT)
    return Marquee(rendered.get_width(), inner.width, inner.height).scrolls


def ticker_text_area(rect: Rect) -> Rect:
    return inset(rect, round(rect.height * 0.18))


def animate(
    surface: pygame.Surface, fonts: Fonts, view: DisplayView, elapsed_s: float
) -> Rect | None:
    """Redraw only what moves: the ticker, when it scrolls; ``None`` when nothing on screen
    moves (the agent then sleeps between changes)."""
    where = regions(surface.get_rect(), view)
    if (
        where.ticker is None
        or not view.ticker
        or not ticker_scrolls(fonts, where.ticker, view.ticker)
    ):
        return None
    return draw_ticker(surface, fonts, where.ticker, view.ticker, elapsed_s)
