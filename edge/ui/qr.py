"""QR codes (qrcode package) drawn straight into a pygame surface, crisp at any size."""

from __future__ import annotations

from functools import lru_cache

from edge.pg import pygame
from edge.ui import theme

QUIET_ZONE = 4  # modules of white border the QR specification requires around the code


def qr_matrix(data: str) -> list[list[bool]]:
    """The modules of the QR code for ``data``, quiet zone included (``True`` = dark)."""
    # Imported on first use: ~4 MB a display (which never draws a QR code) need not carry.
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(data)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


@lru_cache(maxsize=4)  # the ticket screen redraws with the same code
def qr_surface(data: str, max_side: int) -> pygame.Surface:
    """A square surface no larger than ``max_side``, each module a whole number of pixels
    (scaling by a fraction would blur module edges and hurt phone cameras)."""
    matrix = qr_matrix(data)
    modules = len(matrix)
    scale = max(1, max_side // modules)
    surface = pygame.Surface((modules * scale, modules * scale))
    surface.fill(theme.WHITE)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                surface.fill(theme.BLACK, (x * scale, y * scale, scale, scale))
    return surface
