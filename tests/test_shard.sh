#!/bin/sh
# `squint report --shard K/N` and `squint merge`: the shards of a report joined
# give the unsharded report's CSV and JSON byte for byte (rows and recomputed totals);
# each shard holds every N-th selected tensor; bad shard specs and bad sets of
# shards are refused and write nothing.
set -u
SQUINT=${SQUINT:-./app/squint}
tmp=$(mktemp -d /tmp/sq_shard_sh.XXXXXX)
out=$tmp/out
err=$tmp/err
. "$(dirname "$0")/shlib.sh"

# A checkpoint of 9 tensors in integer dtypes (any random byte is a finite
# value): matrices of several sizes (one of 300 x 256, large enough for the
# windowed percentiles), vectors (kept), and a [5, 7] matrix per-group(32)
# does not fit (incompatible).
C=$tmp/ck.safetensors
hdr='{'
off=0
: >"$tmp/data"
add() { # NAME DTYPE ELEMENT_BYTES SHAPE(json) ELEMENTS
    n=$(($3 * $5))
    [ "$hdr" = '{' ] || hdr="$hdr,"
    hdr="$hdr\"$1\":{\"dtype\":\"$2\",\"shape\":$4,\"data_offsets\":[$off,$((off + n))]}"
    off=$((off + n))
    head -c "$n" /dev/urandom >>"$tmp/data"
}
add w1 I8 1 '[64,96]' 6144
add b1 I8 1 '[96]' 96
add w2 U8 1 '[128,64]' 8192
add big I8 1 '[300,256]' 76800
add w4 I16 2 '[40,32]' 1280
add norm U8 1 '[32]' 32
add odd I8 1 '[5,7]' 35
add w6 I32 4 '[32,64]' 2048
add w7 I8 1 '[96,32]' 3072
hdr="$hdr}"
while [ $((${#hdr} % 8)) -ne 0 ]; do hdr="$hdr "; done
len=${#hdr}
printf "\\$(printf %03o $((len % 256)))\\$(printf %03o $((len / 256)))\\000\\000\\000\\000\\000\\000" >"$C"
printf '%s' "$hdr" >>"$C"
cat "$tmp/data" >>"$C"

CFG="--bits 4 --granularity group --group-size 32 --bits 8 --mode asymmetric --granularity channel"
run "unsharded report" 0 "$SQUINT" report "$C" $CFG --csv "$tmp/full.csv" --json "$tmp/full.json"
has "$out" "TOTAL (9 tensors)"
for k in 1 2 3; do
    run "shard $k/3" 0 "$SQUINT" report "$C" $CFG --shard "$k/3" --csv "$tmp/s$k.csv" --json "$tmp/s$k.json"
done
has "$tmp/s2.csv" ",shard 2/3,9,"
# shard 2 holds tensors 2, 5, 8 (b1, w4, w6), two lines each
[ "$(grep -c '^tensor,' "$tmp/s2.csv")" -eq 6 ] || { echo "FAIL: shard 2 line count"; cat "$tmp/s2.csv"; fail=1; }
grep -q '^tensor,b1,' "$tmp/s2.csv" && grep -q '^tensor,w4,' "$tmp/s2.csv" && grep -q '^tensor,w6,' "$tmp/s2.csv" ||
    { echo "FAIL: shard 2 tensors"; cat "$tmp/s2.csv"; fail=1; }
grep -q '"shard": 2' "$tmp/s2.json" && grep -q '"shards": 3' "$tmp/s2.json" && grep -q '"selected": 9' "$tmp/s2.json" ||
    { echo "FAIL: shard 2 json"; fail=1; }
# every row of a shard is the unsharded report's row
for k in 1 2 3; do
    grep '^tensor,' "$tmp/s$k.csv" | while IFS= read -r l; do
        grep -qxF -- "$l" "$tmp/full.csv" || { echo "FAIL: shard $k row not in the full report: $l"; exit 1; }
    done || fail=1
done
run "merge (shards in any order)" 0 "$SQUINT" merge "$tmp/m.csv" "$tmp/s3.csv" "$tmp/s1.csv" "$tmp/s2.csv"
cmp "$tmp/full.csv" "$tmp/m.csv" && echo "ok: merged CSV = unsharded CSV, byte for byte" ||
    { echo "FAIL: merged CSV differs"; diff "$tmp/full.csv" "$tmp/m.csv"; fail=1; }
run "merge to standard output" 0 "$SQUINT" merge - "$tmp/s1.csv" "$tmp/s2.csv" "$tmp/s3.csv"
cmp "$tmp/full.csv" "$out" || { echo "FAIL: merge to stdout differs"; fail=1; }

run "merge the JSON files" 0 "$SQUINT" merge "$tmp/m.json" "$tmp/s2.json" "$tmp/s3.json" "$tmp/s1.json"
cmp "$tmp/full.json" "$tmp/m.json" && echo "ok: merged JSON = unsharded JSON, byte for byte" ||
    { echo "FAIL: merged JSON differs"; diff "$tmp/full.json" "$tmp/m.json"; fail=1; }
run "merge JSON to standard output" 0 "$SQUINT" merge - "$tmp/s1.json" "$tmp/s2.json" "$tmp/s3.json"
cmp "$tmp/full.json" "$out" || { echo "FAIL: JSON merge to stdout differs"; fail=1; }
run "a JSON shard missing" 2 "$SQUINT" merge "$tmp/x.json" "$tmp/s1.json" "$tmp/s2.json"
has "$err" "shard 3/3 is missing"
run "a JSON shard twice" 2 "$SQUINT" merge "$tmp/x.json" "$tmp/s1.json" "$tmp/s1.json" "$tmp/s2.json" "$tmp/s3.json"
has "$err" "given twice"
run "a CSV given to a JSON merge" 1 "$SQUINT" merge "$tmp/x.json" "$tmp/s1.csv"
has "$err" "not JSON"
[ ! -e "$tmp/x.json" ] || { echo "FAIL: a failed JSON merge wrote its output"; fail=1; }

# with filters, and more shards than tensors (empty shards)
run "filtered unsharded" 0 "$SQUINT" report "$C" --bits 4 --include '^w' --exclude 'w2' --csv "$tmp/f.csv"
for k in 1 2 3 4 5 6; do
    run "filtered shard $k/6" 0 "$SQUINT" report "$C" --bits 4 --include '^w' --exclude 'w2' --shard "$k/6" \
        --csv "$tmp/f$k.csv"
done
run "merge 6 shards, one empty" 0 "$SQUINT" merge "$tmp/fm.csv" "$tmp"/f[1-6].csv
cmp "$tmp/f.csv" "$tmp/fm.csv" && echo "ok: filtered merge = unsharded" ||
    { echo "FAIL: filtered merge differs"; diff "$tmp/f.csv" "$tmp/fm.csv"; fail=1; }
run "one shard of one is the report" 0 "$SQUINT" report "$C" --bits 4 --include '^w' --exclude 'w2' --shard 1/1 \
    --csv "$tmp/one.csv"
cmp "$tmp/f.csv" "$tmp/one.csv" || { echo "FAIL: --shard 1/1 differs"; fail=1; }

# bad sets of shards: nothing written
run "a shard missing" 2 "$SQUINT" merge "$tmp/x.csv" "$tmp/s1.csv" "$tmp/s3.csv"
has "$err" "shard 2/3 is missing"
run "a shard twice" 2 "$SQUINT" merge "$tmp/x.csv" "$tmp/s1.csv" "$tmp/s2.csv" "$tmp/s2.csv" "$tmp/s3.csv"
has "$err" "given twice"
run "shards of different reports" 2 "$SQUINT" merge "$tmp/x.csv" "$tmp/s1.csv" "$tmp/f2.csv" "$tmp/s3.csv"
[ ! -e "$tmp/x.csv" ] || { echo "FAIL: a failed merge wrote its output"; fail=1; }
run "not a report's CSV" 1 "$SQUINT" merge "$tmp/x.csv" "$C"
has "$err" "not a CSV of squint report"
# config_index counts from 1; a line with 0 (a 0-based count) is refused, naming the line
sed '2s/,int4 sym per-group(32),1,/,int4 sym per-group(32),0,/' "$tmp/s1.csv" >"$tmp/z1.csv"
grep -q ',int4 sym per-group(32),0,' "$tmp/z1.csv" || { echo "FAIL: the 0-based line was not made"; fail=1; }
run "a 0-based config_index" 1 "$SQUINT" merge "$tmp/x.csv" "$tmp/z1.csv" "$tmp/s2.csv" "$tmp/s3.csv"
has "$err" "line 2: config_index 0"
run "merge without shards" 2 "$SQUINT" merge "$tmp/x.csv"
run "merge output neither .csv nor .json" 2 "$SQUINT" merge "$tmp/x.txt" "$tmp/s1.csv"
for bad in 0/3 4/3 1/0 3 a/b 1/3x; do
    run "--shard $bad" 2 "$SQUINT" report "$C" --shard "$bad"
    has "$err" "--shard wants K/N"
done
run "--shard without a value" 2 "$SQUINT" report "$C" --shard

rm -rf "$tmp"
exit $fail
