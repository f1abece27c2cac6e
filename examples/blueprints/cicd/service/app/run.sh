#!/bin/sh
# The service: answers its version.
cat /app/VERSION
