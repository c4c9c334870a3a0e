/* gguf_write.c - streamed, atomic GGUF v3 writer. */
#include "gguf_write.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockfmt.h"
#include "dtconv.h"
#include "elemfmt.h"
#include "fileio.h"
#include "gguf.h"
#include "tensor.h"
#include "threads.h"

#define W_MAX_DIMS 4
#define W_MAX_DEPTH 8

typedef struct wkv {
    char *key;
    uint32_t type;
    uint8_t *val;
    size_t len;
} wkv;

typedef struct wtensor {
    char *name;
    int type;
    int ndim;
    uint64_t ne[W_MAX_DIMS]; /* ggml order: ne[0] is the row length */
    size_t numel, nbytes, off;
} wtensor;

struct sq_gguf_writer {
    char *path;
    sq_afile *f;
    wkv *kv;
    size_t nkv, capkv;
    wtensor *t;
    size_t nt, capt;
    size_t align;
    bool started;  /* header written */
    size_t next;   /* next tensor to write */
    size_t pos;    /* bytes written after the header */
};

static const size_t scalar_size[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static uint64_t get_le(const uint8_t *p, int w)
{
    uint64_t v = 0;
    for (int k = 0; k < w; k++)
        v |= (uint64_t)p[k] << (8 * k);
    return v;
}

/* Bytes one value of type t takes at p (at most len), in *used; false when
 * the bytes do not hold a well-formed value. */
static bool value_size(uint32_t t, const uint8_t *p, size_t len, int depth, size_t *used)
{
    if (t > SQ_GGUF_F64)
        return false;
    if (t == SQ_GGUF_STRING) {
        if (len < 8 || get_le(p, 8) > len - 8)
            return false;
        *used = 8 + (size_t)get_le(p, 8);
        return true;
    }
    if (t != SQ_GGUF_ARRAY) {
        *used = scalar_size[t];
        return len >= scalar_size[t];
    }
    if (depth >= W_MAX_DEPTH || len < 12)
        return false;
    uint32_t et = (uint32_t)get_le(p, 4);
    uint64_t count = get_le(p + 4, 8);
    size_t pos = 12;
    if (et > SQ_GGUF_F64)
        return false;
    if (et != SQ_GGUF_STRING && et != SQ_GGUF_ARRAY) {
        if (count > (len - pos) / scalar_size[et])
            return false;
        *used = pos + (size_t)count * scalar_size[et];
        return true;
    }
    for (uint64_t i = 0; i < count; i++) {
        size_t u;
        if (!value_size(et, p + pos, len - pos, depth + 1, &u))
            return false;
        pos += u;
    }
    *used = pos;
    return true;
}

sq_status sq_gguf_writer_new(const char *path, sq_gguf_writer **out, sq_error *err)
{
    *out = NULL;
    sq_gguf_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = dup_str(path))) {
        free(w);
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    }
    w->align = 32;
    sq_status st = sq_afile_open(path, &w->f, err);
    if (st != SQ_OK) {
        free(w->path);
        free(w);
        return st;
    }
    *out = w;
    return SQ_OK;
}

void sq_gguf_writer_abort(sq_gguf_writer *w)
{
    if (!w)
        return;
    sq_afile_abort(w->f);
    for (size_t i = 0; i < w->nkv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].val);
    }
    for (size_t i = 0; i < w->nt; i++)
        free(w->t[i].name);
    free(w->kv);
    free(w->t);
    free(w->path);
    free(w);
}

/* general.alignment must be a u32 power of two; it sets w->align. */
static sq_status check_alignment(sq_gguf_writer *w, uint32_t type, const uint8_t *b, sq_error *err)
{
    if (type != SQ_GGUF_U32)
        return sq_fail(err, SQ_ERR_ARG, "%s: general.alignment must be a u32", w->path);
    uint32_t a = (uint32_t)get_le(b, 4);
    if (a == 0 || (a & (a - 1)) != 0)
        return sq_fail(err, SQ_ERR_ARG, "%s: general.alignment %u is not a power of two", w->path, (unsigned)a);
    w->align = a;
    return SQ_OK;
}

sq_status sq_gguf_writer_kv_raw(sq_gguf_writer *w, const char *key, uint32_t type, const void *bytes, size_t len,
                                sq_error *err)
{
    size_t used;
    if (w->started || w->nt)
        return sq_fail(err, SQ_ERR_ARG, "%s: metadata '%s' added after the tensors", w->path, key);
    if (!key[0])
        return sq_fail(err, SQ_ERR_ARG, "%s: empty metadata key", w->path);
    for (size_t i = 0; i < w->nkv; i++)
        if (strcmp(w->kv[i].key, key) == 0)
            return sq_fail(err, SQ_ERR_ARG, "%s: duplicate metadata key '%s'", w->path, key);
    if (!value_size(type, bytes, len, 0, &used) || used != len)
        return sq_fail(err, SQ_ERR_ARG, "%s: metadata '%s': %zu bytes are not one value of GGUF type %u", w->path,
                       key, len, (unsigned)type);
    if (strcmp(key, "general.alignment") == 0 && check_alignment(w, type, bytes, err) != SQ_OK)
        return err->code;
    if (w->nkv == w->capkv) {
        size_t cap = w->capkv ? 2 * w->capkv : 16;
        wkv *p = realloc(w->kv, cap * sizeof *p);
        if (!p)
            return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", w->path);
        w->kv = p;
        w->capkv = cap;
    }
    wkv *kv = &w->kv[w->nkv];
    kv->key = dup_str(key);
    kv->val = malloc(len ? len : 1);
    if (!kv->key || !kv->val) {
        free(kv->key);
        free(kv->val);
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", w->path);
    }
    memcpy(kv->val, bytes, len);
    kv->type = type;
    kv->len = len;
    w->nkv++;
    return SQ_OK;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int k = 0; k < n; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

sq_status sq_gguf_writer_kv_scalar(sq_gguf_writer *w, const char *key, uint32_t type, uint64_t bits, sq_error *err)
{
    uint8_t b[8];
    if (type > SQ_GGUF_F64 || type == SQ_GGUF_STRING || type == SQ_GGUF_ARRAY)
        return sq_fail(err, SQ_ERR_ARG, "%s: metadata '%s': type %u is not a scalar type", w->path, key,
                       (unsigned)type);
    put_le(b, bits, (int)scalar_size[type]);
    return sq_gguf_writer_kv_raw(w, key, type, b, scalar_size[type], err);
}

sq_status sq_gguf_writer_kv_string(sq_gguf_writer *w, const char *key, const char *s, size_t len, sq_error *err)
{
    if (len > SIZE_MAX - 8)
        return sq_fail(err, SQ_ERR_OVERFLOW, "%s: metadata '%s' too long", w->path, key);
    uint8_t *b = malloc(8 + len);
    if (!b)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", w->path);
    put_le(b, len, 8);
    if (len)
        memcpy(b + 8, s, len);
    sq_status st = sq_gguf_writer_kv_raw(w, key, SQ_GGUF_STRING, b, 8 + len, err);
    free(b);
    return st;
}

sq_status sq_gguf_writer_kv_strings(sq_gguf_writer *w, const char *key, const char *const *s, size_t n,
                                    sq_error *err)
{
    size_t len = 12;
    for (size_t i = 0; i < n; i++)
        len += 8 + strlen(s[i]);
    uint8_t *b = malloc(len);
    if (!b)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", w->path);
    uint8_t *p = b + 12;
    put_le(b, SQ_GGUF_STRING, 4);
    put_le(b + 4, n, 8);
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(s[i]);
        put_le(p, k, 8);
        memcpy(p + 8, s[i], k);
        p += 8 + k;
    }
    sq_status st = sq_gguf_writer_kv_raw(w, key, SQ_GGUF_ARRAY, b, len, err);
    free(b);
    return st;
}

/* Check name and shape of a tensor to declare; fill t's shape and sizes. */
static sq_status tensor_shape(sq_gguf_writer *w, wtensor *t, const char *name, const size_t *shape, int ndim,
                              sq_error *err)
{
    if (!name[0])
        return sq_fail(err, SQ_ERR_ARG, "%s: empty tensor name", w->path);
    for (size_t i = 0; i < w->nt; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return sq_fail(err, SQ_ERR_ARG, "%s: duplicate tensor name '%s'", w->path, name);
    if (ndim < 1 || ndim > W_MAX_DIMS)
        return sq_fail(err, SQ_ERR_ARG, "%s: tensor '%s': %d dimensions (1 to %d)", w->path, name, ndim, W_MAX_DIMS);
    if (!sq_ggml_type_name(t->type))
        return sq_fail(err, SQ_ERR_ARG, "%s: tensor '%s': unknown ggml type %d", w->path, name, t->type);
    if (sq_shape_numel(shape, ndim, &t->numel, err) != SQ_OK)
        return sq_error_prefix(err, w->path);
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        t->ne[d] = shape[ndim - 1 - d];
    size_t row = shape[ndim - 1], rows = row ? t->numel / row : 0, rb;
    if (sq_ggml_row_bytes(t->type, row, &rb, err) != SQ_OK) {
        char why[SQ_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        return sq_fail(err, err->code, "%s: tensor '%s': %s", w->path, name, why);
    }
    if (rows && rb > SIZE_MAX / rows)
        return sq_fail(err, SQ_ERR_OVERFLOW, "%s: tensor '%s': size overflows", w->path, name);
    t->nbytes = rb * rows;
    return SQ_OK;
}

sq_status sq_gguf_writer_add_tensor(sq_gguf_writer *w, const char *name, int ggml_type, const size_t *shape,
                                    int ndim, sq_error *err)
{
    if (w->started)
        return sq_fail(err, SQ_ERR_ARG, "%s: tensor '%s' declared after data started", w->path, name);
    wtensor t = {0};
    t.type = ggml_type;
    if (tensor_shape(w, &t, name, shape, ndim, err) != SQ_OK)
        return err->code;
    if (w->nt) {
        const wtensor *p = &w->t[w->nt - 1];
        size_t end = p->off + p->nbytes;
        if (end > SIZE_MAX - w->align)
            return sq_fail(err, SQ_ERR_OVERFLOW, "%s: file size overflows", w->path);
        t.off = (end + w->align - 1) / w->align * w->align;
    }
    if (w->nt == w->capt) {
        size_t cap = w->capt ? 2 * w->capt : 16;
        wtensor *p = realloc(w->t, cap * sizeof *p);
        if (!p)
            return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", w->path);
        w->t = p;
        w->capt = cap;
    }
    if (!(t.name = dup_str(name)))
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", w->path);
    w->t[w->nt++] = t;
    return SQ_OK;
}

/* A growing header buffer; oom records a failed allocation. */
typedef struct hbuf {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} hbuf;

static void hb_put(hbuf *h, const void *src, size_t n)
{
    if (h->oom)
        return;
    if (n > h->cap - h->n) {
        size_t cap = h->cap ? h->cap : 4096;
        while (cap - h->n < n && cap <= SIZE_MAX / 2)
            cap *= 2;
        uint8_t *p = cap - h->n >= n ? realloc(h->p, cap) : NULL;
        if (!p) {
            h->oom = true;
            return;
        }
        h->p = p;
        h->cap = cap;
    }
    memcpy(h->p + h->n, src, n);
    h->n += n;
}

static void hb_le(hbuf *h, uint64_t v, int n)
{
    uint8_t b[8];
    put_le(b, v, n);
    hb_put(h, b, (size_t)n);
}

static void hb_str(hbuf *h, const char *s)
{
    hb_le(h, strlen(s), 8);
    hb_put(h, s, strlen(s));
}

/* Build and write the header, padded to the alignment. */
static sq_status write_header(sq_gguf_writer *w, sq_error *err)
{
    hbuf h = {NULL, 0, 0, false};
    hb_put(&h, "GGUF", 4);
    hb_le(&h, 3, 4);
    hb_le(&h, w->nt, 8);
    hb_le(&h, w->nkv, 8);
    for (size_t i = 0; i < w->nkv; i++) {
        hb_str(&h, w->kv[i].key);
        hb_le(&h, w->kv[i].type, 4);
        hb_put(&h, w->kv[i].val, w->kv[i].len);
    }
    for (size_t i = 0; i < w->nt; i++) {
        const wtensor *t = &w->t[i];
        hb_str(&h, t->name);
        hb_le(&h, (uint64_t)t->ndim, 4);
        for (int d = 0; d < t->ndim; d++)
            hb_le(&h, t->ne[d], 8);
        hb_le(&h, (uint64_t)t->type, 4);
        hb_le(&h, t->off, 8);
    }
    while (w->nt && h.n % w->align)
        hb_le(&h, 0, 1);
    sq_status st = h.oom ? sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", w->path)
                         : sq_afile_write(w->f, h.p, h.n, err);
    free(h.p);
    w->started = st == SQ_OK;
    return st;
}

/* Zeros up to data offset `to`. */
static sq_status pad_to(sq_gguf_writer *w, size_t to, sq_error *err)
{
    static const uint8_t zeros[64];
    while (w->pos < to) {
        size_t k = to - w->pos < sizeof zeros ? to - w->pos : sizeof zeros;
        if (sq_afile_write(w->f, zeros, k, err) != SQ_OK)
            return err->code;
        w->pos += k;
    }
    return SQ_OK;
}

/* Header if needed, padding, and the checks common to both writers; the
 * tensor about to be written in *t. */
static sq_status begin_tensor(sq_gguf_writer *w, wtensor **t, sq_error *err)
{
    if (w->next >= w->nt)
        return sq_fail(err, SQ_ERR_ARG, "%s: data for more tensors than the %zu declared", w->path, w->nt);
    if (!w->started && write_header(w, err) != SQ_OK)
        return err->code;
    *t = &w->t[w->next];
    return pad_to(w, (*t)->off, err);
}

sq_status sq_gguf_writer_write_raw(sq_gguf_writer *w, const void *bytes, size_t n, sq_error *err)
{
    wtensor *t;
    if (begin_tensor(w, &t, err) != SQ_OK)
        return err->code;
    if (n != t->nbytes)
        return sq_fail(err, SQ_ERR_ARG, "%s: tensor '%s': %zu bytes given, its %s data takes %zu", w->path, t->name,
                       n, sq_ggml_type_name(t->type), t->nbytes);
    if (sq_afile_write(w->f, bytes, n, err) != SQ_OK)
        return err->code;
    w->pos += n;
    w->next++;
    return SQ_OK;
}

/* The sq_dtype of a plain ggml type, or -1. */
static int plain_dtype(int type)
{
    switch (type) {
    case 0: return SQ_DTYPE_F32;
    case 1: return SQ_DTYPE_F16;
    case 30: return SQ_DTYPE_BF16;
    case 24: return SQ_DTYPE_I8;
    case 25: return SQ_DTYPE_I16;
    case 26: return SQ_DTYPE_I32;
    case 28: return SQ_DTYPE_F64;
    default: return -1;
    }
}

#define MXFP4_TYPE 39 /* ggml's block_mxfp4: SQ_ELEM_MXFP4's 17-byte blocks */

/* The E2M1 code ggml's quantize_row_mxfp4_ref picks for a = x / 2^(e-127):
 * the nearest of 0, 0.5, 1, 1.5, 2, 3, 4, 6 (saturating), a tie going to
 * the smaller magnitude and zero always +0 (ggml scans its 16 values in
 * order and keeps the first of equal errors). SQ_ELEM_MXFP4 rounds ties to
 * even and keeps -0, so its bytes differ there. */
static uint8_t ggml_e2m1_code(float a)
{
    static const float mag[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
    float m = fabsf(a);
    uint8_t best = 0;
    for (uint8_t i = 1; i < 8; i++)
        if (fabsf(mag[i] - m) < fabsf(mag[best] - m))
            best = i;
    return best && a < 0 ? (uint8_t)(best | 8) : best;
}

/* ggml's MXFP4 bytes of k floats (k a multiple of 32): per block the E8M0
 * byte of its largest magnitude, element j in the low nibble of qs[j],
 * element j + 16 in the high one. Errors: NONFINITE (first index). */
static sq_status quantize_mxfp4(const float *x, size_t k, uint8_t *dst, sq_error *err)
{
    for (size_t i = 0; i < k; i++)
        if (!isfinite(x[i]))
            return sq_fail(err, SQ_ERR_NONFINITE, "mxfp4: element %zu is %g", i + 1, (double)x[i]);
    for (size_t b = 0; b < k / 32; b++, x += 32, dst += 17) {
        float amax = 0;
        for (int j = 0; j < 32; j++)
            amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
        dst[0] = sq_mx_scale_byte(amax, 2);
        for (int j = 0; j < 16; j++) {
            uint8_t lo = ggml_e2m1_code(ldexpf(x[j], 127 - dst[0]));
            uint8_t hi = ggml_e2m1_code(ldexpf(x[j + 16], 127 - dst[0]));
            dst[1 + j] = (uint8_t)(lo | hi << 4);
        }
    }
    return SQ_OK;
}

/* Quantize one row of k floats of block type `type` into buf; its bytes in *nb. */
static sq_status quantize_row(int type, const float *x, size_t k, uint8_t *buf, size_t *nb, sq_error *err)
{
    if (type == MXFP4_TYPE) {
        sq_status st = sq_elemfmt_row_bytes(SQ_ELEM_MXFP4, k, nb, err);
        return st == SQ_OK ? quantize_mxfp4(x, k, buf, err) : st;
    }
    sq_status st = sq_block_quantize_row((sq_block_type)type, x, k, buf, err);
    return st == SQ_OK ? sq_block_row_bytes((sq_block_type)type, k, nb, err) : st;
}

/* Rows quantized together: a batch runs its rows over the thread pool into
 * one buffer, then is written in row order (the bytes do not depend on the
 * thread count: each row is quantized alone). */
#define BATCH_ROWS 64

/* A batch of rows being quantized: row r of the batch from x + r * row into
 * buf + r * rb; the first failure's status and message kept. */
typedef struct row_batch {
    int type;
    const float *x;
    size_t row, rb;
    uint8_t *buf;
    sq_status *st;      /* per row */
    sq_error *err;      /* per row */
} row_batch;

static void batch_row(void *ctx, size_t r, int worker)
{
    const row_batch *b = ctx;
    size_t nb;
    (void)worker;
    b->st[r] = quantize_row(b->type, b->x + r * b->row, b->row, b->buf + r * b->rb, &nb, &b->err[r]);
}

/* Quantize the rows of x (t->numel floats, rows of t->ne[0]) in batches of
 * up to `rows` rows through buf (rows row-sizes) and write them. */
static sq_status quantize_write(sq_gguf_writer *w, const wtensor *t, const float *x, uint8_t *buf, size_t rows,
                                sq_error *err)
{
    size_t row = (size_t)t->ne[0], n_rows = row ? t->numel / row : 0, rb;
    sq_status st = sq_ggml_row_bytes(t->type, row, &rb, err), sts[BATCH_ROWS];
    sq_error errs[BATCH_ROWS];
    for (size_t r0 = 0; st == SQ_OK && r0 < n_rows; r0 += rows) {
        size_t k = n_rows - r0 < rows ? n_rows - r0 : rows;
        row_batch b = {t->type, x + r0 * row, row, rb, buf, sts, errs};
        sq_parallel_for(k, batch_row, &b);
        for (size_t r = 0; r < k; r++)
            if (sts[r] != SQ_OK)
                return sq_fail(err, sts[r], "%s: tensor '%s': %s", w->path, t->name, errs[r].msg);
        if ((st = sq_afile_write(w->f, buf, k * rb, err)) != SQ_OK)
            return st;
        w->pos += k * rb;
    }
    return st;
}

/* Encode or quantize x (t->numel floats) and write it: plain types a chunk
 * of elements at a time through buf (cap bytes), block types by batches of
 * rows (quantize_write, buf holding BATCH_ROWS rows). */
static sq_status encode_write(sq_gguf_writer *w, const wtensor *t, const float *x, uint8_t *buf, sq_error *err)
{
    int dt = plain_dtype(t->type);
    if (dt < 0)
        return quantize_write(w, t, x, buf, BATCH_ROWS, err);
    for (size_t i = 0; i < t->numel; i += 4096) {
        size_t k = t->numel - i < 4096 ? t->numel - i : 4096;
        sq_status st = sq_encode_elements((sq_dtype)dt, x + i, k, buf, err);
        if (st != SQ_OK) {
            char why[SQ_ERROR_MSG_MAX];
            snprintf(why, sizeof why, "%s", err->msg);
            return sq_fail(err, st, "%s: tensor '%s': %s", w->path, t->name, why);
        }
        if (sq_afile_write(w->f, buf, k * sq_dtype_size((sq_dtype)dt), err) != SQ_OK)
            return err->code;
        w->pos += k * sq_dtype_size((sq_dtype)dt);
    }
    return SQ_OK;
}

sq_status sq_gguf_writer_write_floats(sq_gguf_writer *w, const float *x, size_t n, sq_error *err)
{
    wtensor *t;
    if (w->next >= w->nt)
        return sq_fail(err, SQ_ERR_ARG, "%s: data for more tensors than the %zu declared", w->path, w->nt);
    t = &w->t[w->next];
    if (n != t->numel)
        return sq_fail(err, SQ_ERR_ARG, "%s: tensor '%s': %zu values given, it has %zu", w->path, t->name, n,
                       t->numel);
    if (plain_dtype(t->type) < 0 && !sq_block_info_of(t->type) && t->type != MXFP4_TYPE)
        return sq_fail(err, SQ_ERR_UNSUPPORTED, "%s: tensor '%s': cannot write %s from floats", w->path, t->name,
                       sq_ggml_type_name(t->type));
    size_t cap = 4096 * 8;
    if (plain_dtype(t->type) < 0) {
        if (sq_ggml_row_bytes(t->type, (size_t)t->ne[0], &cap, err) != SQ_OK)
            return sq_error_prefix(err, w->path);
        if (cap > SIZE_MAX / BATCH_ROWS)
            return sq_fail(err, SQ_ERR_OVERFLOW, "%s: tensor '%s': rows too long", w->path, t->name);
        cap *= BATCH_ROWS;
    }
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", w->path);
    sq_status st = begin_tensor(w, &t, err);
    if (st == SQ_OK)
        st = encode_write(w, t, x, buf, err);
    free(buf);
    if (st == SQ_OK)
        w->next++;
    return st;
}

sq_status sq_gguf_writer_finish(sq_gguf_writer *w, sq_error *err)
{
    sq_status st = SQ_OK;
    if (w->next < w->nt)
        st = sq_fail(err, SQ_ERR_ARG, "%s: tensor '%s' (and %zu after it) has no data", w->path,
                     w->t[w->next].name, w->nt - w->next - 1);
    else if (!w->started)
        st = write_header(w, err);
    if (st == SQ_OK && w->nt)
        st = pad_to(w, (w->pos + w->align - 1) / w->align * w->align, err);
    if (st == SQ_OK) {
        st = sq_afile_commit(w->f, err);
        w->f = NULL;
    }
    sq_gguf_writer_abort(w);
    return st;
}
