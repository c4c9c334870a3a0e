/* test_quant.c - hand-computed codes, scales and zero points, ties under both
 * roundings, every option and every error of sq_quantize. */
#include <math.h>
#include <string.h>

#include "quant.h"
#include "testutil.h"

typedef struct qcase {
    sq_qtensor *q;
    sq_tensor *x;
} qcase;

/* Quantize literal data; asserts success. */
static qcase run(const float *data, const size_t *shape, int ndim, sq_qconfig cfg)
{
    qcase c;
    sq_error err;
    c.x = tu_tensor(shape, ndim, data);
    ck_assert_msg(sq_quantize(c.x, &cfg, &c.q, &err) == SQ_OK, "%s", err.msg);
    return c;
}

static void done(qcase c)
{
    sq_qtensor_free(c.q);
    sq_tensor_free(c.x);
}

static void assert_codes(const sq_qtensor *q, const int *want, size_t n)
{
    ck_assert_uint_eq(q->numel, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(sq_qtensor_code(q, i) == want[i], "code %zu: got %d want %d", i, sq_qtensor_code(q, i),
                      want[i]);
}

/* Expect sq_quantize to fail with code and a message containing needle. */
static void assert_fails(const float *data, const size_t *shape, int ndim, sq_qconfig cfg, sq_status code,
                         const char *needle)
{
    sq_error err;
    sq_qtensor *q = (sq_qtensor *)1;
    sq_tensor *x = tu_tensor(shape, ndim, data);
    ck_assert_int_eq(sq_quantize(x, &cfg, &q, &err), code);
    ck_assert_ptr_null(q);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "message '%s' lacks '%s'", err.msg, needle);
    sq_tensor_free(x);
}

/* A zero-element tensor with an absurd channel count is refused, not allocated. */
START_TEST(test_empty_tensor_huge_channel_axis)
{
    size_t huge[2] = {(size_t)1 << 40, 0}, small[2] = {4, 0};
    sq_tensor *t;
    sq_qtensor *q;
    sq_error err;
    sq_qconfig cfg = sq_qconfig_default();
    cfg.granularity = SQ_GRAN_CHANNEL;
    ck_assert_int_eq(sq_tensor_new(huge, 2, SQ_DTYPE_F32, &t, &err), SQ_OK);
    ck_assert_int_eq(sq_quantize(t, &cfg, &q, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "more than 2^24 scales"));
    sq_tensor_free(t);
    ck_assert_int_eq(sq_tensor_new(small, 2, SQ_DTYPE_F32, &t, &err), SQ_OK);
    ck_assert_int_eq(sq_quantize(t, &cfg, &q, &err), SQ_OK);
    ck_assert_uint_eq(q->n_scales, 4);
    sq_qtensor_free(q);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_qmin_qmax_every_width)
{
    sq_qconfig c = sq_qconfig_default();
    for (int b = 2; b <= 8; b++) {
        c.bits = b;
        c.mode = SQ_MODE_SYMMETRIC;
        ck_assert_int_eq(sq_qconfig_qmax(&c), (1 << (b - 1)) - 1);
        ck_assert_int_eq(sq_qconfig_qmin(&c), -((1 << (b - 1)) - 1));
        c.mode = SQ_MODE_ASYMMETRIC;
        ck_assert_int_eq(sq_qconfig_qmin(&c), -(1 << (b - 1)));
    }
    c.bits = 8;
    ck_assert_int_eq(sq_qconfig_qmin(&c), -128);
    c.bits = 4;
    ck_assert_int_eq(sq_qconfig_qmin(&c), -8);
    ck_assert_int_eq(sq_qconfig_qmax(&c), 7);
}
END_TEST

/* scale 1 exactly (max |x| = 127), so x * inv + zp is exact and ties are ties */
START_TEST(test_symmetric_ties_both_roundings)
{
    const float d[] = {127.0f, 2.5f, -2.5f, 3.5f, -3.5f, 0.5f, -0.5f, 1.5f, -126.5f};
    const size_t shape[] = {9};
    const int away[] = {127, 3, -3, 4, -4, 1, -1, 2, -127};
    const int even[] = {127, 2, -2, 4, -4, 0, 0, 2, -126};
    sq_qconfig cfg = sq_qconfig_default();
    qcase c = run(d, shape, 1, cfg);
    ck_assert(c.q->scales[0] == 1.0 && c.q->zero_points[0] == 0.0);
    assert_codes(c.q, away, 9);
    ck_assert_uint_eq(c.q->n_clipped, 0);
    done(c);
    cfg.rounding = SQ_ROUND_EVEN;
    c = run(d, shape, 1, cfg);
    assert_codes(c.q, even, 9);
    done(c);
}
END_TEST

START_TEST(test_int4_symmetric_ties)
{
    const float d[] = {7.0f, 2.5f, -2.5f, 0.5f, -6.5f, -7.0f};
    const size_t shape[] = {2, 3};
    const int away[] = {7, 3, -3, 1, -7, -7};
    const int even[] = {7, 2, -2, 0, -6, -7};
    sq_qconfig cfg = sq_qconfig_default();
    cfg.bits = 4;
    qcase c = run(d, shape, 2, cfg);
    ck_assert(c.q->scales[0] == 1.0);
    assert_codes(c.q, away, 6);
    ck_assert_uint_eq(c.q->code_bytes, 3);
    done(c);
    cfg.rounding = SQ_ROUND_EVEN;
    c = run(d, shape, 2, cfg);
    assert_codes(c.q, even, 6);
    done(c);
}
END_TEST

/* range 255 -> scale 1; zp = round(-128 + 1.5) = round(-126.5): a tie */
START_TEST(test_asymmetric_zero_point_tie_and_clipping)
{
    const float d[] = {-1.5f, 253.5f, 0.0f, 1.5f};
    const size_t shape[] = {4};
    sq_qconfig cfg = sq_qconfig_default();
    cfg.mode = SQ_MODE_ASYMMETRIC;
    qcase c = run(d, shape, 1, cfg);
    ck_assert(c.q->scales[0] == 1.0);
    ck_assert(c.q->zero_points[0] == -127.0);
    /* -128.5 -> -129 clipped to -128; 126.5 -> 127; -127; -125.5 -> -126 */
    const int away[] = {-128, 127, -127, -126};
    assert_codes(c.q, away, 4);
    ck_assert_uint_eq(c.q->n_clipped, 1);
    done(c);
    cfg.rounding = SQ_ROUND_EVEN;
    c = run(d, shape, 1, cfg);
    ck_assert(c.q->zero_points[0] == -126.0);
    /* -127.5 -> -128; 127.5 -> 128 clipped to 127; -126; -124.5 -> -124 */
    const int even[] = {-128, 127, -126, -124};
    assert_codes(c.q, even, 4);
    ck_assert_uint_eq(c.q->n_clipped, 1);
    done(c);
}
END_TEST

START_TEST(test_asymmetric_unclamped_zero_point)
{
    /* all-positive weights: the seed's zero point leaves the int8 range */
    const float d[] = {10.0f, 10.25f, 11.0f};
    const size_t shape[] = {3};
    sq_qconfig cfg = sq_qconfig_default();
    cfg.mode = SQ_MODE_ASYMMETRIC;
    qcase c = run(d, shape, 1, cfg);
    ck_assert(c.q->scales[0] == 1.0 / 255.0);
    ck_assert(c.q->zero_points[0] == -2678.0);
    const int want[] = {-128, -64, 127};
    assert_codes(c.q, want, 3);
    sq_tensor *xh;
    sq_error err;
    ck_assert(sq_dequantize(c.q, &xh, &err) == SQ_OK);
    ck_assert(xh->data[0] == (float)((-128.0 + 2678.0) * (1.0 / 255.0)));
    ck_assert(xh->data[1] == (float)((-64.0 + 2678.0) * (1.0 / 255.0)));
    sq_tensor_free(xh);
    done(c);
}
END_TEST

START_TEST(test_zero_in_range)
{
    const float d[] = {1.0f, 2.0f, 3.0f};
    const size_t shape[] = {3};
    sq_qconfig cfg = sq_qconfig_default();
    cfg.mode = SQ_MODE_ASYMMETRIC;
    cfg.zero_in_range = true;
    qcase c = run(d, shape, 1, cfg);
    ck_assert(c.q->scales[0] == 3.0 / 255.0);
    ck_assert(c.q->zero_points[0] == -128.0); /* 0 maps to qmin exactly */
    const int want[] = {-43, 42, 127};
    assert_codes(c.q, want, 3);
    done(c);
    const float neg[] = {-3.0f, -1.0f};
    const size_t s2[] = {2};
    c = run(neg, s2, 1, cfg);
    ck_assert(c.q->zero_points[0] == 127.0);
    const int want2[] = {-128, 42};
    assert_codes(c.q, want2, 2);
    done(c);
}
END_TEST

START_TEST(test_constant_and_zero_sets_use_scale_one)
{
    const float five[] = {5.0f, 5.0f, 5.0f}, zero[] = {0.0f, 0.0f};
    const size_t s3[] = {3}, s2[] = {2};
    sq_qconfig cfg = sq_qconfig_default();
    cfg.mode = SQ_MODE_ASYMMETRIC;
    qcase c = run(five, s3, 1, cfg);
    ck_assert(c.q->scales[0] == 1.0);
    ck_assert(c.q->zero_points[0] == -133.0);
    const int w5[] = {-128, -128, -128};
    assert_codes(c.q, w5, 3);
    done(c);
    c = run(zero, s2, 1, cfg);
    ck_assert(c.q->scales[0] == 1.0 && c.q->zero_points[0] == -128.0);
    done(c);
    cfg.mode = SQ_MODE_SYMMETRIC;
    c = run(zero, s2, 1, cfg);
    ck_assert(c.q->scales[0] == 1.0 && c.q->zero_points[0] == 0.0);
    done(c);
    c = run(five, s3, 1, cfg);
    ck_assert(c.q->scales[0] == 5.0 / 127.0);
    done(c);
}
END_TEST

START_TEST(test_per_channel_any_axis)
{
    const float d[] = {1, 2, 3, -4, 5, -8};
    const size_t shape[] = {2, 3};
    sq_qconfig cfg = sq_qconfig_default();
    cfg.granularity = SQ_GRAN_CHANNEL;
    cfg.axis = 1;
    qcase c = run(d, shape, 2, cfg);
    ck_assert_uint_eq(c.q->n_scales, 3);
    ck_assert(c.q->scales[0] == 4.0 / 127.0);
    ck_assert(c.q->scales[1] == 5.0 / 127.0);
    ck_assert(c.q->scales[2] == 8.0 / 127.0);
    /* 31.75 -> 32; 50.8 -> 51; 47.625 -> 48 */
    const int want[] = {32, 51, 48, -127, 127, -127};
    assert_codes(c.q, want, 6);
    ck_assert_uint_eq(sq_qtensor_scale_index(c.q, 4), 1);
    done(c);
    cfg.axis = 0;
    c = run(d, shape, 2, cfg);
    ck_assert_uint_eq(c.q->n_scales, 2);
    ck_assert(c.q->scales[0] == 3.0 / 127.0 && c.q->scales[1] == 8.0 / 127.0);
    ck_assert_uint_eq(sq_qtensor_scale_index(c.q, 4), 1);
    done(c);
}
END_TEST

START_TEST(test_per_channel_middle_axis_3d)
{
    /* shape [2, 2, 2], axis 1: channel of element (i, j, k) is j */
    const float d[] = {1, 1, 2, 2, 127, 1, 2, 254};
    const size_t shape[] = {2, 2, 2};
    sq_qconfig cfg = sq_qconfig_default();
    cfg.granularity = SQ_GRAN_CHANNEL;
    cfg.axis = 1;
    qcase c = run(d, shape, 3, cfg);
    ck_assert(c.q->scales[0] == 1.0 && c.q->scales[1] == 2.0);
    const int want[] = {1, 1, 1, 1, 127, 1, 1, 127};
    assert_codes(c.q, want, 8);
    done(c);
}
END_TEST

START_TEST(test_per_group)
{
    const float d[] = {127, 1, 2, 254, -1, 0.5f, 0, 0};
    const size_t shape[] = {2, 4};
    sq_qconfig cfg = sq_qconfig_default();
    cfg.granularity = SQ_GRAN_GROUP;
    cfg.group_size = 2;
    qcase c = run(d, shape, 2, cfg);
    ck_assert_uint_eq(c.q->n_scales, 4);
    ck_assert(c.q->scales[0] == 1.0 && c.q->scales[1] == 2.0);
    ck_assert(c.q->scales[2] == 1.0 / 127.0 && c.q->scales[3] == 1.0);
    const int want[] = {127, 1, 1, 127, -127, 64, 0, 0};
    assert_codes(c.q, want, 8);
    ck_assert_uint_eq(sq_qtensor_scale_index(c.q, 5), 2);
    done(c);
}
END_TEST

START_TEST(test_scalar_and_empty)
{
    const float one[] = {3.0f};
    sq_qconfig cfg = sq_qconfig_default();
    cfg.granularity = SQ_GRAN_CHANNEL; /* a scalar falls back to per-tensor */
    qcase c = run(one, NULL, 0, cfg);
    ck_assert_uint_eq(c.q->n_scales, 1);
    ck_assert_int_eq(sq_qtensor_code(c.q, 0), 127);
    done(c);
    const size_t empty[] = {0, 4};
    cfg.granularity = SQ_GRAN_TENSOR;
    c = run(NULL, empty, 2, cfg);
    ck_assert_uint_eq(c.q->numel, 0);
    ck_assert_uint_eq(c.q->code_bytes, 0);
    ck_assert(c.q->scales[0] == 1.0 && c.q->zero_points[0] == 0.0);
    ck_assert(sq_qtensor_compression_ratio(c.q) == 1.0);
    done(c);
}
END_TEST

START_TEST(test_bad_configs)
{
    const float d[] = {1, 2, 3, 4, 5, 6, 7, 8};
    const size_t shape[] = {2, 4};
    sq_qconfig cfg = sq_qconfig_default();
    cfg.bits = 9;
    assert_fails(d, shape, 2, cfg, SQ_ERR_ARG, "bits = 9 is outside 2..8");
    cfg.bits = 1;
    assert_fails(d, shape, 2, cfg, SQ_ERR_ARG, "bits = 1");
    cfg = sq_qconfig_default();
    cfg.granularity = SQ_GRAN_GROUP;
    cfg.group_size = 3;
    assert_fails(d, shape, 2, cfg, SQ_ERR_ARG, "group_size = 3 does not divide the last dimension (4)");
    cfg.group_size = 0;
    assert_fails(d, shape, 2, cfg, SQ_ERR_ARG, "group_size must be positive");
    cfg = sq_qconfig_default();
    cfg.granularity = SQ_GRAN_CHANNEL;
    cfg.axis = 2;
    assert_fails(d, shape, 2, cfg, SQ_ERR_ARG, "axis 3 is out of range for a tensor of 2 dimensions (axes 1..2)");
    cfg.axis = -1;
    assert_fails(d, shape, 2, cfg, SQ_ERR_ARG, "axis 0 is out of range for a tensor of 2 dimensions (axes 1..2)");
    cfg = sq_qconfig_default();
    cfg.mode = (sq_mode)7;
    assert_fails(d, shape, 2, cfg, SQ_ERR_ARG, "unknown mode 7");
    cfg = sq_qconfig_default();
    cfg.granularity = SQ_GRAN_GROUP;
    assert_fails(d, NULL, 0, cfg, SQ_ERR_ARG, "at least one dimension");
}
END_TEST

START_TEST(test_nonfinite_input)
{
    const float d[] = {1.0f, NAN, 2.0f, INFINITY, -INFINITY, 0.0f};
    const size_t shape[] = {2, 3};
    sq_qconfig cfg = sq_qconfig_default();
    assert_fails(d, shape, 2, cfg, SQ_ERR_NONFINITE, "3 non-finite values (1 NaN, 2 Inf) of 6");
    assert_fails(d, shape, 2, cfg, SQ_ERR_NONFINITE, "first at element 2 [1, 2]");
    cfg.granularity = SQ_GRAN_GROUP;
    cfg.group_size = 3;
    assert_fails(d, shape, 2, cfg, SQ_ERR_NONFINITE, "first at element 2 [1, 2]");
    cfg.granularity = SQ_GRAN_CHANNEL;
    cfg.axis = 1;
    assert_fails(d, shape, 2, cfg, SQ_ERR_NONFINITE, "first at element 2 [1, 2]");
}
END_TEST

START_TEST(test_from_parts_roundtrip_and_validation)
{
    const size_t shape[] = {2, 2};
    const int8_t codes[] = {-7, 7, 0, 3}, bad[] = {-8, 0, 0, 0};
    const double scales[] = {0.5, 0.25}, zps[] = {0.0, 0.0};
    sq_qconfig cfg = sq_qconfig_default();
    sq_qtensor *q;
    sq_error err;
    cfg.bits = 4;
    cfg.granularity = SQ_GRAN_CHANNEL;
    ck_assert_msg(sq_qtensor_from_parts(&cfg, shape, 2, SQ_DTYPE_F16, codes, scales, zps, &q, &err) == SQ_OK,
                  "%s", err.msg);
    int8_t back[4];
    sq_qtensor_codes(q, 0, 4, back);
    ck_assert_mem_eq(back, codes, 4);
    float out[4];
    sq_dequantize_into(q, out);
    ck_assert(out[0] == -3.5f && out[1] == 3.5f && out[2] == 0.0f && out[3] == 0.75f);
    ck_assert_int_eq(q->orig_dtype, SQ_DTYPE_F16);
    sq_qtensor_free(q);
    ck_assert_int_eq(sq_qtensor_from_parts(&cfg, shape, 2, SQ_DTYPE_F32, bad, scales, zps, &q, &err), SQ_ERR_ARG);
    ck_assert(strstr(err.msg, "code -8 of element 1 is outside [-7, 7]") != NULL);
    ck_assert_ptr_null(q);
}
END_TEST

START_TEST(test_describe_and_names)
{
    char buf[64];
    sq_qconfig cfg = sq_qconfig_default();
    ck_assert_str_eq(sq_qconfig_describe(&cfg, buf, sizeof buf), "int8 sym per-tensor");
    cfg.bits = 4;
    cfg.mode = SQ_MODE_ASYMMETRIC;
    cfg.granularity = SQ_GRAN_GROUP;
    cfg.rounding = SQ_ROUND_EVEN;
    cfg.zero_in_range = true;
    ck_assert_str_eq(sq_qconfig_describe(&cfg, buf, sizeof buf), "int4 asym per-group(32) even zir");
    sq_mode m;
    sq_granularity g;
    sq_rounding r;
    ck_assert(sq_mode_parse("asymmetric", &m) && m == SQ_MODE_ASYMMETRIC);
    ck_assert(sq_granularity_parse("channel", &g) && g == SQ_GRAN_CHANNEL);
    ck_assert(sq_rounding_parse("even", &r) && r == SQ_ROUND_EVEN);
    ck_assert(!sq_mode_parse("sym", &m));
    ck_assert_str_eq(sq_granularity_name(SQ_GRAN_GROUP), "group");
}
END_TEST

START_TEST(test_size_accounting)
{
    const size_t shape[] = {4, 32};
    sq_tensor *x;
    sq_qtensor *q;
    sq_error err;
    sq_qconfig cfg = sq_qconfig_default();
    ck_assert(sq_tensor_randn(shape, 2, 3, &x, &err) == SQ_OK);
    cfg.bits = 3;
    cfg.mode = SQ_MODE_ASYMMETRIC;
    cfg.granularity = SQ_GRAN_GROUP;
    cfg.group_size = 32;
    ck_assert(sq_quantize(x, &cfg, &q, &err) == SQ_OK);
    ck_assert_uint_eq(sq_qtensor_size_bytes(q), 48); /* 128 * 3 / 8 */
    ck_assert_uint_eq(sq_qtensor_meta_bytes(q), 4 * 16);
    /* (128*3 + 4*(32+32)) / 128 = 5; with f16: (384 + 4*32) / 128 = 4 */
    ck_assert(sq_qtensor_bits_per_weight(q, SQ_SCALE_F32) == 5.0);
    ck_assert(sq_qtensor_bits_per_weight(q, SQ_SCALE_F16) == 4.0);
    ck_assert(fabs(sq_qtensor_compression_ratio(q) - 512.0 / 48.0) < 1e-12);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

static Suite *quant_suite(void)
{
    Suite *s = suite_create("quant");
    TCase *tc = tcase_create("quant");
    tcase_add_test(tc, test_qmin_qmax_every_width);
    tcase_add_test(tc, test_symmetric_ties_both_roundings);
    tcase_add_test(tc, test_int4_symmetric_ties);
    tcase_add_test(tc, test_asymmetric_zero_point_tie_and_clipping);
    tcase_add_test(tc, test_asymmetric_unclamped_zero_point);
    tcase_add_test(tc, test_zero_in_range);
    tcase_add_test(tc, test_constant_and_zero_sets_use_scale_one);
    tcase_add_test(tc, test_per_channel_any_axis);
    tcase_add_test(tc, test_per_channel_middle_axis_3d);
    tcase_add_test(tc, test_per_group);
    tcase_add_test(tc, test_scalar_and_empty);
    tcase_add_test(tc, test_bad_configs);
    tcase_add_test(tc, test_nonfinite_input);
    tcase_add_test(tc, test_from_parts_roundtrip_and_validation);
    tcase_add_test(tc, test_describe_and_names);
    tcase_add_test(tc, test_size_accounting);
    tcase_add_test(tc, test_empty_tensor_huge_channel_axis);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(quant_suite)
