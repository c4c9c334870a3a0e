#!/bin/sh
# Build the libFuzzer harnesses with clang (fuzzer + ASan + UBSan) and run
# each for SECONDS seconds (default 60), seeded with the committed fixtures.
# Exits non-zero on any crash, leak, timeout or sanitizer report.
# Usage: tests/fuzz/run.sh [SECONDS]
set -eu
secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${FUZZ_OUT:-$top/build-fuzz}
CC=${CLANG:-clang}
command -v "$CC" >/dev/null || { echo "fuzz: $CC not found" >&2; exit 1; }
mkdir -p "$out"
flags="-std=c11 -D_POSIX_C_SOURCE=200809L -Wno-psabi -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I$top/engine"
# every engine source (the readers need most of them; a new file needs no edit here)
src=$(cd "$top/engine" && ls *.c)
objs=""
for s in $src; do
    $CC $flags -fsanitize=fuzzer-no-link -c "$top/engine/$s" -o "$out/${s%.c}.o" $(pkg-config --cflags jansson)
    objs="$objs $out/${s%.c}.o"
done
status=0
for h in npy safetensors gguf; do
    $CC $flags "$here/fuzz_$h.c" $objs $(pkg-config --libs jansson) -lm -o "$out/fuzz_$h"
    corpus="$out/corpus_$h"
    mkdir -p "$corpus"
    case $h in
        npy) seeds="$top/tests/data/npy/*.npy $top/tests/data/bad/*.npy" ;;
        safetensors) seeds="$top/tests/data/*.safetensors $top/tests/data/bad/*.safetensors" ;;
        gguf) seeds="$top/tests/data/*.gguf $top/tests/data/bad/*.gguf" ;;
    esac
    for f in $seeds; do cp "$f" "$corpus/" 2>/dev/null || true; done
    echo "== fuzz_$h for ${secs}s"
    if ! ASAN_OPTIONS=detect_leaks=1 "$out/fuzz_$h" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
        -timeout=10 -artifact_prefix="$out/crash_${h}_" "$corpus" >"$out/fuzz_$h.log" 2>&1; then
        echo "fuzz_$h FAILED (see $out/fuzz_$h.log)"; tail -40 "$out/fuzz_$h.log"; status=1
    else
        grep -E '^Done|#[0-9]+.*DONE' "$out/fuzz_$h.log" | tail -1 || true
        echo "fuzz_$h clean"
    fi
done
exit $status
