"""The public screens with the issue 9 counter workflow, through the real running system: counters
are named ("Sala de Coleta 4") on the display, in its speech, on the kiosk and on the phone; a
recall updates its ticket's history row instead of adding one; every history row is whole at
1920x1080 and 1280x720; and a pt-BR page shows translated text on every error path, never the
server's English message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import FAST, PHONE, TV, TV_720, OpenPage, Watched, english_in, wait_live
from tests.support.desk import Desk, name_counter
from tests.support.system import RunningSystem, start_system

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOM = "Sala de Coleta 4"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with start_system(tmp_path_factory.mktemp("screens")) as running:
        name_counter(running, 1, ROOM)
        yield running


def history(display: Watched) -> list[dict[str, Any]]:
    """The current call and the history rows, with their boxes and the viewport."""
    rows: list[dict[str, Any]] = display.page.evaluate(
        """() => {
          const list = document.querySelector("#history").getBoundingClientRect();
          return [...document.querySelectorAll("#history li")].map((li) => {
            const box = li.getBoundingClientRect();
            const to = li.querySelector(".to");
            return { ticket: li.dataset.ticketId, number: li.querySelector(".number").textContent,
                     place: to.textContent, placeCut: to.scrollWidth > to.clientWidth,
                     top: box.top, left: box.left, bottom: box.bottom, right: box.right,
                     listBottom: list.bottom, width: innerWidth, height: innerHeight };
          });
        }"""
    )
    return rows


def current(display: Watched) -> tuple[str | None, str | None]:
    number = display.page.text_content("#current .big-number")
    place = display.page.text_content("#current .big-counter")
    return number, place


def test_display_names_counters_keeps_one_row_per_ticket_and_shows_every_row_whole(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    base, tenant = system.base_url, system.tenant
    room, desk = Desk(system, 1), Desk(system, 2, "admin")
    room.open()
    desk.open()
    tickets = [room.issue("A") for _ in range(8)]
    displays = {
        "1920x1080": open_page(f"{base}/t/{tenant}/display?{FAST}", TV),
        "1280x720": open_page(f"{base}/t/{tenant}/display?{FAST}", TV_720),
    }
    for display in displays.values():
        wait_live(display)

    for index, ticket in enumerate(tickets):
        (room if index % 2 == 0 else desk).call(ticket["id"])
    last = tickets[-1]["number"]
    for display in displays.values():
        display.page.wait_for_function(
            "(n) => document.querySelector('#current .big-number')?.textContent === n", arg=last
        )
    # A recall of an older ticket at the named room: its row moves to the top, never twice.
    recalled = tickets[6]
    response = room.act(recalled["id"], "recall")
    assert response.status_code == 200, response.text
    for size, display in displays.items():
        display.page.wait_for_function(
            "(n) => document.querySelector('#current .big-number')?.textContent === n",
            arg=recalled["number"],
        )
        assert current(display) == (recalled["number"], ROOM)
        rows = history(display)
        tickets_shown = [recalled["id"], *(row["ticket"] for row in rows)]
        assert len(tickets_shown) == len(set(tickets_shown)), f"a duplicate row at {size}"
        assert len(rows) >= 3, f"only {len(rows)} history rows at {size}"
        assert rows[0]["number"] == last
        for row in rows:
            inside = row["left"] >= 0 and row["top"] >= 0
            assert inside, f"row {row} leaves the screen"
            assert row["right"] <= row["width"], f"row {row} leaves the screen"
            assert row["bottom"] <= row["height"], f"row {row} leaves the screen"
            assert row["bottom"] <= row["listBottom"] + 0.5, f"row {row} is cut by its list"
            assert not row["placeCut"], f"the counter's name is cut in {row}"
        assert {row["place"] for row in rows} == {ROOM, "Guichê 2"}
        display.page.screenshot(path=output_dir / f"display-names-{size}.png")

    spoken = displays["1920x1080"].page.evaluate("window.queuecast.announced.map((a) => a.text)")
    assert spoken[-1] == "Senha A, 0 0 7. Sala de Coleta 4."
    assert "Senha A, 0 0 8. Guichê 2." in spoken
    for display in displays.values():
        assert display.errors == []


def test_phone_shows_its_line_position_and_goes_to_the_named_counter(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    base, tenant = system.base_url, system.tenant
    room = Desk(system, 1)
    room.open()
    room.finish()
    # Two A tickets ahead in the whole queue, but ours is the first P: first in its own line.
    for _ in range(2):
        room.issue("A")
    ticket = room.issue("P")
    follower = open_page(f"{base}/t/{tenant}/ticket/{ticket['id']}?{FAST}", PHONE)
    wait_live(follower)
    follower.page.wait_for_selector('#sheet[data-status="waiting"] #facts dd')
    figures = follower.page.locator("#facts dd").all_text_contents()
    assert figures[:2] == ["1º", "0"], "position and people ahead in the ticket's own line"
    follower.page.screenshot(path=output_dir / "phone-waiting-own-line.png")

    room.call(ticket["id"])
    follower.page.wait_for_selector('#sheet[data-status="called"] #called:not([hidden])')
    assert follower.page.text_content("#called-go") == f"Dirija-se a: {ROOM}"
    spoken = follower.page.evaluate("window.queuecast.announced.map((a) => a.text)")
    digits = " ".join(ticket["number"][1:])
    assert spoken == [f"Senha P, {digits}. {ROOM}."]
    follower.page.screenshot(path=output_dir / "phone-called-named-counter.png")
    assert english_in(follower) == []


def test_phone_for_an_unknown_ticket_says_so_in_portuguese(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    base, tenant = system.base_url, system.tenant
    missing = "0" * 8 + "-0000-4000-8000-" + "0" * 12
    follower = open_page(f"{base}/t/{tenant}/ticket/{missing}?{FAST}", PHONE)
    follower.page.wait_for_selector("#notice:not([hidden])", timeout=20_000)
    assert follower.page.text_content("#notice") == (
        "Senha não encontrada. Confira o link ou o QR code."
    )
    follower.page.screenshot(path=output_dir / "phone-unknown-ticket.png")
    assert english_in(follower) == []


def test_kiosk_refusal_reads_in_portuguese_and_the_call_names_the_counter(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    base, tenant = system.base_url, system.tenant
    admin = system.auth(system.login("admin"))
    token = system.device_token(role="totem", device_id="totem-screens")
    kiosk = open_page(f"{base}/t/{tenant}/totem?token={token}&{FAST}", TV_720)
    wait_live(kiosk)
    page = kiosk.page
    page.click("[data-service='P']")
    page.wait_for_selector("[data-screen='priority']")
    # While the customer decides, an admin stops priority tickets for P: the API refuses.
    services = f"/api/v1/tenants/{tenant}/services/P"
    patched = system.http.patch(services, json={"priority_allowed": False}, headers=admin)
    assert patched.status_code == 200, patched.text
    try:
        page.keyboard.press("2")  # priority
        page.wait_for_selector("[data-screen='error']", timeout=20_000)
        assert page.text_content("[data-screen='error'] .screen-help") == (
            "Este pedido não é permitido aqui."
        )
        page.screenshot(path=output_dir / "kiosk-refused-pt.png")
        assert english_in(kiosk) == []
    finally:
        system.http.patch(services, json={"priority_allowed": True}, headers=admin)

    page.keyboard.press("Escape")
    page.click("[data-service='A']")
    slip = page.wait_for_selector("[data-screen='ticket'] .slip-number", timeout=20_000)
    assert slip is not None
    ticket_id = slip.get_attribute("data-ticket-id")
    assert ticket_id is not None
    room = Desk(system, 1)
    room.open()
    room.call(ticket_id)
    page.wait_for_selector("[data-screen='called'] .called-counter")
    assert page.text_content(".called-counter") == f"→ {ROOM}"
    recent = page.evaluate("window.queuecast.announced.map((a) => a.text)")
    assert recent[-1].endswith(f". {ROOM}.")
    page.screenshot(path=output_dir / "kiosk-called-named-counter.png")
    assert english_in(kiosk) == []


def test_console_sign_in_refusal_reads_in_portuguese(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    console = open_page(f"{system.base_url}/t/{system.tenant}/operator?{FAST}")
    page = console.page
    page.fill("#username", "operator")
    page.fill("#password", "not-the-password")
    page.click("#login-submit")
    page.wait_for_selector("#login-error:not([hidden])")
    assert page.text_content("#login-error") == "Usuário ou senha incorretos."
    page.screenshot(path=output_dir / "console-login-refused-pt.png")
    assert english_in(console) == []


def test_a_call_nobody_answers_ends_and_the_phone_stops_saying_your_turn(
    tmp_path: Path, open_page: OpenPage, output_dir: Path
) -> None:
    # A sweeper every 0.5 s and a 2 s call timeout stand for the real 15 s and 15 min.
    with start_system(tmp_path, env={"QUEUECAST_SWEEP_INTERVAL_S": "0.5"}) as system:
        admin = system.auth(system.login("admin"))
        tenant = f"/api/v1/tenants/{system.tenant}"
        patched = system.http.patch(tenant, json={"call_timeout_s": 2}, headers=admin)
        assert patched.status_code == 200, patched.text
        desk = Desk(system, 1)
        desk.open()
        ticket = desk.issue("A")
        follower = open_page(f"{system.base_url}/t/{system.tenant}/ticket/{ticket['id']}?{FAST}")
        wait_live(follower)
        desk.call(ticket["id"])
        follower.page.wait_for_selector('#sheet[data-status="called"] #called:not([hidden])')
        follower.page.wait_for_selector('#sheet[data-status="no_show"]', timeout=20_000)
        assert follower.page.is_hidden("#called"), "no more 'É a sua vez!'"
        assert follower.page.text_content("#hint") == (
            "Esta senha foi chamada e encerrada por não comparecimento."
        )
        follower.page.screenshot(path=output_dir / "phone-call-timed-out.png")
        assert english_in(follower) == []
        assert desk.holding() is None, "the counter is free again"
