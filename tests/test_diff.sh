#!/bin/sh
# `squint diff REF OTHER [--map FILE.lua] [--csv OUT] [--json OUT]`: rows,
# totals and unmatched names on fixtures with known perturbations
# (tests/data/diff/make_diff.py), a shape mismatch as a row, the Llama GGUF
# map undoing llama.cpp's Q/K permutation exactly, a sharded set, a squint
# export dequantized, usage errors.
set -u
SQUINT=${SQUINT:-./app/squint}
SRC=$(cd "$(dirname "$0")/.." && pwd)
D=$SRC/tests/data/diff
MAP=$SRC/scripts/maps/llama_gguf.lua
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sq_diff.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
err=$tmp/err
. "$SRC/tests/shlib.sh"

# field FILE KEY COLUMN: column COLUMN of the CSV line starting with "KEY," (a quoted shape
# "[a, b]" counts as one field: its ", " never separates fields)
field() {
    grep "^$2," "$1" | head -1 | sed 's/, /;/g' | cut -d, -f"$3"
}
# near A B TOL: |A - B| <= TOL
near() {
    awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }' ||
        { echo "FAIL: $1 is not within $3 of $2"; fail=1; }
}
eq() { [ "$1" = "$2" ] || { echo "FAIL: '$1' != '$2' ($3)"; fail=1; }; }

# ---- known perturbations: a[3, 6] + 0.5, b equal, c + 0.25 everywhere, s [2, 4] vs [4, 2] ----
run "shape mismatch: a row, exit 1" 1 "$SQUINT" diff "$D/ref.safetensors" "$D/other.safetensors" --csv "$tmp/r.csv" \
    --json "$tmp/r.json"
has "$err" "squint diff: s: shapes differ: the reference is [2, 4], the other [4, 2] (dimension 1: 2 vs 4)"
has "$err" "1 pair could not be compared"
has "$out" "4 matched, 1 failed, 1 only in $D/ref.safetensors, 1 only in $D/other.safetensors"
has "$out" "only in $D/ref.safetensors: r_only"
has "$out" "only in $D/other.safetensors: o_only"
grep -q '^s  .*shape$' "$out" || { echo "FAIL: no shape row in the table"; cat "$out"; fail=1; }
C=$tmp/r.csv
has "$C" "kind,name,other_name,shape,other_shape,ref_type,other_type,numel,status,sqnr_db,rmse,max_abs_err"
# a: 32 ones, one element off by 0.5: sum e^2 = 0.25, SQNR = 10 log10(32 / 0.25), max 0.5, mean 0.5/32, p50 = p95 = 0
near "$(field "$C" tensor,a 10)" 21.0720997 1e-6
eq "$(field "$C" tensor,a 12)" 0.5 "a max"
eq "$(field "$C" tensor,a 13)" 0.015625 "a mean"
eq "$(field "$C" tensor,a 14),$(field "$C" tensor,a 15)" "0,0" "a percentiles"
eq "$(field "$C" tensor,b 10),$(field "$C" tensor,b 16)" "inf,1" "b identical"
# c: 2 -> 2.25: every |e| 0.25, SQNR 20 log10(8), cosine 1
eq "$(field "$C" tensor,c 11),$(field "$C" tensor,c 14),$(field "$C" tensor,c 15)" "0.25,0.25,0.25" "c"
near "$(field "$C" tensor,c 10)" 18.0617997 1e-6
eq "$(field "$C" tensor,s 9)" shape "s status"
has "$C" '"shapes differ: the reference is [2, 4], the other [4, 2] (dimension 1: 2 vs 4)"'
# total pooled over a, b, c: sum x^2 = 32 + 204 + 24, sum e^2 = 0.25 + 0.375
near "$(field "$C" total 10)" "$(awk 'BEGIN { printf "%.9f", 10 * log(260 / 0.625) / log(10) }')" 1e-6
eq "$(field "$C" total 8)" 46 "total numel"
eq "$(field "$C" total 12)" 0.5 "total max"
has "$C" "only_ref,r_only,"
has "$C" "only_other,o_only,o_only,"
has "$tmp/r.json" '"only_in_ref": ['
has "$tmp/r.json" '"failed": 1'
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["rows"])==4 and d["rows"][1]["sqnr_db"] is None and d["only_in_other"][0]["name"]=="o_only"' \
        "$tmp/r.json" || { echo "FAIL: JSON content"; fail=1; }
fi

# a map that drops s: everything compares, exit 0; a renamed tensor is listed under its new name
printf 'return function(name) if name == "s" then return nil end if name == "o_only" then return "renamed" end return name end\n' >"$tmp/drop.lua"
run "a map dropping the mismatched tensor" 0 "$SQUINT" diff "$D/ref.safetensors" "$D/other.safetensors" --map "$tmp/drop.lua" --csv -
has "$err" "3 matched, 0 failed, 2 only in" # with --csv - the table goes to standard error
has "$err" ", 1 dropped by the map"
has "$err" "o_only (as renamed)"
head -1 "$out" | grep -q "^kind," || { echo "FAIL: stdout does not start with the CSV header"; head -3 "$out"; fail=1; }
has "$out" "only_other,renamed,o_only,"
has "$out" "only_ref,s,"

# ---- the Llama GGUF map: names and the Q/K permutation undone exactly ----
run "GGUF against the Hugging Face names through llama_gguf.lua" 0 "$SQUINT" diff "$D/hf.safetensors" "$D/llama.gguf" \
    --map "$MAP" --csv "$tmp/g.csv"
has "$out" "21 matched, 0 failed, 0 only in"
eq "$(grep -c '^tensor,.*,ok,inf,0,0,0,0,0,1,$' "$tmp/g.csv")" 21 "every pair exact"
eq "$(field "$tmp/g.csv" tensor,model.layers.1.self_attn.k_proj.weight 3)" blk.1.attn_k.weight "k's GGUF name"
eq "$(field "$tmp/g.csv" total 10)" inf "total SQNR"
# names only (no tensor function): Q and K differ, so the permutation is what makes them equal
printf 'return dofile("%s").name\n' "$MAP" >"$tmp/names.lua"
run "names alone leave Q and K permuted" 0 "$SQUINT" diff "$D/hf.safetensors" "$D/llama.gguf" --map "$tmp/names.lua" --csv "$tmp/n.csv"
eq "$(grep -c '^tensor,.*,ok,inf,' "$tmp/n.csv")" 17 "the other 17 exact"
for t in q_proj k_proj; do
    for l in 0 1; do
        s=$(field "$tmp/n.csv" "tensor,model.layers.$l.self_attn.$t.weight" 10)
        [ "$s" != inf ] || { echo "FAIL: layer $l $t equal without the permutation"; fail=1; }
    done
done
run "without a map nothing matches" 0 "$SQUINT" diff "$D/hf.safetensors" "$D/llama.gguf"
has "$out" "0 matched, 0 failed, 21 only in"
run "a checkpoint without head_count as OTHER: Q and K rows fail" 1 "$SQUINT" diff "$D/hf.safetensors" "$D/hf.safetensors" \
    --map "$MAP"
has "$err" "model.layers.0.self_attn.q_proj.weight: the map's tensor function failed: the GGUF has no llama.attention.head_count (is it second on the command line?)"
has "$out" "21 matched, 4 failed"

# ---- a sharded set against the whole file; a squint export dequantized ----
run "sharded set against the whole file" 0 "$SQUINT" diff "$SRC/tests/data/shard/whole.safetensors" \
    "$SRC/tests/data/shard/model.safetensors.index.json" --csv "$tmp/s.csv"
eq "$(grep -c '^tensor,' "$tmp/s.csv")" "$(grep -c '^tensor,.*,ok,inf,' "$tmp/s.csv")" "shards equal"
run "quantize (int4 per-channel, f64 scales)" 0 "$SQUINT" quantize "$D/hf.safetensors" "$tmp/q.safetensors" --bits 4 \
    --granularity channel --scale-dtype f64
run "report of the same configuration" 0 "$SQUINT" report "$D/hf.safetensors" --bits 4 --granularity channel --csv "$tmp/rep.csv"
run "diff against the export" 0 "$SQUINT" diff "$D/hf.safetensors" "$tmp/q.safetensors" --csv "$tmp/q.csv"
has "$out" "21 matched, 0 failed, 0 only in"
eq "$(field "$tmp/q.csv" tensor,model.layers.0.mlp.up_proj.weight 7)" squint "export type"
for t in model.layers.0.mlp.up_proj.weight lm_head.weight model.layers.1.self_attn.q_proj.weight; do
    # the export dequantizes to report's float32 values; diff forms e in double, report in float32
    near "$(field "$tmp/q.csv" "tensor,$t" 10)" "$(field "$tmp/rep.csv" "tensor,$t" 11)" 1e-4
    eq "$(field "$tmp/q.csv" "tensor,$t" 12)" "$(field "$tmp/rep.csv" "tensor,$t" 13)" "$t max"
done

# ---- a GGUF block type dequantized: llama.cpp's Q8_0 of the ggml fixture rows ----
run "fixture rows as safetensors" 0 "$SQUINT" -e "sq.load('$SRC/tests/data/ggml/input.npy'):save('$tmp/in.safetensors', 'w')"
run "to Q8_0 GGUF" 0 "$SQUINT" quantize "$tmp/in.safetensors" "$tmp/q8.gguf" --format q8_0
run "diff against the Q8_0 GGUF" 0 "$SQUINT" diff "$tmp/in.safetensors" "$tmp/q8.gguf" --csv "$tmp/q8.csv"
eq "$(field "$tmp/q8.csv" tensor,w 7)" Q8_0 "Q8_0 type"
run "sq.diff of the loaded pair" 0 "$SQUINT" -e "print(string.format('%.9g', sq.diff(sq.open('$tmp/in.safetensors'):tensor('w'), sq.open('$tmp/q8.gguf'):tensor('w')).sqnr_db))"
eq "$(field "$tmp/q8.csv" tensor,w 10)" "$(cat "$out")" "Q8_0 SQNR as sq.diff"
awk -v s="$(cat "$out")" 'BEGIN { exit !(s > 40 && s < 90) }' || { echo "FAIL: Q8_0 SQNR $(cat "$out") not finite and plausible"; fail=1; }
run "a GGUF with block types against itself" 0 "$SQUINT" diff "$SRC/tests/data/good.gguf" "$SRC/tests/data/good.gguf"
has "$out" "6 matched, 0 failed"
grep -qE '^q4k +\[256\] +Q4_K +Q4_K +inf ' "$out" || { echo "FAIL: Q4_K row"; cat "$out"; fail=1; }

# ---- report --activations: the output SQNR of sq.layer_error per weight with inputs ----
run "report --activations (one input does not fit: exit 1)" 1 "$SQUINT" report "$D/hf.safetensors" --bits 8 --bits 4 \
    --granularity channel --activations "$D/acts.safetensors"
has "$out" "3 weights with activations"
has "$err" "model.layers.1.mlp.up_proj.weight: the input has 7 features (its dimension 2) but the weight takes 8"
run "the same figures from sq.layer_error" 0 "$SQUINT" -e "
local ck, acts = sq.open('$D/hf.safetensors'), sq.open('$D/acts.safetensors')
local function row(w, x, tokens)
  local W, X = ck:tensor(w), acts:tensor(x)
  if X.ndim == 3 then -- [2, 2, 12] as [4, 12]
    local v = {} for _, a in ipairs(X:totable()) do for _, r in ipairs(a) do v[#v + 1] = r end end
    X = sq.tensor(v)
  end
  local a, b = sq.layer_error(W, X, {bits = 8}), sq.layer_error(W, X, {bits = 4, granularity = 'channel'})
  print(string.format('%s %d %.2f %.2f %.2f %.2f', w, tokens, a.weight.sqnr_db, a.sqnr_db, b.weight.sqnr_db, b.sqnr_db))
end
row('model.layers.0.mlp.up_proj.weight', 'model.layers.0.mlp.up_proj.weight.input', 3)
row('model.layers.0.mlp.down_proj.weight', 'model.layers.0.mlp.down_proj.input', 4)"
cp "$out" "$tmp/want"
"$SQUINT" report "$D/hf.safetensors" --bits 8 --bits 4 --granularity channel --activations "$D/acts.safetensors" 2>/dev/null |
    grep '^model\.layers\.0\.mlp\.\(up\|down\)_proj\.weight  *[0-9]' | tr -s ' ' >"$tmp/got"
eq "$(wc -l <"$tmp/want")" 2 "two reference rows"
cmp -s "$tmp/want" "$tmp/got" || { echo "FAIL: report --activations figures"; cat "$tmp/want" "$tmp/got"; fail=1; }
run "--activations: a missing file before any work" 1 "$SQUINT" report "$D/hf.safetensors" --activations "$tmp/none.safetensors"
has "$err" "none.safetensors"
run "quantize has no --activations" 2 "$SQUINT" quantize "$D/hf.safetensors" "$tmp/x.safetensors" --activations "$D/acts.safetensors"

# ---- usage and input errors ----
run "no arguments" 2 "$SQUINT" diff
has "$err" "missing REF and OTHER arguments"
run "one argument" 2 "$SQUINT" diff "$D/ref.safetensors"
has "$err" "missing OTHER argument"
run "unknown option" 2 "$SQUINT" diff "$D/ref.safetensors" "$D/other.safetensors" --bits 4
has "$err" "unknown option '--bits'"
run "--csv without a value" 2 "$SQUINT" diff "$D/ref.safetensors" "$D/other.safetensors" --csv
run "--csv not .csv" 2 "$SQUINT" diff "$D/ref.safetensors" "$D/other.safetensors" --csv "$tmp/x.txt"
run "--csv over an input" 2 "$SQUINT" diff "$D/ref.safetensors" "$D/other.safetensors" --csv "$D/ref.safetensors"
run "missing checkpoint" 1 "$SQUINT" diff "$D/ref.safetensors" "$tmp/nope.safetensors"
has "$err" "nope.safetensors"
printf 'return 42\n' >"$tmp/bad.lua"
run "a map returning a number" 1 "$SQUINT" diff "$D/ref.safetensors" "$D/other.safetensors" --map "$tmp/bad.lua"
has "$err" "must return a function or a table"
printf 'return function(n) return "same" end\n' >"$tmp/clash.lua"
run "a map sending two tensors to one name" 1 "$SQUINT" diff "$D/ref.safetensors" "$D/other.safetensors" --map "$tmp/clash.lua"
has "$err" "both map to same"
printf 'return {tensor = function(n, t) return 1 end}\n' >"$tmp/badt.lua"
run "a tensor function returning a number: failed rows" 1 "$SQUINT" diff "$D/ref.safetensors" "$D/other.safetensors" --map "$tmp/badt.lua"
has "$err" "the map's tensor function returned a number, not a tensor"
run "diff --help" 0 "$SQUINT" diff --help
for o in $(grep -o '"--[a-z][a-z-]*"' "$SRC/app/cmd_diff.c" | tr -d '"' | sort -u); do
    grep -qF -- "$o" "$out" || { echo "FAIL: diff --help lacks $o"; fail=1; }
    grep -qF -- "$(echo "$o" | sed 's/-/\\-/g')" "$SRC/doc/squint.1" || { echo "FAIL: squint.1 lacks $o"; fail=1; }
done
exit $fail
