#!/usr/bin/env bash
# Installs Debian's nats-server (the NATS peer of the tests, run with JetStream: -js -sd <dir>).
# Idempotent: does nothing when nats-server is already on PATH. Needs root (apt-get).
set -euo pipefail

if command -v nats-server >/dev/null 2>&1; then
  echo "nats-server: $(command -v nats-server) ($(nats-server --version))"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "nats-server is missing and installing it needs root: run 'apt-get install -y nats-server'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine; refresh them once if the package is unknown.
if ! apt-cache show nats-server >/dev/null 2>&1; then
  apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends nats-server >/dev/null
echo "nats-server: $(command -v nats-server) ($(nats-server --version))"
