/* quant_int.h - internal: quantization with a per-chunk callback, so that
 * analyses (stats.c) can consume each chunk's codes while its values are
 * still in cache, making quantize + statistics a single pass over memory. */
#ifndef SQ_QUANT_INT_H
#define SQ_QUANT_INT_H

#include "quant.h"

/* Called after elements [start, start+n) are encoded; codes holds their n
 * signed codes; q has its scales and zero points already. */
typedef void (*sq_chunk_visitor)(void *ctx, const sq_qtensor *q, size_t start, size_t n,
                                 const int8_t *codes);

/* Optionally encodes elements [start, start+n) itself, into codes, exactly
 * as the built-in kernels would (kernel.h), adding the count of clipped
 * values to *clipped and returning true; returning false lets the built-in
 * kernels encode and then visit the chunk. inv holds 1/scale per index; q has
 * its scales and zero points already. */
typedef bool (*sq_chunk_encoder)(void *ctx, const sq_qtensor *q, const float *x, size_t start, size_t n,
                                 const double *inv, int8_t *codes, size_t *clipped);

/* sq_quantize, offering every chunk in order to enc (if not NULL) and
 * otherwise calling visit (if not NULL) after the built-in encoding. */
sq_status sq_quantize_visit(const sq_tensor *x, const sq_qconfig *cfg, sq_chunk_encoder enc, sq_chunk_visitor visit,
                            void *ctx, sq_qtensor **out, sq_error *err);

#endif
