"""Layout arithmetic and touch targets, the synthesised chime, QR rendering, ESC/POS bytes."""

from __future__ import annotations

import itertools
from array import array
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.pg import pygame
from edge.sound import chime_pcm, silence_pcm
from edge.ui.layout import Rect, columns, grid, rows
from edge.ui.qr import QUIET_ZONE, qr_matrix, qr_surface
from tests.agents.factories import ticket
from totem_agent import layout
from totem_agent.app import key, tap
from totem_agent.printer import open_printer, print_job
from totem_agent.state import PrintTicket, PriorityTapped, ServiceTapped
from totem_agent.view import HomeView, PriorityView, ServiceButton, TotemView


def test_splits_tile_the_whole_rectangle() -> None:
    area = Rect(7, 11, 1001, 333)
    parts = rows(area, [1, 2, 3], gap=5)
    assert parts[0].top == area.top
    assert parts[-1].bottom == area.bottom
    assert all(a.bottom + 5 == b.top for a, b in itertools.pairwise(parts))
    cols = columns(area, [1, 1, 1])
    assert sum(c.width for c in cols) == area.width
    cells = grid(area, 5, 2, gap=4)
    assert len(cells) == 5
    assert all(area.contains(c) for c in cells)


def _home(count: int) -> TotemView:
    buttons = tuple(ServiceButton(chr(65 + i), f"Service {i}", "") for i in range(count))
    return TotemView(header=None, body=HomeView("t", "s", buttons))  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720), (1080, 1920), (800, 480)])
@pytest.mark.parametrize("count", [1, 2, 3, 5, 9])
def test_every_drawn_button_answers_its_own_touch_and_key(
    size: tuple[int, int], count: int
) -> None:
    view = _home(count)
    _, _, rects = layout.home_areas(size, count)
    assert len(rects) == count
    screen = Rect(0, 0, *size)
    for index, rect in enumerate(rects):
        assert screen.contains(rect)
        assert rect.height >= 0.08 * min(size), "a finger-sized target"
        for other in rects[index + 1 :]:
            assert not rect.colliderect(other)
        touched = tap(view, size, rect.center)
        assert isinstance(touched, ServiceTapped)
        assert touched.prefix == chr(65 + index)
        pressed = key(view, getattr(pygame, f"K_{index + 1}"))
        assert isinstance(pressed, ServiceTapped)
        assert pressed.prefix == chr(65 + index)
    assert tap(view, size, (1, size[1] - 1)) is None


def test_each_tap_carries_a_new_idempotency_key_and_priority_buttons_work() -> None:
    view = TotemView(header=None, body=PriorityView("P", "?", "", "N", "Pr", "B"))  # type: ignore[arg-type]
    _, _, normal, priority, _ = layout.priority_areas((1280, 720))
    first, second = tap(view, (1280, 720), priority.center), tap(view, (1280, 720), priority.center)
    assert isinstance(first, PriorityTapped)
    assert isinstance(second, PriorityTapped)
    assert first.priority
    assert first.key != second.key
    regular = tap(view, (1280, 720), normal.center)
    assert isinstance(regular, PriorityTapped)
    assert not regular.priority


def test_chime_is_loud_bounded_and_clickless() -> None:
    pcm = chime_pcm(22050)
    samples = array("h", pcm)
    assert 1.3 < len(samples) / 22050 < 2.0
    assert max(abs(s) for s in samples) > 15000
    assert abs(samples[0]) < 500, "5 ms attack: no click at the start"
    assert max(abs(s) for s in samples[-200:]) < 500, "decays to silence: no click at the end"
    stereo = array("h", chime_pcm(22050, channels=2))
    assert stereo[0::2] == stereo[1::2] == samples
    assert silence_pcm(22050, 0.5) == bytes(22050)


def test_qr_surface_modules_match_the_encoded_url() -> None:
    url = "http://127.0.0.1:8000/t/default/ticket/74f7888821f64623ae3a03563b0d2ab2"
    matrix = qr_matrix(url)
    surface = qr_surface(url, 400)
    side = surface.get_width()
    scale = side // len(matrix)
    assert side <= 400
    assert side % len(matrix) == 0
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            pixel = surface.get_at((x * scale + scale // 2, y * scale + scale // 2))
            assert (pixel.r < 128) == dark
    assert not any(matrix[0])  # the quiet zone is white
    assert QUIET_ZONE == 4


def test_printed_ticket_bytes(tmp_path: Path) -> None:
    out = tmp_path / "printer.bin"
    places = ("Sala de Coleta 4", "Guichê 2")
    issued = ticket("A023").model_copy(
        update={"created_at": datetime(2026, 11, 29, 18, 31, tzinfo=UTC)}
    )
    job = PrintTicket(
        issued, "Atendimento geral", "Clinica Sao Lucas", "pt-BR", places, "America/Sao_Paulo"
    )
    url = "http://10.0.0.5:8000/t/default/ticket/ticket-A023"
    print_job(f"file:{out}", job, url=url)
    data = out.read_bytes()
    assert data.startswith(b"\x1b@")  # ESC @: initialise
    # 18:31 UTC is 15:31 in Sao Paulo: the time the kiosk's own clock shows, never UTC.
    for text in (b"A023", b"Atendimento geral", b"Clinica Sao Lucas", b"29/11/2026 15:31"):
        assert text in data
    assert b"18:31" not in data
    # The place in this service's line (the server's figure) and where it will be served.
    assert b"Posi" in data
    assert b": 3\n" in data
    assert b"Sala de Coleta 4, Guich" in data
    assert b"\x1d(k" + (len(url) + 3).to_bytes(2, "little") + b"1P0" + url.encode() in data
    assert data.endswith(b"\x1dV\x00")  # GS V: cut


@pytest.mark.parametrize(
    ("timezone", "printed"),
    [
        ("America/Sao_Paulo", b"29/11/2026 21:50"),
        ("Asia/Tokyo", b"30/11/2026 09:50"),  # the next day there
        ("UTC", b"30/11/2026 00:50"),
    ],
)
def test_printed_time_is_the_tenants_local_time(
    tmp_path: Path, timezone: str, printed: bytes
) -> None:
    out = tmp_path / "printer.bin"
    issued = ticket("A023").model_copy(
        update={"created_at": datetime(2026, 11, 30, 0, 50, tzinfo=UTC)}
    )
    print_job(f"file:{out}", PrintTicket(issued, "A", "", "en", (), timezone), url="u")
    assert printed in out.read_bytes()


def test_printer_failures_are_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    job = PrintTicket(ticket("A023"), "A", "", "en")
    print_job(f"file:{tmp_path}/missing/dir/printer", job, url="u")
    assert "could not print ticket A023" in caplog.text
    with pytest.raises(ValueError, match="unknown printer"):
        open_printer("serial:/dev/ttyS0")
