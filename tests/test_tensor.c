/* test_tensor.c - tensors, dtypes, half/bfloat16 conversion, randn, summaries. */
#include <math.h>
#include <string.h>

#include "memtune.h"
#include "tensor.h"
#include "testutil.h"

START_TEST(test_half_known_values)
{
    ck_assert_uint_eq(sq_float_to_half(1.0f), 0x3C00);
    ck_assert_uint_eq(sq_float_to_half(-2.0f), 0xC000);
    ck_assert_uint_eq(sq_float_to_half(65504.0f), 0x7BFF);
    ck_assert_uint_eq(sq_float_to_half(65519.0f), 0x7BFF);
    ck_assert_uint_eq(sq_float_to_half(65520.0f), 0x7C00); /* tie at the top rounds to Inf */
    ck_assert_uint_eq(sq_float_to_half(0x1p-24f), 0x0001);
    ck_assert_uint_eq(sq_float_to_half(0x1p-25f), 0x0000);       /* tie to even: 0 */
    ck_assert_uint_eq(sq_float_to_half(0x1.8p-24f), 0x0002);     /* 1.5 ulp: tie to even 2 */
    /* one half ulp at 1.0 is 2^-11 = 0x1.002p0 */
    ck_assert_uint_eq(sq_float_to_half(0x1.001p0f), 0x3C00);     /* below half an ulp */
    ck_assert_uint_eq(sq_float_to_half(0x1.002p0f), 0x3C00);     /* tie to even (down) */
    ck_assert_uint_eq(sq_float_to_half(0x1.003p0f), 0x3C01);     /* above half an ulp */
    ck_assert_uint_eq(sq_float_to_half(0x1.006p0f), 0x3C02);     /* tie to even (up) */
    ck_assert_uint_eq(sq_float_to_half(INFINITY), 0x7C00);
    ck_assert(isnan(sq_half_to_float(sq_float_to_half(NAN))));
    ck_assert(sq_half_to_float(0x0001) == 0x1p-24f);
    ck_assert(sq_half_to_float(0x7BFF) == 65504.0f);
    ck_assert(sq_half_to_float(0x8000) == 0.0f && signbit(sq_half_to_float(0x8000)));
}
END_TEST

START_TEST(test_half_every_value_roundtrips)
{
    for (unsigned h = 0; h < 65536; h++) {
        float f = sq_half_to_float((uint16_t)h);
        if (isnan(f))
            continue;
        ck_assert_msg(sq_float_to_half(f) == h, "half 0x%04x -> %g -> 0x%04x", h, (double)f,
                      sq_float_to_half(f));
    }
}
END_TEST

START_TEST(test_bf16)
{
    ck_assert_uint_eq(sq_float_to_bf16(1.0f), 0x3F80);
    ck_assert(sq_bf16_to_float(0x3F80) == 1.0f);
    ck_assert_uint_eq(sq_float_to_bf16(0x1.01p0f), 0x3F80);  /* tie to even */
    ck_assert_uint_eq(sq_float_to_bf16(0x1.03p0f), 0x3F82);  /* tie to even, up */
    ck_assert_uint_eq(sq_float_to_bf16(0x1.011p0f), 0x3F81);
    ck_assert(isnan(sq_bf16_to_float(sq_float_to_bf16(NAN))));
    for (unsigned b = 0; b < 65536; b++) {
        float f = sq_bf16_to_float((uint16_t)b);
        if (!isnan(f))
            ck_assert_uint_eq(sq_float_to_bf16(f), b);
    }
}
END_TEST

START_TEST(test_dtype_names)
{
    sq_dtype d;
    ck_assert_str_eq(sq_dtype_name(SQ_DTYPE_BF16), "bf16");
    ck_assert_uint_eq(sq_dtype_size(SQ_DTYPE_F64), 8);
    ck_assert(sq_dtype_parse("F16", &d) && d == SQ_DTYPE_F16);
    ck_assert(!sq_dtype_parse("c64", &d));
    ck_assert_str_eq(sq_dtype_name((sq_dtype)99), "?");
}
END_TEST

START_TEST(test_new_and_overflow)
{
    const size_t shape[] = {2, 3, 4}, huge[] = {SIZE_MAX / 2, 3};
    size_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    sq_tensor *t;
    sq_error err;
    char buf[64];
    ck_assert(sq_tensor_new(shape, 3, SQ_DTYPE_F16, &t, &err) == SQ_OK);
    ck_assert_uint_eq(t->numel, 24);
    ck_assert_int_eq(t->dtype, SQ_DTYPE_F16);
    ck_assert(t->data[23] == 0.0f);
    ck_assert_str_eq(sq_shape_format(t->shape, t->ndim, buf, sizeof buf), "[2, 3, 4]");
    sq_tensor_free(t);
    ck_assert_int_eq(sq_tensor_new(huge, 2, SQ_DTYPE_F32, &t, &err), SQ_ERR_OVERFLOW);
    ck_assert_ptr_null(t);
    ck_assert(strstr(err.msg, "overflow") != NULL);
    ck_assert_int_eq(sq_tensor_new(nine, 9, SQ_DTYPE_F32, &t, &err), SQ_ERR_ARG);
    ck_assert(strstr(err.msg, "9 is outside 0..8") != NULL);
    ck_assert(sq_tensor_new(NULL, 0, SQ_DTYPE_F32, &t, &err) == SQ_OK);
    ck_assert_uint_eq(t->numel, 1);
    sq_tensor_free(t);
    sq_tensor_free(NULL);
}
END_TEST

START_TEST(test_randn_deterministic_and_normal)
{
    const size_t shape[] = {1000, 100};
    sq_tensor *a, *b, *c;
    sq_error err;
    sq_summary s;
    ck_assert(sq_tensor_randn(shape, 2, 42, &a, &err) == SQ_OK);
    ck_assert(sq_tensor_randn(shape, 2, 42, &b, &err) == SQ_OK);
    ck_assert(sq_tensor_randn(shape, 2, 43, &c, &err) == SQ_OK);
    ck_assert_mem_eq(a->data, b->data, a->numel * sizeof(float));
    ck_assert(memcmp(a->data, c->data, a->numel * sizeof(float)) != 0);
    sq_tensor_summary(a, &s);
    /* 100000 samples: mean within 5 sigma/sqrt(n) = 0.0158, std within 1% */
    ck_assert_msg(fabs(s.mean) < 0.0158, "mean %g", s.mean);
    ck_assert_msg(fabs(s.std - 1.0) < 0.01, "std %g", s.std);
    ck_assert(s.min < -3.5 && s.max > 3.5);
    sq_tensor_free(a);
    sq_tensor_free(b);
    sq_tensor_free(c);
}
END_TEST

START_TEST(test_summary_and_finite_check)
{
    const float v[] = {1.0f, NAN, 3.0f, INFINITY, 5.0f, 7.0f};
    const size_t shape[] = {3, 2};
    sq_tensor *t = tu_tensor(shape, 2, v);
    sq_summary s;
    sq_error err;
    sq_tensor_summary(t, &s);
    ck_assert(s.count == 6 && s.n_nan == 1 && s.n_inf == 1);
    ck_assert(s.min == 1.0 && s.max == 7.0 && s.mean == 4.0 && s.std == sqrt(5.0));
    ck_assert_int_eq(sq_tensor_check_finite(t, "w", &err), SQ_ERR_NONFINITE);
    ck_assert_str_eq(err.msg,
                     "w has 2 non-finite values (1 NaN, 1 Inf) of 6; first at element 2 [1, 2] = nan");
    t->data[1] = 2.0f;
    t->data[3] = 4.0f;
    ck_assert(sq_tensor_check_finite(t, "w", &err) == SQ_OK);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_demo_tensor)
{
    sq_tensor *d, *d2;
    sq_error err;
    ck_assert(sq_tensor_demo(&d, &err) == SQ_OK);
    ck_assert(sq_tensor_demo(&d2, &err) == SQ_OK);
    ck_assert(d->ndim == 2 && d->shape[0] == 256 && d->shape[1] == 512);
    ck_assert_mem_eq(d->data, d2->data, d->numel * sizeof(float));
    /* outlier row 201 has a far larger max |x| than an ordinary row */
    float m_out = 0, m_row = 0;
    for (size_t j = 0; j < 512; j++) {
        m_out = fmaxf(m_out, fabsf(d->data[201 * 512 + j]));
        m_row = fmaxf(m_row, fabsf(d->data[0 * 512 + j]));
    }
    ck_assert_msg(m_out > 20 * m_row, "%g vs %g", m_out, m_row);
    sq_tensor_free(d);
    sq_tensor_free(d2);
}
END_TEST

START_TEST(test_error_helpers)
{
    sq_error err;
    ck_assert_int_eq(sq_fail(&err, SQ_ERR_IO, "x=%d", 3), SQ_ERR_IO);
    ck_assert_str_eq(err.msg, "x=3");
    ck_assert_int_eq(sq_error_prefix(&err, "file.npy"), SQ_ERR_IO);
    ck_assert_str_eq(err.msg, "file.npy: x=3");
    ck_assert_str_eq(sq_status_str(SQ_ERR_FORMAT), "malformed file");
    ck_assert_int_eq(sq_fail(NULL, SQ_ERR_ARG, "ignored"), SQ_ERR_ARG);
    sq_error_clear(&err);
    ck_assert(err.code == SQ_OK && err.msg[0] == '\0');
}
END_TEST

/* The allocator settings are taken where the C library's allocator has them
 * (glibc; AddressSanitizer's allocator has its own and refuses them), and
 * allocation works as before afterwards. */
#if defined(__SANITIZE_ADDRESS__)
#define SQ_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SQ_TEST_ASAN 1
#endif
#endif

START_TEST(test_memtune)
{
#if defined(SQ_TEST_ASAN)
    ck_assert(!sq_memtune());
#elif defined(__GLIBC__)
    ck_assert(sq_memtune());
#else
    ck_assert(!sq_memtune());
#endif
    size_t shape[2] = {1024, 1024};
    sq_tensor *t;
    sq_error err;
    ck_assert(sq_tensor_randn(shape, 2, 3, &t, &err) == SQ_OK);
    float first = t->data[0];
    sq_tensor_free(t);
    ck_assert(sq_tensor_randn(shape, 2, 3, &t, &err) == SQ_OK);
    ck_assert(t->data[0] == first);
    sq_tensor_free(t);
}
END_TEST

static Suite *tensor_suite(void)
{
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("tensor");
    tcase_add_test(tc, test_half_known_values);
    tcase_add_test(tc, test_half_every_value_roundtrips);
    tcase_add_test(tc, test_bf16);
    tcase_add_test(tc, test_dtype_names);
    tcase_add_test(tc, test_new_and_overflow);
    tcase_add_test(tc, test_randn_deterministic_and_normal);
    tcase_add_test(tc, test_summary_and_finite_check);
    tcase_add_test(tc, test_demo_tensor);
    tcase_add_test(tc, test_error_helpers);
    tcase_add_test(tc, test_memtune);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(tensor_suite)
