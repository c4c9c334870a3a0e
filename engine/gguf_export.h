/*
 * gguf_export.h - `squint quantize IN OUT.gguf --format TYPE`: a checkpoint
 * rewritten as GGUF with its weights in one of llama.cpp's formats.
 *
 * From a GGUF input (recognised by its magic bytes, whatever its name)
 * every metadata pair is copied verbatim (general.file_type, when present,
 * is set to llama.cpp's file type for TYPE) and every tensor is either
 * quantized to TYPE (at least 2 dimensions, row length a multiple of TYPE's
 * block size, loadable, not integers) or copied byte for byte, as llama-quantize
 * does; a tensor kept only because its rows are no whole number of blocks
 * is reported through the note callback. From any other checkpoint (safetensors, npy, ...) the metadata is
 * general.architecture "squint", general.name (the input's base name without
 * extension) and general.file_type; tensors that are not quantized are
 * written as F32, unloadable ones skipped. The output is written with
 * gguf_write.h (streamed, atomic: one tensor in memory at a time).
 */
#ifndef SQ_GGUF_EXPORT_H
#define SQ_GGUF_EXPORT_H

#include <stddef.h>

#include "error.h"

typedef struct sq_gguf_export_summary {
    size_t quantized, kept, skipped;
    size_t unaligned; /* of kept: 2-D or more, rows no whole number of blocks */
} sq_gguf_export_summary;

/* Called once per tensor kept because of its row length, with a message
 * naming the tensor, its row length, the block and what it was kept as
 * (valid during the call only). */
typedef void (*sq_gguf_note_fn)(void *ctx, const char *msg);

/* Write in's tensors to out as GGUF with weights of ggml type `type` (one of
 * blockfmt.h's types, MXFP4 39, F32 0, F16 1 or BF16 30). note (may be
 * NULL) gets ctx and each note. *sum is filled on success. Errors: ARG
 * (type, out equal to in), those of the readers and the writer (messages
 * name the file and tensor). */
sq_status sq_gguf_export(const char *in, const char *out, int type, sq_gguf_note_fn note, void *note_ctx,
                         sq_gguf_export_summary *sum, sq_error *err);

/* Parse a --format value ("q4_k", "Q8_0", "mxfp4", "f16", "bf16", "f32")
 * into a ggml type number. Errors: ARG naming the value and the accepted
 * names. */
sq_status sq_gguf_format_lookup(const char *name, int *type, sq_error *err);

#endif
