/* lsquint_diff.c - comparing two tensors and a layer's output error:
 * sq.diff, sq.layer_error and sq.take_rows (the row reordering a name map
 * of `squint diff --map` uses to undo a converter's permutation). */
#include <math.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "diff.h"
#include "lsquint.h"
#include "lsquint_int.h"

/* Push the figures of d into the table on top (stack: 0). */
static void lsq_diff_fields(lua_State *L, const sq_diff *d)
{
    lsq_setint(L, "numel", d->numel);
    lsq_setnum(L, "mse", d->mse);
    lsq_setnum(L, "rmse", d->rmse);
    lsq_setnum(L, "max_abs_err", d->max_abs_err);
    lsq_setnum(L, "mean_abs_err", d->mean_abs_err);
    lsq_setnum(L, "median_abs_err", d->median_abs_err);
    lsq_setnum(L, "p95_abs_err", d->p95_abs_err);
    lsq_setnum(L, "sqnr_db", d->sqnr_db);
    lsq_setnum(L, "cosine", d->cosine);
    lsq_setnum(L, "err_min", d->err_min);
    lsq_setnum(L, "err_max", d->err_max);
    lsq_setnum(L, "sum_x2", d->sum_x2);
    lsq_setnum(L, "sum_e2", d->sum_e2);
    if (d->numel > 0)
        lsq_setint(L, "max_index", d->max_index + 1);
}

/* lsq_free_fn releasing a histogram's counts. */
static void lsq_diff_hist_free(void *p)
{
    sq_hist_free(p);
}

/* Push h as {edges, counts, below, above}, as q:histogram does (stack: +1). */
static void lsq_diff_push_hist(lua_State *L, const sq_hist *h)
{
    lua_createtable(L, 0, 4);
    lua_createtable(L, h->bins + 1, 0);
    for (int i = 0; i <= h->bins; i++) {
        lua_pushnumber(L, i == h->bins ? h->hi : h->lo + (h->hi - h->lo) * i / h->bins);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "edges");
    lua_createtable(L, h->bins, 0);
    for (int i = 0; i < h->bins; i++) {
        lua_pushinteger(L, (lua_Integer)h->counts[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "counts");
    lsq_setint(L, "below", h->below);
    lsq_setint(L, "above", h->above);
}

/* d:histogram([bins [, lo, hi]]) -> {edges, counts, below, above} of e =
 * a - b; upvalues 1 and 2 are the tensors. Range [-max|e|, max|e|] unless lo
 * and hi are given (stack: +1). */
static int lsq_diff_histogram(lua_State *L)
{
    int base = lua_istable(L, 1) ? 1 : 0; /* d:histogram(...) or d.histogram(...) */
    lsq_tensor *ba = luaL_testudata(L, lua_upvalueindex(1), SQ_LUA_TENSOR);
    lsq_tensor *bb = luaL_testudata(L, lua_upvalueindex(2), SQ_LUA_TENSOR);
    if (!ba || !bb || !ba->t || !bb->t)
        return luaL_error(L, "histogram: a tensor of this comparison has been freed");
    sq_tensor *a = ba->t, *b = bb->t;
    lua_Integer bins = luaL_optinteger(L, base + 1, 64);
    luaL_argcheck(L, bins >= 1 && bins <= SQ_HIST_BINS_MAX, base + 1, "bins must be in 1..65536");
    sq_stats_opts o = sq_stats_opts_default();
    o.hist_bins = (int)bins;
    o.range = SQ_HIST_RANGE_DATA;
    if (!lua_isnoneornil(L, base + 2)) {
        o.range = SQ_HIST_RANGE_FIXED;
        o.lo = luaL_checknumber(L, base + 2);
        o.hi = luaL_checknumber(L, base + 3);
        luaL_argcheck(L, isfinite(o.lo) && isfinite(o.hi) && o.lo < o.hi, base + 2, "lo < hi, both finite, expected");
    }
    sq_hist *h = lua_newuserdatauv(L, sizeof *h, 0);
    memset(h, 0, sizeof *h);
    *lsq_guard(L, lsq_diff_hist_free) = h;
    sq_diff d;
    sq_error err;
    if (sq_diff_stats(a, b, &o, &d, h, &err) != SQ_OK)
        return lsq_engine_error(L, 0, &err);
    lsq_diff_push_hist(L, h);
    return 1;
}

/* sq.diff(ref, other) -> {sqnr_db, rmse, max_abs_err, mean_abs_err,
 * median_abs_err, p95_abs_err, cosine, mse, err_min, err_max, numel,
 * sum_x2, sum_e2 (for pooling), max_index (1-based flat), histogram =
 * function} with ref as the
 * reference; both tensors of one shape (stack: +1). */
static int lsq_diff(lua_State *L)
{
    sq_tensor *a = lsq_check_tensor(L, 1), *b = lsq_check_tensor(L, 2);
    sq_diff d;
    sq_error err;
    if (sq_diff_stats(a, b, NULL, &d, NULL, &err) != SQ_OK)
        return lsq_engine_error(L, 2, &err);
    lua_createtable(L, 0, 14);
    lsq_diff_fields(L, &d);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, lsq_diff_histogram, 2);
    lua_setfield(L, -2, "histogram");
    return 1;
}

/* sq.take_rows(t, idx) -> a new tensor whose row r (along the first axis) is
 * t's row idx[r] (1-based); #idx rows (stack: +1). */
static int lsq_take_rows(lua_State *L)
{
    sq_tensor *t = lsq_check_tensor(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_argcheck(L, t->ndim >= 1, 1, "a tensor of at least one dimension expected");
    size_t rows = t->shape[0], row = rows ? t->numel / rows : 0;
    lua_Integer n = lsq_checklen(L, 2, 2, (lua_Integer)1 << 40, "row list");
    size_t shape[SQ_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    shape[0] = (size_t)n;
    sq_error err;
    lsq_tensor *box = lsq_new_tensor(L);
    if (sq_tensor_new(shape, t->ndim, t->dtype, &box->t, &err) != SQ_OK)
        return lsq_engine_error(L, 2, &err);
    lsq_gc_account(L, box->t->numel * sizeof(float));
    for (lua_Integer r = 1; r <= n; r++) {
        lua_geti(L, 2, r);
        int ok;
        lua_Integer i = lua_tointegerx(L, -1, &ok);
        if (!ok || i < 1 || (size_t)i > rows)
            return luaL_argerror(L, 2, lua_pushfstring(L, "entry %I is not a row number in 1..%I", r,
                                                       (lua_Integer)rows));
        lua_pop(L, 1);
        memcpy(box->t->data + (size_t)(r - 1) * row, t->data + (size_t)(i - 1) * row, row * sizeof(float));
    }
    return 1;
}

/* The activation configuration table at idx into *cfg: the keys of a
 * quantization configuration, with granularity "token" (one dynamic range
 * per row of X) or "tensor" (one range, the default); checked against X's
 * shape [n, in]; errors name argument 5 (stack: 0). */
static void lsq_act_config(lua_State *L, int idx, const size_t *xshape, sq_qconfig *cfg)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_newtable(L); /* a copy with granularity rewritten */
    int copy = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, copy);
    }
    lua_getfield(L, copy, "granularity");
    if (!lua_isnil(L, -1)) {
        const char *g = lua_tostring(L, -1);
        if (lua_type(L, -1) != LUA_TSTRING || (strcmp(g, "token") != 0 && strcmp(g, "tensor") != 0))
            luaL_argerror(L, 5, "act.granularity must be 'token' or 'tensor'");
        if (strcmp(g, "token") == 0) {
            lua_pushliteral(L, "channel");
            lua_setfield(L, copy, "granularity");
            lua_pushinteger(L, 1);
            lua_setfield(L, copy, "axis");
        }
    }
    lua_pop(L, 1);
    lsq_parse_qconfig(L, copy, 5, "act: ", xshape, 2, cfg);
    lua_pop(L, 1);
}

/* sq.layer_error(W, X, cfg [, b [, act]]) -> {sqnr_db, rmse, max_abs_err,
 * mean_abs_err, median_abs_err, p95_abs_err, cosine, ... of the layer's
 * output Y = X W^T + b against Xq Wq^T + b, weight = {the same for W},
 * input = {the same for X}, tokens, in_features, out_features} (stack: +1). */
static int lsq_layer_error(lua_State *L)
{
    sq_tensor *w = lsq_check_tensor(L, 1), *x = lsq_check_tensor(L, 2), *b = NULL;
    sq_qconfig wcfg, acfg;
    lsq_parse_qconfig(L, 3, 3, "", w->shape, w->ndim, &wcfg);
    if (!lua_isnoneornil(L, 4))
        b = lsq_check_tensor(L, 4);
    int act = !lua_isnoneornil(L, 5);
    if (act) {
        luaL_argcheck(L, x->ndim == 1 || x->ndim == 2, 2, "the input must be [tokens, in] or [in]");
        size_t xs[2] = {x->ndim == 2 ? x->shape[0] : 1, x->shape[x->ndim - 1]};
        lsq_act_config(L, 5, xs, &acfg);
    }
    sq_layer_err r;
    sq_error err;
    if (sq_layer_error(w, x, b, &wcfg, act ? &acfg : NULL, &r, &err) != SQ_OK)
        return lsq_engine_error(L, 2, &err);
    lua_createtable(L, 0, 20);
    lsq_diff_fields(L, &r.output);
    lua_createtable(L, 0, 12);
    lsq_diff_fields(L, &r.weight);
    lua_setfield(L, -2, "weight");
    lua_createtable(L, 0, 12);
    lsq_diff_fields(L, &r.input);
    lua_setfield(L, -2, "input");
    lsq_setint(L, "tokens", r.tokens);
    lsq_setint(L, "in_features", r.in_features);
    lsq_setint(L, "out_features", r.out_features);
    lua_pushboolean(L, act);
    lua_setfield(L, -2, "input_quantized");
    return 1;
}

static const luaL_Reg lsq_diff_functions[] = {
    {"diff", lsq_diff},
    {"layer_error", lsq_layer_error},
    {"take_rows", lsq_take_rows},
    {NULL, NULL},
};

/* Add sq.diff, sq.layer_error and sq.take_rows to the module table on top (stack: 0). */
void lsq_diff_register(lua_State *L)
{
    luaL_setfuncs(L, lsq_diff_functions, 0);
}
