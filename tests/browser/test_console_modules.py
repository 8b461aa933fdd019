"""The admin console's own ES modules in the real browser: every text in all three languages,
API error codes (never the server's message) turned into words, and periods of whole local days
in the tenant's time zone (across a daylight-saving change too)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import NewContext
from tests.support.system import RunningSystem, start_system

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with start_system(tmp_path_factory.mktemp("console-modules")) as running:
        yield running


@pytest.fixture
def page(new_context: NewContext, system: RunningSystem) -> Page:
    page = new_context().new_page()
    page.goto(f"{system.base_url}/admin")
    return page


def run(page: Page, body: str) -> Any:
    return page.evaluate(f"async () => {{ {body} }}")


def test_console_texts_come_from_the_shared_catalogue(page: Page) -> None:
    # The consoles keep no table of their own: their words are protocol/texts.json's, as for
    # every other page and the pygame agents (whose completeness test covers all three languages).
    result = run(
        page,
        """
        const module = await import("/web/js/console-texts.js");
        const { I18n } = await import("/web/js/i18n.js");
        const word = (lang) => new I18n(lang).t("admin.title");
        const refused = { status: 401, body: { error: "unauthorized" } };
        const login = (lang) => module.errorText(new I18n(lang), refused);
        return { exports: Object.keys(module).sort(), words: ["pt-BR", "en", "es"].map(word),
                 login: ["pt-BR", "en", "es"].map(login) };
        """,
    )
    assert result["exports"] == ["applyTexts", "errorField", "errorText", "fieldHint"]
    assert result["words"] == ["Administração", "Administration", "Administración"]
    assert result["login"][1] == "Wrong username or password, or the session expired."
    assert len(set(result["login"])) == 3


def test_error_codes_become_words_never_the_servers_message(page: Page) -> None:
    result = run(
        page,
        """
        const { errorText, errorField, fieldHint } = await import("/web/js/console-texts.js");
        const { I18n } = await import("/web/js/i18n.js");
        const { ApiError } = await import("/web/js/api.js");
        const es = new I18n("es");
        const error = (status, body) => new ApiError(status, "English server text", body);
        const details = [{ loc: ["body", "prefix"] }];
        const invalid = error(422, { error: "validation_error", details });
        return {
          image: errorText(es, error(422, { error: "invalid_image" })),
          pairing: errorText(new I18n("pt-BR"), error(400, { error: "pairing_code_invalid" })),
          unfinished: errorText(new I18n("en"), error(409, { error: "conflict", unfinished: 3 })),
          unknown: errorText(new I18n("en"), error(418, { error: "teapot" })),
          network: errorText(new I18n("en"), new ApiError(0, "network error")),
          field: errorField(invalid),
          hint: fieldHint(es, errorField(invalid)),
        };
        """,
    )
    assert result["image"].startswith("El archivo no es una imagen válida")
    assert result["pairing"].startswith("Código errado ou vencido")
    assert result["unfinished"] == "This service still has 3 unfinished tickets."
    assert result["unknown"] == "Could not be done (teapot)."
    assert result["network"] == "No connection to the server."
    assert result["field"] == "prefix"
    assert result["hint"].startswith("Use de 1 a 3 letras mayúsculas")
    assert "English server text" not in str(result)


def test_periods_are_whole_local_days(page: Page) -> None:
    result = run(
        page,
        """
        const { localMidnight, period } = await import("/web/js/admin-stats.js");
        const custom = period("custom", "America/Sao_Paulo", "2026-11-29", "2026-11-30");
        return {
          saoPaulo: localMidnight("2026-11-29", "America/Sao_Paulo").toISOString(),
          beforeDst: localMidnight("2026-03-08", "America/New_York").toISOString(),
          afterDst: localMidnight("2026-03-09", "America/New_York").toISOString(),
          custom: [custom.from, custom.to],
        };
        """,
    )
    assert result["saoPaulo"] == "2026-11-29T03:00:00.000Z"
    assert result["beforeDst"] == "2026-03-08T05:00:00.000Z"
    assert result["afterDst"] == "2026-03-09T04:00:00.000Z"
    assert result["custom"] == ["2026-11-29T03:00:00.000Z", "2026-12-01T03:00:00.000Z"]
