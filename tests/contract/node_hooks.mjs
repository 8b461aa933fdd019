// Node module hooks that let node run the pages' own modules unchanged: the files under
// publisher_api/web/js are ES modules (the browser knows from <script type="module">; node would
// read them as CommonJS), and /web/texts.json, which the server maps to protocol/texts.json.
const WEB = new URL("../../publisher_api/web/", import.meta.url).href;
const CATALOGUE = new URL("../../protocol/texts.json", import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (context.parentURL?.startsWith(WEB) && new URL(specifier, context.parentURL).href === `${WEB}texts.json`) {
    return { url: CATALOGUE, format: "json", importAttributes: context.importAttributes, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (url.startsWith(WEB) && url.endsWith(".js")) return nextLoad(url, { ...context, format: "module" });
  return nextLoad(url, context);
}
