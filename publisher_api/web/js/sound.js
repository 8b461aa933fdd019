// Sound for calls: a two-note chime synthesised with Web Audio (no audio files), then the call
// spoken with speechSynthesis in the page's language. Announcements queue up and play one after
// the other, never overlapping; a speech engine that never reports its end cannot stall the queue.

const NOTES = [
  { frequency: 659.25, start: 0, length: 0.9 }, // E5
  { frequency: 523.25, start: 0.45, length: 1.1 }, // C5
];
export const CHIME_SECONDS = 1.6;
const GAP_MS = 400;

/**
 * Schedule the chime on any BaseAudioContext (live or offline) from `at` (context seconds).
 * Each note is a sine with a soft octave overtone and a bell-like exponential decay.
 */
export function scheduleChime(context, destination, at) {
  for (const note of NOTES) {
    const gain = context.createGain();
    const start = at + note.start;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.5, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + note.length);
    gain.connect(destination);
    for (const [multiple, level] of [
      [1, 1],
      [2, 0.25],
    ]) {
      const partial = context.createGain();
      partial.gain.value = level;
      partial.connect(gain);
      const oscillator = context.createOscillator();
      oscillator.type = "sine";
      oscillator.frequency.value = note.frequency * multiple;
      oscillator.connect(partial);
      oscillator.start(start);
      oscillator.stop(start + note.length + 0.05);
    }
  }
  return at + CHIME_SECONDS;
}

/** The chime rendered offline to samples (tests measure it; nothing is played). */
export async function renderChime(sampleRate = 22050) {
  const context = new OfflineAudioContext(1, Math.ceil(sampleRate * CHIME_SECONDS), sampleRate);
  scheduleChime(context, context.destination, 0);
  const buffer = await context.startRendering();
  return buffer.getChannelData(0);
}

export class Speaker {
  /** lang(): the current BCP 47 language; onPlay(text) is told of each announcement as it starts. */
  constructor({ lang, onPlay = () => {} }) {
    this.lang = lang;
    this.onPlay = onPlay;
    this.queue = Promise.resolve();
    this.context = null;
    this.played = [];
  }

  /** Queue one announcement; resolves when it has finished playing. */
  announce(text) {
    this.queue = this.queue.then(() => this.play(text)).catch((error) => console.warn("sound:", error));
    return this.queue;
  }

  /** True when the browser wants a user gesture before it lets us play sound. */
  get blocked() {
    return this.audio()?.state === "suspended";
  }

  /** Call from a click/keypress: browsers only start audio after a user gesture. */
  async unlock() {
    await this.audio()?.resume();
    globalThis.speechSynthesis?.getVoices();
  }

  async play(text) {
    const entry = { text, at: Date.now(), end: null, chime: false, speech: false };
    this.played.push(entry);
    this.onPlay(text);
    entry.chime = await this.chime();
    entry.speech = await this.speak(text);
    entry.end = Date.now();
    await sleep(GAP_MS);
  }

  async chime() {
    const context = this.audio();
    if (!context) return false;
    if (context.state === "suspended") await context.resume().catch(() => {});
    if (context.state !== "running") return false;
    const end = scheduleChime(context, context.destination, context.currentTime + 0.05);
    await sleep((end - context.currentTime) * 1000);
    return true;
  }

  speak(text) {
    if (typeof speechSynthesis === "undefined" || typeof SpeechSynthesisUtterance === "undefined") {
      return Promise.resolve(false);
    }
    return new Promise((resolve) => {
      const utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = this.lang();
      const voice = pickVoice(speechSynthesis.getVoices(), utterance.lang);
      if (voice) utterance.voice = voice;
      utterance.rate = 0.9;
      // Some engines (and headless browsers) never fire "end": give up after a generous guess.
      const timer = setTimeout(() => finish(false), 2000 + text.length * 120);
      const finish = (spoken) => {
        clearTimeout(timer);
        resolve(spoken);
      };
      utterance.onend = () => finish(true);
      utterance.onerror = () => finish(false);
      speechSynthesis.speak(utterance);
    });
  }

  audio() {
    if (this.context === null) {
      const AudioContextClass = globalThis.AudioContext ?? globalThis.webkitAudioContext;
      this.context = AudioContextClass ? new AudioContextClass() : undefined;
    }
    return this.context;
  }
}

function pickVoice(voices, lang) {
  const exact = voices.find((v) => v.lang.toLowerCase() === lang.toLowerCase());
  const base = lang.toLowerCase().split("-")[0];
  return exact ?? voices.find((v) => v.lang.toLowerCase().startsWith(base)) ?? null;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
