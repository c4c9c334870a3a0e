#!/bin/sh
# (pending: needs the format engine) `squint report --format` numbers and
# `squint quantize --format` to safetensors and back: the reloaded tensor has
# the codes and dequantized values sq.quantize gives in memory.
set -u
SQUINT=${SQUINT:-./app/squint}
tmp=$(mktemp -d /tmp/sq_formats_rt.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
err=$tmp/err
. "$(dirname "$0")/shlib.sh"
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
