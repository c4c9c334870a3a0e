#!/usr/bin/env python3
"""torch_linear.py - the baseline for tests/bench/bench_qlinear: milliseconds
per call of PyTorch's fp32 nn.Linear and its dynamic int8 form
(torch.ao.quantization.quantize_dynamic: int8 per-tensor weights, activations
quantized per call), one thread, no bias.

Usage: torch_linear.py IN OUT BATCH [BATCH ...]
Prints one line per (kind, batch): "fp32 BATCH MS" and "int8 BATCH MS", the
best of several rounds, in CPU time of the calling thread (torch runs its
one thread there), as the C side measures. Exits 3 (and prints why on stderr) when torch cannot
be imported, so the caller can skip the comparison."""
import sys
import time


def best_ms(fn, x, rounds=7, min_time=0.05):
    fn(x)
    calls = 1
    while True:  # enough calls per round to fill min_time
        t0 = time.thread_time()
        for _ in range(calls):
            fn(x)
        dt = time.thread_time() - t0
        if dt >= min_time or calls >= 4096:
            break
        calls *= 2
    best = dt / calls
    for _ in range(rounds - 1):
        t0 = time.thread_time()
        for _ in range(calls):
            fn(x)
        best = min(best, (time.thread_time() - t0) / calls)
    return best * 1e3


def main(argv):
    if len(argv) < 4:
        print("usage: torch_linear.py IN OUT BATCH [BATCH ...]", file=sys.stderr)
        return 2
    try:
        import torch
    except Exception as e:  # ImportError, or a broken installation
        print("torch_linear.py: cannot import torch: %s" % e, file=sys.stderr)
        return 3
    torch.set_num_threads(1)
    n_in, n_out = int(argv[1]), int(argv[2])
    torch.manual_seed(0)
    lin = torch.nn.Linear(n_in, n_out, bias=False).eval()
    qlin = torch.ao.quantization.quantize_dynamic(
        torch.nn.Sequential(lin), {torch.nn.Linear}, dtype=torch.qint8)
    with torch.inference_mode():
        for b in argv[3:]:
            x = torch.randn(int(b), n_in)
            print("fp32 %s %.4f" % (b, best_ms(lin, x)))
            print("int8 %s %.4f" % (b, best_ms(qlin, x)))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
