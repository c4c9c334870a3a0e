#!/bin/sh
# Every lesson as a class sees it, in tmux at 80 x 24: each page appears
# whole (its header on the first row, its heading, the Enter prompt), the
# panel opens on the lesson's tensor and q comes back, the question shows
# without its answer, Enter reveals the answer, the lesson ends and squint
# exits 0. Then q at a prompt leaves a lesson. Every wait polls the pane up
# to a timeout (the machine may be loaded); nothing is timed.
set -u
SQUINT=${SQUINT:-./app/squint}
case $SQUINT in /*) ;; *) SQUINT=$(pwd)/$SQUINT ;; esac
SRC=$(cd "$(dirname "$0")/.." && pwd)
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux not installed"; exit 77; }
d=$(mktemp -d)
out=$d/out; err=$d/err
. "$SRC/tests/shlib.sh"
sock=sqlessons$$
T() { tmux -L "$sock" -f /dev/null "$@"; }
trap 'T kill-server >/dev/null 2>&1; rm -rf "$d"' EXIT INT TERM

# One session that outlives the lessons, so the server does not exit and
# restart between them.
T new-session -d -s keep -x 80 -y 24 "sleep 3600" || { echo "FAIL: cannot start tmux"; exit 1; }

s=
pane() { T capture-pane -p -t "$s" 2>/dev/null; }
# wait_for REGEX WHAT [FIRST-LINE-REGEX]: poll the pane (up to 60 s) until a
# line matches REGEX and, if given, the pane's first line matches the third.
wait_for() {
    n=0
    while [ $n -lt 600 ]; do
        p=$(pane)
        if printf '%s\n' "$p" | grep -Eq -- "$1" &&
           { [ $# -lt 3 ] || printf '%s\n' "$p" | head -n 1 | grep -Eq -- "$3"; }; then
            echo "ok: lesson $l: $2"; return 0
        fi
        sleep 0.1; n=$((n + 1))
    done
    echo "FAIL: lesson $l: $2: timed out waiting for /$1/${3:+ with /$3/ on the first line}; pane was:"
    pane; fail=1; return 1
}

# lesson L PANEL-REGEX QUESTION ANSWER PAGE-HEADING...: run lesson L end to end.
lesson() {
    l=$1; panel=$2; question=$3; answer=$4; shift 4
    s=sq$l
    rm -f "$d/status$l"
    T new-session -d -s "$s" -x 80 -y 24 \
        "cd '$d' && env TERM=xterm-256color LANG=C.UTF-8 '$SQUINT' lesson $l; echo \$? > '$d/status$l'; sleep 600" ||
        { echo "FAIL: lesson $l: cannot start a tmux session"; fail=1; return; }
    pg=0
    for heading in "$@"; do
        pg=$((pg + 1))
        [ $pg -gt 1 ] && T send-keys -t "$s" Enter
        wait_for "^  $heading" "page $pg shows '$heading' whole" "^squint lesson $l: .* page $pg\$" || { T kill-session -t "$s"; return; }
        wait_for '^Enter: next page   q: leave the lesson' "page $pg asks for Enter" "page $pg\$" || { T kill-session -t "$s"; return; }
    done
    T send-keys -t "$s" Enter
    # the keys to try come first (Enter opens the panel), unless the panel shows them itself
    wait_for "Enter: open the panel|$panel" "the panel is announced" || { T kill-session -t "$s"; return; }
    pane | grep -q 'Enter: open the panel' && T send-keys -t "$s" Enter
    wait_for "$panel" "the panel opens on the lesson's tensor" || { T kill-session -t "$s"; return; }
    wait_for 'Statistics' "the panel is drawn"
    T send-keys -t "$s" q
    wait_for 'Enter: show the answer' "q in the panel comes back to the question" "^squint lesson $l: .* question\$" ||
        { T kill-session -t "$s"; return; }
    wait_for "$question" "the question is shown"
    pane | grep -q 'Answer:' && { echo "FAIL: lesson $l: the answer shows before Enter"; fail=1; }
    T send-keys -t "$s" Enter
    wait_for "$answer" "Enter reveals the answer (the question still on the screen)" "^squint lesson $l: .* question\$"
    wait_for '^Enter: go on' "the answer waits for Enter"
    T send-keys -t "$s" Enter
    wait_for 'End of the lesson' "the lesson ends" "^squint lesson $l: .* the end\$"
    n=0; while [ ! -s "$d/status$l" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
    [ "$(cat "$d/status$l" 2>/dev/null)" = 0 ] && echo "ok: lesson $l: exit status 0" ||
        { echo "FAIL: lesson $l: exit status '$(cat "$d/status$l" 2>/dev/null)'"; fail=1; }
    T kill-session -t "$s" 2>/dev/null
}

# the panel's header line names the tensor and the configuration
hdr() { printf 'tensor \\[%s\\] f32, .* %s' "$1" "$2"; }

lesson 1 "$(hdr '64, 256' 'int4 sym per-tensor')" "replaced by an outlier" "One outlier spoils the" \
    "Eight weights, sixteen levels" "The scale" "One weight, step by step: x = 0.42" "All eight"
lesson 2 "$(hdr '64, 256' 'int4 sym per-tensor')" "Weights are usually centred on zero" "activations asymmetrically" \
    "Data that is never negative" "Asymmetric: a scale and a zero point" "What it buys"
lesson 3 "$(hdr '128, 256' 'int8 sym per-channel\(axis 1\)')" "How many bits does it need" "In practice int8" \
    "Each bit halves the step" "Measured on a 128 x 256 normal tensor"
lesson 4 "$(hdr '256, 512' 'int4 sym per-tensor')" "Why not one scale per weight" "the next lesson counts" \
    "Three channels that shout" "One scale per channel, or per group" "The demo tensor"
lesson 5 "$(hdr '256, 1024' 'int4 sym per-group\(32\)')" "int5 per-channel: which costs" "Check it in the panel" \
    "Scales are weights too" "A 256 x 1024 normal tensor"
lesson 6 "$(hdr '256, 256' 'int4 sym per-tensor mse')" "Is clipping worth as much at int8" "at low bit widths" \
    "A smaller range on purpose" "A 256 x 256 normal tensor"
lesson 7 "$(hdr '128, 256' 'nf4')" "Why do FP8 levels get sparser" "doubles with every binade" \
    "Levels where the values are" "A normal tensor, 128 x 256"
lesson 8 "$(hdr '128, 256' 'q4_k')" "Why quantize the scales" "room for the minimums" \
    "Scales are quantized too" "A normal tensor, 128 x 256"
lesson 9 "$(hdr '64, 512' 'int8 sym per-channel\(axis 1\)')" "The loud features are what hurts" "SmoothQuant's idea" \
    "The error that matters" "Weight error and output error" "W8A8: activations in int8 too"

# q at a prompt leaves the lesson, with status 0
l=2; s=sqq
T new-session -d -s "$s" -x 80 -y 24 \
    "cd '$d' && env TERM=xterm-256color LANG=C.UTF-8 '$SQUINT' lesson 2; echo \$? > '$d/statusq'; sleep 600"
wait_for '^Enter: next page' "lesson 2 starts" "page 1\$"
T send-keys -t "$s" q Enter
wait_for 'Lesson left' "q leaves the lesson"
n=0; while [ ! -s "$d/statusq" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
[ "$(cat "$d/statusq" 2>/dev/null)" = 0 ] && echo "ok: leaving exits 0" || { echo "FAIL: leaving: exit status '$(cat "$d/statusq" 2>/dev/null)'"; fail=1; }
exit $fail
