-- minions.nvim: chat with Minions agents from Neovim. See :help minions.
local api = vim.api
local util = require("minions.util")
local config = require("minions.config")
local client = require("minions.client")
local chat = require("minions.chat")

local M = {}

M.client = client

local REPORT_TYPES = { "usage", "performance", "models", "tools", "security" }
M.report_types = REPORT_TYPES

-- setup{cmd, workspace, env, agent, model, ...}: see lua/minions/config.lua. The engine starts on
-- first use. Calling setup again with another cmd, workspace or env restarts it on next use.
function M.setup(opts)
  local before = vim.deepcopy(config.get())
  local cfg = config.setup(opts)
  if client.is_running() then
    local changed = not vim.deep_equal(before.cmd, cfg.cmd)
      or before.workspace ~= cfg.workspace
      or not vim.deep_equal(before.env, cfg.env)
      or before.log_level ~= cfg.log_level
      or before.approvals ~= cfg.approvals
      or before.token_coalesce_ms ~= cfg.token_coalesce_ms
    if changed then
      client.stop()
    end
  end
  return M
end

-- Starts the engine now (it also starts by itself on first use).
function M.start()
  return client.ensure()
end

-- Stops the engine (shutdown, exit). wait_ms makes it block until the engine answered.
function M.stop(wait_ms)
  client.stop(wait_ms)
end

-- A raw request: cb(err, result). Returns a handle for require("minions").client.cancel().
function M.request(method, params, cb)
  return client.request(method, params, cb)
end

-- :MinionsChat [agent]: opens (or shows) the chat of agent.
function M.chat(agent)
  local c = chat.get(agent or config.get().agent)
  c:show(true)
  pcall(api.nvim_win_set_cursor, 0, { api.nvim_buf_line_count(c.buf), 0 })
  client.ensure()
  return c
end

-- :MinionsNew [agent]: a new chat buffer with a new session.
function M.new_chat(agent)
  local c = chat.get(agent or config.get().agent, true)
  c:show(true)
  pcall(api.nvim_win_set_cursor, 0, { api.nvim_buf_line_count(c.buf), 0 })
  client.ensure()
  return c
end

-- :MinionsSend [text]: sends text, or what was typed under the last "## You" of the chat buffer.
function M.send(text)
  if text == "" then
    text = nil
  end
  local c = chat.target(false)
  if not c then
    if text == nil then
      M.chat()
      util.notify("type your message under “" .. config.get().chat.user_header .. "”, then :MinionsSend")
      return nil
    end
    c = chat.get(config.get().agent)
  end
  if chat.for_buf() ~= c then
    c:show(false)
  end
  c:send(text)
  return c
end

-- :[range]MinionsAsk {question}: sends the question with the lines of the range (if any) to the
-- chat of the default agent. opts: {line1, line2, range, buf}.
function M.ask(question, opts)
  opts = opts or {}
  question = util.trim(question or "")
  if question == "" then
    util.warn("usage: :[range]MinionsAsk {question}")
    return nil
  end
  local message = question
  local range = opts.range or 0
  if range > 0 then
    local buf = opts.buf or api.nvim_get_current_buf()
    local l1, l2 = opts.line1, opts.line2
    local lines = api.nvim_buf_get_lines(buf, l1 - 1, l2, false)
    local name = api.nvim_buf_get_name(buf)
    name = name ~= "" and vim.fn.fnamemodify(name, ":~:.") or "[No Name]"
    local ft = vim.bo[buf].filetype
    local fence = "```"
    for _, l in ipairs(lines) do
      while l:find(fence, 1, true) do
        fence = fence .. "`"
      end
    end
    message = table.concat({
      question,
      "",
      string.format("%s, lines %d-%d:", name, l1, l2),
      fence .. (ft or ""),
      table.concat(lines, "\n"),
      fence,
    }, "\n")
  end
  local c = chat.get(config.get().agent)
  c:show(false)
  c:send(message)
  return c
end

-- :MinionsCancel: stops the running turn of this chat (or of the last chat with one).
function M.cancel()
  local c = chat.target(true)
  if not c then
    util.notify("no turn is running")
    return false
  end
  return c:cancel()
end

local function fmt_num(v, pattern)
  v = util.val(v)
  if type(v) ~= "number" then
    return "–"
  end
  return string.format(pattern or "%g", v)
end

-- :MinionsModels: models/list in a scratch buffer.
function M.models()
  local buf = util.scratch("minions://models", { "_loading models…_" })
  client.request("models/list", nil, function(err, result)
    if err then
      util.set_scratch_lines(buf, { "# Models", "", "> **error**: " .. util.error_message(err) })
      return
    end
    local lines = {
      "# Models",
      "",
      "| model | provider | capabilities | available | requests | errors | p50 ms | p50 TTFT ms | tok/s |",
      "| ----- | -------- | ------------ | --------- | -------: | -----: | -----: | ----------: | ----: |",
    }
    for _, m in ipairs(util.val(result.models) or {}) do
      local stats = util.val(m.stats) or {}
      local available = util.val(m.available) and "yes" or ("no" .. (util.val(m.unavailableReason) and (": " .. m.unavailableReason) or ""))
      table.insert(
        lines,
        string.format(
          "| %s | %s | %s | %s | %s | %s | %s | %s | %s |",
          util.val(m.name) or "?",
          util.val(m.provider) or "?",
          table.concat(util.val(m.capabilities) or {}, ", "),
          available,
          fmt_num(stats.requests),
          fmt_num(stats.errors),
          fmt_num(stats.p50LatencyMs, "%.0f"),
          fmt_num(stats.p50TtftMs, "%.0f"),
          fmt_num(stats.tokensPerSecond, "%.1f")
        )
      )
    end
    util.set_scratch_lines(buf, lines)
  end)
  return buf
end

-- :MinionsReport [type] [days]: analytics/report as Markdown in a scratch buffer.
function M.report(kind, days)
  kind = kind or "usage"
  if not vim.tbl_contains(REPORT_TYPES, kind) then
    util.warn("unknown report " .. kind .. " (" .. table.concat(REPORT_TYPES, ", ") .. ")")
    return nil
  end
  local buf = util.scratch("minions://report/" .. kind, { "_loading the " .. kind .. " report…_" })
  client.request("analytics/report", { type = kind, days = days, format = "markdown" }, function(err, result)
    if err then
      util.set_scratch_lines(buf, { "# Report", "", "> **error**: " .. util.error_message(err) })
      return
    end
    util.set_scratch_lines(buf, util.split_lines(util.val(result.content) or ""))
  end)
  return buf
end

-- {model, tokens_per_second, streaming, running}: what the statusline shows.
function M.status()
  local stats = chat.stats
  local turn = stats.turn
  local tps = stats.tokens_per_second
  if turn and turn.first_token then
    local elapsed = (vim.loop.hrtime() / 1e6 - turn.first_token) / 1000
    if elapsed >= 0.05 then
      tps = (turn.chars / 4) / elapsed -- the engine's estimate: four characters a token
    end
  end
  return {
    model = stats.model or config.get().model,
    tokens_per_second = tps,
    streaming = turn ~= nil,
    running = client.is_running(),
  }
end

-- For 'statusline': "Minions: MODEL · N tok/s" ("…" while a turn streams); "" before first use.
function M.statusline()
  local s = M.status()
  if not s.model and not s.running then
    return ""
  end
  local parts = { "Minions: " .. (s.model or "auto") }
  if s.tokens_per_second then
    table.insert(parts, string.format("%.1f tok/s", s.tokens_per_second))
  end
  local line = table.concat(parts, " · ")
  if s.streaming then
    line = line .. " …"
  end
  return line
end

return M
