/* test_stats.c - error statistics and histograms on hand-computed cases. */
#include <math.h>
#include <string.h>

#include "stats.h"
#include "testutil.h"

/* x = [127, -127, 2.5, 0] int8 symmetric: scale 1, codes [127, -127, 3, 0],
 * errors [0, 0, -0.5, 0]. */
static const float hand[] = {127.0f, -127.0f, 2.5f, 0.0f};

static void quantize_hand(sq_tensor **x, sq_qtensor **q)
{
    const size_t shape[] = {4};
    sq_qconfig cfg = sq_qconfig_default();
    sq_error err;
    *x = tu_tensor(shape, 1, hand);
    ck_assert(sq_quantize(*x, &cfg, q, &err) == SQ_OK);
}

START_TEST(test_hand_statistics)
{
    sq_tensor *x;
    sq_qtensor *q;
    sq_stats st;
    sq_error err;
    quantize_hand(&x, &q);
    ck_assert(sq_roundtrip_stats(x, q, NULL, &st, NULL, &err) == SQ_OK);
    ck_assert_uint_eq(st.numel, 4);
    ck_assert(st.mse == 0.0625);
    ck_assert(st.rmse == 0.25);
    ck_assert(st.max_abs_err == 0.5);
    ck_assert(st.mean_abs_err == 0.125);
    ck_assert(st.err_min == -0.5 && st.err_max == 0.0);
    double sx = 127.0 * 127.0 * 2 + 6.25, sh = 127.0 * 127.0 * 2 + 9.0, sxh = 127.0 * 127.0 * 2 + 7.5;
    ck_assert(fabs(st.sqnr_db - 10.0 * log10(sx / 0.25)) < 1e-12);
    ck_assert(fabs(st.cosine - sxh / sqrt(sx * sh)) < 1e-15);
    ck_assert_uint_eq(st.clipped, 0);
    ck_assert_uint_eq(st.fp32_bytes, 16);
    ck_assert_uint_eq(st.size_bytes, 4);
    ck_assert_uint_eq(st.meta_bytes, 16);
    ck_assert(st.compression == 4.0);
    ck_assert(st.bits_per_weight == 16.0);     /* (32 + 32) / 4 */
    ck_assert(st.bits_per_weight_f16 == 12.0); /* (32 + 16) / 4 */
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

START_TEST(test_histogram_ranges)
{
    sq_tensor *x;
    sq_qtensor *q;
    sq_stats st;
    sq_hist h;
    sq_error err;
    sq_stats_opts o = sq_stats_opts_default();
    quantize_hand(&x, &q);
    /* step range: +-(0.5 + 127 * 2^-23) for scale 1; -0.5 lands in bin 0, zeros in bin 1 */
    o.hist_bins = 2;
    ck_assert(sq_roundtrip_stats(x, q, &o, &st, &h, &err) == SQ_OK);
    ck_assert(h.hi == 0.5 + 127.0 * 0x1p-23 && h.lo == -h.hi);
    ck_assert(h.counts[0] == 1 && h.counts[1] == 3 && h.below == 0 && h.above == 0);
    sq_hist_free(&h);
    o.range = SQ_HIST_RANGE_FIXED;
    o.lo = -1.0;
    o.hi = 1.0;
    o.hist_bins = 4;
    ck_assert(sq_roundtrip_stats(x, q, &o, &st, &h, &err) == SQ_OK);
    ck_assert(h.counts[0] == 0 && h.counts[1] == 1 && h.counts[2] == 3 && h.counts[3] == 0);
    sq_hist_free(&h);
    o.lo = -0.25;
    o.hi = 0.25;
    ck_assert(sq_roundtrip_stats(x, q, &o, &st, &h, &err) == SQ_OK);
    ck_assert(h.below == 1 && h.above == 0 && h.counts[2] == 3);
    sq_hist_free(&h);
    o.range = SQ_HIST_RANGE_DATA;
    o.hist_bins = 2;
    ck_assert(sq_roundtrip_stats(x, q, &o, &st, &h, &err) == SQ_OK);
    ck_assert(h.lo == -0.5 && h.hi == 0.5);
    ck_assert(h.counts[0] == 1 && h.counts[1] == 3);
    sq_hist_free(&h);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

START_TEST(test_lossless_and_zero)
{
    const float d[] = {127.0f, -3.0f, 0.0f}, z[] = {0.0f, 0.0f};
    const size_t s3[] = {3}, s2[] = {2};
    sq_qconfig cfg = sq_qconfig_default();
    sq_tensor *x = tu_tensor(s3, 1, d), *zx = tu_tensor(s2, 1, z);
    sq_qtensor *q;
    sq_stats st;
    sq_error err;
    ck_assert(sq_quantize(x, &cfg, &q, &err) == SQ_OK);
    ck_assert(sq_roundtrip_stats(x, q, NULL, &st, NULL, &err) == SQ_OK);
    ck_assert(isinf(st.sqnr_db) && st.sqnr_db > 0);
    ck_assert(st.mse == 0.0 && st.cosine == 1.0 && st.max_abs_err == 0.0);
    sq_qtensor_free(q);
    ck_assert(sq_quantize(zx, &cfg, &q, &err) == SQ_OK);
    ck_assert(sq_roundtrip_stats(zx, q, NULL, &st, NULL, &err) == SQ_OK);
    ck_assert(isinf(st.sqnr_db) && st.cosine == 1.0);
    sq_qtensor_free(q);
    sq_tensor_free(x);
    sq_tensor_free(zx);
}
END_TEST

START_TEST(test_code_histogram)
{
    sq_tensor *x;
    sq_qtensor *q;
    uint64_t counts[256];
    quantize_hand(&x, &q);
    ck_assert_uint_eq(sq_code_histogram(q, counts), 4);
    ck_assert(counts[255] == 1 && counts[1] == 1 && counts[131] == 1 && counts[128] == 1);
    ck_assert(counts[0] == 0);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

START_TEST(test_clipped_fraction)
{
    const float d[] = {-1.5f, 253.5f, 0.0f, 1.5f};
    const size_t shape[] = {4};
    sq_qconfig cfg = sq_qconfig_default();
    sq_tensor *x = tu_tensor(shape, 1, d);
    sq_qtensor *q;
    sq_stats st;
    sq_hist h;
    sq_error err;
    cfg.mode = SQ_MODE_ASYMMETRIC;
    ck_assert(sq_quantize(x, &cfg, &q, &err) == SQ_OK);
    ck_assert(sq_roundtrip_stats(x, q, NULL, &st, &h, &err) == SQ_OK);
    ck_assert_uint_eq(st.clipped, 1);
    ck_assert(st.clipped_frac == 0.25);
    /* errors: -1.5 -> -1 (e -0.5); 253.5 -> 254 (e -0.5); 0 -> 0; 1.5 -> 1 (e 0.5) */
    ck_assert(st.max_abs_err == 0.5);
    uint64_t total = h.below + h.above;
    for (int i = 0; i < h.bins; i++)
        total += h.counts[i];
    ck_assert_uint_eq(total, 4);
    sq_hist_free(&h);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

START_TEST(test_bad_arguments)
{
    const size_t other[] = {2, 2};
    sq_tensor *x, *y;
    sq_qtensor *q;
    sq_stats st;
    sq_hist h;
    sq_error err;
    sq_stats_opts o = sq_stats_opts_default();
    quantize_hand(&x, &q);
    ck_assert(sq_tensor_new(other, 2, SQ_DTYPE_F32, &y, &err) == SQ_OK);
    ck_assert_int_eq(sq_roundtrip_stats(y, q, NULL, &st, NULL, &err), SQ_ERR_ARG);
    ck_assert(strstr(err.msg, "shape mismatch: tensor [2, 2] vs quantized [4]") != NULL);
    o.hist_bins = 0;
    ck_assert_int_eq(sq_roundtrip_stats(x, q, &o, &st, &h, &err), SQ_ERR_ARG);
    ck_assert(strstr(err.msg, "bins = 0") != NULL);
    o = sq_stats_opts_default();
    o.range = SQ_HIST_RANGE_FIXED;
    o.lo = 1.0;
    o.hi = 1.0;
    ck_assert_int_eq(sq_roundtrip_stats(x, q, &o, &st, &h, &err), SQ_ERR_ARG);
    ck_assert_int_eq(sq_histogram_floats(hand, 4, 3, NAN, 1.0, &h, &err), SQ_ERR_ARG);
    sq_tensor_free(y);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

START_TEST(test_histogram_floats)
{
    const float v[] = {-2.0f, -1.0f, 0.0f, 0.49f, 1.0f, 3.0f, NAN};
    sq_hist h;
    sq_error err;
    ck_assert(sq_histogram_floats(v, 7, 4, -1.0, 1.0, &h, &err) == SQ_OK);
    /* bins [-1,-.5) [-.5,0) [0,.5) [.5,1]; -2 below, 3 above, NaN ignored */
    ck_assert(h.counts[0] == 1 && h.counts[1] == 0 && h.counts[2] == 2 && h.counts[3] == 1);
    ck_assert(h.below == 1 && h.above == 1);
    sq_hist_free(&h);
    ck_assert_ptr_null(h.counts);
}
END_TEST

START_TEST(test_fused_quantize_stats)
{
    const size_t shape[] = {4}, empty[] = {0, 3};
    sq_tensor *x = tu_tensor(shape, 1, hand), *ex;
    sq_qtensor *q;
    sq_stats st;
    sq_hist h;
    sq_error err;
    sq_stats_opts o = sq_stats_opts_default();
    sq_qconfig cfg = sq_qconfig_default();
    o.hist_bins = 2;
    ck_assert(sq_quantize_stats(x, &cfg, &o, &q, &st, &h, &err) == SQ_OK);
    ck_assert(st.mse == 0.0625 && st.max_abs_err == 0.5);
    ck_assert(h.counts[0] == 1 && h.counts[1] == 3);
    ck_assert_int_eq(sq_qtensor_code(q, 2), 3);
    sq_hist_free(&h);
    sq_qtensor_free(q);
    o.range = SQ_HIST_RANGE_DATA; /* two passes, same answer */
    ck_assert(sq_quantize_stats(x, &cfg, &o, &q, &st, &h, &err) == SQ_OK);
    ck_assert(h.lo == -0.5 && h.hi == 0.5 && h.counts[0] == 1 && h.counts[1] == 3);
    sq_hist_free(&h);
    sq_qtensor_free(q);
    o.hist_bins = -3;
    ck_assert_int_eq(sq_quantize_stats(x, &cfg, &o, &q, &st, &h, &err), SQ_ERR_ARG);
    ck_assert_ptr_null(q);
    o = sq_stats_opts_default();
    cfg.bits = 11;
    ck_assert_int_eq(sq_quantize_stats(x, &cfg, &o, &q, &st, &h, &err), SQ_ERR_ARG);
    ck_assert(strstr(err.msg, "bits = 11") != NULL);
    ck_assert_ptr_null(h.counts);
    cfg.bits = 8;
    ck_assert(sq_tensor_new(empty, 2, SQ_DTYPE_F32, &ex, &err) == SQ_OK);
    ck_assert(sq_quantize_stats(ex, &cfg, &o, &q, &st, &h, &err) == SQ_OK);
    ck_assert(st.numel == 0 && isinf(st.sqnr_db) && st.cosine == 1.0);
    /* the range of sq_roundtrip_stats: the step bound of scale 1 (127 * 2^-23 for float rounding) */
    ck_assert(h.lo == -(0.5 + 127 * 0x1p-23) && h.hi == 0.5 + 127 * 0x1p-23 && h.counts[0] == 0);
    sq_hist h2;
    ck_assert(sq_roundtrip_stats(ex, q, &o, &st, &h2, &err) == SQ_OK);
    ck_assert(h2.lo == h.lo && h2.hi == h.hi && h2.below == 0 && h2.above == 0);
    sq_hist_free(&h2);
    sq_hist_free(&h);
    sq_qtensor_free(q);
    sq_tensor_free(ex);
    sq_tensor_free(x);
}
END_TEST

START_TEST(test_index_mse)
{
    /* per-group of 2: groups {127, 1} scale 1 exact; {2.5, -127} scale 1, e = -0.5 at 2.5 */
    const float d[] = {127.0f, 1.0f, 2.5f, -127.0f, 0.0f, 0.0f};
    const size_t shape[] = {3, 2};
    sq_tensor *x = tu_tensor(shape, 2, d);
    sq_qtensor *q;
    sq_error err;
    double mse[3];
    sq_qconfig cfg = sq_qconfig_default();
    cfg.granularity = SQ_GRAN_GROUP;
    cfg.group_size = 2;
    ck_assert(sq_quantize(x, &cfg, &q, &err) == SQ_OK);
    ck_assert(sq_index_mse(x, q, mse, &err) == SQ_OK);
    ck_assert(mse[0] == 0.0 && mse[1] == 0.125 && mse[2] == 0.0);
    sq_qtensor_free(q);
    cfg.granularity = SQ_GRAN_CHANNEL;
    cfg.axis = 1; /* columns {127, 2.5, 0} and {1, -127, 0} */
    ck_assert(sq_quantize(x, &cfg, &q, &err) == SQ_OK);
    ck_assert(sq_index_mse(x, q, mse, &err) == SQ_OK);
    ck_assert(mse[0] == 0.25 / 3.0 && mse[1] == 0.0);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

/* The seed's floor: a scale below 1e-30 (here max|x| = 1e-29, scale ~7.9e-32)
 * is used with 1/scale = 0, so every code is 0, every error is the value
 * itself, nothing counts as clipped, and the step-range histogram puts the
 * errors beyond half a step in below/above (stats.h). */
START_TEST(test_scale_below_floor)
{
    const size_t shape[1] = {64};
    float v[64];
    for (int i = 0; i < 64; i++)
        v[i] = (i % 2 ? 1e-29f : -1e-29f) * (float)(i + 1) / 64.0f;
    sq_tensor *x;
    sq_qtensor *q;
    sq_stats st;
    sq_hist h;
    sq_error err;
    ck_assert(sq_tensor_from_floats(shape, 1, v, &x, &err) == SQ_OK);
    sq_qconfig cfg = sq_qconfig_default();
    ck_assert(sq_quantize_stats(x, &cfg, NULL, &q, &st, &h, &err) == SQ_OK);
    ck_assert(q->scales[0] < 1e-30 && q->scales[0] > 0.0);
    for (size_t i = 0; i < 64; i++)
        ck_assert_int_eq(sq_qtensor_code(q, i), 0);
    ck_assert_uint_eq(st.clipped, 0);
    ck_assert(st.max_abs_err == 1e-29f);
    ck_assert_uint_eq(h.below + h.above, 64); /* |x| >= 1e-29/64 > scale/2 for every value */
    sq_hist_free(&h);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("stats");
    tcase_add_test(tc, test_hand_statistics);
    tcase_add_test(tc, test_histogram_ranges);
    tcase_add_test(tc, test_lossless_and_zero);
    tcase_add_test(tc, test_code_histogram);
    tcase_add_test(tc, test_clipped_fraction);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_histogram_floats);
    tcase_add_test(tc, test_fused_quantize_stats);
    tcase_add_test(tc, test_index_mse);
    tcase_add_test(tc, test_scale_below_floor);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(stats_suite)
