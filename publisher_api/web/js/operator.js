// Operator console: sign in, open a counter, call and manage tickets over REST; the queue, the
// calls, the devices' presence and today's figures arrive live over MQTT (the access token is
// also the MQTT password). The session lives in sessionStorage: closing the tab signs out.
//
// Which buttons are enabled is never decided here: the ticket transition table comes from the
// server (GET /api/v1/lifecycle, the domain's own table) and the counter's state from
// GET /counters; this page only combines them. URL options: ?lang=  ?poll=5  ?reconnect_max=30

import { ApiError, request, serverNow } from "./api.js";
import { revokeSession } from "./console-common.js";
import { expose, h, notice, numberParam, pageConnection, params, readConfig, render, setOptions, showConnection } from "./dom.js";
import { I18n } from "./i18n.js";
import { LiveConnection, tokenCredentials } from "./live.js";
import { learnTenant } from "./tenant.js";

// The action that ends a ticket with each close outcome a call may ask for (a name mapping,
// not a rule: whether the action is allowed still comes from the server's table).
const OUTCOME_ACTION = { completed: "complete", no_show: "no-show" };
// Actions on the counter's own open ticket (the desk buttons) and on a ticket found by search.
const DESK_ACTIONS = ["recall", "start", "complete", "no-show", "cancel", "transfer"];
const SEARCH_ACTIONS = ["call", "recall", "start", "complete", "no-show", "cancel", "reactivate", "transfer"];
const ACTION_LABELS = {
  call: "op.call", recall: "op.recall", start: "op.start", complete: "op.complete", "no-show": "op.no_show",
  cancel: "op.cancel", reactivate: "op.reactivate", transfer: "op.transfer",
};
const FINISHED_STATUSES = ["completed", "no_show", "cancelled"];
const FINISHED_SHOWN = 6;
const STATS_REFRESH_MS = 60000;

const config = readConfig();
const i18n = new I18n(params.get("lang"));
const el = Object.fromEntries(
  [
    "tenant-name", "conn", "user", "logout", "login-view", "login-form", "login-error", "login-submit",
    "console-view", "counter", "counter-state", "counter-status", "counter-since", "counter-open",
    "counter-takeover", "pause-form", "pause-reason", "pause-reasons", "counter-pause", "counter-resume",
    "counter-close", "current", "ticket-actions", "transfer-form", "transfer-service", "transfer-placement",
    "transfer", "service-chips", "call-next", "queue", "queue-count", "search-form", "search-number",
    "search-result", "finished-card", "finished", "stats", "my-stats", "recent", "devices", "close-dialog",
    "close-title", "close-choices", "notice",
  ].map((id) => [id, document.getElementById(id)]),
);

const sessionKey = `queuecast:${config.tenant}:operator`;
const state = {
  session: loadSession(),
  counter: Number(localStorage.getItem(`${sessionKey}:counter`)) || null,
  snapshot: null,
  waitingPage: null, // GET .../waiting: {total, offset, limit, tickets} (first page, call order)
  lifecycle: null, // {transitions: {status: [action]}, open_statuses, close_outcomes}
  counters: new Map(), // number -> counter document (status, holder, services, open_ticket)
  filter: null, // services chosen for call-next; null: the counter's assignment
  search: null, // {number, tickets, error} of the last search answered
  searchNumber: null, // the number last searched for (its answer may still be on its way)
  finished: [], // last tickets this counter finished (false: the server cannot list them)
  devices: new Map(),
  stats: null,
  heldBy: null, // who holds the counter, after the server refused to open it for us
  status: "connecting",
  busy: false,
};
let live = null;
let statsTimer = null;
let sessionTimer = null;
let clockTimer = null;
let drawnFilter = "";
let drawnQueue = "";
let typedAhead = null; // the last shortcut pressed while an action was running
let searchSeq = 0; // the newest search: an older answer never replaces a newer one

// --- what the server allows -------------------------------------------------------------------

/** The server's table says `action` is legal for a ticket in its status. */
function allowed(ticket, action) {
  return Boolean(ticket && state.lifecycle?.transitions?.[ticket.status]?.includes(action));
}

function myCounter() {
  return state.counter ? state.counters.get(state.counter) ?? null : null;
}

/** This operator may call from the chosen counter: it is open and held by them. */
function canCall() {
  const counter = myCounter();
  return Boolean(counter && counter.status === "open" && counter.holder === state.session?.username);
}

/** A button for `action` on `ticket` is enabled exactly when the server would accept it. */
function enabled(ticket, action) {
  if (state.busy || !allowed(ticket, action)) return false;
  if (action === "call") return canCall() && (heldTicket() === null || closeOutcomes(heldTicket()).length > 0);
  return true;
}

/** The ticket the chosen counter holds (called or in service), as the server last said. */
function heldTicket() {
  return myCounter()?.open_ticket ?? null;
}

/** The close outcomes that may end `held` (those whose action its status allows). */
function closeOutcomes(held) {
  return (state.lifecycle?.close_outcomes ?? []).filter((outcome) => allowed(held, OUTCOME_ACTION[outcome]));
}

// --- session ------------------------------------------------------------------------------------

function loadSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(sessionKey) ?? "null");
    return session && Date.parse(session.expiresAt) > serverNow() ? session : null;
  } catch {
    return null;
  }
}

async function login(event) {
  event.preventDefault();
  const form = new FormData(el["login-form"]);
  el["login-submit"].disabled = true;
  el["login-error"].hidden = true;
  try {
    const body = await request(config.auth_url, {
      method: "POST",
      form: { username: form.get("username"), password: form.get("password") },
    });
    state.session = {
      username: String(form.get("username")),
      token: body.access_token,
      expiresAt: new Date(serverNow() + body.expires_in * 1000).toISOString(),
    };
    sessionStorage.setItem(sessionKey, JSON.stringify(state.session));
    el["login-form"].reset();
    startConsole();
  } catch (error) {
    const wrong = error instanceof ApiError && error.status === 401;
    el["login-error"].textContent = wrong ? i18n.t("op.login.failed") : i18n.error(error);
    el["login-error"].hidden = false;
  } finally {
    el["login-submit"].disabled = false;
  }
}

function logout(message = null) {
  live?.stop();
  live = null;
  clearInterval(statsTimer);
  clearInterval(clockTimer);
  clearTimeout(sessionTimer);
  sessionStorage.removeItem(sessionKey);
  Object.assign(state, { session: null, stats: null, snapshot: null, search: null, searchNumber: null, finished: [], filter: null });
  state.counters.clear();
  state.devices.clear();
  showLogin(message);
}

// --- REST -----------------------------------------------------------------------------------

function authorized(path, options = {}) {
  return request(`${config.api}${path}`, { token: state.session.token, ...options });
}

/**
 * Run one change with the operator's token: errors become a translated notice (the API's code,
 * never its English message), 401 signs out. Afterwards the counter, the finished list and the
 * search are read again, so every button reflects the server's state.
 */
async function act(path, options = {}) {
  state.busy = true;
  drawDesk();
  try {
    const result = await authorized(path, { method: "POST", ...options });
    notice(el.notice, null);
    live?.refresh();
    return result;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) logout(i18n.t("op.session"));
    else notice(el.notice, i18n.error(error));
    if (error instanceof ApiError && error.code === "counter_held") state.heldBy = error.body.holder ?? null;
    return undefined;
  } finally {
    // Busy until the counter and lists are read again: no button is enabled from stale state.
    if (state.session) await refresh();
    state.busy = false;
    drawAll();
    // A shortcut typed while this ran (R then S in quick succession) runs now, re-checked.
    const next = typedAhead;
    typedAhead = null;
    next?.();
  }
}

async function loadLifecycle() {
  try {
    state.lifecycle = await request("/api/v1/lifecycle");
  } catch (error) {
    notice(el.notice, i18n.error(error));
  }
}

async function loadCounters() {
  try {
    const counters = await authorized("/counters");
    state.counters = new Map(counters.map((c) => [c.number, c]));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) logout(i18n.t("op.session"));
  }
}

async function loadFinished() {
  if (!state.counter || state.finished === false) return;
  const query = new URLSearchParams({ counter: String(state.counter), limit: String(FINISHED_SHOWN) });
  for (const status of FINISHED_STATUSES) query.append("status", status);
  try {
    state.finished = await authorized(`/tickets?${query}`);
  } catch (error) {
    // An older server without the ticket list: the card goes away rather than erring forever.
    if (error instanceof ApiError && (error.status === 404 || error.status === 405)) state.finished = false;
  }
}

// A ticket the search finds that is not waiting: held at a counter or ended (to reactivate...).
const NOT_WAITING = ["called", "in_service", "completed", "no_show", "cancelled"];

async function runSearch(number) {
  state.searchNumber = number; // what a refresh re-reads, from now on
  const seq = ++searchSeq;
  // Waiting tickets from the bounded staff list (in memory, in call order); only the others
  // (few: held or ended) from the ticket table.
  const waiting = new URLSearchParams({ number, limit: "5" });
  const others = new URLSearchParams({ number, limit: "5" });
  for (const status of NOT_WAITING) others.append("status", status);
  let result;
  try {
    const [page, rest] = await Promise.all([authorized(`/waiting?${waiting}`), authorized(`/tickets?${others}`)]);
    const found = page.tickets.map((t) => ({ ...t, status: "waiting", counter: null, counter_name: null }));
    result = { number, tickets: [...found, ...rest], error: null };
  } catch (error) {
    result = { number, tickets: [], error: i18n.error(error) };
  }
  if (seq !== searchSeq) return; // a newer search (or refresh of it) was sent meanwhile
  state.search = result;
  drawSearch();
}

let refreshChain = Promise.resolve();
/**
 * Read the counters, this counter's finished tickets and the last search again. Refreshes run
 * one after another, so one asked for after a change never returns an answer read before it.
 */
function refresh() {
  const run = async () => {
    await Promise.all([loadCounters(), loadFinished(), state.searchNumber ? runSearch(state.searchNumber) : null]);
    drawAll();
  };
  refreshChain = refreshChain.then(run, run);
  return refreshChain;
}

let refreshSoon = null;
// The waiting list comes from the staff endpoint, one page (the queue document only carries the
// next few tickets and the total, whatever the queue length).
const WAITING_PAGE = 100;
let waitingSoon = null;

function scheduleWaiting() {
  waitingSoon ??= setTimeout(async () => {
    waitingSoon = null;
    const query = new URLSearchParams({ limit: String(WAITING_PAGE) });
    for (const prefix of activeServices()) query.append("service", prefix);
    try {
      state.waitingPage = await authorized(`/waiting?${query}`);
    } catch {
      state.waitingPage = null; // the snapshot's next tickets meanwhile
    }
    drawQueue();
  }, 150);
}

function scheduleRefresh() {
  // At most one pending: a stream of events still refreshes every 150 ms, never starves it.
  refreshSoon ??= setTimeout(() => {
    refreshSoon = null;
    refresh();
  }, 150);
}

// --- actions ----------------------------------------------------------------------------------

async function counterCommand(command, json = undefined) {
  if (!state.counter || state.busy) return;
  state.heldBy = null;
  await act(`/counters/${state.counter}/${command}`, { json });
}

/** The close outcome for the ticket the counter still holds: null (nothing held), or asked. */
async function closeFor() {
  const held = heldTicket();
  if (!held) return { close: null };
  const outcome = await askClose(held);
  return outcome ? { close: outcome } : null;
}

async function callNext() {
  if (!canCall() || state.busy) return;
  const closing = await closeFor();
  if (!closing) return;
  const query = new URLSearchParams();
  for (const prefix of state.filter ?? []) query.append("service", prefix);
  if (closing.close) query.set("close", closing.close);
  const ticket = await act(`/counters/${state.counter}/call-next${query.size ? `?${query}` : ""}`);
  if (ticket === null) notice(el.notice, i18n.t("op.nothing"), "info");
}

async function callTicket(ticket) {
  if (!enabled(ticket, "call")) return;
  const closing = await closeFor();
  if (!closing) return;
  const json = { counter: state.counter };
  if (closing.close) json.close = closing.close;
  await act(`/tickets/${encodeURIComponent(ticket.id)}/call`, { json });
}

async function ticketAction(ticket, action, json = undefined) {
  if (!enabled(ticket, action)) return;
  if (action === "call") return callTicket(ticket);
  await act(`/tickets/${encodeURIComponent(ticket.id)}/${action}`, { json });
}

/** Ask how to end the ticket the counter holds before calling another (a modal choice). */
function askClose(held) {
  const dialog = el["close-dialog"];
  el["close-title"].textContent = i18n.t("op.close.title", { number: held.number });
  render(
    el["close-choices"],
    (state.lifecycle?.close_outcomes ?? []).map((outcome) =>
      h(
        "button",
        {
          type: "submit",
          class: `button ${outcome === "completed" ? "success" : "danger"}`,
          value: outcome,
          dataset: { outcome },
          disabled: !allowed(held, OUTCOME_ACTION[outcome]),
        },
        i18n.t(`op.close.${outcome}`),
      ),
    ),
  );
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue || null), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    dialog.querySelector("button:not([disabled])")?.focus();
  });
}

// --- live documents ---------------------------------------------------------------------------

function onDocument(doc) {
  if (doc.type === "queue_update") {
    state.snapshot = doc;
    i18n.follow(doc);
    drawAll();
    if (state.session) scheduleWaiting();
    // Counter states ride in the snapshot's seq: any change may be ours (another tab, a sweep).
    scheduleRefresh();
  } else if (doc.type === "ticket_status_changed") {
    scheduleRefresh();
    scheduleStats();
  } else if (doc.type === "device_presence") {
    state.devices.set(doc.device_id, doc);
    drawDevices();
  }
}

async function loadStats() {
  if (!state.session || state.stats === false) return;
  const from = new Date(startOfToday(state.snapshot?.timezone)).toISOString();
  try {
    state.stats = await authorized(`/stats?from=${encodeURIComponent(from)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return logout(i18n.t("op.session"));
    // 403: this role may not read statistics; the card goes away instead of showing an error.
    state.stats = error instanceof ApiError && error.status === 403 ? false : null;
  }
  drawStats();
}

let statsSoon = null;
function scheduleStats() {
  // Many events in a burst: one stats request, 1.5 s after the first (not after the last: a busy
  // site sends events without pause, and the figures must still move).
  statsSoon ??= setTimeout(() => {
    statsSoon = null;
    loadStats();
  }, 1500);
}

/** Epoch ms of the last midnight in a time zone (the tenant's "today"). */
function startOfToday(timeZone) {
  const now = serverNow();
  let parts;
  try {
    parts = new Intl.DateTimeFormat("en-GB", {
      timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }).formatToParts(now);
  } catch {
    const local = new Date(now);
    local.setHours(0, 0, 0, 0);
    return local.getTime();
  }
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  const wallClockAsUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  const offset = wallClockAsUtc - Math.floor(now / 1000) * 1000;
  return Date.UTC(get("year"), get("month") - 1, get("day")) - offset;
}

// --- render -------------------------------------------------------------------------------------

function drawAll() {
  const snapshot = state.snapshot;
  const name = snapshot?.tenant_name ?? config.tenant;
  el["tenant-name"].textContent = name;
  document.title = `${i18n.t("op.title")} · ${name}`;
  const counters = state.counters.size ? [...state.counters.values()] : snapshot?.counters ?? [];
  setOptions(el.counter, [["", i18n.t("op.counter.choose")], ...counters.map((c) => [c.number, counterLabel(c)])]);
  el.counter.value = state.counter ? String(state.counter) : "";
  if (snapshot) setOptions(el["transfer-service"], snapshot.services.map((s) => [s.prefix, `${s.prefix} · ${s.name}`]));
  drawDesk();
  drawQueue();
  drawSearch();
  drawFinished();
  drawRecent();
  drawStats();
  drawDevices();
}

function counterLabel(counter) {
  const status = counter.status ? ` · ${i18n.t(`op.counter.state.${counter.status}`)}` : "";
  return `${counter.name}${status}`;
}

function drawDesk() {
  drawCounterState();
  const ticket = heldTicket();
  el.current.dataset.status = ticket?.status ?? "";
  render(
    el.current,
    ticket
      ? [
          h("span", { class: "current-number numbers", dataset: { ticketId: ticket.id } }, ticket.number),
          h(
            "div",
            { class: "current-info" },
            h("span", { class: "badge", dataset: { status: ticket.status } }, i18n.t(`status.${ticket.status}`)),
            h("span", {}, serviceName(ticket.service)),
            ticket.priority ? h("span", { class: "badge priority" }, i18n.t("op.priority")) : null,
          ),
          h(
            "div",
            { class: "current-timer" },
            h("span", { class: "caption" }, i18n.t("op.timer")),
            h("span", { class: "timer numbers", id: "service-timer", dataset: { since: ticket.called_at ?? "" } }, ""),
          ),
        ]
      : h("p", { class: "current-empty" }, state.counter ? i18n.t("op.current.none") : i18n.t("op.counter.choose")),
  );
  for (const button of el["ticket-actions"].querySelectorAll("[data-action]")) {
    button.disabled = !enabled(ticket, button.dataset.action);
  }
  el.transfer.disabled = !enabled(ticket, "transfer") || !el["transfer-service"].value;
  el["call-next"].disabled = state.busy || !canCall() || (ticket !== null && closeOutcomes(ticket).length === 0);
  drawFilter();
  tickTimers();
}

function drawCounterState() {
  const counter = myCounter();
  const me = state.session?.username;
  const status = counter?.status ?? "";
  const mine = Boolean(counter && counter.holder === me);
  el["counter-state"].dataset.status = status;
  el["counter-state"].dataset.mine = String(mine);
  let text = state.counter ? i18n.t("op.counter.closed") : i18n.t("op.counter.choose");
  if (status === "open") text = mine ? i18n.t("op.counter.mine") : i18n.t("op.counter.other", { holder: counter.holder });
  if (status === "paused") text = i18n.t("op.counter.paused", { reason: counter.pause_reason ?? "", holder: counter.holder ?? "" });
  el["counter-status"].textContent = text;
  el["counter-since"].dataset.since = status === "paused" ? counter.status_since ?? "" : "";
  const heldByOther = Boolean(counter && counter.holder && !mine && status !== "closed");
  const idle = state.busy || !counter;
  el["counter-open"].disabled = idle || (status === "open" && mine);
  el["counter-open"].hidden = status !== "closed" && mine;
  el["counter-takeover"].hidden = !heldByOther && !state.heldBy;
  el["counter-takeover"].disabled = idle || !(heldByOther || state.heldBy);
  el["counter-pause"].disabled = idle || !(status === "open" && mine);
  el["pause-form"].hidden = !(status === "open" && mine);
  el["counter-resume"].disabled = idle || !(status === "paused" && mine);
  el["counter-resume"].hidden = status !== "paused";
  el["counter-close"].disabled = idle || status === "closed" || !mine;
}

/** Services call-next draws from: chips, checked by default with the counter's assignment. */
function drawFilter() {
  const services = state.snapshot?.services ?? [];
  const chosen = activeServices();
  // Redrawn only when something changed: a live update must not steal a checkbox's focus.
  const key = JSON.stringify([services.map((s) => [s.prefix, s.name]), [...chosen]]);
  if (key === drawnFilter) return;
  drawnFilter = key;
  render(
    el["service-chips"],
    services.map((s) =>
      h(
        "label",
        { class: "chip" },
        h("input", {
          type: "checkbox",
          value: s.prefix,
          dataset: { key: `filter-${s.prefix}` },
          checked: chosen.has(s.prefix),
          onchange: onFilterChange,
        }),
        ` ${s.prefix} · ${s.name}`,
      ),
    ),
  );
}

/** The services the console calls from: the operator's choice, else the counter's own. */
function activeServices() {
  if (state.filter) return new Set(state.filter);
  const assigned = myCounter()?.services ?? [];
  const all = (state.snapshot?.services ?? []).map((s) => s.prefix);
  return new Set(assigned.length ? assigned : all);
}

function onFilterChange() {
  const checked = [...el["service-chips"].querySelectorAll("input:checked")].map((input) => input.value);
  // Nothing checked would call nothing: fall back to the counter's services.
  state.filter = checked.length ? checked : null;
  drawDesk();
  drawQueue();
  scheduleWaiting();
}

function drawQueue() {
  const active = activeServices();
  const page = state.waitingPage;
  const waiting = (page?.tickets ?? state.snapshot?.waiting ?? []).filter((w) => active.size === 0 || active.has(w.service));
  el["queue-count"].textContent = `(${page ? page.total : waiting.length})`;
  // Rows are rebuilt only when what they show changed: a button must not be replaced under the
  // operator's pointer by every unrelated snapshot (another counter's call, a recall...).
  const key = JSON.stringify([
    i18n.lang,
    i18n.timezone,
    state.snapshot?.services.map((service) => service.name),
    waiting.map((w) => [w.id, w.position, w.service, w.priority]),
    waiting.length ? enabled({ status: "waiting" }, "call") : null,
  ]);
  if (key === drawnQueue) return;
  drawnQueue = key;
  render(
    el.queue,
    waiting.length === 0
      ? h("li", { class: "empty" }, i18n.t("op.queue.empty"))
      : waiting.map((w) => {
          const ticket = { ...w, status: "waiting" };
          return h(
            "li",
            { dataset: { ticketId: w.id } },
            // The server's place in the ticket's own line (its service), not the list index.
            h("span", { class: "position numbers", title: i18n.t("follow.position") }, `${w.position}º`),
            h("span", { class: "number numbers" }, w.number),
            h(
              "span",
              { class: "meta" },
              `${serviceName(w.service)} · ${i18n.time(w.created_at)} `,
              w.priority ? h("span", { class: "badge priority" }, i18n.t("op.priority")) : null,
            ),
            h(
              "button",
              {
                class: "button secondary",
                type: "button",
                dataset: { key: `call-${w.id}`, action: "call" },
                disabled: !enabled(ticket, "call"),
                "aria-label": `${i18n.t("op.call")} ${w.number}`,
                onclick: () => callTicket(ticket),
              },
              i18n.t("op.call"),
            ),
          );
        }),
  );
}

function drawSearch() {
  const search = state.search;
  if (!search) return render(el["search-result"]);
  if (search.error) return render(el["search-result"], h("p", { class: "form-error" }, search.error));
  if (search.tickets.length === 0) return render(el["search-result"], h("p", { class: "empty" }, i18n.t("op.search.none")));
  render(el["search-result"], search.tickets.map(ticketCard));
}

/** A found ticket with every action, each enabled exactly when the server would accept it. */
function ticketCard(ticket) {
  const transferTo = h(
    "select",
    { class: "transfer-to", "aria-label": i18n.t("op.transfer.to"), dataset: { key: `transfer-to-${ticket.id}` } },
    // Preselect another service than the ticket's own: a transfer moves it somewhere else.
    (state.snapshot?.services ?? []).map((s, _, all) =>
      h("option", { value: s.prefix, selected: s.prefix === all.find((o) => o.prefix !== ticket.service)?.prefix }, `${s.prefix} · ${s.name}`),
    ),
  );
  return h(
    "article",
    { class: "ticket-card", dataset: { ticketId: ticket.id, status: ticket.status } },
    h(
      "div",
      { class: "ticket-card-head" },
      h("strong", { class: "numbers" }, ticket.number),
      h("span", { class: "badge", dataset: { status: ticket.status } }, i18n.t(`status.${ticket.status}`)),
      h("span", { class: "meta" }, serviceName(ticket.service)),
      ticket.counter ? h("span", { class: "meta" }, i18n.place(ticket.counter, ticket.counter_name)) : null,
      endReason(ticket) ? h("span", { class: "meta" }, endReason(ticket)) : null,
    ),
    h(
      "div",
      { class: "ticket-card-actions" },
      SEARCH_ACTIONS.map((action) =>
        h(
          "button",
          {
            type: "button",
            class: `button small ${action === "call" ? "" : "secondary"}`,
            dataset: { action, key: `${action}-${ticket.id}` },
            disabled: !enabled(ticket, action),
            onclick: () =>
              action === "transfer"
                ? ticketAction(ticket, "transfer", { service: transferTo.value, placement: "back" })
                : ticketAction(ticket, action),
          },
          i18n.t(ACTION_LABELS[action]),
        ),
      ),
      transferTo,
    ),
  );
}

/** Why the system ended a ticket (call timeout, close of day), in words; "" otherwise. */
function endReason(ticket) {
  const key = `op.end_reason.${ticket.end_reason}`;
  return ticket.end_reason && i18n.has(key) ? i18n.t(key) : "";
}

function drawFinished() {
  el["finished-card"].hidden = state.finished === false || !state.counter;
  const finished = state.finished || [];
  render(
    el.finished,
    finished.length === 0
      ? h("li", { class: "empty" }, i18n.t("op.finished.none"))
      : finished.map((t) =>
          h(
            "li",
            { dataset: { ticketId: t.id, status: t.status } },
            h("strong", { class: "numbers" }, t.number),
            h("span", { class: "badge", dataset: { status: t.status }, title: endReason(t) || null }, i18n.t(`op.done.${t.status}`)),
            h(
              "button",
              {
                type: "button",
                class: "button small secondary",
                dataset: { action: "reactivate", key: `undo-${t.id}` },
                disabled: !enabled(t, "reactivate"),
                onclick: () => ticketAction(t, "reactivate"),
              },
              i18n.t("op.undo"),
            ),
          ),
        ),
  );
}

function drawRecent() {
  const calls = state.snapshot?.last_calls ?? [];
  render(
    el.recent,
    calls.map((c) =>
      h(
        "li",
        {},
        h("strong", { class: "numbers" }, c.number),
        h("span", {}, i18n.place(c.counter, c.counter_name)),
        h("time", { class: "numbers", datetime: c.called_at }, i18n.time(c.called_at)),
      ),
    ),
  );
}

// The figures of the stats document's "total" that the console shows, with their labels.
const STAT_FIELDS = [
  ["issued", "op.stats.issued", (v) => v],
  ["called", "op.stats.called", (v) => v],
  ["completed", "op.stats.completed", (v) => v],
  ["no_show", "op.stats.no_show", (v) => v],
  ["mean_wait_s", "op.stats.wait", (v) => i18n.duration(v)],
  ["mean_service_s", "op.stats.service", (v) => i18n.duration(v)],
];
// This operator's own line of the stats (per attendant).
const MY_FIELDS = [
  ["called", "op.stats.called", (v) => v],
  ["completed", "op.stats.completed", (v) => v],
  ["no_show", "op.stats.no_show", (v) => v],
  ["pause_s", "op.stats.pause", (v) => i18n.duration(v)],
];

function drawStats() {
  const stats = state.stats;
  el.stats.closest("section").hidden = stats === false;
  render(el.stats, figures(STAT_FIELDS, stats?.total));
  const mine = stats?.attendants?.find((a) => a.username === state.session?.username);
  const myFigures = figures(MY_FIELDS, mine);
  render(el["my-stats"], myFigures);
  // Nothing of this operator today yet: no empty heading over an empty list.
  el["my-stats"].hidden = el["my-stats"].previousElementSibling.hidden = myFigures.length === 0;
}

/** <div><dt/><dd/></div> groups for the fields present in `values` (a dl holds nothing else). */
function figures(fields, values) {
  return fields
    .filter(([field]) => typeof values?.[field] === "number")
    .map(([field, key, format]) =>
      h("div", { dataset: { stat: field } }, h("dt", {}, i18n.t(key)), h("dd", { class: "numbers" }, format(values[field]))),
    );
}

function drawDevices() {
  const devices = [...state.devices.values()].sort((a, b) => a.device_id.localeCompare(b.device_id));
  render(
    el.devices,
    devices.length === 0
      ? h("li", { class: "empty" }, i18n.t("op.devices.none"))
      : devices.map((d) =>
          h(
            "li",
            { dataset: { device: d.device_id } },
            h("span", {}, d.device_id, " ", h("span", { class: "role" }, `(${d.role})`)),
            h("span", { class: "presence", dataset: { status: d.status } }, i18n.t(d.status === "online" ? "op.online" : "op.offline")),
          ),
        ),
  );
}

/** Running clocks: the held ticket's time since its call, and a pause's length. */
function tickTimers() {
  for (const timer of document.querySelectorAll("[data-since]")) {
    const since = Date.parse(timer.dataset.since);
    timer.textContent = Number.isNaN(since) ? "" : clockText(serverNow() - since);
  }
}

function clockText(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const [hours, minutes, seconds] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  const two = (n) => String(n).padStart(2, "0");
  return hours ? `${hours}:${two(minutes)}:${two(seconds)}` : `${two(minutes)}:${two(seconds)}`;
}

function serviceName(prefix) {
  return state.snapshot?.services.find((s) => s.prefix === prefix)?.name ?? prefix;
}

// --- views --------------------------------------------------------------------------------------

function showLogin(message = null) {
  el["console-view"].hidden = true;
  el["login-view"].hidden = false;
  el.conn.hidden = el.logout.hidden = true;
  el.user.textContent = "";
  el["login-error"].textContent = message ?? "";
  el["login-error"].hidden = !message;
  notice(el.notice, null);
  document.getElementById("username").focus();
}

function startConsole() {
  const { username, token, expiresAt } = state.session;
  el["login-view"].hidden = true;
  el["console-view"].hidden = false;
  el.conn.hidden = el.logout.hidden = false;
  el.user.textContent = username;
  drawAll();
  live = new LiveConnection({
    credentials: tokenCredentials(config.api, username, token),
    topics: [config.topics.queue, config.topics.events, config.topics.devices],
    poll: async () => [await request(`${config.api}/queue`)],
    onDocument,
    onRefused: () => logout(i18n.t("op.session")),
    ...pageConnection({ state, el, i18n }),
  }).start();
  expose({ live });
  loadLifecycle().then(refresh);
  loadStats();
  statsTimer = setInterval(loadStats, STATS_REFRESH_MS);
  clockTimer = setInterval(tickTimers, 1000);
  // Sign out when the access token expires rather than at the next failing click.
  sessionTimer = setTimeout(() => logout(i18n.t("op.session")), Date.parse(expiresAt) - serverNow());
}

// --- wiring -------------------------------------------------------------------------------------

el["login-form"].addEventListener("submit", login);
el.logout.addEventListener("click", async () => {
  await revokeSession(config.auth_url, state.session?.token);
  logout();
});
el.counter.addEventListener("change", () => {
  state.counter = Number(el.counter.value) || null;
  localStorage.setItem(`${sessionKey}:counter`, String(state.counter ?? ""));
  Object.assign(state, { filter: null, finished: [], heldBy: null });
  drawAll();
  refresh();
});
el["counter-open"].addEventListener("click", () => counterCommand("open", { takeover: false }));
el["counter-takeover"].addEventListener("click", () => counterCommand("open", { takeover: true }));
el["pause-form"].addEventListener("submit", (event) => {
  event.preventDefault();
  counterCommand("pause", { reason: el["pause-reason"].value.trim() }).then(() => el["pause-form"].reset());
});
el["counter-resume"].addEventListener("click", () => counterCommand("resume"));
el["counter-close"].addEventListener("click", () => counterCommand("close"));
el["call-next"].addEventListener("click", callNext);
for (const button of el["ticket-actions"].querySelectorAll("[data-action]")) {
  button.addEventListener("click", () => ticketAction(heldTicket(), button.dataset.action));
}
el["transfer-form"].addEventListener("submit", (event) => {
  event.preventDefault();
  ticketAction(heldTicket(), "transfer", { service: el["transfer-service"].value, placement: el["transfer-placement"].value });
});
el["search-form"].addEventListener("submit", (event) => {
  event.preventDefault();
  const number = el["search-number"].value.trim().toUpperCase();
  if (number) runSearch(number);
});

// N call next · R recall · S start · C complete (never while typing in a field or in a dialog).
const SHORTCUTS = {
  n: callNext,
  r: () => ticketAction(heldTicket(), "recall"),
  s: () => ticketAction(heldTicket(), "start"),
  c: () => ticketAction(heldTicket(), "complete"),
};
window.addEventListener("keydown", (event) => {
  const target = event.target;
  if (event.altKey || event.ctrlKey || event.metaKey || !state.session || el["close-dialog"].open) return;
  if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement) return;
  const shortcut = SHORTCUTS[event.key.toLowerCase()];
  if (shortcut) {
    event.preventDefault();
    if (state.busy) typedAhead = shortcut;
    else shortcut();
  }
});

/** Before sign-in: the public snapshot gives the sign-in screen the tenant's name and language. */
async function greet() {
  try {
    const snapshot = await learnTenant(config, i18n);
    el["tenant-name"].textContent = snapshot.tenant_name;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) notice(el.notice, i18n.t("error.tenant"));
  }
}

function fillPauseReasons() {
  render(el["pause-reasons"], i18n.t("op.pause.reasons").split("|").map((reason) => h("option", { value: reason })));
}

i18n.onChange(fillPauseReasons);
i18n.apply();
fillPauseReasons();
expose({ state });
if (state.session) startConsole();
else {
  showLogin();
  greet();
}
