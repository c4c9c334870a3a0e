/* gguf_export.c - checkpoints rewritten as GGUF with llama.cpp block formats. */
#include "gguf_export.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blockfmt.h"
#include "checkpoint.h"
#include "gguf.h"
#include "gguf_write.h"
#include "sniff.h"

sq_status sq_gguf_format_lookup(const char *name, int *type, sq_error *err)
{
    static const struct { const char *n; int t; } plain[] = {{"f32", 0}, {"f16", 1}, {"bf16", 30}, {"mxfp4", 39}};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (strcasecmp(name, plain[i].n) == 0) {
            *type = plain[i].t;
            return SQ_OK;
        }
    sq_block_type bt;
    if (sq_block_lookup(name, &bt, err) != SQ_OK)
        return sq_fail(err, SQ_ERR_ARG, "--format: unknown format '%s' (f32, f16, bf16 or a block type: %s)", name,
                       "q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k iq4_nl iq4_xs mxfp4");
    *type = (int)bt;
    return SQ_OK;
}

/* llama.cpp's general.file_type (enum llama_ftype) for a ggml type; the
 * "_S" variants for the k-quants (every weight of that one type). */
static unsigned file_type(int t)
{
    switch (t) {
    case 0: return 0;
    case 1: return 1;
    case 2: return 2;
    case 3: return 3;
    case 8: return 7;
    case 6: return 8;
    case 7: return 9;
    case 10: return 10;
    case 11: return 11;
    case 12: return 14;
    case 13: return 16;
    case 14: return 18;
    case 20: return 25;
    case 23: return 30;
    case 39: return 38; /* LLAMA_FTYPE_MOSTLY_MXFP4_MOE */
    default: return 32; /* BF16 */
    }
}

/* Elements per block of type (1 for F32, F16, BF16). */
static size_t block_of(int type)
{
    const sq_block_info *bi = sq_block_info_of(type);
    return bi ? bi->block : type == 39 ? 32 : 1;
}

/* Whether a tensor holds integers (GGUF's I8 ... I64, a checkpoint's
 * integer dtypes): never quantized, as llama-quantize does not. */
static bool integral(const sq_tinfo *ti, int gguf_type)
{
    if (gguf_type >= 0)
        return gguf_type >= 24 && gguf_type <= 27;
    return ti->dtype == SQ_DTYPE_I8 || ti->dtype == SQ_DTYPE_U8 || ti->dtype == SQ_DTYPE_I16 ||
           ti->dtype == SQ_DTYPE_I32;
}

/* Whether a tensor of this shape becomes `type` (gguf_type: its GGUF type,
 * -1 for other checkpoints). */
static bool quantizes(const sq_tinfo *ti, int gguf_type, int type)
{
    size_t row = ti->ndim ? ti->shape[ti->ndim - 1] : 0;
    return ti->loadable && !integral(ti, gguf_type) && ti->ndim >= 2 && row > 0 && row % block_of(type) == 0;
}

/* A tensor that would be quantized but for its row length is kept; say so
 * through note (as llama-quantize does) and count it. */
static void note_unaligned(const sq_tinfo *ti, int gguf_type, int type, const char *kept_as, sq_gguf_note_fn note, void *ctx,
                           sq_gguf_export_summary *sum)
{
    size_t row = ti->ndim ? ti->shape[ti->ndim - 1] : 0;
    if (!ti->loadable || integral(ti, gguf_type) || ti->ndim < 2 || row == 0 || row % block_of(type) == 0)
        return;
    sum->unaligned++;
    if (note) {
        char msg[SQ_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "tensor '%s': row length %zu is not a multiple of %s's block of %zu: kept as %s",
                 ti->name, row, sq_ggml_type_name(type), block_of(type), kept_as);
        note(ctx, msg);
    }
}

/* Load tensor i of g (or ck) and write it as floats. */
static sq_status write_loaded(sq_gguf_writer *w, const sq_gguf *g, const sq_checkpoint *ck, size_t i, sq_error *err)
{
    sq_tensor *t;
    sq_status st = g ? sq_gguf_load(g, i, &t, err) : sq_ckpt_load(ck, i, &t, err);
    if (st != SQ_OK)
        return st;
    st = sq_gguf_writer_write_floats(w, t->data, t->numel, err);
    sq_tensor_free(t);
    return st;
}

/* GGUF to GGUF: metadata verbatim (file type updated), tensors quantized or copied. */
static sq_status from_gguf(const sq_gguf *g, sq_gguf_writer *w, int type, sq_gguf_note_fn note, void *ctx,
                           sq_gguf_export_summary *sum, sq_error *err)
{
    sq_status st = SQ_OK;
    for (size_t i = 0; st == SQ_OK && i < sq_gguf_metadata_count(g); i++) {
        uint32_t vt;
        const uint8_t *v;
        size_t n;
        const char *key = sq_gguf_metadata_key(g, i);
        if ((st = sq_gguf_metadata_raw(g, i, &vt, &v, &n, err)) != SQ_OK)
            break;
        if (strcmp(key, "general.file_type") == 0 && vt == SQ_GGUF_U32)
            st = sq_gguf_writer_kv_scalar(w, key, vt, file_type(type), err);
        else
            st = sq_gguf_writer_kv_raw(w, key, vt, v, n, err);
    }
    for (size_t i = 0; st == SQ_OK && i < sq_gguf_count(g); i++) {
        const sq_tinfo *ti = sq_gguf_info(g, i);
        int tt = quantizes(ti, sq_gguf_tensor_type(g, i), type) ? type : sq_gguf_tensor_type(g, i);
        st = sq_gguf_writer_add_tensor(w, ti->name, tt, ti->shape, ti->ndim, err);
    }
    for (size_t i = 0; st == SQ_OK && i < sq_gguf_count(g); i++) {
        const sq_tinfo *ti = sq_gguf_info(g, i);
        if (quantizes(ti, sq_gguf_tensor_type(g, i), type)) {
            st = write_loaded(w, g, NULL, i, err);
            sum->quantized++;
        } else {
            note_unaligned(ti, sq_gguf_tensor_type(g, i), type, ti->type_name, note, ctx, sum);
            st = sq_gguf_writer_write_raw(w, sq_gguf_tensor_data(g, i), ti->nbytes, err);
            sum->kept++;
        }
    }
    return st;
}

/* Any other checkpoint: minimal metadata, quantized or F32 tensors. */
static sq_status from_ckpt(const sq_checkpoint *ck, const char *in, sq_gguf_writer *w, int type,
                           sq_gguf_note_fn note, void *ctx, sq_gguf_export_summary *sum, sq_error *err)
{
    const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
    const char *dot = strrchr(base, '.');
    size_t bl = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    sq_status st = sq_gguf_writer_kv_string(w, "general.architecture", "squint", 6, err);
    if (st == SQ_OK)
        st = sq_gguf_writer_kv_string(w, "general.name", base, bl, err);
    if (st == SQ_OK)
        st = sq_gguf_writer_kv_scalar(w, "general.file_type", SQ_GGUF_U32, file_type(type), err);
    for (size_t i = 0; st == SQ_OK && i < sq_ckpt_count(ck); i++) {
        const sq_tinfo *ti = sq_ckpt_info(ck, i);
        static const size_t scalar[1] = {1}; /* a 0-d tensor becomes [1] */
        if (ti->loadable)
            st = sq_gguf_writer_add_tensor(w, ti->name, quantizes(ti, -1, type) ? type : 0, ti->ndim ? ti->shape : scalar,
                                           ti->ndim ? ti->ndim : 1, err);
    }
    for (size_t i = 0; st == SQ_OK && i < sq_ckpt_count(ck); i++) {
        const sq_tinfo *ti = sq_ckpt_info(ck, i);
        if (!ti->loadable) {
            sum->skipped++;
            continue;
        }
        sq_ckpt_prefetch(ck, i + 1); /* read the next tensor while this one is converted */
        st = write_loaded(w, NULL, ck, i, err);
        if (quantizes(ti, -1, type)) {
            sum->quantized++;
        } else {
            note_unaligned(ti, -1, type, "F32", note, ctx, sum);
            sum->kept++;
        }
    }
    return st;
}

sq_status sq_gguf_export(const char *in, const char *out, int type, sq_gguf_note_fn note, void *note_ctx,
                         sq_gguf_export_summary *sum, sq_error *err)
{
    memset(sum, 0, sizeof *sum);
    if (type != 0 && type != 1 && type != 30 && type != 39 && !sq_block_info_of(type))
        return sq_fail(err, SQ_ERR_ARG, "%s: unsupported output type %d", out, type);
    if (strcmp(in, out) == 0)
        return sq_fail(err, SQ_ERR_ARG, "%s: the output would replace the input", out);
    sq_gguf *g = NULL;
    sq_checkpoint *ck = NULL;
    sq_file_kind kind = SQ_FILE_UNKNOWN;
    sq_status st = sq_sniff_file(in, &kind, err);
    if (st == SQ_OK)
        st = kind == SQ_FILE_GGUF ? sq_gguf_open(in, &g, err) : sq_ckpt_open(in, &ck, err);
    if (st != SQ_OK)
        return st;
    sq_gguf_writer *w;
    if ((st = sq_gguf_writer_new(out, &w, err)) == SQ_OK) {
        st = g ? from_gguf(g, w, type, note, note_ctx, sum, err)
               : from_ckpt(ck, in, w, type, note, note_ctx, sum, err);
        if (st == SQ_OK)
            st = sq_gguf_writer_finish(w, err);
        else
            sq_gguf_writer_abort(w);
    }
    sq_gguf_close(g);
    if (ck)
        sq_ckpt_close(ck);
    return st;
}
