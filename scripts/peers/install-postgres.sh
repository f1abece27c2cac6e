#!/usr/bin/env bash
# Installs Debian's PostgreSQL server (the PostgreSQL peer of the tests: a throwaway cluster made
# with initdb in a temp dir and run as the `postgres` user). Idempotent: does nothing when a server
# binary is already under /usr/lib/postgresql/<version>/bin. Needs root (apt-get).
set -euo pipefail

find_bindir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

BINDIR="$(find_bindir)"
if [ -n "$BINDIR" ] && [ -x "$BINDIR/postgres" ] && [ -x "$BINDIR/initdb" ]; then
  echo "postgres: $BINDIR ($("$BINDIR/postgres" --version))"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "PostgreSQL is missing and installing it needs root: run 'apt-get install -y postgresql'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine; refresh them once if the package is unknown.
if ! apt-cache show postgresql >/dev/null 2>&1; then
  apt-get update -qq
fi
# The package's own cluster is not used: the tests make their own.
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
BINDIR="$(find_bindir)"
echo "postgres: $BINDIR ($("$BINDIR/postgres" --version))"
