"""The browser call display read from 5 m (issue 14): at 1920x1080 the waiting counts and every
history text are at least 40 px; the "enable sound" and "pair this screen" buttons cover neither
the ticker nor the calls; every history row is whole inside its list and the screen, also after
the ticker appears and after the sound button goes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, FAST, TV, TV_720, OpenPage, wait_live
from tests.support.desk import Desk
from tests.support.system import RunningSystem, start_system

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MIN_PX = 40
TICKER = "Bem-vindos! Mantenha sua senha em mãos e acompanhe pelo celular."


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium as a TV starts: sound refused until a gesture, so the button shows."""
    if not CHROMIUM.exists():
        pytest.skip(f"Debian chromium is not installed at {CHROMIUM} (make system-deps)")
    args = [a for a in CHROMIUM_ARGS if not a.startswith("--autoplay-policy")]
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with start_system(tmp_path_factory.mktemp("tv")) as running:
        room, desk = Desk(running, 1), Desk(running, 2, "admin")
        room.open()
        desk.open()
        for index in range(9):
            ticket = room.issue("A" if index % 3 else "P")
            (room if index % 2 == 0 else desk).call(ticket["id"])
        for _ in range(4):
            room.issue("A")
        yield running


def set_ticker(system: RunningSystem, text: str | None) -> None:
    admin = system.auth(system.login("admin"))
    response = system.http.patch(
        f"/api/v1/tenants/{system.tenant}", json={"ticker": text or ""}, headers=admin
    )
    assert response.status_code == 200, response.text


LAYOUT = """() => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return { left: r.left, top: r.top, right: r.right, bottom: r.bottom }; };
  const shown = (el) => el && !el.hidden && getComputedStyle(el).display !== "none";
  const texts = [...document.querySelectorAll(
    ".history .label, #history li *, #waiting li, #waiting li *")]
    .filter((el) => el.textContent.trim())
    .map((el) => ({ text: el.textContent.trim(), px: parseFloat(getComputedStyle(el).fontSize) }));
  return {
    viewport: { left: 0, top: 0, right: innerWidth, bottom: innerHeight },
    list: box(document.querySelector("#history")),
    rows: [...document.querySelectorAll("#history li, #waiting li")].map((li) => (
      { text: li.textContent, box: box(li) })),
    texts,
    overlays: ["#sound", "#pair-screen"].filter((s) => shown(document.querySelector(s)))
      .map((s) => ({ name: s, box: box(document.querySelector(s)) })),
    covered: ["#ticker", "#history", "#waiting", "#current"]
      .filter((s) => shown(document.querySelector(s)))
      .map((s) => ({ name: s, box: box(document.querySelector(s)) })),
  };
}"""


def intersects(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and (b["top"] < a["bottom"])
    )


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    tolerance = 0.5
    return (
        inner["left"] >= outer["left"] - tolerance
        and inner["top"] >= outer["top"] - tolerance
        and inner["right"] <= outer["right"] + tolerance
        and inner["bottom"] <= outer["bottom"] + tolerance
    )


# True once the page has laid the history out again after its stage changed size.
ROWS_WHOLE = """() => {
  const list = document.querySelector("#history").getBoundingClientRect();
  return [...document.querySelectorAll("#history li")].every(
    (li) => li.getBoundingClientRect().bottom <= list.bottom + 0.5);
}"""


def check_layout(page: Page, *, sizes: bool) -> dict[str, Any]:
    page.wait_for_function(ROWS_WHOLE, timeout=5_000)
    layout: dict[str, Any] = page.evaluate(LAYOUT)
    history = [row for row in layout["rows"] if inside(row["box"], layout["list"])]
    assert len(history) >= 3, f"only {len(history)} whole history rows"
    for row in layout["rows"]:
        assert inside(row["box"], layout["viewport"]), f"row {row} leaves the screen"
    rows_in_list = page.evaluate("() => document.querySelectorAll('#history li').length")
    assert rows_in_list == len(history), "a history row is cut by its list"
    for overlay in layout["overlays"]:
        for other in layout["covered"]:
            assert not intersects(overlay["box"], other["box"]), f"{overlay} covers {other}"
    if sizes:
        small = [t for t in layout["texts"] if t["px"] < MIN_PX]
        assert small == [], f"text under {MIN_PX}px at 1920x1080: {small}"
    return layout


def test_tv_text_is_readable_from_five_metres_and_nothing_covers_or_cuts_it(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    set_ticker(system, None)
    base, tenant = system.base_url, system.tenant
    displays = {
        "1920x1080": open_page(f"{base}/t/{tenant}/display?{FAST}", TV),
        "1280x720": open_page(f"{base}/t/{tenant}/display?{FAST}", TV_720),
    }
    for display in displays.values():
        wait_live(display)
        display.page.wait_for_selector("#history li")
        display.page.wait_for_selector("#sound:not([hidden])")

    # The ticker arrives live, after the history was laid out: rows must still be whole.
    set_ticker(system, TICKER)
    for size, display in displays.items():
        display.page.wait_for_selector("#ticker:not([hidden])")
        layout = check_layout(display.page, sizes=size == "1920x1080")
        assert {o["name"] for o in layout["overlays"]} >= {"#sound", "#pair-screen"}
        display.page.screenshot(path=output_dir / f"tv-{size}-sound-button.png")

    # Sound allowed: the button goes, the bar shrinks; the rows are still whole.
    for size, display in displays.items():
        display.page.click("#sound")
        display.page.wait_for_selector("#sound", state="hidden")
        check_layout(display.page, sizes=size == "1920x1080")
        display.page.screenshot(path=output_dir / f"tv-{size}.png")
        assert display.errors == []
