/*
 * blk_legacy.c - llama.cpp's original 32-element block formats:
 * Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 (layouts of ggml-common.h, half scales
 * little-endian).
 *
 * The quantizers follow ggml's reference (importance-free) algorithms
 * operation for operation in float32, so they write the same bytes:
 *   Q4_0/Q5_0  d = (the value of largest magnitude) / -8 (-16), codes
 *              trunc(x/d + 8.5) (16.5) capped at 15 (31);
 *   Q4_1/Q5_1  d = (max - min) / 15 (31), m = min, codes trunc((x-m)/d + .5);
 *   Q8_0       d = amax / 127, codes roundf(x/d).
 * Division by d is multiplication by id = 1/d (0 when d is 0), as in ggml.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "blk_int.h"
#include "simd.h"

#define QK 32

/* The element of largest magnitude (the first one on ties); 0 for zeros. */
static float signed_absmax(const float *x)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < QK; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

static void min_max(const float *x, float *mn, float *mx)
{
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (int j = 0; j < QK; j++) {
        if (x[j] < lo)
            lo = x[j];
        if (x[j] > hi)
            hi = x[j];
    }
    *mn = lo;
    *mx = hi;
}

static float inverse(float d)
{
    return d != 0.0f ? 1.0f / d : 0.0f;
}

/* ggml's MIN(cap, (int8_t)v) stored into a uint8_t. */
static uint8_t capped_code(float v, int cap)
{
    return (uint8_t)sq_blk_min(cap, sq_blk_wrap_i8(sq_blk_trunc(v)));
}

/* Whether the codes of a block with scale d and inverse scale id can take
 * the plain conversions below: |id| <= 1e30 means |d| >= 1e-30, a normal
 * float, and d finite means x - min did not overflow, so x * id and
 * (x - min) * id stay within a rounding error of the code range (no Inf, no
 * NaN, nothing a cast could overflow). Otherwise the codes go through
 * capped_code's exact emulation of ggml's casts. */
static int plain_block(float d, float id)
{
    return isfinite(d) && fabsf(id) <= 1e30f;
}

/* capped_code for 0 <= v < 2^31. */
static uint8_t capped_plain(float v, int cap)
{
    int c = (int)v;
    return (uint8_t)(c < cap ? c : cap);
}

/* (int)roundf(v) (half away from zero) for |v| < 2^31; exact: t and v - t
 * are exact in float. */
static int round_plain(float v)
{
    int t = (int)v;
    float f = v - (float)t;
    return t + (f >= 0.5f) - (f <= -0.5f);
}
#if SQ_X86_KERNELS
SQ_AVX512 static void avx_q4_0_blocks(const float *x, size_t nb, uint8_t *dst);
#endif

static void q4_0_block(const float *x, uint8_t *b)
{
    float d = signed_absmax(x) / -8;
    float id = inverse(d);
    sq_blk_put_half(b, d);
    if (plain_block(d, id)) {
        for (int j = 0; j < QK / 2; j++)
            b[2 + j] = (uint8_t)(capped_plain(x[j] * id + 8.5f, 15) | (capped_plain(x[j + QK / 2] * id + 8.5f, 15) << 4));
        return;
    }
    for (int j = 0; j < QK / 2; j++) {
        uint8_t lo = capped_code(x[j] * id + 8.5f, 15);
        uint8_t hi = capped_code(x[j + QK / 2] * id + 8.5f, 15);
        b[2 + j] = (uint8_t)(lo | (hi << 4));
    }
}

SQ_HOT void sq_blk_q4_0_quant(const float *x, size_t nb, uint8_t *dst)
{
#if SQ_X86_KERNELS
    if (sq_blk_lanes_enabled() && sq_use_avx512()) {
        avx_q4_0_blocks(x, nb, dst);
        return;
    }
#endif
    for (size_t i = 0; i < nb; i++)
        q4_0_block(x + i * QK, dst + i * 18);
}

void sq_blk_q4_0_dequant(const uint8_t *src, size_t nb, float *dst)
{
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + i * 18;
        float d = sq_blk_get_half(b), *y = dst + i * QK;
        for (int j = 0; j < QK / 2; j++) {
            y[j] = (float)((b[2 + j] & 0x0f) - 8) * d;
            y[j + QK / 2] = (float)((b[2 + j] >> 4) - 8) * d;
        }
    }
}

static void q4_1_block(const float *x, uint8_t *b)
{
    float mn, mx;
    min_max(x, &mn, &mx);
    float d = (mx - mn) / 15;
    float id = inverse(d);
    sq_blk_put_half(b, d);
    sq_blk_put_half(b + 2, mn);
    if (plain_block(d, id)) {
        for (int j = 0; j < QK / 2; j++)
            b[4 + j] = (uint8_t)(capped_plain((x[j] - mn) * id + 0.5f, 15) |
                                 (capped_plain((x[j + QK / 2] - mn) * id + 0.5f, 15) << 4));
        return;
    }
    for (int j = 0; j < QK / 2; j++) {
        uint8_t lo = capped_code((x[j] - mn) * id + 0.5f, 15);
        uint8_t hi = capped_code((x[j + QK / 2] - mn) * id + 0.5f, 15);
        b[4 + j] = (uint8_t)(lo | (hi << 4));
    }
}

SQ_HOT void sq_blk_q4_1_quant(const float *x, size_t nb, uint8_t *dst)
{
    for (size_t i = 0; i < nb; i++)
        q4_1_block(x + i * QK, dst + i * 20);
}

void sq_blk_q4_1_dequant(const uint8_t *src, size_t nb, float *dst)
{
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + i * 20;
        float d = sq_blk_get_half(b), m = sq_blk_get_half(b + 2), *y = dst + i * QK;
        for (int j = 0; j < QK / 2; j++) {
            y[j] = (float)(b[4 + j] & 0x0f) * d + m;
            y[j + QK / 2] = (float)(b[4 + j] >> 4) * d + m;
        }
    }
}


#define LOW_BITS 0x0101010101010101u

/* Store 32 five-bit codes: low nibbles in qs (element j and j+16 share a
 * byte), fifth bits in the 32-bit little-endian qh (bit j for element j).
 * The fifth bits of eight codes become one byte of qh: each code's bit as
 * the low bit of its byte, gathered into the top byte by one multiplication
 * (byte i lands on bit 56 + i; no two terms share a bit, so no carries). */
static void put_5bit(const uint8_t *c, uint8_t *qh4, uint8_t *qs)
{
    for (int j = 0; j < QK / 2; j++)
        qs[j] = (uint8_t)((c[j] & 0x0f) | ((c[j + QK / 2] & 0x0f) << 4));
    for (int k = 0; k < 4; k++)
        qh4[k] = (uint8_t)((((le64_load(c + 8 * k) >> 4) & LOW_BITS) * 0x0102040810204080u) >> 56);
}

/* The codes put_5bit stored, eight at a time: the low nibbles of eight qs
 * bytes, and bit i of a qh byte spread to byte i (its bit 4). */
static void get_5bit(const uint8_t *qh4, const uint8_t *qs, uint8_t *c)
{
    for (int k = 0; k < 2; k++) {
        uint64_t q = le64_load(qs + 8 * k), lo = q & 0x0F0F0F0F0F0F0F0Fu, hi = (q >> 4) & 0x0F0F0F0F0F0F0F0Fu;
        uint64_t b0 = ((uint64_t)qh4[k] * LOW_BITS) & 0x8040201008040201u; /* byte i: bit i, in place */
        uint64_t b1 = ((uint64_t)qh4[2 + k] * LOW_BITS) & 0x8040201008040201u;
        lo |= (((b0 + 0x7F7F7F7F7F7F7F7Fu) >> 7) & LOW_BITS) << 4; /* a non-zero byte sets its bit 7 */
        hi |= (((b1 + 0x7F7F7F7F7F7F7F7Fu) >> 7) & LOW_BITS) << 4;
        le64_store(c + 8 * k, lo);
        le64_store(c + QK / 2 + 8 * k, hi);
    }
}

static void q5_0_block(const float *x, uint8_t *b)
{
    uint8_t c[QK];
    float d = signed_absmax(x) / -16;
    float id = inverse(d);
    sq_blk_put_half(b, d);
    if (plain_block(d, id))
        for (int j = 0; j < QK; j++)
            c[j] = capped_plain(x[j] * id + 16.5f, 31);
    else
        for (int j = 0; j < QK; j++)
            c[j] = capped_code(x[j] * id + 16.5f, 31);
    put_5bit(c, b + 2, b + 6);
}

#if SQ_X86_KERNELS
SQ_AVX512 static void avx_q5_0_blocks(const float *x, size_t nb, uint8_t *dst);
SQ_AVX512 static void avx_q5_1_blocks(const float *x, size_t nb, uint8_t *dst);
#endif

SQ_HOT void sq_blk_q5_0_quant(const float *x, size_t nb, uint8_t *dst)
{
#if SQ_X86_KERNELS
    if (sq_blk_lanes_enabled() && sq_use_avx512()) {
        avx_q5_0_blocks(x, nb, dst);
        return;
    }
#endif
    for (size_t i = 0; i < nb; i++)
        q5_0_block(x + i * QK, dst + i * 22);
}

void sq_blk_q5_0_dequant(const uint8_t *src, size_t nb, float *dst)
{
    uint8_t c[QK];
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + i * 22;
        float d = sq_blk_get_half(b), *y = dst + i * QK;
        get_5bit(b + 2, b + 6, c);
        for (int j = 0; j < QK; j++)
            y[j] = (float)(c[j] - 16) * d;
    }
}

static void q5_1_block(const float *x, uint8_t *b)
{
    uint8_t c[QK];
    float mn, mx;
    min_max(x, &mn, &mx);
    float d = (mx - mn) / 31;
    float id = inverse(d);
    sq_blk_put_half(b, d);
    sq_blk_put_half(b + 2, mn);
    if (plain_block(d, id)) /* ggml: (uint8_t)(x0 + 0.5f), no cap (and none needed) */
        for (int j = 0; j < QK; j++)
            c[j] = (uint8_t)(int)((x[j] - mn) * id + 0.5f);
    else
        for (int j = 0; j < QK; j++)
            c[j] = (uint8_t)(sq_blk_trunc((x[j] - mn) * id + 0.5f) & 0xff);
    put_5bit(c, b + 4, b + 8);
}

SQ_HOT void sq_blk_q5_1_quant(const float *x, size_t nb, uint8_t *dst)
{
#if SQ_X86_KERNELS
    if (sq_blk_lanes_enabled() && sq_use_avx512()) {
        avx_q5_1_blocks(x, nb, dst);
        return;
    }
#endif
    for (size_t i = 0; i < nb; i++)
        q5_1_block(x + i * QK, dst + i * 24);
}

void sq_blk_q5_1_dequant(const uint8_t *src, size_t nb, float *dst)
{
    uint8_t c[QK];
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + i * 24;
        float d = sq_blk_get_half(b), m = sq_blk_get_half(b + 2), *y = dst + i * QK;
        get_5bit(b + 4, b + 8, c);
        for (int j = 0; j < QK; j++)
            y[j] = (float)c[j] * d + m;
    }
}

static void q8_0_block(const float *x, uint8_t *b)
{
    /* ggml takes the running maximum of |x|; for finite values the maximum
     * does not depend on the order, so eight partial maxima (which
     * vectorize) give the same amax. */
    float part[8] = {0};
    for (int j = 0; j < QK; j += 8)
        for (int k = 0; k < 8; k++)
            part[k] = part[k] > fabsf(x[j + k]) ? part[k] : fabsf(x[j + k]);
    float amax = 0.0f;
    for (int k = 0; k < 8; k++)
        amax = amax > part[k] ? amax : part[k];
    float d = amax / 127;
    float id = inverse(d);
    sq_blk_put_half(b, d);
    if (plain_block(d, id))
        for (int j = 0; j < QK; j++)
            b[2 + j] = (uint8_t)(round_plain(x[j] * id) & 0xff);
    else
        for (int j = 0; j < QK; j++)
            b[2 + j] = (uint8_t)(sq_blk_trunc(roundf(x[j] * id)) & 0xff);
}


#if SQ_X86_KERNELS
/* ---- hand-written AVX-512 blocks --------------------------------------------
 * One 32-element block in two vectors; the largest magnitude by a vector
 * maximum (order-free for finite values) and, where its sign matters, the
 * first element reaching it. Blocks that are not plain_block take the
 * scalar code. */

SQ_AVX512 static inline float avx_block_amax(__m512 a0, __m512 a1)
{
    return _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
}

/* The first element of largest magnitude of block xb (halves x0, x1 loaded
 * from it); +0 for an all-zero block, as signed_absmax. */
SQ_AVX512 static inline float avx_first_absmax(const float *xb, __m512 x0, __m512 x1)
{
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    __m512 a0 = _mm512_and_ps(x0, absmask), a1 = _mm512_and_ps(x1, absmask);
    float am = avx_block_amax(a0, a1);
    __m512 amax = _mm512_set1_ps(am);
    uint32_t at = (uint32_t)_mm512_cmp_ps_mask(a0, amax, _CMP_EQ_OQ) |
                  (uint32_t)_mm512_cmp_ps_mask(a1, amax, _CMP_EQ_OQ) << 16;
    return am > 0 && at ? xb[__builtin_ctz(at)] : 0.0f;
}

/* Codes min(trunc(x * id + off), cap) of the halves x0, x1 into *lo, *hi. */
SQ_AVX512 static inline void avx_trunc_codes(__m512 x0, __m512 x1, float id, float off, int cap, __m512i *lo,
                                             __m512i *hi)
{
    __m512 vid = _mm512_set1_ps(id), vo = _mm512_set1_ps(off);
    __m512i vc = _mm512_set1_epi32(cap);
    *lo = _mm512_min_epi32(_mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(x0, vid), vo)), vc);
    *hi = _mm512_min_epi32(_mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(x1, vid), vo)), vc);
}

SQ_AVX512 static void avx_q4_0_blocks(const float *x, size_t nb, uint8_t *dst)
{
    for (size_t i = 0; i < nb; i++) {
        const float *xb = x + i * QK;
        uint8_t *b = dst + i * 18;
        __m512 x0 = _mm512_loadu_ps(xb), x1 = _mm512_loadu_ps(xb + 16);
        float max = avx_first_absmax(xb, x0, x1);
        float d = max / -8;
        float id = inverse(d);
        if (!plain_block(d, id)) {
            q4_0_block(xb, b);
            continue;
        }
        sq_blk_avx_put_halves(b, d, 0, 0);
        __m512i lo, hi;
        avx_trunc_codes(x0, x1, id, 8.5f, 15, &lo, &hi);
        _mm_storeu_si128((__m128i *)(b + 2), _mm512_cvtepi32_epi8(_mm512_or_si512(lo, _mm512_slli_epi32(hi, 4))));
    }
}

/* put_5bit for the codes of a block's two halves (lanes 0..15 elements
 * 0..15 and 16..31): nibble pairs in qs, each code's bit 4 in qh. */
SQ_AVX512 static inline void avx_put_5bit(__m512i lo, __m512i hi, uint8_t *qh4, uint8_t *qs)
{
    const __m512i nib = _mm512_set1_epi32(0x0f), bit4 = _mm512_set1_epi32(0x10);
    __m512i packed = _mm512_or_si512(_mm512_and_si512(lo, nib), _mm512_slli_epi32(_mm512_and_si512(hi, nib), 4));
    _mm_storeu_si128((__m128i *)qs, _mm512_cvtepi32_epi8(packed));
    uint32_t qh = (uint32_t)_mm512_test_epi32_mask(lo, bit4) | (uint32_t)_mm512_test_epi32_mask(hi, bit4) << 16;
    for (int k = 0; k < 4; k++)
        qh4[k] = (uint8_t)(qh >> (8 * k));
}

/* Q5_0 as q5_0_block: the scale from the first element of largest
 * magnitude, codes trunc(x * id + 16.5) capped at 31 (at least 0 in a
 * plain block). */
SQ_AVX512 static void avx_q5_0_blocks(const float *x, size_t nb, uint8_t *dst)
{
    for (size_t i = 0; i < nb; i++) {
        const float *xb = x + i * QK;
        uint8_t *b = dst + i * 22;
        __m512 x0 = _mm512_loadu_ps(xb), x1 = _mm512_loadu_ps(xb + 16);
        float max = avx_first_absmax(xb, x0, x1);
        float d = max / -16;
        float id = inverse(d);
        if (!plain_block(d, id)) {
            q5_0_block(xb, b);
            continue;
        }
        sq_blk_avx_put_halves(b, d, 0, 0);
        __m512i lo, hi;
        avx_trunc_codes(x0, x1, id, 16.5f, 31, &lo, &hi);
        avx_put_5bit(lo, hi, b + 2, b + 6);
    }
}

/* Q5_1 as q5_1_block: minimum and maximum by vector reductions (the
 * order does not matter for finite values, except for which zero a zero
 * minimum is, stored as m: such blocks, as non-plain ones, take the scalar
 * code; a zero maximum's sign does not change max - min), codes
 * trunc((x - min) * id + 0.5), at most 31 in a plain block. */
SQ_AVX512 static void avx_q5_1_blocks(const float *x, size_t nb, uint8_t *dst)
{
    for (size_t i = 0; i < nb; i++) {
        const float *xb = x + i * QK;
        uint8_t *b = dst + i * 24;
        __m512 x0 = _mm512_loadu_ps(xb), x1 = _mm512_loadu_ps(xb + 16);
        float mn = _mm512_reduce_min_ps(_mm512_min_ps(x0, x1)), mx = _mm512_reduce_max_ps(_mm512_max_ps(x0, x1));
        float d = (mx - mn) / 31;
        float id = inverse(d);
        if (mn == 0.0f || !plain_block(d, id)) {
            q5_1_block(xb, b);
            continue;
        }
        sq_blk_avx_put_halves(b, d, mn, 1);
        __m512 vid = _mm512_set1_ps(id), vmn = _mm512_set1_ps(mn), half = _mm512_set1_ps(0.5f);
        __m512i lo = _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(x0, vmn), vid), half));
        __m512i hi = _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(x1, vmn), vid), half));
        avx_put_5bit(lo, hi, b + 4, b + 8);
    }
}

/* round_plain per lane: (int)roundf(v), half away from zero. */
SQ_AVX512 static inline __m512i avx_round_plain(__m512 v)
{
    __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC), f = _mm512_sub_ps(v, t);
    __m512i r = _mm512_cvttps_epi32(t), one = _mm512_set1_epi32(1);
    r = _mm512_mask_add_epi32(r, _mm512_cmp_ps_mask(f, _mm512_set1_ps(0.5f), _CMP_GE_OQ), r, one);
    return _mm512_mask_sub_epi32(r, _mm512_cmp_ps_mask(f, _mm512_set1_ps(-0.5f), _CMP_LE_OQ), r, one);
}

SQ_AVX512 static void avx_q8_0_blocks(const float *x, size_t nb, uint8_t *dst)
{
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    for (size_t i = 0; i < nb; i++) {
        const float *xb = x + i * QK;
        uint8_t *b = dst + i * 34;
        __m512 x0 = _mm512_loadu_ps(xb), x1 = _mm512_loadu_ps(xb + 16);
        float amax = avx_block_amax(_mm512_and_ps(x0, absmask), _mm512_and_ps(x1, absmask));
        float d = amax / 127;
        float id = inverse(d);
        if (!plain_block(d, id)) {
            q8_0_block(xb, b);
            continue;
        }
        sq_blk_avx_put_halves(b, d, 0, 0);
        __m512 vid = _mm512_set1_ps(id);
        _mm_storeu_si128((__m128i *)(b + 2), _mm512_cvtepi32_epi8(avx_round_plain(_mm512_mul_ps(x0, vid))));
        _mm_storeu_si128((__m128i *)(b + 18), _mm512_cvtepi32_epi8(avx_round_plain(_mm512_mul_ps(x1, vid))));
    }
}
#endif

SQ_HOT void sq_blk_q8_0_quant(const float *x, size_t nb, uint8_t *dst)
{
#if SQ_X86_KERNELS
    if (sq_blk_lanes_enabled() && sq_use_avx512()) {
        avx_q8_0_blocks(x, nb, dst);
        return;
    }
#endif
    for (size_t i = 0; i < nb; i++)
        q8_0_block(x + i * QK, dst + i * 34);
}

void sq_blk_q8_0_dequant(const uint8_t *src, size_t nb, float *dst)
{
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + i * 34;
        float d = sq_blk_get_half(b), *y = dst + i * QK;
        for (int j = 0; j < QK; j++)
            y[j] = (float)sq_blk_wrap_i8(b[2 + j]) * d;
    }
}
