"""A line of text too long for its box scrolls through it (a marquee) instead of being cut.

Pure arithmetic in :class:`Marquee` (tests check that every part of the text passes through the
box), one blit function to draw it. The text starts still at the box's left edge so its beginning
can be read, then moves left and comes round again after a gap, without a jump.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.pg import pygame
from edge.ui.layout import Rect

PAUSE_S = 2.5  # the beginning stays still this long at every turn
SPEED_IN_HEIGHTS = 1.8  # box heights per second: ~150 px/s in a 1080p ticker, read at a glance
GAP_IN_HEIGHTS = 3.0  # space between the end of the text and its next turn


@dataclass(frozen=True, slots=True)
class Marquee:
    text_width: int
    box_width: int
    box_height: int

    @property
    def scrolls(self) -> bool:
        return self.text_width > self.box_width

    @property
    def gap(self) -> int:
        return round(self.box_height * GAP_IN_HEIGHTS)

    @property
    def speed(self) -> float:
        """Pixels per second."""
        return max(1.0, self.box_height * SPEED_IN_HEIGHTS)

    @property
    def period_s(self) -> float:
        """One whole turn: the pause, then the text and the gap passing by."""
        return PAUSE_S + (self.text_width + self.gap) / self.speed

    def offset(self, elapsed_s: float) -> int:
        """How far left of the box's edge the text starts, ``elapsed_s`` after it appeared;
        always 0 for a text that fits (it does not move at all)."""
        if not self.scrolls:
            return 0
        phase = elapsed_s % self.period_s
        if phase <= PAUSE_S:
            return 0
        return min(self.text_width + self.gap, round((phase - PAUSE_S) * self.speed))


def draw_marquee(
    surface: pygame.Surface, rendered: pygame.Surface, rect: Rect, marquee: Marquee, offset: int
) -> None:
    """Blit ``rendered`` (the whole text) scrolled by ``offset`` inside ``rect`` only: its
    head again after the gap once its tail has passed, so the loop has no seam."""
    previous = surface.get_clip()
    surface.set_clip(rect)
    y = rect.centery - rendered.get_height() // 2
    x = rect.left - offset
    surface.blit(rendered, (x, y))
    following = x + rendered.get_width() + marquee.gap
    if following < rect.right:
        surface.blit(rendered, (following, y))
    surface.set_clip(previous)
