// Tools: tools/list with each tool's figures, and a form generated from a tool's inputSchema to
// run it with tools/execute (the user's own act: no approval, audited) and show the result.

import { h, clear, field, table, toast, errorText, formError, busy, fmtMs, fmtNum, pretty } from "../dom.js";
import { schemaForm } from "../schemaform.js";

export default {
  id: "tools",
  title: "Tools",
  permission: "tools.read",
  mount(container, ctx) {
    const { rpc } = ctx;
    const canRun = ctx.can("tools.execute");
    let tools = [], disposed = false, form = null;

    const tableBox = h("div", { id: "tools-table" });
    const toolSel = h("select", { id: "run-tool", name: "tool" });
    const timeout = h("input", { type: "number", name: "timeoutMs", id: "run-timeout", min: "1", max: "600000", step: "1", placeholder: "tool default" });
    const formBox = h("div", { id: "run-fields" });
    const desc = h("p", { class: "muted small", id: "run-desc" });
    const runBtn = h("button", { type: "submit", class: "btn btn-primary", id: "run-submit" }, "Run");
    const result = h("div", { class: "tool-output", id: "run-result", "aria-live": "polite" });
    const runForm = h("form", { class: "panel", id: "run-form", "aria-labelledby": "run-h", hidden: !canRun, novalidate: true },
      h("h2", { id: "run-h" }, "Run a tool"),
      h("div", { class: "row" }, field("Tool", toolSel).wrap, field("Time limit (ms)", timeout).wrap),
      desc, formBox,
      h("div", { class: "actions" }, runBtn),
      result);

    container.append(
      h("div", { class: "page-head" }, h("h1", { id: "h-tools" }, "Tools")),
      tableBox,
      runForm,
      canRun ? null : h("p", { class: "muted" }, "Your role may look at tools but not run them."),
    );

    function pick(name) {
      const t = tools.find((x) => x.name === name);
      toolSel.value = name;
      clear(formBox);
      clear(result);
      formError(runForm, null);
      if (!t) return;
      desc.textContent = `${t.description || ""}${t.requiresApproval ? " (Agents need approval to run it; running it here is your own act and is audited.)" : ""}`;
      form = schemaForm(t.inputSchema || {}, { idPrefix: `arg-${t.name.replace(/[^\w-]/g, "_")}` });
      formBox.append(form.el);
    }

    async function load() {
      try {
        const r = await rpc.request("tools/list", {});
        if (disposed) return;
        tools = r.tools || [];
        clear(tableBox).append(table([
          { key: "name", label: "Tool", format: (v) => h("code", null, v) },
          { key: "category", label: "Category" },
          { key: "description", label: "Description", format: (v) => h("span", { class: "clamp" }, v || "") },
          { key: "requiresApproval", label: "Approval", format: (v) => (v ? "for agents" : "no") },
          { key: "timeoutMs", label: "Time limit", numeric: true, format: fmtMs },
          { key: "calls", label: "Calls", numeric: true, format: (_, t) => fmtNum(t.stats?.calls) },
          { key: "errors", label: "Errors", numeric: true, format: (_, t) => fmtNum(t.stats?.errors) },
          { key: "p50", label: "p50", numeric: true, format: (_, t) => fmtMs(t.stats?.p50Ms) },
          ...(canRun ? [{ key: "run", label: "Run", format: (_, t) => h("button", { type: "button", class: "btn btn-small", "aria-label": `Run ${t.name}`, onclick: () => { pick(t.name); toolSel.focus(); runForm.scrollIntoView({ block: "start" }); } }, "Run…") }] : []),
        ], tools, { caption: `${tools.length} tools`, rowAttrs: (t) => ({ dataset: { tool: t.name } }) }));
        const keep = toolSel.value;
        clear(toolSel);
        for (const t of tools) toolSel.append(h("option", { value: t.name }, t.name));
        if (form && tools.some((t) => t.name === keep)) toolSel.value = keep; // keep the form and its result
        else if (tools.length) pick(tools[0].name);
      } catch (e) {
        clear(tableBox).append(h("p", { class: "form-error", role: "alert" }, errorText(e)));
      }
    }

    toolSel.addEventListener("change", () => pick(toolSel.value));

    runForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      formError(runForm, null);
      clear(result);
      let args;
      try { args = form ? form.values() : {}; } catch (err) {
        formError(runForm, { message: err.message, field: err.field });
        return;
      }
      const p = { tool: toolSel.value, arguments: args };
      if (timeout.value) p.timeoutMs = Number(timeout.value);
      busy(runBtn, true);
      try {
        const r = await rpc.request("tools/execute", p, { timeoutMs: (p.timeoutMs || 600000) + 10000 });
        const text = (r.content || []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
        result.append(
          h("p", { class: r.isError ? "status-bad" : "status-ok", id: "run-status" }, r.isError ? "The tool failed" : "Done", r.durationMs != null ? ` in ${fmtMs(r.durationMs)}` : ""),
          h("pre", { class: "code", id: "run-text", tabindex: "0" }, text || "(no text)"),
          r.structuredContent != null ? h("details", null, h("summary", null, "Structured content"), h("pre", { class: "code" }, pretty(r.structuredContent))) : null);
        load();
      } catch (err) {
        formError(runForm, err);
      } finally { busy(runBtn, false); }
    });

    load();
    return { onReconnect: load, unmount() { disposed = true; } };
  },
};
