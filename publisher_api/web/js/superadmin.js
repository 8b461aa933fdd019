// Superadmin console (/admin): every tenant, its status, and creating one together with its first
// admin; suspend/resume and delete, each confirmed (delete by typing the tenant's id).

import { ApiError, request } from "./api.js";
import { Session, confirmDialog, field, fieldValue, flash, form, showApiError, signInForm } from "./console-common.js";
import { applyTexts, errorText } from "./console-texts.js";
import { expose, h, notice, params, readConfig, render } from "./dom.js";
import { I18n } from "./i18n.js";

const config = readConfig();
// No tenant to follow here: the browser's language, unless ?lang= says otherwise.
const i18n = new I18n(params.get("lang"));
const t = (key, vars) => i18n.t(key, vars);
const el = Object.fromEntries(["user", "logout", "login-view", "console-view", "status", "notice"].map((id) => [id, document.getElementById(id)]));
const session = new Session("queuecast:superadmin");
const state = { tenants: [], suspended: new Set(), created: null };

async function api(path, options = {}) {
  try {
    return await request(`/api/v1${path}`, { token: session.token, ...options });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) signOut(t("error.unauthorized"));
    throw error;
  }
}

const value = fieldValue;

// --- session ------------------------------------------------------------------------------------

function showLogin(message = null) {
  el["console-view"].hidden = true;
  el["login-view"].hidden = false;
  el.logout.hidden = true;
  el.user.textContent = "";
  signInForm(i18n, {
    container: el["login-view"],
    session,
    authUrl: config.auth_url,
    roles: ["superadmin"],
    onSignedIn: start,
    message,
  });
}

function signOut(message = null) {
  session.signOut();
  showLogin(message);
}

async function start() {
  try {
    await load();
  } catch (error) {
    if (error.status !== 401) showLogin(errorText(i18n, error));
    return;
  }
  el["login-view"].hidden = true;
  el["console-view"].hidden = false;
  el.logout.hidden = false;
  el.user.textContent = session.username;
  draw();
}

async function load() {
  const [tenants, suspensions] = await Promise.all([api("/tenants"), api("/suspensions")]);
  state.tenants = tenants;
  state.suspended = new Set(suspensions.map((s) => s.tenant));
}

// --- view ---------------------------------------------------------------------------------------

function draw() {
  const rows = state.tenants.map((tenant) => {
    const suspended = state.suspended.has(tenant.id);
    return h(
      "tr",
      { dataset: { tenant: tenant.id, status: suspended ? "suspended" : "active" } },
      h("th", { scope: "row", id: `tenant-${tenant.id}` }, h("a", { href: `/t/${encodeURIComponent(tenant.id)}/admin`, "aria-label": t("tenants.open", { id: tenant.id }) }, tenant.id)),
      h("td", {}, tenant.name),
      h("td", {}, h("span", { class: "presence", dataset: { status: suspended ? "offline" : "online" } }, t(suspended ? "tenants.suspended" : "tenants.active"))),
      h(
        "td",
        { class: "actions" },
        h(
          "button",
          { type: "button", class: "button secondary small", "aria-describedby": `tenant-${tenant.id}`, dataset: { action: suspended ? "resume" : "suspend" }, onclick: () => (suspended ? resume(tenant) : suspend(tenant)) },
          t(suspended ? "tenants.resume" : "tenants.suspend"),
        ),
        h("button", { type: "button", class: "button danger small", "aria-describedby": `tenant-${tenant.id}`, dataset: { action: "delete" }, onclick: () => remove(tenant) }, t("admin.delete")),
      ),
    );
  });
  const list =
    rows.length === 0
      ? h("p", { class: "empty" }, t("admin.none"))
      : h(
          "table",
          { class: "list", id: "tenants-table" },
          h("thead", {}, h("tr", {}, [t("tenants.id"), t("tenants.name"), t("tenants.status"), t("admin.actions")].map((x) => h("th", { scope: "col" }, x)))),
          h("tbody", {}, rows),
        );
  let zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  if (!zones.includes("America/Sao_Paulo")) zones = ["America/Sao_Paulo", ...zones];
  const create = form(
    i18n,
    { class: "card form-grid", id: "tenant-form", "aria-labelledby": "tenant-form-title" },
    [
      h("h2", { id: "tenant-form-title" }, t("tenants.add")),
      field({ name: "id", id: "tenant-id", label: t("tenants.id"), required: true, pattern: "[a-z0-9][a-z0-9_\\-]{0,62}", maxlength: 63, autocomplete: "off" }),
      field({ name: "name", id: "tenant-name", label: t("tenants.name"), required: true, maxlength: 200 }),
      field({ name: "timezone", id: "tenant-timezone", label: t("settings.timezone"), control: "select", options: zones.map((z) => [z, z]), value: "America/Sao_Paulo" }),
      field({
        name: "locale",
        id: "tenant-locale",
        label: t("settings.locale"),
        control: "select",
        options: [
          ["pt-BR", "Português (Brasil)"],
          ["en", "English"],
          ["es", "Español"],
        ],
        value: "pt-BR",
      }),
      field({ name: "username", id: "admin-username", label: t("tenants.admin_username"), required: true, pattern: "[A-Za-z0-9_.@\\-]{1,64}", maxlength: 64, autocomplete: "off" }),
      field({ name: "password", id: "admin-password", label: t("tenants.admin_password"), type: "password", required: true, minlength: 8, maxlength: 200, autocomplete: "new-password" }),
      h("div", { class: "row" }, h("button", { type: "submit", class: "button", id: "tenant-create" }, t("tenants.create"))),
    ],
    createTenant,
  );
  render(
    el["console-view"],
    h("h2", {}, t("tenants.title")),
    h("div", { class: "card" }, list),
    state.created
      ? h(
          "p",
          { class: "card success-text", id: "tenant-created" },
          t("tenants.created", state.created),
          " ",
          h("a", { href: `/t/${encodeURIComponent(state.created.id)}/admin`, id: "open-created" }, t("tenants.open", { id: state.created.id })),
        )
      : null,
    create,
  );
}

async function createTenant(f) {
  const id = value(f, "id").trim();
  const username = value(f, "username").trim();
  try {
    await api("/tenants", { method: "POST", json: { id, name: value(f, "name").trim(), timezone: value(f, "timezone"), locale: value(f, "locale") } });
  } catch (error) {
    return showApiError(f, i18n, error);
  }
  try {
    await api(`/tenants/${encodeURIComponent(id)}/users`, { method: "POST", json: { username, password: value(f, "password"), role: "admin" } });
  } catch (error) {
    // The tenant exists without its admin: take it back, so the form can simply be sent again.
    await api(`/tenants/${encodeURIComponent(id)}`, { method: "DELETE" }).catch(() => {});
    return showApiError(f, i18n, error);
  }
  state.created = { id, username };
  await load();
  draw();
  flash(el.status, t("tenants.created", state.created));
  document.getElementById("open-created")?.focus();
}

async function suspend(tenant) {
  if (!(await confirmDialog(i18n, t("tenants.confirm.suspend", { id: tenant.id }), { confirmLabel: t("tenants.suspend") }))) return;
  await act(() => api(`/tenants/${encodeURIComponent(tenant.id)}/suspension`, { method: "PUT" }));
}

async function resume(tenant) {
  await act(() => api(`/tenants/${encodeURIComponent(tenant.id)}/suspension`, { method: "DELETE" }));
}

async function remove(tenant) {
  const confirmed = await confirmDialog(i18n, t("tenants.confirm.delete", { id: tenant.id }), { typeToConfirm: tenant.id, confirmLabel: t("admin.delete") });
  if (!confirmed) return;
  await act(() => api(`/tenants/${encodeURIComponent(tenant.id)}`, { method: "DELETE" }));
}

async function act(call) {
  try {
    await call();
    state.created = null;
    await load();
    draw();
    notice(el.notice, null);
  } catch (error) {
    notice(el.notice, errorText(i18n, error));
  }
}

el.logout.addEventListener("click", async () => {
  await session.logOut(config.auth_url);
  signOut();
});
i18n.apply();
applyTexts(i18n);
expose({ state });
if (session.token) start();
else showLogin();
