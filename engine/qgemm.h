/*
 * qgemm.h - internal: matrix products with a quantized weight, read from its
 * packed codes (the float weight is never formed as a whole).
 *
 * The weight W is a 2-D quantized tensor [out, in]; x is batch rows of in
 * floats; y receives batch rows of out floats, y[b][o] = sum_k W[o][k] x[b][k]
 * (no bias: the caller adds it). Two arithmetics:
 *
 *   exact float (sq_qgemm_float): W's values (q - zp) * scale are formed in
 *     float registers and multiplied with x in float. Error against the exact
 *     product of the dequantized weight with x: see model.h.
 *   dynamic int8 (sq_qgemm_dynamic): every row of x is quantized to int8 with
 *     one symmetric scale sx = max|x| / 127 (round half to even), dot products
 *     of codes are exact integers, and y = sx * sum over runs of scale *
 *     (sum q a - zp * sum a), in double, rounded to float once. The AVX-512
 *     VNNI kernels and the portable ones give bit-identical results, except
 *     for per-group weights, whose VNNI kernel sums the groups' terms in
 *     float lanes (bound in model.h).
 *
 * Exact float from 8 rows of x on: 24 weight rows at a time are decoded into
 * floats (codes, or values for per-group) and multiplied with all of x by the
 * float layer's kernel (sgemm.h), so decoding is shared by every row of x;
 * scratch: a copy of up to 256 rows of x and 24 rows of floats (without it,
 * the tiled kernel).
 *
 * Kernels: AVX-512 (BW; VNNI for the integer products) for 8- and 4-bit codes
 * with one scale per row, per tensor, or per group (float: a multiple of 16
 * elements; dynamic: see sq_qgemm512_dynamic_group); everything else (other widths, odd in with int4, per-channel along
 * the input axis, short groups, CPUs without AVX-512) takes portable code,
 * compiled also for x86-64-v3 (AVX2) and chosen at load time (SQ_HOT).
 */
#ifndef SQ_QGEMM_H
#define SQ_QGEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "quant.h"

/* Float forms of a weight's parameters for the float kernels: per scale
 * index, fscale = (float)scale and fshift = (float)(-zp * scale), so that a
 * value is fma(q, fscale, fshift). ok is false when some of them is not a
 * finite float (the portable kernel, which works in double, is then used). */
typedef struct sq_qgemm_params {
    float *fscale, *fshift;  /* n_scales each, owned */
    bool ok;
} sq_qgemm_params;

/* Compute p for w (a 2-D quantized tensor). Free with sq_qgemm_params_free.
 * Errors: no memory. */
sq_status sq_qgemm_params_init(const sq_qtensor *w, sq_qgemm_params *p, sq_error *err);
void sq_qgemm_params_free(sq_qgemm_params *p);

/* y = x W^T in the exact float arithmetic. p may be NULL (portable path).
 * x: batch * in floats, y: batch * out floats, both caller-owned.
 * Errors: no memory (scratch rows). */
sq_status sq_qgemm_float(const sq_qtensor *w, const sq_qgemm_params *p, const float *x, size_t batch, float *y,
                         sq_error *err);

/* Whether the dynamic int8 arithmetic applies to w: one scale per row, per
 * tensor, or per group along the row. Per-channel along the input axis (a
 * scale per element of a row) would rescale every single product; such
 * weights take the exact float arithmetic. */
bool sq_qgemm_dynamic_applies(const sq_qtensor *w);

/* y = x W^T in the dynamic int8 arithmetic where it applies, else as
 * sq_qgemm_float. Errors: no memory, overflow. */
sq_status sq_qgemm_dynamic(const sq_qtensor *w, const sq_qgemm_params *p, const float *x, size_t batch, float *y,
                           sq_error *err);

/* ---- shared between qgemm.c and qgemm512.c ------------------------------------ */

/* Quantized activations: batch rows of stride bytes (zero-padded), their
 * scales and code sums. For 4-bit weights (int4 layout) each 128 elements of a
 * row are stored as their 64 even-indexed codes then their 64 odd-indexed
 * ones, matching the low and high nibbles of 64 packed bytes. */
typedef struct sq_qact {
    int8_t *a;       /* batch * stride */
    size_t stride;
    double *sx;      /* batch scales */
    int64_t *sum;    /* batch sums of the codes */
} sq_qact;

/* The output of the dynamic arithmetic for a row with one run: d = sum q a
 * (signed codes), asum = sum a. Both kernel families call this. */
static inline float sq_qgemm_dyn_out(double acc, double sx)
{
    return (float)(sx * acc);
}

static inline double sq_qgemm_dyn_run(int64_t d, int64_t asum, double scale, double zp)
{
    return scale * ((double)d - zp * (double)asum);
}

/* The AVX-512 kernels (qgemm512.c); each returns false when it does not take
 * this weight (the caller then runs the portable kernel). */
bool sq_qgemm512_float(const sq_qtensor *w, const sq_qgemm_params *p, const float *x, size_t batch, float *y);
bool sq_qgemm512_dynamic(const sq_qtensor *w, const sq_qact *act, size_t batch, float *y);

/* The same for weights with several groups per row along the input (group
 * sizes whose groups hold whole 16-lane pieces of 64-byte chunks: 8-bit
 * codes 4, 8, 16, 32 or a multiple of 64; 4-bit 8, 16, 32, 64 or a multiple
 * of 128); p gives the float scales. Lane sums in float (see model.h). */
bool sq_qgemm512_dynamic_group(const sq_qtensor *w, const sq_qgemm_params *p, const sq_qact *act, size_t batch,
                               float *y);

/* Whether a VNNI kernel takes w (so the activations get its layout). */
bool sq_qgemm512_dynamic_takes(const sq_qtensor *w);

#endif
