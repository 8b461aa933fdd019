// Phone follower of one ticket: reduce its ticket_update and the queue snapshot to position,
// estimated wait and status; when it is called, say where to go (sound, vibration, big text).
// URL options: ?lang=  ?recent=60  ?poll=5  ?reconnect_max=30

import { ApiError, request } from "./api.js";
import { CallAnnouncements } from "./calls.js";
import { ticketDocument } from "./documents.js";
import { expose, h, notice, numberParam, pageConnection, params, readConfig, render, showConnection, soundButton } from "./dom.js";
import { I18n } from "./i18n.js";
import { LiveConnection, publicCredentials } from "./live.js";

const ENDED = new Set(["completed", "no_show", "cancelled"]);

const config = readConfig();
const ticketId = config.ticket_id;
const i18n = new I18n(params.get("lang"));
const el = Object.fromEntries(
  ["tenant-name", "conn", "sheet", "number", "service", "status", "called", "called-go", "facts", "hint", "sound", "notice", "spoken"].map(
    (id) => [id, document.getElementById(id)],
  ),
);

const state = { ticket: null, snapshot: null, notFound: false, status: "connecting" };

const calls = new CallAnnouncements({
  tenant: config.tenant,
  name: `ticket:${ticketId}`,
  i18n,
  accept: (call) => call.ticket_id === ticketId,
  liveRegion: el.spoken,
  recentMs: numberParam("recent", 60) * 1000,
  onCall: () => navigator.vibrate?.([400, 200, 400, 200, 400]),
});

function onDocument(doc) {
  if (doc.type === "ticket_update" && doc.ticket.id === ticketId) {
    state.ticket = doc.ticket;
    state.notFound = false;
  } else if (doc.type === "queue_update") {
    state.snapshot = doc;
    i18n.follow(doc);
    calls.consider(doc);
  } else {
    return;
  }
  draw();
}

async function poll() {
  const [queue, ticket] = await Promise.all([
    request(`${config.api}/queue`),
    request(`${config.api}/tickets/${encodeURIComponent(ticketId)}`).catch((error) => {
      if (error instanceof ApiError && error.status === 404) {
        state.notFound = state.ticket === null;
        draw();
        return null;
      }
      throw error;
    }),
  ]);
  return [queue, ticket && ticketDocument(config.tenant, ticket)];
}

function draw() {
  const { ticket, snapshot } = state;
  const name = snapshot?.tenant_name ?? config.tenant;
  el["tenant-name"].textContent = name;
  showConnection(el.conn, state.status, i18n);
  notice(el.notice, state.notFound ? i18n.t("follow.notfound") : null);
  if (!ticket) return;
  document.title = `${ticket.number} · ${name}`;
  el.sheet.dataset.status = ticket.status;
  el.number.textContent = ticket.number;
  el.service.textContent = snapshot?.services.find((s) => s.prefix === ticket.service)?.name ?? ticket.service;
  el.status.textContent = i18n.t(`status.${ticket.status}`);
  el.called.hidden = ticket.status !== "called";
  el["called-go"].textContent = i18n.t("follow.go", { counter: place(ticket, snapshot) });
  render(el.facts, facts(ticket, snapshot));
  el.hint.textContent = hint(ticket, snapshot);
}

/** Where the ticket is called to: its counter's name (the ticket's own, else the snapshot's). */
function place(ticket, snapshot) {
  const name = ticket.counter_name ?? snapshot?.counters.find((c) => c.number === ticket.counter)?.name;
  return i18n.place(ticket.counter, name);
}

function facts(ticket, snapshot) {
  if (ticket.status !== "waiting") return [];
  // Both figures are the server's, counted in the ticket's own line (its service); the snapshot's
  // entry is fresher than the ticket document when both exist.
  const entry = snapshot?.waiting.find((w) => w.id === ticket.id);
  const position = entry?.position ?? ticket.position;
  const ahead = entry?.people_ahead ?? ticket.people_ahead ?? (Number.isInteger(position) ? position - 1 : null);
  const wait = entry ? entry.estimated_wait_s : ticket.estimated_wait_s;
  if (position === null || position === undefined) return [];
  return [
    fact("follow.position", `${position}º`),
    Number.isInteger(ahead) ? fact("follow.ahead", String(ahead)) : null,
    // No estimate yet (no service history today): say nothing rather than a dash.
    typeof wait === "number" ? fact("follow.wait", i18n.wait(wait), "numbers words") : null,
  ];
}

function fact(key, value, kind = "numbers") {
  return h("div", {}, h("dt", {}, i18n.t(key)), h("dd", { class: kind }, value));
}

function hint(ticket, snapshot) {
  if (ticket.status === "waiting") return i18n.t("follow.keep");
  if (ticket.status === "in_service") return i18n.t("follow.serving", { counter: place(ticket, snapshot) });
  if (ENDED.has(ticket.status)) {
    // Ended by the system (call timeout, close of day): say why, so nobody waits on.
    const why = `follow.ended.${ticket.end_reason}`;
    return ticket.end_reason && i18n.has(why) ? i18n.t(why) : i18n.t("follow.ended");
  }
  return "";
}

i18n.apply();
draw();
soundButton(el.sound, calls.speaker);
const live = new LiveConnection({
  credentials: publicCredentials(config.api),
  topics: [config.topics.queue, { filter: config.topics.ticket, fallback: config.topics.tickets }],
  poll,
  onDocument,
  ...pageConnection({ state, el, i18n }),
}).start();
expose({ state, live });
