#!/bin/sh
# Outputs never destroy inputs or the system: `squint report` and `squint quantize` refuse an output that is an
# input (same path, hard link, symbolic link) or misnamed or in a missing directory before any work; write FIFOs,
# character devices and symbolic links' targets in place; keep permission bits; take `-` as standard output; fail
# (not die) on a closed pipe or /dev/full; leave no temporary file and the old target on SIGINT/SIGTERM; refuse a
# FIFO input at once; exit non-zero when a tensor could not be processed.
set -u
SQUINT=${SQUINT:-./app/squint}
case $SQUINT in /*) ;; *) SQUINT=$(pwd)/$SQUINT ;; esac
DATA=$(cd "$(dirname "$0")/data" && pwd)
tmp=$(mktemp -d /tmp/sq_outputs_sh.XXXXXX)
out=$tmp/out
err=$tmp/err
. "$(dirname "$0")/shlib.sh"
cd "$tmp" || exit 1 # a stray file named "-" would land here
G=$tmp/m.safetensors
cp "$DATA/good.safetensors" "$G"
# intact: the checkpoint is still the original
intact() {
    cmp -s "$G" "$DATA/good.safetensors" || { echo "FAIL: $1: the input was changed"; fail=1;
        rm -f "$G"; cp "$DATA/good.safetensors" "$G"; }
}
# no_temp: no temporary file left in $tmp
no_temp() {
    # shellcheck disable=SC2012
    n=$(ls -a "$tmp" | grep -c '\.tmp\.')
    [ "$n" -eq 0 ] || { echo "FAIL: $1: temporary file left"; ls -la "$tmp"; fail=1; }
}
# empty FILE WHAT: FILE is empty (nothing was done before the refusal)
empty() {
    [ -s "$1" ] && { echo "FAIL: $2: output before the refusal"; cat "$1"; fail=1; }
    return 0
}

# ---- an output that is an input ----
ln "$G" "$tmp/hard.safetensors"
ln -s m.safetensors "$tmp/soft.safetensors"
for o in "$G" "$tmp/hard.safetensors" "$tmp/soft.safetensors"; do
    run "quantize X $(basename "$o") refused" 2 "$SQUINT" quantize "$G" "$o"
    has "$err" "$o is the same file as the input $G"
    empty "$out" "quantize X $(basename "$o")"
    grep -q i_i64 "$err" && { echo "FAIL: the scan ran before the refusal"; fail=1; }
    intact "quantize X $(basename "$o")"
done
[ -L "$tmp/soft.safetensors" ] || { echo "FAIL: symlink replaced"; fail=1; }
for opt in --csv --json; do
    run "report X $opt X refused" 2 "$SQUINT" report "$G" $opt "$G"
    has "$err" "same file as the input"
    empty "$out" "report $opt X"
    intact "report $opt X"
done
run "--csv and --json the same file refused" 2 "$SQUINT" report "$G" --csv "$tmp/r.csv" --json "$tmp/r.csv"

# ---- misnamed outputs, missing directories: refused before the scan ----
run "quantize to .npy refused" 2 "$SQUINT" quantize "$G" "$tmp/out.npy"
has "$err" "out.npy: this output is safetensors; name it .safetensors"
[ -e "$tmp/out.npy" ] && { echo "FAIL: out.npy written"; fail=1; }
grep -q i_i64 "$err" && { echo "FAIL: the scan ran before the refusal"; fail=1; }
run "quantize to - refused" 2 "$SQUINT" quantize "$G" -
run "report --csv r.txt refused" 2 "$SQUINT" report "$G" --csv "$tmp/r.txt"
has "$err" "name it .csv"
empty "$out" "report --csv r.txt"
run "quantize into a missing directory refused" 1 "$SQUINT" quantize "$G" "$tmp/no/dir/q.safetensors"
has "$err" "$tmp/no/dir"
grep -q i_i64 "$err" && { echo "FAIL: the scan ran before the refusal"; fail=1; }
run "report --json into a missing directory refused" 1 "$SQUINT" report "$G" --json "$tmp/no/r.json"
has "$err" "$tmp/no/r.json"
empty "$out" "report --json no/r.json"
no_temp "refusals"

# ---- targets that are not regular files ----
mkfifo "$tmp/fifo.csv"
timeout 10 cat "$tmp/fifo.csv" >"$tmp/from_fifo" &
cat_pid=$!
run "--csv to a FIFO" 0 timeout 10 "$SQUINT" report "$G" --csv "$tmp/fifo.csv"
wait "$cat_pid"
[ -p "$tmp/fifo.csv" ] || { echo "FAIL: the FIFO was replaced"; ls -la "$tmp"; fail=1; }
has "$tmp/from_fifo" "kind,name,shape,file_type"
# quantize writes its header last: to a FIFO it goes through a spool file, and the bytes that come out are a
# checkpoint the same as a regular file's
mkfifo "$tmp/q.fifo"
timeout 20 cat "$tmp/q.fifo" >"$tmp/from_qfifo" &
run "quantize to a FIFO" 0 timeout 20 "$SQUINT" quantize "$G" "$tmp/q.fifo"
wait
[ -p "$tmp/q.fifo" ] || { echo "FAIL: quantize replaced the FIFO"; fail=1; }
run "quantize to a regular file" 0 "$SQUINT" quantize "$G" "$tmp/q_reg.safetensors"
cmp -s "$tmp/from_qfifo" "$tmp/q_reg.safetensors" && echo "ok: the FIFO got the same bytes as the file" \
    || { echo "FAIL: the FIFO's bytes differ from the regular file's"; fail=1; }
if mknod "$tmp/null" c 1 3 2>/dev/null; then
    run "--csv to a character device" 0 "$SQUINT" report "$G" --csv "$tmp/null" --json "$tmp/null"
    [ -c "$tmp/null" ] || { echo "FAIL: the character device was replaced"; ls -la "$tmp"; fail=1; }
    run "quantize to a character device" 0 "$SQUINT" quantize "$G" "$tmp/null"
    [ -c "$tmp/null" ] || { echo "FAIL: the character device was replaced by quantize"; fail=1; }
else
    echo "skipped: mknod (needs root)"
fi
echo old >"$tmp/real.csv"
ln -s real.csv "$tmp/link.csv"
run "--csv through a symlink" 0 "$SQUINT" report "$G" --csv "$tmp/link.csv"
[ -L "$tmp/link.csv" ] || { echo "FAIL: the symlink was replaced"; fail=1; }
has "$tmp/real.csv" "kind,name,shape,file_type"
echo old >"$tmp/private.json"
chmod 600 "$tmp/private.json"
run "--json over a 0600 file" 0 "$SQUINT" report "$G" --json "$tmp/private.json"
[ "$(stat -c %a "$tmp/private.json")" = 600 ] || { echo "FAIL: mode not kept"; ls -l "$tmp/private.json"; fail=1; }
has "$tmp/private.json" '"tensors_in_file": 11'
no_temp "special targets"

# ---- standard output ----
run "--csv - writes to standard output" 0 "$SQUINT" report "$G" --csv -
has "$err" "TOTAL (11 tensors)" # the table goes to standard error: standard output holds the CSV alone
head -1 "$out" | grep -q "^kind,name,shape,file_type" || { echo "FAIL: stdout does not start with the CSV header"; head -3 "$out"; fail=1; }
grep -q "TOTAL (11 tensors)" "$out" && { echo "FAIL: the table is on stdout with --csv -"; fail=1; }
has "$out" "total,,,,"
[ "$(grep -c '^tensor,' "$out")" -eq 11 ] || { echo "FAIL: csv rows on stdout"; cat "$out"; fail=1; }
run "--json - writes to standard output" 0 "$SQUINT" report "$G" --json -
has "$out" '"tensors_in_file": 11'
/usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$out" 2>/dev/null || [ ! -x /usr/bin/python3 ] ||
    { echo "FAIL: stdout with --json - is not JSON alone"; fail=1; }
[ -e ./- ] && { echo "FAIL: a file named - was written"; fail=1; }
# a link to an open descriptor (as /dev/stdout is): written through, never replaced
ln -s /proc/self/fd/1 "$tmp/stdout.csv"
run "--csv to a link to /proc/self/fd/1 (a file)" 0 "$SQUINT" report "$G" --csv "$tmp/stdout.csv"
[ -L "$tmp/stdout.csv" ] || { echo "FAIL: the descriptor link was replaced"; fail=1; }
has "$out" "TOTAL (11 tensors)"
[ "$(grep -c '^tensor,' "$out")" -eq 11 ] || { echo "FAIL: csv rows after the table"; cat "$out"; fail=1; }
"$SQUINT" report "$G" --csv "$tmp/stdout.csv" 2>"$err" | cat >"$out"
[ "$(grep -c '^tensor,' "$out")" -eq 11 ] || { echo "FAIL: csv rows through a pipe"; cat "$out" "$err"; fail=1; }
[ -L "$tmp/stdout.csv" ] && echo "ok: --csv to a link to /proc/self/fd/1 (a pipe)"
run "report > /dev/full fails" 1 sh -c '"$0" report "$1" >/dev/full' "$SQUINT" "$G"
has "$err" "standard output"
# a reader that has gone away: fd 6 is the write end of a FIFO with no reader left
mkfifo "$tmp/p"
exec 5<>"$tmp/p"
exec 6>"$tmp/p"
exec 5<&-
"$SQUINT" report "$G" --csv - --json "$tmp/closed.json" >&6 2>"$err"
st=$?
exec 6>&-
[ "$st" -eq 1 ] || { echo "FAIL: closed pipe: exit $st, wanted 1"; cat "$err"; fail=1; }
has "$err" "standard output: write failed: Broken pipe"
has "$tmp/closed.json" '"tensors_in_file": 11'
# ... and through head: not killed by SIGPIPE (the exit status is 1 if head left before the last write)
{ "$SQUINT" report "$G" --csv - --json "$tmp/head.json" 2>"$err"; echo $? >"$tmp/st"; } | head -1 >"$out"
st=$(cat "$tmp/st")
[ "$st" -eq 0 ] || [ "$st" -eq 1 ] || { echo "FAIL: report | head: exit $st"; cat "$err"; fail=1; }
[ "$(wc -l <"$out")" -eq 1 ] || { echo "FAIL: head output"; fail=1; }
has "$tmp/head.json" '"tensors_in_file": 11'
echo "ok: report | head exits $st and writes its JSON"

# ---- signals during the final write: old target kept, no temporary file ----
# wait_temp NAME: wait (at most 10 s) until NAME.tmp.* exists
wait_temp() {
    i=0
    while [ $i -lt 100 ]; do
        # shellcheck disable=SC2012
        ls "$tmp" | grep -q "^$1\.tmp\." && return 0
        sleep 0.1
        i=$((i + 1))
    done
    echo "FAIL: no temporary file for $1"
    fail=1
    return 1
}
echo old >"$tmp/q.safetensors"
SQUINT_TEST_SLOW_WRITE=30 "$SQUINT" quantize "$G" "$tmp/q.safetensors" >"$out" 2>"$err" &
pid=$!
wait_temp q.safetensors && kill -INT "$pid"
wait "$pid"
st=$?
[ "$st" -eq 130 ] || { echo "FAIL: SIGINT during quantize's write: exit $st, wanted 130"; cat "$err"; fail=1; }
[ "$(cat "$tmp/q.safetensors")" = old ] || { echo "FAIL: target replaced after SIGINT"; fail=1; }
has "$err" "interrupted; left unchanged"
no_temp "SIGINT during quantize"
for sig in TERM:15 HUP:1; do
    want=$((128 + ${sig#*:}))
    sig=${sig%:*}
    echo old >"$tmp/s.csv"
    SQUINT_TEST_SLOW_WRITE=30 "$SQUINT" report "$G" --csv "$tmp/s.csv" >"$out" 2>"$err" &
    pid=$!
    wait_temp s.csv && kill -$sig "$pid"
    wait "$pid"
    st=$?
    [ "$st" -eq "$want" ] || { echo "FAIL: SIG$sig during report's write: exit $st, wanted $want"; fail=1; }
    [ "$(cat "$tmp/s.csv")" = old ] || { echo "FAIL: target replaced after SIG$sig"; fail=1; }
    no_temp "SIG$sig during report"
    echo "ok: SIG$sig during the write"
done

# ---- inputs that are not regular files ----
mkfifo "$tmp/in.safetensors"
run "report on a FIFO input" 1 timeout 10 "$SQUINT" report "$tmp/in.safetensors"
has "$err" "in.safetensors: not a regular file (a FIFO)"
run "quantize on a FIFO input" 1 timeout 10 "$SQUINT" quantize "$tmp/in.safetensors" "$tmp/o.safetensors"
has "$err" "not a regular file"
run "info on a FIFO input" 1 timeout 10 "$SQUINT" info "$tmp/in.safetensors"
has "$err" "in.safetensors: not a regular file (a FIFO)"
run "sq.load on a FIFO input" 0 timeout 10 "$SQUINT" -e "print(sq.load('$tmp/in.safetensors'))"
has "$out" "in.safetensors: not a regular file (a FIFO)"

# ---- tensors that could not be processed ----
h='{"n":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}'
while [ $((${#h} % 8)) -ne 0 ]; do h="$h "; done
{
    # shellcheck disable=SC2059
    printf "$(printf '\\%03o' ${#h})\\000\\000\\000\\000\\000\\000\\000"
    printf '%s' "$h"
    printf '\000\000\200\077\000\000\300\177\000\000\200\077\000\000\200\077' # 1, NaN, 1, 1
} >"$tmp/nan.safetensors"
run "report with a tensor not processed exits 1" 1 "$SQUINT" report "$tmp/nan.safetensors"
has "$out" "1 failed"
has "$err" "1 tensor could not be processed"
run "report on good files still exits 0" 0 "$SQUINT" report "$G"

cd / && rm -rf "$tmp"
exit $fail
