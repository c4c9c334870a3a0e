/*
 * gguf_write.h - writing GGUF version 3 files, streamed and atomically.
 *
 *     sq_gguf_writer *w;
 *     if (sq_gguf_writer_new("out.gguf", &w, &err) != SQ_OK) ...;
 *     sq_gguf_writer_kv_string(w, "general.architecture", "llama", &err);
 *     sq_gguf_writer_add_tensor(w, "tok_embd.weight", SQ_BLOCK_Q4_K, shape, 2, &err);   // all tensors first
 *     sq_gguf_writer_write_floats(w, x, numel, &err);   // then each tensor's data, in the order added
 *     if (sq_gguf_writer_finish(w, &err) != SQ_OK) ...; // frees w either way
 *
 * Metadata and tensor declarations are kept in memory (small); the header
 * (magic, version 3, counts, key-value pairs, tensor infos) is written when
 * the first tensor's data arrives, then each tensor's data goes out at its
 * offset (a multiple of the alignment: 32, or general.alignment when that
 * key is added as a u32 power of two), padded with zeros. Peak memory is
 * the caller's one tensor plus 64 rows of output (block types are quantized
 * 64 rows at a time over the thread pool, threads.h; the bytes do not depend
 * on the thread count). The file is written through
 * sq_afile_* (fileio.h): nothing appears at path unless finish succeeds.
 * After any failure the only valid call is sq_gguf_writer_abort. Messages
 * start with the output path.
 */
#ifndef SQ_GGUF_WRITE_H
#define SQ_GGUF_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct sq_gguf_writer sq_gguf_writer;

/* GGUF metadata value type numbers. */
enum {
    SQ_GGUF_U8 = 0, SQ_GGUF_I8, SQ_GGUF_U16, SQ_GGUF_I16, SQ_GGUF_U32, SQ_GGUF_I32, SQ_GGUF_F32, SQ_GGUF_BOOL,
    SQ_GGUF_STRING, SQ_GGUF_ARRAY, SQ_GGUF_U64, SQ_GGUF_I64, SQ_GGUF_F64
};

/* Start writing path (a temporary file next to it). The caller finishes *out
 * with sq_gguf_writer_finish or sq_gguf_writer_abort. Errors: IO, NOMEM. */
sq_status sq_gguf_writer_new(const char *path, sq_gguf_writer **out, sq_error *err);

/* Add metadata key with value type `type` whose bytes are exactly as GGUF
 * stores them after the type (sq_gguf_metadata_raw's bytes: a string's u64
 * length and bytes, an array's element type, u64 count and elements); they
 * are copied. Errors: ARG for a duplicate or empty key, an unknown type,
 * bytes that do not hold exactly one well-formed value, a bad
 * general.alignment, or a call after tensor data started; NOMEM. */
sq_status sq_gguf_writer_kv_raw(sq_gguf_writer *w, const char *key, uint32_t type, const void *bytes, size_t len,
                                sq_error *err);

/* A numeric or bool value of type `type` (not STRING or ARRAY) given by its
 * little-endian bit pattern in the low bytes of bits (e.g. a float's bits
 * for F32). Errors: those of sq_gguf_writer_kv_raw. */
sq_status sq_gguf_writer_kv_scalar(sq_gguf_writer *w, const char *key, uint32_t type, uint64_t bits, sq_error *err);

/* A string value (len bytes at s, any content). Errors: as kv_raw. */
sq_status sq_gguf_writer_kv_string(sq_gguf_writer *w, const char *key, const char *s, size_t len, sq_error *err);

/* An array of n NUL-terminated strings. Errors: as kv_raw. */
sq_status sq_gguf_writer_kv_strings(sq_gguf_writer *w, const char *key, const char *const *s, size_t n,
                                    sq_error *err);

/* Declare the next tensor: name, ggml type number (F32 0, F16 1, BF16 30,
 * I8 24, I16 25, I32 26, I64 27, F64 28, MXFP4 39, one of blockfmt.h's
 * types or any other type gguf.h knows the size of) and
 * row-major shape (1 to 4 dimensions; the last is ggml's ne[0], the row
 * length, which must be a multiple of the type's block size). Errors: ARG
 * (duplicate or empty name, bad shape or type, after data started),
 * OVERFLOW, NOMEM. */
sq_status sq_gguf_writer_add_tensor(sq_gguf_writer *w, const char *name, int ggml_type, const size_t *shape,
                                    int ndim, sq_error *err);

/* Write the next declared tensor's data as n raw bytes (n must equal its
 * size in the file, e.g. bytes copied from another GGUF). Errors: ARG (no
 * tensor left, wrong size), IO. */
sq_status sq_gguf_writer_write_raw(sq_gguf_writer *w, const void *bytes, size_t n, sq_error *err);

/* Write the next declared tensor from n float32 values (n = its element
 * count): block types are quantized row by row with sq_block_quantize_row
 * (ggml's bytes), MXFP4 (39) as ggml's quantize_row_mxfp4_ref (the layout
 * of SQ_ELEM_MXFP4, but E2M1 ties go to the smaller magnitude and zero is
 * always +0), F32/F16/BF16/F64 converted (rounding to nearest even),
 * I8/I16/I32 need integral values in range; I64 is refused. Errors: ARG,
 * NONFINITE (block types; the message names the tensor), UNSUPPORTED, IO,
 * NOMEM. */
sq_status sq_gguf_writer_write_floats(sq_gguf_writer *w, const float *x, size_t n, sq_error *err);

/* After every declared tensor's data: write the header if no tensor was
 * declared, flush, fsync and rename over the path, then free w (also on
 * failure). Errors: ARG (tensors left unwritten; nothing is written), IO. */
sq_status sq_gguf_writer_finish(sq_gguf_writer *w, sq_error *err);

/* Discard the output and free w. sq_gguf_writer_abort(NULL) is a no-op. */
void sq_gguf_writer_abort(sq_gguf_writer *w);

#endif
