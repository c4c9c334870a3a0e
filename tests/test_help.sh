#!/bin/sh
# The help a newcomer reaches: `squint --help`, `squint help [COMMAND]`,
# `squint COMMAND --help` for every command, the demo/view aliases, a data
# file given where a script goes, and the manual page covering every option.
set -u
SQUINT=${SQUINT:-./app/squint}
SRC=$(cd "$(dirname "$0")/.." && pwd)
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
out=$d/out; err=$d/err
. "$SRC/tests/shlib.sh"

run "--help" 0 "$SQUINT" --help
has "$out" "Usage: squint [-j N] COMMAND"
has "$out" "Full documentation: man squint"
cp "$out" "$d/help.txt"
for c in demo view info report merge quantize diff lesson help; do
    has "$d/help.txt" "  $c "
    run "$c --help" 0 "$SQUINT" "$c" --help
    has "$out" "Usage: squint $c"
    [ ! -s "$err" ] || { echo "FAIL: $c --help wrote to stderr"; cat "$err"; fail=1; }
    run "help $c" 0 "$SQUINT" help "$c"
    has "$out" "Usage: squint $c"
done
run "info -h (no file named -h is opened)" 0 "$SQUINT" info -h
has "$out" "Usage: squint info"
run "--view --help" 0 "$SQUINT" --view --help
has "$out" "Usage: squint view"
run "help" 0 "$SQUINT" help
has "$out" "Usage: squint [-j N] COMMAND"
run "help of an unknown command" 2 "$SQUINT" help nosuch
has "$err" "no command 'nosuch'"

# every option the command-line parser knows is in report --help, quantize --help and the manual page
"$SQUINT" report --help >"$d/report.txt"
"$SQUINT" quantize --help >"$d/quantize.txt"
for o in $(grep -o '"--[a-z][a-z-]*"' "$SRC/app/cmd_report.c" | tr -d '"' | sort -u); do
    grep -qF -- "$o" "$d/report.txt" || { echo "FAIL: report --help lacks $o"; fail=1; }
    grep -qF -- "$(echo "$o" | sed 's/-/\\-/g')" "$SRC/doc/squint.1" || { echo "FAIL: squint.1 lacks $o"; fail=1; }
done
for o in --bits --mode --granularity --group-size --axis --rounding --zero-in-range --include --exclude; do
    grep -qF -- "$o" "$d/quantize.txt" || { echo "FAIL: quantize --help lacks $o"; fail=1; }
done
echo "ok: every parser option is documented"

# -j N first: the thread count for what follows; a bad count is a usage error
run "-j 1 before a command" 0 "$SQUINT" -j 1 -e 'print(sq.threads())'
has "$out" "1"
run "-j 3 before a command" 0 "$SQUINT" -j 3 demo
has "$out" "int8 sym per-channel"
run "-j with a bad count" 2 "$SQUINT" -j 0 demo
has "$err" "-j wants a thread count from 1 to 64, not '0'"
# every environment variable the program reads is in the manual page's ENVIRONMENT (test hooks aside)
src=$(dirname "$0")/..
for v in $(cat "$src"/app/*.c "$src"/engine/*.c | grep -o 'getenv("[A-Z0-9_]*")' | sed 's/getenv("\(.*\)")/\1/' |
           grep -v '^SQUINT_TEST_' | sort -u) LUA_INIT LUA_PATH LUA_CPATH; do
    sed -n '/^\.SH ENVIRONMENT/,/^\.SH FILES/p' "$src/doc/squint.1" | grep -q "$v" ||
        { echo "FAIL: squint.1 ENVIRONMENT lacks $v"; fail=1; }
done
run "SQUINT_THREADS" 0 env SQUINT_THREADS=2 "$SQUINT" -e 'print(sq.threads())'
has "$out" "2"

# aliases: `squint demo` is --demo (a table without a terminal), `view` is --view
run "demo" 0 "$SQUINT" demo
has "$out" "int8 sym per-channel"
# the table's bytes, ratio and bits/w are the one accounting: sq.compare's figures for the same configurations
cp "$out" "$d/demo.txt"
for c in '{bits = 8}|int8 sym per-tensor' '{bits = 4, mode = "asymmetric", granularity = "channel"}|int4 asym per-channel' \
         '{bits = 4, granularity = "group", group_size = 32}|int4 sym per-group'; do
    want=$("$SQUINT" -e "local r = sq.compare(sq.demo(), {${c%%|*}})[1]
        print(string.format('%d %.2fx %.2f', r.bytes, r.ratio, r.bits_per_weight))")
    got=$(grep "^${c#*|}" "$d/demo.txt" | awk '{print $(NF-3), $(NF-1), $NF}')
    [ -n "$want" ] && [ "$got" = "$want" ] || { echo "FAIL: demo row ${c#*|}: '$got', sq.compare: '$want'"; fail=1; }
done
run "demo with an argument" 2 "$SQUINT" demo extra
run "write a test .npy" 0 "$SQUINT" -e "assert(sq.tensor{{1, 2, 3, 4}, {5, 6, 7, 8}}:save('$d/w.npy'))"
run "view FILE (no terminal: the same message as --view)" 1 "$SQUINT" view "$d/w.npy"
"$SQUINT" --view "$d/w.npy" >"$d/view2" 2>"$d/view2.err"
cmp -s "$err" "$d/view2.err" || { echo "FAIL: view and --view differ"; diff "$err" "$d/view2.err"; fail=1; }
has "$err" "needs a terminal"

# a data file given where a script goes: say what it is and what to do
run "squint FILE.npy" 1 "$SQUINT" "$d/w.npy"
has "$err" "is a .npy array, not a Lua script"
has "$err" "squint info $d/w.npy"
printf 'PK\003\004rest' >"$d/a.npz"
run "squint FILE.npz" 1 "$SQUINT" "$d/a.npz"
has "$err" "zip archive"
printf 'print("a script named .npy still runs")' >"$d/script.npy"
run "a Lua script runs whatever its name" 0 "$SQUINT" "$d/script.npy"
has "$out" "still runs"
# a mistyped command gets a hint; a missing script that is nothing like a command stays lua(1)'s error
run "squint lessons (a typo)" 1 "$SQUINT" lessons
has "$err" "did you mean 'squint lesson'"
run "squint reprt FILE (a typo)" 1 "$SQUINT" reprt x.safetensors
has "$err" "did you mean 'squint report'"
run "a missing script" 1 "$SQUINT" zzzzzzzz
has "$err" "cannot open zzzzzzzz"
exit $fail
