/* bench_elemfmt.c - `make bench`: speed of the element formats (elemfmt.h)
 * on a 4096 x 4096 tensor (one scale per row), in M elements per CPU
 * second: row scale + encode + decode together, encode (row scale +
 * encode) and decode apart, on the default path (the hand-written AVX-512
 * kernels where the CPU has them; best of five passes) next to the portable
 * loops (sq_simd_force_portable; best of two) and to straightforward scalar
 * code (math-library rounding, nearest-value searches; one pass), all in
 * the same run. Target: >= 400 M/s encode + decode for fp8_e4m3, fp8_e5m2,
 * nf4, mxfp4 and nvfp4. Exit status 1 when a target is missed or something
 * fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "elemfmt.h"
#include "simd.h"

#define ROWS 4096
#define COLS 4096

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the straightforward versions ---- */

static float naive_e4m3(float v) /* rounded value, not the code */
{
    double a = fabs((double)v);
    if (a >= 448.0)
        return copysignf(448.0f, v);
    int e = a > 0 ? (int)floor(log2(a)) : -6;
    if (e < -6)
        e = -6;
    double q = ldexp(nearbyint(ldexp(a, 3 - e)), e - 3);
    return copysignf((float)q, v);
}

static const float nf4[16] = {-1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
                              -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
                              0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f,
                              0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
                              0.7229568362236023f, 1.0f};

static float nearest(const float *tab, int n, float v)
{
    int best = 0;
    for (int k = 1; k < n; k++)
        if (fabsf(tab[k] - v) < fabsf(tab[best] - v))
            best = k;
    return tab[best];
}

static void naive_row(int which, const float *x, float *y)
{
    static const float e2m1[15] = {-6, -4, -3, -2, -1.5f, -1, -0.5f, 0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
    size_t blk = which == 0 ? COLS : which == 1 ? 64 : 32;
    for (size_t b = 0; b < COLS; b += blk) {
        float amax = 0;
        for (size_t j = 0; j < blk; j++)
            amax = fmaxf(amax, fabsf(x[b + j]));
        if (which == 0) {
            float s = amax < 1e-30f ? 1.0f : amax / 448.0f;
            for (size_t j = 0; j < blk; j++)
                y[b + j] = naive_e4m3(x[b + j] / s) * s;
        } else if (which == 1) {
            for (size_t j = 0; j < blk; j++)
                y[b + j] = nearest(nf4, 16, amax > 0 ? x[b + j] / amax : 0) * amax;
        } else {
            float s = amax > 0 ? ldexpf(1.0f, (int)floorf(log2f(amax)) - 2) : 0x1p-127f;
            for (size_t j = 0; j < blk; j++)
                y[b + j] = nearest(e2m1, 15, x[b + j] / s) * s;
        }
    }
}

static float row_scales[ROWS];

/* Seconds of the best of `passes` passes over all rows: row scale and
 * encode (what & 1; the scales kept in row_scales), decode with the kept
 * scales (what & 2); negative on failure. */
static double best_of(int passes, int what, const sq_elemfmt_info *inf, const float *x, uint8_t *q, float *y,
                      double *sink)
{
    double best = -1;
    sq_error err;
    for (int pass = 0; pass < passes; pass++) {
        double t0 = now();
        for (size_t r = 0; r < ROWS; r++) {
            const float *row = x + r * COLS;
            if (((what & 1) && (sq_elemfmt_row_scale(inf->fmt, row, COLS, &row_scales[r], &err) != SQ_OK ||
                                sq_elemfmt_encode_row(inf->fmt, row, COLS, row_scales[r], q + r * 2 * COLS,
                                                      &err) != SQ_OK)) ||
                ((what & 2) &&
                 sq_elemfmt_decode_row(inf->fmt, q + r * 2 * COLS, COLS, row_scales[r], y, &err) != SQ_OK)) {
                fprintf(stderr, "bench_elemfmt: %s\n", err.msg);
                return -1;
            }
            *sink += y[r % COLS];
        }
        double dt = now() - t0;
        best = best < 0 || dt < best ? dt : best;
    }
    return best;
}

int main(void)
{
    float *x = malloc(sizeof(float) * ROWS * COLS), *y = malloc(sizeof(float) * COLS);
    uint8_t *q = malloc((size_t)2 * ROWS * COLS);
    if (!x || !y || !q)
        return 1;
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < (size_t)ROWS * COLS; i++) { /* sum of uniforms: roughly normal */
        float acc = 0;
        for (int k = 0; k < 4; k++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            acc += (float)(s >> 40) * 0x1p-24f - 0.5f;
        }
        x[i] = acc * 0.05f;
    }
    double sink = 0, n = (double)ROWS * COLS / 1e6;
    int status = 0;
    printf("element formats, %d x %d float32, scale per row, one thread (M elements per CPU second)\n", ROWS, COLS);
    printf("%-9s %8s %10s %8s %8s %10s %8s\n", "format", "enc+dec", "(portable)", "encode", "decode", "(straight)",
           "target");
    for (size_t f = 0; f < SQ_ELEMFMT_COUNT; f++) {
        const sq_elemfmt_info *inf = sq_elemfmt_info_at(f);
        sq_simd_force_portable(true);
        double tp = best_of(2, 3, inf, x, q, y, &sink);
        sq_simd_force_portable(false);
        double tb = best_of(5, 3, inf, x, q, y, &sink), te = best_of(5, 1, inf, x, q, y, &sink);
        double td = best_of(5, 2, inf, x, q, y, &sink);
        if (tp < 0 || tb < 0 || te < 0 || td < 0) {
            status = 1;
            break;
        }
        int naive = inf->fmt == SQ_ELEM_FP8_E4M3 ? 0 : inf->fmt == SQ_ELEM_NF4 ? 1 : inf->fmt == SQ_ELEM_MXFP4 ? 2 : -1;
        char straight[32] = "";
        if (naive >= 0) {
            double t0 = now();
            for (size_t r = 0; r < ROWS; r++) {
                naive_row(naive, x + r * COLS, y);
                sink += y[r % COLS];
            }
            snprintf(straight, sizeof straight, "%.0f", n / (now() - t0));
        }
        int has_target = inf->fmt != SQ_ELEM_FP4_E2M1 && inf->fmt != SQ_ELEM_MXFP8;
        printf("%-9s %8.0f %10.0f %8.0f %8.0f %10s %8s%s\n", inf->name, n / tb, n / tp, n / te,
               n / td, straight, has_target ? "400" : "-",
               !has_target ? "" : n / tb >= 400 ? "  met" : "  MISSED");
        if (has_target && n / tb < 400)
            status = 1;
    }
    printf("(checksum %g)\n", sink);
    free(x);
    free(y);
    free(q);
    return status;
}
