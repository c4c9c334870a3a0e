/* kernel512.h - internal: the AVX-512 encoding shared by the encode kernel
 * (quant.c) and the fused encode + statistics kernel (stats.c). Codes are
 * formed sixteen at a time in float and checked against the exact double
 * arithmetic of kernel.h's SQ_ENCODE (see run512_init); values near a
 * rounding boundary take the exact path, so codes are bit-identical to the
 * portable kernels'. Include only where SQ_X86_KERNELS is 1. */
#ifndef SQ_KERNEL512_H
#define SQ_KERNEL512_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "simd.h"

#if SQ_X86_KERNELS

/* Constants of the AVX-512 encode for one run (values sharing one scale and
 * zero point). */
typedef struct run512 {
    __m512d inv, zp, s;    /* 1/scale, zero point, scale */
    __m512 inv_f, zp_f;    /* the same in float, for the screening encode */
    __m512 safe;           /* 0.5 - margin: the screened distance to a code */
    __m512 tab;            /* x_hat of code c in lane c & 15 (bits <= 4) */
    double zp_now;         /* the zero point the zp fields hold (have_zp) */
    bool have_zp, zp_ok, screen, table;
} run512;

/* Constants of the AVX-512 encode for a whole chunk. */
typedef struct kern512 {
    __m512d qmin, qmax, below_half, signmask, magic;
    __m512 qmin_f, qmax_f, magic_f, absmask_f;
    bool even, small; /* small: codes fit 4 bits */
} kern512;

static inline SQ_AVX512 __attribute__((always_inline)) void kern512_init(kern512 *k, double qmin, double qmax,
                                                                        bool even)
{
    k->qmin = _mm512_set1_pd(qmin);
    k->qmax = _mm512_set1_pd(qmax);
    k->below_half = _mm512_set1_pd(0x1.fffffffffffffp-2);
    k->signmask = _mm512_castsi512_pd(_mm512_set1_epi64(INT64_MIN));
    k->magic = _mm512_set1_pd(0x1.8p52); /* c + magic: c in the low bits of the mantissa */
    k->qmin_f = _mm512_set1_ps((float)qmin);
    k->qmax_f = _mm512_set1_ps((float)qmax);
    k->magic_f = _mm512_set1_ps(0x1.8p23f);
    k->absmask_f = _mm512_castsi512_ps(_mm512_set1_epi32(INT32_MAX));
    k->even = even;
    k->small = qmin >= -8.0 && qmax <= 7.0;
}

/* The screening encode in float is used for a run when its parameters are
 * plain floats: zp exact in float with |zp| <= 2^20, 1/scale within
 * [2^-100, 2^100]. Its code equals the exact one whenever v_f = fma(x,
 * 1/scale, zp) lies at least `margin` from every half-integer: for values
 * that can round into [qmin, qmax] (|v| <= 130), |x / scale| <= 130 + |zp|,
 * so the float value is within (261 + |zp|) * 2^-24 of the exact one
 * (2^-24 relative for 1/scale in float and for the fma's rounding); the
 * margin doubles that. Values screened out take the exact double path;
 * values far outside the range clip on both paths. */
static inline SQ_AVX512 __attribute__((always_inline)) void run512_init(run512 *r, const kern512 *k, double inv,
                                                                       double zp, double s, bool with_table)
{
    if (!r->have_zp || zp != r->zp_now) { /* what depends on zp only: once for symmetric */
        double margin = (262.0 + fabs(zp)) * 0x1p-23;
        r->have_zp = true;
        r->zp_now = zp;
        r->zp_ok = fabs(zp) <= 0x1p20 && (double)(float)zp == zp;
        r->zp = _mm512_set1_pd(zp);
        r->zp_f = _mm512_set1_ps((float)zp);
        r->safe = _mm512_set1_ps((float)(0.5 - margin) - 0x1p-20f);
    }
    r->inv = _mm512_set1_pd(inv);
    r->s = _mm512_set1_pd(s);
    r->screen = r->zp_ok && inv >= 0x1p-100 && inv <= 0x1p100;
    r->inv_f = _mm512_set1_ps((float)inv);
    r->table = with_table && k->small;
    if (r->table) { /* lanes 0..7 hold codes 0..7, lanes 8..15 codes -8..-1 */
        const __m512d c_lo = _mm512_setr_pd(0, 1, 2, 3, 4, 5, 6, 7);
        const __m512d c_hi = _mm512_setr_pd(-8, -7, -6, -5, -4, -3, -2, -1);
        __m256 t_lo = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_sub_pd(c_lo, r->zp), r->s));
        __m256 t_hi = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_sub_pd(c_hi, r->zp), r->s));
        r->tab = _mm512_insertf32x8(_mm512_castps256_ps512(t_lo), t_hi, 1);
    }
}

/* kernel.h's SQ_ENCODE for eight values in double (exact at any magnitude:
 * vrndscalepd needs no pre-clamp); adds the clipped ones to *clipped. */
static inline SQ_AVX512 __attribute__((always_inline)) __m512d encode8_exact(__m512d xv, const run512 *r,
                                                                            const kern512 *k, size_t *clipped)
{
    __m512d val = _mm512_add_pd(_mm512_mul_pd(xv, r->inv), r->zp);
    __m512d rv;
    if (k->even) {
        rv = _mm512_roundscale_pd(val, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    } else { /* trunc(v + copysign(0.5 - 2^-54, v)): exact half-away rounding */
        __m512d h = _mm512_castsi512_pd(_mm512_ternarylogic_epi64(
            _mm512_castpd_si512(val), _mm512_castpd_si512(k->signmask), _mm512_castpd_si512(k->below_half),
            0xEA)); /* (val & signmask) | below_half */
        rv = _mm512_roundscale_pd(_mm512_add_pd(val, h), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    }
    __m512d c = _mm512_min_pd(_mm512_max_pd(rv, k->qmin), k->qmax);
    *clipped += (size_t)__builtin_popcount(_mm512_cmp_pd_mask(rv, c, _CMP_NEQ_OQ));
    return c;
}

/* The codes of sixteen values by the float screening: false when the run
 * cannot be screened or any value lies near a rounding boundary (the caller
 * then encodes them exactly); otherwise *cf holds the codes as floats, *ci
 * each code in the low bits of its lane and *clip the lanes that clipped. */
static inline SQ_AVX512 __attribute__((always_inline)) bool screen16(const run512 *r, const kern512 *k, __m512 xf,
                                                                    __m512 *cf, __m512i *ci, __mmask16 *clip)
{
    __m512 vf = _mm512_fmadd_ps(xf, r->inv_f, r->zp_f);
    __m512 rf = _mm512_roundscale_ps(vf, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 d = _mm512_and_ps(_mm512_sub_ps(vf, rf), k->absmask_f);
    if (!r->screen || _mm512_cmp_ps_mask(d, r->safe, _CMP_NLE_UQ))
        return false;
    *cf = _mm512_min_ps(_mm512_max_ps(rf, k->qmin_f), k->qmax_f);
    *clip = _mm512_cmp_ps_mask(rf, *cf, _CMP_NEQ_OQ);
    *ci = _mm512_castps_si512(_mm512_add_ps(*cf, k->magic_f)); /* c in the low bits */
    return true;
}

/* Store eight codes held as integral doubles. */
static inline SQ_AVX512 __attribute__((always_inline)) void store_codes8(__m512d c, const kern512 *k, int8_t *codes)
{
    _mm_storel_epi64((__m128i *)codes, _mm512_cvtepi64_epi8(_mm512_castpd_si512(_mm512_add_pd(c, k->magic))));
}

#endif
#endif
