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
expect "unknown option: status 1" 1 "unrecognized option '--bogus'" -- "$SQUINT" --bogus
expect "-e without argument" 1 "'-e' needs argument" -- "$SQUINT" -e
expect "--help lists the interpreter options" 0 "-e CODE" -- "$SQUINT" --help
expect "os.exit status" 3 "" -- "$SQUINT" -e "os.exit(3)"

# ---- the same as stock lua5.4 (cases modelled on Lua's testes/main.lua) ----
# same DESC STDIN ENV ARGS...: run lua5.4 and squint in $tmp with the
# variables ENV (space-separated VAR=VALUE words), the arguments and standard
# input; stdout, stderr (the program's name as invoked made PROG, the banner
# line of -i dropped) and the exit status must agree.
LUA=${LUA:-lua5.4}
if ! command -v "$LUA" >/dev/null 2>&1; then
    echo "SKIP: no $LUA to compare with"
    exit $fail
fi
case $SQUINT in /*) SQ=$SQUINT ;; *) SQ=$(pwd)/$SQUINT ;; esac
set -f # ENV words may hold [ ] *
run_as() { # run_as PROG OUTPREFIX STDIN ENV ARGS...
    prog=$1; o=$2; in=$3; envs=$4; shift 4
    printf '%s' "$in" | (cd "$tmp" && env $envs "$prog" "$@") >"$o.out" 2>"$o.err"
    echo $? >"$o.rc"
    for f in "$o.out" "$o.err"; do
        sed -e "s|$prog|PROG|g" -e '/^squint [0-9.]* (Lua /d' -e '/^Lua 5\.4\.[0-9]*  Copyright/d' "$f" >"$f.n"
    done
}
same() {
    desc=$1; shift
    run_as "$LUA" "$tmp/lua" "$@"
    run_as "$SQ" "$tmp/sq" "$@"
    bad=""
    for x in out.n err.n rc; do cmp -s "$tmp/lua.$x" "$tmp/sq.$x" || bad="$bad $x"; done
    if [ -n "$bad" ]; then
        echo "FAIL: $desc (differs from $LUA in:$bad)"
        for x in out.n err.n rc; do echo "--- $LUA $x:"; cat "$tmp/lua.$x"; echo "--- squint $x:"; cat "$tmp/sq.$x"; done
        fail=1
    else echo "ok: $desc (as $LUA, status $(cat "$tmp/sq.rc"))"; fi
}
cat >"$tmp/argt.lua" <<'EOF'
assert(#arg == 3 and arg[1] == 'a' and arg[2] == 'b' and arg[3] == 'c')
assert(arg[-1] == '--' and arg[-2] == '-e ')
local a, b, c = ...
print(a, b, c, arg[4], select('#', ...))
EOF
printf 'print(package.path)\n' >"$tmp/path.lua"
printf 'print("init file", ...)\n' >"$tmp/init.lua"
printf 'print(X, ...)\n' >"$tmp/x.lua"
printf 'return {answer = 42}\n' >"$tmp/mod2.lua"
cat >"$tmp/warn.lua" <<'EOF'
warn("@off", "XXX", "@off")
warn("@off")
warn("@on", "YYY")
warn("@on")
warn("Z", "Z")
EOF
printf 'error(setmetatable({}, {__tostring = function() return "custom" end}))\n' >"$tmp/eobj.lua"
same "arg table and the script's ..." "" "" "-e " -- argt.lua a b c
same "-e changes arg before the script's ... is taken" 'print(...)' "" -e "arg[1] = 100" - x
same "'arg' not a table" '' "" -e "arg = 1" -
same "- with arguments" 'print(arg[1], ...)' "" - -h
same "many arguments" '' "" x.lua a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a
same "-eCODE forms in order" "" "" "-eprint(1)" -ea=3 -e "print(a)"
same "LUA_INIT code" "" "LUA_INIT=X=3" x.lua
same "LUA_INIT_5_4 before LUA_INIT, sees arg" "" "LUA_INIT_5_4=X=tonumber(arg[1]) LUA_INIT=X=3" x.lua 10
same "LUA_INIT=@file" "" "LUA_INIT=@init.lua" x.lua q
same "LUA_INIT error: reported, status 1" "" "LUA_INIT=error('msg')" x.lua
same "LUA_INIT missing @file" "" "LUA_INIT=@nope.lua" x.lua
same "LUA_PATH" "" "LUA_INIT= LUA_PATH=x" path.lua
same "LUA_PATH_5_4 first" "" "LUA_INIT= LUA_PATH_5_4=y LUA_PATH=x" path.lua
same "-E ignores LUA_INIT and LUA_PATH" "" "LUA_INIT=error(10) LUA_PATH=xxx LUA_CPATH=xxx" -E path.lua
same "warnings off by default" 'io.stderr:write(1); warn[[XXX]]' ""
same "-W turns warnings on" "" "" -W warn.lua
same "-l g=mod" "" "LUA_PATH=?.lua" -l g=mod2 -e "print(g.answer, mod2)"
same "-lmod" "" "LUA_PATH=?.lua" -lmod2 -e "print(mod2.answer)"
same "-l of a missing module" "" "LUA_PATH=?.lua" -l nope
same "error object with __tostring" "" "" eobj.lua
same "error object without one" "" "" -e "error{}"
same "syntax error in -e" "" "" -e a
same "unrecognized option: message, usage, status 1" "" "" -Ex
same "-vv is unrecognized" "" "" -vv
same "-iv is unrecognized" "" "" -iv
same "-e needs argument" "" "" -e
same "-l needs argument" "" "" -l
# -i: exact output, as main.lua checks it (Debian's lua5.4 echoes each input
# line through readline even when stdin is no terminal, so it is not compared)
# out_is DESC STDIN WANT ARGS...: squint's stdout (banner dropped) is WANT
out_is() {
    desc=$1; in=$2; want=$3; shift 3
    printf '%s' "$in" | "$SQUINT" "$@" 2>"$tmp/err" | sed '/^squint [0-9.]* (Lua /d' >"$tmp/got"
    printf '%s' "$want" >"$tmp/want"
    if cmp -s "$tmp/got" "$tmp/want"; then echo "ok: $desc"
    else echo "FAIL: $desc"; echo "--- wanted:"; cat "$tmp/want"; echo "--- got:"; cat "$tmp/got" "$tmp/err"; fail=1; fi
}
NL='
'
out_is "-i prints results through print" "(6*2-6) -- ===${NL}a =${NL}10${NL}print(a)${NL}a${NL}\"s\", nil, 2${NL}" \
    "6${NL}10${NL}10${NL}s	nil	2${NL}${NL}" -e "_PROMPT='' _PROMPT2=''" -i
out_is "-i: a replaced print is used" "1, 2${NL}" "P:2${NL}${NL}" \
    -e "_PROMPT='' print = function(...) io.write('P:', select('#', ...), '\n') end" -i
out_is "-i: _PROMPT with __tostring" "a = 2${NL}" "12${NL}" \
    -e "local C = 0; _PROMPT = setmetatable({}, {__tostring = function() C = C + 1; return C end})" -i
out_is "-i: _PROMPT2 a number" "a =${NL}2${NL}" "42${NL}" -e "_PROMPT = '' _PROMPT2 = 42" -i
out_is "-i: multi-line strings" "a = [[b${NL}c]]${NL}=a${NL}" "b${NL}c${NL}${NL}" -e "_PROMPT='' _PROMPT2=''" -i
out_is "-i: top-level local keeps its value" "local x, y = 5, 6${NL}local function f() return x, y end${NL}print(f())${NL}" \
    "5	6${NL}${NL}" -e "_PROMPT=''" -i
expect "-i: error calling print" 0 "squint: error calling 'print' (attempt to call a nil value)" -- sh -c \
    "echo 10 | \"$SQUINT\" -e 'print = nil' -i"
expect "-i: chunk cut by EOF" 0 "stdin:1: <name> expected near <eof>" -- sh -c "echo a. | \"$SQUINT\" -i"
set +f
expect "-i: a failing __tostring of _PROMPT is reported, default prompt used" 0 "squint> 3" -- sh -c \
    "echo 1+2 | \"$SQUINT\" -e \"_PROMPT = setmetatable({}, {__tostring = function() error('nope') end})\" -i"
exit $fail
