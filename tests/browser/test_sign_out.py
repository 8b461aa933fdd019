"""Signing out of a console ends the session on the server, and a refused sign-in reads in the
page's language on every console (issue 12).

Sign-out calls ``POST /api/v1/auth/logout`` before forgetting the token: a copy of the token
(another tab, a stolen one) stops working at once rather than at its expiry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.browser.conftest import FAST, OpenPage, english_in
from tests.support.system import RunningSystem, start_system


@dataclass(frozen=True)
class Console:
    name: str
    path: str  # under the system's base URL
    storage_key: str  # the session's sessionStorage key
    user: str
    probe: str  # an API path this user may read
    error: str  # the element showing a refused sign-in


def _consoles(tenant: str) -> list[Console]:
    return [
        Console(
            "operator",
            f"/t/{tenant}/operator?{FAST}",
            f"queuecast:{tenant}:operator",
            "operator",
            f"/api/v1/tenants/{tenant}/counters",
            "#login-error",
        ),
        Console(
            "admin",
            f"/t/{tenant}/admin?{FAST}",
            f"queuecast:{tenant}:admin",
            "admin",
            f"/api/v1/tenants/{tenant}/users",
            "#login-form .form-error",
        ),
        Console(
            "superadmin",
            f"/admin?{FAST}",
            "queuecast:superadmin",
            "root",
            "/api/v1/tenants",
            "#login-form .form-error",
        ),
    ]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    # One failed sign-in per user per 10 minutes: the second is refused with 429 at once.
    env = {"QUEUECAST_LOGIN_PER_USER": "1", "QUEUECAST_LOGIN_WINDOW_S": "600"}
    with start_system(tmp_path_factory.mktemp("sign-out"), env=env) as running:
        # A disabled operator, made before any test spends the admin's one failed sign-in.
        admin = running.auth(running.login("admin"))
        users = f"/api/v1/tenants/{running.tenant}/users"
        created = running.http.post(
            users,
            json={"username": "clerk", "password": "clerk-password", "role": "operator"},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        disabled = running.http.put(f"{users}/clerk/disabled", headers=admin)
        assert disabled.status_code == 204, disabled.text
        yield running


@pytest.mark.parametrize("name", ["operator", "admin", "superadmin"])
def test_signing_out_revokes_the_token_on_the_server(
    system: RunningSystem, open_page: OpenPage, name: str
) -> None:
    console = next(c for c in _consoles(system.tenant) if c.name == name)
    watched = open_page(f"{system.base_url}{console.path}")
    page = watched.page
    page.fill("#username", console.user)
    page.fill("#password", console.user)
    page.click("#login-submit")
    page.wait_for_selector("#logout:not([hidden])")
    stored = page.evaluate("(key) => JSON.parse(sessionStorage.getItem(key))", console.storage_key)
    token = stored["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert system.http.get(console.probe, headers=auth).status_code == 200

    with page.expect_request(lambda r: r.url.endswith("/api/v1/auth/logout")) as sent:
        page.click("#logout")
    assert sent.value.method == "POST"
    assert sent.value.headers["authorization"] == f"Bearer {token}"
    page.wait_for_selector("#login-submit")
    assert page.evaluate("(key) => sessionStorage.getItem(key)", console.storage_key) is None
    refused = system.http.get(console.probe, headers=auth)
    assert refused.status_code == 401, refused.text
    assert watched.errors == []


@pytest.mark.parametrize("name", ["operator", "admin", "superadmin"])
def test_a_refused_sign_in_shows_the_translated_text_of_its_code(
    system: RunningSystem, open_page: OpenPage, name: str
) -> None:
    console = next(c for c in _consoles(system.tenant) if c.name == name)
    watched = open_page(f"{system.base_url}{console.path}")
    page = watched.page
    error = page.locator(console.error)
    page.fill("#username", console.user)
    page.fill("#password", "not-the-password")
    page.click("#login-submit")
    page.wait_for_selector(f"{console.error}:not([hidden])")
    assert "incorretos" in (error.text_content() or "")  # 401 unauthorized, in pt-BR
    page.click("#login-submit")  # the user's one failure in the window is spent: 429
    page.wait_for_function(
        "(sel) => document.querySelector(sel).textContent.includes('Aguarde')", arg=console.error
    )
    assert "tentativas" in (error.text_content() or "")
    assert english_in(watched) == []


def test_a_disabled_user_is_told_so_in_the_page_language(
    system: RunningSystem, open_page: OpenPage
) -> None:
    watched = open_page(f"{system.base_url}/t/{system.tenant}/operator?{FAST}")
    page = watched.page
    page.fill("#username", "clerk")
    page.fill("#password", "clerk-password")
    page.click("#login-submit")
    page.wait_for_selector("#login-error:not([hidden])")
    assert page.text_content("#login-error") == (
        "Este usuário está desativado. Fale com o administrador."
    )
    assert english_in(watched) == []
