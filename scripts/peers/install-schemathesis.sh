#!/usr/bin/env bash
# Installs Schemathesis (the OpenAPI fuzzer of test/api/fuzz.test.ts) from PyPI into a virtualenv
# at <repo>/.tools/schemathesis; its command is <repo>/.tools/schemathesis/bin/st. Idempotent (see
# pip-venv.sh).
set -euo pipefail
VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
exec bash "$(dirname "${BASH_SOURCE[0]}")/pip-venv.sh" schemathesis "schemathesis==$VERSION" "$VERSION" st 3.10
