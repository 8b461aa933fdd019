"""The pages through the real running system (API + broker subprocesses, Debian chromium):
an operator's call reaches the display and the phone follower without a reload; the kiosk issues
a ticket (once, even when its answer is lost) and shows it called; the display survives a broker
restart. Every page loads nothing from outside our own origin (and the separate test broker)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Route

from config.settings import DEV_SECRET
from protocol import DevicePresence, PresenceStatus, Role, decode, encode, issue_token
from protocol.auth import peek_token
from protocol.topics import device_status_topic
from tests.browser.conftest import (
    DESK,
    FAST,
    PHONE,
    TV,
    TV_720,
    Watched,
    english_in,
    origin,
    wait_live,
)
from tests.support.desk import Desk
from tests.support.mqtt import Recorder
from tests.support.system import RunningSystem, start_system

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OpenPage = Callable[..., Watched]


@pytest.fixture
def system(tmp_path: Path) -> Iterator[RunningSystem]:
    with start_system(tmp_path) as running:
        yield running


def issue(system: RunningSystem, token: str, service: str = "A") -> dict[str, Any]:
    response = system.http.post(
        f"/api/v1/tenants/{system.tenant}/tickets",
        json={"service": service, "priority": False},
        headers=system.auth(token),
    )
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


def call(system: RunningSystem, ticket_id: str, counter: int) -> None:
    """The dev operator calls this ticket at ``counter`` (opening it first: only an open counter
    calls; whatever it still held ends as completed)."""
    desk = Desk(system, counter)
    desk.open()
    desk.call(ticket_id)


def mark_document(watched: Watched) -> None:
    """Tag the loaded document; ``same_document`` proves later that it was never reloaded."""
    watched.page.evaluate("window.__loadedOnce = true")


def same_document(watched: Watched) -> bool:
    return bool(watched.page.evaluate("window.__loadedOnce === true"))


def announced(watched: Watched) -> list[str]:
    numbers: list[str] = watched.page.evaluate("window.queuecast.announced.map((a) => a.number)")
    return numbers


def wait_for_call(display: Watched, number: str, counter: int, timeout_ms: float = 15_000) -> None:
    display.page.wait_for_function(
        """([number, counter]) =>
            document.querySelector("#current .big-number")?.textContent === number &&
            document.querySelector("#current .big-counter")?.dataset.counter === String(counter)""",
        arg=[number, counter],
        timeout=timeout_ms,
    )


def assert_own_origin_only(pages: list[Watched], allowed: set[str]) -> None:
    for watched in pages:
        assert watched.requests, "the page made no requests at all?"
        assert watched.foreign(allowed) == [], f"requests outside {allowed}"
        assert watched.errors == [], f"uncaught errors: {watched.errors}"


def sign_in(operator: Watched, counter: int, username: str = "operator") -> None:
    page = operator.page
    page.fill("#username", username)
    page.fill("#password", username)
    page.click("#login-submit")
    page.wait_for_selector("#console-view:not([hidden])")
    wait_live(operator)
    page.wait_for_selector(f'#counter option[value="{counter}"]', state="attached")
    page.select_option("#counter", str(counter))
    # Only an open counter, held by its operator, calls.
    page.click("#counter-open")
    page.wait_for_selector('#counter-state[data-status="open"][data-mine="true"]')


def test_operator_call_reaches_display_and_follower_without_reload(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    base, tenant = system.base_url, system.tenant
    ticket = issue(system, system.login("operator"))
    display = open_page(f"{base}/t/{tenant}/display?{FAST}", TV)
    follower = open_page(f"{base}/t/{tenant}/ticket/{ticket['id']}?{FAST}", PHONE)
    operator = open_page(f"{base}/t/{tenant}/operator?{FAST}", DESK)
    for watched in (display, follower):
        wait_live(watched)
        mark_document(watched)
    follower.page.wait_for_selector('#sheet[data-status="waiting"]')
    assert follower.page.text_content("#number") == ticket["number"]
    follower.page.screenshot(path=output_dir / "follower-waiting.png")

    sign_in(operator, counter=2)
    # Call this very ticket from the live queue in the console.
    operator.page.click(f'#queue li[data-ticket-id="{ticket["id"]}"] button')
    operator.page.wait_for_selector(f'#current .current-number[data-ticket-id="{ticket["id"]}"]')

    wait_for_call(display, ticket["number"], 2)
    follower.page.wait_for_selector('#sheet[data-status="called"] #called:not([hidden])')
    assert "2" in (follower.page.text_content("#called-go") or "")
    assert same_document(display)
    assert same_document(follower)
    assert announced(display) == [ticket["number"]]
    assert announced(follower) == [ticket["number"]]
    # The display really played it: the Web Audio chime ran (speech depends on installed voices).
    display.page.wait_for_function("() => window.queuecast.sound[0]?.chime === true")
    # The queue left the console's list once the call was published.
    operator.page.wait_for_selector(f'#queue li[data-ticket-id="{ticket["id"]}"]', state="detached")

    # Operators see their tenant's figures for today in the console.
    operator.page.wait_for_selector("#stats-title", state="visible")

    display.page.screenshot(path=output_dir / "display-1920x1080.png")
    follower.page.screenshot(path=output_dir / "follower-called.png")
    operator.page.screenshot(path=output_dir / "operator-console.png")

    pages = [display, follower, operator]
    assert_own_origin_only(pages, {base})
    for watched in pages:
        assert watched.websockets == [system.ws_url], "MQTT over WebSocket to our own origin"


def test_console_drives_a_ticket_through_its_life_from_the_keyboard(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    base, tenant = system.base_url, system.tenant
    staff = system.login("admin")
    first, second = issue(system, staff), issue(system, staff)
    device_token = system.device_token(role="display", device_id="lobby-tv")
    device = Recorder("127.0.0.1", system.mqtt_port, username="lobby-tv", password=device_token)
    device.connect()
    online = DevicePresence(
        tenant=tenant, device_id="lobby-tv", role="display", status=PresenceStatus.ONLINE
    )
    device.publish(device_status_topic(tenant, "lobby-tv"), encode(online), retain=True)
    device.close()

    display = open_page(f"{base}/t/{tenant}/display?lang=en&{FAST}", TV_720)
    wait_live(display)
    console = open_page(f"{base}/t/{tenant}/operator?{FAST}", DESK)
    sign_in(console, counter=1, username="admin")
    page = console.page
    page.wait_for_selector('#devices [data-device="lobby-tv"] [data-status="online"]')
    page.evaluate("() => document.activeElement.blur()")  # shortcuts never fire inside fields

    page.keyboard.press("n")  # call next
    page.wait_for_selector(f'#current [data-ticket-id="{first["id"]}"]')
    wait_for_call(display, first["number"], 1)
    page.keyboard.press("r")  # recall: a new call id, announced again
    display.page.wait_for_function("() => window.queuecast.announced.length === 2")
    texts = display.page.evaluate("window.queuecast.announced.map((a) => a.text)")
    # Spoken by the counter's name (the dev seed names it "Guichê 1"), whatever the language.
    assert texts == ["Ticket A, 0 0 1. Guichê 1."] * 2
    page.keyboard.press("s")  # start
    page.wait_for_selector('#current [data-status="in_service"]')
    page.keyboard.press("c")  # complete
    page.wait_for_selector("#current .current-empty")

    page.click("#call-next")
    page.wait_for_selector(f'#current [data-ticket-id="{second["id"]}"]')
    page.select_option("#transfer-service", "P")
    page.select_option("#transfer-placement", "front")
    page.click("#transfer")
    page.wait_for_selector("#current .current-empty")
    moved = system.http.get(f"/api/v1/tenants/{tenant}/tickets/" + second["id"]).json()
    assert (moved["service"], moved["status"], moved["position"]) == ("P", "waiting", 1)
    page.wait_for_selector(f'#queue li[data-ticket-id="{second["id"]}"]')

    # Tenant settings reach the screens live too: the display's ticker.
    patched = system.http.patch(
        f"/api/v1/tenants/{tenant}", json={"ticker": "Bem-vindos!"}, headers=system.auth(staff)
    )
    assert patched.status_code == 200, patched.text
    display.page.wait_for_selector("#ticker:not([hidden]) #ticker-text:text('Bem-vindos!')")

    page.wait_for_function(
        """() => document.querySelector('#stats [data-stat="issued"] dd')?.textContent === "2" &&
                 document.querySelector('#stats [data-stat="completed"] dd')?.textContent === "1"
        """
    )
    page.screenshot(path=output_dir / "operator-console-admin.png")
    display.page.screenshot(path=output_dir / "display-en-1280x720.png")
    assert_own_origin_only([console, display], {base})


def test_kiosk_issues_one_ticket_even_when_the_answer_is_lost_and_shows_its_call(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    base, tenant = system.base_url, system.tenant
    device_token = system.device_token(role="totem", device_id="totem-web")
    presence = Recorder(
        "127.0.0.1", system.mqtt_port, username="operator", password=system.login("operator")
    ).connect()
    try:
        presence.subscribe(device_status_topic(tenant, "totem-web"))
        kiosk = open_page(f"{base}/t/{tenant}/totem?token={device_token}&{FAST}", TV_720)
        assert "token=" not in kiosk.page.url, "the token must leave the address bar"
        wait_live(kiosk)
        online = decode(presence.wait_for(lambda m: b'"online"' in m.payload).payload)
        assert isinstance(online, DevicePresence)
        assert (online.device_id, online.role) == ("totem-web", "totem")
        assert online.status is PresenceStatus.ONLINE
    finally:
        presence.close()
    kiosk.page.wait_for_selector('[data-service="A"]')
    kiosk.page.screenshot(path=output_dir / "kiosk-home.png")

    # The first answer is lost on the way back (the server did create the ticket).
    keys: list[str | None] = []

    def lose_first_answer(route: Route) -> None:
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    kiosk.page.route(f"**/api/v1/tenants/{tenant}/tickets", lose_first_answer)
    kiosk.page.keyboard.press("1")  # service A, from the keyboard
    number_el = kiosk.page.wait_for_selector("[data-screen='ticket'] .slip-number", timeout=20_000)
    assert number_el is not None
    number, ticket_id = number_el.text_content(), number_el.get_attribute("data-ticket-id")
    assert len(keys) == 2
    assert keys[0] == keys[1]
    assert keys[0]
    waiting = system.http.get(f"/api/v1/tenants/{tenant}/queue").json()["waiting"]
    assert [w["id"] for w in waiting] == [ticket_id], "exactly one ticket, never a second one"
    kiosk.page.wait_for_function("() => document.querySelector('.qr img')?.naturalWidth > 0")
    kiosk.page.screenshot(path=output_dir / "kiosk-ticket.png")

    assert ticket_id is not None
    call(system, ticket_id, counter=3)
    kiosk.page.wait_for_selector("[data-screen='called'] .called-number")
    assert kiosk.page.text_content(".called-number") == number
    assert "3" in (kiosk.page.text_content(".called-counter") or "")
    assert announced(kiosk) == [number]
    kiosk.page.screenshot(path=output_dir / "kiosk-called.png")
    assert_own_origin_only([kiosk], {base})


def test_kiosk_asks_for_its_token_once_and_forgets_a_refused_one(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    base, tenant = system.base_url, system.tenant
    kiosk = open_page(f"{base}/t/{tenant}/totem?{FAST}", TV_720)
    page = kiosk.page
    page.wait_for_selector("[data-screen='setup'] #device-token")
    page.screenshot(path=output_dir / "kiosk-setup.png")
    # Well-formed but signed with another secret: the broker refuses it at CONNECT.
    forged, _ = issue_token(
        secret="not-the-servers-secret-0123456789abcdef",
        subject="totem-forged",
        role=Role.TOTEM,
        tenant=tenant,
        ttl=timedelta(days=1),
    )
    page.fill("#device-token", forged)
    page.click(".setup-form button")
    page.wait_for_selector("[data-screen='setup'] .error-text", timeout=20_000)
    assert page.evaluate(f"() => localStorage.getItem('queuecast:{tenant}:totem:token')") is None

    page.fill("#device-token", system.device_token(role="totem", device_id="totem-form"))
    page.click(".setup-form button")
    page.wait_for_selector("[data-service='A']")
    wait_live(kiosk)
    page.reload()  # given once: a restart of the kiosk browser needs nothing
    page.wait_for_selector("[data-service='A']")
    wait_live(kiosk)
    assert_own_origin_only([kiosk], {base})


def test_kiosk_renews_a_token_near_its_expiry(system: RunningSystem, open_page: OpenPage) -> None:
    base, tenant = system.base_url, system.tenant
    held = peek_token(system.device_token(role="totem", device_id="totem-renew"))
    # The same device and token id, as the kiosk would hold it a year after set-up.
    expiring, _ = issue_token(
        secret=DEV_SECRET,
        subject=held.subject,
        role=Role.TOTEM,
        tenant=tenant,
        ttl=timedelta(days=2),
        token_id=held.token_id,
    )
    kiosk = open_page(f"{base}/t/{tenant}/totem?token={expiring}&{FAST}", TV_720)
    key = f"queuecast:{tenant}:totem:token"
    kiosk.page.wait_for_function(
        "([key, old]) => localStorage.getItem(key) !== old", arg=[key, expiring], timeout=20_000
    )
    renewed = peek_token(kiosk.page.evaluate("(key) => localStorage.getItem(key)", key))
    assert (renewed.subject, renewed.token_id) == (held.subject, held.token_id)
    assert renewed.expires_at - datetime.now(UTC) > timedelta(days=300)
    wait_live(kiosk)
    kiosk.page.wait_for_selector("[data-service='A']")
    assert_own_origin_only([kiosk], {base})


def test_display_recovers_after_the_broker_restarts(
    tmp_path: Path, open_page: OpenPage, output_dir: Path
) -> None:
    with start_system(tmp_path, separate_broker=True) as system:
        base, tenant = system.base_url, system.tenant
        operator = system.login("operator")
        display = open_page(f"{base}/t/{tenant}/display?{FAST}", TV_720)
        wait_live(display)
        mark_document(display)

        system.stop_broker()
        display.page.wait_for_selector('#conn[data-state="polling"]', timeout=20_000)
        during = issue(system, operator)
        call(system, during["id"], counter=1)
        wait_for_call(display, during["number"], 1)  # followed over HTTP while MQTT is down
        display.page.screenshot(path=output_dir / "display-1280x720-polling.png")
        # Broker down is this screen's error path: it says so in Portuguese, never in English.
        assert display.page.text_content("#conn") == "Atualização periódica"
        assert english_in(display) == []

        system.start_broker()
        wait_live(display, timeout_ms=40_000)
        after = issue(system, operator)
        call(system, after["id"], counter=2)
        wait_for_call(display, after["number"], 2)
        assert same_document(display)
        # Each call announced exactly once: the reconnect replayed nothing.
        assert announced(display) == [during["number"], after["number"]]
        display.page.screenshot(path=output_dir / "display-1280x720.png")

        assert_own_origin_only([display], {base, origin(system.ws_url)})
        assert set(display.websockets) == {system.ws_url}
