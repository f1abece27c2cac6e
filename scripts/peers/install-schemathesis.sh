#!/usr/bin/env bash
# Installs Schemathesis (the OpenAPI fuzzer of test/api/fuzz.test.ts) from PyPI into a virtualenv
# at <repo>/.tools/schemathesis; its command is <repo>/.tools/schemathesis/bin/st. Idempotent: does
# nothing when the pinned version is already there. Needs python3 (3.10+) with venv and PyPI.
set -euo pipefail

VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.tools/schemathesis"
STAMP="$VENV/maestro.version"

if [ -x "$VENV/bin/st" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then
  echo "schemathesis: $VENV/bin/st ($VERSION)"
  exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "schemathesis is missing and installing it needs python3 (3.10+) with venv: install it and re-run $0" >&2
  exit 1
fi
# A half-made venv (an earlier install killed midway) is rebuilt from scratch.
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$VERSION"
echo "$VERSION" > "$STAMP"
echo "schemathesis: $VENV/bin/st ($VERSION)"
