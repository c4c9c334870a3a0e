#!/bin/sh
# End-to-end test of the panel: run the real binary in a detached tmux session
# (private server socket), send keys, capture the pane and check what changed.
# Skips (77) without tmux.
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
pane() { T capture-pane -p -t sq 2>/dev/null; }
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
wait_for 'now int4 sym per-tensor' && s4=$(sqnr)
if lt "$s4" "$s8"; then ok "int4 SQNR $s4 < int8 SQNR $s8"; else echo "FAIL: int4 SQNR $s4 not below int8 $s8"; fail=1; fi

T send-keys -t sq g
sc=
wait_for 'now int4 sym per-channel\(axis 1\)' && sc=$(sqnr)
if lt "$s4" "$sc"; then ok "per-channel SQNR $sc > per-tensor $s4"; else echo "FAIL: per-channel $sc not above $s4"; fail=1; fi
wait_for '^Channels channel 1/256' && ok "channel strip shown"
T send-keys -t sq .
wait_for 'channel 2/256' && ok ". selects the next channel"

T send-keys -t sq l
wait_for '^Values \(log\)' && ok "l: log counts"
T send-keys -t sq p
wait_for '^#1 +int4 sym per-channel' && ok "p pins a row"

T resize-window -t sq -x 80 -y 24
wait_for 'a axis \[\] grp' && ok "resize to 80x24 redraws (short footer)"
[ "$(pane | wc -l)" -eq 24 ] && ok "pane is 24 lines" || { echo "FAIL: pane lines"; fail=1; }
T resize-window -t sq -x 140 -y 45
wait_for 'a axis  \[/\] group' && ok "resize to 140x45 redraws (full footer)"
wait_for 'Statistics' >/dev/null

T send-keys -t sq s
wait_for 'saved in \.: squint-demo-stats.csv' && ok "s saves"
for f in squint-demo-stats.csv squint-demo-hist.csv squint-demo-pins.csv squint-demo.json squint-demo-screen.txt; do
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
exit $fail
