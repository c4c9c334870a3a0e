/* shard.c - a sharded safetensors checkpoint (index JSON + shard files) as one. */
#include "shard.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "safetensors.h"

struct sq_shards {
    char *fname;             /* the index's path */
    size_t n_files;
    char **names;            /* shard names as the index gives them, sorted */
    char **paths;            /* the same resolved against the index's directory */
    sq_safetensors **files;
    size_t n;
    const sq_tinfo **ti;     /* tensor i: info owned by its shard handle */
    size_t *file_of, *local; /* its shard and index inside that shard */
    size_t n_meta;
    char **mkey, **mtype, **mval;
};

void sq_shards_close(sq_shards *s)
{
    if (!s)
        return;
    for (size_t k = 0; k < s->n_files; k++) {
        free(s->names[k]);
        if (s->paths)
            free(s->paths[k]);
        if (s->files)
            sq_st_close(s->files[k]);
    }
    for (size_t i = 0; i < s->n_meta; i++) {
        free(s->mkey[i]);
        free(s->mtype[i]);
        free(s->mval[i]);
    }
    free(s->names);
    free(s->paths);
    free(s->files);
    free((void *)s->ti);
    free(s->file_of);
    free(s->local);
    free(s->mkey);
    free(s->mtype);
    free(s->mval);
    free(s->fname);
    free(s);
}

/* Whether a shard name stays inside the index's directory. */
static bool safe_name(const char *name)
{
    if (!*name || name[0] == '/')
        return false;
    for (const char *p = name; *p;) {
        size_t k = strcspn(p, "/");
        if (k == 2 && p[0] == '.' && p[1] == '.')
            return false;
        p += k + (p[k] == '/');
    }
    return true;
}

/* Index of shard name in s->names, or s->n_files. */
static size_t shard_of(const sq_shards *s, const char *name)
{
    size_t k = 0;
    while (k < s->n_files && strcmp(s->names[k], name) != 0)
        k++;
    return k;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Gather the distinct shard names of the weight map, sorted. */
static sq_status collect_names(sq_shards *s, json_t *wm, sq_error *err)
{
    size_t cap = json_object_size(wm) ? json_object_size(wm) : 1;
    if (!(s->names = calloc(cap, sizeof *s->names)))
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", s->fname);
    const char *key;
    json_t *v;
    json_object_foreach(wm, key, v) {
        if (!json_is_string(v))
            return sq_fail(err, SQ_ERR_FORMAT, "%s: weight_map entry '%s' is not a file name", s->fname, key);
        const char *name = json_string_value(v);
        if (!safe_name(name))
            return sq_fail(err, SQ_ERR_FORMAT, "%s: weight_map entry '%s': shard '%s' is outside the index's directory",
                           s->fname, key, name);
        if (shard_of(s, name) < s->n_files)
            continue;
        if (!(s->names[s->n_files] = strdup(name)))
            return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", s->fname);
        s->n_files++;
    }
    qsort(s->names, s->n_files, sizeof *s->names, cmp_str);
    return SQ_OK;
}

/* Open every shard, resolved against the index's directory. */
static sq_status open_shards(sq_shards *s, sq_error *err)
{
    const char *slash = strrchr(s->fname, '/');
    size_t dl = slash ? (size_t)(slash - s->fname) + 1 : 0;
    size_t n = s->n_files ? s->n_files : 1;
    if (!(s->paths = calloc(n, sizeof *s->paths)) || !(s->files = calloc(n, sizeof *s->files)))
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", s->fname);
    for (size_t k = 0; k < s->n_files; k++) {
        size_t nl = strlen(s->names[k]);
        if (!(s->paths[k] = malloc(dl + nl + 1)))
            return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", s->fname);
        memcpy(s->paths[k], s->fname, dl);
        memcpy(s->paths[k] + dl, s->names[k], nl + 1);
        sq_error e;
        sq_status st = sq_st_open(s->paths[k], &s->files[k], &e);
        if (st != SQ_OK)
            return sq_fail(err, st, "%s: shard '%s' named by the index: %s", s->fname, s->names[k], e.msg);
    }
    return SQ_OK;
}

/* The weight-map tensor missing from its shard (called when one is). */
static sq_status report_missing(const sq_shards *s, json_t *wm, sq_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(wm, key, v) {
        size_t k = shard_of(s, json_string_value(v)), i;
        if (sq_st_find(s->files[k], key, &i, NULL) != SQ_OK)
            return sq_fail(err, SQ_ERR_FORMAT, "%s: tensor '%s' is not in shard '%s'", s->fname, key, s->names[k]);
    }
    return sq_fail(err, SQ_ERR_FORMAT, "%s: the shards do not hold the tensors the index names", s->fname);
}

/* List the mapped tensors shard by shard, in each shard's data order. */
static sq_status list_tensors(sq_shards *s, json_t *wm, sq_error *err)
{
    size_t n = json_object_size(wm) ? json_object_size(wm) : 1;
    s->ti = calloc(n, sizeof *s->ti);
    s->file_of = calloc(n, sizeof *s->file_of);
    s->local = calloc(n, sizeof *s->local);
    if (!s->ti || !s->file_of || !s->local)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", s->fname);
    for (size_t k = 0; k < s->n_files; k++) {
        for (size_t j = 0; j < sq_st_count(s->files[k]); j++) {
            const sq_tinfo *ti = sq_st_info(s->files[k], j);
            json_t *v = json_object_get(wm, ti->name);
            if (!v || strcmp(json_string_value(v), s->names[k]) != 0)
                continue;
            s->ti[s->n] = ti;
            s->file_of[s->n] = k;
            s->local[s->n++] = j;
        }
    }
    return s->n == json_object_size(wm) ? SQ_OK : report_missing(s, wm, err);
}

/* Append one metadata entry (copies of the strings). */
static sq_status add_meta(sq_shards *s, const char *key, const char *type, const char *value, sq_error *err)
{
    size_t i = s->n_meta;
    s->mkey[i] = strdup(key);
    s->mtype[i] = strdup(type);
    s->mval[i] = strdup(value);
    s->n_meta++;
    if (!s->mkey[i] || !s->mtype[i] || !s->mval[i])
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", s->fname);
    return SQ_OK;
}

/* Whether key is among the metadata keys gathered so far. */
static bool have_key(const sq_shards *s, const char *key)
{
    for (size_t i = 0; i < s->n_meta; i++)
        if (strcmp(s->mkey[i], key) == 0)
            return true;
    return false;
}

/* One entry of the index's "metadata" object. */
static sq_status index_meta(sq_shards *s, const char *key, json_t *v, sq_error *err)
{
    if (json_is_string(v))
        return add_meta(s, key, "string", json_string_value(v), err);
    char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!txt)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", s->fname);
    sq_status st = add_meta(s, key, "json", txt, err);
    free(txt);
    return st;
}

/* The index's metadata, then the shards' __metadata__ (first of each key). */
static sq_status gather_meta(sq_shards *s, json_t *meta, sq_error *err)
{
    size_t cap = json_is_object(meta) ? json_object_size(meta) : 0;
    for (size_t k = 0; k < s->n_files; k++)
        cap += sq_st_metadata_count(s->files[k]);
    cap = cap ? cap : 1;
    s->mkey = calloc(cap, sizeof *s->mkey);
    s->mtype = calloc(cap, sizeof *s->mtype);
    s->mval = calloc(cap, sizeof *s->mval);
    if (!s->mkey || !s->mtype || !s->mval)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", s->fname);
    sq_status st = SQ_OK;
    const char *key;
    json_t *v;
    if (json_is_object(meta)) {
        json_object_foreach(meta, key, v) {
            if (st == SQ_OK)
                st = index_meta(s, key, v, err);
        }
    }
    for (size_t k = 0; k < s->n_files && st == SQ_OK; k++) {
        for (size_t i = 0; i < sq_st_metadata_count(s->files[k]) && st == SQ_OK; i++) {
            const char *mk = sq_st_metadata_key(s->files[k], i);
            if (!have_key(s, mk))
                st = add_meta(s, mk, "string", sq_st_metadata_value(s->files[k], i), err);
        }
    }
    return st;
}

/* Parse the index JSON (root) into s: shards, tensors, metadata. */
static sq_status build(sq_shards *s, json_t *root, sq_error *err)
{
    sq_status st;
    json_t *wm = json_is_object(root) ? json_object_get(root, "weight_map") : NULL;
    if (!json_is_object(wm))
        return sq_fail(err, SQ_ERR_FORMAT, "%s: no \"weight_map\" object: not a sharded safetensors index", s->fname);
    if ((st = collect_names(s, wm, err)) != SQ_OK || (st = open_shards(s, err)) != SQ_OK ||
        (st = list_tensors(s, wm, err)) != SQ_OK)
        return st;
    return gather_meta(s, json_object_get(root, "metadata"), err);
}

sq_status sq_shards_open(const char *path, sq_shards **out, sq_error *err)
{
    *out = NULL;
    sq_shards *s = calloc(1, sizeof *s);
    if (!s || !(s->fname = strdup(path))) {
        free(s);
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    }
    sq_mapped m;
    sq_status st = sq_map_file(path, &m, err);
    if (st != SQ_OK) {
        sq_shards_close(s);
        return st;
    }
    json_error_t je;
    json_t *root = m.size ? json_loadb((const char *)m.data, m.size, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!root)
        st = sq_fail(err, SQ_ERR_FORMAT, "%s: not valid JSON%s%s", path, m.size ? ": " : "", m.size ? je.text : "");
    else
        st = build(s, root, err);
    json_decref(root);
    sq_unmap_file(&m);
    if (st != SQ_OK) {
        sq_shards_close(s);
        return st;
    }
    *out = s;
    return SQ_OK;
}

size_t sq_shards_file_count(const sq_shards *s) { return s->n_files; }
const char *sq_shards_file(const sq_shards *s, size_t k) { return k < s->n_files ? s->paths[k] : NULL; }
size_t sq_shards_count(const sq_shards *s) { return s->n; }
const sq_tinfo *sq_shards_info(const sq_shards *s, size_t i) { return i < s->n ? s->ti[i] : NULL; }
size_t sq_shards_metadata_count(const sq_shards *s) { return s->n_meta; }

sq_status sq_shards_find(const sq_shards *s, const char *name, size_t *index, sq_error *err)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->ti[i]->name, name) == 0) {
            *index = i;
            return SQ_OK;
        }
    }
    return sq_fail(err, SQ_ERR_NOTFOUND, "%s: no tensor named '%s'", s->fname, name);
}

bool sq_shards_metadata(const sq_shards *s, size_t i, const char **key, const char **type, const char **value)
{
    if (i >= s->n_meta)
        return false;
    *key = s->mkey[i];
    *type = s->mtype[i];
    *value = s->mval[i];
    return true;
}

sq_status sq_shards_load(const sq_shards *s, size_t i, sq_tensor **out, sq_error *err)
{
    *out = NULL;
    if (i >= s->n)
        return sq_fail(err, SQ_ERR_ARG, "%s: tensor %zu is out of range 1..%zu", s->fname, i + 1, s->n);
    return sq_st_load(s->files[s->file_of[i]], s->local[i], out, err);
}

const sq_safetensors *sq_shards_tensor_file(const sq_shards *s, size_t i, size_t *local)
{
    if (i >= s->n)
        return NULL;
    *local = s->local[i];
    return s->files[s->file_of[i]];
}

/* The shard holding name.codes, or NULL. */
static const sq_safetensors *qtensor_shard(const sq_shards *s, const char *name)
{
    char codes[1024];
    size_t i;
    if ((size_t)snprintf(codes, sizeof codes, "%s.codes", name) >= sizeof codes)
        return NULL;
    return sq_shards_find(s, codes, &i, NULL) == SQ_OK ? s->files[s->file_of[i]] : NULL;
}

bool sq_shards_has_qtensor(const sq_shards *s, const char *name)
{
    const sq_safetensors *f = qtensor_shard(s, name);
    return f && sq_st_has_qtensor(f, name);
}

sq_status sq_shards_load_qtensor(const sq_shards *s, const char *name, sq_qtensor **out, sq_error *err)
{
    *out = NULL;
    const sq_safetensors *f = qtensor_shard(s, name);
    if (!f)
        return sq_fail(err, SQ_ERR_NOTFOUND, "%s: no quantized tensor named '%s'", s->fname, name);
    return sq_st_load_qtensor(f, name, out, err);
}
