"""The admin consoles and the pairing screens, in the states people see, checked by axe-core
against WCAG 2.1 A/AA like every other page (see test_accessibility.py): sign-in, every
section with data in it, a form showing its errors, a pairing code, a confirmation dialog, and
a display's "pair this screen" dialog."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.conftest import DESK, FAST, TV, Watched, wait_live
from tests.browser.test_accessibility import AXE, FLATTEN_GRADIENTS, WCAG_AA, explain, violations
from tests.support.system import RunningSystem, start_system

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

OpenPage = Callable[..., Watched]
SECTIONS = ["settings", "services", "counters", "users", "devices", "stats"]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    if not AXE.exists():
        pytest.skip("axe-core is not installed (npm ci)")
    with start_system(tmp_path_factory.mktemp("system")) as running:
        operator = running.auth(running.login("operator"))
        url = f"/api/v1/tenants/{running.tenant}/tickets"
        for service in ("A", "P", "A"):
            issued = running.http.post(
                url, json={"service": service, "priority": service == "P"}, headers=operator
            )
            assert issued.status_code == 201
        opened = running.http.post(
            f"/api/v1/tenants/{running.tenant}/counters/2/open", json={}, headers=operator
        )
        assert opened.status_code in (200, 404), opened.text  # 404: no counter workflow
        call = running.http.post(
            f"{url}/{issued.json()['id']}/call", json={"counter": 2}, headers=operator
        )
        assert call.status_code == 200, call.text
        yield running


def violations_with_dialog(watched: Watched) -> list[dict[str, Any]]:
    """As ``violations``, for a page with a modal dialog open: the page behind it is inert, so
    axe reports the document's language as not applicable rather than passed."""
    page = watched.page
    page.evaluate(FLATTEN_GRADIENTS)
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "(tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } })", WCAG_AA
    )
    assert "color-contrast" in {rule["id"] for rule in result["passes"]}, "axe checked nothing"
    assert page.evaluate("() => document.documentElement.lang") in {"pt-BR", "en", "es"}
    found: list[dict[str, Any]] = result["violations"]
    return found


def sign_in(page: Watched, username: str) -> None:
    page.page.fill("#username", username)
    page.page.fill("#password", username)
    page.page.click("#login-submit")


@pytest.mark.parametrize("locale", ["pt-BR", "en-US", "es-ES"])
def test_superadmin(system: RunningSystem, open_page: OpenPage, locale: str) -> None:
    watched = open_page(f"{system.base_url}/admin", DESK, locale=locale, inject=True)
    watched.page.wait_for_selector("#username")
    assert (found := violations(watched)) == [], "sign-in:\n" + explain(found)
    sign_in(watched, "root")
    watched.page.wait_for_selector("#tenants-table")
    watched.page.click("#tenant-create")  # every field says what is missing
    watched.page.wait_for_selector("#tenant-form [aria-invalid=true]")
    assert (found := violations(watched)) == [], "tenants:\n" + explain(found)
    watched.page.click('tr[data-tenant="default"] [data-action="delete"]')
    watched.page.wait_for_selector("dialog[open]")
    assert (found := violations_with_dialog(watched)) == [], "confirmation:\n" + explain(found)


def test_admin_sections(system: RunningSystem, open_page: OpenPage) -> None:
    base = f"{system.base_url}/t/{system.tenant}/admin"
    watched = open_page(f"{base}?{FAST}", DESK, inject=True)
    watched.page.wait_for_selector("#username")
    assert (found := violations(watched)) == [], "sign-in:\n" + explain(found)
    sign_in(watched, "admin")
    watched.page.wait_for_selector("#settings-form")
    wait_live(watched)
    for section in SECTIONS:
        watched.page.click(f"#tab-{section}")
        watched.page.wait_for_selector(f'#section[data-section="{section}"]')
        if section == "devices":
            watched.page.fill("#pair-id", "lobby-tv")
            watched.page.select_option("#pair-role", "display")
            watched.page.click("#pair-submit")
            watched.page.wait_for_selector("#pair-code")
        elif section == "stats":
            watched.page.wait_for_selector("#stats-total")
            watched.page.wait_for_function("() => document.querySelectorAll('canvas').length > 0")
        else:
            form = watched.page.locator("#section form").first
            form.locator("[type=submit]").first.click()  # with its errors on show, if any
        assert (found := violations(watched)) == [], f"{section}:\n" + explain(found)


def test_display_pairing_dialog(system: RunningSystem, open_page: OpenPage) -> None:
    watched = open_page(f"{system.base_url}/t/{system.tenant}/display?{FAST}", TV, inject=True)
    wait_live(watched)
    watched.page.click("#pair-screen")
    watched.page.fill("#pair-code-input", "12")
    watched.page.click("#pair-submit")
    watched.page.wait_for_selector("#pair-form [aria-invalid=true]")
    assert (found := violations_with_dialog(watched)) == [], "pairing:\n" + explain(found)


def test_keyboard_only_sign_in_and_a_new_service(
    system: RunningSystem, open_page: OpenPage
) -> None:
    """No mouse: sign in, reach a section, fill a form, submit, see the result and errors."""
    watched = open_page(f"{system.base_url}/t/{system.tenant}/admin", DESK, locale="en-US")
    keyboard = watched.page.keyboard
    watched.page.wait_for_selector("#username:focus")  # the sign-in starts focused
    keyboard.type("admin")
    keyboard.press("Tab")
    keyboard.type("admin")
    keyboard.press("Enter")
    watched.page.wait_for_selector("#settings-form")
    watched.page.focus("#tab-settings")
    for _ in range(SECTIONS.index("services")):
        keyboard.press("Tab")  # the section links, in order
    keyboard.press("Enter")
    watched.page.wait_for_selector('#section[data-section="services"]')
    watched.page.focus("#service-form [name=prefix]")
    keyboard.type("kx")  # lowercase: explained, focus back on the field
    keyboard.press("Tab")
    keyboard.type("Raio-X")
    keyboard.press("Enter")
    watched.page.wait_for_selector("#service-form [name=prefix][aria-invalid=true]:focus")
    keyboard.press("Control+A")
    keyboard.type("K")
    keyboard.press("Enter")
    watched.page.wait_for_selector('tr[data-service="K"]')
