// Answers the engine's `approval/request` (sent because initialize declared
// capabilities.approvals): one modal dialog at a time showing the tool, the agent and the exact
// arguments that will run; Escape or closing answers {outcome: "cancelled"}. When the engine
// withdraws the request ($/cancelRequest, e.g. the turn was cancelled) the dialog closes.

import { h, pretty } from "./dom.js";
import { openDialog } from "./dialog.js";

let queue = Promise.resolve();

export function installApprovals(rpc) {
  rpc.handle("approval/request", (params, { signal }) => {
    const run = () => ask(params, signal);
    const p = queue.then(run, run);
    queue = p.catch(() => {});
    return p;
  });
}

async function ask(params, signal) {
  if (signal.aborted) return { outcome: "cancelled" };
  const options = Array.isArray(params.options) && params.options.length ? params.options : [
    { optionId: "allow_once", name: "Allow once", kind: "allow_once" },
    { optionId: "reject_once", name: "Reject", kind: "reject_once" },
  ];
  const body = [
    h("p", null, "The agent ", h("strong", null, params.agent || "?"), " wants to run ", h("code", null, params.tool || "?"), " with:"),
    h("pre", { class: "code approval-args", tabindex: "0", "aria-label": "Arguments", autofocus: true }, pretty(params.arguments ?? {})),
    h("p", { class: "muted small" }, `Session ${params.sessionId || "?"} · call ${params.callId || "?"}. Escape cancels (the call is not run).`),
  ];
  const actions = options.map((o) => ({
    label: o.name || o.optionId,
    value: o.optionId,
    kind: /^reject/.test(o.kind || o.optionId) ? "danger" : /^allow_once$/.test(o.kind || o.optionId) ? "primary" : null,
  }));
  const choice = await openDialog({
    title: `Allow ${params.tool || "this tool"}?`,
    body,
    actions,
    cancelValue: null,
    signal,
    className: "approval-dialog",
  });
  if (signal.aborted || choice === null) return { outcome: "cancelled" };
  return { outcome: "selected", optionId: choice };
}
