/* gguf.c - GGUF v2/v3 reader: metadata as text, tensor infos, plain and block-format loading. */
#include "gguf.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockfmt.h"
#include "elemfmt.h"
#include "dtconv.h"
#include "fileio.h"

#define GGUF_MAX_DIMS 4
#define GGUF_MAX_DEPTH 8
#define GGUF_DEFAULT_ALIGN 32

/* ggml tensor types: name, elements per block, bytes per block, how loaded,
 * and the dtype label of the loaded tensor. */
enum { K_NONE = 0, K_PLAIN = 1, K_BLOCK = 2, K_I64 = 3, K_MXFP4 = 4 };
typedef struct ggml_type_info {
    const char *name;
    size_t blck, size;
    int kind; /* K_NONE: not loadable, K_PLAIN: elements of dt, K_BLOCK: blockfmt.h, K_I64 */
    sq_dtype dt;
} ggml_type_info;

#define BLK(nm, b, sz) {nm, b, sz, K_BLOCK, SQ_DTYPE_F32}
#define NOPE(nm, b, sz) {nm, b, sz, K_NONE, SQ_DTYPE_F32}
static const ggml_type_info ggml_types[] = {
    [0] = {"F32", 1, 4, K_PLAIN, SQ_DTYPE_F32}, [1] = {"F16", 1, 2, K_PLAIN, SQ_DTYPE_F16},
    [2] = BLK("Q4_0", 32, 18),      [3] = BLK("Q4_1", 32, 20),
    [6] = BLK("Q5_0", 32, 22),      [7] = BLK("Q5_1", 32, 24),
    [8] = BLK("Q8_0", 32, 34),      [9] = NOPE("Q8_1", 32, 36),
    [10] = BLK("Q2_K", 256, 84),    [11] = BLK("Q3_K", 256, 110),
    [12] = BLK("Q4_K", 256, 144),   [13] = BLK("Q5_K", 256, 176),
    [14] = BLK("Q6_K", 256, 210),   [15] = NOPE("Q8_K", 256, 292),
    [16] = NOPE("IQ2_XXS", 256, 66), [17] = NOPE("IQ2_XS", 256, 74),
    [18] = NOPE("IQ3_XXS", 256, 98), [19] = NOPE("IQ1_S", 256, 50),
    [20] = BLK("IQ4_NL", 32, 18),   [21] = NOPE("IQ3_S", 256, 110),
    [22] = NOPE("IQ2_S", 256, 82),  [23] = BLK("IQ4_XS", 256, 136),
    [24] = {"I8", 1, 1, K_PLAIN, SQ_DTYPE_I8},   [25] = {"I16", 1, 2, K_PLAIN, SQ_DTYPE_I16},
    [26] = {"I32", 1, 4, K_PLAIN, SQ_DTYPE_I32}, [27] = {"I64", 1, 8, K_I64, SQ_DTYPE_F64},
    [28] = {"F64", 1, 8, K_PLAIN, SQ_DTYPE_F64}, [29] = NOPE("IQ1_M", 256, 56),
    [30] = {"BF16", 1, 2, K_PLAIN, SQ_DTYPE_BF16}, [34] = NOPE("TQ1_0", 256, 54),
    [35] = NOPE("TQ2_0", 256, 66),  [39] = {"MXFP4", 32, 17, K_MXFP4, SQ_DTYPE_F32},
};
#undef BLK
#undef NOPE
#define N_GGML_TYPES (sizeof ggml_types / sizeof ggml_types[0])

/* GGUF metadata value types. */
enum { GT_U8, GT_I8, GT_U16, GT_I16, GT_U32, GT_I32, GT_F32, GT_BOOL, GT_STRING, GT_ARRAY, GT_U64, GT_I64, GT_F64, GT_COUNT };
static const char *const gt_names[GT_COUNT] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                               "bool", "string", "array", "u64", "i64", "f64"};
static const size_t gt_sizes[GT_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

struct sq_gguf {
    char *fname;
    sq_mapped map;
    const uint8_t *buf;
    size_t len;
    uint32_t version;
    size_t alignment;
    size_t n;
    sq_tinfo *t;
    int *kind;
    uint32_t *gtype;  /* each tensor's ggml type number */
    size_t n_meta;
    char **mkey, **mtype, **mval;
    uint32_t *mraw;   /* each value's GGUF type number */
    size_t *moff;     /* each value's bytes: offset in buf */
    size_t *mlen;     /* and length */
};

/* A bounds-checked reader over the file. */
typedef struct rd {
    const uint8_t *p;
    size_t pos, len;
    sq_gguf *g;
    sq_error *err;
} rd;

/* Need n more bytes, else a FORMAT error naming what was being read. */
static sq_status need(rd *r, size_t n, const char *what)
{
    if (n > r->len - r->pos)
        return sq_fail(r->err, SQ_ERR_FORMAT, "%s: truncated: %s at offset %zu needs %zu bytes, %zu left", r->g->fname,
                       what, r->pos, n, r->len - r->pos);
    return SQ_OK;
}

/* Little-endian unsigned of w bytes (after need()). */
static uint64_t get_le(rd *r, size_t w)
{
    uint64_t v = 0;
    for (size_t k = 0; k < w; k++)
        v |= (uint64_t)r->p[r->pos + k] << (8 * k);
    r->pos += w;
    return v;
}

static sq_status rd_u32(rd *r, uint32_t *v, const char *what)
{
    sq_status st = need(r, 4, what);
    if (st == SQ_OK)
        *v = (uint32_t)get_le(r, 4);
    return st;
}

static sq_status rd_u64(rd *r, uint64_t *v, const char *what)
{
    sq_status st = need(r, 8, what);
    if (st == SQ_OK)
        *v = get_le(r, 8);
    return st;
}

/* A GGUF string: u64 length then bytes (not NUL-terminated). */
static sq_status rd_str(rd *r, const char **s, size_t *n, const char *what)
{
    uint64_t len;
    sq_status st = rd_u64(r, &len, what);
    if (st != SQ_OK)
        return st;
    if (len > r->len - r->pos)
        return sq_fail(r->err, SQ_ERR_FORMAT, "%s: %s at offset %zu: string length %" PRIu64 " is longer than the file",
                       r->g->fname, what, r->pos - 8, len);
    *s = (const char *)r->p + r->pos;
    *n = (size_t)len;
    r->pos += (size_t)len;
    return SQ_OK;
}

/* A growing text buffer (embedded NULs become '?'); oom records a failed
 * allocation, reported once the value is read. */
typedef struct tbuf {
    char *s;
    size_t n, cap;
    bool oom;
} tbuf;

static void tb_add(tbuf *b, const char *txt, size_t n)
{
    if (b->oom)
        return;
    if (n >= b->cap - b->n) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->n <= n && cap <= SIZE_MAX / 2)
            cap *= 2;
        char *p = cap - b->n > n ? realloc(b->s, cap) : NULL;
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    for (size_t i = 0; i < n; i++)
        b->s[b->n++] = txt[i] == '\0' ? '?' : txt[i];
    b->s[b->n] = '\0';
}

/* Read one scalar of type t, appending its text to b (b may be NULL). */
static sq_status rd_scalar(rd *r, uint32_t t, tbuf *b)
{
    char txt[64];
    sq_status st;
    if (t == GT_STRING) {
        const char *s;
        size_t n;
        if ((st = rd_str(r, &s, &n, "string value")) != SQ_OK)
            return st;
        if (b)
            tb_add(b, s, n);
        return SQ_OK;
    }
    if ((st = need(r, gt_sizes[t], "metadata value")) != SQ_OK)
        return st;
    uint64_t u = get_le(r, gt_sizes[t]);
    if (!b)
        return SQ_OK;
    switch (t) {
    case GT_U8: case GT_U16: case GT_U32: case GT_U64: snprintf(txt, sizeof txt, "%" PRIu64, u); break;
    case GT_I8: snprintf(txt, sizeof txt, "%d", (int)(int8_t)u); break;
    case GT_I16: snprintf(txt, sizeof txt, "%d", (int)(int16_t)u); break;
    case GT_I32: snprintf(txt, sizeof txt, "%" PRId32, (int32_t)u); break;
    case GT_I64: snprintf(txt, sizeof txt, "%" PRId64, (int64_t)u); break;
    case GT_BOOL: snprintf(txt, sizeof txt, "%s", u ? "true" : "false"); break;
    case GT_F32: {
        uint32_t v = (uint32_t)u;
        float f;
        memcpy(&f, &v, 4);
        snprintf(txt, sizeof txt, "%.9g", (double)f);
        break;
    }
    default: {
        double d;
        memcpy(&d, &u, 8);
        snprintf(txt, sizeof txt, "%.17g", d);
        break;
    }
    }
    tb_add(b, txt, strlen(txt));
    return SQ_OK;
}

/* Read a value of type t (arrays recursively), appending text to b (may be NULL). */
static sq_status rd_value(rd *r, uint32_t t, tbuf *b, int depth, char *tname, size_t tnsize)
{
    sq_status st;
    if (t >= GT_COUNT)
        return sq_fail(r->err, SQ_ERR_FORMAT, "%s: unknown metadata value type %" PRIu32 " at offset %zu", r->g->fname, t,
                       r->pos - 4);
    if (tname)
        snprintf(tname, tnsize, "%s", gt_names[t]);
    if (t != GT_ARRAY)
        return rd_scalar(r, t, b);
    if (depth >= GGUF_MAX_DEPTH)
        return sq_fail(r->err, SQ_ERR_FORMAT, "%s: metadata arrays nested deeper than %d", r->g->fname, GGUF_MAX_DEPTH);
    uint32_t et;
    uint64_t count;
    if ((st = rd_u32(r, &et, "array type")) != SQ_OK || (st = rd_u64(r, &count, "array length")) != SQ_OK)
        return st;
    if (et >= GT_COUNT)
        return sq_fail(r->err, SQ_ERR_FORMAT, "%s: unknown metadata array element type %" PRIu32, r->g->fname, et);
    /* every element takes at least one byte (strings 8, arrays 12): bound the loop */
    size_t minsz = et == GT_STRING ? 8 : et == GT_ARRAY ? 12 : gt_sizes[et];
    if (count > (r->len - r->pos) / minsz)
        return sq_fail(r->err, SQ_ERR_FORMAT, "%s: metadata array of %" PRIu64 " elements is longer than the file",
                       r->g->fname, count);
    if (tname)
        snprintf(tname, tnsize, "array[%s]", gt_names[et]);
    if (b)
        tb_add(b, "[", 1);
    for (uint64_t i = 0; i < count; i++) {
        tbuf *bb = b && i < 8 ? b : NULL;
        if (bb && i)
            tb_add(bb, ", ", 2);
        if (et != GT_ARRAY && et != GT_STRING && !bb) { /* skip the rest of a fixed-size array at once */
            r->pos += (size_t)(count - i) * minsz;
            break;
        }
        st = et == GT_ARRAY ? rd_value(r, GT_ARRAY, bb, depth + 1, NULL, 0) : rd_scalar(r, et, bb);
        if (st != SQ_OK)
            return st;
    }
    if (b) {
        if (count > 8) {
            char more[48];
            snprintf(more, sizeof more, ", ... (%" PRIu64 " elements)", count);
            tb_add(b, more, strlen(more));
        }
        tb_add(b, "]", 1);
    }
    return SQ_OK;
}

/* Copy n bytes as a NUL-terminated string (embedded NULs become '?'). */
static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++)
        p[i] = s[i] ? s[i] : '?';
    p[n] = '\0';
    return p;
}

void sq_gguf_close(sq_gguf *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        free((char *)g->t[i].name);
    for (size_t i = 0; i < g->n_meta; i++) {
        free(g->mkey[i]);
        free(g->mtype[i]);
        free(g->mval[i]);
    }
    free(g->t);
    free(g->kind);
    free(g->gtype);
    free(g->mkey);
    free(g->mtype);
    free(g->mval);
    free(g->mraw);
    free(g->moff);
    free(g->mlen);
    free(g->fname);
    sq_unmap_file(&g->map);
    free(g);
}

/* Read the metadata pairs. */
static sq_status parse_kv(rd *r, uint64_t n_kv)
{
    sq_gguf *g = r->g;
    sq_status st;
    /* a pair takes at least 8 (key length) + 4 (type) + 1 bytes */
    if (n_kv > (r->len - r->pos) / 13)
        return sq_fail(r->err, SQ_ERR_FORMAT, "%s: metadata count %" PRIu64 " is larger than the file allows", g->fname,
                       n_kv);
    size_t n = (size_t)n_kv ? (size_t)n_kv : 1;
    g->mkey = calloc(n, sizeof(char *));
    g->mtype = calloc(n, sizeof(char *));
    g->mval = calloc(n, sizeof(char *));
    g->mraw = calloc(n, sizeof *g->mraw);
    g->moff = calloc(n, sizeof *g->moff);
    g->mlen = calloc(n, sizeof *g->mlen);
    if (!g->mkey || !g->mtype || !g->mval || !g->mraw || !g->moff || !g->mlen)
        return sq_fail(r->err, SQ_ERR_NOMEM, "%s: out of memory", g->fname);
    for (uint64_t i = 0; i < n_kv; i++) {
        const char *k;
        size_t kl;
        uint32_t t;
        tbuf b = {NULL, 0, 0, false};
        char tname[32] = "";
        if ((st = rd_str(r, &k, &kl, "metadata key")) != SQ_OK || (st = rd_u32(r, &t, "metadata type")) != SQ_OK)
            return st;
        size_t vpos = r->pos;
        tb_add(&b, "", 0);
        if ((st = rd_value(r, t, &b, 0, tname, sizeof tname)) != SQ_OK) {
            free(b.s);
            return st;
        }
        g->mkey[i] = dupn(k, kl);
        g->mtype[i] = dupn(tname, strlen(tname));
        g->mval[i] = b.s;
        g->mraw[i] = t;
        g->moff[i] = vpos;
        g->mlen[i] = r->pos - vpos;
        g->n_meta++;
        if (!g->mkey[i] || !g->mtype[i] || b.oom)
            return sq_fail(r->err, SQ_ERR_NOMEM, "%s: out of memory", g->fname);
        if (strcmp(g->mkey[i], "general.alignment") == 0) {
            if (t != GT_U32)
                return sq_fail(r->err, SQ_ERR_FORMAT, "%s: general.alignment is %s, not u32", g->fname, tname);
            uint32_t a = (uint32_t)(r->p[vpos] | r->p[vpos + 1] << 8 | r->p[vpos + 2] << 16 | (uint32_t)r->p[vpos + 3] << 24);
            if (a == 0 || (a & (a - 1)) != 0)
                return sq_fail(r->err, SQ_ERR_FORMAT, "%s: general.alignment %" PRIu32 " is not a power of two",
                               g->fname, a);
            g->alignment = a;
        }
    }
    return SQ_OK;
}

/* A tensor of a ggml type squint does not know: listed as "type N", its
 * size unknown, refused when loaded (kind -1). */
static sq_status unknown_type(sq_gguf *g, sq_tinfo *ti, uint32_t type, sq_error *err)
{
    snprintf(ti->type_name, sizeof ti->type_name, "type %" PRIu32, type);
    g->kind[ti - g->t] = -1;
    ti->loadable = false;
    ti->size_unknown = true;
    ti->dtype = SQ_DTYPE_F32;
    ti->nbytes = 0;
    if (sq_shape_numel(ti->shape, ti->ndim, &ti->numel, NULL) != SQ_OK)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': shape's size overflows", g->fname, ti->name);
    return SQ_OK;
}

/* Bytes of tensor ti of a known ggml type with rows of row elements: for the
 * block formats blockfmt.h's row size times the number of rows. */
static sq_status tensor_bytes(sq_gguf *g, sq_tinfo *ti, uint32_t type, size_t row, sq_error *err)
{
    size_t rows = row ? ti->numel / row : 0, rb;
    if (sq_ggml_row_bytes((int)type, row, &rb, err) != SQ_OK) {
        char why[SQ_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        return sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': %s", g->fname, ti->name, why);
    }
    if (rows && rb > SIZE_MAX / rows)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': shape's size overflows", g->fname, ti->name);
    ti->nbytes = rb * rows;
    return SQ_OK;
}

/* Read the tensor infos (offsets relative to the data section). */
static sq_status parse_tinfo(rd *r, uint64_t n_t, uint64_t *rel)
{
    sq_gguf *g = r->g;
    sq_status st;
    for (uint64_t i = 0; i < n_t; i++) {
        sq_tinfo *ti = &g->t[i];
        const char *nm;
        size_t nl;
        uint32_t nd, type;
        if ((st = rd_str(r, &nm, &nl, "tensor name")) != SQ_OK)
            return st;
        if (!(ti->name = dupn(nm, nl)))
            return sq_fail(r->err, SQ_ERR_NOMEM, "%s: out of memory", g->fname);
        g->n++;
        if ((st = rd_u32(r, &nd, "tensor dimension count")) != SQ_OK)
            return st;
        if (nd > GGUF_MAX_DIMS)
            return sq_fail(r->err, SQ_ERR_FORMAT, "%s: tensor '%s': %" PRIu32 " dimensions (at most %d)", g->fname,
                           ti->name, nd, GGUF_MAX_DIMS);
        ti->ndim = (int)nd;
        uint64_t ne[GGUF_MAX_DIMS];
        for (uint32_t d = 0; d < nd; d++) {
            if ((st = rd_u64(r, &ne[d], "tensor dimension")) != SQ_OK)
                return st;
            if (ne[d] > (uint64_t)INT64_MAX)
                return sq_fail(r->err, SQ_ERR_FORMAT, "%s: tensor '%s': negative dimension %" PRId64, g->fname,
                               ti->name, (int64_t)ne[d]);
            if (ne[d] > SIZE_MAX)
                return sq_fail(r->err, SQ_ERR_FORMAT, "%s: tensor '%s': shape's size overflows", g->fname, ti->name);
            ti->shape[nd - 1 - d] = (size_t)ne[d];
        }
        if ((st = rd_u32(r, &type, "tensor type")) != SQ_OK || (st = rd_u64(r, &rel[i], "tensor offset")) != SQ_OK)
            return st;
        g->gtype[i] = type;
        if (type >= N_GGML_TYPES || !ggml_types[type].name) {
            if ((st = unknown_type(g, ti, type, r->err)) != SQ_OK)
                return st;
            continue;
        }
        const ggml_type_info *gt = &ggml_types[type];
        snprintf(ti->type_name, sizeof ti->type_name, "%s", gt->name);
        g->kind[i] = gt->kind;
        ti->loadable = gt->kind != K_NONE;
        ti->dtype = gt->dt;
        if (sq_shape_numel(ti->shape, ti->ndim, &ti->numel, NULL) != SQ_OK)
            return sq_fail(r->err, SQ_ERR_FORMAT, "%s: tensor '%s': shape's size overflows", g->fname, ti->name);
        size_t row = nd ? (size_t)ne[0] : 1;
        if (row % gt->blck != 0)
            return sq_fail(r->err, SQ_ERR_FORMAT, "%s: tensor '%s': row length %zu is not a multiple of the %s block size %zu",
                           g->fname, ti->name, row, gt->name, gt->blck);
        if ((st = tensor_bytes(g, ti, type, row, r->err)) != SQ_OK)
            return st;
    }
    return SQ_OK;
}

/* qsort helpers over arrays of tensor-info pointers. */
static int cmp_offset(const void *a, const void *b)
{
    const sq_tinfo *x = *(const sq_tinfo *const *)a, *y = *(const sq_tinfo *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const sq_tinfo *const *)a)->name, (*(const sq_tinfo *const *)b)->name);
}

/* Parse the whole header of g->buf. */
static sq_status gguf_parse(sq_gguf *g, sq_error *err)
{
    rd r = {g->buf, 0, g->len, g, err};
    sq_status st;
    uint32_t magic;
    uint64_t n_t, n_kv;
    g->alignment = GGUF_DEFAULT_ALIGN;
    if (g->len < 4 || memcmp(g->buf, "GGUF", 4) != 0)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: not a GGUF file (bad magic)", g->fname);
    if ((st = rd_u32(&r, &magic, "magic")) != SQ_OK || (st = rd_u32(&r, &g->version, "version")) != SQ_OK)
        return st;
    uint32_t swapped = (g->version >> 24) | (g->version >> 8 & 0xFF00u) | (g->version << 8 & 0xFF0000u) | (g->version << 24);
    if (g->version > 0xFFFFu && swapped >= 1 && swapped <= 3)
        return sq_fail(err, SQ_ERR_UNSUPPORTED, "%s: big-endian GGUF is not supported (version %" PRIu32
                       " stored big-endian)", g->fname, swapped);
    if (g->version != 2 && g->version != 3)
        return sq_fail(err, SQ_ERR_UNSUPPORTED, "%s: unsupported GGUF version %" PRIu32 " (2 and 3 are read)", g->fname,
                       g->version);
    if ((st = rd_u64(&r, &n_t, "tensor count")) != SQ_OK || (st = rd_u64(&r, &n_kv, "metadata count")) != SQ_OK)
        return st;
    if ((st = parse_kv(&r, n_kv)) != SQ_OK)
        return st;
    /* a tensor info takes at least 8 + 4 + 4 + 8 bytes */
    if (n_t > (r.len - r.pos) / 24)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: tensor count %" PRIu64 " is larger than the file allows", g->fname, n_t);
    size_t n = n_t ? (size_t)n_t : 1;
    uint64_t *rel = calloc(n, sizeof *rel);
    const sq_tinfo **idx = calloc(n, sizeof *idx);
    g->t = calloc(n, sizeof *g->t);
    g->kind = calloc(n, sizeof *g->kind);
    g->gtype = calloc(n, sizeof *g->gtype);
    if (!rel || !idx || !g->t || !g->kind || !g->gtype) {
        st = sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", g->fname);
        goto out;
    }
    if ((st = parse_tinfo(&r, n_t, rel)) != SQ_OK)
        goto out;
    size_t data = (r.pos + g->alignment - 1) / g->alignment * g->alignment;
    if (n_t && data > g->len) {
        st = sq_fail(err, SQ_ERR_FORMAT, "%s: truncated: no data section after the header", g->fname);
        goto out;
    }
    for (size_t i = 0; i < g->n; i++) {
        sq_tinfo *ti = &g->t[i];
        if (rel[i] % g->alignment != 0) {
            st = sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': offset %" PRIu64 " is not a multiple of the alignment %zu",
                         g->fname, ti->name, rel[i], g->alignment);
            goto out;
        }
        if (rel[i] > g->len - data || ti->nbytes > g->len - data - (size_t)rel[i]) {
            st = sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': data (offset %" PRIu64 ", %zu bytes) runs past the end of the file",
                         g->fname, ti->name, rel[i], ti->nbytes);
            goto out;
        }
        ti->offset = data + (size_t)rel[i];
        idx[i] = ti;
    }
    qsort(idx, g->n, sizeof *idx, cmp_offset);
    for (size_t k = 1; k < g->n; k++) {
        const sq_tinfo *a = idx[k - 1], *b = idx[k];
        if (a->offset + a->nbytes > b->offset) {
            st = sq_fail(err, SQ_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", g->fname, a->name, b->name);
            goto out;
        }
    }
    qsort(idx, g->n, sizeof *idx, cmp_name);
    for (size_t k = 1; k < g->n; k++) {
        if (strcmp(idx[k - 1]->name, idx[k]->name) == 0) {
            st = sq_fail(err, SQ_ERR_FORMAT, "%s: duplicate tensor name '%s'", g->fname, idx[k]->name);
            goto out;
        }
    }
out:
    free(rel);
    free((void *)idx);
    return st;
}

/* Allocate a handle labelled name. */
static sq_gguf *gguf_alloc(const char *name)
{
    sq_gguf *g = calloc(1, sizeof *g);
    if (g && !(g->fname = dupn(name, strlen(name)))) {
        free(g);
        g = NULL;
    }
    return g;
}

/* Parse g and hand it out, or close it. */
static sq_status gguf_finish(sq_gguf *g, sq_gguf **out, sq_error *err)
{
    sq_status st = gguf_parse(g, err);
    if (st != SQ_OK) {
        sq_gguf_close(g);
        return st;
    }
    *out = g;
    return SQ_OK;
}

sq_status sq_gguf_open_mem(const uint8_t *buf, size_t len, const char *name, sq_gguf **out, sq_error *err)
{
    *out = NULL;
    sq_gguf *g = gguf_alloc(name);
    if (!g)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", name);
    g->buf = buf;
    g->len = len;
    return gguf_finish(g, out, err);
}

sq_status sq_gguf_open(const char *path, sq_gguf **out, sq_error *err)
{
    *out = NULL;
    sq_gguf *g = gguf_alloc(path);
    if (!g)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    sq_status st = sq_map_file(path, &g->map, err);
    if (st != SQ_OK) {
        sq_gguf_close(g);
        return st;
    }
    g->buf = g->map.data;
    g->len = g->map.size;
    return gguf_finish(g, out, err);
}

uint32_t sq_gguf_version(const sq_gguf *g) { return g->version; }
size_t sq_gguf_alignment(const sq_gguf *g) { return g->alignment; }
size_t sq_gguf_count(const sq_gguf *g) { return g->n; }
const sq_tinfo *sq_gguf_info(const sq_gguf *g, size_t i) { return i < g->n ? &g->t[i] : NULL; }
size_t sq_gguf_metadata_count(const sq_gguf *g) { return g->n_meta; }
const char *sq_gguf_metadata_key(const sq_gguf *g, size_t i) { return i < g->n_meta ? g->mkey[i] : NULL; }
const char *sq_gguf_metadata_type(const sq_gguf *g, size_t i) { return i < g->n_meta ? g->mtype[i] : NULL; }
const char *sq_gguf_metadata_value(const sq_gguf *g, size_t i) { return i < g->n_meta ? g->mval[i] : NULL; }

sq_status sq_gguf_metadata_raw(const sq_gguf *g, size_t i, uint32_t *type, const uint8_t **bytes, size_t *len,
                               sq_error *err)
{
    if (i >= g->n_meta)
        return sq_fail(err, SQ_ERR_ARG, "%s: metadata pair %zu is out of range 1..%zu", g->fname, i + 1, g->n_meta);
    *type = g->mraw[i];
    *bytes = g->buf + g->moff[i];
    *len = g->mlen[i];
    return SQ_OK;
}

int sq_gguf_tensor_type(const sq_gguf *g, size_t i) { return i < g->n ? (int)g->gtype[i] : -1; }

const uint8_t *sq_gguf_tensor_data(const sq_gguf *g, size_t i)
{
    return i < g->n && g->kind[i] >= 0 ? g->buf + g->t[i].offset : NULL;
}

const char *sq_ggml_type_name(int type)
{
    return type >= 0 && (size_t)type < N_GGML_TYPES ? ggml_types[type].name : NULL;
}

sq_status sq_ggml_row_bytes(int type, size_t n, size_t *bytes, sq_error *err)
{
    const char *nm = sq_ggml_type_name(type);
    if (!nm)
        return sq_fail(err, SQ_ERR_UNSUPPORTED, "unsupported ggml type %d", type);
    const ggml_type_info *gt = &ggml_types[type];
    if (gt->kind == K_BLOCK)
        return sq_block_row_bytes((sq_block_type)type, n, bytes, err);
    if (n % gt->blck != 0)
        return sq_fail(err, SQ_ERR_ARG, "row length %zu is not a multiple of the %s block size %zu", n, nm, gt->blck);
    if (n / gt->blck > SIZE_MAX / gt->size)
        return sq_fail(err, SQ_ERR_OVERFLOW, "a %s row of %zu elements overflows", nm, n);
    *bytes = n / gt->blck * gt->size;
    return SQ_OK;
}

const char *sq_gguf_metadata_get(const sq_gguf *g, const char *key)
{
    for (size_t i = 0; i < g->n_meta; i++)
        if (strcmp(g->mkey[i], key) == 0)
            return g->mval[i];
    return NULL;
}

sq_status sq_gguf_find(const sq_gguf *g, const char *name, size_t *index, sq_error *err)
{
    for (size_t i = 0; i < g->n; i++) {
        if (strcmp(g->t[i].name, name) == 0) {
            *index = i;
            return SQ_OK;
        }
    }
    return sq_fail(err, SQ_ERR_NOTFOUND, "%s: no tensor named '%s'", g->fname, name);
}

/* Signed 64-bit little-endian integers to the nearest floats. */
static void deq_i64(const uint8_t *src, size_t n, float *dst)
{
    for (size_t i = 0; i < n; i++, src += 8) {
        uint64_t u = 0;
        for (int k = 0; k < 8; k++)
            u |= (uint64_t)src[k] << (8 * k);
        dst[i] = (float)(int64_t)u;
    }
}

/* Decode tensor ti of kind `kind` from src into dst, row by row for the
 * block formats (rows of shape[ndim-1] = ne[0] elements). */
static sq_status decode_tensor(const sq_gguf *g, const sq_tinfo *ti, int kind, const uint8_t *src, float *dst,
                               sq_error *err)
{
    if (kind == K_I64) {
        deq_i64(src, ti->numel, dst);
        return SQ_OK;
    }
    if (kind == K_MXFP4) { /* rows are whole blocks, so the tensor is one run of blocks */
        if (sq_elemfmt_decode_ggml_mxfp4(src, ti->numel, dst, err) != SQ_OK)
            return sq_error_prefix(err, g->fname);
        return SQ_OK;
    }
    if (kind != K_BLOCK) {
        sq_decode_elements(ti->dtype, false, src, ti->numel, dst);
        return SQ_OK;
    }
    size_t row = ti->ndim ? ti->shape[ti->ndim - 1] : 1, rb;
    sq_block_type bt = (sq_block_type)g->gtype[ti - g->t];
    if (row == 0 || ti->numel == 0)
        return SQ_OK;
    if (sq_block_row_bytes(bt, row, &rb, err) != SQ_OK)
        return sq_error_prefix(err, g->fname);
    for (size_t r = 0; r < ti->numel / row; r++)
        if (sq_block_dequantize_row(bt, src + r * rb, row, dst + r * row, err) != SQ_OK)
            return sq_error_prefix(err, g->fname);
    return SQ_OK;
}

sq_status sq_gguf_raw(const sq_gguf *g, size_t i, const uint8_t **data, size_t *len, sq_error *err)
{
    if (i >= g->n)
        return sq_fail(err, SQ_ERR_ARG, "%s: tensor %zu is out of range 1..%zu", g->fname, i + 1, g->n);
    sq_mapped_prefetch(&g->map, g->t[i].offset, g->t[i].nbytes);
    *data = g->buf + g->t[i].offset;
    *len = g->t[i].nbytes;
    return SQ_OK;
}

void sq_gguf_raw_release(const sq_gguf *g, size_t i)
{
    if (i < g->n)
        sq_mapped_release(&g->map, g->t[i].offset, g->t[i].nbytes);
}

void sq_gguf_prefetch(const sq_gguf *g, size_t i)
{
    if (i < g->n)
        sq_mapped_prefetch_all(&g->map, g->t[i].offset, g->t[i].nbytes);
}

sq_status sq_gguf_load(const sq_gguf *g, size_t i, sq_tensor **out, sq_error *err)
{
    *out = NULL;
    if (i >= g->n)
        return sq_fail(err, SQ_ERR_ARG, "%s: tensor %zu is out of range 1..%zu", g->fname, i + 1, g->n);
    const sq_tinfo *ti = &g->t[i];
    if (g->kind[i] < 0)
        return sq_fail(err, SQ_ERR_UNSUPPORTED, "%s: tensor '%s': unsupported ggml type %s (not known to squint)",
                       g->fname, ti->name, ti->type_name + 5);
    if (!ti->loadable)
        return sq_fail(err, SQ_ERR_UNSUPPORTED, "%s: tensor '%s': ggml type %s cannot be loaded (F32, F16, BF16, F64, "
                       "I8, I16, I32, I64, MXFP4 and the block formats of blockfmt.h can)", g->fname, ti->name, ti->type_name);
    sq_tensor *t;
    if (sq_tensor_new(ti->shape, ti->ndim, ti->dtype, &t, err) != SQ_OK)
        return sq_error_prefix(err, g->fname);
    sq_mapped_prefetch(&g->map, ti->offset, ti->nbytes);
    sq_status st = decode_tensor(g, ti, g->kind[i], g->buf + ti->offset, t->data, err);
    sq_mapped_release(&g->map, ti->offset, ti->nbytes);
    if (st != SQ_OK) {
        sq_tensor_free(t);
        return st;
    }
    *out = t;
    return SQ_OK;
}
