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
 * F64, I8, U8, I16 and I32 load as float32; BOOL, U16, U32, I64, U64, C64 and
 * the F8 types (E4M3, E5M2, E8M0) are listed but refused
 * (SQ_ERR_UNSUPPORTED) when loaded; sq_st_raw gives any tensor's bytes. Every
 * error message starts with the file name.
 *
 * Quantized tensors. sq_st_writer_add_qtensor(w, "w", q) stores
 *   "w.codes"        I8 [shape...] signed codes (8 bits), or U8 [code_bytes]
 *                    holding q->codes as is (< 8 bits: the packed
 *                    offset-binary bit stream described in quant.h);
 *   "w.scales"       [n_scales] in q->config.scale_store's precision: F16,
 *                    F32 or F64 (quantize rounded them to it, so they are
 *                    exact; scales that are not, from sq_qtensor_from_parts,
 *                    go in the narrowest of F32/F64 that holds them);
 *   "w.zero_points"  [n_scales], asymmetric only (absent when symmetric):
 *                    I8 when every zero point is an integer in -128..127,
 *                    else I16 when in -32768..32767, else F32 when each is
 *                    a float, else F64 -- always exact;
 * and metadata keys squint.w.bits, .mode, .granularity, .axis (0-based, a
 * file-format field kept as older files have it; squint info adds the
 * 1-based axis users read and type), .group_size,
 * .rounding, .zero_in_range ("true"/"false"), .shape (JSON list),
 * .orig_dtype (sq_dtype_name), .n_clipped. sq_st_load_qtensor rebuilds an
 * identical sq_qtensor (sq_dequantize gives the same floats bit for bit),
 * and also reads older files (F64 scales and zero points, zero points
 * present when symmetric); it refuses, naming the tensor, a scale that is
 * not finite and positive, a non-finite zero point, a non-zero zero point
 * of a symmetric tensor and n_clipped above the element count.
 * sq_st_qtensor_file_bytes gives the bytes of the three parts.
 *
 * A tensor of another format than INT (quant.h, "Formats") is stored as
 *   "w.codes"        U8 [code_bytes]: q->codes as is (the format's bytes);
 *   "w.scales"       F32 [n_scales], only where the scales live outside the
 *                    bytes: fp8/fp4's per tensor/channel/group scales, nf4's
 *                    absmax per block without double quantization;
 *   "w.aux"          U8 [aux_bytes], nf4 with double quantization (q->aux);
 *   "w.tensor_scale" F32 [1], nvfp4's tensor scale S;
 * with the metadata above plus squint.w.format (its name) and, for nf4,
 * squint.w.double_quant ("true"/"false"). sq_st_load_qtensor rebuilds it with
 * sq_qtensor_from_format_bytes: the same bytes, scales and dequantized
 * values. Files without squint.w.format hold INT tensors.
 *
 * Streaming. A writer can write its file while tensors are added, keeping
 * one tensor's bytes at a time: sq_st_writer_begin reserves room for the
 * header (from a first writer holding declarations: sq_st_writer_add_raw
 * with NULL bytes and sq_st_writer_declare_qtensor, which declares the
 * largest parts a config can give -- F32 scales for F16, F64 zero points --
 * and n_clipped = numel, so the real header is never longer), every add_*
 * then writes its bytes at once, and sq_st_writer_finish writes the header
 * into the reserved room (padded with spaces, as the format allows) and
 * commits the file atomically.
 *
 * Names are looked up through hash tables (reader: tensors and metadata
 * keys; writer: duplicate checks), so n tensors take O(n) time.
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
/* Longest name of a quantized tensor (its metadata keys must stay short). */
#define SQ_ST_MAX_QNAME 400

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

/* The bytes of tensor i as stored (little-endian, its file dtype), borrowed
 * from f's mapping; sq_st_raw_release(f, i) afterwards lets their pages go.
 * Errors: ARG for a bad index. */
sq_status sq_st_raw(const sq_safetensors *f, size_t i, const uint8_t **data, size_t *len, sq_error *err);
void sq_st_raw_release(const sq_safetensors *f, size_t i);

/* Ask the kernel to start reading tensor i's bytes in the background
 * (madvise WILLNEED on f's mapping) and return at once. Never fails: a bad
 * index or an image opened from memory (sq_st_open_mem) makes it a no-op. */
void sq_st_prefetch(const sq_safetensors *f, size_t i);

/* True when f describes a quantized tensor called name (squint.name.bits). */
bool sq_st_has_qtensor(const sq_safetensors *f, const char *name);

/* Rebuild the quantized tensor name stored by sq_st_writer_add_qtensor.
 * Caller frees *out with sq_qtensor_free. Errors: NOTFOUND, FORMAT (missing
 * or inconsistent metadata or parts, codes out of range), NOMEM. */
sq_status sq_st_load_qtensor(const sq_safetensors *f, const char *name, sq_qtensor **out, sq_error *err);

/* Bytes q takes in a file written by sq_st_writer_add_qtensor: the codes,
 * and the scales plus zero points (meta); code + meta is
 * sq_qtensor_storage_bytes(q), the one accounting, for every tensor sq_quantize
 * makes (scales exact in their scale_store). Cannot fail. */
void sq_st_qtensor_file_bytes(const sq_qtensor *q, size_t *code_bytes, size_t *meta_bytes);

/* The same from a config and shape before quantizing: scales in
 * cfg->scale_store, asymmetric zero points counted as I8 (the usual case);
 * with largest, the most any data can take (F16 scales as F32, zero points
 * as F64). Errors: cfg invalid for the shape (ARG), OVERFLOW. */
sq_status sq_st_qconfig_file_bytes(const sq_qconfig *cfg, const size_t *shape, int ndim, bool largest,
                                   size_t *code_bytes, size_t *meta_bytes, sq_error *err);

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

/* Add a quantized tensor as two or three tensors plus metadata (see above).
 * Errors: ARG (name longer than SQ_ST_MAX_QNAME, a part's name taken), NOMEM. */
sq_status sq_st_writer_add_qtensor(sq_st_writer *w, const char *name, const sq_qtensor *q, sq_error *err);

/* Add a tensor as raw little-endian bytes of safetensors dtype `dtype` (any
 * the reader lists: "I64", "BOOL", "F8_E4M3", ...); nbytes must be numel x
 * the dtype's size. The bytes are copied (while streaming: written at once).
 * bytes NULL declares the tensor for sizing only (see Streaming): such a
 * writer cannot sq_st_writer_write. Errors: ARG (unknown dtype, size
 * mismatch, bad or duplicate or non-UTF-8 name), NOMEM, IO (streaming). */
sq_status sq_st_writer_add_raw(sq_st_writer *w, const char *name, const char *dtype, const size_t *shape, int ndim,
                               const void *bytes, size_t nbytes, sq_error *err);

/* Declare the quantized tensor a config gives a tensor of this shape, with
 * the largest parts it can take (for sizing a streamed header). Errors as
 * sq_st_writer_add_qtensor, and cfg invalid for the shape (ARG). */
sq_status sq_st_writer_declare_qtensor(sq_st_writer *w, const char *name, const sq_qconfig *cfg, const size_t *shape,
                                       int ndim, sq_dtype orig, sq_error *err);

/* Length in bytes of the header JSON w would write now (unpadded).
 * Errors: NOMEM. */
sq_status sq_st_writer_header_size(const sq_st_writer *w, size_t *bytes, sq_error *err);

/* Start streaming w (no tensors added yet) to path: a temporary file next to
 * it gets `reserve` bytes (rounded up to 8) for the header, then each tensor
 * added is written at once. Errors: ARG (tensors already added, reserve over
 * SQ_ST_MAX_HEADER), IO, NOMEM. sq_st_writer_free discards an unfinished file. */
sq_status sq_st_writer_begin(sq_st_writer *w, const char *path, size_t reserve, sq_error *err);

/* Write the header into the reserved room and rename the file over the
 * target (atomic). Errors: ARG (not streaming; header longer than
 * reserved), IO, NOMEM; on failure the target is untouched. */
sq_status sq_st_writer_finish(sq_st_writer *w, sq_error *err);

/* Add a `__metadata__` entry. Errors: ARG for a duplicate key. */
sq_status sq_st_writer_add_metadata(sq_st_writer *w, const char *key, const char *value, sq_error *err);

/* Write everything to path atomically (fileio.h). The writer stays usable.
 * Errors: IO naming the path and errno text, NOMEM; ARG for a writer holding
 * declarations or streaming. */
sq_status sq_st_writer_write(const sq_st_writer *w, const char *path, sq_error *err);

#endif
