// Admin console, devices: every kiosk and display of the tenant with its live presence (the
// retained device_presence documents on MQTT), pairing codes instead of pasted tokens, and
// revoke (a new token the device never sees: the old one is refused and its connection closed
// at once, so its Will marks it offline).

import { serverNow } from "./api.js";
import { confirmDialog, field, form, showApiError } from "./console-common.js";
import { errorText } from "./console-texts.js";
import { h, notice, render } from "./dom.js";

const AGENTS = { totem: "totem_agent", display: "display_agent" };

/** A device_presence document arrived: remember it, and show it if the list is on screen. */
export function onPresence(ctx, doc) {
  const { state } = ctx;
  const before = state.presence.get(doc.device_id);
  state.presence.set(doc.device_id, { status: doc.status, at: serverNow(), live: before !== undefined || doc.status === "online" });
  if (state.pairing && doc.device_id === state.pairing.id && doc.status === "online") state.pairing = { ...state.pairing, done: true };
  if (!state.devices.some((d) => d.id === doc.device_id)) {
    // Paired since the list was loaded.
    ctx.api("/devices").then((devices) => {
      state.devices = devices;
      drawList(ctx);
    }, () => {});
  }
  drawList(ctx);
  drawCode(ctx);
}

export function devicesSection(ctx) {
  const { t, i18n, state, api } = ctx;
  const pair = form(
    i18n,
    { class: "card form-grid", id: "pair-form", "aria-labelledby": "pair-form-title" },
    [
      h("h3", { id: "pair-form-title" }, t("devices.add")),
      field({ name: "id", id: "pair-id", label: t("devices.id"), required: true, pattern: "[a-z0-9][a-z0-9_\\-]{0,62}", maxlength: 63, autocomplete: "off" }),
      field({
        name: "role",
        id: "pair-role",
        label: t("devices.role"),
        control: "select",
        options: [
          ["totem", t("devices.role.totem")],
          ["display", t("devices.role.display")],
        ],
        value: "totem",
      }),
      h("div", { class: "row" }, h("button", { type: "submit", class: "button", id: "pair-submit" }, t("devices.pair"))),
    ],
    async (f) => {
      try {
        state.pairing = await api("/pairing-codes", { method: "POST", json: { id: ctx.value(f, "id").trim(), role: ctx.value(f, "role") } });
        f.reset();
        drawCode(ctx);
        document.getElementById("pair-code")?.focus();
      } catch (error) {
        showApiError(f, i18n, error);
      }
    },
  );
  const section = [
    h("h2", {}, t("section.devices")),
    h("div", { class: "card", id: "devices-list" }),
    pair,
    h("div", { id: "pair-result", "aria-live": "polite" }),
  ];
  queueMicrotask(() => {
    drawList(ctx);
    drawCode(ctx);
  });
  return section;
}

function drawList(ctx) {
  const { t, i18n, state } = ctx;
  const holder = document.getElementById("devices-list");
  if (!holder) return;
  const rows = state.devices.map((d) => {
    const presence = state.presence.get(d.id);
    const status = presence?.status ?? "unknown";
    const seen = status === "online" ? t("devices.now") : presence?.live ? i18n.time(presence.at, true) : "—";
    return h(
      "tr",
      { dataset: { device: d.id, status } },
      h("th", { scope: "row", id: `device-${d.id}` }, d.id),
      h("td", {}, t(`devices.role.${d.role}`)),
      h("td", {}, h("span", { class: "presence", dataset: { status } }, t(`devices.${status}`))),
      h("td", { class: "numbers" }, seen),
      h(
        "td",
        { class: "actions" },
        ctx.actionButton(t("devices.revoke"), () => revoke(ctx, d), { danger: true, key: `revoke-${d.id}`, describedBy: `device-${d.id}` }),
        ctx.actionButton(t("admin.delete"), () => removeDevice(ctx, d), { describedBy: `device-${d.id}` }),
      ),
    );
  });
  render(holder, ctx.table("devices-table", [t("devices.id"), t("devices.role"), t("devices.status"), t("devices.lastseen"), t("admin.actions")], rows));
}

function drawCode(ctx) {
  const { t, i18n, state, config } = ctx;
  const holder = document.getElementById("pair-result");
  const code = state.pairing;
  if (!holder) return;
  if (!code) return render(holder);
  if (code.done) {
    return render(holder, h("p", { class: "card success-text", id: "pair-done" }, `${t(`devices.role.${code.role}`)} ${code.id}: ${t("devices.online")}`));
  }
  const api = `${location.origin}`;
  render(
    holder,
    h(
      "section",
      { class: "card code-card", "aria-labelledby": "pair-code-title" },
      h("h3", { id: "pair-code-title" }, `${t("devices.code")} · ${code.id}`),
      h("p", { class: "pair-code numbers", id: "pair-code", tabindex: "-1", dataset: { code: code.code, device: code.id } }, `${code.code.slice(0, 3)} ${code.code.slice(3)}`),
      h("p", {}, t("devices.code.help", { time: i18n.time(code.expires_at) })),
      h("p", { class: "hint" }, h("code", {}, t("devices.code.agent", { agent: AGENTS[code.role], api, tenant: config.tenant, code: code.code }))),
    ),
  );
}

async function revoke(ctx, device) {
  const { t, i18n, api, el } = ctx;
  if (!(await confirmDialog(i18n, t("devices.confirm.revoke", { id: device.id }), { confirmLabel: t("devices.revoke") }))) return;
  try {
    // Rotating the token revokes the one the device holds; the new one is never shown.
    await api(`/devices/${encodeURIComponent(device.id)}/token`, { method: "POST" });
    ctx.saved();
  } catch (error) {
    notice(el.notice, errorText(i18n, error));
  }
}

async function removeDevice(ctx, device) {
  const { t, i18n, api, el, state } = ctx;
  if (!(await confirmDialog(i18n, t("admin.confirm.delete", { what: device.id }), { confirmLabel: t("admin.delete") }))) return;
  try {
    await api(`/devices/${encodeURIComponent(device.id)}`, { method: "DELETE" });
    state.devices = await api("/devices");
    drawList(ctx);
    ctx.saved();
  } catch (error) {
    notice(el.notice, errorText(i18n, error));
  }
}
