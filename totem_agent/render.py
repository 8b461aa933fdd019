"""Draw a :class:`TotemView`. Proportions, not pixels: landscape or portrait, any resolution.
Touch targets come from :mod:`totem_agent.layout`, shared with the touch handler."""

from __future__ import annotations

from dataclasses import dataclass

from edge.pg import pygame
from edge.ui import theme
from edge.ui.fonts import Fonts
from edge.ui.layout import Rect, columns, inset, rows
from edge.ui.qr import qr_surface
from edge.ui.widgets import common_size, draw_header, draw_panel, draw_text, header_height
from totem_agent import layout
from totem_agent.view import (
    CalledView,
    HomeView,
    MessageView,
    PriorityView,
    TicketView,
    TotemView,
)


def render(surface: pygame.Surface, fonts: Fonts, view: TotemView) -> None:
    size = surface.get_size()
    body = view.body
    surface.fill(theme.ACCENT if isinstance(body, CalledView) else theme.BACKGROUND)
    draw_header(surface, fonts, Rect(0, 0, size[0], header_height(surface.get_rect())), view.header)
    if isinstance(body, HomeView):
        _home(surface, fonts, body)
    elif isinstance(body, PriorityView):
        _priority(surface, fonts, body)
    elif isinstance(body, MessageView):
        _message(surface, fonts, body)
    elif isinstance(body, TicketView):
        _ticket(surface, fonts, body)
    else:
        _called(surface, fonts, body)


def _home(surface: pygame.Surface, fonts: Fonts, view: HomeView) -> None:
    title, subtitle, cells = layout.home_areas(surface.get_size(), len(view.buttons))
    draw_text(surface, fonts, view.title, title, theme.TEXT, bold=True)
    draw_text(surface, fonts, view.subtitle, subtitle, theme.MUTED)
    parts = [_button_parts(cell) for cell in cells]
    pairs = list(zip(view.buttons, parts, strict=True))
    name_size = common_size(fonts, [(b.name, p.name) for b, p in pairs], bold=True)
    detail_size = min(
        common_size(fonts, [(b.detail, p.detail) for b, p in pairs]), round(name_size * 0.7)
    )
    for index, (button, part) in enumerate(pairs):
        draw_panel(surface, part.button, theme.BUTTON, radius=part.radius)
        draw_panel(surface, part.badge, theme.WHITE, radius=round(part.badge.height * 0.18))
        badge_text = inset(part.badge, round(part.badge.height * 0.15))
        draw_text(surface, fonts, button.prefix, badge_text, theme.BUTTON, bold=True)
        draw_text(
            surface,
            fonts,
            button.name,
            part.name,
            theme.ON_BUTTON,
            bold=True,
            align="left",
            max_size=name_size,
        )
        draw_text(
            surface,
            fonts,
            button.detail,
            part.detail,
            theme.ON_BUTTON,
            align="left",
            max_size=detail_size,
        )
        # The keyboard shortcut, discreetly (kiosks with keypads, and tests).
        draw_text(surface, fonts, str(index + 1), part.key, theme.MUTED, align="right")


@dataclass(frozen=True, slots=True)
class _ButtonParts:
    button: Rect
    radius: int
    badge: Rect
    name: Rect
    detail: Rect
    key: Rect


def _button_parts(rect: Rect) -> _ButtonParts:
    radius = round(min(rect.size) * 0.08)
    inner = inset(rect, round(min(rect.size) * 0.1))
    badge_side = min(round(inner.height * 0.8), round(inner.width * 0.25))
    badge = Rect(inner.left, 0, badge_side, badge_side)
    badge.centery = inner.centery
    space = max(8, inner.height // 8)
    text = Rect(badge.right + space, badge.top, inner.right - badge.right - space, badge.height)
    name, detail = rows(text, [0.58, 0.42])
    key = Rect(rect.right - radius * 2, rect.top + radius // 2, radius * 2 - radius // 2, radius)
    return _ButtonParts(
        rect, radius, badge, name, detail.inflate(0, -round(detail.height * 0.2)), key
    )


def _priority(surface: pygame.Surface, fonts: Fonts, view: PriorityView) -> None:
    question, hint, normal, priority, back = layout.priority_areas(surface.get_size())
    name_rect, question_rect = rows(question, [0.55, 0.45])
    draw_text(surface, fonts, view.service_name, name_rect, theme.TEXT, bold=True)
    draw_text(surface, fonts, view.question, question_rect, theme.TEXT)
    draw_text(surface, fonts, view.hint, hint, theme.MUTED)
    buttons = (
        (normal, view.normal, theme.BUTTON, "1"),
        (priority, view.priority, theme.BUTTON_ALT, "2"),
    )
    split = [rows(inset(rect, round(min(rect.size) * 0.12)), [0.75, 0.25]) for rect, *_ in buttons]
    size = common_size(
        fonts,
        [(label, parts[0]) for (_, label, _, _), parts in zip(buttons, split, strict=True)],
        bold=True,
    )
    for (rect, label, color, key), (label_rect, key_rect) in zip(buttons, split, strict=True):
        draw_panel(surface, rect, color, radius=round(min(rect.size) * 0.08))
        draw_text(surface, fonts, label, label_rect, theme.ON_BUTTON, bold=True, max_size=size)
        draw_text(surface, fonts, key, key_rect, theme.MUTED)
    pygame.draw.rect(
        surface, theme.MUTED, back, width=max(2, back.height // 20), border_radius=back.height // 4
    )
    draw_text(surface, fonts, view.back, inset(back, back.height // 5), theme.TEXT)


def _message(surface: pygame.Surface, fonts: Fonts, view: MessageView) -> None:
    area = layout.body(surface.get_size())
    panel = inset(area, round(area.height * 0.12))
    draw_panel(
        surface,
        panel,
        theme.ERROR if view.error else theme.PANEL,
        radius=round(panel.height * 0.06),
    )
    inner = inset(panel, round(panel.height * 0.12))
    if view.message:
        title, message = rows(inner, [0.45, 0.55], gap=round(inner.height * 0.05))
        draw_text(surface, fonts, view.title, title, theme.TEXT, bold=True)
        draw_text(
            surface, fonts, view.message, inset(message, round(message.height * 0.2)), theme.TEXT
        )
    else:
        draw_text(
            surface,
            fonts,
            view.title,
            inset(inner, round(inner.height * 0.25)),
            theme.TEXT,
            bold=True,
        )


def _ticket(surface: pygame.Surface, fonts: Fonts, view: TicketView) -> None:
    size = surface.get_size()
    area = layout.body(size)
    main, footer = rows(area, [0.88, 0.12], gap=layout.gap(size))
    portrait = size[1] > size[0]
    info, code = (rows if portrait else columns)(main, [0.6, 0.4], gap=layout.gap(size))
    draw_panel(surface, info, theme.PANEL, radius=round(min(info.size) * 0.05))
    inner = inset(info, round(min(info.size) * 0.07))
    weights = [0.13, 0.47, 0.14] + [0.13] * max(1, len(view.lines))
    parts = rows(inner, weights)
    draw_text(surface, fonts, view.heading.upper(), parts[0], theme.MUTED, bold=True)
    draw_text(surface, fonts, view.number, parts[1], theme.ACCENT, bold=True)
    draw_text(surface, fonts, view.service_name, parts[2], theme.TEXT, bold=True)
    for line, rect in zip(view.lines, parts[3:], strict=False):
        draw_text(surface, fonts, line, inset(rect, round(rect.height * 0.08)), theme.TEXT)
    qr_area, caption = rows(code, [0.85, 0.15])
    qr = qr_surface(view.qr_url, min(qr_area.size))
    surface.blit(qr, qr.get_rect(center=qr_area.center))
    draw_text(surface, fonts, view.qr_caption, caption, theme.TEXT)
    draw_text(surface, fonts, view.footer, inset(footer, round(footer.height * 0.15)), theme.MUTED)


def _called(surface: pygame.Surface, fonts: Fonts, view: CalledView) -> None:
    size = surface.get_size()
    number, go_to, counter, footer = rows(
        layout.body(size), [0.42, 0.12, 0.32, 0.14], gap=layout.gap(size)
    )
    draw_text(surface, fonts, view.number, number, theme.ON_ACCENT, bold=True)
    counter_text = f"→ {view.counter.upper()}"
    counter_size = fonts.fit(counter_text, counter.width, counter.height, bold=True)
    draw_text(surface, fonts, view.please_go_to, go_to, theme.ON_ACCENT, max_size=counter_size // 2)
    draw_text(surface, fonts, counter_text, counter, theme.ON_ACCENT, bold=True)
    draw_text(
        surface, fonts, view.footer, inset(footer, round(footer.height * 0.2)), theme.ON_ACCENT
    )
