// Small DOM helpers. Everything is built with createElement and textContent: no innerHTML, no
// inline styles (the page runs under a strict Content-Security-Policy).

let uid = 0;
export const nextId = (prefix = "id") => `${prefix}-${++uid}`;

/**
 * h("button", {class: "btn", onclick: fn, "aria-label": "x"}, "text", child, [more])
 * Attributes: `class`, `dataset` (object), `on*` functions, booleans (true → present), others as strings.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = Array.isArray(v) ? v.filter(Boolean).join(" ") : v;
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "value" && ("value" in el)) el.value = v;
      else if (k === "checked" || k === "selected" || k === "disabled" || k === "hidden" || k === "required" || k === "multiple" || k === "open") el[k] = !!v;
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

export function replace(el, ...children) { clear(el); return append(el, children); }

/** A labelled form field: returns {wrap, input}. */
export function field(label, input, hint) {
  const id = input.id || (input.id = nextId("f"));
  const hintEl = hint ? h("small", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  const wrap = h("div", { class: "field" }, h("label", { for: id }, label), input, hintEl);
  return { wrap, input };
}

export function select(options, value, attrs = {}) {
  const el = h("select", attrs);
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    el.append(h("option", { value: v, selected: v === value }, label));
  }
  if (value !== undefined) el.value = value;
  return el;
}

/** A table from rows: columns [{key, label, format?, numeric?}] */
export function table(columns, rows, { caption, empty = "Nothing yet.", rowAttrs } = {}) {
  const t = h("table", { class: "data" });
  if (caption) t.append(h("caption", null, caption));
  t.append(h("thead", null, h("tr", null, columns.map((c) => h("th", { scope: "col", class: c.numeric ? "num" : null }, c.label)))));
  const body = h("tbody");
  if (!rows.length) {
    body.append(h("tr", null, h("td", { colspan: columns.length, class: "empty" }, empty)));
  }
  for (const r of rows) {
    const tr = h("tr", rowAttrs ? rowAttrs(r) : null);
    for (const c of columns) {
      const v = c.format ? c.format(r[c.key], r) : r[c.key];
      tr.append(h("td", { class: c.numeric ? "num" : null }, v instanceof Node ? v : fmtCell(v)));
    }
    body.append(tr);
  }
  t.append(body);
  return h("div", { class: "table-wrap" }, t);
}

function fmtCell(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number") return fmtNum(v);
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (Array.isArray(v)) return v.join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function fmtNum(v, digits = 2) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return v.toLocaleString("en-US", { maximumFractionDigits: digits });
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function fmtMs(v) {
  if (v === null || v === undefined) return "—";
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  return `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms`;
}

export function fmtPct(v, fraction = false) {
  if (v === null || v === undefined) return "—";
  return `${(fraction ? v * 100 : v).toFixed(1)} %`;
}

export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString();
}

export function fmtMoney(v) {
  if (v === null || v === undefined) return "—";
  return `$${v.toFixed(v && v < 0.01 ? 4 : 2)}`;
}

/** Offers text as a file download (a Blob URL on a temporary link). */
export function download(filename, text, type = "text/plain") {
  const blob = new Blob([text], { type: `${type};charset=utf-8` });
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename, class: "visually-hidden" }, filename);
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Short-lived message in the toast region (role=status). kind: info | ok | error */
export function toast(message, kind = "info", ms = 5000) {
  const region = document.getElementById("toasts");
  if (!region) return;
  const close = h("button", { type: "button", class: "btn btn-quiet btn-small", "aria-label": "Dismiss" }, "×");
  const el = h("div", { class: `toast toast-${kind}` }, h("span", null, message), close);
  close.addEventListener("click", () => el.remove());
  region.append(el);
  if (ms) setTimeout(() => el.remove(), ms);
}

/** A human sentence for an RpcError (or anything thrown). */
export function errorText(err) {
  if (!err) return "Unknown error";
  const code = err.code !== undefined ? ` (${err.codeName || "error"} ${err.code})` : "";
  let extra = "";
  if (err.data && typeof err.data === "object") {
    if (err.data.permission) extra = ` — needs permission “${err.data.permission}”`;
    else if (err.data.retryAfterSeconds) extra = ` — try again in ${err.data.retryAfterSeconds} s`;
  }
  return `${err.message || String(err)}${extra}${code}`;
}

/** Sets an inline error message under a form (role=alert). */
export function formError(container, err) {
  let el = container.querySelector(":scope > .form-error");
  container.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
  if (!err) { if (el) el.remove(); return; }
  if (!el) { el = h("p", { class: "form-error", role: "alert" }); container.append(el); }
  el.textContent = typeof err === "string" ? err : errorText(err);
  // point at the field an InvalidParams error names, when the form has it
  const f = err && err.field;
  if (f) {
    const last = f.split(".").pop().replace(/\[\d+\]$/, "");
    const target = container.querySelector(`[name="${CSS.escape(f)}"]`) || container.querySelector(`[name="${CSS.escape(last)}"]`);
    if (target) { target.setAttribute("aria-invalid", "true"); target.focus(); }
  }
}

export function busy(button, on) {
  if (!button) return;
  button.disabled = on;
  if (on) button.setAttribute("aria-busy", "true"); else button.removeAttribute("aria-busy");
}

export function pretty(v) {
  if (typeof v === "string") return v;
  try { return JSON.stringify(v, null, 2); } catch { return String(v); }
}
