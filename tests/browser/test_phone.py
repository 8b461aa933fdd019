"""The phone follower page through the real running system: it follows its own ticket topic and
nothing else (the MQTT frames it sends and receives are read off its WebSocket), still shows its
place moving and announces the call and a recall; it raises a system notification for a call
while in the background, after the user tapped "notify me"; it fits a phone screen with a long
tenant name; an unknown ticket shows the error alone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocket

from protocol.topics import queue_topic, ticket_topic
from publisher_api.store.snapshot import WAIT_MODEL_MAX_AGE_S
from tests.browser.conftest import FAST, PHONE, wait_live
from tests.browser.conftest import Watched as _Watched
from tests.support.desk import Desk
from tests.support.system import RunningSystem, start_system

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TENANT_NAME = "Policlínica Municipal Doutor Álvaro Fagundes — Unidade Leste"  # 60 characters

# Records the notifications the page raises and the permission requests it makes; lets the test
# put the page in the background (headless pages are always "visible").
_NOTIFICATION_PROBE = """
(() => {
  const Real = window.Notification;
  window.__notes = [];
  window.__asked = 0;
  class Probe extends Real {
    constructor(title, options = {}) {
      super(title, options);
      window.__notes.push({ title, body: options.body ?? "" });
    }
  }
  Object.defineProperty(Probe, "permission", { get: () => Real.permission });
  Probe.requestPermission = (...args) => {
    window.__asked += 1;
    return Real.requestPermission(...args);
  };
  window.Notification = Probe;
  let hidden = false;
  const state = () => (hidden ? "hidden" : "visible");
  Object.defineProperty(document, "visibilityState", { get: state });
  Object.defineProperty(document, "hidden", { get: () => hidden });
  window.__setHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();
"""


@dataclass
class MqttFrames:
    """What a page said and heard over its MQTT WebSocket, parsed from the frames."""

    subscribed: list[str] = field(default_factory=list)
    published: list[tuple[str, int]] = field(default_factory=list)
    """(topic, payload bytes) of every PUBLISH the page received."""

    def watch(self, ws: WebSocket) -> None:
        ws.on("framesent", lambda payload: self._sent(_bytes(payload)))
        ws.on("framereceived", lambda payload: self._received(_bytes(payload)))

    def _sent(self, data: bytes) -> None:
        for kind, body in _packets(data):
            if kind == 8:  # SUBSCRIBE: packet id, then (topic filter, QoS) pairs
                at = 2
                while at < len(body):
                    size = int.from_bytes(body[at : at + 2], "big")
                    self.subscribed.append(body[at + 2 : at + 2 + size].decode())
                    at += 3 + size

    def _received(self, data: bytes) -> None:
        for kind, body in _packets(data):
            if kind == 3:  # PUBLISH: topic, (packet id at QoS > 0), payload
                size = int.from_bytes(body[:2], "big")
                topic = body[2 : 2 + size].decode()
                self.published.append((topic, len(body) - 2 - size))


def _bytes(payload: str | bytes) -> bytes:
    return payload if isinstance(payload, bytes) else payload.encode()


def _packets(data: bytes) -> Iterator[tuple[int, bytes]]:
    """MQTT packets of one WebSocket frame (MQTT.js sends whole packets, sometimes several)."""
    at = 0
    while at < len(data):
        kind = data[at] >> 4
        length, shift, at = 0, 0, at + 1
        while True:
            byte = data[at]
            at += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        yield kind, data[at : at + length]
        at += length


@pytest.fixture
def system(tmp_path: Path) -> Iterator[RunningSystem]:
    with start_system(tmp_path) as running:
        yield running


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=PHONE, locale="pt-BR")
    yield context
    context.close()


def _open(context: BrowserContext, url: str, frames: MqttFrames | None = None) -> _Watched:
    page = context.new_page()
    watched = _Watched(page)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    if frames is not None:
        page.on("websocket", frames.watch)
    page.goto(url)
    return watched


def _figures(page: Page, *expected: str) -> None:
    page.wait_for_function(
        """(expected) => {
            const shown = [...document.querySelectorAll("#facts dd")].map((d) => d.textContent);
            return expected.every((text, i) => shown[i] === text);
        }""",
        arg=list(expected),
        timeout=20_000,
    )


def _announced(page: Page) -> list[str]:
    numbers: list[str] = page.evaluate("window.queuecast.announced.map((a) => a.call_id)")
    return numbers


def test_phone_follows_only_its_ticket_topic_and_announces_a_call_and_a_recall(
    system: RunningSystem, phone: BrowserContext, output_dir: Path
) -> None:
    desk = Desk(system, 1)
    desk.open()
    desk.finish()
    ahead = [desk.issue("A") for _ in range(2)]
    mine = desk.issue("A")
    frames = MqttFrames()
    follower = _open(
        phone, f"{system.base_url}/t/{system.tenant}/ticket/{mine['id']}?{FAST}", frames
    )
    page = follower.page
    wait_live(follower)
    _figures(page, "3º", "2")
    page.screenshot(path=output_dir / "phone-third.png")

    # Its place moves as the tickets ahead are called: told on its ticket topic.
    desk.call(ahead[0]["id"])
    _figures(page, "2º", "1")
    desk.call(ahead[1]["id"])
    _figures(page, "1º", "0")

    call = desk.call(mine["id"])
    page.wait_for_selector('#sheet[data-status="called"] #called:not([hidden])')
    page.wait_for_function("() => window.queuecast.announced.length === 1")
    assert _announced(page) == [call["call_id"]]
    recall = desk.act(mine["id"], "recall")
    assert recall.status_code == 200, recall.text
    page.wait_for_function("() => window.queuecast.announced.length === 2", timeout=20_000)
    assert _announced(page) == [call["call_id"], recall.json()["call_id"]]
    spoken = page.evaluate("window.queuecast.announced.map((a) => a.text)")
    assert spoken[0] == spoken[1], "the recall is announced in the same words"
    page.screenshot(path=output_dir / "phone-recalled.png")

    own = ticket_topic(system.tenant, mine["id"])
    assert frames.subscribed == [own], "its own ticket topic, nothing else"
    topics = {topic for topic, _ in frames.published}
    assert topics == {own}, f"received {topics}"
    assert queue_topic(system.tenant) not in topics
    biggest = max(size for _, size in frames.published)
    assert biggest <= 1024, f"a ticket document of {biggest} bytes"
    assert follower.errors == []


def test_phone_notifies_a_call_in_the_background_after_the_user_asked(
    system: RunningSystem, phone: BrowserContext, output_dir: Path
) -> None:
    desk = Desk(system, 1)
    desk.open()
    desk.finish()
    mine = desk.issue("A")
    phone.add_init_script(_NOTIFICATION_PROBE)
    follower = _open(phone, f"{system.base_url}/t/{system.tenant}/ticket/{mine['id']}?{FAST}")
    page = follower.page
    wait_live(follower)
    page.wait_for_selector("#notify:not([hidden])")
    assert page.text_content("#notify") == "Avisar-me com uma notificação"
    assert page.evaluate("window.__asked") == 0, "no permission prompt on load"
    page.screenshot(path=output_dir / "phone-notify-button.png")

    phone.grant_permissions(["notifications"], origin=system.base_url)
    page.click("#notify")
    page.wait_for_selector("#notify-on:not([hidden])")
    assert page.is_hidden("#notify")
    assert page.evaluate("window.__asked") == 1

    page.evaluate("window.__setHidden(true)")
    call = desk.call(mine["id"])
    page.wait_for_function("() => window.__notes.length === 1", timeout=20_000)
    note = page.evaluate("window.__notes[0]")
    assert note == {"title": f"{mine['number']} · É a sua vez!", "body": "Dirija-se a: Guichê 1"}
    assert _announced(page) == [call["call_id"]], "sound and speech as well"

    # In the foreground the call screen, sound and vibration are enough.
    page.evaluate("window.__setHidden(false)")
    assert desk.act(mine["id"], "recall").status_code == 200
    page.wait_for_function("() => window.queuecast.announced.length === 2", timeout=20_000)
    assert page.evaluate("window.__notes.length") == 1
    assert follower.errors == []


def test_phone_fits_a_long_tenant_name_and_the_wait_at_390_by_844(
    system: RunningSystem, phone: BrowserContext, output_dir: Path
) -> None:
    assert len(TENANT_NAME) == 60
    admin = system.auth(system.login("admin"))
    renamed = system.http.patch(
        f"/api/v1/tenants/{system.tenant}", json={"name": TENANT_NAME}, headers=admin
    )
    assert renamed.status_code == 200, renamed.text
    desk = Desk(system, 1)
    desk.open()
    desk.finish()
    served = desk.issue("A")  # one served ticket: the wait has an estimate
    desk.call(served["id"])
    assert desk.act(served["id"], "start").status_code == 200
    desk.finish()
    # Estimates are re-read from history at most every WAIT_MODEL_MAX_AGE_S (5 s): the ticket
    # issued after that is the first whose document carries one.
    time.sleep(WAIT_MODEL_MAX_AGE_S + 0.5)
    mine = desk.issue("A")
    assert mine["estimated_wait_s"] is not None
    follower = _open(phone, f"{system.base_url}/t/{system.tenant}/ticket/{mine['id']}?{FAST}")
    page = follower.page
    wait_live(follower)
    page.wait_for_function(
        "() => document.querySelectorAll('#facts dd').length === 3", timeout=20_000
    )
    page.wait_for_function(
        "(name) => document.getElementById('tenant-name').textContent === name", arg=TENANT_NAME
    )
    page.screenshot(path=output_dir / "phone-long-name.png")
    layout = page.evaluate(
        """() => {
            const box = (id) => document.getElementById(id).getBoundingClientRect();
            const name = document.getElementById("tenant-name");
            const lines = (el) => {
                const range = document.createRange();
                range.selectNodeContents(el);
                return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
            };
            const dds = [...document.querySelectorAll("#facts dd")];
            return {
                pageWidth: document.documentElement.scrollWidth,
                name: box("tenant-name"),
                nameLines: Math.round(name.getBoundingClientRect().height /
                    parseFloat(getComputedStyle(name).lineHeight)),
                conn: box("conn"),
                overflowing: dds
                    .filter((d) => d.scrollWidth > d.clientWidth)
                    .map((d) => d.textContent),
                waitLines: lines(dds[2]),
                wait: dds[2].textContent,
            };
        }"""
    )
    assert layout["pageWidth"] <= PHONE["width"], "nothing sticks out sideways"
    assert layout["nameLines"] <= 2, "a long name takes two lines at most"
    assert layout["name"]["right"] <= layout["conn"]["left"], "the badge keeps its place"
    assert layout["conn"]["right"] <= PHONE["width"]
    assert layout["overflowing"] == []
    assert layout["waitLines"] == 1, f"the wait {layout['wait']!r} is on one line"
    assert follower.errors == []


def test_phone_for_an_unknown_ticket_shows_the_error_alone(
    system: RunningSystem, phone: BrowserContext, output_dir: Path
) -> None:
    missing = "0" * 8 + "-0000-4000-8000-" + "0" * 12
    follower = _open(phone, f"{system.base_url}/t/{system.tenant}/ticket/{missing}?{FAST}")
    page = follower.page
    page.wait_for_selector("#notice:not([hidden])", timeout=20_000)
    assert page.text_content("#notice") == "Senha não encontrada. Confira o link ou o QR code."
    assert page.is_hidden("#sheet"), "no card with a loading placeholder under the error"
    assert page.is_hidden("#number")
    page.screenshot(path=output_dir / "phone-unknown-ticket-alone.png")
