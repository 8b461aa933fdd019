"""The browser pages on Mosquitto with dynamic security: a public display, a kiosk (its device
token) and the operator console (the operator's token) each ask /mqtt-credentials for their
broker login, connect to Mosquitto's WebSocket listener with it and go live; a call made in the
console reaches the display through Mosquitto."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import DESK, FAST, TV, OpenPage, origin, wait_live
from tests.support.desk import Desk
from tests.support.dynsec import requires_dynsec
from tests.support.system import RunningSystem

pytestmark = [pytest.mark.browser, pytest.mark.external_broker, requires_dynsec]


@pytest.fixture
def system(dynsec_system: RunningSystem) -> RunningSystem:
    return dynsec_system


def test_pages_go_live_on_mosquitto_with_their_own_logins(
    system: RunningSystem, open_page: OpenPage
) -> None:
    broker_ws = system.http.get(f"/api/v1/tenants/{system.tenant}/mqtt-credentials").json()[
        "ws_url"
    ]
    assert urlsplit(broker_ws).port != system.http_port  # Mosquitto's own listener

    display = open_page(f"{system.base_url}/t/{system.tenant}/display?{FAST}", TV)
    wait_live(display)
    token = system.device_token(role="totem", device_id="totem-dynsec")
    kiosk = open_page(f"{system.base_url}/t/{system.tenant}/totem?token={token}&{FAST}", TV)
    wait_live(kiosk)
    operator = open_page(f"{system.base_url}/t/{system.tenant}/operator?{FAST}", DESK)
    operator.page.fill("#username", "operator")
    operator.page.fill("#password", "operator")
    operator.page.click("#login-submit")
    operator.page.wait_for_selector("#console-view:not([hidden])")
    wait_live(operator)
    for watched in (display, kiosk, operator):
        assert origin(broker_ws) in {origin(url) for url in watched.websockets}
        assert watched.errors == []

    desk = Desk(system, 2, "admin")
    desk.issue("A")
    desk.open()
    called = desk.call_next()
    assert called is not None
    display.page.wait_for_function(
        "number => document.body.innerText.includes(number)", arg=called["number"]
    )
