#!/usr/bin/env bash
# Installs moto's server (an emulator of the AWS APIs; the tests use its Secrets Manager) from PyPI
# into a virtualenv at <repo>/.tools/moto; its command is <repo>/.tools/moto/bin/moto_server.
# Idempotent (see pip-venv.sh).
set -euo pipefail
VERSION="${MOTO_VERSION:-5.1.0}"
exec bash "$(dirname "${BASH_SOURCE[0]}")/pip-venv.sh" moto "moto[server]==$VERSION" "$VERSION" moto_server 3.9
