#!/usr/bin/env bash
# Installs Debian's PostgreSQL server (the PostgreSQL peer of the tests: a throwaway cluster made
# with initdb in a temp dir and run as the `postgres` user). Idempotent: does nothing when a server
# binary is already under /usr/lib/postgresql/<version>/bin. Needs root (apt-get).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

# The newest /usr/lib/postgresql/<version>/bin, or nothing (not a failure: pipefail would make ls's
# "no such file" one on a machine without any PostgreSQL).
find_bindir() {
  local dirs=(/usr/lib/postgresql/*/bin)
  [ -d "${dirs[0]}" ] || return 0
  printf '%s\n' "${dirs[@]}" | sort -V | tail -n 1
}

BINDIR="$(find_bindir)"
if [ -n "$BINDIR" ] && [ -x "$BINDIR/postgres" ] && [ -x "$BINDIR/initdb" ]; then
  echo "postgres: $BINDIR ($("$BINDIR/postgres" --version))"
  exit 0
fi
# The package's own cluster is not used: the tests make their own.
apt_install postgresql
BINDIR="$(find_bindir)"
echo "postgres: $BINDIR ($("$BINDIR/postgres" --version))"
