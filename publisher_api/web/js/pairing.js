// "Pair this screen": a browser kiosk or display exchanges the short code an admin shows
// (Administration -> Devices) for its own device token (POST /api/v1/pair), keeps it in
// localStorage, and from then on connects as that device: with its token, publishing a retained
// online presence and leaving a retained offline Will, like the pygame agents. A revoked token
// is refused at CONNECT: the screen forgets it and goes back to being unpaired.

import { ApiError, request, tokenClaims } from "./api.js";
import { field, form, showApiError } from "./console-common.js";
import { presencePayload, presenceTopic } from "./documents.js";
import { h } from "./dom.js";
import { publicCredentials, tokenCredentials } from "./live.js";

export const PAIR_URL = "/api/v1/pair";

const storageKey = (config, role) => `queuecast:${config.tenant}:${role}:token`;

/** The device this browser was paired as ({token, deviceId}), or null. */
export function pairedDevice(config, role) {
  const token = localStorage.getItem(storageKey(config, role));
  const claims = token ? tokenClaims(token) : null;
  if (!claims || claims.role !== role || claims.tenant !== config.tenant || typeof claims.sub !== "string") return null;
  return { token, deviceId: claims.sub };
}

export function forgetDevice(config, role) {
  localStorage.removeItem(storageKey(config, role));
}

/** The code form; onPaired({id, role, token}) once the token is stored. */
export function pairForm(config, role, i18n, onPaired) {
  ensureStyles();
  return form(
    i18n,
    { class: "pair-form", id: "pair-form", "aria-label": i18n.t("pair.title") },
    [
      h("p", { class: "pair-help" }, i18n.t("pair.help")),
      field({
        name: "code",
        id: "pair-code-input",
        label: i18n.t("pair.code"),
        required: true,
        pattern: "[0-9]{3} ?[0-9]{3}",
        inputmode: "numeric",
        maxlength: 7,
        autocomplete: "one-time-code",
      }),
      h("button", { type: "submit", class: "button", id: "pair-submit" }, i18n.t("pair.submit")),
    ],
    async (f) => {
      const code = f.elements.namedItem("code").value.replace(/\s/g, "");
      try {
        const paired = await request(PAIR_URL, { method: "POST", json: { tenant: config.tenant, code } });
        if (paired.role !== role) throw new ApiError(400, "", { error: "pairing_code_invalid" });
        localStorage.setItem(storageKey(config, role), paired.token);
        onPaired(paired);
      } catch (error) {
        showApiError(f, i18n, error);
      }
    },
  );
}

/**
 * The LiveConnection options of a screen that may be paired: as the device when it is (its
 * token, presence, forget-and-reload when revoked), as the public otherwise.
 */
export function screenConnection(config, role, onRevoked = () => location.reload()) {
  const device = pairedDevice(config, role);
  if (!device) return { credentials: publicCredentials(config.api) };
  const { deviceId, token } = device;
  return {
    credentials: tokenCredentials(config.api, deviceId, () => pairedDevice(config, role)?.token ?? token),
    presence: {
      topic: presenceTopic(config.topics.devices, deviceId),
      online: presencePayload(config.tenant, deviceId, role, "online"),
      offline: presencePayload(config.tenant, deviceId, role, "offline"),
    },
    onRefused: () => {
      forgetDevice(config, role);
      onRevoked();
    },
  };
}

/**
 * A small "Pair this screen" button (shown while unpaired) that opens the code form in a dialog;
 * the page reloads as the paired device.
 */
export function pairScreenButton(config, role, i18n) {
  if (pairedDevice(config, role)) return null;
  const button = h("button", { type: "button", class: "pair-screen-button", id: "pair-screen" }, i18n.t("pair.title"));
  button.addEventListener("click", () => {
    const dialog = h("dialog", { class: "pair-dialog", "aria-labelledby": "pair-title" }, h("h2", { id: "pair-title" }, i18n.t("pair.title")));
    dialog.append(pairForm(config, role, i18n, () => location.reload()));
    dialog.addEventListener("close", () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  });
  i18n.onChange(() => {
    button.textContent = i18n.t("pair.title");
  });
  ensureStyles();
  document.body.append(button);
  return button;
}

export function ensureStyles() {
  if (document.getElementById("qc-pairing-css")) return;
  document.head.append(h("link", { rel: "stylesheet", href: "/web/css/pairing.css", id: "qc-pairing-css" }));
}
