"""Colours: light text on a deep blue, amber for what needs attention now.

Chosen for reading across a waiting room: white on navy is ~14:1 contrast, near-black on amber
~12:1 (WCAG AAA needs 7:1).
"""

from __future__ import annotations

Color = tuple[int, int, int]

BACKGROUND: Color = (10, 27, 54)
HEADER: Color = (6, 18, 38)
PANEL: Color = (22, 48, 90)
PANEL_ALT: Color = (17, 39, 74)
TEXT: Color = (255, 255, 255)
MUTED: Color = (168, 188, 219)
ACCENT: Color = (255, 196, 54)
ON_ACCENT: Color = (18, 18, 18)
BUTTON: Color = (30, 98, 200)
BUTTON_ALT: Color = (16, 133, 104)
ON_BUTTON: Color = (255, 255, 255)
ERROR: Color = (192, 45, 45)
WHITE: Color = (255, 255, 255)
BLACK: Color = (0, 0, 0)

CONNECTION: dict[str, Color] = {
    "live": (46, 204, 113),
    "polling": (255, 159, 67),
    "reconnecting": (231, 76, 60),
}
