/* test_diff.c - sq_diff_stats on hand-computed cases: figures, percentiles,
 * histogram, shapes that differ, non-finite values, the empty case; on
 * tensors of several parts: sums against a reference added in diff.h's
 * order, percentiles against sq_percentile_select (random values, ties, all
 * zero), results identical for 1, 2, 3 and 7 threads. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "diff.h"
#include "report.h"
#include "threads.h"
#include "testutil.h"

/* x = [1, 2, 3, 4, 0], y = [1, 2.5, 2, 4, 0.25]: e = [0, -0.5, 1, 0, -0.25]
 * (every value and difference exact in float32). */
static const float hx[] = {1.0f, 2.0f, 3.0f, 4.0f, 0.0f};
static const float hy[] = {1.0f, 2.5f, 2.0f, 4.0f, 0.25f};

START_TEST(test_hand)
{
    const size_t shape[] = {5};
    sq_tensor *x = tu_tensor(shape, 1, hx), *y = tu_tensor(shape, 1, hy);
    sq_diff d;
    sq_error err;
    ck_assert_msg(sq_diff_stats(x, y, NULL, &d, NULL, &err) == SQ_OK, "%s", err.msg);
    ck_assert_uint_eq(d.numel, 5);
    /* sum e^2 = 0.25 + 1 + 0.0625 = 1.3125; sum x^2 = 30; sum y^2 = 1 + 6.25 + 4 + 16 + 0.0625 = 27.3125 */
    ck_assert(d.sum_e2 == 1.3125 && d.sum_x2 == 30.0 && d.sum_y2 == 27.3125);
    ck_assert(d.mse == 1.3125 / 5);
    ck_assert(d.rmse == sqrt(1.3125 / 5));
    ck_assert(d.max_abs_err == 1.0);
    ck_assert_uint_eq(d.max_index, 2);
    ck_assert(d.mean_abs_err == 1.75 / 5);
    ck_assert(d.err_min == -0.5 && d.err_max == 1.0);
    ck_assert(d.sqnr_db == 10.0 * log10(30.0 / 1.3125));
    /* sum x y = 1 + 5 + 6 + 16 + 0 = 28 */
    ck_assert(fabs(d.cosine - 28.0 / sqrt(30.0 * 27.3125)) < 1e-15);
    /* |e| sorted: 0 0 0.25 0.5 1; median = a[2] = 0.25; p95: pos 3.8 -> 0.5 + 0.8 * 0.5 = 0.9 */
    ck_assert(d.median_abs_err == 0.25);
    ck_assert(fabs(d.p95_abs_err - 0.9) < 1e-15);
    sq_tensor_free(x);
    sq_tensor_free(y);
}
END_TEST

/* The reference is the reference: swapping the two changes SQNR (signal
 * energy of x), not the error figures. */
START_TEST(test_reference_side)
{
    const size_t shape[] = {5};
    sq_tensor *x = tu_tensor(shape, 1, hx), *y = tu_tensor(shape, 1, hy);
    sq_diff a, b;
    sq_error err;
    ck_assert(sq_diff_stats(x, y, NULL, &a, NULL, &err) == SQ_OK);
    ck_assert(sq_diff_stats(y, x, NULL, &b, NULL, &err) == SQ_OK);
    ck_assert(a.sum_e2 == b.sum_e2 && a.max_abs_err == b.max_abs_err);
    ck_assert(b.sqnr_db == 10.0 * log10(27.3125 / 1.3125));
    ck_assert(b.err_min == -1.0 && b.err_max == 0.5);
    sq_tensor_free(x);
    sq_tensor_free(y);
}
END_TEST

START_TEST(test_histogram)
{
    const size_t shape[] = {5};
    sq_tensor *x = tu_tensor(shape, 1, hx), *y = tu_tensor(shape, 1, hy);
    sq_diff d;
    sq_hist h = {0};
    sq_error err;
    sq_stats_opts o = sq_stats_opts_default();
    o.hist_bins = 4; /* default range there is "step": taken as the data range [-1, 1] */
    ck_assert(sq_diff_stats(x, y, &o, &d, &h, &err) == SQ_OK);
    ck_assert(h.bins == 4 && h.lo == -1.0 && h.hi == 1.0);
    /* bins [-1,-.5) [-.5,0) [0,.5) [.5,1]: -0.5 -> 1, -0.25 -> 1, 0 0 -> 2, 1 -> 3 */
    ck_assert_uint_eq(h.counts[0], 0);
    ck_assert_uint_eq(h.counts[1], 2);
    ck_assert_uint_eq(h.counts[2], 2);
    ck_assert_uint_eq(h.counts[3], 1);
    ck_assert_uint_eq(h.below + h.above, 0);
    sq_hist_free(&h);
    o.range = SQ_HIST_RANGE_FIXED;
    o.lo = -0.3;
    o.hi = 0.3;
    o.hist_bins = 2;
    ck_assert(sq_diff_stats(x, y, &o, &d, &h, &err) == SQ_OK);
    ck_assert_uint_eq(h.counts[0], 1); /* -0.25 */
    ck_assert_uint_eq(h.counts[1], 2); /* 0, 0 */
    ck_assert_uint_eq(h.below, 1);
    ck_assert_uint_eq(h.above, 1);
    sq_hist_free(&h);
    o.hist_bins = 0;
    ck_assert(sq_diff_stats(x, y, &o, &d, &h, &err) == SQ_ERR_ARG);
    ck_assert_ptr_null(h.counts);
    sq_tensor_free(x);
    sq_tensor_free(y);
}
END_TEST

START_TEST(test_identical_and_empty)
{
    const size_t shape[] = {5}, zero[] = {0, 3};
    sq_tensor *x = tu_tensor(shape, 1, hx), *e1, *e2;
    sq_diff d;
    sq_error err;
    ck_assert(sq_diff_stats(x, x, NULL, &d, NULL, &err) == SQ_OK);
    ck_assert(isinf(d.sqnr_db) && d.sqnr_db > 0);
    ck_assert(d.max_abs_err == 0.0 && d.cosine == 1.0 && d.p95_abs_err == 0.0);
    ck_assert(sq_tensor_new(zero, 2, SQ_DTYPE_F32, &e1, &err) == SQ_OK);
    ck_assert(sq_tensor_new(zero, 2, SQ_DTYPE_F32, &e2, &err) == SQ_OK);
    ck_assert(sq_diff_stats(e1, e2, NULL, &d, NULL, &err) == SQ_OK);
    ck_assert_uint_eq(d.numel, 0);
    ck_assert(d.mse == 0.0 && isinf(d.sqnr_db) && d.cosine == 1.0 && d.median_abs_err == 0.0);
    /* a zero reference against a nonzero other: -inf dB, cosine 0 */
    float z[5] = {0};
    sq_tensor *zt = tu_tensor(shape, 1, z);
    ck_assert(sq_diff_stats(zt, x, NULL, &d, NULL, &err) == SQ_OK);
    ck_assert(isinf(d.sqnr_db) && d.sqnr_db < 0 && d.cosine == 0.0);
    sq_tensor_free(zt);
    sq_tensor_free(e1);
    sq_tensor_free(e2);
    sq_tensor_free(x);
}
END_TEST

START_TEST(test_shapes)
{
    const size_t s23[] = {2, 3}, s32[] = {3, 2}, s6[] = {6};
    float v[6] = {1, 2, 3, 4, 5, 6};
    sq_tensor *a = tu_tensor(s23, 2, v), *b = tu_tensor(s32, 2, v), *c = tu_tensor(s6, 1, v);
    sq_diff d;
    sq_error err;
    ck_assert(sq_diff_stats(a, b, NULL, &d, NULL, &err) == SQ_ERR_ARG);
    ck_assert_str_eq(err.msg, "shapes differ: the reference is [2, 3], the other [3, 2] (dimension 1: 2 vs 3)");
    ck_assert(sq_diff_stats(a, c, NULL, &d, NULL, &err) == SQ_ERR_ARG);
    ck_assert_str_eq(err.msg, "shapes differ: the reference is [2, 3] (2 dimensions), the other [6] (1)");
    ck_assert_uint_eq(d.numel, 0);
    sq_tensor_free(a);
    sq_tensor_free(b);
    sq_tensor_free(c);
}
END_TEST

START_TEST(test_nonfinite)
{
    const size_t shape[] = {5};
    float bad[5] = {1, 2, NAN, 4, 0};
    sq_tensor *x = tu_tensor(shape, 1, hx), *y = tu_tensor(shape, 1, bad);
    sq_diff d;
    sq_error err;
    ck_assert(sq_diff_stats(x, y, NULL, &d, NULL, &err) == SQ_ERR_NONFINITE);
    ck_assert_msg(strstr(err.msg, "the other tensor") != NULL, "%s", err.msg);
    ck_assert(sq_diff_stats(y, x, NULL, &d, NULL, &err) == SQ_ERR_NONFINITE);
    ck_assert_msg(strstr(err.msg, "the reference") != NULL, "%s", err.msg);
    sq_tensor_free(x);
    sq_tensor_free(y);
}
END_TEST

START_TEST(test_pooled)
{
    sq_diff d;
    sq_diff_pooled(4, 100.0, 1.0, 0.5, &d);
    ck_assert(d.sqnr_db == 20.0 && d.mse == 0.25 && d.rmse == 0.5 && d.max_abs_err == 0.5);
    ck_assert(isnan(d.cosine));
    ck_assert(sq_diff_sqnr_db(0.0, 0.0) == INFINITY && sq_diff_sqnr_db(0.0, 1.0) == -INFINITY);
}
END_TEST

/* ---- tensors of several parts ------------------------------------------------ */

/* diff.h's part size: sums run in parts of this many elements. */
#define PART ((size_t)1 << 18)
#define NBIG (2 * PART + 7)

/* A pseudo-random float in [-1, 1) (xorshift64). */
static float rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (float)((double)(*s >> 11) * 0x1.0p-52 - 1.0);
}

/* x random; y = x + noise scaled by s (0: y = x). ties > 0: y = x + k / 4
 * with k in 0..ties - 1 (skewed to small k): few distinct errors. */
static void make_pair(float *x, float *y, size_t n, float s, int ties, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        x[i] = rnd(&seed);
        if (ties > 0) { /* x on a grid of 2^-10: x + k / 4 exact */
            x[i] = (float)(int)(x[i] * 1024.0f) / 1024.0f;
            float u = rnd(&seed) * 0.5f + 0.5f;
            y[i] = x[i] + (float)(int)(u * u * (float)ties) * 0.25f;
        } else
            y[i] = x[i] + s * rnd(&seed);
    }
}

/* The figures as diff.h defines them, summed in its order: parts of PART
 * elements, each part in two lanes (even and odd offsets) added at the
 * end, the parts added in order; percentiles by sq_percentile_select. */
static void reference(const float *x, const float *y, size_t n, sq_diff *r, double *sxy, double *sa)
{
    memset(r, 0, sizeof *r);
    *sxy = *sa = 0;
    for (size_t a = 0; a < n; a += PART) {
        double l[2][5] = {{0}};
        size_t b = n - a < PART ? n : a + PART;
        for (size_t i = a; i < b; i++) {
            double xi = x[i], yi = y[i], d = xi - yi, *s = l[(i - a) % 2];
            s[0] += xi * xi;
            s[1] += yi * yi;
            s[2] += xi * yi;
            s[3] += d * d;
            s[4] += fabs(d);
            if (fabs(d) > r->max_abs_err) {
                r->max_abs_err = fabs(d);
                r->max_index = i;
            }
            if (i == 0 || d < r->err_min)
                r->err_min = d;
            if (i == 0 || d > r->err_max)
                r->err_max = d;
        }
        r->sum_x2 += l[0][0] + l[1][0];
        r->sum_y2 += l[0][1] + l[1][1];
        *sxy += l[0][2] + l[1][2];
        r->sum_e2 += l[0][3] + l[1][3];
        *sa += l[0][4] + l[1][4];
    }
    float *e = malloc((n ? n : 1) * sizeof *e);
    ck_assert_ptr_nonnull(e);
    for (size_t i = 0; i < n; i++)
        e[i] = fabsf((float)((double)x[i] - (double)y[i]));
    r->median_abs_err = n ? sq_percentile_select(e, n, 0.5) : 0.0;
    r->p95_abs_err = n ? sq_percentile_select(e, n, 0.95) : 0.0;
    free(e);
}

/* sq_diff_stats (and sq_diff_doubles on the same values) equal the reference
 * exactly; what names the case. */
static void check_against_reference(const float *x, const float *y, size_t n, const char *what)
{
    const size_t shape[1] = {n};
    sq_tensor *tx, *ty;
    sq_error err;
    ck_assert(sq_tensor_new(shape, 1, SQ_DTYPE_F32, &tx, &err) == SQ_OK);
    ck_assert(sq_tensor_new(shape, 1, SQ_DTYPE_F32, &ty, &err) == SQ_OK);
    if (n) {
        memcpy(tx->data, x, n * sizeof *x);
        memcpy(ty->data, y, n * sizeof *y);
    }
    sq_diff d, r, dd;
    double sxy, sa;
    reference(x, y, n, &r, &sxy, &sa);
    ck_assert_msg(sq_diff_stats(tx, ty, NULL, &d, NULL, &err) == SQ_OK, "%s", err.msg);
    ck_assert_msg(d.sum_x2 == r.sum_x2 && d.sum_y2 == r.sum_y2 && d.sum_e2 == r.sum_e2, "%s: sums", what);
    ck_assert_msg(d.mean_abs_err == (n ? sa / (double)n : 0.0), "%s: mean |e|", what);
    if (r.sum_x2 > 0 && r.sum_y2 > 0)
        ck_assert_msg(d.cosine == sxy / sqrt(r.sum_x2 * r.sum_y2), "%s: cosine", what);
    ck_assert_msg(d.max_abs_err == r.max_abs_err && d.max_index == r.max_index, "%s: max |e| %g at %zu, not %g at %zu",
                  what, d.max_abs_err, d.max_index, r.max_abs_err, r.max_index);
    ck_assert_msg(d.err_min == r.err_min && d.err_max == r.err_max, "%s: extremes", what);
    ck_assert_msg(d.median_abs_err == r.median_abs_err && d.p95_abs_err == r.p95_abs_err,
                  "%s: median %.9g p95 %.9g, selection %.9g %.9g", what, d.median_abs_err, d.p95_abs_err,
                  r.median_abs_err, r.p95_abs_err);
    double *xd = malloc((n ? n : 1) * sizeof *xd), *yd = malloc((n ? n : 1) * sizeof *yd);
    ck_assert(xd && yd);
    for (size_t i = 0; i < n; i++) {
        xd[i] = x[i];
        yd[i] = y[i];
    }
    ck_assert(sq_diff_doubles(xd, yd, n, NULL, &dd, NULL, &err) == SQ_OK);
    ck_assert_msg(memcmp(&d, &dd, sizeof d) == 0, "%s: the doubles path differs", what);
    free(xd);
    free(yd);
    sq_tensor_free(tx);
    sq_tensor_free(ty);
}

START_TEST(test_parts_reference)
{
    float *x = malloc(4 * PART * sizeof *x), *y = malloc(4 * PART * sizeof *y);
    ck_assert(x && y);
    make_pair(x, y, NBIG, 0.01f, 0, 1);
    check_against_reference(x, y, NBIG, "random");
    make_pair(x, y, NBIG, 0.0f, 4, 2);
    check_against_reference(x, y, NBIG, "ties (4 values)");
    make_pair(x, y, NBIG, 0.0f, 2, 3);
    check_against_reference(x, y, NBIG, "ties (2 values)");
    make_pair(x, y, NBIG, 0.0f, 0, 4);
    check_against_reference(x, y, NBIG, "all zero");
    make_pair(x, y, 4 * PART, 0.5f, 0, 5);
    check_against_reference(x, y, PART + 1, "one part and one value");
    check_against_reference(x, y, 4 * PART, "four whole parts");
    for (size_t n = 0; n <= 4; n++)
        check_against_reference(x, y, n, "tiny");
    check_against_reference(x, y, 1001, "one part");
    /* every |e| distinct and many at the same top bits */
    for (size_t i = 0; i < 4 * PART; i++) {
        x[i] = 1.0f + (float)i * 0x1.0p-23f;
        y[i] = 1.0f;
    }
    check_against_reference(x, y, NBIG, "a ramp");
    /* the median halfway between ranks 2^18 + 2047 and 2^18 + 2048: |e|
     * 2^-5 + 2^-12 - 2^-23 and 2^-5 + 2^-12, in two bins of the top 16 bits */
    check_against_reference(x, y, 2 * (PART + 2048), "a ramp, the median across two bins");
    free(x);
    free(y);
}
END_TEST

/* The first of equal largest |e| (in a later part than another one), and
 * the signed extremes across parts. */
START_TEST(test_parts_first_max)
{
    const size_t shape[1] = {NBIG};
    sq_tensor *x, *y;
    sq_error err;
    sq_diff d;
    ck_assert(sq_tensor_new(shape, 1, SQ_DTYPE_F32, &x, &err) == SQ_OK);
    ck_assert(sq_tensor_new(shape, 1, SQ_DTYPE_F32, &y, &err) == SQ_OK);
    memset(x->data, 0, NBIG * sizeof(float));
    memset(y->data, 0, NBIG * sizeof(float));
    y->data[PART + 10] = 1.0f;
    y->data[2 * PART + 1] = -1.0f;
    y->data[5] = 0.5f;
    ck_assert(sq_diff_stats(x, y, NULL, &d, NULL, &err) == SQ_OK);
    ck_assert(d.max_abs_err == 1.0);
    ck_assert_uint_eq(d.max_index, PART + 10);
    ck_assert(d.err_min == -1.0 && d.err_max == 1.0);
    ck_assert(d.median_abs_err == 0.0 && d.p95_abs_err == 0.0);
    ck_assert(d.sum_e2 == 2.25 && d.sum_x2 == 0.0 && d.sqnr_db == -INFINITY && d.cosine == 0.0);
    sq_tensor_free(x);
    sq_tensor_free(y);
}
END_TEST

/* The histogram over several parts equals sq_histogram_floats over e. */
START_TEST(test_parts_histogram)
{
    const size_t shape[1] = {NBIG};
    sq_tensor *x, *y;
    sq_error err;
    sq_diff d;
    sq_hist h = {0}, r = {0};
    ck_assert(sq_tensor_new(shape, 1, SQ_DTYPE_F32, &x, &err) == SQ_OK);
    ck_assert(sq_tensor_new(shape, 1, SQ_DTYPE_F32, &y, &err) == SQ_OK);
    make_pair(x->data, y->data, NBIG, 0.01f, 0, 6);
    float *e = malloc(NBIG * sizeof *e);
    ck_assert_ptr_nonnull(e);
    for (size_t i = 0; i < NBIG; i++)
        e[i] = (float)((double)x->data[i] - (double)y->data[i]);
    sq_stats_opts o = sq_stats_opts_default();
    o.range = SQ_HIST_RANGE_DATA;
    o.hist_bins = 37;
    ck_assert(sq_diff_stats(x, y, &o, &d, &h, &err) == SQ_OK);
    double m = fmax(d.max_abs_err, (double)(float)d.max_abs_err);
    ck_assert(sq_histogram_floats(e, NBIG, 37, -m, m, &r, &err) == SQ_OK);
    ck_assert(h.bins == 37 && h.lo == -m && h.hi == m);
    ck_assert(memcmp(h.counts, r.counts, 37 * sizeof *h.counts) == 0 && h.below == 0 && h.above == 0);
    sq_hist_free(&h);
    sq_hist_free(&r);
    o.range = SQ_HIST_RANGE_FIXED; /* values outside on both sides */
    o.lo = -0.004;
    o.hi = 0.003;
    ck_assert(sq_diff_stats(x, y, &o, &d, &h, &err) == SQ_OK);
    ck_assert(sq_histogram_floats(e, NBIG, 37, -0.004, 0.003, &r, &err) == SQ_OK);
    ck_assert(memcmp(h.counts, r.counts, 37 * sizeof *h.counts) == 0);
    ck_assert(h.below == r.below && h.above == r.above && h.below > 0 && h.above > 0);
    sq_hist_free(&h);
    sq_hist_free(&r);
    free(e);
    sq_tensor_free(x);
    sq_tensor_free(y);
}
END_TEST

/* Every figure, the histogram and the errors are the same for 1, 2, 3 and
 * 7 threads. */
START_TEST(test_parts_threads)
{
    static const int threads[] = {1, 2, 3, 7};
    const size_t n = 3 * PART + 11, shape[1] = {n};
    sq_tensor *x, *y;
    sq_error err;
    sq_diff d[4], dd[4];
    sq_hist h[4];
    char msg[4][SQ_ERROR_MSG_MAX];
    ck_assert(sq_tensor_new(shape, 1, SQ_DTYPE_F32, &x, &err) == SQ_OK);
    ck_assert(sq_tensor_new(shape, 1, SQ_DTYPE_F32, &y, &err) == SQ_OK);
    make_pair(x->data, y->data, n, 0.03f, 0, 7);
    double *xd = malloc(n * sizeof *xd), *yd = malloc(n * sizeof *yd);
    ck_assert(xd && yd);
    for (size_t i = 0; i < n; i++) {
        xd[i] = x->data[i];
        yd[i] = (double)y->data[i] + 1e-9 * (double)(i % 5); /* not float values */
    }
    sq_stats_opts o = sq_stats_opts_default();
    o.range = SQ_HIST_RANGE_DATA;
    for (int t = 0; t < 4; t++) {
        sq_threads_set(threads[t]);
        memset(&h[t], 0, sizeof h[t]);
        ck_assert(sq_diff_stats(x, y, &o, &d[t], &h[t], &err) == SQ_OK);
        ck_assert(sq_diff_doubles(xd, yd, n, NULL, &dd[t], NULL, &err) == SQ_OK);
        float keep[2] = {y->data[n - 3], y->data[PART + 2]};
        y->data[n - 3] = INFINITY;
        y->data[PART + 2] = NAN;
        ck_assert(sq_diff_stats(x, y, NULL, &(sq_diff){0}, NULL, &err) == SQ_ERR_NONFINITE);
        snprintf(msg[t], sizeof msg[t], "%s", err.msg);
        y->data[n - 3] = keep[0];
        y->data[PART + 2] = keep[1];
    }
    sq_threads_set(0);
    ck_assert_msg(strstr(msg[0], "the other tensor has 2 non-finite values (1 NaN, 1 Inf)") != NULL &&
                      strstr(msg[0], "first at element 262147 ") != NULL, "%s", msg[0]);
    for (int t = 1; t < 4; t++) {
        ck_assert_msg(memcmp(&d[t], &d[0], sizeof d[0]) == 0, "%d threads: %.17g %.17g %.17g %.17g %.17g %.17g %zu %zu",
                      threads[t], d[t].sum_e2, d[0].sum_e2, d[t].median_abs_err, d[0].median_abs_err, d[t].cosine,
                      d[0].cosine, d[t].max_index, d[0].max_index);
        ck_assert_msg(memcmp(&dd[t], &dd[0], sizeof dd[0]) == 0, "%d threads (doubles)", threads[t]);
        ck_assert(h[t].bins == h[0].bins && h[t].below == h[0].below && h[t].above == h[0].above);
        ck_assert(memcmp(h[t].counts, h[0].counts, (size_t)h[0].bins * sizeof *h[0].counts) == 0);
        ck_assert_str_eq(msg[t], msg[0]);
    }
    for (int t = 0; t < 4; t++)
        sq_hist_free(&h[t]);
    free(xd);
    free(yd);
    sq_tensor_free(x);
    sq_tensor_free(y);
}
END_TEST

/* sq_tensor_check_finite over several parts: counts from every part, the
 * first by index, for any thread count. */
START_TEST(test_parts_check_finite)
{
    const size_t shape[2] = {3, PART}; /* rows of one part each */
    sq_tensor *t;
    sq_error err;
    ck_assert(sq_tensor_new(shape, 2, SQ_DTYPE_F32, &t, &err) == SQ_OK);
    memset(t->data, 0, 3 * PART * sizeof(float));
    ck_assert(sq_tensor_check_finite(t, "t", &err) == SQ_OK);
    t->data[3 * PART - 1] = -INFINITY;
    t->data[2 * PART + 4] = NAN;
    t->data[PART + 9] = INFINITY;
    t->data[PART + 1] = NAN;
    for (int k = 1; k <= 3; k++) {
        sq_threads_set(k);
        ck_assert(sq_tensor_check_finite(t, "t", &err) == SQ_ERR_NONFINITE);
        ck_assert_str_eq(err.msg, "t has 4 non-finite values (2 NaN, 2 Inf) of 786432; first at element 262146 [2, 2] "
                                  "= nan");
    }
    sq_threads_set(0);
    sq_tensor_free(t);
}
END_TEST

/* sq_diff_doubles: a non-finite value named by side and 1-based element in a
 * later part; a difference overflowing to infinity is no error. */
START_TEST(test_parts_doubles)
{
    double *x = calloc(NBIG, sizeof *x), *y = calloc(NBIG, sizeof *y);
    sq_diff d;
    sq_error err;
    ck_assert(x && y);
    y[2 * PART + 3] = NAN;
    x[2 * PART + 5] = INFINITY;
    ck_assert(sq_diff_doubles(x, y, NBIG, NULL, &d, NULL, &err) == SQ_ERR_NONFINITE);
    ck_assert_str_eq(err.msg, "the other holds a non-finite value at element 524292");
    ck_assert_uint_eq(d.numel, 0);
    y[2 * PART + 3] = 0;
    x[2 * PART + 5] = 1e308;
    y[2 * PART + 5] = -1e308;
    ck_assert_msg(sq_diff_doubles(x, y, NBIG, NULL, &d, NULL, &err) == SQ_OK, "%s", err.msg);
    ck_assert(d.max_abs_err == INFINITY && d.max_index == 2 * PART + 5 && d.median_abs_err == 0.0);
    ck_assert(sq_diff_doubles(x + 2 * PART, y + 2 * PART, 7, NULL, &d, NULL, &err) == SQ_OK);
    ck_assert(d.max_abs_err == INFINITY && d.max_index == 5 && d.p95_abs_err == INFINITY);
    free(x);
    free(y);
}
END_TEST

static Suite *diff_suite(void)
{
    Suite *s = suite_create("diff");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_hand);
    tcase_add_test(tc, test_reference_side);
    tcase_add_test(tc, test_histogram);
    tcase_add_test(tc, test_identical_and_empty);
    tcase_add_test(tc, test_shapes);
    tcase_add_test(tc, test_nonfinite);
    tcase_add_test(tc, test_pooled);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("parts");
    tcase_set_timeout(tp, 120);
    tcase_add_test(tp, test_parts_reference);
    tcase_add_test(tp, test_parts_first_max);
    tcase_add_test(tp, test_parts_histogram);
    tcase_add_test(tp, test_parts_threads);
    tcase_add_test(tp, test_parts_doubles);
    tcase_add_test(tp, test_parts_check_finite);
    suite_add_tcase(s, tp);
    return s;
}

TU_MAIN(diff_suite)
