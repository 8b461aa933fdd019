// Operator console: sign in, choose a counter, call and manage tickets over REST; the queue,
// the calls, the devices' presence and today's figures arrive live over MQTT (the access token
// is also the MQTT password). The session lives in sessionStorage: closing the tab signs out.
// URL options: ?lang=  ?poll=5  ?reconnect_max=30

import { ApiError, request, serverNow } from "./api.js";
import { expose, h, notice, numberParam, pageConnection, params, readConfig, render, setOptions, showConnection } from "./dom.js";
import { I18n } from "./i18n.js";
import { LiveConnection, tokenCredentials } from "./live.js";
import { learnTenant } from "./tenant.js";

const ENDED = new Set(["completed", "no_show", "cancelled"]);
// Which action buttons make sense in which state of the current ticket.
const ACTIONS = {
  recall: ["called"],
  start: ["called"],
  complete: ["in_service", "called"],
  "no-show": ["called"],
  transfer: ["called", "in_service"],
};
const STATS_REFRESH_MS = 60000;

const config = readConfig();
const i18n = new I18n(params.get("lang"));
const el = Object.fromEntries(
  [
    "tenant-name", "conn", "user", "logout", "login-view", "login-form", "login-error", "login-submit",
    "console-view", "counter", "current", "ticket-actions", "transfer-form", "transfer-service",
    "transfer-placement", "next-service", "call-next", "queue", "queue-count", "stats", "recent",
    "devices", "notice",
  ].map((id) => [id, document.getElementById(id)]),
);

const sessionKey = `queuecast:${config.tenant}:operator`;
const state = {
  session: loadSession(),
  counter: Number(localStorage.getItem(`${sessionKey}:counter`)) || null,
  snapshot: null,
  current: null,
  devices: new Map(),
  stats: null,
  status: "connecting",
  busy: false,
};
let live = null;
let statsTimer = null;
let sessionTimer = null;

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
  clearTimeout(sessionTimer);
  sessionStorage.removeItem(sessionKey);
  Object.assign(state, { session: null, current: null, stats: null, snapshot: null });
  state.devices.clear();
  showLogin(message);
}

// --- REST actions -------------------------------------------------------------------------------

/** Run one API action with the operator's token; errors become a notice, 401 signs out. */
async function act(path, options = {}) {
  state.busy = true;
  drawDesk();
  try {
    const result = await request(`${config.api}${path}`, { method: "POST", token: state.session.token, ...options });
    notice(el.notice, null);
    live?.refresh();
    return result;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) logout(i18n.t("op.session"));
    else notice(el.notice, i18n.error(error));
    return undefined;
  } finally {
    state.busy = false;
    drawDesk();
  }
}

async function callNext() {
  if (!state.counter || state.busy) return;
  const service = el["next-service"].value;
  const query = service ? `?service=${encodeURIComponent(service)}` : "";
  const ticket = await act(`/counters/${state.counter}/call-next${query}`);
  if (ticket === null) notice(el.notice, i18n.t("op.nothing"), "info");
  else if (ticket) setCurrent(ticket);
}

async function callTicket(id) {
  if (!state.counter || state.busy) return;
  const ticket = await act(`/tickets/${encodeURIComponent(id)}/call`, { json: { counter: state.counter } });
  if (ticket) setCurrent(ticket);
}

async function ticketAction(action, json = undefined) {
  const current = state.current;
  if (!current || state.busy || !ACTIONS[action].includes(current.status)) return;
  const ticket = await act(`/tickets/${encodeURIComponent(current.id)}/${action}`, { json });
  if (ticket) setCurrent(ticket);
}

function setCurrent(ticket) {
  // A ticket that ended or went back to a queue (transfer) is no longer at this desk.
  const here = ticket && !ENDED.has(ticket.status) && ticket.status !== "waiting";
  state.current = here ? ticket : null;
  sessionStorage.setItem(`${sessionKey}:current`, state.current?.id ?? "");
  drawDesk();
}

async function restoreCurrent() {
  const id = sessionStorage.getItem(`${sessionKey}:current`);
  if (!id) return;
  try {
    const ticket = await request(`${config.api}/tickets/${encodeURIComponent(id)}`);
    if (ticket.counter === state.counter) setCurrent(ticket);
  } catch {
    setCurrent(null);
  }
}

async function loadStats() {
  if (!state.session || state.stats === false) return;
  const from = new Date(startOfToday(state.snapshot?.timezone)).toISOString();
  try {
    state.stats = await request(`${config.api}/stats?from=${encodeURIComponent(from)}`, { token: state.session.token });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return logout(i18n.t("op.session"));
    // 403: this role may not read statistics; the card goes away instead of showing an error.
    state.stats = error instanceof ApiError && error.status === 403 ? false : null;
  }
  drawStats();
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

// --- live documents -----------------------------------------------------------------------------

function onDocument(doc) {
  if (doc.type === "queue_update") {
    state.snapshot = doc;
    i18n.follow(doc);
    drawAll();
  } else if (doc.type === "ticket_status_changed") {
    const ticket = doc.ticket;
    // Our ticket changed (maybe from another tab), or someone called a ticket to our counter.
    if (ticket.id === state.current?.id || (ticket.counter === state.counter && doc.to === "called")) {
      setCurrent(ticket);
    }
    scheduleStats();
  } else if (doc.type === "device_presence") {
    state.devices.set(doc.device_id, doc);
    drawDevices();
  }
}

let statsSoon = null;
function scheduleStats() {
  // Many events in a burst: one stats request.
  clearTimeout(statsSoon);
  statsSoon = setTimeout(loadStats, 1500);
}

// --- render -------------------------------------------------------------------------------------

function drawAll() {
  const snapshot = state.snapshot;
  const name = snapshot?.tenant_name ?? config.tenant;
  el["tenant-name"].textContent = name;
  document.title = `${i18n.t("op.title")} · ${name}`;
  if (snapshot) {
    setOptions(el.counter, [["", i18n.t("op.counter.choose")], ...snapshot.counters.map((c) => [c.number, c.name])]);
    el.counter.value = state.counter ? String(state.counter) : "";
    const services = snapshot.services.map((s) => [s.prefix, `${s.prefix} · ${s.name}`]);
    setOptions(el["next-service"], [["", i18n.t("op.service.any")], ...services]);
    setOptions(el["transfer-service"], services);
  }
  drawDesk();
  drawQueue();
  drawRecent();
  drawStats();
  drawDevices();
}

function drawDesk() {
  const ticket = state.current;
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
        ]
      : h("p", { class: "current-empty" }, state.counter ? i18n.t("op.current.none") : i18n.t("op.counter.choose")),
  );
  for (const button of el["ticket-actions"].querySelectorAll("[data-action]")) {
    button.disabled = state.busy || !ticket || !ACTIONS[button.dataset.action].includes(ticket.status);
  }
  el["transfer-form"].querySelector("button").disabled = state.busy || !ticket || !ACTIONS.transfer.includes(ticket.status);
  el["call-next"].disabled = state.busy || !state.counter;
}

function drawQueue() {
  const waiting = state.snapshot?.waiting ?? [];
  el["queue-count"].textContent = `(${waiting.length})`;
  render(
    el.queue,
    waiting.length === 0
      ? h("li", { class: "empty" }, i18n.t("op.queue.empty"))
      : waiting.map((w) =>
          h(
            "li",
            { dataset: { ticketId: w.id } },
            h("span", { class: "position numbers" }, w.position),
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
                dataset: { key: `call-${w.id}` },
                disabled: state.busy || !state.counter,
                "aria-label": `${i18n.t("op.call")} ${w.number}`,
                onclick: () => callTicket(w.id),
              },
              i18n.t("op.call"),
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
      h("li", {}, h("strong", { class: "numbers" }, c.number), h("span", {}, c.counter_name), h("time", { class: "numbers", datetime: c.called_at }, i18n.time(c.called_at))),
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

function drawStats() {
  const stats = state.stats;
  el.stats.closest("section").hidden = stats === false;
  const totals = stats?.total;
  const items = STAT_FIELDS.filter(([field]) => typeof totals?.[field] === "number").map(([field, key, format]) =>
    h("div", { dataset: { stat: field } }, h("dt", {}, i18n.t(key)), h("dd", { class: "numbers" }, format(totals[field]))),
  );
  render(el.stats, items.length ? items : h("p", { class: "empty" }, "—"));
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
  loadStats();
  statsTimer = setInterval(loadStats, STATS_REFRESH_MS);
  // Sign out when the access token expires rather than at the next failing click.
  sessionTimer = setTimeout(() => logout(i18n.t("op.session")), Date.parse(expiresAt) - serverNow());
  restoreCurrent();
}

// --- wiring -------------------------------------------------------------------------------------

el["login-form"].addEventListener("submit", login);
el.logout.addEventListener("click", () => logout());
el.counter.addEventListener("change", () => {
  state.counter = Number(el.counter.value) || null;
  localStorage.setItem(`${sessionKey}:counter`, String(state.counter ?? ""));
  setCurrent(null);
  drawAll();
});
el["call-next"].addEventListener("click", callNext);
for (const button of el["ticket-actions"].querySelectorAll("[data-action]")) {
  button.addEventListener("click", () => ticketAction(button.dataset.action));
}
el["transfer-form"].addEventListener("submit", (event) => {
  event.preventDefault();
  ticketAction("transfer", { service: el["transfer-service"].value, placement: el["transfer-placement"].value });
});

// N call next · R recall · S start · C complete (never while typing in a field).
const SHORTCUTS = { n: callNext, r: () => ticketAction("recall"), s: () => ticketAction("start"), c: () => ticketAction("complete") };
window.addEventListener("keydown", (event) => {
  const target = event.target;
  if (event.altKey || event.ctrlKey || event.metaKey || !state.session) return;
  if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement) return;
  const shortcut = SHORTCUTS[event.key.toLowerCase()];
  if (shortcut) {
    event.preventDefault();
    shortcut();
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

i18n.apply();
expose({ state });
if (state.session) startConsole();
else {
  showLogin();
  greet();
}
