#!/usr/bin/env bash
# The browser tests (pytest -m browser) drive Debian's Chromium with Playwright; Playwright's
# own browser download is not used. Install Chromium when it is missing and we may (root with
# apt-get); otherwise say so plainly: those tests then skip with a message naming what is missing.
set -u
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}

if [ -x "$CHROMIUM" ]; then
  echo "Chromium for the browser tests: $CHROMIUM"
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Chromium is missing at $CHROMIUM: installing the Debian package 'chromium'"
  if apt-get install -y -qq chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; then
    [ -x "$CHROMIUM" ] && { echo "Chromium installed: $CHROMIUM"; exit 0; }
  fi
  echo "WARNING: could not install Chromium; the browser tests will be SKIPPED." >&2
  exit 0
fi
echo "WARNING: Chromium is missing at $CHROMIUM and cannot be installed here (needs root and apt-get):" >&2
echo "         the browser tests will be SKIPPED. Install it with: sudo apt-get install -y chromium" >&2
exit 0
