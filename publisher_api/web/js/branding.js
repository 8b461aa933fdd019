// The tenant's branding on every screen, from the queue snapshot: its logo beside the tenant's
// name (decorative: the name says it) and its accent colour as the --accent CSS variable.

import { h } from "./dom.js";

export function applyBranding(doc, nameEl) {
  if (!document.getElementById("qc-branding-css")) {
    document.head.append(h("link", { rel: "stylesheet", href: "/web/css/branding.css", id: "qc-branding-css" }));
  }
  let logo = document.getElementById("tenant-logo");
  if (!doc?.logo_url) {
    logo?.remove();
  } else {
    if (!logo) {
      logo = h("img", { id: "tenant-logo", class: "tenant-logo", alt: "" });
      nameEl.before(logo);
    }
    if (logo.getAttribute("src") !== doc.logo_url) logo.src = doc.logo_url;
  }
  document.documentElement.classList.toggle("has-logo", Boolean(doc?.logo_url));
  if (doc?.accent_color) document.documentElement.style.setProperty("--accent", doc.accent_color);
  else document.documentElement.style.removeProperty("--accent");
}
