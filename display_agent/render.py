"""Draw a :class:`DisplayView`: header; the current call very large; the last calls; ticker.

Proportions, not pixels: the same code fills a 1920x1080 TV and a 1280x720 panel, and stacks
the two areas on a portrait screen. At 1080 p the current number is ~330 px tall (legible well
beyond 5 m) and history rows ~80 px.
"""

from __future__ import annotations

from display_agent.view import DisplayView
from edge.pg import pygame
from edge.ui import theme
from edge.ui.fonts import Fonts
from edge.ui.layout import Rect, columns, inset, rows
from edge.ui.widgets import draw_header, draw_panel, draw_text, header_height


def render(surface: pygame.Surface, fonts: Fonts, view: DisplayView) -> None:
    screen = surface.get_rect()
    surface.fill(theme.BACKGROUND)
    header = Rect(0, 0, screen.width, header_height(screen))
    draw_header(surface, fonts, header, view.header)
    ticker_h = round(screen.height * 0.08) if view.ticker else 0
    gap = round(min(screen.width, screen.height) * 0.025)
    body = Rect(0, header.bottom, screen.width, screen.height - header.height - ticker_h)
    body = inset(body, gap)
    if screen.width >= screen.height:
        current_rect, history_rect = columns(body, [0.6, 0.4], gap=gap)
    else:
        current_rect, history_rect = rows(body, [0.55, 0.45], gap=gap)
    _draw_current(surface, fonts, current_rect, view)
    _draw_history(surface, fonts, history_rect, view)
    if view.ticker:
        _draw_ticker(
            surface, fonts, Rect(0, screen.height - ticker_h, screen.width, ticker_h), view.ticker
        )


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


def _draw_history(surface: pygame.Surface, fonts: Fonts, rect: Rect, view: DisplayView) -> None:
    title_h = round(rect.height * 0.12)
    title = Rect(rect.left, rect.top, rect.width, title_h)
    draw_text(
        surface,
        fonts,
        view.last_calls_title,
        inset(title, round(title_h * 0.12)),
        theme.MUTED,
        bold=True,
        align="left",
    )
    slots = max(1, len(view.history))
    area = Rect(rect.left, title.bottom, rect.width, rect.height - title_h)
    # Rows keep the height they would have with 6 entries: a short history does not balloon.
    row_h = min(area.height // slots, area.height // 6)
    for i, line in enumerate(view.history):
        row = Rect(area.left, area.top + i * row_h, area.width, row_h - max(2, row_h // 12))
        draw_panel(
            surface, row, theme.PANEL if i % 2 == 0 else theme.PANEL_ALT, radius=round(row_h * 0.12)
        )
        number_rect, counter_rect = columns(
            inset(row, round(row.height * 0.16)), [0.45, 0.55], gap=round(row_h * 0.2)
        )
        draw_text(surface, fonts, line.number, number_rect, theme.TEXT, bold=True, align="left")
        draw_text(surface, fonts, line.counter, counter_rect, theme.ACCENT, align="right")


def _draw_ticker(surface: pygame.Surface, fonts: Fonts, rect: Rect, text: str) -> None:
    draw_panel(surface, rect, theme.HEADER)
    inner = inset(rect, round(rect.height * 0.18))
    draw_text(surface, fonts, _shorten(fonts, text, inner), inner, theme.TEXT, align="center")


def _shorten(fonts: Fonts, text: str, rect: Rect) -> str:
    """Keep the ticker at a readable size: drop words (with an ellipsis) rather than shrink
    the text below 60 % of the bar height."""
    smallest = round(rect.height * 0.6)
    if fonts.fit(text, rect.width, rect.height) >= smallest:
        return text
    words = text.split()
    while len(words) > 1:
        words.pop()
        candidate = " ".join(words) + " …"
        if fonts.fit(candidate, rect.width, rect.height) >= smallest:
            return candidate
    return text
