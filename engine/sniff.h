/*
 * sniff.h - what kind of file a path holds, judged by its first bytes (not
 * its name), and the message to give when it is not the kind wanted.
 *
 *     sq_file_kind k;
 *     if (sq_sniff_file(path, &k, &err) != SQ_OK) ...;          // cannot open
 *     if (k != SQ_FILE_SAFETENSORS && k != SQ_FILE_GGUF)
 *         return sq_sniff_refuse(path, k, SQ_WANT_CHECKPOINT, &err);
 *
 * Recognised: numpy .npy ("\x93NUMPY"), zip archives such as .npz ("PK\3\4"
 * or the empty archive's "PK\5\6"), GGUF ("GGUF" then a little-endian
 * version; a version that only makes sense byte-swapped marks big-endian
 * GGUF), safetensors (an 8-byte little-endian header length followed by
 * '{'), a sharded checkpoint's index (a JSON object with a "weight_map"
 * key, or any JSON object in a file named *.index.json), other text, an
 * empty file and a directory.
 */
#ifndef SQ_SNIFF_H
#define SQ_SNIFF_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum sq_file_kind {
    SQ_FILE_UNKNOWN = 0,  /* binary without a known signature */
    SQ_FILE_EMPTY,
    SQ_FILE_NPY,
    SQ_FILE_ZIP,          /* .npz, or a zip-based PyTorch file */
    SQ_FILE_SAFETENSORS,
    SQ_FILE_GGUF,
    SQ_FILE_GGUF_BE,      /* big-endian GGUF */
    SQ_FILE_SHARD_INDEX,  /* model.safetensors.index.json */
    SQ_FILE_TEXT,
    SQ_FILE_DIRECTORY
} sq_file_kind;

/* What the caller needs, to word the refusal. */
typedef enum sq_file_want {
    SQ_WANT_CHECKPOINT = 0, /* safetensors, GGUF or a sharded index */
    SQ_WANT_TENSOR          /* .npy, or a checkpoint holding the tensor */
} sq_file_want;

/* Kind of a file whose first len bytes are buf (pass up to 16 KB; fewer
 * only when the file is shorter). Never fails. */
sq_file_kind sq_sniff_bytes(const uint8_t *buf, size_t len);

/* Kind of the file at path: sq_sniff_bytes over its first bytes; a JSON
 * object in a file named *.index.json is an index even without
 * "weight_map" in its first 16 KB. Reads at most 16 KB. Errors: IO naming
 * the path and the system's reason when it cannot be opened or read. */
sq_status sq_sniff_file(const char *path, sq_file_kind *kind, sq_error *err);

/* Short description ("a .npy array", "a zip archive", ...); never NULL. */
const char *sq_file_kind_name(sq_file_kind kind);

/* Fill err with why path (of that kind) cannot serve as want and what to do
 * instead, e.g. "x.npy: a checkpoint is needed; this is a .npy array: use
 * info or --view (sq.load in Lua)", "x.npz: .npz archives are not read:
 * unzip them", "x.npy: not a .npy file: no \x93NUMPY magic (the file is
 * text)". Returns the status recorded: UNSUPPORTED for formats squint
 * knows but does not read here, FORMAT otherwise. */
sq_status sq_sniff_refuse(const char *path, sq_file_kind kind, sq_file_want want, sq_error *err);

#endif
