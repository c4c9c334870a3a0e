/* qgemm512.c - AVX-512 kernels for products with a quantized weight read
 * from its packed codes (see qgemm.h): exact float (AVX-512 F/BW) and
 * dynamic int8 (AVX-512 VNNI vpdpbusd), for 8- and 4-bit codes.
 *
 * Both tile the output into R weight rows x NB activation rows held in
 * registers (R x NB accumulators of 16 lanes), each weight chunk decoded once
 * per tile and used NB times; the activation rows of a tile stay in L1/L2
 * while the weight rows stream. Tails of a row use masked loads (the masked
 * lanes read zeros, so they add nothing). */
#include "qgemm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sgemm.h"
#include "simd.h"

#if SQ_X86_KERNELS

#define SQ_INLINE static inline __attribute__((always_inline))
/* Loops over the R x NB tile: fully unrolled, so the accumulators live in registers. */
#define UNROLL _Pragma("GCC unroll 16")

/* ---- exact float -------------------------------------------------------------- */

typedef struct fargs {
    const uint8_t *codes;
    int bits;
    size_t in, out;
    size_t rs, glen;          /* scale index of row o, chunk k: o * rs + k / glen */
    const float *fs, *fz;     /* (float)scale, (float)(-zp * scale) per index */
    const float *x;
    const float *xsum;        /* one scale per row: sum of each x row, else NULL */
    float *y;
} fargs;

/* Signed codes of 16 elements starting at code byte p (n < 16: only the
 * first n are read; the other lanes are garbage but finite) as floats. For
 * 4 bits the elements start at a byte boundary. */
SQ_INLINE SQ_AVX512BW __m512 dec16(const uint8_t *p, const int BITS, size_t n)
{
    __m128i v;
    if (BITS == 8) {
        v = n >= 16 ? _mm_loadu_si128((const __m128i *)p) : _mm_maskz_loadu_epi8((__mmask16)((1u << n) - 1), p);
        v = _mm_xor_si128(v, _mm_set1_epi8((char)0x80)); /* offset binary -> two's complement */
    } else {
        __m128i q = n >= 16 ? _mm_loadl_epi64((const __m128i *)p)
                            : _mm_maskz_loadu_epi8((__mmask16)((1u << (n + 1) / 2) - 1), p);
        __m128i lo = _mm_and_si128(q, _mm_set1_epi8(15));
        __m128i hi = _mm_and_si128(_mm_srli_epi16(q, 4), _mm_set1_epi8(15));
        v = _mm_sub_epi8(_mm_unpacklo_epi8(lo, hi), _mm_set1_epi8(8));
    }
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v));
}

enum { MAXR = 4, MAXB = 8, IMAXB8 = 6 };

/* One step of 16 (or n < 16, masked) elements at k for the tile. */
SQ_INLINE SQ_AVX512BW void fstep(const fargs *a, const uint8_t *const *cr, const size_t *si, size_t b0, size_t k,
                                 size_t n, __m512 acc[MAXR][MAXB], const int R, const int NB, const int BITS,
                                 const bool ONE)
{
    __mmask16 m = (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1);
    __m512 xv[MAXB];
    UNROLL
    for (int j = 0; j < NB; j++)
        xv[j] = n >= 16 ? _mm512_loadu_ps(a->x + (b0 + (size_t)j) * a->in + k)
                        : _mm512_maskz_loadu_ps(m, a->x + (b0 + (size_t)j) * a->in + k);
    UNROLL
    for (int r = 0; r < R; r++) {
        __m512 w = dec16(cr[r] + k * (size_t)BITS / 8, BITS, n);
        if (!ONE) /* scales vary along the row: form the values */
            w = _mm512_fmadd_ps(w, _mm512_set1_ps(a->fs[si[r]]), _mm512_set1_ps(a->fz[si[r]]));
        UNROLL
        for (int j = 0; j < NB; j++)
            acc[r][j] = _mm512_fmadd_ps(w, xv[j], acc[r][j]);
    }
}

/* Outputs [b0, b0 + NB) x [o0, o0 + R) (rows past out repeat the last row;
 * their results are dropped). ONE: one scale per row (a->xsum set). */
SQ_INLINE SQ_AVX512BW void fblock(const fargs *a, size_t o0, size_t b0, const int R, const int NB, const int BITS,
                                  const bool ONE)
{
    __m512 acc[MAXR][MAXB];
    size_t row[MAXR], si[MAXR];
    const uint8_t *cr[MAXR];
    UNROLL
    for (int r = 0; r < R; r++) {
        row[r] = o0 + (size_t)r < a->out ? o0 + (size_t)r : a->out - 1;
        si[r] = row[r] * a->rs;
        cr[r] = a->codes + row[r] * a->in * (size_t)BITS / 8;
        UNROLL
        for (int j = 0; j < NB; j++)
            acc[r][j] = _mm512_setzero_ps();
    }
    size_t k = 0, full = a->in / 16 * 16;
    if (ONE) {
        for (; k < full; k += 16)
            fstep(a, cr, si, b0, k, 16, acc, R, NB, BITS, ONE);
    } else {
        for (size_t g = 0; k < full; k += 16) {
            fstep(a, cr, si, b0, k, 16, acc, R, NB, BITS, ONE);
            if ((g += 16) == a->glen) {
                g = 0;
                UNROLL
                for (int r = 0; r < R; r++)
                    si[r]++;
            }
        }
    }
    if (k < a->in) /* groups are multiples of 16: only ONE rows have tails */
        fstep(a, cr, si, b0, k, a->in - k, acc, R, NB, BITS, ONE);
    UNROLL
    for (int r = 0; r < R; r++) {
        if (o0 + (size_t)r >= a->out)
            break;
        UNROLL
        for (int j = 0; j < NB; j++) {
            float v = _mm512_reduce_add_ps(acc[r][j]);
            size_t idx = row[r] * a->rs;
            if (ONE) /* one scale for the row: scale * sum q x - zp * scale * sum x */
                v = a->fs[idx] * v + a->fz[idx] * a->xsum[b0 + (size_t)j];
            a->y[(b0 + (size_t)j) * a->out + o0 + (size_t)r] = v;
        }
    }
}

typedef void (*fblock_fn)(const fargs *, size_t, size_t);

#define FBLOCK1(R, NB, BITS, ONE)                                                                           \
    static SQ_AVX512BW __attribute__((noinline)) void fblock_##R##_##NB##_##BITS##_##ONE(const fargs *a,     \
                                                                                        size_t o0, size_t b0) \
    {                                                                                                        \
        fblock(a, o0, b0, R, NB, BITS, ONE);                                                                 \
    }
#define FBLOCK(R, NB) FBLOCK1(R, NB, 8, 0) FBLOCK1(R, NB, 8, 1) FBLOCK1(R, NB, 4, 0) FBLOCK1(R, NB, 4, 1)
FBLOCK(2, 8)
FBLOCK(2, 4)
FBLOCK(2, 2)
FBLOCK(2, 1)
FBLOCK(4, 4)
FBLOCK(4, 2)
FBLOCK(4, 1)

/* The tile shapes of one (bits, one scale per row) kind. */
typedef struct fkind {
    fblock_fn b2_8, b2_4, b2_2, b2_1, b4_4, b4_2, b4_1;
} fkind;
#define FKIND(BITS, ONE)                                                                              \
    {                                                                                                 \
        fblock_2_8_##BITS##_##ONE, fblock_2_4_##BITS##_##ONE, fblock_2_2_##BITS##_##ONE,              \
            fblock_2_1_##BITS##_##ONE, fblock_4_4_##BITS##_##ONE, fblock_4_2_##BITS##_##ONE,          \
            fblock_4_1_##BITS##_##ONE                                                                 \
    }
static const fkind fkinds[2][2] = {{FKIND(8, 0), FKIND(8, 1)}, {FKIND(4, 0), FKIND(4, 1)}};

/* All batch rows for weight rows [o0, o0 + R), in tiles of 8, 4, 2, 1. */
static void float_rows(const fargs *a, const fkind *f, size_t o0, size_t batch)
{
    size_t b0 = 0;
    if (batch >= 8) {
        for (; b0 + 8 <= batch; b0 += 8)
            f->b2_8(a, o0, b0);
        if (batch - b0 >= 4)
            f->b2_4(a, o0, b0), b0 += 4;
        if (batch - b0 >= 2)
            f->b2_2(a, o0, b0), b0 += 2;
        if (batch - b0 >= 1)
            f->b2_1(a, o0, b0);
        return;
    }
    if (batch - b0 >= 4)
        f->b4_4(a, o0, b0), b0 += 4;
    if (batch - b0 >= 2)
        f->b4_2(a, o0, b0), b0 += 2;
    if (batch - b0 >= 1)
        f->b4_1(a, o0, b0);
}

/* sums[b] = sum of row b of x (batch rows of n floats). */
static SQ_AVX512BW void row_sums(const float *x, size_t n, size_t batch, float *sums)
{
    for (size_t b = 0; b < batch; b++) {
        __m512 acc = _mm512_setzero_ps();
        for (size_t k = 0; k < n; k += 16) {
            size_t m = n - k < 16 ? n - k : 16;
            acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps((__mmask16)(m >= 16 ? 0xFFFFu : (1u << m) - 1),
                                                           x + b * n + k));
        }
        sums[b] = _mm512_reduce_add_ps(acc);
    }
}

/* Row structure of w's scales for the float kernel: false when the kernel
 * does not take it. */
static bool float_layout(const sq_qtensor *w, size_t *rs, size_t *glen)
{
    const sq_qconfig *c = &w->config;
    size_t in = w->shape[1];
    if (w->ndim != 2 || (c->bits != 8 && c->bits != 4) || (c->bits == 4 && in % 2))
        return false;
    if (c->granularity == SQ_GRAN_TENSOR)
        *rs = 0, *glen = in;
    else if (c->granularity == SQ_GRAN_CHANNEL && c->axis == 0)
        *rs = 1, *glen = in;
    else if (c->granularity == SQ_GRAN_GROUP && c->group_size % 16 == 0)
        *rs = in / c->group_size, *glen = c->group_size;
    else
        return false;
    return true;
}

/* Weight rows [o0, o0 + n) as floats into wb (n rows of in): the signed
 * codes when one scale covers the row (ONE), else the values fma(q, fscale,
 * fshift), as fblock forms them. */
SQ_INLINE SQ_AVX512BW void decode_rows(const fargs *a, size_t o0, size_t n, float *wb, const int BITS, const bool ONE)
{
    for (size_t r = 0; r < n; r++) {
        const uint8_t *cr = a->codes + (o0 + r) * a->in * (size_t)BITS / 8;
        float *dst = wb + r * a->in;
        size_t si = (o0 + r) * a->rs, g = 0, k = 0;
        for (; k + 16 <= a->in; k += 16) {
            __m512 v = dec16(cr + k * (size_t)BITS / 8, BITS, 16);
            if (!ONE) {
                v = _mm512_fmadd_ps(v, _mm512_set1_ps(a->fs[si]), _mm512_set1_ps(a->fz[si]));
                if ((g += 16) == a->glen)
                    g = 0, si++;
            }
            _mm512_storeu_ps(dst + k, v);
        }
        if (k < a->in) /* only ONE rows have tails */
            _mm512_mask_storeu_ps(dst + k, (__mmask16)((1u << (a->in - k)) - 1),
                                  dec16(cr + k * (size_t)BITS / 8, BITS, a->in - k));
    }
}

static SQ_AVX512BW void decode_rows_any(const fargs *a, size_t o0, size_t n, float *wb)
{
    bool one = a->xsum != NULL;
    if (a->bits == 8)
        one ? decode_rows(a, o0, n, wb, 8, true) : decode_rows(a, o0, n, wb, 8, false);
    else
        one ? decode_rows(a, o0, n, wb, 4, true) : decode_rows(a, o0, n, wb, 4, false);
}

enum {
    DEC_ROWS = 24, /* weight rows decoded at a time (24 x 16 KiB at 4096: in L2) */
    X_ROWS = 256   /* rows of x copied at a time (bounds the copy's memory) */
};

/* Larger batches: decode DEC_ROWS weight rows into floats once and multiply
 * them with up to X_ROWS rows of x by the float layer's kernel (sgemm.h), so
 * the decoding is shared by those rows. False when the buffers cannot be had. */
static bool float_via_sgemm(const fargs *a, size_t batch)
{
    size_t in = a->in, ld = sq_sgemm512_ldx(in), xr = batch < X_ROWS ? batch : X_ROWS;
    if (ld > SIZE_MAX / sizeof(float) / X_ROWS)
        return false;
    float *xc = aligned_alloc(64, xr * ld * sizeof(float)), *wb = aligned_alloc(64, DEC_ROWS * ld * sizeof(float));
    if (!xc || !wb) {
        free(xc);
        free(wb);
        return false;
    }
    for (size_t c0 = 0; c0 < batch; c0 += xr) {
        size_t nb = batch - c0 < xr ? batch - c0 : xr;
        float *y = a->y + c0 * a->out;
        for (size_t b = 0; b < nb; b++)
            memcpy(xc + b * ld, a->x + (c0 + b) * in, in * sizeof(float));
        for (size_t o0 = 0; o0 < a->out; o0 += DEC_ROWS) {
            size_t n = a->out - o0 < DEC_ROWS ? a->out - o0 : DEC_ROWS;
            decode_rows_any(a, o0, n, wb);
            sq_sgemm512_rows(xc, ld, nb, wb, in, n, y + o0, a->out);
            if (a->xsum) /* one scale for the row: scale * sum q x - zp * scale * sum x */
                for (size_t b = 0; b < nb; b++)
                    for (size_t o = o0; o < o0 + n; o++) {
                        size_t idx = o * a->rs;
                        y[b * a->out + o] = a->fs[idx] * y[b * a->out + o] + a->fz[idx] * a->xsum[c0 + b];
                    }
        }
    }
    free(xc);
    free(wb);
    return true;
}

bool sq_qgemm512_float(const sq_qtensor *w, const sq_qgemm_params *p, const float *x, size_t batch, float *y)
{
    fargs a;
    if (!sq_use_avx512bw() || !float_layout(w, &a.rs, &a.glen))
        return false;
    a.codes = w->codes;
    a.bits = w->config.bits;
    a.in = w->shape[1];
    a.out = w->shape[0];
    a.fs = p->fscale;
    a.fz = p->fshift;
    a.x = x;
    a.y = y;
    float *xsum = NULL;
    if (a.glen == a.in) { /* one scale per row: multiply codes, apply the scale once */
        if (!(xsum = malloc((batch ? batch : 1) * sizeof *xsum)))
            return false;
        row_sums(x, a.in, batch, xsum);
    }
    a.xsum = xsum;
    if (!(batch >= 8 && float_via_sgemm(&a, batch))) {
        size_t step = batch >= 8 ? 2 : 4;
        const fkind *f = &fkinds[a.bits == 4][xsum != NULL];
        for (size_t o0 = 0; o0 < a.out; o0 += step)
            float_rows(&a, f, o0, batch);
    }
    free(xsum);
    return true;
}

/* ---- dynamic int8 (VNNI) ---------------------------------------------------------- */

typedef struct iargs {
    const uint8_t *codes;
    int bits;
    size_t in, out, rowbytes;
    const sq_qact *act;
    const double *s, *zp;
    bool per_row;
    float *y;
} iargs;

/* Outputs [b0, b0 + NB) x [o0, o0 + R): sum of unsigned codes (offset
 * binary, as stored) times activation codes, corrected by the offset. */
SQ_INLINE SQ_AVX512VNNI void iblock(const iargs *a, size_t o0, size_t b0, const int R, const int NB)
{
    __m512i acc[MAXR][MAXB];
    const uint8_t *wr[MAXR];
    const int8_t *xr[MAXB];
    const __m512i low4 = _mm512_set1_epi8(15);
    UNROLL
    for (int r = 0; r < R; r++) {
        size_t row = o0 + (size_t)r < a->out ? o0 + (size_t)r : a->out - 1;
        wr[r] = a->codes + row * a->rowbytes;
        UNROLL
        for (int j = 0; j < NB; j++)
            acc[r][j] = _mm512_setzero_si512();
    }
    UNROLL
    for (int j = 0; j < NB; j++)
        xr[j] = a->act->a + (b0 + (size_t)j) * a->act->stride;
    for (size_t kb = 0; kb < a->rowbytes; kb += 64) {
        size_t n = a->rowbytes - kb;
        __mmask64 m = n >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1;
        if (a->bits == 8) {
            __m512i v[MAXR];
            UNROLL
            for (int r = 0; r < R; r++)
                v[r] = _mm512_maskz_loadu_epi8(m, wr[r] + kb);
            UNROLL
            for (int j = 0; j < NB; j++) {
                __m512i xv = _mm512_loadu_si512(xr[j] + kb);
                UNROLL
                for (int r = 0; r < R; r++)
                    acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], v[r], xv);
            }
        } else {
            __m512i xe[MAXB], xo[MAXB];
            UNROLL
            for (int j = 0; j < NB; j++) {
                xe[j] = _mm512_loadu_si512(xr[j] + 2 * kb);
                xo[j] = _mm512_loadu_si512(xr[j] + 2 * kb + 64);
            }
            UNROLL
            for (int r = 0; r < R; r++) {
                __m512i v = _mm512_maskz_loadu_epi8(m, wr[r] + kb);
                __m512i lo = _mm512_and_si512(v, low4), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
                UNROLL
                for (int j = 0; j < NB; j++)
                    acc[r][j] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(acc[r][j], lo, xe[j]), hi, xo[j]);
            }
        }
    }
    int64_t off = (int64_t)1 << (a->bits - 1);
    UNROLL
    for (int r = 0; r < R; r++) {
        size_t o = o0 + (size_t)r, idx = a->per_row ? o : 0;
        if (o >= a->out)
            break;
        UNROLL
        for (int j = 0; j < NB; j++) {
            size_t b = b0 + (size_t)j;
            int64_t asum = a->act->sum[b], d = (int64_t)_mm512_reduce_add_epi32(acc[r][j]) - off * asum;
            a->y[b * a->out + o] = sq_qgemm_dyn_out(sq_qgemm_dyn_run(d, asum, a->s[idx], a->zp[idx]), a->act->sx[b]);
        }
    }
}

#define IBLOCK(R, NB)                                                                                \
    static SQ_AVX512VNNI __attribute__((noinline)) void iblock_##R##_##NB(const iargs *a, size_t o0, \
                                                                         size_t b0)                \
    {                                                                                                \
        iblock(a, o0, b0, R, NB);                                                                    \
    }
IBLOCK(4, 6)
IBLOCK(4, 5)
IBLOCK(4, 4)
IBLOCK(4, 3)
IBLOCK(4, 2)
IBLOCK(4, 1)

typedef void (*iblock_fn)(const iargs *, size_t, size_t);
static const iblock_fn iblocks[IMAXB8 + 1] = {NULL, iblock_4_1, iblock_4_2, iblock_4_3, iblock_4_4, iblock_4_5,
                                              iblock_4_6};

/* ---- dynamic int8 with per-group scales (VNNI) --------------------------------- */

typedef struct gargs {
    const uint8_t *codes;
    size_t in, out, rowbytes, rs, glen;
    const sq_qact *act;
    const float *fs, *fz; /* (float)scale, (float)(-zp * scale) per group */
    bool asym;            /* some zero point is not 0 */
    __m512i lane_group;   /* groups shorter than a chunk: the group of each lane within it */
    float *y;
} gargs;

/* Outputs [b0, b0 + NB) x [o0, o0 + R) for a weight with several groups per
 * row. Each lane of a 64-byte chunk holds the codes of 4 (8-bit) or 8 (4-bit)
 * consecutive elements, all in one group: its integer sum D = sum q a is
 * exact, and s * D - zp * s * A (A: the lane's activation code sum) is added
 * to float lane accumulators (model.h states the bound). */
SQ_INLINE SQ_AVX512VNNI void gblock(const gargs *a, size_t o0, size_t b0, const int R, const int NB, const int BITS)
{
    __m512 acc[MAXR][MAXB];
    const uint8_t *wr[MAXR];
    const int8_t *xr[MAXB];
    size_t si[MAXR];
    const __m512i low4 = _mm512_set1_epi8(15), ones = _mm512_set1_epi8(1);
    const size_t per_chunk = 64 * 8 / BITS; /* elements of a 64-byte chunk */
    UNROLL
    for (int r = 0; r < R; r++) {
        size_t row = o0 + (size_t)r < a->out ? o0 + (size_t)r : a->out - 1;
        wr[r] = a->codes + row * a->rowbytes;
        si[r] = row * a->rs;
        UNROLL
        for (int j = 0; j < NB; j++)
            acc[r][j] = _mm512_setzero_ps();
    }
    UNROLL
    for (int j = 0; j < NB; j++)
        xr[j] = a->act->a + (b0 + (size_t)j) * a->act->stride;
    for (size_t kb = 0; kb < a->rowbytes; kb += 64) {
        size_t n = a->rowbytes - kb, k0 = kb * 8 / BITS, g0 = k0 / a->glen;
        __mmask64 m = n >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1;
        __m512 sv[MAXR], zv[MAXR];
        __m512i v[MAXR], vh[MAXR];
        UNROLL
        for (int r = 0; r < R; r++) {
            if (a->glen >= per_chunk) {
                sv[r] = _mm512_set1_ps(a->fs[si[r] + g0]);
                zv[r] = _mm512_set1_ps(a->fz[si[r] + g0]);
            } else { /* per_chunk / glen <= 16 groups in this chunk */
                size_t ng = (a->in - k0 + a->glen - 1) / a->glen;
                __mmask16 gm = (__mmask16)(ng >= 16 ? 0xFFFFu : (1u << ng) - 1);
                sv[r] = _mm512_permutexvar_ps(a->lane_group, _mm512_maskz_loadu_ps(gm, a->fs + si[r] + g0));
                zv[r] = _mm512_permutexvar_ps(a->lane_group, _mm512_maskz_loadu_ps(gm, a->fz + si[r] + g0));
            }
            __m512i c = _mm512_maskz_loadu_epi8(m, wr[r] + kb);
            if (BITS == 8) {
                v[r] = c;
            } else {
                v[r] = _mm512_and_si512(c, low4);
                vh[r] = _mm512_and_si512(_mm512_srli_epi16(c, 4), low4);
            }
        }
        UNROLL
        for (int j = 0; j < NB; j++) {
            __m512i xv, xh = _mm512_setzero_si512(), asum;
            if (BITS == 8) {
                xv = _mm512_loadu_si512(xr[j] + kb);
                asum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, xv);
            } else {
                xv = _mm512_loadu_si512(xr[j] + 2 * kb);
                xh = _mm512_loadu_si512(xr[j] + 2 * kb + 64);
                asum = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, xv), ones, xh);
            }
            /* the codes are stored offset by 2^(BITS-1): subtract that times A */
            __m512i off = _mm512_slli_epi32(asum, BITS - 1);
            __m512 af = _mm512_cvtepi32_ps(asum);
            UNROLL
            for (int r = 0; r < R; r++) {
                __m512i u = _mm512_dpbusd_epi32(_mm512_setzero_si512(), v[r], xv);
                if (BITS == 4)
                    u = _mm512_dpbusd_epi32(u, vh[r], xh);
                __m512 d = _mm512_cvtepi32_ps(_mm512_sub_epi32(u, off));
                acc[r][j] = _mm512_fmadd_ps(d, sv[r], acc[r][j]);
                if (a->asym)
                    acc[r][j] = _mm512_fmadd_ps(af, zv[r], acc[r][j]);
            }
        }
    }
    UNROLL
    for (int r = 0; r < R; r++) {
        size_t o = o0 + (size_t)r;
        if (o >= a->out)
            break;
        UNROLL
        for (int j = 0; j < NB; j++) {
            size_t b = b0 + (size_t)j;
            a->y[b * a->out + o] = sq_qgemm_dyn_out((double)_mm512_reduce_add_ps(acc[r][j]), a->act->sx[b]);
        }
    }
}

#define GBLOCK(R, NB, BITS)                                                                              \
    static SQ_AVX512VNNI __attribute__((noinline)) void gblock_##R##_##NB##_##BITS(const gargs *a, size_t o0, \
                                                                                  size_t b0)             \
    {                                                                                                    \
        gblock(a, o0, b0, R, NB, BITS);                                                                  \
    }
GBLOCK(4, 4, 8)
GBLOCK(4, 2, 8)
GBLOCK(4, 1, 8)
GBLOCK(4, 4, 4)
GBLOCK(4, 2, 4)
GBLOCK(4, 1, 4)

/* Whether the per-group kernel takes a weight of `bits` with groups of g
 * along rows of in: every lane within one group, and a chunk either inside
 * one group or made of whole groups. */
static bool group_fits(int bits, size_t g, size_t in)
{
    size_t per_lane = bits == 8 ? 4 : 8, per_chunk = bits == 8 ? 64 : 128;
    return g % per_lane == 0 && (g % per_chunk == 0 || per_chunk % g == 0) && in % g == 0;
}

static bool group_takes(const sq_qtensor *w)
{
    const sq_qconfig *c = &w->config;
    return sq_use_avx512vnni() && w->ndim == 2 && (c->bits == 8 || c->bits == 4) &&
           c->granularity == SQ_GRAN_GROUP && c->group_size < w->shape[1] && w->shape[1] <= 65536 &&
           group_fits(c->bits, c->group_size, w->shape[1]);
}

/* The per-group kernel over all outputs (AVX-512 code: called once the CPU is known to have it). */
static SQ_AVX512VNNI void dynamic_group(const sq_qtensor *w, const sq_qgemm_params *p, const sq_qact *act,
                                        size_t batch, float *y)
{
    int bits = w->config.bits;
    size_t g = w->config.group_size, per_lane = bits == 8 ? 4 : 8;
    gargs a = {w->codes, w->shape[1], w->shape[0], w->shape[1] * (size_t)bits / 8, w->shape[1] / g, g, act,
               p->fscale, p->fshift, false, _mm512_setzero_si512(), y};
    int32_t lg[16];
    for (int L = 0; L < 16; L++)
        lg[L] = (int32_t)((size_t)L * per_lane / g);
    a.lane_group = _mm512_loadu_si512(lg);
    for (size_t i = 0; i < w->n_scales; i++)
        a.asym = a.asym || w->zero_points[i] != 0.0;
    for (size_t o0 = 0; o0 < a.out; o0 += 4) {
        size_t b0 = 0;
        for (; b0 + 4 <= batch; b0 += 4)
            bits == 8 ? gblock_4_4_8(&a, o0, b0) : gblock_4_4_4(&a, o0, b0);
        if (batch - b0 >= 2) {
            bits == 8 ? gblock_4_2_8(&a, o0, b0) : gblock_4_2_4(&a, o0, b0);
            b0 += 2;
        }
        if (batch - b0 >= 1)
            bits == 8 ? gblock_4_1_8(&a, o0, b0) : gblock_4_1_4(&a, o0, b0);
    }
}

bool sq_qgemm512_dynamic_group(const sq_qtensor *w, const sq_qgemm_params *p, const sq_qact *act, size_t batch,
                               float *y)
{
    if (!p || !p->ok || !group_takes(w))
        return false;
    dynamic_group(w, p, act, batch, y);
    return true;
}

bool sq_qgemm512_dynamic_takes(const sq_qtensor *w)
{
    const sq_qconfig *c = &w->config;
    if (group_takes(w))
        return true;
    if (!sq_use_avx512vnni() || w->ndim != 2 || (c->bits != 8 && c->bits != 4))
        return false;
    size_t in = w->shape[1];
    /* |sum u a| <= 255 * 127 * in must fit the 32-bit lanes */
    if (in > 65536 || (c->bits == 4 && in % 2))
        return false;
    return c->granularity == SQ_GRAN_TENSOR || (c->granularity == SQ_GRAN_CHANNEL && c->axis == 0);
}

bool sq_qgemm512_dynamic(const sq_qtensor *w, const sq_qact *act, size_t batch, float *y)
{
    if (!sq_qgemm512_dynamic_takes(w) || group_takes(w))
        return false;
    iargs a = {w->codes, w->config.bits, w->shape[1], w->shape[0], w->shape[1] * (size_t)w->config.bits / 8,
               act, w->scales, w->zero_points, w->config.granularity == SQ_GRAN_CHANNEL, y};
    /* tiles of 4 weight rows by up to 6 (8-bit codes: 24 accumulators) or 4
     * (4-bit: each chunk is two products) activation rows, of as equal
     * sizes as that allows */
    size_t tmax = a.bits == 8 ? IMAXB8 : 4, nt = (batch + tmax - 1) / tmax;
    for (size_t o0 = 0; o0 < a.out; o0 += 4)
        for (size_t t = 0, b0 = 0; t < nt; t++) {
            size_t len = batch / nt + (t < batch % nt);
            iblocks[len](&a, o0, b0);
            b0 += len;
        }
    return true;
}

#else /* no x86 kernels */

bool sq_qgemm512_float(const sq_qtensor *w, const sq_qgemm_params *p, const float *x, size_t batch, float *y)
{
    (void)w, (void)p, (void)x, (void)batch, (void)y;
    return false;
}

bool sq_qgemm512_dynamic_takes(const sq_qtensor *w)
{
    (void)w;
    return false;
}

bool sq_qgemm512_dynamic(const sq_qtensor *w, const sq_qact *act, size_t batch, float *y)
{
    (void)w, (void)act, (void)batch, (void)y;
    return false;
}

bool sq_qgemm512_dynamic_group(const sq_qtensor *w, const sq_qgemm_params *p, const sq_qact *act, size_t batch,
                               float *y)
{
    (void)w, (void)p, (void)act, (void)batch, (void)y;
    return false;
}

#endif
