// HTTP to our own API: JSON in and out, the API's error message on failure, and the server's
// clock (learned from every response's Date header) so "recent" means recent by the server.

let clockOffsetMs = 0;

/** Milliseconds since the epoch on the server's clock (as well as we know it). */
export function serverNow() {
  return Date.now() + clockOffsetMs;
}

export class ApiError extends Error {
  /** status 0 means the request never got an answer (network down, timeout). */
  constructor(status, message, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }

  /** The API's stable error code ("counter_busy"...), what pages translate; null if none. */
  get code() {
    return typeof this.body?.error === "string" ? this.body.error : null;
  }
}

/**
 * One request. Options: method, token (Bearer), json (body), form (x-www-form-urlencoded body),
 * headers, timeoutMs. Resolves to the parsed JSON body (null for 204); rejects with ApiError.
 */
export async function request(url, options = {}) {
  const { method = "GET", token, json, form, headers = {}, timeoutMs = 10000 } = options;
  const init = { method, headers: { Accept: "application/json", ...headers }, cache: "no-store" };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (form !== undefined) {
    init.body = new URLSearchParams(form);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const sentAt = Date.now();
  let response;
  try {
    response = await fetch(url, { ...init, signal: controller.signal });
  } catch (error) {
    throw new ApiError(0, error.name === "AbortError" ? "timeout" : "network error");
  } finally {
    clearTimeout(timer);
  }
  learnClock(response, sentAt);
  if (response.status === 204) return null;
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, errorMessage(body, response), body);
  return body;
}

/** The message our API puts in an error body (FastAPI's "detail" or our "message"). */
export function errorMessage(body, response) {
  if (body && typeof body.message === "string") return body.message;
  if (body && typeof body.detail === "string") return body.detail;
  if (body && Array.isArray(body.detail) && body.detail[0]?.msg) return body.detail[0].msg;
  return `${response.status} ${response.statusText}`.trim();
}

/**
 * The claims of one of our tokens, read without verifying (the API and broker verify). Pages use
 * it only to learn a device's id (sub) and when a token expires (exp, seconds).
 */
export function tokenClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "=")));
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

/** A random UUID v4 that also works outside secure contexts (plain http on a LAN). */
export function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function learnClock(response, sentAt) {
  const date = Date.parse(response.headers.get("Date") ?? "");
  if (Number.isNaN(date)) return;
  // The header has whole seconds: +500 ms centres the error; the midpoint absorbs the latency.
  const localMidpoint = (sentAt + Date.now()) / 2;
  clockOffsetMs = date + 500 - localMidpoint;
}
