// The announcement rule, the same as the pygame agents' (edge/feed.py): both must answer the
// shared table tests/contract/announce_cases.json. Screens derive announcements from the
// snapshot's last_calls; each call_id is announced at most once, and only if it is recent
// (default 60 s by the server's clock, 5 s of clock error allowed into the future). So a screen
// that starts announces only the calls of the last minute nobody announced here yet, a reconnect
// never replays a call, a call made during a short outage is announced once when the screen is
// back, and a recall (a new call_id) is announced again.
//
// Announced ids are kept in sessionStorage: reloading the page (same tab) does not replay them.

export const DEFAULT_RECENT_MS = 60_000;
// A call stamped slightly in the future (clock error) still counts as recent; further ahead,
// the clock is wrong and the call stays quiet.
export const FUTURE_TOLERANCE_MS = 5_000;

export class Announcer {
  /**
   * recentMs: how old a call may be and still be announced. accept(call): the screen's filter
   * (services, counters, its own tickets). storage/storageKey: where announced ids survive a
   * reload (null: memory only). now(): the server's clock in ms.
   */
  constructor({ recentMs = DEFAULT_RECENT_MS, accept = () => true, storage = null, storageKey = "", now }) {
    this.recentMs = recentMs;
    this.accept = accept;
    this.storage = storage;
    this.storageKey = storageKey;
    this.now = now;
    this.seen = this.load();
  }

  /**
   * The calls of a snapshot's last_calls (newest first) that should be announced now, oldest
   * first. Every call the screen accepts is remembered as seen, announced or not, so it can
   * never be announced later.
   */
  consider(lastCalls) {
    const now = this.now();
    const fresh = [];
    for (const call of lastCalls) {
      if (!call || typeof call.call_id !== "string" || !this.accept(call)) continue;
      if (this.seen.has(call.call_id)) continue;
      const calledAt = Date.parse(call.called_at);
      this.seen.set(call.call_id, Number.isNaN(calledAt) ? now : calledAt);
      const age = now - calledAt;
      if (age <= this.recentMs && age >= -FUTURE_TOLERANCE_MS) fresh.push(call);
    }
    if (fresh.length > 0 || lastCalls.length > 0) this.save(now);
    return fresh.reverse();
  }

  load() {
    try {
      const stored = JSON.parse(this.storage?.getItem(this.storageKey) ?? "[]");
      return new Map(Array.isArray(stored) ? stored.filter((e) => Array.isArray(e) && e.length === 2) : []);
    } catch {
      return new Map();
    }
  }

  save(now) {
    // Ids older than the window can never be announced again anyway: forget them.
    for (const [id, at] of this.seen) if (now - at > 2 * this.recentMs) this.seen.delete(id);
    try {
      this.storage?.setItem(this.storageKey, JSON.stringify([...this.seen]));
    } catch {
      // Storage full or disabled (private mode): memory still prevents repeats in this page.
    }
  }
}
