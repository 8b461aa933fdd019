// Public call display: reduce queue snapshots to what the TV shows, and render it.
// URL options: ?lang=pt-BR|en|es  ?services=A,P  ?counters=1,2  ?history=6  ?recent=60 (seconds)
//              ?poll=5 (seconds between HTTP polls while MQTT is down)  ?reconnect_max=30 (seconds)

import { request } from "./api.js";
import { CallAnnouncements, latestPerTicket } from "./calls.js";
import {
  expose,
  h,
  listParam,
  notice,
  numberParam,
  pageConnection,
  params,
  readConfig,
  render,
  showConnection,
  soundButton,
  startClock,
} from "./dom.js";
import { I18n } from "./i18n.js";
import { LiveConnection } from "./live.js";
import { applyBranding } from "./branding.js";
import { pairScreenButton, screenConnection } from "./pairing.js";

const HIGHLIGHT_MS = 10000;

const config = readConfig();
const i18n = new I18n(params.get("lang"));
const el = Object.fromEntries(
  ["tenant-name", "bar-end", "conn", "clock", "current", "current-call", "history", "waiting", "ticker", "ticker-text", "sound", "notice", "spoken"].map(
    (id) => [id, document.getElementById(id)],
  ),
);

const filter = { services: listParam("services"), counters: listParam("counters")?.map(Number) };
const historySize = numberParam("history", 6);
const shows = (call) =>
  (!filter.services || filter.services.includes(call.service)) &&
  (!filter.counters || filter.counters.includes(call.counter));

const state = { snapshot: null, highlight: null, status: "connecting" };
let highlightTimer = null;

const calls = new CallAnnouncements({
  tenant: config.tenant,
  name: "display",
  i18n,
  accept: shows,
  liveRegion: el.spoken,
  recentMs: numberParam("recent", 60) * 1000,
  onCall: (call) => {
    state.highlight = call.call_id;
    clearTimeout(highlightTimer);
    highlightTimer = setTimeout(() => {
      state.highlight = null;
      draw();
    }, HIGHLIGHT_MS);
  },
});

function onDocument(doc) {
  if (doc.type !== "queue_update") return;
  state.snapshot = doc;
  i18n.follow(doc);
  notice(el.notice, null);
  calls.consider(doc);
  draw();
}

function draw() {
  const snapshot = state.snapshot;
  const name = snapshot?.tenant_name ?? config.tenant;
  el["tenant-name"].textContent = name;
  applyBranding(snapshot, el["tenant-name"]);
  document.title = `${name} · QueueCast`;
  // The ticker first: it takes height from the history, which is measured below.
  const ticker = snapshot?.ticker?.trim();
  el.ticker.hidden = !ticker;
  el["ticker-text"].textContent = ticker ?? "";
  const shown = snapshot ? latestPerTicket(snapshot.last_calls.filter(shows)) : [];
  const [current, ...earlier] = shown;
  render(el["current-call"], current ? currentCall(current, snapshot) : h("p", { class: "none" }, i18n.t("display.none")));
  el.current.classList.toggle("is-new", Boolean(current) && current.call_id === state.highlight);
  el.current.dataset.callId = current?.call_id ?? "";
  render(el.waiting, snapshot ? waitingChips(snapshot) : []);
  render(el.history, earlier.slice(0, historySize).map(historyItem));
  dropRowsThatDoNotFit(el.history);
  showConnection(el.conn, state.status, i18n);
}

/** A row cut by the bottom of its list is unreadable at 5 m: show fewer rows, each whole. */
function dropRowsThatDoNotFit(list) {
  const bottom = list.getBoundingClientRect().bottom;
  for (const row of [...list.children].reverse()) {
    if (row.getBoundingClientRect().bottom <= bottom + 0.5) break;
    row.remove();
  }
}

function currentCall(call, snapshot) {
  const service = snapshot.services.find((s) => s.prefix === call.service);
  return [
    h(
      "div",
      { class: "call-stack" },
      h("div", { class: "call-part" }, h("span", { class: "caption" }, i18n.t("ticket")), h("strong", { class: "big-number numbers" }, call.number)),
      h(
        "div",
        { class: "call-part place" },
        h("span", { class: "caption" }, i18n.t("display.place")),
        h("strong", { class: "big-counter", dataset: { counter: call.counter } }, i18n.place(call.counter, call.counter_name)),
      ),
    ),
    service ? h("p", { class: "service-name" }, service.name) : null,
  ];
}

function historyItem(call) {
  return h(
    "li",
    { dataset: { callId: call.call_id, ticketId: call.ticket_id } },
    h("span", { class: "number numbers" }, call.number),
    h("span", { class: "to" }, i18n.place(call.counter, call.counter_name)),
    h("time", { class: "time numbers", datetime: call.called_at }, i18n.time(call.called_at)),
  );
}

/** Under the "Waiting" heading: each service and how many wait for it (a name is cut, the
 * count never is). */
function waitingChips(snapshot) {
  return snapshot.services
    .filter((s) => !filter.services || filter.services.includes(s.prefix))
    .map((s) =>
      h("li", { dataset: { service: s.prefix } }, h("span", { class: "service" }, s.name), h("strong", { class: "numbers" }, String(s.waiting))),
    );
}

i18n.apply();
draw();
// Redraw when the stage changes size (window, the sound button leaving the bar, a late font):
// rows dropped for lack of room come back, rows that no longer fit go.
let resizeFrame = 0;
new ResizeObserver(() => {
  cancelAnimationFrame(resizeFrame);
  resizeFrame = requestAnimationFrame(draw);
}).observe(document.querySelector(".stage"));
startClock(el.clock, i18n);
soundButton(el.sound, calls.speaker);
const live = new LiveConnection({
  ...screenConnection(config, "display"),
  topics: [config.topics.queue],
  poll: async () => [await request(`${config.api}/queue`)],
  onDocument,
  ...pageConnection({ state, el, i18n }),
}).start();
expose({ state, live });
// In the bar too: a floating button would cover the ticker.
const pair = pairScreenButton(config, "display", i18n);
if (pair) el["bar-end"].prepend(pair);
