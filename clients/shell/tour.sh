#!/bin/sh
# A scripted session against the engine: what `make run` shows. It speaks newline-delimited JSON-RPC
# to `minions serve` over a pipe, exactly as an editor or a script would.
set -eu
BIN=${1:-minions}

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

say "Minions $($BIN version)"
say "A session over stdio (client lines start with ->, engine lines with <-):"
requests='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"clientInfo":{"name":"tour"},"capabilities":{"tokenCoalesceMs":50}}}
{"jsonrpc":"2.0","id":2,"method":"auth/whoami"}
{"jsonrpc":"2.0","id":3,"method":"models/select","params":{"task":"write a python function","strategy":"balanced"}}
{"jsonrpc":"2.0","id":4,"method":"agent/chat","params":{"message":"Hello! What can you do?"}}
{"jsonrpc":"2.0","id":5,"method":"tools/list","params":{"category":"files"}}
{"jsonrpc":"2.0","id":6,"method":"no/such/method"}
{"jsonrpc":"2.0","id":7,"method":"shutdown"}
{"jsonrpc":"2.0","method":"exit"}'
# Long lines are cut at 200 characters here; the engine sends them whole.
short() { awk -v p="$1" '{ if (length($0) > 200) print p substr($0, 1, 200) "…"; else print p $0 }'; }
printf '%s\n' "$requests" | short '-> '
printf '%s\n' "$requests" | MINIONS_LOG=warning "$BIN" serve | short '<- '

say "The same engine from the terminal: minions chat \"list the files\""
"$BIN" chat "list the files" 2>&1 | short '   '

say "Connect an editor or a script:"
cat <<TEXT
  chat:   '$BIN chat' (interactive; 'make run' on a terminal opens it)
  stdio:  spawn '$BIN serve' and speak JSON-RPC 2.0 (Content-Length headers or one JSON per line)
  TCP:    '$BIN serve --listen 127.0.0.1:7411'
  Neovim: vim.lsp.rpc.start({ '$BIN', 'serve' }, {}) -- see README.md
  Docs:   protocol/README.md, and '$BIN protocol openrpc' for every method
TEXT
