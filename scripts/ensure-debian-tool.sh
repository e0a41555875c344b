#!/usr/bin/env bash
# ensure-debian-tool.sh TOOL PACKAGE WHAT: a tool some tests need (a path, or a name looked up on PATH), from Debian.
# Install PACKAGE when TOOL is missing and we may (root with apt-get); otherwise say so plainly:
# the tests that need it then skip with a message naming what is missing (WHAT says which).
#   scripts/ensure-debian-tool.sh /usr/bin/chromium chromium "the browser tests (Playwright drives Debian's Chromium)"
#   scripts/ensure-debian-tool.sh docker-compose docker-compose "the docker-compose.yml check"
set -u
TOOL=$1 PACKAGE=$2 WHAT=$3

if command -v "$TOOL" >/dev/null; then
  echo "$PACKAGE for $WHAT: $(command -v "$TOOL")"
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "$TOOL is missing: installing the Debian package '$PACKAGE' for $WHAT"
  if apt-get install -y -qq "$PACKAGE" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$PACKAGE" >/dev/null; }; then
    command -v "$TOOL" >/dev/null && { echo "$PACKAGE installed: $(command -v "$TOOL")"; exit 0; }
  fi
  echo "WARNING: could not install $PACKAGE; $WHAT will be SKIPPED." >&2
  exit 0
fi
echo "WARNING: $TOOL is missing and cannot be installed here (needs root and apt-get):" >&2
echo "         $WHAT will be SKIPPED. Install it with: sudo apt-get install -y $PACKAGE" >&2
exit 0
