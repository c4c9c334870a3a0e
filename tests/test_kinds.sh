#!/bin/sh
# Files that are not what their name says, sharded checkpoints, GGUF tensors
# of unknown types and terminal control characters, through the commands:
# info, report, quantize and the Lua sq.open (fixtures: tests/data/make_kinds.py).
set -u
SQUINT=${SQUINT:-./app/squint}
DATA=$(dirname "$0")/data
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sq_kinds.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
err=$tmp/err
. "$(dirname "$0")/shlib.sh"
# lacks FILE STRING: FILE does not contain STRING
lacks() {
    grep -qF -- "$2" "$1" && { echo "FAIL: '$2' in $1"; cat "$1"; fail=1; }
    return 0
}

npy=$DATA/npy/f4_le_c.npy
run "report on a .npy" 1 "$SQUINT" report "$npy"
has "$err" "f4_le_c.npy: a checkpoint (safetensors or GGUF) is needed; this is a .npy array: use info or --view"
lacks "$err" "header length"
run "quantize on a .npy" 1 "$SQUINT" quantize "$npy" "$tmp/q.safetensors"
has "$err" "this is a .npy array"
run "report on a text file named .npy" 1 "$SQUINT" report "$DATA/kinds/text.npy"
has "$err" "text.npy: not a .npy file: no \\x93NUMPY magic"
run "info on a text file named .npy" 1 "$SQUINT" info "$DATA/kinds/text.npy"
has "$err" "not a .npy file: no \\x93NUMPY magic"
run "info on an .npz" 1 "$SQUINT" info "$DATA/kinds/arrays.npz"
has "$err" "arrays.npz: .npz archives are not read: unzip them"
run "report on an .npz" 1 "$SQUINT" report "$DATA/kinds/arrays.npz"
has "$err" ".npz archives are not read"
run "big-endian GGUF" 1 "$SQUINT" info "$DATA/kinds/big_endian.gguf"
has "$err" "big-endian GGUF is not supported"

idx=$DATA/shard/model.safetensors.index.json
run "info on a sharded index" 0 "$SQUINT" info "$idx"
has "$out" "(2 shards): 4 tensors"
has "$out" "model-00002-of-00002.safetensors"
grep -qE '^t2 +F32 +\[3, 2\] +24 bytes$' "$out" || { echo "FAIL: t2 line"; fail=1; }
has "$out" "meta total_size (json) = 84"
grep '^t[0-9]' "$out" >"$tmp/sharded"
run "info on the unsharded file" 0 "$SQUINT" info "$DATA/shard/whole.safetensors"
grep '^t[0-9]' "$out" >"$tmp/whole"
cmp -s "$tmp/sharded" "$tmp/whole" || { echo "FAIL: sharded listing differs"; fail=1; }
run "info on the directory" 0 "$SQUINT" info "$DATA/shard"
has "$out" "(2 shards): 4 tensors"
run "tensor statistics across shards" 0 "$SQUINT" info "$idx" t3
has "$out" "min 30"
has "$out" "max 32"
has "$out" "mean 31"
run "report on a sharded checkpoint" 0 "$SQUINT" report "$idx"
has "$out" "TOTAL (4 tensors)"
run "quantize a sharded checkpoint" 0 "$SQUINT" quantize "$idx" "$tmp/q.safetensors"
run "its output lists every tensor" 0 "$SQUINT" info "$tmp/q.safetensors"
for t in t0 t1 t2 t3; do has "$out" "$t"; done
run "index naming a missing shard" 1 "$SQUINT" info "$DATA/shard/bad_missing_shard.index.json"
has "$err" "bad_missing_shard.index.json: shard 'model-00003-of-00003.safetensors'"
run "index naming a tensor its shard lacks" 1 "$SQUINT" report "$DATA/shard/bad_missing_tensor.index.json"
has "$err" "tensor 'zz' is not in shard 'model-00002-of-00002.safetensors'"
printf 'local ck = assert(sq.open(arg[1]))\nprint("count", #ck, ck:tensor("t1"):max())\n' >"$tmp/open.lua"
run "Lua sq.open on an index" 0 "$SQUINT" "$tmp/open.lua" "$idx"
has "$out" "count	4	11.5"

gg=$DATA/kinds/unknown_types.gguf
run "GGUF with an unknown tensor type lists" 0 "$SQUINT" info "$gg"
grep -qE '^odd +type 99 +\[2, 8\] +\? bytes \(unsupported type 99\)$' "$out" || { echo "FAIL: odd line"; fail=1; }
grep -qE '^mx +MXFP4 +\[2, 64\] +68 bytes$' "$out" || { echo "FAIL: mx line"; fail=1; }
run "the other tensors load" 0 "$SQUINT" info "$gg" b
has "$out" "max 5"
run "the unknown one is refused" 1 "$SQUINT" info "$gg" odd
has "$err" "tensor 'odd': unsupported ggml type 99"
run "report goes on past it (exit 1: tensors not processed)" 1 "$SQUINT" report "$gg"
has "$out" "TOTAL (4 tensors)"
has "$out" ", 1 failed"
has "$err" "unsupported ggml type 99"
has "$err" "1 tensor could not be processed"

esc=$(printf '\033')
run "control characters in names are escaped" 0 "$SQUINT" info "$DATA/kinds/ctl_name.safetensors"
has "$out" 'w\x1b]0;pwned\x07'
lacks "$out" "$esc"
run "and in the report's table" 0 "$SQUINT" report "$DATA/kinds/ctl_name.safetensors"
has "$out" 'w\x1b]0;pwned\x07'
lacks "$out" "$esc"
lacks "$err" "$esc"
run "and in GGUF names and metadata" 0 "$SQUINT" info "$DATA/kinds/long_meta.gguf"
has "$out" 'ctl\x1b[2Jname'
has "$out" 'meta ctl (string) = x\x1b[31my\nz'
lacks "$out" "$esc"
grep -q "^meta tokenizer.chat_template (string) = abcdefghijklmnopqrstuvwxyz.*ijkl\$" "$out" || { echo "FAIL: template"; fail=1; }
len=$(grep '^meta tokenizer.chat_template' "$out" | sed 's/^.* = //' | tr -d '\n' | wc -c)
[ "$len" -eq 1000 ] || { echo "FAIL: chat template printed with $len characters, not 1000"; fail=1; }
exit $fail
