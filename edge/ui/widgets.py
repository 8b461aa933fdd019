"""Drawing pieces both agents use: fitted text, panels, the header with status and clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from edge.feed import Connection
from edge.pg import pygame
from edge.texts import Texts
from edge.ui import theme
from edge.ui.fonts import Fonts
from edge.ui.layout import Rect, columns, inset

Align = Literal["left", "center", "right"]


def draw_text(
    surface: pygame.Surface,
    fonts: Fonts,
    text: str,
    rect: Rect,
    color: theme.Color,
    *,
    bold: bool = False,
    align: Align = "center",
    max_size: int | None = None,
) -> Rect:
    """Draw ``text`` as large as fits ``rect`` (capped at ``max_size``), vertically centred."""
    size = fonts.fit(text, rect.width, rect.height, bold=bold)
    if max_size is not None:
        size = min(size, max_size)
    rendered = fonts.render(text, size, color, bold=bold)
    target = rendered.get_rect(centery=rect.centery)
    if align == "left":
        target.left = rect.left
    elif align == "right":
        target.right = rect.right
    else:
        target.centerx = rect.centerx
    surface.blit(rendered, target)
    return target


def common_size(fonts: Fonts, items: Sequence[tuple[str, Rect]], *, bold: bool = False) -> int:
    """One size at which every text fits its box: sibling buttons then read as a set, instead
    of each label being as large as its own length allows."""
    return min(
        (fonts.fit(text, rect.width, rect.height, bold=bold) for text, rect in items), default=4
    )


def draw_panel(surface: pygame.Surface, rect: Rect, color: theme.Color, *, radius: int = 0) -> None:
    pygame.draw.rect(surface, color, rect, border_radius=radius)


@dataclass(frozen=True, slots=True)
class HeaderView:
    """Always visible: tenant name, connection state, clock."""

    title: str
    clock: str
    connection: Connection
    connection_text: str


def header_view(title: str, clock: str, connection: Connection, texts: Texts) -> HeaderView:
    label = {
        Connection.LIVE: texts.live,
        Connection.POLLING: texts.polling,
        Connection.RECONNECTING: texts.reconnecting,
    }[connection]
    return HeaderView(title, clock, connection, label)


def header_height(screen: Rect) -> int:
    return max(40, round(min(screen.height, screen.width) * 0.09))


def draw_header(surface: pygame.Surface, fonts: Fonts, rect: Rect, view: HeaderView) -> None:
    draw_panel(surface, rect, theme.HEADER)
    pad = round(rect.height * 0.2)
    body = inset(rect, pad)
    title_rect, status_rect, clock_rect = columns(body, [0.55, 0.3, 0.15], gap=pad)
    draw_text(surface, fonts, view.title, title_rect, theme.TEXT, bold=True, align="left")
    # Status: a coloured dot (colour-blind safe: the words say it too) and the state in words.
    dot_radius = round(status_rect.height * 0.28)
    dot_center = (status_rect.left + dot_radius, status_rect.centery)
    pygame.draw.circle(surface, theme.CONNECTION[view.connection.value], dot_center, dot_radius)
    label_rect = Rect(
        status_rect.left + 3 * dot_radius,
        status_rect.top,
        status_rect.width - 3 * dot_radius,
        status_rect.height,
    )
    draw_text(
        surface,
        fonts,
        view.connection_text,
        inset(label_rect, round(rect.height * 0.08)),
        theme.MUTED,
        align="left",
    )
    draw_text(surface, fonts, view.clock, clock_rect, theme.TEXT, bold=True, align="right")
