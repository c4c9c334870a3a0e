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
#include "elemfmt.h"
#include "fileio.h"
#include "gguf.h"
#include "gguf_build.h"
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
    gb_store_le(a, SQ_GGUF_I32, 4);
    gb_store_le(a + 4, 3, 8);
    gb_store_le(a + 12, 1, 4);
    gb_store_le(a + 16, (uint32_t)-2, 4);
    gb_store_le(a + 20, 3, 4);
    ck_assert_int_eq(sq_gguf_writer_kv_raw(w, "t.arr_i32", SQ_GGUF_ARRAY, a, sizeof a, &err), SQ_OK);
    /* [[7], []] of u8 */
    uint8_t n[12 + 13 + 12];
    gb_store_le(n, SQ_GGUF_ARRAY, 4);
    gb_store_le(n + 4, 2, 8);
    gb_store_le(n + 12, SQ_GGUF_U8, 4);
    gb_store_le(n + 16, 1, 8);
    n[24] = 7;
    gb_store_le(n + 25, SQ_GGUF_U8, 4);
    gb_store_le(n + 29, 0, 8);
    ck_assert_int_eq(sq_gguf_writer_kv_raw(w, "t.nested", SQ_GGUF_ARRAY, n, sizeof n, &err), SQ_OK);
}

static void check_metadata(const sq_gguf *g, const char *longstr, size_t count)
{
    ck_assert_uint_eq(sq_gguf_metadata_count(g), count);
    ck_assert_uint_eq(sq_gguf_alignment(g), 64);
    static const char *const kv[][3] = {
        {"general.architecture", "string", "llama"}, {"t.u8", "u8", "200"}, {"t.i8", "i8", "-5"},
        {"t.u16", "u16", "60000"}, {"t.i16", "i16", "-30000"}, {"t.u32", "u32", "4000000000"},
        {"t.i32", "i32", "-2000000000"}, {"t.f32", "f32", "1.5"}, {"t.bool", "bool", "true"},
        {"t.u64", "u64", "9223372036854775808"}, {"t.i64", "i64", "-4611686018427387904"},
        {"t.f64", "f64", "0.125"}, {"t.arr_i32", "array[i32]", "[1, -2, 3]"},
        {"tokenizer.ggml.tokens", "array[string]", "[<s>, , hello world, \xe2\x96\x81x]"},
        {"t.nested", "array[array]", "[[7], []]"}, {"general.alignment", "u32", "64"}};
    gb_expect_metadata(g, kv, sizeof kv / sizeof kv[0]);
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
        gb_store_le(out + i * plain[k].esize, u, (int)plain[k].esize);
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
        blocks[k] = gb_read_whole(bp, &blen[k]);
        ck_assert_msg(sq_gguf_writer_write_raw(w, blocks[k], blen[k], &err) == SQ_OK, "%s", err.msg);
    }
    for (size_t k = 0; k < NPLAIN; k++) {
        plain_bytes(k, pb[k], pv);
        ck_assert_int_eq(sq_gguf_writer_write_raw(w, pb[k], 15 * plain[k].esize, &err), SQ_OK);
    }
    ck_assert_msg(sq_gguf_writer_finish(w, &err) == SQ_OK, "%s", err.msg);

    size_t flen;
    uint8_t *file = gb_read_whole(path, &flen);
    sq_gguf *g;
    ck_assert_msg(sq_gguf_open(path, &g, &err) == SQ_OK, "%s", err.msg);
    ck_assert_uint_eq(sq_gguf_version(g), 3);
    check_metadata(g, longstr, 17);
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
    uint8_t *file = gb_read_whole(a, &flen);
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
    uint8_t *copy = gb_read_whole(b, &blen);
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
    uint8_t *file = gb_read_whole(path, &flen);
    sq_gguf *g;
    ck_assert_int_eq(sq_gguf_open(path, &g, &err), SQ_OK);
    for (size_t k = 0; k < NBLK; k++) {
        const sq_tinfo *ti = sq_gguf_info(g, k);
        char bp[512];
        size_t blen, rb;
        snprintf(bp, sizeof bp, "%s%s.blocks.bin", GGML_DIR, blk[k].name);
        uint8_t *want = gb_read_whole(bp, &blen), *row = malloc(1024);
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
    uint8_t *f = gb_read_whole(path, &n);
    ck_assert_uint_eq(n, 24);
    ck_assert(memcmp(f, "GGUF\3\0\0\0", 8) == 0);
    free(f);
}
END_TEST

/* sq_gguf_export from GGUF: general.file_type becomes llama.cpp's Q4_K_S
 * (14), the 1-D tensor, the one whose rows are no whole blocks and the
 * 2-D I32 one keep their bytes, the 2-D F16 one is quantized as
 * sq_block_quantize_row does. */
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
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "ids", 26, s2, 2, &err), SQ_OK);
    float x[512], ids[512];
    for (int i = 0; i < 512; i++) {
        x[i] = (float)((i * 29) % 97) / 8.0f - 6.0f;
        ids[i] = (float)(i * 40503 % 65536);
    }
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, x, 512, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, x, 256, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, x, 200, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, ids, 512, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_finish(w, &err), SQ_OK);
    int type;
    ck_assert_int_eq(sq_gguf_format_lookup("Q4_K", &type, &err), SQ_OK);
    ck_assert_int_eq(type, SQ_BLOCK_Q4_K);
    ck_assert_int_eq(sq_gguf_format_lookup("q3", &type, &err), SQ_ERR_ARG);
    sq_gguf_export_summary sum;
    ck_assert_msg(sq_gguf_export(in, outp, type, NULL, NULL, &sum, &err) == SQ_OK, "%s", err.msg);
    ck_assert(sum.quantized == 1 && sum.kept == 3 && sum.skipped == 0 && sum.unaligned == 1);
    ck_assert_int_eq(sq_gguf_export(in, in, type, NULL, NULL, &sum, &err), SQ_ERR_ARG);
    sq_gguf *a, *b;
    ck_assert_int_eq(sq_gguf_open(in, &a, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_open(outp, &b, &err), SQ_OK);
    ck_assert_str_eq(sq_gguf_metadata_get(b, "general.file_type"), "14");
    ck_assert_str_eq(sq_gguf_metadata_get(b, "general.name"), "m");
    ck_assert_int_eq(sq_gguf_tensor_type(b, 0), SQ_BLOCK_Q4_K);
    for (size_t i = 1; i < 4; i++) {
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

/* ---- every supported type, written by squint and re-quantized ------------ */

#define MXFP4 39

/* The types `squint quantize --format` writes besides F32/F16/BF16: the 12
 * of blockfmt.h and MXFP4. */
static int every_type(size_t k)
{
    return k < SQ_BLOCK_TYPE_COUNT ? (int)sq_block_info_at(k)->type : MXFP4;
}
#define NEVERY (SQ_BLOCK_TYPE_COUNT + 1)

/* ggml's MXFP4 quantizer as its source describes it: scale byte
 * floor(log2 amax) - 2 + 127 (0 for amax 0); each element the first of the
 * 16 doubled E2M1 values v (0, 1, 2, 3, 4, 6, 8, 12, then negated) with the
 * least |v * 2^(e - 128) - x|. */
static void ref_mxfp4(const float *x, size_t n, uint8_t *dst)
{
    static const float kv[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
    for (size_t b = 0; b < n / 32; b++, x += 32, dst += 17) {
        float amax = 0;
        for (int j = 0; j < 32; j++)
            amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
        int e = amax > 0 ? (int)floorf(log2f(amax)) - 2 + 127 : 0;
        float d = ldexpf(1.0f, e - 128);
        uint8_t c[32];
        for (int j = 0; j < 32; j++) {
            int best = 0;
            for (int i = 1; i < 16; i++)
                if (fabsf(kv[i] * d - x[j]) < fabsf(kv[best] * d - x[j]))
                    best = i;
            c[j] = (uint8_t)best;
        }
        dst[0] = (uint8_t)e;
        for (int j = 0; j < 16; j++)
            dst[1 + j] = (uint8_t)(c[j] | c[j + 16] << 4);
    }
}

/* One row of n floats quantized to type (the reference the writer must match). */
static void ref_quantize(int type, const float *x, size_t n, uint8_t *dst, size_t *nb)
{
    sq_error err;
    if (type == MXFP4) {
        ref_mxfp4(x, n, dst);
        ck_assert_int_eq(sq_elemfmt_row_bytes(SQ_ELEM_MXFP4, n, nb, &err), SQ_OK);
    } else {
        ck_assert_int_eq(sq_block_quantize_row((sq_block_type)type, x, n, dst, &err), SQ_OK);
        ck_assert_int_eq(sq_block_row_bytes((sq_block_type)type, n, nb, &err), SQ_OK);
    }
}

/* The bytes of one row of type decoded as ggml decodes them. */
static void ref_dequantize(int type, const uint8_t *src, size_t n, float *dst)
{
    sq_error err;
    if (type == MXFP4)
        ck_assert_int_eq(sq_elemfmt_decode_ggml_mxfp4(src, n, dst, &err), SQ_OK);
    else
        ck_assert_int_eq(sq_block_dequantize_row((sq_block_type)type, src, n, dst, &err), SQ_OK);
}

/* Tensor i of g (rows x cols of type) holds each source row quantized as
 * ref_quantize does, and loads as ref_dequantize decodes those bytes. */
static void check_quantized(const sq_gguf *g, size_t i, int type, const float *src, size_t rows, size_t cols)
{
    sq_error err;
    const sq_tinfo *ti = sq_gguf_info(g, i);
    const uint8_t *data = sq_gguf_tensor_data(g, i);
    uint8_t *row = malloc(cols * 2);
    float *deq = malloc(cols * sizeof *deq);
    sq_tensor *t;
    ck_assert(row && deq);
    ck_assert_int_eq(sq_gguf_tensor_type(g, i), type);
    ck_assert_str_eq(ti->type_name, sq_ggml_type_name(type));
    ck_assert(ti->loadable && ti->ndim == 2 && ti->shape[0] == rows && ti->shape[1] == cols);
    ck_assert_msg(sq_gguf_load(g, i, &t, &err) == SQ_OK, "%s: %s", ti->name, err.msg);
    ck_assert_uint_eq(t->numel, rows * cols);
    size_t nb = 0;
    for (size_t r = 0; r < rows; r++) {
        ref_quantize(type, src + r * cols, cols, row, &nb);
        ck_assert_msg(memcmp(data + r * nb, row, nb) == 0, "%s as %s: row %zu bytes", ti->name,
                      sq_ggml_type_name(type), r + 1);
        ref_dequantize(type, data + r * nb, cols, deq);
        ck_assert_msg(memcmp(t->data + r * cols, deq, cols * sizeof *deq) == 0, "%s: row %zu values", ti->name,
                      r + 1);
    }
    ck_assert_uint_eq(ti->nbytes, rows * nb);
    sq_tensor_free(t);
    free(row);
    free(deq);
}

/* Notes the export gives, counted and the last kept. */
typedef struct notes {
    int n;
    char last[SQ_ERROR_MSG_MAX];
} notes;

static void take_note(void *ctx, const char *msg)
{
    notes *nt = ctx;
    nt->n++;
    snprintf(nt->last, sizeof nt->last, "%s", msg);
}

/* Tensors besides the 13 quantized ones: a 1-D norm (never quantized), a
 * row of 100 (no block type's multiple), a row of 96 (32's, not 256's). */
#define NEXTRA 3
static const char *const extra_name[NEXTRA] = {"norm", "odd", "mid"};
static const int extra_type[NEXTRA] = {0, 1, 30};
static const size_t extra_shape[NEXTRA][2] = {{COLS, 0}, {2, 100}, {2, 96}};

/* Write the every-type GGUF at path from the fixture's floats. */
static void write_every_type(const char *path, const sq_tensor *in, char *longstr)
{
    sq_error err;
    sq_gguf_writer *w;
    size_t shape[2] = {ROWS, COLS};
    ck_assert_int_eq(sq_gguf_writer_new(path, &w, &err), SQ_OK);
    add_metadata(w, longstr);
    ck_assert_int_eq(sq_gguf_writer_kv_scalar(w, "general.file_type", SQ_GGUF_U32, 1, &err), SQ_OK);
    for (size_t k = 0; k < NEVERY; k++) {
        char name[32];
        snprintf(name, sizeof name, "blk.%s.weight", sq_ggml_type_name(every_type(k)));
        ck_assert_msg(sq_gguf_writer_add_tensor(w, name, every_type(k), shape, 2, &err) == SQ_OK, "%s", err.msg);
    }
    for (size_t k = 0; k < NEXTRA; k++)
        ck_assert_int_eq(sq_gguf_writer_add_tensor(w, extra_name[k], extra_type[k], extra_shape[k], k ? 2 : 1, &err),
                         SQ_OK);
    for (size_t k = 0; k < NEVERY; k++)
        ck_assert_msg(sq_gguf_writer_write_floats(w, in->data, in->numel, &err) == SQ_OK, "%s", err.msg);
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, in->data, COLS, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, in->data, 200, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, in->data, 192, &err), SQ_OK);
    ck_assert_msg(sq_gguf_writer_finish(w, &err) == SQ_OK, "%s", err.msg);
}

/* Issue 12: a GGUF with a tensor of every supported type, written by
 * squint from known floats, read back by squint's reader (bytes, values,
 * metadata); then re-quantized to each type in turn: the tensors a type
 * cannot take keep their bytes (with a note for the rows of 100 and 96),
 * the metadata stays byte for byte but general.file_type. */
START_TEST(test_every_type_written_and_requantized)
{
    char path[512], outp[512], longstr[5000];
    sq_error err;
    sq_tensor *in = load_npy("input.npy");
    tpath(path, sizeof path, "every.gguf");
    tpath(outp, sizeof outp, "re.gguf");
    write_every_type(path, in, longstr);

    sq_gguf *g;
    ck_assert_msg(sq_gguf_open(path, &g, &err) == SQ_OK, "%s", err.msg);
    check_metadata(g, longstr, 18);
    ck_assert_uint_eq(sq_gguf_count(g), NEVERY + NEXTRA);
    for (size_t k = 0; k < NEVERY; k++)
        check_quantized(g, k, every_type(k), in->data, ROWS, COLS);
    for (size_t k = 0; k < NEXTRA; k++) {
        sq_tensor *t;
        ck_assert_int_eq(sq_gguf_tensor_type(g, NEVERY + k), extra_type[k]);
        ck_assert_int_eq(sq_gguf_load(g, NEVERY + k, &t, &err), SQ_OK);
        sq_tensor_free(t);
    }

    /* file types: llama.cpp's enum llama_ftype */
    static const unsigned ftype[NEVERY] = {2, 3, 8, 9, 7, 10, 11, 14, 16, 18, 25, 30, 38};
    for (size_t k = 0; k < NEVERY; k++) {
        int type = every_type(k), looked;
        const char *name = type == MXFP4 ? "MXFP4" : sq_block_info_at(k)->name;
        ck_assert_int_eq(sq_gguf_format_lookup(name, &looked, &err), SQ_OK);
        ck_assert_int_eq(looked, type);
        sq_gguf_export_summary sum;
        notes nt = {0, ""};
        ck_assert_msg(sq_gguf_export(path, outp, type, take_note, &nt, &sum, &err) == SQ_OK, "%s", err.msg);
        size_t block = type == MXFP4 ? 32 : sq_block_info_at(k)->block;
        size_t unaligned = block == 256 ? 2 : 1; /* rows of 100, and of 96 for the k-quants */
        ck_assert_uint_eq(sum.quantized, NEVERY + (block == 32));
        ck_assert_uint_eq(sum.kept, NEXTRA - (block == 32));
        ck_assert_uint_eq(sum.skipped, 0);
        ck_assert_uint_eq(sum.unaligned, unaligned);
        ck_assert_int_eq(nt.n, (int)unaligned);
        char want[200];
        snprintf(want, sizeof want, "tensor '%s': row length %d is not a multiple of %s's block of %zu: kept as %s",
                 block == 256 ? "mid" : "odd", block == 256 ? 96 : 100, sq_ggml_type_name(type), block,
                 block == 256 ? "BF16" : "F16");
        ck_assert_str_eq(nt.last, want);

        sq_gguf *o;
        ck_assert_msg(sq_gguf_open(outp, &o, &err) == SQ_OK, "%s", err.msg);
        /* metadata: every pair verbatim, in order, but general.file_type */
        ck_assert_uint_eq(sq_gguf_metadata_count(o), sq_gguf_metadata_count(g));
        for (size_t i = 0; i < sq_gguf_metadata_count(g); i++) {
            uint32_t ta, tb;
            const uint8_t *va, *vb;
            size_t na, nb;
            ck_assert_str_eq(sq_gguf_metadata_key(o, i), sq_gguf_metadata_key(g, i));
            ck_assert_int_eq(sq_gguf_metadata_raw(g, i, &ta, &va, &na, &err), SQ_OK);
            ck_assert_int_eq(sq_gguf_metadata_raw(o, i, &tb, &vb, &nb, &err), SQ_OK);
            ck_assert_uint_eq(ta, tb);
            ck_assert_uint_eq(na, nb);
            if (strcmp(sq_gguf_metadata_key(g, i), "general.file_type") != 0)
                ck_assert_msg(memcmp(va, vb, na) == 0, "%s changed", sq_gguf_metadata_key(g, i));
        }
        char ft[16];
        snprintf(ft, sizeof ft, "%u", ftype[k]);
        ck_assert_str_eq(sq_gguf_metadata_get(o, "general.file_type"), ft);
        /* every 2-D tensor of whole blocks: quantized from the input's values */
        ck_assert_uint_eq(sq_gguf_count(o), NEVERY + NEXTRA);
        for (size_t i = 0; i < NEVERY + NEXTRA; i++) {
            const sq_tinfo *a = sq_gguf_info(g, i), *b = sq_gguf_info(o, i);
            ck_assert_str_eq(b->name, a->name);
            bool quant = i < NEVERY || (i == NEVERY + 2 && block == 32);
            if (quant) {
                sq_tensor *src;
                ck_assert_int_eq(sq_gguf_load(g, i, &src, &err), SQ_OK);
                check_quantized(o, i, type, src->data, a->shape[0], a->shape[1]);
                sq_tensor_free(src);
            } else {
                ck_assert_int_eq(sq_gguf_tensor_type(o, i), sq_gguf_tensor_type(g, i));
                ck_assert_uint_eq(b->nbytes, a->nbytes);
                ck_assert_msg(memcmp(sq_gguf_tensor_data(o, i), sq_gguf_tensor_data(g, i), a->nbytes) == 0,
                              "%s: kept bytes differ", a->name);
            }
        }
        sq_gguf_close(o);
    }
    sq_gguf_close(g);
    sq_tensor_free(in);
}
END_TEST

/* MXFP4 written as ggml writes it where SQ_ELEM_MXFP4 differs: E2M1 ties
 * (0.75, 1.75, 3.5 times the scale) go to the smaller magnitude, small
 * negatives become +0; otherwise the bytes are SQ_ELEM_MXFP4's. */
START_TEST(test_mxfp4_like_ggml)
{
    char path[512];
    sq_error err;
    sq_gguf_writer *w;
    float x[64];
    /* block 1: amax 6 -> scale byte 127 (E2M1 values as they are) */
    static const float tie[12] = {6, 0.75f, 1.75f, 3.5f, -0.75f, -1.75f, -3.5f, -0.1f, 0.25f, -0.25f, 1.25f, 5};
    static const uint8_t want[12] = {7, 1, 3, 5, 9, 11, 13, 0, 0, 0, 2, 6};
    for (int j = 0; j < 32; j++)
        x[j] = j < 12 ? tie[j] : 0.0f;
    for (int j = 32; j < 64; j++)
        x[j] = (float)((j * 7) % 13) - 6.0f; /* integers -6..6: no ties, no negative zero */
    size_t shape[2] = {2, 32};
    tpath(path, sizeof path, "mx.gguf");
    ck_assert_int_eq(sq_gguf_writer_new(path, &w, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "mx", MXFP4, shape, 2, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, x, 64, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_finish(w, &err), SQ_OK);
    sq_gguf *g;
    ck_assert_int_eq(sq_gguf_open(path, &g, &err), SQ_OK);
    const uint8_t *b = sq_gguf_tensor_data(g, 0);
    ck_assert_uint_eq(b[0], 127);
    for (int j = 0; j < 12; j++) {
        uint8_t code = b[1 + j] & 15;
        ck_assert_msg(code == want[j], "element %d (%g): code %u, want %u", j + 1, (double)tie[j], code, want[j]);
    }
    uint8_t e[34];
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_MXFP4, x, 64, 1.0f, e, &err), SQ_OK);
    ck_assert(memcmp(b + 17, e + 17, 17) == 0);
    ck_assert(memcmp(b, e, 17) != 0); /* the ties */
    sq_gguf_close(g);
    float bad[32] = {0};
    bad[4] = NAN;
    ck_assert_int_eq(sq_gguf_writer_new(path, &w, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_add_tensor(w, "mx", MXFP4, shape + 1, 1, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_writer_write_floats(w, bad, 32, &err), SQ_ERR_NONFINITE);
    ck_assert_msg(strstr(err.msg, "mx.gguf: tensor 'mx': mxfp4: element 5 is nan"), "%s", err.msg);
    sq_gguf_writer_abort(w);
}
END_TEST

/* From a checkpoint that is not GGUF (safetensors): the 2-D tensor of whole
 * blocks quantized, the one of rows of 100 written as F32 with a note. */
START_TEST(test_export_unaligned_from_safetensors)
{
    char in[512], outp[512];
    sq_error err;
    tpath(in, sizeof in, "in.safetensors");
    tpath(outp, sizeof outp, "st.gguf");
    /* a safetensors file by hand: two F32 tensors, w [2, 64] and odd [2, 100] */
    char hdr[200];
    int hl = snprintf(hdr, sizeof hdr,
                      "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,64],\"data_offsets\":[0,512]},"
                      "\"odd\":{\"dtype\":\"F32\",\"shape\":[2,100],\"data_offsets\":[512,1312]}}");
    float x[328];
    for (int i = 0; i < 328; i++)
        x[i] = (float)((i * 13) % 31) / 4.0f - 3.5f;
    FILE *f = fopen(in, "wb");
    ck_assert_ptr_nonnull(f);
    uint8_t len[8];
    gb_store_le(len, (uint64_t)hl, 8);
    ck_assert_uint_eq(fwrite(len, 1, 8, f), 8);
    ck_assert_uint_eq(fwrite(hdr, 1, (size_t)hl, f), (size_t)hl);
    ck_assert_uint_eq(fwrite(x, sizeof(float), 328, f), 328);
    ck_assert_int_eq(fclose(f), 0);
    sq_gguf_export_summary sum;
    notes nt = {0, ""};
    ck_assert_msg(sq_gguf_export(in, outp, SQ_BLOCK_Q8_0, take_note, &nt, &sum, &err) == SQ_OK, "%s", err.msg);
    ck_assert(sum.quantized == 1 && sum.kept == 1 && sum.unaligned == 1 && nt.n == 1);
    ck_assert_str_eq(nt.last, "tensor 'odd': row length 100 is not a multiple of Q8_0's block of 32: kept as F32");
    sq_gguf *g;
    ck_assert_int_eq(sq_gguf_open(outp, &g, &err), SQ_OK);
    size_t i;
    ck_assert_int_eq(sq_gguf_find(g, "w", &i, &err), SQ_OK);
    check_quantized(g, i, SQ_BLOCK_Q8_0, x, 2, 64);
    ck_assert_int_eq(sq_gguf_find(g, "odd", &i, &err), SQ_OK);
    ck_assert_int_eq(sq_gguf_tensor_type(g, i), 0);
    ck_assert(memcmp(sq_gguf_tensor_data(g, i), x + 128, 200 * sizeof(float)) == 0);
    sq_gguf_close(g);
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
    tcase_add_test(tc, test_every_type_written_and_requantized);
    tcase_add_test(tc, test_export_unaligned_from_safetensors);
    tcase_add_test(tc, test_mxfp4_like_ggml);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(gguf_write_suite)
