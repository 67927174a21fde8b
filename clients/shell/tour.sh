#!/bin/sh
# A scripted session against the engine: what `make run` shows. It speaks newline-delimited JSON-RPC
# to `minions serve` over a pipe, exactly as an editor or a script would.
set -eu
BIN=${1:-minions}

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

say "Minions $($BIN version)"
say "A session over stdio (client lines start with ->, engine lines with <-):"
requests='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"clientInfo":{"name":"tour"}}}
{"jsonrpc":"2.0","id":2,"method":"auth/whoami"}
{"jsonrpc":"2.0","id":3,"method":"no/such/method"}
{"jsonrpc":"2.0","id":4,"method":"shutdown"}
{"jsonrpc":"2.0","method":"exit"}'
printf '%s\n' "$requests" | sed 's/^/-> /'
printf '%s\n' "$requests" | MINIONS_LOG=warning "$BIN" serve | sed 's/^/<- /'

say "Connect an editor or a script:"
cat <<TEXT
  stdio:  spawn '$BIN serve' and speak JSON-RPC 2.0 (Content-Length headers or one JSON per line)
  TCP:    '$BIN serve --listen 127.0.0.1:7411'
  Neovim: vim.lsp.rpc.start({ '$BIN', 'serve' }, {}) -- see README.md
  Docs:   protocol/README.md, and '$BIN protocol openrpc' for every method
TEXT
