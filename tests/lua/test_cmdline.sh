#!/bin/sh
# squint behaves like lua(1): scripts with arg, -e, -l, -, -i, -v, errors.
set -u
SQUINT=${SQUINT:-./app/squint}
tmp=${TMPDIR:-/tmp}/sq_cmdline.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
fail=0
# expect DESC STATUS PATTERN -- command...: exit status and a grep pattern on stdout+stderr
expect() {
    desc=$1; want=$2; pat=$3; shift 4
    "$@" >"$tmp/out" 2>&1; got=$?
    if [ "$got" -ne "$want" ]; then echo "FAIL: $desc (exit $got, wanted $want)"; cat "$tmp/out"; fail=1
    elif [ -n "$pat" ] && ! grep -q -- "$pat" "$tmp/out"; then echo "FAIL: $desc (no '$pat' in output)"; cat "$tmp/out"; fail=1
    else echo "ok: $desc"; fi
}
printf 'print("args", #arg, arg[0] ~= nil, arg[1], arg[2], ...)\n' >"$tmp/a.lua"
printf 'local x = nil\nx.y = 1\n' >"$tmp/bad.lua"
printf 'return {answer = 42}\n' >"$tmp/mymod.lua"
expect "script with arg and ..." 0 "args	2	true	a	b	a	b" -- "$SQUINT" "$tmp/a.lua" a b
expect "-e CODE" 0 "^8$" -- "$SQUINT" -e "print(sq.quantize(sq.tensor{1}).bits)"
expect "-e twice, in order" 0 "^12$" -- "$SQUINT" -e "x=1" -e "print(x .. 2)"
expect "-l MODULE" 0 "^42$" -- env LUA_PATH="$tmp/?.lua;;" "$SQUINT" -l mymod -e "print(mymod.answer)"
expect "- reads the script from stdin" 0 "^stdin ok$" -- sh -c "echo 'print(\"stdin ok\")' | \"$SQUINT\" -"
expect "stdin without a terminal runs as a script" 0 "^piped	3$" -- sh -c "echo 'print(\"piped\", 1+2)' | \"$SQUINT\""
expect "-v" 0 "^squint [0-9.]* (Lua 5.4" -- "$SQUINT" -v
expect "-i after -e reads stdin lines (no terminal)" 0 "^squint> 7$" -- sh -c "echo 'x + 4' | \"$SQUINT\" -e 'x = 3' -i"
expect "runtime error: traceback, exit 1" 1 "stack traceback" -- "$SQUINT" "$tmp/bad.lua"
expect "runtime error names the place" 1 "bad.lua:2: attempt to index a nil value" -- "$SQUINT" "$tmp/bad.lua"
expect "syntax error in -e" 1 "squint: (command line):1:" -- "$SQUINT" -e "x = = 1"
expect "missing script" 1 "cannot open" -- "$SQUINT" "$tmp/nope.lua"
expect "bad argument from the module" 1 "bad argument #2 to 'quantize' (unknown key 'bitz')" -- \
    "$SQUINT" -e "sq.quantize(sq.tensor{1}, {bitz = 1})"
expect "unknown option" 2 "unknown option '--bogus'" -- "$SQUINT" --bogus
expect "-e without argument" 2 "'-e' needs an argument" -- "$SQUINT" -e
expect "--help lists the interpreter options" 0 "-e CODE" -- "$SQUINT" --help
expect "os.exit status" 3 "" -- "$SQUINT" -e "os.exit(3)"
exit $fail
