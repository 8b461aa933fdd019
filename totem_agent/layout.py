"""Where the totem's touch targets are, for a screen size. The renderer draws the buttons in
these rectangles and the touch handler tests taps against the same ones."""

from __future__ import annotations

from edge.ui.layout import Rect, columns, grid, inset, rows
from edge.ui.widgets import header_height


def body(size: tuple[int, int]) -> Rect:
    screen = Rect(0, 0, *size)
    top = header_height(screen)
    return inset(Rect(0, top, size[0], size[1] - top), gap(size))


def gap(size: tuple[int, int]) -> int:
    return round(min(size) * 0.03)


def home_areas(size: tuple[int, int], count: int) -> tuple[Rect, Rect, list[Rect]]:
    """(title, subtitle, one button per service)."""
    area, space = body(size), gap(size)
    # Text rows sized by the short side, so a portrait kiosk gets more buttons, not more title.
    title_h, subtitle_h = round(min(size) * 0.11), round(min(size) * 0.065)
    title = Rect(area.left, area.top, area.width, title_h)
    subtitle = Rect(area.left, title.bottom, area.width, subtitle_h)
    buttons = Rect(
        area.left, subtitle.bottom + space, area.width, area.bottom - subtitle.bottom - space
    )
    portrait = size[1] > size[0]
    cols = (1 if count <= 4 else 2) if portrait else (1 if count == 1 else 2 if count <= 4 else 3)
    # Few services: big buttons, but not stretched into walls (at most 0.45 as tall as wide),
    # kept together in the middle of the free space.
    row_count = -(-max(count, 1) // cols)
    cell_w = (buttons.width - (cols - 1) * space) / cols
    height = min(buttons.height, round(row_count * cell_w * 0.45 + (row_count - 1) * space))
    packed = Rect(buttons.left, 0, buttons.width, height)
    packed.centery = buttons.centery
    return title, subtitle, grid(packed, count, cols, gap=space)


def priority_areas(size: tuple[int, int]) -> tuple[Rect, Rect, Rect, Rect, Rect]:
    """(question, hint, normal button, priority button, back button)."""
    question, hint, choices, back_row = rows(body(size), [0.16, 0.1, 0.56, 0.18], gap=gap(size))
    portrait = size[1] > size[0]
    normal, priority = (rows if portrait else columns)(choices, [1, 1], gap=gap(size))
    back = Rect(
        0,
        0,
        round(back_row.width * (0.5 if portrait else 0.3)),
        min(back_row.height, round(min(size) * 0.12)),
    )
    back.center = back_row.center
    return question, hint, normal, priority, back
