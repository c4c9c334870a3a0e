#!/bin/sh
# Run every tests/lua/test_*.lua through the real squint binary; each test
# prints ok/FAIL lines; any failing file fails the run.
set -u
SQUINT=${SQUINT:-./app/squint}
here=$(cd "$(dirname "$0")" && pwd)
LUA_PATH="$here/?.lua;;"; export LUA_PATH
status=0
for f in "$here"/test_*.lua; do
    name=$(basename "$f")
    if "$SQUINT" "$f"; then echo "PASS: $name"; else echo "FAIL: $name"; status=1; fi
done
exit $status
