/* sgemm512.c - the float layer's product y = x W^T in AVX-512 F (see
 * sgemm.h for the blocking and its error). */
#include "sgemm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"
#include "threads.h"

#if SQ_X86_KERNELS

#define SQ_INLINE static inline __attribute__((always_inline))
/* Loops over the tile: fully unrolled, so the accumulators live in registers. */
#define UNROLL _Pragma("GCC unroll 16")

/* The tile (6 x 4: 24 accumulators, 6 + 4 loads for 24 FMAs; x, the
 * stream from L2, is read once per 6 rows of W). SQ_SR/SQ_SB override it
 * for experiments (SB <= 6). 4 x 6 was 6% slower at 4096, 7 x 3 and 8 x 3
 * much slower. */
#ifndef SQ_SR
#define SQ_SR 6
#define SQ_SB 4
#endif
enum {
    SR = SQ_SR, /* rows of W per tile */
    SB = SQ_SB, /* rows of x per tile (at most) */
    KC = 512, /* block of the shared dimension */
    BCH = 48  /* rows of x per chunk (their lane sums are kept between blocks) */
};

typedef struct sargs {
    const float *x, *w;
    size_t in, out, ldx; /* ldx: distance of x's rows */
    float *y;
    size_t ldy;          /* distance of y's rows */
    float (*lanes)[SR][16]; /* per chunk row and tile row: 16 lane partial sums */
} sargs;

/* The tile of W rows [o0, o0 + SR) (rows past out repeat the last one; their
 * sums are dropped) and x rows [b0, b0 + NB) over [k0, k1); cb indexes the
 * chunk's lane sums. The first block starts from zero, the last one sums the
 * lanes into y. */
SQ_INLINE SQ_AVX512 void stile(const sargs *a, size_t o0, size_t b0, size_t cb, size_t k0, size_t k1, bool first,
                               bool last, const int NB)
{
    __m512 acc[SR][6];
    const float *wr[SR], *xr[6];
    UNROLL
    for (int r = 0; r < SR; r++)
        wr[r] = a->w + (o0 + (size_t)r < a->out ? o0 + (size_t)r : a->out - 1) * a->in;
    UNROLL
    for (int j = 0; j < NB; j++) {
        xr[j] = a->x + (b0 + (size_t)j) * a->ldx;
        UNROLL
        for (int r = 0; r < SR; r++)
            acc[r][j] = first ? _mm512_setzero_ps() : _mm512_load_ps(a->lanes[cb + (size_t)j][r]);
    }
    size_t k = k0;
    for (; k + 16 <= k1; k += 16) {
        __m512 wv[SR];
        UNROLL
        for (int r = 0; r < SR; r++)
            wv[r] = _mm512_loadu_ps(wr[r] + k);
        UNROLL
        for (int j = 0; j < NB; j++) {
            __m512 xv = _mm512_loadu_ps(xr[j] + k);
            UNROLL
            for (int r = 0; r < SR; r++)
                acc[r][j] = _mm512_fmadd_ps(wv[r], xv, acc[r][j]);
        }
    }
    if (k < k1) { /* tail of the row: masked lanes read zeros */
        __mmask16 m = (__mmask16)((1u << (k1 - k)) - 1);
        __m512 wv[SR];
        UNROLL
        for (int r = 0; r < SR; r++)
            wv[r] = _mm512_maskz_loadu_ps(m, wr[r] + k);
        UNROLL
        for (int j = 0; j < NB; j++) {
            __m512 xv = _mm512_maskz_loadu_ps(m, xr[j] + k);
            UNROLL
            for (int r = 0; r < SR; r++)
                acc[r][j] = _mm512_fmadd_ps(wv[r], xv, acc[r][j]);
        }
    }
    UNROLL
    for (int j = 0; j < NB; j++) {
        UNROLL
        for (int r = 0; r < SR; r++) {
            if (!last)
                _mm512_store_ps(a->lanes[cb + (size_t)j][r], acc[r][j]);
            else if (o0 + (size_t)r < a->out)
                a->y[(b0 + (size_t)j) * a->ldy + o0 + (size_t)r] = _mm512_reduce_add_ps(acc[r][j]);
        }
    }
}

#define STILE(NB)                                                                                          \
    static SQ_AVX512 __attribute__((noinline)) void stile_##NB(const sargs *a, size_t o0, size_t b0,        \
                                                                size_t cb, size_t k0, size_t k1, bool first, \
                                                                bool last)                                   \
    {                                                                                                      \
        stile(a, o0, b0, cb, k0, k1, first, last, NB);                                                     \
    }
STILE(1)
STILE(2)
STILE(3)
STILE(4)
STILE(5)
STILE(6)

typedef void (*stile_fn)(const sargs *, size_t, size_t, size_t, size_t, size_t, bool, bool);
static const stile_fn stiles[7] = {NULL, stile_1, stile_2, stile_3, stile_4, stile_5, stile_6};

/* x rows [c0, c0 + n) (n <= BCH) against W's rows [o_begin, o_end). The
 * rows are split into tiles of as equal sizes as SB allows (32: 8 tiles of
 * 4; 33: 6 of 4 and 3 of 3). */
static void chunk(const sargs *a, size_t c0, size_t n, size_t o_begin, size_t o_end)
{
    size_t nt = (n + SB - 1) / SB, start[BCH + 1], len[BCH];
    for (size_t t = 0, s = 0; t < nt; t++) {
        len[t] = n / nt + (t < n % nt);
        start[t] = s;
        s += len[t];
    }
    for (size_t o0 = o_begin; o0 < o_end; o0 += SR)
        for (size_t k0 = 0; k0 < a->in; k0 += KC) {
            size_t k1 = a->in - k0 < KC ? a->in : k0 + KC;
            for (size_t t = 0; t < nt; t++)
                stiles[len[t]](a, o0, c0 + start[t], start[t], k0, k1, k0 == 0, k1 == a->in);
        }
}

enum { OPART = 16 * SR }; /* rows of W per parallel task (fixed: results do not depend on the thread count) */

typedef struct sjob {
    sargs a; /* lanes unset: each task has its own */
    size_t c0, n;
} sjob;

/* Task i: W rows [i * OPART, (i + 1) * OPART) for the job's chunk of x. */
static void chunk_task(void *ctx, size_t i, int worker)
{
    const sjob *j = ctx;
    _Alignas(64) float lanes[BCH][SR][16];
    sargs a = j->a;
    (void)worker;
    a.lanes = lanes;
    size_t ob = i * OPART, oe = a.out - ob < OPART ? a.out : ob + OPART;
    chunk(&a, j->c0, j->n, ob, oe);
}

size_t sq_sgemm512_ldx(size_t in)
{
    return (in + 15) / 16 * 16 + 16;
}

void sq_sgemm512_rows(const float *x, size_t ldx, size_t batch, const float *w, size_t in, size_t out, float *y,
                      size_t ldy)
{
    _Alignas(64) float lanes[BCH][SR][16];
    sargs a = {x, w, in, out, ldx, y, ldy, lanes};
    for (size_t c0 = 0; c0 < batch; c0 += BCH)
        chunk(&a, c0, batch - c0 < BCH ? batch - c0 : BCH, 0, out);
}

bool sq_sgemm512_xwt(const float *x, size_t batch, const float *w, size_t in, size_t out, float *y)
{
    if (!sq_use_avx512() || in == 0 || out == 0)
        return false;
    sjob job = {{x, w, in, out, in, y, out, NULL}, 0, 0};
    sargs *a = &job.a;
    /* Rows of x a multiple of 4 KiB apart fall into the same L1 sets as each
     * other and as W's rows: the tile's 10 streams would evict one another.
     * A copy of each chunk with rows 64 bytes further apart spreads them
     * (without memory for it the kernel reads x in place). */
    size_t ld = sq_sgemm512_ldx(in);
    float *xc = NULL;
    if (in >= 256 && ld <= SIZE_MAX / sizeof(float) / BCH)
        xc = aligned_alloc(64, BCH * ld * sizeof(float));
    for (size_t c0 = 0; c0 < batch; c0 += BCH) {
        size_t n = batch - c0 < BCH ? batch - c0 : BCH;
        if (xc) {
            for (size_t b = 0; b < n; b++)
                memcpy(xc + b * ld, x + (c0 + b) * in, in * sizeof(float));
            a->x = xc - c0 * ld;
            a->ldx = ld;
        }
        job.c0 = c0;
        job.n = n;
        sq_parallel_for((out + OPART - 1) / OPART, chunk_task, &job);
    }
    free(xc);
    return true;
}

#else /* no x86 kernels */

size_t sq_sgemm512_ldx(size_t in)
{
    return in;
}

void sq_sgemm512_rows(const float *x, size_t ldx, size_t batch, const float *w, size_t in, size_t out, float *y,
                      size_t ldy)
{
    (void)x, (void)ldx, (void)batch, (void)w, (void)in, (void)out, (void)y, (void)ldy;
}

bool sq_sgemm512_xwt(const float *x, size_t batch, const float *w, size_t in, size_t out, float *y)
{
    (void)x, (void)batch, (void)w, (void)in, (void)out, (void)y;
    return false;
}

#endif
