#!/bin/sh
# Stock lua5.4 can `require "squint"` from the build tree (.libs/squint.so).
# Skipped (exit 77) when lua5.4 is missing or when the module is built with
# sanitizers, whose runtime a stock interpreter does not load first.
set -u
dir=${SQUINT_MODULE_DIR:-./.libs}
LUA=${LUA:-lua5.4}
command -v "$LUA" >/dev/null 2>&1 || { echo "SKIP: $LUA not found"; exit 77; }
[ -f "$dir/squint.so" ] || { echo "FAIL: $dir/squint.so not built"; exit 1; }
if nm -D "$dir/squint.so" 2>/dev/null | grep -q '__asan_\|__ubsan_'; then
    echo "SKIP: squint.so is built with sanitizers; stock $LUA cannot load it"; exit 77
fi
out=$("$LUA" -e "package.cpath = '$dir/?.so;' .. package.cpath" -e '
local sq = require "squint"
assert(type(sq.quantize) == "function", "sq.quantize")
local q = sq.quantize(sq.tensor{127, 2.5, -2.5}, {bits = 8})
local c = q:codes()
assert(q:scales()[1] == 1 and c:get(1) == 127 and c:get(2) == 3 and c:get(3) == -3, "codes")
local ok, err = pcall(function() return sq.quantize(sq.tensor{1}, {bitz = 1}) end)
assert(not ok and err:find("bad argument #2 to .quantize. %(unknown key .bitz.%)"), err)
print("module ok", sq.version)' 2>&1)
rc=$?
if [ $rc -eq 0 ]; then echo "ok: stock $LUA requires squint: $out"; exit 0; fi
echo "FAIL: stock $LUA cannot use the module: $out"; exit 1
