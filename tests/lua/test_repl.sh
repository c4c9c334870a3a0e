#!/bin/sh
# The REPL through a real terminal (tmux): completion, continuation lines,
# errors that keep the session alive, Ctrl-C, history, Ctrl-D.
set -u
SQUINT=${SQUINT:-./app/squint}
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux not found"; exit 77; }
tmp=${TMPDIR:-/tmp}/sq_repl.$$
mkdir -p "$tmp/state"
sock=sqrepl$$
tm() { tmux -L "$sock" "$@"; }
trap 'tm kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
fail=0
keys() { tm send-keys -t repl -l "$1"; }
key() { tm send-keys -t repl "$@"; }
# wait_for DESC PATTERN: poll the screen (5 s) for a line matching PATTERN
wait_for() {
    i=0
    while [ $i -lt 50 ]; do
        if tm capture-pane -p -t repl 2>/dev/null | grep -q -- "$2"; then echo "ok: $1"; return 0; fi
        sleep 0.1; i=$((i + 1))
    done
    echo "FAIL: $1 (no '$2' on screen)"; tm capture-pane -p -t repl 2>/dev/null | grep -v '^$'; fail=1
}
# wait_prompt: wait (5 s) until the last screen line is an empty prompt, so
# that typed keys are not echoed by the terminal before readline runs
wait_prompt() {
    i=0
    while [ $i -lt 50 ]; do
        [ "$(tm capture-pane -p -t repl 2>/dev/null | grep -v '^$' | tail -n 1)" = "squint>" ] && return 0
        sleep 0.1; i=$((i + 1))
    done
    echo "FAIL: no fresh prompt"; fail=1
}
tm new-session -d -s repl -x 160 -y 50 "env XDG_STATE_HOME=$tmp/state TERM=xterm $SQUINT"
wait_for "banner and prompt" '^squint>$'

keys 'sq.qu'; key Tab
wait_for "sq.qu<TAB> completes the common prefix sq.quantize" '^squint> sq\.quantize$'
keys '(sq.tensor{1}).bits'; key Enter
wait_for "completed line runs" '^8$'

keys 'q = sq.quantize(sq.demo(), {bits = 4})'; key Enter
wait_prompt
keys 'q:code_h'; key Tab
wait_for "method completion after ':'" '^squint> q:code_histogram$'
key C-u
keys 'q.conf'; key Tab
wait_for "field completion after '.'" '^squint> q\.config$'
keys '.bits'; key Enter
wait_for "field value printed" '^4$'

# completion reads tables raw: a metatable whose own metatable has an
# erroring or looping __index neither ends nor hangs the session
wait_prompt; keys 'bad = setmetatable({}, setmetatable({}, {__index = function() error("idx") end}))'; key Enter
wait_prompt; keys 'bad.x'; key Tab; key C-u
keys '"alive" .. "1"'; key Enter
wait_for "an erroring __index during completion keeps the session" '^alive1$'
wait_prompt; keys 'spin = setmetatable({}, setmetatable({}, {__index = function() while true do end end}))'; key Enter
wait_prompt; keys 'spin.x'; key Tab; key C-u
keys '"alive" .. "2"'; key Enter
wait_for "a looping __index during completion does not hang the session" '^alive2$'
wait_prompt; keys 'ix = setmetatable({}, {__index = {plain_field = 1}})'; key Enter
wait_prompt; keys 'ix.plain_f'; key Tab
wait_for "keys of a plain __index table complete" '^squint> ix\.plain_field$'
key C-u
# printing runs metamethods: Ctrl-C stops a looping __tostring
wait_prompt; keys 'setmetatable({}, {__tostring = function() while true do end end})'; key Enter
sleep 0.3; key C-c
wait_for "Ctrl-C interrupts a looping __tostring while printing" "error calling 'print' (.*interrupted!)"
wait_prompt; keys '"alive" .. "3"'; key Enter
wait_for "session alive after an interrupted print" '^alive3$'

wait_prompt; keys 'for i = 1, 2 do'; key Enter
wait_for "continuation prompt for an incomplete chunk" '^   \.\.\.>$'
keys 'print("line", i * 10)'; key Enter
keys 'end'; key Enter
wait_for "multi-line chunk ran" '^line  *20$'

wait_prompt; keys 'error("boom")'; key Enter
wait_for "error message printed" 'squint: stdin:1: boom$'
wait_prompt; keys '6 * 7'; key Enter
wait_for "session alive after an error" '^42$'

# a top-level local stays for the following lines (the REPL's one deviation from lua(1))
wait_prompt; keys 'local kept, kept2 = 41, 3'; key Enter
wait_prompt; keys 'kept * kept2'; key Enter
wait_for "a top-level local keeps its value for later lines" '^123$'
# inside a string literal Tab completes file names (readline closes the string)
mkdir -p "$tmp/cdir" && : >"$tmp/cdir/mymodule_file.lua"
wait_prompt; keys "x = (\"$tmp/cdir/mymod"; key Tab
wait_for "Tab in a string completes a file name" "^squint> x = (\"$tmp/cdir/mymodule_file\.lua\"$"
key C-u

wait_prompt; keys 'sq.quantize(sq.demo(), {bitz = 1})'; key Enter
wait_for "argument error from the module" "bad argument #2 to 'quantize' (unknown key 'bitz')"

wait_prompt; keys 'sq.demo()'; key Enter
wait_for "a tensor prints a one-line summary" '^tensor\[256, 512\] f32 min '

wait_prompt; keys 'while true do end'; key Enter
sleep 0.3; key C-c
wait_for "Ctrl-C interrupts a running loop" 'interrupted!'
wait_prompt; keys '"after" .. "interrupt"'; key Enter
wait_for "session alive after Ctrl-C" '^afterinterrupt$'

# Ctrl-C during sq.report keeps the rows computed so far
wait_prompt
keys "d = string.rep(string.pack('<ffff', 1, 2, 3, 4), 16384); h = {}; for i = 1, 100 do h[i] = string.format('\"t%03d\":{\"dtype\":\"F32\",\"shape\":[16384,4],\"data_offsets\":[%d,%d]}', i, (i - 1) * #d, i * #d) end; h = '{' .. table.concat(h, ',') .. '}'; f = io.open('$tmp/slow.safetensors', 'wb'); f:write(string.pack('<I8', #h), h, d:rep(100)); f:close()"
key Enter
# 8 x 14 configurations over 100 tensors: seconds of work even on two fast cores
wait_prompt; keys "cfgs = {}; for r = 1, 8 do for b = 2, 8 do cfgs[#cfgs + 1] = {bits = b}; cfgs[#cfgs + 1] = {bits = b, mode = 'asymmetric'} end end"; key Enter
wait_prompt; keys "r = sq.report('$tmp/slow.safetensors', cfgs)"; key Enter
sleep 0.5; key C-c
wait_for "Ctrl-C during sq.report prints a note" 'interrupted: sq.report returns the rows computed so far'
wait_prompt; keys 'r.interrupted, #r > 0 and #r < 11200, #r % 112'; key Enter
wait_for "the rows computed so far are kept" '^true  *true  *0$'

wait_prompt; keys 'sq.view(sq.demo())'; key Enter
wait_for "sq.view opens the panel" 'tensor \[256, 512\] f32'
wait_for "the panel shows statistics" 'SQNR'
key b
wait_for "a key changes the configuration" 'int7 sym per-tensor'
key q
wait_prompt
keys '"back" .. "in the REPL"'; key Enter
wait_for "q returns to a working REPL" '^backin the REPL$'

wait_prompt; keys 'half typed'; key C-c
keys '1 + 1'; key Enter
wait_for "Ctrl-C at the prompt drops the line" '^squint> 1 + 1$'

wait_prompt; keys 'sq'; key Enter
wait_for "typing sq prints the list of functions and methods, not a table address" '^  ck:close  '
wait_prompt; keys 'sq.help(sq.quantize)'; key Enter
wait_for "sq.help(sq.quantize) prints its example" '^  print(q, q:stats().sqnr_db)$'

wait_prompt; key C-d
i=0; while tm has-session -t repl 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if tm has-session -t repl 2>/dev/null; then echo "FAIL: Ctrl-D leaves the REPL"; fail=1; else echo "ok: Ctrl-D leaves the REPL"; fi
if grep -q '^6 \* 7$' "$tmp/state/squint/history" 2>/dev/null; then echo "ok: history saved in XDG_STATE_HOME"
else echo "FAIL: history not saved"; cat "$tmp/state/squint/history" 2>/dev/null; fail=1; fi
exit $fail
