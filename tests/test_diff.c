/* test_diff.c - sq_diff_stats on hand-computed cases: figures, percentiles,
 * histogram, shapes that differ, non-finite values, the empty case. */
#include <math.h>
#include <string.h>

#include "diff.h"
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
    return s;
}

TU_MAIN(diff_suite)
