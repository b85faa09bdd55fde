#!/usr/bin/env bash
# The browser tests (backoffice/tests/test_browser.py) drive Debian's Chromium through Playwright;
# Playwright never downloads a browser here. Install the package when it is missing and we may
# (root with apt); otherwise say so: the browser tests then skip outside CI and fail in CI.
set -euo pipefail
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests (once)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; }
  exit 0
fi
echo "Chromium not found at $CHROMIUM and cannot be installed here (needs root and apt): browser tests will be skipped."
