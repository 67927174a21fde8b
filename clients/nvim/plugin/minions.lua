-- minions.nvim commands. The engine starts on first use; require("minions").setup{} is optional.
if vim.g.loaded_minions == 1 or vim.fn.has("nvim-0.7") ~= 1 then
  return
end
vim.g.loaded_minions = 1

local function m()
  return require("minions")
end

local AGENTS = { "assistant", "coder", "researcher", "analyst", "coordinator" }

local function complete_from(list)
  return function(arglead)
    return vim.tbl_filter(function(x)
      return x:find(arglead, 1, true) == 1
    end, list)
  end
end

local function arg(o)
  return o.args ~= "" and o.args or nil
end

local cmd = vim.api.nvim_create_user_command

cmd("MinionsChat", function(o)
  m().chat(arg(o))
end, { nargs = "?", complete = complete_from(AGENTS), desc = "Minions: open the chat of an agent" })

cmd("MinionsNew", function(o)
  m().new_chat(arg(o))
end, { nargs = "?", complete = complete_from(AGENTS), desc = "Minions: a new chat session" })

cmd("MinionsSend", function(o)
  m().send(arg(o))
end, { nargs = "*", desc = "Minions: send the typed message (or the arguments)" })

cmd("MinionsAsk", function(o)
  m().ask(o.args, { range = o.range, line1 = o.line1, line2 = o.line2 })
end, { nargs = "+", range = true, desc = "Minions: ask about the selected lines" })

cmd("MinionsCancel", function()
  m().cancel()
end, { nargs = 0, desc = "Minions: cancel the running turn" })

cmd("MinionsModels", function()
  m().models()
end, { nargs = 0, desc = "Minions: list the models" })

cmd("MinionsReport", function(o)
  m().report(o.fargs[1], tonumber(o.fargs[2]))
end, {
  nargs = "*",
  complete = complete_from({ "usage", "performance", "models", "tools", "security" }),
  desc = "Minions: an analytics report (usage, performance, models, tools, security) [days]",
})

cmd("MinionsStop", function()
  m().stop()
end, { nargs = 0, desc = "Minions: stop the engine" })

local group = vim.api.nvim_create_augroup("minions", { clear = true })
vim.api.nvim_create_autocmd("VimLeavePre", {
  group = group,
  callback = function()
    if package.loaded["minions.client"] and package.loaded["minions.client"].is_running() then
      package.loaded["minions.client"].stop(500)
    end
  end,
})
