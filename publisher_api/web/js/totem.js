// Browser kiosk: choose a service, get a ticket (with a QR code for the phone follower), and see
// the tickets issued here called on screen with sound. The device token is given once (?token=
// or the set-up form), kept in localStorage and removed from the URL.
// URL options: ?token=  ?lang=  ?recent=60  ?poll=5  ?reconnect_max=30
//              ?print=1 (print each ticket: a browser in kiosk printing mode)  ?paper=58|80 (mm)

import { randomId, request, serverNow, tokenClaims } from "./api.js";
import { CallAnnouncements, latestPerTicket } from "./calls.js";
import { presencePayload, presenceTopic } from "./documents.js";
import { expose, h, notice, numberParam, pageConnection, params, readConfig, render, showConnection, soundButton, startClock } from "./dom.js";
import { I18n } from "./i18n.js";
import { LiveConnection, tokenCredentials } from "./live.js";
import { learnTenant } from "./tenant.js";
import { applyBranding } from "./branding.js";
import { pairForm } from "./pairing.js";
import { choosePaper, printSlip, renderSlip } from "./print-slip.js";

const TICKET_SCREEN_MS = 30000;
// The call of a ticket issued here is shown over the services, which stay tappable: the next
// customer never waits for it. A tap anywhere else dismisses it; so does this delay.
const CALLED_SCREEN_MS = 8000;
const ISSUE_ATTEMPTS = 4;
const KEPT_TICKETS = 50;

const config = readConfig();
const i18n = new I18n(params.get("lang"));
const el = Object.fromEntries(
  ["tenant-name", "conn", "clock", "screen", "print-slip", "sound", "notice", "spoken"].map((id) => [id, document.getElementById(id)]),
);
const storageKey = (what) => `queuecast:${config.tenant}:totem:${what}`;

const state = { screen: "home", snapshot: null, service: null, ticket: null, call: null, error: null, status: "connecting" };
let screenTimer = null;
let live = null;

// --- the device token -----------------------------------------------------------------------

function takeTokenFromUrl() {
  const token = params.get("token");
  if (!token) return;
  localStorage.setItem(storageKey("token"), token.trim());
  // Never leave a credential in the address bar, the history or a screenshot.
  const url = new URL(location.href);
  url.searchParams.delete("token");
  history.replaceState(null, "", url);
}

function deviceIdentity() {
  const token = localStorage.getItem(storageKey("token"));
  const claims = token ? tokenClaims(token) : null;
  if (!claims || typeof claims.sub !== "string" || claims.role !== "totem") return null;
  return { token, deviceId: claims.sub };
}

// A month before the device token expires the kiosk asks for it again (same device, same token
// id, so rotating or deleting the device still revokes it); checked at start and hourly.
const RENEW_WHEN_LEFT_MS = 30 * 24 * 3600 * 1000;
const RENEWAL_CHECK_MS = 3600 * 1000;

async function renewTokenIfDue() {
  const identity = deviceIdentity();
  const expiresMs = identity ? tokenClaims(identity.token).exp * 1000 : NaN;
  if (!(expiresMs - serverNow() <= RENEW_WHEN_LEFT_MS)) return;
  try {
    const renewed = await request(config.renew_url, { method: "POST", token: identity.token });
    if (tokenClaims(renewed.access_token)?.jti === tokenClaims(identity.token).jti) {
      localStorage.setItem(storageKey("token"), renewed.access_token);
    }
  } catch {
    // Retried at the next check; the current token works until it expires.
  }
}

function forgetToken(message) {
  localStorage.removeItem(storageKey("token"));
  live?.stop();
  live = null;
  show("setup", { error: message });
}

// --- issued tickets (the calls this kiosk shows) ----------------------------------------------

function issuedIds() {
  try {
    return JSON.parse(localStorage.getItem(storageKey("issued")) ?? "[]");
  } catch {
    return [];
  }
}

function rememberIssued(id) {
  const ids = [id, ...issuedIds().filter((x) => x !== id)].slice(0, KEPT_TICKETS);
  localStorage.setItem(storageKey("issued"), JSON.stringify(ids));
}

const calls = new CallAnnouncements({
  tenant: config.tenant,
  name: "totem",
  i18n,
  accept: (call) => issuedIds().includes(call.ticket_id),
  liveRegion: el.spoken,
  recentMs: numberParam("recent", 60) * 1000,
  onCall: (call) => {
    // Never yank the screen away from someone in the middle of taking a ticket.
    if (["home", "ticket", "called"].includes(state.screen)) show("called", { call }, CALLED_SCREEN_MS);
  },
});

// --- reduce -----------------------------------------------------------------------------------

function onDocument(doc) {
  if (doc.type !== "queue_update") return;
  state.snapshot = doc;
  i18n.follow(doc);
  notice(el.notice, null);
  calls.consider(doc);
  draw();
}

function show(screen, changes = {}, timeoutMs = 0) {
  Object.assign(state, { screen, ...changes });
  clearTimeout(screenTimer);
  if (timeoutMs > 0) screenTimer = setTimeout(() => show("home"), timeoutMs);
  draw();
  el.screen.focus({ preventScroll: true });
}

function choose(service) {
  if (service.priority_allowed) show("priority", { service });
  else issue(service, false);
}

async function issue(service, priority) {
  show("issuing", { service });
  // One key per tap: a retry after a lost answer returns the same ticket, never a second one.
  const key = randomId();
  for (let attempt = 1; ; attempt += 1) {
    try {
      const identity = deviceIdentity();
      const ticket = await request(`${config.api}/tickets`, {
        method: "POST",
        token: identity?.token,
        json: { service: service.prefix, priority },
        headers: { "Idempotency-Key": key },
      });
      rememberIssued(ticket.id);
      live?.refresh();
      show("ticket", { ticket }, TICKET_SCREEN_MS);
      slip(ticket);
      return;
    } catch (error) {
      if (error.status === 401 || error.status === 403) return forgetToken(i18n.t("totem.setup.invalid"));
      const retryable = error.status === 0 || error.status === 429 || error.status >= 500;
      if (!retryable || attempt >= ISSUE_ATTEMPTS) {
        // The API's error code, translated: never its English message on a public screen.
        return show("error", { error: i18n.error(error) }, TICKET_SCREEN_MS);
      }
      await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** (attempt - 1)));
    }
  }
}

/** The paper ticket of `ticket` (printed at once when this kiosk prints). */
function slip(ticket) {
  renderSlip(el["print-slip"], {
    ticket,
    tenantName: state.snapshot?.tenant_name ?? config.tenant,
    serviceName: serviceName(ticket.service),
    qrUrl: `${followPath(ticket)}/qr.svg`,
    i18n,
  });
  if (params.get("print") === "1") printSlip(el["print-slip"]);
}

/** The phone follow page of a ticket; its QR code holds the tenant's public URL of it. */
function followPath(ticket) {
  return `/t/${config.tenant}/ticket/${encodeURIComponent(ticket.id)}`;
}

// --- render -----------------------------------------------------------------------------------

function draw() {
  const name = state.snapshot?.tenant_name ?? config.tenant;
  el["tenant-name"].textContent = name;
  applyBranding(state.snapshot, el["tenant-name"]);
  document.title = `${name} · QueueCast`;
  el.screen.dataset.screen = state.screen;
  el.conn.hidden = state.screen === "setup"; // no connection is attempted without a token
  showConnection(el.conn, state.status, i18n);
  render(el.screen, SCREENS[state.screen]());
}

const SCREENS = {
  setup: () => [
    h("h2", { class: "screen-title" }, i18n.t("totem.setup.title")),
    h("p", { class: "screen-help" }, i18n.t("totem.setup.help")),
    state.error ? h("p", { class: "error-text", role: "alert" }, state.error) : null,
    pairForm(config, "totem", i18n, () => start()),
    h("p", { class: "screen-help" }, i18n.t("pair.other")),
    h(
      "form",
      { class: "setup-form", onsubmit: saveToken },
      h("label", { for: "device-token" }, i18n.t("totem.setup.token")),
      h("input", { id: "device-token", name: "token", type: "password", autocomplete: "off", required: true }),
      h("button", { class: "button", type: "submit" }, i18n.t("totem.setup.save")),
    ),
  ],
  home: () => {
    const recent = latestPerTicket(state.snapshot?.last_calls ?? []).slice(0, 5);
    return [
      h("h2", { class: "screen-title" }, i18n.t("totem.choose")),
      serviceList(),
      recent.length > 0
        ? h(
            "ul",
            { class: "recent", "aria-label": i18n.t("totem.recent") },
            h("li", { class: "recent-title", "aria-hidden": "true" }, i18n.t("totem.recent")),
            recent.map((call) => h("li", {}, h("span", { class: "numbers" }, call.number), ` → ${i18n.place(call.counter, call.counter_name)}`)),
          )
        : null,
    ];
  },

  // The call over the services: nobody has to wait for it to go away before taking a ticket.
  called: () => [
    h(
      "section",
      { class: "call-banner", role: "status", "aria-labelledby": "called-title" },
      h("p", { class: "call-title", id: "called-title" }, i18n.t("totem.called")),
      h("p", { class: "called-number numbers" }, state.call.number),
      h("p", { class: "called-counter" }, `→ ${i18n.place(state.call.counter, state.call.counter_name)}`),
    ),
    h("h2", { class: "screen-title" }, i18n.t("totem.choose")),
    serviceList(),
  ],
  priority: () => [
    h("h2", { class: "screen-title" }, state.service.name),
    h("p", { class: "screen-title" }, i18n.t("totem.priority.title")),
    h("p", { class: "screen-help" }, i18n.t("totem.priority.help")),
    h(
      "div",
      { class: "choices" },
      h("button", { class: "button", type: "button", "aria-keyshortcuts": "1", onclick: () => issue(state.service, false) }, i18n.t("totem.priority.no")),
      h("button", { class: "button", type: "button", "aria-keyshortcuts": "2", onclick: () => issue(state.service, true) }, i18n.t("totem.priority.yes")),
    ),
    h("button", { class: "button secondary", type: "button", onclick: () => show("home") }, i18n.t("totem.back")),
  ],
  issuing: () => [h("div", { class: "spinner", role: "progressbar", "aria-label": i18n.t("totem.issuing") }), h("p", { class: "screen-title" }, i18n.t("totem.issuing"))],
  ticket: () => {
    const ticket = state.ticket;
    const entry = state.snapshot?.waiting.find((w) => w.id === ticket.id);
    const position = entry?.position ?? ticket.position;
    const wait = entry ? entry.estimated_wait_s : ticket.estimated_wait_s;
    const followUrl = followPath(ticket);
    return [
      h(
        "section",
        { class: "ticket-slip", "aria-labelledby": "slip-number" },
        h(
          "div",
          {},
          h("p", { class: "slip-caption" }, i18n.t("totem.your")),
          h("p", { class: "slip-number numbers", id: "slip-number", dataset: { ticketId: ticket.id } }, ticket.number),
          h("p", { class: "slip-service" }, serviceName(ticket.service), ticket.priority ? ` · ${i18n.t("totem.priority.yes")}` : ""),
          ticket.status === "waiting" && position
            ? h(
                "dl",
                { class: "slip-facts" },
                h("div", {}, h("dt", {}, i18n.t("follow.position")), h("dd", { class: "numbers" }, `${position}º`)),
                typeof wait === "number"
                  ? h("div", {}, h("dt", {}, i18n.t("follow.wait")), h("dd", { class: "numbers" }, i18n.wait(wait)))
                  : null,
              )
            : null,
        ),
        h(
          "figure",
          { class: "qr" },
          h("img", { src: `${followUrl}/qr.svg`, alt: i18n.t("totem.scan"), width: 240, height: 240 }),
          h("figcaption", {}, i18n.t("totem.scan")),
        ),
      ),
      h("button", { class: "button", type: "button", onclick: () => show("home") }, i18n.t("totem.done")),
    ];
  },
  error: () => [
    h("p", { class: "screen-title" }, i18n.t("totem.error")),
    state.error ? h("p", { class: "screen-help" }, state.error) : null,
    h("button", { class: "button", type: "button", onclick: () => show("home") }, i18n.t("totem.back")),
  ],
};

/** One button per offered service. Keys 1-9 still pick them (aria-keyshortcuts), but a
 * customer at a touch screen is not shown keyboard hints. */
function serviceList() {
  const services = offeredServices();
  return h(
    "ul",
    { class: "services" },
    services.map((service, index) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            class: "service-button",
            type: "button",
            dataset: { service: service.prefix, key: `service-${service.prefix}` },
            "aria-keyshortcuts": index < 9 ? String(index + 1) : null,
            onclick: () => choose(service),
          },
          h("span", { class: "prefix", "aria-hidden": "true" }, service.prefix),
          h("span", { class: "name" }, service.name),
          service.description ? h("span", { class: "meta" }, service.description) : null,
          h(
            "span",
            { class: "meta" },
            [
              i18n.t("display.waiting", { count: service.waiting }),
              service.estimated_wait_s === null ? null : i18n.wait(service.estimated_wait_s),
            ]
              .filter(Boolean)
              .join(" · "),
          ),
        ),
      ),
    ),
  );
}

/** The services this kiosk offers, in the admin's order (inactive ones are not offered). */
function offeredServices() {
  return (state.snapshot?.services ?? []).filter((s) => s.active !== false);
}

function serviceName(prefix) {
  return state.snapshot?.services.find((s) => s.prefix === prefix)?.name ?? prefix;
}

function saveToken(event) {
  event.preventDefault();
  const token = new FormData(event.target).get("token").trim();
  localStorage.setItem(storageKey("token"), token);
  start();
}

// A tap anywhere on the call but a service button gives the screen back at once.
el.screen.addEventListener("click", (event) => {
  if (state.screen === "called" && !event.target.closest(".service-button")) show("home");
});

// Keys 1-9 pick a service (or the priority choice); Escape goes back home.
window.addEventListener("keydown", (event) => {
  if (event.target instanceof HTMLInputElement || event.altKey || event.ctrlKey || event.metaKey) return;
  const digit = Number(event.key);
  if (event.key === "Escape" && state.screen !== "setup" && state.screen !== "issuing") show("home");
  else if ((state.screen === "home" || state.screen === "called") && digit >= 1 && digit <= 9) {
    const service = offeredServices()[digit - 1];
    if (service) choose(service);
  } else if (state.screen === "priority" && (digit === 1 || digit === 2)) issue(state.service, digit === 2);
});

// --- start ------------------------------------------------------------------------------------

function start() {
  const identity = deviceIdentity();
  if (!identity) {
    const stored = localStorage.getItem(storageKey("token"));
    learnTenant(config, i18n)
      .then((snapshot) => {
        state.snapshot ??= snapshot;
        draw();
      })
      .catch(() => {}); // the set-up form works without it
    return show("setup", { error: stored ? i18n.t("totem.setup.invalid") : null });
  }
  show("home", { error: null });
  const { deviceId, token } = identity;
  live = new LiveConnection({
    credentials: tokenCredentials(config.api, deviceId, () => deviceIdentity()?.token ?? token),
    topics: [config.topics.queue],
    poll: async () => [await request(`${config.api}/queue`)],
    presence: {
      topic: presenceTopic(config.topics.devices, deviceId),
      online: presencePayload(config.tenant, deviceId, "totem", "online"),
      offline: presencePayload(config.tenant, deviceId, "totem", "offline"),
    },
    onDocument,
    onRefused: () => forgetToken(i18n.t("totem.setup.invalid")),
    ...pageConnection({ state, el, i18n }),
  }).start();
  expose({ live });
  renewTokenIfDue();
}

takeTokenFromUrl();
choosePaper(params);
i18n.apply();
startClock(el.clock, i18n);
soundButton(el.sound, calls.speaker);
expose({ state });
start();
setInterval(renewTokenIfDue, RENEWAL_CHECK_MS);
