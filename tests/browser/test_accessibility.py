"""Every page, in the states people see, checked by axe-core (from npm, injected by the test,
never served to users) against WCAG 2.1 A and AA: contrast, names and labels, keyboard
reachability, language. Nothing is excluded: a violation fails with axe's own explanation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESK, FAST, PHONE, TV, Watched, wait_live
from tests.support.desk import Desk
from tests.support.system import RunningSystem, start_system

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OpenPage = Callable[..., Watched]
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    if not AXE.exists():
        pytest.skip("axe-core is not installed (npm ci)")
    with start_system(tmp_path_factory.mktemp("system")) as running:
        yield running


# axe cannot judge contrast over a gradient (it reports "incomplete", which would pass silently).
# So each gradient background is replaced by its worst colour stop for the element's own text
# colour: the stop closest in luminance to it. Contrast is then measured at its worst.
FLATTEN_GRADIENTS = """() => {
  const luminance = (rgb) => {
    const [r, g, b] = rgb.map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const channels = (css) => css.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
  let flattened = 0;
  for (const el of document.querySelectorAll("*")) {
    const style = getComputedStyle(el);
    if (!style.backgroundImage.includes("gradient")) continue;
    const stops = style.backgroundImage.match(/rgba?\\([^)]*\\)/g) || [];
    const text = luminance(channels(style.color));
    const worst = stops.reduce((a, b) =>
      Math.abs(luminance(channels(a)) - text) <= Math.abs(luminance(channels(b)) - text) ? a : b);
    el.style.backgroundImage = "none";
    el.style.backgroundColor = worst;
    flattened += 1;
  }
  return flattened;
}"""


def violations(watched: Watched) -> list[dict[str, Any]]:
    page = watched.page
    page.evaluate(FLATTEN_GRADIENTS)
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "(tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } })", WCAG_AA
    )
    checked = {rule["id"] for rule in result["passes"]}
    assert {"color-contrast", "html-has-lang"} <= checked, "axe did not check the page"
    found: list[dict[str, Any]] = result["violations"]
    return found


def explain(found: list[dict[str, Any]]) -> str:
    lines = []
    for violation in found:
        targets = [node["target"] for node in violation["nodes"]][:5]
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
        summary = violation["nodes"][0].get("failureSummary", "")
        lines.append("    " + summary.replace("\n", "\n    "))
    return "\n".join(lines)


def issue_and_call(system: RunningSystem) -> dict[str, Any]:
    desk = Desk(system, 3, "admin")
    waiting = desk.issue("A")
    called = desk.issue("P", priority=True)
    desk.open()
    desk.call(called["id"])
    return waiting


@pytest.fixture(scope="module")
def waiting_ticket(system: RunningSystem) -> dict[str, Any]:
    return issue_and_call(system)


@pytest.mark.parametrize("locale", ["pt-BR", "en-US", "es-ES"])
def test_display(
    system: RunningSystem, open_page: OpenPage, locale: str, waiting_ticket: Any
) -> None:
    display = open_page(
        f"{system.base_url}/t/{system.tenant}/display?{FAST}", TV, locale=locale, inject=True
    )
    wait_live(display)
    display.page.wait_for_selector("#current .big-number")
    assert (found := violations(display)) == [], explain(found)


def test_ticket_follower(
    system: RunningSystem, open_page: OpenPage, waiting_ticket: dict[str, Any]
) -> None:
    url = f"{system.base_url}/t/{system.tenant}/ticket/{waiting_ticket['id']}?{FAST}"
    follower = open_page(url, PHONE, inject=True)
    wait_live(follower)
    follower.page.wait_for_selector('#sheet[data-status="waiting"]')
    assert (found := violations(follower)) == [], explain(found)


def test_kiosk_set_up_and_home(system: RunningSystem, open_page: OpenPage) -> None:
    setup = open_page(f"{system.base_url}/t/{system.tenant}/totem?{FAST}", TV, inject=True)
    setup.page.wait_for_load_state("networkidle")
    assert (found := violations(setup)) == [], "set-up screen:\n" + explain(found)

    token = system.device_token(role="totem", device_id="totem-a11y")
    kiosk = open_page(
        f"{system.base_url}/t/{system.tenant}/totem?token={token}&{FAST}", TV, inject=True
    )
    wait_live(kiosk)
    kiosk.page.wait_for_selector('[data-service="A"]')
    assert (found := violations(kiosk)) == [], "home screen:\n" + explain(found)


def test_operator_sign_in_and_console(system: RunningSystem, open_page: OpenPage) -> None:
    operator = open_page(f"{system.base_url}/t/{system.tenant}/operator?{FAST}", DESK, inject=True)
    operator.page.wait_for_selector("#username")
    assert (found := violations(operator)) == [], "sign-in:\n" + explain(found)

    operator.page.fill("#username", "operator")
    operator.page.fill("#password", "operator")
    operator.page.click("#login-submit")
    operator.page.wait_for_selector("#console-view:not([hidden])")
    wait_live(operator)
    operator.page.wait_for_selector("#queue li")
    assert (found := violations(operator)) == [], "console:\n" + explain(found)

    # An open counter with its ticket pinned, and a search result with every action.
    Desk(system, 3, "admin").issue("A")  # something to call, whatever ran before
    operator.page.select_option("#counter", "1")
    operator.page.click("#counter-open")
    operator.page.wait_for_selector('#counter-state[data-status="open"][data-mine="true"]')
    operator.page.click("#call-next")
    operator.page.wait_for_selector("#current .current-number")
    pinned = operator.page.text_content("#current .current-number") or ""
    operator.page.fill("#search-number", pinned)
    operator.page.click("#search-go")
    operator.page.wait_for_selector("#search-result .ticket-card")
    assert (found := violations(operator)) == [], "working console:\n" + explain(found)
