// The paper ticket of the browser kiosk, for 58 and 80 mm thermal printers. The slip is part of
// the page but shown only in print (css/totem.css, @media print); a kiosk browser started with
// `chromium --kiosk --kiosk-printing` prints it without a dialog when the page URL has ?print=1
// (?paper=58 for the narrow roll; 80 mm by default).

import { h, render } from "./dom.js";

export const PAPERS = ["58", "80"];

/** The paper width asked for in the URL ("58" or "80"), on <html> for the print styles. */
export function choosePaper(params) {
  const paper = PAPERS.includes(params.get("paper")) ? params.get("paper") : "80";
  document.documentElement.dataset.paper = paper;
  return paper;
}

/**
 * Fill the slip: tenant, number, service, issue date and time in the tenant's time zone (the
 * kiosk's own clock may be set to anything), position and the QR code of the follow page.
 */
export function renderSlip(el, { ticket, tenantName, serviceName, qrUrl, i18n }) {
  const issued = new Date(ticket.created_at);
  const when = localDateTime(issued, i18n);
  render(
    el,
    h("p", { class: "slip-tenant" }, tenantName),
    h("p", { class: "slip-caption" }, i18n.t("totem.your")),
    h("p", { class: "slip-number numbers" }, ticket.number),
    h("p", { class: "slip-service" }, serviceName, ticket.priority ? ` · ${i18n.t("totem.priority.yes")}` : ""),
    h(
      "dl",
      { class: "slip-lines" },
      h("div", {}, h("dt", {}, i18n.t("print.issued")), h("dd", {}, h("time", { datetime: issued.toISOString() }, when))),
      ticket.status === "waiting" && ticket.position
        ? h("div", {}, h("dt", {}, i18n.t("follow.position")), h("dd", { class: "numbers" }, `${ticket.position}º`))
        : null,
    ),
    h("img", { class: "slip-qr", src: qrUrl, alt: i18n.t("totem.scan") }),
    h("p", { class: "slip-scan" }, i18n.t("totem.scan")),
  );
  el.dataset.ticketId = ticket.id;
}

/** Print once the QR code has loaded (a slip without it is worse than a slip a second late). */
export async function printSlip(el) {
  const qr = el.querySelector("img");
  try {
    await qr?.decode();
  } catch {
    // Printed without the code rather than not at all; the number is what matters.
  }
  window.print();
}

function localDateTime(date, i18n) {
  const options = { day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit", timeZone: i18n.timezone };
  try {
    return new Intl.DateTimeFormat(i18n.lang, options).format(date);
  } catch {
    delete options.timeZone; // an unknown zone name must not cost the customer the ticket
    return new Intl.DateTimeFormat(i18n.lang, options).format(date);
  }
}
