// Models: the models/list table with each model's measured figures, a register form
// (models/register), refresh (models/refresh), remove (models/remove), and a
// "which model would you pick for…" panel calling models/select.

import { h, clear, field, select, table, toast, errorText, formError, busy, fmtMs, fmtNum, fmtPct, fmtTime } from "../dom.js";
import { confirmDialog } from "../dialog.js";

export const CAPABILITIES = ["text_generation", "code_generation", "reasoning", "tool_use", "vision", "embeddings", "long_context"];
const PROVIDERS = ["script", "ollama", "openai", "anthropic"];
const STRATEGIES = [["balanced", "Balanced"], ["fastest", "Fastest"], ["cheapest", "Cheapest"], ["quality", "Quality"]];

function capBoxes(name, checked = []) {
  return h("fieldset", { class: "checks" }, h("legend", null, "Capabilities"),
    CAPABILITIES.map((c) => {
      const id = `${name}-${c}`;
      return h("span", { class: "check" }, h("input", { type: "checkbox", id, name, value: c, checked: checked.includes(c) }), h("label", { for: id }, c.replace(/_/g, " ")));
    }));
}
const checkedValues = (root, name) => [...root.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);

export default {
  id: "models",
  title: "Models",
  permission: "models.read",
  mount(container, ctx) {
    const { rpc } = ctx;
    const manage = ctx.can("models.manage");
    let disposed = false;

    const refreshBtn = h("button", { type: "button", class: "btn", id: "models-refresh", hidden: !manage }, "Discover models");
    const tableBox = h("div", { id: "models-table" });

    // ---- register form ----
    const f = {
      name: h("input", { name: "name", required: true, autocomplete: "off" }),
      provider: select(PROVIDERS, "script", { name: "provider" }),
      script: h("input", { name: "script", placeholder: "/path/to/script.json" }),
      baseURL: h("input", { name: "baseURL", type: "url", placeholder: "https://…/v1" }),
      apiKeyEnv: h("input", { name: "apiKeyEnv", placeholder: "OPENAI_API_KEY" }),
      contextLength: h("input", { name: "contextLength", type: "number", min: "1", step: "1" }),
      costPer1kInput: h("input", { name: "costPer1kInput", type: "number", min: "0", step: "any" }),
      costPer1kOutput: h("input", { name: "costPer1kOutput", type: "number", min: "0", step: "any" }),
      fallbacks: h("input", { name: "fallbacks", placeholder: "other-model, local" }),
    };
    const caps = capBoxes("reg-cap", ["text_generation"]);
    const regSubmit = h("button", { type: "submit", class: "btn btn-primary", id: "register-submit" }, "Register");
    const regForm = h("form", { class: "panel form-grid", id: "register-form", "aria-labelledby": "reg-h", hidden: !manage },
      h("h2", { id: "reg-h" }, "Register a model"),
      field("Name", f.name).wrap,
      field("Provider", f.provider).wrap,
      field("Script file (provider script)", f.script, "A JSON file of scripted turns, on the engine's machine.").wrap,
      field("Base URL", f.baseURL).wrap,
      field("API key variable", f.apiKeyEnv, "The name of the environment variable; the key itself is never sent.").wrap,
      field("Context length", f.contextLength).wrap,
      field("Cost per 1k input tokens ($)", f.costPer1kInput).wrap,
      field("Cost per 1k output tokens ($)", f.costPer1kOutput).wrap,
      field("Fallbacks (comma-separated)", f.fallbacks).wrap,
      caps,
      h("div", { class: "actions" }, regSubmit));
    const syncProvider = () => {
      const p = f.provider.value;
      f.script.closest(".field").hidden = p !== "script";
      f.baseURL.closest(".field").hidden = !(p === "openai" || p === "anthropic" || p === "ollama");
      f.apiKeyEnv.closest(".field").hidden = !(p === "openai" || p === "anthropic");
    };
    f.provider.addEventListener("change", syncProvider);
    syncProvider();

    // ---- select panel ----
    const task = h("textarea", { name: "task", rows: "2", id: "select-task", placeholder: "e.g. write a python function that parses CSV" });
    const strategy = select(STRATEGIES, "balanced", { name: "strategy", id: "select-strategy" });
    const selCaps = capBoxes("sel-cap");
    const selSubmit = h("button", { type: "submit", class: "btn btn-primary", id: "select-submit" }, "Pick a model");
    const selResult = h("div", { class: "select-result", id: "select-result", "aria-live": "polite" });
    const selForm = h("form", { class: "panel", id: "select-form", "aria-labelledby": "sel-h" },
      h("h2", { id: "sel-h" }, "Which model would you pick for…"),
      field("Task", task).wrap,
      h("div", { class: "row" }, field("Strategy", strategy).wrap),
      h("details", null, h("summary", null, "Required capabilities"), selCaps),
      h("div", { class: "actions" }, selSubmit),
      selResult);

    container.append(
      h("div", { class: "page-head" }, h("h1", { id: "h-models" }, "Models"), h("div", { class: "head-actions" }, refreshBtn)),
      tableBox,
      h("div", { class: "two-col" }, selForm, regForm),
    );

    async function load() {
      try {
        const { models } = await rpc.request("models/list", {});
        if (disposed) return;
        const cols = [
          { key: "name", label: "Model", format: (v, m) => h("span", null, h("strong", null, v), m.source ? h("span", { class: "muted small" }, ` ${m.source}`) : null) },
          { key: "provider", label: "Provider" },
          { key: "capabilities", label: "Capabilities", format: (v) => h("span", { class: "tags" }, (v || []).map((c) => h("span", { class: "tag" }, c.replace(/_/g, " ")))) },
          { key: "contextLength", label: "Context", numeric: true },
          { key: "cost", label: "$ / 1k in · out", numeric: true, format: (_, m) => `${fmtNum(m.costPer1kInput, 4)} · ${fmtNum(m.costPer1kOutput, 4)}` },
          { key: "available", label: "Status", format: (v, m) => v === false ? h("span", { class: "status-bad", title: m.unavailableReason || "" }, `unavailable${m.unavailableReason ? `: ${m.unavailableReason}` : ""}`)
            : m.cooldownUntil && new Date(m.cooldownUntil) > new Date() ? h("span", { class: "status-warn" }, `cooling down until ${fmtTime(m.cooldownUntil)}`) : h("span", { class: "status-ok" }, "available") },
          { key: "requests", label: "Requests", numeric: true, format: (_, m) => fmtNum(m.stats?.requests) },
          { key: "errorRate", label: "Errors", numeric: true, format: (_, m) => `${fmtNum(m.stats?.errors)} (${fmtPct(m.stats?.errorRate, true)})` },
          { key: "p50", label: "p50 / p95", numeric: true, format: (_, m) => `${fmtMs(m.stats?.p50LatencyMs)} / ${fmtMs(m.stats?.p95LatencyMs)}` },
          { key: "ttft", label: "p50 TTFT", numeric: true, format: (_, m) => fmtMs(m.stats?.p50TtftMs) },
          { key: "tps", label: "Tokens/s", numeric: true, format: (_, m) => fmtNum(m.stats?.tokensPerSecond, 1) },
        ];
        if (manage) cols.push({ key: "actions", label: "Actions", format: (_, m) => m.source === "builtin" || m.name === "local" ? "" :
          h("button", { type: "button", class: "btn btn-small btn-quiet", "aria-label": `Remove ${m.name}`, onclick: () => remove(m.name) }, "Remove") });
        clear(tableBox).append(table(cols, models, { caption: `${models.length} model${models.length === 1 ? "" : "s"}`, rowAttrs: (m) => ({ dataset: { model: m.name } }) }));
      } catch (e) {
        clear(tableBox).append(h("p", { class: "form-error", role: "alert" }, errorText(e)));
      }
    }

    async function remove(name) {
      if (!(await confirmDialog("Remove model?", `“${name}” will be removed from the registry.`, { confirmLabel: "Remove", danger: true }))) return;
      try { await rpc.request("models/remove", { name }); toast(`Removed ${name}.`, "ok"); load(); } catch (e) { toast(errorText(e), "error"); }
    }

    regForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      formError(regForm, null);
      const p = { name: f.name.value.trim(), provider: f.provider.value, capabilities: checkedValues(regForm, "reg-cap") };
      if (!p.name) { formError(regForm, "A model needs a name."); f.name.focus(); return; }
      const str = (k) => { const v = f[k].value.trim(); if (v && !f[k].closest(".field").hidden) p[k] = v; };
      const num = (k) => { const v = f[k].value.trim(); if (v !== "") p[k] = Number(v); };
      str("script"); str("baseURL"); str("apiKeyEnv");
      num("contextLength"); num("costPer1kInput"); num("costPer1kOutput");
      const fb = f.fallbacks.value.split(",").map((s) => s.trim()).filter(Boolean);
      if (fb.length) p.fallbacks = fb;
      busy(regSubmit, true);
      try {
        const r = await rpc.request("models/register", p);
        toast(`${r.replaced ? "Replaced" : "Registered"} ${r.model?.name || p.name}.`, "ok");
        regForm.dataset.last = r.model?.name || p.name;
        f.name.value = "";
        load();
      } catch (err) {
        formError(regForm, err);
      } finally { busy(regSubmit, false); }
    });

    refreshBtn.addEventListener("click", async () => {
      busy(refreshBtn, true);
      try {
        const r = await rpc.request("models/refresh", {}, { timeoutMs: 120000 });
        const n = (x) => (Array.isArray(x) ? x.length : x || 0);
        const errs = Array.isArray(r.errors) ? r.errors : [];
        toast(`Discovery: ${n(r.added)} added, ${n(r.updated)} updated, ${n(r.removed)} removed${errs.length ? `. ${errs.join(" · ")}` : ""}`, errs.length ? "error" : "ok", 10000);
        load();
      } catch (e) { toast(errorText(e), "error"); } finally { busy(refreshBtn, false); }
    });

    selForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      formError(selForm, null);
      const p = { strategy: strategy.value };
      if (task.value.trim()) p.task = task.value.trim();
      const rc = checkedValues(selForm, "sel-cap");
      if (rc.length) p.requiredCapabilities = rc;
      busy(selSubmit, true);
      clear(selResult);
      try {
        const r = await rpc.request("models/select", p);
        selResult.append(
          h("p", { class: "pick" }, "Pick: ", h("strong", { id: "select-pick" }, r.model), ` (${r.provider}) — score ${fmtNum(r.score, 3)}`),
          h("h3", null, "Why"),
          h("ul", { class: "reasons" }, (r.reasons || []).map((x) => h("li", null, x))),
          h("h3", null, "Ranking"),
          table([
            { key: "rank", label: "#", numeric: true },
            { key: "model", label: "Model" },
            { key: "score", label: "Score", numeric: true, format: (v) => (v == null ? "—" : fmtNum(v, 3)) },
            { key: "excluded", label: "Excluded because", format: (v) => v || "" },
          ], (r.candidates || []).map((c, i) => ({ ...c, rank: i + 1 }))));
      } catch (err) {
        if (err.code === -32021 && Array.isArray(err.data?.candidates)) {
          selResult.append(h("p", { class: "form-error", role: "alert" }, "No model fits this request."),
            table([{ key: "model", label: "Model" }, { key: "excluded", label: "Excluded because" }], err.data.candidates));
        } else formError(selForm, err);
      } finally { busy(selSubmit, false); }
    });

    load();
    return { onReconnect: load, unmount() { disposed = true; } };
  },
};
