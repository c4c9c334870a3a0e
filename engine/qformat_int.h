/* qformat_int.h - internal: the non-INT format paths of quant.c and stats.c
 * (implemented in qformat.c). */
#ifndef SQ_QFORMAT_INT_H
#define SQ_QFORMAT_INT_H

#include "quant.h"
#include "quant_int.h"

/* The format rules of sq_qconfig_check (quant.h, "Formats"), shape aside. */
sq_status sq_format_check(const sq_qconfig *cfg, sq_error *err);

/* sq_qtensor_levels for a non-INT format. */
size_t sq_format_levels(const sq_qtensor *q, size_t i, float *out, size_t max);

/* Elements per chunk of the format passes (rounded down to whole units). */
#define SQ_FORMAT_CHUNK 2048

/* The format's unit: elements no pass splits (a stored block, a byte of fp4
 * codes, an nf4 block; 1 for fp8). */
size_t sq_format_unit(const sq_qconfig *c);

/* The fixed geometry of every pass over a tensor of numel elements of this
 * format: parts of *part elements (the last shorter; SQ_PART when the unit
 * divides it), chunks of *chunk elements inside them, and the part count
 * (at least 1). Whole units throughout. */
void sq_format_geometry(const sq_qconfig *c, size_t numel, size_t *part, size_t *chunk, size_t *n_parts);

/* Called after elements [start, start + n) of part p are quantized: x the
 * originals, xhat their decoded values (exactly sq_dequantize's), codes the
 * stored codes (sq_qtensor_code). Chunks of a part come in order on one
 * worker; q's scales are known for them. */
typedef void (*sq_format_visitor)(void *ctx, const sq_part *p, const sq_qtensor *q, size_t start, size_t n,
                                  const float *x, const float *xhat, const uint8_t *codes);

typedef struct sq_format_hooks {
    void *ctx;
    sq_quant_begin begin;    /* may be NULL */
    sq_format_visitor visit; /* may be NULL */
    bool want_codes;         /* visit gets the codes (else codes is NULL) */
    float **xhat_parts;      /* when not NULL, one buffer per part (sq_format_geometry's parts, each
                                of its part's length): each chunk is decoded into its place there
                                (xhat then points into it), so the whole x_hat is kept */
} sq_format_hooks;

/* sq_quantize_visit for a non-INT format: qh's begin and visit (codes
 * signed: stored code - 2^(bits-1); enc is not used) and fh's, either may be
 * NULL. */
sq_status sq_format_quantize(const sq_tensor *x, const sq_qconfig *cfg, const sq_quant_hooks *qh,
                             const sq_format_hooks *fh, sq_qtensor **out, sq_error *err);

/* Decode elements [start, start + n) (start on a unit boundary; n whole
 * units or up to numel) into out: exactly the format decoder's values. */
void sq_format_decode(const sq_qtensor *q, size_t start, size_t n, float *out);

/* sq_dequantize_into for a non-INT format. */
void sq_format_dequantize_into(const sq_qtensor *q, float *out);

/* The stored code of element i (0 .. 2^bits - 1; 0 when i >= numel), and
 * those of [start, start + n). */
unsigned sq_format_code(const sq_qtensor *q, size_t i);
void sq_format_codes(const sq_qtensor *q, size_t start, size_t n, uint8_t *out);

#endif
