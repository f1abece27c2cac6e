#!/usr/bin/env bash
# Installs moto's server (an emulator of the AWS APIs; the tests use its Secrets Manager) from PyPI
# into a virtualenv at <repo>/.tools/moto; its command is <repo>/.tools/moto/bin/moto_server.
# Idempotent: does nothing when the pinned version is already there. Needs python3 (3.9+) with
# venv and PyPI.
set -euo pipefail

VERSION="${MOTO_VERSION:-5.1.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.tools/moto"
STAMP="$VENV/maestro.version"

if [ -x "$VENV/bin/moto_server" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then
  echo "moto: $VENV/bin/moto_server ($VERSION)"
  exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "moto is missing and installing it needs python3 (3.9+) with venv: install it and re-run $0" >&2
  exit 1
fi
# A half-made venv (an earlier install killed midway) is rebuilt from scratch.
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$VERSION"
echo "$VERSION" > "$STAMP"
echo "moto: $VENV/bin/moto_server ($VERSION)"
