#!/usr/bin/env bash
# Installs Debian's Chromium (the browser of the console's end-to-end tests and benchmark, driven
# headless by playwright-core at /usr/bin/chromium). Idempotent: does nothing when the binary is
# already there. Needs root (apt-get) on a fresh machine.
set -euo pipefail

BIN=/usr/bin/chromium

if [ -x "$BIN" ]; then
  echo "chromium: $("$BIN" --version 2>/dev/null || echo "$BIN")"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Chromium is missing and installing it needs root: run 'apt-get install -y chromium fonts-liberation'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine; refresh them once if the package is unknown.
if ! apt-cache show chromium >/dev/null 2>&1; then
  apt-get update -qq
fi
# fonts-liberation: without a font the pages render as boxes (and screenshots are useless). Another
# installer may hold the dpkg lock (tests install peers in parallel): wait for it rather than fail.
apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 chromium fonts-liberation >/dev/null
echo "chromium: $("$BIN" --version)"
