#!/bin/sh
# `squint quantize IN OUT.gguf --format TYPE`: llama.cpp's bytes from
# safetensors floats; a GGUF input keeps its metadata and unquantized tensors.
set -u
SQUINT=${SQUINT:-./app/squint}
DATA=$(dirname "$0")/data
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sq_gguf_export.XXXXXX")
out=$tmp/out
err=$tmp/err
. "$(dirname "$0")/shlib.sh"
run "fixture rows as safetensors" 0 "$SQUINT" -e "sq.load('$DATA/ggml/input.npy'):save('$tmp/in.safetensors')"
run "safetensors to q4_k" 0 "$SQUINT" quantize "$tmp/in.safetensors" "$tmp/q4k.gguf" --format q4_k
has "$out" "1 quantized, 0 kept, 0 skipped"
run "info on it" 0 "$SQUINT" info "$tmp/q4k.gguf"
grep -qE '^tensor +Q4_K +\[28, 512\] +8064 bytes$' "$out" || { echo "FAIL: tensor line"; cat "$out"; fail=1; }
has "$out" "meta general.architecture (string) = squint"
has "$out" "meta general.name (string) = in"
has "$out" "meta general.file_type (u32) = 14"
# the data is the file's last 28 x 288 bytes: ggml's own
tail -c 8064 "$tmp/q4k.gguf" | cmp -s - "$DATA/ggml/q4_k.blocks.bin" || { echo "FAIL: not ggml's q4_k bytes"; fail=1; }
run "Q8_0 (upper case)" 0 "$SQUINT" quantize "$tmp/in.safetensors" "$tmp/q8.gguf" --format Q8_0
tail -c 15232 "$tmp/q8.gguf" | cmp -s - "$DATA/ggml/q8_0.blocks.bin" || { echo "FAIL: not ggml's q8_0 bytes"; fail=1; }
run "GGUF to GGUF" 0 "$SQUINT" quantize "$DATA/good.gguf" "$tmp/g.gguf" --format q4_0
has "$out" "2 quantized, 4 kept, 0 skipped"
"$SQUINT" info "$DATA/good.gguf" | grep '^meta' >"$tmp/m1"
"$SQUINT" info "$tmp/g.gguf" | grep '^meta' >"$tmp/m2"
cmp -s "$tmp/m1" "$tmp/m2" || { echo "FAIL: metadata changed"; diff "$tmp/m1" "$tmp/m2"; fail=1; }
run "info on the GGUF output" 0 "$SQUINT" info "$tmp/g.gguf"
grep -qE '^q8 +Q4_0 +\[2, 64\] +72 bytes$' "$out" || { echo "FAIL: q8 line"; cat "$out"; fail=1; }
grep -qE '^q4k +Q4_K +\[256\] +144 bytes$' "$out" || { echo "FAIL: q4k kept"; cat "$out"; fail=1; }
grep -qE '^f32 +F32 +\[2, 3\] +24 bytes$' "$out" || { echo "FAIL: f32 kept"; cat "$out"; fail=1; }
cp "$DATA/good.gguf" "$tmp/good.bin"
run "a GGUF named .bin is still read as GGUF" 0 "$SQUINT" quantize "$tmp/good.bin" "$tmp/h.gguf" --format q4_0
cmp -s "$tmp/g.gguf" "$tmp/h.gguf" || { echo "FAIL: .bin input gave another file"; fail=1; }
run "kept F16 tensor unchanged" 0 "$SQUINT" info "$tmp/g.gguf" f16
"$SQUINT" info "$DATA/good.gguf" f16 >"$tmp/s1"
cmp -s "$out" "$tmp/s1" || { echo "FAIL: f16 statistics differ"; fail=1; }
# every format squint writes, from safetensors and from GGUF, read back by squint
"$SQUINT" info "$DATA/good.gguf" | grep '^meta' >"$tmp/m1"
for f in q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k iq4_nl iq4_xs mxfp4; do
    run "safetensors to $f" 0 "$SQUINT" quantize "$tmp/in.safetensors" "$tmp/s_$f.gguf" --format "$f"
    has "$out" "1 quantized, 0 kept, 0 skipped"
    if [ -f "$DATA/ggml/$f.blocks.bin" ]; then
        n=$(wc -c <"$DATA/ggml/$f.blocks.bin")
        # the data is the last tensor, padded to 32 bytes
        tail -c $(( (n + 31) / 32 * 32 )) "$tmp/s_$f.gguf" | head -c "$n" | cmp -s - "$DATA/ggml/$f.blocks.bin" ||
            { echo "FAIL: not ggml's $f bytes"; fail=1; }
        # sq.load dequantizes them to ggml's values
        run "sq.load $f = ggml's dequantized values" 0 "$SQUINT" -e "
            local a, b = assert(sq.load('$tmp/s_$f.gguf', 'tensor')), sq.load('$DATA/ggml/$f.dequant.npy')
            local ta, tb = a:totable(), b:totable()
            assert(#ta == 28 and #ta[1] == 512)
            for r = 1, 28 do for c = 1, 512 do
                if ta[r][c] ~= tb[r][c] then error(('row %d col %d: %g vs %g'):format(r, c, ta[r][c], tb[r][c])) end
            end end"
    fi
    run "$f tensor loads" 0 "$SQUINT" info "$tmp/s_$f.gguf" tensor
    has "$out" "non-finite 0"
    run "GGUF to $f" 0 "$SQUINT" quantize "$DATA/good.gguf" "$tmp/g_$f.gguf" --format "$f"
    "$SQUINT" info "$tmp/g_$f.gguf" | grep '^meta' >"$tmp/m2"
    cmp -s "$tmp/m1" "$tmp/m2" || { echo "FAIL: $f: metadata changed"; diff "$tmp/m1" "$tmp/m2"; fail=1; }
    # [2, 3] F32 never fits a block: kept, with a note; q8 [2, 64] and q4 [3, 32] fit blocks of 32 only
    has "$err" "note: tensor 'f32': row length 3 is not a multiple of"
    case $f in
    q2_k|q3_k|q4_k|q5_k|q6_k|iq4_xs)
        has "$out" "0 quantized, 6 kept"
        has "$err" "note: tensor 'q4': row length 32 is not a multiple of" ;;
    *)  has "$out" "2 quantized, 4 kept"
        [ "$(grep -c note: "$err")" -eq 1 ] || { echo "FAIL: $f: one note wanted"; cat "$err"; fail=1; } ;;
    esac
    for t in f32 f16 bf16 q8 q4 q4k; do
        run "$f: $t loads" 0 "$SQUINT" info "$tmp/g_$f.gguf" "$t"
    done
    for t in f32 f16 q4k; do
        "$SQUINT" info "$DATA/good.gguf" "$t" >"$tmp/s1"
        "$SQUINT" info "$tmp/g_$f.gguf" "$t" >"$tmp/s2"
        cmp -s "$tmp/s1" "$tmp/s2" || { echo "FAIL: $f: kept $t differs"; diff "$tmp/s1" "$tmp/s2"; fail=1; }
    done
done
"$SQUINT" info "$tmp/s_mxfp4.gguf" >"$out"
grep -qE '^tensor +MXFP4 +\[28, 512\] +7616 bytes$' "$out" || { echo "FAIL: mxfp4 line"; cat "$out"; fail=1; }
has "$out" "meta general.file_type (u32) = 38"
run "no --format" 2 "$SQUINT" quantize "$tmp/in.safetensors" "$tmp/x.gguf"
has "$err" "x.gguf: a GGUF output needs --format"
run "unknown format" 2 "$SQUINT" quantize "$tmp/in.safetensors" "$tmp/x.gguf" --format q9_z
has "$err" "unknown format 'q9_z'"
[ -e "$tmp/x.gguf" ] && { echo "FAIL: x.gguf written"; fail=1; }
rm -rf "$tmp"
exit $fail
