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

/* sq_quantize, calling visit (if not NULL) for every chunk in order. */
sq_status sq_quantize_visit(const sq_tensor *x, const sq_qconfig *cfg, sq_chunk_visitor visit, void *ctx,
                            sq_qtensor **out, sq_error *err);

#endif
