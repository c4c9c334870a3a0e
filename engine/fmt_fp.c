/*
 * fmt_fp.c - the float element kernels: FP8 E4M3 / E5M2, FP4 E2M1 and the
 * block-scaled MXFP4, MXFP8 and NVFP4 (see elemfmt.h for the layouts).
 *
 * Encoding works on the float32 bit pattern, branch-free so that loops
 * vectorize: for a magnitude in the format's normal range the mantissa is
 * rounded to nearest-even with the carry trick (add half an ulp minus one
 * plus the kept lowest bit, then shift; a carry into the exponent is the
 * correct next binade); below the smallest normal, adding the constant
 * 2^(23 + smallest subnormal exponent) lets the FPU's own round-to-nearest-
 * even round at the subnormal quantum, and the sum's low bits are the code.
 * Magnitudes at or beyond max (and infinities) saturate to the max code.
 */
#include <math.h>
#include <string.h>

#include "elemfmt.h"
#include "fmt_int.h"
#include "simd.h"

static inline uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float fval(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Code of |v| (no sign) in a format with mbits mantissa bits and exponent
 * bias `bias` whose largest finite value has float bits maxbits and code
 * maxcode. Called with constants, so it folds. */
static inline uint32_t enc_mag(float v, uint32_t mbits, uint32_t bias, uint32_t maxbits, uint32_t maxcode)
{
    uint32_t a = fbits(v) & 0x7fffffffu;
    uint32_t minnorm = (128u - bias) << 23;
    float magic = fval((151u - bias - mbits) << 23); /* 2^(23 + 1 - bias - mbits) */
    uint32_t sub = fbits(fabsf(v) + magic) - fbits(magic);
    uint32_t sh = 23u - mbits;
    uint32_t nrm = ((a + (1u << (sh - 1)) - 1u + ((a >> sh) & 1u)) >> sh) - ((127u - bias) << mbits);
    uint32_t c = a < minnorm ? sub : nrm;
    return a >= maxbits ? maxcode : c;
}

static inline uint8_t enc_e4m3(float v)
{
    return (uint8_t)(((fbits(v) >> 24) & 0x80u) | enc_mag(v, 3, 7, 0x43e00000u, 0x7eu));
}

static inline uint8_t enc_e5m2(float v)
{
    return (uint8_t)(((fbits(v) >> 24) & 0x80u) | enc_mag(v, 2, 15, 0x47600000u, 0x7bu));
}

static inline uint8_t enc_e2m1(float v)
{
    return (uint8_t)(((fbits(v) >> 28) & 0x8u) | enc_mag(v, 1, 1, 0x40c00000u, 0x7u));
}

/* Exact value of an E4M3 code: normal codes rebias the exponent (7 -> 127),
 * subnormals are m * 2^-9, S.1111.111 is NaN. */
static inline float dec_e4m3(uint8_t c)
{
    uint32_t s = (uint32_t)(c & 0x80u) << 24, e = (c >> 3) & 0xfu, m = c & 7u;
    float sub = (float)m * 0x1p-9f;
    float v = e ? fval(((e + 120u) << 23) | (m << 20)) : sub;
    v = fval(fbits(v) | s);
    return (c & 0x7fu) == 0x7fu ? NAN : v;
}

/* E5M2: bias 15 -> 127, subnormals m * 2^-16, exponent 31 is Inf (m = 0)
 * or NaN, the same bit layout as float's. */
static inline float dec_e5m2(uint8_t c)
{
    uint32_t s = (uint32_t)(c & 0x80u) << 24, e = (c >> 2) & 0x1fu, m = c & 3u;
    uint32_t be = e == 31u ? 255u : e + 112u;
    float sub = (float)m * 0x1p-16f;
    float v = e ? fval((be << 23) | (m << 21)) : sub;
    return fval(fbits(v) | s);
}

/* E2M1 (low 4 bits of c): normal codes rebias the exponent (1 -> 127),
 * the subnormal is m * 0.5; computed rather than looked up so that
 * decoding loops vectorize. */
static inline float dec_e2m1(uint32_t c)
{
    uint32_t e = (c >> 1) & 3u, m = c & 1u, s = (c & 8u) << 28;
    float v = e ? fval(((e + 126u) << 23) | (m << 22)) : (float)m * 0.5f;
    return fval(fbits(v) | s);
}

int sq_fp8_e4m3_encode(float x)
{
    return isnan(x) ? -1 : enc_e4m3(x);
}

float sq_fp8_e4m3_decode(uint8_t code)
{
    return dec_e4m3(code);
}

int sq_fp8_e5m2_encode(float x)
{
    return isnan(x) ? -1 : enc_e5m2(x);
}

float sq_fp8_e5m2_decode(uint8_t code)
{
    return dec_e5m2(code);
}

int sq_fp4_e2m1_encode(float x)
{
    return isnan(x) ? -1 : enc_e2m1(x);
}

float sq_fp4_e2m1_decode(uint8_t code)
{
    return dec_e2m1(code);
}

float sq_e8m0_decode(uint8_t e)
{
    if (e == 0xffu)
        return NAN;
    return e ? fval((uint32_t)e << 23) : 0x1p-127f;
}

uint8_t sq_mx_scale_byte(float amax, int emax)
{
    uint32_t u = fbits(amax) & 0x7fffffffu;
    if (u < 0x00800000u) /* zero or subnormal: floor(log2) <= -127, clamped */
        return 0;
    int b = (int)(u >> 23) - emax; /* floor(log2 amax) = biased exponent - 127 */
    return (uint8_t)(b < 0 ? 0 : b > 254 ? 254 : b);
}

/* 1 / sq_e8m0_decode(b) for b < 255, exactly: 2^(127 - b). */
static float e8m0_inverse(uint8_t b)
{
    return b == 254u ? 0x1p-127f : fval((uint32_t)(254u - b) << 23);
}


#if SQ_X86_KERNELS
/* ---- hand-written AVX-512 kernels for the 4-bit block formats -------------
 * enc_mag and the packings, sixteen elements a vector; the block maximum by
 * a vector maximum (order-free for finite values); decoding through a
 * sixteen-entry permute of the exact E2M1 values. Same bytes and floats as
 * the portable loops (which sq_simd_force_portable selects). */

/* enc_e2m1 per lane (x finite). */
SQ_AVX512 static inline __m512i avx_enc_e2m1(__m512 v)
{
    const uint32_t mbits = 1, bias = 1, sh = 23u - mbits;
    __m512i u = _mm512_castps_si512(v);
    __m512i a = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
    __m512 magic = _mm512_castsi512_ps(_mm512_set1_epi32((int)((151u - bias - mbits) << 23)));
    __m512i sub = _mm512_sub_epi32(_mm512_castps_si512(_mm512_add_ps(_mm512_castsi512_ps(a), magic)),
                                   _mm512_castps_si512(magic));
    __m512i r = _mm512_add_epi32(a, _mm512_set1_epi32((1 << (sh - 1)) - 1));
    r = _mm512_add_epi32(r, _mm512_and_si512(_mm512_srli_epi32(a, sh), _mm512_set1_epi32(1)));
    __m512i nrm = _mm512_sub_epi32(_mm512_srli_epi32(r, sh), _mm512_set1_epi32((int)((127u - bias) << mbits)));
    __m512i c = _mm512_mask_mov_epi32(nrm, _mm512_cmplt_epi32_mask(a, _mm512_set1_epi32((int)((128u - bias) << 23))), sub);
    c = _mm512_mask_mov_epi32(c, _mm512_cmpge_epi32_mask(a, _mm512_set1_epi32(0x40c00000)), _mm512_set1_epi32(7));
    return _mm512_or_si512(c, _mm512_and_si512(_mm512_srli_epi32(u, 28), _mm512_set1_epi32(8)));
}

/* The exact E2M1 values of codes 0..15, for permutes. */
SQ_AVX512 static inline __m512 avx_e2m1_table(void)
{
    return _mm512_set_ps(-6.0f, -4.0f, -3.0f, -2.0f, -1.5f, -1.0f, -0.5f, -0.0f, 6.0f, 4.0f, 3.0f, 2.0f, 1.5f,
                         1.0f, 0.5f, 0.0f);
}

/* Sixteen codes (element 2i, 2i+1 in lanes 2i, 2i+1) as 8 bytes, the first
 * of a pair in the low nibble. */
SQ_AVX512 static inline void avx_pack_pairs_lo(__m512i c, uint8_t *out)
{
    __m512i q = _mm512_or_si512(c, _mm512_srli_epi64(c, 28));
    _mm_storel_epi64((__m128i *)out, _mm512_cvtepi64_epi8(q));
}

/* Eight bytes as sixteen codes, low nibble first. */
SQ_AVX512 static inline __m512i avx_unpack_pairs_lo(const uint8_t *in)
{
    __m512i q = _mm512_cvtepu8_epi64(_mm_loadl_epi64((const __m128i *)in));
    return _mm512_or_si512(_mm512_and_si512(q, _mm512_set1_epi64(15)),
                           _mm512_slli_epi64(_mm512_srli_epi64(q, 4), 32));
}

SQ_AVX512 static void avx_mxfp4_enc(const float *x, size_t nb, uint8_t *dst)
{
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    for (size_t i = 0; i < nb; i++) {
        const float *xb = x + 32 * i;
        uint8_t *b = dst + 17 * i;
        __m512 x0 = _mm512_loadu_ps(xb), x1 = _mm512_loadu_ps(xb + 16);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_and_ps(x0, absmask), _mm512_and_ps(x1, absmask)));
        b[0] = sq_mx_scale_byte(amax, 2);
        __m512 inv = _mm512_set1_ps(e8m0_inverse(b[0]));
        __m512i lo = avx_enc_e2m1(_mm512_mul_ps(x0, inv)), hi = avx_enc_e2m1(_mm512_mul_ps(x1, inv));
        _mm_storeu_si128((__m128i *)(b + 1), _mm512_cvtepi32_epi8(_mm512_or_si512(lo, _mm512_slli_epi32(hi, 4))));
    }
}

SQ_AVX512 static void avx_mxfp4_dec(const uint8_t *src, size_t nb, float *dst)
{
    __m512 tab = avx_e2m1_table();
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + 17 * i;
        __m512 d = _mm512_set1_ps(sq_e8m0_decode(b[0]));
        __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(b + 1)));
        _mm512_storeu_ps(dst + 32 * i, _mm512_mul_ps(_mm512_permutexvar_ps(q, tab), d));
        _mm512_storeu_ps(dst + 32 * i + 16, _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(q, 4), tab), d));
    }
}

SQ_AVX512 static void avx_nvfp4_enc(const float *x, size_t nb, float s, uint8_t *dst)
{
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    for (size_t i = 0; i < nb; i++) {
        uint8_t *b = dst + 9 * i;
        __m512 v = _mm512_loadu_ps(x + 16 * i);
        b[0] = enc_e4m3(_mm512_reduce_max_ps(_mm512_and_ps(v, absmask)) / 6.0f / s);
        float d = dec_e4m3(b[0]) * s;
        /* d == 0: every element is (nearly) 0, signed zeros as nvfp4_block */
        v = d == 0.0f ? _mm512_mul_ps(v, _mm512_setzero_ps()) : _mm512_div_ps(v, _mm512_set1_ps(d));
        avx_pack_pairs_lo(avx_enc_e2m1(v), b + 1);
    }
}

SQ_AVX512 static void avx_nvfp4_dec(const uint8_t *src, size_t nb, float scale, float *dst)
{
    __m512 tab = avx_e2m1_table();
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + 9 * i;
        __m512 d = _mm512_set1_ps(dec_e4m3(b[0]) * scale);
        _mm512_storeu_ps(dst + 16 * i, _mm512_mul_ps(_mm512_permutexvar_ps(avx_unpack_pairs_lo(b + 1), tab), d));
    }
}
#endif

/* ---- plain element rows ------------------------------------------------- */

SQ_HOT void sq_fmt_e4m3_enc(const float *x, size_t n, float scale, uint8_t *dst)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = enc_e4m3(x[i] / scale);
}

SQ_HOT void sq_fmt_e4m3_dec(const uint8_t *src, size_t n, float scale, float *dst)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = dec_e4m3(src[i]) * scale;
}

SQ_HOT void sq_fmt_e5m2_enc(const float *x, size_t n, float scale, uint8_t *dst)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = enc_e5m2(x[i] / scale);
}

SQ_HOT void sq_fmt_e5m2_dec(const uint8_t *src, size_t n, float scale, float *dst)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = dec_e5m2(src[i]) * scale;
}

/* nb blocks of two elements: one byte each, the first in the low nibble. */
SQ_HOT void sq_fmt_e2m1_enc(const float *x, size_t nb, float scale, uint8_t *dst)
{
    for (size_t i = 0; i < nb; i++)
        dst[i] = (uint8_t)(enc_e2m1(x[2 * i] / scale) | enc_e2m1(x[2 * i + 1] / scale) << 4);
}

SQ_HOT void sq_fmt_e2m1_dec(const uint8_t *src, size_t nb, float scale, float *dst)
{
    for (size_t i = 0; i < nb; i++) {
        dst[2 * i] = dec_e2m1(src[i]) * scale;
        dst[2 * i + 1] = dec_e2m1((uint32_t)src[i] >> 4) * scale;
    }
}

/* ---- microscaling ------------------------------------------------------- */

/* One MXFP4 block (ggml's block_mxfp4 layout); the codes first, then the
 * packing, so that both loops vectorize. */
static inline void mxfp4_block(const float *x, uint8_t *b)
{
    uint8_t c[32];
    b[0] = sq_mx_scale_byte(sq_fmt_absmax(x, 32), 2);
    float inv = e8m0_inverse(b[0]); /* x * 2^-X == x / 2^X exactly */
    for (int j = 0; j < 32; j++)
        c[j] = enc_e2m1(x[j] * inv);
    for (int j = 0; j < 16; j++)
        b[1 + j] = (uint8_t)(c[j] | c[j + 16] << 4);
}

SQ_HOT void sq_fmt_mxfp4_enc(const float *x, size_t nb, float scale, uint8_t *dst)
{
#if SQ_X86_KERNELS
    if (sq_use_avx512()) {
        avx_mxfp4_enc(x, nb, dst);
        return;
    }
#endif
    (void)scale;
    for (size_t i = 0; i < nb; i++)
        mxfp4_block(x + 32 * i, dst + 17 * i);
}

SQ_HOT void sq_fmt_mxfp4_dec(const uint8_t *src, size_t nb, float scale, float *dst)
{
#if SQ_X86_KERNELS
    if (sq_use_avx512()) {
        avx_mxfp4_dec(src, nb, dst);
        return;
    }
#endif
    (void)scale;
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + 17 * i;
        float d = sq_e8m0_decode(b[0]);
        float *y = dst + 32 * i;
        for (int j = 0; j < 16; j++) {
            y[j] = dec_e2m1(b[1 + j]) * d;
            y[j + 16] = dec_e2m1((uint32_t)b[1 + j] >> 4) * d;
        }
    }
}

SQ_HOT void sq_fmt_mxfp8_enc(const float *x, size_t nb, float scale, uint8_t *dst)
{
    (void)scale;
    for (size_t i = 0; i < nb; i++) {
        const float *xb = x + 32 * i;
        uint8_t *b = dst + 33 * i;
        b[0] = sq_mx_scale_byte(sq_fmt_absmax(xb, 32), 8);
        float inv = e8m0_inverse(b[0]);
        for (int j = 0; j < 32; j++)
            b[1 + j] = enc_e4m3(xb[j] * inv);
    }
}

SQ_HOT void sq_fmt_mxfp8_dec(const uint8_t *src, size_t nb, float scale, float *dst)
{
    (void)scale;
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + 33 * i;
        float d = sq_e8m0_decode(b[0]);
        for (int j = 0; j < 32; j++)
            dst[32 * i + j] = dec_e4m3(b[1 + j]) * d;
    }
}

/* ---- NVFP4: E4M3 block scale of 16 elements times the tensor scale s ---- */

static void nvfp4_block(const float *x, float s, uint8_t *b)
{
    b[0] = enc_e4m3(sq_fmt_absmax(x, 16) / 6.0f / s);
    float d = dec_e4m3(b[0]) * s;
    if (d == 0.0f) { /* every element is (nearly) 0: signed zeros */
        for (int j = 0; j < 8; j++)
            b[1 + j] = (uint8_t)(enc_e2m1(x[2 * j] * 0.0f) | enc_e2m1(x[2 * j + 1] * 0.0f) << 4);
        return;
    }
    for (int j = 0; j < 8; j++)
        b[1 + j] = (uint8_t)(enc_e2m1(x[2 * j] / d) | enc_e2m1(x[2 * j + 1] / d) << 4);
}

SQ_HOT void sq_fmt_nvfp4_enc(const float *x, size_t nb, float scale, uint8_t *dst)
{
#if SQ_X86_KERNELS
    if (sq_use_avx512()) {
        avx_nvfp4_enc(x, nb, scale, dst);
        return;
    }
#endif
    for (size_t i = 0; i < nb; i++)
        nvfp4_block(x + 16 * i, scale, dst + 9 * i);
}

SQ_HOT void sq_fmt_nvfp4_dec(const uint8_t *src, size_t nb, float scale, float *dst)
{
#if SQ_X86_KERNELS
    if (sq_use_avx512()) {
        avx_nvfp4_dec(src, nb, scale, dst);
        return;
    }
#endif
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + 9 * i;
        float d = dec_e4m3(b[0]) * scale;
        for (int j = 0; j < 8; j++) {
            dst[16 * i + 2 * j] = dec_e2m1(b[1 + j]) * d;
            dst[16 * i + 2 * j + 1] = dec_e2m1((uint32_t)b[1 + j] >> 4) * d;
        }
    }
}

/* ---- ggml's MXFP4 dequantization ---------------------------------------- */

/* ggml's half scale 2^(e - 128) (GGML_E8M0_TO_FP32_HALF), defined for all
 * 256 bytes. */
static float ggml_e8m0_half(uint8_t e)
{
    return e >= 2u ? fval((uint32_t)(e - 1u) << 23) : fval(0x00200000u << e);
}

/* ggml's integer element values: twice the E2M1 values. */
static const int8_t ggml_kvalues_mxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

sq_status sq_elemfmt_decode_ggml_mxfp4(const uint8_t *src, size_t n, float *dst, sq_error *err)
{
    if (n % 32 != 0)
        return sq_fail(err, SQ_ERR_ARG, "ggml mxfp4: row length %zu is not a multiple of the block size 32", n);
    for (size_t i = 0; i < n / 32; i++) {
        const uint8_t *b = src + 17 * i;
        float d = ggml_e8m0_half(b[0]);
        for (int j = 0; j < 16; j++) {
            dst[32 * i + j] = (float)ggml_kvalues_mxfp4[b[1 + j] & 15u] * d;
            dst[32 * i + j + 16] = (float)ggml_kvalues_mxfp4[b[1 + j] >> 4] * d;
        }
    }
    return SQ_OK;
}
