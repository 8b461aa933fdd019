// What the two admin consoles share: the signed-in session, forms that validate with translated
// messages (the browser's own bubbles are turned off: they speak the browser's language, not the
// tenant's), API errors mapped to fields, and a confirmation dialog.

import { ApiError, request, serverNow, tokenClaims } from "./api.js";
import { errorField, errorText, fieldHint } from "./console-texts.js";
import { h, render } from "./dom.js";

// --- session ------------------------------------------------------------------------------------

/** A signed-in user kept in sessionStorage (closing the tab signs out). */
export class Session {
  constructor(key) {
    this.key = key;
    this.value = null;
    try {
      const stored = JSON.parse(sessionStorage.getItem(key) ?? "null");
      if (stored && Date.parse(stored.expiresAt) > serverNow()) this.value = stored;
    } catch {
      this.value = null;
    }
  }

  get token() {
    return this.value?.token ?? null;
  }

  get username() {
    return this.value?.username ?? null;
  }

  async signIn(url, username, password) {
    const body = await request(url, { method: "POST", form: { username, password } });
    this.value = {
      username,
      token: body.access_token,
      expiresAt: new Date(serverNow() + body.expires_in * 1000).toISOString(),
    };
    sessionStorage.setItem(this.key, JSON.stringify(this.value));
    return this.value;
  }

  /** Forget the session here (it expired, or the server refused it already). */
  signOut() {
    this.value = null;
    sessionStorage.removeItem(this.key);
  }

  /** The user signs out: the server revokes the token first, then it is forgotten here. */
  async logOut(authUrl) {
    await revokeSession(authUrl, this.token);
    this.signOut();
  }
}

/**
 * End a user's session on the server (POST /auth/logout, beside the sign-in URL `authUrl`):
 * every token of the user stops working at once, on HTTP and on live MQTT, so a copy left in
 * another tab or taken from this one is worthless too. Best effort: when the server cannot be
 * reached the page still forgets the token.
 */
export async function revokeSession(authUrl, token) {
  if (!token) return;
  try {
    await request(authUrl.replace(/\/token$/, "/logout"), { method: "POST", token, timeoutMs: 5000 });
  } catch {
    // Nothing more to do: the caller signs out here regardless.
  }
}

// --- forms --------------------------------------------------------------------------------------

let fieldCount = 0;

/**
 * A labelled control with its error line: {name, label (text), control: "input"|"select"|
 * "textarea", options: [[value, label]], ...attributes}. The error line is announced and tied
 * to the control by aria-describedby.
 */
export function field({ name, label, control = "input", options = [], value, ...attrs }) {
  fieldCount += 1;
  const id = attrs.id ?? `f-${name}-${fieldCount}`;
  const errorId = `${id}-error`;
  const common = { id, name, "aria-describedby": errorId, ...attrs };
  let input;
  if (control === "select") {
    input = h("select", common, options.map(([v, text]) => h("option", { value: v }, text)));
    if (value !== undefined && value !== null) input.value = String(value);
  } else if (control === "textarea") {
    input = h("textarea", common);
    input.value = value ?? "";
  } else {
    input = h("input", common);
    if (attrs.type === "checkbox") input.checked = Boolean(value);
    else if (value !== undefined && value !== null) input.value = String(value);
  }
  const checkbox = attrs.type === "checkbox";
  return h(
    "div",
    { class: checkbox ? "field checkbox" : "field" },
    checkbox ? [input, h("label", { for: id }, label)] : [h("label", { for: id }, label), input],
    h("p", { class: "field-error", id: errorId, hidden: true }),
  );
}

/** A form that validates with our messages: onsubmit(form) runs only when every field is valid. */
export function form(i18n, attrs, children, onsubmit) {
  const el = h("form", { ...attrs, novalidate: true }, children, h("p", { class: "form-error", role: "alert", hidden: true }));
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!validate(el, i18n)) return;
    const submit = el.querySelector('[type="submit"]');
    if (submit) submit.disabled = true;
    try {
      await onsubmit(el);
    } finally {
      if (submit) submit.disabled = false;
    }
  });
  return el;
}

/** The value of the control named `name` in form `f`. */
export function fieldValue(f, name) {
  return f.elements.namedItem(name).value;
}

/**
 * The consoles' sign-in form, rendered into `container`: signs in through `session`, refuses a
 * token whose role is not in `roles` (shown as the translated `forbidden`), then awaits
 * `onSignedIn()`. `message`, if any, is shown at once (why the user was signed out).
 */
export function signInForm(i18n, { container, session, authUrl, roles, onSignedIn, message = null }) {
  const t = (key, vars) => i18n.t(key, vars);
  const login = form(
    i18n,
    { class: "card login-card", id: "login-form" },
    [
      h("h2", {}, t("admin.login")),
      field({ name: "username", id: "username", label: t("admin.username"), autocomplete: "username", required: true }),
      field({ name: "password", id: "password", label: t("admin.password"), type: "password", autocomplete: "current-password", required: true }),
      h("button", { type: "submit", class: "button", id: "login-submit" }, t("admin.login")),
    ],
    async (f) => {
      try {
        const { token } = await session.signIn(authUrl, fieldValue(f, "username").trim(), fieldValue(f, "password"));
        if (!roles.includes(tokenClaims(token)?.role)) {
          session.signOut();
          throw new ApiError(403, "", { error: "forbidden" });
        }
        await onSignedIn();
      } catch (error) {
        showApiError(f, i18n, error);
      }
    },
  );
  render(container, login);
  if (message) {
    const line = login.querySelector(".form-error");
    line.textContent = message;
    line.hidden = false;
  }
  document.getElementById("username").focus();
}

/** Check every control; show each problem next to its field; focus the first. */
export function validate(formEl, i18n) {
  clearErrors(formEl);
  let first = null;
  for (const control of formEl.elements) {
    if (!control.name || control.checkValidity()) continue;
    const message = control.validity.valueMissing
      ? i18n.t(control.type === "file" ? "field.file" : "field.required")
      : fieldHint(i18n, control.dataset.rule ?? control.name);
    setFieldError(control, message);
    first ??= control;
  }
  first?.focus();
  return first === null;
}

export function setFieldError(control, message) {
  const line = document.getElementById(control.getAttribute("aria-describedby"));
  control.setAttribute("aria-invalid", "true");
  if (line) {
    line.textContent = message;
    line.hidden = false;
  }
}

export function clearErrors(formEl) {
  for (const control of formEl.elements) control.removeAttribute?.("aria-invalid");
  for (const line of formEl.querySelectorAll(".field-error, .form-error")) {
    line.textContent = "";
    line.hidden = true;
  }
}

/** Show an API refusal: on the field it names (validation) and as the form's message. */
export function showApiError(formEl, i18n, error) {
  const name = errorField(error);
  const control = name ? [...formEl.elements].find((c) => c.name === name || c.dataset.field === name) : null;
  if (control) {
    setFieldError(control, fieldHint(i18n, control.dataset.rule ?? name));
    control.focus();
  }
  const line = formEl.querySelector(".form-error");
  line.textContent = errorText(i18n, error);
  line.hidden = false;
}

// --- dialogs ------------------------------------------------------------------------------------

/**
 * Ask before something that cannot be undone. With typeToConfirm, the confirm button works only
 * once that text is typed. Resolves true (confirmed) or false (cancelled, Escape).
 */
export function confirmDialog(i18n, message, { typeToConfirm = null, confirmLabel = null } = {}) {
  return new Promise((resolve) => {
    const typed = typeToConfirm
      ? field({ name: "confirm", label: i18n.t("tenants.confirm.type"), autocomplete: "off", required: true, pattern: escapePattern(typeToConfirm) })
      : null;
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": "confirm-text" },
      form(i18n, { method: "dialog" }, [
        h("p", { id: "confirm-text" }, message),
        typed,
        h(
          "div",
          { class: "row" },
          h("button", { type: "submit", class: "button danger", "data-confirm": "yes" }, confirmLabel ?? i18n.t("admin.confirm")),
          h("button", { type: "button", class: "button secondary", onclick: () => dialog.close("no") }, i18n.t("admin.cancel")),
        ),
      ], () => dialog.close("yes")),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "yes");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

function escapePattern(text) {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/** A short status line for screen readers and eyes ("Saved."), cleared after a while. */
export function flash(el, text) {
  el.textContent = text;
  clearTimeout(el.flashTimer);
  el.flashTimer = setTimeout(() => {
    el.textContent = "";
  }, 4000);
}
