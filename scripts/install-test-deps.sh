#!/usr/bin/env bash
# Installs what the test suite (and `make bench` / `make chaos`) needs on Debian or Ubuntu:
# PostgreSQL, Redis, wrk, and Chromium with chromedriver for the browser tests, from the OS
# package manager (only when missing), and the project with its test extras in .venv. The tests start their own throwaway servers; nothing is left
# running.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
  || need_pkgs+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server)
command -v wrk >/dev/null 2>&1 || need_pkgs+=(wrk)   # the load generator of `make bench`
# The browser tests (tests/browser) drive Debian's Chromium through Debian's chromedriver.
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_pkgs+=(chromium-driver)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "==> installing ${need_pkgs[*]} from the OS package manager"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
echo "==> installing the gateway with its test extras into .venv"
.venv/bin/pip install -q --disable-pip-version-check -e '.[test,dev]'
