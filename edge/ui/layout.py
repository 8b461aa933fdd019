"""Rectangle arithmetic for layouts that scale to any resolution.

Layouts are written in fractions of the screen, never in pixels, so one layout serves a
1920x1080 TV, a 1280x720 panel and a portrait kiosk. The same functions compute where things
are drawn and where touches land, so drawing and hit-testing cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

from edge.pg import pygame

Rect = pygame.Rect


def inset(rect: Rect, margin: int) -> Rect:
    return rect.inflate(-2 * margin, -2 * margin)


def rows(rect: Rect, weights: Sequence[float], gap: int = 0) -> list[Rect]:
    """Split top to bottom in proportion to ``weights``."""
    return _split(rect, weights, gap, vertical=True)


def columns(rect: Rect, weights: Sequence[float], gap: int = 0) -> list[Rect]:
    """Split left to right in proportion to ``weights``."""
    return _split(rect, weights, gap, vertical=False)


def grid(rect: Rect, count: int, cols: int, gap: int = 0) -> list[Rect]:
    """``count`` equal cells, ``cols`` per row, filled row by row."""
    if count <= 0:
        return []
    cols = max(1, min(cols, count))
    row_count = -(-count // cols)
    cells: list[Rect] = []
    for row_rect in rows(rect, [1] * row_count, gap):
        cells.extend(columns(row_rect, [1] * cols, gap))
    return cells[:count]


def _split(rect: Rect, weights: Sequence[float], gap: int, *, vertical: bool) -> list[Rect]:
    total = sum(weights)
    length = rect.height if vertical else rect.width
    usable = max(0, length - gap * (len(weights) - 1))
    out: list[Rect] = []
    position = rect.top if vertical else rect.left
    for i, weight in enumerate(weights):
        # The last part takes the rounding remainder so parts always tile the whole rect.
        end = (rect.bottom if vertical else rect.right) if i == len(weights) - 1 else None
        size = round(usable * weight / total) if end is None else end - position
        if vertical:
            out.append(Rect(rect.left, position, rect.width, size))
        else:
            out.append(Rect(position, rect.top, size, rect.height))
        position += size + gap
    return out
