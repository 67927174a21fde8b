-- The connection to the engine: `minions serve` spawned lazily through vim.lsp.rpc, which speaks
-- JSON-RPC 2.0 with LSP Content-Length framing over the process's stdio.
local util = require("minions.util")
local config = require("minions.config")

local M = {}

local VERSION = "0.1.0"

local S = {
  rpc = nil, -- the vim.lsp.rpc client
  ready = false, -- initialize answered
  generation = 0, -- bumped at every start, so a stale exit does not clear a newer engine
  queue = {}, -- handles waiting for initialize
  pending = {}, -- request id -> handle
  listeners = {}, -- notification method -> { fn }
  server = nil, -- the initialize result
}
M.state = S

-- vim.lsp.rpc.start(cmd, args, dispatchers, extra) before 0.10, start({cmd, ...}, dispatchers, extra) after.
local function rpc_start(cmd, dispatchers, extra)
  if vim.fn.has("nvim-0.10") == 1 then
    return vim.lsp.rpc.start(cmd, dispatchers, extra)
  end
  return vim.lsp.rpc.start(cmd[1], vim.list_slice(cmd, 2), dispatchers, extra)
end

local function finish(h, err, result)
  if h.done then
    return
  end
  h.done = true
  if h.id and S.pending[h.id] == h then
    S.pending[h.id] = nil
  end
  if h.cb then
    util.safe(h.cb, err, result)
  end
end

local function fail_all(message)
  local handles = {}
  for _, h in pairs(S.pending) do
    table.insert(handles, h)
  end
  for _, h in ipairs(S.queue) do
    table.insert(handles, h)
  end
  S.pending, S.queue = {}, {}
  for _, h in ipairs(handles) do
    finish(h, { code = -32603, message = message })
  end
end

local function send(h)
  local rpc = S.rpc
  if not rpc then
    return finish(h, { code = -32603, message = "the engine is not running" })
  end
  local ok, id = rpc.request(h.method, h.params, function(err, result)
    -- Runs on the main loop (vim.lsp.rpc schedules response callbacks).
    finish(h, err, util.val(result))
  end, function()
    -- The reply arrived. vim.lsp.rpc drops -32800 (RequestCancelled) replies without calling the
    -- callback, so settle the handle once the callback had its chance.
    vim.schedule(function()
      finish(h, { code = -32800, message = "Request cancelled" })
    end)
  end)
  if not ok then
    return finish(h, { code = -32603, message = "could not write to the engine" })
  end
  h.id = id
  S.pending[id] = h
end

local function on_notification(method, params)
  if method == "$/cancelRequest" then
    -- The engine withdrew one of its requests (an approval of a cancelled turn).
    method = "server/cancelRequest"
  end
  for _, fn in ipairs(S.listeners[method] or {}) do
    util.safe(fn, params, method)
  end
end

local function on_server_request(method, params)
  if method == "approval/request" then
    return require("minions.approval").handle(params)
  end
  return nil, vim.lsp.rpc.rpc_response_error(-32601, "minions.nvim does not handle " .. tostring(method))
end

local function build_cmd(cfg)
  local cmd = vim.deepcopy(cfg.cmd)
  if cfg.workspace then
    table.insert(cmd, "--workspace")
    table.insert(cmd, vim.fn.fnamemodify(vim.fn.expand(cfg.workspace), ":p"))
  end
  return cmd
end

local function initialize_params(cfg)
  local opt_out = { "metrics/update" }
  if not cfg.notify_alerts then
    table.insert(opt_out, "alerts/raised")
    table.insert(opt_out, "alerts/cleared")
  end
  return {
    protocolVersion = 1,
    clientInfo = { name = "minions.nvim", version = VERSION },
    capabilities = {
      approvals = cfg.approvals and true or false,
      tokenCoalesceMs = cfg.token_coalesce_ms,
      optOutNotifications = opt_out,
    },
  }
end

-- Starts the engine if it is not running. Returns true when it is (or is starting).
function M.ensure()
  if S.rpc then
    return true
  end
  local cfg = config.get()
  local cmd = build_cmd(cfg)
  if vim.fn.executable(cmd[1]) ~= 1 then
    util.error(string.format("cannot start the engine: %q is not executable (set cmd in setup())", cmd[1]))
    return false
  end
  local env = vim.tbl_extend("force", { MINIONS_LOG = cfg.log_level }, cfg.env or {})
  local extra = { env = env }
  if cfg.workspace then
    extra.cwd = vim.fn.fnamemodify(vim.fn.expand(cfg.workspace), ":p")
  end

  S.generation = S.generation + 1
  local gen = S.generation
  local dispatchers = {
    notification = function(method, params)
      util.main(function()
        if gen == S.generation then
          on_notification(method, params)
        end
      end)
    end,
    server_request = function(method, params)
      return on_server_request(method, params)
    end,
    on_exit = function(code, signal)
      util.main(function()
        M._on_exit(gen, code, signal)
      end)
    end,
    on_error = function(code, err)
      util.main(function()
        local kind = vim.lsp.rpc.client_errors[code] or tostring(code)
        util.warn(string.format("RPC error %s: %s", kind, vim.inspect(err)))
      end)
    end,
  }
  local ok, rpc = pcall(rpc_start, cmd, dispatchers, extra)
  if not ok or not rpc then
    util.error("cannot start the engine: " .. tostring(rpc))
    return false
  end
  S.rpc, S.ready, S.server = rpc, false, nil
  rpc.request("initialize", initialize_params(cfg), function(err, result)
    if gen ~= S.generation then
      return
    end
    if err then
      util.error("initialize failed: " .. util.error_message(err))
      fail_all("initialize failed: " .. util.error_message(err))
      M.stop()
      return
    end
    S.server = result
    S.ready = true
    rpc.notify("initialized", nil)
    local queued = S.queue
    S.queue = {}
    for _, h in ipairs(queued) do
      send(h)
    end
    on_notification("minions/ready", result)
  end)
  return true
end

function M._on_exit(gen, code, signal)
  if gen ~= S.generation then
    return
  end
  S.rpc, S.ready, S.server = nil, false, nil
  fail_all(string.format("the engine exited (code %s)", tostring(code)))
  util.warn(string.format("the engine exited (code %s, signal %s)", tostring(code), tostring(signal)))
  on_notification("minions/exit", { code = code, signal = signal })
end

-- Sends a request; cb(err, result) runs on the main loop. Returns a handle for M.cancel().
function M.request(method, params, cb)
  local h = { method = method, params = params, cb = cb, done = false }
  if not M.ensure() then
    finish(h, { code = -32603, message = "the engine is not running" })
    return h
  end
  if S.ready then
    send(h)
  else
    table.insert(S.queue, h)
  end
  return h
end

-- A request waited for with vim.wait (for scripts and tests). Returns err, result.
function M.request_sync(method, params, timeout_ms)
  local done, e, r = false, nil, nil
  local h = M.request(method, params, function(err, result)
    done, e, r = true, err, result
  end)
  if not vim.wait(timeout_ms or 10000, function()
    return done
  end, 10) then
    M.cancel(h)
    return { code = -32603, message = "timed out waiting for " .. method }, nil
  end
  return e, r
end

function M.notify(method, params)
  if S.rpc and S.ready then
    return S.rpc.notify(method, params)
  end
  return false
end

-- $/cancelRequest for a handle; the request still gets its one reply.
function M.cancel(h)
  if not h or h.done then
    return false
  end
  if not h.id then
    for i, q in ipairs(S.queue) do
      if q == h then
        table.remove(S.queue, i)
        break
      end
    end
    finish(h, { code = -32800, message = "Request cancelled" })
    return true
  end
  return M.notify("$/cancelRequest", { id = h.id })
end

-- listener(params, method) for a server notification; also "minions/ready" and "minions/exit".
function M.on(method, fn)
  S.listeners[method] = S.listeners[method] or {}
  table.insert(S.listeners[method], fn)
end

function M.is_running()
  return S.rpc ~= nil
end

function M.is_ready()
  return S.ready
end

-- shutdown, then exit. With wait_ms the call blocks (bounded) until the engine has answered.
function M.stop(wait_ms)
  local rpc = S.rpc
  if not rpc then
    return
  end
  -- Detach at once: a later request starts a new engine, and this one's exit is not reported.
  local was_ready = S.ready
  S.rpc, S.ready, S.server = nil, false, nil
  S.generation = S.generation + 1
  fail_all("the engine was stopped")
  on_notification("minions/exit", { stopped = true })
  local replied = false
  local function kill()
    if rpc.terminate then
      pcall(rpc.terminate)
    elseif rpc.handle and not rpc.handle:is_closing() then
      pcall(rpc.handle.kill, rpc.handle, 15)
    end
  end
  if was_ready then
    rpc.request("shutdown", nil, function()
      replied = true
      rpc.notify("exit", nil)
    end)
  else
    kill()
  end
  if wait_ms then
    vim.wait(wait_ms, function()
      return replied
    end, 10)
    if not replied then
      kill()
    end
  else
    vim.defer_fn(function()
      if not replied then
        kill()
      end
    end, 3000)
  end
end

return M
