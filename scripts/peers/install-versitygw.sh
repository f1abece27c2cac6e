#!/usr/bin/env bash
# Installs versitygw, an S3-compatible gateway (the S3 peer of the tests, run with its posix
# backend), from its Go module into <repo>/.tools/bin. Idempotent: does nothing when the pinned
# version is already there. Needs Go (the module proxy); takes about two minutes cold.
set -euo pipefail

VERSION="${VERSITYGW_VERSION:-v1.8.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN_DIR="$ROOT/.tools/bin"
STAMP="$ROOT/.tools/versitygw.version"

if [ -x "$BIN_DIR/versitygw" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then
  echo "versitygw: $BIN_DIR/versitygw ($VERSION)"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "versitygw is missing and installing it needs Go: install Go 1.24+ and re-run $0" >&2
  exit 1
fi
mkdir -p "$BIN_DIR"
GOBIN="$BIN_DIR" GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install "github.com/versity/versitygw/cmd/versitygw@$VERSION"
echo "$VERSION" > "$STAMP"
echo "versitygw: $BIN_DIR/versitygw ($VERSION)"
