#!/bin/sh
# Run every tests/lua/test_*.lua through the real squint binary; each test
# prints ok/FAIL lines; any failing file fails the run.
set -u
SQUINT=${SQUINT:-./app/squint}
case $SQUINT in /*) ;; *) SQUINT=$(pwd)/$SQUINT ;; esac
here=$(cd "$(dirname "$0")" && pwd)
# the tests run in a scratch directory: a relative path a test (or the fuzz
# test's random strings) writes to lands there, not in the source tree
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
LUA_PATH="$here/?.lua;;"; export LUA_PATH
status=0
for f in "$here"/test_*.lua; do
    name=$(basename "$f")
    if "$SQUINT" "$f"; then echo "PASS: $name"; else echo "FAIL: $name"; status=1; fi
done
exit $status
