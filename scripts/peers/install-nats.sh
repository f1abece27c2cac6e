#!/usr/bin/env bash
# Installs Debian's nats-server (the NATS peer of the tests, run with JetStream: -js -sd <dir>).
# Idempotent: does nothing when nats-server is already on PATH. Needs root (apt-get).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

if command -v nats-server >/dev/null 2>&1; then
  echo "nats-server: $(command -v nats-server) ($(nats-server --version))"
  exit 0
fi
apt_install nats-server
echo "nats-server: $(command -v nats-server) ($(nats-server --version))"
