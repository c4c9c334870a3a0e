/*
 * elemfmt.c - the table of float element and codebook formats and the
 * checked entry points (see elemfmt.h). The kernels live in fmt_fp.c and
 * fmt_nf4.c.
 */
#include "elemfmt.h"

#include <float.h>
#include <math.h>
#include <strings.h>

#include "fmt_int.h"
#include "simd.h"

typedef struct fmt_kernel {
    sq_elemfmt_info info;
    sq_fmt_enc_fn enc;
    sq_fmt_dec_fn dec;
    float fmax;      /* largest element magnitude: the out-of-row scale's divisor (0: unused) */
    uint8_t maxcode; /* largest positive finite element code (for the levels) */
    float (*elem)(uint8_t);
} fmt_kernel;

#define BPW(bytes, block) (8.0 * (bytes) / (block))
#define KERNEL(F, nm, blk, bytes, lv, sd, fn, fmax, maxc, elem) \
    { {F, nm, blk, bytes, BPW(bytes, blk), lv, sd}, sq_fmt_##fn##_enc, sq_fmt_##fn##_dec, fmax, maxc, elem }

static const fmt_kernel kernels[SQ_ELEMFMT_COUNT] = {
    KERNEL(SQ_ELEM_FP8_E4M3, "fp8_e4m3", 1, 1, 253, "fp32 per tensor/channel/group", e4m3, 448.0f, 0x7e,
           sq_fp8_e4m3_decode),
    KERNEL(SQ_ELEM_FP8_E5M2, "fp8_e5m2", 1, 1, 247, "fp32 per tensor/channel/group", e5m2, 57344.0f, 0x7b,
           sq_fp8_e5m2_decode),
    KERNEL(SQ_ELEM_FP4_E2M1, "fp4_e2m1", 2, 1, 15, "fp32 per tensor/channel/group", e2m1, 6.0f, 7,
           sq_fp4_e2m1_decode),
    KERNEL(SQ_ELEM_NF4, "nf4", 64, 36, 16, "fp32 absmax per 64", nf4, 0.0f, 0, sq_nf4_value),
    KERNEL(SQ_ELEM_MXFP4, "mxfp4", 32, 17, 15, "E8M0 per 32", mxfp4, 0.0f, 7, sq_fp4_e2m1_decode),
    KERNEL(SQ_ELEM_MXFP8, "mxfp8", 32, 33, 253, "E8M0 per 32", mxfp8, 0.0f, 0x7e, sq_fp8_e4m3_decode),
    KERNEL(SQ_ELEM_NVFP4, "nvfp4", 16, 9, 15, "E4M3 per 16 + fp32 per tensor", nvfp4, 448.0f * 6.0f, 7,
           sq_fp4_e2m1_decode),
};

/* A chunk of m floats holds a NaN or Inf when the largest of their bit
 * patterns without the sign reaches the all-ones exponent (an integer max,
 * which vectorizes well); then the index is found in that chunk. */
SQ_HOT size_t sq_fmt_first_nonfinite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i += 256) {
        size_t m = n - i < 256 ? n - i : 256;
        uint32_t top = 0;
        for (size_t k = 0; k < m; k++) {
            uint32_t u;
            memcpy(&u, &x[i + k], sizeof u);
            u &= 0x7fffffffu;
            top = u > top ? u : top;
        }
        if (top >= 0x7f800000u)
            for (size_t k = 0; k < m; k++)
                if (!isfinite(x[i + k]))
                    return i + k;
    }
    return n;
}

/* The bit pattern of max|x[i]| over i < n (0 for n = 0): above
 * 0x7f800000 - 1 exactly when some x[i] is NaN or Inf (their magnitudes'
 * patterns are the largest). */
SQ_HOT static uint32_t absmax_bits(const float *x, size_t n)
{
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        u &= 0x7fffffffu;
        m = u > m ? u : m;
    }
    return m;
}

const sq_elemfmt_info *sq_elemfmt_info_of(int f)
{
    return f >= 0 && f < SQ_ELEMFMT_COUNT ? &kernels[f].info : NULL;
}

const sq_elemfmt_info *sq_elemfmt_info_at(size_t i)
{
    return i < SQ_ELEMFMT_COUNT ? &kernels[i].info : NULL;
}

sq_status sq_elemfmt_lookup(const char *name, sq_elemfmt *out, sq_error *err)
{
    for (size_t i = 0; name && i < SQ_ELEMFMT_COUNT; i++) {
        if (strcasecmp(name, kernels[i].info.name) == 0) {
            *out = kernels[i].info.fmt;
            return SQ_OK;
        }
    }
    return sq_fail(err, SQ_ERR_NOTFOUND,
                   "unknown element format '%s' (known: fp8_e4m3 fp8_e5m2 fp4_e2m1 nf4 mxfp4 mxfp8 nvfp4)",
                   name ? name : "(null)");
}

float sq_elemfmt_tensor_scale(sq_elemfmt f, float absmax)
{
    const sq_elemfmt_info *i = sq_elemfmt_info_of((int)f);
    if (!i || kernels[f].fmax == 0.0f || !(absmax >= 1e-30f))
        return 1.0f;
    return absmax / kernels[f].fmax;
}

/* The kernel of f, checked against a row of n elements. */
static sq_status checked(sq_elemfmt f, size_t n, const fmt_kernel **out, sq_error *err)
{
    if (!sq_elemfmt_info_of((int)f))
        return sq_fail(err, SQ_ERR_ARG, "unsupported element format %d", (int)f);
    const fmt_kernel *k = &kernels[f];
    if (n % k->info.block != 0)
        return sq_fail(err, SQ_ERR_ARG, "%s: row length %zu is not a multiple of the block size %zu",
                       k->info.name, n, k->info.block);
    *out = k;
    return SQ_OK;
}

/* checked, plus the scale when the format uses one. */
static sq_status checked_scale(sq_elemfmt f, size_t n, float scale, const fmt_kernel **out, sq_error *err)
{
    sq_status st = checked(f, n, out, err);
    if (st == SQ_OK && (*out)->fmax != 0.0f && !(scale > 0.0f && scale <= FLT_MAX))
        return sq_fail(err, SQ_ERR_ARG, "%s: scale %g must be finite and positive", (*out)->info.name,
                       (double)scale);
    return st;
}

sq_status sq_elemfmt_row_bytes(sq_elemfmt f, size_t n, size_t *bytes, sq_error *err)
{
    const fmt_kernel *k;
    sq_status st = checked(f, n, &k, err);
    if (st == SQ_OK)
        *bytes = n / k->info.block * k->info.block_bytes; /* <= 1.125 bytes per element */
    return st;
}

static sq_status nonfinite(const fmt_kernel *k, const float *x, size_t n, sq_error *err)
{
    size_t i = sq_fmt_first_nonfinite(x, n);
    if (i < n)
        return sq_fail(err, SQ_ERR_NONFINITE, "%s: input element %zu is %g (finite values needed)",
                       k->info.name, i + 1, (double)x[i]);
    return SQ_OK;
}

sq_status sq_elemfmt_row_scale(sq_elemfmt f, const float *x, size_t n, float *scale, sq_error *err)
{
    const fmt_kernel *k;
    sq_status st = checked(f, 0, &k, err);
    if (st != SQ_OK)
        return st;
    uint32_t m = absmax_bits(x, n); /* one pass; the check's own only when something is not finite */
    if (m >= 0x7f800000u)
        return nonfinite(k, x, n, err);
    float a;
    memcpy(&a, &m, sizeof a);
    *scale = sq_elemfmt_tensor_scale(f, a);
    return SQ_OK;
}

sq_status sq_elemfmt_encode_row(sq_elemfmt f, const float *x, size_t n, float scale, uint8_t *dst,
                                sq_error *err)
{
    const fmt_kernel *k;
    sq_status st = checked_scale(f, n, scale, &k, err);
    if (st == SQ_OK)
        st = nonfinite(k, x, n, err);
    if (st == SQ_OK)
        k->enc(x, n / k->info.block, scale, dst);
    return st;
}

sq_status sq_elemfmt_decode_row(sq_elemfmt f, const uint8_t *src, size_t n, float scale, float *dst,
                                sq_error *err)
{
    const fmt_kernel *k;
    sq_status st = checked_scale(f, n, scale, &k, err);
    if (st == SQ_OK)
        k->dec(src, n / k->info.block, scale, dst);
    return st;
}

size_t sq_elemfmt_levels(sq_elemfmt f, float scale, float *out, size_t max)
{
    const sq_elemfmt_info *i = sq_elemfmt_info_of((int)f);
    if (!i)
        return 0;
    const fmt_kernel *k = &kernels[f];
    size_t n = 0;
    if (f == SQ_ELEM_NF4) {
        for (uint8_t c = 0; c < 16; c++, n++)
            if (n < max)
                out[n] = k->elem(c) * scale;
        return n;
    }
    for (int c = k->maxcode; c >= 1; c--, n++) /* the negatives, ascending */
        if (n < max)
            out[n] = -k->elem((uint8_t)c) * scale;
    for (int c = 0; c <= k->maxcode; c++, n++)
        if (n < max)
            out[n] = k->elem((uint8_t)c) * scale;
    return n;
}
