/* test_blockfmt.c - llama.cpp block formats against ggml's own output
 * (tests/data/ggml: 28 rows of 512 floats, ggml's bytes for each of twelve
 * types and ggml's dequantization of those bytes): quantization byte for
 * byte, dequantization bit for bit; the type table; argument errors. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "blockfmt.h"
#include "npy.h"
#include "testutil.h"

#define GGML_DIR SQ_TEST_DATA "/ggml/"
#define ROWS 28
#define COLS 512

/* Row names of input.npy, in order (manifest.json). */
static const char *const row_names[ROWS] = {
    "normal_0", "normal_1", "normal_2", "normal_3", "normal_4", "normal_5", "outliers_0",
    "outliers_1", "outliers_2", "zeros", "constant", "negative_constant", "tiny", "huge",
    "relu_like", "negative_only", "uniform", "laplace", "student_t3", "integers",
    "halves", "one_big", "denormal_mix", "blockwise_scales", "sparse", "ramp", "alternating",
    "f16_edge"};

/* The fixtures' types, with ggml's numbers and bytes per 512-element row. */
static const struct {
    const char *name;
    int ggml_type;
    size_t row_bytes;
    double bpw;
} types[] = {
    {"q4_0", 2, 288, 4.5},     {"q4_1", 3, 320, 5.0},      {"q5_0", 6, 352, 5.5},
    {"q5_1", 7, 384, 6.0},     {"q8_0", 8, 544, 8.5},      {"q2_k", 10, 168, 2.625},
    {"q3_k", 11, 220, 3.4375}, {"q4_k", 12, 288, 4.5},     {"q5_k", 13, 352, 5.5},
    {"q6_k", 14, 420, 6.5625}, {"iq4_nl", 20, 288, 4.5},   {"iq4_xs", 23, 272, 4.25},
};
#define NTYPES (sizeof types / sizeof types[0])

static sq_tensor *load_npy(const char *file)
{
    char path[512];
    sq_error err;
    sq_tensor *t = NULL;
    snprintf(path, sizeof path, "%s%s", GGML_DIR, file);
    ck_assert_msg(sq_npy_read(path, &t, &err) == SQ_OK, "%s", err.msg);
    ck_assert_uint_eq(t->numel, (size_t)ROWS * COLS);
    return t;
}

/* The whole of TYPE.blocks.bin, which must be exactly `want` bytes. */
static uint8_t *load_blocks(const char *type, size_t want)
{
    char path[512];
    snprintf(path, sizeof path, "%s%s.blocks.bin", GGML_DIR, type);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    uint8_t *buf = malloc(want + 1);
    ck_assert_ptr_nonnull(buf);
    size_t got = fread(buf, 1, want + 1, f);
    fclose(f);
    ck_assert_msg(got == want, "%s: %zu bytes, want %zu", path, got, want);
    return buf;
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Every row quantizes to ggml's bytes, on the lane-parallel path (loop
 * indices below NTYPES) and on the scalar one (the others). Reports all
 * differing rows. */
START_TEST(test_quantize_matches_ggml)
{
    sq_block_type t;
    sq_error err;
    int scalar = _i >= (int)NTYPES;
    _i %= (int)NTYPES;
    sq_block_force_scalar(scalar);
    ck_assert_int_eq(sq_block_lookup(types[_i].name, &t, &err), SQ_OK);
    size_t rb = types[_i].row_bytes;
    sq_tensor *in = load_npy("input.npy");
    uint8_t *want = load_blocks(types[_i].name, rb * ROWS), got[1024];
    char bad[1024] = "";
    int nbad = 0;
    for (int r = 0; r < ROWS; r++) {
        ck_assert_msg(sq_block_quantize_row(t, in->data + (size_t)r * COLS, COLS, got, &err) == SQ_OK, "%s",
                      err.msg);
        size_t k = 0;
        while (k < rb && got[k] == want[(size_t)r * rb + k])
            k++;
        if (k < rb) {
            nbad++;
            size_t len = strlen(bad);
            snprintf(bad + len, sizeof bad - len, " %s@%zu(%02x/%02x)", row_names[r], k, got[k],
                     want[(size_t)r * rb + k]);
        }
    }
    free(want);
    sq_tensor_free(in);
    sq_block_force_scalar(false);
    ck_assert_msg(nbad == 0, "%s (%s path): %d rows differ (row@byte(got/want)):%s", types[_i].name,
                  scalar ? "scalar" : "lanes", nbad, bad);
}
END_TEST

/* Blocks are independent, so a row's first k blocks quantize to the first
 * k blocks of ggml's bytes: k = 1 and k = 11 (for 32-element types: not a
 * multiple of the eight blocks the lane path takes at once). Both paths. */
START_TEST(test_quantize_prefixes)
{
    int scalar = _i >= (int)NTYPES;
    _i %= (int)NTYPES;
    sq_block_force_scalar(scalar);
    const sq_block_info *bi = sq_block_info_at((size_t)_i);
    size_t rb = types[_i].row_bytes;
    sq_tensor *in = load_npy("input.npy");
    uint8_t *want = load_blocks(types[_i].name, rb * ROWS), got[1024];
    sq_error err;
    int nbad = 0;
    for (int r = 0; r < ROWS; r++) {
        size_t ks[2] = {1, bi->block == 32 ? 11 : 1};
        for (int v = 0; v < 2; v++) {
            size_t n = ks[v] * bi->block, bytes = ks[v] * bi->block_bytes;
            memset(got, 0x5a, sizeof got);
            ck_assert_int_eq(sq_block_quantize_row(bi->type, in->data + (size_t)r * COLS, n, got, &err), SQ_OK);
            nbad += memcmp(got, want + (size_t)r * rb, bytes) != 0;
            ck_assert_uint_eq(got[bytes], 0x5a);
        }
    }
    memset(got, 0x5a, sizeof got);
    ck_assert_int_eq(sq_block_quantize_row(bi->type, in->data, 0, got, &err), SQ_OK);
    ck_assert_uint_eq(got[0], 0x5a);
    sq_block_force_scalar(false);
    free(want);
    sq_tensor_free(in);
    ck_assert_msg(nbad == 0, "%s (%s path): %d prefixes differ", bi->name, scalar ? "scalar" : "lanes", nbad);
}
END_TEST

/* ggml's bytes dequantize to ggml's floats, bit for bit (and NaN-free). */
START_TEST(test_dequantize_matches_ggml)
{
    char file[64];
    sq_block_type t;
    sq_error err;
    ck_assert_int_eq(sq_block_lookup(types[_i].name, &t, &err), SQ_OK);
    size_t rb = types[_i].row_bytes;
    snprintf(file, sizeof file, "%s.dequant.npy", types[_i].name);
    sq_tensor *want = load_npy(file);
    uint8_t *blocks = load_blocks(types[_i].name, rb * ROWS);
    float got[COLS];
    int nbad = 0;
    char bad[1024] = "";
    for (int r = 0; r < ROWS; r++) {
        ck_assert_int_eq(sq_block_dequantize_row(t, blocks + (size_t)r * rb, COLS, got, &err), SQ_OK);
        const float *w = want->data + (size_t)r * COLS;
        for (int k = 0; k < COLS; k++) {
            ck_assert_msg(!isnan(w[k]), "%s: fixture NaN at %s[%d]", types[_i].name, row_names[r], k);
            if (bits(got[k]) != bits(w[k])) {
                nbad++;
                size_t len = strlen(bad);
                snprintf(bad + len, sizeof bad - len, " %s[%d]=%a/%a", row_names[r], k, (double)got[k],
                         (double)w[k]);
                break;
            }
        }
    }
    free(blocks);
    sq_tensor_free(want);
    ck_assert_msg(nbad == 0, "%s: %d rows differ (got/want):%s", types[_i].name, nbad, bad);
}
END_TEST

START_TEST(test_table)
{
    sq_error err;
    size_t bytes = 0;
    const sq_block_info *bi = sq_block_info_at(_i);
    ck_assert_ptr_nonnull(bi);
    ck_assert_str_eq(bi->name, types[_i].name);
    ck_assert_int_eq((int)bi->type, types[_i].ggml_type);
    ck_assert_ptr_eq(sq_block_info_of(types[_i].ggml_type), bi);
    ck_assert(bi->bits_per_weight == types[_i].bpw);
    ck_assert_uint_eq(bi->block_bytes * (COLS / bi->block), types[_i].row_bytes);
    ck_assert_int_eq(sq_block_row_bytes(bi->type, COLS, &bytes, &err), SQ_OK);
    ck_assert_uint_eq(bytes, types[_i].row_bytes);
    ck_assert_int_eq(sq_block_row_bytes(bi->type, 0, &bytes, &err), SQ_OK);
    ck_assert_uint_eq(bytes, 0);
}
END_TEST

START_TEST(test_lookup)
{
    sq_block_type t = SQ_BLOCK_Q4_0;
    sq_error err;
    ck_assert_int_eq(sq_block_lookup("Q4_K", &t, &err), SQ_OK);
    ck_assert_int_eq(t, SQ_BLOCK_Q4_K);
    ck_assert_int_eq(sq_block_lookup("iq4_XS", &t, &err), SQ_OK);
    ck_assert_int_eq(t, 23);
    ck_assert_int_eq(sq_block_lookup("q4_2", &t, &err), SQ_ERR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "'q4_2'"));
    ck_assert_int_eq(sq_block_lookup(NULL, &t, &err), SQ_ERR_NOTFOUND);
    ck_assert_ptr_null(sq_block_info_at(NTYPES));
    ck_assert_ptr_null(sq_block_info_of(0));
    ck_assert_ptr_null(sq_block_info_of(9));
    ck_assert_ptr_null(sq_block_info_of(24));
}
END_TEST

/* n not a multiple of the block: SQ_ERR_ARG naming the type and n, for
 * every entry point; an unknown type number likewise. */
START_TEST(test_bad_length)
{
    const sq_block_info *bi = sq_block_info_at(_i);
    float x[300] = {0};
    uint8_t q[512];
    size_t bytes = 7, n = bi->block + 16;
    char want[64];
    sq_error err;
    snprintf(want, sizeof want, "%s: row length %zu ", bi->name, n);
    ck_assert_int_eq(sq_block_row_bytes(bi->type, n, &bytes, &err), SQ_ERR_ARG);
    ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
    ck_assert_uint_eq(bytes, 7);
    ck_assert_int_eq(sq_block_quantize_row(bi->type, x, n, q, &err), SQ_ERR_ARG);
    ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
    ck_assert_int_eq(sq_block_dequantize_row(bi->type, q, n, x, &err), SQ_ERR_ARG);
    ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
    ck_assert_int_eq(sq_block_quantize_row((sq_block_type)9, x, 32, q, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "type 9"));
}
END_TEST

/* NaN or Inf anywhere (first, last, either side of the 256-element chunks
 * the scan takes): SQ_ERR_NONFINITE naming the first bad index; dst
 * untouched. */
START_TEST(test_nonfinite)
{
    const sq_block_info *bi = sq_block_info_at((size_t)_i);
    static const size_t pos[] = {0, 31, 255, 256, 300, 511};
    const float bad[] = {NAN, INFINITY, -INFINITY};
    float x[COLS];
    uint8_t q[1024];
    sq_error err;
    for (size_t p = 0; p < sizeof pos / sizeof pos[0]; p++) {
        for (size_t k = 0; k < 3; k++) {
            for (size_t i = 0; i < COLS; i++)
                x[i] = (float)i * 0.25f - 3.0f;
            x[pos[p]] = bad[k];
            if (pos[p] < 300)
                x[400] = NAN; /* a later bad value is not the one reported */
            memset(q, 0xa5, sizeof q);
            ck_assert_int_eq(sq_block_quantize_row(bi->type, x, COLS, q, &err), SQ_ERR_NONFINITE);
            char want[64];
            snprintf(want, sizeof want, "%s: input element %zu is ", bi->name, pos[p] + 1); /* 1-based */
            ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
            for (size_t i = 0; i < sizeof q; i++)
                ck_assert_uint_eq(q[i], 0xa5);
        }
    }
}
END_TEST

static Suite *blockfmt_suite(void)
{
    Suite *s = suite_create("blockfmt");
    TCase *tc = tcase_create("ggml");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_quantize_matches_ggml, 0, 2 * (int)NTYPES);
    tcase_add_loop_test(tc, test_quantize_prefixes, 0, 2 * (int)NTYPES);
    tcase_add_loop_test(tc, test_dequantize_matches_ggml, 0, (int)NTYPES);
    tcase_add_loop_test(tc, test_table, 0, (int)NTYPES);
    tcase_add_test(tc, test_lookup);
    tcase_add_loop_test(tc, test_bad_length, 0, (int)NTYPES);
    tcase_add_loop_test(tc, test_nonfinite, 0, (int)NTYPES);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(blockfmt_suite)
