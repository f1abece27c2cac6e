#!/usr/bin/env bash
# Installs Debian's Chromium (the browser of the console's end-to-end tests and benchmark, driven
# headless by playwright-core at /usr/bin/chromium). Idempotent: does nothing when the binary is
# already there. Needs root (apt-get) on a fresh machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

BIN=/usr/bin/chromium

if [ -x "$BIN" ]; then
  echo "chromium: $("$BIN" --version 2>/dev/null || echo "$BIN")"
  exit 0
fi
# fonts-liberation: without a font the pages render as boxes (and screenshots are useless).
apt_install chromium fonts-liberation
echo "chromium: $("$BIN" --version)"
