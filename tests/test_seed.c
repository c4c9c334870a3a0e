/* test_seed.c - the eleven tests of the seed module, with its data and
 * tolerances, run against squint's engine. */
#include <math.h>

#include "model.h"
#include "quant.h"
#include "testutil.h"

/* Quantize then dequantize data of shape with cfg; check |x - x_hat| < tol. */
static void roundtrip_within(const float *data, const size_t *shape, int ndim, sq_qconfig cfg,
                             double tol, size_t want_scales)
{
    sq_error err;
    sq_qtensor *q;
    sq_tensor *xh, *x = tu_tensor(shape, ndim, data);
    ck_assert_msg(sq_quantize(x, &cfg, &q, &err) == SQ_OK, "%s", err.msg);
    ck_assert_uint_eq(q->n_scales, want_scales);
    ck_assert_int_eq(q->ndim, ndim);
    for (int d = 0; d < ndim; d++)
        ck_assert_uint_eq(q->shape[d], shape[d]);
    ck_assert(sq_dequantize(q, &xh, &err) == SQ_OK);
    for (size_t i = 0; i < x->numel; i++)
        ck_assert_msg(fabs((double)data[i] - xh->data[i]) < tol, "element %zu: %g vs %g", i, data[i],
                      xh->data[i]);
    sq_tensor_free(xh);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}

START_TEST(test_int8_symmetric_per_tensor)
{
    const float data[] = {1.0f, -0.5f, 0.25f, -1.0f, 0.0f, 0.75f};
    const size_t shape[] = {2, 3};
    sq_qconfig cfg = sq_qconfig_default();
    sq_error err;
    sq_qtensor *q;
    sq_tensor *x = tu_tensor(shape, 2, data);
    ck_assert(sq_quantize(x, &cfg, &q, &err) == SQ_OK);
    ck_assert_uint_eq(q->n_scales, 1);
    ck_assert(q->zero_points[0] == 0.0);
    sq_qtensor_free(q);
    sq_tensor_free(x);
    roundtrip_within(data, shape, 2, cfg, 0.02, 1);
}
END_TEST

START_TEST(test_int4_symmetric_per_tensor)
{
    const float data[] = {1.0f, -0.5f, 0.25f, -1.0f};
    const size_t shape[] = {2, 2};
    sq_qconfig cfg = sq_qconfig_default();
    cfg.bits = 4;
    roundtrip_within(data, shape, 2, cfg, 0.2, 1);
}
END_TEST

START_TEST(test_int8_per_channel)
{
    float data[12];
    const size_t shape[] = {3, 4};
    for (int i = 0; i < 12; i++)
        data[i] = (float)((i - 6.0) * 0.1);
    sq_qconfig cfg = sq_qconfig_default();
    cfg.granularity = SQ_GRAN_CHANNEL;
    roundtrip_within(data, shape, 2, cfg, 0.01, 3);
}
END_TEST

START_TEST(test_int8_asymmetric)
{
    const float data[] = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f};
    const size_t shape[] = {1, 5};
    sq_qconfig cfg = sq_qconfig_default();
    cfg.mode = SQ_MODE_ASYMMETRIC;
    roundtrip_within(data, shape, 2, cfg, 0.02, 1);
}
END_TEST

START_TEST(test_compression_ratio)
{
    const size_t shape[] = {256, 128};
    sq_error err;
    sq_tensor *x;
    sq_qtensor *q8, *q4;
    sq_qconfig c8 = sq_qconfig_default(), c4 = sq_qconfig_default();
    c4.bits = 4;
    ck_assert(sq_tensor_randn(shape, 2, 1, &x, &err) == SQ_OK);
    ck_assert(sq_quantize(x, &c8, &q8, &err) == SQ_OK);
    ck_assert(sq_quantize(x, &c4, &q4, &err) == SQ_OK);
    ck_assert(fabs(sq_qtensor_compression_ratio(q8) - 4.0) < 0.01);
    ck_assert(fabs(sq_qtensor_compression_ratio(q4) - 8.0) < 0.01);
    sq_qtensor_free(q8);
    sq_qtensor_free(q4);
    sq_tensor_free(x);
}
END_TEST

START_TEST(test_quantized_linear_forward)
{
    const size_t xshape[] = {2, 4};
    sq_error err;
    sq_linear *lin;
    sq_qlinear *ql;
    sq_tensor *x, *y, *yq;
    sq_qconfig cfg = sq_qconfig_default();
    ck_assert(sq_linear_new(4, 3, true, 7, &lin, &err) == SQ_OK);
    ck_assert(sq_tensor_randn(xshape, 2, 8, &x, &err) == SQ_OK);
    ck_assert(sq_linear_forward(lin, x, &y, &err) == SQ_OK);
    ck_assert(sq_qlinear_from_linear(lin, &cfg, &ql, &err) == SQ_OK);
    ck_assert(sq_qlinear_forward(ql, x, &yq, &err) == SQ_OK);
    ck_assert_uint_eq(y->numel, yq->numel);
    ck_assert_uint_eq(y->numel, 6);
    for (size_t i = 0; i < y->numel; i++)
        ck_assert_msg(fabs((double)y->data[i] - yq->data[i]) < 0.5, "%g vs %g", y->data[i], yq->data[i]);
    sq_tensor_free(x);
    sq_tensor_free(y);
    sq_tensor_free(yq);
    sq_qlinear_free(ql);
    sq_linear_free(lin);
}
END_TEST

START_TEST(test_quantized_linear_no_trainable_params)
{
    sq_error err;
    sq_linear *lin;
    sq_qlinear *ql;
    sq_qconfig cfg = sq_qconfig_default();
    ck_assert(sq_linear_new(4, 2, true, 3, &lin, &err) == SQ_OK);
    ck_assert(sq_qlinear_from_linear(lin, &cfg, &ql, &err) == SQ_OK);
    ck_assert_uint_eq(sq_qlinear_num_parameters(ql), 0);
    sq_qlinear_free(ql);
    sq_linear_free(lin);
}
END_TEST

START_TEST(test_quantized_linear_memory_savings)
{
    sq_error err;
    sq_linear *lin;
    sq_qlinear *ql;
    sq_qconfig cfg = sq_qconfig_default();
    ck_assert(sq_linear_new(256, 128, true, 5, &lin, &err) == SQ_OK);
    ck_assert(sq_qlinear_from_linear(lin, &cfg, &ql, &err) == SQ_OK);
    ck_assert_uint_eq(sq_qlinear_memory_savings(ql), 98304);
    sq_qlinear_free(ql);
    sq_linear_free(lin);
}
END_TEST

START_TEST(test_quantize_named_parameters)
{
    sq_error err;
    sq_linear *lin;
    sq_named_tensor set[2];
    sq_named_qtensor *out;
    size_t n_out;
    sq_qconfig cfg = sq_qconfig_default();
    ck_assert(sq_linear_new(8, 4, true, 9, &lin, &err) == SQ_OK);
    size_t n = sq_linear_named_parameters(lin, set);
    ck_assert(sq_quantize_named(set, n, &cfg, &out, &n_out, &err) == SQ_OK);
    ck_assert_uint_eq(n_out, 2);
    ck_assert_str_eq(out[0].name, "weight");
    ck_assert_str_eq(out[1].name, "bias");
    sq_named_qtensors_free(out, n_out);
    sq_linear_free(lin);
}
END_TEST

START_TEST(test_quantization_stats)
{
    sq_error err;
    sq_linear *lin;
    sq_named_tensor set[2];
    sq_model_stats st;
    sq_qconfig cfg = sq_qconfig_default();
    ck_assert(sq_linear_new(64, 32, true, 11, &lin, &err) == SQ_OK);
    size_t n = sq_linear_named_parameters(lin, set);
    ck_assert(sq_model_stats_compute(set, n, &cfg, &st, &err) == SQ_OK);
    ck_assert_uint_eq(st.num_quantized, 2);
    ck_assert_uint_eq(st.num_fp32, 0);
    ck_assert(st.compression_ratio > 3.0);
    /* exact figures: weight 2048 + 16, bias [1, 32] 32 + 16 */
    ck_assert_uint_eq(st.fp32_bytes, (2048 + 32) * 4);
    ck_assert_uint_eq(st.quantized_bytes, 2048 + 16 + 32 + 16);
    sq_linear_free(lin);
}
END_TEST

START_TEST(test_quantize_zero_tensor)
{
    const size_t shape[] = {2, 3};
    sq_error err;
    sq_tensor *x, *xh;
    sq_qtensor *q;
    sq_qconfig cfg = sq_qconfig_default();
    ck_assert(sq_tensor_new(shape, 2, SQ_DTYPE_F32, &x, &err) == SQ_OK);
    ck_assert(sq_quantize(x, &cfg, &q, &err) == SQ_OK);
    ck_assert(sq_dequantize(q, &xh, &err) == SQ_OK);
    for (size_t i = 0; i < xh->numel; i++)
        ck_assert(xh->data[i] == 0.0f);
    sq_tensor_free(x);
    sq_tensor_free(xh);
    sq_qtensor_free(q);
}
END_TEST

static Suite *seed_suite(void)
{
    Suite *s = suite_create("seed");
    TCase *tc = tcase_create("seed");
    tcase_add_test(tc, test_int8_symmetric_per_tensor);
    tcase_add_test(tc, test_int4_symmetric_per_tensor);
    tcase_add_test(tc, test_int8_per_channel);
    tcase_add_test(tc, test_int8_asymmetric);
    tcase_add_test(tc, test_compression_ratio);
    tcase_add_test(tc, test_quantized_linear_forward);
    tcase_add_test(tc, test_quantized_linear_no_trainable_params);
    tcase_add_test(tc, test_quantized_linear_memory_savings);
    tcase_add_test(tc, test_quantize_named_parameters);
    tcase_add_test(tc, test_quantization_stats);
    tcase_add_test(tc, test_quantize_zero_tensor);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(seed_suite)
