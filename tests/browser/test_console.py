"""The operator console against the real system (issue 9): every button is enabled exactly when
the API would accept it, and two operators at two counters work a morning of 30 tickets through
every action, leaving no ticket open and stats per attendant that match what they did."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import DESK, FAST, OpenPage, Watched, english_in, wait_live
from tests.support.desk import Desk, ensure_user, password_of
from tests.support.system import RunningSystem, start_system

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

STATES = ["waiting", "called", "in_service", "completed", "no_show", "cancelled"]
ACTIONS = ["call", "recall", "start", "complete", "no-show", "cancel", "reactivate", "transfer"]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with start_system(tmp_path_factory.mktemp("console")) as running:
        ensure_user(running, "maria")
        yield running


class Console:
    """One operator's console page, driven like a person would, waiting for each answer."""

    def __init__(self, watched: Watched, username: str) -> None:
        self.watched = watched
        self.page: Page = watched.page
        self.username = username

    def sign_in(self, counter: int) -> None:
        page = self.page
        page.fill("#username", self.username)
        page.fill("#password", password_of(self.username))
        page.click("#login-submit")
        page.wait_for_selector("#console-view:not([hidden])")
        wait_live(self.watched)
        self.choose_counter(counter)

    def choose_counter(self, counter: int) -> None:
        self.page.wait_for_selector(f'#counter option[value="{counter}"]', state="attached")
        self.page.select_option("#counter", str(counter))
        self.page.wait_for_selector("#counter-state[data-status]:not([data-status=''])")
        self.settle()

    def settle(self) -> None:
        """Until the page is no longer waiting for an answer or re-reading its counter."""
        self.page.wait_for_function("() => window.queuecast.state.busy === false")

    def post(self, click: Callable[[], None], path: str, *statuses: int) -> Any:
        """Do ``click`` and check the API request it made (``path`` in its URL); the answer's
        body (None for 204 or a refusal)."""
        with self.page.expect_response(
            lambda r: r.request.method == "POST" and path in r.url
        ) as answer:
            click()
        response = answer.value
        expected = statuses or (200,)
        assert response.status in expected, f"{path}: {response.status} {response.text()}"
        self.settle()
        return response.json() if response.status == 200 else None

    def open_counter(self) -> None:
        self.post(lambda: self.page.click("#counter-open"), "/open")
        self.page.wait_for_selector('#counter-state[data-status="open"][data-mine="true"]')

    def held(self) -> str | None:
        element = self.page.query_selector("#current .current-number")
        return None if element is None else element.get_attribute("data-ticket-id")

    def call_next(self, close: str | None = None) -> dict[str, Any] | None:
        def click() -> None:
            self.page.click("#call-next")
            if close is not None:
                self.page.click(f'#close-dialog [data-outcome="{close}"]')

        ticket: dict[str, Any] | None = self.post(click, "/call-next", 200, 204)
        return ticket

    def call_chosen(self, close: str) -> dict[str, Any] | None:
        """Call the last ticket of the queue list (out of order); the held one ends ``close``.
        None when nobody waits."""
        # A locator, not an element: the live queue re-renders its rows at any moment.
        buttons = self.page.locator('#queue li [data-action="call"]')
        if buttons.count() == 0:
            return None

        def click() -> None:
            buttons.last.click()
            self.page.click(f'#close-dialog [data-outcome="{close}"]')

        ticket: dict[str, Any] = self.post(click, "/call")
        return ticket

    def action(self, action: str) -> dict[str, Any]:
        ticket: dict[str, Any] = self.post(
            lambda: self.page.click(f'#ticket-actions [data-action="{action}"]'), f"/{action}"
        )
        return ticket

    def transfer(self, service: str) -> dict[str, Any]:
        self.page.select_option("#transfer-service", service)
        ticket: dict[str, Any] = self.post(lambda: self.page.click("#transfer"), "/transfer")
        return ticket

    def search(self, number: str) -> None:
        self.page.fill("#search-number", number)
        self.page.click("#search-go")
        self.page.wait_for_selector(f'#search-result [data-ticket-id] strong:text-is("{number}")')

    def card_button(self, ticket_id: str, action: str) -> str:
        return f'#search-result [data-ticket-id="{ticket_id}"] [data-action="{action}"]'


def lifecycle(system: RunningSystem) -> dict[str, list[str]]:
    response = system.http.get("/api/v1/lifecycle")
    assert response.status_code == 200, response.text
    transitions: dict[str, list[str]] = response.json()["transitions"]
    return transitions


def ticket_in(desk: Desk, status: str) -> dict[str, Any]:
    """A fresh ticket brought to ``status`` by ``desk`` (its counter ends what it held)."""
    ticket = desk.issue("A")
    if status == "waiting":
        return ticket
    if status == "cancelled":
        assert desk.act(ticket["id"], "cancel").status_code == 200
        return {**ticket, "status": status}
    desk.call(ticket["id"])
    steps = {"in_service": ["start"], "completed": ["complete"], "no_show": ["no-show"]}
    for step in steps.get(status, []):
        response = desk.act(ticket["id"], step)
        assert response.status_code == 200, response.text
    return {**ticket, "status": status}


def start_the_day_empty(system: RunningSystem) -> None:
    """No ticket waits or is open and every counter is closed (whatever earlier tests left)."""
    admin = Desk(system, 1, "admin")
    left = system.http.get(
        f"{admin.path}/tickets",
        params={"status": ["waiting", "called", "in_service"], "limit": 100},
        headers=admin.headers,
    )
    assert left.status_code == 200, left.text
    for ticket in left.json():
        assert admin.act(ticket["id"], "cancel").status_code == 200
    for number in (1, 2, 3):
        closed = admin.post(f"/counters/{number}/close")
        assert closed.status_code == 200, closed.text


def api_body(action: str, counter: int) -> dict[str, Any] | None:
    if action == "call":
        return {"counter": counter}
    if action == "transfer":
        return {"service": "P", "placement": "back"}
    return None


def test_every_button_is_enabled_exactly_when_the_api_accepts_the_action(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    table = lifecycle(system)
    url = f"{system.base_url}/t/{system.tenant}/operator?{FAST}"
    console = Console(open_page(url, DESK), "operator")
    console.sign_in(counter=1)
    console.open_counter()
    mine = Desk(system, 1, "operator")  # the console's own counter, to free it between checks
    other = Desk(system, 3, "admin")
    other.open()
    seen: dict[tuple[str, str], bool] = {}
    for status in STATES:
        for action in ACTIONS:
            ticket = ticket_in(other, status)
            console.search(ticket["number"])
            card = f'#search-result [data-ticket-id="{ticket["id"]}"]'
            console.page.wait_for_selector(f'{card}[data-status="{status}"]')
            button = console.card_button(ticket["id"], action)
            enabled = console.page.is_enabled(button)
            seen[(status, action)] = enabled
            if enabled:
                console.post(partial(console.page.click, button), f"/{ticket['id']}/{action}")
            else:
                refused = mine.act(ticket["id"], action, api_body(action, 1))
                assert refused.status_code == 409, f"{status} {action}: {refused.text}"
                assert refused.json()["error"] == "illegal_transition"
            mine.finish()
    # The console agreed with the server's own table on all 48 pairs (and so with the API).
    assert seen == {(s, a): a in table[s] for s in STATES for a in ACTIONS}
    console.page.screenshot(path=output_dir / "console-search-card.png")
    # Waiting tickets are searched in the bounded staff list; the table only for the others.
    searches = [u for u in console.watched.requests if "number=" in u]
    assert any("/waiting?number=" in u for u in searches)
    assert all("/waiting?" in u or "status=" in u for u in searches)
    assert console.watched.errors == []


def test_two_operators_work_thirty_tickets_through_every_action(
    system: RunningSystem, open_page: OpenPage, output_dir: Path
) -> None:
    base, tenant = system.base_url, system.tenant
    admin = system.auth(system.login("admin"))
    # Counter 2 serves only priority (P) tickets unless its operator widens the filter.
    assigned = system.http.patch(
        f"/api/v1/tenants/{tenant}/counters/2", json={"services": ["P"]}, headers=admin
    )
    assert assigned.status_code == 200, assigned.text
    start_the_day_empty(system)
    # The figures of this morning only (the previous test served tickets too).
    morning = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    issuer = Desk(system, 1, "admin")
    tickets = [issuer.issue("A" if i % 3 else "P") for i in range(30)]
    ids = {t["id"] for t in tickets}

    joao = Console(open_page(f"{base}/t/{tenant}/operator?{FAST}", DESK), "operator")
    maria = Console(open_page(f"{base}/t/{tenant}/operator?{FAST}", DESK), "maria")
    joao.sign_in(counter=1)
    joao.open_counter()
    # Maria tries João's counter first: refused, naming him, in Portuguese.
    maria.sign_in(counter=1)
    maria.post(lambda: maria.page.click("#counter-open"), "/open", 409)
    assert maria.page.text_content("#notice") == "Este guichê já está aberto por operator."
    assert maria.page.is_visible("#counter-takeover")
    maria.page.screenshot(path=output_dir / "console-counter-held-pt.png")
    assert english_in(maria.watched) == []
    maria.choose_counter(2)
    maria.open_counter()
    # Her filter starts as the counter's assignment: P only.
    assert maria.page.is_checked('#service-chips input[value="P"]')
    assert not maria.page.is_checked('#service-chips input[value="A"]')

    ended: Counter[tuple[str, str]] = Counter()  # (who, outcome) for tickets they ended
    undone: list[str] = []
    chosen: list[dict[str, Any] | None] = []
    last_caller: dict[str, str] = {}  # ticket id -> who called it last (who served it)

    def finish(console: Console, who: str, ticket: dict[str, Any], kind: int) -> None:
        """End the held ticket the way ``kind`` says (a cycle over every way to end one)."""
        if kind == 0:
            console.action("start")
            console.action("complete")
            ended[(who, "completed")] += 1
        elif kind == 1:
            console.action("complete")  # called -> completed, never started
            ended[(who, "completed")] += 1
        elif kind == 2:
            console.action("no-show")
            if who == "operator" and not undone:
                # Undo from "finished at this counter": the ticket waits again.
                undo = f'#finished li[data-ticket-id="{ticket["id"]}"] [data-action="reactivate"]'
                console.page.wait_for_selector(f"{undo}:not([disabled])")
                console.post(lambda: console.page.click(undo), "/reactivate")
                undone.append(ticket["id"])
            else:
                ended[(who, "no_show")] += 1
        elif kind == 3:
            console.action("recall")
            console.action("start")
            console.action("cancel")
        elif kind == 4:
            console.transfer("P" if who == "operator" else "A")  # back to a queue
        # kind 5: left open; the next call asks how it ended.

    steps: Counter[str] = Counter()
    for console in (joao, maria):
        console.page.evaluate("() => document.activeElement.blur()")
    # Maria widens her filter to A as well: several services, not just one or all.
    maria.page.check('#service-chips input[value="A"]')
    progressed = True
    while progressed:
        progressed = False
        for console, who in ((joao, "operator"), (maria, "maria")):
            close = None
            if console.held() is not None:  # left open by the last step: choose its outcome
                # (a step just after "left open": steps[who] is a multiple of 6 here)
                close = "no_show" if steps[who] % 12 == 0 else "completed"
            if close is not None and who == "operator" and steps[who] % 12 == 6:
                ticket = console.call_chosen(close)  # a chosen ticket, out of order
                chosen.append(ticket)
            else:
                ticket = console.call_next(close)
            if ticket is None:
                continue
            if close is not None:
                ended[(who, close)] += 1
            progressed = True
            last_caller[ticket["id"]] = who
            assert ticket["id"] in ids, "only this morning's tickets are called"
            assert console.held() == ticket["id"]
            # The pinned ticket's clock runs.
            console.page.wait_for_function(
                "() => /\\d\\d:\\d\\d/.test(document.querySelector('#service-timer')?.textContent)"
            )
            finish(console, who, ticket, steps[who] % 6)
            steps[who] += 1
    for console, who in ((joao, "operator"), (maria, "maria")):
        if console.held() is not None:
            console.action("complete")
            ended[(who, "completed")] += 1
    assert undone, "the undo path ran"
    assert chosen, "a chosen ticket was called while the counter held one"
    assert ended[("maria", "no_show")] > 0
    assert min(steps.values()) >= 6, f"every way to end a ticket, by both: {steps}"
    joao.page.screenshot(path=output_dir / "console-joao-end.png")
    maria.page.screenshot(path=output_dir / "console-maria-end.png")

    # A pause blocks calling until resumed.
    joao.page.fill("#pause-reason", "Almoço")
    joao.post(lambda: joao.page.click("#counter-pause"), "/pause")
    joao.page.wait_for_selector('#counter-state[data-status="paused"]')
    assert joao.page.is_disabled("#call-next")
    joao.page.screenshot(path=output_dir / "console-paused.png")
    joao.post(lambda: joao.page.click("#counter-resume"), "/resume")
    assert joao.page.is_enabled("#call-next")
    # Maria takes João's counter over explicitly: his console follows live and stops calling.
    maria.choose_counter(1)
    maria.post(lambda: maria.page.click("#counter-takeover"), "/open")
    maria.page.wait_for_selector('#counter-state[data-status="open"][data-mine="true"]')
    joao.page.wait_for_selector('#counter-state[data-status="open"][data-mine="false"]')
    assert joao.page.text_content("#counter-status") == "Aberto por maria"
    assert joao.page.is_disabled("#call-next")
    joao.page.screenshot(path=output_dir / "console-taken-over.png")
    # An operator holds one counter: taking counter 1 closed Maria's counter 2.
    assert Desk(system, 2, "maria").state()["status"] == "closed"
    maria.post(lambda: maria.page.click("#counter-close"), "/close")

    # Nothing is left open, nothing waits, and the figures per attendant match.
    staff = system.auth(system.login("admin"))
    path = f"/api/v1/tenants/{tenant}"
    open_left = system.http.get(
        f"{path}/tickets",
        params={"status": ["waiting", "called", "in_service"], "limit": 100},
        headers=staff,
    ).json()
    assert [t["number"] for t in open_left] == []
    stats = system.http.get(f"{path}/stats", params={"from": morning}, headers=staff).json()
    attendants = {a["username"]: a for a in stats["attendants"]}
    for who in ("operator", "maria"):
        assert attendants[who]["completed"] == ended[(who, "completed")], who
        assert attendants[who]["no_show"] == ended[(who, "no_show")], who
        served = sum(1 for caller in last_caller.values() if caller == who)
        assert attendants[who]["called"] == served, who
    assert attendants["operator"]["pause_s"] >= 0
    for console in (joao, maria):
        assert console.watched.errors == []


def test_the_console_lists_the_waiting_tickets_from_the_staff_endpoint(
    system: RunningSystem, open_page: OpenPage
) -> None:
    """The queue document carries only the next 10 tickets; the console's list is the first
    page of GET .../waiting, and its count is the total waiting, not the 10 it was sent."""
    base = f"/api/v1/tenants/{system.tenant}"
    totem = system.auth(system.device_token(role="totem", device_id="totem-console-list"))
    for _ in range(25):
        issued = system.http.post(f"{base}/tickets", json={"service": "A"}, headers=totem)
        assert issued.status_code == 201, issued.text
    staff = system.auth(system.login("operator"))
    total = system.http.get(f"{base}/waiting", params={"limit": 1}, headers=staff).json()["total"]
    assert total >= 25
    assert len(system.http.get(f"{base}/queue").json()["waiting"]) == 10
    console = Console(
        open_page(f"{system.base_url}/t/{system.tenant}/operator?{FAST}", DESK), "operator"
    )
    console.sign_in(counter=1)
    console.page.wait_for_function(
        "(n) => document.querySelectorAll('#queue li[data-ticket-id]').length === n",
        arg=min(total, 100),
    )
    assert console.page.text_content("#queue-count") == f"({total})"
    assert console.watched.errors == []
