#!/usr/bin/env bash
# Installs one PyPI tool into its own virtualenv at <repo>/.tools/<name>, for the test peers and
# tools that come from PyPI (the install-*.sh scripts that call it name the tool and its pin).
# Idempotent: does nothing when the pinned version's command is already there; a half-made venv
# (an install killed midway) is rebuilt from scratch. Needs python3 with venv and PyPI.
#
# Usage: pip-venv.sh NAME REQUIREMENT VERSION COMMAND MIN_PYTHON
#   e.g. pip-venv.sh moto 'moto[server]==5.1.0' 5.1.0 moto_server 3.9
set -euo pipefail

NAME="$1" REQUIREMENT="$2" VERSION="$3" COMMAND="$4" MIN_PYTHON="$5"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$ROOT/.tools/locks"
# One install of a venv at a time: two test files, or a test and scripts/build-ahead.mjs, may ask at
# once, and the second waits here, then finds the venv made.
exec 9>"$ROOT/.tools/locks/venv-$NAME.flock"
flock 9
# The venv's scripts name its python by absolute path: use .tools' physical path, so a venv made
# through a symlinked .tools (a git worktree sharing one) does not name a path that may go away.
VENV="$(cd "$ROOT/.tools" && pwd -P)/$NAME"
STAMP="$VENV/maestro.version"

# Whether the command's interpreter (its #! line) is still there: a venv whose recorded path is
# gone fails with ENOENT, and is rebuilt.
runnable() {
  local shebang
  shebang="$(head -n 1 "$VENV/bin/$COMMAND" 2>/dev/null)" || return 1
  [ -x "${shebang#\#!}" ]
}

if [ -x "$VENV/bin/$COMMAND" ] && runnable && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then
  echo "$NAME: $VENV/bin/$COMMAND ($VERSION)"
  exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "$NAME is missing and installing it needs python3 ($MIN_PYTHON+) with venv: install it and re-run $0" >&2
  exit 1
fi
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$REQUIREMENT"
echo "$VERSION" > "$STAMP"
echo "$NAME: $VENV/bin/$COMMAND ($VERSION)"
