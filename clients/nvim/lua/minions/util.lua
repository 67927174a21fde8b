local api = vim.api
local M = {}

-- JSON null arrives as nil (Neovim 0.7–0.9) or vim.NIL (>= 0.10): make it nil.
function M.val(v)
  if v == vim.NIL then
    return nil
  end
  return v
end

function M.notify(msg, level)
  vim.notify("Minions: " .. msg, level or vim.log.levels.INFO)
end

function M.warn(msg)
  M.notify(msg, vim.log.levels.WARN)
end

function M.error(msg)
  M.notify(msg, vim.log.levels.ERROR)
end

-- Runs fn now when on the main loop, else scheduled (libuv callbacks are "fast" contexts).
function M.main(fn)
  if vim.in_fast_event() then
    vim.schedule(fn)
  else
    fn()
  end
end

-- Calls fn(...) reporting errors instead of raising them.
function M.safe(fn, ...)
  local ok, err = pcall(fn, ...)
  if not ok then
    M.error(tostring(err))
  end
  return ok
end

function M.split_lines(s)
  return vim.split(s or "", "\n", { plain = true })
end

function M.trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- One line, at most n characters.
function M.shorten(s, n)
  s = tostring(s or ""):gsub("\r?\n", " ⏎ ")
  if vim.fn.strchars(s) > n then
    s = vim.fn.strcharpart(s, 0, n - 1) .. "…"
  end
  return s
end

function M.json(v)
  local ok, s = pcall(vim.json.encode, v)
  return ok and s or tostring(v)
end

function M.error_message(err)
  if type(err) ~= "table" then
    return tostring(err)
  end
  local msg = M.val(err.message) or "error"
  if err.code then
    msg = string.format("%s (%s)", msg, tostring(err.code))
  end
  return msg
end

-- Focuses a window showing buf in the current tab, or opens one ("split", "vsplit", "tab",
-- "current"). Returns the window.
function M.show(buf, how, size, focus)
  if focus == nil then
    focus = true
  end
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(win) == buf then
      if focus then
        api.nvim_set_current_win(win)
      end
      return win
    end
  end
  local prev = api.nvim_get_current_win()
  if how == "tab" then
    vim.cmd("tab split")
  elseif how == "split" then
    vim.cmd("botright " .. (size and tostring(size) or "") .. "split")
  elseif how == "vsplit" then
    vim.cmd("botright " .. (size and tostring(size) or "") .. "vsplit")
  end
  local win = api.nvim_get_current_win()
  api.nvim_win_set_buf(win, buf)
  vim.wo[win].wrap = true
  vim.wo[win].linebreak = true
  if not focus and api.nvim_win_is_valid(prev) then
    api.nvim_set_current_win(prev)
  end
  return win
end

-- A read-only scratch buffer named `name`, reused on later calls, filled with lines.
local scratch_bufs = {}
function M.scratch(name, lines, opts)
  opts = opts or {}
  local buf = scratch_bufs[name]
  if not (buf and api.nvim_buf_is_valid(buf)) then
    buf = api.nvim_create_buf(false, true)
    pcall(api.nvim_buf_set_name, buf, name)
    vim.bo[buf].bufhidden = "hide"
    vim.bo[buf].swapfile = false
    vim.bo[buf].filetype = opts.filetype or "markdown"
    scratch_bufs[name] = buf
  end
  M.set_scratch_lines(buf, lines)
  if opts.show ~= false then
    M.show(buf, opts.split or "split", opts.size)
  end
  return buf
end

function M.set_scratch_lines(buf, lines)
  if not api.nvim_buf_is_valid(buf) then
    return
  end
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
end

return M
