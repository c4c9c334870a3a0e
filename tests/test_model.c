/* test_model.c - linear layers, named sets and model statistics. */
#include <math.h>
#include <string.h>

#include "model.h"
#include "testutil.h"

START_TEST(test_linear_forward_exact)
{
    const float w[] = {1, 2, 3, 4, 5, 6}, b[] = {1, 1, 1}, xv[] = {1, 1, 2, -1};
    const size_t ws[] = {3, 2}, bs[] = {3}, xs[] = {2, 2};
    sq_tensor *W = tu_tensor(ws, 2, w), *B = tu_tensor(bs, 1, b), *x = tu_tensor(xs, 2, xv), *y;
    sq_linear *l;
    sq_error err;
    ck_assert(sq_linear_from(W, B, &l, &err) == SQ_OK);
    ck_assert(l->in_features == 2 && l->out_features == 3);
    ck_assert(l->bias->ndim == 2 && l->bias->shape[0] == 1 && l->bias->shape[1] == 3);
    ck_assert(sq_linear_forward(l, x, &y, &err) == SQ_OK);
    ck_assert(y->ndim == 2 && y->shape[0] == 2 && y->shape[1] == 3);
    const float want[] = {4, 8, 12, 1, 3, 5};
    ck_assert_mem_eq(y->data, want, sizeof want);
    sq_tensor_free(y);
    sq_linear_free(l);
    sq_tensor_free(W);
    sq_tensor_free(B);
    sq_tensor_free(x);
}
END_TEST

START_TEST(test_qlinear_matches_dequantized_weight)
{
    /* weights on the int8 grid of scale 1 quantize losslessly: outputs equal */
    const float w[] = {127, -3, 5, 0, 1, 2}, xv[] = {0.5f, 2};
    const size_t ws[] = {3, 2}, xs[] = {2};
    sq_tensor *W = tu_tensor(ws, 2, w), *x = tu_tensor(xs, 1, xv), *y, *yq;
    sq_linear *l;
    sq_qlinear *ql;
    sq_error err;
    sq_qconfig cfg = sq_qconfig_default();
    ck_assert(sq_linear_from(W, NULL, &l, &err) == SQ_OK);
    ck_assert(sq_qlinear_from_linear(l, &cfg, &ql, &err) == SQ_OK);
    ck_assert(sq_linear_forward(l, x, &y, &err) == SQ_OK);
    ck_assert(sq_qlinear_forward(ql, x, &yq, &err) == SQ_OK);
    ck_assert(yq->ndim == 1 && yq->shape[0] == 3);
    ck_assert_mem_eq(y->data, yq->data, 3 * sizeof(float));
    ck_assert(yq->data[0] == 57.5f);
    ck_assert_uint_eq(sq_qlinear_memory_savings(ql), 24 - 6);
    sq_tensor_free(y);
    sq_tensor_free(yq);
    sq_qlinear_free(ql);
    sq_linear_free(l);
    sq_tensor_free(W);
    sq_tensor_free(x);
}
END_TEST

START_TEST(test_linear_errors)
{
    const float v[] = {1, 2, 3};
    const size_t s3[] = {3}, s13[] = {1, 3};
    sq_tensor *v3 = tu_tensor(s3, 1, v), *m = tu_tensor(s13, 2, v), *y;
    sq_linear *l;
    sq_error err;
    ck_assert_int_eq(sq_linear_from(v3, NULL, &l, &err), SQ_ERR_ARG);
    ck_assert(strstr(err.msg, "[out, in]") != NULL);
    ck_assert_int_eq(sq_linear_from(m, m, &l, &err), SQ_ERR_ARG);
    ck_assert(strstr(err.msg, "bias has 3 elements, expected out = 1") != NULL);
    ck_assert_int_eq(sq_linear_new(0, 3, true, 1, &l, &err), SQ_ERR_ARG);
    ck_assert(sq_linear_new(4, 3, false, 1, &l, &err) == SQ_OK);
    ck_assert_ptr_null(l->bias);
    ck_assert_int_eq(sq_linear_forward(l, v3, &y, &err), SQ_ERR_ARG);
    ck_assert(strstr(err.msg, "input of shape [3] does not end in in_features = 4") != NULL);
    ck_assert_ptr_null(y);
    /* PyTorch's init bound 1/sqrt(4) = 0.5 */
    for (size_t i = 0; i < l->weight->numel; i++)
        ck_assert(fabsf(l->weight->data[i]) <= 0.5f);
    sq_linear_free(l);
    sq_tensor_free(v3);
    sq_tensor_free(m);
}
END_TEST

START_TEST(test_model_stats_mixed_ranks)
{
    const size_t s_w[] = {8, 64}, s_b[] = {8}, s_c[] = {4, 3, 32};
    sq_model_stats st;
    sq_error err;
    sq_qconfig cfg = sq_qconfig_default();
    cfg.bits = 4;
    cfg.granularity = SQ_GRAN_CHANNEL;
    sq_model_stats_init(&st);
    ck_assert(st.compression_ratio == 1.0);
    ck_assert(sq_model_stats_add(&st, s_w, 2, &cfg, &err) == SQ_OK);
    ck_assert(sq_model_stats_add(&st, s_b, 1, &cfg, &err) == SQ_OK);
    ck_assert(sq_model_stats_add(&st, s_c, 3, &cfg, &err) == SQ_OK);
    ck_assert(st.num_quantized == 2 && st.num_fp32 == 1);
    ck_assert_uint_eq(st.fp32_bytes, (512 + 8 + 384) * 4);
    /* codes 256 + 8 scales * 16; bias 32 fp32 bytes; codes 192 + 4 * 16 */
    ck_assert_uint_eq(st.quantized_bytes, 256 + 128 + 32 + 192 + 64);
    ck_assert(st.compression_ratio == (double)(904 * 4) / 672.0);
    cfg.granularity = SQ_GRAN_GROUP;
    cfg.group_size = 64;
    ck_assert_int_eq(sq_model_stats_add(&st, s_c, 3, &cfg, &err), SQ_ERR_ARG);
    ck_assert(strstr(err.msg, "group_size = 64") != NULL);
}
END_TEST

START_TEST(test_quantize_named_skips_vectors_and_names_errors)
{
    const float v[] = {1, 2, 3, 4};
    const size_t s4[] = {4}, s22[] = {2, 2};
    sq_tensor *a = tu_tensor(s4, 1, v), *b = tu_tensor(s22, 2, v);
    sq_named_tensor set[] = {{"norm", a}, {"proj", b}};
    sq_named_qtensor *out;
    size_t n;
    sq_error err;
    sq_qconfig cfg = sq_qconfig_default();
    ck_assert(sq_quantize_named(set, 2, &cfg, &out, &n, &err) == SQ_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(out[0].name, "proj");
    sq_named_qtensors_free(out, n);
    b->data[3] = NAN;
    ck_assert_int_eq(sq_quantize_named(set, 2, &cfg, &out, &n, &err), SQ_ERR_NONFINITE);
    ck_assert(strncmp(err.msg, "proj: ", 6) == 0);
    ck_assert_ptr_null(out);
    sq_tensor_free(a);
    sq_tensor_free(b);
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("model");
    tcase_add_test(tc, test_linear_forward_exact);
    tcase_add_test(tc, test_qlinear_matches_dequantized_weight);
    tcase_add_test(tc, test_linear_errors);
    tcase_add_test(tc, test_model_stats_mixed_ranks);
    tcase_add_test(tc, test_quantize_named_skips_vectors_and_names_errors);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(model_suite)
