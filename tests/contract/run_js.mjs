// Runs the pages' JavaScript in node for tests/contract: `node run_js.mjs texts` prints the
// catalogue as i18n.js serves it; `node run_js.mjs announce CASES.json` prints, for each case,
// what announce.js announces at each step. Output: JSON on stdout.
import { register } from "node:module";
import { readFileSync } from "node:fs";

register("./node_hooks.mjs", import.meta.url);
const web = (path) => new URL(`../../publisher_api/web/js/${path}`, import.meta.url).href;

async function texts() {
  const { I18n, LANGUAGES, tableKeys } = await import(web("i18n.js"));
  // Any placeholder reads as <name>, so templates are compared with their placeholders.
  const vars = new Proxy({}, { get: (_, name) => `<${String(name)}>` });
  const keys = tableKeys();
  const out = {};
  for (const lang of LANGUAGES) {
    const i18n = new I18n(lang);
    out[lang] = Object.fromEntries(keys[lang].map((key) => [key, i18n.t(key, vars)]));
  }
  return { languages: LANGUAGES, keys, texts: out };
}

async function announce(file) {
  const { Announcer, DEFAULT_RECENT_MS, FUTURE_TOLERANCE_MS } = await import(web("announce.js"));
  const table = JSON.parse(readFileSync(file, "utf8"));
  const epoch = Date.parse(table.epoch);
  const results = {};
  for (const item of table.cases) {
    let now = epoch;
    const announcer = new Announcer({ recentMs: table.recent_s * 1000, now: () => now });
    results[item.name] = item.steps.map((step) => {
      now = epoch + step.now * 1000;
      const calls = step.calls.map((call) => ({
        call_id: call.id,
        ticket_id: call.ticket ?? `t-${call.id}`,
        number: "A001",
        service: "A",
        counter: 1,
        counter_name: "",
        called_at: call.called_at ?? new Date(epoch + call.at * 1000).toISOString(),
      }));
      return announcer.consider(calls).map((call) => call.call_id);
    });
  }
  return { defaults: { recent_ms: DEFAULT_RECENT_MS, future_tolerance_ms: FUTURE_TOLERANCE_MS }, results };
}

const [command, file] = process.argv.slice(2);
const output = command === "texts" ? await texts() : command === "announce" ? await announce(file) : null;
if (output === null) {
  console.error("usage: node run_js.mjs texts | announce CASES.json");
  process.exit(2);
}
process.stdout.write(JSON.stringify(output));
