/* test_blockfmt.c - llama.cpp block formats against ggml's own output
 * (tests/data/ggml: 28 rows of 512 floats, ggml's bytes for each of twelve
 * types and ggml's dequantization of those bytes): quantization byte for
 * byte, dequantization bit for bit; the type table; argument errors. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "blockfmt.h"
#include "npy.h"
#include "simd.h"
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

/* ---- randomized equality of the paths -------------------------------------
 * The fast paths (the hand-written AVX-512 kernels where the CPU has them,
 * the portable lane code with sq_simd_force_portable) must write the scalar
 * path's bytes for any input, ties and degenerate sub-blocks included:
 * RAND_ROWS rows of RAND_COLS elements from a mix of distributions. */
#define RAND_ROWS 2000
#define RAND_COLS 512

static uint64_t rnd_state;

static uint64_t rnd_next(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* Uniform in [0, 1). */
static float rnd_unit(void)
{
    return (float)(rnd_next() >> 40) * 0x1p-24f;
}

/* Roughly normal: a sum of four uniforms, centered. */
static float rnd_normal(void)
{
    return rnd_unit() + rnd_unit() + rnd_unit() + rnd_unit() - 2.0f;
}

/* Row r of the randomized set: its distribution picked by r, a scale
 * changing per 16-element run in some of them (so sub-blocks differ). */
static void rand_row(int r, float *x)
{
    int kind = r % 16;
    float scale = ldexpf(1.0f, (int)(rnd_next() % 40) - 30);
    for (int i = 0; i < RAND_COLS; i++) {
        float v = rnd_normal();
        switch (kind) {
        case 0: /* plain weights */
            break;
        case 1: /* outliers */
            v = rnd_next() % 64 == 0 ? v * 50 : v;
            break;
        case 2: /* all positive */
            v = fabsf(v);
            break;
        case 3: /* all negative */
            v = -fabsf(v) - 0.01f;
            break;
        case 4: /* uniform */
            v = rnd_unit() - 0.3f;
            break;
        case 5: /* small integers: many ties */
            v = (float)((int)(rnd_next() % 17) - 8);
            break;
        case 6: /* halves and quarters: ties after scaling */
            v = (float)((int)(rnd_next() % 33) - 16) * 0.25f;
            break;
        case 7: /* sparse: mostly zeros of either sign, some sub-blocks all zero */
            v = rnd_next() % 8 == 0 ? v : (i / 3) % 2 ? 0.0f : -0.0f;
            break;
        case 8: /* a scale per 16 elements */
            if (i % 16 == 0)
                scale = ldexpf(1.0f, (int)(rnd_next() % 24) - 12);
            break;
        case 9: /* constant runs of 16 */
            if (i % 16 == 0)
                scale = rnd_normal();
            v = 1.0f;
            break;
        case 10: /* one large value per 32 */
            v = i % 32 == (r / 16) % 32 ? 100.0f : v * 0.01f;
            break;
        case 11: /* tiny and denormal values */
            v *= 0x1p-120f;
            scale = 1.0f;
            break;
        case 12: /* huge values */
            v *= 0x1p100f;
            scale = 1.0f;
            break;
        case 13: /* Laplace-like: heavy tails */
            v = (rnd_next() & 1 ? 1.0f : -1.0f) * -logf(1.0f - rnd_unit() * 0.999f);
            break;
        case 14: /* two values only */
            v = rnd_next() & 1 ? 0.5f : -0.25f;
            break;
        default: /* sub-blocks of zeros between weights */
            v = (i / 16) % 3 == 0 ? 0.0f : v;
            break;
        }
        x[i] = v * scale;
    }
}

/* Bytes of the whole randomized set on one path into out (RAND_ROWS rows
 * of rb bytes): path 0 scalar, 1 portable lanes, 2 the default. */
static void rand_quantize(const sq_block_info *bi, int path, uint8_t *out, size_t rb)
{
    float x[RAND_COLS];
    sq_error err;
    sq_block_force_scalar(path == 0);
    sq_simd_force_portable(path == 1);
    rnd_state = 0x9E3779B97F4A7C15ULL;
    for (int r = 0; r < RAND_ROWS; r++) {
        rand_row(r, x);
        ck_assert_msg(sq_block_quantize_row(bi->type, x, RAND_COLS, out + (size_t)r * rb, &err) == SQ_OK, "%s",
                      err.msg);
    }
    sq_block_force_scalar(false);
    sq_simd_force_portable(false);
}

START_TEST(test_random_paths_agree)
{
    const sq_block_info *bi = sq_block_info_at((size_t)_i);
    size_t rb = RAND_COLS / bi->block * bi->block_bytes;
    uint8_t *ref = malloc(rb * RAND_ROWS), *got = malloc(rb * RAND_ROWS);
    ck_assert(ref && got);
    rand_quantize(bi, 0, ref, rb);
    for (int path = 1; path <= 2; path++) {
        rand_quantize(bi, path, got, rb);
        int nbad = 0;
        char bad[512] = "";
        for (int r = 0; r < RAND_ROWS; r++) {
            size_t k = 0;
            while (k < rb && got[(size_t)r * rb + k] == ref[(size_t)r * rb + k])
                k++;
            if (k < rb && nbad++ < 8) {
                size_t len = strlen(bad);
                snprintf(bad + len, sizeof bad - len, " row %d (kind %d)@%zu(%02x/%02x)", r, r % 16, k,
                         got[(size_t)r * rb + k], ref[(size_t)r * rb + k]);
            }
        }
        ck_assert_msg(nbad == 0, "%s, %s path: %d of %d random rows differ from the scalar path:%s", bi->name,
                      path == 1 ? "portable lane" : "default", nbad, RAND_ROWS, bad);
    }
    free(ref);
    free(got);
}
END_TEST

/* ---- AVX-512 kernels of Q5_0, Q5_1, IQ4_NL, IQ4_XS: edge cases ------------
 * Rows built to hit the corners of those kernels, quantized on all three
 * paths (scalar, portable lanes, default = AVX-512 where the CPU has it),
 * which must agree byte for byte: equal values, zeros of both signs (a zero
 * minimum, whose sign Q5_1 stores), tiny, denormal and huge magnitudes,
 * negative-only blocks, codes exactly at rounding ties (x * id + 16.5 and
 * (x - min) * id + 0.5 integral), and for IQ4 values at and one ulp around
 * the midpoints between levels under the first trial scale. */
#define EDGE_KINDS 12
#define EDGE_REPS 40
#define EDGE_COLS 512

static void edge_row(int kind, float *x)
{
    static const float iq_levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    for (int i = 0; i < EDGE_COLS; i++) {
        int j = i % 32;
        float v;
        switch (kind) {
        case 0: /* all equal, sign and magnitude per block */
            v = (i / 32) % 2 ? -3.25f : 0.75f;
            break;
        case 1: /* zeros of both signs, the first one's sign varying */
            v = ((i / 32) + j) % 3 == 0 ? -0.0f : 0.0f;
            break;
        case 2: /* non-negative with a zero minimum (+0 or -0 first) and one large value */
            v = j == (int)(rnd_next() % 32) ? 5.0f : rnd_next() % 4 ? fabsf(rnd_normal()) : (i / 32) % 2 ? -0.0f : 0.0f;
            break;
        case 3: /* negative only */
            v = -fabsf(rnd_normal()) - 1e-3f;
            break;
        case 4: /* tiny and denormal */
            v = rnd_normal() * 0x1p-140f;
            break;
        case 5: /* huge: max - min overflows in some blocks */
            v = rnd_normal() * 0x1p126f;
            break;
        case 6: /* Q5_0 ties: max -16 gives id -1 and x * id + 16.5 integral */
            v = j == 0 ? -16.0f : (float)((int)(rnd_next() % 33) - 16) - 0.5f * (float)(rnd_next() % 2);
            break;
        case 7: /* Q5_1 ties: min -1, max 30 give id 1 and (x - min) + 0.5 integral */
            v = j == 0 ? -1.0f : j == 1 ? 30.0f : (float)((int)(rnd_next() % 31) - 1) + 0.5f * (float)(rnd_next() % 2);
            break;
        case 8: /* IQ4: max -127 (first inverse scale -1, trial 0 +1): x * id at and next to level midpoints */
        case 9: /* the same with max +127 (inverse scales +1 and -1) */
        {
            int k = (int)(rnd_next() % 15);
            float m = (iq_levels[k] + iq_levels[k + 1]) / 2;
            int step = (int)(rnd_next() % 3);
            v = step == 0 ? m : nextafterf(m, step == 1 ? -INFINITY : INFINITY);
            if (j == 0)
                v = kind == 8 ? -127.0f : 127.0f;
            else if (rnd_next() % 2) /* as the other sign's inverse scale sees it */
                v = -v;
            break;
        }
        case 10: /* IQ4: levels themselves, scaled */
            v = iq_levels[rnd_next() % 16] * 0.01f;
            break;
        default: /* one element per block, the rest zeros */
            v = j == (i / 32) % 32 ? rnd_normal() : 0.0f;
            break;
        }
        x[i] = v;
    }
}

START_TEST(test_edge_paths_agree)
{
    static const char *const names[] = {"q5_0", "q5_1", "iq4_nl", "iq4_xs"};
    sq_block_type t;
    sq_error err;
    ck_assert_int_eq(sq_block_lookup(names[_i], &t, &err), SQ_OK);
    const sq_block_info *bi = sq_block_info_of(t);
    size_t rb = EDGE_COLS / bi->block * bi->block_bytes;
    uint8_t q[3][EDGE_COLS * 2];
    float x[EDGE_COLS];
    rnd_state = 0x243F6A8885A308D3ULL;
    for (int r = 0; r < EDGE_KINDS * EDGE_REPS; r++) {
        edge_row(r % EDGE_KINDS, x);
        for (int path = 0; path < 3; path++) {
            sq_block_force_scalar(path == 0);
            sq_simd_force_portable(path == 1);
            ck_assert_msg(sq_block_quantize_row(t, x, EDGE_COLS, q[path], &err) == SQ_OK, "%s", err.msg);
        }
        sq_block_force_scalar(false);
        sq_simd_force_portable(false);
        for (int path = 1; path < 3; path++) {
            size_t k = 0;
            while (k < rb && q[path][k] == q[0][k])
                k++;
            ck_assert_msg(k == rb, "%s, %s path, edge row %d (kind %d): byte %zu is %02x, scalar %02x", names[_i],
                          path == 1 ? "portable lane" : "default", r, r % EDGE_KINDS, k, q[path][k], q[0][k]);
        }
    }
}
END_TEST

/* Longer rows: the AVX-512 K-quant searches take up to eight super-blocks
 * (Q4_K, Q5_K: four groups of lanes), four (Q2_K) or two (Q3_K) at once,
 * so rows of eleven super-blocks run full sets of groups and partial ones
 * (the 512-element rows above the smaller sets). Each row strings together
 * randomized-set rows of different kinds; every fourth is made of
 * magnitude ties of either sign instead (the signed absolute maximum must
 * pick the first). */
#define LONG_ROWS 400
#define LONG_COLS (11 * 256)

static void long_quantize(const sq_block_info *bi, int path, uint8_t *out, size_t rb)
{
    static float x[LONG_COLS + RAND_COLS];
    sq_error err;
    sq_block_force_scalar(path == 0);
    sq_simd_force_portable(path == 1);
    rnd_state = 0xD1B54A32D192ED03ULL;
    for (int r = 0; r < LONG_ROWS; r++) {
        for (int c = 0; c < LONG_COLS; c += RAND_COLS)
            rand_row(4 * r + c / RAND_COLS, x + c);
        if (r % 4 == 3)
            for (int i = 0; i < LONG_COLS; i++)
                x[i] = (rnd_next() & 1 ? 0.5f : -0.5f) * (float)(1 + (i / 16 + r) % 3);
        ck_assert_msg(sq_block_quantize_row(bi->type, x, LONG_COLS, out + (size_t)r * rb, &err) == SQ_OK, "%s",
                      err.msg);
    }
    sq_block_force_scalar(false);
    sq_simd_force_portable(false);
}

START_TEST(test_long_rows_paths_agree)
{
    const sq_block_info *bi = sq_block_info_at((size_t)_i);
    size_t rb = LONG_COLS / bi->block * bi->block_bytes;
    uint8_t *ref = malloc(rb * LONG_ROWS), *got = malloc(rb * LONG_ROWS);
    ck_assert(ref && got);
    long_quantize(bi, 0, ref, rb);
    for (int path = 1; path <= 2; path++) {
        long_quantize(bi, path, got, rb);
        int nbad = 0, first = -1;
        for (int r = 0; r < LONG_ROWS; r++)
            if (memcmp(got + (size_t)r * rb, ref + (size_t)r * rb, rb) != 0 && nbad++ == 0)
                first = r + 1;
        ck_assert_msg(nbad == 0, "%s, %s path: %d of %d long rows differ from the scalar path (first: row %d)",
                      bi->name, path == 1 ? "portable lane" : "default", nbad, LONG_ROWS, first);
    }
    free(ref);
    free(got);
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
    tcase_add_loop_test(tc, test_random_paths_agree, 0, (int)NTYPES);
    tcase_add_loop_test(tc, test_edge_paths_agree, 0, 4);
    tcase_add_loop_test(tc, test_long_rows_paths_agree, 0, (int)NTYPES);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(blockfmt_suite)
