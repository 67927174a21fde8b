// The dashboard shell: one connection to the engine, the login state, the navigation and a
// router by location.hash (#/chat, #/chat/SESSION, #/analytics, …).

import { RpcClient, ErrorCodes, defaultUrl } from "./rpc.js";
import { h, clear, toast, errorText } from "./dom.js";
import { applyTheme } from "./theme.js";
import { installApprovals } from "./approvals.js";
import loginPage from "./pages/login.js";
import chatPage from "./pages/chat.js";
import analyticsPage from "./pages/analytics.js";
import performancePage from "./pages/performance.js";
import modelsPage from "./pages/models.js";
import toolsPage from "./pages/tools.js";
import securityPage from "./pages/security.js";
import settingsPage from "./pages/settings.js";

export const VERSION = "0.1.0";
const TOKEN_KEY = "minions.token";

// Pages in navigation order. `permission`: the one a user needs to see the page at all.
const PAGES = [chatPage, analyticsPage, performancePage, modelsPage, toolsPage, securityPage, settingsPage];

const tokenStore = {
  get: () => { try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; } },
  set: (t) => { try { sessionStorage.setItem(TOKEN_KEY, t); } catch { /* storage off: this tab only */ } },
  clear: () => { try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* ignore */ } },
};

const rpc = new RpcClient(defaultUrl(), {
  clientInfo: { name: "minions-web", version: VERSION },
  capabilities: { approvals: true, tokenCoalesceMs: 16 },
  getAuth: () => { const token = tokenStore.get(); return token ? { token } : null; },
});

const state = {
  user: null,
  prefs: { theme: "system", defaultAgent: "assistant", defaultModel: "" },
  current: null, // {page, instance, container, key}
  refreshTimer: null,
};

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const navList = document.getElementById("nav-list");
const navToggle = document.getElementById("nav-toggle");
const sessionBox = document.getElementById("session-box");
const who = document.getElementById("who");
const connStatus = document.getElementById("conn-status");

function can(permission) {
  if (!permission) return true;
  const perms = state.user?.permissions || [];
  return (Array.isArray(permission) ? permission : [permission]).every((p) => perms.includes(p));
}

function allowedPages() { return PAGES.filter((p) => can(p.permission)); }

function parseHash() {
  const raw = (location.hash || "").replace(/^#\/?/, "");
  const [name, ...rest] = raw.split("/");
  return { name: decodeURIComponent(name || ""), args: rest.map(decodeURIComponent) };
}

export function navigate(hash, { replace = false } = {}) {
  if (replace) { history.replaceState(null, "", hash); route(); } else location.hash = hash;
}

const ctx = {
  rpc,
  can,
  navigate,
  get user() { return state.user; },
  get prefs() { return state.prefs; },
  setPrefs(values) { Object.assign(state.prefs, values); if ("theme" in values) applyTheme(state.prefs.theme); },
  /** Changes the hash without remounting the page (e.g. the chat's session id). */
  setHashQuietly(hash) { history.replaceState(null, "", hash); },
};

// ---- rendering -------------------------------------------------------------------------------

function renderNav() {
  clear(navList);
  const { name } = parseHash();
  for (const p of allowedPages()) {
    const a = h("a", { href: `#/${p.id}`, class: "nav-link", dataset: { page: p.id } }, p.title);
    if (p.id === name) a.setAttribute("aria-current", "page");
    navList.append(h("li", null, a));
  }
}

function showChrome(loggedIn) {
  nav.hidden = !loggedIn;
  navToggle.hidden = !loggedIn;
  sessionBox.hidden = !loggedIn;
  if (loggedIn && state.user) {
    who.textContent = `${state.user.username} · ${state.user.role}`;
  }
}

function unmountCurrent() {
  const cur = state.current;
  state.current = null;
  if (!cur) return;
  try { cur.instance?.unmount?.(); } catch (e) { console.error(e); }
}

function mount(page, args) {
  unmountCurrent();
  clear(main);
  const container = h("section", { class: `page page-${page.id}`, "aria-labelledby": `h-${page.id}`, dataset: { page: page.id } });
  main.append(container);
  document.title = `${page.title} · Minions`;
  let instance = null;
  try {
    instance = page.mount(container, ctx, args) || null;
  } catch (e) {
    console.error(e);
    container.append(h("p", { class: "form-error", role: "alert" }, `This page failed to load: ${e.message}`));
  }
  state.current = { page, instance, container };
}

function route() {
  closeMenu();
  if (!state.user) {
    showChrome(false);
    if (state.current?.page !== loginPage) mount(loginPage, []);
    return;
  }
  showChrome(true);
  const { name, args } = parseHash();
  const pages = allowedPages();
  let page = pages.find((p) => p.id === name);
  if (!page) {
    page = pages[0] || settingsPage;
    history.replaceState(null, "", `#/${page.id}`);
  }
  renderNav();
  if (state.current?.page === page && state.current.instance?.update) {
    state.current.instance.update(args);
    return;
  }
  mount(page, args);
  // after a navigation, move focus to the new page's heading (unless the page focused a field of
  // its own) so keyboard and screen reader users land on it
  const heading = main.querySelector("h1");
  if (heading && routedByUser && !main.contains(document.activeElement)) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
  routedByUser = false;
}

let routedByUser = false;
window.addEventListener("hashchange", () => { routedByUser = true; route(); });

// ---- login state -------------------------------------------------------------------------------

async function loadPrefs() {
  try {
    const s = await rpc.request("settings/get", {});
    Object.assign(state.prefs, s.user || {});
  } catch (e) {
    console.warn("settings/get failed", e);
  }
  applyTheme(state.prefs.theme);
}

async function becomeUser(user) {
  state.user = user;
  scheduleRefresh();
  await loadPrefs();
  route();
}

function becomeNobody(message) {
  state.user = null;
  clearTimeout(state.refreshTimer);
  tokenStore.clear();
  applyTheme("system");
  unmountCurrent();
  route();
  if (message) toast(message, "error", 8000);
}

/** A new token for this login (auth/refresh): kept for reloads and renewed before it expires. */
ctx.tokenRenewed = (token) => {
  tokenStore.set(token);
  scheduleRefresh();
};

/** Called by the login page with auth/login's result. */
ctx.loggedIn = async (result) => {
  tokenStore.set(result.token);
  await becomeUser(result.user);
};

async function logout() {
  try { await rpc.request("auth/logout", {}, { timeoutMs: 5000 }); } catch { /* the token is dropped anyway */ }
  becomeNobody();
  if (location.hash) history.replaceState(null, "", location.pathname);
  // a fresh connection, so nothing of the old login lingers on it
  rpc.reconnect();
}

function jwtExpiry(token) {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return typeof payload.exp === "number" ? payload.exp * 1000 : null;
  } catch { return null; }
}

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  const token = tokenStore.get();
  const exp = token && jwtExpiry(token);
  if (!exp) return;
  const lead = Math.min(120000, (exp - Date.now()) / 4);
  const wait = Math.max(5000, exp - Date.now() - lead);
  state.refreshTimer = setTimeout(async () => {
    try {
      const r = await rpc.request("auth/refresh", {});
      ctx.tokenRenewed(r.token);
    } catch (e) {
      console.warn("auth/refresh failed", e);
    }
  }, Math.min(wait, 2 ** 31 - 1));
}

rpc.addEventListener("ready", (e) => {
  const user = e.detail.user;
  document.getElementById("boot-msg")?.remove();
  if (user) {
    const again = state.user && state.user.username === user.username;
    if (again && state.current?.instance?.onReconnect) {
      state.user = user;
      state.current.instance.onReconnect();
    } else {
      unmountCurrent();
      becomeUser(user);
    }
  } else if (state.user && !tokenStore.get()) {
    becomeNobody();
  } else {
    state.user = null;
    route();
  }
});

rpc.addEventListener("authfailed", () => {
  tokenStore.clear();
  if (state.user) { state.user = null; toast("Your session has ended. Please log in again.", "error", 8000); }
});

rpc.addEventListener("unauthenticated", () => becomeNobody("Your session has ended. Please log in again."));

rpc.addEventListener("state", (e) => {
  const st = e.detail.state;
  connStatus.dataset.state = st;
  connStatus.textContent = st === "ready" ? "Connected" : st === "reconnecting" ? "Reconnecting…" : st === "closed" ? "Disconnected" : "Connecting…";
});

rpc.addEventListener("error", (e) => toast(`Engine: ${errorText(e.detail.error)}`, "error"));

// ---- chrome --------------------------------------------------------------------------------

function closeMenu() {
  nav.classList.remove("open");
  navToggle.setAttribute("aria-expanded", "false");
}

navToggle.addEventListener("click", () => {
  const open = !nav.classList.contains("open");
  nav.classList.toggle("open", open);
  navToggle.setAttribute("aria-expanded", String(open));
  if (open) nav.querySelector("a")?.focus();
});
nav.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && nav.classList.contains("open")) { closeMenu(); navToggle.focus(); }
});
document.getElementById("logout").addEventListener("click", logout);

installApprovals(rpc);
applyTheme("system");
rpc.connect();

// for the tests and for debugging from the console
globalThis.minions = { rpc, ctx, ErrorCodes, version: VERSION };
