-- Chat buffers: one engine session each. You type under the "## You" heading and send; the answer
-- streams in from agent/update notifications.
local api = vim.api
local uv = vim.loop
local util = require("minions.util")
local config = require("minions.config")
local client = require("minions.client")

local M = {}

local Chat = {}
Chat.__index = Chat

local chats = {} -- buf -> chat
local by_session = {} -- sessionId -> chat
local by_agent = {} -- agent -> the chat :MinionsChat AGENT opens
local awaiting = {} -- chats whose running turn has not told its session yet (first turn)
local last_chat = nil
local next_id = 0

-- Figures for the statusline.
M.stats = {
  model = nil, -- the model of the last answered turn
  tokens_per_second = nil, -- of the last finished turn
  turn = nil, -- the running turn: { started, first_token, chars, tokens }
}

local function now_ms()
  return uv.hrtime() / 1e6
end

local redraw_pending = false
local function redraw_status()
  if redraw_pending then
    return
  end
  redraw_pending = true
  vim.defer_fn(function()
    redraw_pending = false
    pcall(vim.cmd, "redrawstatus!")
  end, 100)
end

local function unique_name(base)
  local name, n = base, 1
  while vim.fn.bufexists(name) == 1 do
    n = n + 1
    name = base .. "-" .. n
  end
  return name
end

function Chat.new(agent)
  local cfg = config.get()
  next_id = next_id + 1
  local self = setmetatable({
    id = next_id,
    agent = agent,
    session_id = nil,
    busy = false,
    handle = nil,
    turn = nil,
    last_result = nil,
    last_error = nil,
    turns = 0,
  }, Chat)
  local buf = api.nvim_create_buf(true, true)
  self.buf = buf
  pcall(api.nvim_buf_set_name, buf, unique_name("minions://chat/" .. agent))
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = "markdown"
  api.nvim_buf_set_lines(buf, 0, -1, false, {
    "# Minions · " .. agent,
    "",
    "_Type under the last “" .. cfg.chat.user_header:gsub("^#+%s*", "") .. "” heading and press "
      .. (cfg.keymaps.send or ":MinionsSend")
      .. " (normal mode) or run :MinionsSend. :MinionsCancel stops a turn._",
    "",
    cfg.chat.user_header,
    "",
  })
  vim.bo[buf].modified = false
  local function map(lhs, rhs, desc)
    if lhs then
      api.nvim_buf_set_keymap(buf, "n", lhs, rhs, { noremap = true, silent = true, desc = desc })
    end
  end
  map(cfg.keymaps.send, "<Cmd>MinionsSend<CR>", "Minions: send the message")
  map(cfg.keymaps.cancel, "<Cmd>MinionsCancel<CR>", "Minions: cancel the running turn")
  api.nvim_create_autocmd("BufWipeout", {
    buffer = buf,
    once = true,
    callback = function()
      self:_forget()
    end,
  })
  chats[buf] = self
  by_agent[agent] = self
  last_chat = self
  return self
end

function Chat:_forget()
  if self.busy then
    self:cancel()
  end
  chats[self.buf] = nil
  if self.session_id and by_session[self.session_id] == self then
    by_session[self.session_id] = nil
  end
  if by_agent[self.agent] == self then
    -- The agent's newest remaining chat takes over.
    local newest
    for _, c in pairs(chats) do
      if c.agent == self.agent and c:valid() and (not newest or c.id > newest.id) then
        newest = c
      end
    end
    by_agent[self.agent] = newest
  end
  if last_chat == self then
    last_chat = nil
  end
end

function Chat:valid()
  return api.nvim_buf_is_valid(self.buf)
end

function Chat:show(focus)
  local cfg = config.get()
  local win = util.show(self.buf, cfg.chat.split, cfg.chat.size, focus)
  last_chat = self
  return win
end

-- Windows showing the buffer whose cursor is on the last line follow the text as it grows.
function Chat:_followers()
  local wins = {}
  local n = api.nvim_buf_line_count(self.buf)
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(win) == self.buf and api.nvim_win_get_cursor(win)[1] >= n then
      table.insert(wins, win)
    end
  end
  return wins
end

function Chat:_follow(wins)
  local n = api.nvim_buf_line_count(self.buf)
  for _, win in ipairs(wins) do
    if api.nvim_win_is_valid(win) then
      pcall(api.nvim_win_set_cursor, win, { n, 0 })
    end
  end
end

function Chat:_last_line()
  local n = api.nvim_buf_line_count(self.buf)
  return n, api.nvim_buf_get_lines(self.buf, n - 1, n, false)[1]
end

-- Appends streamed text to the last line; newlines in it start new lines.
function Chat:append_text(text)
  if not self:valid() or text == nil or text == "" then
    return
  end
  local wins = self:_followers()
  if self.need_break then
    self.need_break = false
    local _, last = self:_last_line()
    if last ~= "" then
      api.nvim_buf_set_lines(self.buf, -1, -1, false, { "", "" })
    else
      api.nvim_buf_set_lines(self.buf, -1, -1, false, { "" })
    end
  end
  local n, last = self:_last_line()
  local parts = util.split_lines(text)
  parts[1] = last .. parts[1]
  api.nvim_buf_set_lines(self.buf, n - 1, n, false, parts)
  self:_follow(wins)
end

-- Adds whole lines (tool calls, results, notes) on lines of their own; gap: after a blank line.
function Chat:append_block(lines, gap)
  if not self:valid() then
    return
  end
  if type(lines) == "string" then
    lines = util.split_lines(lines)
  end
  local wins = self:_followers()
  local n, last = self:_last_line()
  if last == "" then
    api.nvim_buf_set_lines(self.buf, n - 1, n, false, lines)
  elseif gap then
    api.nvim_buf_set_lines(self.buf, -1, -1, false, vim.list_extend({ "" }, lines))
  else
    api.nvim_buf_set_lines(self.buf, -1, -1, false, lines)
  end
  self.need_break = true
  self:_follow(wins)
end

-- The "## You" heading's line (1-based) and the lines under it.
function Chat:_input()
  local header = config.get().chat.user_header
  local lines = api.nvim_buf_get_lines(self.buf, 0, -1, false)
  for i = #lines, 1, -1 do
    if lines[i] == header then
      return i, vim.list_slice(lines, i + 1, #lines)
    end
  end
  return nil, {}
end

local function strip_blank_edges(lines)
  local first, last = 1, #lines
  while first <= last and lines[first]:match("^%s*$") do
    first = first + 1
  end
  while last >= first and lines[last]:match("^%s*$") do
    last = last - 1
  end
  return vim.list_slice(lines, first, last)
end

-- Sends `text`, or what was typed under the last "## You" heading when text is nil.
function Chat:send(text)
  if not self:valid() then
    return false
  end
  if self.busy then
    util.warn("a turn is already running in this chat (:MinionsCancel stops it)")
    return false
  end
  local cfg = config.get()
  local idx, typed = self:_input()
  typed = strip_blank_edges(typed)
  local message_lines, draft
  if text == nil then
    if #typed == 0 then
      util.warn("type a message under “" .. cfg.chat.user_header .. "” first")
      return false
    end
    message_lines = typed
  else
    message_lines = util.split_lines(text)
    if #typed > 0 then
      draft = typed -- kept for the next prompt
    end
  end
  if idx == nil then
    api.nvim_buf_set_lines(self.buf, -1, -1, false, { "", cfg.chat.user_header })
    idx = api.nvim_buf_line_count(self.buf)
  end
  local wins = self:_followers()
  local block = vim.list_extend(vim.deepcopy(message_lines), { "", "## " .. self.agent, "" })
  api.nvim_buf_set_lines(self.buf, idx, -1, false, block)
  self:_follow(wins)
  self.need_break = false
  self.draft = draft

  local message = table.concat(message_lines, "\n")
  local params = {
    message = message,
    agent = self.agent,
    sessionId = self.session_id,
    model = cfg.model,
    maxSteps = cfg.max_steps,
    temperature = cfg.temperature,
  }
  self.busy = true
  self.turns = self.turns + 1
  self.turn = {
    started = now_ms(),
    first_token = nil,
    chars = 0,
    tokens = 0, -- token updates of this chat's agent
    updates = 0,
    text = {}, -- the turn agent's token texts in seq order
    turn_id = nil,
    speaker = self.agent,
  }
  M.stats.turn = self.turn
  if not self.session_id then
    table.insert(awaiting, self)
  end
  last_chat = self
  redraw_status()
  self.handle = client.request("agent/chat", params, function(err, result)
    self:_on_reply(err, result)
  end)
  return true
end

function Chat:_on_update(p)
  local turn = self.turn
  if not turn then
    return
  end
  local turn_id = util.val(p.turnId)
  if turn.turn_id == nil then
    turn.turn_id = turn_id
  elseif turn_id ~= turn.turn_id then
    return
  end
  turn.updates = turn.updates + 1
  local kind = util.val(p.kind)
  local agent = util.val(p.agent) or self.agent
  local limit = config.get().chat.tool_output_chars
  if kind == "token" then
    local text = util.val(p.text) or ""
    if agent ~= turn.speaker then
      -- A delegated agent (or the turn's agent again after it) speaks: mark who.
      turn.speaker = agent
      self:append_block("**" .. agent .. ":**")
      self.need_break = false
      self:append_text(" ")
    end
    if agent == self.agent then
      turn.tokens = turn.tokens + 1
      table.insert(turn.text, text)
    end
    turn.first_token = turn.first_token or now_ms()
    turn.chars = turn.chars + #text
    self:append_text(text)
    redraw_status()
  elseif kind == "toolCall" then
    local who = agent ~= self.agent and (agent .. " → ") or ""
    self:append_block(
      string.format(
        "> **tool** %s`%s` %s",
        who,
        util.val(p.tool) or "?",
        util.shorten(util.json(util.val(p.arguments) or vim.empty_dict()), limit)
      )
    )
  elseif kind == "toolResult" then
    local is_error = util.val(p.isError)
    self:append_block(
      string.format(
        "> %s %s",
        is_error and "**✗ error**" or "**✓ result**",
        util.shorten(util.val(p.output) or "", limit)
      )
    )
  elseif kind == "handoff" then
    self:append_block(
      string.format(
        "> **handoff** %s → %s: %s",
        util.val(p.from) or "?",
        util.val(p.to) or "?",
        util.shorten(util.val(p.task) or "", limit)
      )
    )
  end
end

local function tokens_per_second(result)
  local usage = util.val(result.usage) or {}
  local timing = util.val(result.timing) or {}
  local tokens = tonumber(util.val(usage.completionTokens))
  local total = tonumber(util.val(timing.totalMs))
  local ttft = tonumber(util.val(timing.ttftMs)) or 0
  -- modelMs: the time spent in model calls (not in tools or waiting for approvals). A cancelled
  -- turn reports 0 there: then the turn's time after its first token.
  local ms = tonumber(util.val(timing.modelMs)) or 0
  if ms <= 0 and total then
    ms = total - ttft
    if ms <= 0 then
      ms = total
    end
  end
  if not tokens or ms <= 0 then
    return nil
  end
  return tokens / (ms / 1000)
end

function Chat:_on_reply(err, result)
  for i, c in ipairs(awaiting) do
    if c == self then
      table.remove(awaiting, i)
      break
    end
  end
  self.busy = false
  self.handle = nil
  if self.session_id then
    require("minions.approval").withdraw(self.session_id)
  end
  local turn = self.turn
  if M.stats.turn == turn then
    M.stats.turn = nil
  end
  if not self:valid() then
    return
  end
  local cfg = config.get()
  if err then
    self.last_error = err
    if err.code == -32800 then
      self:append_block("_(cancelled)_", true)
    else
      self:append_block("> **error**: " .. util.error_message(err), true)
    end
  else
    self.last_error = nil
    self.last_result = result
    local sid = util.val(result.sessionId)
    if sid then
      self.session_id = sid
      by_session[sid] = self
    end
    local content = util.val(result.content) or ""
    if turn and turn.tokens == 0 and content ~= "" then
      -- Nothing streamed (e.g. a cached answer without updates): show the content.
      self:append_text(content)
    end
    local stop = util.val(result.stopReason)
    if stop and stop ~= "end_turn" then
      self:append_block("_(" .. stop .. ")_", true)
    end
    M.stats.model = util.val(result.model) or M.stats.model
    M.stats.tokens_per_second = tokens_per_second(result)
    if cfg.chat.show_meta then
      local usage = util.val(result.usage) or {}
      local meta = { util.val(result.model) or "?" }
      local prompt_tokens, completion_tokens = util.val(usage.promptTokens), util.val(usage.completionTokens)
      if prompt_tokens and completion_tokens then
        table.insert(
          meta,
          string.format("%d in / %d out tokens%s", prompt_tokens, completion_tokens, util.val(usage.estimated) and " (estimated)" or "")
        )
      end
      if M.stats.tokens_per_second then
        table.insert(meta, string.format("%.1f tok/s", M.stats.tokens_per_second))
      end
      if util.val(result.cached) then
        table.insert(meta, "cached")
      end
      local _, last = self:_last_line()
      local tail = last == "" and {} or { "" }
      api.nvim_buf_set_lines(self.buf, -1, -1, false, vim.list_extend(tail, { "_" .. table.concat(meta, " · ") .. "_" }))
    end
  end
  -- A fresh prompt (with the draft that was there when a message came from a command).
  local wins = self:_followers()
  local _, last = self:_last_line()
  local prompt = last == "" and {} or { "" }
  table.insert(prompt, cfg.chat.user_header)
  vim.list_extend(prompt, self.draft or { "" })
  self.draft = nil
  api.nvim_buf_set_lines(self.buf, -1, -1, false, prompt)
  self.need_break = false
  self:_follow(wins)
  redraw_status()
  if vim.fn.exists("#User#MinionsTurnDone") == 1 then
    vim.cmd("doautocmd <nomodeline> User MinionsTurnDone")
  end
end

-- Stops the running turn: agent/cancel for a known session, else $/cancelRequest.
function Chat:cancel()
  if not self.busy or not self.handle then
    util.notify("no turn is running")
    return false
  end
  if self.session_id then
    client.request("agent/cancel", { sessionId = self.session_id }, function(err, result)
      if err or not (result and result.cancelled) then
        -- The turn may be between sessions' bookkeeping: fall back to the request itself.
        client.cancel(self.handle)
      end
    end)
  else
    client.cancel(self.handle)
  end
  return true
end

-- Routing of agent/update notifications to the chat of their session.
local function route(params)
  local sid = util.val(params.sessionId)
  local chat = sid and by_session[sid]
  if not chat and sid then
    chat = table.remove(awaiting, 1)
    if chat then
      chat.session_id = sid
      by_session[sid] = chat
    end
  end
  return chat
end

client.on("agent/update", function(params)
  local chat = route(params)
  if chat then
    chat:_on_update(params)
  end
end)

client.on("minions/exit", function()
  M.stats.turn = nil
  -- A new engine knows none of the old sessions' turns; sessions persist in the data directory.
  redraw_status()
end)

function M.for_session(sid)
  return sid and by_session[sid] or nil
end

function M.for_buf(buf)
  return chats[buf or api.nvim_get_current_buf()]
end

function M.last()
  if last_chat and last_chat:valid() then
    return last_chat
  end
  return nil
end

-- The chat of `agent` (created when missing), or the current buffer's chat when agent is nil.
function M.get(agent, create_new)
  local cfg = config.get()
  if not agent and not create_new then
    local here = M.for_buf()
    if here then
      return here
    end
  end
  agent = agent or cfg.agent
  local chat = by_agent[agent]
  if create_new or not (chat and chat:valid()) then
    chat = Chat.new(agent)
  end
  return chat
end

-- The chat a command without a buffer context means: this buffer's, else the last one used.
function M.target(busy_only)
  local here = M.for_buf()
  if here and (not busy_only or here.busy) then
    return here
  end
  if busy_only then
    local last = M.last()
    if last and last.busy then
      return last
    end
    for _, c in pairs(chats) do
      if c.busy then
        return c
      end
    end
    return nil
  end
  return M.last()
end

function M.all()
  return chats
end

M.Chat = Chat
return M
