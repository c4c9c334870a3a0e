#!/bin/sh
# `squint report --calibration`: each method (kl too) reaches the configuration, bad values are refused by name.
set -u
SQUINT=${SQUINT:-./app/squint}
DATA=$(dirname "$0")/data
tmp=$(mktemp -d /tmp/sq_calib_sh.XXXXXX)
out=$tmp/out
err=$tmp/err
. "$(dirname "$0")/shlib.sh"
G=$DATA/good.safetensors
run "report --calibration mse" 0 "$SQUINT" report "$G" --bits 4 --calibration mse
has "$out" "int4 sym per-tensor mse"
run "percentile and clip per configuration" 0 "$SQUINT" report "$G" --bits 8 --calibration percentile:99.9 \
    --bits 4 --calibration clip:0.8
has "$out" "int8 sym per-tensor p99.9"
has "$out" "int4 sym per-tensor clip0.8"
run "minmax is the default description" 0 "$SQUINT" report "$G" --calibration minmax
has "$out" "int8 sym per-tensor"
run "report --calibration kl" 0 "$SQUINT" report "$G" --bits 8 --calibration kl
has "$out" "int8 sym per-tensor kl"
run "kl per group refused by name" 2 "$SQUINT" report "$G" --granularity group --group-size 2 --calibration kl
has "$err" "kl works per tensor or per channel"
for bad in kl:1 entropy percentile percentile:0 percentile:101 clip:0 clip:1.5 clip:x mse:0.5 range; do
    run "--calibration $bad refused" 2 "$SQUINT" report "$G" --calibration "$bad"
    has "$err" "--calibration wants"
done
rm -rf "$tmp"
exit $fail
