/* test_gguf.c - the generated GGUF fixtures (metadata of every type, F32,
 * F16, BF16, Q8_0 and Q4_0 tensors with values recomputed here from the
 * generator's formulas) and every malformed file in tests/data/bad. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "gguf_build.h"
#include "npy.h"
#include "safetensors.h"
#include "testutil.h"

#define GOOD SQ_TEST_DATA "/good.gguf"

static sq_tensor *load_name(const sq_gguf *g, const char *name)
{
    size_t i;
    sq_tensor *t = NULL;
    sq_error err;
    ck_assert_msg(sq_gguf_find(g, name, &i, &err) == SQ_OK, "%s", err.msg);
    ck_assert_msg(sq_gguf_load(g, i, &t, &err) == SQ_OK, "%s", err.msg);
    return t;
}

static sq_gguf *open_ok(const char *path)
{
    sq_gguf *g = NULL;
    sq_error err;
    ck_assert_msg(sq_gguf_open(path, &g, &err) == SQ_OK, "%s", err.msg);
    return g;
}

START_TEST(test_metadata_every_type)
{
    sq_gguf *g = open_ok(GOOD);
    ck_assert_uint_eq(sq_gguf_version(g), 3);
    ck_assert_uint_eq(sq_gguf_alignment(g), 32);
    ck_assert_uint_eq(sq_gguf_metadata_count(g), 17);
    static const char *const kv[][3] = {
        {"general.architecture", "string", "llama"}, {"test.u8", "u8", "200"}, {"test.i8", "i8", "-5"},
        {"test.u16", "u16", "60000"}, {"test.i16", "i16", "-30000"}, {"test.u32", "u32", "4000000000"},
        {"test.i32", "i32", "-2000000000"}, {"test.f32", "f32", "1.5"}, {"test.bool", "bool", "true"},
        {"test.u64", "u64", "9223372036854775808"}, {"test.i64", "i64", "-4611686018427387904"},
        {"test.f64", "f64", "0.125"}, {"test.arr_i32", "array[i32]", "[1, 2, 3]"},
        {"test.arr_str", "array[string]", "[a, bc]"}, {"test.nested", "array[array]", "[[1, 2], [3]]"},
        {"test.long", "array[u16]", "[0, 1, 2, 3, 4, 5, 6, 7, ... (20 elements)]"}};
    gb_expect_metadata(g, kv, sizeof kv / sizeof kv[0]);
    sq_gguf_close(g);
}
END_TEST

START_TEST(test_plain_tensors)
{
    sq_gguf *g = open_ok(GOOD);
    ck_assert_uint_eq(sq_gguf_count(g), 6);
    sq_tensor *t = load_name(g, "f32"); /* ne = [3, 2] -> row-major [2, 3] */
    ck_assert(t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3 && t->dtype == SQ_DTYPE_F32);
    for (size_t i = 0; i < 6; i++)
        ck_assert(t->data[i] == (float)i * 0.5f - 1);
    sq_tensor_free(t);
    t = load_name(g, "f16");
    for (size_t i = 0; i < 4; i++)
        ck_assert(t->data[i] == (float)i * 0.25f);
    sq_tensor_free(t);
    t = load_name(g, "bf16");
    ck_assert(t->dtype == SQ_DTYPE_BF16 && t->data[0] == 1.5f && t->data[1] == -2.0f);
    sq_tensor_free(t);
    sq_gguf_close(g);
    g = open_ok(SQ_TEST_DATA "/v2_align64.gguf");
    ck_assert_uint_eq(sq_gguf_version(g), 2);
    ck_assert_uint_eq(sq_gguf_alignment(g), 64);
    ck_assert_uint_eq(sq_gguf_info(g, 1)->offset % 64, 0);
    t = load_name(g, "b");
    ck_assert(t->data[0] == 4 && t->data[1] == 5);
    sq_tensor_free(t);
    sq_gguf_close(g);
}
END_TEST

START_TEST(test_q8_0_dequantized)
{
    sq_gguf *g = open_ok(GOOD);
    sq_tensor *t = load_name(g, "q8");
    ck_assert(t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 64);
    ck_assert_str_eq(sq_gguf_info(g, 3)->type_name, "Q8_0");
    ck_assert_uint_eq(sq_gguf_info(g, 3)->nbytes, 4 * 34);
    for (int b = 0; b < 4; b++) {
        float d = sq_half_to_float(sq_float_to_half(0.5f + 0.25f * (float)b));
        for (int j = 0; j < 32; j++) {
            int q = (j * 7 + b * 13) % 255 - 127;
            ck_assert_msg(t->data[32 * b + j] == d * (float)q, "q8[%d]", 32 * b + j);
        }
    }
    sq_tensor_free(t);
    sq_gguf_close(g);
}
END_TEST

START_TEST(test_q4_0_dequantized)
{
    sq_gguf *g = open_ok(GOOD);
    sq_tensor *t = load_name(g, "q4");
    ck_assert(t->ndim == 2 && t->shape[0] == 3 && t->shape[1] == 32);
    for (int b = 0; b < 3; b++) {
        float d = 0.125f * (float)(b + 1);
        for (int j = 0; j < 16; j++) {
            int lo = (j * 5 + b * 3) & 15, hi = (j * 11 + b) & 15;
            ck_assert(t->data[32 * b + j] == d * (float)(lo - 8));
            ck_assert(t->data[32 * b + j + 16] == d * (float)(hi - 8));
        }
    }
    sq_tensor_free(t);
    /* Q4_K (all-zero blocks) loads now: zeros, label F32 */
    size_t i;
    sq_error err;
    ck_assert(sq_gguf_find(g, "q4k", &i, &err) == SQ_OK);
    ck_assert(sq_gguf_info(g, i)->loadable && sq_gguf_info(g, i)->nbytes == 144);
    t = load_name(g, "q4k");
    ck_assert(t->numel == 256 && t->dtype == SQ_DTYPE_F32);
    for (size_t k = 0; k < 256; k++)
        ck_assert(t->data[k] == 0.0f);
    sq_tensor_free(t);
    sq_gguf_close(g);
}
END_TEST

/* Open (and load every tensor of) a file with the reader its extension names. */
static sq_status try_file(const char *path, sq_error *err)
{
    size_t n = strlen(path);
    sq_status st;
    if (n > 4 && strcmp(path + n - 4, ".npy") == 0) {
        sq_tensor *t = NULL;
        st = sq_npy_read(path, &t, err);
        sq_tensor_free(t);
        return st;
    }
    if (n > 5 && strcmp(path + n - 5, ".gguf") == 0) {
        sq_gguf *g;
        if ((st = sq_gguf_open(path, &g, err)) != SQ_OK)
            return st;
        for (size_t i = 0; st == SQ_OK && i < sq_gguf_count(g); i++) {
            sq_tensor *t = NULL;
            st = sq_gguf_load(g, i, &t, err);
            sq_tensor_free(t);
        }
        sq_gguf_close(g);
        return st;
    }
    sq_safetensors *f;
    if ((st = sq_st_open(path, &f, err)) != SQ_OK)
        return st;
    for (size_t i = 0; st == SQ_OK && i < sq_st_count(f); i++) {
        sq_tensor *t = NULL;
        st = sq_st_load(f, i, &t, err);
        sq_tensor_free(t);
    }
    sq_st_close(f);
    return st;
}

START_TEST(test_every_bad_file)
{
    FILE *m = fopen(SQ_TEST_DATA "/bad/EXPECTED", "r");
    char line[512];
    int n = 0;
    ck_assert_ptr_nonnull(m);
    while (fgets(line, sizeof line, m)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *tab = strchr(line, '\t');
        ck_assert_ptr_nonnull(tab);
        *tab = '\0';
        char path[600];
        sq_error err;
        snprintf(path, sizeof path, "%s/bad/%s", SQ_TEST_DATA, line);
        sq_error_clear(&err);
        sq_status st = try_file(path, &err);
        ck_assert_msg(st != SQ_OK, "%s: accepted", line);
        ck_assert_msg(strstr(err.msg, line) != NULL, "%s: message does not name the file: %s", line, err.msg);
        ck_assert_msg(strstr(err.msg, tab + 1) != NULL, "%s: message '%s' lacks '%s'", line, err.msg, tab + 1);
        n++;
    }
    fclose(m);
    ck_assert_int_ge(n, 25);
}
END_TEST

START_TEST(test_unknown_type_only_that_tensor)
{
    sq_gguf *g = open_ok(SQ_TEST_DATA "/kinds/unknown_types.gguf");
    ck_assert_uint_eq(sq_gguf_count(g), 4);
    sq_tensor *t = load_name(g, "a");
    ck_assert(t->numel == 2 && t->data[0] == 1 && t->data[1] == 2);
    sq_tensor_free(t);
    t = load_name(g, "b");
    ck_assert(t->numel == 3 && t->data[0] == 3 && t->data[2] == 5);
    sq_tensor_free(t);
    size_t i;
    sq_error err;
    ck_assert(sq_gguf_find(g, "odd", &i, &err) == SQ_OK);
    const sq_tinfo *ti = sq_gguf_info(g, i);
    ck_assert_str_eq(ti->type_name, "type 99");
    ck_assert(!ti->loadable && ti->size_unknown && ti->nbytes == 0 && ti->numel == 16);
    ck_assert(ti->ndim == 2 && ti->shape[0] == 2 && ti->shape[1] == 8);
    ck_assert_int_eq(sq_gguf_load(g, i, &t, &err), SQ_ERR_UNSUPPORTED);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err.msg, "tensor 'odd': unsupported ggml type 99"), "%s", err.msg);
    /* MXFP4 (ggml type 39) loads: zero bytes are scale 2^-127 times +0 */
    ck_assert(sq_gguf_find(g, "mx", &i, &err) == SQ_OK);
    ti = sq_gguf_info(g, i);
    ck_assert_str_eq(ti->type_name, "MXFP4");
    ck_assert(ti->loadable && !ti->size_unknown && ti->nbytes == 4 * 17);
    ck_assert_int_eq(sq_gguf_load(g, i, &t, &err), SQ_OK);
    ck_assert(t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 64 && t->dtype == SQ_DTYPE_F32);
    for (size_t k = 0; k < t->numel; k++)
        ck_assert(t->data[k] == 0.0f && !signbit(t->data[k]));
    sq_tensor_free(t);
    sq_gguf_close(g);
}
END_TEST

START_TEST(test_long_metadata_string_whole)
{
    sq_gguf *g = open_ok(SQ_TEST_DATA "/kinds/long_meta.gguf");
    const char *v = sq_gguf_metadata_get(g, "tokenizer.chat_template");
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(strlen(v), 1000);
    for (size_t i = 0; i < 1000; i++)
        ck_assert(v[i] == 'a' + (char)(i % 26));
    ck_assert_str_eq(sq_gguf_metadata_get(g, "ctl"), "x\x1b[31my\nz");
    ck_assert_str_eq(sq_gguf_info(g, 0)->name, "ctl\x1b[2Jname");
    sq_gguf_close(g);
}
END_TEST

START_TEST(test_big_endian_named)
{
    sq_gguf *g;
    sq_error err;
    ck_assert_int_eq(sq_gguf_open(SQ_TEST_DATA "/kinds/big_endian.gguf", &g, &err), SQ_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(err.msg, "big_endian.gguf: big-endian GGUF is not supported"), "%s", err.msg);
}
END_TEST

/* ---- a GGUF built here: every block type from tests/data/ggml, plus the
 * integer and F64 types ---------------------------------------------------- */

#define GGML_DIR SQ_TEST_DATA "/ggml/"
#define FROWS 28
#define FCOLS 512

static const struct {
    const char *name;
    uint32_t type;
} blk_types[] = {{"q4_0", 2}, {"q4_1", 3}, {"q5_0", 6}, {"q5_1", 7}, {"q8_0", 8}, {"q2_k", 10},
                 {"q3_k", 11}, {"q4_k", 12}, {"q5_k", 13}, {"q6_k", 14}, {"iq4_nl", 20}, {"iq4_xs", 23}};
#define NBLK (sizeof blk_types / sizeof blk_types[0])

/* Small tensors of the plain integer types and F64 (data and ggml type). */
static const int64_t ints[4] = {-3, 7, -100, 120};

START_TEST(test_every_block_type_exact)
{
    uint8_t *blocks[NBLK];
    size_t blen[NBLK], off = 0;
    gbuf b = {NULL, 0, 0};
    gb_header(&b, NBLK + 5, 0);
    for (size_t k = 0; k < NBLK; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s%s.blocks.bin", GGML_DIR, blk_types[k].name);
        blocks[k] = gb_read_whole(path, &blen[k]);
        gb_tensor_info(&b, blk_types[k].name, blk_types[k].type, FCOLS, FROWS, off);
        off += (blen[k] + 31) / 32 * 32;
    }
    static const char *const inames[5] = {"i8", "i16", "i32", "i64", "f64"};
    static const uint32_t itypes[5] = {24, 25, 26, 27, 28};
    static const int iw[5] = {1, 2, 4, 8, 8};
    for (int k = 0; k < 5; k++) {
        gb_tensor_info(&b, inames[k], itypes[k], 2, 2, off);
        off += 32;
    }
    gb_pad(&b);
    for (size_t k = 0; k < NBLK; k++) {
        gb_put(&b, blocks[k], blen[k]);
        gb_pad(&b);
    }
    for (int k = 0; k < 5; k++) {
        for (int j = 0; j < 4; j++) {
            double d = (double)ints[j] * 0.5;
            uint64_t u;
            memcpy(&u, &d, 8);
            gb_le(&b, k == 4 ? u : (uint64_t)ints[j], iw[k]);
        }
        gb_pad(&b);
    }
    sq_gguf *g;
    sq_error err;
    ck_assert_msg(sq_gguf_open_mem(b.p, b.n, "every.gguf", &g, &err) == SQ_OK, "%s", err.msg);
    for (size_t k = 0; k < NBLK; k++) {
        const sq_tinfo *ti = sq_gguf_info(g, k);
        ck_assert_msg(ti->loadable && ti->nbytes == blen[k], "%s: %zu bytes", blk_types[k].name, ti->nbytes);
        ck_assert_str_eq(ti->type_name, sq_ggml_type_name((int)blk_types[k].type));
        sq_tensor *t = NULL, *want = NULL;
        ck_assert_msg(sq_gguf_load(g, k, &t, &err) == SQ_OK, "%s", err.msg);
        char path[512];
        snprintf(path, sizeof path, "%s%s.dequant.npy", GGML_DIR, blk_types[k].name);
        ck_assert_msg(sq_npy_read(path, &want, &err) == SQ_OK, "%s", err.msg);
        ck_assert(t->ndim == 2 && t->shape[0] == FROWS && t->shape[1] == FCOLS && t->dtype == SQ_DTYPE_F32);
        ck_assert_uint_eq(want->numel, t->numel);
        ck_assert_msg(memcmp(t->data, want->data, t->numel * sizeof(float)) == 0, "%s: values differ",
                      blk_types[k].name);
        sq_tensor_free(t);
        sq_tensor_free(want);
        free(blocks[k]);
    }
    for (int k = 0; k < 5; k++) {
        sq_tensor *t = load_name(g, inames[k]);
        ck_assert_uint_eq(t->numel, 4);
        for (int j = 0; j < 4; j++)
            ck_assert_msg(t->data[j] == (float)ints[j] * (k == 4 ? 0.5f : 1.0f), "%s[%d]", inames[k], j);
        sq_tensor_free(t);
    }
    sq_gguf_close(g);
    free(b.p);
}
END_TEST

/* A hand-built MXFP4 tensor of 2 rows of 32: each block's E8M0 byte, then
 * element j in the low nibble of qs[j], element j + 16 in the high one;
 * ggml reads scale byte 0xff as 2^128 (no NaN). Loaded as ggml decodes. */
START_TEST(test_mxfp4_loads)
{
    static const float e2m1[16] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6};
    uint8_t blk[2][17];
    blk[0][0] = 126; /* 2^-1 */
    blk[1][0] = 0xff;
    for (int j = 0; j < 16; j++) {
        blk[0][1 + j] = (uint8_t)(j | (15 - j) << 4);
        blk[1][1 + j] = (uint8_t)((j * 3) & 15);
    }
    gbuf b = {NULL, 0, 0};
    gb_header(&b, 1, 0);
    gb_tensor_info(&b, "mx", 39, 32, 2, 0);
    gb_pad(&b);
    gb_put(&b, blk, sizeof blk);
    gb_pad(&b);
    sq_gguf *g;
    sq_error err;
    ck_assert_msg(sq_gguf_open_mem(b.p, b.n, "mx.gguf", &g, &err) == SQ_OK, "%s", err.msg);
    sq_tensor *t = load_name(g, "mx");
    ck_assert(t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 32);
    for (int j = 0; j < 32; j++) {
        int c0 = j < 16 ? j : 15 - (j - 16), c1 = j < 16 ? (j * 3) & 15 : 0;
        ck_assert_float_eq(t->data[j], e2m1[c0] * 0.5f);
        /* ggml: doubled E2M1 values times 2^(e - 128); past 2^128 they overflow to Inf */
        float want = (e2m1[c1] * 2.0f) * 0x1p127f;
        ck_assert_msg(t->data[32 + j] == want || (isnan(want) && isnan(t->data[32 + j])), "element %d: %g vs %g",
                      32 + j, (double)t->data[32 + j], (double)want);
    }
    ck_assert(t->data[32 + 11] == 0x1p127f && isinf(t->data[32 + 2]));
    sq_tensor_free(t);
    sq_gguf_close(g);
    free(b.p);
}
END_TEST

/* A Q6_K tensor of 28 rows of 512 needs 28 x 420 bytes: one byte less is
 * refused, naming the tensor. */
START_TEST(test_block_tensor_size_checked)
{
    gbuf b = {NULL, 0, 0};
    gb_header(&b, 1, 0);
    gb_tensor_info(&b, "w", 14, FCOLS, FROWS, 0);
    gb_pad(&b);
    size_t data = b.n;
    for (size_t k = 0; k < (size_t)FROWS * 420; k++)
        gb_le(&b, 0, 1);
    sq_gguf *g;
    sq_error err;
    ck_assert_int_eq(sq_gguf_open_mem(b.p, b.n, "q6.gguf", &g, &err), SQ_OK);
    ck_assert_uint_eq(sq_gguf_info(g, 0)->nbytes, (size_t)FROWS * 420);
    ck_assert_uint_eq(sq_gguf_info(g, 0)->offset, data);
    sq_gguf_close(g);
    ck_assert_int_eq(sq_gguf_open_mem(b.p, b.n - 1, "q6.gguf", &g, &err), SQ_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "q6.gguf: tensor 'w': data") && strstr(err.msg, "11760 bytes"), "%s", err.msg);
    /* a row of 500 is no whole number of Q6_K blocks */
    free(b.p);
    b = (gbuf){NULL, 0, 0};
    gb_header(&b, 1, 0);
    gb_tensor_info(&b, "w", 14, 500, 1, 0);
    gb_pad(&b);
    for (size_t k = 0; k < 420; k++)
        gb_le(&b, 0, 1);
    ck_assert_int_eq(sq_gguf_open_mem(b.p, b.n, "q6.gguf", &g, &err), SQ_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "tensor 'w': row length 500"), "%s", err.msg);
    free(b.p);
}
END_TEST

static Suite *gguf_suite(void)
{
    Suite *s = suite_create("gguf");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_metadata_every_type);
    tcase_add_test(tc, test_plain_tensors);
    tcase_add_test(tc, test_q8_0_dequantized);
    tcase_add_test(tc, test_q4_0_dequantized);
    tcase_add_test(tc, test_every_bad_file);
    tcase_add_test(tc, test_unknown_type_only_that_tensor);
    tcase_add_test(tc, test_long_metadata_string_whole);
    tcase_add_test(tc, test_big_endian_named);
    tcase_add_test(tc, test_every_block_type_exact);
    tcase_add_test(tc, test_mxfp4_loads);
    tcase_add_test(tc, test_block_tensor_size_checked);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(gguf_suite)
