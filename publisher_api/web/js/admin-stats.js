// Admin console, statistics: today, this week or chosen dates (whole days in the tenant's time
// zone), straight from GET .../stats: every figure shown is the API's own (tables next to each
// chart carry the exact values), and the CSV is the API's CSV for the same period. Charts are
// Chart.js (window.Chart, served from node_modules), drawn without animation.

import { ApiError } from "./api.js";
import { field, form, setFieldError, showApiError } from "./console-common.js";
import { errorText } from "./console-texts.js";
import { h, notice, render } from "./dom.js";

const COLOURS = ["#0b5cad", "#b45309", "#17803d", "#7c3aed", "#b42318", "#0e7490"];
let charts = [];

// --- periods in the tenant's time zone ------------------------------------------------------------

/** Milliseconds the zone is ahead of UTC at an instant. */
function offsetMs(timeZone, instant) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(instant);
  const v = Object.fromEntries(parts.map((p) => [p.type, Number(p.value)]));
  return Date.UTC(v.year, v.month - 1, v.day, v.hour, v.minute, v.second) - (instant.getTime() - instant.getMilliseconds());
}

/** The instant a local date (YYYY-MM-DD) starts in the zone. */
export function localMidnight(ymd, timeZone) {
  const [y, m, d] = ymd.split("-").map(Number);
  const guess = Date.UTC(y, m - 1, d);
  let instant = guess - offsetMs(timeZone, new Date(guess));
  instant = guess - offsetMs(timeZone, new Date(instant)); // again, across a DST change
  return new Date(instant);
}

/** Today's local date (YYYY-MM-DD) in the zone. */
function localToday(timeZone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
}

function addDays(ymd, days) {
  const [y, m, d] = ymd.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** [from, to) of a period: today, this week (from Monday) or chosen dates (both included). */
export function period(kind, timeZone, fromDate = null, toDate = null) {
  const today = localToday(timeZone);
  let first = today;
  let last = today;
  if (kind === "week") {
    const weekday = (new Date(`${today}T12:00:00Z`).getUTCDay() + 6) % 7; // Monday = 0
    first = addDays(today, -weekday);
  } else if (kind === "custom") {
    first = fromDate;
    last = toDate;
  }
  return { from: localMidnight(first, timeZone).toISOString(), to: localMidnight(addDays(last, 1), timeZone).toISOString(), first, last };
}

// --- the section ----------------------------------------------------------------------------------

export function statsSection(ctx) {
  const { t, i18n, state } = ctx;
  const zone = state.tenant.timezone;
  state.statsPeriod ??= { kind: "today", ...period("today", zone) };
  const chosen = state.statsPeriod;
  const controls = form(
    i18n,
    { class: "card stats-controls", id: "stats-form", "aria-labelledby": "stats-range-title" },
    [
      h("h3", { id: "stats-range-title", class: "visually-hidden" }, t("stats.range")),
      field({
        name: "kind",
        id: "stats-kind",
        label: t("stats.range"),
        control: "select",
        options: [
          ["today", t("stats.today")],
          ["week", t("stats.week")],
          ["custom", t("stats.custom")],
        ],
        value: chosen.kind,
      }),
      field({ name: "from", id: "stats-from", label: t("stats.from"), type: "date", value: chosen.first, "data-rule": "dates" }),
      field({ name: "to", id: "stats-to", label: t("stats.to"), type: "date", value: chosen.last, "data-rule": "dates" }),
      h(
        "div",
        { class: "row" },
        h("button", { type: "submit", class: "button", id: "stats-show" }, t("stats.show")),
        h("button", { type: "button", class: "button secondary", id: "stats-csv", onclick: () => downloadCsv(ctx) }, t("stats.csv")),
      ),
    ],
    async (f) => {
      const kind = ctx.value(f, "kind");
      const from = ctx.value(f, "from");
      const to = ctx.value(f, "to");
      if (kind === "custom" && (!from || !to || from > to)) {
        setFieldError(f.elements.namedItem(from ? "to" : "from"), t("field.dates"));
        return;
      }
      state.statsPeriod = { kind, ...period(kind, zone, from, to) };
      await loadStats(ctx, f);
    },
  );
  const section = [h("h2", {}, t("section.stats")), controls, h("div", { id: "stats-body", "aria-live": "polite" })];
  queueMicrotask(() => loadStats(ctx, controls));
  return section;
}

function query(p, csv = false) {
  const q = new URLSearchParams({ from: p.from, to: p.to });
  if (csv) q.set("format", "csv");
  return `/stats?${q}`;
}

async function loadStats(ctx, controls) {
  try {
    ctx.state.stats = await ctx.api(query(ctx.state.statsPeriod));
    drawStats(ctx);
  } catch (error) {
    showApiError(controls, ctx.i18n, error);
  }
}

async function downloadCsv(ctx) {
  const { state, config, i18n, el } = ctx;
  try {
    const response = await fetch(`${config.api}${query(state.statsPeriod, true)}`, { headers: { Authorization: `Bearer ${ctx.token()}` } });
    if (!response.ok) throw new ApiError(response.status, "", await response.json().catch(() => null));
    const url = URL.createObjectURL(await response.blob());
    const link = h("a", { href: url, download: `${config.tenant}-stats-${state.statsPeriod.first}-${state.statsPeriod.last}.csv`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (error) {
    notice(el.notice, errorText(i18n, error.status === undefined ? new ApiError(0, "") : error));
  }
}

// --- drawing --------------------------------------------------------------------------------------

function drawStats(ctx) {
  const { t, state } = ctx;
  const holder = document.getElementById("stats-body");
  if (!holder) return;
  for (const chart of charts) chart.destroy();
  charts = [];
  const s = state.stats;
  if (s.total.issued === 0) {
    render(holder, h("p", { class: "card empty", id: "stats-empty" }, t("stats.empty")));
    return;
  }
  const seconds = (v) => number(ctx, v);
  const rate = (f) => (f.called ? f.no_show / f.called : null);
  const blocks = [
    summary(ctx, s.total, rate(s.total)),
    block(ctx, "arrivals", t("stats.arrivals"), "bar", {
      labels: s.by_hour.map((f) => `${f.key}h`),
      datasets: [{ label: t("stats.issued"), data: s.by_hour.map((f) => f.issued) }],
    }, figureTable(ctx, "hour", t("stats.hour"), s.by_hour, [["issued", t("stats.issued"), String]])),
    block(ctx, "wait-by-service", t("stats.wait_by_service"), "bar", {
      labels: s.by_service.map((f) => f.key),
      datasets: [
        { label: t("stats.p50_wait"), data: s.by_service.map((f) => f.p50_wait_s) },
        { label: t("stats.p90_wait"), data: s.by_service.map((f) => f.p90_wait_s) },
        { label: t("stats.mean_wait"), data: s.by_service.map((f) => f.mean_wait_s) },
      ],
    }, figureTable(ctx, "service", t("stats.service"), s.by_service, [
      ["issued", t("stats.issued"), String],
      ["p50_wait_s", `${t("stats.p50_wait")} (s)`, seconds],
      ["p90_wait_s", `${t("stats.p90_wait")} (s)`, seconds],
      ["mean_wait_s", `${t("stats.mean_wait")} (s)`, seconds],
    ])),
    block(ctx, "service-by-counter", t("stats.service_by_counter"), "bar", {
      labels: s.by_counter.map((f) => f.key),
      datasets: [
        { label: t("stats.mean_service"), data: s.by_counter.map((f) => f.mean_service_s) },
        { label: t("stats.p90_service"), data: s.by_counter.map((f) => f.p90_service_s) },
      ],
    }, figureTable(ctx, "counter", t("stats.counter"), s.by_counter, [
      ["completed", t("stats.completed"), String],
      ["mean_service_s", `${t("stats.mean_service")} (s)`, seconds],
      ["p90_service_s", `${t("stats.p90_service")} (s)`, seconds],
    ])),
    Array.isArray(s.attendants) && s.attendants.length
      ? block(ctx, "service-by-attendant", t("stats.service_by_attendant"), "bar", {
          labels: s.attendants.map((a) => a.username),
          datasets: [{ label: t("stats.mean_service"), data: s.attendants.map((a) => a.service_time_avg_s) }],
        }, figureTable(ctx, "attendant", t("stats.attendant"), s.attendants.map((a) => ({ key: a.username, ...a })), [
          ["completed", t("stats.completed"), String],
          ["no_show", t("stats.no_show"), String],
          ["service_time_avg_s", `${t("stats.mean_service")} (s)`, seconds],
          ["pause_s", `${t("stats.pause")} (s)`, seconds],
        ]))
      : null,
    block(ctx, "no-show", t("stats.no_show_by_service"), "bar", {
      labels: s.by_service.map((f) => f.key),
      datasets: [{ label: `${t("stats.no_show_rate")} (%)`, data: s.by_service.map((f) => (rate(f) === null ? null : Math.round(rate(f) * 1000) / 10)) }],
    }, figureTable(ctx, "noshow", t("stats.service"), s.by_service.map((f) => ({ ...f, no_show_rate: rate(f) })), [
      ["called", t("stats.called"), String],
      ["no_show", t("stats.no_show"), String],
      ["no_show_rate", t("stats.no_show_rate"), (v) => percent(ctx, v)],
    ])),
  ];
  render(holder, blocks);
  for (const canvas of holder.querySelectorAll("canvas")) drawChart(canvas);
}

function number(ctx, value) {
  if (typeof value !== "number") return "—";
  return new Intl.NumberFormat(ctx.i18n.lang, { maximumFractionDigits: 1 }).format(value);
}

function percent(ctx, value) {
  if (typeof value !== "number") return "—";
  return new Intl.NumberFormat(ctx.i18n.lang, { style: "percent", maximumFractionDigits: 1 }).format(value);
}

function summary(ctx, total, noShowRate) {
  const { t } = ctx;
  const items = [
    ["issued", t("stats.issued"), String(total.issued)],
    ["called", t("stats.called"), String(total.called)],
    ["completed", t("stats.completed"), String(total.completed)],
    ["no_show", t("stats.no_show"), String(total.no_show)],
    ["no_show_rate", t("stats.no_show_rate"), percent(ctx, noShowRate)],
    ["p50_wait_s", `${t("stats.p50_wait")} (s)`, number(ctx, total.p50_wait_s)],
    ["p90_wait_s", `${t("stats.p90_wait")} (s)`, number(ctx, total.p90_wait_s)],
    ["mean_wait_s", `${t("stats.mean_wait")} (s)`, number(ctx, total.mean_wait_s)],
    ["mean_service_s", `${t("stats.mean_service")} (s)`, number(ctx, total.mean_service_s)],
  ];
  const raw = { ...total, no_show_rate: noShowRate };
  return h(
    "section",
    { class: "card", "aria-labelledby": "stats-total-title" },
    h("h3", { id: "stats-total-title" }, t("stats.total")),
    h(
      "dl",
      { class: "figures", id: "stats-total" },
      items.map(([key, label, text]) => h("div", { dataset: { field: key, value: raw[key] ?? "" } }, h("dt", {}, label), h("dd", { class: "numbers" }, text))),
    ),
  );
}

function block(ctx, id, title, type, data, details) {
  const canvas = h("canvas", { id: `chart-${id}`, role: "img", "aria-label": title, height: 220 });
  canvas.chartConfig = { type, data };
  return h(
    "section",
    { class: "card chart-card", "aria-labelledby": `${id}-title` },
    h("h3", { id: `${id}-title` }, title),
    h("div", { class: "chart" }, canvas),
    details,
  );
}

function figureTable(ctx, group, keyLabel, rows, columns) {
  return h(
    "table",
    { class: "list figures-table", dataset: { group } },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, keyLabel), columns.map(([, label]) => h("th", { scope: "col" }, label)))),
    h(
      "tbody",
      {},
      rows.map((row) =>
        h(
          "tr",
          { dataset: { key: row.key } },
          h("th", { scope: "row" }, row.key),
          columns.map(([fieldName, , format]) => h("td", { class: "numbers", dataset: { field: fieldName, value: row[fieldName] ?? "" } }, format(row[fieldName]))),
        ),
      ),
    ),
  );
}

function drawChart(canvas) {
  const Chart = window.Chart;
  if (!Chart) return; // Chart.js missing: the tables still say everything
  const { type, data } = canvas.chartConfig;
  data.datasets.forEach((dataset, index) => {
    dataset.backgroundColor = COLOURS[index % COLOURS.length];
  });
  charts.push(
    new Chart(canvas, {
      type,
      data,
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: data.datasets.length > 1 } },
        scales: { y: { beginAtZero: true } },
      },
    }),
  );
}
