-- Options of minions.nvim (see :help minions-setup).
local M = {}

M.defaults = {
  -- How to start the engine. It speaks JSON-RPC 2.0 with Content-Length framing on stdio.
  cmd = { "minions", "serve" },
  -- Directory the file tools may use (passed as --workspace; also the engine's cwd).
  -- nil: Neovim's current directory when the engine starts.
  workspace = nil,
  -- Extra environment for the engine, e.g. { MINIONS_DATA_DIR = "/tmp/minions" }.
  env = nil,
  -- Engine log level (MINIONS_LOG) unless env sets it. Its stderr goes to the LSP log.
  log_level = "warning",
  -- Default agent of :MinionsChat and :MinionsAsk.
  agent = "assistant",
  -- Model for every turn; nil lets the engine select one.
  model = nil,
  -- Passed to agent/chat when set.
  max_steps = nil,
  temperature = nil,
  -- capabilities.tokenCoalesceMs: merge token updates arriving within N ms (nil: every token).
  token_coalesce_ms = nil,
  -- Declare capabilities.approvals: the engine asks before an agent changes anything.
  -- false: the engine's tools.approvalPolicy decides (deny by default).
  approvals = true,
  -- "select": vim.ui.select (any UI on Neovim >= 0.10; must answer synchronously before 0.10,
  -- as the built-in one does); "inputlist": always the synchronous built-in list.
  approval_ui = "select",
  -- Show alerts/raised and alerts/cleared with vim.notify.
  notify_alerts = false,
  chat = {
    -- Where :MinionsChat opens its buffer: "vsplit", "split", "tab" or "current".
    split = "vsplit",
    -- Width (vsplit) or height (split) of the new window; nil: half.
    size = nil,
    -- The heading under which you type your message.
    user_header = "## You",
    -- A line after each answer with the model, tokens and tokens/s.
    show_meta = true,
    -- Tool arguments and results are cut to this many characters.
    tool_output_chars = 160,
  },
  -- Buffer-local mappings of the chat buffer (normal mode); false disables one.
  keymaps = {
    send = "<CR>",
    cancel = "<C-c>",
  },
}

M.options = vim.deepcopy(M.defaults)

function M.setup(opts)
  opts = opts or {}
  local merged = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  -- Lists replace, they do not merge index by index.
  if opts.cmd then
    merged.cmd = vim.deepcopy(opts.cmd)
  end
  if type(merged.cmd) == "string" then
    merged.cmd = { merged.cmd }
  end
  M.options = merged
  return merged
end

function M.get()
  return M.options
end

return M
