#!/bin/sh
# Installs what the dashboard test needs when it is missing, then runs it.
#   Debian: chromium, chromium-driver (apt-get, as root)
#   PyPI:   selenium (in a venv, $MINIONS_WEB_VENV, default /tmp/minions-web-venv)
# usage: MINIONS_BIN=/path/to/minions sh clients/web/test/run.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${MINIONS_WEB_VENV:-/tmp/minions-web-venv}

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing chromium and chromium-driver (apt-get)…" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null
  else
    echo "FAIL: chromium and chromium-driver are missing: sudo apt-get install chromium chromium-driver" >&2
    exit 2
  fi
fi

if ! "$venv/bin/python" -c 'import selenium' 2>/dev/null; then
  echo "installing selenium into $venv (pip)…" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'selenium>=4.10'
fi

exec "$venv/bin/python" "$here/test_dashboard.py" "$@"
