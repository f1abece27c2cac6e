#!/bin/sh
# The service's tests: the version file is there and the service prints it.
set -e
test -s /app/VERSION
test "$(/bin/sh /app/run.sh)" = "$(cat /app/VERSION)"
echo "tests passed: $(cat /app/VERSION)"
