#!/bin/sh
# `--format NAME` and the options that apply (issue 14) on the command line:
# report and quantize parse formats into configurations and refuse, by name,
# options a configuration does not use; axes in messages are 1-based.
# `squint report --format` measures formats and `squint quantize --format`
# exports them to safetensors: the reloaded tensor has the codes and
# dequantized values sq.quantize gives in memory.
set -u
SQUINT=${SQUINT:-./app/squint}
DATA=$(dirname "$0")/data
tmp=$(mktemp -d /tmp/sq_formats_sh.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
err=$tmp/err
. "$(dirname "$0")/shlib.sh"
G=$DATA/good.safetensors

run "unknown format" 2 "$SQUINT" report "$G" --format q4_z
has "$err" "squint report: unknown --format 'q4_z' (known: int, q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k, iq4_nl, iq4_xs, fp8_e4m3, fp8_e5m2, fp4_e2m1, nf4, mxfp4, mxfp8, nvfp4)"
run "--format without a value" 2 "$SQUINT" report "$G" --format
has "$err" "option '--format' needs a value"
run "each --format starts a configuration" 0 "$SQUINT" report "$G" --include "^j_scalar$" --format q4_k --format nf4 --double-quant \
    --format fp8_e4m3 --granularity channel --axis 2 --bits 4
has "$out" "| q4_k "
has "$out" "| nf4 dq "
has "$out" "| fp8_e4m3 per-channel(axis 2) "
has "$out" "| int4 sym per-tensor "
run "the JSON configuration names the format" 0 "$SQUINT" report "$G" --include "^j_scalar$" --format q4_k --bits 4 \
    --json "$tmp/r.json"
has "$tmp/r.json" '"format": "q4_k"'
has "$tmp/r.json" '"format": "int"'
run "options before --format stay in its configuration" 0 "$SQUINT" report "$G" --include "^j_scalar$" --group-size 128 --format nf4
has "$out" "| nf4 per-group(128) "

# a format fixes the other options: the same value is fine, another is an error naming the option
run "--mode a format fixes" 2 "$SQUINT" report "$G" --format q4_k --mode symmetric
has "$err" "squint report: --mode symmetric does not apply to --format q4_k (it fixes --mode asymmetric)"
run "--mode with the format's own value" 0 "$SQUINT" report "$G" --format q4_k --mode asymmetric --granularity group
has "$out" "| q4_k "
run "--group-size of a fixed-block format" 2 "$SQUINT" report "$G" --format q8_0 --group-size 64
has "$err" "--group-size 64 does not apply to --format q8_0 (it fixes --group-size 32)"
run "--granularity of nf4" 2 "$SQUINT" report "$G" --format nf4 --granularity tensor
has "$err" "--granularity tensor does not apply to --format nf4 (it fixes --granularity group)"
run "--rounding" 2 "$SQUINT" report "$G" --format mxfp4 --rounding even
has "$err" "--rounding even does not apply to --format mxfp4 (it fixes --rounding away)"
run "--zero-in-range" 2 "$SQUINT" report "$G" --format q4_1 --zero-in-range
has "$err" "--zero-in-range does not apply to --format q4_1"
run "--calibration" 2 "$SQUINT" report "$G" --format nvfp4 --calibration mse
has "$err" "--calibration mse does not apply to --format nvfp4 (it fixes --calibration minmax)"
run "--double-quant of another format" 2 "$SQUINT" report "$G" --format q8_0 --double-quant
has "$err" "--double-quant applies to --format nf4 only, not q8_0"
run "--double-quant without a format" 2 "$SQUINT" report "$G" --bits 4 --double-quant
has "$err" "--double-quant applies to --format nf4 only, not int"
run "--scale-dtype with formats only" 2 "$SQUINT" report "$G" --format q4_k --scale-dtype f16
has "$err" "--scale-dtype f16 does not apply to --format q4_k (it stores its own scales: 6-bit scale + min per 32, f16 d + dmin per 256)"
run "--scale-dtype f32 with fp8 (its scales are fp32)" 0 "$SQUINT" report "$G" --include "^j_scalar$" --format fp8_e4m3 --scale-dtype f32
run "--scale-dtype with an INT configuration beside a format" 0 "$SQUINT" report "$G" --include "^j_scalar$" --format q4_k --bits 4 \
    --scale-dtype f16

# issue 14: options that do not apply to INT configurations
run "--group-size without group" 2 "$SQUINT" report "$G" --bits 4 --group-size 32
has "$err" "squint report: --group-size applies to --granularity group only (this configuration is per-tensor)"
run "--axis without channel" 2 "$SQUINT" report "$G" --bits 4 --granularity group --axis 2
has "$err" "squint report: --axis applies to --granularity channel only (this configuration is per-group)"
run "--axis before --granularity channel" 0 "$SQUINT" report "$G" --axis 2 --granularity channel
has "$out" "int8 sym per-channel(axis 2)"
run "an axis out of range is named 1-based" 0 "$SQUINT" report "$G" --granularity channel --axis 3
has "$err" "axis 3 is out of range for a tensor of 2 dimensions (axes 1..2)"
run "quantize: --axis without channel" 2 "$SQUINT" quantize "$G" "$tmp/o.safetensors" --axis 2
has "$err" "squint quantize: --axis applies to --granularity channel only"

# quantize: one configuration; a format name that is not one is refused (GGUF types only for .gguf)
run "quantize: two formats" 2 "$SQUINT" quantize "$G" "$tmp/o.safetensors" --format q4_k --format nf4
has "$err" "one configuration only"
run "quantize: a GGUF type to safetensors" 2 "$SQUINT" quantize "$G" "$tmp/o.safetensors" --format f16
has "$err" "unknown --format 'f16'"
[ ! -e "$tmp/o.safetensors" ] || { echo "FAIL: a refused quantize wrote its output"; fail=1; }

# the formats through the engine: report figures, quantize to safetensors and back
IN=$tmp/in.safetensors
run "write a 4 x 256 checkpoint" 0 "$SQUINT" -e "assert(sq.randn({4, 256}, 11):save('$IN', 'w'))"

run "report --format q4_k --format nf4 --format fp8_e4m3" 0 "$SQUINT" report "$IN" --format q4_k --format nf4 \
    --format fp8_e4m3 --csv "$tmp/r.csv"
has "$out" "q4_k: 1 quantized"
has "$out" "nf4: 1 quantized"
has "$out" "fp8_e4m3 per-tensor: 1 quantized"

for spec in q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k iq4_nl iq4_xs fp8_e4m3 fp8_e5m2 fp4_e2m1 nf4 \
            "nf4 --double-quant" "nf4 --group-size 32" "fp8_e4m3 --granularity channel --axis 1" mxfp4 mxfp8 nvfp4; do
    set -- $spec
    name=$1; shift
    OUT=$tmp/out-$name.safetensors
    run "quantize --format $spec" 0 "$SQUINT" quantize "$IN" "$OUT" --format "$name" "$@"
    has "$out" "1 quantized"
    dq=false; gs=nil; gran=nil; axis=nil
    case " $* " in *" --double-quant "*) dq=true ;; esac
    case " $* " in *" --group-size 32 "*) gs=32 ;; esac
    case " $* " in *" --granularity channel "*) gran='"channel"'; axis=1 ;; esac
    run "reload $spec: same codes and values as in memory" 0 "$SQUINT" -e "
      local ck = assert(sq.open('$OUT'))
      assert(ck:metadata()['squint.w.format'] == '$name', 'format metadata')
      local r = assert(ck:qtensor('w'))
      local cfg = {format = '$name', group_size = $gs, granularity = $gran, axis = $axis}
      if '$name' == 'nf4' then cfg.double_quant = $dq end
      local q = sq.quantize(sq.load('$IN', 'w'), cfg)
      assert(r.config.format == '$name', 'config format')
      local a, b = q:codes(), r:codes()
      assert(#a == #b, 'code count')
      for i = 1, #a do assert(a[i] == b[i], 'code ' .. i) end
      local x, y = q:dequantize():totable(), r:dequantize():totable()
      for i = 1, #x do for j = 1, #x[i] do assert(x[i][j] == y[i][j], 'value ' .. i .. ',' .. j) end end
      print('identical')"
    has "$out" "identical"
done
exit $fail
