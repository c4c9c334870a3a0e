#!/bin/sh
# `squint info`: listings of the fixtures, per-tensor statistics, broken files.
set -u
SQUINT=${SQUINT:-./app/squint}
DATA=$(dirname "$0")/data
out=/tmp/sq_info_out.$$
err=/tmp/sq_info_err.$$
. "$(dirname "$0")/shlib.sh"
run "safetensors listing" 0 "$SQUINT" info "$DATA/good.safetensors"
has "$out" "11 tensors"
grep -qE '^a_f32 +F32 +\[2, 3\] +24 bytes$' "$out" || { echo "FAIL: a_f32 line"; fail=1; }
grep -qE '^i_i64 +I64 +\[3\] +24 bytes$' "$out" || { echo "FAIL: i_i64 line"; fail=1; }
run "gguf listing with metadata keys" 0 "$SQUINT" info "$DATA/good.gguf"
grep -qE '^q4 +Q4_0 +\[3, 32\] +54 bytes$' "$out" || { echo "FAIL: q4 line"; fail=1; }
has "$out" "meta general.architecture (string) = llama"
has "$out" "meta test.arr_i32 (array[i32]) = [1, 2, 3]"
run "tensor statistics" 0 "$SQUINT" info "$DATA/good.safetensors" a_f32
has "$out" "min -1"
has "$out" "max 1.5"
has "$out" "mean 0.25"
has "$out" "non-finite 0"
run "gguf Q8_0 statistics" 0 "$SQUINT" info "$DATA/good.gguf" q8
has "$out" "non-finite 0"
run "npy file" 0 "$SQUINT" info "$DATA/npy/f4_le_c.npy"
has "$out" "[2, 3, 4]"
run "npy statistics" 0 "$SQUINT" info "$DATA/npy/f4_le_c.npy" x
has "$out" "tensor x"
has "$out" "min -2.5"
has "$out" "max 3.25"
has "$out" "mean 0.375"
run "npy with short data: header listed, then the error" 1 "$SQUINT" info "$DATA/bad/npy_truncated_data.npy"
grep -qE '^- +f32 +\[4\] +16 bytes$' "$out" || { echo "FAIL: truncated npy line"; fail=1; }
has "$err" "npy_truncated_data.npy: truncated data"
run "unknown tensor" 1 "$SQUINT" info "$DATA/good.gguf" nope
has "$err" "no tensor named 'nope'"
run "unloadable dtype" 1 "$SQUINT" info "$DATA/kinds/unknown_types.gguf" odd
has "$err" "unsupported ggml type 99"
run "MXFP4 tensor statistics" 0 "$SQUINT" info "$DATA/kinds/unknown_types.gguf" mx
has "$out" "non-finite 0"
run "missing file" 1 "$SQUINT" info "$DATA/does-not-exist.safetensors"
has "$err" "No such file"
run "usage" 2 "$SQUINT" info
for f in st_header_huge.safetensors st_overlap.safetensors gg_key_too_long.gguf gg_misaligned.gguf \
         gg_bad_magic.gguf st_duplicate.safetensors; do
    run "broken $f" 1 "$SQUINT" info "$DATA/bad/$f"
    has "$err" "$f"
    [ -s "$out" ] && { echo "FAIL: $f printed to stdout"; fail=1; }
done
rm -f "$out" "$err"
exit $fail
