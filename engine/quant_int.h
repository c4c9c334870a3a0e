/* quant_int.h - internal: quantization with per-chunk callbacks, so that
 * analyses (stats.c) can consume each chunk's codes while its values are
 * still in cache, making quantize + statistics a single pass over memory;
 * and the fixed parts that passes over large tensors run in parallel. */
#ifndef SQ_QUANT_INT_H
#define SQ_QUANT_INT_H

#include "quant.h"

/* Elements per part: passes over a tensor split it into parts of SQ_PART
 * elements (the last one shorter), which run in parallel (threads.h); each
 * part's floating-point partial results are combined in part order, so the
 * results do not depend on the number of threads. A multiple of SQ_CHUNK
 * (layout.h); a tensor of at most SQ_PART elements is one part. */
#define SQ_PART ((size_t)1 << 18)

/* The number of parts of a tensor of numel elements (at least 1). */
static inline size_t sq_part_count(size_t numel)
{
    return numel <= SQ_PART ? 1 : (numel + SQ_PART - 1) / SQ_PART;
}

/* The part a callback is working on: elements [start, end), its number,
 * and the number of the worker running it (below the worker count given to
 * the begin hook; one part at a time per worker). */
typedef struct sq_part {
    size_t index, start, end;
    int worker;
} sq_part;

/* Called after elements [start, start+n) of part p are encoded; codes holds
 * their n signed codes; q has its scales and zero points already. */
typedef void (*sq_chunk_visitor)(void *ctx, const sq_part *p, const sq_qtensor *q, size_t start, size_t n,
                                 const int8_t *codes);

/* Optionally encodes elements [start, start+n) itself, into codes, exactly
 * as the built-in kernels would (kernel.h), adding the count of clipped
 * values to *clipped and returning true; returning false lets the built-in
 * kernels encode and then visit the chunk. inv holds 1/scale per index; q has
 * its scales and zero points already. */
typedef bool (*sq_chunk_encoder)(void *ctx, const sq_part *p, const sq_qtensor *q, const float *x, size_t start,
                                 size_t n, const double *inv, int8_t *codes, size_t *clipped);

/* Called once the scales are known, before any chunk, with the number of
 * parts and (in *workers) the number of workers that will run them, which
 * it may lower (to 1: the parts then run in order on the calling thread).
 * A failure (e.g. no memory for per-part results) fails the quantization. */
typedef sq_status (*sq_quant_begin)(void *ctx, const sq_qtensor *q, size_t n_parts, int *workers, sq_error *err);

typedef struct sq_quant_hooks {
    void *ctx;
    sq_quant_begin begin;  /* may be NULL */
    sq_chunk_encoder enc;  /* may be NULL */
    sq_chunk_visitor visit; /* may be NULL */
} sq_quant_hooks;

/* sq_quantize, calling h->begin (if not NULL), then offering every chunk to
 * h->enc (if not NULL) and otherwise calling h->visit (if not NULL) after
 * the built-in encoding. Chunks of one part come in order, on one worker;
 * parts run in parallel. h may be NULL. Non-INT formats (qformat_int.h):
 * enc is not used, visit gets each chunk's stored codes minus 2^(bits-1),
 * in chunks of at most SQ_CHUNK inside the format's own parts of whole blocks. */
sq_status sq_quantize_visit(const sq_tensor *x, const sq_qconfig *cfg, const sq_quant_hooks *h, sq_qtensor **out,
                            sq_error *err);

#endif
