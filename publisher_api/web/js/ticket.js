// Phone follower of one ticket. It lives on its own ticket topic alone: position, people ahead,
// estimated wait, status and the call to announce (counter, called_at, call_id: every call and
// recall once) all come from the ticket document, a few hundred bytes per change whatever the
// queue length. The tenant's name, branding, language and service names are read once over
// HTTP; the queue document (kilobytes, at every change of the tenant) is never followed: with a
// thousand phones it would be megabytes per call.
// When the page is in the background the call also raises a system notification, once the user
// asked for it (a button: browsers only ask for permission after a tap, and so do we).
// URL options: ?lang=  ?recent=60  ?poll=5  ?reconnect_max=30

import { ApiError, request } from "./api.js";
import { CallAnnouncements } from "./calls.js";
import { ticketDocument } from "./documents.js";
import { expose, h, notice, numberParam, pageConnection, params, readConfig, render, showConnection, soundButton } from "./dom.js";
import { I18n } from "./i18n.js";
import { LiveConnection, publicCredentials } from "./live.js";
import { applyBranding } from "./branding.js";

const ENDED = new Set(["completed", "no_show", "cancelled"]);

const config = readConfig();
const ticketId = config.ticket_id;
const i18n = new I18n(params.get("lang"));
const el = Object.fromEntries(
  [
    "tenant-name", "conn", "sheet", "number", "service", "status", "called", "called-go", "facts", "hint", "notify",
    "notify-on", "sound", "notice", "spoken",
  ].map((id) => [id, document.getElementById(id)]),
);

// tenant: the queue document read once over HTTP (name, branding, language, service names).
const state = { ticket: null, tenant: null, notFound: false, status: "connecting", notified: [] };

const calls = new CallAnnouncements({
  tenant: config.tenant,
  name: `ticket:${ticketId}`,
  i18n,
  accept: (call) => call.ticket_id === ticketId,
  liveRegion: el.spoken,
  recentMs: numberParam("recent", 60) * 1000,
  onCall: (call) => {
    navigator.vibrate?.([400, 200, 400, 200, 400]);
    notify(call);
  },
});

let tenantLoading = null;

/** The tenant's presentation, once (again only until it has been read). */
function loadTenant() {
  if (state.tenant || tenantLoading) return tenantLoading;
  tenantLoading = request(`${config.api}/queue`)
    .then((doc) => {
      state.tenant = doc;
      i18n.follow(doc);
      draw();
    })
    .catch((error) => {
      if (error instanceof ApiError && error.status === 404) notice(el.notice, i18n.t("error.tenant"));
    })
    .finally(() => {
      tenantLoading = null;
    });
  return tenantLoading;
}

function onDocument(doc) {
  if (doc.type !== "ticket_update" || doc.ticket.id !== ticketId) return;
  state.ticket = doc.ticket;
  state.notFound = false;
  draw();
  announce(doc.ticket);
}

/** The ticket's current call, as the announcement rule takes calls (each call_id once). */
function announce(ticket) {
  if (ticket.status !== "called" || typeof ticket.call_id !== "string" || !ticket.called_at) return;
  calls.consider({
    last_calls: [
      {
        call_id: ticket.call_id,
        ticket_id: ticket.id,
        number: ticket.number,
        service: ticket.service,
        counter: ticket.counter,
        counter_name: ticket.counter_name ?? null,
        called_at: ticket.called_at,
      },
    ],
  });
}

async function poll() {
  loadTenant();
  try {
    const ticket = await request(`${config.api}/tickets/${encodeURIComponent(ticketId)}`);
    return [ticketDocument(config.tenant, ticket)];
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      state.notFound = state.ticket === null;
      draw();
      return [];
    }
    throw error;
  }
}

function draw() {
  const { ticket, tenant } = state;
  const name = tenant?.tenant_name ?? config.tenant;
  el["tenant-name"].textContent = name;
  el["tenant-name"].title = name;
  applyBranding(tenant, el["tenant-name"]);
  showConnection(el.conn, state.status, i18n);
  notice(el.notice, state.notFound ? i18n.t("follow.notfound") : null);
  // An unknown ticket: the error alone, no empty card with a loading placeholder under it.
  el.sheet.hidden = state.notFound && !ticket;
  drawNotify();
  if (!ticket) return;
  document.title = `${ticket.number} · ${name}`;
  el.sheet.dataset.status = ticket.status;
  el.number.textContent = ticket.number;
  el.service.textContent = tenant?.services.find((s) => s.prefix === ticket.service)?.name ?? ticket.service;
  el.status.textContent = i18n.t(`status.${ticket.status}`);
  el.called.hidden = ticket.status !== "called";
  el["called-go"].textContent = i18n.t("follow.go", { counter: place(ticket) });
  render(el.facts, facts(ticket));
  el.hint.textContent = hint(ticket);
}

/** Where the ticket is called to: its counter's name (the ticket's own, else the tenant's). */
function place(ticket) {
  const name = ticket.counter_name ?? state.tenant?.counters.find((c) => c.number === ticket.counter)?.name;
  return i18n.place(ticket.counter, name);
}

function facts(ticket) {
  if (ticket.status !== "waiting") return [];
  // The server's figures, counted in the ticket's own line (its service).
  const { position, estimated_wait_s: wait } = ticket;
  if (!Number.isInteger(position)) return [];
  const ahead = Number.isInteger(ticket.people_ahead) ? ticket.people_ahead : position - 1;
  return [
    fact("follow.position", `${position}º`),
    fact("follow.ahead", String(ahead)),
    // No estimate yet (no service history today): say nothing rather than a dash.
    typeof wait === "number" ? fact("follow.wait", i18n.wait(wait), "numbers words", "wide") : null,
  ];
}

function fact(key, value, kind = "numbers", wrapper = "") {
  return h("div", { class: wrapper }, h("dt", {}, i18n.t(key)), h("dd", { class: kind }, value));
}

function hint(ticket) {
  if (ticket.status === "waiting") return i18n.t("follow.keep");
  if (ticket.status === "in_service") return i18n.t("follow.serving", { counter: place(ticket) });
  if (ENDED.has(ticket.status)) {
    // Ended by the system (call timeout, close of day): say why, so nobody waits on.
    const why = `follow.ended.${ticket.end_reason}`;
    return ticket.end_reason && i18n.has(why) ? i18n.t(why) : i18n.t("follow.ended");
  }
  return "";
}

// --- system notification -------------------------------------------------------------------

const notifications = "Notification" in window;

/** The "notify me" button while the ticket waits and nobody answered yet; "on" once allowed. */
function drawNotify() {
  const waiting = state.ticket?.status === "waiting";
  const permission = notifications ? Notification.permission : "denied";
  el.notify.hidden = !(waiting && permission === "default");
  el["notify-on"].hidden = !(waiting && permission === "granted");
}

async function askNotify() {
  if (!notifications) return;
  try {
    await Notification.requestPermission();
  } catch {
    // Old Safari: callback form only; the button stays for another try.
  }
  drawNotify();
}

/** A call while the page is hidden (another app, screen off): a system notification too. */
function notify(call) {
  if (!notifications || Notification.permission !== "granted" || document.visibilityState === "visible") return;
  const title = `${call.number} · ${i18n.t("follow.called")}`;
  const options = {
    body: i18n.t("follow.go", { counter: i18n.place(call.counter, call.counter_name) }),
    tag: `queuecast-${ticketId}`,
    renotify: true,
    requireInteraction: true,
    lang: i18n.lang,
    icon: "/web/img/icon.svg",
  };
  state.notified.push({ call_id: call.call_id, title, body: options.body });
  try {
    const shown = new Notification(title, options);
    shown.onclick = () => {
      window.focus();
      shown.close();
    };
  } catch {
    // Android Chrome shows page notifications only through a service worker registration.
    navigator.serviceWorker
      ?.register("/web/js/notify-worker.js", { scope: "/web/js/" })
      .then(() => navigator.serviceWorker.getRegistration("/web/js/"))
      .then((registration) => registration?.showNotification(title, { ...options, data: { url: location.href } }))
      .catch((error) => console.warn("notification:", error.message));
  }
}

el.notify.addEventListener("click", askNotify);

i18n.apply();
draw();
loadTenant();
soundButton(el.sound, calls.speaker);
const live = new LiveConnection({
  credentials: publicCredentials(config.api),
  // Only this ticket's topic (the wildcard only if the broker grants nothing narrower).
  topics: [{ filter: config.topics.ticket, fallback: config.topics.tickets }],
  poll,
  onDocument,
  ...pageConnection({ state, el, i18n }),
}).start();
expose({ state, live });
