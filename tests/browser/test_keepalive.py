"""The pages' Content-Security-Policy and MQTT keep-alive in a background tab (issue 14).

MQTT.js sends its pings from timers that run in a worker it builds from a ``blob:`` URL, because
a hidden tab's own timers are throttled (Chrome's intensive throttling wakes them once a minute).
Our CSP used to block that worker: no ping was ever sent and the broker dropped every page 1.5
keep-alives after it connected. Here a page runs with a short keep-alive, its CPU slowed and its
own timers throttled as in a hidden tab, then frozen and resumed as a discarded background tab is:
the connection must stay up (one WebSocket), and calls must arrive over it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import FAST, TV, OpenPage, Watched, wait_live
from tests.support.desk import Desk
from tests.support.system import RunningSystem, start_system

pytestmark = [pytest.mark.browser, pytest.mark.slow]

KEEPALIVE_S = 2
# Chrome's intensive throttling, emulated: a hidden page's timers of a second or more wake at
# most once a minute (short ones, such as MQTT.js's nextTick, are left alone, as Chrome does).
THROTTLE_PAGE_TIMERS = """() => {
  const throttled = (original) => (fn, delay, ...args) =>
    original(fn, Number(delay) >= 1000 ? Math.max(Number(delay), 60000) : delay, ...args);
  window.setTimeout = throttled(window.setTimeout);
  window.setInterval = throttled(window.setInterval);
}"""


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with start_system(tmp_path_factory.mktemp("keepalive")) as running:
        yield running


def mqtt_sockets(watched: Watched) -> list[str]:
    return [url for url in watched.websockets if url.endswith("/mqtt")]


def shows(page: Page, number: str) -> None:
    page.wait_for_function(
        "(n) => document.querySelector('#current .big-number')?.textContent === n",
        arg=number,
        timeout=20_000,
    )


def test_the_broker_connection_outlives_a_throttled_and_a_frozen_background_tab(
    system: RunningSystem, open_page: OpenPage
) -> None:
    base, tenant = system.base_url, system.tenant
    desk = Desk(system, 1)
    desk.open()
    display = open_page(f"{base}/t/{tenant}/display?{FAST}&keepalive={KEEPALIVE_S}", TV)
    wait_live(display)
    page = display.page
    cdp = page.context.new_cdp_session(page)

    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    page.evaluate(THROTTLE_PAGE_TIMERS)
    # Three keep-alive periods: without pings the broker drops a client after 1.5 of them, and
    # a dropped page is no longer live (or has a second socket) from then on (it waited five).
    page.wait_for_timeout(KEEPALIVE_S * 3 * 1000)
    first = desk.issue("A")
    desk.call(first["id"])
    shows(page, first["number"])
    assert page.evaluate("window.queuecast.live.status") == "live"
    assert len(mqtt_sockets(display)) == 1, "the page lost its broker connection"

    # Frozen (a background tab the browser suspends) for longer than the broker waits, then
    # resumed: the page is live again, with the call made while it slept.
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    cdp.send("Page.setWebLifecycleState", {"state": "frozen"})
    second = desk.issue("A")
    page.wait_for_timeout(KEEPALIVE_S * 3 * 1000)
    desk.call(second["id"])
    cdp.send("Page.setWebLifecycleState", {"state": "active"})
    shows(page, second["number"])
    wait_live(display)
    assert display.errors == []


def sign_in(watched: Watched, username: str) -> None:
    watched.page.wait_for_selector("#username")
    watched.page.fill("#username", username)
    watched.page.fill("#password", username)
    watched.page.click("#login-submit")


def test_no_page_violates_its_content_security_policy(
    system: RunningSystem, open_page: OpenPage
) -> None:
    """Every page with its real policy (no bypass), live on MQTT where it connects: the shared
    ``new_context`` fixture fails this test at teardown on any violation."""
    base, tenant = system.base_url, system.tenant
    ticket = Desk(system, 1).issue("A")
    token = system.device_token(role="totem", device_id="totem-csp")
    for path in ("display?", f"totem?token={token}&", f"ticket/{ticket['id']}?"):
        wait_live(open_page(f"{base}/t/{tenant}/{path}{FAST}"))
    operator = open_page(f"{base}/t/{tenant}/operator?{FAST}")
    sign_in(operator, "operator")
    wait_live(operator)
    admin = open_page(f"{base}/t/{tenant}/admin?{FAST}")
    sign_in(admin, "admin")
    wait_live(admin)
    admin.page.click("#tab-stats")
    admin.page.wait_for_function("() => document.querySelectorAll('canvas').length > 0")
    superadmin = open_page(f"{base}/admin")
    sign_in(superadmin, "root")
    superadmin.page.wait_for_selector("#tenants-table")
    for watched in (operator, admin, superadmin):
        assert watched.errors == []
