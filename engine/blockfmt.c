/*
 * blockfmt.c - the table of block formats and the checked entry points
 * (see blockfmt.h). The kernels live in blk_legacy.c, blk_kquant.c and
 * blk_iq4.c.
 */
#include "blockfmt.h"

#include <float.h>
#include <math.h>
#include <strings.h>

#include "blk_int.h"
#include "fmt_int.h"
#include "simd.h"

typedef struct blk_kernel {
    sq_block_info info;
    sq_blk_quant_fn quant;
    sq_blk_dequant_fn dequant;
} blk_kernel;

#define BPW(bytes, block) (8.0 * (bytes) / (block))
#define KERNEL(T, nm, blk, bytes, fn) \
    { {T, nm, blk, bytes, BPW(bytes, blk)}, sq_blk_##fn##_quant, sq_blk_##fn##_dequant }

static const blk_kernel kernels[SQ_BLOCK_TYPE_COUNT] = {
    KERNEL(SQ_BLOCK_Q4_0, "q4_0", 32, 18, q4_0),
    KERNEL(SQ_BLOCK_Q4_1, "q4_1", 32, 20, q4_1),
    KERNEL(SQ_BLOCK_Q5_0, "q5_0", 32, 22, q5_0),
    KERNEL(SQ_BLOCK_Q5_1, "q5_1", 32, 24, q5_1),
    KERNEL(SQ_BLOCK_Q8_0, "q8_0", 32, 34, q8_0),
    KERNEL(SQ_BLOCK_Q2_K, "q2_k", 256, 84, q2_k),
    KERNEL(SQ_BLOCK_Q3_K, "q3_k", 256, 110, q3_k),
    KERNEL(SQ_BLOCK_Q4_K, "q4_k", 256, 144, q4_k),
    KERNEL(SQ_BLOCK_Q5_K, "q5_k", 256, 176, q5_k),
    KERNEL(SQ_BLOCK_Q6_K, "q6_k", 256, 210, q6_k),
    KERNEL(SQ_BLOCK_IQ4_NL, "iq4_nl", 32, 18, iq4_nl),
    KERNEL(SQ_BLOCK_IQ4_XS, "iq4_xs", 256, 136, iq4_xs),
};

static int force_scalar;


void sq_block_force_scalar(bool scalar)
{
    force_scalar = scalar;
}

int sq_blk_lanes_enabled(void)
{
    return !force_scalar;
}

static const blk_kernel *kernel_of(int t)
{
    for (size_t i = 0; i < SQ_BLOCK_TYPE_COUNT; i++)
        if ((int)kernels[i].info.type == t)
            return &kernels[i];
    return NULL;
}

const sq_block_info *sq_block_info_of(int t)
{
    const blk_kernel *k = kernel_of(t);
    return k ? &k->info : NULL;
}

const sq_block_info *sq_block_info_at(size_t i)
{
    return i < SQ_BLOCK_TYPE_COUNT ? &kernels[i].info : NULL;
}

sq_status sq_block_lookup(const char *name, sq_block_type *out, sq_error *err)
{
    for (size_t i = 0; name && i < SQ_BLOCK_TYPE_COUNT; i++) {
        if (strcasecmp(name, kernels[i].info.name) == 0) {
            *out = kernels[i].info.type;
            return SQ_OK;
        }
    }
    return sq_fail(err, SQ_ERR_NOTFOUND,
                   "unknown block format '%s' (known: q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k "
                   "iq4_nl iq4_xs)", name ? name : "(null)");
}

/* The kernel of t, checked against a row of n elements. */
static sq_status checked(sq_block_type t, size_t n, const blk_kernel **out, sq_error *err)
{
    const blk_kernel *k = kernel_of((int)t);
    if (!k)
        return sq_fail(err, SQ_ERR_ARG, "unsupported block format type %d", (int)t);
    if (n % k->info.block != 0)
        return sq_fail(err, SQ_ERR_ARG, "%s: row length %zu is not a multiple of the block size %zu",
                       k->info.name, n, k->info.block);
    *out = k;
    return SQ_OK;
}

sq_status sq_block_row_bytes(sq_block_type t, size_t n, size_t *bytes, sq_error *err)
{
    const blk_kernel *k;
    sq_status st = checked(t, n, &k, err);
    if (st != SQ_OK)
        return st;
    *bytes = n / k->info.block * k->info.block_bytes; /* <= 4.25 bytes per element: no overflow */
    return SQ_OK;
}

sq_status sq_block_quantize_row(sq_block_type t, const float *x, size_t n, uint8_t *dst, sq_error *err)
{
    const blk_kernel *k;
    sq_status st = checked(t, n, &k, err);
    if (st != SQ_OK)
        return st;
    size_t i = sq_fmt_first_nonfinite(x, n);
    if (i < n)
        return sq_fail(err, SQ_ERR_NONFINITE, "%s: input element %zu is %g (block formats need finite values)",
                       k->info.name, i + 1, (double)x[i]);
    k->quant(x, n / k->info.block, dst);
    return SQ_OK;
}

sq_status sq_block_dequantize_row(sq_block_type t, const uint8_t *src, size_t n, float *dst, sq_error *err)
{
    const blk_kernel *k;
    sq_status st = checked(t, n, &k, err);
    if (st != SQ_OK)
        return st;
    k->dequant(src, n / k->info.block, dst);
    return SQ_OK;
}
