/*
 * checkpoint.h - one handle over a multi-tensor file (safetensors, GGUF or
 * a sharded safetensors checkpoint's index, chosen by the file's first
 * bytes), iterated lazily.
 *
 *     sq_checkpoint *ck;
 *     if (sq_ckpt_open(path, &ck, &err) != SQ_OK) ...;
 *     for (size_t i = 0; i < sq_ckpt_count(ck); i++) {
 *         const sq_tinfo *ti = sq_ckpt_info(ck, i);     // no data read
 *         sq_tensor *t;
 *         if (sq_ckpt_load(ck, i, &t, &err) != SQ_OK) ...;  // converts this one only
 *         ...; sq_tensor_free(t);
 *     }
 *     sq_ckpt_close(ck);
 *
 * The file is mapped read-only; listing touches only the header. Loading a
 * tensor reads its pages, converts into a new float32 tensor and releases
 * those pages, so scanning tensor by tensor keeps resident memory near the
 * largest tensor (float32 copy) plus the pages being read.
 */
#ifndef SQ_CHECKPOINT_H
#define SQ_CHECKPOINT_H

#include <stddef.h>

#include "error.h"
#include "tensor.h"
#include "quant.h"
#include "tinfo.h"

typedef enum sq_ckpt_format { SQ_CKPT_SAFETENSORS = 0, SQ_CKPT_GGUF } sq_ckpt_format;

typedef struct sq_checkpoint sq_checkpoint;

/* Open path, its format recognised by its first bytes (sniff.h): GGUF,
 * safetensors, or a sharded safetensors checkpoint's *.index.json (shard.h:
 * its shards then read as one checkpoint). A directory opens its one
 * *.safetensors.index.json, else its one *.safetensors or *.gguf file.
 * Caller closes *out. Errors: those of sq_st_open / sq_gguf_open /
 * sq_shards_open (messages name the file); other kinds of file are refused
 * by sq_sniff_refuse saying what the file is (".npy array", ".npz
 * archive", text, big-endian GGUF, ...). */
sq_status sq_ckpt_open(const char *path, sq_checkpoint **out, sq_error *err);

/* The path ck was opened with (owned by ck; "" for a directory's checkpoint). */
const char *sq_ckpt_path(const sq_checkpoint *ck);

/* Close ck. sq_ckpt_close(NULL) is a no-op. */
void sq_ckpt_close(sq_checkpoint *ck);

sq_ckpt_format sq_ckpt_get_format(const sq_checkpoint *ck);
/* Shards of a sharded checkpoint (0 for a single file), and the path of the
 * k-th (owned by ck; NULL when out of range or not sharded). */
size_t sq_ckpt_shard_count(const sq_checkpoint *ck);
const char *sq_ckpt_shard_file(const sq_checkpoint *ck, size_t k);
size_t sq_ckpt_count(const sq_checkpoint *ck);
/* Info of tensor i (owned by ck; NULL when out of range). */
const sq_tinfo *sq_ckpt_info(const sq_checkpoint *ck, size_t i);
/* Index of a tensor by name; SQ_ERR_NOTFOUND otherwise. */
sq_status sq_ckpt_find(const sq_checkpoint *ck, const char *name, size_t *index, sq_error *err);

/* Metadata entries (safetensors `__metadata__`, GGUF key-value pairs as
 * text); *type is "string" for safetensors. Strings owned by ck. Returns
 * false when i is out of range. */
size_t sq_ckpt_metadata_count(const sq_checkpoint *ck);
bool sq_ckpt_metadata(const sq_checkpoint *ck, size_t i, const char **key, const char **type, const char **value);

/* Convert tensor i (caller frees *out). Errors: UNSUPPORTED type, NOMEM, ARG. */
sq_status sq_ckpt_load(const sq_checkpoint *ck, size_t i, sq_tensor **out, sq_error *err);

/* The bytes of tensor i as the file stores them (safetensors: its dtype,
 * little-endian; GGUF: ggml's layout, blocks included), borrowed from ck's
 * read-only mapping (valid until ck is closed). Call sq_ckpt_raw_release(ck,
 * i) when done so the pages stop counting as resident. Errors: ARG (bad
 * index). */
sq_status sq_ckpt_raw(const sq_checkpoint *ck, size_t i, const uint8_t **data, size_t *len, sq_error *err);
void sq_ckpt_raw_release(const sq_checkpoint *ck, size_t i);

/* Ask the kernel to start reading tensor i's bytes from the file in the
 * background (madvise(MADV_WILLNEED) on the read-only mapping: the pages go
 * into the page cache, not into this process's resident memory) and return
 * without waiting, so a loop overlaps reading tensor i+1 with working on
 * tensor i:
 *
 *     for (i = 0; i < n; i++) {
 *         sq_ckpt_prefetch(ck, i + 1);   // no-op past the end
 *         sq_ckpt_load(ck, i, &t, &err); ...
 *     }
 *
 * The request goes to a thread of ck's (started by the first call, all
 * signals blocked, joined by sq_ckpt_close), which reads the requests in
 * order (it holds 4: a fifth drops the oldest not begun). When that thread
 * cannot run (it failed to start, or in a forked child) the reads are
 * queued in the caller's thread. Only a hint: nothing is read into ck, no
 * result changes, and it never fails: an index out of range or ck NULL is a
 * no-op, and so is every call while the environment variable
 * SQUINT_NO_PREFETCH is set to a non-empty value other than "0" (to measure
 * the overlap against its baseline). Thread-safe. */
void sq_ckpt_prefetch(const sq_checkpoint *ck, size_t i);

/* Whether the checkpoint holds a squint-quantized tensor called name (its
 * .codes/.scales/.zero_points parts and squint.NAME.* metadata, as written by
 * sq_st_writer_add_qtensor). */
bool sq_ckpt_has_qtensor(const sq_checkpoint *ck, const char *name);

/* Rebuild that quantized tensor (caller frees). Errors: NOTFOUND (also for
 * GGUF files), FORMAT, NOMEM. */
sq_status sq_ckpt_load_qtensor(const sq_checkpoint *ck, const char *name, sq_qtensor **out, sq_error *err);

/* ---- whole files ------------------------------------------------------------ */

/* Whether path is a .npy file (by its magic bytes). */
bool sq_file_is_npy(const char *path);

/* Load one tensor from any supported file: a .npy file (name ignored), or
 * tensor `name` of a checkpoint as sq_ckpt_open reads it (name may be NULL
 * when it holds exactly one tensor). Caller frees *out. Errors: those of
 * the readers, NOTFOUND for an unknown name, ARG when the name is needed;
 * files of another kind are refused saying what they are (sniff.h). */
sq_status sq_load_tensor_file(const char *path, const char *name, sq_tensor **out, sq_error *err);

/* Save t as float32 to path, the format chosen by the extension: .npy, or
 * .safetensors (one tensor called name, "tensor" when NULL). Atomic. */
sq_status sq_save_tensor_file(const char *path, const char *name, const sq_tensor *t, sq_error *err);

/* Save a quantized tensor to a .safetensors file (codes, scales, zero points
 * and its configuration in __metadata__) under name ("tensor" when NULL). */
sq_status sq_save_qtensor_file(const char *path, const char *name, const sq_qtensor *q, sq_error *err);

#endif
