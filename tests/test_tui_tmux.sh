#!/bin/sh
# End-to-end test of the panel: run the real binary in a detached tmux session
# (private server socket), send keys, capture the pane and check what changed:
# the demo panel; the panel opened from the REPL and resized; the checkpoint
# list resized (each row keeps its own numbers); a quantized tensor shown with
# its own error, or "unknown" without a source; a quantized export listed by
# tensor name; LANG=C at 80x24 and TERM=dumb. Skips (77) without tmux.
set -u
SQUINT=${SQUINT:-./app/squint}
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux is not installed"; exit 77; }
case $SQUINT in /*) ;; *) SQUINT=$(pwd)/$SQUINT ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sq_tmux.XXXXXX") || exit 1
sock=sqtest$$
T() { tmux -L "$sock" -f /dev/null "$@"; }
cleanup() { T kill-server >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
fail=0
S=sq   # the session pane() and keys go to
pane() { T capture-pane -p -t "$S" 2>/dev/null; }
# wait_for PATTERN [SECONDS]: poll the pane until it matches (grep -E)
wait_for() {
    n=0; lim=$(( ${2:-10} * 10 ))
    while [ $n -lt $lim ]; do
        pane | grep -Eq -- "$1" && return 0
        sleep 0.1; n=$((n + 1))
    done
    echo "FAIL: timed out waiting for /$1/; pane was:"; pane; fail=1; return 1
}
ok() { echo "ok: $1"; }
sqnr() { pane | grep -oE 'SQNR +-?[0-9.]+ dB' | head -n 1 | awk '{ print $2 }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

# after squint exits, record its status and whether the tty is back in cooked mode
T new-session -d -s sq -x 100 -y 30 \
    "cd '$tmp' && env TERM=xterm-256color LANG=C.UTF-8 '$SQUINT' --demo; echo \$? > '$tmp/status'; stty -a > '$tmp/stty'; sleep 5" \
    || { echo "FAIL: cannot start tmux"; exit 1; }

wait_for 'demo \[256, 512\] f32.*int8 sym per-tensor' 20 && ok "header shows tensor and config"
s8=
wait_for 'SQNR +-?[0-9.]+ dB' && s8=$(sqnr)
pane | grep -q '█' && ok "UTF-8 block glyphs drawn"

for k in b b b b; do T send-keys -t sq "$k"; done
wait_for 'int4 sym per-tensor' && ok "b x4: int8 -> int4"
s4=
wait_for 'now i4 sym tensor' && s4=$(sqnr)
if lt "$s4" "$s8"; then ok "int4 SQNR $s4 < int8 SQNR $s8"; else echo "FAIL: int4 SQNR $s4 not below int8 $s8"; fail=1; fi

T send-keys -t sq g
sc=
wait_for 'now i4 sym ch1' && sc=$(sqnr)
if lt "$s4" "$sc"; then ok "per-channel SQNR $sc > per-tensor $s4"; else echo "FAIL: per-channel $sc not above $s4"; fail=1; fi
wait_for '^Channels channel 1/256' && ok "channel strip shown"
T send-keys -t sq .
wait_for 'channel 2/256' && ok ". selects the next channel"

T send-keys -t sq l
wait_for '^Values \(log\)' && ok "l: log counts"
T send-keys -t sq p
wait_for '^#1 +i4 sym ch1' && ok "p pins a row"

T resize-window -t sq -x 80 -y 24
wait_for 'b/B m g a \[\] f/F fmt' && ok "resize to 80x24 redraws (short footer)"
[ "$(pane | wc -l)" -eq 24 ] && ok "pane is 24 lines" || { echo "FAIL: pane lines"; fail=1; }
T resize-window -t sq -x 140 -y 45
wait_for 'a axis  \[/\] group' && ok "resize to 140x45 redraws (full footer)"
wait_for 'Statistics' >/dev/null

T send-keys -t sq s
wait_for 'saved in \.: squint-demo-stats.csv' && ok "s saves"
for f in squint-demo-stats.csv squint-demo-hist.csv squint-demo-pins.csv squint-demo.json squint-demo-screen.txt \
         squint-demo-values.svg squint-demo-values.png squint-demo-error.svg squint-demo-error.png; do
    [ -s "$tmp/$f" ] || { echo "FAIL: $f not written"; fail=1; }
done
grep -q 'Statistics' "$tmp/squint-demo-screen.txt" && ok "screen text saved"

T send-keys -t sq '?'
wait_for 'b / B +bits down / up' && ok "? shows help"
T send-keys -t sq q
T send-keys -t sq q
n=0; while [ ! -s "$tmp/status" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
st=$(cat "$tmp/status" 2>/dev/null)
[ "$st" = 0 ] && ok "q exits with status 0" || { echo "FAIL: exit status '$st'"; fail=1; }
n=0; while [ ! -s "$tmp/stty" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
if grep -q ' icanon' "$tmp/stty" && grep -q ' echo ' "$tmp/stty"; then ok "terminal restored (icanon, echo)"
else echo "FAIL: terminal not restored"; cat "$tmp/stty"; fail=1; fi
# ---- the REPL: sq.view(...) follows resizes ------------------------------------
# Test data, written by squint's own Lua (string.pack): a safetensors file of
# 12 float32 tensors w1..w12 with different outliers, so different SQNRs.
cat > "$tmp/mk.lua" <<'EOF'
local path = arg[1]
local header, data, off = {}, {}, 0
for i = 1, 12 do
    local rows, vals = 2 + i, {}
    for k = 1, rows * 8 do
        local x = math.sin(k * 1.3 + i)
        if k == i then x = x * (3 + 2 * i) end
        vals[#vals + 1] = string.pack("<f", x)
    end
    local bytes = table.concat(vals)
    header[#header + 1] = string.format('"w%d":{"dtype":"F32","shape":[%d,8],"data_offsets":[%d,%d]}', i, rows,
                                        off, off + #bytes)
    data[#data + 1] = bytes
    off = off + #bytes
end
local h = "{" .. table.concat(header, ",") .. "}"
while #h % 8 ~= 0 do h = h .. " " end
local f = assert(io.open(path, "wb"))
f:write(string.pack("<I8", #h), h, table.concat(data))
f:close()
-- expected: name and SQNR as the list prints it, int8 per-tensor (stdout)
-- and int4 per-group(4) (arg[2])
local ck = assert(sq.open(path))
local g4 = assert(io.open(arg[2], "w"))
for name, t in ck:tensors() do
    print(name, string.format("%.2f", sq.quantize(t):stats().sqnr_db))
    local q = sq.quantize(t, {bits = 4, granularity = "group", group_size = 4})
    g4:write(name, "\t", string.format("%.2f", q:stats().sqnr_db), "\n")
end
g4:close()
EOF
"$SQUINT" "$tmp/mk.lua" "$tmp/w.safetensors" "$tmp/expected4" > "$tmp/expected" || { echo "FAIL: cannot make test data"; exit 1; }
[ "$(awk '{ print $2 }' "$tmp/expected" | sort -u | wc -l)" -eq 12 ] && ok "12 tensors with distinct SQNRs" \
    || { echo "FAIL: test data"; cat "$tmp/expected"; fail=1; }

S=repl
keys() { T send-keys -t "$S" -l "$1"; T send-keys -t "$S" Enter; }
# wait_prompt: until the last non-empty line is a fresh prompt (the panel has
# given the terminal back to readline)
wait_prompt() {
    n=0
    while [ $n -lt 100 ]; do
        [ "$(pane | grep -v '^$' | tail -n 1)" = "squint>" ] && return 0
        sleep 0.1; n=$((n + 1))
    done
    echo "FAIL: no fresh prompt; pane was:"; pane; fail=1; return 1
}
T new-session -d -s repl -x 100 -y 30 \
    "cd '$tmp' && env XDG_STATE_HOME='$tmp/state' TERM=xterm-256color LANG=C LC_ALL=C '$SQUINT'; sleep 5" \
    || { echo "FAIL: cannot start tmux"; exit 1; }
wait_for '^squint>' 20
keys 'sq.view(sq.demo())'
wait_for '^ tensor \[256, 512\] f32' && wait_for 'now i8 sym tensor'
# column of "Statistics" (1-based) on the second line: the stats column's x + 1
# (LANG=C: ASCII glyphs, one byte a column)
stats_col() { pane | sed -n 2p | awk '{ print index($0, "Statistics") }'; }
[ "$(stats_col)" = 71 ] && ok "REPL panel at 100x30: statistics at column 71"
T resize-window -t repl -x 80 -y 24
wait_for 'b/B m g a \[\] f/F fmt' && ok "REPL panel resized to 80x24 redraws (short footer)"
[ "$(pane | wc -l)" -eq 24 ] && pane | tail -n 1 | grep -q '^b/B m g a' && ok "footer on the new last line (24)" \
    || { echo "FAIL: footer not on line 24"; pane; fail=1; }
[ "$(stats_col)" = 51 ] && ok "laid out for 80 columns: statistics at column 51" \
    || { echo "FAIL: statistics at column $(stats_col), not 51"; pane; fail=1; }
[ "$(pane | grep -c 'Statistics')" -eq 1 ] && [ "$(pane | grep -c 'Comparison')" -eq 1 ] \
    && ok "no stale copy of the old layout" || { echo "FAIL: garbage left on screen"; pane; fail=1; }
T resize-window -t repl -x 130 -y 40
wait_for 'a axis  \[/\] group' && [ "$(stats_col)" = 95 ] && pane | tail -n 1 | grep -q '^b/B bits' \
    && ok "resized to 130x40: statistics at column 95, footer on line 40" \
    || { echo "FAIL: 130x40 layout"; pane; fail=1; }
T send-keys -t repl q
wait_prompt && keys 'print(6 * 7)' && wait_for '^42$' && ok "back in the REPL after q"
# a note (a lesson's) stays on the status line until the first key
keys 'sq.view(sq.demo(), nil, {note = "the note of a lesson  try: e v"})'
wait_for 'now i8 sym tensor' && wait_for '^the note of a lesson  try: e v' && ok "sq.view's note on the status line"
T send-keys -t repl l
wait_for '^Values \(log\)' && ! pane | grep -q 'the note of a lesson' && ok "the note goes at the first key"
T send-keys -t repl q
wait_prompt
# resized at the prompt (outside readline's read): the next panel still gets
# the terminal's size, not the LINES/COLUMNS readline exported at start-up
T resize-window -t repl -x 90 -y 26
sleep 0.3
keys 'sq.view(sq.demo())'
wait_for 'now i8 sym tensor'
[ "$(stats_col)" = 61 ] && [ "$(pane | wc -l)" -eq 26 ] && pane | tail -n 1 | grep -q '^b/B m g a' \
    && ok "a panel opened after a resize at the prompt is laid out for 90x26" \
    || { echo "FAIL: panel after a resize at the prompt: statistics at column $(stats_col)"; pane; fail=1; }
T send-keys -t repl q
wait_prompt
# sq.view(a, b): the pair panel shows sq.diff's SQNR; quantization keys say so
keys 'pa = sq.demo(); pb = sq.quantize(pa, {bits = 4}):dequantize(); print("WANT " .. string.format("%.2f", sq.diff(pa, pb).sqnr_db))'
wait_for '^WANT -?[0-9.]+$'
want=$(pane | grep -E '^WANT ' | tail -n 1 | awk '{ print $2 }')
keys 'sq.view(pa, pb)'
wait_for '^Values of a \(reference\)' && wait_for "SQNR +$want dB" && wait_for '^Error a-b' \
    && ok "sq.view(a, b): SQNR $want dB as sq.diff gives it, both value histograms, the error's"
T send-keys -t repl b
wait_for '^b: sq.view\(a, b\) compares two tensors' && ok "sq.view(a, b): b says there is no quantization here"
T send-keys -t repl q
wait_prompt
keys 'print(pcall(sq.view, pa, sq.randn({3, 4}, 1)))'
wait_for 'false.*shape \[3, 4\] differs from the reference' && ok "sq.view(a, b): shape mismatch named"

# ---- the checkpoint list, resized: every row keeps its own numbers ---------------
# check_rows [FILE [K]]: each visible row "NAME ... SQNR BITS [CONFIG]" shows
# NAME's SQNR from FILE (default the int8 one) as its field NF-K (default 1)
check_rows() { # a redraw may still be under way after a resize: look again for a while
    n=0
    while ! check_rows_once "$@" >/dev/null && [ $n -lt 30 ]; do sleep 0.1; n=$((n + 1)); done
    check_rows_once "$@"
}
check_rows_once() {
    pane | awk -v ef="${1:-$tmp/expected}" -v k="${2:-1}" '
        BEGIN { while ((getline l < ef) > 0) { split(l, f, "\t"); want[f[1]] = f[2] } }
        { sub(/^>/, " ") }
        $1 ~ /^w[0-9]+$/ { rows++; if ($(NF - k) != want[$1]) { bad++; print "row " $1 ": " $(NF - k) " != " want[$1] } }
        END { if (rows < 3 || bad) { print rows " rows, " bad + 0 " wrong"; exit 1 } print rows }'
}
keys "ck = sq.open('$tmp/w.safetensors'); sq.view(ck)"
wait_for 'all tensors analysed' 20
r=$(check_rows) && ok "list at 130x40: $r rows, each with its own SQNR" || { echo "FAIL: $r"; pane; fail=1; }
T send-keys -t repl o   # sort by SQNR: rows move
wait_for 'sorted by SQNR'
T resize-window -t repl -x 72 -y 12
wait_for 'j/k select Enter open' && [ "$(pane | wc -l)" -eq 12 ] && pane | tail -n 1 | grep -q '^j/k select' \
    && ok "list resized to 72x12: footer on line 12"
r=$(check_rows) && ok "after sort + resize: $r rows, each with its own SQNR" || { echo "FAIL: $r"; pane; fail=1; }
T send-keys -t repl NPage NPage   # PgDn (the same sequence in xterm and tmux)
wait_for '^> w[0-9]+ .*[0-9]' 
r=$(check_rows) && ok "scrolled to the end: $r rows, each with its own SQNR" || { echo "FAIL: $r"; pane; fail=1; }
T resize-window -t repl -x 110 -y 30
wait_for 'j/k select  Enter open'
r=$(check_rows) && [ "$r" = 12 ] && ok "resized to 110x30: all $r rows, each with its own SQNR" \
    || { echo "FAIL: $r"; pane; fail=1; }
T send-keys -t repl q
wait_prompt

# ---- a quantized tensor: its own error, never a re-quantization ----------------
# expected int3 SQNR computed here in Lua from the values themselves
keys 't = sq.randn({64, 128}, 7); q = sq.quantize(t, {bits = 3}); x, y = t:totable(), q:dequantize():totable()'
keys 'sx, se = 0, 0; for i = 1, 64 do for j = 1, 128 do local a, b = x[i][j], y[i][j]; sx = sx + a * a; se = se + (a - b) ^ 2 end end'
keys 'print(string.format("want=%.2f", 10 * math.log(sx / se, 10)))'
wait_for '^want=[0-9.]+$'
want=$(pane | sed -n 's/^want=//p' | tail -n 1)
keys 'sq.view(q)'
wait_for 'int3 sym per-tensor \(loaded, vs source\)' && wait_for 'SQNR +[0-9.]+ dB'
got=$(sqnr)
[ "$got" = "$want" ] && lt "$got" 20 && ok "sq.view(q) shows the int3 error against its source: $got dB" \
    || { echo "FAIL: sq.view(q) SQNR '$got', expected '$want'"; pane; fail=1; }
T send-keys -t repl q
wait_prompt
keys "q:save('$tmp/q3.safetensors'); lq = sq.open('$tmp/q3.safetensors'):qtensor('tensor'); sq.view(lq)"
wait_for 'int3 sym per-tensor \(loaded, fixed; no source\)' && wait_for 'SQNR +unknown: no source' \
    && wait_for 'no source: error unknown' && ok "a reloaded qtensor without a source: error unknown"
pane | grep -Eq 'SQNR +[0-9]' && { echo "FAIL: a number shown as SQNR without a source"; fail=1; }
T send-keys -t repl b
wait_for 'configuration of a loaded quantized tensor is fixed' && pane | grep -q 'int3 sym per-tensor (loaded' \
    && ok "b: the status line says the configuration is fixed"
T send-keys -t repl q
wait_prompt
keys 'sq.view(lq, t)'
wait_for 'int3 sym per-tensor \(loaded, vs source\)' && wait_for 'SQNR +[0-9.]+ dB'
got=$(sqnr)
[ "$got" = "$want" ] && ok "sq.view(lq, t): the reloaded codes against the given source: $got dB" \
    || { echo "FAIL: sq.view(lq, t) SQNR '$got', expected '$want'"; fail=1; }
T send-keys -t repl q
wait_prompt
keys 'os.exit(0)'

# ---- a quantized export in the list: one row per tensor NAME -------------------
# f64 scales: the stored tensors are exactly those sq.quantize makes in memory (the expected SQNRs)
"$SQUINT" quantize "$tmp/w.safetensors" "$tmp/wq.safetensors" --bits 4 --granularity group --group-size 4 --scale-dtype f64 \
    >/dev/null 2>&1 || { echo "FAIL: squint quantize"; fail=1; }
S=list
T new-session -d -s list -x 120 -y 30 \
    "cd '$tmp' && env TERM=xterm-256color LANG=C.UTF-8 '$SQUINT' --view wq.safetensors; sleep 5"
wait_for 'wq.safetensors: 12 tensors' 20 && ok "--view on a quantized export: 12 entries, not 36 parts"
wait_for 'all tensors analysed'
pane | grep -Eq '\.(codes|scales|zero_points)' && { echo "FAIL: raw parts listed"; pane; fail=1; }
pane | grep -Eq '^> w1 +\[3, 8\] +int4 .* [0-9.]+ +20\.000 +i4 sym g4' \
    && ok "row: w1, its shape, int4, SQNR, bits/w and configuration" || { echo "FAIL: quantized row"; pane; fail=1; }
r=$(check_rows "$tmp/expected4" 4) && ok "each quantized row: its codes' SQNR against the source file ($r rows)" \
    || { echo "FAIL: $r"; pane; fail=1; }
want=$(awk -F '\t' '$1 == "w1" { print $2 }' "$tmp/expected4")
T send-keys -t list Enter
wait_for '^ w1 \[3, 8\] f32.*int4 sym per-group\(4\) \(loaded, vs source\)' && wait_for 'SQNR +[0-9.]+ dB'
[ "$(sqnr)" = "$want" ] && ok "Enter opens the quantized tensor against its source: $want dB" \
    || { echo "FAIL: opened w1: SQNR $(sqnr), not $want"; pane; fail=1; }
T send-keys -t list q
wait_for 'wq.safetensors: 12 tensors' && ok "q returns to the list"
T send-keys -t list q
# without the source file: SQNR unknown, the tensor shown as it is
mv "$tmp/w.safetensors" "$tmp/w.moved"
S=list2
T new-session -d -s list2 -x 120 -y 30 \
    "cd '$tmp' && env TERM=xterm-256color LANG=C.UTF-8 '$SQUINT' --view wq.safetensors; sleep 5"
wait_for 'all tensors analysed' 20
pane | grep -Eq '^> w1 +\[3, 8\] +int4 .* no source +20\.000 +i4 sym g4' \
    && ok "source file gone: rows say 'no source'" || { echo "FAIL: row without source"; pane; fail=1; }
T send-keys -t list2 Enter
wait_for '^ w1 \[3, 8\] f32.*int4 sym per-group\(4\) \(loaded, fixed; no source\)' \
    && ok "Enter opens the quantized tensor as it is, error unknown"
T send-keys -t list2 q
T send-keys -t list2 q
# LANG=C at 80x24: ASCII only (x^ for x-hat), keys with nothing to do say so,
# the selected channel's scale and zero point and every comparison column
S=plain
T new-session -d -s plain -x 80 -y 24 \
    "cd '$tmp' && env TERM=xterm-256color LANG=C LC_ALL=C '$SQUINT' --demo; sleep 5"
wait_for 'Error x-x\^' 20 && ok "LANG=C: x-hat spelled x^"
if pane | LC_ALL=C grep -q '[^ -~]'; then echo "FAIL: LANG=C pane has non-ASCII bytes:"; pane; fail=1
else ok "LANG=C: no bytes outside ASCII"; fi
T send-keys -t plain z
wait_for 'z: zero-in-range is for asymmetric mode only' && ok "z in symmetric mode says so"
T send-keys -t plain .
wait_for ', \.: per-tensor has no channels or groups' && ok ". per-tensor says so"
T send-keys -t plain B
wait_for 'B: already at 8 bits, the most' && ok "B at 8 bits says so"
T send-keys -t plain g
wait_for 'Channels channel 1/256' >/dev/null
T send-keys -t plain .
wait_for 'channel 2/256 \(axis 1\): scale [-0-9.a-zA-Z]+ zp 0 rmse' && ok "80x24: selected channel's scale and zp"
wait_for '^now i8 sym ch1 +[0-9.]+ +[0-9.a-z]+ +[0-9.a-z]+ +8\.[0-9]+ +[0-9.]+x +[0-9]+$' \
    && ok "80x24: comparison keeps every column"
T send-keys -t plain '?'
wait_for ', / \.   channel or group \(arrows\) +s +save' && ok "80x24: help lines whole"
T send-keys -t plain '?'
wait_for 'Glossary \(the names used in Statistics' && wait_for 'bits/w   bits per weight: 8 \* stored bytes' \
    && ok "? twice: the glossary"
T send-keys -t plain '?'
wait_for '^now i8 sym ch1' >/dev/null
# e: the walk-through of the selected channel's first element (channel 2: element 513)
T send-keys -t plain e
wait_for 'Element 513 of 131072 +\[2, 1\]' && wait_for 'x / scale \+ zp +=' \
    && wait_for 'x\^ = \(q - zp\) \* scale +=' && ok "e: walk-through of element 513"
T send-keys -t plain Right
wait_for 'Element 514 of 131072 +\[2, 2\]' && ok "-> the next element"
T send-keys -t plain w
wait_for 'w: element [0-9]+ has the worst \|error\|' && wait_for 'error x - x\^ +=' && ok "w: the worst element"
T send-keys -t plain e
wait_for '^Comparison' >/dev/null
pane | grep -q 'Element [0-9]* of 131072' && { echo "FAIL: e did not close the walk-through"; fail=1; }
T send-keys -t plain v
wait_for '^Values of channel [0-9]+/256 \(axis 1\), \^ its levels' && ok "v: the selected channel's histogram"
T send-keys -t plain v t
wait_for '^Code usage [0-9]+ of 256 codes used' && ok "t: code usage"
T send-keys -t plain t
wait_for '^Transfer x -> x\^ of channel' && pane | grep -q '\*' && ok "t: the transfer staircase"
T send-keys -t plain t
wait_for '^Error x-x\^' >/dev/null
# f: formats (q4_k is the 8th after int); the label shows the format
for k in 1 2 3 4 5 6 7 8; do T send-keys -t plain f; done
wait_for 'values - q4_k$' && ok "f x8: q4_k in the header"
wait_for '^now q4_k +[0-9.]+ ' && wait_for 'bits/w +4\.500' && pane | grep -Eq 'SQNR +[0-9.]+ dB' \
    && ok "q4_k quantized: statistics, 4.5 bits/w, its comparison row"
T send-keys -t plain e
wait_for 'nearest level to x +=' && wait_for 'code \(stored, 0\.\.15\) +=' && ok "e on q4_k: the block's level and code"
T send-keys -t plain e
T send-keys -t plain b
wait_for 'b: q4_k fixes bits, mode and blocks' && ok "b on q4_k says the format fixes it"
for k in 1 2 3 4 5 6 7 8; do T send-keys -t plain F; done
wait_for 'values - int8 sym per-channel\(axis 1\)$' && ok "F x8: back to int8, its configuration kept"
if pane | LC_ALL=C grep -q '[^ -~]'; then echo "FAIL: LANG=C pane has non-ASCII bytes:"; pane; fail=1; fi
T send-keys -t plain q q

# ( clips: the clipped share rises, the MSE split shows clipping error, the
# clipped tails are shaded ('/' in ASCII) and the thresholds marked ([ ])
S=clip
T new-session -d -s clip -x 80 -y 24 \
    "cd '$tmp' && env TERM=xterm-256color LANG=C LC_ALL=C '$SQUINT' --demo; sleep 5"
# the clipped count (in parentheses, maybe 12.3k / 4.56M)
clipped() { pane | grep -oE 'clipped +[0-9.]+% \([0-9.]+[kM]?\)' | head -n 1 | sed 's/.*(//; s/)//' |
    awk '{ v = $0 + 0; if ($0 ~ /k$/) v *= 1e3; if ($0 ~ /M$/) v *= 1e6; print v }'; }
wait_for 'rnd\+clip +[0-9.]+[a-zA-Z]? \+ 0$' 20 && c0=$(clipped) && ok "min/max: no clipping error ($c0 clipped)"
for k in 1 2 3 4 5 6 7 8 9 10; do T send-keys -t clip '('; done
wait_for 'clip0\.9$' && wait_for 'rnd\+clip +[0-9.]+[a-zA-Z]? \+ [0-9.]*[1-9][0-9.]*[a-zA-Z]?$' \
    && ok "( x10: clip 0.90, clipping error > 0"
c1=$(clipped)
if lt "${c0:-0}" "${c1:-0}"; then ok "clipped count rises: $c0 -> $c1"; else echo "FAIL: clipped $c0 -> $c1"; pane; fail=1; fi
pane | grep -Eq '^ *\[.*\] *$|\[\^+\]' && pane | grep -q '/' && ok "clip thresholds marked, tails shaded" \
    || { echo "FAIL: no clip marks / shading"; pane; fail=1; }
T send-keys -t clip q

# e in a UTF-8 locale: the walk-through spells x-hat with U+0302, its box
# as wide as in ASCII (the "=" column of every step at the same place)
S=utf
T new-session -d -s utf -x 80 -y 24 \
    "cd '$tmp' && env TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 '$SQUINT' --demo; sleep 5"
wait_for 'SQNR +-?[0-9.]+ dB' 20 >/dev/null
T send-keys -t utf e
if wait_for "$(printf 'x\314\202 = \\(q - zp\\) \\* scale +=')"; then
    # labels padded to 24 columns: "x-hat = (q - zp) * scale" is 20 (4 blanks
    # follow), "error x - x-hat" 11 (13 blanks); padded by bytes 3 and 11
    xh=$(printf 'x\314\202')
    if pane | grep -q "$xh = (q - zp) \* scale    = (" && pane | grep -q "error x - $xh             = "; then
        ok "UTF-8 walk-through: x-hat with U+0302, steps aligned"
    else echo "FAIL: UTF-8 walk-through misaligned"; pane; fail=1; fi
    pane | grep -q 'x^' && { echo "FAIL: x^ in a UTF-8 walk-through"; pane; fail=1; }
fi
T send-keys -t utf q

# TERM=dumb: the demo falls back to the table, as through a pipe
S=dumb
T new-session -d -s dumb -x 80 -y 24 \
    "cd '$tmp' && env TERM=dumb LANG=C '$SQUINT' --demo; echo \"exit \$?\"; sleep 5"
wait_for '^exit 0' 20 && pane | grep -Eq '^int4 sym per-channel\(axis 1\) +[0-9.]+ ' && ok "TERM=dumb: demo prints the table" \
    || { echo "FAIL: TERM=dumb demo"; pane; fail=1; }
T kill-session -t dumb 2>/dev/null
T new-session -d -s dumb -x 80 -y 24 \
    "cd '$tmp' && env TERM=dumb '$SQUINT' --view demo; echo \"exit \$?\"; sleep 5"
wait_for '^exit 1' 20 && pane | grep -q "needs a terminal (stdin and stdout a tty, TERM not 'dumb')" \
    && ok "TERM=dumb: --view says why" || { echo "FAIL: TERM=dumb --view"; pane; fail=1; }

exit $fail
