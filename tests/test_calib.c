/* test_calib.c - calibration methods (percentile, mse, clip, range, kl):
 * exact ranges on hand-computed data, clipping counts, per-channel and
 * per-group groups, MSE optimality against the grid and min/max, KL against
 * a worked example and a direct implementation of NVIDIA's description,
 * thread independence, the configuration errors, and the split of the MSE
 * into rounding and clipping. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quant.h"
#include "safetensors.h"
#include "stats.h"
#include "testutil.h"
#include "simd.h"
#include "threads.h"

static sq_qtensor *quant(const sq_tensor *x, sq_qconfig cfg)
{
    sq_qtensor *q;
    sq_error err;
    ck_assert_msg(sq_quantize(x, &cfg, &q, &err) == SQ_OK, "%s", err.msg);
    return q;
}

/* Round-trip sum of squared errors of x under cfg. */
static double sse_of(const sq_tensor *x, sq_qconfig cfg)
{
    sq_qtensor *q = quant(x, cfg);
    sq_tensor *y;
    sq_error err;
    ck_assert(sq_dequantize(q, &y, &err) == SQ_OK);
    double s = 0.0;
    for (size_t i = 0; i < x->numel; i++) {
        double e = (double)y->data[i] - (double)x->data[i];
        s += e * e;
    }
    sq_tensor_free(y);
    sq_qtensor_free(q);
    return s;
}

static sq_tensor *seq_1_100(void)
{
    float v[100];
    for (int i = 0; i < 100; i++)
        v[i] = (float)(i + 1);
    size_t shape[1] = {100};
    return tu_tensor(shape, 1, v);
}

START_TEST(test_percentile_numpy_interpolation)
{
    sq_tensor *x = seq_1_100();
    sq_qconfig c = sq_qconfig_default();
    c.calibration = SQ_CALIB_PERCENTILE;
    c.percentile = 99.0;
    sq_qtensor *q = quant(x, c); /* numpy.percentile(1..100, 99) = 99.01 */
    ck_assert(q->scales[0] == 99.01 / 127.0);
    ck_assert_uint_eq(q->n_clipped, 1); /* only 100 lies beyond 99.01 */
    sq_qtensor_free(q);
    c.percentile = 50.0; /* the median of 1..100: 50.5 */
    q = quant(x, c);
    ck_assert(q->scales[0] == 50.5 / 127.0);
    ck_assert_uint_eq(q->n_clipped, 50); /* 51..100: 51 -> 128.26 */
    sq_qtensor_free(q);
    c.percentile = 100.0; /* = min/max */
    q = quant(x, c);
    ck_assert(q->scales[0] == 100.0 / 127.0);
    ck_assert_uint_eq(q->n_clipped, 0);
    sq_qtensor_free(q);
    c.mode = SQ_MODE_ASYMMETRIC; /* percentiles 1 and 99: 1.99 and 99.01 */
    c.percentile = 99.0;
    q = quant(x, c);
    ck_assert_double_eq_tol(q->scales[0], (99.01 - 1.99) / 255.0, 1e-15);
    ck_assert_uint_eq(q->n_clipped, 2); /* 1 and 100 */
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

START_TEST(test_clip_ratio)
{
    float v[9] = {-4, -3, -2, -1, 0, 1, 2, 3, 4};
    size_t shape[1] = {9};
    sq_tensor *x = tu_tensor(shape, 1, v);
    sq_qconfig c = sq_qconfig_default();
    c.calibration = SQ_CALIB_CLIP;
    c.clip = 0.5;
    sq_qtensor *q = quant(x, c);
    ck_assert(q->scales[0] == (4.0 * 0.5) / 127.0);
    ck_assert_uint_eq(q->n_clipped, 4); /* -4, -3, 3, 4 */
    ck_assert_int_eq(sq_qtensor_code(q, 0), -127);
    ck_assert_int_eq(sq_qtensor_code(q, 6), 127);
    sq_qtensor_free(q);
    c.bits = 4;
    q = quant(x, c);
    ck_assert(q->scales[0] == 2.0 / 7.0);
    ck_assert_uint_eq(q->n_clipped, 4);
    sq_qtensor_free(q);
    c.clip = 1.0; /* the min/max result */
    q = quant(x, c);
    ck_assert(q->scales[0] == 4.0 / 7.0);
    ck_assert_uint_eq(q->n_clipped, 0);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

START_TEST(test_explicit_range)
{
    float v[4] = {-2, 0, 1, 5};
    size_t shape[1] = {4};
    sq_tensor *x = tu_tensor(shape, 1, v);
    sq_qconfig c = sq_qconfig_default();
    c.calibration = SQ_CALIB_RANGE;
    c.range_lo = -1.0;
    c.range_hi = 3.0;
    c.mode = SQ_MODE_ASYMMETRIC;
    sq_qtensor *q = quant(x, c);
    ck_assert(q->scales[0] == 4.0 / 255.0);
    ck_assert(q->zero_points[0] == -64.0); /* round(-128 + 63.75) */
    ck_assert_uint_eq(q->n_clipped, 2);    /* -2 and 5 */
    sq_qtensor_free(q);
    c.mode = SQ_MODE_SYMMETRIC; /* max(|lo|, |hi|) = 3 */
    q = quant(x, c);
    ck_assert(q->scales[0] == 3.0 / 127.0);
    ck_assert_uint_eq(q->n_clipped, 1); /* 5 */
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

START_TEST(test_per_group_and_per_channel)
{
    float g[8] = {1, 2, 3, 4, -8, 0, 0, 0};
    size_t gs[1] = {8};
    sq_tensor *x = tu_tensor(gs, 1, g);
    sq_qconfig c = sq_qconfig_default();
    c.calibration = SQ_CALIB_CLIP;
    c.clip = 0.5;
    c.granularity = SQ_GRAN_GROUP;
    c.group_size = 4;
    sq_qtensor *q = quant(x, c);
    ck_assert(q->scales[0] == 2.0 / 127.0);
    ck_assert(q->scales[1] == 4.0 / 127.0);
    ck_assert_uint_eq(q->n_clipped, 3); /* 3, 4 and -8 */
    sq_qtensor_free(q);
    sq_tensor_free(x);

    float m[6] = {1, 10, 2, 20, 3, 40}; /* 3 x 2: channels of axis 1 interleave */
    size_t ms[2] = {3, 2};
    x = tu_tensor(ms, 2, m);
    c = sq_qconfig_default();
    c.calibration = SQ_CALIB_PERCENTILE;
    c.percentile = 50.0;
    c.granularity = SQ_GRAN_CHANNEL;
    c.axis = 1;
    q = quant(x, c);
    ck_assert(q->scales[0] == 2.0 / 127.0);
    ck_assert(q->scales[1] == 20.0 / 127.0);
    ck_assert_uint_eq(q->n_clipped, 2); /* 3 and 40 */
    sq_qtensor_free(q);
    c.axis = 0; /* rows {1,10}, {2,20}, {3,40}: medians 5.5, 11, 21.5 */
    q = quant(x, c);
    ck_assert(q->scales[0] == 5.5 / 127.0);
    ck_assert(q->scales[1] == 11.0 / 127.0);
    ck_assert(q->scales[2] == 21.5 / 127.0);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

/* Heavy-tailed data: the cube of standard normal values. */
static sq_tensor *heavy(size_t rows, size_t cols, uint64_t seed)
{
    size_t shape[2] = {rows, cols};
    sq_tensor *x;
    sq_error err;
    ck_assert(sq_tensor_randn(shape, 2, seed, &x, &err) == SQ_OK);
    for (size_t i = 0; i < x->numel; i++)
        x->data[i] = x->data[i] * x->data[i] * x->data[i];
    return x;
}

START_TEST(test_mse_reaches_grid_optimum)
{
    sq_tensor *x = heavy(64, 64, 7);
    sq_qconfig c = sq_qconfig_default();
    c.bits = 4;
    float amax = 0;
    for (size_t i = 0; i < x->numel; i++)
        amax = fabsf(x->data[i]) > amax ? fabsf(x->data[i]) : amax;
    double grid_best = INFINITY;
    sq_qconfig r = c;
    r.calibration = SQ_CALIB_RANGE;
    for (int i = 0; i < 100; i++) {
        double a = 0.2 + 0.8 / 99 * i;
        r.range_lo = -a * amax;
        r.range_hi = a * amax;
        double e = sse_of(x, r);
        grid_best = e < grid_best ? e : grid_best;
    }
    double minmax = sse_of(x, c);
    c.calibration = SQ_CALIB_MSE;
    double mse = sse_of(x, c);
    ck_assert_msg(mse <= grid_best, "mse %g > grid best %g", mse, grid_best);
    ck_assert_msg(mse < 0.75 * minmax, "mse %g not well below min/max %g", mse, minmax);
    sq_qtensor *q = quant(x, c);
    ck_assert(q->scales[0] < amax / 7.0);
    ck_assert_uint_gt(q->n_clipped, 0);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

START_TEST(test_mse_never_worse_than_minmax)
{
    for (int t = 0; t < 50; t++) {
        sq_tensor *x = heavy(8 + t % 5, 32, 100 + (uint64_t)t);
        if (t % 3 == 0)
            for (size_t i = 0; i < x->numel; i++)
                x->data[i] = cbrtf(x->data[i]); /* plain normal data too */
        sq_qconfig c = sq_qconfig_default();
        c.bits = 2 + t % 7;
        c.mode = t % 2 ? SQ_MODE_ASYMMETRIC : SQ_MODE_SYMMETRIC;
        c.rounding = t % 4 >= 2 ? SQ_ROUND_EVEN : SQ_ROUND_AWAY;
        c.granularity = (sq_granularity)(t % 3);
        c.group_size = 8;
        c.axis = 1;
        if (t % 10 == 4) /* magnitudes float squares cannot hold: the all-exact search */
            for (size_t i = 0; i < x->numel; i++)
                x->data[i] *= t < 25 ? 1e-30f : 1e25f;
        double minmax = sse_of(x, c);
        c.calibration = SQ_CALIB_MSE;
        double mse = sse_of(x, c);
        ck_assert_msg(mse <= minmax, "tensor %d: mse %g > min/max %g", t, mse, minmax);
        sq_tensor_free(x);
    }
}
END_TEST

/* Per group (the float-ranked search): every group's error is at most that
 * of the best point of the 100-point grid and that of min/max, each found by
 * quantizing the group alone with the explicit range (the sums in a
 * different order: a relative 1e-12 of slack). */
START_TEST(test_mse_per_group_reaches_grid_optimum)
{
    for (int t = 0; t < 4; t++) {
        sq_tensor *x = heavy(8, 64, 40 + (uint64_t)t);
        sq_qconfig c = sq_qconfig_default();
        c.bits = 3 + t % 2;
        c.mode = t >= 2 ? SQ_MODE_ASYMMETRIC : SQ_MODE_SYMMETRIC;
        c.granularity = SQ_GRAN_GROUP;
        c.group_size = 32;
        c.calibration = SQ_CALIB_MSE;
        sq_qtensor *q = quant(x, c);
        sq_tensor *y;
        sq_error err;
        ck_assert(sq_dequantize(q, &y, &err) == SQ_OK);
        for (size_t g = 0; g < x->numel / 32; g++) {
            const float *v = x->data + 32 * g;
            float mn = INFINITY, mx = -INFINITY;
            double got = 0.0;
            for (int k = 0; k < 32; k++) {
                mn = v[k] < mn ? v[k] : mn;
                mx = v[k] > mx ? v[k] : mx;
                double e = (double)y->data[32 * g + k] - (double)v[k];
                got += e * e;
            }
            double amax = fabs((double)mn) > fabs((double)mx) ? fabs((double)mn) : fabs((double)mx);
            double lo = c.mode == SQ_MODE_SYMMETRIC ? -amax : mn, hi = c.mode == SQ_MODE_SYMMETRIC ? amax : mx;
            size_t shape[1] = {32};
            sq_tensor *one = tu_tensor(shape, 1, v);
            sq_qconfig r = c;
            r.granularity = SQ_GRAN_TENSOR;
            r.calibration = SQ_CALIB_RANGE;
            double best = INFINITY;
            for (int i = 0; i < 100; i++) {
                double a = i == 99 ? 1.0 : 0.2 + 0.8 / 99 * i;
                r.range_lo = a * lo;
                r.range_hi = a * hi;
                double e = sse_of(one, r);
                best = e < best ? e : best;
            }
            ck_assert_msg(got <= best * (1 + 1e-12), "case %d group %zu: %.17g > grid best %.17g", t, g, got, best);
            sq_tensor_free(one);
        }
        sq_tensor_free(y);
        sq_qtensor_free(q);
        sq_tensor_free(x);
    }
}
END_TEST

START_TEST(test_same_for_any_thread_count)
{
    sq_tensor *x = heavy(256, 512, 3);
    sq_calibration cal[3] = {SQ_CALIB_MSE, SQ_CALIB_PERCENTILE, SQ_CALIB_CLIP};
    for (int m = 0; m < 3; m++)
        for (int g = 0; g < 3; g++) {
            sq_qconfig c = sq_qconfig_default();
            c.bits = 4;
            c.calibration = cal[m];
            c.percentile = 99.9;
            c.clip = 0.7;
            c.granularity = (sq_granularity)g;
            c.axis = 1;
            sq_threads_set(1);
            sq_qtensor *a = quant(x, c);
            sq_threads_set(2);
            sq_qtensor *b = quant(x, c);
            ck_assert_uint_eq(a->n_scales, b->n_scales);
            ck_assert(memcmp(a->scales, b->scales, a->n_scales * sizeof(double)) == 0);
            ck_assert(memcmp(a->codes, b->codes, a->code_bytes) == 0);
            ck_assert_uint_eq(a->n_clipped, b->n_clipped);
            sq_qtensor_free(a);
            sq_qtensor_free(b);
        }
    sq_threads_set(0);
    sq_tensor_free(x);
}
END_TEST

/* ---- kl ------------------------------------------------------------------ */

#define KL_BINS 2048

/* The histogram of |x| with KL_BINS bins over [0, max|x|] (bin of v:
 * floor(|v| * 2048 / max), the top value in the last bin); returns max|x|. */
static double ref_hist(const float *x, size_t n, double *h)
{
    double amax = 0.0;
    for (size_t k = 0; k < n; k++)
        amax = fabs((double)x[k]) > amax ? fabs((double)x[k]) : amax;
    memset(h, 0, KL_BINS * sizeof *h);
    for (size_t k = 0; k < n; k++) {
        double b = fabs((double)x[k]) * (KL_BINS / amax);
        h[b < KL_BINS - 1 ? (int)b : KL_BINS - 1] += 1.0;
    }
    return amax;
}

/* KL(P || Q) of candidate i for L levels, straight from NVIDIA's description
 * (GTC 2017): P = bins 0..i-1 with the count beyond added to bin i-1; Q =
 * bins 0..i-1 without it, merged into L groups of i/L bins (the last takes
 * the rest), each group's sum spread over the bins where P is not zero;
 * both normalized; where q = 0 < p (the clipped values alone in their
 * group) q = 1/(N+1), N the count, as squint smooths it. */
static double ref_kl(const double *h, int i, int L)
{
    static double P[KL_BINS], Q[KL_BINS];
    double out = 0.0, sp = 0.0, sq = 0.0, kl = 0.0;
    for (int j = i; j < KL_BINS; j++)
        out += h[j];
    for (int j = 0; j < i; j++)
        P[j] = h[j];
    P[i - 1] += out;
    int per = i / L;
    for (int g = 0; g < L; g++) {
        int a = g * per, b = g == L - 1 ? i : a + per, nz = 0;
        double sum = 0.0;
        for (int j = a; j < b; j++) {
            sum += h[j];
            nz += P[j] != 0.0;
        }

        for (int j = a; j < b; j++)
            Q[j] = P[j] != 0.0 ? sum / nz : 0.0;
    }
    for (int j = 0; j < i; j++) {
        sp += P[j];
        sq += Q[j];
    }
    for (int j = 0; j < i; j++) {
        if (P[j] == 0.0)
            continue;
        double p = P[j] / sp, q = Q[j] > 0.0 ? Q[j] / sq : 1.0 / (sp + 1.0); /* squint's smoothing */
        kl += p * log(p / q);
    }
    return kl;
}

/* The candidate i (L..2048) of smallest divergence, the first on ties. */
static int ref_best(const double *h, int L, double *best_kl)
{
    int best = KL_BINS;
    *best_kl = INFINITY;
    for (int i = L; i <= KL_BINS; i++) {
        double d = ref_kl(h, i, L);
        if (d < *best_kl) {
            *best_kl = d;
            best = i;
        }
    }
    return best;
}

/* The worked example (int2, L = 2 levels, bin width 1): counts 4, 3, 2, 1 in
 * bins 0..3 and one value at 2048 (bin 2047). By hand: i = 2: P = (4, 7),
 * Q = (4, 3): KL 0.0873; i = 3: P = (4, 3, 4), Q = (4, 2.5, 2.5): 0.0200;
 * i = 4: P = (4, 3, 2, 2), Q = (3.5, 3.5, 1.5, 1.5): 0.0158; i = 5: 0.0372;
 * i = 6, 7: 0.0616; i = 8..2047: the first group holds bins 0..3, spread
 * as 2.5 each, the second only the outlier folded into bin i-1, so q there
 * is 1/12: 0.0180; i = 2048: the same groups, the outlier with its own
 * count: Q = (2.5, 2.5, 2.5, 2.5, 0, ..., 0, 1) / 11: 0.0968. So i = 4 and
 * T = 4.5: the scale 4.5 / 1. */
START_TEST(test_kl_worked_example)
{
    float v[11] = {0.5f, -0.5f, 0.5f, 0.5f, 1.5f, -1.5f, 1.5f, 2.5f, -2.5f, 3.5f, 2048.0f};
    size_t shape[1] = {11};
    sq_tensor *x = tu_tensor(shape, 1, v);
    double h[KL_BINS], d;
    ref_hist(v, 11, h);
    ck_assert_int_eq(ref_best(h, 2, &d), 4);
    ck_assert_double_eq_tol(d, 0.0158, 1e-4);
    ck_assert_double_eq_tol(ref_kl(h, 3, 2), 0.0200, 1e-4);
    ck_assert_double_eq_tol(ref_kl(h, 2048, 2), 0.0968, 1e-4);
    ck_assert_double_eq_tol(ref_kl(h, 8, 2), 0.0180, 1e-4);
    ck_assert_double_eq_tol(ref_kl(h, 2047, 2), 0.0180, 1e-4);
    sq_qconfig c = sq_qconfig_default();
    c.bits = 2;
    c.calibration = SQ_CALIB_KL;
    sq_qtensor *q = quant(x, c);
    ck_assert(q->scales[0] == 4.5);
    ck_assert_uint_eq(q->n_clipped, 1); /* 2048 */
    ck_assert_int_eq(sq_qtensor_code(q, 7), 1); /* 2.5 / 4.5 rounds to 1 */
    ck_assert_int_eq(sq_qtensor_code(q, 4), 0);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

/* Normal values with n_out outliers of 50 to 80 (alternating signs). */
static sq_tensor *with_outliers(size_t n, size_t n_out, uint64_t seed)
{
    size_t shape[1] = {n};
    sq_tensor *x;
    sq_error err;
    ck_assert(sq_tensor_randn(shape, 1, seed, &x, &err) == SQ_OK);
    for (size_t k = 0; k < n_out; k++)
        x->data[k * (n / n_out)] = (float)((k % 2 ? -1.0 : 1.0) * (50.0 + 30.0 * (double)k / (double)n_out));
    return x;
}

/* The engine's threshold against the direct implementation: its candidate
 * (recovered from the scale) has the smallest divergence, to rounding. */
START_TEST(test_kl_matches_reference)
{
    for (int t = 0; t < 6; t++) {
        sq_tensor *x = t < 3 ? with_outliers(20000, 5 * (size_t)t + 1, 11 + (uint64_t)t) : heavy(50, 200, (uint64_t)t);
        sq_qconfig c = sq_qconfig_default();
        c.bits = t % 2 ? 4 : 8;
        c.calibration = SQ_CALIB_KL;
        int L = 1 << (c.bits - 1);
        double h[KL_BINS], d;
        double amax = ref_hist(x->data, x->numel, h), w = amax / KL_BINS;
        int i = ref_best(h, L, &d);
        sq_qtensor *q = quant(x, c);
        double thr = q->scales[0] * (L - 1);
        int got = thr >= amax * (1 - 1e-12) ? KL_BINS : (int)floor(thr / w); /* (i + 0.5) w */
        ck_assert_msg(fabs(thr - (i + 0.5) * w) < 1e-9 * amax || ref_kl(h, got, L) <= d * (1 + 1e-12) + 1e-15,
                      "case %d: engine's i = %d (KL %.17g), reference's %d (KL %.17g)", t, got, ref_kl(h, got, L), i,
                      d);
        double want = (i + 0.5) * w < amax ? (i + 0.5) * w : amax;
        ck_assert_double_eq_tol(thr, want, 1e-12 * amax);
        ck_assert(thr <= amax);
        sq_qtensor_free(q);
        sq_tensor_free(x);
    }
}
END_TEST

/* A normal body with a few huge outliers: kl clips them, and only them (its
 * error is then far above min/max's: kl matches shapes, not squared errors). */
START_TEST(test_kl_clips_outliers)
{
    sq_tensor *x = with_outliers(50000, 8, 5);
    sq_qconfig c = sq_qconfig_default();
    c.calibration = SQ_CALIB_KL;
    sq_qtensor *q = quant(x, c);
    ck_assert_uint_eq(q->n_clipped, 8); /* the outliers and nothing else */
    ck_assert_msg(q->scales[0] * 127 < 10.0, "threshold %g does not clip the outliers", q->scales[0] * 127);
    sq_qtensor_free(q);
    c.calibration = SQ_CALIB_MINMAX;
    q = quant(x, c);
    ck_assert_uint_eq(q->n_clipped, 0);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

/* Degenerate data: all zero, one value, constant, tiny: finite positive scales. */
START_TEST(test_kl_never_nan)
{
    float zero[4] = {0, 0, 0, 0}, one[1] = {-3}, same[5] = {2, 2, 2, 2, 2}, tiny[3] = {1e-38f, -2e-38f, 0};
    const float *vs[4] = {zero, one, same, tiny};
    size_t ns[4] = {4, 1, 5, 3};
    for (int t = 0; t < 4; t++)
        for (int m = 0; m < 2; m++) {
            size_t shape[1] = {ns[t]};
            sq_tensor *x = tu_tensor(shape, 1, vs[t]);
            sq_qconfig c = sq_qconfig_default();
            c.calibration = SQ_CALIB_KL;
            c.mode = m ? SQ_MODE_ASYMMETRIC : SQ_MODE_SYMMETRIC;
            sq_qtensor *q = quant(x, c);
            ck_assert_msg(isfinite(q->scales[0]) && q->scales[0] > 0, "case %d/%d: scale %g", t, m, q->scales[0]);
            ck_assert(isfinite(q->zero_points[0]));
            sq_tensor *y;
            sq_error err;
            ck_assert(sq_dequantize(q, &y, &err) == SQ_OK);
            for (size_t k = 0; k < y->numel; k++)
                ck_assert(isfinite(y->data[k]));
            sq_tensor_free(y);
            sq_qtensor_free(q);
            sq_tensor_free(x);
        }
    float s[1] = {-3}; /* one value: the threshold is max|x| itself */
    size_t shape[1] = {1};
    sq_tensor *x = tu_tensor(shape, 1, s);
    sq_qconfig c = sq_qconfig_default();
    c.calibration = SQ_CALIB_KL;
    sq_qtensor *q = quant(x, c);
    ck_assert(q->scales[0] == 3.0 / 127.0);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

/* Asymmetric: the |x| threshold cuts each side at most to [-T, T]; data of
 * one sign use all 2^bits levels (the reference with L = 2^bits). */
START_TEST(test_kl_asymmetric)
{
    sq_tensor *x = with_outliers(20000, 4, 9);
    for (size_t k = 0; k < x->numel; k++)
        x->data[k] = fabsf(x->data[k]); /* one-sided */
    double h[KL_BINS], d;
    double amax = ref_hist(x->data, x->numel, h);
    int i = ref_best(h, 16, &d);
    double t = (i + 0.5) * (amax / KL_BINS);
    sq_qconfig c = sq_qconfig_default();
    c.bits = 4;
    c.mode = SQ_MODE_ASYMMETRIC;
    c.calibration = SQ_CALIB_KL;
    sq_qtensor *q = quant(x, c);
    float mn = INFINITY;
    for (size_t k = 0; k < x->numel; k++)
        mn = x->data[k] < mn ? x->data[k] : mn;
    ck_assert_double_eq_tol(q->scales[0], (t - mn) / 15.0, 1e-12 * t); /* [min, T] over 15 steps */
    ck_assert_uint_ge(q->n_clipped, 4);
    sq_qtensor_free(q);
    sq_tensor_free(x);

    x = with_outliers(20000, 4, 10); /* two-sided: L = 2^(bits-1), [max(min, -T), min(max, T)] */
    for (size_t k = 0; k < 4; k++)
        x->data[k * 5000] = fabsf(x->data[k * 5000]); /* the outliers all positive */
    amax = ref_hist(x->data, x->numel, h);
    i = ref_best(h, 8, &d);
    t = (i + 0.5) * (amax / KL_BINS);
    mn = INFINITY;
    for (size_t k = 0; k < x->numel; k++)
        mn = x->data[k] < mn ? x->data[k] : mn;
    ck_assert(t < amax && -t > mn); /* at int4 T = 3.1 cuts the body's negative side too */
    q = quant(x, c);
    ck_assert_double_eq_tol(q->scales[0], 2 * t / 15.0, 1e-12 * t); /* [max(min, -T), min(max, T)] = [-T, T] */
    ck_assert_uint_gt(q->n_clipped, 4);
    sq_qtensor_free(q);
    c.bits = 8; /* L = 128: T above the body, below the outliers */
    i = ref_best(h, 128, &d);
    t = (i + 0.5) * (amax / KL_BINS);
    ck_assert_msg(-t < mn && t < 50.0, "T %g, min %g", t, mn);
    q = quant(x, c);
    ck_assert_double_eq_tol(q->scales[0], (t - mn) / 255.0, 1e-12 * t);
    ck_assert_uint_eq(q->n_clipped, 4);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

START_TEST(test_kl_same_for_any_thread_count)
{
    sq_tensor *x = heavy(64, 300, 4);
    for (int g = 0; g < 2; g++) {
        sq_qconfig c = sq_qconfig_default();
        c.calibration = SQ_CALIB_KL;
        c.granularity = g ? SQ_GRAN_CHANNEL : SQ_GRAN_TENSOR;
        c.axis = 1;
        sq_threads_set(1);
        sq_qtensor *a = quant(x, c);
        sq_threads_set(2);
        sq_qtensor *b = quant(x, c);
        ck_assert(memcmp(a->scales, b->scales, a->n_scales * sizeof(double)) == 0);
        ck_assert(memcmp(a->codes, b->codes, a->code_bytes) == 0);
        sq_qtensor_free(a);
        sq_qtensor_free(b);
    }
    sq_threads_set(0);
    sq_tensor_free(x);
}
END_TEST

/* Per channel: each channel's threshold is that of the channel alone. */
START_TEST(test_kl_per_channel)
{
    sq_tensor *x = heavy(3, 5000, 8);
    sq_qconfig c = sq_qconfig_default();
    c.calibration = SQ_CALIB_KL;
    c.granularity = SQ_GRAN_CHANNEL;
    sq_qtensor *q = quant(x, c);
    for (int r = 0; r < 3; r++) {
        size_t shape[1] = {5000};
        sq_tensor *row = tu_tensor(shape, 1, x->data + 5000 * r);
        sq_qconfig t = c;
        t.granularity = SQ_GRAN_TENSOR;
        sq_qtensor *qr = quant(row, t);
        ck_assert(qr->scales[0] == q->scales[r]);
        sq_qtensor_free(qr);
        sq_tensor_free(row);
    }
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

/* ---- the MSE split ---------------------------------------------------------- */

/* int8 symmetric with the range [-127/64, 127/64]: scale 1/64 exactly, so
 * every error is a short binary fraction and every sum below is exact. 3 and
 * -2 are clipped (errors 1.015625 and -0.015625); 126.5/64 rounds to code
 * 127 (away) or 126 (even) without clipping, error -/+ 2^-7; 0.50390625 is
 * 32.25 steps, error 2^-8; the rest are exact. */
START_TEST(test_mse_split_exact)
{
    float v[8] = {3.0f, -2.0f, 0.50390625f, -0.25f, 0.0f, 1.0f, 1.9765625f, -1.984375f};
    size_t shape[1] = {8};
    sq_tensor *x = tu_tensor(shape, 1, v);
    double clip = 1.015625 * 1.015625 + 0.015625 * 0.015625, round = 0x1p-16 + 0x1p-14;
    for (int r = 0; r < 2; r++) {
        sq_qconfig c = sq_qconfig_default();
        c.calibration = SQ_CALIB_RANGE;
        c.range_lo = -127.0 / 64;
        c.range_hi = 127.0 / 64;
        c.rounding = r ? SQ_ROUND_EVEN : SQ_ROUND_AWAY;
        sq_qtensor *q;
        sq_stats st, st2;
        sq_error err;
        ck_assert(sq_quantize_stats(x, &c, NULL, &q, &st, NULL, &err) == SQ_OK);
        ck_assert(q->scales[0] == 1.0 / 64);
        ck_assert_uint_eq(st.clipped, 2);
        ck_assert_int_eq(sq_qtensor_code(q, 6), r ? 126 : 127);
        ck_assert(st.mse_clip == clip / 8);
        ck_assert(st.mse_round == round / 8);
        ck_assert(st.mse == (clip + round) / 8);
        ck_assert(sq_roundtrip_stats(x, q, NULL, &st2, NULL, &err) == SQ_OK); /* the unfused pass */
        ck_assert(st2.mse_clip == st.mse_clip && st2.mse_round == st.mse_round);
        sq_qtensor_free(q);
    }
    sq_tensor_free(x);
}
END_TEST

/* On larger data: the parts add up, min/max clips nothing, and every path
 * (fused or not, any thread count, portable kernels) gives the same split. */
START_TEST(test_mse_split_sums)
{
    sq_tensor *x = heavy(300, 1000, 6);
    sq_calibration cal[3] = {SQ_CALIB_MINMAX, SQ_CALIB_CLIP, SQ_CALIB_MSE};
    for (int m = 0; m < 3; m++)
        for (int g = 0; g < 3; g++) {
            sq_qconfig c = sq_qconfig_default();
            c.bits = 4;
            c.mode = g == 1 ? SQ_MODE_ASYMMETRIC : SQ_MODE_SYMMETRIC;
            c.granularity = (sq_granularity)g;
            c.axis = 1;
            c.group_size = 40;
            c.calibration = cal[m];
            c.clip = 0.5;
            sq_qtensor *q;
            sq_stats a, b, d;
            sq_error err;
            sq_threads_set(1);
            ck_assert(sq_quantize_stats(x, &c, NULL, &q, &a, NULL, &err) == SQ_OK);
            sq_qtensor_free(q);
            sq_threads_set(2);
            sq_simd_force_portable(true);
            ck_assert(sq_quantize_stats(x, &c, NULL, &q, &b, NULL, &err) == SQ_OK);
            sq_simd_force_portable(false);
            ck_assert(sq_roundtrip_stats(x, q, NULL, &d, NULL, &err) == SQ_OK);
            ck_assert(a.mse_clip == b.mse_clip && a.mse_clip == d.mse_clip);
            ck_assert(a.mse_round == b.mse_round && a.mse_round == d.mse_round);
            ck_assert_double_eq_tol(a.mse_round + a.mse_clip, a.mse, 1e-12 * a.mse);
            if (m == 0)
                ck_assert(a.mse_clip == 0.0 && a.clipped == 0);
            else
                ck_assert(a.mse_clip > 0.0 && a.clipped > 0);
            sq_qtensor_free(q);
        }
    sq_threads_set(0);
    sq_tensor_free(x);
}
END_TEST

/* ---- calibration in exported files ------------------------------------------ */

/* Write q as tensor "w" of a safetensors file and load it back. */
static sq_qtensor *save_load(const sq_qtensor *q)
{
    char path[] = "/tmp/sq_calib_XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    sq_st_writer *w;
    sq_safetensors *f;
    sq_qtensor *back;
    sq_error err;
    ck_assert(sq_st_writer_new(&w, &err) == SQ_OK);
    ck_assert_msg(sq_st_writer_add_qtensor(w, "w", q, &err) == SQ_OK, "%s", err.msg);
    ck_assert_msg(sq_st_writer_write(w, path, &err) == SQ_OK, "%s", err.msg);
    sq_st_writer_free(w);
    ck_assert_msg(sq_st_open(path, &f, &err) == SQ_OK, "%s", err.msg);
    ck_assert_msg(sq_st_load_qtensor(f, "w", &back, &err) == SQ_OK, "%s", err.msg);
    sq_st_close(f);
    unlink(path);
    return back;
}

START_TEST(test_calibration_survives_export)
{
    sq_tensor *x = heavy(4, 64, 12);
    static const char *const want[] = {"int4 sym per-tensor", "int4 sym per-tensor p99.5", "int4 sym per-tensor mse",
                                       "int4 sym per-tensor clip0.7", "int4 sym per-tensor range[-1.25,3]",
                                       "int4 sym per-tensor kl"};
    for (int m = 0; m < 6; m++) {
        sq_qconfig c = sq_qconfig_default();
        c.bits = 4;
        c.calibration = (sq_calibration)m;
        c.percentile = 99.5;
        c.clip = 0.7;
        c.range_lo = -1.25;
        c.range_hi = 3.0;
        sq_qtensor *q = quant(x, c), *back = save_load(q);
        char buf[96];
        ck_assert_int_eq(back->config.calibration, c.calibration);
        ck_assert_str_eq(sq_qconfig_describe(&back->config, buf, sizeof buf), want[m]);
        ck_assert(memcmp(back->scales, q->scales, q->n_scales * sizeof(double)) == 0);
        sq_qtensor_free(back);
        sq_qtensor_free(q);
    }
    sq_tensor_free(x);
}
END_TEST

static void assert_bad(sq_qconfig c, const char *needle)
{
    sq_error err;
    ck_assert(sq_qconfig_check(&c, NULL, 0, &err) == SQ_ERR_ARG);
    ck_assert_msg(strstr(err.msg, needle), "'%s' lacks '%s'", err.msg, needle);
}

START_TEST(test_errors_name_the_field)
{
    sq_qconfig c = sq_qconfig_default();
    c.calibration = SQ_CALIB_PERCENTILE;
    c.percentile = 0.0;
    assert_bad(c, "percentile");
    c.percentile = 100.5;
    assert_bad(c, "percentile");
    c = sq_qconfig_default();
    c.calibration = SQ_CALIB_CLIP;
    c.clip = 0.0;
    assert_bad(c, "clip");
    c.clip = 1.01;
    assert_bad(c, "clip");
    c = sq_qconfig_default();
    c.calibration = SQ_CALIB_RANGE;
    c.range_lo = 2.0;
    c.range_hi = 2.0;
    assert_bad(c, "range");
    c = sq_qconfig_default();
    c.calibration = (sq_calibration)42;
    assert_bad(c, "calibration");
    c = sq_qconfig_default();
    c.calibration = SQ_CALIB_KL;
    c.granularity = SQ_GRAN_GROUP;
    assert_bad(c, "kl works per tensor or per channel, not per group");
}
END_TEST

START_TEST(test_names_and_describe)
{
    sq_calibration k;
    ck_assert(sq_calibration_parse("mse", &k) && k == SQ_CALIB_MSE);
    ck_assert(sq_calibration_parse("percentile", &k) && k == SQ_CALIB_PERCENTILE);
    ck_assert(sq_calibration_parse("kl", &k) && k == SQ_CALIB_KL);
    ck_assert(!sq_calibration_parse("entropy", &k));
    ck_assert_str_eq(sq_calibration_name(SQ_CALIB_KL), "kl");
    ck_assert_str_eq(sq_calibration_name(SQ_CALIB_RANGE), "range");
    char buf[96];
    sq_qconfig c = sq_qconfig_default();
    ck_assert_str_eq(sq_qconfig_describe(&c, buf, sizeof buf), "int8 sym per-tensor");
    c.calibration = SQ_CALIB_MSE;
    ck_assert_str_eq(sq_qconfig_describe(&c, buf, sizeof buf), "int8 sym per-tensor mse");
    c.calibration = SQ_CALIB_PERCENTILE;
    c.percentile = 99.9;
    ck_assert_str_eq(sq_qconfig_describe(&c, buf, sizeof buf), "int8 sym per-tensor p99.9");
    c.calibration = SQ_CALIB_CLIP;
    c.clip = 0.8;
    ck_assert_str_eq(sq_qconfig_describe(&c, buf, sizeof buf), "int8 sym per-tensor clip0.8");
    c.calibration = SQ_CALIB_KL;
    ck_assert_str_eq(sq_qconfig_describe(&c, buf, sizeof buf), "int8 sym per-tensor kl");
}
END_TEST

static Suite *calib_suite(void)
{
    Suite *s = suite_create("calib");
    TCase *tc = tcase_create("calib");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_percentile_numpy_interpolation);
    tcase_add_test(tc, test_clip_ratio);
    tcase_add_test(tc, test_explicit_range);
    tcase_add_test(tc, test_per_group_and_per_channel);
    tcase_add_test(tc, test_mse_reaches_grid_optimum);
    tcase_add_test(tc, test_mse_never_worse_than_minmax);
    tcase_add_test(tc, test_mse_per_group_reaches_grid_optimum);
    tcase_add_test(tc, test_same_for_any_thread_count);
    tcase_add_test(tc, test_errors_name_the_field);
    tcase_add_test(tc, test_names_and_describe);
    tcase_add_test(tc, test_kl_worked_example);
    tcase_add_test(tc, test_kl_matches_reference);
    tcase_add_test(tc, test_kl_clips_outliers);
    tcase_add_test(tc, test_kl_never_nan);
    tcase_add_test(tc, test_kl_asymmetric);
    tcase_add_test(tc, test_kl_same_for_any_thread_count);
    tcase_add_test(tc, test_kl_per_channel);
    tcase_add_test(tc, test_mse_split_exact);
    tcase_add_test(tc, test_mse_split_sums);
    tcase_add_test(tc, test_calibration_survives_export);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(calib_suite)
