// What a screen does with calls: the announcement rule decides which calls of a snapshot are
// new and recent, then each one is chimed and spoken (in order, never overlapping), told to screen
// readers, and handed to the page (to highlight it, vibrate, show a "called" screen...).
// Display, kiosk and phone follower all use this; only their filter and onCall differ.

import { serverNow } from "./api.js";
import { Announcer } from "./announce.js";
import { expose, say } from "./dom.js";
import { Speaker } from "./sound.js";

export class CallAnnouncements {
  /**
   * name: the page kind (keeps its announced ids apart from other pages of the same tenant).
   * accept(call): which calls this screen announces. onCall(call): a call is being announced.
   * liveRegion: the aria-live element that speaks the call to screen readers too.
   */
  constructor({ tenant, name, i18n, accept, onCall = () => {}, liveRegion, recentMs }) {
    this.i18n = i18n;
    this.onCall = onCall;
    this.liveRegion = liveRegion;
    this.announcer = new Announcer({
      recentMs,
      accept,
      storage: sessionStorage,
      storageKey: `queuecast:${tenant}:${name}:announced`,
      now: serverNow,
    });
    this.speaker = new Speaker({ lang: () => i18n.lang });
    this.announced = [];
    expose({ announced: this.announced, sound: this.speaker.played });
  }

  /** Feed one queue snapshot; returns the calls it announces (oldest first). */
  consider(snapshot) {
    const fresh = this.announcer.consider(snapshot.last_calls);
    for (const call of fresh) {
      const place = this.i18n.place(call.counter, call.counter_name);
      const text = this.i18n.spokenCall(call.number, place);
      this.announced.push({ call_id: call.call_id, number: call.number, counter: call.counter, place, text });
      this.onCall(call);
      say(this.liveRegion, text);
      this.speaker.announce(text);
    }
    return fresh;
  }
}

/**
 * One call per ticket, the newest (last_calls is newest first): a recall moves its ticket to the
 * top with the new call instead of listing the ticket twice.
 */
export function latestPerTicket(calls) {
  const seen = new Set();
  return calls.filter((call) => !seen.has(call.ticket_id) && seen.add(call.ticket_id));
}
