/*
 * sgemm.h - internal: squint's own float matrix product for the float linear
 * layer, y = x W^T with x [batch, in], W [out, in], y [batch, out], all
 * row-major floats.
 *
 * Why squint has one next to OpenBLAS: the float layer's product at small
 * batches (2 to a few dozen rows) is what the benchmarks compare with
 * PyTorch, and a distribution's OpenBLAS picks its kernels from the CPU model
 * it knows (Debian's 0.3.21 runs the Haswell kernels on AMD Zen 4, 1.4x
 * slower than its own SkylakeX kernels there). OPENBLAS_CORETYPE only takes
 * effect when the library loads, so a library cannot set it for its caller.
 *
 * The kernel (sgemm512.c) is AVX-512 F, chosen at run time: a tile of 6 rows
 * of W times up to 4 rows of x is accumulated in 24 registers of 16 float
 * lanes, walking the shared dimension in blocks of 512 (the x block stays in
 * L1, W rows stream once per batch chunk of 48 rows); the lanes are summed
 * once per output at the end. W is read in place (no packing); x is copied
 * 48 rows at a time with its rows 64 bytes further apart than a multiple of
 * 4 KiB (rows 4 KiB apart share L1 sets and evict each other: 10% slower).
 * Each output is a sum in float of the
 * products x[b][k] W[o][k] (fused multiply-adds) in 16 lane partial sums of
 * about in / 16 terms, then a 16-term pairwise sum: the error is at most
 * (in / 16 + 5) * 2^-24 * sum_k |x[b][k] W[o][k]|, inside the bound model.h
 * states for sq_linear_forward.
 */
#ifndef SQ_SGEMM_H
#define SQ_SGEMM_H

#include <stdbool.h>
#include <stddef.h>

/* y = x W^T (no bias). Returns false, writing nothing, when the CPU has no
 * AVX-512 F (or the kernels were forced portable): the caller then uses
 * OpenBLAS or its portable loop. Runs on the engine's threads (threads.h) in
 * parts of 96 rows of W: every output is computed the same way for any
 * thread count. Borrowed pointers; allocates 48 rows of x for the copy
 * (without that memory it reads x in place); thread-safe (reads x and W,
 * writes y only). */
bool sq_sgemm512_xwt(const float *x, size_t batch, const float *w, size_t in, size_t out, float *y);

/* The kernel without the checks and the copy, for other kernels of the
 * engine: y[b * ldy + o] = sum_k x[b * ldx + k] w[o * in + k] for b < batch,
 * o < out. Only after sq_use_avx512() said yes. ldx: best
 * sq_sgemm512_ldx(in) (rows 64 bytes off a multiple of 4 KiB). */
void sq_sgemm512_rows(const float *x, size_t ldx, size_t batch, const float *w, size_t in, size_t out, float *y,
                      size_t ldy);
size_t sq_sgemm512_ldx(size_t in);

#endif
