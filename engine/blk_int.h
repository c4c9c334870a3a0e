/*
 * blk_int.h - internals shared by the block-format kernels (blk_*.c) and
 * their table (blockfmt.c). Not a public header.
 *
 * Every kernel works on whole blocks: a quantizer reads nblocks * block
 * elements (finite, checked by the caller) and writes nblocks * block_bytes
 * bytes; a dequantizer the reverse. Kernels cannot fail and allocate
 * nothing (their scratch lives on the stack).
 *
 * Byte-exactness with llama.cpp's ggml rests on doing the same float32
 * operations in the same order; the helpers below reproduce ggml's integer
 * rounding idioms exactly (see each comment).
 */
#ifndef SQ_BLK_INT_H
#define SQ_BLK_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tensor.h"

#define SQ_QK 256 /* elements of a K-quant / IQ4_XS super-block */

typedef void (*sq_blk_quant_fn)(const float *x, size_t nblocks, uint8_t *dst);
typedef void (*sq_blk_dequant_fn)(const uint8_t *src, size_t nblocks, float *dst);

/* Legacy formats (blk_legacy.c): 32-element blocks. */
void sq_blk_q4_0_quant(const float *x, size_t nb, uint8_t *dst);
void sq_blk_q4_0_dequant(const uint8_t *src, size_t nb, float *dst);
void sq_blk_q4_1_quant(const float *x, size_t nb, uint8_t *dst);
void sq_blk_q4_1_dequant(const uint8_t *src, size_t nb, float *dst);
void sq_blk_q5_0_quant(const float *x, size_t nb, uint8_t *dst);
void sq_blk_q5_0_dequant(const uint8_t *src, size_t nb, float *dst);
void sq_blk_q5_1_quant(const float *x, size_t nb, uint8_t *dst);
void sq_blk_q5_1_dequant(const uint8_t *src, size_t nb, float *dst);
void sq_blk_q8_0_quant(const float *x, size_t nb, uint8_t *dst);
void sq_blk_q8_0_dequant(const uint8_t *src, size_t nb, float *dst);

/* K-quants (blk_kquant.c): 256-element super-blocks. */
void sq_blk_q2_k_quant(const float *x, size_t nb, uint8_t *dst);
void sq_blk_q2_k_dequant(const uint8_t *src, size_t nb, float *dst);
void sq_blk_q3_k_quant(const float *x, size_t nb, uint8_t *dst);
void sq_blk_q3_k_dequant(const uint8_t *src, size_t nb, float *dst);
void sq_blk_q4_k_quant(const float *x, size_t nb, uint8_t *dst);
void sq_blk_q4_k_dequant(const uint8_t *src, size_t nb, float *dst);
void sq_blk_q5_k_quant(const float *x, size_t nb, uint8_t *dst);
void sq_blk_q5_k_dequant(const uint8_t *src, size_t nb, float *dst);
void sq_blk_q6_k_quant(const float *x, size_t nb, uint8_t *dst);
void sq_blk_q6_k_dequant(const uint8_t *src, size_t nb, float *dst);

/* Non-linear 4-bit formats (blk_iq4.c). */
void sq_blk_iq4_nl_quant(const float *x, size_t nb, uint8_t *dst);
void sq_blk_iq4_nl_dequant(const uint8_t *src, size_t nb, float *dst);
void sq_blk_iq4_xs_quant(const float *x, size_t nb, uint8_t *dst);
void sq_blk_iq4_xs_dequant(const uint8_t *src, size_t nb, float *dst);

/* Whether the lane-parallel searches run (see sq_block_force_scalar): the
 * hand-written AVX-512 kernels where sq_use_avx512(), else the portable
 * lanes of blk_lanes.h. */
int sq_blk_lanes_enabled(void);

/* Little-endian half at p, as a float (exact). */
static inline float sq_blk_get_half(const uint8_t *p)
{
    return sq_half_to_float((uint16_t)(p[0] | (p[1] << 8)));
}

/* Store f rounded to half (nearest even, as GGML_FP32_TO_FP16) at p. */
static inline void sq_blk_put_half(uint8_t *p, float f)
{
    uint16_t h = sq_float_to_half(f);
    p[0] = (uint8_t)(h & 0xffu);
    p[1] = (uint8_t)(h >> 8);
}

/* ggml's nearest_int: adds 1.5 * 2^23 in float and reads the low mantissa
 * bits, i.e. round half to even for |v| <= 2^22 - 1. Outside that range
 * (or for Inf/NaN) it yields the same wrapped value ggml's does. */
static inline int sq_blk_nearest(float v)
{
    float t = v + 12582912.f;
    uint32_t bits;
    memcpy(&bits, &t, sizeof bits);
    return (int)(bits & 0x007fffffu) - 0x00400000;
}

/* A float converted to a 32-bit int as x86's truncating conversion does
 * (ggml's `(int8_t)f`, `(uint8_t)f` casts compile to it): toward zero, and
 * INT32_MIN for NaN or out-of-range values, where C leaves it undefined. */
static inline int32_t sq_blk_trunc(float v)
{
    if (!(v > -2147483904.f && v < 2147483648.f))
        return INT32_MIN;
    return (int32_t)v;
}

/* The low byte of v read as a signed byte (C's wrapping conversion to
 * int8_t, made explicit). */
static inline int sq_blk_wrap_i8(int v)
{
    int b = v & 0xff;
    return b >= 128 ? b - 256 : b;
}

static inline int sq_blk_min(int a, int b)
{
    return a < b ? a : b;
}

static inline int sq_blk_max(int a, int b)
{
    return a > b ? a : b;
}

static inline int sq_blk_clamp(int v, int lo, int hi)
{
    return sq_blk_max(lo, sq_blk_min(hi, v));
}

/* Bytes p[0..8) as a little-endian uint64 (byte i in bits 8i..8i+7), and back. */
static inline uint64_t le64_load(const uint8_t *p)
{
    uint64_t v = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&v, p, 8);
#else
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
#endif
    return v;
}

static inline void le64_store(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 8);
#else
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
}

#include "simd.h"
#if SQ_X86_KERNELS
/* sq_blk_put_half for the hand-written AVX-512 kernels: the vector
 * conversion (nearest even gives the same half as sq_float_to_half for
 * every finite float; checked for all of them), f at p and, when two is
 * set, g at p + 2. */
SQ_AVX512 static inline void sq_blk_avx_put_halves(uint8_t *p, float f, float g, int two)
{
    __m256i h = _mm512_cvtps_ph(_mm512_castps128_ps512(_mm_set_ps(0, 0, g, f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    uint32_t v = (uint32_t)_mm_cvtsi128_si32(_mm256_castsi256_si128(h));
    for (int k = 0; k < 2 + 2 * two; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}
#endif

#endif
