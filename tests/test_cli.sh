#!/bin/sh
# End-to-end checks of the squint program's command line.
set -u
SQUINT=${SQUINT:-./app/squint}
fail=0
check() { # description, command status expected, then the command
    desc=$1; want=$2; shift 2
    "$@" >/tmp/sq_cli_out.$$ 2>&1; got=$?
    if [ "$got" -ne "$want" ]; then echo "FAIL: $desc (exit $got, wanted $want)"; cat /tmp/sq_cli_out.$$; fail=1
    else echo "ok: $desc"; fi
}
check "--version" 0 "$SQUINT" --version
grep -q '^squint [0-9]' /tmp/sq_cli_out.$$ || { echo "FAIL: version text"; fail=1; }
check "--help" 0 "$SQUINT" --help
grep -q -- '--demo' /tmp/sq_cli_out.$$ || { echo "FAIL: help mentions --demo"; fail=1; }
check "--demo" 0 "$SQUINT" --demo
# the demo table must show per-channel beating per-tensor for int8 symmetric
t=$(awk '$1=="int8" && $2=="sym" && $3=="per-tensor" {print $4}' /tmp/sq_cli_out.$$)
c=$(awk '$1=="int8" && $2=="sym" && $3=="per-channel(axis" {print $5}' /tmp/sq_cli_out.$$)
if [ -z "$t" ] || [ -z "$c" ] || ! awk -v t="$t" -v c="$c" 'BEGIN { exit !(c > t + 6) }'; then
    echo "FAIL: demo per-channel SQNR ($c) should beat per-tensor ($t) by > 6 dB"; fail=1
else echo "ok: demo per-channel $c dB > per-tensor $t dB"; fi
check "unknown option" 1 "$SQUINT" --bogus
grep -q "unrecognized option" /tmp/sq_cli_out.$$ || { echo "FAIL: error names the problem"; fail=1; }
rm -f /tmp/sq_cli_out.$$
exit $fail
