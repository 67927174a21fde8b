// JSON-RPC 2.0 over a WebSocket (one message per text frame), for the Minions engine.
//
//   const rpc = new RpcClient(url, {capabilities: {approvals: true}, getAuth: () => ({token})});
//   rpc.addEventListener("ready", (e) => e.detail.user ...);   // after each successful initialize
//   await rpc.request("models/list");                          // → result, or throws RpcError
//   rpc.on("agent/update", (params) => ...);                   // notifications from the engine
//   rpc.handle("approval/request", async (params) => result);  // requests from the engine
//
// The connection is kept open: when it drops it is opened again (with backoff) and initialized
// again with the stored token, so a reload or a network blip resumes the login.

export const ErrorCodes = Object.freeze({
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  ServerNotInitialized: -32002,
  RequestCancelled: -32800,
  Unauthenticated: -32010,
  PermissionDenied: -32011,
  AccountLocked: -32012,
  NotFound: -32013,
  AlreadyExists: -32014,
  Overloaded: -32015,
  ProviderError: -32020,
  NoModelAvailable: -32021,
  ApprovalDenied: -32031,
  // client-side only: never sent by the engine
  ConnectionLost: -32098,
  Timeout: -32097,
});

const NAMES = Object.fromEntries(Object.entries(ErrorCodes).map(([k, v]) => [v, k]));

export class RpcError extends Error {
  constructor(code, message, data) {
    super(message || NAMES[code] || `Error ${code}`);
    this.name = "RpcError";
    this.code = code;
    this.data = data === undefined ? null : data;
  }
  get codeName() { return NAMES[this.code] || "Error"; }
  /** The dotted field an InvalidParams error names (`values.theme`, `arguments.path`), or null. */
  get field() { return this.data && typeof this.data.field === "string" ? this.data.field : null; }
  static from(err) {
    if (err instanceof RpcError) return err;
    if (err && typeof err === "object" && "code" in err) return new RpcError(err.code, err.message, err.data);
    return new RpcError(ErrorCodes.InternalError, String(err && err.message || err));
  }
}

export class RpcClient extends EventTarget {
  /**
   * @param {string} url  ws(s)://host/rpc
   * @param {{clientInfo?: object, capabilities?: object, getAuth?: () => object|null,
   *          requestTimeoutMs?: number, WebSocketImpl?: typeof WebSocket}} options
   */
  constructor(url, options = {}) {
    super();
    this.url = url;
    this.clientInfo = options.clientInfo || { name: "minions-web" };
    this.capabilities = options.capabilities || {};
    this.getAuth = options.getAuth || (() => null);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60000;
    this.WebSocketImpl = options.WebSocketImpl || globalThis.WebSocket;
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map();        // id → {resolve, reject, timer, method}
    this.notificationHandlers = new Map(); // method → Set(fn)
    this.requestHandlers = new Map();      // method → async fn(params, {id, signal})
    this.serverRequests = new Map();       // id → AbortController (server-to-client requests running)
    this.state = "idle";             // idle | connecting | initializing | ready | closed
    this.user = null;
    this.serverInfo = null;
    this.serverCapabilities = null;
    this.readyWaiters = [];
    this.retryMs = 500;
    this.closedByUser = false;
    this.reconnectTimer = null;
  }

  // ---- connection --------------------------------------------------------------------------

  connect() {
    if (this.ws && (this.state === "connecting" || this.state === "initializing" || this.state === "ready")) {
      return this.whenReady();
    }
    this.closedByUser = false;
    clearTimeout(this.reconnectTimer);
    this._setState("connecting");
    let ws;
    try {
      ws = new this.WebSocketImpl(this.url);
    } catch (e) {
      this._scheduleReconnect();
      return this.whenReady();
    }
    this.ws = ws;
    ws.addEventListener("open", () => { if (this.ws === ws) this._initialize(); });
    ws.addEventListener("message", (ev) => { if (this.ws === ws) this._onFrame(ev.data); });
    ws.addEventListener("close", (ev) => { if (this.ws === ws) this._onClose(ev); });
    ws.addEventListener("error", () => { /* a close event follows */ });
    return this.whenReady();
  }

  /** Resolves once the connection is initialized (now, or after the next successful initialize). */
  whenReady() {
    if (this.state === "ready") return Promise.resolve(this.user);
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  close() {
    this.closedByUser = true;
    clearTimeout(this.reconnectTimer);
    if (this.ws) {
      try { this._send({ jsonrpc: "2.0", method: "exit" }); } catch { /* closing anyway */ }
      this.ws.close(1000, "bye");
    }
    this.ws = null;
    this._failPending(new RpcError(ErrorCodes.ConnectionLost, "Connection closed"));
    this._setState("closed");
  }

  /** Drops the connection and opens a fresh one (used after logout, or to re-authenticate). */
  reconnect() {
    const old = this.ws;
    this.ws = null;
    if (old) { try { old.close(1000, "reconnect"); } catch { /* ignore */ } }
    this._failPending(new RpcError(ErrorCodes.ConnectionLost, "Connection reset"));
    this.state = "idle";
    return this.connect();
  }

  async _initialize() {
    this._setState("initializing");
    const base = { protocolVersion: 1, clientInfo: this.clientInfo, capabilities: this.capabilities };
    const auth = this.getAuth();
    let result;
    try {
      result = await this._rawRequest("initialize", auth ? { ...base, auth } : base, 20000);
    } catch (err) {
      const e = RpcError.from(err);
      if (auth && (e.code === ErrorCodes.Unauthenticated || e.code === ErrorCodes.AccountLocked)) {
        // The stored token expired or was revoked: a failed initialize leaves the connection
        // uninitialized, so initialize again without it and let the user log in.
        this.dispatchEvent(new CustomEvent("authfailed", { detail: { error: e } }));
        try {
          result = await this._rawRequest("initialize", base, 20000);
        } catch (err2) {
          this._fatal(RpcError.from(err2));
          return;
        }
      } else {
        this._fatal(e);
        return;
      }
    }
    this._send({ jsonrpc: "2.0", method: "initialized" });
    this.serverInfo = result.serverInfo || null;
    this.serverCapabilities = result.capabilities || null;
    this.user = result.user || null;
    this.retryMs = 500;
    this._setState("ready");
    const waiters = this.readyWaiters.splice(0);
    waiters.forEach((w) => w(this.user));
    this.dispatchEvent(new CustomEvent("ready", { detail: { user: this.user, serverInfo: this.serverInfo } }));
  }

  _fatal(err) {
    this.dispatchEvent(new CustomEvent("error", { detail: { error: err } }));
    if (this.ws) this.ws.close(4000, "initialize failed");
  }

  _onClose(ev) {
    this.ws = null;
    this._failPending(new RpcError(ErrorCodes.ConnectionLost, "Connection to the engine was lost"));
    for (const ctl of this.serverRequests.values()) ctl.abort();
    this.serverRequests.clear();
    this.dispatchEvent(new CustomEvent("disconnected", { detail: { code: ev.code, reason: ev.reason } }));
    if (this.closedByUser) { this._setState("closed"); return; }
    this._scheduleReconnect();
  }

  _scheduleReconnect() {
    this._setState("reconnecting");
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 10000);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => { this.state = "idle"; this.connect(); }, delay);
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state } }));
  }

  _failPending(err) {
    for (const [, p] of this.pending) { clearTimeout(p.timer); p.reject(err); }
    this.pending.clear();
  }

  // ---- sending -----------------------------------------------------------------------------

  _send(msg) {
    if (!this.ws || this.ws.readyState !== 1) throw new RpcError(ErrorCodes.ConnectionLost, "Not connected to the engine");
    this.ws.send(JSON.stringify(msg));
  }

  _rawRequest(method, params, timeoutMs, onId) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const msg = { jsonrpc: "2.0", id, method };
      if (params !== undefined) msg.params = params;
      const entry = { resolve, reject, method, timer: null };
      if (timeoutMs > 0) {
        entry.timer = setTimeout(() => {
          this.pending.delete(id);
          try { this._send({ jsonrpc: "2.0", method: "$/cancelRequest", params: { id } }); } catch { /* gone */ }
          reject(new RpcError(ErrorCodes.Timeout, `${method} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.pending.set(id, entry);
      try {
        this._send(msg);
      } catch (e) {
        clearTimeout(entry.timer);
        this.pending.delete(id);
        reject(e);
        return;
      }
      if (onId) onId(id);
    });
  }

  /**
   * Sends a request and resolves with its result (rejects with RpcError).
   * options: {timeoutMs (0 = none), signal (AbortSignal → $/cancelRequest), onId(id)}
   */
  async request(method, params = {}, options = {}) {
    if (this.state !== "ready") await this._readyWithin(options.timeoutMs ?? this.requestTimeoutMs);
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    let id = null;
    const onAbort = () => { if (id !== null) this.cancel(id); };
    if (options.signal) {
      if (options.signal.aborted) throw new RpcError(ErrorCodes.RequestCancelled, "Request cancelled");
      options.signal.addEventListener("abort", onAbort, { once: true });
    }
    try {
      const result = await this._rawRequest(method, params, timeoutMs, (i) => { id = i; options.onId?.(i); });
      // keep track of who the connection is
      if (method === "auth/login" && result && result.user) this.user = result.user;
      else if (method === "auth/logout") this.user = null;
      return result;
    } catch (err) {
      const e = RpcError.from(err);
      if (e.code === ErrorCodes.Unauthenticated && this.user) {
        this.user = null;
        this.dispatchEvent(new CustomEvent("unauthenticated", { detail: { error: e, method } }));
      }
      throw e;
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  _readyWithin(ms) {
    return new Promise((resolve, reject) => {
      const t = ms > 0 ? setTimeout(() => reject(new RpcError(ErrorCodes.ConnectionLost, "Not connected to the engine")), ms) : null;
      this.whenReady().then((u) => { clearTimeout(t); resolve(u); });
      if (this.state === "idle" || this.state === "closed") this.connect();
    });
  }

  notify(method, params) {
    const msg = { jsonrpc: "2.0", method };
    if (params !== undefined) msg.params = params;
    this._send(msg);
  }

  /** `$/cancelRequest` for one of our requests; it still gets exactly one reply. */
  cancel(id) {
    try { this.notify("$/cancelRequest", { id }); } catch { /* not connected: nothing to cancel */ }
  }

  // ---- receiving ---------------------------------------------------------------------------

  /** Subscribes to a notification; returns a function that unsubscribes. */
  on(method, fn) {
    if (!this.notificationHandlers.has(method)) this.notificationHandlers.set(method, new Set());
    this.notificationHandlers.get(method).add(fn);
    return () => this.notificationHandlers.get(method)?.delete(fn);
  }

  /** Answers the engine's requests of one method: fn(params, {id, signal}) → result (or throws). */
  handle(method, fn) {
    this.requestHandlers.set(method, fn);
    return () => { if (this.requestHandlers.get(method) === fn) this.requestHandlers.delete(method); };
  }

  _onFrame(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { console.warn("minions: unparsable frame"); return; }
    const list = Array.isArray(msg) ? msg : [msg];
    for (const m of list) this._dispatch(m);
  }

  _dispatch(m) {
    if (!m || typeof m !== "object") return;
    const hasId = Object.prototype.hasOwnProperty.call(m, "id");
    if (typeof m.method === "string") {
      if (hasId && m.id !== null) this._serveRequest(m);
      else this._notification(m.method, m.params);
      return;
    }
    if (!hasId) return;
    const p = this.pending.get(m.id);
    if (!p) return; // a late reply to a request we timed out
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.error) p.reject(new RpcError(m.error.code, m.error.message, m.error.data));
    else p.resolve(m.result);
  }

  _notification(method, params) {
    if (method === "$/cancelRequest") {
      const ctl = this.serverRequests.get(params && params.id);
      if (ctl) ctl.abort();
      return;
    }
    const set = this.notificationHandlers.get(method);
    if (set) for (const fn of [...set]) {
      try { fn(params || {}); } catch (e) { console.error(`minions: ${method} handler failed`, e); }
    }
    this.dispatchEvent(new CustomEvent("notification", { detail: { method, params } }));
  }

  async _serveRequest(m) {
    const fn = this.requestHandlers.get(m.method);
    const reply = (body) => { try { this._send({ jsonrpc: "2.0", id: m.id, ...body }); } catch { /* gone */ } };
    if (!fn) {
      reply({ error: { code: ErrorCodes.MethodNotFound, message: `Method not found: ${m.method}`, data: { method: m.method } } });
      return;
    }
    const ctl = new AbortController();
    this.serverRequests.set(m.id, ctl);
    try {
      const result = await fn(m.params || {}, { id: m.id, signal: ctl.signal });
      if (!ctl.signal.aborted) reply({ result: result === undefined ? null : result });
      else reply({ error: { code: ErrorCodes.RequestCancelled, message: "Request cancelled" } });
    } catch (err) {
      const e = RpcError.from(err);
      reply({ error: { code: e.code, message: e.message, ...(e.data != null ? { data: e.data } : {}) } });
    } finally {
      this.serverRequests.delete(m.id);
    }
  }
}

/** ws(s)://HOST/rpc for the page's own origin. */
export function defaultUrl(loc = globalThis.location) {
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/rpc`;
}
