"""Both pygame agents show the tenant's branding from the queue snapshot: its logo (uploaded
through the admin API, fetched once by the agent) beside the name in the header, and its accent
colour as a line under the header. Frames are saved under test-output/."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from edge import branding
from edge.pg import pygame
from edge.runtime import AgentRuntime
from tests.agents.running import display, totem, view_of
from tests.agents.system_fixtures import device, system
from tests.support.system import RunningSystem

__all__ = ["system"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

LOGO_RGB = (200, 30, 120)
ACCENT = "#17803d"


@pytest.fixture(scope="module")
def branded(system: RunningSystem) -> Iterator[RunningSystem]:
    admin = system.auth(system.login("admin"))
    buffer = io.BytesIO()
    Image.new("RGB", (200, 100), LOGO_RGB).save(buffer, "PNG")
    base = f"/api/v1/tenants/{system.tenant}"
    headers = {**admin, "Content-Type": "image/png"}
    assert system.http.put(f"{base}/logo", content=buffer.getvalue(), headers=headers).is_success
    assert system.http.patch(
        f"{base}/branding", json={"accent_color": ACCENT}, headers=admin
    ).is_success
    yield system
    system.http.delete(f"{base}/logo", headers=admin)
    system.http.patch(f"{base}/branding", json={"accent_color": None}, headers=admin)


def _header_shows_branding(runtime: AgentRuntime[Any, Any], path: Path) -> None:
    runtime.run(until=lambda: view_of(runtime).header.logo is not None, timeout_s=20)
    # A frame drawn after the logo arrived (a redraw happens at least once a minute; force one).
    assert runtime.surface is not None
    assert runtime.fonts is not None
    runtime.program.render(runtime.surface, runtime.fonts, view_of(runtime))
    pygame.image.save(runtime.surface, str(path))
    header = view_of(runtime).header
    assert header.accent == branding.accent(ACCENT)
    surface = runtime.surface
    height = max(40, round(min(surface.get_width(), surface.get_height()) * 0.09))
    logo_pixel = surface.get_at((round(height * 0.2) + 4, height // 2))[:3]
    assert all(abs(a - b) <= 3 for a, b in zip(logo_pixel, LOGO_RGB, strict=True)), logo_pixel
    line = tuple(surface.get_at((surface.get_width() // 2, height - 1)))[:3]
    assert line == branding.accent(ACCENT)


def test_display_shows_the_logo_and_accent(branded: RunningSystem, output_dir: Path) -> None:
    with display(branded, device(branded, "display")) as runtime:
        _header_shows_branding(runtime, output_dir / "display-branded.png")


def test_totem_shows_the_logo_and_accent(branded: RunningSystem, output_dir: Path) -> None:
    with totem(branded, device(branded, "totem")) as runtime:
        _header_shows_branding(runtime, output_dir / "totem-branded.png")


def test_accent_parsing_and_an_undecodable_logo() -> None:
    assert branding.accent("#0b5cad") == (11, 92, 173)
    assert branding.accent("red") is None
    assert branding.accent(None) is None
    cache = branding.LogoCache(lambda url: b"not an image")
    assert cache.surface("/api/v1/tenants/t/logo?v=1") is None  # logged, not raised
    assert cache.surface(None) is None
