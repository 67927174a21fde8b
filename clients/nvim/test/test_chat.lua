-- Run by test/run.sh inside `nvim --headless -u NONE` with the plugin on 'runtimepath'.
-- Every wait is a vim.wait with a timeout; any failure ends with :cquit.
local api = vim.api
local tmp = assert(os.getenv("MINIONS_TEST_TMP"), "MINIONS_TEST_TMP")
local bin = assert(os.getenv("MINIONS_BIN"), "MINIONS_BIN")
local data, ws = tmp .. "/data", tmp .. "/workspace"

local failures, passes = 0, 0
local function out(s)
  io.stdout:write(s .. "\n")
  io.stdout:flush()
end
local function pass(name, detail)
  passes = passes + 1
  out("PASS: " .. name .. (detail and (" (" .. detail .. ")") or ""))
end
local function fail(name, why)
  failures = failures + 1
  out("FAIL: " .. name .. ": " .. tostring(why))
end
local function check(name, fn)
  local ok, err = pcall(fn)
  if ok then
    if err ~= false then
      pass(name, type(err) == "string" and err or nil)
    end
  else
    fail(name, err)
  end
end
local function wait(ms, cond, what)
  if not vim.wait(ms, cond, 10) then
    error("timed out after " .. ms .. " ms waiting for " .. what, 2)
  end
end
local function lines(buf)
  return api.nvim_buf_get_lines(buf, 0, -1, false)
end

-- The script model: each turn is picked by a regex on the newest user or tool message.
local script = {
  turns = {
    {
      match = "(?i)stream test",
      events = {
        { text = "Hello" },
        { delayMs = 30 },
        { text = " world,\nsecond" },
        { delayMs = 30 },
        { text = " line" },
        { text = " with `code`." },
      },
      usage = { promptTokens = 12, completionTokens = 9 },
    },
    {
      match = "(?i)slow story",
      events = { { text = "Once upon " }, { delayMs = 5000 }, { text = "a time." } },
    },
    {
      match = "(?i)another slow",
      events = { { text = "Long ago " }, { delayMs = 5000 }, { text = "far away." } },
    },
    {
      match = "(?i)write the file",
      events = {
        { text = "Writing it." },
        { toolCall = { tool = "file_operations", arguments = { operation = "write", path = "out.txt", content = "hi" } } },
      },
    },
    { match = "^wrote", events = { { text = "Done: out.txt written." } } },
    { match = "(?i)explain this", events = { { text = "It sets " }, { text = "x to 1." } } },
    {
      match = "(?i)write another",
      events = {
        { toolCall = { tool = "file_operations", arguments = { operation = "write", path = "out2.txt", content = "async" } } },
      },
    },
    { match = "^wrote", events = { { text = "Second file written." } } },
    {
      match = "(?i)third file",
      events = {
        { toolCall = { tool = "file_operations", arguments = { operation = "write", path = "out3.txt", content = "never" } } },
      },
    },
    -- Anything else (e.g. the result of a call that was not approved).
    { events = { { text = "Not written." } } },
  },
}
local script_path = tmp .. "/script.json"
local f = assert(io.open(script_path, "w"))
f:write(vim.json.encode(script))
f:close()

-- -u NONE loads no plugins: load this one as a plugin manager would.
vim.cmd("runtime! plugin/minions.lua")
assert(vim.fn.exists(":MinionsChat") == 2, "plugin/minions.lua did not define :MinionsChat")
local minions = require("minions")
minions.setup({
  cmd = { bin, "serve" },
  workspace = ws,
  env = { MINIONS_DATA_DIR = data },
  model = "scripty",
  chat = { split = "vsplit" },
})
local client = require("minions.client")

local function run()
  check("engine starts lazily and initializes", function()
    assert(not client.is_running(), "the engine started before first use")
    local err, res = client.request_sync("models/register", {
      name = "scripty",
      provider = "script",
      capabilities = { "text_generation", "tool_use" },
      script = script_path,
    }, 15000)
    assert(not err, "models/register: " .. vim.inspect(err))
    assert(res and res.model and res.model.name == "scripty", vim.inspect(res))
    assert(client.is_ready(), "not initialized")
    local server = client.state.server
    assert(server and server.serverInfo and server.serverInfo.name == "minions", vim.inspect(server))
  end)
  if failures > 0 then
    out("FAIL: the engine did not start; the other checks were skipped")
    return
  end

  -- (1) streaming into the chat buffer
  local c
  check("streamed answer lands in the chat buffer", function()
    vim.cmd("MinionsChat")
    c = require("minions.chat").for_buf()
    assert(c, "no chat buffer after :MinionsChat")
    assert(vim.bo[c.buf].filetype == "markdown", "filetype " .. vim.bo[c.buf].filetype)
    assert(vim.bo[c.buf].buftype == "nofile", "buftype " .. vim.bo[c.buf].buftype)
    -- Type the message under "## You" and press the send key (normal-mode <CR> mapping).
    api.nvim_buf_set_lines(c.buf, -2, -1, false, { "This is a stream test." })
    local seen = {}
    local turns_before = c.turns
    local handler = function(p)
      if p.kind == "token" then
        table.insert(seen, { text = p.text, chars = #table.concat(lines(c.buf), "\n") })
      end
    end
    client.on("agent/update", handler)
    vim.cmd("MinionsSend")
    assert(c.turns == turns_before + 1, "the message was not sent")
    wait(10000, function()
      return not c.busy
    end, "the reply")
    local r = c.last_result
    assert(r, "no result: " .. vim.inspect(c.last_error))
    assert(r.stopReason == "end_turn", "stopReason " .. tostring(r.stopReason))
    assert(r.content == "Hello world,\nsecond line with `code`.", "content " .. vim.inspect(r.content))
    assert(#seen >= 3, "only " .. #seen .. " token updates")
    for i = 2, #seen do
      assert(seen[i].chars > seen[i - 1].chars, "token " .. i .. " did not grow the buffer")
    end
    assert(c.turn.tokens >= 3, "the chat counted " .. c.turn.tokens .. " token updates")
    assert(table.concat(c.turn.text) == r.content, "streamed text differs from content")
    -- The buffer grew while the tokens arrived (they were rendered one by one).
    local l = lines(c.buf)
    local header
    for i = #l, 1, -1 do
      if l[i] == "## assistant" then
        header = i
        break
      end
    end
    assert(header, "no '## assistant' heading: " .. vim.inspect(l))
    local want = vim.split(r.content, "\n", { plain = true })
    local got = vim.list_slice(l, header + 1, header + #want)
    assert(vim.deep_equal(got, want), "buffer has " .. vim.inspect(got) .. ", content is " .. vim.inspect(want))
    assert(l[header + #want + 1] == "", "no blank line after the answer: " .. vim.inspect(l[header + #want + 1]))
    assert(l[#l - 1] == "## You" and l[#l] == "", "no fresh prompt at the end: " .. vim.inspect(vim.list_slice(l, #l - 2, #l)))
    assert(c.session_id and c.session_id == r.sessionId, "session not kept")
    return string.format("%d token updates", #seen)
  end)

  -- (5) statusline (after a turn: the model that answered, and tokens/s)
  check("statusline shows the model", function()
    -- The model comes from the reply (not only from setup), tokens/s from its usage and timing.
    assert(require("minions.chat").stats.model == "scripty", "stats: " .. vim.inspect(require("minions.chat").stats))
    local s = minions.statusline()
    assert(s:find("scripty", 1, true), "statusline: " .. vim.inspect(s))
    assert(s:find("%d tok/s"), "no tokens/s in " .. vim.inspect(s))
    assert(not s:find("…", 1, true), "still streaming: " .. s)
    return s
  end)

  -- (2) cancel a slow turn; the session is kept, so this is agent/cancel {sessionId}
  check("cancel stops a slow turn", function()
    local sid = c.session_id
    assert(c:send("Tell me a slow story."), "not sent")
    wait(5000, function()
      return table.concat(lines(c.buf), "\n"):find("Once upon ", 1, true) ~= nil
    end, "the first token")
    assert(c.busy, "turn already over")
    local live = minions.statusline()
    assert(live:find("scripty", 1, true) and live:find("…", 1, true), "statusline while streaming: " .. live)
    local t0 = vim.loop.hrtime()
    vim.cmd("MinionsCancel")
    wait(3000, function()
      return not c.busy
    end, "the cancelled reply")
    local ms = (vim.loop.hrtime() - t0) / 1e6
    local r = c.last_result
    assert(r and r.stopReason == "cancelled", "reply " .. vim.inspect(r or c.last_error))
    assert(r.content == "Once upon ", "content " .. vim.inspect(r.content))
    assert(r.sessionId == sid, "another session")
    assert(ms < 2500, string.format("took %.0f ms", ms))
    assert(table.concat(lines(c.buf), "\n"):find("_(cancelled)_", 1, true), "no cancelled note in the buffer")
    return string.format("%.0f ms", ms)
  end)

  -- (2b) cancelling a first turn at once: no session is known yet, so this is $/cancelRequest
  check("cancel a first turn with $/cancelRequest", function()
    local c2 = minions.new_chat("assistant")
    assert(c2 ~= c, "same chat")
    local sent = {}
    local orig_notify = client.notify
    client.notify = function(method, params)
      table.insert(sent, method)
      return orig_notify(method, params)
    end
    local t0 = vim.loop.hrtime()
    local ok, err = pcall(function()
      assert(c2:send("Another slow story please."), "not sent")
      assert(c2.session_id == nil, "session known already")
      vim.cmd("MinionsCancel")
    end)
    client.notify = orig_notify
    assert(ok, err)
    assert(vim.tbl_contains(sent, "$/cancelRequest"), "sent " .. vim.inspect(sent))
    wait(3000, function()
      return not c2.busy
    end, "the cancelled reply")
    local ms = (vim.loop.hrtime() - t0) / 1e6
    local r = c2.last_result
    if r then
      assert(r.stopReason == "cancelled", "reply " .. vim.inspect(r))
    else
      assert(c2.last_error and c2.last_error.code == -32800, "error " .. vim.inspect(c2.last_error))
    end
    assert(ms < 2500, string.format("took %.0f ms", ms))
    vim.cmd("bwipeout! " .. c2.buf)
    return string.format("%.0f ms, %s", ms, r and ("stopReason " .. r.stopReason) or "-32800")
  end)

  -- (3) approval through vim.ui.select
  check("approval prompt is answered (allow_once)", function()
    local asked
    local orig = vim.ui.select
    vim.ui.select = function(items, opts, on_choice)
      asked = { items = items, prompt = opts.prompt, kind = opts.kind }
      for i, it in ipairs(items) do
        if it.optionId == "allow_once" then
          return on_choice(it, i)
        end
      end
      on_choice(nil, nil)
    end
    local ok, err = pcall(function()
      vim.cmd("buffer " .. c.buf)
      vim.cmd("MinionsSend Please write the file out.txt")
      wait(10000, function()
        return not c.busy
      end, "the reply")
    end)
    vim.ui.select = orig
    assert(ok, err)
    assert(asked, "vim.ui.select was not called")
    assert(#asked.items == 4, "options: " .. vim.inspect(asked.items))
    assert(asked.prompt:find("file_operations", 1, true), "prompt: " .. asked.prompt)
    local r = c.last_result
    assert(r, "no result: " .. vim.inspect(c.last_error))
    assert(r.toolCalls and r.toolCalls[1] and r.toolCalls[1].isError == false, "tool call: " .. vim.inspect(r.toolCalls))
    local fh = io.open(ws .. "/out.txt", "r")
    assert(fh, "out.txt was not written in the workspace")
    local body = fh:read("*a")
    fh:close()
    assert(body == "hi", "out.txt has " .. vim.inspect(body))
    local text = table.concat(lines(c.buf), "\n")
    assert(text:find("> **tool** `file_operations`", 1, true), "no tool call line in the buffer")
    assert(text:find("> **✓ result** wrote", 1, true), "no tool result line in the buffer")
    assert(text:find("Done: out.txt written.", 1, true), "no final answer")
  end)

  -- (3b) an asynchronous vim.ui.select (dressing.nvim, telescope-ui-select): awaited on
  -- Neovim >= 0.10; refused (the call is not run) before 0.10, where vim.lsp.rpc needs the
  -- answer synchronously.
  check("approval with an asynchronous vim.ui.select", function()
    local asked = false
    local orig = vim.ui.select
    vim.ui.select = function(items, _, on_choice)
      asked = true
      vim.defer_fn(function()
        for i, it in ipairs(items) do
          if it.optionId == "allow_once" then
            return on_choice(it, i)
          end
        end
      end, 200)
    end
    local orig_notify = vim.notify
    local warned = nil
    vim.notify = function(msg, level)
      warned = msg
    end
    local ok, err = pcall(function()
      vim.cmd("MinionsSend Now write another file.")
      wait(10000, function()
        return not c.busy
      end, "the reply")
    end)
    vim.ui.select = orig
    vim.notify = orig_notify
    assert(ok, err)
    assert(asked, "vim.ui.select was not called")
    local r = c.last_result
    assert(r, "no result: " .. vim.inspect(c.last_error))
    local written = vim.loop.fs_stat(ws .. "/out2.txt") ~= nil
    if vim.fn.has("nvim-0.10") == 1 then
      assert(written, "out2.txt was not written")
      assert(r.content == "Second file written.", "content " .. vim.inspect(r.content))
      return "awaited (Neovim >= 0.10)"
    end
    assert(not written, "out2.txt was written without an answer")
    assert(r.toolCalls[1] and r.toolCalls[1].isError == true, "tool call: " .. vim.inspect(r.toolCalls))
    assert(warned and warned:find("inputlist", 1, true), "no warning: " .. vim.inspect(warned))
    return "refused with a warning (Neovim < 0.10)"
  end)

  -- (3c) cancelling a turn while its (asynchronous) approval prompt is open: the turn ends at once
  -- and the waiting prompt is released. Only Neovim >= 0.10 can keep such a prompt open.
  if vim.fn.has("nvim-0.10") == 1 then
    check("cancel while an approval prompt is open", function()
      local asked = false
      local orig = vim.ui.select
      vim.ui.select = function()
        asked = true -- never answers
      end
      local orig_notify = vim.notify
      vim.notify = function() end
      local t0
      local ok, err = pcall(function()
        vim.cmd("MinionsSend Write a third file.")
        wait(5000, function()
          return asked
        end, "the approval prompt")
        t0 = vim.loop.hrtime()
        vim.cmd("MinionsCancel")
        wait(3000, function()
          return not c.busy
        end, "the cancelled reply")
      end)
      vim.ui.select = orig
      vim.notify = orig_notify
      assert(ok, err)
      local ms = (vim.loop.hrtime() - t0) / 1e6
      local r = c.last_result
      assert(r and r.stopReason == "cancelled", "reply " .. vim.inspect(r or c.last_error))
      assert(not vim.loop.fs_stat(ws .. "/out3.txt"), "out3.txt was written")
      assert(ms < 2500, string.format("took %.0f ms", ms))
      local text = table.concat(lines(c.buf), "\n")
      assert(text:find("> **approval**: cancelled", 1, true), "no withdrawn note")
      return string.format("%.0f ms", ms)
    end)
  end

  -- (6) :MinionsAsk on a range
  check(":MinionsAsk sends the selected lines with the question", function()
    vim.cmd("new")
    local src = api.nvim_get_current_buf()
    api.nvim_buf_set_lines(src, 0, -1, false, { "local x = 1", "return x", "-- unrelated" })
    vim.bo[src].filetype = "lua"
    vim.cmd("1,2MinionsAsk explain this code")
    assert(api.nvim_get_current_buf() == src, "focus left the source buffer")
    assert(require("minions.chat").last() == c, "asked in another chat")
    wait(10000, function()
      return not c.busy and c.last_result and c.last_result.content == "It sets x to 1."
    end, "the answer")
    local text = table.concat(lines(c.buf), "\n")
    assert(text:find("explain this code\n\n", 1, true), "question missing")
    assert(text:find("```lua\nlocal x = 1\nreturn x\n```", 1, true), "selection missing:\n" .. text)
    assert(not text:find("unrelated", 1, true), "lines outside the range were sent")
    vim.cmd("bwipeout!")
  end)

  -- (4) :MinionsReport usage
  check(":MinionsReport usage fills a buffer", function()
    vim.cmd("MinionsReport usage 1")
    local buf = api.nvim_get_current_buf()
    wait(10000, function()
      return (lines(buf)[1] or ""):find("^# Usage report") ~= nil
    end, "the report")
    assert(vim.bo[buf].filetype == "markdown", "filetype")
    assert(table.concat(lines(buf), "\n"):find("**chats**", 1, true), "no chats figure")
  end)

  check(":MinionsModels lists the script model", function()
    vim.cmd("MinionsModels")
    local buf = api.nvim_get_current_buf()
    wait(10000, function()
      return table.concat(lines(buf), "\n"):find("| scripty | script |", 1, true) ~= nil
    end, "the models table")
  end)

  check("statusline after all turns", function()
    local s = minions.statusline()
    assert(s:find("scripty", 1, true), "statusline: " .. vim.inspect(s))
    return s
  end)

  if os.getenv("MINIONS_TEST_DUMP") then
    out(table.concat(lines(c.buf), "\n"))
  end

  check("engine stops", function()
    minions.stop(3000)
    assert(not client.is_running(), "still running")
  end)
end

local ok, err = pcall(run)
if not ok then
  fail("test script", err)
end
out(string.format("%d passed, %d failed", passes, failures))
if failures > 0 or not ok then
  vim.cmd("cquit 1")
else
  vim.cmd("qall!")
end
