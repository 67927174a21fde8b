// Modal dialogs on <dialog>.showModal(): the rest of the page is inert, Tab and Shift+Tab cycle
// inside the dialog, Escape closes it (resolving with the `cancelValue`), and focus returns to
// where it was.

import { h } from "./dom.js";

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * openDialog({title, body: Node|[Node], actions: [{label, value, kind?: "primary"|"danger"|"quiet", autofocus?}],
 *             cancelValue?, signal?, className?, describedBy?}) → Promise<value>
 * `signal` (AbortSignal) closes the dialog from outside (resolving with cancelValue).
 */
export function openDialog({ title, body, actions = [{ label: "Close", value: null }], cancelValue = null, signal, className, onOpen }) {
  return new Promise((resolve) => {
    const previous = document.activeElement;
    const titleId = `dlg-title-${Math.random().toString(36).slice(2, 8)}`;
    const bodyId = `${titleId}-body`;
    const dlg = h("dialog", { class: ["dialog", className], "aria-labelledby": titleId, "aria-describedby": bodyId });
    const buttons = actions.map((a) => h("button", {
      type: "button",
      class: ["btn", a.kind === "primary" ? "btn-primary" : a.kind === "danger" ? "btn-danger" : a.kind === "quiet" ? "btn-quiet" : null],
      dataset: { value: String(a.value) },
      onclick: () => done(a.value),
    }, a.label));
    dlg.append(
      h("h2", { id: titleId, class: "dialog-title" }, title),
      h("div", { id: bodyId, class: "dialog-body" }, body),
      h("div", { class: "dialog-actions" }, buttons),
    );
    let finished = false;
    function done(value) {
      if (finished) return;
      finished = true;
      dlg.removeEventListener("keydown", onKey);
      if (dlg.open) dlg.close();
      dlg.remove();
      if (previous && typeof previous.focus === "function" && document.contains(previous)) previous.focus();
      resolve(value);
    }
    function onKey(e) {
      if (e.key === "Escape") { e.preventDefault(); done(cancelValue); return; }
      if (e.key !== "Tab") return;
      const items = [...dlg.querySelectorAll(FOCUSABLE)].filter((el) => !el.closest("[hidden]"));
      if (!items.length) { e.preventDefault(); return; }
      const first = items[0], last = items[items.length - 1];
      if (e.shiftKey && (document.activeElement === first || !dlg.contains(document.activeElement))) { e.preventDefault(); last.focus(); }
      else if (!e.shiftKey && (document.activeElement === last || !dlg.contains(document.activeElement))) { e.preventDefault(); first.focus(); }
    }
    dlg.addEventListener("keydown", onKey);
    dlg.addEventListener("cancel", (e) => { e.preventDefault(); done(cancelValue); });
    if (signal) {
      if (signal.aborted) { resolve(cancelValue); return; }
      signal.addEventListener("abort", () => done(cancelValue), { once: true });
    }
    document.body.append(dlg);
    dlg.showModal();
    const auto = actions.findIndex((a) => a.autofocus);
    const target = dlg.querySelector("[autofocus]") || buttons[auto >= 0 ? auto : 0];
    if (target) target.focus();
    if (onOpen) onOpen(dlg, done);
  });
}

export async function confirmDialog(title, message, { confirmLabel = "OK", danger = false } = {}) {
  const v = await openDialog({
    title,
    body: h("p", null, message),
    actions: [
      { label: "Cancel", value: false, kind: "quiet" },
      { label: confirmLabel, value: true, kind: danger ? "danger" : "primary", autofocus: !danger },
    ],
    cancelValue: false,
  });
  return v === true;
}
