// User-facing text in pt-BR, English and Spanish. The language is the tenant's (from its queue
// snapshot) unless the page URL says ?lang=; formatting follows the same language and the
// tenant's time zone.

import CATALOGUE from "../texts.json" with { type: "json" };

export const LANGUAGES = ["pt-BR", "en", "es"];

// The API's stable error codes that have their own text (publisher_api/errors.py and the issue 9
// contract); any other code reads as a generic failure with its HTTP status.
export const ERROR_CODES = new Set([
  "unauthorized", "forbidden", "not_found", "validation_error", "invalid", "conflict",
  "illegal_transition", "counter_busy", "counter_closed", "counter_paused", "counter_held",
  "internal_error", "too_many_requests", "payload_too_large",
]);

// Every user-facing text of the pages and of the pygame agents, in one catalogue
// (protocol/texts.json, served at /web/texts.json; edge/texts.py reads the same file). Add a key
// there, in all three languages: a test fails when one language misses it.
const TABLES = CATALOGUE;

/** The supported language closest to a BCP 47 tag ("pt", "pt-PT" -> pt-BR; "en-US" -> en). */
export function matchLanguage(tag) {
  if (typeof tag !== "string" || tag === "") return null;
  const base = tag.toLowerCase().split(/[-_]/)[0];
  return LANGUAGES.find((lang) => lang.toLowerCase().split("-")[0] === base) ?? null;
}

/**
 * The page's text. The language is ?lang= (override) if it names a supported one, else the
 * tenant's locale once known, else the browser's, else pt-BR (the product's home language).
 */
export class I18n {
  constructor(override = null) {
    this.override = matchLanguage(override);
    this.tenantLang = null;
    this.timezone = undefined;
    this.listeners = [];
  }

  /** Call `listener` whenever the tenant's language or time zone becomes known or changes. */
  onChange(listener) {
    this.listeners.push(listener);
  }

  get lang() {
    return this.override ?? this.tenantLang ?? matchLanguage(navigator.language) ?? "pt-BR";
  }

  /** Learn the tenant's locale and time zone; true when the page language changed. */
  setTenant(locale, timezone) {
    const before = [this.lang, this.timezone];
    this.tenantLang = matchLanguage(locale);
    this.timezone = timezone || undefined;
    const changed = this.lang !== before[0];
    if (changed || this.timezone !== before[1]) for (const listener of this.listeners) listener();
    return changed;
  }

  /** Follow a queue snapshot's locale and time zone, re-translating the page if they changed. */
  follow(snapshot) {
    if (this.setTenant(snapshot.locale, snapshot.timezone)) this.apply();
  }

  /** True when some table has a text for `key` (for codes and reasons that may be new). */
  has(key) {
    return key in TABLES[this.lang] || key in TABLES.en;
  }

  t(key, vars = {}) {
    const text = TABLES[this.lang][key] ?? TABLES.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
  }

  /** "~12 min", "under 1 min", or a dash when unknown. */
  wait(seconds) {
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
      return this.t("wait.unknown");
    }
    if (seconds < 60) return this.t("wait.less");
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return this.t("wait.min", { minutes });
    return this.t("wait.hours", { hours: Math.floor(minutes / 60), minutes: minutes % 60 });
  }

  /** A compact duration for figures: "42 s", "3 min", "1 h 7 min" (units read alike in all three). */
  duration(seconds) {
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) return this.t("wait.unknown");
    if (seconds < 60) return `${Math.round(seconds)} s`;
    const minutes = Math.round(seconds / 60);
    return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  /** Hours and minutes of a timestamp in the tenant's time zone. */
  time(value, withSeconds = false) {
    const options = { hour: "2-digit", minute: "2-digit", timeZone: this.timezone };
    if (withSeconds) options.second = "2-digit";
    try {
      return new Intl.DateTimeFormat(this.lang, options).format(new Date(value));
    } catch {
      // An unknown time zone name must not break the page: fall back to the browser's.
      delete options.timeZone;
      return new Intl.DateTimeFormat(this.lang, options).format(new Date(value));
    }
  }

  /**
   * What the speaker says for a call: "Senha A, 0 2 3. Sala de Coleta 4." (digits one by one).
   * `place` is the counter's name; a bare counter number reads "Guichê 3".
   */
  spokenCall(number, place) {
    const match = /^([^\d]*)(\d*)$/.exec(String(number)) ?? ["", String(number), ""];
    const code = [match[1], match[2]]
      .map((part) => part.split("").join(" "))
      .filter(Boolean)
      .join(", ");
    return this.t("spoken.call", { code, place: this.place(place) });
  }

  /** A counter as people know it: its name ("Sala de Coleta 4"), else "Guichê 3". */
  place(counter, name = null) {
    if (typeof name === "string" && name.trim()) return name.trim();
    if (typeof counter === "string" && counter.trim()) return counter.trim();
    if (counter === null || counter === undefined) return "";
    return this.t("counter.n", { counter });
  }

  /**
   * The text people read for a failed API request: the stable `error` code of the body (never
   * the server's English `message`), with the details the code carries (holder, reason...).
   */
  error(error) {
    const status = error?.status ?? 0;
    if (status === 0) return this.t("error.network");
    const body = error?.body && typeof error.body === "object" ? error.body : {};
    const code = typeof body.error === "string" ? body.error : "";
    if (ERROR_CODES.has(code)) {
      return this.t(`error.${code}`, {
        status: typeof body.status === "string" ? this.t(`status.${body.status}`) : "",
        number: body.ticket?.number ?? "",
        holder: body.holder ?? "",
        reason: body.reason ?? "",
      });
    }
    return this.t(status >= 500 ? "error.internal_error" : "error.unknown", { status });
  }

  /** Fill every element carrying data-i18n (text) or data-i18n-label (aria-label). */
  apply(root = document) {
    document.documentElement.lang = this.lang;
    for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = this.t(el.dataset.i18n);
    for (const el of root.querySelectorAll("[data-i18n-label]")) {
      el.setAttribute("aria-label", this.t(el.dataset.i18nLabel));
    }
    for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
      el.setAttribute("placeholder", this.t(el.dataset.i18nPlaceholder));
    }
  }
}

/** Every key of every table, for the test that checks no language misses a text. */
export function tableKeys() {
  return Object.fromEntries(Object.entries(TABLES).map(([lang, table]) => [lang, Object.keys(table)]));
}
