# shlib.sh - helpers for the command-line tests; source it after setting
# $out and $err (files for a command's standard output and error).
fail=0
# run DESCRIPTION EXPECTED_STATUS COMMAND...: run COMMAND, check its status
run() {
    desc=$1; want=$2; shift 2
    "$@" >"$out" 2>"$err"; got=$?
    if [ "$got" -ne "$want" ]; then echo "FAIL: $desc (exit $got, wanted $want)"; cat "$out" "$err"; fail=1
    else echo "ok: $desc"; fi
}
# has FILE STRING: FILE contains STRING (fixed, not a pattern)
has() {
    grep -qF -- "$2" "$1" || { echo "FAIL: '$2' not in $1"; cat "$1"; fail=1; }
}
