/* bench_diff.c - `make bench`: sq_diff_stats on two R x C float tensors
 * (default 4096 x 4096; y = x + small noise, both rounded to bfloat16 as a
 * checkpoint's copies would be) at 1 and 2 threads, next to two baselines
 * measured in the same run:
 *   - the former serial method: one loop for the sums and e, then two full
 *     selections (sq_percentile_select) for the median and p95 of |e|;
 *   - numpy (when /usr/bin/python3 has it, else skipped): the same sums in
 *     float64 and np.percentile of |e| in float32 on data of the same size.
 * Best of 5 runs each. Fails (exit 1) when the percentiles differ from the
 * serial method's or differ between thread counts, or when 2 threads are
 * slower than the serial method. Usage: bench_diff [rows cols]. */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diff.h"
#include "report.h"
#include "threads.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A value near N(0, s^2) rounded to bfloat16 (round to nearest even). */
static float bf16_gauss(uint64_t *st, float s)
{
    double u = 0;
    for (int k = 0; k < 4; k++) {
        *st ^= *st << 13;
        *st ^= *st >> 7;
        *st ^= *st << 17;
        u += (double)(*st >> 11) * 0x1.0p-53;
    }
    float f = (float)((u - 2.0) * 1.7320508 * s);
    uint32_t b;
    memcpy(&b, &f, 4);
    b = (b + 0x7FFFu + ((b >> 16) & 1u)) & 0xFFFF0000u;
    memcpy(&f, &b, 4);
    return f;
}

/* The former method: serial sums, then two full selections. */
static void serial_old(const float *x, const float *y, size_t n, float *e, double q[2], double *se)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - (double)y[i];
        s += d * d;
        e[i] = fabsf((float)d);
    }
    *se = s;
    q[0] = sq_percentile_select(e, n, 0.5);
    q[1] = sq_percentile_select(e, n, 0.95);
}

/* numpy's time for the same work on rows x cols values; < 0 when skipped. */
static double numpy_time(size_t rows, size_t cols)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c '\n"
             "import sys, time\n"
             "try:\n import numpy as np\nexcept ImportError:\n sys.exit(3)\n"
             "r = np.random.default_rng(1)\n"
             "x = (r.standard_normal((%zu, %zu), dtype=np.float32) * 0.02)\n"
             "y = x + r.standard_normal(x.shape, dtype=np.float32) * 0.001\n"
             "best = 1e9\n"
             "for k in range(5):\n"
             " t = time.perf_counter()\n"
             " xd = x.astype(np.float64); yd = y.astype(np.float64); d = xd - yd\n"
             " s = (xd * xd).sum(), (yd * yd).sum(), (xd * yd).sum(), (d * d).sum()\n"
             " a = np.abs(d); m = a.sum(); i = int(a.argmax()); lo = d.min(); hi = d.max()\n"
             " q = np.percentile(a.astype(np.float32), [50, 95])\n"
             " best = min(best, time.perf_counter() - t)\n"
             "print(best)' 2>/dev/null",
             rows, cols);
    FILE *p = popen(cmd, "r");
    double t = -1;
    if (!p)
        return -1;
    if (fscanf(p, "%lf", &t) != 1)
        t = -1;
    return pclose(p) == 0 ? t : -1;
}

/* Best of 5 sq_diff_stats at `threads`; the result in *d. */
static double time_diff(const sq_tensor *a, const sq_tensor *b, int threads, sq_diff *d)
{
    sq_error err;
    double best = 1e30;
    sq_threads_set(threads);
    for (int k = 0; k < 5; k++) {
        double t = now();
        if (sq_diff_stats(a, b, NULL, d, NULL, &err) != SQ_OK) {
            fprintf(stderr, "bench_diff: %s\n", err.msg);
            exit(1);
        }
        t = now() - t;
        best = t < best ? t : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    size_t rows = argc > 2 ? strtoul(argv[1], NULL, 10) : 4096, cols = argc > 2 ? strtoul(argv[2], NULL, 10) : 4096;
    const size_t shape[2] = {rows, cols};
    size_t n = rows * cols;
    sq_tensor *a = NULL, *b = NULL;
    sq_error err;
    float *e = malloc((n ? n : 1) * sizeof *e);
    if (!e || sq_tensor_new(shape, 2, SQ_DTYPE_F32, &a, &err) != SQ_OK ||
        sq_tensor_new(shape, 2, SQ_DTYPE_F32, &b, &err) != SQ_OK) {
        fprintf(stderr, "bench_diff: out of memory\n");
        return 1;
    }
    uint64_t st = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < n; i++) {
        a->data[i] = bf16_gauss(&st, 0.02f);
        b->data[i] = bf16_gauss(&st, 0.001f);
        b->data[i] = a->data[i] + b->data[i];
        uint32_t u;
        memcpy(&u, &b->data[i], 4);
        u = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
        memcpy(&b->data[i], &u, 4);
    }
    double q[2], se, best_old = 1e30;
    for (int k = 0; k < 5; k++) {
        double t = now();
        serial_old(a->data, b->data, n, e, q, &se);
        t = now() - t;
        best_old = t < best_old ? t : best_old;
    }
    sq_diff d1, d2;
    double t1 = time_diff(a, b, 1, &d1), t2 = time_diff(a, b, 2, &d2);
    double tn = numpy_time(rows, cols);
    int bad = 0;
    printf("bench_diff: sq_diff_stats on %zu x %zu (bf16-rounded float32)\n", rows, cols);
    printf("  former serial method (sums, 2 selections) %8.1f ms\n", best_old * 1e3);
    printf("  sq_diff_stats, 1 thread                   %8.1f ms  (%.2fx)\n", t1 * 1e3, best_old / t1);
    printf("  sq_diff_stats, 2 threads                  %8.1f ms  (%.2fx)\n", t2 * 1e3, best_old / t2);
    if (tn >= 0)
        printf("  numpy (sums in float64, np.percentile)    %8.1f ms\n", tn * 1e3);
    else
        printf("  numpy: skipped (no /usr/bin/python3 with numpy)\n");
    if (d1.median_abs_err != q[0] || d1.p95_abs_err != q[1] || memcmp(&d1, &d2, sizeof d1) != 0) {
        printf("  FAIL: percentiles %.9g %.9g, serial %.9g %.9g, or 1 and 2 threads differ\n", d1.median_abs_err,
               d1.p95_abs_err, q[0], q[1]);
        bad = 1;
    }
    if (t2 > best_old) {
        printf("  FAIL: 2 threads slower than the former serial method\n");
        bad = 1;
    }
    sq_tensor_free(a);
    sq_tensor_free(b);
    free(e);
    return bad;
}
