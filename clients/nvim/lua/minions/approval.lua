-- approval/request: the engine asks before an agent changes something (a file write, a database
-- execute, a POST). The user picks one of the offered options with vim.ui.select.
local util = require("minions.util")
local config = require("minions.config")

local M = {}

local CANCELLED = { outcome = "cancelled" }

-- Asynchronous prompts still open, by session: { decide = fn }.
local open = {}

local function describe(params)
  local args = util.val(params.arguments)
  local text = args and util.json(args) or ""
  return string.format(
    "Minions: %s wants to run %s %s",
    util.val(params.agent) or "an agent",
    util.val(params.tool) or "a tool",
    util.shorten(text, 300)
  )
end

local function log_to_chat(params, text)
  local ok, chat = pcall(function()
    return require("minions.chat").for_session(util.val(params.sessionId))
  end)
  if ok and chat then
    chat:append_block(text)
  end
end

local function answer_for(item)
  if type(item) == "table" and item.optionId then
    return { outcome = "selected", optionId = item.optionId }
  end
  return CANCELLED
end

-- The server_request handler: returns the response's result. On Neovim >= 0.10 vim.lsp.rpc runs
-- it in a coroutine, so an asynchronous vim.ui.select is waited for by yielding; before 0.10 the
-- answer must come synchronously (the built-in vim.ui.select is synchronous).
function M.handle(params)
  local cfg = config.get()
  local options = {}
  for _, o in ipairs(util.val(params.options) or {}) do
    table.insert(options, o)
  end
  if #options == 0 then
    return CANCELLED
  end
  log_to_chat(params, string.format("> **approval** asked for `%s`", util.val(params.tool) or "?"))

  local prompt = describe(params)
  local answered, answer, waiting = false, nil, false
  local co = coroutine.running()

  local function decide(item)
    if answered then
      return
    end
    answered = true
    answer = answer_for(item)
    log_to_chat(params, string.format("> **approval**: %s", answer.optionId or "cancelled"))
    if waiting then
      vim.schedule(function()
        local ok, err = coroutine.resume(co, answer)
        if not ok then
          util.error("approval: " .. tostring(err))
        end
      end)
    end
  end

  if cfg.approval_ui == "inputlist" then
    local choices = { prompt }
    for i, o in ipairs(options) do
      table.insert(choices, string.format("%d: %s", i, o.name or o.optionId))
    end
    decide(options[vim.fn.inputlist(choices)])
  else
    vim.ui.select(options, {
      prompt = prompt,
      kind = "minions.approval",
      format_item = function(o)
        return o.name or o.optionId
      end,
    }, function(item)
      decide(item)
    end)
  end

  if answered then
    return answer
  end
  if co then
    waiting = true
    local sid = util.val(params.sessionId)
    if sid then
      open[sid] = { decide = decide }
    end
    local result = coroutine.yield()
    if sid and open[sid] and open[sid].decide == decide then
      open[sid] = nil
    end
    return result
  end
  -- Neovim < 0.10: vim.lsp.rpc needs the answer now, and waiting here would block the input the
  -- asynchronous picker needs. Refuse, and say how to get a synchronous prompt.
  answered = true
  log_to_chat(params, "> **approval**: cancelled (asynchronous vim.ui.select)")
  util.warn(
    "this Neovim needs a synchronous approval prompt; the call was not run. "
      .. "Use setup{ approval_ui = \"inputlist\" } with an asynchronous vim.ui.select."
  )
  return CANCELLED
end

-- The turn of this session ended (e.g. it was cancelled) while its prompt was still open: the
-- engine has withdrawn the request, so a later choice is ignored.
function M.withdraw(session_id)
  local entry = session_id and open[session_id]
  if not entry then
    return
  end
  open[session_id] = nil
  util.notify("the approval request was withdrawn: the turn ended")
  entry.decide(nil)
end

return M
