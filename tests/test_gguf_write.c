/* test_gguf_write.c - the GGUF writer: metadata of every value type and
 * tensors of every type written, read back by gguf.c byte for byte; float
 * data quantized as ggml does; a verbatim copy; refused misuse. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockfmt.h"
#include "fileio.h"
#include "gguf.h"
#include "gguf_export.h"
#include "gguf_write.h"
#include "npy.h"
#include "testutil.h"

#define GGML_DIR SQ_TEST_DATA "/ggml/"
#define ROWS 28
#define COLS 512

static char tmpdir[256];

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/sq_gguf_write.XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static void tpath(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tmpdir, name);
}

static uint8_t *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

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

/* ---- metadata of every value type ---------------------------------------- */

/* The raw values the round trip writes (and must read back) in order. */
typedef struct rawkv {
    const char *key;
    uint32_t type;
    uint8_t b[64];
    size_t len;
} rawkv;

static void le(uint8_t *p, uint64_t v, int n)
{
    for (int k = 0; k < n; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

/* Add every scalar type through kv_scalar and arrays through kv_raw. */
static void add_metadata(sq_gguf_writer *w, char *longstr)
{
    sq_error err;
    static const uint32_t types[] = {0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12};
    static const uint64_t bits[] = {200, 0xFB, 60000, 0x8AD0, 4000000000u, 0x88CA6C00u, 0x3FC00000u, 1,
                                    0x8000000000000000u, 0xC000000000000000u, 0x3FC0000000000000u};
    static const char *const keys[] = {"t.u8", "t.i8", "t.u16", "t.i16", "t.u32", "t.i32", "t.f32", "t.bool",
                                       "t.u64", "t.i64", "t.f64"};
    ck_assert_int_eq(sq_gguf_writer_kv_string(w, "general.architecture", "llama", 5, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_kv_scalar(w, "general.alignment", SQ_GGUF_U32, 64, &err), SQ_OK);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        ck_assert_msg(sq_gguf_writer_kv_scalar(w, keys[i], types[i], bits[i], &err) == SQ_OK, "%s", err.msg);
    for (int i = 0; i < 5000; i++)
        longstr[i] = (char)('a' + i % 26);
    ck_assert_int_eq(sq_gguf_writer_kv_string(w, "t.long", longstr, 5000, &err), SQ_OK);
    static const char *const toks[] = {"<s>", "", "hello world", "\xe2\x96\x81x"};
    ck_assert_int_eq(sq_gguf_writer_kv_strings(w, "tokenizer.ggml.tokens", toks, 4, &err), SQ_OK);
    uint8_t a[12 + 12];
    le(a, SQ_GGUF_I32, 4);
    le(a + 4, 3, 8);
    le(a + 12, 1, 4);
    le(a + 16, (uint32_t)-2, 4);
    le(a + 20, 3, 4);
    ck_assert_int_eq(sq_gguf_writer_kv_raw(w, "t.arr_i32", SQ_GGUF_ARRAY, a, sizeof a, &err), SQ_OK);
    /* [[7], []] of u8 */
    uint8_t n[12 + 13 + 12];
    le(n, SQ_GGUF_ARRAY, 4);
    le(n + 4, 2, 8);
    le(n + 12, SQ_GGUF_U8, 4);
    le(n + 16, 1, 8);
    n[24] = 7;
    le(n + 25, SQ_GGUF_U8, 4);
    le(n + 29, 0, 8);
    ck_assert_int_eq(sq_gguf_writer_kv_raw(w, "t.nested", SQ_GGUF_ARRAY, n, sizeof n, &err), SQ_OK);
}

static void check_metadata(const sq_gguf *g, const char *longstr)
{
    ck_assert_uint_eq(sq_gguf_metadata_count(g), 17);
    ck_assert_uint_eq(sq_gguf_alignment(g), 64);
    static const char *const kv[][3] = {
        {"general.architecture", "string", "llama"}, {"t.u8", "u8", "200"}, {"t.i8", "i8", "-5"},
        {"t.u16", "u16", "60000"}, {"t.i16", "i16", "-30000"}, {"t.u32", "u32", "4000000000"},
        {"t.i32", "i32", "-2000000000"}, {"t.f32", "f32", "1.5"}, {"t.bool", "bool", "true"},
        {"t.u64", "u64", "9223372036854775808"}, {"t.i64", "i64", "-4611686018427387904"},
        {"t.f64", "f64", "0.125"}, {"t.arr_i32", "array[i32]", "[1, -2, 3]"},
        {"tokenizer.ggml.tokens", "array[string]", "[<s>, , hello world, \xe2\x96\x81x]"},
        {"t.nested", "array[array]", "[[7], []]"}, {"general.alignment", "u32", "64"}};
    for (size_t k = 0; k < sizeof kv / sizeof kv[0]; k++) {
        size_t i;
        for (i = 0; i < sq_gguf_metadata_count(g); i++)
            if (strcmp(sq_gguf_metadata_key(g, i), kv[k][0]) == 0)
                break;
        ck_assert_msg(i < sq_gguf_metadata_count(g), "missing %s", kv[k][0]);
        ck_assert_str_eq(sq_gguf_metadata_type(g, i), kv[k][1]);
        ck_assert_str_eq(sq_gguf_metadata_value(g, i), kv[k][2]);
    }
    const char *v = sq_gguf_metadata_get(g, "t.long");
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(strlen(v), 5000);
    ck_assert(memcmp(v, longstr, 5000) == 0);
}

/* ---- tensors ------------------------------------------------------------- */

static const struct {
    const char *name;
    int type;
} blk[] = {{"q4_0", 2}, {"q4_1", 3}, {"q5_0", 6}, {"q5_1", 7}, {"q8_0", 8}, {"q2_k", 10},
           {"q3_k", 11}, {"q4_k", 12}, {"q5_k", 13}, {"q6_k", 14}, {"iq4_nl", 20}, {"iq4_xs", 23}};
#define NBLK (sizeof blk / sizeof blk[0])

/* Plain types: ggml number, name, element size; data is 6 bytes-patterns. */
static const struct {
    const char *name;
    int type;
    size_t esize;
} plain[] = {{"f32", 0, 4}, {"f16", 1, 2}, {"bf16", 30, 2}, {"i8", 24, 1},
             {"i16", 25, 2}, {"i32", 26, 4}, {"i64", 27, 8}, {"f64", 28, 8}};
#define NPLAIN (sizeof plain / sizeof plain[0])

/* Deterministic raw bytes for plain tensor k of shape [3, 5]: small
 * integers in every type (so every type's bytes decode to finite values). */
static void plain_bytes(size_t k, uint8_t *out, float *vals)
{
    for (size_t i = 0; i < 15; i++) {
        int v = (int)i * 3 - 20;
        uint64_t u;
        vals[i] = (float)v;
        if (plain[k].type == 0) {
            float f = (float)v;
            uint32_t b;
            memcpy(&b, &f, 4);
            u = b;
        } else if (plain[k].type == 1) {
            u = sq_float_to_half((float)v);
        } else if (plain[k].type == 30) {
            u = sq_float_to_bf16((float)v);
        } else if (plain[k].type == 28) {
            double d = v;
            memcpy(&u, &d, 8);
        } else {
            u = (uint64_t)(int64_t)v;
        }
        le(out + i * plain[k].esize, u, (int)plain[k].esize);
    }
}

START_TEST(test_roundtrip_every_type)
{
    char path[512], longstr[5000];
    sq_error err;
    sq_gguf_writer *w;
    uint8_t *blocks[NBLK], pb[NPLAIN][120];
    size_t blen[NBLK];
    float pv[15];
    tpath(path, sizeof path, "rt.gguf");
    ck_assert_int_eq(sq_gguf_writer_new(path, &w, &err), SQ_OK);
    add_metadata(w, longstr);
    size_t shape[2] = {ROWS, COLS}, pshape[2] = {3, 5};
    for (size_t k = 0; k < NBLK; k++)
        ck_assert_msg(sq_gguf_writer_add_tensor(w, blk[k].name, blk[k].type, shape, 2, &err) == SQ_OK, "%s", err.msg);
    for (size_t k = 0; k < NPLAIN; k++)
        ck_assert_int_eq(sq_gguf_writer_add_tensor(w, plain[k].name, plain[k].type, pshape, 2, &err), SQ_OK);
    for (size_t k = 0; k < NBLK; k++) {
        char bp[512];
        snprintf(bp, sizeof bp, "%s%s.blocks.bin", GGML_DIR, blk[k].name);
        blocks[k] = read_whole(bp, &blen[k]);
        ck_assert_msg(sq_gguf_writer_write_raw(w, blocks[k], blen[k], &err) == SQ_OK, "%s", err.msg);
    }
    for (size_t k = 0; k < NPLAIN; k++) {
        plain_bytes(k, pb[k], pv);
        ck_assert_int_eq(sq_gguf_writer_write_raw(w, pb[k], 15 * plain[k].esize, &err), SQ_OK);
    }
    ck_assert_msg(sq_gguf_writer_finish(w, &err) == SQ_OK, "%s", err.msg);

    size_t flen;
    uint8_t *file = read_whole(path, &flen);
    sq_gguf *g;
    ck_assert_msg(sq_gguf_open(path, &g, &err) == SQ_OK, "%s", err.msg);
    ck_assert_uint_eq(sq_gguf_version(g), 3);
    check_metadata(g, longstr);
    ck_assert_uint_eq(sq_gguf_count(g), NBLK + NPLAIN);
    for (size_t k = 0; k < NBLK; k++) {
        const sq_tinfo *ti = sq_gguf_info(g, k);
        ck_assert_str_eq(ti->name, blk[k].name);
        ck_assert(ti->ndim == 2 && ti->shape[0] == ROWS && ti->shape[1] == COLS);
        ck_assert_uint_eq(ti->offset % 64, 0);
        ck_assert_uint_eq(ti->nbytes, blen[k]);
        ck_assert_msg(memcmp(file + ti->offset, blocks[k], blen[k]) == 0, "%s bytes", blk[k].name);
        sq_tensor *t, *want;
        char dq[64];
        ck_assert_int_eq(sq_gguf_load(g, k, &t, &err), SQ_OK);
        snprintf(dq, sizeof dq, "%s.dequant.npy", blk[k].name);
        want = load_npy(dq);
        ck_assert_msg(memcmp(t->data, want->data, t->numel * 4) == 0, "%s values", blk[k].name);
        sq_tensor_free(t);
        sq_tensor_free(want);
        free(blocks[k]);
    }
    for (size_t k = 0; k < NPLAIN; k++) {
        const sq_tinfo *ti = sq_gguf_info(g, NBLK + k);
        ck_assert_str_eq(ti->type_name, sq_ggml_type_name(plain[k].type));
        ck_assert_uint_eq(ti->offset % 64, 0);
        ck_assert(memcmp(file + ti->offset, pb[k], 15 * plain[k].esize) == 0);
        sq_tensor *t;
        ck_assert_int_eq(sq_gguf_load(g, NBLK + k, &t, &err), SQ_OK);
        ck_assert(t->ndim == 2 && t->shape[0] == 3 && t->shape[1] == 5);
        ck_assert_msg(memcmp(t->data, pv, sizeof pv) == 0, "%s values", plain[k].name);
        sq_tensor_free(t);
    }
    /* the file ends on the alignment after the last tensor */
    ck_assert_uint_eq(flen % 64, 0);
    sq_gguf_close(g);
    free(file);
}
END_TEST

/* Copying every key-value pair (sq_gguf_metadata_raw) and every tensor's
 * bytes reproduces the file exactly. */
START_TEST(test_verbatim_copy)
{
    char a[512], b[512], longstr[5000];
    sq_error err;
    sq_gguf_writer *w;
    tpath(a, sizeof a, "a.gguf");
    tpath(b, sizeof b, "b.gguf");
    ck_assert_int_eq(sq_gguf_writer_new(a, &w, &err), SQ_OK);
    add_metadata(w, longstr);
    size_t shape[2] = {2, 256};
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "x", SQ_BLOCK_Q6_K, shape, 2, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "n", 0, shape + 1, 1, &err), SQ_OK);
    float x[512];
    for (int i = 0; i < 512; i++)
        x[i] = (float)((i * 37) % 101) / 17.0f - 3.0f;
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, x, 512, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, x, 256, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_finish(w, &err), SQ_OK);

    sq_gguf *g;
    ck_assert_int_eq(sq_gguf_open(a, &g, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_new(b, &w, &err), SQ_OK);
    for (size_t i = 0; i < sq_gguf_metadata_count(g); i++) {
        uint32_t t;
        const uint8_t *v;
        size_t n;
        ck_assert_int_eq(sq_gguf_metadata_raw(g, i, &t, &v, &n, &err), SQ_OK);
        ck_assert_int_eq(sq_gguf_writer_kv_raw(w, sq_gguf_metadata_key(g, i), t, v, n, &err), SQ_OK);
    }
    uint32_t t;
    const uint8_t *v;
    size_t n;
    ck_assert_int_eq(sq_gguf_metadata_raw(g, 99, &t, &v, &n, &err), SQ_ERR_ARG);
    size_t flen;
    uint8_t *file = read_whole(a, &flen);
    for (size_t i = 0; i < sq_gguf_count(g); i++) {
        const sq_tinfo *ti = sq_gguf_info(g, i);
        int type = i == 0 ? SQ_BLOCK_Q6_K : 0;
        ck_assert_int_eq(sq_gguf_writer_add_tensor(w, ti->name, type, ti->shape, ti->ndim, &err), SQ_OK);
    }
    for (size_t i = 0; i < sq_gguf_count(g); i++) {
        const sq_tinfo *ti = sq_gguf_info(g, i);
        ck_assert_int_eq(sq_gguf_writer_write_raw(w, file + ti->offset, ti->nbytes, &err), SQ_OK);
    }
    ck_assert_int_eq(sq_gguf_writer_finish(w, &err), SQ_OK);
    sq_gguf_close(g);
    size_t blen;
    uint8_t *copy = read_whole(b, &blen);
    ck_assert_uint_eq(blen, flen);
    ck_assert(memcmp(copy, file, flen) == 0);
    free(copy);
    free(file);
}
END_TEST

/* Floats written as each block type give ggml's bytes (the fixtures) and
 * sq_block_quantize_row's; F16 and BF16 round as the conversions do. */
START_TEST(test_floats_quantized_like_ggml)
{
    char path[512];
    sq_error err;
    sq_gguf_writer *w;
    sq_tensor *in = load_npy("input.npy");
    size_t shape[2] = {ROWS, COLS};
    tpath(path, sizeof path, "q.gguf");
    ck_assert_int_eq(sq_gguf_writer_new(path, &w, &err), SQ_OK);
    for (size_t k = 0; k < NBLK; k++)
        ck_assert_int_eq(sq_gguf_writer_add_tensor(w, blk[k].name, blk[k].type, shape, 2, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "h", 1, shape, 2, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "b", 30, shape, 2, &err), SQ_OK);
    for (size_t k = 0; k < NBLK + 2; k++)
        ck_assert_msg(sq_gguf_writer_write_floats(w, in->data, in->numel, &err) == SQ_OK, "%s", err.msg);
    ck_assert_int_eq(sq_gguf_writer_finish(w, &err), SQ_OK);
    size_t flen;
    uint8_t *file = read_whole(path, &flen);
    sq_gguf *g;
    ck_assert_int_eq(sq_gguf_open(path, &g, &err), SQ_OK);
    for (size_t k = 0; k < NBLK; k++) {
        const sq_tinfo *ti = sq_gguf_info(g, k);
        char bp[512];
        size_t blen, rb;
        snprintf(bp, sizeof bp, "%s%s.blocks.bin", GGML_DIR, blk[k].name);
        uint8_t *want = read_whole(bp, &blen), *row = malloc(1024);
        ck_assert_uint_eq(ti->nbytes, blen);
        ck_assert_msg(memcmp(file + ti->offset, want, blen) == 0, "%s: not ggml's bytes", blk[k].name);
        ck_assert_int_eq(sq_block_row_bytes((sq_block_type)blk[k].type, COLS, &rb, &err), SQ_OK);
        for (size_t r = 0; r < ROWS; r++) {
            ck_assert_int_eq(sq_block_quantize_row((sq_block_type)blk[k].type, in->data + r * COLS, COLS, row, &err),
                             SQ_OK);
            ck_assert(memcmp(file + ti->offset + r * rb, row, rb) == 0);
        }
        free(want);
        free(row);
    }
    for (int k = 0; k < 2; k++) {
        const sq_tinfo *ti = sq_gguf_info(g, NBLK + (size_t)k);
        for (size_t i = 0; i < in->numel; i++) {
            const uint8_t *p = file + ti->offset + 2 * i;
            uint16_t h = (uint16_t)(p[0] | p[1] << 8);
            uint16_t want = k ? sq_float_to_bf16(in->data[i]) : sq_float_to_half(in->data[i]);
            ck_assert_msg(h == want, "%s[%zu]", ti->name, i);
        }
    }
    sq_gguf_close(g);
    sq_tensor_free(in);
    free(file);
}
END_TEST

/* Misuse is refused with messages naming the file; a failed writer leaves
 * no file behind. */
START_TEST(test_refusals)
{
    char path[512];
    sq_error err;
    sq_gguf_writer *w;
    tpath(path, sizeof path, "bad.gguf");
    ck_assert_int_eq(sq_gguf_writer_new(path, &w, &err), SQ_OK);
    uint8_t s[9] = {2, 0, 0, 0, 0, 0, 0, 0, 'x'};
    ck_assert_int_eq(sq_gguf_writer_kv_raw(w, "k", SQ_GGUF_STRING, s, 9, &err), SQ_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "bad.gguf: metadata 'k': 9 bytes"), "%s", err.msg);
    ck_assert_int_eq(sq_gguf_writer_kv_raw(w, "k", 13, s, 1, &err), SQ_ERR_ARG);
    ck_assert_int_eq(sq_gguf_writer_kv_scalar(w, "k", SQ_GGUF_U8, 1, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_kv_scalar(w, "k", SQ_GGUF_U8, 1, &err), SQ_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "duplicate metadata key 'k'"), "%s", err.msg);
    ck_assert_int_eq(sq_gguf_writer_kv_scalar(w, "general.alignment", SQ_GGUF_U32, 48, &err), SQ_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "48 is not a power of two"), "%s", err.msg);
    size_t shape[2] = {2, 100};
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "w", SQ_BLOCK_Q4_K, shape, 2, &err), SQ_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "bad.gguf: tensor 'w'") && strstr(err.msg, "100"), "%s", err.msg);
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "w", 99, shape, 2, &err), SQ_ERR_ARG);
    shape[1] = 32;
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "w", SQ_BLOCK_Q8_0, shape, 2, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "w", SQ_BLOCK_Q8_0, shape, 2, &err), SQ_ERR_ARG);
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "v", 27, shape, 2, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_kv_scalar(w, "late", SQ_GGUF_U8, 1, &err), SQ_ERR_ARG);
    float x[64] = {0};
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, x, 63, &err), SQ_ERR_ARG);
    x[40] = INFINITY;
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, x, 64, &err), SQ_ERR_NONFINITE);
    ck_assert_msg(strstr(err.msg, "bad.gguf: tensor 'w'"), "%s", err.msg);
    sq_gguf_writer_abort(w);
    ck_assert_int_ne(access(path, F_OK), 0);

    ck_assert_int_eq(sq_gguf_writer_new(path, &w, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "w", SQ_BLOCK_Q8_0, shape, 2, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "v", 27, shape, 2, &err), SQ_OK);
    uint8_t raw[68] = {0};
    ck_assert_int_eq(sq_gguf_writer_write_raw(w, raw, 67, &err), SQ_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "67 bytes given, its Q8_0 data takes 68"), "%s", err.msg);
    sq_gguf_writer_abort(w);
    ck_assert_int_eq(sq_gguf_writer_new(path, &w, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "w", SQ_BLOCK_Q8_0, shape, 2, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "v", 27, shape, 2, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_write_raw(w, raw, 68, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, x, 64, &err), SQ_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(err.msg, "cannot write I64 from floats"), "%s", err.msg);
    ck_assert_int_eq(sq_gguf_writer_finish(w, &err), SQ_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "tensor 'v' (and 0 after it) has no data"), "%s", err.msg);
    ck_assert_int_ne(access(path, F_OK), 0);
    /* an empty GGUF (no tensors, no metadata) is just its 24-byte header */
    ck_assert_int_eq(sq_gguf_writer_new(path, &w, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_finish(w, &err), SQ_OK);
    size_t n;
    uint8_t *f = read_whole(path, &n);
    ck_assert_uint_eq(n, 24);
    ck_assert(memcmp(f, "GGUF\3\0\0\0", 8) == 0);
    free(f);
}
END_TEST

/* sq_gguf_export from GGUF: general.file_type becomes llama.cpp's Q4_K_S
 * (14), the 1-D tensor and the one whose rows are no whole blocks keep
 * their bytes, the 2-D one is quantized as sq_block_quantize_row does. */
START_TEST(test_export_from_gguf)
{
    char in[512], outp[512];
    sq_error err;
    sq_gguf_writer *w;
    tpath(in, sizeof in, "in.gguf");
    tpath(outp, sizeof outp, "out.gguf");
    ck_assert_int_eq(sq_gguf_writer_new(in, &w, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_kv_scalar(w, "general.file_type", SQ_GGUF_U32, 1, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_kv_string(w, "general.name", "m", 1, &err), SQ_OK);
    size_t s2[2] = {2, 256}, s1[1] = {256}, s3[2] = {2, 100};
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "w", 1, s2, 2, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "norm", 1, s1, 1, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "odd", 0, s3, 2, &err), SQ_OK);
    float x[512];
    for (int i = 0; i < 512; i++)
        x[i] = (float)((i * 29) % 97) / 8.0f - 6.0f;
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, x, 512, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, x, 256, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, x, 200, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_finish(w, &err), SQ_OK);
    int type;
    ck_assert_int_eq(sq_gguf_format_lookup("Q4_K", &type, &err), SQ_OK);
    ck_assert_int_eq(type, SQ_BLOCK_Q4_K);
    ck_assert_int_eq(sq_gguf_format_lookup("q3", &type, &err), SQ_ERR_ARG);
    sq_gguf_export_summary sum;
    ck_assert_msg(sq_gguf_export(in, outp, type, &sum, &err) == SQ_OK, "%s", err.msg);
    ck_assert(sum.quantized == 1 && sum.kept == 2 && sum.skipped == 0);
    ck_assert_int_eq(sq_gguf_export(in, in, type, &sum, &err), SQ_ERR_ARG);
    sq_gguf *a, *b;
    ck_assert_int_eq(sq_gguf_open(in, &a, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_open(outp, &b, &err), SQ_OK);
    ck_assert_str_eq(sq_gguf_metadata_get(b, "general.file_type"), "14");
    ck_assert_str_eq(sq_gguf_metadata_get(b, "general.name"), "m");
    ck_assert_int_eq(sq_gguf_tensor_type(b, 0), SQ_BLOCK_Q4_K);
    for (size_t i = 1; i < 3; i++) {
        ck_assert_int_eq(sq_gguf_tensor_type(b, i), sq_gguf_tensor_type(a, i));
        ck_assert_uint_eq(sq_gguf_info(b, i)->nbytes, sq_gguf_info(a, i)->nbytes);
        ck_assert(memcmp(sq_gguf_tensor_data(b, i), sq_gguf_tensor_data(a, i), sq_gguf_info(a, i)->nbytes) == 0);
    }
    sq_tensor *h;
    ck_assert_int_eq(sq_gguf_load(a, 0, &h, &err), SQ_OK);
    uint8_t q[2 * 144];
    ck_assert_int_eq(sq_block_quantize_row(SQ_BLOCK_Q4_K, h->data, 256, q, &err), SQ_OK);
    ck_assert_int_eq(sq_block_quantize_row(SQ_BLOCK_Q4_K, h->data + 256, 256, q + 144, &err), SQ_OK);
    ck_assert(memcmp(sq_gguf_tensor_data(b, 0), q, sizeof q) == 0);
    sq_tensor_free(h);
    sq_gguf_close(a);
    sq_gguf_close(b);
}
END_TEST

static Suite *gguf_write_suite(void)
{
    Suite *s = suite_create("gguf_write");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_roundtrip_every_type);
    tcase_add_test(tc, test_verbatim_copy);
    tcase_add_test(tc, test_floats_quantized_like_ggml);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_export_from_gguf);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(gguf_write_suite)
