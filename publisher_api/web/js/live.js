// The one live connection every page uses: MQTT over WebSocket with MQTT.js.
//
// - credentials come from a provider called before every (re)connect, so a reconnect never uses
//   an expired token; providers with an expiry are refreshed ahead of it in the background;
// - the first reconnect after a loss waits a random 0..reconnectSpreadMs (5 s), later ones back
//   off exponentially with jitter (1 s doubling up to reconnectMaxMs);
// - while MQTT is down the page polls the REST API instead (the same documents), and says so;
// - payloads go through documents.decode (junk is logged and ignored) and the SeqGate (an older
//   snapshot never overwrites a newer one), then to the page's onDocument.

import mqtt from "../vendor/mqtt.esm.js";

import { ApiError, request, serverNow } from "./api.js";
import { ProtocolError, SeqGate, decode } from "./documents.js";

export const Status = Object.freeze({
  CONNECTING: "connecting",
  LIVE: "live",
  RECONNECTING: "reconnecting",
  POLLING: "polling",
  OFFLINE: "offline",
});

// Refresh an expiring credential when this share of its lifetime has passed.
const REFRESH_AT = 0.75;
// setTimeout fires at once beyond ~24.8 days; long-lived credentials are rechecked daily instead.
const MAX_TIMER_MS = 86_400_000;

/** Credentials for public pages: a short-lived read-only token from the API. */
export function publicCredentials(api) {
  return async () => {
    const c = await request(`${api}/mqtt-credentials`);
    return { wsUrl: c.ws_url, username: c.username, password: c.password, expiresAt: c.expires_at };
  };
}

/**
 * Credentials for a holder of its own token (a device or a signed-in operator): username and
 * token as password, the API's credentials endpoint asked only for the broker's address; or,
 * when that endpoint says `login: "password"` (a broker with its own accounts: Mosquitto with
 * dynamic security), the holder's own broker login it gives for the token sent.
 * Nothing to refresh: when such a token expires its holder must get a new one (sign in again).
 */
export function tokenCredentials(api, username, token) {
  return async () => {
    // A function gives the token current at each connection (a kiosk renews its token).
    const password = typeof token === "function" ? token() : token;
    const c = await request(`${api}/mqtt-credentials`, { token: password });
    if (c.login === "password") {
      return { wsUrl: c.ws_url, username: c.username, password: c.password, expiresAt: null };
    }
    return { wsUrl: c.ws_url, username, password, expiresAt: null };
  };
}

export class LiveConnection {
  /**
   * credentials: async () => {wsUrl, username, password, expiresAt}
   * topics: filters to subscribe, in order; each a string or {filter, fallback} where fallback is
   *   subscribed instead when the broker refuses filter.
   * poll: async () => [document, ...] from the REST API (the polling fallback).
   * onDocument(doc, source): a decoded, in-order document; source is "mqtt" or "http".
   * onStatus(status): connection state changes (see Status).
   * onError(error, where): an API error while polling (where = "poll") or fetching credentials
   *   (where = "credentials"); the page may show it.
   * onRefused(error): the broker refused the credentials at CONNECT.
   * presence: {topic, online, offline} for devices: retained offline Will + retained online.
 * keepaliveS: MQTT keep-alive; the broker drops a client silent for 1.5 times it.
   */
  constructor(options) {
    this.options = {
      pollIntervalMs: 5000,
      reconnectMinMs: 1000,
      reconnectMaxMs: 30000,
      reconnectSpreadMs: 5000,
      keepaliveS: 30,
      onStatus: () => {},
      onError: () => {},
      onRefused: () => {},
      ...options,
    };
    this.gate = new SeqGate();
    this.client = null;
    this.attempts = 0;
    this.status = null;
    this.latest = null;
    this.timers = { reconnect: null, poll: null, refresh: null };
    this.stopped = false;
    this.onBrowserOnline = () => this.reconnectNow();
  }

  start() {
    this.setStatus(Status.CONNECTING);
    window.addEventListener("online", this.onBrowserOnline);
    window.addEventListener("pagehide", () => this.stop());
    // Restored from the back/forward cache after pagehide stopped us: start over cleanly.
    window.addEventListener("pageshow", (event) => event.persisted && location.reload());
    // First paint from HTTP at once; MQTT's retained snapshot follows (same seq: no change).
    this.pollOnce();
    this.connect();
    return this;
  }

  stop() {
    if (this.stopped) return;
    this.stopped = true;
    for (const name of Object.keys(this.timers)) this.clearTimer(name);
    window.removeEventListener("online", this.onBrowserOnline);
    const client = this.client;
    this.client = null;
    if (client?.connected && this.options.presence) {
      const { topic, offline } = this.options.presence;
      client.publish(topic, offline, { qos: 1, retain: true }, () => client.end(true));
    } else {
      client?.end(true);
    }
  }

  /** After a change made over HTTP: when MQTT is down, poll now rather than at the next tick. */
  refresh() {
    if (!this.stopped && !this.client?.connected) this.pollOnce();
  }

  reconnectNow() {
    if (this.stopped || this.client?.connected) return;
    this.clearTimer("reconnect");
    this.attempts = 0;
    this.connect();
  }

  async connect() {
    if (this.stopped) return;
    let credentials;
    try {
      credentials = await this.credentials();
    } catch (error) {
      this.options.onError(error, "credentials");
      this.lost();
      return;
    }
    if (this.stopped) return;
    let client;
    try {
      client = this.open(credentials, this.options.presence);
    } catch (error) {
      // A malformed URL throws at once instead of closing later: same path as a failed attempt.
      this.options.onError(error, "credentials");
      this.lost();
      return;
    }
    this.client = client;
    client.on("connect", () => this.connected(client));
    client.on("message", (topic, payload) => this.received(topic, payload));
    client.on("error", (error) => {
      console.warn("mqtt:", error.message);
      // CONNACK 4 (bad user name or password) / 5 (not authorised): the token was refused.
      if (error.code === 4 || error.code === 5) this.options.onRefused(error);
    });
    client.on("close", () => {
      if (this.client !== client) return;
      client.end(true);
      this.client = null;
      this.lost();
    });
  }

  open(credentials, presence) {
    // An external broker may offer no WebSocket at all: then this page lives on polling.
    if (!credentials.wsUrl) throw new Error("the API advertises no MQTT WebSocket URL");
    return mqtt.connect(credentials.wsUrl, {
      username: credentials.username,
      password: credentials.password,
      clientId: `web-${Math.random().toString(16).slice(2, 14)}`,
      protocolVersion: 4, // the embedded broker speaks MQTT 3.1.1
      clean: true,
      // Pings run on MQTT.js's worker timers (a blob: worker the pages' CSP allows), which a
      // background tab does not throttle the way it throttles the page's own timers.
      keepalive: this.options.keepaliveS,
      connectTimeout: 8000,
      reconnectPeriod: 0, // we reconnect ourselves, with backoff and fresh credentials
      resubscribe: false,
      will: presence ? { topic: presence.topic, payload: presence.offline, qos: 1, retain: true } : undefined,
    });
  }

  async credentials() {
    try {
      const fresh = await this.options.credentials();
      this.keep(fresh);
      return fresh;
    } catch (error) {
      // The API is unreachable but a credential we refreshed earlier is still good: use it.
      if (!(error instanceof ApiError) || error.status !== 0 || !this.usable(this.latest)) throw error;
      return this.latest;
    }
  }

  keep(credentials) {
    this.latest = credentials;
    this.clearTimer("refresh");
    const expiresAt = Date.parse(credentials.expiresAt ?? "");
    if (Number.isNaN(expiresAt)) return;
    const lifetime = expiresAt - serverNow();
    this.timers.refresh = setTimeout(() => {
      this.options
        .credentials()
        .then((fresh) => this.keep(fresh))
        .catch(() => {
          this.timers.refresh = setTimeout(() => this.keep(this.latest), 30000);
        });
    }, Math.min(MAX_TIMER_MS, Math.max(5000, lifetime * REFRESH_AT)));
  }

  usable(credentials) {
    if (!credentials) return false;
    const expiresAt = Date.parse(credentials.expiresAt ?? "");
    return Number.isNaN(expiresAt) || expiresAt > serverNow() + 5000;
  }

  connected(client) {
    if (this.client !== client) return;
    this.attempts = 0;
    this.clearTimer("poll");
    const { presence } = this.options;
    if (presence) client.publish(presence.topic, presence.online, { qos: 1, retain: true });
    for (const topic of this.options.topics) this.subscribe(client, topic);
    this.setStatus(Status.LIVE);
  }

  subscribe(client, topic) {
    const { filter, fallback } = typeof topic === "string" ? { filter: topic } : topic;
    client.subscribe(filter, { qos: 1 }, (error) => {
      if (!error) return;
      if (fallback) {
        this.subscribe(client, fallback);
      } else {
        console.warn(`mqtt: subscription to ${filter} refused`);
      }
    });
  }

  received(topic, payload) {
    let doc;
    try {
      doc = decode(payload);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      console.warn(`mqtt: ignored payload on ${topic}: ${error.message}`);
      return;
    }
    if (doc !== null) this.deliver(doc, "mqtt");
  }

  deliver(doc, source) {
    if (!this.gate.accept(doc)) return;
    try {
      this.options.onDocument(doc, source);
    } catch (error) {
      // One bad document must not take the connection down.
      console.error("page could not apply", doc.type, error);
    }
  }

  lost() {
    if (this.stopped) return;
    this.setStatus(this.status === Status.POLLING ? Status.POLLING : Status.RECONNECTING);
    this.startPolling();
    const ceiling = Math.min(
      this.options.reconnectMaxMs,
      this.options.reconnectMinMs * 2 ** Math.min(Math.max(this.attempts - 1, 0), 16),
    );
    // Every page of a site loses the broker at the same moment: the first attempt waits a random
    // 0..reconnectSpreadMs ("full jitter") so they do not all return in the same one either.
    const delay =
      this.attempts === 0
        ? Math.random() * Math.min(this.options.reconnectSpreadMs, this.options.reconnectMaxMs)
        : ceiling / 2 + Math.random() * (ceiling / 2); // "equal jitter"
    this.attempts += 1;
    this.clearTimer("reconnect");
    this.timers.reconnect = setTimeout(() => this.connect(), delay);
  }

  startPolling() {
    if (this.timers.poll !== null) return;
    const tick = async () => {
      await this.pollOnce();
      if (!this.stopped && !this.client?.connected && this.timers.poll !== null) {
        this.timers.poll = setTimeout(tick, this.options.pollIntervalMs);
      }
    };
    this.timers.poll = setTimeout(tick, 0);
  }

  async pollOnce() {
    try {
      const docs = await this.options.poll();
      for (const doc of docs) if (doc) this.deliver(doc, "http");
      if (!this.client?.connected && this.status !== Status.CONNECTING) this.setStatus(Status.POLLING);
    } catch (error) {
      this.options.onError(error, "poll");
      if (!this.client?.connected && this.status !== Status.CONNECTING) this.setStatus(Status.OFFLINE);
    }
  }

  setStatus(status) {
    if (this.stopped || status === this.status) return;
    this.status = status;
    this.options.onStatus(status);
  }

  clearTimer(name) {
    clearTimeout(this.timers[name]);
    this.timers[name] = null;
  }
}
