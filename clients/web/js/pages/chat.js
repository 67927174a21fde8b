// Chat: pick an agent and a model, send a message with agent/chat, and show the answer as it
// streams in agent/update notifications (tokens, tool calls and results, hand-offs). Sessions on
// the side (sessions/list, sessions/search), export (sessions/export) and cancel (agent/cancel).

import { h, clear, field, select, toast, errorText, download, fmtTime, fmtMs, pretty, busy } from "../dom.js";
import { openDialog, confirmDialog } from "../dialog.js";
import { ErrorCodes } from "../rpc.js";

const AUTO = "";

export default {
  id: "chat",
  title: "Chat",
  permission: "chat",
  mount(container, ctx, args) {
    const { rpc } = ctx;
    const st = {
      sessionId: args[0] || null,
      sessionTitle: null,
      turn: null,        // the running turn
      nextCursor: null,
      searching: false,
      disposed: false,
    };

    // ---- sidebar ----
    const newBtn = h("button", { type: "button", class: "btn btn-primary", id: "new-chat" }, "New chat");
    const searchInput = h("input", { type: "search", name: "query", placeholder: "Search messages", id: "session-search" });
    const searchForm = h("form", { class: "search-form", role: "search" },
      h("label", { for: "session-search", class: "visually-hidden" }, "Search sessions"),
      searchInput,
      h("button", { type: "submit", class: "btn" }, "Search"));
    const listHeading = h("h2", { class: "side-heading", id: "sessions-heading" }, "Sessions");
    const sessionList = h("ul", { class: "session-list", id: "session-list", "aria-labelledby": "sessions-heading" });
    const moreBtn = h("button", { type: "button", class: "btn btn-quiet", hidden: true }, "Load more");
    const clearSearch = h("button", { type: "button", class: "btn btn-quiet btn-small", hidden: true }, "Show all sessions");
    const side = h("aside", { class: "chat-side", "aria-label": "Sessions" }, newBtn, searchForm, listHeading, clearSearch, sessionList, moreBtn);

    // ---- main ----
    const agentSel = h("select", { name: "agent", id: "agent-picker" });
    const modelSel = h("select", { name: "model", id: "model-picker" });
    const exportMd = h("button", { type: "button", class: "btn btn-small", id: "export-md", disabled: true }, "Export Markdown");
    const exportJson = h("button", { type: "button", class: "btn btn-small", id: "export-json", disabled: true }, "Export JSON");
    const renameBtn = h("button", { type: "button", class: "btn btn-small btn-quiet", disabled: true }, "Rename");
    const deleteBtn = h("button", { type: "button", class: "btn btn-small btn-quiet", disabled: true }, "Delete");
    const title = h("h1", { id: "h-chat" }, "Chat");
    const transcript = h("div", { class: "transcript", id: "transcript", role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0" });
    const message = h("textarea", { name: "message", id: "chat-message", rows: "3", placeholder: "Ask something… (Enter sends, Shift+Enter for a new line)" });
    const sendBtn = h("button", { type: "submit", class: "btn btn-primary", id: "chat-send" }, "Send");
    const cancelBtn = h("button", { type: "button", class: "btn btn-danger", id: "chat-cancel", hidden: true }, "Cancel");
    const status = h("p", { class: "turn-status muted small", id: "turn-status", role: "status" });
    const composer = h("form", { class: "composer", id: "composer" },
      h("label", { for: "chat-message", class: "visually-hidden" }, "Message"),
      message,
      h("div", { class: "composer-actions" }, sendBtn, cancelBtn));

    const pickers = h("div", { class: "chat-toolbar" },
      field("Agent", agentSel).wrap,
      field("Model", modelSel).wrap,
      h("div", { class: "toolbar-actions" }, exportMd, exportJson, renameBtn, deleteBtn));
    const mainCol = h("div", { class: "chat-main" }, title, pickers, transcript, composer, status);
    container.append(h("div", { class: "chat-layout" }, side, mainCol));

    // ---- pickers ----
    async function loadPickers() {
      const prefs = ctx.prefs;
      if (ctx.can("tools.read")) {
        try {
          const { agents } = await rpc.request("agents/list", {});
          clear(agentSel);
          for (const a of agents) agentSel.append(h("option", { value: a.name, title: a.description || "" }, a.builtin ? a.name : `${a.name} (custom)`));
          agentSel.value = agents.some((a) => a.name === prefs.defaultAgent) ? prefs.defaultAgent : (agents[0]?.name || "assistant");
        } catch (e) { toast(`Agents: ${errorText(e)}`, "error"); }
      } else {
        agentSel.append(h("option", { value: prefs.defaultAgent || "assistant" }, prefs.defaultAgent || "assistant"));
      }
      if (ctx.can("models.read")) {
        try {
          const { models } = await rpc.request("models/list", {});
          clear(modelSel);
          modelSel.append(h("option", { value: AUTO }, "Automatic (engine selects)"));
          for (const m of models) {
            modelSel.append(h("option", { value: m.name, disabled: m.available === false }, `${m.name} · ${m.provider}${m.available === false ? " (unavailable)" : ""}`));
          }
          modelSel.value = models.some((m) => m.name === prefs.defaultModel) ? prefs.defaultModel : AUTO;
        } catch (e) { toast(`Models: ${errorText(e)}`, "error"); }
      } else {
        modelSel.append(h("option", { value: AUTO }, "Automatic (engine selects)"));
      }
    }

    // ---- sessions ----
    function sessionItem(s, snippet) {
      const btn = h("button", { type: "button", class: "session-item", dataset: { session: s.sessionId } },
        h("span", { class: "session-title" }, s.title || "(untitled)"),
        snippet ? h("span", { class: "session-snippet" }, renderSnippet(snippet)) : null,
        s.updatedAt ? h("span", { class: "session-meta" }, `${fmtTime(s.updatedAt)}${s.messageCount != null ? ` · ${s.messageCount} messages` : ""}`) : null);
      if (s.sessionId === st.sessionId) btn.setAttribute("aria-current", "true");
      btn.addEventListener("click", () => openSession(s.sessionId));
      return h("li", null, btn);
    }

    function markCurrent() {
      sessionList.querySelectorAll(".session-item").forEach((b) => {
        if (b.dataset.session === st.sessionId) b.setAttribute("aria-current", "true"); else b.removeAttribute("aria-current");
      });
    }

    async function loadSessions(append = false) {
      if (!ctx.can("sessions.read")) { side.hidden = true; return; }
      try {
        const params = { limit: 50 };
        if (append && st.nextCursor) params.cursor = st.nextCursor;
        const r = await rpc.request("sessions/list", params);
        if (st.disposed || st.searching) return;
        if (!append) clear(sessionList);
        for (const s of r.sessions) sessionList.append(sessionItem(s));
        if (!append && !r.sessions.length) sessionList.append(h("li", { class: "muted small empty" }, "No sessions yet."));
        st.nextCursor = r.nextCursor;
        moreBtn.hidden = !r.nextCursor;
        const cur = r.sessions.find((s) => s.sessionId === st.sessionId);
        if (cur) setTitle(cur.title);
      } catch (e) { toast(`Sessions: ${errorText(e)}`, "error"); }
    }

    async function search(q) {
      if (!q.trim()) { st.searching = false; clearSearch.hidden = true; return loadSessions(); }
      st.searching = true;
      clearSearch.hidden = false;
      moreBtn.hidden = true;
      try {
        const r = await rpc.request("sessions/search", { query: q, limit: 50 });
        clear(sessionList);
        listHeading.textContent = `Results for “${q}”`;
        if (!r.results.length) sessionList.append(h("li", { class: "muted small empty" }, "No session matches."));
        for (const res of r.results) sessionList.append(sessionItem(res, res.snippet));
      } catch (e) { toast(`Search: ${errorText(e)}`, "error"); }
    }

    function setTitle(t) {
      st.sessionTitle = t || null;
      title.textContent = t ? t : "Chat";
    }

    function setSession(id) {
      st.sessionId = id;
      const has = !!id;
      exportMd.disabled = exportJson.disabled = renameBtn.disabled = deleteBtn.disabled = !has;
      ctx.setHashQuietly(has ? `#/chat/${encodeURIComponent(id)}` : "#/chat");
      markCurrent();
    }

    async function openSession(id) {
      if (st.turn) { toast("Wait for the answer, or cancel it, before switching sessions.", "info"); return; }
      setSession(id);
      clear(transcript);
      transcript.append(h("p", { class: "muted" }, "Loading…"));
      try {
        const r = await rpc.request("sessions/get", { sessionId: id });
        if (st.disposed || st.sessionId !== id) return;
        clear(transcript);
        setTitle(r.session?.title);
        renderHistory(r.messages || []);
      } catch (e) {
        clear(transcript);
        if (e.code === ErrorCodes.NotFound) { setSession(null); setTitle(null); toast("That session no longer exists.", "error"); }
        else transcript.append(errorBubble(e));
      }
    }

    function newChat() {
      if (st.turn) return;
      setSession(null);
      setTitle(null);
      clear(transcript);
      transcript.append(emptyState());
      message.focus();
    }

    function emptyState() {
      return h("p", { class: "muted empty-transcript" }, "Start a conversation: pick an agent and a model, type a message and press Send.");
    }

    // ---- rendering messages ----
    function renderHistory(messages) {
      const calls = new Map();
      let last = null;
      if (!messages.length) transcript.append(emptyState());
      for (const m of messages) {
        if (m.role === "tool") {
          const target = calls.get(m.callId);
          if (target) target.result(m); else transcript.append(toolResultBlock(m));
          continue;
        }
        if (m.role !== "assistant") last = null;
        if (m.role === "user") transcript.append(userBubble(m.content));
        else if (m.role === "assistant") {
          // the steps of one turn (text, tool calls, their results, more text) in one bubble
          let b = last && last.turnId === m.turnId && last.agent === m.agent ? last.bubble : null;
          if (!b) {
            b = assistantBubble(m.agent);
            transcript.append(b.el);
            last = { turnId: m.turnId, agent: m.agent, bubble: b };
          }
          if (m.content) b.text(m.agent, m.content);
          for (const c of m.toolCalls || []) calls.set(c.callId, b.toolCall(c));
          continue;
        } else if (m.content) {
          transcript.append(h("div", { class: "msg msg-system" }, h("div", { class: "msg-text" }, m.content)));
        }
      }
      transcript.scrollTop = transcript.scrollHeight;
    }

    function userBubble(text) {
      return h("div", { class: "msg msg-user" }, h("div", { class: "msg-who" }, "You"), h("div", { class: "msg-text" }, text));
    }

    /** An assistant message that can grow: text per agent, tool calls, results, hand-offs. */
    function assistantBubble(agent) {
      const el = h("div", { class: "msg msg-assistant", dataset: { agent: agent || "" } }, h("div", { class: "msg-who" }, agent || "assistant"));
      let lastKey = null, lastText = null;
      const api = {
        el,
        text(who, t) {
          const key = `text:${who || ""}`;
          if (lastKey !== key) {
            const delegated = who && agent && who !== agent;
            const holder = h("div", { class: ["msg-text", delegated ? "msg-delegated" : null], dataset: { agent: who || "" } });
            if (delegated) holder.append(h("span", { class: "delegated-label" }, `${who}: `));
            lastText = document.createTextNode("");
            holder.append(lastText);
            el.append(holder);
            lastKey = key;
          }
          lastText.appendData(t);
        },
        toolCall(c) {
          lastKey = null;
          const res = h("div", { class: "tool-result", hidden: true });
          const block = h("details", { class: "tool-call", dataset: { call: c.callId || "" } },
            h("summary", null, h("span", { class: "badge" }, "tool"), " ", h("code", null, c.tool), c.agent && c.agent !== agent ? ` (by ${c.agent})` : "", h("span", { class: "tool-state muted small" }, " running…")),
            h("pre", { class: "code" }, pretty(c.arguments ?? {})),
            res);
          el.append(block);
          return {
            result(r) {
              const isErr = !!r.isError;
              block.querySelector(".tool-state").textContent = isErr ? " failed" : " done";
              block.classList.toggle("is-error", isErr);
              res.hidden = false;
              clear(res).append(h("div", { class: "small muted" }, isErr ? "Error result" : "Result"), h("pre", { class: "code" }, pretty(r.output ?? r.content ?? "")));
            },
          };
        },
        handoff(u) {
          lastKey = null;
          el.append(h("div", { class: "handoff", role: "note" }, h("span", { class: "badge" }, "handoff"), ` ${u.from} → ${u.to}: `, h("em", null, u.task || "")));
        },
        footer(text) { el.append(h("div", { class: "msg-footer muted small" }, text)); },
      };
      return api;
    }

    function toolResultBlock(m) {
      return h("details", { class: ["tool-call", m.isError ? "is-error" : null] }, h("summary", null, h("span", { class: "badge" }, "result"), " ", h("code", null, m.tool || "tool")), h("pre", { class: "code" }, pretty(m.content)));
    }

    function errorBubble(e) {
      return h("div", { class: "msg msg-error", role: "alert" }, h("div", { class: "msg-who" }, "Error"), h("div", { class: "msg-text" }, errorText(e)));
    }

    // ---- streaming ----
    const offUpdate = rpc.on("agent/update", (u) => {
      const t = st.turn;
      if (!t) return;
      if (t.turnId && u.turnId && u.turnId !== t.turnId) return;
      if (!t.turnId) { t.turnId = u.turnId; }
      if (u.sessionId && !t.sessionId) { t.sessionId = u.sessionId; if (!st.sessionId) setSession(u.sessionId); }
      switch (u.kind) {
        case "token": t.bubble.text(u.agent, u.text || ""); break;
        case "toolCall": t.calls.set(u.callId, t.bubble.toolCall(u)); break;
        case "toolResult": {
          const c = t.calls.get(u.callId);
          if (c) c.result(u); else t.bubble.el.append(toolResultBlock({ ...u, content: u.output }));
          break;
        }
        case "handoff": t.bubble.handoff(u); break;
        default: break;
      }
      if (nearBottom) transcript.scrollTop = transcript.scrollHeight;
    });
    let nearBottom = true;
    transcript.addEventListener("scroll", () => { nearBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 60; });

    async function send(text) {
      if (st.turn || !text.trim()) return;
      transcript.querySelector(".empty-transcript")?.remove();
      transcript.append(userBubble(text));
      const agent = agentSel.value || undefined;
      const bubble = assistantBubble(agent);
      bubble.el.classList.add("streaming");
      transcript.append(bubble.el);
      transcript.scrollTop = transcript.scrollHeight;
      nearBottom = true;
      const params = { message: text };
      if (agent) params.agent = agent;
      if (modelSel.value) params.model = modelSel.value;
      if (st.sessionId) params.sessionId = st.sessionId;
      const turn = { requestId: null, sessionId: st.sessionId, turnId: null, bubble, calls: new Map() };
      st.turn = turn;
      setRunning(true);
      status.textContent = "Thinking…";
      try {
        const r = await rpc.request("agent/chat", params, { timeoutMs: 0, onId: (id) => { turn.requestId = id; } });
        if (st.disposed) return;
        if (!st.sessionId || st.sessionId !== r.sessionId) setSession(r.sessionId);
        // the reply is authoritative: if no token was streamed (e.g. a cached turn), show content
        if (!bubble.el.querySelector(".msg-text") && r.content) bubble.text(r.agent, r.content);
        const u = r.usage || {};
        const bits = [`${r.model || "?"}`, `${u.totalTokens ?? "?"} tokens${u.estimated ? " (est.)" : ""}`];
        if (r.timing?.ttftMs != null) bits.push(`first token ${fmtMs(r.timing.ttftMs)}`);
        if (r.timing?.totalMs != null) bits.push(`total ${fmtMs(r.timing.totalMs)}`);
        if (r.cached) bits.push("cached");
        if (r.stopReason && r.stopReason !== "end_turn") bits.push(`stopped: ${r.stopReason.replace("_", " ")}`);
        bubble.footer(bits.join(" · "));
        bubble.el.dataset.stopReason = r.stopReason || "";
        status.textContent = r.stopReason === "cancelled" ? "Cancelled." : "Done.";
        loadSessions();
      } catch (e) {
        if (st.disposed) return;
        transcript.append(errorBubble(e));
        status.textContent = "Failed.";
      } finally {
        bubble.el.classList.remove("streaming");
        bubble.el.dataset.done = "true";
        if (st.turn === turn) st.turn = null;
        setRunning(false);
      }
    }

    function setRunning(on) {
      sendBtn.disabled = on;
      cancelBtn.hidden = !on;
      agentSel.disabled = modelSel.disabled = on;
      newBtn.disabled = on;
      if (on) cancelBtn.focus(); else if (document.activeElement === cancelBtn || document.activeElement === document.body) message.focus();
    }

    async function cancelTurn() {
      const t = st.turn;
      if (!t) return;
      busy(cancelBtn, true);
      try {
        const sid = t.sessionId || st.sessionId;
        if (sid) await rpc.request("agent/cancel", { sessionId: sid }, { timeoutMs: 10000 });
        else if (t.requestId !== null) rpc.cancel(t.requestId);
      } catch (e) {
        if (t.requestId !== null) rpc.cancel(t.requestId);
      } finally { busy(cancelBtn, false); }
    }

    async function exportSession(format) {
      if (!st.sessionId) return;
      try {
        const r = await rpc.request("sessions/export", { sessionId: st.sessionId, format });
        const base = (st.sessionTitle || st.sessionId).replace(/[^\w.-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60) || st.sessionId;
        download(`${base}.${format === "json" ? "json" : "md"}`, r.content, format === "json" ? "application/json" : "text/markdown");
      } catch (e) { toast(`Export: ${errorText(e)}`, "error"); }
    }

    async function renameSession() {
      if (!st.sessionId) return;
      const input = h("input", { name: "title", value: st.sessionTitle || "", maxlength: "200", autofocus: true });
      const v = await openDialog({
        title: "Rename session",
        body: field("Title", input).wrap,
        actions: [{ label: "Cancel", value: null, kind: "quiet" }, { label: "Rename", value: "ok", kind: "primary" }],
        onOpen: (dlg, done) => { input.select(); input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); done("ok"); } }); },
      });
      if (v !== "ok" || !input.value.trim()) return;
      try {
        const s = await rpc.request("sessions/rename", { sessionId: st.sessionId, title: input.value.trim() });
        setTitle(s.title || s.session?.title || input.value.trim());
        loadSessions();
      } catch (e) { toast(`Rename: ${errorText(e)}`, "error"); }
    }

    async function deleteSession() {
      if (!st.sessionId) return;
      if (!(await confirmDialog("Delete session?", `“${st.sessionTitle || st.sessionId}” and its messages will be deleted.`, { confirmLabel: "Delete", danger: true }))) return;
      try {
        await rpc.request("sessions/delete", { sessionId: st.sessionId });
        newChat();
        loadSessions();
      } catch (e) { toast(`Delete: ${errorText(e)}`, "error"); }
    }

    // ---- events ----
    composer.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = message.value;
      if (!text.trim() || st.turn) return;
      message.value = "";
      send(text);
    });
    message.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); composer.requestSubmit(); }
    });
    cancelBtn.addEventListener("click", cancelTurn);
    newBtn.addEventListener("click", newChat);
    moreBtn.addEventListener("click", () => loadSessions(true));
    searchForm.addEventListener("submit", (e) => { e.preventDefault(); search(searchInput.value); });
    clearSearch.addEventListener("click", () => { searchInput.value = ""; st.searching = false; clearSearch.hidden = true; listHeading.textContent = "Sessions"; loadSessions(); });
    exportMd.addEventListener("click", () => exportSession("markdown"));
    exportJson.addEventListener("click", () => exportSession("json"));
    renameBtn.addEventListener("click", renameSession);
    deleteBtn.addEventListener("click", deleteSession);

    // ---- start ----
    loadPickers();
    loadSessions();
    if (st.sessionId) openSession(st.sessionId); else { setSession(null); transcript.append(emptyState()); }
    message.focus();

    return {
      update(newArgs) {
        const id = newArgs[0] || null;
        if (id !== st.sessionId) { if (id) openSession(id); else newChat(); }
      },
      onReconnect() { st.turn = null; setRunning(false); loadSessions(); },
      unmount() { st.disposed = true; offUpdate(); },
    };
  },
};

/** sessions/search marks the words as **word**: show them as <mark>. */
function renderSnippet(snippet) {
  const out = [];
  const parts = String(snippet).split(/\*\*(.+?)\*\*/g);
  parts.forEach((p, i) => out.push(i % 2 ? h("mark", null, p) : p));
  return out;
}
