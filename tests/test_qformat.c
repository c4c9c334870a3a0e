/* test_qformat.c - the non-INT formats of quant.h as quantization settings:
 * sq_quantize's stored bytes equal the row kernels' (blockfmt.h, elemfmt.h)
 * row by row, sq_dequantize equals their decoders, per-channel / per-group
 * fp8 scales by hand, stored codes of hand-built blocks, level sets, the
 * statistics against a scalar double reference, thread-count independence,
 * configuration errors, rebuilding from stored bytes, NaN refusal, block-wise
 * code extraction against the per-element one, the fused per-index errors
 * against sq_index_mse. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "blockfmt.h"
#include "elemfmt.h"
#include "quant.h"
#include "layout.h"
#include "qformat_int.h"
#include "quant_int.h"
#include "rng.h"
#include "stats.h"
#include "testutil.h"
#include "threads.h"

static const sq_format block_formats[] = {
    SQ_FORMAT_Q4_0, SQ_FORMAT_Q4_1, SQ_FORMAT_Q5_0, SQ_FORMAT_Q5_1, SQ_FORMAT_Q8_0, SQ_FORMAT_Q2_K,
    SQ_FORMAT_Q3_K, SQ_FORMAT_Q4_K, SQ_FORMAT_Q5_K, SQ_FORMAT_Q6_K, SQ_FORMAT_IQ4_NL, SQ_FORMAT_IQ4_XS};
#define N_BLOCK_FORMATS (sizeof block_formats / sizeof block_formats[0])

/* A [rows, cols] tensor of normal values times `scale`, with a few outliers. */
static sq_tensor *randn_tensor(size_t rows, size_t cols, uint64_t seed, float scale)
{
    size_t shape[2] = {rows, cols};
    sq_tensor *t;
    sq_error err;
    ck_assert_int_eq(sq_tensor_new(shape, 2, SQ_DTYPE_F32, &t, &err), SQ_OK);
    sq_rng r;
    sq_rng_seed(&r, seed);
    sq_rng_fill_normal(&r, t->data, t->numel);
    for (size_t i = 0; i < t->numel; i++)
        t->data[i] *= scale * (i % 97 == 3 ? 6.0f : 1.0f);
    return t;
}

static sq_qtensor *quantize_ok(const sq_tensor *x, const sq_qconfig *cfg)
{
    sq_qtensor *q = NULL;
    sq_error err;
    sq_status st = sq_quantize(x, cfg, &q, &err);
    ck_assert_msg(st == SQ_OK, "%s: %s", sq_format_name(cfg->format), err.msg);
    return q;
}

static sq_tensor *dequantize_ok(const sq_qtensor *q)
{
    sq_tensor *t = NULL;
    sq_error err;
    ck_assert_int_eq(sq_dequantize(q, &t, &err), SQ_OK);
    return t;
}

/* Element-wise bit equality of floats. */
static void assert_same_floats(const float *a, const float *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(memcmp(&a[i], &b[i], sizeof(float)) == 0, "%s: element %zu: %.9g vs %.9g", what, i,
                      (double)a[i], (double)b[i]);
}

/* Values beyond element i's extreme levels (sq_qtensor_levels), counted. */
static size_t clipped_by_levels(const sq_tensor *x, const sq_qtensor *q)
{
    float lv[256];
    size_t c = 0;
    for (size_t i = 0; i < x->numel; i++) {
        size_t n = sq_qtensor_levels(q, i, lv, 256);
        ck_assert(n > 0 && n <= 256);
        c += x->data[i] < lv[0] || x->data[i] > lv[n - 1];
    }
    return c;
}

START_TEST(block_formats_match_row_kernels)
{
    sq_tensor *x = randn_tensor(3, 512, 11, 0.5f);
    for (size_t f = 0; f < N_BLOCK_FORMATS; f++) {
        sq_qconfig cfg = sq_qconfig_for_format(block_formats[f]);
        const sq_format_info *fi = sq_format_info_of((int)cfg.format);
        sq_block_type bt = (sq_block_type)fi->native;
        sq_qtensor *q = quantize_ok(x, &cfg);
        size_t rb;
        sq_error err;
        ck_assert_int_eq(sq_block_row_bytes(bt, 512, &rb, &err), SQ_OK);
        ck_assert_uint_eq(q->code_bytes, 3 * rb);
        ck_assert_uint_eq(q->n_scales, 3 * 512 / fi->block);
        uint8_t *ref = malloc(rb);
        float *y = malloc(512 * sizeof(float));
        sq_tensor *xh = dequantize_ok(q);
        for (size_t r = 0; r < 3; r++) {
            ck_assert_int_eq(sq_block_quantize_row(bt, x->data + 512 * r, 512, ref, &err), SQ_OK);
            ck_assert_msg(memcmp(ref, q->codes + r * rb, rb) == 0, "%s row %zu bytes", fi->name, r);
            ck_assert_int_eq(sq_block_dequantize_row(bt, ref, 512, y, &err), SQ_OK);
            assert_same_floats(y, xh->data + 512 * r, 512, fi->name);
        }
        /* all 2^bits levels of an element are distinct (no zero scale in this
         * data), and its decoded value is the one its stored code ranks
         * (ascending or descending): the code bits are where the decoder reads */
        size_t nl = (size_t)1 << fi->bits;
        float lv[256];
        for (size_t i = 0; i < x->numel; i += 7) {
            size_t n = sq_qtensor_levels(q, i, lv, 256);
            int c = sq_qtensor_code(q, i);
            ck_assert(c >= 0 && (size_t)c < nl);
            ck_assert_msg(n == nl, "%s element %zu: %zu levels", fi->name, i, n); /* no zero scale here */
            ck_assert_msg(lv[c] == xh->data[i] || lv[nl - 1 - (size_t)c] == xh->data[i],
                          "%s element %zu code %d value %g", fi->name, i, c, (double)xh->data[i]);
            int8_t sc;
            sq_qtensor_codes(q, i, 1, &sc);
            ck_assert_int_eq(sc, c - (int)(nl / 2));
        }
        ck_assert_uint_eq(q->n_clipped, clipped_by_levels(x, q));
        ck_assert(q->tensor_scale == 1.0 && q->aux == NULL);
        free(ref);
        free(y);
        sq_tensor_free(xh);
        sq_qtensor_free(q);
    }
    sq_tensor_free(x);
}
END_TEST

/* Display scales: q4_0's d and q4_1's (d, m) from the stored halves. */
START_TEST(block_display_scales)
{
    sq_tensor *x = randn_tensor(2, 64, 5, 1.0f);
    sq_qconfig cfg = sq_qconfig_for_format(SQ_FORMAT_Q4_1);
    sq_qtensor *q = quantize_ok(x, &cfg);
    for (size_t k = 0; k < 4; k++) {
        const uint8_t *b = q->codes + 20 * k;
        ck_assert(q->scales[k] == sq_half_to_float((uint16_t)(b[0] | b[1] << 8)));
        ck_assert(q->zero_points[k] == sq_half_to_float((uint16_t)(b[2] | b[3] << 8)));
    }
    sq_qtensor_free(q);
    cfg = sq_qconfig_for_format(SQ_FORMAT_Q4_0);
    q = quantize_ok(x, &cfg);
    float lv[32];
    ck_assert_uint_eq(sq_qtensor_levels(q, 40, lv, 32), 16); /* d * (-8 .. 7) */
    for (int c = 0; c < 16; c++)
        ck_assert_float_eq(lv[q->scales[1] > 0 ? c : 15 - c], (float)q->scales[1] * (float)(c - 8));
    for (size_t k = 0; k < 4; k++)
        ck_assert(q->zero_points[k] == 0.0);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

START_TEST(elem_formats_match_row_kernels)
{
    sq_tensor *x = randn_tensor(4, 256, 21, 2.0f);
    const sq_format fs[] = {SQ_FORMAT_FP8_E4M3, SQ_FORMAT_FP8_E5M2, SQ_FORMAT_FP4_E2M1, SQ_FORMAT_MXFP4,
                            SQ_FORMAT_MXFP8, SQ_FORMAT_NVFP4};
    for (size_t f = 0; f < sizeof fs / sizeof fs[0]; f++) {
        sq_qconfig cfg = sq_qconfig_for_format(fs[f]);
        const sq_format_info *fi = sq_format_info_of((int)fs[f]);
        sq_elemfmt ef = (sq_elemfmt)fi->native;
        sq_qtensor *q = quantize_ok(x, &cfg);
        float s;
        size_t nb;
        sq_error err;
        ck_assert_int_eq(sq_elemfmt_row_scale(ef, x->data, x->numel, &s, &err), SQ_OK);
        ck_assert_int_eq(sq_elemfmt_row_bytes(ef, x->numel, &nb, &err), SQ_OK);
        uint8_t *ref = malloc(nb);
        float *y = malloc(x->numel * sizeof(float));
        ck_assert_int_eq(sq_elemfmt_encode_row(ef, x->data, x->numel, s, ref, &err), SQ_OK);
        ck_assert_uint_eq(q->code_bytes, nb);
        ck_assert_msg(memcmp(ref, q->codes, nb) == 0, "%s bytes", fi->name);
        ck_assert_int_eq(sq_elemfmt_decode_row(ef, ref, x->numel, s, y, &err), SQ_OK);
        sq_tensor *xh = dequantize_ok(q);
        assert_same_floats(y, xh->data, x->numel, fi->name);
        if (fi->any_granularity)
            ck_assert(q->scales[0] == s && q->n_scales == 1 && q->tensor_scale == 1.0);
        if (fs[f] == SQ_FORMAT_NVFP4) {
            ck_assert(q->tensor_scale == s);
            for (size_t k = 0; k < q->n_scales; k++)
                ck_assert(q->scales[k] == sq_fp8_e4m3_decode(q->codes[9 * k]) * s);
        }
        if (fs[f] == SQ_FORMAT_MXFP4)
            for (size_t k = 0; k < q->n_scales; k++)
                ck_assert(q->scales[k] == sq_e8m0_decode(q->codes[17 * k]));
        for (size_t i = 0; i < x->numel; i += 5) { /* the fp8 byte, the nibble */
            unsigned c = (unsigned)sq_qtensor_code(q, i);
            if (fs[f] == SQ_FORMAT_FP8_E4M3 || fs[f] == SQ_FORMAT_FP8_E5M2)
                ck_assert_uint_eq(c, ref[i]);
            else if (fs[f] == SQ_FORMAT_FP4_E2M1)
                ck_assert_uint_eq(c, i % 2 ? ref[i / 2] >> 4 : ref[i / 2] & 15u);
            else if (fs[f] == SQ_FORMAT_MXFP8)
                ck_assert_uint_eq(c, ref[33 * (i / 32) + 1 + i % 32]);
            float lv[256];
            size_t n = sq_qtensor_levels(q, i, lv, 256), k = 0;
            ck_assert_uint_eq(n, sq_elemfmt_info_of(ef)->nlevels); /* e4m3: 253 */
            while (k < n && lv[k] != xh->data[i])
                k++;
            ck_assert_msg(k < n, "%s: element %zu's value is not among its levels", fi->name, i);
        }
        ck_assert_uint_eq(q->n_clipped, clipped_by_levels(x, q));
        free(ref);
        free(y);
        sq_tensor_free(xh);
        sq_qtensor_free(q);
    }
    sq_tensor_free(x);
}
END_TEST

START_TEST(nf4_matches_kernels)
{
    sq_tensor *x = randn_tensor(4, 384, 31, 1.0f);
    const size_t groups[] = {64, 32, 6};
    for (int dq = 0; dq < 2; dq++)
        for (size_t g = 0; g < 3; g++) {
            sq_qconfig cfg = sq_qconfig_for_format(SQ_FORMAT_NF4);
            cfg.group_size = groups[g];
            cfg.double_quant = dq;
            sq_qtensor *q = quantize_ok(x, &cfg);
            size_t n = x->numel, nabs = n / groups[g];
            uint8_t *codes = malloc(n / 2), *dqc = malloc(nabs);
            float *absmax = malloc(nabs * sizeof(float)), *y = malloc(n * sizeof(float)),
                  a2[16], off = 0.0f;
            sq_error err;
            ck_assert_int_eq(sq_nf4_encode(x->data, n, groups[g], codes, absmax, &err), SQ_OK);
            ck_assert_uint_eq(q->code_bytes, n / 2);
            ck_assert(memcmp(codes, q->codes, n / 2) == 0);
            if (dq) {
                ck_assert_int_eq(sq_nf4_dq_encode(absmax, nabs, dqc, a2, &off, &err), SQ_OK);
                size_t n2 = (nabs + 255) / 256;
                ck_assert_uint_eq(q->aux_bytes, nabs + 4 * n2 + 4);
                ck_assert(memcmp(q->aux, dqc, nabs) == 0);
                for (size_t b = 0; b < n2; b++)
                    ck_assert(memcmp(q->aux + nabs + 4 * b, &a2[b], 4) == 0); /* little-endian hosts */
                ck_assert(memcmp(q->aux + nabs + 4 * n2, &off, 4) == 0);
                sq_nf4_dq_decode(dqc, a2, off, nabs, absmax);
            } else {
                ck_assert(q->aux == NULL && q->aux_bytes == 0);
            }
            for (size_t k = 0; k < nabs; k++)
                ck_assert(q->scales[k] == absmax[k]);
            ck_assert_int_eq(sq_nf4_decode(codes, absmax, n, groups[g], y, &err), SQ_OK);
            sq_tensor *xh = dequantize_ok(q);
            assert_same_floats(y, xh->data, n, "nf4");
            /* codes: the first of a pair in the high nibble; levels codebook * absmax */
            ck_assert_uint_eq((unsigned)sq_qtensor_code(q, 10), codes[5] >> 4);
            ck_assert_uint_eq((unsigned)sq_qtensor_code(q, 11), codes[5] & 15u);
            float lv[16], want[16];
            for (int c = 0; c < 16; c++)
                want[c] = sq_nf4_value((uint8_t)c) * absmax[1];
            ck_assert_uint_eq(sq_qtensor_levels(q, groups[g] + 1, lv, 16), 16);
            for (int c = 0; c < 16; c++)
                ck_assert_float_eq(lv[c], absmax[1] > 0 ? want[c] : want[15 - c]);
            ck_assert_uint_eq(q->n_clipped, clipped_by_levels(x, q));
            if (!dq)
                ck_assert_uint_eq(q->n_clipped, 0);
            free(codes);
            free(dqc);
            free(absmax);
            free(y);
            sq_tensor_free(xh);
            sq_qtensor_free(q);
        }
    sq_tensor_free(x);
}
END_TEST

/* fp8 e4m3 per channel (both axes) and per group, codes worked out by hand. */
START_TEST(fp8_channel_group_by_hand)
{
    const float v[6] = {1.0f, -2.0f, 448.0f, 0.5f, 8.0f, -896.0f};
    size_t shape[2] = {2, 3};
    sq_tensor *x = tu_tensor(shape, 2, v);
    sq_qconfig cfg = sq_qconfig_for_format(SQ_FORMAT_FP8_E4M3);
    cfg.granularity = SQ_GRAN_CHANNEL;
    cfg.axis = 0; /* rows: max 448 and 896 -> scales 1 and 2 */
    sq_qtensor *q = quantize_ok(x, &cfg);
    ck_assert_uint_eq(q->n_scales, 2);
    ck_assert(q->scales[0] == 1.0 && q->scales[1] == 2.0);
    const uint8_t rows[6] = {0x38, 0xc0, 0x7e, 0x28, 0x48, 0xfe}; /* 1 -2 448 | .25 4 -448 */
    ck_assert(memcmp(q->codes, rows, 6) == 0);
    sq_tensor *xh = dequantize_ok(q);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(xh->data[i], v[i]); /* all exact */
    ck_assert_uint_eq(q->n_clipped, 0);
    float lv[256];
    ck_assert_uint_eq(sq_qtensor_levels(q, 4, lv, 256), 253);
    ck_assert_float_eq(lv[0], -896.0f);
    ck_assert_float_eq(lv[252], 896.0f);
    sq_tensor_free(xh);
    sq_qtensor_free(q);
    cfg.axis = 1; /* columns: max 1, 8, 896 -> 1/448, 8/448, 2 */
    q = quantize_ok(x, &cfg);
    ck_assert(q->scales[0] == (double)(1.0f / 448.0f) && q->scales[1] == (double)(8.0f / 448.0f) &&
              q->scales[2] == 2.0);
    const uint8_t cols[6] = {0x7e, 0xee, 0x76, 0x76, 0x7e, 0xfe}; /* 448 -112 224 | 224 448 -448 */
    ck_assert(memcmp(q->codes, cols, 6) == 0);
    sq_qtensor_free(q);
    const float w[4] = {1.0f, -3.0f, 0.5f, 0.25f};
    size_t s2[2] = {1, 4};
    sq_tensor *x2 = tu_tensor(s2, 2, w);
    cfg.granularity = SQ_GRAN_GROUP;
    cfg.group_size = 2; /* groups max 3 and 0.5 */
    q = quantize_ok(x2, &cfg);
    ck_assert(q->scales[0] == (double)(3.0f / 448.0f) && q->scales[1] == (double)(0.5f / 448.0f));
    const uint8_t grp[4] = {0x71, 0xfe, 0x7e, 0x76}; /* 149.3 -> 144, -448 | 448 224 */
    ck_assert(memcmp(q->codes, grp, 4) == 0);
    sq_qtensor_free(q);
    /* fp4 per channel along an odd last axis: nibbles cross channel borders */
    const float u[9] = {1, 2, 3, -4, 5, 6, 7, 8, -9};
    size_t s3[2] = {3, 3};
    sq_tensor *x3 = tu_tensor(s3, 2, u);
    cfg = sq_qconfig_for_format(SQ_FORMAT_FP4_E2M1);
    cfg.granularity = SQ_GRAN_CHANNEL;
    cfg.axis = 1;
    q = quantize_ok(x3, &cfg);
    ck_assert_uint_eq(q->code_bytes, 5);
    xh = dequantize_ok(q);
    for (int i = 0; i < 9; i++) {
        float s = (float)q->scales[i % 3];
        float want = sq_fp4_e2m1_decode((uint8_t)sq_fp4_e2m1_encode(u[i] / s)) * s;
        ck_assert_float_eq(xh->data[i], want);
        ck_assert_int_eq(sq_qtensor_code(q, (size_t)i), sq_fp4_e2m1_encode(u[i] / s));
    }
    ck_assert(q->scales[0] == (double)(7.0f / 6.0f) && q->scales[2] == 1.5);
    sq_tensor_free(xh);
    sq_qtensor_free(q);
    /* fp4 per group of 5: runs with odd heads, even middles and odd tails */
    sq_tensor *x4 = randn_tensor(2, 15, 3, 1.0f);
    cfg.granularity = SQ_GRAN_GROUP;
    cfg.group_size = 5;
    q = quantize_ok(x4, &cfg);
    xh = dequantize_ok(q);
    for (size_t i = 0; i < 30; i++) {
        float s = (float)q->scales[i / 5], r = x4->data[i] / s;
        ck_assert_int_eq(sq_qtensor_code(q, i), sq_fp4_e2m1_encode(r));
        ck_assert_float_eq(xh->data[i], sq_fp4_e2m1_decode((uint8_t)sq_fp4_e2m1_encode(r)) * s);
    }
    sq_tensor_free(x4);
    sq_tensor_free(xh);
    sq_qtensor_free(q);
    sq_tensor_free(x);
    sq_tensor_free(x2);
    sq_tensor_free(x3);
}
END_TEST

/* A one-block tensor of format f from hand-written bytes. */
static sq_qtensor *from_block(sq_format f, const uint8_t *b, size_t nb, size_t n)
{
    sq_qconfig cfg = sq_qconfig_for_format(f);
    size_t shape[1] = {n};
    sq_qtensor *q;
    sq_error err;
    ck_assert_msg(sq_qtensor_from_format_bytes(&cfg, shape, 1, SQ_DTYPE_F32, b, nb, NULL, NULL, 0, 1.0, &q,
                                               &err) == SQ_OK, "%s", err.msg);
    return q;
}

START_TEST(codes_of_hand_built_blocks)
{
    uint8_t b[256];
    /* q4_0: d = 1 (half 0x3c00); qs[j] = j | (15 - j) << 4: element j < 16 is
     * the low nibble of qs[j], element j + 16 the high nibble; value d (c - 8) */
    memset(b, 0, sizeof b);
    b[1] = 0x3c;
    for (int j = 0; j < 16; j++)
        b[2 + j] = (uint8_t)(j | (15 - j) << 4);
    sq_qtensor *q = from_block(SQ_FORMAT_Q4_0, b, 18, 32);
    sq_tensor *xh = dequantize_ok(q);
    for (int j = 0; j < 32; j++) {
        int c = j < 16 ? j : 15 - (j - 16);
        ck_assert_int_eq(sq_qtensor_code(q, (size_t)j), c);
        ck_assert_float_eq(xh->data[j], (float)(c - 8));
    }
    ck_assert(q->scales[0] == 1.0);
    sq_tensor_free(xh);
    sq_qtensor_free(q);
    /* q4_k: d = 1, dmin = 0, every 6-bit sub-block scale 1 and min 0
     * (scales[0..3] = 1, scales[8..11] = 1); qs at 16: element 64g + r is
     * the low (r < 32) or high nibble of qs[32g + r % 32]; value = code */
    memset(b, 0, sizeof b);
    b[1] = 0x3c;
    for (int j = 0; j < 4; j++)
        b[4 + j] = 1, b[12 + j] = 1;
    for (int k = 0; k < 128; k++)
        b[16 + k] = (uint8_t)((k * 5 + 1) & 15) | (uint8_t)(((k * 3 + 7) & 15) << 4);
    q = from_block(SQ_FORMAT_Q4_K, b, 144, 256);
    xh = dequantize_ok(q);
    for (int e = 0; e < 256; e++) {
        int g = e / 64, r = e % 64, byte = b[16 + 32 * g + r % 32];
        int c = r < 32 ? byte & 15 : byte >> 4;
        ck_assert_int_eq(sq_qtensor_code(q, (size_t)e), c);
        ck_assert_float_eq(xh->data[e], (float)c);
    }
    sq_tensor_free(xh);
    sq_qtensor_free(q);
    /* q6_k: ql[128] qh[64] scales[16] d: element 128n + 32k + l takes the
     * low (k < 2) or high nibble of ql[64n + 32(k & 1) + l] and bits 2k..2k+1
     * of qh[32n + l]; scales 1, d = 1: value = code - 32 */
    memset(b, 0, sizeof b);
    for (int k = 0; k < 128; k++)
        b[k] = (uint8_t)(k * 37 + 11);
    for (int k = 0; k < 64; k++)
        b[128 + k] = (uint8_t)(k * 53 + 5);
    for (int k = 0; k < 16; k++)
        b[192 + k] = 1;
    b[209] = 0x3c;
    q = from_block(SQ_FORMAT_Q6_K, b, 210, 256);
    xh = dequantize_ok(q);
    for (int e = 0; e < 256; e++) {
        int n = e / 128, k = (e % 128) / 32, l = e % 32, lo = b[64 * n + 32 * (k & 1) + l];
        int c = (k < 2 ? lo & 15 : lo >> 4) | ((b[128 + 32 * n + l] >> (2 * k)) & 3) << 4;
        ck_assert_int_eq(sq_qtensor_code(q, (size_t)e), c);
        ck_assert_float_eq(xh->data[e], (float)(c - 32));
    }
    sq_tensor_free(xh);
    sq_qtensor_free(q);
    /* q3_k: hmask[32] qs[64] scales[12] d: element 128n + 32j + l takes bits
     * 2j..2j+1 of qs[32n + l] and, as bit 2, bit 4n + j of hmask[l]; scales
     * all 0 give sub-block scale 0 - 32: value = -32 (code - 4) */
    memset(b, 0, sizeof b);
    for (int k = 0; k < 32; k++)
        b[k] = (uint8_t)(k * 29 + 3);
    for (int k = 0; k < 64; k++)
        b[32 + k] = (uint8_t)(k * 71 + 13);
    b[109] = 0x3c;
    q = from_block(SQ_FORMAT_Q3_K, b, 110, 256);
    xh = dequantize_ok(q);
    for (int e = 0; e < 256; e++) {
        int n = e / 128, j = (e % 128) / 32, l = e % 32;
        int c = ((b[32 + 32 * n + l] >> (2 * j)) & 3) | ((b[l] >> (4 * n + j)) & 1) << 2;
        ck_assert_int_eq(sq_qtensor_code(q, (size_t)e), c);
        ck_assert_float_eq(xh->data[e], -32.0f * (float)(c - 4));
    }
    float lv[8];
    ck_assert_uint_eq(sq_qtensor_levels(q, 77, lv, 8), 8);
    for (int c = 0; c < 8; c++)
        ck_assert_float_eq(lv[c], -32.0f * (float)(3 - c));
    sq_tensor_free(xh);
    sq_qtensor_free(q);
    /* q8_0: the int8 plus 128; signed codes are the int8 itself */
    memset(b, 0, sizeof b);
    b[1] = 0x3c;
    for (int j = 0; j < 32; j++)
        b[2 + j] = (uint8_t)(int8_t)(j * 8 - 128);
    q = from_block(SQ_FORMAT_Q8_0, b, 34, 32);
    int8_t sc[32];
    sq_qtensor_codes(q, 0, 32, sc);
    for (int j = 0; j < 32; j++) {
        ck_assert_int_eq(sq_qtensor_code(q, (size_t)j), j * 8);
        ck_assert_int_eq(sc[j], j * 8 - 128);
    }
    sq_qtensor_free(q);
}
END_TEST

/* The statistics of a format against a scalar double reference. */
static void check_stats(const sq_tensor *x, const sq_qconfig *cfg)
{
    sq_error err;
    sq_qtensor *q;
    sq_stats st, rt;
    sq_hist h = {0}, h2 = {0};
    size_t ns = sq_qconfig_scale_count(cfg, x->shape, x->ndim), nl = (size_t)1 << cfg->bits;
    double *imse = calloc(ns, sizeof(double)), *imse2 = calloc(ns, sizeof(double)), *ref = calloc(ns, sizeof(double));
    uint64_t *cc = calloc(nl, sizeof(uint64_t)), *cc2 = calloc(nl, sizeof(uint64_t)), *cc3 = calloc(nl, sizeof(uint64_t));
    sq_stats_opts o = sq_stats_opts_default();
    o.index_mse = imse;
    o.code_counts = cc;
    ck_assert_msg(sq_quantize_stats(x, cfg, &o, &q, &st, &h, &err) == SQ_OK, "%s", err.msg);
    ck_assert_int_eq(sq_roundtrip_stats(x, q, NULL, &rt, &h2, &err), SQ_OK);
    sq_tensor *xh = dequantize_ok(q);
    double e2 = 0, x2 = 0, ae = 0, emin = INFINITY, emax = -INFINITY;
    for (size_t i = 0; i < x->numel; i++) {
        double e = (double)x->data[i] - (double)xh->data[i];
        e2 += e * e;
        x2 += (double)x->data[i] * x->data[i];
        ae += fabs(e);
        emin = e < emin ? e : emin;
        emax = e > emax ? e : emax;
        ref[sq_qtensor_scale_index(q, i)] += e * e;
        cc3[sq_qtensor_code(q, i)]++;
    }
    double n = (double)x->numel, tol = 1e-12;
    const sq_stats *s2[2] = {&st, &rt};
    for (int k = 0; k < 2; k++) {
        const sq_stats *s = s2[k];
        ck_assert_double_eq_tol(s->mse, e2 / n, tol * e2 / n);
        ck_assert_double_eq_tol(s->mean_abs_err, ae / n, tol * ae / n);
        ck_assert_double_eq_tol(s->sum_x2, x2, tol * x2);
        ck_assert_double_eq_tol(s->sqnr_db, 10 * log10(x2 / e2), 1e-9);
        ck_assert(s->err_min == emin && s->err_max == emax); /* extremes are exact */
        ck_assert(s->max_abs_err == fmax(-emin, emax));
        ck_assert_uint_eq(s->clipped, q->n_clipped);
        ck_assert_uint_eq(s->size_bytes, q->code_bytes);
        ck_assert(s->bits_per_weight == 8.0 * (double)sq_qtensor_storage_bytes(q) / n);
        ck_assert(s->bits_per_weight_f16 == s->bits_per_weight);
        ck_assert(s->cosine > 0.9 && s->cosine <= 1.0);
    }
    /* the fused pass and the separate one sum in the same order */
    ck_assert(st.mse == rt.mse && st.sum_e2 == rt.sum_e2 && st.cosine == rt.cosine);
    /* histogram: the data range, every value in a bin, the same both ways */
    ck_assert(h.hi == fmax(-emin, emax) && h.lo == -h.hi);
    uint64_t total = 0;
    for (int b = 0; b < h.bins; b++) {
        total += h.counts[b];
        ck_assert_uint_eq(h.counts[b], h2.counts[b]);
    }
    ck_assert_uint_eq(total, x->numel);
    ck_assert(h.below == 0 && h.above == 0 && h2.lo == h.lo);
    size_t used = sq_code_histogram(q, cc2), want_used = 0;
    for (size_t k = 0; k < nl; k++)
        want_used += cc3[k] != 0;
    ck_assert_uint_eq(used, want_used);
    for (size_t k = 0; k < nl; k++) {
        ck_assert_uint_eq(cc[k], cc3[k]);
        ck_assert_uint_eq(cc2[k], cc3[k]);
    }
    ck_assert_int_eq(sq_index_mse(x, q, imse2, &err), SQ_OK);
    double per = n / (double)ns;
    for (size_t k = 0; k < ns; k++) {
        ck_assert_double_eq_tol(imse[k], ref[k] / per, 1e-12 * ref[k] / per + 1e-300);
        ck_assert(imse[k] == imse2[k]);
    }
    sq_hist_free(&h);
    sq_hist_free(&h2);
    sq_tensor_free(xh);
    sq_qtensor_free(q);
    free(imse);
    free(imse2);
    free(ref);
    free(cc);
    free(cc2);
    free(cc3);
}

START_TEST(stats_match_reference)
{
    sq_tensor *x = randn_tensor(8, 512, 41, 0.25f);
    for (int f = 1; f < SQ_FORMAT_COUNT; f++) {
        sq_qconfig cfg = sq_qconfig_for_format((sq_format)f);
        check_stats(x, &cfg);
    }
    sq_qconfig cfg = sq_qconfig_for_format(SQ_FORMAT_FP8_E5M2);
    cfg.granularity = SQ_GRAN_CHANNEL;
    cfg.axis = 1;
    check_stats(x, &cfg);
    cfg = sq_qconfig_for_format(SQ_FORMAT_NF4);
    cfg.double_quant = true;
    cfg.group_size = 128;
    check_stats(x, &cfg);
    /* a fixed histogram range is binned in the fused pass */
    sq_stats_opts o = sq_stats_opts_default();
    o.range = SQ_HIST_RANGE_FIXED;
    o.lo = -0.01;
    o.hi = 0.01;
    sq_hist h = {0}, h2 = {0};
    sq_qtensor *q;
    sq_stats st, rt;
    sq_error err;
    cfg = sq_qconfig_for_format(SQ_FORMAT_Q4_K);
    ck_assert_int_eq(sq_quantize_stats(x, &cfg, &o, &q, &st, &h, &err), SQ_OK);
    ck_assert_int_eq(sq_roundtrip_stats(x, q, &o, &rt, &h2, &err), SQ_OK);
    ck_assert(h.lo == -0.01 && h.below == h2.below && h.above == h2.above && h.below + h.above > 0);
    for (int b = 0; b < h.bins; b++)
        ck_assert_uint_eq(h.counts[b], h2.counts[b]);
    sq_hist_free(&h);
    sq_hist_free(&h2);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

/* Clipped counts (formed from each block's scales without decoding) agree
 * with the levels on data whose values sit exactly on levels and on their
 * neighbouring floats: small multiples of powers of two, many of them the
 * extremes of their block, some one ulp beyond. */
START_TEST(clipped_counts_on_level_boundaries)
{
    size_t shape[2] = {4, 512};
    sq_tensor *x;
    sq_error err;
    ck_assert_int_eq(sq_tensor_new(shape, 2, SQ_DTYPE_F32, &x, &err), SQ_OK);
    for (size_t i = 0; i < x->numel; i++) {
        float v = (float)((int)((i * 37) % 17) - 8) * ldexpf(1.0f, (int)(i / 64 % 5) - 2);
        if (i % 29 == 5)
            v = nextafterf(v, v < 0 ? -INFINITY : INFINITY); /* just past a grid value */
        x->data[i] = v;
    }
    for (int f = 1; f < SQ_FORMAT_COUNT; f++) {
        sq_qconfig cfg = sq_qconfig_for_format((sq_format)f);
        sq_qtensor *q = quantize_ok(x, &cfg);
        ck_assert_msg(q->n_clipped == clipped_by_levels(x, q), "%s: %zu clipped, the levels say %zu",
                      sq_format_name((sq_format)f), q->n_clipped, clipped_by_levels(x, q));
        sq_qtensor_free(q);
    }
    sq_tensor_free(x);
}
END_TEST

/* Codes and statistics are the same with one thread and with three, on a
 * tensor of several parts (SQ_PART = 2^18 elements). */
START_TEST(threads_do_not_matter)
{
    sq_tensor *x = randn_tensor(120, 6400, 51, 1.0f);
    sq_qconfig cfgs[4] = {sq_qconfig_for_format(SQ_FORMAT_Q4_K), sq_qconfig_for_format(SQ_FORMAT_NF4),
                          sq_qconfig_for_format(SQ_FORMAT_FP8_E4M3), sq_qconfig_for_format(SQ_FORMAT_NVFP4)};
    cfgs[1].double_quant = true;
    cfgs[1].group_size = 100; /* parts of 262100 elements */
    cfgs[2].granularity = SQ_GRAN_CHANNEL;
    cfgs[2].axis = 1;
    for (int c = 0; c < 4; c++) {
        sq_qtensor *q[2];
        sq_stats st[2];
        sq_error err;
        sq_hist h[2];
        size_t ns = sq_qconfig_scale_count(&cfgs[c], x->shape, 2), nl = (size_t)1 << cfgs[c].bits;
        double *im[2] = {calloc(ns, sizeof(double)), calloc(ns, sizeof(double))};
        uint64_t cc[2][256];
        sq_tensor *xh[2];
        for (int t = 0; t < 2; t++) {
            sq_stats_opts o = sq_stats_opts_default();
            o.index_mse = im[t];
            o.code_counts = cc[t];
            sq_threads_set(t ? 3 : 1);
            ck_assert_int_eq(sq_quantize_stats(x, &cfgs[c], &o, &q[t], &st[t], &h[t], &err), SQ_OK);
            xh[t] = dequantize_ok(q[t]);
        }
        sq_threads_set(0);
        ck_assert(memcmp(xh[0]->data, xh[1]->data, x->numel * sizeof(float)) == 0);
        ck_assert(memcmp(im[0], im[1], ns * sizeof(double)) == 0);
        ck_assert(memcmp(cc[0], cc[1], nl * sizeof(uint64_t)) == 0);
        ck_assert(memcmp(h[0].counts, h[1].counts, (size_t)h[0].bins * sizeof(uint64_t)) == 0 && h[0].hi == h[1].hi);
        for (int t = 0; t < 2; t++) {
            sq_tensor_free(xh[t]);
            sq_hist_free(&h[t]);
            free(im[t]);
        }
        ck_assert_uint_eq(q[0]->code_bytes, q[1]->code_bytes);
        ck_assert(memcmp(q[0]->codes, q[1]->codes, q[0]->code_bytes) == 0);
        ck_assert(memcmp(q[0]->scales, q[1]->scales, q[0]->n_scales * sizeof(double)) == 0);
        ck_assert(memcmp(&st[0], &st[1], sizeof st[0]) == 0);
        ck_assert_uint_eq(q[0]->n_clipped, q[1]->n_clipped);
        sq_qtensor_free(q[0]);
        sq_qtensor_free(q[1]);
    }
    sq_tensor_free(x);
}
END_TEST

static void expect_error(const sq_tensor *x, const sq_qconfig *cfg, const char *word)
{
    sq_qtensor *q = (sq_qtensor *)1;
    sq_error err;
    ck_assert_int_eq(sq_quantize(x, cfg, &q, &err), SQ_ERR_ARG);
    ck_assert(q == NULL);
    ck_assert_msg(strstr(err.msg, word) != NULL, "'%s' not in '%s'", word, err.msg);
}

START_TEST(config_errors_name_the_field)
{
    sq_tensor *x = randn_tensor(2, 256, 61, 1.0f);
    sq_qconfig cfg = sq_qconfig_for_format(SQ_FORMAT_Q4_K);
    cfg.bits = 3;
    expect_error(x, &cfg, "bits");
    cfg = sq_qconfig_for_format(SQ_FORMAT_Q4_0);
    cfg.granularity = SQ_GRAN_CHANNEL;
    expect_error(x, &cfg, "granularity");
    cfg = sq_qconfig_for_format(SQ_FORMAT_FP8_E4M3);
    cfg.calibration = SQ_CALIB_MSE;
    expect_error(x, &cfg, "calibration");
    cfg = sq_qconfig_for_format(SQ_FORMAT_Q4_1);
    cfg.mode = SQ_MODE_SYMMETRIC;
    expect_error(x, &cfg, "mode");
    cfg = sq_qconfig_for_format(SQ_FORMAT_MXFP4);
    cfg.double_quant = true;
    expect_error(x, &cfg, "double_quant");
    cfg = sq_qconfig_for_format(SQ_FORMAT_NF4);
    cfg.group_size = 3;
    expect_error(x, &cfg, "group_size");
    size_t odd[2] = {2, 48};
    sq_tensor *y;
    sq_error err;
    ck_assert_int_eq(sq_tensor_new(odd, 2, SQ_DTYPE_F32, &y, &err), SQ_OK);
    cfg = sq_qconfig_for_format(SQ_FORMAT_Q4_0); /* 48 is not a multiple of 32 */
    expect_error(y, &cfg, "group_size");
    /* from_parts refuses formats */
    int8_t codes[512] = {0};
    double s[16] = {1}, z[16] = {0};
    sq_qtensor *q;
    cfg = sq_qconfig_for_format(SQ_FORMAT_Q4_0);
    ck_assert_int_eq(sq_qtensor_from_parts(&cfg, x->shape, 2, SQ_DTYPE_F32, codes, s, z, &q, &err), SQ_ERR_ARG);
    ck_assert(strstr(err.msg, "q4_0") && strstr(err.msg, "from_format_bytes"));
    sq_tensor_free(y);
    sq_tensor_free(x);
}
END_TEST

START_TEST(from_format_bytes_round_trip)
{
    sq_tensor *x = randn_tensor(4, 256, 71, 1.0f);
    for (int f = 1; f < SQ_FORMAT_COUNT; f++)
        for (int dq = 0; dq < 1 + (f == SQ_FORMAT_NF4); dq++) {
            sq_qconfig cfg = sq_qconfig_for_format((sq_format)f);
            cfg.double_quant = dq;
            if (f == SQ_FORMAT_FP4_E2M1) {
                cfg.granularity = SQ_GRAN_GROUP;
                cfg.group_size = 16;
            }
            sq_qtensor *q = quantize_ok(x, &cfg), *r;
            sq_error err;
            const sq_format_info *fi = sq_format_info_of(f);
            const double *sc = fi->any_granularity || (f == SQ_FORMAT_NF4 && !dq) ? q->scales : NULL;
            ck_assert_msg(sq_qtensor_from_format_bytes(&q->config, q->shape, q->ndim, SQ_DTYPE_BF16, q->codes,
                                                       q->code_bytes, sc, q->aux, q->aux_bytes, q->tensor_scale,
                                                       &r, &err) == SQ_OK, "%s: %s", fi->name, err.msg);
            ck_assert_int_eq(r->orig_dtype, SQ_DTYPE_BF16);
            ck_assert(memcmp(q->scales, r->scales, q->n_scales * sizeof(double)) == 0);
            ck_assert(memcmp(q->zero_points, r->zero_points, q->n_scales * sizeof(double)) == 0);
            ck_assert(q->tensor_scale == r->tensor_scale && q->aux_bytes == r->aux_bytes);
            ck_assert_uint_eq(sq_qtensor_storage_bytes(q), sq_qtensor_storage_bytes(r));
            sq_tensor *a = dequantize_ok(q), *b = dequantize_ok(r);
            assert_same_floats(a->data, b->data, a->numel, fi->name);
            sq_tensor_free(a);
            sq_tensor_free(b);
            sq_qtensor_free(r);
            if (sc) { /* a scale that is 0 as a float32 */
                double *bad = malloc(q->n_scales * sizeof(double));
                memcpy(bad, q->scales, q->n_scales * sizeof(double));
                bad[q->n_scales - 1] = f == SQ_FORMAT_NF4 ? 1e300 : 1e-300;
                ck_assert_int_eq(sq_qtensor_from_format_bytes(&q->config, q->shape, q->ndim, SQ_DTYPE_F32, q->codes,
                                                              q->code_bytes, bad, NULL, 0, 1.0, &r, &err),
                                 SQ_ERR_ARG);
                char want[32];
                snprintf(want, sizeof want, "scale %zu is", q->n_scales); /* 1-based */
                ck_assert_msg(strstr(err.msg, want), "%s", err.msg);
                free(bad);
            }
            /* sizes that do not fit */
            ck_assert_int_eq(sq_qtensor_from_format_bytes(&q->config, q->shape, q->ndim, SQ_DTYPE_F32, q->codes,
                                                          q->code_bytes - 1, sc, q->aux, q->aux_bytes,
                                                          q->tensor_scale, &r, &err), SQ_ERR_ARG);
            ck_assert(r == NULL && strstr(err.msg, "code bytes"));
            if (dq) {
                ck_assert_int_eq(sq_qtensor_from_format_bytes(&q->config, q->shape, q->ndim, SQ_DTYPE_F32, q->codes,
                                                              q->code_bytes, NULL, q->aux, q->aux_bytes - 1, 1.0,
                                                              &r, &err), SQ_ERR_ARG);
            }
            if (sc) {
                ck_assert_int_eq(sq_qtensor_from_format_bytes(&q->config, q->shape, q->ndim, SQ_DTYPE_F32, q->codes,
                                                              q->code_bytes, NULL, NULL, 0, 1.0, &r, &err),
                                 SQ_ERR_ARG);
                ck_assert(strstr(err.msg, "scales"));
            }
            sq_qtensor_free(q);
        }
    sq_tensor_free(x);
}
END_TEST

START_TEST(nonfinite_refused)
{
    sq_tensor *x = randn_tensor(2, 256, 81, 1.0f);
    for (int f = 1; f < SQ_FORMAT_COUNT; f++)
        for (int bad = 0; bad < 2; bad++) {
            x->data[300] = bad ? INFINITY : NAN;
            sq_qconfig cfg = sq_qconfig_for_format((sq_format)f);
            sq_qtensor *q = (sq_qtensor *)1;
            sq_stats st;
            sq_error err;
            ck_assert_int_eq(sq_quantize(x, &cfg, &q, &err), SQ_ERR_NONFINITE);
            ck_assert(q == NULL && strstr(err.msg, "301"));
            ck_assert_int_eq(sq_quantize_stats(x, &cfg, NULL, &q, &st, NULL, &err), SQ_ERR_NONFINITE);
            ck_assert(q == NULL);
        }
    sq_tensor_free(x);
}
END_TEST

START_TEST(empty_and_storage)
{
    size_t shape[2] = {0, 256};
    sq_tensor *x;
    sq_error err;
    ck_assert_int_eq(sq_tensor_new(shape, 2, SQ_DTYPE_F32, &x, &err), SQ_OK);
    for (int f = 1; f < SQ_FORMAT_COUNT; f++) {
        sq_qconfig cfg = sq_qconfig_for_format((sq_format)f);
        sq_qtensor *q;
        sq_stats st;
        ck_assert_int_eq(sq_quantize_stats(x, &cfg, NULL, &q, &st, NULL, &err), SQ_OK);
        ck_assert(q->numel == 0 && q->code_bytes == 0 && st.numel == 0 && isinf(st.sqnr_db));
        sq_qtensor_free(q);
    }
    sq_qconfig dq = sq_qconfig_for_format(SQ_FORMAT_NF4); /* no blocks: only the offset */
    dq.double_quant = true;
    sq_qtensor *e = quantize_ok(x, &dq);
    ck_assert(e->n_scales == 0 && e->aux_bytes == 4);
    sq_qtensor_free(e);
    sq_tensor_free(x);
    /* storage: q4_k 144 bytes per 256; fp8 per channel: 1 byte + 4 per scale; nvfp4: 9 per 16 + 4 */
    sq_tensor *y = randn_tensor(2, 256, 91, 1.0f);
    sq_qconfig cfg = sq_qconfig_for_format(SQ_FORMAT_Q4_K);
    sq_qtensor *q = quantize_ok(y, &cfg);
    ck_assert_uint_eq(sq_qtensor_storage_bytes(q), 288);
    ck_assert_double_eq(sq_qtensor_bits_per_weight(q, SQ_SCALE_F32), 4.5);
    sq_qtensor_free(q);
    cfg = sq_qconfig_for_format(SQ_FORMAT_FP8_E4M3);
    cfg.granularity = SQ_GRAN_CHANNEL;
    q = quantize_ok(y, &cfg);
    ck_assert_uint_eq(sq_qtensor_storage_bytes(q), 512 + 8);
    sq_qtensor_free(q);
    cfg = sq_qconfig_for_format(SQ_FORMAT_NVFP4);
    q = quantize_ok(y, &cfg);
    ck_assert_uint_eq(sq_qtensor_storage_bytes(q), 32 * 9 + 4);
    sq_qtensor_free(q);
    sq_tensor_free(y);
}
END_TEST

/* sq_quantize_visit's chunk visitor (quant_int.h) sees every element's
 * signed code once, in order within a part. */
typedef struct seen {
    int8_t *codes;
    size_t count;
} seen;

static void seen_visit(void *ctx, const sq_part *p, const sq_qtensor *q, size_t start, size_t n, const int8_t *codes)
{
    seen *s = ctx;
    (void)q;
    ck_assert(start >= p->start && start + n <= p->end && n <= SQ_CHUNK);
    memcpy(s->codes + start, codes, n);
    s->count += n;
}

START_TEST(visit_hooks_see_codes)
{
    sq_tensor *x = randn_tensor(3, 8192, 101, 1.0f);
    const sq_format fs[3] = {SQ_FORMAT_Q5_K, SQ_FORMAT_NF4, SQ_FORMAT_FP8_E5M2};
    for (int f = 0; f < 3; f++) {
        sq_qconfig cfg = sq_qconfig_for_format(fs[f]);
        cfg.group_size = fs[f] == SQ_FORMAT_NF4 ? 4096 : cfg.group_size; /* nf4: chunks above SQ_CHUNK */
        seen s = {malloc(x->numel), 0};
        sq_quant_hooks h = {.ctx = &s, .visit = seen_visit};
        sq_qtensor *q;
        sq_error err;
        ck_assert_int_eq(sq_quantize_visit(x, &cfg, &h, &q, &err), SQ_OK);
        ck_assert_uint_eq(s.count, x->numel);
        int8_t *want = malloc(x->numel);
        sq_qtensor_codes(q, 0, x->numel, want);
        ck_assert(memcmp(want, s.codes, x->numel) == 0);
        free(want);
        free(s.codes);
        sq_qtensor_free(q);
    }
    sq_tensor_free(x);
}
END_TEST

/* sq_format_codes (whole blocks at once where it can) equals sq_format_code
 * element by element, for every format over random ranges: partial first
 * and last blocks, ranges inside one block, whole blocks, the whole tensor. */
START_TEST(format_codes_match_code)
{
    sq_tensor *x = randn_tensor(4, 1024, 71, 0.5f);
    sq_rng r;
    sq_rng_seed(&r, 73);
    uint8_t *got = malloc(x->numel);
    ck_assert(got != NULL);
    for (int f = 1; f < SQ_FORMAT_COUNT; f++) {
        sq_qconfig cfg = sq_qconfig_for_format((sq_format)f);
        sq_qtensor *q = quantize_ok(x, &cfg);
        for (int t = 0; t < 300; t++) {
            size_t a, n;
            if (t == 0)
                a = 0, n = x->numel;
            else if (t < 100) /* short ranges: inside a block or across one boundary */
                a = sq_rng_next(&r) % x->numel, n = sq_rng_next(&r) % 300;
            else
                a = sq_rng_next(&r) % x->numel, n = sq_rng_next(&r) % x->numel;
            n = n > x->numel - a ? x->numel - a : n;
            memset(got, 0xAA, x->numel);
            sq_format_codes(q, a, n, got);
            for (size_t i = 0; i < n; i++)
                ck_assert_msg(got[i] == sq_format_code(q, a + i), "%s: [%zu, %zu) element %zu: %u, want %u",
                              sq_format_name((sq_format)f), a, a + n, a + i, got[i], sq_format_code(q, a + i));
            for (size_t i = n; i < x->numel && i < n + 64; i++) /* nothing written past the range */
                ck_assert_uint_eq(got[i], 0xAA);
        }
        sq_qtensor_free(q);
    }
    free(got);
    sq_tensor_free(x);
}
END_TEST

/* Per-index errors of sq_quantize_stats (summed in its visitor where no
 * index spans two parts, else by sq_index_mse) are exactly sq_index_mse's on
 * its result, with one thread and with three, and sq_index_mse's are exactly
 * the squared errors added per index in element order; the code counts are
 * sq_code_histogram's. Tensors of two or three parts; layouts with and
 * without indices spanning parts. */
static void check_index_mse(const sq_tensor *x, const sq_qconfig *cfg)
{
    const char *name = sq_format_name(cfg->format);
    size_t ns = sq_qconfig_scale_count(cfg, x->shape, x->ndim), nl = (size_t)1 << cfg->bits;
    double *im = malloc(ns * sizeof(double)), *want = malloc(ns * sizeof(double)), *ref = calloc(ns, sizeof(double));
    uint64_t cc[256], cw[256];
    ck_assert(im && want && ref);
    for (int t = 0; t < 3; t++) { /* 1 thread, 3 threads, 3 threads without a histogram (no kept x_hat) */
        sq_stats_opts o = sq_stats_opts_default();
        sq_qtensor *q;
        sq_stats st;
        sq_hist h = {0};
        sq_error err;
        for (size_t k = 0; k < ns; k++)
            im[k] = -1.0; /* every entry must be written */
        o.index_mse = im;
        o.code_counts = cc;
        sq_threads_set(t ? 3 : 1);
        ck_assert_msg(sq_quantize_stats(x, cfg, &o, &q, &st, t < 2 ? &h : NULL, &err) == SQ_OK, "%s: %s", name,
                      err.msg);
        sq_threads_set(0);
        ck_assert_uint_eq(q->n_scales, ns);
        ck_assert_int_eq(sq_index_mse(x, q, want, &err), SQ_OK);
        ck_assert_msg(memcmp(im, want, ns * sizeof(double)) == 0, "%s (run %d): per-index errors differ", name,
                      t + 1);
        sq_code_histogram(q, cw);
        ck_assert_msg(memcmp(cc, cw, nl * sizeof(uint64_t)) == 0, "%s: code counts differ", name);
        if (t == 0) {
            sq_tensor *xh = dequantize_ok(q);
            for (size_t i = 0; i < x->numel; i++) {
                double e = (double)x->data[i] - (double)xh->data[i];
                ref[sq_qtensor_scale_index(q, i)] += e * e;
            }
            double per = (double)(x->numel / ns);
            for (size_t k = 0; k < ns; k++)
                ck_assert_msg(memcmp(&(double){ref[k] / per}, &want[k], sizeof(double)) == 0,
                              "%s: index %zu: %.17g, want %.17g", name, k, want[k], ref[k] / per);
            sq_tensor_free(xh);
        }
        if (t < 2)
            sq_hist_free(&h);
        sq_qtensor_free(q);
    }
    free(im);
    free(want);
    free(ref);
}

START_TEST(index_mse_fused_equals_separate)
{
    sq_tensor *x = randn_tensor(128, 4096, 81, 1.0f); /* two parts */
    for (int f = 1; f < SQ_FORMAT_COUNT; f++) {
        sq_qconfig cfg = sq_qconfig_for_format((sq_format)f); /* fp8 / fp4 per-tensor: one index over both */
        check_index_mse(x, &cfg);
    }
    sq_qconfig cfg = sq_qconfig_for_format(SQ_FORMAT_FP8_E4M3);
    cfg.granularity = SQ_GRAN_GROUP;
    cfg.group_size = 64; /* runs of 64, eight side by side */
    check_index_mse(x, &cfg);
    cfg.granularity = SQ_GRAN_CHANNEL;
    cfg.axis = 0; /* runs of 4096: rows never span parts */
    check_index_mse(x, &cfg);
    cfg.axis = 1; /* every channel in every part */
    check_index_mse(x, &cfg);
    cfg = sq_qconfig_for_format(SQ_FORMAT_FP4_E2M1);
    cfg.granularity = SQ_GRAN_GROUP;
    cfg.group_size = 8;
    check_index_mse(x, &cfg);
    cfg = sq_qconfig_for_format(SQ_FORMAT_NF4);
    cfg.double_quant = true; /* the visitor runs after every block's absmax is known */
    check_index_mse(x, &cfg);
    sq_tensor_free(x);
    x = randn_tensor(120, 6400, 83, 1.0f); /* three parts; rows of 6400 span part boundaries */
    cfg = sq_qconfig_for_format(SQ_FORMAT_NF4);
    cfg.group_size = 100; /* parts of 262100 elements */
    check_index_mse(x, &cfg);
    cfg = sq_qconfig_for_format(SQ_FORMAT_FP8_E5M2);
    cfg.granularity = SQ_GRAN_CHANNEL;
    cfg.axis = 0;
    check_index_mse(x, &cfg);
    cfg.granularity = SQ_GRAN_GROUP;
    cfg.group_size = 100; /* a group across the first part boundary */
    check_index_mse(x, &cfg);
    cfg = sq_qconfig_for_format(SQ_FORMAT_Q6_K);
    check_index_mse(x, &cfg);
    sq_tensor_free(x);
}
END_TEST

static Suite *qformat_suite(void)
{
    Suite *s = suite_create("qformat");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, block_formats_match_row_kernels);
    tcase_add_test(tc, block_display_scales);
    tcase_add_test(tc, elem_formats_match_row_kernels);
    tcase_add_test(tc, nf4_matches_kernels);
    tcase_add_test(tc, fp8_channel_group_by_hand);
    tcase_add_test(tc, codes_of_hand_built_blocks);
    tcase_add_test(tc, stats_match_reference);
    tcase_add_test(tc, threads_do_not_matter);
    tcase_add_test(tc, clipped_counts_on_level_boundaries);
    tcase_add_test(tc, config_errors_name_the_field);
    tcase_add_test(tc, from_format_bytes_round_trip);
    tcase_add_test(tc, nonfinite_refused);
    tcase_add_test(tc, empty_and_storage);
    tcase_add_test(tc, visit_hooks_see_codes);
    tcase_add_test(tc, format_codes_match_code);
    tcase_add_test(tc, index_mse_fused_equals_separate);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(qformat_suite)
