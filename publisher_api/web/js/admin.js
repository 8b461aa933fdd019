// Tenant admin console (/t/{tenant}/admin): site settings and branding, services, counters,
// users, devices (pairing codes, live presence, revoke) and statistics, all through the same
// REST API as everything else. Sections are addressed by the URL's hash (#services, ...), so the
// browser's back button and bookmarks work. The session lives in sessionStorage.
// URL options: ?lang=  ?poll=5  ?reconnect_max=30

import { ApiError, request, serverNow } from "./api.js";
import { devicesSection, onPresence } from "./admin-devices.js";
import { statsSection } from "./admin-stats.js";
import { Session, confirmDialog, field, fieldValue, flash, form, showApiError, signInForm } from "./console-common.js";
import { applyTexts, errorText } from "./console-texts.js";
import { expose, h, notice, pageConnection, params, readConfig, render, showConnection } from "./dom.js";
import { I18n } from "./i18n.js";
import { LiveConnection, tokenCredentials } from "./live.js";
import { learnTenant } from "./tenant.js";

const SECTIONS = ["settings", "services", "counters", "users", "devices", "stats"];
const LANGUAGE_NAMES = [
  ["pt-BR", "Português (Brasil)"],
  ["en", "English"],
  ["es", "Español"],
];

const config = readConfig();
const i18n = new I18n(params.get("lang"));
const t = (key, vars) => i18n.t(key, vars);
const el = Object.fromEntries(
  ["tenant-name", "logo", "conn", "user", "logout", "login-view", "console-view", "tabs", "section", "status", "notice"].map((id) => [
    id,
    document.getElementById(id),
  ]),
);
const session = new Session(`queuecast:${config.tenant}:admin`);
const state = {
  tenant: null,
  branding: { accent_color: null, logo_url: null },
  services: [],
  counters: [],
  users: [],
  devices: [],
  disabled: new Set(), // usernames
  offer: new Map(), // prefix -> {position, description, active} on kiosks
  presence: new Map(),
  workflow: false, // the counter workflow's fields (services per counter, call timeout) exist
  editing: null,
  pairing: null, // the last pairing code shown
  tenantName: null,
  status: "connecting",
};
let live = null;

// --- API ------------------------------------------------------------------------------------------

/** One request with the admin's token; a 401 means the session is over. */
async function api(path, options = {}) {
  try {
    return await request(`${config.api}${path}`, { token: session.token, ...options });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) signOut(t("error.unauthorized"));
    throw error;
  }
}

async function uploadLogo(file) {
  let response;
  try {
    response = await fetch(`${config.api}/logo`, {
      method: "PUT",
      body: file,
      headers: { Authorization: `Bearer ${session.token}`, "Content-Type": file.type || "application/octet-stream", Accept: "application/json" },
    });
  } catch {
    throw new ApiError(0, "network error");
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body?.message ?? "", body);
  return body;
}

async function load() {
  const [tenant, branding, services, counters, users, devices, disabled] = await Promise.all([
    api(""),
    api("/branding"),
    api("/services"),
    api("/counters"),
    api("/users"),
    api("/devices"),
    api("/disabled-users"),
  ]);
  Object.assign(state, { tenant, branding, services, counters, users, devices, disabled: new Set(disabled) });
  learnOffer(await request(`${config.api}/queue`));
  // The counter workflow (issue 9) adds a lifecycle document; its fields are offered only then.
  state.workflow = "call_timeout_s" in tenant || (await request("/api/v1/lifecycle").then(() => true, () => false));
  i18n.setTenant(tenant.locale, tenant.timezone);
  i18n.apply();
  applyTexts(i18n);
}

// --- session ------------------------------------------------------------------------------------

function showLogin(message = null) {
  live?.stop();
  live = null;
  el["console-view"].hidden = true;
  el["login-view"].hidden = false;
  el.conn.hidden = el.logout.hidden = true;
  el.user.textContent = "";
  signInForm(i18n, {
    container: el["login-view"],
    session,
    authUrl: config.auth_url,
    roles: ["admin", "superadmin"],
    onSignedIn: startConsole,
    message,
  });
}

function signOut(message = null) {
  session.signOut();
  state.presence.clear();
  showLogin(message);
}

async function startConsole() {
  try {
    await load();
  } catch (error) {
    if (error.status !== 401) showLogin(errorText(i18n, error));
    return;
  }
  el["login-view"].hidden = true;
  el["console-view"].hidden = false;
  el.conn.hidden = el.logout.hidden = false;
  el.user.textContent = session.username;
  drawHeader();
  drawAll();
  live?.stop();
  live = new LiveConnection({
    credentials: tokenCredentials(config.api, session.username, session.token),
    topics: [config.topics.queue, config.topics.devices],
    poll: async () => [await request(`${config.api}/queue`)],
    onDocument,
    onRefused: () => signOut(t("error.unauthorized")),
    ...pageConnection({ state, el, i18n }),
  }).start();
  expose({ live });
}

function onDocument(doc) {
  if (doc.type === "device_presence") {
    onPresence(ctx, doc);
  } else if (doc.type === "queue_update") {
    state.branding = { accent_color: doc.accent_color ?? null, logo_url: doc.logo_url ?? null };
    learnOffer(doc);
    drawHeader();
  }
}

/** How each service is offered on kiosks (order, description, active): the queue snapshot's. */
function learnOffer(snapshot) {
  state.offer = new Map(snapshot.services.map((s, index) => [s.prefix, { position: index, description: s.description ?? "", active: s.active !== false }]));
}

// --- layout ---------------------------------------------------------------------------------------

function current() {
  const name = location.hash.slice(1);
  return SECTIONS.includes(name) ? name : "settings";
}

function drawHeader() {
  const name = state.tenant?.name ?? state.tenantName ?? config.tenant;
  el["tenant-name"].textContent = name;
  document.title = `${t("admin.title")} · ${name} · QueueCast`;
  el.logo.hidden = !state.branding.logo_url;
  if (state.branding.logo_url) el.logo.src = state.branding.logo_url;
  document.documentElement.style.setProperty("--accent", state.branding.accent_color ?? "transparent");
  showConnection(el.conn, state.status, i18n);
}

function drawTabs() {
  const active = current();
  render(
    el.tabs,
    h(
      "ul",
      {},
      SECTIONS.map((name) =>
        h("li", {}, h("a", { href: `#${name}`, id: `tab-${name}`, "aria-current": name === active ? "page" : null }, t(`section.${name}`))),
      ),
    ),
  );
  el.tabs.setAttribute("aria-label", t("admin.nav"));
}

function drawAll() {
  drawTabs();
  drawSection();
}

function drawSection() {
  const name = current();
  render(el.section, SECTION_VIEWS[name]());
  el.section.dataset.section = name;
}

/** Re-draw the current section if it is `name` (after data it shows changed). */
function redraw(name) {
  if (current() === name) drawSection();
}

function saved() {
  flash(el.status, t("admin.saved"));
  notice(el.notice, t("admin.saved"), "info");
  setTimeout(() => notice(el.notice, null), 2500);
}

const value = fieldValue;

function table(id, headers, rows) {
  if (rows.length === 0) return h("p", { class: "empty", id }, t("admin.none"));
  return h(
    "table",
    { class: "list", id },
    h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows),
  );
}

function actionButton(label, onclick, { danger = false, key = null, describedBy = null } = {}) {
  return h(
    "button",
    { type: "button", class: danger ? "button danger small" : "button secondary small", onclick, dataset: key ? { key } : null, "aria-describedby": describedBy },
    label,
  );
}

// --- settings and branding ------------------------------------------------------------------------

function settingsView() {
  const tenant = state.tenant;
  let zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  if (!zones.includes(tenant.timezone)) zones = [tenant.timezone, ...zones];
  const settings = form(
    i18n,
    { class: "card form-grid", id: "settings-form", "aria-labelledby": "settings-title" },
    [
      h("h2", { id: "settings-title" }, t("section.settings")),
      field({ name: "name", label: t("settings.name"), required: true, maxlength: 200, value: tenant.name }),
      field({ name: "timezone", label: t("settings.timezone"), control: "select", options: zones.map((z) => [z, z]), value: tenant.timezone }),
      field({ name: "locale", label: t("settings.locale"), control: "select", options: LANGUAGE_NAMES, value: tenant.locale }),
      field({ name: "ticker", label: t("settings.ticker"), control: "textarea", maxlength: 500, rows: 2, value: tenant.ticker ?? "" }),
      field({
        name: "priority_mode",
        label: t("settings.priority_mode"),
        control: "select",
        options: [
          ["ratio", t("settings.mode.ratio")],
          ["strict", t("settings.mode.strict")],
        ],
        value: tenant.priority_mode,
      }),
      field({ name: "normal_per_priority", label: t("settings.normal_per_priority"), type: "number", min: 1, max: 100, required: true, value: tenant.normal_per_priority }),
      field({ name: "aging_bound_s", label: t("settings.aging_bound_s"), type: "number", min: 0, max: 604800, required: true, value: tenant.aging_bound_s ?? 0 }),
      "call_timeout_s" in tenant
        ? field({ name: "call_timeout_s", label: t("settings.call_timeout_s"), type: "number", min: 0, max: 86400, required: true, value: tenant.call_timeout_s })
        : null,
      h("div", { class: "row" }, h("button", { type: "submit", class: "button", id: "settings-save" }, t("admin.save"))),
    ],
    async (f) => {
      const body = {
        name: value(f, "name").trim(),
        timezone: value(f, "timezone"),
        locale: value(f, "locale"),
        ticker: value(f, "ticker").trim() || null,
        priority_mode: value(f, "priority_mode"),
        normal_per_priority: Number(value(f, "normal_per_priority")),
        aging_bound_s: Number(value(f, "aging_bound_s")),
      };
      if ("call_timeout_s" in tenant) body.call_timeout_s = Number(value(f, "call_timeout_s"));
      try {
        state.tenant = await api("", { method: "PATCH", json: body });
        i18n.setTenant(state.tenant.locale, state.tenant.timezone);
        drawHeader();
        drawTabs();
        saved();
      } catch (error) {
        showApiError(f, i18n, error);
      }
    },
  );
  return [settings, brandingView()];
}

function brandingView() {
  const { logo_url: logoUrl, accent_color: accent } = state.branding;
  const logo = form(
    i18n,
    { id: "logo-form", class: "stack" },
    [
      field({ name: "logo", id: "logo-file", label: t("branding.logo"), type: "file", accept: "image/png,image/jpeg,image/svg+xml", required: true }),
      h(
        "div",
        { class: "row" },
        h("button", { type: "submit", class: "button", id: "logo-upload" }, t("branding.upload")),
        logoUrl ? h("button", { type: "button", class: "button secondary", id: "logo-remove", onclick: removeLogo }, t("branding.remove")) : null,
      ),
    ],
    async (f) => {
      try {
        state.branding = await uploadLogo(f.elements.namedItem("logo").files[0]);
        drawHeader();
        redraw("settings");
        saved();
      } catch (error) {
        showApiError(f, i18n, error);
      }
    },
  );
  const colour = form(
    i18n,
    { id: "accent-form", class: "stack" },
    [
      field({ name: "accent_color", id: "accent-color", label: t("branding.accent"), type: "color", value: accent ?? "#0b5cad" }),
      h("div", { class: "row" }, h("button", { type: "submit", class: "button", id: "accent-save" }, t("branding.accent.save"))),
    ],
    async (f) => {
      try {
        state.branding = await api("/branding", { method: "PATCH", json: { accent_color: value(f, "accent_color") } });
        drawHeader();
        saved();
      } catch (error) {
        showApiError(f, i18n, error);
      }
    },
  );
  return h(
    "section",
    { class: "card", "aria-labelledby": "branding-title" },
    h("h2", { id: "branding-title" }, t("branding.title")),
    h(
      "div",
      { class: "branding" },
      h(
        "figure",
        { class: "logo-preview" },
        logoUrl ? h("img", { src: logoUrl, alt: t("branding.current"), id: "logo-preview" }) : h("p", {}, t("branding.nologo")),
      ),
      h("div", { class: "stack" }, logo, colour),
    ),
  );
}

async function removeLogo() {
  try {
    state.branding = await api("/logo", { method: "DELETE" });
    drawHeader();
    redraw("settings");
    saved();
  } catch (error) {
    notice(el.notice, errorText(i18n, error));
  }
}

// --- services -------------------------------------------------------------------------------------

function servicesView() {
  const editing = state.editing?.kind === "service" ? state.services.find((s) => s.prefix === state.editing.key) : null;
  const offer = (prefix) => state.offer.get(prefix) ?? { position: 0, description: "", active: true };
  const ordered = [...state.services].sort((a, b) => offer(a.prefix).position - offer(b.prefix).position || a.prefix.localeCompare(b.prefix));
  const rows = ordered.map((s) =>
    h(
      "tr",
      { dataset: { service: s.prefix, active: String(offer(s.prefix).active) } },
      h("th", { scope: "row", class: "numbers" }, s.prefix),
      h("td", {}, s.name, offer(s.prefix).description ? h("span", { class: "hint" }, ` — ${offer(s.prefix).description}`) : null),
      h("td", {}, t(s.priority_allowed ? "admin.yes" : "admin.no")),
      h("td", {}, t(offer(s.prefix).active ? "admin.yes" : "admin.no")),
      h(
        "td",
        { class: "actions" },
        actionButton(t("admin.edit"), () => edit("service", s.prefix), { key: `edit-service-${s.prefix}` }),
        actionButton(t("admin.delete"), () => remove(`/services/${s.prefix}`, s.prefix, "services"), { danger: true }),
      ),
    ),
  );
  const editor = form(
    i18n,
    { class: "card form-grid", id: "service-form", "aria-labelledby": "service-form-title" },
    [
      h("h3", { id: "service-form-title" }, editing ? t("services.edit", { prefix: editing.prefix }) : t("services.add")),
      field({ name: "prefix", label: t("services.prefix"), required: true, pattern: "[A-Z]{1,3}", maxlength: 3, value: editing?.prefix, disabled: Boolean(editing), autocapitalize: "characters" }),
      field({ name: "name", label: t("services.name"), required: true, maxlength: 200, value: editing?.name }),
      field({ name: "description", label: t("services.description"), maxlength: 300, value: editing ? offer(editing.prefix).description : "" }),
      field({ name: "position", label: t("services.position"), type: "number", min: 0, max: 999, required: true, value: editing ? offer(editing.prefix).position : state.services.length }),
      field({ name: "priority_allowed", label: t("services.priority"), type: "checkbox", value: editing?.priority_allowed }),
      field({ name: "active", label: t("services.active"), type: "checkbox", value: editing ? offer(editing.prefix).active : true }),
      editorButtons(editing),
    ],
    async (f) => {
      const body = { name: value(f, "name").trim(), priority_allowed: f.elements.namedItem("priority_allowed").checked };
      const kiosk = { position: Number(value(f, "position")), description: value(f, "description").trim() || null, active: f.elements.namedItem("active").checked };
      try {
        const prefix = editing ? editing.prefix : value(f, "prefix").trim().toUpperCase();
        if (editing) await api(`/services/${prefix}`, { method: "PATCH", json: body });
        else await api("/services", { method: "POST", json: { prefix, ...body } });
        await api(`/services/${prefix}/kiosk`, { method: "PUT", json: kiosk });
        learnOffer(await request(`${config.api}/queue`));
        state.services = await api("/services");
        state.editing = null;
        drawSection();
        saved();
        document.querySelector("#service-form input")?.focus();
      } catch (error) {
        showApiError(f, i18n, error);
      }
    },
  );
  return [
    h("h2", {}, t("section.services")),
    h("div", { class: "card" }, table("services-table", [t("services.prefix"), t("services.name"), t("services.priority"), t("services.active"), t("admin.actions")], rows)),
    editor,
  ];
}

function editorButtons(editing) {
  return h(
    "div",
    { class: "row" },
    h("button", { type: "submit", class: "button" }, editing ? t("admin.save") : t("admin.add")),
    editing ? h("button", { type: "button", class: "button secondary", onclick: () => edit(null, null) }, t("admin.cancel")) : null,
  );
}

function edit(kind, key) {
  state.editing = kind ? { kind, key } : null;
  drawSection();
  el.section.querySelector("form input:not([disabled]), form select")?.focus();
}

async function remove(path, what, section) {
  if (!(await confirmDialog(i18n, t("admin.confirm.delete", { what }), { confirmLabel: t("admin.delete") }))) return;
  try {
    await api(path, { method: "DELETE" });
    state[section] = await api(`/${section}`);
    redraw(section);
    saved();
  } catch (error) {
    notice(el.notice, errorText(i18n, error));
  }
}

// --- counters -------------------------------------------------------------------------------------

function countersView() {
  const editing = state.editing?.kind === "counter" ? state.counters.find((c) => String(c.number) === state.editing.key) : null;
  const assigned = (c) => (c.services?.length ? c.services.join(", ") : t("counters.services.all"));
  const headers = [t("counters.number"), t("counters.name"), state.workflow ? t("counters.services") : null, t("admin.actions")].filter(Boolean);
  const rows = state.counters.map((c) =>
    h(
      "tr",
      { dataset: { counter: c.number } },
      h("th", { scope: "row", class: "numbers" }, String(c.number)),
      h("td", {}, c.name),
      state.workflow ? h("td", {}, assigned(c)) : null,
      h(
        "td",
        { class: "actions" },
        actionButton(t("admin.edit"), () => edit("counter", String(c.number)), { key: `edit-counter-${c.number}` }),
        actionButton(t("admin.delete"), () => remove(`/counters/${c.number}`, c.name, "counters"), { danger: true }),
      ),
    ),
  );
  const serving = new Set(editing?.services ?? []);
  const editor = form(
    i18n,
    { class: "card form-grid", id: "counter-form", "aria-labelledby": "counter-form-title" },
    [
      h("h3", { id: "counter-form-title" }, editing ? t("counters.edit", { number: editing.number }) : t("counters.add")),
      field({ name: "number", label: t("counters.number"), type: "number", min: 1, max: 999, required: true, value: editing?.number ?? nextCounterNumber(), disabled: Boolean(editing) }),
      field({ name: "name", label: t("counters.name"), required: true, maxlength: 200, value: editing?.name }),
      state.workflow && state.services.length
        ? h(
            "fieldset",
            { class: "choices" },
            h("legend", {}, t("counters.services"), " ", h("span", { class: "hint" }, `— ${t("counters.services.all")}`)),
            state.services.map((s) => field({ name: "services", id: `counter-service-${s.prefix}`, label: `${s.prefix} · ${s.name}`, type: "checkbox", value: serving.has(s.prefix), "data-prefix": s.prefix })),
          )
        : null,
      editorButtons(editing),
    ],
    async (f) => {
      const body = { name: value(f, "name").trim() };
      if (state.workflow) body.services = [...f.querySelectorAll('input[name="services"]:checked')].map((c) => c.dataset.prefix);
      try {
        if (editing) await api(`/counters/${editing.number}`, { method: "PATCH", json: body });
        else await api("/counters", { method: "POST", json: { number: Number(value(f, "number")), ...body } });
        state.counters = await api("/counters");
        state.editing = null;
        drawSection();
        saved();
        document.querySelector("#counter-form input")?.focus();
      } catch (error) {
        showApiError(f, i18n, error);
      }
    },
  );
  return [
    h("h2", {}, t("section.counters")),
    h("div", { class: "card" }, table("counters-table", headers, rows)),
    editor,
  ];
}

function nextCounterNumber() {
  return Math.min(999, Math.max(0, ...state.counters.map((c) => c.number)) + 1);
}

// --- users ----------------------------------------------------------------------------------------

function usersView() {
  const roles = [
    ["operator", t("users.role.operator")],
    ["admin", t("users.role.admin")],
  ];
  const rows = state.users.map((u) => {
    const me = u.username === session.username;
    const off = state.disabled.has(u.username);
    const roleId = `role-${u.username}`;
    return h(
      "tr",
      { dataset: { user: u.username, status: off ? "disabled" : "enabled" } },
      h(
        "th",
        { scope: "row", id: `user-${u.username}` },
        u.username,
        me ? ` ${t("users.you")}` : "",
        off ? h("span", { class: "presence", dataset: { status: "offline" } }, ` ${t("users.disabled")}`) : null,
      ),
      h(
        "td",
        {},
        h("label", { for: roleId, class: "visually-hidden" }, `${t("users.role")} ${u.username}`),
        h(
          "select",
          { id: roleId, onchange: (event) => changeRole(u, event.target) },
          roles.map(([v, text]) => {
            const option = h("option", { value: v }, text);
            option.selected = v === u.role;
            return option;
          }),
        ),
      ),
      h(
        "td",
        { class: "actions" },
        actionButton(t("users.reset"), () => resetPassword(u), { describedBy: `user-${u.username}` }),
        me ? null : actionButton(t(off ? "users.enable" : "users.disable"), () => setDisabled(u, !off), { describedBy: `user-${u.username}`, key: `access-${u.username}` }),
        me ? null : actionButton(t("admin.delete"), () => remove(`/users/${encodeURIComponent(u.username)}`, u.username, "users"), { danger: true, describedBy: `user-${u.username}` }),
      ),
    );
  });
  const editor = form(
    i18n,
    { class: "card form-grid", id: "user-form", "aria-labelledby": "user-form-title" },
    [
      h("h3", { id: "user-form-title" }, t("users.add")),
      field({ name: "username", label: t("users.username"), required: true, pattern: "[A-Za-z0-9_.@\\-]{1,64}", maxlength: 64, autocomplete: "off" }),
      field({ name: "role", label: t("users.role"), control: "select", options: roles, value: "operator" }),
      field({ name: "password", label: t("users.password"), type: "password", required: true, minlength: 8, maxlength: 200, autocomplete: "new-password" }),
      editorButtons(null),
    ],
    async (f) => {
      try {
        await api("/users", { method: "POST", json: { username: value(f, "username").trim(), role: value(f, "role"), password: value(f, "password") } });
        state.users = await api("/users");
        drawSection();
        saved();
      } catch (error) {
        showApiError(f, i18n, error);
      }
    },
  );
  return [
    h("h2", {}, t("section.users")),
    h("div", { class: "card" }, table("users-table", [t("users.username"), t("users.role"), t("admin.actions")], rows)),
    editor,
  ];
}

async function setDisabled(user, disabled) {
  if (disabled && !(await confirmDialog(i18n, t("users.confirm.disable", { username: user.username }), { confirmLabel: t("users.disable") }))) return;
  try {
    await api(`/users/${encodeURIComponent(user.username)}/disabled`, { method: disabled ? "PUT" : "DELETE" });
    state.disabled = new Set(await api("/disabled-users"));
    redraw("users");
    saved();
  } catch (error) {
    notice(el.notice, errorText(i18n, error));
  }
}

async function changeRole(user, select) {
  try {
    await api(`/users/${encodeURIComponent(user.username)}`, { method: "PATCH", json: { role: select.value } });
    state.users = await api("/users");
    saved();
  } catch (error) {
    select.value = user.role;
    notice(el.notice, errorText(i18n, error));
  }
}

function resetPassword(user) {
  const dialog = h("dialog", { class: "confirm", "aria-labelledby": "reset-title" });
  const reset = form(
    i18n,
    { id: "reset-form" },
    [
      h("h3", { id: "reset-title" }, t("users.reset.for", { username: user.username })),
      field({ name: "password", label: t("users.password"), type: "password", required: true, minlength: 8, maxlength: 200, autocomplete: "new-password" }),
      h(
        "div",
        { class: "row" },
        h("button", { type: "submit", class: "button" }, t("admin.save")),
        h("button", { type: "button", class: "button secondary", onclick: () => dialog.close() }, t("admin.cancel")),
      ),
    ],
    async (f) => {
      try {
        await api(`/users/${encodeURIComponent(user.username)}`, { method: "PATCH", json: { password: value(f, "password") } });
        dialog.close();
        saved();
      } catch (error) {
        showApiError(f, i18n, error);
      }
    },
  );
  dialog.append(reset);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

// --- the rest -------------------------------------------------------------------------------------

const ctx = { config, i18n, t, state, api, el, redraw, saved, table, actionButton, value, token: () => session.token };

const SECTION_VIEWS = {
  settings: settingsView,
  services: servicesView,
  counters: countersView,
  users: usersView,
  devices: () => devicesSection(ctx),
  stats: () => statsSection(ctx),
};

window.addEventListener("hashchange", () => {
  if (!session.token) return;
  state.editing = null;
  drawAll();
  el.section.focus({ preventScroll: true });
});
el.logout.addEventListener("click", async () => {
  await session.logOut(config.auth_url);
  signOut();
});

i18n.apply();
applyTexts(i18n);
expose({ state, session });
learnTenant(config, i18n)
  .then((snapshot) => {
    state.branding = { accent_color: snapshot.accent_color ?? null, logo_url: snapshot.logo_url ?? null };
    state.tenantName = snapshot.tenant_name;
    applyTexts(i18n);
    // Again in the tenant's language, unless someone is already typing.
    const typed = ["username", "password"].some((id) => document.getElementById(id)?.value);
    if (!session.token && !typed) showLogin();
    drawHeader();
  })
  .catch(() => notice(el.notice, i18n.t("error.tenant")));
if (session.token) startConsole();
else showLogin();
expose({ serverNow });
