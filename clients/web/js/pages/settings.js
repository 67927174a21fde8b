// Settings: the user's preferences (theme, default agent and model) with
// settings/update {scope: "user"}, the password (users/changePassword), and for admins the
// system settings (settings/update {scope: "system"}).

import { h, clear, field, select, toast, errorText, formError, busy } from "../dom.js";
import { THEMES, applyTheme } from "../theme.js";

// Known system settings: how to edit them. Unknown ones are edited by their value's JSON type.
const SYSTEM = {
  "tools.http.allowHosts": { kind: "list", hint: "One host or host:port per line; allowed even on loopback or private addresses." },
  "tools.approvalPolicy": { kind: "enum", options: ["deny", "allow"], hint: "For clients that cannot ask the user (and for tasks)." },
  "tasks.maxConcurrent": { kind: "int", min: 1, max: 1000 },
  "tasks.keepResultsHours": { kind: "int", min: 1, max: 8760 },
  "cache.maxEntries": { kind: "int", min: 0, hint: "0 turns the response cache off." },
  "cache.ttlSeconds": { kind: "int", min: 1 },
  "security.lockout.maxFailures": { kind: "int", min: 1, max: 100 },
  "security.lockout.minutes": { kind: "int", min: 1, max: 1440 },
  "security.tokenTTLMinutes": { kind: "int", min: 1, max: 43200 },
  "security.passwordHashCost": { kind: "int", min: 10, max: 15 },
  "metrics.retentionDays": { kind: "int", min: 1, max: 3650 },
};

export default {
  id: "settings",
  title: "Settings",
  mount(container, ctx) {
    const { rpc } = ctx;
    let disposed = false, system = {};

    // ---- preferences ----
    const theme = select(THEMES, ctx.prefs.theme || "system", { name: "theme", id: "pref-theme" });
    const agent = h("select", { name: "defaultAgent", id: "pref-agent" });
    const model = h("select", { name: "defaultModel", id: "pref-model" });
    const prefSave = h("button", { type: "submit", class: "btn btn-primary", id: "prefs-save" }, "Save preferences");
    const prefForm = h("form", { class: "panel form-grid", id: "prefs-form", "aria-labelledby": "prefs-h" },
      h("h2", { id: "prefs-h" }, "Your preferences"),
      field("Theme", theme, "Applied at once and whenever you log in.").wrap,
      field("Default agent", agent).wrap,
      field("Default model", model).wrap,
      h("div", { class: "actions" }, prefSave));

    // ---- password ----
    const oldPw = h("input", { type: "password", name: "oldPassword", autocomplete: "current-password" });
    const newPw = h("input", { type: "password", name: "newPassword", autocomplete: "new-password", minlength: "8", maxlength: "72" });
    const newPw2 = h("input", { type: "password", name: "confirm", autocomplete: "new-password" });
    const pwSave = h("button", { type: "submit", class: "btn" }, "Change password");
    const pwForm = h("form", { class: "panel form-grid", id: "password-form", "aria-labelledby": "pw-h", novalidate: true },
      h("h2", { id: "pw-h" }, "Password"),
      field("Current password", oldPw).wrap, field("New password", newPw, "8 to 72 bytes. Your other sessions end.").wrap, field("Repeat the new password", newPw2).wrap,
      h("div", { class: "actions" }, pwSave));

    // ---- system ----
    const sysFields = h("div", { class: "form-grid" });
    const sysSave = h("button", { type: "submit", class: "btn btn-primary", id: "system-save" }, "Save system settings");
    const sysForm = h("form", { class: "panel", id: "system-form", "aria-labelledby": "sys-h", hidden: !ctx.can("settings.manage"), novalidate: true },
      h("h2", { id: "sys-h" }, "System settings"),
      h("p", { class: "muted small" }, "They apply to every user; each change is audited."),
      sysFields, h("div", { class: "actions" }, sysSave));

    const about = h("section", { class: "panel", "aria-labelledby": "about-h" }, h("h2", { id: "about-h" }, "About"),
      h("dl", { class: "about" },
        h("dt", null, "Signed in as"), h("dd", null, `${ctx.user?.username} (${ctx.user?.role})`),
        h("dt", null, "Permissions"), h("dd", null, (ctx.user?.permissions || []).join(", ")),
        h("dt", null, "Engine"), h("dd", null, `${rpc.serverInfo?.name || "minions"} ${rpc.serverInfo?.version || ""}`)));

    container.append(h("div", { class: "page-head" }, h("h1", { id: "h-settings" }, "Settings")),
      h("div", { class: "two-col" }, prefForm, pwForm), sysForm, about);

    async function load() {
      try {
        const s = await rpc.request("settings/get", {});
        if (disposed) return;
        ctx.setPrefs(s.user || {});
        theme.value = s.user?.theme || "system";
        system = s.system || {};
        await fillPickers(s.user || {});
        renderSystem();
      } catch (e) { formError(prefForm, e); }
    }

    async function fillPickers(user) {
      clear(agent); clear(model);
      let agents = [], models = [];
      try { if (ctx.can("tools.read")) agents = (await rpc.request("agents/list", {})).agents.map((a) => a.name); } catch { /* fall back to the value */ }
      try { if (ctx.can("models.read")) models = (await rpc.request("models/list", {})).models.map((m) => m.name); } catch { /* idem */ }
      if (!agents.includes(user.defaultAgent) && user.defaultAgent) agents.unshift(user.defaultAgent);
      for (const a of agents) agent.append(h("option", { value: a }, a));
      agent.value = user.defaultAgent || "assistant";
      model.append(h("option", { value: "" }, "Automatic (engine selects)"));
      if (user.defaultModel && !models.includes(user.defaultModel)) models.unshift(user.defaultModel);
      for (const m of models) model.append(h("option", { value: m }, m));
      model.value = user.defaultModel || "";
    }

    function renderSystem() {
      clear(sysFields);
      for (const [key, value] of Object.entries(system)) {
        const spec = SYSTEM[key] || { kind: Array.isArray(value) ? "list" : typeof value === "number" ? (Number.isInteger(value) ? "int" : "num") : typeof value === "boolean" ? "bool" : typeof value === "string" ? "text" : "json" };
        let input;
        const name = key;
        if (spec.kind === "list") input = h("textarea", { name, rows: "3", dataset: { kind: "list" } }, (value || []).join("\n"));
        else if (spec.kind === "enum") input = select(spec.options, value, { name, dataset: { kind: "enum" } });
        else if (spec.kind === "int" || spec.kind === "num") input = h("input", { name, type: "number", step: spec.kind === "int" ? "1" : "any", min: spec.min ?? null, max: spec.max ?? null, value: String(value), dataset: { kind: spec.kind } });
        else if (spec.kind === "bool") input = h("input", { name, type: "checkbox", checked: !!value, dataset: { kind: "bool" } });
        else if (spec.kind === "text") input = h("input", { name, value, dataset: { kind: "text" } });
        else input = h("textarea", { name, rows: "3", class: "mono", dataset: { kind: "json" } }, JSON.stringify(value, null, 2));
        sysFields.append(field(key, input, spec.hint).wrap);
      }
    }

    function readSystem() {
      const changed = {};
      for (const input of sysFields.querySelectorAll("[name]")) {
        const key = input.name, kind = input.dataset.kind;
        let v;
        if (kind === "list") v = input.value.split(/\n|,/).map((s) => s.trim()).filter(Boolean);
        else if (kind === "int" || kind === "num") v = input.value === "" ? null : Number(input.value);
        else if (kind === "bool") v = input.checked;
        else if (kind === "json") { try { v = JSON.parse(input.value); } catch { throw { message: `${key} is not valid JSON`, field: key }; } }
        else v = input.value;
        if (JSON.stringify(v) !== JSON.stringify(system[key])) changed[key] = v;
      }
      return changed;
    }

    prefForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      formError(prefForm, null);
      const values = { theme: theme.value, defaultAgent: agent.value, defaultModel: model.value };
      busy(prefSave, true);
      try {
        const r = await rpc.request("settings/update", { scope: "user", values });
        ctx.setPrefs(r.user || values);
        applyTheme((r.user || values).theme);
        toast("Preferences saved.", "ok");
      } catch (err) { formError(prefForm, err); } finally { busy(prefSave, false); }
    });

    pwForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      formError(pwForm, null);
      if (newPw.value !== newPw2.value) { formError(pwForm, { message: "The new passwords differ.", field: "confirm" }); return; }
      if (!oldPw.value || !newPw.value) { formError(pwForm, "Fill in both passwords."); return; }
      busy(pwSave, true);
      try {
        const changed = await rpc.request("users/changePassword", { oldPassword: oldPw.value, newPassword: newPw.value }, { timeoutMs: 30000 });
        oldPw.value = newPw.value = newPw2.value = "";
        // the change ends every token of the user, the one this tab keeps for reloads too; the reply
        // carries a fresh one for this connection (older engines: ask auth/refresh)
        if (changed && changed.token) ctx.tokenRenewed(changed.token);
        else {
          try { ctx.tokenRenewed((await rpc.request("auth/refresh", {})).token); } catch (e) { console.warn("auth/refresh after the password change failed", e); }
        }
        toast("Password changed. Your other sessions have ended.", "ok");
      } catch (err) {
        formError(pwForm, err.code === -32010 ? { message: "The current password is wrong.", field: "oldPassword" } : err);
      } finally { busy(pwSave, false); }
    });

    sysForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      formError(sysForm, null);
      let values;
      try { values = readSystem(); } catch (err) { formError(sysForm, err); return; }
      if (!Object.keys(values).length) { toast("Nothing changed.", "info"); return; }
      busy(sysSave, true);
      try {
        const r = await rpc.request("settings/update", { scope: "system", values });
        system = r.system || system;
        renderSystem();
        toast(`Saved ${Object.keys(values).join(", ")}.`, "ok");
      } catch (err) {
        // the engine names the field as values.KEY
        formError(sysForm, err.field ? Object.assign(err, {}) : err);
        const key = err.field?.replace(/^values\./, "");
        const input = key && sysFields.querySelector(`[name="${CSS.escape(key)}"]`);
        if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
      } finally { busy(sysSave, false); }
    });

    load();
    return { onReconnect: load, unmount() { disposed = true; } };
  },
};
