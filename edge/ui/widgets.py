"""Drawing pieces both agents use: fitted text, panels, the header with status and clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from edge import branding
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
    logo: pygame.Surface | None = None  # the tenant's, beside its name
    accent: theme.Color | None = None  # the tenant's colour, a line under the header


def header_view(
    title: str,
    clock: str,
    connection: Connection,
    texts: Texts,
    *,
    logo_url: str | None = None,
    accent: str | None = None,
) -> HeaderView:
    label = {
        Connection.LIVE: texts.live,
        Connection.POLLING: texts.polling,
        Connection.RECONNECTING: texts.reconnecting,
    }[connection]
    logo = branding.logo(logo_url)
    return HeaderView(title, clock, connection, label, logo, branding.accent(accent))


def header_height(screen: Rect) -> int:
    return max(40, round(min(screen.height, screen.width) * 0.09))


def draw_header(surface: pygame.Surface, fonts: Fonts, rect: Rect, view: HeaderView) -> None:
    draw_panel(surface, rect, theme.HEADER)
    pad = round(rect.height * 0.2)
    body = inset(rect, pad)
    title_rect, status_rect, clock_rect = columns(body, [0.55, 0.3, 0.15], gap=pad)
    if view.accent is not None:
        line = max(3, round(rect.height * 0.06))
        pygame.draw.rect(
            surface, view.accent, Rect(rect.left, rect.bottom - line, rect.width, line)
        )
    if view.logo is not None:
        title_rect = _draw_logo(surface, view.logo, title_rect, gap=pad)
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


def _draw_logo(surface: pygame.Surface, logo: pygame.Surface, rect: Rect, *, gap: int) -> Rect:
    """The logo at the left of ``rect``, scaled to its height (at most a third of its width) on
    a white card, so a dark logo stays visible on the dark header; returns what is left."""
    width, height = logo.get_size()
    scale = min(rect.height / max(1, height), rect.width / 3 / max(1, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    card = Rect(rect.left, rect.centery - size[1] // 2, size[0], size[1])
    pygame.draw.rect(surface, theme.WHITE, card.inflate(gap // 2, gap // 2), border_radius=gap // 3)
    source = pygame.Surface((width, height), pygame.SRCALPHA, 32)  # any depth scales smoothly
    source.blit(logo, (0, 0))
    surface.blit(pygame.transform.smoothscale(source, size), card.topleft)
    used = size[0] + gap
    return Rect(rect.left + used, rect.top, rect.width - used, rect.height)
