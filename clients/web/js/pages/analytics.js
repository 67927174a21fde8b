// Analytics: analytics/report for a period (1, 7 or 30 days). The usage report is drawn as SVG
// charts (by day — or by hour for one day, as the engine answers in hourly buckets up to 48 h —,
// by model, by agent, by user); other report types show their summary and tables. CSV download
// through format: "csv".

import { h, clear, toast, errorText, download, table, fmtNum, fmtMoney, busy } from "../dom.js";
import { lineChart, barChart } from "../charts.js";

const TYPES = [
  ["usage", "Usage"],
  ["performance", "Performance"],
  ["models", "Models"],
  ["tools", "Tools"],
  ["security", "Security"],
];
const PERIODS = [1, 7, 30];

export default {
  id: "analytics",
  title: "Analytics",
  permission: "analytics.read",
  mount(container, ctx) {
    const { rpc } = ctx;
    let days = 7, type = "usage", disposed = false, seq = 0;

    const periodGroup = h("fieldset", { class: "segmented", id: "period-picker" },
      h("legend", null, "Period"),
      PERIODS.map((d) => {
        const id = `period-${d}`;
        const input = h("input", { type: "radio", name: "period", id, value: String(d), checked: d === days });
        input.addEventListener("change", () => { if (input.checked) { days = d; load(); } });
        return h("span", { class: "seg" }, input, h("label", { for: id }, d === 1 ? "1 day" : `${d} days`));
      }));
    const typeSel = h("select", { id: "report-type", name: "type" }, TYPES.map(([v, l]) => h("option", { value: v }, l)));
    const csvBtn = h("button", { type: "button", class: "btn", id: "csv-download" }, "Download CSV");
    const refreshBtn = h("button", { type: "button", class: "btn btn-quiet" }, "Refresh");
    const summary = h("div", { class: "cards", id: "analytics-summary", "aria-live": "polite" });
    const charts = h("div", { class: "chart-grid", id: "analytics-charts" });
    const tables = h("div", { class: "report-tables" });
    const period = h("p", { class: "muted small", id: "analytics-period" });

    container.append(
      h("div", { class: "page-head" },
        h("h1", { id: "h-analytics" }, "Analytics"),
        h("div", { class: "head-actions" }, refreshBtn, csvBtn)),
      h("div", { class: "controls" },
        periodGroup,
        h("div", { class: "field" }, h("label", { for: "report-type" }, "Report"), typeSel)),
      period, summary, charts, tables,
    );

    typeSel.addEventListener("change", () => { type = typeSel.value; load(); });
    refreshBtn.addEventListener("click", () => load());
    csvBtn.addEventListener("click", async () => {
      busy(csvBtn, true);
      try {
        const r = await rpc.request("analytics/report", { type, days, format: "csv" });
        download(`minions-${type}-${days}d.csv`, r.content, "text/csv");
      } catch (e) { toast(`CSV: ${errorText(e)}`, "error"); } finally { busy(csvBtn, false); }
    });

    async function load() {
      const my = ++seq;
      container.setAttribute("aria-busy", "true");
      try {
        const r = await rpc.request("analytics/report", { type, days });
        if (disposed || my !== seq) return;
        render(r);
      } catch (e) {
        if (disposed || my !== seq) return;
        clear(summary); clear(charts); clear(tables);
        summary.append(h("p", { class: "form-error", role: "alert" }, errorText(e)));
      } finally {
        if (my === seq) container.removeAttribute("aria-busy");
      }
    }

    function render(r) {
      period.textContent = `${new Date(r.from).toLocaleString()} – ${new Date(r.until).toLocaleString()}`;
      clear(summary);
      for (const [k, v] of Object.entries(r.summary || {})) {
        summary.append(h("div", { class: "card stat", dataset: { stat: k } },
          h("div", { class: "stat-label" }, labelOf(k)),
          h("div", { class: "stat-value" }, /cost/i.test(k) ? fmtMoney(v) : fmtNum(v))));
      }
      clear(charts);
      clear(tables);
      const t = r.tables || {};
      if (r.type === "usage") renderUsage(t, r);
      else renderGeneric(t);
      for (const [name, rows] of Object.entries(t)) tables.append(dataTable(name, rows));
    }

    function renderUsage(t, r) {
      const timeRows = fillBuckets(t.byDay ? "day" : "hour", t.byDay || t.byHour || [], r.from, r.until);
      const timeKey = t.byDay ? "day" : "hour";
      const label = t.byDay ? "day" : "hour";
      const xFormat = (x) => {
        const d = new Date(x);
        if (Number.isNaN(d.getTime())) return String(x);
        return t.byDay ? d.toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" })
          : d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
      };
      const pts = (key) => timeRows.map((row) => ({ x: String(row[timeKey]), y: row[key] || 0 }));
      charts.append(
        lineChart([
          { name: "requests", points: pts("requests") },
          { name: "chats", points: pts("chats") },
          { name: "tool calls", points: pts("toolCalls") },
        ], { title: `Activity by ${label}`, id: "usage-activity", xFormat, emptyText: "No activity in this period" }).el,
        barChart(timeRows.map((row) => ({ label: xFormat(row[timeKey]), value: row.tokens || 0 })), { title: `Tokens by ${label}`, id: "usage-tokens", horizontal: false, colorIndex: 1 }).el,
        barChart((t.byModel || []).map((row) => ({ label: row.model, value: row.tokens || 0 })), { title: "Tokens by model", id: "usage-by-model", colorIndex: 2 }).el,
        barChart((t.byAgent || []).map((row) => ({ label: row.agent, value: row.chats || 0 })), { title: "Chats by agent", id: "usage-by-agent", colorIndex: 3 }).el,
        barChart((t.byUser || []).map((row) => ({ label: row.user, value: row.tokens || 0 })), { title: "Tokens by user", id: "usage-by-user", colorIndex: 4 }).el,
      );
    }

    function renderGeneric(t) {
      // one bar chart per table: its first text column against its first numeric column
      let i = 0;
      for (const [name, rows] of Object.entries(t)) {
        if (!rows.length) continue;
        const cols = Object.keys(rows[0]);
        const labelCol = cols.find((c) => typeof rows[0][c] === "string");
        const valueCol = cols.find((c) => typeof rows[0][c] === "number");
        if (!labelCol || !valueCol) continue;
        charts.append(barChart(rows.slice(0, 20).map((row) => ({ label: String(row[labelCol]), value: row[valueCol] || 0 })),
          { title: `${labelOf(name)}: ${labelOf(valueCol)}`, colorIndex: i++, horizontal: !/^(at|day|hour|time)$/.test(labelCol) }).el);
      }
      if (!charts.childElementCount) charts.append(h("p", { class: "muted" }, "Nothing to chart for this period."));
    }

    function dataTable(name, rows) {
      const cols = rows.length ? Object.keys(rows[0]) : [];
      return h("details", { class: "report-table", dataset: { table: name } },
        h("summary", null, `${labelOf(name)} (${rows.length} rows)`),
        cols.length ? table(cols.map((c) => ({ key: c, label: c, numeric: typeof rows[0][c] === "number" })), rows) : h("p", { class: "muted" }, "No rows."));
    }

    load();
    return {
      onReconnect: load,
      unmount() { disposed = true; },
    };
  },
};

/**
 * The report lists only the buckets that had activity; a chart of a period wants every bucket,
 * so the missing days (or hours) are added with zeros. Keys are the engine's: "2026-11-25" for a
 * day, "2026-11-25T22:00:00Z" for an hour. If a row's key is not of that form the rows are kept as
 * they came.
 */
export function fillBuckets(key, rows, from, until) {
  const start = Date.parse(from), end = Date.parse(until);
  if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start) return rows;
  const step = key === "day" ? 86400000 : 3600000;
  const fmt = (ms) => (key === "day" ? new Date(ms).toISOString().slice(0, 10) : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"));
  const keys = [];
  for (let t = Math.floor(start / step) * step; t <= end && keys.length < 1000; t += step) keys.push(fmt(t));
  const byKey = new Map(rows.map((row) => [String(row[key]), row]));
  if ([...byKey.keys()].some((k) => !keys.includes(k))) return rows;
  const zero = rows[0] ? Object.fromEntries(Object.keys(rows[0]).filter((c) => c !== key).map((c) => [c, 0])) : { requests: 0, chats: 0, tokens: 0, toolCalls: 0 };
  return keys.map((k) => byKey.get(k) || { ...zero, [key]: k });
}

function labelOf(key) {
  return String(key).replace(/^by/, "by ").replace(/([a-z])([A-Z])/g, "$1 $2").replace(/^./, (c) => c.toUpperCase());
}
