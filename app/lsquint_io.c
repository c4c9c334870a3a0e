/* lsquint_io.c - the file side of the Lua module: sq.load, sq.open and the
 * checkpoint type, t:save / q:save, and sq.view (the panel).
 *
 * Error channels (lsquint.h): misuse raises; an expected failure of the file
 * system or of a file's contents (missing file, malformed header,
 * unsupported dtype) returns nil, message, as io.open does. */
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "lsquint.h"
#include "lsquint_int.h"
#include "model.h"
#include "report.h"
#include "tui.h"

volatile sig_atomic_t sq_lua_interrupt;

typedef struct lsq_ckpt {
    sq_checkpoint *ck;
} lsq_ckpt;

/* Push nil, err->msg (stack: +2); returns 2. */
static int lsq_fail(lua_State *L, const sq_error *err)
{
    luaL_pushfail(L);
    lua_pushstring(L, err->msg);
    return 2;
}

/* sq.load(path [, name]) -> tensor, or nil + message (stack: +1 or +2). */
int lsq_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const char *name = luaL_optstring(L, 2, NULL);
    sq_error err;
    lsq_tensor *b = lsq_new_tensor(L);
    if (sq_load_tensor_file(path, name, &b->t, &err) != SQ_OK)
        return lsq_fail(L, &err);
    lsq_gc_account(L, b->t->numel * sizeof(float));
    return 1;
}

/* t:save(path) -> true, or nil + message; format from the extension (stack: +1/+2). */
int lsq_tensor_save(lua_State *L)
{
    sq_tensor *t = lsq_check_tensor(L, 1);
    const char *path = luaL_checkstring(L, 2);
    const char *name = luaL_optstring(L, 3, NULL);
    sq_error err;
    if (sq_save_tensor_file(path, name, t, &err) != SQ_OK)
        return err.code == SQ_ERR_ARG ? luaL_argerror(L, 2, err.msg) : lsq_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* q:save(path [, name]) -> true, or nil + message (.safetensors) (stack: +1/+2). */
int lsq_q_save(lua_State *L)
{
    sq_qtensor *q = lsq_check_qtensor(L, 1);
    const char *path = luaL_checkstring(L, 2);
    const char *name = luaL_optstring(L, 3, NULL);
    sq_error err;
    if (sq_save_qtensor_file(path, name, q, &err) != SQ_OK)
        return err.code == SQ_ERR_ARG ? luaL_argerror(L, 2, err.msg) : lsq_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- checkpoints ---------------------------------------------------------- */

struct sq_checkpoint *lsq_test_checkpoint(lua_State *L, int arg)
{
    lsq_ckpt *b = luaL_testudata(L, arg, SQ_LUA_CHECKPOINT);
    if (b && !b->ck)
        luaL_argerror(L, arg, "checkpoint has been closed");
    return b ? b->ck : NULL;
}

/* The open checkpoint at arg (raises otherwise). */
static sq_checkpoint *lsq_check_ckpt(lua_State *L, int arg)
{
    lsq_ckpt *b = luaL_checkudata(L, arg, SQ_LUA_CHECKPOINT);
    luaL_argcheck(L, b->ck != NULL, arg, "checkpoint has been closed");
    return b->ck;
}

/* Index of the tensor named at arg (raises for an unknown name). */
static size_t lsq_ckpt_index(lua_State *L, sq_checkpoint *ck, int arg)
{
    size_t i;
    sq_error err;
    if (sq_ckpt_find(ck, luaL_checkstring(L, arg), &i, &err) != SQ_OK)
        luaL_argerror(L, arg, err.msg);
    return i;
}

/* sq.open(path) -> checkpoint, or nil + message (stack: +1/+2). */
int lsq_open(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    sq_error err;
    lsq_ckpt *b = lsq_newbox(L, sizeof *b, SQ_LUA_CHECKPOINT, 1);
    if (sq_ckpt_open(path, &b->ck, &err) != SQ_OK)
        return lsq_fail(L, &err);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1); /* the path, for __tostring */
    return 1;
}

/* ck:names() -> array of tensor names in file order (stack: +1). */
static int lsq_ckpt_names(lua_State *L)
{
    sq_checkpoint *ck = lsq_check_ckpt(L, 1);
    size_t n = sq_ckpt_count(ck);
    lua_createtable(L, LSQ_SIZEHINT(n), 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, sq_ckpt_info(ck, i)->name);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* Push the info table of tensor i (stack: +1). */
static void lsq_push_tinfo(lua_State *L, const sq_tinfo *ti)
{
    lua_createtable(L, 0, 7);
    lua_pushstring(L, ti->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, ti->type_name);
    lua_setfield(L, -2, "dtype");
    lsq_push_shape(L, ti->shape, ti->ndim);
    lua_setfield(L, -2, "shape");
    lsq_setint(L, "numel", ti->numel);
    lsq_setint(L, "nbytes", ti->nbytes);
    lua_pushboolean(L, ti->loadable);
    lua_setfield(L, -2, "loadable");
}

/* ck:info(name) -> {name, dtype, shape, numel, nbytes, loadable} (stack: +1). */
static int lsq_ckpt_info(lua_State *L)
{
    sq_checkpoint *ck = lsq_check_ckpt(L, 1);
    lsq_push_tinfo(L, sq_ckpt_info(ck, lsq_ckpt_index(L, ck, 2)));
    return 1;
}

/* ck:tensor(name) -> tensor, or nil + message when it cannot be converted (stack: +1/+2). */
static int lsq_ckpt_tensor(lua_State *L)
{
    sq_checkpoint *ck = lsq_check_ckpt(L, 1);
    size_t i = lsq_ckpt_index(L, ck, 2);
    sq_error err;
    lsq_tensor *b = lsq_new_tensor(L);
    if (sq_ckpt_load(ck, i, &b->t, &err) != SQ_OK)
        return lsq_fail(L, &err);
    lsq_gc_account(L, b->t->numel * sizeof(float));
    return 1;
}

/* ck:qtensor(name) -> the squint-quantized tensor stored under name (its
 * .codes/.scales/.zero_points parts), or nil + message (stack: +1/+2). */
static int lsq_ckpt_qtensor(lua_State *L)
{
    sq_checkpoint *ck = lsq_check_ckpt(L, 1);
    const char *name = luaL_checkstring(L, 2);
    sq_error err;
    lsq_qtensor *b = lsq_newbox(L, sizeof *b, SQ_LUA_QTENSOR, 1);
    if (sq_ckpt_load_qtensor(ck, name, &b->q, &err) != SQ_OK)
        return lsq_fail(L, &err);
    lsq_gc_account(L, b->q->code_bytes + b->q->n_scales * 2 * sizeof(double));
    return 1;
}

/* ck:quantized() -> array of the names of squint-quantized tensors (stack: +1). */
static int lsq_ckpt_quantized(lua_State *L)
{
    sq_checkpoint *ck = lsq_check_ckpt(L, 1);
    static const char suffix[] = ".codes";
    lua_Integer k = 0;
    lua_newtable(L);
    for (size_t i = 0; i < sq_ckpt_count(ck); i++) {
        const char *name = sq_ckpt_info(ck, i)->name;
        size_t n = strlen(name);
        if (n <= sizeof suffix - 1 || strcmp(name + n - (sizeof suffix - 1), suffix) != 0)
            continue;
        lua_pushlstring(L, name, n - (sizeof suffix - 1));
        if (!sq_ckpt_has_qtensor(ck, lua_tostring(L, -1))) {
            lua_pop(L, 1);
            continue;
        }
        lua_rawseti(L, -2, ++k);
    }
    return 1;
}

/* Iterator step of ck:tensors(): upvalue 1 the checkpoint, upvalue 2 the next
 * index. Returns name, tensor (or name, nil, message) (stack: +2/+3). */
static int lsq_ckpt_iter(lua_State *L)
{
    sq_checkpoint *ck = lsq_check_ckpt(L, lua_upvalueindex(1));
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(2));
    if ((size_t)i >= sq_ckpt_count(ck))
        return 0;
    lua_pushinteger(L, i + 1);
    lua_replace(L, lua_upvalueindex(2));
    sq_error err;
    lua_pushstring(L, sq_ckpt_info(ck, (size_t)i)->name);
    lsq_tensor *b = lsq_new_tensor(L);
    if (sq_ckpt_load(ck, (size_t)i, &b->t, &err) != SQ_OK) {
        lua_pop(L, 1);
        luaL_pushfail(L);
        lua_pushstring(L, err.msg);
        return 3;
    }
    lsq_gc_account(L, b->t->numel * sizeof(float));
    return 2;
}

/* ck:tensors() -> iterator over name, tensor, loading one at a time (stack: +1). */
static int lsq_ckpt_tensors(lua_State *L)
{
    lsq_check_ckpt(L, 1);
    lua_pushvalue(L, 1);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, lsq_ckpt_iter, 2);
    return 1;
}

/* ck:metadata() -> {key = value text} (stack: +1). */
static int lsq_ckpt_metadata(lua_State *L)
{
    sq_checkpoint *ck = lsq_check_ckpt(L, 1);
    size_t n = sq_ckpt_metadata_count(ck);
    const char *k, *type, *v;
    lua_createtable(L, 0, LSQ_SIZEHINT(n));
    for (size_t i = 0; i < n; i++) {
        if (sq_ckpt_metadata(ck, i, &k, &type, &v)) {
            lua_pushstring(L, v);
            lua_setfield(L, -2, k);
        }
    }
    return 1;
}

/* ck:close() and __gc / __close (stack: 0). */
static int lsq_ckpt_close(lua_State *L)
{
    lsq_ckpt *b = luaL_checkudata(L, 1, SQ_LUA_CHECKPOINT);
    sq_ckpt_close(b->ck);
    b->ck = NULL;
    return 0;
}

/* #ck: the number of tensors (stack: +1). */
static int lsq_ckpt_len(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)sq_ckpt_count(lsq_check_ckpt(L, 1)));
    return 1;
}

/* tostring(ck): "checkpoint(model.safetensors: 12 tensors, safetensors)" (stack: +1). */
static int lsq_ckpt_tostring(lua_State *L)
{
    lsq_ckpt *b = luaL_checkudata(L, 1, SQ_LUA_CHECKPOINT);
    lua_getiuservalue(L, 1, 1);
    if (!b->ck) {
        lua_pushfstring(L, "checkpoint(%s: closed)", lua_tostring(L, -1));
        return 1;
    }
    lua_pushfstring(L, "checkpoint(%s: %I tensors, %s)", lua_tostring(L, -1), (lua_Integer)sq_ckpt_count(b->ck),
                    sq_ckpt_get_format(b->ck) == SQ_CKPT_GGUF ? "gguf" : "safetensors");
    return 1;
}

/* __index of a checkpoint: a method, else the field `format` or `path` (stack: +1). */
static int lsq_ckpt_index_mm(lua_State *L)
{
    sq_checkpoint *ck = lsq_check_ckpt(L, 1);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL || lua_type(L, 2) != LUA_TSTRING)
        return 1;
    const char *k = lua_tostring(L, 2);
    if (strcmp(k, "format") == 0)
        lua_pushstring(L, sq_ckpt_get_format(ck) == SQ_CKPT_GGUF ? "gguf" : "safetensors");
    else if (strcmp(k, "path") == 0)
        lua_getiuservalue(L, 1, 1);
    else
        lua_pushnil(L);
    return 1;
}

/* sq.quantize_named(ck, cfg): every rank >= 2 tensor, loaded one at a time
 * (stack: +1). */
int lsq_ckpt_quantize_named(lua_State *L, const sq_qconfig *cfg)
{
    sq_checkpoint *ck = lsq_check_ckpt(L, 1);
    int out = lua_gettop(L) + 1;
    lua_newtable(L);
    for (size_t i = 0; i < sq_ckpt_count(ck); i++) {
        const sq_tinfo *ti = sq_ckpt_info(ck, i);
        sq_error err;
        if (ti->ndim < 2)
            continue;
        lsq_tensor *src = lsq_new_tensor(L);
        if (sq_ckpt_load(ck, i, &src->t, &err) != SQ_OK)
            return luaL_error(L, "%s", err.msg);
        lsq_gc_account(L, src->t->numel * sizeof(float));
        lsq_qtensor *b = lsq_newbox(L, sizeof *b, SQ_LUA_QTENSOR, 1);
        if (sq_quantize(src->t, cfg, &b->q, &err) != SQ_OK) {
            sq_error_prefix(&err, ti->name);
            return lsq_engine_error(L, 2, &err);
        }
        lsq_gc_account(L, b->q->code_bytes);
        lua_rotate(L, -2, 1); /* qtensor, source */
        lua_setiuservalue(L, -2, 1);
        lua_setfield(L, out, ti->name);
    }
    return 1;
}

/* sq.model_stats(ck, cfg): from the shapes alone, no tensor is read (stack: +1). */
int lsq_ckpt_model_stats(lua_State *L, const sq_qconfig *cfg)
{
    sq_checkpoint *ck = lsq_check_ckpt(L, 1);
    sq_model_stats ms;
    sq_error err;
    sq_model_stats_init(&ms);
    for (size_t i = 0; i < sq_ckpt_count(ck); i++) {
        const sq_tinfo *ti = sq_ckpt_info(ck, i);
        if (sq_model_stats_add(&ms, ti->shape, ti->ndim, cfg, &err) != SQ_OK) {
            sq_error_prefix(&err, ti->name);
            return lsq_engine_error(L, 2, &err);
        }
    }
    lua_createtable(L, 0, 5);
    lsq_setint(L, "num_quantized", ms.num_quantized);
    lsq_setint(L, "num_fp32", ms.num_fp32);
    lsq_setint(L, "fp32_bytes", ms.fp32_bytes);
    lsq_setint(L, "quantized_bytes", ms.quantized_bytes);
    lsq_setnum(L, "compression_ratio", ms.compression_ratio);
    return 1;
}

/* ---- reports ----------------------------------------------------------------- */

/* Set field k of the table on top to v, or to nil when v is NaN (stack: 0). */
static void lsq_setnum_or_nil(lua_State *L, const char *k, double v)
{
    if (v != v)
        return;
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

/* Push one (tensor, config) row of a report (stack: +1). */
static void lsq_push_report_row(lua_State *L, const sq_report *rep, const sq_report_row *row, size_t c)
{
    const sq_report_cell *cell = &row->cells[c];
    char desc[96];
    lua_createtable(L, 0, 20);
    lua_pushstring(L, row->name);
    lua_setfield(L, -2, "name");
    lsq_push_shape(L, row->shape, row->ndim);
    lua_setfield(L, -2, "shape");
    lua_pushstring(L, row->type_name);
    lua_setfield(L, -2, "dtype");
    lua_pushboolean(L, row->quantized);
    lua_setfield(L, -2, "quantized");
    lua_pushstring(L, sq_qconfig_describe_from(&rep->configs[c], 1, desc, sizeof desc));
    lua_setfield(L, -2, "config");
    lsq_setint(L, "config_index", c + 1);
    lua_pushstring(L, sq_report_status_name(cell->status));
    lua_setfield(L, -2, "status");
    lsq_setint(L, "numel", row->numel);
    lsq_setint(L, "fp32_bytes", row->fp32_bytes);
    lsq_setint(L, "file_bytes", row->file_bytes);
    lsq_setint(L, "size_bytes", cell->after_bytes);
    lsq_setint(L, "bytes", cell->after_bytes); /* q:stats()'s name for the same figure */
    lsq_setint(L, "code_bytes", cell->code_bytes);
    lsq_setint(L, "meta_bytes", cell->meta_bytes);
    lsq_setnum(L, "bits_per_weight", cell->bits_per_weight);
    lsq_setnum_or_nil(L, "sqnr_db", cell->sqnr_db);
    lsq_setnum_or_nil(L, "rmse", cell->rmse);
    lsq_setnum_or_nil(L, "max_abs_err", cell->max_abs_err);
    lsq_setnum_or_nil(L, "median_abs_err", cell->median_abs_err);
    lsq_setnum_or_nil(L, "p95_abs_err", cell->p95_abs_err);
    if (cell->note) {
        lua_pushstring(L, cell->note);
        lua_setfield(L, -2, "note");
    }
}

/* Push the total of config c (stack: +1). */
static void lsq_push_report_total(lua_State *L, const sq_report *rep, size_t c)
{
    const sq_report_total *t = &rep->totals[c];
    char desc[96];
    lua_createtable(L, 0, 12);
    lua_pushstring(L, sq_qconfig_describe_from(&rep->configs[c], 1, desc, sizeof desc));
    lua_setfield(L, -2, "config");
    lsq_setint(L, "num_quantized", t->num_quantized);
    lsq_setint(L, "num_fp32", t->num_fp32);
    lsq_setint(L, "num_failed", t->num_failed);
    lsq_setint(L, "fp32_bytes", t->fp32_bytes);
    lsq_setint(L, "quantized_bytes", t->quantized_bytes);
    lsq_setnum(L, "compression_ratio", t->compression_ratio);
    lsq_setnum(L, "bits_per_weight", t->bits_per_weight);
    lsq_setnum_or_nil(L, "sqnr_db", t->sqnr_db);
    lsq_setnum_or_nil(L, "rmse", t->rmse);
    lsq_setnum_or_nil(L, "max_abs_err", t->max_abs_err);
}

/* Push opts.key (opts the table at idx, or nil) as an optional string:
 * returns it (NULL for nil), kept alive by the stack slot it leaves (the
 * value may come from an __index function or be a converted number); raises
 * on another type (stack: +1). */
static const char *lsq_opt_string(lua_State *L, int idx, const char *key)
{
    if (lua_isnil(L, idx)) {
        lua_pushnil(L);
        return NULL;
    }
    int type = lua_getfield(L, idx, key);
    if (type == LUA_TNIL)
        return NULL;
    if (type != LUA_TSTRING && type != LUA_TNUMBER)
        luaL_argerror(L, idx, lua_pushfstring(L, "'%s' must be a string, got %s", key, lua_typename(L, type)));
    return lua_tostring(L, -1);
}

/* lsq_free_fn adapters for the guards of sq.report. */
static void lsq_free_ckpt(void *p)
{
    sq_ckpt_close(p);
}
static void lsq_free_report(void *p)
{
    sq_report_free(p);
}

/* Parse sq.report's configurations (argument 2: one configuration or an
 * array of them) into a new userdata array (stack: +1). Returns the count. */
static size_t lsq_report_configs(lua_State *L, sq_qconfig **out)
{
    bool many = lua_geti(L, 2, 1) == LUA_TTABLE;
    lua_pop(L, 1);
    size_t n = 1;
    if (many) {
        n = (size_t)lsq_checklen(L, 2, 2, LSQ_MAX_CONFIGS, "configuration list");
        luaL_argcheck(L, n > 0, 2, "the configuration list is empty");
    }
    sq_qconfig *cfgs = lua_newuserdatauv(L, n * sizeof *cfgs, 0); /* n <= 4096: no overflow */
    for (size_t i = 0; i < n; i++) {
        if (many)
            lua_geti(L, 2, (lua_Integer)i + 1);
        else
            lua_pushvalue(L, 2);
        char prefix[48] = "";
        if (many)
            snprintf(prefix, sizeof prefix, "config %zu: ", i + 1);
        lsq_parse_qconfig(L, lua_gettop(L), 2, prefix, NULL, 0, &cfgs[i]);
        lua_pop(L, 1);
    }
    *out = cfgs;
    return n;
}

void (*sq_lua_interrupt_absorbed)(lua_State *L);

/* Push the rows of rep as sq.report returns them (stack: +1). */
static void lsq_push_report(lua_State *L, const sq_report *rep, size_t n)
{
    lua_createtable(L, LSQ_SIZEHINT(rep->n_rows * n), 3);
    lua_Integer k = 0;
    for (size_t r = 0; r < rep->n_rows; r++)
        for (size_t c = 0; c < n; c++) {
            lsq_push_report_row(L, rep, &rep->rows[r], c);
            lua_rawseti(L, -2, ++k);
        }
    lua_createtable(L, (int)n, 0);
    for (size_t c = 0; c < n; c++) {
        lsq_push_report_total(L, rep, c);
        lua_rawseti(L, -2, (lua_Integer)c + 1);
    }
    lua_setfield(L, -2, "totals");
    lua_pushboolean(L, rep->cancelled);
    lua_setfield(L, -2, "cancelled");
    lua_pushboolean(L, rep->cancelled);
    lua_setfield(L, -2, "interrupted");
}

/* sq.report(ck_or_path, cfgs [, opts]) -> rows: one per (tensor, config), in
 * file order, with rows.totals[config] matching sq.model_stats. cfgs is one
 * configuration or an array of them; opts: include, exclude (POSIX regexes),
 * csv, json (paths written atomically). A path that cannot be opened returns
 * nil, message.
 *
 * Interruption: when sq_lua_interrupt is set (Ctrl-C in the squint
 * interpreter) the scan stops between tensors and the rows computed so far
 * are returned with rows.interrupted = rows.cancelled = true (totals over
 * those rows); sq_lua_interrupt_absorbed, when set, is then called so that
 * the interpreter drops its pending "interrupted!" error and prints a note.
 *
 * Every argument is checked before the checkpoint is opened, and the open
 * checkpoint and the report are held by guards, so an error (a raising
 * metamethod, a memory error) releases them (stack: +1/+2). */
int lsq_report(lua_State *L)
{
    sq_error err;
    sq_qconfig *cfgs;
    lua_settop(L, 3);
    if (!lsq_test_checkpoint(L, 1))
        luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (!lua_isnil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    size_t n = lsq_report_configs(L, &cfgs);       /* 4 */
    sq_report_opts o = sq_report_opts_default();
    o.include = lsq_opt_string(L, 3, "include");   /* 5 */
    o.exclude = lsq_opt_string(L, 3, "exclude");   /* 6 */
    const char *csv = lsq_opt_string(L, 3, "csv"); /* 7 */
    const char *json = lsq_opt_string(L, 3, "json"); /* 8 */
    /* the metamethods above may have closed a checkpoint: look again */
    sq_checkpoint *ck = lsq_test_checkpoint(L, 1);
    sq_checkpoint **owned = (sq_checkpoint **)lsq_guard(L, lsq_free_ckpt); /* 9 */
    if (ck) {
        lua_getiuservalue(L, 1, 1); /* 10: the checkpoint's path */
    } else {
        if (sq_ckpt_open(lua_tostring(L, 1), owned, &err) != SQ_OK)
            return lsq_fail(L, &err);
        ck = *owned;
        lua_pushvalue(L, 1); /* 10 */
    }
    sq_report **rep = (sq_report **)lsq_guard(L, lsq_free_report); /* 11 */
    o.cancel = &sq_lua_interrupt; /* Ctrl-C in the REPL stops the scan between tensors */
    sq_status st = sq_report_run(ck, lua_tostring(L, 10), cfgs, n, &o, rep, &err);
    if (st == SQ_OK && (*rep)->cancelled && sq_lua_interrupt) {
        /* before anything calls a function, on which the interpreter's hook
         * would raise "interrupted!" */
        sq_lua_interrupt = 0;
        if (sq_lua_interrupt_absorbed)
            sq_lua_interrupt_absorbed(L);
    }
    if (st != SQ_OK)
        return lsq_engine_error(L, err.code == SQ_ERR_ARG ? 3 : 0, &err);
    lsq_guard_free(L, 9); /* the checkpoint is no longer needed */
    if ((csv && sq_report_write_csv(*rep, csv, &err) != SQ_OK) ||
        (json && sq_report_write_json(*rep, json, &err) != SQ_OK))
        return lsq_fail(L, &err);
    lsq_push_report(L, *rep, n);
    lsq_guard_free(L, 11);
    return 1;
}

/* ---- the panel -------------------------------------------------------------- */

/* Raise unless a tensor shown by sq.view has elements: the panel has nothing
 * to draw for a zero-element tensor (whose dimensions may still be huge). */
static void lsq_view_check_numel(lua_State *L, size_t numel, const size_t *shape, int ndim)
{
    char buf[8 * 24 + 4];
    if (numel == 0)
        luaL_argerror(L, 1, lua_pushfstring(L, "the tensor of shape %s has no elements to show",
                                            sq_shape_format(shape, ndim, buf, sizeof buf)));
}

/* sq.view(x [, cfg [, {note = s}]]): the panel on a tensor, a quantized
 * tensor or a checkpoint; returns when the user leaves it with q.
 * sq.view(a, b) with two tensors of one shape: b compared against the
 * reference a (sq.diff's figures, both value histograms, the error's). note (a
 * tensor's panel) is shown on the status line until the first key. For a quantized
 * tensor, sq.view(q [, source]): its error against source, or against the
 * tensor sq.quantize made it from, else "unknown". The arguments are
 * checked before the terminal is (stack: 0). */
int lsq_view(lua_State *L)
{
    sq_error err;
    sq_status st;
    sq_qconfig cfg;
    sq_checkpoint *ck = NULL;
    sq_qtensor *q = NULL;
    sq_tensor *t = NULL, *src = NULL;
    if (luaL_testudata(L, 1, SQ_LUA_QTENSOR)) {
        q = lsq_check_qtensor(L, 1);
        lsq_view_check_numel(L, q->numel, q->shape, q->ndim);
        if (!lua_isnoneornil(L, 2))
            src = lsq_check_tensor(L, 2);
        else if (lua_getiuservalue(L, 1, 1) != LUA_TNONE && luaL_testudata(L, -1, SQ_LUA_TENSOR))
            src = lsq_check_tensor(L, -1); /* the tensor sq.quantize made q from */
    } else if ((ck = lsq_test_checkpoint(L, 1)) != NULL) {
        lsq_parse_qconfig(L, 2, 2, "", NULL, 0, &cfg);
    } else {
        t = lsq_check_tensor(L, 1);
        lsq_view_check_numel(L, t->numel, t->shape, t->ndim);
        if (luaL_testudata(L, 2, SQ_LUA_TENSOR)) {
            char sa[8 * 24 + 4], sb[8 * 24 + 4];
            src = lsq_check_tensor(L, 2); /* sq.view(a, b): b against the reference a */
            if (src->ndim != t->ndim || memcmp(src->shape, t->shape, (size_t)t->ndim * sizeof *t->shape) != 0)
                return luaL_argerror(L, 2, lua_pushfstring(L, "shape %s differs from the reference's %s",
                                                           sq_shape_format(src->shape, src->ndim, sa, sizeof sa),
                                                           sq_shape_format(t->shape, t->ndim, sb, sizeof sb)));
        } else
            lsq_parse_qconfig(L, 2, 2, "", t->shape, t->ndim, &cfg);
    }
    if (lua_istable(L, 3)) { /* sq.view(x, cfg, {note = "..."}): the panel's status line */
        if (lua_getfield(L, 3, "note") != LUA_TNIL && !lua_isstring(L, -1))
            return luaL_argerror(L, 3, "'note' must be a string");
        sq_tui_set_note(ck ? NULL : lua_tostring(L, -1));
        lua_pop(L, 1);
    } else if (!lua_isnoneornil(L, 3)) {
        return luaL_typeerror(L, 3, "table");
    }
    if (!sq_tui_available()) {
        sq_tui_set_note(NULL);
        return luaL_error(L, "sq.view needs a terminal on standard input and output");
    }
    if (q) {
        st = sq_tui_view_qtensor_source(q, src, "qtensor", &err);
    } else if (t && src) {
        st = sq_tui_view_pair(t, src, "pair", &err);
    } else if (t) {
        st = sq_tui_view_tensor(t, "tensor", &cfg, &err);
    } else {
        lua_getiuservalue(L, 1, 1);
        st = sq_tui_view_checkpoint(ck, lua_tostring(L, -1), &cfg, &err);
    }
    sq_tui_set_note(NULL); /* a note the panel did not show goes too */
    if (st != SQ_OK)
        return lsq_engine_error(L, 2, &err);
    return 0;
}

static const luaL_Reg lsq_ckpt_methods[] = {
    {"names", lsq_ckpt_names},       {"info", lsq_ckpt_info},         {"tensor", lsq_ckpt_tensor},
    {"tensors", lsq_ckpt_tensors},   {"metadata", lsq_ckpt_metadata}, {"close", lsq_ckpt_close},
    {"qtensor", lsq_ckpt_qtensor},   {"quantized", lsq_ckpt_quantized},
    {NULL, NULL},
};
static const luaL_Reg lsq_ckpt_meta[] = {
    {"__gc", lsq_ckpt_close}, {"__close", lsq_ckpt_close}, {"__tostring", lsq_ckpt_tostring},
    {"__len", lsq_ckpt_len},  {"__index", NULL},           {NULL, NULL},
};
static const char *const lsq_ckpt_fields[] = {"format", "path", NULL};

void lsq_io_register(lua_State *L)
{
    lsq_register_type(L, SQ_LUA_CHECKPOINT, lsq_ckpt_meta, lsq_ckpt_methods, lsq_ckpt_index_mm, lsq_ckpt_fields);
}
