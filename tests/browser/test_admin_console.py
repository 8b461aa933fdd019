"""The admin console from zero, only by clicking (Debian chromium, the real API and broker):
the superadmin creates a site and its admin; the admin uploads a logo, creates two services, two
counters and an operator, pairs a browser kiosk and a browser display with codes; the kiosk
issues a ticket, the operator calls it, the paired display shows it with the logo and is online
in the device list; revoking it takes it offline. Every admin screen is saved as a screenshot."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESK, FAST, TV, Watched, wait_live
from tests.support.system import RunningSystem, start_system

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

OpenPage = Callable[..., Watched]
SITE = "clinica"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with start_system(tmp_path_factory.mktemp("system")) as running:
        yield running


def logo_png() -> bytes:
    image = Image.new("RGB", (240, 96), "#ffffff")
    for x in range(20, 220):
        for y in range(20, 76):
            if (x // 20 + y // 20) % 2 == 0:
                image.putpixel((x, y), (11, 92, 173))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def shot(page: Page, output_dir: Path, name: str) -> None:
    page.screenshot(path=output_dir / f"{name}.png", full_page=True)


def tab(page: Page, name: str) -> None:
    page.click(f"#tab-{name}")
    page.wait_for_selector(f'#section[data-section="{name}"]')


def new_code(page: Page, device_id: str, role: str) -> str:
    page.fill("#pair-id", device_id)
    page.select_option("#pair-role", role)
    page.click("#pair-submit")
    code = page.wait_for_selector(f'#pair-code[data-device="{device_id}"]')
    assert code is not None
    value = code.get_attribute("data-code")
    assert value is not None
    assert re.fullmatch(r"\d{6}", value)
    return value


def test_a_site_from_zero_by_clicking(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    base = system.base_url

    # --- the superadmin creates the site and its admin --------------------------------------
    root = open_page(f"{base}/admin", DESK, locale="en-US")
    page = root.page
    page.wait_for_selector("#username")
    shot(page, output_dir, "01-superadmin-sign-in")
    page.fill("#username", "root")
    page.fill("#password", "root")
    page.click("#login-submit")
    page.wait_for_selector("#tenant-form")
    # A bad id and a short password are explained next to their fields, in the page's language.
    page.fill("#tenant-id", "Clínica!")
    page.fill("#tenant-name", "Clínica Norte")
    page.fill("#admin-username", "ana.admin")
    page.fill("#admin-password", "short")
    page.click("#tenant-create")
    expect(page.locator("#tenant-id")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#tenant-id-error")).to_contain_text("lowercase letters")
    expect(page.locator("#admin-password-error")).to_contain_text("at least 8 characters")
    shot(page, output_dir, "02-superadmin-validation")
    page.fill("#tenant-id", SITE)
    page.fill("#admin-password", "norte-admin-1")
    page.click("#tenant-create")
    page.wait_for_selector("#tenant-created")
    expect(page.locator(f'tr[data-tenant="{SITE}"]')).to_be_visible()
    shot(page, output_dir, "03-superadmin-tenants")
    page.click("#open-created")
    page.wait_for_url(f"**/t/{SITE}/admin")

    # --- the site's admin signs in ------------------------------------------------------------
    page.wait_for_selector("#username")
    page.fill("#username", "ana.admin")
    page.fill("#password", "wrong-password")
    page.click("#login-submit")
    expect(page.locator("#login-form .form-error")).to_contain_text("Usuário ou senha incorretos")
    page.fill("#password", "norte-admin-1")
    page.click("#login-submit")
    page.wait_for_selector("#settings-form")
    wait_live(root)

    # --- logo: a broken file is refused and changes nothing; a PNG is taken -----------------
    page.set_input_files(
        "#logo-file", {"name": "logo.png", "mimeType": "image/png", "buffer": b"not a png"}
    )
    page.click("#logo-upload")
    expect(page.locator("#logo-form .form-error")).to_contain_text("não é uma imagem válida")
    assert system.http.get(f"/api/v1/tenants/{SITE}/queue").json()["logo_url"] is None
    page.set_input_files(
        "#logo-file", {"name": "logo.png", "mimeType": "image/png", "buffer": logo_png()}
    )
    page.click("#logo-upload")
    page.wait_for_selector("#logo-preview")
    expect(page.locator("#logo")).to_be_visible()
    page.fill("#accent-color", "#17803d")
    page.click("#accent-save")
    # The counter workflow's call timeout: out of range is explained, then saved.
    page.fill("#settings-form [name=call_timeout_s]", "99999")
    page.click("#settings-save")
    expect(page.locator("#settings-form [name=call_timeout_s]")).to_have_attribute(
        "aria-invalid", "true"
    )
    page.fill("#settings-form [name=call_timeout_s]", "600")
    page.click("#settings-save")
    expect(page.locator("#settings-form [name=call_timeout_s]")).not_to_have_attribute(
        "aria-invalid", "true"
    )
    shot(page, output_dir, "04-admin-settings")

    # --- two services ---------------------------------------------------------------------------
    tab(page, "services")
    page.fill("#service-form [name=prefix]", "a1")
    page.fill("#service-form [name=name]", "Exames")
    page.click("#service-form [type=submit]")
    expect(page.locator("#service-form [name=prefix]")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#service-form .field-error").first).to_contain_text("1 a 3 letras")
    page.fill("#service-form [name=prefix]", "E")
    page.fill("#service-form [name=position]", "1")
    page.click("#service-form [type=submit]")
    page.wait_for_selector('tr[data-service="E"]')
    page.fill("#service-form [name=prefix]", "P")
    page.fill("#service-form [name=name]", "Preferencial")
    page.fill("#service-form [name=description]", "Idosos, gestantes, pessoas com deficiência")
    page.fill("#service-form [name=position]", "0")  # first on the kiosk
    page.check("#service-form [name=priority_allowed]")
    page.click("#service-form [type=submit]")
    page.wait_for_selector('tr[data-service="P"]')
    # The same prefix again: the API's conflict, in words.
    page.fill("#service-form [name=prefix]", "E")
    page.fill("#service-form [name=name]", "De novo")
    page.click("#service-form [type=submit]")
    expect(page.locator("#service-form .form-error")).to_contain_text("Já existe")
    shot(page, output_dir, "05-admin-services")

    # --- two counters ---------------------------------------------------------------------------
    tab(page, "counters")
    page.fill("#counter-form [name=name]", "Sala 1")
    page.click("#counter-form [type=submit]")
    page.wait_for_selector('tr[data-counter="1"]')
    page.fill("#counter-form [name=name]", "Sala 2")
    page.check("#counter-service-P")  # Sala 2 serves the preferential line only
    page.click("#counter-form [type=submit]")
    page.wait_for_selector('tr[data-counter="2"]')
    shot(page, output_dir, "06-admin-counters")

    # --- an operator ----------------------------------------------------------------------------
    tab(page, "users")
    page.fill("#user-form [name=username]", "bruno")
    page.select_option("#user-form [name=role]", "operator")
    page.fill("#user-form [name=password]", "bruno-op-1")
    page.click("#user-form [type=submit]")
    page.wait_for_selector('tr[data-user="bruno"]')
    # Disable (confirmed) and enable again: a disabled operator cannot sign in.
    page.click('[data-key="access-bruno"]')
    page.click('dialog [data-confirm="yes"]')
    page.wait_for_selector('tr[data-user="bruno"][data-status="disabled"]')
    refused = system.http.post(
        "/api/v1/auth/token", data={"username": "bruno", "password": "bruno-op-1"}
    )
    assert refused.json()["error"] == "user_disabled"
    page.click('[data-key="access-bruno"]')
    page.wait_for_selector('tr[data-user="bruno"][data-status="enabled"]')
    shot(page, output_dir, "07-admin-users")

    # --- pair a browser kiosk and a browser display with codes --------------------------------
    tab(page, "devices")
    kiosk_code = new_code(page, "totem-entrada", "totem")
    shot(page, output_dir, "08-admin-pairing-code")
    kiosk = open_page(f"{base}/t/{SITE}/totem?{FAST}", TV)
    kiosk.page.wait_for_selector("#pair-code-input")
    kiosk.page.fill("#pair-code-input", "123")
    kiosk.page.click("#pair-submit")
    expect(kiosk.page.locator("#pair-form .field-error")).to_contain_text("6 dígitos")
    kiosk.page.fill("#pair-code-input", kiosk_code)
    kiosk.page.click("#pair-submit")
    wait_live(kiosk)
    kiosk.page.wait_for_selector('[data-service="E"]')
    # The admin's order and description: P first, with its line under the name.
    first = kiosk.page.locator(".service-button").first
    expect(first).to_have_attribute("data-service", "P")
    expect(first).to_contain_text("Idosos, gestantes")
    expect(kiosk.page.locator("#tenant-logo")).to_be_visible()

    display_code = new_code(page, "tv-recepcao", "display")
    display = open_page(f"{base}/t/{SITE}/display?{FAST}", TV)
    display.page.click("#pair-screen")
    display.page.fill("#pair-code-input", display_code)
    display.page.click("#pair-submit")
    display.page.wait_for_selector("#pair-screen", state="detached")
    wait_live(display)
    page.wait_for_selector('tr[data-device="tv-recepcao"][data-status="online"]')
    page.wait_for_selector('tr[data-device="totem-entrada"][data-status="online"]')
    shot(page, output_dir, "09-admin-devices-online")

    # --- the kiosk issues a ticket; the operator calls it -----------------------------------
    kiosk.page.click('[data-service="E"]')
    slip = kiosk.page.wait_for_selector("#slip-number")
    assert slip is not None
    number, ticket_id = slip.inner_text(), slip.get_attribute("data-ticket-id")
    operator = system.auth(system.login("bruno", "bruno-op-1"))
    api = f"/api/v1/tenants/{SITE}"
    # With the counter workflow the operator opens the counter first (404 before it exists).
    opened = system.http.post(f"{api}/counters/1/open", json={}, headers=operator)
    assert opened.status_code in (200, 404, 405), opened.text
    tenant = system.http.get(api, headers=operator).json()
    assert tenant["call_timeout_s"] == 600
    counters = {c["number"]: c for c in system.http.get(f"{api}/counters", headers=operator).json()}
    assert (counters[1]["services"], counters[2]["services"]) == ([], ["P"])
    called = system.http.post(
        f"{api}/tickets/{ticket_id}/call", json={"counter": 1}, headers=operator
    )
    assert called.status_code == 200, called.text

    # --- the paired display shows it with the logo ------------------------------------------
    expect(display.page.locator("#current .big-number")).to_have_text(number)
    logo = display.page.locator("#tenant-logo")
    expect(logo).to_be_visible()
    assert "/logo?v=" in (logo.get_attribute("src") or "")
    assert display.page.evaluate("() => document.getElementById('tenant-logo').naturalWidth") > 0
    shot(display.page, output_dir, "10-display-paired-with-logo")
    shot(kiosk.page, output_dir, "11-kiosk-paired")

    # --- revoking takes it offline at once ------------------------------------------------------
    page.click('[data-key="revoke-tv-recepcao"]')
    page.click('dialog [data-confirm="yes"]')
    page.wait_for_selector('tr[data-device="tv-recepcao"][data-status="offline"]', timeout=10_000)
    shot(page, output_dir, "12-admin-device-revoked")
    # The display forgets the refused token and offers pairing again.
    display.page.wait_for_selector("#pair-screen", timeout=15_000)
    assert not root.errors + kiosk.errors + display.errors, (
        root.errors,
        kiosk.errors,
        display.errors,
    )


def test_superadmin_suspends_and_deletes_with_confirmation(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    root = system.auth(system.login("root"))
    assert (
        system.http.post(
            "/api/v1/tenants", json={"id": "filial", "name": "Filial"}, headers=root
        ).status_code
        == 201
    )
    watched = open_page(f"{system.base_url}/admin", DESK, locale="es-ES")
    page = watched.page
    page.fill("#username", "root")
    page.fill("#password", "root")
    page.click("#login-submit")
    row = page.locator('tr[data-tenant="filial"]')
    row.locator('[data-action="suspend"]').click()
    page.click('dialog [data-confirm="yes"]')
    expect(page.locator('tr[data-tenant="filial"][data-status="suspended"]')).to_be_visible()
    suspended = system.http.get("/api/v1/suspensions", headers=root).json()
    assert "filial" in [s["tenant"] for s in suspended]
    page.locator('tr[data-tenant="filial"] [data-action="resume"]').click()
    expect(page.locator('tr[data-tenant="filial"][data-status="active"]')).to_be_visible()
    # Delete asks for the id to be typed; a wrong one is refused in Spanish.
    page.locator('tr[data-tenant="filial"] [data-action="delete"]').click()
    page.fill("dialog [name=confirm]", "otra")
    page.click('dialog [data-confirm="yes"]')
    expect(page.locator("dialog .field-error")).to_contain_text("Valor no válido")
    shot(page, output_dir, "13-superadmin-delete-confirm")
    page.fill("dialog [name=confirm]", "filial")
    page.click('dialog [data-confirm="yes"]')
    expect(page.locator('tr[data-tenant="filial"]')).to_have_count(0)
    assert system.http.get("/api/v1/tenants/filial", headers=root).status_code == 404


def _seed_day(system: RunningSystem) -> None:
    """A small day in tenant default: served, missed, waiting tickets over two services."""
    operator = system.auth(system.login("operator"))
    admin = system.auth(system.login("admin"))  # one counter per person (counter workflow)
    at = {1: operator, 2: admin}
    api = f"/api/v1/tenants/{system.tenant}"
    for counter, who in at.items():
        system.http.post(f"{api}/counters/{counter}/open", json={}, headers=who)
    tickets = [
        system.http.post(
            f"{api}/tickets", json={"service": s, "priority": s == "P"}, headers=operator
        ).json()
        for s in ["A", "A", "P", "A", "P", "A"]
    ]
    for ticket, (counter, outcome) in zip(
        tickets, [(1, "complete"), (2, "no-show"), (1, "complete"), (2, "complete")], strict=False
    ):
        who = at[counter]
        call = system.http.post(
            f"{api}/tickets/{ticket['id']}/call", json={"counter": counter}, headers=who
        )
        assert call.status_code == 200, call.text
        if outcome == "complete":
            system.http.post(f"{api}/tickets/{ticket['id']}/start", headers=who)
        done = system.http.post(f"{api}/tickets/{ticket['id']}/{outcome}", headers=who)
        assert done.status_code == 200, done.text


def _shown(page: Page, selector: str) -> dict[str, str]:
    return dict(
        page.eval_on_selector_all(
            selector, "els => els.map(e => [e.dataset.field, e.dataset.value])"
        )
    )


def _same(shown: str | None, value: Any) -> bool:
    """A figure the page carries (text of a number) equals the API's (JSON number or null)."""
    return shown == "" if value is None else shown is not None and float(shown) == float(value)


def test_statistics_match_the_api_and_the_csv_is_the_apis(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    _seed_day(system)
    watched = open_page(f"{system.base_url}/t/{system.tenant}/admin#stats", DESK, locale="en-US")
    page = watched.page
    page.fill("#username", "admin")
    page.fill("#password", "admin")
    page.click("#login-submit")
    page.wait_for_selector("#stats-total")
    period = page.evaluate("() => window.queuecast.state.statsPeriod")
    admin = system.auth(system.login("admin"))
    stats_url = f"/api/v1/tenants/{system.tenant}/stats"
    params = {"from": period["from"], "to": period["to"]}
    api = system.http.get(stats_url, params=params, headers=admin).json()
    assert api["total"]["issued"] >= 6

    total = _shown(page, "#stats-total [data-field]")
    for field in ["issued", "called", "completed", "no_show", "p50_wait_s", "p90_wait_s"]:
        assert _same(total[field], api["total"][field]), (field, total[field])
    rate = api["total"]["no_show"] / api["total"]["called"]
    assert float(total["no_show_rate"]) == pytest.approx(rate)
    for group, rows, fields in [
        ("hour", api["by_hour"], ["issued"]),
        ("service", api["by_service"], ["issued", "p50_wait_s", "p90_wait_s", "mean_wait_s"]),
        ("counter", api["by_counter"], ["completed", "mean_service_s", "p90_service_s"]),
    ]:
        for row in rows:
            shown = _shown(page, f'[data-group="{group}"] tr[data-key="{row["key"]}"] [data-field]')
            assert set(shown) == set(fields), (group, shown)
            for field in fields:
                assert _same(shown[field], row[field]), (group, row["key"], field, shown)
    assert api["attendants"], "the counter workflow reports per attendant"
    for person in api["attendants"]:
        selector = f'[data-group="attendant"] tr[data-key="{person["username"]}"] [data-field]'
        shown = _shown(page, selector)
        for field in ["completed", "no_show", "service_time_avg_s", "pause_s"]:
            assert _same(shown[field], person[field]), (person["username"], field, shown)
    # The human-readable figure says the same number as the data behind it.
    issued = page.locator('#stats-total [data-field="issued"] dd')
    expect(issued).to_have_text(str(api["total"]["issued"]))
    assert page.locator("#chart-arrivals").is_visible()
    page.wait_for_function("() => document.querySelectorAll('canvas').length >= 4")
    shot(page, output_dir, "14-admin-statistics")

    with page.expect_download() as download:
        page.click("#stats-csv")
    downloaded = Path(download.value.path()).read_text()
    csv = system.http.get(stats_url, params={**params, "format": "csv"}, headers=admin).text
    assert downloaded == csv
    assert downloaded.startswith("group,key,issued")

    # The same day chosen as dates: the same period, the same figures.
    page.select_option("#stats-kind", "custom")
    page.fill("#stats-from", period["first"])
    page.fill("#stats-to", period["last"])
    page.click("#stats-show")
    page.wait_for_function(
        "() => window.queuecast.state.statsPeriod.kind === 'custom' && "
        "document.querySelector('#stats-total')"
    )
    chosen = page.evaluate("() => window.queuecast.state.statsPeriod")
    assert (chosen["from"], chosen["to"]) == (period["from"], period["to"])
    issued = page.locator('#stats-total [data-field="issued"]')
    expect(issued).to_have_attribute("data-value", str(api["total"]["issued"]))

    # Chosen dates that end before they start are refused next to the field (the tenant speaks
    # Portuguese).
    page.select_option("#stats-kind", "custom")
    page.fill("#stats-from", "2026-12-10")
    page.fill("#stats-to", "2026-12-01")
    page.click("#stats-show")
    expect(page.locator("#stats-to-error")).to_contain_text("A data inicial deve vir antes")
    assert not watched.errors, watched.errors
