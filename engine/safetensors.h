/*
 * safetensors.h - Hugging Face safetensors files: validated, lazily-loaded
 * reading; writing float tensors, quantized tensors and metadata.
 *
 *     sq_safetensors *f;
 *     if (sq_st_open("model.safetensors", &f, &err) != SQ_OK) ...;
 *     for (size_t i = 0; i < sq_st_count(f); i++) {
 *         const sq_tinfo *ti = sq_st_info(f, i);      // header only, no data read
 *         sq_tensor *t;
 *         if (sq_st_load(f, i, &t, &err) == SQ_OK) { ...; sq_tensor_free(t); }
 *     }
 *     sq_st_close(f);
 *
 * Reading maps the file read-only; opening parses and validates only the
 * header (with jansson): length at most 100 MB and inside the file, a UTF-8
 * JSON object without duplicate keys, every entry with a known dtype, a
 * shape of non-negative integers (at most SQ_MAX_DIMS) whose byte size does
 * not overflow and equals its data_offsets span, spans inside the data
 * buffer, contiguous and non-overlapping and covering it, `__metadata__` a
 * string-to-string object. Tensors are listed in data order. F32, F16, BF16,
 * F64, I8, U8, I16 and I32 load as float32; BOOL, U16, U32, I64, U64 and the
 * F8 types are listed but refused (SQ_ERR_UNSUPPORTED) when loaded. Every
 * error message starts with the file name.
 *
 * Quantized tensors. sq_st_writer_add_qtensor(w, "w", q) stores
 *   "w.codes"        I8 [shape...] signed codes (8 bits), or U8 [code_bytes]
 *                    holding q->codes as is (< 8 bits: the packed
 *                    offset-binary bit stream described in quant.h);
 *   "w.scales"       F64 [n_scales];
 *   "w.zero_points"  F64 [n_scales];
 * and metadata keys squint.w.bits, .mode, .granularity, .axis, .group_size,
 * .rounding, .zero_in_range ("true"/"false"), .shape (JSON list),
 * .orig_dtype (sq_dtype_name), .n_clipped. F64 keeps scales exact, so
 * sq_st_load_qtensor rebuilds an identical sq_qtensor.
 *
 * Thread-safety: a handle may be read from several threads (loads only read
 * it); the writer is single-threaded.
 */
#ifndef SQ_SAFETENSORS_H
#define SQ_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "quant.h"
#include "tensor.h"
#include "tinfo.h"

#define SQ_ST_MAX_HEADER (100u * 1000u * 1000u)

typedef struct sq_safetensors sq_safetensors;

/* Open and validate path (mapped read-only, never modified). On success
 * *out is a handle the caller closes with sq_st_close. Errors: IO, FORMAT
 * (the message names the file and the problem), NOMEM. */
sq_status sq_st_open(const char *path, sq_safetensors **out, sq_error *err);

/* Same over a memory image (len bytes at buf, borrowed: it must outlive the
 * handle); name labels messages. */
sq_status sq_st_open_mem(const uint8_t *buf, size_t len, const char *name, sq_safetensors **out,
                         sq_error *err);

/* Close f and release its mapping. sq_st_close(NULL) is a no-op. */
void sq_st_close(sq_safetensors *f);

/* Number of tensors, and the i-th (i < count; owned by f). */
size_t sq_st_count(const sq_safetensors *f);
const sq_tinfo *sq_st_info(const sq_safetensors *f, size_t i);

/* Index of the tensor called name; SQ_ERR_NOTFOUND (message names it) if none. */
sq_status sq_st_find(const sq_safetensors *f, const char *name, size_t *index, sq_error *err);

/* `__metadata__` entries in file order (strings owned by f), and lookup by key
 * (NULL when absent). */
size_t sq_st_metadata_count(const sq_safetensors *f);
const char *sq_st_metadata_key(const sq_safetensors *f, size_t i);
const char *sq_st_metadata_value(const sq_safetensors *f, size_t i);
const char *sq_st_metadata_get(const sq_safetensors *f, const char *key);

/* Convert tensor i to float32. *out is a new tensor (caller frees; dtype =
 * the file's dtype). Only that tensor's bytes are touched; a mapped file's
 * pages for it are released afterwards. Errors: UNSUPPORTED dtype, NOMEM. */
sq_status sq_st_load(const sq_safetensors *f, size_t i, sq_tensor **out, sq_error *err);

/* True when f describes a quantized tensor called name (squint.name.bits). */
bool sq_st_has_qtensor(const sq_safetensors *f, const char *name);

/* Rebuild the quantized tensor name stored by sq_st_writer_add_qtensor.
 * Caller frees *out with sq_qtensor_free. Errors: NOTFOUND, FORMAT (missing
 * or inconsistent metadata or parts, codes out of range), NOMEM. */
sq_status sq_st_load_qtensor(const sq_safetensors *f, const char *name, sq_qtensor **out, sq_error *err);

/* ---- writing ------------------------------------------------------------ */

typedef struct sq_st_writer sq_st_writer;

/* A new empty writer (caller frees with sq_st_writer_free). */
sq_status sq_st_writer_new(sq_st_writer **out, sq_error *err);
void sq_st_writer_free(sq_st_writer *w);

/* Add a tensor stored as dtype store (any of the eight loadable dtypes;
 * integer dtypes need integral in-range values). The values are encoded and
 * copied now. Errors: ARG (duplicate or empty name, "__metadata__",
 * unrepresentable value), NOMEM. */
sq_status sq_st_writer_add_tensor(sq_st_writer *w, const char *name, const sq_tensor *t, sq_dtype store,
                                  sq_error *err);

/* Add a quantized tensor as three tensors plus metadata (see above). */
sq_status sq_st_writer_add_qtensor(sq_st_writer *w, const char *name, const sq_qtensor *q, sq_error *err);

/* Add a `__metadata__` entry. Errors: ARG for a duplicate key. */
sq_status sq_st_writer_add_metadata(sq_st_writer *w, const char *key, const char *value, sq_error *err);

/* Write everything to path atomically (fileio.h). The writer stays usable.
 * Errors: IO naming the path and errno text, NOMEM. */
sq_status sq_st_writer_write(const sq_st_writer *w, const char *path, sq_error *err);

#endif
