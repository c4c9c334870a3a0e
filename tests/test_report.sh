#!/bin/sh
# `squint report` and `squint quantize`: arguments, outputs, the export listed by `squint info`.
set -u
SQUINT=${SQUINT:-./app/squint}
DATA=$(dirname "$0")/data
tmp=$(mktemp -d /tmp/sq_report_sh.XXXXXX)
out=$tmp/out
err=$tmp/err
. "$(dirname "$0")/shlib.sh"
G=$DATA/good.safetensors
run "report default config" 0 "$SQUINT" report "$G"
has "$out" "int8 sym per-tensor"
has "$out" "TOTAL (11 tensors)"
grep -qE '^a_f32 +\[2, 3\] +F32 +quant ' "$out" || { echo "FAIL: a_f32 row"; cat "$out"; fail=1; }
grep -qE '^i_i64 +\[3\] +I64 +kept ' "$out" || { echo "FAIL: i_i64 row"; fail=1; }
[ -s "$err" ] && { echo "FAIL: progress or notes on a non-terminal stderr"; cat "$err"; fail=1; }
run "two configs, filters, csv and json" 0 "$SQUINT" report "$G" --bits 8 --bits 4 --granularity channel --axis 2 \
    --include '^[a-h]_' --exclude 'bf16' --csv "$tmp/r.csv" --json "$tmp/r.json"
has "$out" "int4 sym per-channel(axis 2)"
has "$out" "TOTAL (7 tensors)"
grep -q c_bf16 "$out" && { echo "FAIL: excluded tensor listed"; fail=1; }
[ "$(wc -l <"$tmp/r.csv")" -eq $((1 + 7 * 2 + 2)) ] || { echo "FAIL: csv line count"; cat "$tmp/r.csv"; fail=1; }
has "$tmp/r.csv" "kind,name,shape,file_type"
# config_index counts from 1 (the first --bits is configuration 1), on tensor and total lines
n1=$(grep -c ',int8 sym per-tensor,1,\(quantized\|kept\|complete\),' "$tmp/r.csv")
n2=$(grep -c ',int4 sym per-channel(axis 2),2,\(quantized\|kept\|complete\),' "$tmp/r.csv")
[ "$n1" -eq 8 ] && [ "$n2" -eq 8 ] || { echo "FAIL: config_index is not 1-based ($n1, $n2)"; cat "$tmp/r.csv"; fail=1; }
has "$tmp/r.json" '"tensors_in_file": 11'
has "$tmp/r.json" '"scale_dtype": "f64"'
has "$tmp/r.json" '"calibration": "minmax"'
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["rows"])==7 and len(d["totals"])==2' \
        "$tmp/r.json" || { echo "FAIL: json does not parse"; fail=1; }
fi
for bad in "--bits 9" "--bits x" "--mode sideways" "--granularity row" "--group-size 0" "--axis 0" \
           "--rounding up" "--frobnicate 1"; do
    # shellcheck disable=SC2086
    run "bad argument $bad" 2 "$SQUINT" report "$G" $bad
    has "$err" "${bad% *}"
done
run "missing value" 2 "$SQUINT" report "$G" --bits
has "$err" "--bits"
has "$err" "(see \`squint report --help\`)"
run "quantize: an option that does not apply" 2 "$SQUINT" quantize "$G" "$tmp/na.safetensors" --group-size 8
has "$err" "(see \`squint quantize --help\`)"
run "bad regex" 2 "$SQUINT" report "$G" --include '(oops'
has "$err" "(oops"
run "missing FILE" 2 "$SQUINT" report
has "$err" "FILE"
run "extra argument" 2 "$SQUINT" report "$G" extra
has "$err" "extra"
run "missing file" 1 "$SQUINT" report "$tmp/nope.safetensors"
has "$err" "nope.safetensors"
run "unwritable csv" 1 "$SQUINT" report "$G" --csv "$tmp/no/dir/r.csv"
has "$err" "$tmp/no/dir/r.csv"
run "report --plot draws SQNR against bits per weight" 0 "$SQUINT" report "$G" --bits 8 --bits 4 --plot "$tmp/p.svg"
has "$tmp/p.svg" ">SQNR against bits per weight, per tensor</text>"
has "$tmp/p.svg" ">int4 sym per-tensor</text>"
[ "$(grep -c '<circle' "$tmp/p.svg")" -ge 4 ] && echo "ok: points and legend drawn" || { echo "FAIL: points"; fail=1; }
run "report --plot as PNG" 0 "$SQUINT" report "$G" --plot "$tmp/p.png"
[ "$(head -c 4 "$tmp/p.png" | tail -c 3)" = "PNG" ] && echo "ok: a PNG file" || { echo "FAIL: not a PNG"; fail=1; }
run "report --plot with another extension" 2 "$SQUINT" report "$G" --plot "$tmp/p.jpg"
has "$err" "a chart is written as .png or .svg"
[ ! -e "$tmp/p.jpg" ] || { echo "FAIL: p.jpg written"; fail=1; }
run "quantize has no --plot" 2 "$SQUINT" quantize "$G" "$tmp/pq.safetensors" --plot "$tmp/p.svg"
run "gguf report" 0 "$SQUINT" report "$DATA/good.gguf"
grep -qE '^q4 +\[3, 32\] +Q4_0 +quant ' "$out" || { echo "FAIL: q4 row"; cat "$out"; fail=1; }
grep -qE '^q4k +\[256\] +Q4_K +kept ' "$out" || { echo "FAIL: q4k row"; cat "$out"; fail=1; }
run "gguf quantize: a k-quant tensor is copied as U8 bytes" 0 "$SQUINT" quantize "$DATA/good.gguf" "$tmp/g.safetensors"
has "$out" "3 quantized, 3 kept, 0 excluded"
run "info on the gguf export" 0 "$SQUINT" info "$tmp/g.safetensors"
grep -qE '^q4k +U8 +\[144\] ' "$out" || { echo "FAIL: q4k not copied as U8 [144]"; cat "$out"; fail=1; }
has "$out" "meta squint.q4k.ggml_type (string) = Q4_K"
has "$out" "meta squint.q4k.shape (string) = [256]"
has "$out" "meta squint.source (string) = good.gguf"
grep -qE '^f16 +F16 +\[4\] ' "$out" || { echo "FAIL: gguf F16 vector not kept as F16"; cat "$out"; fail=1; }
run "quantize" 0 "$SQUINT" quantize "$G" "$tmp/q.safetensors" --bits 4 --granularity channel
has "$out" "9 quantized, 2 kept, 0 excluded"
has "$out" "f16 scales"
run "info on the export" 0 "$SQUINT" info "$tmp/q.safetensors"
has "$out" "a_f32.codes"
grep -qE '^a_f32.scales +F16 +\[2\] ' "$out" || { echo "FAIL: f16 scales by default"; cat "$out"; fail=1; }
grep -q "a_f32.zero_points" "$out" && { echo "FAIL: symmetric export has zero points"; fail=1; }
has "$out" "meta squint.config (string) = int4 sym per-channel(axis 1)"
has "$out" "meta squint.scale_dtype (string) = f16"
has "$out" "meta squint.source (string) = good.safetensors"
has "$out" "meta author (string) = squint tests"
has "$out" "meta squint.a_f32.bits (string) = 4"
# the stored axis is a 0-based file-format field: info says which axis it is, counting from 1
has "$out" "meta squint.a_f32.axis (string) = 0 (0-based in the file: axis 1)"
grep -qE '^j_scalar +F32 ' "$out" || { echo "FAIL: kept scalar not listed"; fail=1; }
grep -qE '^i_i64 +I64 +\[3\] ' "$out" || { echo "FAIL: I64 tensor not kept"; cat "$out"; fail=1; }
run "quantize --exclude keeps the unselected tensors" 0 "$SQUINT" quantize "$G" "$tmp/x.safetensors" --exclude '.'
has "$out" "0 quantized, 0 kept, 11 excluded"
run "info on the excluded export" 0 "$SQUINT" info "$tmp/x.safetensors"
has "$out" "11 tensors"
run "asymmetric export, f32 scales" 0 "$SQUINT" quantize "$G" "$tmp/a.safetensors" --bits 4 --mode asymmetric \
    --granularity channel --scale-dtype f32
run "info on the asymmetric export" 0 "$SQUINT" info "$tmp/a.safetensors"
grep -qE '^a_f32.scales +F32 +\[2\] ' "$out" || { echo "FAIL: f32 scales"; cat "$out"; fail=1; }
grep -qE '^a_f32.zero_points +I8 +\[2\] ' "$out" || { echo "FAIL: I8 zero points"; cat "$out"; fail=1; }
run "quantize: bad --scale-dtype" 2 "$SQUINT" quantize "$G" "$tmp/q3.safetensors" --scale-dtype f8
has "$err" "--scale-dtype"
run "report: --scale-dtype" 0 "$SQUINT" report "$G" --bits 4 --granularity channel --scale-dtype f16
grep -qE '^a_f32 .* 7 B +9\.33$' "$out" || { echo "FAIL: report after bytes with f16 scales"; cat "$out"; fail=1; }
run "report on the export keeps going" 0 "$SQUINT" report "$tmp/q.safetensors"
run "the int8 export" 0 "$SQUINT" quantize "$G" "$tmp/q8.safetensors"
run "re-exporting an int8 export keeps its quantized tensors" 0 "$SQUINT" quantize "$tmp/q8.safetensors" "$tmp/qq.safetensors"
has "$out" "0 quantized"
has "$err" "a_f32.codes: part of a quantized tensor"
run "info on the re-export" 0 "$SQUINT" info "$tmp/qq.safetensors"
grep -qE '^a_f32.codes +I8 +\[2, 3\] ' "$out" || { echo "FAIL: codes of the re-export"; cat "$out"; fail=1; }
run "quantize: one config only" 2 "$SQUINT" quantize "$G" "$tmp/q2.safetensors" --bits 4 --bits 8
run "quantize: csv not an option" 2 "$SQUINT" quantize "$G" "$tmp/q2.safetensors" --csv x
has "$err" "--csv"
run "quantize: missing OUT" 2 "$SQUINT" quantize "$G"
[ -e "$tmp/q2.safetensors" ] && { echo "FAIL: q2 written"; fail=1; }
rm -rf "$tmp"
exit $fail
