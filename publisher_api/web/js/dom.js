// Small DOM helpers every page shares: its configuration, an element builder, URL parameters,
// the connection badge, the clock and the "enable sound" button.

/** The page's configuration, rendered by the server into <script id="qc-config">. */
export function readConfig() {
  return JSON.parse(document.getElementById("qc-config").textContent);
}

/**
 * h("li", {class: "call", dataset: {id}, onclick}, "text", child, ...): an element. Children may
 * be strings, nodes, null/false (skipped) or arrays of those. Text is always text, never HTML.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  el.append(...flatten(children));
  return el;
}

function flatten(children) {
  return children
    .flat(Infinity)
    .filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : String(c)));
}

/**
 * Replace an element's children (same child rules as h). Keyboard focus survives: if the focused
 * element had a data-key, the new element with the same data-key gets the focus back.
 */
export function render(el, ...children) {
  const active = document.activeElement;
  const key = active && el.contains(active) ? active.dataset?.key : undefined;
  el.replaceChildren(...flatten(children));
  if (key !== undefined) el.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus({ preventScroll: true });
}

/** Set a <select>'s options ([value, label] pairs), keeping its value when it still exists. */
export function setOptions(select, options) {
  const value = select.value;
  select.replaceChildren(...options.map(([v, label]) => h("option", { value: v }, label)));
  if (options.some(([v]) => String(v) === value)) select.value = value;
}

export const params = new URLSearchParams(location.search);

/** A comma-separated URL parameter as a list ("A,P" -> ["A", "P"]); null when absent. */
export function listParam(name) {
  const value = params.get(name);
  if (!value) return null;
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A positive number URL parameter, or the default when absent or invalid. */
export function numberParam(name, fallback) {
  const value = Number(params.get(name));
  return params.has(name) && Number.isFinite(value) && value > 0 ? value : fallback;
}

/** Show the connection state in a badge (text for people, data-state for styles and tests). */
export function showConnection(el, status, i18n) {
  el.dataset.state = status;
  el.textContent = i18n.t(`conn.${status}`);
}

/**
 * The connection options every page shares: the badge follows the connection state, an unknown
 * tenant while polling is said plainly, and the URL may tune polling and backoff
 * (?poll=seconds, ?reconnect_max=seconds, ?keepalive=seconds).
 */
export function pageConnection({ state, el, i18n }) {
  return {
    onError: (error, where) => {
      if (where === "poll" && error.status === 404) notice(el.notice, i18n.t("error.tenant"));
    },
    onStatus: (status) => {
      state.status = status;
      showConnection(el.conn, status, i18n);
    },
    pollIntervalMs: numberParam("poll", 5) * 1000,
    reconnectMaxMs: numberParam("reconnect_max", 30) * 1000,
    keepaliveS: Math.max(1, Math.round(numberParam("keepalive", 30))), // 0 would turn pings off
  };
}

/** Keep a clock element ticking in the tenant's time zone (once a second, nothing else). */
export function startClock(el, i18n) {
  const tick = () => {
    el.textContent = i18n.time(Date.now());
    el.setAttribute("datetime", new Date().toISOString());
  };
  tick();
  i18n.onChange(tick);
  return setInterval(tick, 1000);
}

/**
 * The "enable sound" button (its text comes from data-i18n): browsers refuse audio until a user
 * gesture; a wall display may have no keyboard, so the button is large, and it disappears once
 * sound is allowed.
 */
export function soundButton(el, speaker) {
  const refresh = () => {
    el.hidden = !speaker.blocked;
  };
  el.addEventListener("click", async () => {
    await speaker.unlock();
    refresh();
  });
  refresh();
  // Any key or touch anywhere also counts as the gesture.
  for (const type of ["keydown", "pointerdown"]) {
    window.addEventListener(type, () => speaker.unlock().then(refresh), { once: true });
  }
  return refresh;
}

/** Page state visible to tests and to people debugging a screen (window.queuecast). */
export function expose(values) {
  window.queuecast = Object.assign(window.queuecast ?? {}, values);
}

/** Announce text to screen readers through a polite/assertive live region. */
export function say(el, text) {
  el.textContent = "";
  // A fresh text node after a tick makes screen readers read it even if the text repeats.
  setTimeout(() => {
    el.textContent = text;
  }, 50);
}

/** Show a message in a notice element (role=alert); null hides it. */
export function notice(el, text, kind = "error") {
  el.hidden = text === null;
  el.classList.toggle("info", kind === "info");
  el.textContent = text ?? "";
}
