/* safetensors.c - safetensors reader (jansson header, mmap'ed data) and writer. */
#include "safetensors.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockfmt.h"
#include "dtconv.h"
#include "elemfmt.h"
#include "fileio.h"

/* The safetensors dtypes squint knows; dt < SQ_DTYPE_COUNT when loadable. */
static const struct {
    const char *name;
    size_t size;
    sq_dtype dt;
} st_dtypes[] = {
    {"F32", 4, SQ_DTYPE_F32}, {"F16", 2, SQ_DTYPE_F16},   {"BF16", 2, SQ_DTYPE_BF16},
    {"F64", 8, SQ_DTYPE_F64}, {"I8", 1, SQ_DTYPE_I8},     {"U8", 1, SQ_DTYPE_U8},
    {"I16", 2, SQ_DTYPE_I16}, {"I32", 4, SQ_DTYPE_I32},   {"BOOL", 1, SQ_DTYPE_COUNT},
    {"U16", 2, SQ_DTYPE_COUNT}, {"U32", 4, SQ_DTYPE_COUNT}, {"I64", 8, SQ_DTYPE_COUNT},
    {"U64", 8, SQ_DTYPE_COUNT}, {"F8_E4M3", 1, SQ_DTYPE_COUNT}, {"F8_E5M2", 1, SQ_DTYPE_COUNT},
    {"F8_E8M0", 1, SQ_DTYPE_COUNT}, {"C64", 8, SQ_DTYPE_COUNT},
};

/* The table entry of a safetensors dtype name, or -1. */
static int st_dtype_index(const char *name)
{
    for (size_t k = 0; k < sizeof st_dtypes / sizeof st_dtypes[0]; k++)
        if (strcmp(name, st_dtypes[k].name) == 0)
            return (int)k;
    return -1;
}

/* ---- a string -> index hash table (open addressing, linear probing) -------- */

typedef struct strmap {
    const char **key; /* borrowed; NULL = empty slot */
    size_t *val;
    size_t cap, n;    /* cap is 0 or a power of two */
} strmap;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

static void strmap_free(strmap *m)
{
    free(m->key);
    free(m->val);
    m->key = NULL;
    m->val = NULL;
    m->cap = m->n = 0;
}

/* The slot of key: where it is, or the empty slot where it would go. */
static size_t strmap_slot(const strmap *m, const char *key)
{
    size_t i = (size_t)str_hash(key) & (m->cap - 1);
    while (m->key[i] && strcmp(m->key[i], key) != 0)
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* Whether key is present; its value in *val. */
static bool strmap_get(const strmap *m, const char *key, size_t *val)
{
    if (!m->cap)
        return false;
    size_t i = strmap_slot(m, key);
    if (!m->key[i])
        return false;
    *val = m->val[i];
    return true;
}

/* Insert or replace key (borrowed: it must outlive the map); false when out of memory. */
static bool strmap_put(strmap *m, const char *key, size_t val)
{
    if (2 * (m->n + 1) > m->cap) {
        strmap g = {NULL, NULL, m->cap ? 2 * m->cap : 16, 0};
        g.key = calloc(g.cap, sizeof *g.key);
        g.val = malloc(g.cap * sizeof *g.val);
        if (!g.key || !g.val) {
            strmap_free(&g);
            return false;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->key[i]) {
                size_t j = strmap_slot(&g, m->key[i]);
                g.key[j] = m->key[i];
                g.val[j] = m->val[i];
                g.n++;
            }
        strmap_free(m);
        *m = g;
    }
    size_t i = strmap_slot(m, key);
    if (!m->key[i])
        m->n++;
    m->key[i] = key;
    m->val[i] = val;
    return true;
}

/* The safetensors name of a loadable dtype. */
static const char *st_dtype_name(sq_dtype dt)
{
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (st_dtypes[i].dt == dt)
            return st_dtypes[i].name;
    return NULL;
}

struct sq_safetensors {
    char *fname;
    sq_mapped map;      /* owned mapping (map.data NULL for a borrowed image) */
    const uint8_t *buf; /* the whole file */
    size_t len;
    size_t n;
    sq_tinfo *t;
    size_t n_meta;
    char **meta_key, **meta_val;
    strmap by_name, by_key; /* tensor name -> index, metadata key -> index */
};

void sq_st_close(sq_safetensors *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free((char *)f->t[i].name);
    for (size_t i = 0; i < f->n_meta; i++) {
        free(f->meta_key[i]);
        free(f->meta_val[i]);
    }
    free(f->t);
    free(f->meta_key);
    free(f->meta_val);
    free(f->fname);
    strmap_free(&f->by_name);
    strmap_free(&f->by_key);
    sq_unmap_file(&f->map);
    free(f);
}

/* Read `__metadata__`: a flat object of strings. */
static sq_status parse_metadata(sq_safetensors *f, json_t *obj, sq_error *err)
{
    if (!json_is_object(obj))
        return sq_fail(err, SQ_ERR_FORMAT, "%s: __metadata__ is not an object", f->fname);
    size_t n = json_object_size(obj);
    f->meta_key = calloc(n ? n : 1, sizeof(char *));
    f->meta_val = calloc(n ? n : 1, sizeof(char *));
    if (!f->meta_key || !f->meta_val)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", f->fname);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (!json_is_string(v))
            return sq_fail(err, SQ_ERR_FORMAT, "%s: __metadata__ value of '%s' is not a string", f->fname, k);
        f->meta_key[f->n_meta] = strdup(k);
        f->meta_val[f->n_meta] = strdup(json_string_value(v));
        f->n_meta++;
        if (!f->meta_key[f->n_meta - 1] || !f->meta_val[f->n_meta - 1])
            return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", f->fname);
    }
    return SQ_OK;
}

/* A JSON integer in [0, max] into *out. */
static bool json_uint(json_t *j, uint64_t max, uint64_t *out)
{
    if (!json_is_integer(j) || json_integer_value(j) < 0 || (uint64_t)json_integer_value(j) > max)
        return false;
    *out = (uint64_t)json_integer_value(j);
    return true;
}

/* Parse one tensor entry into ti (name already set); data_size bounds the span. */
static sq_status parse_entry(const sq_safetensors *f, const char *name, json_t *e, size_t data_size,
                             size_t data_start, sq_tinfo *ti, sq_error *err)
{
    const char *fn = f->fname;
    if (!json_is_object(e))
        return sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': entry is not an object", fn, name);
    json_t *dt = json_object_get(e, "dtype"), *shape = json_object_get(e, "shape"),
           *offs = json_object_get(e, "data_offsets");
    if (!json_is_string(dt))
        return sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': missing or non-string dtype", fn, name);
    size_t k, size = 0;
    for (k = 0; k < sizeof st_dtypes / sizeof st_dtypes[0]; k++)
        if (strcmp(json_string_value(dt), st_dtypes[k].name) == 0)
            break;
    if (k == sizeof st_dtypes / sizeof st_dtypes[0])
        return sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': unknown dtype '%.32s'", fn, name,
                       json_string_value(dt));
    snprintf(ti->type_name, sizeof ti->type_name, "%s", st_dtypes[k].name);
    size = st_dtypes[k].size;
    ti->loadable = st_dtypes[k].dt != SQ_DTYPE_COUNT;
    ti->dtype = ti->loadable ? st_dtypes[k].dt : SQ_DTYPE_F32;
    if (!json_is_array(shape))
        return sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': missing or non-list shape", fn, name);
    if (json_array_size(shape) > SQ_MAX_DIMS)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': %zu dimensions (at most %d)", fn, name,
                       json_array_size(shape), SQ_MAX_DIMS);
    ti->ndim = (int)json_array_size(shape);
    for (int d = 0; d < ti->ndim; d++) {
        uint64_t v;
        if (!json_uint(json_array_get(shape, (size_t)d), SIZE_MAX, &v))
            return sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': dimension %d is not a non-negative integer", fn,
                           name, d + 1);
        ti->shape[d] = (size_t)v;
    }
    if (sq_shape_numel(ti->shape, ti->ndim, &ti->numel, NULL) != SQ_OK || ti->numel > SIZE_MAX / size)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': shape's size overflows", fn, name);
    uint64_t b, en;
    if (!json_is_array(offs) || json_array_size(offs) != 2)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': data_offsets is not a [begin, end] pair", fn, name);
    if (!json_uint(json_array_get(offs, 0), UINT64_MAX, &b) || !json_uint(json_array_get(offs, 1), UINT64_MAX, &en) ||
        b > en)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': bad data_offsets", fn, name);
    if (en > data_size)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] past the end of the data (%zu bytes)",
                       fn, name, (unsigned long long)b, (unsigned long long)en, data_size);
    if (en - b != ti->numel * size)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': span of %llu bytes does not match shape x dtype (%zu bytes)",
                       fn, name, (unsigned long long)(en - b), ti->numel * size);
    ti->offset = data_start + (size_t)b;
    ti->nbytes = (size_t)(en - b);
    return SQ_OK;
}

/* Order entries by offset (then size, so empty tensors come first). */
static int cmp_offset(const void *a, const void *b)
{
    const sq_tinfo *x = a, *y = b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes)
        return x->nbytes < y->nbytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Parse the header of f->buf and fill the tables. */
static sq_status st_parse(sq_safetensors *f, sq_error *err)
{
    const char *fn = f->fname;
    if (f->len < 8)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: truncated: %zu bytes, no header length", fn, f->len);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++)
        hl |= (uint64_t)f->buf[i] << (8 * i);
    if (hl > SQ_ST_MAX_HEADER)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: header length %llu exceeds the 100 MB limit", fn,
                       (unsigned long long)hl);
    if (hl > f->len - 8)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: header length %llu runs past the end of the file (%zu bytes)", fn,
                       (unsigned long long)hl, f->len);
    if (hl < 2 || f->buf[8] != '{')
        return sq_fail(err, SQ_ERR_FORMAT, "%s: header is not a JSON object", fn);
    json_error_t je;
    json_t *root = json_loadb((const char *)f->buf + 8, (size_t)hl, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: header is not valid JSON: %s", fn, je.text);
    sq_status st = SQ_OK;
    if (!json_is_object(root)) {
        st = sq_fail(err, SQ_ERR_FORMAT, "%s: header is not a JSON object", fn);
        goto out;
    }
    size_t data_start = 8 + (size_t)hl, data_size = f->len - data_start;
    size_t cap = json_object_size(root);
    f->t = calloc(cap ? cap : 1, sizeof *f->t);
    if (!f->t) {
        st = sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", fn);
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (strcmp(k, "__metadata__") == 0) {
            if ((st = parse_metadata(f, v, err)) != SQ_OK)
                goto out;
            continue;
        }
        sq_tinfo *ti = &f->t[f->n];
        if (!(ti->name = strdup(k))) {
            st = sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", fn);
            goto out;
        }
        f->n++;
        if ((st = parse_entry(f, k, v, data_size, data_start, ti, err)) != SQ_OK)
            goto out;
    }
    qsort(f->t, f->n, sizeof *f->t, cmp_offset);
    size_t pos = data_start;
    for (size_t i = 0; i < f->n; i++) {
        if (f->t[i].offset != pos) {
            st = sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s': data at offset %zu %s (expected %zu)", fn,
                         f->t[i].name, f->t[i].offset - data_start,
                         f->t[i].offset < pos ? "overlaps the previous tensor" : "leaves a gap", pos - data_start);
            goto out;
        }
        pos += f->t[i].nbytes;
    }
    if (pos != f->len) {
        st = sq_fail(err, SQ_ERR_FORMAT, "%s: %zu bytes of the data buffer belong to no tensor", fn, f->len - pos);
        goto out;
    }
    for (size_t i = 0; i < f->n && st == SQ_OK; i++)
        if (!strmap_put(&f->by_name, f->t[i].name, i))
            st = sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", fn);
    for (size_t i = 0; i < f->n_meta && st == SQ_OK; i++)
        if (!strmap_put(&f->by_key, f->meta_key[i], i))
            st = sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", fn);
out:
    json_decref(root);
    return st;
}

/* Shared open: f->buf/len/fname already set. */
static sq_status st_open(sq_safetensors *f, sq_safetensors **out, sq_error *err)
{
    sq_status st = st_parse(f, err);
    if (st != SQ_OK) {
        sq_st_close(f);
        return st;
    }
    *out = f;
    return SQ_OK;
}

/* Allocate a handle labelled name. */
static sq_safetensors *st_alloc(const char *name)
{
    sq_safetensors *f = calloc(1, sizeof *f);
    if (f && !(f->fname = strdup(name))) {
        free(f);
        f = NULL;
    }
    return f;
}

sq_status sq_st_open_mem(const uint8_t *buf, size_t len, const char *name, sq_safetensors **out, sq_error *err)
{
    *out = NULL;
    sq_safetensors *f = st_alloc(name);
    if (!f)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", name);
    f->buf = buf;
    f->len = len;
    return st_open(f, out, err);
}

sq_status sq_st_open(const char *path, sq_safetensors **out, sq_error *err)
{
    *out = NULL;
    sq_safetensors *f = st_alloc(path);
    if (!f)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    sq_status st = sq_map_file(path, &f->map, err);
    if (st != SQ_OK) {
        sq_st_close(f);
        return st;
    }
    f->buf = f->map.data;
    f->len = f->map.size;
    return st_open(f, out, err);
}

size_t sq_st_count(const sq_safetensors *f) { return f->n; }
const sq_tinfo *sq_st_info(const sq_safetensors *f, size_t i) { return i < f->n ? &f->t[i] : NULL; }
size_t sq_st_metadata_count(const sq_safetensors *f) { return f->n_meta; }
const char *sq_st_metadata_key(const sq_safetensors *f, size_t i) { return i < f->n_meta ? f->meta_key[i] : NULL; }
const char *sq_st_metadata_value(const sq_safetensors *f, size_t i) { return i < f->n_meta ? f->meta_val[i] : NULL; }

const char *sq_st_metadata_get(const sq_safetensors *f, const char *key)
{
    size_t i;
    return strmap_get(&f->by_key, key, &i) ? f->meta_val[i] : NULL;
}

sq_status sq_st_find(const sq_safetensors *f, const char *name, size_t *index, sq_error *err)
{
    if (strmap_get(&f->by_name, name, index))
        return SQ_OK;
    return sq_fail(err, SQ_ERR_NOTFOUND, "%s: no tensor named '%s'", f->fname, name);
}

sq_status sq_st_raw(const sq_safetensors *f, size_t i, const uint8_t **data, size_t *len, sq_error *err)
{
    if (i >= f->n)
        return sq_fail(err, SQ_ERR_ARG, "%s: tensor %zu is out of range 1..%zu", f->fname, i + 1, f->n);
    sq_mapped_prefetch(&f->map, f->t[i].offset, f->t[i].nbytes);
    *data = f->buf + f->t[i].offset;
    *len = f->t[i].nbytes;
    return SQ_OK;
}

void sq_st_raw_release(const sq_safetensors *f, size_t i)
{
    if (i < f->n)
        sq_mapped_release(&f->map, f->t[i].offset, f->t[i].nbytes);
}

void sq_st_prefetch(const sq_safetensors *f, size_t i)
{
    if (i < f->n)
        sq_mapped_prefetch_all(&f->map, f->t[i].offset, f->t[i].nbytes);
}

sq_status sq_st_load(const sq_safetensors *f, size_t i, sq_tensor **out, sq_error *err)
{
    *out = NULL;
    if (i >= f->n)
        return sq_fail(err, SQ_ERR_ARG, "%s: tensor %zu is out of range 1..%zu", f->fname, i + 1, f->n);
    const sq_tinfo *ti = &f->t[i];
    if (!ti->loadable)
        return sq_fail(err, SQ_ERR_UNSUPPORTED, "%s: tensor '%s': dtype %s cannot be loaded as float32", f->fname,
                       ti->name, ti->type_name);
    sq_tensor *t;
    if (sq_tensor_new(ti->shape, ti->ndim, ti->dtype, &t, err) != SQ_OK)
        return sq_error_prefix(err, f->fname);
    sq_mapped_prefetch(&f->map, ti->offset, ti->nbytes);
    sq_decode_elements(ti->dtype, false, f->buf + ti->offset, ti->numel, t->data);
    sq_mapped_release(&f->map, ti->offset, ti->nbytes);
    *out = t;
    return SQ_OK;
}

/* ---- quantized tensors ---------------------------------------------------- */

/* Whether a tensor of format cfg (not INT) keeps float32 scales outside its
 * bytes: fp8/fp4 (per tensor, channel or group) and nf4's absmax without
 * double quantization. */
static bool fmt_has_scales(const sq_qconfig *cfg)
{
    const sq_format_info *fi = sq_format_info_of((int)cfg->format);
    return fi->any_granularity || (cfg->format == SQ_FORMAT_NF4 && !cfg->double_quant);
}

/* The bytes of q->codes and q->aux a tensor of format cfg (valid for the
 * shape, not INT) gets: quant.h's "Formats" layouts. Errors: OVERFLOW. */
static sq_status fmt_sizes(const sq_qconfig *cfg, const size_t *shape, int ndim, size_t numel, size_t *code_bytes,
                           size_t *aux_bytes, sq_error *err)
{
    const sq_format_info *fi = sq_format_info_of((int)cfg->format);
    size_t last = ndim ? shape[ndim - 1] : 1, rows = last ? numel / last : 0, rb = 0;
    *aux_bytes = 0;
    if (fi->any_granularity || cfg->format == SQ_FORMAT_NF4) {
        *code_bytes = fi->bits == 8 ? numel : numel / 2 + numel % 2;
        if (cfg->format == SQ_FORMAT_NF4 && cfg->double_quant) { /* codes, fp32 absmax2 per 256, fp32 offset */
            size_t nabs = numel / cfg->group_size;
            *aux_bytes = nabs + 4 * ((nabs + SQ_NF4_DQ_BLOCK - 1) / SQ_NF4_DQ_BLOCK) + 4;
        }
        return SQ_OK;
    }
    sq_status st = fi->kind == SQ_FORMAT_KIND_BLOCK ? sq_block_row_bytes((sq_block_type)fi->native, last, &rb, err)
                                                    : sq_elemfmt_row_bytes((sq_elemfmt)fi->native, last, &rb, err);
    if (st != SQ_OK)
        return st;
    if (rows && rb > SIZE_MAX / rows)
        return sq_fail(err, SQ_ERR_OVERFLOW, "size overflow");
    *code_bytes = rows * rb;
    return SQ_OK;
}

/* Metadata value squint.<name>.<field>, or NULL. */
static const char *qmeta(const sq_safetensors *f, const char *name, const char *field)
{
    char key[512];
    if ((size_t)snprintf(key, sizeof key, "squint.%s.%s", name, field) >= sizeof key)
        return NULL;
    return sq_st_metadata_get(f, key);
}

bool sq_st_has_qtensor(const sq_safetensors *f, const char *name)
{
    return qmeta(f, name, "bits") != NULL;
}

/* Parse a whole decimal integer in [lo, hi]. */
static bool parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    if (!s || !*s)
        return false;
    long long v = strtoll(s, &end, 10);
    if (*end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* The part tensor <name>.<part> with numel elements; *out NULL when it is
 * absent and optional. */
static sq_status qpart(const sq_safetensors *f, const char *name, const char *part, size_t numel, bool optional,
                       const sq_tinfo **out, sq_error *err)
{
    char key[512];
    size_t i;
    *out = NULL;
    snprintf(key, sizeof key, "%s.%s", name, part);
    if (!strmap_get(&f->by_name, key, &i)) {
        if (optional)
            return SQ_OK;
        return sq_fail(err, SQ_ERR_FORMAT, "%s: quantized tensor '%s' lacks its tensor '%s'", f->fname, name, key);
    }
    if (f->t[i].numel != numel)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: '%s' should have %zu elements (has %zu)", f->fname, key, numel,
                       f->t[i].numel);
    *out = &f->t[i];
    return SQ_OK;
}

/* Little-endian unsigned integer of k bytes. */
static uint64_t rd_le(const uint8_t *p, int k)
{
    uint64_t u = 0;
    for (int b = 0; b < k; b++)
        u |= (uint64_t)p[b] << (8 * b);
    return u;
}

/* Read n values of a F16/F32/F64/I8/I16 part as doubles; false for another dtype. */
static bool read_reals(const sq_tinfo *ti, const uint8_t *p, size_t n, double *out)
{
    const char *dt = ti->type_name;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(dt, "F64") == 0) {
            uint64_t u = rd_le(p + 8 * i, 8);
            memcpy(&out[i], &u, 8);
        } else if (strcmp(dt, "F32") == 0) {
            uint32_t u = (uint32_t)rd_le(p + 4 * i, 4);
            float v;
            memcpy(&v, &u, 4);
            out[i] = v;
        } else if (strcmp(dt, "F16") == 0) {
            out[i] = sq_half_to_float((uint16_t)rd_le(p + 2 * i, 2));
        } else if (strcmp(dt, "I8") == 0) {
            out[i] = (int8_t)p[i];
        } else if (strcmp(dt, "I16") == 0) {
            out[i] = (int16_t)(uint16_t)rd_le(p + 2 * i, 2);
        } else {
            return false;
        }
    }
    return true;
}

/* Parse a finite decimal number; true and *out untouched when s is NULL. */
static bool parse_real_opt(const char *s, double *out)
{
    char *end;
    if (!s)
        return true;
    double v = strtod(s, &end);
    if (!*s || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* The calibration recorded with a quantized tensor (absent: min/max) and its
 * parameter; false when malformed. */
static bool calib_from_meta(const sq_safetensors *f, const char *name, sq_qconfig *cfg)
{
    const char *cal = qmeta(f, name, "calibration");
    return (!cal || sq_calibration_parse(cal, &cfg->calibration)) &&
           parse_real_opt(qmeta(f, name, "percentile"), &cfg->percentile) &&
           parse_real_opt(qmeta(f, name, "clip"), &cfg->clip) &&
           parse_real_opt(qmeta(f, name, "range_lo"), &cfg->range_lo) &&
           parse_real_opt(qmeta(f, name, "range_hi"), &cfg->range_hi);
}

/* Parse the quantization config and shape from the metadata. */
static sq_status qconfig_from_meta(const sq_safetensors *f, const char *name, sq_qconfig *cfg, size_t *shape,
                                   int *ndim, sq_dtype *orig, size_t *n_clipped, sq_error *err)
{
    long long bits, axis, gs, clipped;
    const char *bad = NULL;
    *cfg = sq_qconfig_default();
    const char *zir = qmeta(f, name, "zero_in_range"), *shp = qmeta(f, name, "shape");
    const char *fmt = qmeta(f, name, "format"), *dq = qmeta(f, name, "double_quant");
    if (fmt && !sq_format_parse(fmt, &cfg->format)) /* absent: INT (files before formats) */
        bad = "format";
    else if (dq && strcmp(dq, "true") != 0 && strcmp(dq, "false") != 0)
        bad = "double_quant";
    else if (!parse_int(qmeta(f, name, "bits"), SQ_BITS_MIN, SQ_BITS_MAX, &bits))
        bad = "bits";
    else if (!qmeta(f, name, "mode") || !sq_mode_parse(qmeta(f, name, "mode"), &cfg->mode))
        bad = "mode";
    else if (!qmeta(f, name, "granularity") || !sq_granularity_parse(qmeta(f, name, "granularity"), &cfg->granularity))
        bad = "granularity";
    else if (!parse_int(qmeta(f, name, "axis"), 0, SQ_MAX_DIMS - 1, &axis))
        bad = "axis";
    else if (!parse_int(qmeta(f, name, "group_size"), 1, LLONG_MAX, &gs))
        bad = "group_size";
    else if (!qmeta(f, name, "rounding") || !sq_rounding_parse(qmeta(f, name, "rounding"), &cfg->rounding))
        bad = "rounding";
    else if (!zir || (strcmp(zir, "true") != 0 && strcmp(zir, "false") != 0))
        bad = "zero_in_range";
    else if (!qmeta(f, name, "orig_dtype") || !sq_dtype_parse(qmeta(f, name, "orig_dtype"), orig))
        bad = "orig_dtype";
    else if (!parse_int(qmeta(f, name, "n_clipped"), 0, LLONG_MAX, &clipped))
        bad = "n_clipped";
    else if (!calib_from_meta(f, name, cfg))
        bad = "calibration";
    if (bad)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: quantized tensor '%s': missing or bad metadata squint.%s.%s", f->fname,
                       name, name, bad);
    cfg->bits = (int)bits;
    cfg->axis = (int)axis;
    cfg->group_size = (size_t)gs;
    cfg->zero_in_range = strcmp(zir, "true") == 0;
    cfg->double_quant = dq && strcmp(dq, "true") == 0;
    *n_clipped = (size_t)clipped;
    json_t *js = shp ? json_loads(shp, 0, NULL) : NULL;
    bool ok = json_is_array(js) && json_array_size(js) <= SQ_MAX_DIMS;
    *ndim = ok ? (int)json_array_size(js) : 0;
    for (int d = 0; ok && d < *ndim; d++) {
        uint64_t v = 0;
        ok = json_uint(json_array_get(js, (size_t)d), SIZE_MAX, &v);
        shape[d] = (size_t)v;
    }
    json_decref(js);
    if (!ok)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: quantized tensor '%s': missing or bad metadata squint.%s.shape",
                       f->fname, name, name);
    sq_error e;
    if (sq_qconfig_check(cfg, shape, *ndim, &e) != SQ_OK)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: quantized tensor '%s': %s", f->fname, name, e.msg);
    return SQ_OK;
}

/* The scale store a scales part's dtype stands for; false for another dtype. */
static bool store_of_dtype(const char *dt, sq_scale_store *out)
{
    if (strcmp(dt, "F64") == 0)
        *out = SQ_SCALE_F64;
    else if (strcmp(dt, "F32") == 0)
        *out = SQ_SCALE_F32;
    else if (strcmp(dt, "F16") == 0)
        *out = SQ_SCALE_F16;
    else
        return false;
    return true;
}

/* Scales must be finite and positive; zero points finite, and 0 when symmetric. */
static sq_status check_params(const sq_safetensors *f, const char *name, const sq_qconfig *cfg, const double *sc,
                              const double *zp, size_t n, sq_error *err)
{
    for (size_t k = 0; k < n; k++) {
        if (!(isfinite(sc[k]) && sc[k] > 0.0))
            return sq_fail(err, SQ_ERR_FORMAT, "%s: quantized tensor '%s': scale %zu is %g (scales must be finite and positive)",
                           f->fname, name, k + 1, sc[k]);
        if (!isfinite(zp[k]))
            return sq_fail(err, SQ_ERR_FORMAT, "%s: quantized tensor '%s': zero point %zu is %g (not finite)",
                           f->fname, name, k + 1, zp[k]);
        if (cfg->mode == SQ_MODE_SYMMETRIC && zp[k] != 0.0)
            return sq_fail(err, SQ_ERR_FORMAT, "%s: quantized tensor '%s': zero point %zu is %g but the tensor is symmetric (must be 0)",
                           f->fname, name, k + 1, zp[k]);
    }
    return SQ_OK;
}

/* The parts of a quantized tensor: codes, scales (F16/F32/F64, setting
 * cfg->scale_store) and zero points (NULL when absent; an error when
 * asymmetric). */
static sq_status qparts(const sq_safetensors *f, const char *name, sq_qconfig *cfg, size_t numel, size_t code_bytes,
                        size_t n_scales, const sq_tinfo **tc, const sq_tinfo **ts, const sq_tinfo **tz, sq_error *err)
{
    sq_status st;
    if ((st = qpart(f, name, "codes", cfg->bits == 8 ? numel : code_bytes, false, tc, err)) ||
        (st = qpart(f, name, "scales", n_scales, false, ts, err)) ||
        (st = qpart(f, name, "zero_points", n_scales, cfg->mode == SQ_MODE_SYMMETRIC, tz, err)))
        return st;
    if (strcmp((*tc)->type_name, cfg->bits == 8 ? "I8" : "U8") != 0)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: quantized tensor '%s': '%s.codes' should be %s (is %s)", f->fname, name, name,
                       cfg->bits == 8 ? "I8" : "U8", (*tc)->type_name);
    if (!store_of_dtype((*ts)->type_name, &cfg->scale_store))
        return sq_fail(err, SQ_ERR_FORMAT, "%s: quantized tensor '%s': '%s.scales' should be F16, F32 or F64 (is %s)", f->fname, name, name,
                       (*ts)->type_name);
    const char *zd = *tz ? (*tz)->type_name : "I8";
    if (strcmp(zd, "I8") && strcmp(zd, "I16") && strcmp(zd, "F32") && strcmp(zd, "F64"))
        return sq_fail(err, SQ_ERR_FORMAT, "%s: quantized tensor '%s': '%s.zero_points' should be I8, I16, F32 or F64 (is %s)",
                       f->fname, name, name, zd);
    return SQ_OK;
}

/* A part that must be dtype dt (its element count checked by qpart). */
static sq_status fmt_part(const sq_safetensors *f, const char *name, const char *part, size_t numel, const char *dt,
                          const sq_tinfo **out, sq_error *err)
{
    sq_status st = qpart(f, name, part, numel, false, out, err);
    if (st == SQ_OK && strcmp((*out)->type_name, dt) != 0)
        st = sq_fail(err, SQ_ERR_FORMAT, "%s: quantized tensor '%s': '%s.%s' should be %s (is %s)", f->fname, name, name,
                     part, dt, (*out)->type_name);
    return st;
}

/* sq_st_load_qtensor for a format other than INT: NAME.codes (U8, the
 * format's bytes), NAME.scales (F32, fp8/fp4 scales or nf4 absmax),
 * NAME.aux (U8, nf4 double quantization), NAME.tensor_scale (F32 [1], nvfp4),
 * rebuilt with sq_qtensor_from_format_bytes. */
static sq_status load_fmt_qtensor(const sq_safetensors *f, const char *name, const sq_qconfig *cfg, const size_t *shape,
                                  int ndim, size_t numel, sq_dtype orig, size_t n_clipped, sq_qtensor **out,
                                  sq_error *err)
{
    size_t code_bytes, aux_bytes, n_scales = sq_qconfig_scale_count(cfg, shape, ndim);
    const sq_tinfo *tc, *ts = NULL, *ta = NULL, *tt = NULL;
    sq_error e;
    sq_status st = fmt_sizes(cfg, shape, ndim, numel, &code_bytes, &aux_bytes, &e);
    if (st != SQ_OK)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: quantized tensor '%s': %s", f->fname, name, e.msg);
    if ((st = fmt_part(f, name, "codes", code_bytes, "U8", &tc, err)) != SQ_OK ||
        (fmt_has_scales(cfg) && (st = fmt_part(f, name, "scales", n_scales, "F32", &ts, err)) != SQ_OK) ||
        (aux_bytes && (st = fmt_part(f, name, "aux", aux_bytes, "U8", &ta, err)) != SQ_OK) ||
        (cfg->format == SQ_FORMAT_NVFP4 && (st = fmt_part(f, name, "tensor_scale", 1, "F32", &tt, err)) != SQ_OK))
        return st;
    double *sc = NULL, tscale = 1.0;
    if (ts && !(sc = malloc((n_scales ? n_scales : 1) * sizeof *sc)))
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", f->fname);
    if (ts)
        read_reals(ts, f->buf + ts->offset, n_scales, sc);
    if (tt)
        read_reals(tt, f->buf + tt->offset, 1, &tscale);
    st = sq_qtensor_from_format_bytes(cfg, shape, ndim, orig, f->buf + tc->offset, code_bytes, sc,
                                      ta ? f->buf + ta->offset : NULL, aux_bytes, tscale, out, &e);
    free(sc);
    if (st != SQ_OK)
        return sq_fail(err, st == SQ_ERR_NOMEM ? st : SQ_ERR_FORMAT, "%s: quantized tensor '%s': %s", f->fname, name,
                       e.msg);
    (*out)->n_clipped = n_clipped;
    return SQ_OK;
}

sq_status sq_st_load_qtensor(const sq_safetensors *f, const char *name, sq_qtensor **out, sq_error *err)
{
    sq_qconfig cfg;
    size_t shape[SQ_MAX_DIMS] = {0}, numel, n_clipped = 0, code_bytes;
    int ndim = 0;
    sq_dtype orig;
    sq_status st;
    *out = NULL;
    if (!sq_st_has_qtensor(f, name))
        return sq_fail(err, SQ_ERR_NOTFOUND, "%s: no quantized tensor named '%s'", f->fname, name);
    if ((st = qconfig_from_meta(f, name, &cfg, shape, &ndim, &orig, &n_clipped, err)) != SQ_OK)
        return st;
    if (sq_shape_numel(shape, ndim, &numel, NULL) != SQ_OK || sq_packed_size(numel, cfg.bits, &code_bytes, NULL) != SQ_OK)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: quantized tensor '%s': shape overflows", f->fname, name);
    if (n_clipped > numel)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: quantized tensor '%s': n_clipped %zu exceeds its %zu elements", f->fname,
                       name, n_clipped, numel);
    if (cfg.format != SQ_FORMAT_INT)
        return load_fmt_qtensor(f, name, &cfg, shape, ndim, numel, orig, n_clipped, out, err);
    size_t n_scales = sq_qconfig_scale_count(&cfg, shape, ndim);
    const sq_tinfo *tc, *ts, *tz;
    if ((st = qparts(f, name, &cfg, numel, code_bytes, n_scales, &tc, &ts, &tz, err)) != SQ_OK)
        return st;
    int8_t *codes = malloc(numel ? numel : 1);
    double *sc = malloc((n_scales ? n_scales : 1) * sizeof(double));
    double *zp = calloc(n_scales ? n_scales : 1, sizeof(double));
    if (!codes || !sc || !zp) {
        st = sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", f->fname);
        goto done;
    }
    read_reals(ts, f->buf + ts->offset, n_scales, sc);
    if (tz)
        read_reals(tz, f->buf + tz->offset, n_scales, zp);
    if ((st = check_params(f, name, &cfg, sc, zp, n_scales, err)) != SQ_OK)
        goto done;
    if (cfg.bits == 8)
        memcpy(codes, f->buf + tc->offset, numel);
    else
        sq_unpack_codes(f->buf + tc->offset, 0, numel, cfg.bits, codes);
    sq_error e;
    st = sq_qtensor_from_parts(&cfg, shape, ndim, orig, codes, sc, zp, out, &e);
    if (st != SQ_OK)
        st = sq_fail(err, SQ_ERR_FORMAT, "%s: quantized tensor '%s': %s", f->fname, name, e.msg);
    else
        (*out)->n_clipped = n_clipped;
done:
    free(codes);
    free(sc);
    free(zp);
    return st;
}

/* ---- what a quantized tensor takes in a file ----------------------------------- */

/* Safetensors dtype and element size of scales kept as store. */
static const char *scale_dtype(sq_scale_store store, size_t *size)
{
    *size = store == SQ_SCALE_F16 ? 2 : store == SQ_SCALE_F32 ? 4 : 8;
    return store == SQ_SCALE_F16 ? "F16" : store == SQ_SCALE_F32 ? "F32" : "F64";
}

/* The smallest dtype holding n zero points exactly (sq_zero_point_width). */
static const char *zp_dtype(const double *zp, size_t n, size_t *size)
{
    *size = sq_zero_point_width(zp, n);
    return *size == 1 ? "I8" : *size == 2 ? "I16" : *size == 4 ? "F32" : "F64";
}

/* The store q's scales are written in: q->config.scale_store when every
 * scale is exact in it (as quantize leaves them), else the narrowest of F32
 * and F64 that is (a tensor built from parts with other scales). */
static sq_scale_store exact_store(const sq_qtensor *q)
{
    sq_scale_store s = q->config.scale_store;
    for (size_t k = 0; k < q->n_scales && s != SQ_SCALE_F64; k++) {
        double v = q->scales[k];
        if (s == SQ_SCALE_F16 && (double)sq_half_to_float(sq_float_to_half((float)v)) != v)
            s = SQ_SCALE_F32;
        if (s == SQ_SCALE_F32 && (double)(float)v != v)
            s = SQ_SCALE_F64;
    }
    return s;
}

void sq_st_qtensor_file_bytes(const sq_qtensor *q, size_t *code_bytes, size_t *meta_bytes)
{
    size_t ss, zs = 0;
    if (q->config.format != SQ_FORMAT_INT) { /* the format's bytes; fp32 scales, aux, nvfp4's S */
        *code_bytes = q->code_bytes;
        *meta_bytes = (fmt_has_scales(&q->config) ? 4 * q->n_scales : 0) + q->aux_bytes +
                      (q->config.format == SQ_FORMAT_NVFP4 ? 4 : 0);
        return;
    }
    scale_dtype(exact_store(q), &ss);
    if (q->config.mode == SQ_MODE_ASYMMETRIC)
        zp_dtype(q->zero_points, q->n_scales, &zs);
    *code_bytes = q->code_bytes;
    *meta_bytes = q->n_scales * (ss + zs);
}

sq_status sq_st_qconfig_file_bytes(const sq_qconfig *cfg, const size_t *shape, int ndim, bool largest,
                                   size_t *code_bytes, size_t *meta_bytes, sq_error *err)
{
    size_t numel, ss, zs = 0;
    sq_status st;
    if ((st = sq_qconfig_check(cfg, shape, ndim, err)) != SQ_OK || (st = sq_shape_numel(shape, ndim, &numel, err)) != SQ_OK ||
        (st = sq_packed_size(numel, cfg->bits, code_bytes, err)) != SQ_OK)
        return st;
    size_t n = sq_qconfig_scale_count(cfg, shape, ndim);
    if (cfg->format != SQ_FORMAT_INT) {
        size_t aux;
        if ((st = fmt_sizes(cfg, shape, ndim, numel, code_bytes, &aux, err)) != SQ_OK)
            return st;
        if (n > SIZE_MAX / 16 || *code_bytes > SIZE_MAX - n * 16 - aux - 4)
            return sq_fail(err, SQ_ERR_OVERFLOW, "size overflow");
        *meta_bytes = (fmt_has_scales(cfg) ? 4 * n : 0) + aux + (cfg->format == SQ_FORMAT_NVFP4 ? 4 : 0);
        return SQ_OK;
    }
    scale_dtype(largest && cfg->scale_store == SQ_SCALE_F16 ? SQ_SCALE_F32 : cfg->scale_store, &ss);
    if (cfg->mode == SQ_MODE_ASYMMETRIC)
        zs = largest ? 8 : 1;
    if (n > SIZE_MAX / 16 || *code_bytes > SIZE_MAX - n * 16)
        return sq_fail(err, SQ_ERR_OVERFLOW, "size overflow");
    *meta_bytes = n * (ss + zs);
    return SQ_OK;
}

/* ---- writer ------------------------------------------------------------------ */

typedef struct st_item {
    char *name;
    const char *dtype; /* static (st_dtypes) */
    int ndim;
    size_t shape[SQ_MAX_DIMS];
    uint8_t *bytes;    /* NULL once written (streaming) or for a declaration */
    size_t nbytes;
} st_item;

struct sq_st_writer {
    st_item *items;
    size_t n, cap;
    strmap names;     /* item name -> index */
    json_t *meta;
    bool declared;    /* some item has no bytes (a size-only declaration) */
    sq_afile *af;     /* streaming: the output being written, else NULL */
    char *path;       /* streaming: its path */
    size_t reserve;   /* streaming: header bytes reserved (a multiple of 8) */
};

sq_status sq_st_writer_new(sq_st_writer **out, sq_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out || !((*out)->meta = json_object())) {
        free(*out);
        *out = NULL;
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    }
    return SQ_OK;
}

void sq_st_writer_free(sq_st_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->items[i].name);
        free(w->items[i].bytes);
    }
    free(w->items);
    strmap_free(&w->names);
    json_decref(w->meta);
    sq_afile_abort(w->af);
    free(w->path);
    free(w);
}

/* Whether s is valid UTF-8 (jansson accepts it as a string). */
static bool valid_utf8(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

/* Append an item without bytes after checking its name. */
static sq_status writer_add_item(sq_st_writer *w, const char *name, const char *dtype, const size_t *shape, int ndim,
                                 size_t nbytes, sq_error *err)
{
    size_t dummy;
    if (!*name || strcmp(name, "__metadata__") == 0)
        return sq_fail(err, SQ_ERR_ARG, "invalid tensor name '%s'", name);
    if (!valid_utf8(name))
        return sq_fail(err, SQ_ERR_ARG, "tensor name '%.60s' is not valid UTF-8 (safetensors names are JSON strings)",
                       name);
    if (strmap_get(&w->names, name, &dummy))
        return sq_fail(err, SQ_ERR_ARG, "duplicate tensor name '%s'", name);
    if (w->n == w->cap) {
        size_t nc = w->cap ? 2 * w->cap : 8;
        st_item *ni = realloc(w->items, nc * sizeof *ni);
        if (!ni)
            return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
        w->items = ni;
        w->cap = nc;
    }
    st_item *it = &w->items[w->n];
    memset(it, 0, sizeof *it);
    if (!(it->name = strdup(name)) || !strmap_put(&w->names, it->name, w->n)) {
        free(it->name);
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    }
    it->dtype = dtype;
    it->ndim = ndim;
    memcpy(it->shape, shape, (size_t)ndim * sizeof(size_t));
    it->nbytes = nbytes;
    w->n++;
    return SQ_OK;
}

/* Append n data bytes to the file being streamed. */
static sq_status writer_emit(sq_st_writer *w, const void *p, size_t n, sq_error *err)
{
    return sq_afile_write(w->af, p, n, err);
}

/* Append an item holding bytes (owned, freed on failure too; NULL for a
 * size-only declaration). While streaming the bytes are written at once. */
static sq_status writer_push(sq_st_writer *w, const char *name, const char *dtype, const size_t *shape, int ndim,
                             uint8_t *bytes, size_t nbytes, sq_error *err)
{
    sq_status st = writer_add_item(w, name, dtype, shape, ndim, nbytes, err);
    if (st == SQ_OK && w->af && !bytes)
        st = sq_fail(err, SQ_ERR_ARG, "tensor '%s': a declaration while streaming", name);
    if (st != SQ_OK || w->af) {
        if (st == SQ_OK)
            st = writer_emit(w, bytes, nbytes, err);
        free(bytes);
        return st;
    }
    w->items[w->n - 1].bytes = bytes;
    w->declared = w->declared || !bytes;
    return SQ_OK;
}

sq_status sq_st_writer_add_tensor(sq_st_writer *w, const char *name, const sq_tensor *t, sq_dtype store,
                                  sq_error *err)
{
    const char *dn = (unsigned)store < SQ_DTYPE_COUNT ? st_dtype_name(store) : NULL;
    if (!dn)
        return sq_fail(err, SQ_ERR_ARG, "tensor '%s': invalid store dtype", name);
    size_t n = t->numel * sq_dtype_size(store);
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return sq_fail(err, SQ_ERR_NOMEM, "tensor '%s': out of memory", name);
    if (sq_encode_elements(store, t->data, t->numel, b, err) != SQ_OK) {
        free(b);
        return sq_error_prefix(err, name);
    }
    return writer_push(w, name, dn, t->shape, t->ndim, b, n, err);
}

/* Copy n bytes into a new buffer (NULL on failure). */
static uint8_t *dupbytes(const void *p, size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    if (b && n)
        memcpy(b, p, n);
    return b;
}

sq_status sq_st_writer_add_raw(sq_st_writer *w, const char *name, const char *dtype, const size_t *shape, int ndim,
                               const void *bytes, size_t nbytes, sq_error *err)
{
    int k = st_dtype_index(dtype);
    size_t numel;
    if (k < 0)
        return sq_fail(err, SQ_ERR_ARG, "tensor '%s': unknown safetensors dtype '%.32s'", name, dtype);
    if (sq_shape_numel(shape, ndim, &numel, NULL) != SQ_OK || numel > SIZE_MAX / st_dtypes[k].size ||
        numel * st_dtypes[k].size != nbytes)
        return sq_fail(err, SQ_ERR_ARG, "tensor '%s': %zu bytes do not match its shape and dtype %s", name, nbytes, dtype);
    if (!w->af || !bytes) {
        uint8_t *b = bytes ? dupbytes(bytes, nbytes) : NULL;
        if (bytes && !b)
            return sq_fail(err, SQ_ERR_NOMEM, "tensor '%s': out of memory", name);
        return writer_push(w, name, st_dtypes[k].name, shape, ndim, b, nbytes, err);
    }
    sq_status st = writer_add_item(w, name, st_dtypes[k].name, shape, ndim, nbytes, err);
    return st == SQ_OK ? writer_emit(w, bytes, nbytes, err) : st;
}

/* Little-endian bytes of n scales in dtype dt ("F16", "F32", "F64") or n
 * zero points ("I8", "I16" too); NULL when out of memory. */
static uint8_t *real_bytes(const double *v, size_t n, const char *dt, size_t size)
{
    uint8_t *b = malloc(n ? n * size : 1);
    for (size_t i = 0; b && i < n; i++) {
        uint64_t u;
        if (strcmp(dt, "F64") == 0) {
            memcpy(&u, &v[i], 8);
        } else if (strcmp(dt, "F32") == 0) {
            float x = (float)v[i];
            uint32_t u32;
            memcpy(&u32, &x, 4);
            u = u32;
        } else if (strcmp(dt, "F16") == 0) {
            u = sq_float_to_half((float)v[i]);
        } else if (strcmp(dt, "I16") == 0) {
            u = (uint16_t)(int16_t)v[i];
        } else {
            u = (uint8_t)(int8_t)v[i];
        }
        for (size_t k = 0; k < size; k++)
            b[size * i + k] = (uint8_t)(u >> (8 * k));
    }
    return b;
}

/* What sq_st_writer_add_qtensor stores: q, or (q NULL) the largest a
 * tensor of this config and shape can take. */
typedef struct qdesc {
    const char *name;
    const sq_qconfig *cfg;
    int ndim;
    const size_t *shape;
    size_t numel, code_bytes, n_scales, n_clipped;
    sq_dtype orig;
    const sq_qtensor *q; /* NULL: declaration */
} qdesc;

/* The metadata squint.NAME.* of d. */
static sq_status qtensor_meta(sq_st_writer *w, const qdesc *d, sq_error *err)
{
    char key[512], shape_txt[256];
    const sq_qconfig *c = d->cfg;
    sq_shape_format(d->shape, d->ndim, shape_txt, sizeof shape_txt);
    struct {
        const char *field;
        char value[256];
    } kv[16];
    int n = 0;
#define KV(F, ...) (kv[n].field = (F), snprintf(kv[n].value, sizeof kv[n].value, __VA_ARGS__), n++)
    if (c->format != SQ_FORMAT_INT) /* INT files stay as they were */
        KV("format", "%s", sq_format_name(c->format));
    if (c->format == SQ_FORMAT_NF4)
        KV("double_quant", "%s", c->double_quant ? "true" : "false");
    KV("bits", "%d", c->bits);
    KV("mode", "%s", sq_mode_name(c->mode));
    KV("granularity", "%s", sq_granularity_name(c->granularity));
    KV("axis", "%d", c->axis);
    KV("group_size", "%zu", c->group_size);
    KV("rounding", "%s", sq_rounding_name(c->rounding));
    KV("zero_in_range", "%s", c->zero_in_range ? "true" : "false");
    KV("shape", "%s", shape_txt);
    KV("orig_dtype", "%s", sq_dtype_name(d->orig));
    KV("n_clipped", "%zu", d->n_clipped);
    KV("calibration", "%s", sq_calibration_name(c->calibration)); /* and its parameter: */
    if (c->calibration == SQ_CALIB_PERCENTILE)
        KV("percentile", "%.17g", c->percentile);
    else if (c->calibration == SQ_CALIB_CLIP)
        KV("clip", "%.17g", c->clip);
    else if (c->calibration == SQ_CALIB_RANGE) {
        KV("range_lo", "%.17g", c->range_lo);
        KV("range_hi", "%.17g", c->range_hi);
    }
#undef KV
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "squint.%s.%s", d->name, kv[i].field);
        sq_status st = sq_st_writer_add_metadata(w, key, kv[i].value, err);
        if (st != SQ_OK)
            return st;
    }
    return SQ_OK;
}

/* Push the parts of a format (not INT) tensor d: codes (U8, the format's
 * bytes), scales (F32, when kept outside the bytes), aux (U8, nf4 double
 * quantization), tensor_scale (F32 [1], nvfp4). */
static sq_status qtensor_fmt_parts(sq_st_writer *w, const qdesc *d, sq_error *err)
{
    char key[512];
    const sq_qtensor *q = d->q;
    size_t code_bytes = d->code_bytes, aux_bytes = q ? q->aux_bytes : 0, shp1[1];
    sq_status st;
    if (!q && (st = fmt_sizes(d->cfg, d->shape, d->ndim, d->numel, &code_bytes, &aux_bytes, err)) != SQ_OK)
        return st;
    uint8_t *b = q ? dupbytes(q->codes, code_bytes) : NULL;
    if (q && !b)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    snprintf(key, sizeof key, "%s.codes", d->name);
    shp1[0] = code_bytes;
    if ((st = writer_push(w, key, "U8", shp1, 1, b, code_bytes, err)) != SQ_OK)
        return st;
    if (fmt_has_scales(d->cfg)) {
        b = q ? real_bytes(q->scales, d->n_scales, "F32", 4) : NULL;
        if (q && !b)
            return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
        snprintf(key, sizeof key, "%s.scales", d->name);
        shp1[0] = d->n_scales;
        if ((st = writer_push(w, key, "F32", shp1, 1, b, 4 * d->n_scales, err)) != SQ_OK)
            return st;
    }
    if (aux_bytes) {
        b = q ? dupbytes(q->aux, aux_bytes) : NULL;
        if (q && !b)
            return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
        snprintf(key, sizeof key, "%s.aux", d->name);
        shp1[0] = aux_bytes;
        if ((st = writer_push(w, key, "U8", shp1, 1, b, aux_bytes, err)) != SQ_OK)
            return st;
    }
    if (d->cfg->format != SQ_FORMAT_NVFP4)
        return SQ_OK;
    double ts = q ? q->tensor_scale : 1.0;
    b = q ? real_bytes(&ts, 1, "F32", 4) : NULL;
    if (q && !b)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    snprintf(key, sizeof key, "%s.tensor_scale", d->name);
    shp1[0] = 1;
    return writer_push(w, key, "F32", shp1, 1, b, 4, err);
}

/* Push the parts of d: codes, scales, zero points (asymmetric only). */
static sq_status qtensor_parts(sq_st_writer *w, const qdesc *d, sq_error *err)
{
    char key[512];
    size_t shp1[1], ss, zs;
    const sq_qtensor *q = d->q;
    sq_status st;
    if (d->cfg->format != SQ_FORMAT_INT)
        return qtensor_fmt_parts(w, d, err);
    snprintf(key, sizeof key, "%s.codes", d->name);
    uint8_t *cb = q ? dupbytes(q->codes, q->code_bytes) : NULL;
    if (q && !cb)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    if (d->cfg->bits == 8) {
        for (size_t i = 0; cb && i < d->code_bytes; i++)
            cb[i] ^= 0x80; /* offset binary -> two's complement */
        st = writer_push(w, key, "I8", d->shape, d->ndim, cb, d->code_bytes, err);
    } else {
        shp1[0] = d->code_bytes;
        st = writer_push(w, key, "U8", shp1, 1, cb, d->code_bytes, err);
    }
    if (st != SQ_OK)
        return st;
    shp1[0] = d->n_scales;
    sq_scale_store store = q ? exact_store(q) : d->cfg->scale_store;
    const char *sd = scale_dtype(!q && store == SQ_SCALE_F16 ? SQ_SCALE_F32 : store, &ss);
    snprintf(key, sizeof key, "%s.scales", d->name);
    uint8_t *sb = q ? real_bytes(q->scales, d->n_scales, sd, ss) : NULL;
    if (q && !sb)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    if ((st = writer_push(w, key, sd, shp1, 1, sb, d->n_scales * ss, err)) != SQ_OK || d->cfg->mode == SQ_MODE_SYMMETRIC)
        return st;
    const char *zd = q ? zp_dtype(q->zero_points, d->n_scales, &zs) : (zs = 8, "F64");
    snprintf(key, sizeof key, "%s.zero_points", d->name);
    uint8_t *zb = q ? real_bytes(q->zero_points, d->n_scales, zd, zs) : NULL;
    if (q && !zb)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    return writer_push(w, key, zd, shp1, 1, zb, d->n_scales * zs, err);
}

/* Parts and metadata of d, after checking its name. */
static sq_status qtensor_add(sq_st_writer *w, const qdesc *d, sq_error *err)
{
    char key[512];
    size_t len = strlen(d->name);
    if (len > SQ_ST_MAX_QNAME)
        return sq_fail(err, SQ_ERR_ARG, "quantized tensor name '%.40s...' is %zu bytes long (at most %d)", d->name,
                       len, SQ_ST_MAX_QNAME);
    snprintf(key, sizeof key, "squint.%s.bits", d->name);
    if (json_object_get(w->meta, key))
        return sq_fail(err, SQ_ERR_ARG, "duplicate quantized tensor '%s'", d->name);
    sq_status st = qtensor_parts(w, d, err);
    return st == SQ_OK ? qtensor_meta(w, d, err) : st;
}

sq_status sq_st_writer_add_qtensor(sq_st_writer *w, const char *name, const sq_qtensor *q, sq_error *err)
{
    qdesc d = {name, &q->config, q->ndim, q->shape, q->numel, q->code_bytes, q->n_scales, q->n_clipped,
               q->orig_dtype, q};
    return qtensor_add(w, &d, err);
}

sq_status sq_st_writer_declare_qtensor(sq_st_writer *w, const char *name, const sq_qconfig *cfg, const size_t *shape,
                                       int ndim, sq_dtype orig, sq_error *err)
{
    size_t code, meta, numel;
    sq_status st = sq_st_qconfig_file_bytes(cfg, shape, ndim, true, &code, &meta, err);
    if (st != SQ_OK || (st = sq_shape_numel(shape, ndim, &numel, err)) != SQ_OK)
        return sq_error_prefix(err, name);
    qdesc d = {name, cfg, ndim, shape, numel, code, sq_qconfig_scale_count(cfg, shape, ndim), numel, orig, NULL};
    return qtensor_add(w, &d, err);
}

sq_status sq_st_writer_add_metadata(sq_st_writer *w, const char *key, const char *value, sq_error *err)
{
    if (json_object_get(w->meta, key))
        return sq_fail(err, SQ_ERR_ARG, "duplicate metadata key '%s'", key);
    json_t *s = json_string(value);
    if (!s || json_object_set_new(w->meta, key, s) != 0)
        return sq_fail(err, SQ_ERR_ARG, "metadata '%.60s': not valid UTF-8 or out of memory", key);
    return SQ_OK;
}

/* Build the header JSON text (caller frees). */
static char *writer_header(const sq_st_writer *w)
{
    json_t *root = json_object();
    size_t off = 0;
    bool ok = root != NULL;
    if (ok && json_object_size(w->meta))
        ok = json_object_set(root, "__metadata__", w->meta) == 0;
    for (size_t i = 0; ok && i < w->n; i++) {
        const st_item *it = &w->items[i];
        json_t *e = json_object(), *shape = json_array(),
               *offs = json_pack("[II]", (json_int_t)off, (json_int_t)(off + it->nbytes));
        ok = e && shape && offs;
        for (int d = 0; ok && d < it->ndim; d++)
            ok = json_array_append_new(shape, json_integer((json_int_t)it->shape[d])) == 0;
        if (ok)
            ok = json_object_set_new(e, "dtype", json_string(it->dtype)) == 0 &&
                 json_object_set_new(e, "shape", shape) == 0 && json_object_set_new(e, "data_offsets", offs) == 0;
        else {
            json_decref(shape);
            json_decref(offs);
        }
        if (ok)
            ok = json_object_set_new(root, it->name, e) == 0;
        else
            json_decref(e);
        off += it->nbytes;
    }
    char *txt = ok ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return txt;
}

sq_status sq_st_writer_header_size(const sq_st_writer *w, size_t *bytes, sq_error *err)
{
    char *hdr = writer_header(w);
    if (!hdr)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory building a safetensors header");
    *bytes = strlen(hdr);
    free(hdr);
    return SQ_OK;
}

/* Write the 8-byte length, hdr and space padding up to padded bytes. */
static sq_status write_header(sq_afile *af, const char *hdr, size_t padded, sq_error *err)
{
    static const char spaces[64] = "                                                               ";
    size_t hl = strlen(hdr);
    uint8_t pre[8];
    for (int i = 0; i < 8; i++)
        pre[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    sq_status st = sq_afile_write(af, pre, 8, err);
    if (st == SQ_OK)
        st = sq_afile_write(af, hdr, hl, err);
    for (size_t left = padded - hl; st == SQ_OK && left; left -= left < 64 ? left : 64)
        st = sq_afile_write(af, spaces, left < 64 ? left : 64, err);
    return st;
}

sq_status sq_st_writer_write(const sq_st_writer *w, const char *path, sq_error *err)
{
    if (w->declared || w->af)
        return sq_fail(err, SQ_ERR_ARG, "%s: the writer holds declarations or is streaming", path);
    char *hdr = writer_header(w);
    if (!hdr)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory building the header", path);
    size_t padded = (strlen(hdr) + 7) / 8 * 8;
    sq_afile *af;
    sq_status st = sq_afile_open(path, &af, err);
    if (st == SQ_OK) {
        st = write_header(af, hdr, padded, err);
        for (size_t i = 0; st == SQ_OK && i < w->n; i++)
            st = sq_afile_write(af, w->items[i].bytes, w->items[i].nbytes, err);
        if (st == SQ_OK)
            st = sq_afile_commit(af, err);
        else
            sq_afile_abort(af);
    }
    free(hdr);
    return st;
}

sq_status sq_st_writer_begin(sq_st_writer *w, const char *path, size_t reserve, sq_error *err)
{
    if (w->n || w->af)
        return sq_fail(err, SQ_ERR_ARG, "%s: streaming starts on a writer without tensors", path);
    if (reserve > SQ_ST_MAX_HEADER)
        return sq_fail(err, SQ_ERR_ARG, "%s: a header of %zu bytes exceeds the 100 MB limit", path, reserve);
    if (!(w->path = strdup(path)))
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    w->reserve = (reserve + 7) / 8 * 8;
    sq_status st = sq_afile_open_flags(path, SQ_AFILE_SEEKABLE, &w->af, err);
    if (st == SQ_OK && (st = write_header(w->af, "", w->reserve, err)) != SQ_OK) {
        sq_afile_abort(w->af);
        w->af = NULL;
    }
    return st;
}

sq_status sq_st_writer_finish(sq_st_writer *w, sq_error *err)
{
    if (!w->af)
        return sq_fail(err, SQ_ERR_ARG, "the writer is not streaming");
    sq_afile *af = w->af;
    w->af = NULL;
    char *hdr = writer_header(w);
    sq_status st = SQ_OK;
    if (!hdr)
        st = sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory building the header", w->path);
    else if (strlen(hdr) > w->reserve)
        st = sq_fail(err, SQ_ERR_ARG, "%s: header of %zu bytes exceeds the %zu reserved", w->path, strlen(hdr),
                     w->reserve);
    if (st == SQ_OK && (st = sq_afile_seek(af, 0, err)) == SQ_OK)
        st = write_header(af, hdr, w->reserve, err);
    free(hdr);
    if (st != SQ_OK) {
        sq_afile_abort(af);
        return st;
    }
    return sq_afile_commit(af, err);
}
