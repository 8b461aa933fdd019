// What the admin consoles and "pair this screen" add to the page texts: data-tr elements, the
// hint for a field a validation error names, and API errors shown by their stable code (and, for
// invalid input, the field), never by the server's English message. The words themselves are in
// the shared catalogue (protocol/texts.json), under console.error.* for the console's own wording
// of an error (a login form says "wrong username or password" where a screen says "session
// expired").

/** Fill data-tr (text) elements under root, like i18n.apply does for data-i18n. */
export function applyTexts(i18n, root = document) {
  for (const el of root.querySelectorAll("[data-tr]")) el.textContent = i18n.t(el.dataset.tr);
}

// The field a validation error is about -> the hint that explains the rule.
const FIELD_HINTS = {
  prefix: "field.prefix",
  name: "field.name",
  number: "field.number",
  username: "field.username",
  password: "field.password",
  id: "field.id",
  code: "field.code",
  timezone: "field.timezone",
  accent_color: "field.accent_color",
  normal_per_priority: "field.range",
  aging_bound_s: "field.range",
  call_timeout_s: "field.range",
  tenant: "field.id",
};

/** The field an API validation error names (its body's first detail), or null. */
export function errorField(error) {
  const loc = error?.body?.details?.[0]?.loc;
  if (!Array.isArray(loc) || loc[0] !== "body" || loc.length < 2) return null;
  return String(loc[1]);
}

/** The hint for a field's rule (shown next to the field on a validation error). */
export function fieldHint(i18n, field) {
  return i18n.t(FIELD_HINTS[field] ?? "field.invalid");
}

/** What to tell people about a failed API request: from its stable error code only. */
export function errorText(i18n, error) {
  if (!error || error.status === 0) return i18n.t("console.error.network");
  const code = error.body?.error;
  if (code === "conflict" && typeof error.body?.unfinished === "number") {
    return i18n.t("console.error.conflict.unfinished", { count: error.body.unfinished });
  }
  if (code && i18n.has(`console.error.${code}`)) return i18n.t(`console.error.${code}`);
  return i18n.t("console.error.other", { code: code ?? error.status });
}
