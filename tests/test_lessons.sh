#!/bin/sh
# The lessons: `squint lesson` lists them, each available lesson runs end to
# end without a terminal (pages, the panel skipped, the question and its
# answer), lessons whose capability has not landed are "coming" and do not
# fail the list, a teacher's own file runs, and bad input gets clear errors.
# Every lesson in tmux (pages, the panel, the question): test_lessons_tmux.sh.
set -u
SQUINT=${SQUINT:-./app/squint}
case $SQUINT in /*) ;; *) SQUINT=$(pwd)/$SQUINT ;; esac
SRC=$(cd "$(dirname "$0")/.." && pwd)
d=$(mktemp -d)
out=$d/out; err=$d/err
. "$SRC/tests/shlib.sh"
trap 'rm -rf "$d"' EXIT INT TERM

run "list" 0 "$SQUINT" lesson
n_listed=$(grep -cE '^ +[0-9]+  ' "$out")
[ "$n_listed" -eq 9 ] && echo "ok: nine lessons listed" || { echo "FAIL: $n_listed lessons listed"; cat "$out"; fail=1; }
# the formats have landed: lessons 7 (float and codebook formats) and 8 (llama.cpp's super-blocks) run, not "coming"
for l in 7 8; do
    grep -E "^ +$l  " "$out" | grep -q "coming:" && { echo "FAIL: lesson $l is still coming"; grep -E "^ +$l  " "$out"; fail=1; }
done
for l in $(awk '/^ +[0-9]+  / && !/coming:/ { print $1 }' "$out"); do
    run "lesson $l without a terminal" 0 env SQUINT_LESSON_BATCH=1 "$SQUINT" lesson "$l"
    has "$out" "squint lesson $l: "
    has "$out" "page 1"
    has "$out" "Answer:"
    has "$out" "End of the lesson."
    [ ! -s "$err" ] || { echo "FAIL: lesson $l wrote to stderr"; cat "$err"; fail=1; }
done
for l in $(awk '/^ +[0-9]+  / && /coming:/ { print $1 }' "$out"); do
    run "coming lesson $l says so" 1 "$SQUINT" lesson "$l"
    has "$err" "is coming: needs"
done
# the pages show the engine's own numbers (exact ones: scales, level values, bits per weight)
run "lesson 1's numbers" 0 env SQUINT_LESSON_BATCH=1 "$SQUINT" lesson 1
has "$out" "scale = max|x| / qmax = 1.27 / 7 = 0.181429"
has "$out" "q:scales()[1] = 0.181429."
has "$out" "x^ = code * scale  = 2 * 0.181429 = 0.362857   (squint: 0.362857)"
run "lesson 5's numbers" 0 env SQUINT_LESSON_BATCH=1 "$SQUINT" lesson 5
grep -Eq '^ +per-group\(32\) +8192 +4\.500 +[0-9.]+ +6\.000$' "$out" && echo "ok: lesson 5: groups of 32 cost 4.5 bits (f16) and 6 (f64, squint's file)" ||
    { echo "FAIL: lesson 5: the per-group(32) row"; cat "$out"; fail=1; }
run "lesson 7's numbers" 0 env SQUINT_LESSON_BATCH=1 "$SQUINT" lesson 7
has "$out" "int4 (8):  0.000 0.143 0.286 0.429 0.571 0.714 0.857 1.000"
has "$out" "nf4  (9):  0.000 0.080 0.161 0.246 0.338 0.441 0.563 0.723 1.000"
has "$out" "fp4  (8):  0.000 0.083 0.167 0.250 0.333 0.500 0.667 1.000"
run "lesson 8's numbers" 0 env SQUINT_LESSON_BATCH=1 "$SQUINT" lesson 8
has "$out" "1152 bits, 4.500 bits a weight"
grep -Eq '^ +q4_k +4\.500 ' "$out" && echo "ok: lesson 8: q4_k measures 4.5 bits a weight" ||
    { echo "FAIL: lesson 8: the q4_k row"; cat "$out"; fail=1; }
run "sq.lesson(3) from Lua" 0 env SQUINT_LESSON_BATCH=1 "$SQUINT" -e 'print("status", sq.lesson(3))'
has "$out" "squint lesson 3: Bits against error"
has "$out" "status	0"
run "sq.lesson() lists" 0 "$SQUINT" -e 'sq.lesson()'
has "$out" "What a scale is"
run "no such lesson" 2 "$SQUINT" lesson 42
has "$err" "no lesson '42'"
run "two lessons at once" 2 "$SQUINT" lesson 1 2

cat >"$d/mine.lua" <<'LUA'
return {
  title = "My own lesson",
  run = function(lesson)
    lesson.page("# A page of mine\nThe scale of [3, -6] at int4 is " .. sq.quantize(sq.tensor{{3, -6}}, {bits = 4}):scales()[1] .. ".")
    lesson.ask("Why 6/7?", "max|x| / qmax.")
  end,
}
LUA
run "a teacher's own lesson file" 0 "$SQUINT" lesson "$d/mine.lua"
has "$out" "squint lesson: My own lesson"
has "$out" "at int4 is 0.85714285714286."
has "$out" "max|x| / qmax."
echo 'return 42' >"$d/bad.lua"
run "a file that is not a lesson" 1 "$SQUINT" lesson "$d/bad.lua"
has "$err" "bad.lua: a lesson returns a table with a title (string) and run (function)"
printf '%s\n' 'return {title = "x", run = function(l) l.page("# p") error("oops") end}' >"$d/err.lua"
run "a lesson that raises" 1 "$SQUINT" lesson "$d/err.lua"
has "$err" "err.lua"
has "$err" "oops"
run "a missing lesson file" 1 "$SQUINT" lesson "$d/missing.lua"
has "$err" "missing.lua"

# every lesson in tmux, as a class sees it: tests/test_lessons_tmux.sh
exit $fail
