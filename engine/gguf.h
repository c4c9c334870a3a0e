/*
 * gguf.h - llama.cpp's GGUF files (versions 2 and 3), read-only.
 *
 *     sq_gguf *g;
 *     if (sq_gguf_open("model.gguf", &g, &err) != SQ_OK) ...;
 *     for (size_t i = 0; i < sq_gguf_count(g); i++) { const sq_tinfo *ti = sq_gguf_info(g, i); ... }
 *     sq_tensor *t; sq_gguf_load(g, 0, &t, &err); ...; sq_tensor_free(t);
 *     sq_gguf_close(g);
 *
 * Opening parses the header, every metadata key-value pair (all 13 value
 * types, arrays nested at most 8 deep; each value kept as text: numbers,
 * whole strings, arrays as "[a, b, ...]" shortened after 8 elements) and the
 * tensor infos, honouring general.alignment (a power of two, default 32).
 * Validated: magic, version, counts and string lengths against the bytes
 * left, at most 4 dimensions with a row length divisible by the type's
 * block size, sizes that do not overflow, offsets aligned, inside the file
 * and not overlapping. Shapes are reported row-major (GGUF's ne[] reversed,
 * so shape[ndim-1] = ne[0]). Loading converts F32, F16, BF16, F64, I8, I16,
 * I32 and I64 (to the nearest float; dtype label F64) and dequantizes the
 * 12 block formats of blockfmt.h (Q4_0 ... Q6_K, IQ4_NL, IQ4_XS) and MXFP4
 * (39, sq_elemfmt_decode_ggml_mxfp4) row by row (rows of ne[0] elements)
 * exactly as ggml's dequantize_row_TYPE does (dtype label F32); a block
 * tensor's size is its row bytes times its rows.
 * Other ggml types (IQ2_*, TQ*, ...) are listed with their type
 * name and size and refused (SQ_ERR_UNSUPPORTED) when loaded. A type number squint does not know
 * (ggml adds types) makes only that tensor unusable: it is listed with
 * type_name "type N" and size_unknown set (nbytes 0), and loading it fails
 * with SQ_ERR_UNSUPPORTED "unsupported ggml type N"; the other tensors
 * load. Metadata strings are kept whole (any length, embedded NULs shown as
 * '?'); print them through sq_escape_text (textesc.h). A big-endian file
 * (version bytes swapped) is refused as "big-endian GGUF is not
 * supported". Messages start with the file name.
 */
#ifndef SQ_GGUF_H
#define SQ_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tensor.h"
#include "tinfo.h"

typedef struct sq_gguf sq_gguf;

/* Open path (mapped read-only, never modified). Caller closes *out with
 * sq_gguf_close. Errors: IO, FORMAT, UNSUPPORTED (version), NOMEM. */
sq_status sq_gguf_open(const char *path, sq_gguf **out, sq_error *err);

/* Same over a borrowed memory image (must outlive the handle). */
sq_status sq_gguf_open_mem(const uint8_t *buf, size_t len, const char *name, sq_gguf **out, sq_error *err);

/* Close g. sq_gguf_close(NULL) is a no-op. */
void sq_gguf_close(sq_gguf *g);

/* Format version (2 or 3) and alignment in use. */
uint32_t sq_gguf_version(const sq_gguf *g);
size_t sq_gguf_alignment(const sq_gguf *g);

/* Tensors in file order; info owned by g (NULL when i is out of range). */
size_t sq_gguf_count(const sq_gguf *g);
const sq_tinfo *sq_gguf_info(const sq_gguf *g, size_t i);
sq_status sq_gguf_find(const sq_gguf *g, const char *name, size_t *index, sq_error *err);

/* Metadata in file order: key, type name ("u32", "string", "array[f32]"...)
 * and value as text; strings owned by g. */
size_t sq_gguf_metadata_count(const sq_gguf *g);
const char *sq_gguf_metadata_key(const sq_gguf *g, size_t i);
const char *sq_gguf_metadata_type(const sq_gguf *g, size_t i);
const char *sq_gguf_metadata_value(const sq_gguf *g, size_t i);
const char *sq_gguf_metadata_get(const sq_gguf *g, const char *key);

/* The bytes of tensor i as stored (ggml's layout), borrowed from g's
 * mapping; sq_gguf_raw_release(g, i) afterwards lets their pages go.
 * Errors: ARG for a bad index. */
sq_status sq_gguf_raw(const sq_gguf *g, size_t i, const uint8_t **data, size_t *len, sq_error *err);
void sq_gguf_raw_release(const sq_gguf *g, size_t i);

/* Ask the kernel to start reading tensor i's bytes in the background
 * (madvise WILLNEED on g's mapping) and return at once. Never fails: a bad
 * index or an image opened from memory (sq_gguf_open_mem) makes it a no-op. */
void sq_gguf_prefetch(const sq_gguf *g, size_t i);

/* The raw value of metadata pair i: its GGUF value type number (0 u8 ...
 * 12 f64, 8 string, 9 array) in *type, and its bytes exactly as stored in
 * the file after the type (a string's u64 length and bytes; an array's
 * element type, u64 count and elements) in *bytes and *len, owned by g (valid
 * until it is closed). Copying these bytes reproduces the value verbatim
 * (sq_gguf_writer_kv_raw). Errors: ARG when i is out of range. */
sq_status sq_gguf_metadata_raw(const sq_gguf *g, size_t i, uint32_t *type, const uint8_t **bytes, size_t *len,
                               sq_error *err);

/* ggml's name of tensor type number type ("F32", "Q4_K", "IQ4_XS"; static
 * storage), or NULL when squint does not know the number. */
const char *sq_ggml_type_name(int type);

/* Bytes a row of n elements of ggml type number type takes, in *bytes.
 * Errors: UNSUPPORTED for an unknown type, ARG when n is not a multiple of
 * the type's block size, OVERFLOW. */
sq_status sq_ggml_row_bytes(int type, size_t n, size_t *bytes, sq_error *err);

/* Tensor i's ggml type number and its bytes in the file (ti->nbytes of
 * them, owned by g; NULL when i is out of range or the type is unknown). */
int sq_gguf_tensor_type(const sq_gguf *g, size_t i);
const uint8_t *sq_gguf_tensor_data(const sq_gguf *g, size_t i);

/* Convert (or dequantize) tensor i into a new float32 tensor (caller frees).
 * Only that tensor's bytes are read; its pages are released afterwards.
 * Errors: UNSUPPORTED type, NOMEM. */
sq_status sq_gguf_load(const sq_gguf *g, size_t i, sq_tensor **out, sq_error *err);

#endif
