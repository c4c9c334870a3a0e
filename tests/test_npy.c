/* test_npy.c - .npy files written by numpy (tests/data/make_npy.py): every
 * dtype, byte order, memory order and format version, exact values; writer
 * round trips; atomic-write failures. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"
#include "testutil.h"

#define NPY_DIR SQ_TEST_DATA "/npy/"

/* The generator's formula for flat C-order index i of a file of this kind. */
static double expected(const char *code, size_t i)
{
    if (code[0] == 'f')
        return (double)i * 0.25 - 2.5;
    if (strcmp(code, "u1") == 0)
        return (double)i * 10;
    double m = strcmp(code, "i1") == 0 ? 1 : strcmp(code, "i2") == 0 ? 1000 : 100000;
    return ((double)i - 12) * m;
}

static sq_tensor *load(const char *file)
{
    char path[512];
    sq_error err;
    sq_tensor *t = NULL;
    snprintf(path, sizeof path, "%s%s", NPY_DIR, file);
    ck_assert_msg(sq_npy_read(path, &t, &err) == SQ_OK, "%s", err.msg);
    return t;
}

/* Assert t has the given shape, dtype and the generator's values. */
static void check_file(const char *file, const char *code, sq_dtype dt, const size_t *shape, int ndim)
{
    sq_tensor *t = load(file);
    ck_assert_int_eq(t->ndim, ndim);
    for (int k = 0; k < ndim; k++)
        ck_assert_uint_eq(t->shape[k], shape[k]);
    ck_assert_int_eq(t->dtype, dt);
    for (size_t i = 0; i < t->numel; i++)
        ck_assert_msg((double)t->data[i] == expected(code, i), "%s[%zu] = %g, want %g", file, i,
                      (double)t->data[i], expected(code, i));
    sq_tensor_free(t);
}

START_TEST(test_every_dtype_order_endianness)
{
    static const struct {
        const char *code;
        sq_dtype dt;
        int multibyte;
    } d[] = {{"f2", SQ_DTYPE_F16, 1}, {"f4", SQ_DTYPE_F32, 1}, {"f8", SQ_DTYPE_F64, 1}, {"i1", SQ_DTYPE_I8, 0},
             {"u1", SQ_DTYPE_U8, 0},  {"i2", SQ_DTYPE_I16, 1}, {"i4", SQ_DTYPE_I32, 1}};
    const size_t shape[] = {2, 3, 4};
    int n = 0;
    for (size_t k = 0; k < sizeof d / sizeof d[0]; k++) {
        const char *tags[2] = {"le", "be"};
        for (int e = 0; e < (d[k].multibyte ? 2 : 1); e++) {
            for (int o = 0; o < 2; o++) {
                char file[64];
                snprintf(file, sizeof file, "%s_%s_%c.npy", d[k].code, d[k].multibyte ? tags[e] : "na", "cf"[o]);
                check_file(file, d[k].code, d[k].dt, shape, 3);
                n++;
            }
        }
    }
    ck_assert_int_eq(n, 24);
}
END_TEST

START_TEST(test_versions_and_shapes)
{
    const size_t s3[] = {2, 3, 4}, s1[] = {7}, s2[] = {3, 5}, e1[] = {0}, e2[] = {3, 0};
    check_file("f4_v1.npy", "f4", SQ_DTYPE_F32, s3, 3);
    check_file("f4_v2.npy", "f4", SQ_DTYPE_F32, s3, 3);
    check_file("f4_v3.npy", "f4", SQ_DTYPE_F32, s3, 3);
    check_file("f4_v2_f.npy", "f4", SQ_DTYPE_F32, s3, 3);
    check_file("f8_1d.npy", "f8", SQ_DTYPE_F64, s1, 1);
    check_file("i2_2d_f.npy", "i2", SQ_DTYPE_I16, s2, 2);
    check_file("f4_empty.npy", "f4", SQ_DTYPE_F32, e1, 1);
    check_file("f4_empty_2d.npy", "f4", SQ_DTYPE_F32, e2, 2);
    sq_tensor *t = load("f4_0d.npy");
    ck_assert_int_eq(t->ndim, 0);
    ck_assert_uint_eq(t->numel, 1);
    ck_assert(t->data[0] == -2.5f);
    sq_tensor_free(t);
    t = load("f4_empty_2d.npy");
    ck_assert_uint_eq(t->numel, 0);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_unsupported_dtypes_named)
{
    static const struct {
        const char *file, *needle;
    } c[] = {{"unsupported_c8.npy", "'<c8'"},     {"unsupported_i8.npy", "'<i8'"},
             {"unsupported_bool.npy", "'|b1'"},   {"unsupported_str.npy", "'<U2'"},
             {"unsupported_object.npy", "'|O'"},  {"unsupported_struct.npy", "structured dtype [('a', '<f4')"}};
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        char path[512];
        sq_error err;
        sq_tensor *t = (sq_tensor *)1;
        snprintf(path, sizeof path, "%s%s", NPY_DIR, c[k].file);
        ck_assert_int_eq(sq_npy_read(path, &t, &err), SQ_ERR_UNSUPPORTED);
        ck_assert_ptr_null(t);
        ck_assert_msg(strstr(err.msg, c[k].needle) && strstr(err.msg, c[k].file), "%s: '%s'", c[k].file, err.msg);
    }
}
END_TEST

/* A fresh scratch path under the build directory. */
static void tmp_path(char *buf, size_t n, const char *leaf)
{
    snprintf(buf, n, "tests/npy-tmp-%ld-%s", (long)getpid(), leaf);
}

/* Whole-file bytes equality. */
static int same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int ok = fa && fb;
    while (ok) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb)
            ok = 0;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return ok;
}

START_TEST(test_round_trip_bit_identical)
{
    const char *files[] = {"f4_le_c.npy", "f8_be_f.npy", "f2_le_c.npy", "i1_na_c.npy", "u1_na_f.npy",
                           "i2_be_c.npy", "i4_le_f.npy", "f4_0d.npy",   "f4_empty_2d.npy"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        char p1[256], p2[256];
        sq_error err;
        sq_tensor *a = load(files[k]), *b = NULL, *c = NULL;
        tmp_path(p1, sizeof p1, "a.npy");
        tmp_path(p2, sizeof p2, "b.npy");
        ck_assert_msg(sq_npy_write(p1, a, a->dtype, &err) == SQ_OK, "%s", err.msg);
        ck_assert_msg(sq_npy_read(p1, &b, &err) == SQ_OK, "%s", err.msg);
        ck_assert_int_eq(b->ndim, a->ndim);
        ck_assert_int_eq(b->dtype, a->dtype);
        ck_assert_mem_eq(b->shape, a->shape, sizeof a->shape);
        if (a->numel)
            ck_assert_mem_eq(b->data, a->data, a->numel * sizeof(float));
        /* save again: the second file is byte-identical to the first */
        ck_assert_msg(sq_npy_write(p2, b, b->dtype, &err) == SQ_OK, "%s", err.msg);
        ck_assert(same_bytes(p1, p2));
        ck_assert_msg(sq_npy_read(p2, &c, &err) == SQ_OK, "%s", err.msg);
        if (a->numel)
            ck_assert_mem_eq(c->data, a->data, a->numel * sizeof(float));
        unlink(p1);
        unlink(p2);
        sq_tensor_free(a);
        sq_tensor_free(b);
        sq_tensor_free(c);
    }
}
END_TEST

START_TEST(test_write_header_layout)
{
    char p[256];
    sq_error err;
    const size_t shape[] = {3};
    const float v[] = {1, 2, 3};
    sq_tensor *t = tu_tensor(shape, 1, v);
    tmp_path(p, sizeof p, "h.npy");
    ck_assert_msg(sq_npy_write(p, t, SQ_DTYPE_F32, &err) == SQ_OK, "%s", err.msg);
    FILE *f = fopen(p, "rb");
    unsigned char buf[256];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ck_assert_uint_eq(n, 128 + 12);
    static const char want[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
    ck_assert_mem_eq(buf, want, sizeof want - 1);
    ck_assert_int_eq(buf[127], 0x0a);
    unlink(p);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_write_i8_codes)
{
    char p[256];
    sq_error err;
    const size_t shape[] = {2, 2};
    const int8_t codes[] = {-128, -1, 0, 127};
    sq_tensor *t = NULL;
    tmp_path(p, sizeof p, "c.npy");
    ck_assert_msg(sq_npy_write_i8(p, shape, 2, codes, &err) == SQ_OK, "%s", err.msg);
    ck_assert_msg(sq_npy_read(p, &t, &err) == SQ_OK, "%s", err.msg);
    ck_assert_int_eq(t->dtype, SQ_DTYPE_I8);
    ck_assert(t->data[0] == -128 && t->data[1] == -1 && t->data[2] == 0 && t->data[3] == 127);
    sq_tensor_free(t);
    unlink(p);
}
END_TEST

START_TEST(test_failed_write_keeps_old_file)
{
    char p[256];
    sq_error err;
    const size_t shape[] = {2};
    const float good[] = {1, 2}, bad[] = {1.5f, 2};
    sq_tensor *g = tu_tensor(shape, 1, good), *b = tu_tensor(shape, 1, bad), *r = NULL;
    tmp_path(p, sizeof p, "keep.npy");
    ck_assert(sq_npy_write(p, g, SQ_DTYPE_F32, &err) == SQ_OK);
    /* 1.5 is not an int8: the write fails after the temp file was created */
    ck_assert_int_eq(sq_npy_write(p, b, SQ_DTYPE_I8, &err), SQ_ERR_ARG);
    ck_assert_msg(strstr(err.msg, p) && strstr(err.msg, "not representable"), "%s", err.msg);
    ck_assert(sq_npy_read(p, &r, &err) == SQ_OK);
    ck_assert(r->dtype == SQ_DTYPE_F32 && r->data[0] == 1 && r->data[1] == 2);
    sq_tensor_free(r);
    unlink(p);
    /* a bad directory: the error names the path and the errno text */
    ck_assert_int_eq(sq_npy_write("/nonexistent-dir/x.npy", g, SQ_DTYPE_F32, &err), SQ_ERR_IO);
    ck_assert_msg(strstr(err.msg, "/nonexistent-dir/x.npy") && strstr(err.msg, strerror(ENOENT)), "%s", err.msg);
    /* BF16 has no numpy dtype */
    ck_assert_int_eq(sq_npy_write(p, g, SQ_DTYPE_BF16, &err), SQ_ERR_UNSUPPORTED);
    /* the input file is never modified by reading */
    struct stat st0, st1;
    ck_assert(stat(NPY_DIR "f4_le_c.npy", &st0) == 0);
    sq_tensor *x = load("f4_le_c.npy");
    ck_assert(stat(NPY_DIR "f4_le_c.npy", &st1) == 0);
    ck_assert(st0.st_mtime == st1.st_mtime && st0.st_size == st1.st_size);
    sq_tensor_free(x);
    sq_tensor_free(g);
    sq_tensor_free(b);
}
END_TEST

START_TEST(test_magic_messages)
{
    sq_tensor *t;
    sq_error err;
    ck_assert_int_eq(sq_npy_parse((const uint8_t *)"\x93NUMPY\x01\x00", 8, "m.npy", &t, &err), SQ_ERR_FORMAT);
    ck_assert_str_eq(err.msg, "m.npy: truncated .npy header");
    ck_assert_int_eq(sq_npy_parse((const uint8_t *)"hello, world", 12, "m.npy", &t, &err), SQ_ERR_FORMAT);
    ck_assert_str_eq(err.msg, "m.npy: not a .npy file: no \\x93NUMPY magic");
    ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_missing_file)
{
    sq_error err;
    sq_tensor *t = (sq_tensor *)1;
    ck_assert_int_eq(sq_npy_read(NPY_DIR "no-such.npy", &t, &err), SQ_ERR_IO);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err.msg, "no-such.npy") && strstr(err.msg, strerror(ENOENT)), "%s", err.msg);
}
END_TEST

static Suite *npy_suite(void)
{
    Suite *s = suite_create("npy");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_every_dtype_order_endianness);
    tcase_add_test(tc, test_versions_and_shapes);
    tcase_add_test(tc, test_unsupported_dtypes_named);
    tcase_add_test(tc, test_round_trip_bit_identical);
    tcase_add_test(tc, test_write_header_layout);
    tcase_add_test(tc, test_write_i8_codes);
    tcase_add_test(tc, test_failed_write_keeps_old_file);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_magic_messages);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(npy_suite)
