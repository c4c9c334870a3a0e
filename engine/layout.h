/* layout.h - internal: which scale governs which element.
 *
 * Every granularity splits the flat (row-major) element order into runs of
 * consecutive elements that share one scale: the whole tensor; `inner`
 * elements per channel index for per-channel along an axis (inner = product of
 * the dimensions after the axis); group_size elements per group. Kernels walk
 * these runs, so one code path serves all granularities. */
#ifndef SQ_LAYOUT_H
#define SQ_LAYOUT_H

#include <stddef.h>

#include "quant.h"

/* Elements processed per chunk by the kernels: a multiple of 8 so that every
 * chunk starts on a byte boundary of the packed stream for any bit width. */
#define SQ_CHUNK 2048

/* Runs shorter than this use the per-element parameter kernels. */
#define SQ_SHORT_RUN 16

typedef struct sq_layout {
    size_t numel;
    size_t run;       /* elements per run (numel for per-tensor; >= 1) */
    size_t n_index;   /* number of scale indices */
    size_t cycle;     /* per-channel: shape[axis]; otherwise unused (0) */
} sq_layout;

/* Fill l for a valid cfg and shape. */
void sq_layout_init(sq_layout *l, const sq_qconfig *cfg, const size_t *shape, int ndim, size_t numel);

/* Scale index of element i; *left receives how many elements from i on
 * (inclusive) share it before the run ends. */
static inline size_t sq_layout_at(const sq_layout *l, size_t i, size_t *left)
{
    size_t r = i / l->run;
    *left = l->run - (i - r * l->run);
    return l->cycle ? r % l->cycle : r;
}

/* A position inside the run structure: the scale index k of the current run
 * and how many elements of it remain. Walking runs this way costs no
 * division per run. */
typedef struct sq_run {
    size_t k, left;
} sq_run;

static inline sq_run sq_run_at(const sq_layout *l, size_t i)
{
    sq_run r;
    r.k = sq_layout_at(l, i, &r.left);
    return r;
}

/* Consume `used` (<= r->left) elements of the current run. */
static inline void sq_run_advance(const sq_layout *l, sq_run *r, size_t used)
{
    r->left -= used;
    if (r->left == 0) {
        r->left = l->run;
        r->k++;
        if (l->cycle && r->k == l->cycle)
            r->k = 0;
    }
}

/* Per-element copies of per-index parameters for elements [start, start+n):
 * out_a[j] = a[idx(start+j)], likewise b and c (c may be NULL). */
void sq_layout_expand(const sq_layout *l, size_t start, size_t n, const double *a, const double *b,
                      const double *c, double *out_a, double *out_b, double *out_c);

#endif
