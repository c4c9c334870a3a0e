/* refquant.h - a plain scalar double-precision implementation of squint's
 * quantization arithmetic, written as directly from the definitions as
 * possible. Tests hold the engine's fast kernels to it bit for bit; the
 * benchmark measures it as the baseline. */
#ifndef SQ_REFQUANT_H
#define SQ_REFQUANT_H

#include <stddef.h>
#include <stdint.h>

#include "quant.h"

typedef struct ref_result {
    size_t numel, n_scales, clipped;
    int8_t *codes;      /* one signed code per element */
    double *scales, *zps;
} ref_result;

/* Quantize; returns 0 on success, -1 on allocation failure. cfg must be valid. */
int ref_quantize(const float *x, const size_t *shape, int ndim, const sq_qconfig *cfg, ref_result *r);
/* Scale index of flat element i. */
size_t ref_scale_index(const size_t *shape, int ndim, const sq_qconfig *cfg, size_t i);
void ref_dequantize(const ref_result *r, const size_t *shape, int ndim, const sq_qconfig *cfg, float *out);
void ref_free(ref_result *r);

typedef struct ref_stats {
    double mse, max_abs, mean_abs, sqnr_db, cosine;
} ref_stats;
/* Error statistics of x against xh, and a histogram over [lo, hi] (counts has
 * bins entries; out-of-range values are left out). */
void ref_stats_compute(const float *x, const float *xh, size_t n, ref_stats *s, int bins, double lo,
                       double hi, uint64_t *counts);

#endif
