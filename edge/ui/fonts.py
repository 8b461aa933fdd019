"""Fonts: one family for everything, loaded once per size, and text fitted to boxes.

Uses the configured TrueType file, else DejaVu/Liberation/Noto Sans when the system has them
(full Latin coverage for pt-BR/es accents), else the font bundled with pygame, so an agent
always starts. Rendered text is cached: a redraw is mostly blits.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

from edge.pg import pygame
from edge.ui.theme import Color

_CANDIDATES = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    ),
)
_RENDER_CACHE = 256


class Fonts:
    def __init__(self, path: Path | None = None) -> None:
        if not pygame.font.get_init():
            pygame.font.init()
        self._files = _font_files(path)
        self._fonts: dict[tuple[int, bool], pygame.font.Font] = {}
        self._rendered: OrderedDict[tuple[str, int, bool, Color], pygame.Surface] = OrderedDict()
        self._fitted: dict[tuple[str, int, int, bool], int] = {}

    def font(self, size: int, *, bold: bool = False) -> pygame.font.Font:
        key = (max(4, size), bold)
        font = self._fonts.get(key)
        if font is None:
            font = pygame.font.Font(self._files[1] if bold else self._files[0], key[0])
            self._fonts[key] = font
        return font

    def render(self, text: str, size: int, color: Color, *, bold: bool = False) -> pygame.Surface:
        key = (text, size, bold, color)
        surface = self._rendered.get(key)
        if surface is None:
            surface = self.font(size, bold=bold).render(text, True, color)
            self._rendered[key] = surface
            if len(self._rendered) > _RENDER_CACHE:
                self._rendered.popitem(last=False)
        else:
            self._rendered.move_to_end(key)
        return surface

    def fit(self, text: str, width: int, height: int, *, bold: bool = False) -> int:
        """The largest size at which ``text`` fits in ``width`` x ``height`` pixels."""
        key = (text, width, height, bold)
        size = self._fitted.get(key)
        if size is None:
            low, high = 4, max(4, height * 2)
            while low < high:
                mid = (low + high + 1) // 2
                w, h = self.font(mid, bold=bold).size(text or " ")
                if w <= width and h <= height:
                    low = mid
                else:
                    high = mid - 1
            size = self._fitted[key] = low
        return size


@lru_cache(maxsize=4)
def _font_files(path: Path | None) -> tuple[str | None, str | None]:
    if path is not None:
        if not path.is_file():
            raise FileNotFoundError(f"font file not found: {path}")
        return str(path), str(path)
    for regular, bold in _CANDIDATES:
        if Path(regular).is_file() and Path(bold).is_file():
            return regular, bold
    return None, None  # pygame's bundled default font
