// Performance: live charts from metrics/subscribe {intervalMs: 1000} → metrics/update, ended with
// metrics/unsubscribe when the page is left; alerts from alerts/list plus live alerts/raised and
// alerts/cleared.

import { h, clear, table, toast, errorText, fmtBytes, fmtMs, fmtNum, fmtPct, fmtTime } from "../dom.js";
import { lineChart } from "../charts.js";

const WINDOW = 120; // points kept (two minutes at 1 s)

export default {
  id: "performance",
  title: "Performance",
  permission: "analytics.read",
  mount(container, ctx) {
    const { rpc } = ctx;
    let subscriptionId = null, disposed = false, paused = false;
    const hist = [];

    const pauseBtn = h("button", { type: "button", class: "btn", "aria-pressed": "false", id: "perf-pause" }, "Pause");
    const live = h("span", { class: "live-dot", id: "perf-live", dataset: { state: "off" } }, "Waiting for data…");
    const cards = h("div", { class: "cards", id: "perf-cards" });
    const tBase = { xFormat: (d) => d.toLocaleTimeString(), emptyText: "Waiting for the first sample…" };
    const cpu = lineChart([], { ...tBase, title: "CPU %", id: "perf-cpu", yMin: 0, yMinMax: 100 });
    const mem = lineChart([], { ...tBase, title: "Memory %", id: "perf-memory", yMin: 0, yMinMax: 100 });
    const rate = lineChart([], { ...tBase, title: "Requests per second", id: "perf-rate", yMin: 0, yMinMax: 1, area: true });
    const lat = lineChart([], { ...tBase, title: "Latency (ms, last 5 min)", id: "perf-latency", yMin: 0, yMinMax: 1 });
    const methods = h("div", { id: "perf-methods" });
    const alertsList = h("ul", { class: "alerts", id: "alerts-list", "aria-live": "polite" });
    const alerts = new Map();

    container.append(
      h("div", { class: "page-head" },
        h("h1", { id: "h-performance" }, "Performance"),
        h("div", { class: "head-actions" }, live, pauseBtn)),
      cards,
      h("div", { class: "chart-grid" }, cpu.el, mem.el, rate.el, lat.el),
      h("section", { class: "panel", "aria-labelledby": "alerts-h" }, h("h2", { id: "alerts-h" }, "Alerts"), alertsList),
      h("section", { class: "panel", "aria-labelledby": "methods-h" }, h("h2", { id: "methods-h" }, "Busiest methods (last 5 min)"), methods),
    );

    pauseBtn.addEventListener("click", () => {
      paused = !paused;
      pauseBtn.setAttribute("aria-pressed", String(paused));
      pauseBtn.textContent = paused ? "Resume" : "Pause";
      if (!paused) draw();
    });

    const offUpdate = rpc.on("metrics/update", (p) => {
      if (disposed || (subscriptionId && p.subscriptionId !== subscriptionId)) return;
      const snap = p.snapshot;
      if (!snap) return;
      hist.push(snap);
      if (hist.length > WINDOW) hist.shift();
      live.dataset.state = "on";
      live.textContent = `Live · ${new Date(snap.timestamp).toLocaleTimeString()}`;
      if (!paused) draw();
    });

    function series(name, get) {
      return { name, points: hist.map((s) => ({ x: new Date(s.timestamp), y: get(s) })) };
    }

    function draw() {
      const last = hist[hist.length - 1];
      if (!last) return;
      cpu.update([series("machine", (s) => s.system?.cpuPercent), series("engine (per core)", (s) => s.process?.cpuPercent)]);
      mem.update([series("machine", (s) => s.system?.memoryPercent)]);
      rate.update([series("requests/s", (s) => s.server?.requestsPerSecond)]);
      lat.update([series("p50", (s) => s.server?.latencyMs?.p50), series("p95", (s) => s.server?.latencyMs?.p95), series("p99", (s) => s.server?.latencyMs?.p99)]);
      clear(cards);
      const card = (k, label, value) => h("div", { class: "card stat", dataset: { stat: k } }, h("div", { class: "stat-label" }, label), h("div", { class: "stat-value" }, value));
      cards.append(
        card("cpu", "Machine CPU", fmtPct(last.system?.cpuPercent)),
        card("memory", "Memory", `${fmtPct(last.system?.memoryPercent)} of ${fmtBytes(last.system?.memoryTotalBytes)}`),
        card("rss", "Engine memory", fmtBytes(last.process?.rssBytes)),
        card("connections", "Connections", fmtNum(last.server?.connections)),
        card("rps", "Requests/s", fmtNum(last.server?.requestsPerSecond)),
        card("errors", "Error rate", fmtPct(last.server?.errorRate, true)),
        card("p95", "p95 latency", fmtMs(last.server?.latencyMs?.p95)),
        card("cache", "Cache hit rate", fmtPct(last.cache?.hitRate, true)),
        card("tasks", "Tasks running/queued", `${last.tasks?.running ?? 0} / ${last.tasks?.queued ?? 0}`),
        card("uptime", "Uptime", `${Math.round(last.process?.uptimeSeconds || 0)} s`),
      );
      const rows = (last.server?.methods || []).slice(0, 12).map((m) => ({ method: m.method, count: m.count, errors: m.errors, p50: m.latencyMs?.p50, p95: m.latencyMs?.p95, p99: m.latencyMs?.p99 }));
      clear(methods).append(table([
        { key: "method", label: "Method" },
        { key: "count", label: "Requests", numeric: true },
        { key: "errors", label: "Errors", numeric: true },
        { key: "p50", label: "p50", numeric: true, format: fmtMs },
        { key: "p95", label: "p95", numeric: true, format: fmtMs },
        { key: "p99", label: "p99", numeric: true, format: fmtMs },
      ], rows, { empty: "No requests in the last five minutes." }));
    }

    // ---- alerts ----
    function renderAlerts() {
      clear(alertsList);
      const all = [...alerts.values()].sort((a, b) => String(b.at).localeCompare(String(a.at)));
      if (!all.length) { alertsList.append(h("li", { class: "muted empty" }, "No alerts in the last 7 days.")); return; }
      for (const a of all) {
        const active = !a.resolvedAt;
        alertsList.append(h("li", { class: ["alert", `sev-${a.severity || "info"}`, active ? "active" : "resolved"], dataset: { alert: String(a.id) } },
          h("span", { class: "badge" }, a.severity || "info"), " ",
          h("strong", null, a.rule), " — ", a.message || "",
          h("span", { class: "muted small" }, ` · raised ${fmtTime(a.at)}${active ? " · active" : ` · cleared ${fmtTime(a.resolvedAt)}`}`)));
      }
    }
    const offRaised = rpc.on("alerts/raised", (a) => {
      alerts.set(a.id, { ...a, resolvedAt: null });
      renderAlerts();
      toast(`Alert: ${a.rule} — ${a.message}`, a.severity === "critical" ? "error" : "info", 8000);
    });
    const offCleared = rpc.on("alerts/cleared", (a) => {
      const cur = alerts.get(a.id);
      alerts.set(a.id, { ...(cur || { id: a.id, rule: a.rule, severity: "info", message: "" }), resolvedAt: a.resolvedAt });
      renderAlerts();
    });

    async function loadAlerts() {
      try {
        const r = await rpc.request("alerts/list", {});
        if (disposed) return;
        for (const a of r.alerts) alerts.set(a.id, a);
        renderAlerts();
      } catch (e) { toast(`Alerts: ${errorText(e)}`, "error"); }
    }

    async function subscribe() {
      try {
        const r = await rpc.request("metrics/subscribe", { intervalMs: 1000 });
        if (disposed) { rpc.request("metrics/unsubscribe", { subscriptionId: r.subscriptionId }).catch(() => {}); return; }
        subscriptionId = r.subscriptionId;
        container.dataset.subscription = subscriptionId;
        container.dataset.subscriptions = String(Number(container.dataset.subscriptions || 0) + 1);
      } catch (e) {
        live.textContent = `Live data unavailable: ${errorText(e)}`;
      }
    }

    subscribe();
    loadAlerts();

    return {
      // a new connection has none of the old subscriptions: subscribe again
      onReconnect() { subscriptionId = null; subscribe(); loadAlerts(); },
      unmount() {
        disposed = true;
        offUpdate(); offRaised(); offCleared();
        if (subscriptionId) {
          const id = subscriptionId;
          subscriptionId = null;
          rpc.request("metrics/unsubscribe", { subscriptionId: id }, { timeoutMs: 5000 }).catch(() => { /* the connection may be gone: that ends it too */ });
        }
      },
    };
  },
};
