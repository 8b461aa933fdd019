"""The pages' shared ES modules, run in the real browser on our own origin: the announcement
rule, seq ordering, the document decoder (checked against protocol/), i18n, the chime, the
presence document, the polling fallback and the reconnect schedule."""

from __future__ import annotations

import itertools
import json
import struct
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from protocol import DevicePresence, ProtocolError, decode
from protocol.topics import device_status_topic, device_status_wildcard
from tests.browser.conftest import NewContext
from tests.support.system import RunningSystem, start_system

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with start_system(tmp_path_factory.mktemp("modules")) as running:
        yield running


@pytest.fixture
def page(new_context: NewContext, system: RunningSystem) -> Page:
    """A page on our origin (the display page; its modules are importable from there)."""
    page = new_context().new_page()
    page.goto(f"{system.base_url}/t/{system.tenant}/display")
    return page


def run(page: Page, body: str, arg: Any = None) -> Any:
    """Run ``body`` (an async function body with ``arg`` in scope) in the page."""
    return page.evaluate(f"async (arg) => {{ {body} }}", arg)


def call(call_id: str, age_s: float, *, counter: int = 1, service: str = "A") -> dict[str, Any]:
    return {"call_id": call_id, "age_s": age_s, "counter": counter, "service": service}


ANNOUNCER = """
  const { Announcer } = await import("/web/js/announce.js");
  const NOW = Date.parse("2026-11-29T12:00:00Z");
  const store = new Map();
  const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
  const make = (accept) =>
    new Announcer({ recentMs: 60000, accept, storage, storageKey: "k", now: () => NOW });
  const lastCalls = (calls) => calls.map((c) => ({
    call_id: c.call_id, ticket_id: "t-" + c.call_id, number: "A" + c.call_id, service: c.service,
    counter: c.counter, counter_name: "Guichê " + c.counter,
    called_at: new Date(NOW - c.age_s * 1000).toISOString(),
  }));
  const ids = (calls) => calls.map((c) => c.call_id);
"""


def test_first_snapshot_is_silent_except_recent_unseen_calls(page: Page) -> None:
    # Newest first, as in last_calls: two recent calls and two old ones.
    snapshot = [call("4", 5), call("3", 30), call("2", 120), call("1", 3600)]
    announced = run(
        page, ANNOUNCER + "return ids(make(() => true).consider(lastCalls(arg)));", snapshot
    )
    assert announced == ["3", "4"]  # oldest first, old calls never


def test_each_call_is_announced_once_and_a_reconnect_replays_nothing(page: Page) -> None:
    body = (
        ANNOUNCER
        + """
      const a = make(() => true);
      const first = ids(a.consider(lastCalls(arg.before)));
      const again = ids(a.consider(lastCalls(arg.before)));          // same retained snapshot
      const outage = ids(a.consider(lastCalls(arg.after)));          // back after an outage
      const reloaded = ids(make(() => true).consider(lastCalls(arg.after)));  // page reload
      return { first, again, outage, reloaded };
    """
    )
    before = [call("2", 10), call("1", 20)]
    after = [call("4", 2), call("3", 4), *before]
    result = run(page, body, {"before": before, "after": after})
    assert result == {"first": ["1", "2"], "again": [], "outage": ["3", "4"], "reloaded": []}


def test_announcer_applies_the_screens_filter(page: Page) -> None:
    body = ANNOUNCER + "return ids(make((c) => c.counter === 2).consider(lastCalls(arg)));"
    assert run(page, body, [call("2", 1, counter=2), call("1", 2, counter=1)]) == ["2"]


def test_seq_gate_drops_older_snapshots_only(page: Page) -> None:
    body = """
      const { SeqGate } = await import("/web/js/documents.js");
      const gate = new SeqGate();
      const q = (seq) => ({ type: "queue_update", seq });
      const t = (id, seq) => ({ type: "ticket_update", seq, ticket: { id } });
      const ev = (seq) => ({ type: "ticket_status_changed", seq, ticket: { id: "x" } });
      return [gate.accept(q(5)), gate.accept(q(4)), gate.accept(q(5)), gate.accept(q(6)),
              gate.accept(t("a", 3)), gate.accept(t("b", 1)), gate.accept(t("a", 2)),
              gate.accept(t("a", null)), gate.accept(ev(1))];
    """
    assert run(page, body) == [True, False, True, True, True, True, False, True, True]


GARBAGE = [
    "not json",
    "[]",
    '{"type": "queue_update"}',
    '{"type": "something_else", "version": 1}',
    '{"type": "device_presence", "version": 1, "tenant": "default"}',
]


def test_decoder_accepts_the_apis_documents_and_rejects_what_protocol_rejects(
    page: Page, system: RunningSystem
) -> None:
    snapshot = system.http.get(f"/api/v1/tenants/{system.tenant}/queue").text
    body = """
      const { decode, ProtocolError } = await import("/web/js/documents.js");
      const verdict = (text) => {
        try { return decode(new TextEncoder().encode(text))?.type ?? "cleared"; }
        catch (e) { return e instanceof ProtocolError ? "rejected" : "crashed: " + e; }
      };
      return { good: verdict(arg.good), empty: verdict(""), future: verdict(arg.future),
               bounded: verdict(arg.bounded), garbage: arg.garbage.map(verdict) };
    """
    # Version 2 is the bounded queue document (protocol.VERSIONS): read; 3 is not known yet.
    bounded = json.dumps({**json.loads(snapshot), "version": 2})
    future = json.dumps({**json.loads(snapshot), "version": 3})
    arg = {"good": snapshot, "future": future, "bounded": bounded, "garbage": GARBAGE}
    result = run(page, body, arg)
    assert result["good"] == "queue_update"
    assert result["bounded"] == "queue_update"
    assert result["empty"] == "cleared"
    assert result["future"] == "rejected"
    assert result["garbage"] == ["rejected"] * len(GARBAGE)
    for text in GARBAGE:  # the same payloads are junk for the Python decoder too
        with pytest.raises(ProtocolError):
            decode(text)


def test_presence_document_and_topic_are_the_protocols(page: Page, system: RunningSystem) -> None:
    body = """
      const { presenceTopic, presencePayload } = await import("/web/js/documents.js");
      let refused = false;
      try { presenceTopic(arg.wildcard, "bad/id"); } catch { refused = true; }
      return { topic: presenceTopic(arg.wildcard, "totem-7"), refused,
               payload: presencePayload(arg.tenant, "totem-7", "totem", "online") };
    """
    wildcard = device_status_wildcard(system.tenant)
    result = run(page, body, {"wildcard": wildcard, "tenant": system.tenant})
    assert result["topic"] == device_status_topic(system.tenant, "totem-7")
    assert result["refused"] is True
    presence = decode(result["payload"])
    assert isinstance(presence, DevicePresence)
    assert (presence.device_id, presence.role, presence.status) == ("totem-7", "totem", "online")


def test_every_language_has_every_text_and_speaks_the_call(page: Page) -> None:
    body = """
      const { I18n, tableKeys, matchLanguage } = await import("/web/js/i18n.js");
      const speak = (lang) => new I18n(lang).spokenCall("A023", 3);
      const named = (lang) => new I18n(lang).spokenCall("A023", "Sala de Coleta 4");
      return { keys: tableKeys(), pt: speak("pt-BR"), en: speak("en"), es: speak("es-AR"),
               named: ["pt-BR", "en", "es"].map(named),
               match: ["pt", "en-US", "es-419", "fr", ""].map(matchLanguage),
               wait: [30, 300, 4000, null].map((s) => new I18n("en").wait(s)),
               duration: [12.4, 300, 4000, null].map((s) => new I18n("es").duration(s)) };
    """
    result = run(page, body)
    keys = result["keys"]
    assert set(keys) == {"pt-BR", "en", "es"}
    assert set(keys["pt-BR"]) == set(keys["en"]) == set(keys["es"])
    assert result["pt"] == "Senha A, 0 2 3. Guichê 3."
    assert result["en"] == "Ticket A, 0 2 3. Counter 3."
    assert result["es"] == "Turno A, 0 2 3. Ventanilla 3."
    assert result["named"] == [
        "Senha A, 0 2 3. Sala de Coleta 4.",
        "Ticket A, 0 2 3. Sala de Coleta 4.",
        "Turno A, 0 2 3. Sala de Coleta 4.",
    ]
    assert result["match"] == ["pt-BR", "en", "es", None, None]
    assert result["wait"] == ["under 1 min", "~5 min", "~1 h 7 min", "—"]
    assert result["duration"] == ["12 s", "5 min", "1 h 7 min", "—"]


def test_chime_is_synthesised_and_audible(page: Page, output_dir: Path) -> None:
    body = """
      const { renderChime } = await import("/web/js/sound.js");
      return Array.from(await renderChime(22050));
    """
    samples: list[float] = run(page, body)
    assert len(samples) > 22050  # longer than a second
    rms = (sum(s * s for s in samples) / len(samples)) ** 0.5
    assert rms > 0.02, "the chime is silent"
    assert max(abs(s) for s in samples) < 1.0, "the chime clips"
    with wave.open(str(output_dir / "chime.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(22050)
        out.writeframes(b"".join(struct.pack("<h", int(s * 32767)) for s in samples))


def dead_broker(system: RunningSystem) -> str:
    """A WebSocket URL the page's CSP allows (our own origin) where no broker answers."""
    return system.ws_url.replace("/mqtt", "/no-broker-here")


def test_live_connection_falls_back_to_polling_when_the_broker_is_unreachable(
    page: Page, system: RunningSystem
) -> None:
    body = """
      const { LiveConnection } = await import("/web/js/live.js");
      const { request } = await import("/web/js/api.js");
      const statuses = [], docs = [];
      const live = new LiveConnection({
        credentials: async () =>
          ({ wsUrl: arg.deadWs, username: "x", password: "y", expiresAt: null }),
        topics: [], poll: async () => [await request(arg.queue)],
        onDocument: (doc, source) => docs.push([doc.type, source]),
        onStatus: (s) => statuses.push(s), pollIntervalMs: 200, reconnectMaxMs: 1000,
      }).start();
      await new Promise((r) => setTimeout(r, 2500));
      live.stop();
      return { statuses, docs: docs.slice(0, 2) };
    """
    dead_ws = dead_broker(system)
    queue = f"/api/v1/tenants/{system.tenant}/queue"
    result = run(page, body, {"deadWs": dead_ws, "queue": queue})
    assert result["statuses"][0] == "connecting"
    assert "polling" in result["statuses"]
    assert "live" not in result["statuses"]
    assert result["docs"] == [["queue_update", "http"], ["queue_update", "http"]]


def test_live_connection_refreshes_expiring_credentials_ahead_of_time(
    page: Page, system: RunningSystem
) -> None:
    body = """
      const { LiveConnection } = await import("/web/js/live.js");
      let fetched = 0;
      const live = new LiveConnection({
        // Nothing listens there: the connection stays down, which does not stop the refresh.
        credentials: async () => {
          fetched += 1;
          return { wsUrl: arg.deadWs, username: "x", password: "y",
                   expiresAt: new Date(Date.now() + 6000).toISOString() };
        },
        topics: [], poll: async () => [], onDocument: () => {},
        reconnectMinMs: 60000, reconnectMaxMs: 60000,
      }).start();
      for (let waited = 0; fetched < 2 && waited < 15000; waited += 100) {
        await new Promise((r) => setTimeout(r, 100));
      }
      live.stop();
      return fetched;
    """
    fetched = run(page, body, {"deadWs": dead_broker(system)})
    assert fetched == 2  # the connect, then a refresh before the 6 s lifetime ends


def test_announcements_play_one_after_another_never_overlapping(page: Page) -> None:
    body = """
      const { Speaker } = await import("/web/js/sound.js");
      const speaker = new Speaker({ lang: () => "pt-BR" });
      await Promise.all(["Senha A, 0 0 1", "Senha A, 0 0 2", "Senha A, 0 0 3"].map(
        (text) => speaker.announce(text)));
      return speaker.played;
    """
    played = run(page, body)
    assert [p["text"][-1] for p in played] == ["1", "2", "3"]
    assert all(p["chime"] for p in played), "Web Audio did not run (autoplay allowed in tests)"
    for earlier, later in itertools.pairwise(played):
        assert later["at"] >= earlier["end"], "two announcements overlapped"


def test_every_api_error_code_reads_in_the_page_language_never_the_server_message(
    page: Page,
) -> None:
    body = """
      const { I18n, ERROR_CODES } = await import("/web/js/i18n.js");
      const { ApiError } = await import("/web/js/api.js");
      const MESSAGE = "the server's English message";
      const extras = { status: "called", command: "complete", ticket: { number: "A023" },
                       holder: "maria", reason: "almoço" };
      const out = {};
      for (const lang of ["pt-BR", "en", "es"]) {
        const i18n = new I18n(lang);
        const texts = {};
        for (const code of [...ERROR_CODES, "something_new"]) {
          const status = code === "internal_error" ? 500 : 409;
          const body = { error: code, message: MESSAGE, ...extras };
          texts[code] = i18n.error(new ApiError(status, MESSAGE, body));
        }
        texts.network = i18n.error(new ApiError(0, "network error"));
        texts.unparsed = i18n.error(new ApiError(502, "502 Bad Gateway", null));
        out[lang] = texts;
      }
      return out;
    """
    result = run(page, body)
    for lang, texts in result.items():
        for code, text in texts.items():
            assert text, (lang, code)
            assert "English message" not in text, (lang, code)
            assert not text.startswith("error."), f"{lang} has no text for {code}"
    pt = result["pt-BR"]
    assert pt["counter_held"] == "Este guichê já está aberto por maria."
    assert pt["counter_busy"].startswith("O guichê ainda está com a senha A023")
    assert pt["counter_paused"] == "Guichê em pausa (almoço). Retome para chamar."
    assert pt["illegal_transition"] == "Ação não permitida: a senha está «Chamada»."
    assert pt["something_new"] == "Algo deu errado (código 409). Tente novamente."
    assert pt["unparsed"] == result["pt-BR"]["internal_error"]
    assert result["es"]["network"].startswith("Sin respuesta del servidor")


# --- the reconnect schedule (live.js) -------------------------------------------------------------
# Every page of a site loses the broker at the same moment, so the first attempt after a loss is
# already spread over ``reconnectSpreadMs``; later failures back off exponentially. The delays are
# read from the timers the page sets (Math.random pinned), so nothing here waits for them.

RECONNECT_SCHEDULE = """
  const { LiveConnection } = await import("/web/js/live.js");
  const live = new LiveConnection({
    credentials: async () => { throw new Error("not used"); },
    topics: [], poll: async () => [], onDocument: () => {},
    pollIntervalMs: 600000, reconnectMinMs: 1000, reconnectMaxMs: arg.maxMs,
  });
  const realRandom = Math.random, realSetTimeout = window.setTimeout;
  const delays = [];
  Math.random = () => arg.random;
  window.setTimeout = (fn, ms) => {
    if (ms > 0) delays.push(ms);  // the polling fallback's first tick is 0 ms
    return realSetTimeout(() => {}, 0);
  };
  try {
    for (let i = 0; i < 4; i += 1) live.lost();
  } finally {
    Math.random = realRandom;
    window.setTimeout = realSetTimeout;
    live.stop();
  }
  return delays;
"""


def reconnect_schedule(page: Page, *, random: float, max_ms: int = 30000) -> list[float]:
    return list(
        page.evaluate(
            f"async (arg) => {{ {RECONNECT_SCHEDULE} }}", {"random": random, "maxMs": max_ms}
        )
    )


def test_the_first_reconnect_is_spread_over_five_seconds_then_backs_off(page: Page) -> None:
    assert reconnect_schedule(page, random=1.0) == [5000, 1000, 2000, 4000]
    assert reconnect_schedule(page, random=0.5) == [2500, 750, 1500, 3000]


def test_the_spread_never_exceeds_the_reconnect_ceiling(page: Page) -> None:
    assert reconnect_schedule(page, random=1.0, max_ms=2000) == [2000, 1000, 2000, 2000]
