"""The browser kiosk as a customer meets it (issue 14): the call of a ticket it issued never
locks it (the services stay one tap away, the call goes on a tap or by itself), and it shows
no staff things (keyboard hints, connection badges) beyond one small connection dot."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import FAST, TV, TV_720, OpenPage, Watched, english_in, wait_live
from tests.support.desk import Desk
from tests.support.system import RunningSystem, start_system

pytestmark = [pytest.mark.browser, pytest.mark.slow]

KEY_HINT = re.compile(r"\b(Tecla|Key)\s*\d|^\s*\d\s*·", re.MULTILINE)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with start_system(tmp_path_factory.mktemp("kiosk-screens")) as running:
        yield running


def kiosk(system: RunningSystem, open_page: OpenPage, device: str, query: str = "") -> Watched:
    token = system.device_token(role="totem", device_id=device)
    base, tenant = system.base_url, system.tenant
    watched = open_page(f"{base}/t/{tenant}/totem?token={token}&{FAST}{query}", TV_720)
    wait_live(watched)
    watched.page.wait_for_selector("[data-service='A']")
    return watched


def take_ticket(page: Page, service: str = "A", *, timeout_ms: float = 20_000) -> str:
    """Tap a service; the id of the ticket the slip then shows."""
    page.click(f"[data-service='{service}']", timeout=timeout_ms)
    slip = page.wait_for_selector("[data-screen='ticket'] .slip-number", timeout=20_000)
    assert slip is not None
    ticket_id = slip.get_attribute("data-ticket-id")
    assert ticket_id
    return ticket_id


def test_the_call_of_its_own_ticket_never_keeps_the_next_customer_waiting(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    watched = kiosk(system, open_page, "totem-no-lock")
    page = watched.page
    desk = Desk(system, 1)
    desk.open()

    first = take_ticket(page)
    desk.call(first)
    page.wait_for_selector("[data-screen='called'] .called-number")
    page.screenshot(path=output_dir / "kiosk-call-over-services.png")
    # The next customer taps a service while the call is on screen: a ticket within a second.
    second = take_ticket(page, timeout_ms=1_000)
    assert second != first

    # A tap anywhere else on the call gives the screen back at once.
    page.click("text=Concluir")
    desk.call(second)
    page.wait_for_selector("[data-screen='called'] .call-banner")
    page.click(".call-banner")
    page.wait_for_selector("[data-screen='home']", timeout=1_000)

    # Untouched, the call goes away by itself after a few seconds.
    third = take_ticket(page)
    page.click("text=Concluir")
    desk.call(third)
    page.wait_for_selector("[data-screen='called']")
    page.wait_for_selector("[data-screen='home']", timeout=20_000)
    assert english_in(watched) == []
    assert watched.errors == []


def test_customers_see_no_keyboard_hints_and_one_discreet_connection_dot(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    for lang in ("pt-BR", "en", "es"):
        watched = kiosk(system, open_page, f"totem-hints-{lang.lower()}", f"&lang={lang}")
        page = watched.page
        page.set_viewport_size(TV)
        home = page.inner_text("body")
        assert KEY_HINT.findall(home) == [], f"keyboard hints on the {lang} home screen"
        page.click("[data-service='P']")
        page.wait_for_selector("[data-screen='priority']")
        choices = page.inner_text("[data-screen='priority']")
        assert KEY_HINT.findall(choices) == [], f"keyboard hints on the {lang} priority choice"
        # The keys still work for staff: 1 is the regular ticket.
        page.keyboard.press("1")
        page.wait_for_selector("[data-screen='ticket'] .slip-number", timeout=20_000)

        dots = page.evaluate(
            """() => [...document.querySelectorAll(".conn, [data-state]")].map((el) => {
              const box = el.getBoundingClientRect();
              return { width: box.width, height: box.height, text: el.textContent,
                       fontSize: getComputedStyle(el).fontSize };
            })"""
        )
        assert len(dots) == 1, f"one connection indicator, not {dots}"
        dot = dots[0]
        assert 0 < dot["width"] <= 20, f"not discreet: {dot}"
        assert 0 < dot["height"] <= 20, f"not discreet: {dot}"
        assert dot["fontSize"] == "0px", "its words are for screen readers only"
        assert dot["text"], "screen readers still hear the connection state"
        page.screenshot(path=output_dir / f"kiosk-ticket-{lang}.png")
        page.click("text=" + {"pt-BR": "Concluir", "en": "Done", "es": "Listo"}[lang])
        page.wait_for_selector("[data-screen='home']")
        page.screenshot(path=output_dir / f"kiosk-home-{lang}.png")
