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
_FONT_CACHE = 24  # a screen uses about a dozen sizes
_RENDER_CACHE_BYTES = 4 * 2**20
_REFERENCE_SIZE = 64


class Fonts:
    def __init__(self, path: Path | None = None) -> None:
        if not pygame.font.get_init():
            pygame.font.init()
        self._files = _font_files(path)
        self._fonts: OrderedDict[tuple[int, bool], pygame.font.Font] = OrderedDict()
        self._rendered: OrderedDict[tuple[str, int, bool, Color], pygame.Surface] = OrderedDict()
        self._rendered_bytes = 0
        self._fitted: dict[tuple[str, int, int, bool], int] = {}

    def font(self, size: int, *, bold: bool = False) -> pygame.font.Font:
        key = (max(4, size), bold)
        font = self._fonts.get(key)
        if font is None:
            font = pygame.font.Font(self._files[1] if bold else self._files[0], key[0])
            self._fonts[key] = font
            if len(self._fonts) > _FONT_CACHE:
                self._fonts.popitem(last=False)
        else:
            self._fonts.move_to_end(key)
        return font

    def render(self, text: str, size: int, color: Color, *, bold: bool = False) -> pygame.Surface:
        key = (text, size, bold, color)
        surface = self._rendered.get(key)
        if surface is not None:
            self._rendered.move_to_end(key)
            return surface
        surface = self.font(size, bold=bold).render(text, True, color)
        self._rendered[key] = surface
        self._rendered_bytes += _bytes(surface)
        # Big numbers are megabytes each: the cache is bounded by memory, not by count.
        while self._rendered_bytes > _RENDER_CACHE_BYTES and len(self._rendered) > 1:
            _, evicted = self._rendered.popitem(last=False)
            self._rendered_bytes -= _bytes(evicted)
        return surface

    def fit(self, text: str, width: int, height: int, *, bold: bool = False) -> int:
        """The largest size at which ``text`` fits in ``width`` x ``height`` pixels.

        Text extent grows almost linearly with the size, so one measurement at a reference
        size gives the answer to within a step or two; only those steps are measured (each
        new size loads a font, which is what costs time and memory)."""
        key = (text, width, height, bold)
        size = self._fitted.get(key)
        if size is None:
            size = self._fitted[key] = self._fit(text or " ", width, height, bold)
        return size

    def _fit(self, text: str, width: int, height: int, bold: bool) -> int:
        w, h = self.font(_REFERENCE_SIZE, bold=bold).size(text)
        size = max(4, int(_REFERENCE_SIZE * min(width / max(w, 1), height / max(h, 1))))

        def fits(candidate: int) -> bool:
            cw, ch = self.font(candidate, bold=bold).size(text)
            return cw <= width and ch <= height

        while size > 4 and not fits(size):
            size -= 1
        while fits(size + 1):
            size += 1
        return size


def _bytes(surface: pygame.Surface) -> int:
    return int(surface.get_width() * surface.get_height() * surface.get_bytesize())


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
