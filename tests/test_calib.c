/* test_calib.c - calibration methods (percentile, mse, clip, range): exact
 * ranges on hand-computed data, clipping counts, per-channel and per-group
 * groups, MSE optimality against the grid and min/max, thread independence
 * and the configuration errors. */
#include <math.h>
#include <string.h>

#include "quant.h"
#include "testutil.h"
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
        double minmax = sse_of(x, c);
        c.calibration = SQ_CALIB_MSE;
        double mse = sse_of(x, c);
        ck_assert_msg(mse <= minmax, "tensor %d: mse %g > min/max %g", t, mse, minmax);
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
}
END_TEST

START_TEST(test_names_and_describe)
{
    sq_calibration k;
    ck_assert(sq_calibration_parse("mse", &k) && k == SQ_CALIB_MSE);
    ck_assert(sq_calibration_parse("percentile", &k) && k == SQ_CALIB_PERCENTILE);
    ck_assert(!sq_calibration_parse("kl", &k));
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
    tcase_add_test(tc, test_same_for_any_thread_count);
    tcase_add_test(tc, test_errors_name_the_field);
    tcase_add_test(tc, test_names_and_describe);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(calib_suite)
