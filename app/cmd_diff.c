/* cmd_diff.c - `squint diff REF OTHER [--map FILE.lua] [--csv OUT|-]
 * [--json OUT|-]`: the error of every tensor of OTHER against the tensor of
 * the same name in REF, a pooled total, and the names found on one side.
 *
 * The map. FILE.lua runs in a Lua state with the squint module as `sq` and
 * returns either a function name(NAME, META) -> new name (nil or false
 * drops the tensor), applied to OTHER's names, or a table {name = that
 * function, tensor = function(NEW_NAME, T, META, NAME) -> tensor} whose
 * tensor function transforms each of OTHER's tensors before the comparison
 * (a permutation, a transpose). META is OTHER's metadata, {key = value as
 * text}. */
#include "cmd_diff.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "checkpoint.h"
#include "cmd_report.h"
#include "diff.h"
#include "fileio.h"
#include "lsquint.h"
#include "lsquint_int.h"
#include "textesc.h"

/* One logical tensor of a checkpoint: a stored tensor, or a squint-quantized
 * one (its .codes/.scales/.zero_points parts) under its own name. */
typedef struct dentry {
    const char *name;  /* owned by the checkpoint, or by `own` */
    char *own;         /* a quantized tensor's name (owned) */
    char *mapped;      /* OTHER: the name after the map (owned); NULL = dropped */
    size_t index;      /* stored tensor's index */
    bool quantized;
    bool matched;
} dentry;

typedef enum { ROW_OK = 0, ROW_SHAPE, ROW_FAILED } row_status;

typedef struct drow {
    const char *name, *other_name;
    char shape[96], other_shape[96];
    char type[16], other_type[16];
    row_status status;
    char *note; /* owned */
    sq_diff d;
} drow;

typedef struct dstate {
    const char *ref_path, *other_path, *map_path, *csv, *json;
    sq_checkpoint *ref, *other;
    dentry *re, *oe;
    size_t nre, noe;
    dentry **sorted; /* OTHER's mapped entries by name */
    size_t nsorted;
    drow *rows;
    size_t nrows;
    lua_State *L; /* the map's state (NULL without --map) */
    int name_fn, tensor_fn, meta; /* registry references (LUA_NOREF when absent) */
    sq_diff total;
    size_t failed, dropped;
} dstate;

/* Where the human-readable table goes: standard output, or standard error
 * when a --csv/--json output is standard output (so that stays pure data). */
static FILE *tbl_out;

static const char *const row_status_name[] = {"ok", "shape", "failed"};

/* Usage error on stderr, status 2. */
static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "squint diff: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see `squint diff --help`)\n");
    return 2;
}

/* Parse argv into s; 0 or the usage status. */
static int parse(int argc, char **argv, dstate *s)
{
    const char *pos[2];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--map") == 0 ? &s->map_path
                            : strcmp(a, "--csv") == 0 ? &s->csv
                            : strcmp(a, "--json") == 0 ? &s->json
                                                       : NULL;
        if (slot) {
            if (i + 1 >= argc)
                return usage("%s needs a value", a);
            *slot = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage("unknown option '%s'", a);
        } else if (npos == 2) {
            return usage("one REF and one OTHER checkpoint, not also '%s'", a);
        } else {
            pos[npos++] = a;
        }
    }
    if (npos < 2)
        return usage("%s", npos == 0 ? "missing REF and OTHER arguments" : "missing OTHER argument");
    s->ref_path = pos[0];
    s->other_path = pos[1];
    return 0;
}

/* Print "squint diff: MSG"; 2 for ARG, else 1. */
static int fail_msg(sq_status st, const sq_error *err)
{
    fprintf(stderr, "squint diff: %s\n", err->msg);
    return st == SQ_ERR_ARG ? 2 : 1;
}

/* Inputs readable, outputs nameable and none of them an input. */
static int check_paths(const dstate *s)
{
    sq_error err;
    sq_status st;
    const char *in[3] = {s->ref_path, s->other_path, s->map_path};
    for (int i = 0; i < 3; i++)
        if (in[i] && (st = sq_input_check(in[i], &err)) != SQ_OK)
            return fail_msg(st, &err);
    if (s->csv && (st = sq_output_check(s->csv, in, s->map_path ? 3 : 2, ".csv", true, &err)) != SQ_OK)
        return fail_msg(st, &err);
    if (s->json && (st = sq_output_check(s->json, in, s->map_path ? 3 : 2, ".json", true, &err)) != SQ_OK)
        return fail_msg(st, &err);
    if (s->csv && s->json && strcmp(s->csv, "-") != 0 && strcmp(s->csv, s->json) == 0) {
        fprintf(stderr, "squint diff: --csv and --json both name %s\n", s->csv);
        return 2;
    }
    return 0;
}

/* Whether name ends with suf. */
static bool ends_with(const char *name, const char *suf)
{
    size_t n = strlen(name), k = strlen(suf);
    return n >= k && strcmp(name + n - k, suf) == 0;
}

/* Whether name is a part of a squint-quantized tensor of ck. */
static bool is_qpart(const sq_checkpoint *ck, const char *name)
{
    static const char *const parts[] = {".codes", ".scales", ".zero_points"};
    for (int p = 0; p < 3; p++)
        if (ends_with(name, parts[p])) {
            size_t n = strlen(name) - strlen(parts[p]);
            char *base = strndup(name, n);
            bool q = base && sq_ckpt_has_qtensor(ck, base);
            free(base);
            if (q)
                return true;
        }
    return false;
}

/* Free n entries and the array. */
static void free_entries(dentry *e, size_t n)
{
    for (size_t i = 0; e && i < n; i++) {
        free(e[i].own);
        free(e[i].mapped);
    }
    free(e);
}

/* The logical tensors of ck into *out (*n of them). */
static int list_entries(const sq_checkpoint *ck, dentry **out, size_t *n)
{
    size_t cnt = sq_ckpt_count(ck), k = 0;
    dentry *e = calloc(cnt + 1, sizeof *e);
    if (!e)
        return -1;
    for (size_t i = 0; i < cnt; i++) {
        const char *name = sq_ckpt_info(ck, i)->name;
        if (!is_qpart(ck, name)) {
            e[k].name = name;
            e[k++].index = i;
        } else if (ends_with(name, ".codes")) {
            e[k].own = strndup(name, strlen(name) - strlen(".codes"));
            if (!e[k].own)
                return free_entries(e, k), -1;
            e[k].name = e[k].own;
            e[k].quantized = true;
            e[k++].index = i;
        }
    }
    *out = e;
    *n = k;
    return 0;
}

/* ---- the map ------------------------------------------------------------------- */

/* Message handler: the error with a traceback. */
static int msgh(lua_State *L)
{
    const char *m = lua_tostring(L, 1);
    luaL_traceback(L, L, m ? m : "(error object is not a string)", 1);
    return 1;
}

/* Run the map file and keep its functions and OTHER's metadata table. */
static int map_open(dstate *s)
{
    lua_State *L = s->L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "squint diff: out of memory for Lua\n");
        return 1;
    }
    luaL_openlibs(L);
    luaL_requiref(L, "squint", luaopen_squint, 0);
    lua_setglobal(L, "sq");
    lua_pushcfunction(L, msgh);
    if (luaL_loadfile(L, s->map_path) != LUA_OK || lua_pcall(L, 0, 1, 1) != LUA_OK) {
        fprintf(stderr, "squint diff: --map %s: %s\n", s->map_path, lua_tostring(L, -1));
        return 1;
    }
    s->name_fn = s->tensor_fn = LUA_NOREF;
    if (lua_isfunction(L, -1)) {
        s->name_fn = luaL_ref(L, LUA_REGISTRYINDEX);
    } else if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "tensor");
        s->tensor_fn = lua_isfunction(L, -1) ? luaL_ref(L, LUA_REGISTRYINDEX) : (lua_pop(L, 1), LUA_NOREF);
        lua_getfield(L, -1, "name");
        s->name_fn = lua_isfunction(L, -1) ? luaL_ref(L, LUA_REGISTRYINDEX) : (lua_pop(L, 1), LUA_NOREF);
        lua_pop(L, 1);
    } else {
        fprintf(stderr, "squint diff: --map %s: the file must return a function or a table {name = function, "
                        "tensor = function}, not a %s\n", s->map_path, luaL_typename(L, -1));
        return 1;
    }
    lua_newtable(L);
    for (size_t i = 0; i < sq_ckpt_metadata_count(s->other); i++) {
        const char *k, *t, *v;
        if (sq_ckpt_metadata(s->other, i, &k, &t, &v)) {
            lua_pushstring(L, v);
            lua_setfield(L, -2, k);
        }
    }
    s->meta = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_settop(L, 1); /* the message handler stays at 1 */
    return 0;
}

/* OTHER's names through the map's name function (a copy without one). */
static int map_names(dstate *s)
{
    lua_State *L = s->L;
    for (size_t i = 0; i < s->noe; i++) {
        dentry *e = &s->oe[i];
        if (!L || s->name_fn == LUA_NOREF) {
            if (!(e->mapped = strdup(e->name)))
                return fprintf(stderr, "squint diff: out of memory\n"), 1;
            continue;
        }
        lua_rawgeti(L, LUA_REGISTRYINDEX, s->name_fn);
        lua_pushstring(L, e->name);
        lua_rawgeti(L, LUA_REGISTRYINDEX, s->meta);
        if (lua_pcall(L, 2, 1, 1) != LUA_OK) {
            fprintf(stderr, "squint diff: --map %s: name %s: %s\n", s->map_path, e->name, lua_tostring(L, -1));
            return 1;
        }
        if (lua_type(L, -1) == LUA_TSTRING) {
            if (!(e->mapped = strdup(lua_tostring(L, -1))))
                return fprintf(stderr, "squint diff: out of memory\n"), 1;
        } else if (lua_toboolean(L, -1)) {
            fprintf(stderr, "squint diff: --map %s: the name function returned a %s for %s (a string or nil "
                            "expected)\n", s->map_path, luaL_typename(L, -1), e->name);
            return 1;
        } else {
            s->dropped++;
        }
        lua_settop(L, 1);
    }
    return 0;
}

/* Transform OTHER's tensor *t (new name, old name) with the map's tensor
 * function: on success *t is replaced by the function's result. */
static sq_status map_tensor(dstate *s, const dentry *e, sq_tensor **t, sq_error *err)
{
    lua_State *L = s->L;
    if (!L || s->tensor_fn == LUA_NOREF)
        return SQ_OK;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->tensor_fn);
    lua_pushstring(L, e->mapped);
    lsq_tensor *box = lsq_new_tensor(L);
    box->t = *t; /* Lua owns it from now on */
    *t = NULL;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->meta);
    lua_pushstring(L, e->name);
    sq_status st = SQ_OK;
    if (lua_pcall(L, 4, 1, 1) != LUA_OK) {
        const char *m = lua_tostring(L, -1), *tb = m ? strstr(m, "\nstack traceback:") : NULL;
        st = sq_fail(err, SQ_ERR_ARG, "the map's tensor function failed: %.*s", tb ? (int)(tb - m) : 300,
                     m ? m : "(error object is not a string)");
    } else {
        lsq_tensor *r = luaL_testudata(L, -1, SQ_LUA_TENSOR);
        if (!r || !r->t)
            st = sq_fail(err, SQ_ERR_ARG, "the map's tensor function returned a %s, not a tensor",
                         luaL_typename(L, -1));
        else
            st = sq_tensor_clone(r->t, t, err);
    }
    lua_settop(L, 1);
    lua_gc(L, LUA_GCCOLLECT);
    return st;
}

/* ---- comparing --------------------------------------------------------------------- */

/* Load entry e of ck as float32 (quantized tensors dequantized). */
static sq_status load_entry(const sq_checkpoint *ck, const dentry *e, sq_tensor **t, sq_error *err)
{
    if (!e->quantized)
        return sq_ckpt_load(ck, e->index, t, err);
    sq_qtensor *q;
    sq_status st = sq_ckpt_load_qtensor(ck, e->name, &q, err);
    if (st != SQ_OK)
        return st;
    st = sq_dequantize(q, t, err);
    sq_qtensor_free(q);
    return st;
}

/* The type label of e. */
static void type_label(const sq_checkpoint *ck, const dentry *e, char *buf, size_t n)
{
    snprintf(buf, n, "%s", e->quantized ? "squint" : sq_ckpt_info(ck, e->index)->type_name);
}

/* Compare one pair into row r. */
static void compare_pair(dstate *s, const dentry *re, dentry *oe, drow *r)
{
    sq_tensor *a = NULL, *b = NULL;
    sq_error err;
    sq_status st;
    r->name = re->name;
    r->other_name = oe->name;
    type_label(s->ref, re, r->type, sizeof r->type);
    type_label(s->other, oe, r->other_type, sizeof r->other_type);
    if ((st = load_entry(s->ref, re, &a, &err)) != SQ_OK)
        sq_error_prefix(&err, s->ref_path);
    else if ((st = load_entry(s->other, oe, &b, &err)) != SQ_OK)
        sq_error_prefix(&err, s->other_path);
    else
        st = map_tensor(s, oe, &b, &err);
    if (a)
        sq_shape_format(a->shape, a->ndim, r->shape, sizeof r->shape);
    if (b)
        sq_shape_format(b->shape, b->ndim, r->other_shape, sizeof r->other_shape);
    if (st == SQ_OK)
        st = sq_diff_stats(a, b, NULL, &r->d, NULL, &err);
    if (st != SQ_OK) {
        bool shape = a && b && (a->ndim != b->ndim || memcmp(a->shape, b->shape, sizeof a->shape) != 0);
        r->status = shape ? ROW_SHAPE : ROW_FAILED;
        r->note = strdup(err.msg);
        r->d.sqnr_db = r->d.rmse = r->d.max_abs_err = r->d.mean_abs_err = NAN;
        r->d.median_abs_err = r->d.p95_abs_err = r->d.cosine = NAN;
        r->d.numel = a ? a->numel : 0;
        s->failed++;
    }
    sq_tensor_free(a);
    sq_tensor_free(b);
}

/* qsort / bsearch order of OTHER's entries by mapped name (dropped ones last). */
static int by_mapped(const void *a, const void *b)
{
    const dentry *x = *(const dentry *const *)a, *y = *(const dentry *const *)b;
    if (!x->mapped || !y->mapped)
        return (x->mapped == NULL) - (y->mapped == NULL);
    return strcmp(x->mapped, y->mapped);
}

/* OTHER's entries sorted by mapped name into s->sorted (the dropped ones
 * left out); two mapped to one name are an error of the map. */
static int sort_other(dstate *s)
{
    s->sorted = calloc(s->noe + 1, sizeof *s->sorted);
    if (!s->sorted)
        return fprintf(stderr, "squint diff: out of memory\n"), 1;
    for (size_t i = 0; i < s->noe; i++)
        s->sorted[i] = &s->oe[i];
    qsort(s->sorted, s->noe, sizeof *s->sorted, by_mapped);
    s->nsorted = s->noe - s->dropped;
    for (size_t i = 1; i < s->nsorted; i++)
        if (strcmp(s->sorted[i - 1]->mapped, s->sorted[i]->mapped) == 0) {
            fprintf(stderr, "squint diff: %s and %s of %s both map to %s\n", s->sorted[i - 1]->name,
                    s->sorted[i]->name, s->other_path, s->sorted[i]->mapped);
            return 1;
        }
    return 0;
}

/* Entry of OTHER whose mapped name is name; NULL if none. */
static dentry *find_other(dstate *s, const char *name)
{
    dentry key = {.mapped = (char *)name}, *kp = &key;
    dentry **hit = s->nsorted ? bsearch(&kp, s->sorted, s->nsorted, sizeof *s->sorted, by_mapped) : NULL;
    return hit ? *hit : NULL;
}

/* Compare every matched pair, REF's order; 130 when interrupted. */
static int run_pairs(dstate *s)
{
    double sx = 0, se = 0, mx = 0;
    size_t numel = 0;
    s->rows = calloc(s->nre + 1, sizeof *s->rows);
    if (!s->rows)
        return fprintf(stderr, "squint diff: out of memory\n"), 1;
    for (size_t i = 0; i < s->nre; i++) {
        if (sq_cmd_interrupted)
            return 130;
        dentry *o = find_other(s, s->re[i].name);
        if (!o || o->matched) /* REF holding one name twice (a malformed file): the second is unmatched */
            continue;
        o->matched = s->re[i].matched = true;
        drow *r = &s->rows[s->nrows++];
        compare_pair(s, &s->re[i], o, r);
        if (r->status == ROW_OK) {
            sx += r->d.sum_x2;
            se += r->d.sum_e2;
            numel += r->d.numel;
            mx = fmax(mx, r->d.max_abs_err);
        }
    }
    sq_diff_pooled(numel, sx, se, mx, &s->total);
    return 0;
}

/* ---- output ----------------------------------------------------------------------- */

/* A figure in w columns: "-" for NaN, "inf" for infinity. */
static void put_num(const char *fmt, double v, int w)
{
    char b[40];
    if (isnan(v))
        snprintf(b, sizeof b, "-");
    else if (isinf(v))
        snprintf(b, sizeof b, v > 0 ? "inf" : "-inf");
    else
        snprintf(b, sizeof b, fmt, v);
    fprintf(tbl_out, " %*s", w, b);
}

static size_t count_unmatched(const dentry *e, size_t n, bool need_mapped)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += !e[i].matched && (!need_mapped || e[i].mapped);
    return k;
}

static void print_table(const dstate *s)
{
    char name[512];
    int nw = 24, sw = 5;
    for (size_t i = 0; i < s->nrows; i++) {
        int l = (int)sq_escape_text(name, sizeof name, s->rows[i].name);
        nw = l > nw ? (l > 60 ? 60 : l) : nw;
        l = (int)strlen(s->rows[i].shape);
        sw = l > sw ? l : sw;
    }
    fprintf(tbl_out, "%-*s %-*s %-6s %-6s %8s %8s %8s %8s %8s %9s\n", nw, "name", sw, "shape", "ref", "other", "SQNR dB", "RMSE",
           "max|e|", "p50|e|", "p95|e|", "cosine");
    for (size_t i = 0; i < s->nrows; i++) {
        const drow *r = &s->rows[i];
        sq_escape_text(name, sizeof name, r->name);
        fprintf(tbl_out, "%-*s %-*s %-6s %-6s", nw, name, sw, r->shape, r->type, r->other_type);
        put_num("%.2f", r->d.sqnr_db, 8);
        put_num("%.2e", r->d.rmse, 8);
        put_num("%.2e", r->d.max_abs_err, 8);
        put_num("%.2e", r->d.median_abs_err, 8);
        put_num("%.2e", r->d.p95_abs_err, 8);
        put_num("%.6f", r->d.cosine, 9);
        if (r->status != ROW_OK)
            fprintf(tbl_out, "  %s", row_status_name[r->status]);
        fputc('\n', tbl_out);
    }
    char cnt[64];
    snprintf(cnt, sizeof cnt, "TOTAL (%zu compared)", s->nrows - s->failed);
    fprintf(tbl_out, "%-*s %-*s %-6s %-6s", nw, cnt, sw, "", "", "");
    put_num("%.2f", s->total.sqnr_db, 8);
    put_num("%.2e", s->total.rmse, 8);
    put_num("%.2e", s->total.max_abs_err, 8);
    fprintf(tbl_out, "\n%zu matched, %zu failed, %zu only in %s, %zu only in %s", s->nrows, s->failed,
           count_unmatched(s->re, s->nre, false), s->ref_path, count_unmatched(s->oe, s->noe, true), s->other_path);
    if (s->dropped)
        fprintf(tbl_out, ", %zu dropped by the map", s->dropped);
    fputc('\n', tbl_out);
    for (size_t i = 0; i < s->nre; i++)
        if (!s->re[i].matched)
            fprintf(tbl_out, "only in %s: %s\n", s->ref_path, (sq_escape_text(name, sizeof name, s->re[i].name), name));
    for (size_t i = 0; i < s->noe; i++)
        if (!s->oe[i].matched && s->oe[i].mapped) {
            sq_escape_text(name, sizeof name, s->oe[i].name);
            fprintf(tbl_out, "only in %s: %s", s->other_path, name);
            if (strcmp(s->oe[i].name, s->oe[i].mapped) != 0)
                fprintf(tbl_out, " (as %s)", (sq_escape_text(name, sizeof name, s->oe[i].mapped), name));
            fputc('\n', tbl_out);
        }
}

/* A CSV field, quoted when needed. */
static void csv_str(FILE *f, const char *v)
{
    fputc(',', f);
    sq_csv_field(f, v);
}

static void csv_num(FILE *f, double v)
{
    fputc(',', f);
    sq_csv_number(f, v);
}

/* One CSV line: kind, names, shapes, types, numel, status, figures, note. */
static void csv_line(FILE *f, const char *kind, const char *name, const char *oname, const char *shp,
                     const char *oshp, const char *t, const char *ot, size_t numel, const char *status,
                     const sq_diff *d, const char *note)
{
    fputs(kind, f);
    csv_str(f, name);
    csv_str(f, oname);
    csv_str(f, shp);
    csv_str(f, oshp);
    csv_str(f, t);
    csv_str(f, ot);
    fprintf(f, ",%zu,%s", numel, status);
    const double nan = NAN;
    csv_num(f, d ? d->sqnr_db : nan);
    csv_num(f, d ? d->rmse : nan);
    csv_num(f, d ? d->max_abs_err : nan);
    csv_num(f, d ? d->mean_abs_err : nan);
    csv_num(f, d ? d->median_abs_err : nan);
    csv_num(f, d ? d->p95_abs_err : nan);
    csv_num(f, d ? d->cosine : nan);
    csv_str(f, note);
    fputc('\n', f);
}

/* Write len bytes of buf to path atomically ("-": standard output). */
static sq_status write_out(const char *path, const char *buf, size_t len, sq_error *err)
{
    sq_afile *af;
    sq_status st = sq_afile_open_flags(path, SQ_AFILE_DASH_STDOUT, &af, err);
    if (st != SQ_OK)
        return st;
    if ((st = sq_afile_write(af, buf, len, err)) != SQ_OK) {
        sq_afile_abort(af);
        return st;
    }
    return sq_afile_commit(af, err);
}

static sq_status write_csv(const dstate *s, const char *path, sq_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    fputs("kind,name,other_name,shape,other_shape,ref_type,other_type,numel,status,sqnr_db,rmse,max_abs_err,"
          "mean_abs_err,median_abs_err,p95_abs_err,cosine,note\n", f);
    for (size_t i = 0; i < s->nrows; i++) {
        const drow *r = &s->rows[i];
        csv_line(f, "tensor", r->name, r->other_name, r->shape, r->other_shape, r->type, r->other_type, r->d.numel,
                 row_status_name[r->status], &r->d, r->note);
    }
    csv_line(f, "total", "", "", "", "", "", "", s->total.numel, "ok", &s->total, NULL);
    for (size_t i = 0; i < s->nre; i++)
        if (!s->re[i].matched)
            csv_line(f, "only_ref", s->re[i].name, "", "", "", "", "", 0, "unmatched", NULL, NULL);
    for (size_t i = 0; i < s->noe; i++)
        if (!s->oe[i].matched && s->oe[i].mapped)
            csv_line(f, "only_other", s->oe[i].mapped, s->oe[i].name, "", "", "", "", 0, "unmatched", NULL, NULL);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    }
    sq_status st = write_out(path, buf, len, err);
    free(buf);
    return st;
}

/* A JSON number, null when not finite. */
static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* The figures of d as a JSON object. */
static json_t *jdiff(const sq_diff *d)
{
    return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "numel", (json_int_t)d->numel, "sqnr_db", jnum(d->sqnr_db),
                     "rmse", jnum(d->rmse), "max_abs_err", jnum(d->max_abs_err), "mean_abs_err",
                     jnum(d->mean_abs_err), "median_abs_err", jnum(d->median_abs_err), "p95_abs_err",
                     jnum(d->p95_abs_err), "cosine", jnum(d->cosine));
}

static sq_status write_json(const dstate *s, const char *path, sq_error *err)
{
    json_t *root = json_pack("{s:s,s:s,s:s?}", "ref", s->ref_path, "other", s->other_path, "map", s->map_path);
    json_t *rows = json_array(), *oref = json_array(), *oother = json_array();
    for (size_t i = 0; root && rows && i < s->nrows; i++) {
        const drow *r = &s->rows[i];
        json_t *o = jdiff(&r->d);
        json_object_set_new(o, "name", json_string(r->name));
        json_object_set_new(o, "other_name", json_string(r->other_name));
        json_object_set_new(o, "shape", json_string(r->shape));
        json_object_set_new(o, "other_shape", json_string(r->other_shape));
        json_object_set_new(o, "ref_type", json_string(r->type));
        json_object_set_new(o, "other_type", json_string(r->other_type));
        json_object_set_new(o, "status", json_string(row_status_name[r->status]));
        json_object_set_new(o, "note", r->note ? json_string(r->note) : json_null());
        json_array_append_new(rows, o);
    }
    for (size_t i = 0; oref && i < s->nre; i++)
        if (!s->re[i].matched)
            json_array_append_new(oref, json_string(s->re[i].name));
    for (size_t i = 0; oother && i < s->noe; i++)
        if (!s->oe[i].matched && s->oe[i].mapped)
            json_array_append_new(oother, json_pack("{s:s,s:s}", "name", s->oe[i].name, "as", s->oe[i].mapped));
    json_t *tot = jdiff(&s->total);
    json_object_set_new(tot, "compared", json_integer((json_int_t)(s->nrows - s->failed)));
    json_object_set_new(tot, "failed", json_integer((json_int_t)s->failed));
    json_object_set_new(root, "rows", rows);
    json_object_set_new(root, "total", tot);
    json_object_set_new(root, "only_in_ref", oref);
    json_object_set_new(root, "only_in_other", oother);
    char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(root);
    if (!text)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    size_t n = strlen(text);
    text[n] = '\0';
    char *buf = realloc(text, n + 2);
    if (!buf) {
        free(text);
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    }
    buf[n] = '\n';
    sq_status st = write_out(path, buf, n + 1, err);
    free(buf);
    return st;
}

/* ---- the command ----------------------------------------------------------------- */

static void cleanup(dstate *s)
{
    for (size_t i = 0; s->rows && i < s->nrows; i++)
        free(s->rows[i].note);
    free(s->rows);
    free(s->sorted);
    free_entries(s->re, s->nre);
    free_entries(s->oe, s->noe);
    if (s->L)
        lua_close(s->L);
    sq_ckpt_close(s->ref);
    sq_ckpt_close(s->other);
}

/* Open both checkpoints, list, map and match them, compare; the status. */
static int run(dstate *s)
{
    sq_error err;
    if (sq_ckpt_open(s->ref_path, &s->ref, &err) != SQ_OK || sq_ckpt_open(s->other_path, &s->other, &err) != SQ_OK)
        return fail_msg(SQ_ERR_IO, &err);
    if (list_entries(s->ref, &s->re, &s->nre) != 0 || list_entries(s->other, &s->oe, &s->noe) != 0)
        return fprintf(stderr, "squint diff: out of memory\n"), 1;
    int rc;
    if ((s->map_path && (rc = map_open(s)) != 0) || (rc = map_names(s)) != 0 || (rc = sort_other(s)) != 0)
        return rc;
    sq_cmd_sigint_install();
    rc = run_pairs(s);
    sq_cmd_sigint_restore();
    if (rc == 130) {
        fprintf(stderr, "squint diff: interrupted after %zu pairs\n", s->nrows);
        return rc;
    }
    if (rc)
        return rc;
    bool data_on_stdout = (s->csv && strcmp(s->csv, "-") == 0) || (s->json && strcmp(s->json, "-") == 0);
    tbl_out = data_on_stdout ? stderr : stdout;
    print_table(s);
    fflush(stdout);
    char name[512];
    for (size_t i = 0; i < s->nrows; i++)
        if (s->rows[i].note)
            fprintf(stderr, "squint diff: %s: %s\n", (sq_escape_text(name, sizeof name, s->rows[i].name), name),
                    s->rows[i].note);
    if (s->csv && write_csv(s, s->csv, &err) != SQ_OK)
        rc = fail_msg(SQ_ERR_IO, &err);
    if (s->json && write_json(s, s->json, &err) != SQ_OK)
        rc = fail_msg(SQ_ERR_IO, &err);
    if (s->failed) {
        fprintf(stderr, "squint diff: %zu pair%s could not be compared (see the notes above)\n", s->failed,
                s->failed == 1 ? "" : "s");
        rc = 1;
    }
    return rc;
}

int sq_cmd_diff(int argc, char **argv)
{
    dstate s;
    memset(&s, 0, sizeof s);
    int rc = parse(argc, argv, &s);
    if (rc == 0 && (rc = check_paths(&s)) == 0)
        rc = run(&s);
    cleanup(&s);
    return rc;
}

/* ---- squint report --activations ------------------------------------------------ */

int sq_cmd_activations_check(const char *acts)
{
    sq_error err;
    sq_status st = sq_input_check(acts, &err);
    if (st != SQ_OK) {
        fprintf(stderr, "squint report: --activations %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* Index in acts of the activations feeding weight name; false when none. */
static bool find_input(const sq_checkpoint *acts, const char *name, size_t *idx)
{
    char key[1024];
    if ((size_t)snprintf(key, sizeof key, "%s.input", name) < sizeof key && sq_ckpt_find(acts, key, idx, NULL) == SQ_OK)
        return true;
    size_t n = strlen(name);
    return ends_with(name, ".weight") && n < sizeof key &&
           snprintf(key, sizeof key, "%.*s.input", (int)(n - 7), name) > 0 && sq_ckpt_find(acts, key, idx, NULL) == SQ_OK;
}

/* One weight's row: its activations loaded, viewed as [tokens, in], the
 * weight's and the output's SQNR per configuration printed. Returns false
 * after a note on stderr. */
static bool activation_row(const sq_checkpoint *ck, size_t i, const sq_checkpoint *acts, size_t ai,
                           const sq_qconfig *cfg, size_t n, int nw)
{
    const char *name = sq_ckpt_info(ck, i)->name;
    sq_tensor *w = NULL, *x = NULL;
    sq_layer_err r[SQ_CMD_MAX_CONFIGS];
    sq_error err;
    sq_status st = sq_ckpt_load(ck, i, &w, &err);
    if (st == SQ_OK)
        st = sq_ckpt_load(acts, ai, &x, &err);
    if (st == SQ_OK && x->ndim > 2) { /* [..., in] -> [tokens, in] */
        size_t in = x->shape[x->ndim - 1];
        memset(x->shape, 0, sizeof x->shape);
        x->shape[0] = in ? x->numel / in : 0;
        x->shape[1] = in;
        x->ndim = 2;
    }
    for (size_t c = 0; st == SQ_OK && c < n && c < SQ_CMD_MAX_CONFIGS; c++)
        st = sq_layer_error(w, x, NULL, &cfg[c], NULL, &r[c], &err);
    char esc[512];
    sq_escape_text(esc, sizeof esc, name);
    if (st == SQ_OK) {
        fprintf(tbl_out, "%-*s %7zu", nw, esc, r[0].tokens);
        for (size_t c = 0; c < n && c < SQ_CMD_MAX_CONFIGS; c++) {
            put_num("%.2f", r[c].weight.sqnr_db, 9);
            put_num("%.2f", r[c].output.sqnr_db, 9);
        }
        fputc('\n', tbl_out);
    } else {
        fprintf(stderr, "squint report: --activations: %s: %s\n", esc, err.msg);
    }
    sq_tensor_free(w);
    sq_tensor_free(x);
    return st == SQ_OK;
}

int sq_cmd_report_activations(const char *model, const char *acts_path, const sq_qconfig *cfg, size_t n, FILE *out)
{
    tbl_out = out;
    sq_checkpoint *ck = NULL, *acts = NULL;
    sq_error err;
    if (sq_ckpt_open(model, &ck, &err) != SQ_OK || sq_ckpt_open(acts_path, &acts, &err) != SQ_OK) {
        fprintf(stderr, "squint report: --activations: %s\n", err.msg);
        sq_ckpt_close(ck);
        return 1;
    }
    int nw = 24, rc = 0;
    size_t found = 0, ai;
    for (size_t i = 0; i < sq_ckpt_count(ck); i++) {
        const sq_tinfo *ti = sq_ckpt_info(ck, i);
        int l = (int)strlen(ti->name);
        if (ti->ndim == 2 && find_input(acts, ti->name, &ai))
            nw = l > nw ? (l > 60 ? 60 : l) : nw;
    }
    fprintf(tbl_out, "\nOutput error with the activations of %s (X W^T in double; weight SQNR, output SQNR per configuration):\n",
           acts_path);
    fprintf(tbl_out, "%-*s %7s", nw, "name", "tokens");
    for (size_t c = 0; c < n && c < SQ_CMD_MAX_CONFIGS; c++) {
        char d[96];
        sq_qconfig_describe_from(&cfg[c], 1, d, sizeof d);
        fprintf(tbl_out, " | %-17.17s", d);
    }
    fputc('\n', tbl_out);
    for (size_t i = 0; i < sq_ckpt_count(ck); i++) {
        const sq_tinfo *ti = sq_ckpt_info(ck, i);
        if (ti->ndim != 2 || !find_input(acts, ti->name, &ai))
            continue;
        found++;
        if (!activation_row(ck, i, acts, ai, cfg, n, nw))
            rc = 1;
    }
    fprintf(tbl_out, "%zu weight%s with activations (NAME.input, or BASE.input for BASE.weight)\n", found,
           found == 1 ? "" : "s");
    sq_ckpt_close(ck);
    sq_ckpt_close(acts);
    return rc;
}
