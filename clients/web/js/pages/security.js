// Security (admins): users (users/list, create, update, disable, unlock, delete), API keys
// (apikeys/list {all}, create — the key is shown once —, revoke) and the audit log (audit/query
// with filters and paging).

import { h, clear, field, select, table, toast, errorText, formError, busy, fmtTime } from "../dom.js";
import { openDialog, confirmDialog } from "../dialog.js";

const ROLES = ["admin", "user", "viewer", "api_user"];

export default {
  id: "security",
  title: "Security",
  permission: "users.manage",
  mount(container, ctx) {
    const { rpc } = ctx;
    let disposed = false;

    // ---- users ----
    const usersBox = h("div", { id: "users-table" });
    const cu = {
      username: h("input", { name: "username", required: true, autocomplete: "off", autocapitalize: "none" }),
      email: h("input", { name: "email", type: "email", autocomplete: "off" }),
      password: h("input", { name: "password", type: "password", required: true, autocomplete: "new-password", minlength: "8", maxlength: "72" }),
      role: select(ROLES, "user", { name: "role" }),
    };
    const cuSubmit = h("button", { type: "submit", class: "btn btn-primary" }, "Create user");
    const cuForm = h("form", { class: "panel form-grid", id: "create-user-form", "aria-labelledby": "cu-h", novalidate: true },
      h("h3", { id: "cu-h" }, "Create a user"),
      field("Username", cu.username).wrap, field("Email (optional)", cu.email).wrap,
      field("Password", cu.password, "8 to 72 bytes.").wrap, field("Role", cu.role).wrap,
      h("div", { class: "actions" }, cuSubmit));

    // ---- api keys ----
    const keysBox = h("div", { id: "keys-table" });
    const keyName = h("input", { name: "name", required: true, autocomplete: "off" });
    const keyDays = h("input", { name: "expiresInDays", type: "number", min: "1", max: "3650", step: "1", placeholder: "never" });
    const scopeBox = h("fieldset", { class: "checks" }, h("legend", null, "Scopes (none: all of your permissions)"),
      (ctx.user?.permissions || []).map((p) => {
        const id = `scope-${p}`;
        return h("span", { class: "check" }, h("input", { type: "checkbox", id, name: "scopes", value: p }), h("label", { for: id }, p));
      }));
    const keySubmit = h("button", { type: "submit", class: "btn btn-primary" }, "Create key");
    const keyForm = h("form", { class: "panel form-grid", id: "create-key-form", "aria-labelledby": "ck-h", novalidate: true },
      h("h3", { id: "ck-h" }, "Create an API key"),
      field("Name", keyName).wrap, field("Expires in days", keyDays).wrap, scopeBox,
      h("div", { class: "actions" }, keySubmit));

    // ---- audit ----
    const af = {
      username: h("input", { name: "username", autocomplete: "off" }),
      action: h("input", { name: "action", placeholder: "auth.* or user.create", autocomplete: "off" }),
      since: h("input", { name: "since", type: "datetime-local" }),
      until: h("input", { name: "until", type: "datetime-local" }),
      limit: h("input", { name: "limit", type: "number", min: "1", max: "1000", value: "50" }),
    };
    const auditSubmit = h("button", { type: "submit", class: "btn btn-primary" }, "Search");
    const auditForm = h("form", { class: "filters", id: "audit-form", "aria-label": "Audit filters", hidden: !ctx.can("audit.read") },
      field("User", af.username).wrap, field("Action", af.action).wrap, field("Since", af.since).wrap, field("Until", af.until).wrap, field("Limit", af.limit).wrap,
      h("div", { class: "actions" }, auditSubmit));
    const auditBox = h("div", { id: "audit-table" });
    const auditMore = h("button", { type: "button", class: "btn btn-quiet", hidden: true }, "Load more");
    let auditRows = [], auditCursor = null;

    container.append(
      h("div", { class: "page-head" }, h("h1", { id: "h-security" }, "Security")),
      h("nav", { class: "subnav", "aria-label": "Security sections" },
        h("a", { href: "#users-h", class: "btn btn-quiet btn-small", onclick: jump }, "Users"),
        h("a", { href: "#keys-h", class: "btn btn-quiet btn-small", onclick: jump }, "API keys"),
        h("a", { href: "#audit-h", class: "btn btn-quiet btn-small", onclick: jump }, "Audit log")),
      h("section", { class: "panel", "aria-labelledby": "users-h" }, h("h2", { id: "users-h" }, "Users"), usersBox, cuForm),
      h("section", { class: "panel", "aria-labelledby": "keys-h" }, h("h2", { id: "keys-h" }, "API keys"), keysBox, keyForm),
      h("section", { class: "panel", "aria-labelledby": "audit-h", hidden: !ctx.can("audit.read") }, h("h2", { id: "audit-h" }, "Audit log"), auditForm, auditBox, auditMore),
    );

    // in-page links must not change the router's hash
    function jump(e) {
      e.preventDefault();
      const target = container.querySelector(e.currentTarget.getAttribute("href"));
      if (target) { target.setAttribute("tabindex", "-1"); target.focus(); target.scrollIntoView({ block: "start" }); }
    }

    async function loadUsers() {
      try {
        const { users } = await rpc.request("users/list", {});
        if (disposed) return;
        clear(usersBox).append(table([
          { key: "username", label: "User", format: (v, u) => h("span", null, h("strong", null, v), u.localOwner ? h("span", { class: "muted small" }, " (local owner)") : null) },
          { key: "email", label: "Email" },
          { key: "role", label: "Role" },
          { key: "status", label: "Status", format: (_, u) => u.disabled ? h("span", { class: "status-bad" }, "disabled")
            : u.locked ? h("span", { class: "status-warn" }, `locked until ${fmtTime(u.lockedUntil)}`) : h("span", { class: "status-ok" }, "active") },
          { key: "failedLogins", label: "Failed logins", numeric: true },
          { key: "lastLoginAt", label: "Last login", format: fmtTime },
          { key: "actions", label: "Actions", format: (_, u) => u.localOwner ? "" : h("div", { class: "btn-row" },
            h("button", { type: "button", class: "btn btn-small", "aria-label": `Edit ${u.username}`, onclick: () => editUser(u) }, "Edit"),
            h("button", { type: "button", class: "btn btn-small", "aria-label": `${u.disabled ? "Enable" : "Disable"} ${u.username}`, onclick: () => setDisabled(u, !u.disabled) }, u.disabled ? "Enable" : "Disable"),
            u.locked ? h("button", { type: "button", class: "btn btn-small", "aria-label": `Unlock ${u.username}`, onclick: () => unlock(u) }, "Unlock") : null,
            h("button", { type: "button", class: "btn btn-small btn-quiet", "aria-label": `Delete ${u.username}`, onclick: () => delUser(u) }, "Delete")) },
        ], users, { caption: `${users.length} users`, rowAttrs: (u) => ({ dataset: { user: u.username } }) }));
      } catch (e) { clear(usersBox).append(h("p", { class: "form-error", role: "alert" }, errorText(e))); }
    }

    async function act(promise, ok) {
      try { await promise; if (ok) toast(ok, "ok"); } catch (e) { toast(errorText(e), "error", 8000); }
      loadUsers();
    }
    const setDisabled = (u, disabled) => {
      if (u.username === ctx.user?.username && disabled) { toast("You cannot disable yourself here.", "error"); return; }
      act(rpc.request("users/update", { username: u.username, disabled }), `${u.username} ${disabled ? "disabled" : "enabled"}.`);
    };
    const unlock = (u) => act(rpc.request("users/unlock", { username: u.username }), `${u.username} unlocked.`);
    async function delUser(u) {
      if (!(await confirmDialog("Delete user?", `${u.username}, their API keys and preferences will be deleted.`, { confirmLabel: "Delete", danger: true }))) return;
      act(rpc.request("users/delete", { username: u.username }), `${u.username} deleted.`);
    }

    async function editUser(u) {
      const email = h("input", { name: "email", type: "email", value: u.email || "" });
      const role = select(ROLES, u.role, { name: "role" });
      const password = h("input", { name: "password", type: "password", autocomplete: "new-password", placeholder: "unchanged" });
      const body = h("form", { class: "form-grid", novalidate: true },
        field("Email", email).wrap, field("Role", role).wrap, field("New password", password, "Leave empty to keep it. Changing the role or password ends the user's sessions.").wrap);
      for (;;) {
        const v = await openDialog({
          title: `Edit ${u.username}`, body,
          actions: [{ label: "Cancel", value: null, kind: "quiet" }, { label: "Save", value: "save", kind: "primary" }],
          onOpen: () => email.focus(),
        });
        if (v !== "save") return;
        const p = { username: u.username };
        const em = email.value.trim();
        if (em !== (u.email || "")) p.email = em || null;
        if (role.value !== u.role) p.role = role.value;
        if (password.value) p.password = password.value;
        try {
          await rpc.request("users/update", p);
          toast(`${u.username} updated.`, "ok");
          loadUsers();
          return;
        } catch (e) {
          formError(body, e); // show it and open the dialog again
        }
      }
    }

    cuForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      formError(cuForm, null);
      const p = { username: cu.username.value.trim(), password: cu.password.value, role: cu.role.value };
      if (cu.email.value.trim()) p.email = cu.email.value.trim();
      if (!p.username || !p.password) { formError(cuForm, "A user needs a username and a password."); return; }
      busy(cuSubmit, true);
      try {
        await rpc.request("users/create", p);
        toast(`Created ${p.username}.`, "ok");
        cu.username.value = cu.email.value = cu.password.value = "";
        loadUsers();
      } catch (err) { formError(cuForm, err); } finally { busy(cuSubmit, false); }
    });

    async function loadKeys() {
      try {
        const { keys } = await rpc.request("apikeys/list", { all: true });
        if (disposed) return;
        clear(keysBox).append(table([
          { key: "name", label: "Name" },
          { key: "username", label: "Owner" },
          { key: "prefix", label: "Prefix", format: (v) => h("code", null, `${v}…`) },
          { key: "scopes", label: "Scopes", format: (v) => (v && v.length ? v.join(", ") : "all of the owner's") },
          { key: "createdAt", label: "Created", format: fmtTime },
          { key: "expiresAt", label: "Expires", format: (v) => (v ? fmtTime(v) : "never") },
          { key: "lastUsedAt", label: "Last used", format: (v) => (v ? fmtTime(v) : "never") },
          { key: "revoked", label: "Actions", format: (v, k) => v ? h("span", { class: "status-bad" }, "revoked")
            : h("button", { type: "button", class: "btn btn-small btn-quiet", "aria-label": `Revoke key ${k.name}`, onclick: () => revoke(k) }, "Revoke") },
        ], keys, { caption: `${keys.length} keys`, empty: "No API keys." }));
      } catch (e) { clear(keysBox).append(h("p", { class: "form-error", role: "alert" }, errorText(e))); }
    }

    async function revoke(k) {
      if (!(await confirmDialog("Revoke key?", `“${k.name}” (${k.prefix}…) stops working at once, and the sessions using it end.`, { confirmLabel: "Revoke", danger: true }))) return;
      try { await rpc.request("apikeys/revoke", { id: k.id }); toast("Key revoked.", "ok"); } catch (e) { toast(errorText(e), "error"); }
      loadKeys();
    }

    keyForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      formError(keyForm, null);
      const p = { name: keyName.value.trim() };
      if (!p.name) { formError(keyForm, "A key needs a name."); keyName.focus(); return; }
      const scopes = [...keyForm.querySelectorAll('input[name="scopes"]:checked')].map((i) => i.value);
      if (scopes.length) p.scopes = scopes;
      if (keyDays.value) p.expiresInDays = Number(keyDays.value);
      busy(keySubmit, true);
      try {
        const r = await rpc.request("apikeys/create", p);
        keyName.value = "";
        loadKeys();
        await showKeyOnce(r);
      } catch (err) { formError(keyForm, err); } finally { busy(keySubmit, false); }
    });

    async function showKeyOnce(r) {
      const keyField = h("input", { readonly: true, value: r.key, class: "mono", id: "new-api-key", "aria-label": "New API key" });
      const copy = h("button", { type: "button", class: "btn" }, "Copy");
      copy.addEventListener("click", async () => {
        keyField.select();
        try { await navigator.clipboard.writeText(r.key); copy.textContent = "Copied"; } catch { copy.textContent = "Press Ctrl+C"; }
      });
      await openDialog({
        title: "Your new API key",
        body: [h("p", null, "Copy it now: it is shown only this once. Use it as ", h("code", null, "initialize {auth: {apiKey}}"), "."),
          h("div", { class: "row" }, keyField, copy),
          h("p", { class: "muted small" }, `Scopes: ${r.scopes?.length ? r.scopes.join(", ") : "all of yours"} · expires ${r.expiresAt ? fmtTime(r.expiresAt) : "never"}`)],
        actions: [{ label: "I have saved it", value: true, kind: "primary" }],
        onOpen: () => { keyField.focus(); keyField.select(); },
      });
      keyField.value = "";
    }

    // ---- audit ----
    function auditParams() {
      const p = { limit: Math.max(1, Math.min(1000, Number(af.limit.value) || 50)) };
      if (af.username.value.trim()) p.username = af.username.value.trim();
      if (af.action.value.trim()) p.action = af.action.value.trim();
      if (af.since.value) p.since = new Date(af.since.value).toISOString();
      if (af.until.value) p.until = new Date(af.until.value).toISOString();
      return p;
    }

    async function loadAudit(more = false) {
      formError(auditForm, null);
      const p = auditParams();
      if (more && auditCursor) p.cursor = auditCursor;
      try {
        const r = await rpc.request("audit/query", p);
        if (disposed) return;
        auditRows = more ? auditRows.concat(r.entries) : r.entries;
        auditCursor = r.nextCursor;
        auditMore.hidden = !auditCursor;
        clear(auditBox).append(table([
          { key: "at", label: "When", format: fmtTime },
          { key: "username", label: "User" },
          { key: "action", label: "Action", format: (v) => h("code", null, v) },
          { key: "target", label: "Target" },
          { key: "outcome", label: "Outcome", format: (v) => h("span", { class: v === "ok" ? "status-ok" : "status-bad" }, v) },
          { key: "details", label: "Details", format: (v) => (v && Object.keys(v).length ? h("code", { class: "details" }, JSON.stringify(v)) : "") },
        ], auditRows, { caption: `${auditRows.length} entries${auditCursor ? " (more available)" : ""}`, empty: "No audit entries match." }));
      } catch (e) { formError(auditForm, e); }
    }
    auditForm.addEventListener("submit", (e) => { e.preventDefault(); busy(auditSubmit, true); loadAudit().finally(() => busy(auditSubmit, false)); });
    auditMore.addEventListener("click", () => loadAudit(true));

    const all = () => { loadUsers(); loadKeys(); if (ctx.can("audit.read")) loadAudit(); };
    all();
    return { onReconnect: all, unmount() { disposed = true; } };
  },
};
