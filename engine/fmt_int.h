/*
 * fmt_int.h - internals shared by the element-format kernels (fmt_fp.c,
 * fmt_nf4.c) and their table (elemfmt.c). Not a public header.
 *
 * Kernels work on whole blocks of finite input (checked by the caller),
 * cannot fail and allocate nothing.
 */
#ifndef SQ_FMT_INT_H
#define SQ_FMT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef void (*sq_fmt_enc_fn)(const float *x, size_t nblocks, float scale, uint8_t *dst);
typedef void (*sq_fmt_dec_fn)(const uint8_t *src, size_t nblocks, float scale, float *dst);

void sq_fmt_e4m3_enc(const float *x, size_t nb, float scale, uint8_t *dst);
void sq_fmt_e4m3_dec(const uint8_t *src, size_t nb, float scale, float *dst);
void sq_fmt_e5m2_enc(const float *x, size_t nb, float scale, uint8_t *dst);
void sq_fmt_e5m2_dec(const uint8_t *src, size_t nb, float scale, float *dst);
void sq_fmt_e2m1_enc(const float *x, size_t nb, float scale, uint8_t *dst);
void sq_fmt_e2m1_dec(const uint8_t *src, size_t nb, float scale, float *dst);
void sq_fmt_mxfp4_enc(const float *x, size_t nb, float scale, uint8_t *dst);
void sq_fmt_mxfp4_dec(const uint8_t *src, size_t nb, float scale, float *dst);
void sq_fmt_mxfp8_enc(const float *x, size_t nb, float scale, uint8_t *dst);
void sq_fmt_mxfp8_dec(const uint8_t *src, size_t nb, float scale, float *dst);
void sq_fmt_nvfp4_enc(const float *x, size_t nb, float scale, uint8_t *dst);
void sq_fmt_nvfp4_dec(const uint8_t *src, size_t nb, float scale, float *dst);
void sq_fmt_nf4_enc(const float *x, size_t nb, float scale, uint8_t *dst);
void sq_fmt_nf4_dec(const uint8_t *src, size_t nb, float scale, float *dst);

/* Index of the first NaN/Inf in x[0..n), or n (elemfmt.c). */
size_t sq_fmt_first_nonfinite(const float *x, size_t n);

/* Largest |x[i]| over i < n (0 for n = 0); x finite. The magnitudes'
 * bit patterns order as the magnitudes do, so an integer maximum (which
 * vectorizes, unlike fmaxf) finds it. */
static inline float sq_fmt_absmax(const float *x, size_t n)
{
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        u &= 0x7fffffffu;
        m = u > m ? u : m;
    }
    float a;
    memcpy(&a, &m, sizeof a);
    return a;
}

#endif
