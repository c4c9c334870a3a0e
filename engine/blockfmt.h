/*
 * blockfmt.h - llama.cpp's (ggml's) quantized block formats, byte-exact.
 *
 * A row of n float32 values (n a multiple of the type's block size) becomes
 * n / block blocks of block_bytes bytes each, laid out as ggml-common.h
 * lays them out (half-precision scales little-endian). Quantizing without
 * an importance matrix writes the very bytes ggml's quantizers write
 * (ggml_quantize_chunk with imatrix NULL), and dequantizing yields the very
 * floats ggml's dequantize_row_* yield.
 *
 *     size_t bytes;
 *     if (sq_block_row_bytes(SQ_BLOCK_Q4_K, n, &bytes, &err) != SQ_OK) ...;
 *     uint8_t *q = malloc(bytes);
 *     if (sq_block_quantize_row(SQ_BLOCK_Q4_K, x, n, q, &err) != SQ_OK) ...;
 *     sq_block_dequantize_row(SQ_BLOCK_Q4_K, q, n, y, &err);
 *
 * No allocation. Thread-safe, except that sq_block_force_scalar (a test
 * switch) must not run while other threads quantize.
 */
#ifndef SQ_BLOCKFMT_H
#define SQ_BLOCKFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The supported types, numbered as ggml's enum ggml_type (and GGUF). */
typedef enum sq_block_type {
    SQ_BLOCK_Q4_0 = 2,
    SQ_BLOCK_Q4_1 = 3,
    SQ_BLOCK_Q5_0 = 6,
    SQ_BLOCK_Q5_1 = 7,
    SQ_BLOCK_Q8_0 = 8,
    SQ_BLOCK_Q2_K = 10,
    SQ_BLOCK_Q3_K = 11,
    SQ_BLOCK_Q4_K = 12,
    SQ_BLOCK_Q5_K = 13,
    SQ_BLOCK_Q6_K = 14,
    SQ_BLOCK_IQ4_NL = 20,
    SQ_BLOCK_IQ4_XS = 23
} sq_block_type;

/* Number of supported types (entries of sq_block_info_at). */
#define SQ_BLOCK_TYPE_COUNT 12

typedef struct sq_block_info {
    sq_block_type type;
    const char *name;       /* ggml's name in lower case: "q4_0", "q4_k", "iq4_xs" */
    size_t block;           /* elements per block: 32 or 256 */
    size_t block_bytes;     /* bytes per block */
    double bits_per_weight; /* 8 * block_bytes / block, e.g. 4.5 */
} sq_block_info;

/* Description of type t (static storage, never freed), or NULL when t is
 * not a supported type number. */
const sq_block_info *sq_block_info_of(int t);

/* The i-th supported type in ggml's numbering order, for i below
 * SQ_BLOCK_TYPE_COUNT; NULL otherwise. */
const sq_block_info *sq_block_info_at(size_t i);

/* Look a type up by name, case-insensitively ("Q4_K", "iq4_xs"). Unknown
 * names: SQ_ERR_NOTFOUND naming the name and listing the supported ones. */
sq_status sq_block_lookup(const char *name, sq_block_type *out, sq_error *err);

/* Bytes a row of n elements of type t occupies, in *bytes. Errors:
 * SQ_ERR_ARG for an unsupported type or n not a multiple of the block size
 * (the message names the type and n). */
sq_status sq_block_row_bytes(sq_block_type t, size_t n, size_t *bytes, sq_error *err);

/* Quantize the n floats at x into sq_block_row_bytes(t, n) bytes at dst
 * (caller-owned, not overlapping x). Errors: those of sq_block_row_bytes;
 * SQ_ERR_NONFINITE naming the index and value of the first NaN or Inf in x
 * (dst is then untouched). */
sq_status sq_block_quantize_row(sq_block_type t, const float *x, size_t n, uint8_t *dst, sq_error *err);

/* Decode the blocks at src (sq_block_row_bytes(t, n) bytes) into n floats
 * at dst (caller-owned). Any bytes decode, as in ggml: a half scale that is
 * Inf or NaN gives Inf/NaN values. Errors: those of sq_block_row_bytes. */
sq_status sq_block_dequantize_row(sq_block_type t, const uint8_t *src, size_t n, float *dst, sq_error *err);

/* Make the quantizers take their plain one-sub-block-at-a-time code (true)
 * or, where the compiler has vector extensions, their code that fits eight
 * sub-blocks at once (false, the default). Both write the same bytes. For
 * tests and benchmarks; not thread-safe. */
void sq_block_force_scalar(bool scalar);

#endif
