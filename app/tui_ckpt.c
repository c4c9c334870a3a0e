/* tui_ckpt.c - a checkpoint as a panel source (see tui.h): plain tensors as
 * they are, squint's quantized exports as one entry per quantized tensor. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "tui.h"

/* The NAME of a quantized part "NAME.suffix" (suffix one of codes, scales,
 * zero_points) of ck, or NULL: a new string the caller frees. *is_codes
 * tells whether it is the .codes part (the one listed). */
static char *quantized_base(const sq_checkpoint *ck, const char *name, bool *is_codes)
{
    static const char *const parts[] = {".codes", ".scales", ".zero_points"};
    size_t len = strlen(name);
    for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
        size_t sl = strlen(parts[p]);
        if (len <= sl || strcmp(name + len - sl, parts[p]) != 0)
            continue;
        char *base = strndup(name, len - sl);
        if (base && sq_ckpt_has_qtensor(ck, base)) {
            *is_codes = p == 0;
            return base;
        }
        free(base);
        return NULL;
    }
    return NULL;
}

/* Source callbacks: ctx is the sq_tui_ckpt_source. */
static const char *cs_name(void *ctx, size_t i)
{
    const sq_tui_ckpt_source *cs = ctx;
    return cs->qname[i] ? cs->qname[i] : sq_ckpt_info(cs->ck, cs->index[i])->name;
}

static sq_status cs_load(void *ctx, size_t i, sq_tensor **out, sq_error *err)
{
    const sq_tui_ckpt_source *cs = ctx;
    return sq_ckpt_load(cs->ck, cs->index[i], out, err);
}

static bool cs_is_quantized(void *ctx, size_t i)
{
    const sq_tui_ckpt_source *cs = ctx;
    return cs->qname[i] != NULL;
}

static sq_status cs_load_q(void *ctx, size_t i, sq_qtensor **out, sq_error *err)
{
    const sq_tui_ckpt_source *cs = ctx;
    if (!cs->qname[i])
        return sq_fail(err, SQ_ERR_ARG, "'%s' is not a quantized tensor", cs_name(ctx, i));
    return sq_ckpt_load_qtensor(cs->ck, cs->qname[i], out, err);
}

/* The original of quantized entry i: the source file's tensor NAME (the
 * panel checks its shape). */
static sq_status cs_load_orig(void *ctx, size_t i, sq_tensor **out, sq_error *err)
{
    const sq_tui_ckpt_source *cs = ctx;
    size_t k;
    if (!cs->orig || !cs->qname[i])
        return sq_fail(err, SQ_ERR_NOTFOUND, "no source file");
    sq_status s = sq_ckpt_find(cs->orig, cs->qname[i], &k, err);
    if (s != SQ_OK)
        return s;
    return sq_ckpt_load(cs->orig, k, out, err);
}

/* Open the file the export names as its source (metadata squint.source),
 * when there is one and it opens; NULL otherwise. A relative name (squint
 * quantize records the base name) is taken beside the export. */
static sq_checkpoint *open_orig(const sq_checkpoint *ck)
{
    const char *key, *type, *value;
    sq_checkpoint *orig = NULL;
    sq_error err;
    char buf[4096];
    for (size_t i = 0; i < sq_ckpt_metadata_count(ck); i++)
        if (sq_ckpt_metadata(ck, i, &key, &type, &value) && strcmp(key, "squint.source") == 0) {
            const char *slash = strrchr(sq_ckpt_path(ck), '/');
            if (value[0] != '/' && slash &&
                (size_t)snprintf(buf, sizeof buf, "%.*s/%s", (int)(slash - sq_ckpt_path(ck)), sq_ckpt_path(ck),
                                 value) < sizeof buf)
                value = buf;
            if (sq_ckpt_open(value, &orig, &err) != SQ_OK)
                orig = NULL;
            break;
        }
    return orig;
}

sq_status sq_tui_ckpt_source_init(sq_tui_ckpt_source *cs, const sq_checkpoint *ck, sq_error *err)
{
    size_t n = sq_ckpt_count(ck), k = 0;
    memset(cs, 0, sizeof *cs);
    cs->ck = ck;
    cs->index = calloc(n ? n : 1, sizeof *cs->index);
    cs->qname = calloc(n ? n : 1, sizeof *cs->qname);
    if (!cs->index || !cs->qname)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        bool is_codes = false;
        char *base = quantized_base(ck, sq_ckpt_info(ck, i)->name, &is_codes);
        if (base && !is_codes) {
            free(base); /* .scales / .zero_points: part of NAME's entry */
            continue;
        }
        cs->index[k] = i;
        cs->qname[k++] = base;
    }
    cs->src = (sq_tui_source){k, cs_name, cs_load, cs, cs_is_quantized, cs_load_q, cs_load_orig};
    if (k < n)
        cs->orig = open_orig(ck);
    return SQ_OK;
nomem:
    sq_tui_ckpt_source_free(cs);
    return sq_fail(err, SQ_ERR_NOMEM, "out of memory for a list of %zu tensors", n);
}

void sq_tui_ckpt_source_free(sq_tui_ckpt_source *cs)
{
    for (size_t i = 0; cs->qname && i < cs->src.n; i++)
        free(cs->qname[i]);
    free(cs->qname);
    free(cs->index);
    sq_ckpt_close(cs->orig);
    memset(cs, 0, sizeof *cs);
}

sq_status sq_tui_view_checkpoint(const sq_checkpoint *ck, const char *title, const sq_qconfig *initial,
                                 sq_error *err)
{
    sq_tui_ckpt_source cs;
    sq_status s = sq_tui_ckpt_source_init(&cs, ck, err);
    if (s != SQ_OK)
        return s;
    s = sq_tui_view_source(&cs.src, title, initial, err);
    sq_tui_ckpt_source_free(&cs);
    return s;
}
