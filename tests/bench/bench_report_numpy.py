#!/usr/bin/env python3
"""bench_report_numpy.py - the baseline of tests/bench/bench_report_cache.c:
the same report as `squint report FILE --bits 4 --granularity group
--group-size 32` (int4 symmetric, a scale per 32 values along the last axis)
written with numpy: per tensor of rank >= 2, quantize, dequantize, sum x^2
and e^2 (SQNR), and the exact median and 95th percentile of |e|
(np.percentile: selection by partitioning, linear interpolation, as squint).

Usage: bench_report_numpy.py FILE.safetensors
Prints one line: "numpy SECONDS TENSORS SQNR_DB CPU_SECONDS" (the elapsed
and CPU seconds of the report alone, after numpy is imported), then per
tensor "row NAME MEDIAN P95".
Exits 3 when numpy is missing (the benchmark then skips the comparison)."""
import json
import struct
import sys
import time

try:
    import numpy as np
except ImportError:
    sys.exit(3)


def tensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    base = 8 + n
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = mm[base + a:base + b]
        dt = info["dtype"]
        if dt == "BF16":
            x = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif dt == "F16":
            x = raw.view(np.float16).astype(np.float32)
        elif dt == "F32":
            x = np.array(raw.view(np.float32))
        else:
            continue
        yield name, x.reshape(info["shape"])


def main():
    path = sys.argv[1]
    t0 = time.perf_counter()
    c0 = time.process_time()
    sx = se = 0.0
    rows = []
    for name, x in tensors(path):
        if x.ndim < 2:
            continue
        g = x.reshape(-1, 32).astype(np.float64)
        scale = np.abs(g).max(axis=1) / 7.0
        scale[scale == 0] = 1.0
        q = np.clip(np.round(g / scale[:, None]), -8, 7)
        e = (g - q * scale[:, None]).astype(np.float32)
        sx += float(np.dot(g.ravel(), g.ravel()))
        se += float(np.dot(e.ravel().astype(np.float64), e.ravel().astype(np.float64)))
        med, p95 = np.percentile(np.abs(e), [50, 95])
        rows.append((name, med, p95))
    secs = time.perf_counter() - t0
    cpu = time.process_time() - c0
    sqnr = 10 * np.log10(sx / se) if se > 0 else float("inf")
    print("numpy %.6f %d %.6f %.6f" % (secs, len(rows), sqnr, cpu))
    for name, med, p95 in rows:
        print("row %s %.9g %.9g" % (name, med, p95))


if __name__ == "__main__":
    main()
