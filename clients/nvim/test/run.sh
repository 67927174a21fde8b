#!/bin/sh
# Headless end-to-end test of minions.nvim against the real engine with a script model.
#   MINIONS_BIN=/path/to/minions sh clients/nvim/test/run.sh
# Exits non-zero on failure; bounded by `timeout 120`.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

if [ -z "${MINIONS_BIN:-}" ]; then
  echo "FAIL: set MINIONS_BIN to the minions binary (e.g. .build/debug/minions)" >&2
  exit 2
fi
case $MINIONS_BIN in
  /*) ;;
  *) MINIONS_BIN=$(pwd)/$MINIONS_BIN ;;
esac
if [ ! -x "$MINIONS_BIN" ]; then
  echo "FAIL: $MINIONS_BIN is not executable" >&2
  exit 2
fi
if ! command -v nvim >/dev/null 2>&1; then
  echo "FAIL: nvim not found (Debian: apt-get install -y neovim)" >&2
  exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/minions-nvim-test.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM
mkdir -p "$tmp/data" "$tmp/workspace" "$tmp/xdg/config" "$tmp/xdg/data" "$tmp/xdg/state" "$tmp/xdg/cache"

export MINIONS_BIN
export MINIONS_NVIM_ROOT="$root"
export MINIONS_TEST_TMP="$tmp"
# Keep Neovim's own files (shada, LSP log) out of the user's home.
export XDG_CONFIG_HOME="$tmp/xdg/config" XDG_DATA_HOME="$tmp/xdg/data"
export XDG_STATE_HOME="$tmp/xdg/state" XDG_CACHE_HOME="$tmp/xdg/cache"

start=$(date +%s)
status=0
timeout 120 nvim --headless -u NONE -i NONE -n \
  --cmd 'lua vim.opt.runtimepath:prepend(os.getenv("MINIONS_NVIM_ROOT"))' \
  -c 'lua dofile(os.getenv("MINIONS_NVIM_ROOT") .. "/test/test_chat.lua")' </dev/null || status=$?
elapsed=$(( $(date +%s) - start ))

if [ "$status" -eq 124 ]; then
  echo "FAIL: timed out after 120 s"
elif [ "$status" -ne 0 ]; then
  echo "FAIL: nvim exited with status $status (${elapsed}s)"
else
  echo "ALL PASSED (${elapsed}s)"
fi
exit "$status"
