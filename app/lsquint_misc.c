/* lsquint_misc.c - module functions that belong to no type: sq.threads,
 * sq.lesson and sq.plot (charts as PNG or SVG). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lessons.h"
#include "lsquint.h"
#include "lsquint_int.h"
#include "plot.h"
#include "stats.h"
#include "threads.h"

/* sq.threads([n]): set the engine's thread count (n <= 0: the default, from
 * SQUINT_THREADS or the cores) and return the count in use (stack: +1). */
static int lsq_threads(lua_State *L)
{
    if (!lua_isnoneornil(L, 1)) {
        lua_Integer n = luaL_checkinteger(L, 1);
        luaL_argcheck(L, n <= SQ_THREADS_MAX, 1, "at most 64 threads");
        sq_threads_set(n <= 0 ? 0 : (int)n);
    }
    lua_pushinteger(L, sq_threads_get());
    return 1;
}

/* sq.lesson([n | path]): list the lessons, or run one (the runner in
 * lesson.lua beside them); returns the runner's status, 0 on success
 * (stack: +1). */
static int lsq_lesson(lua_State *L)
{
    char dir[4096];
    lua_settop(L, 1); /* the lesson (or nil) stays at 1 */
    if (!lua_isnil(L, 1) && !lua_isinteger(L, 1))
        luaL_checkstring(L, 1);
    if (!sq_lessons_dir(dir, sizeof dir))
        return luaL_error(L, "sq.lesson: the lessons are not installed (SQUINT_LESSONS names a folder of them)");
    lua_pushfstring(L, "%s/lesson.lua", dir);
    if (luaL_dofile(L, lua_tostring(L, -1)) != LUA_OK)
        return lua_error(L);
    lua_getfield(L, -1, "run");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
}

/* opts.key as a string, or dflt (stack: 0). */
static const char *opt_string(lua_State *L, int opts, const char *key, const char *dflt)
{
    if (lua_isnoneornil(L, opts))
        return dflt;
    lua_getfield(L, opts, key);
    const char *s = lua_isnil(L, -1) ? dflt : luaL_checkstring(L, -1);
    lua_pop(L, 1); /* the string stays referenced by opts */
    return s;
}

/* opts.key as an integer in [lo, hi], or dflt (stack: 0). */
static lua_Integer opt_int(lua_State *L, int opts, const char *key, lua_Integer dflt, lua_Integer lo, lua_Integer hi)
{
    if (lua_isnoneornil(L, opts))
        return dflt;
    lua_getfield(L, opts, key);
    lua_Integer v = lua_isnil(L, -1) ? dflt : luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    if (v < lo || v > hi)
        luaL_error(L, "bad option '%s' to 'plot' (%d is outside %d..%d)", key, (int)v, (int)lo, (int)hi);
    return v;
}

/* opts.key as a boolean (stack: 0). */
static bool opt_bool(lua_State *L, int opts, const char *key)
{
    if (lua_isnoneornil(L, opts))
        return false;
    lua_getfield(L, opts, key);
    bool v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* Write scene s to path and free it: true, or nil + message (stack: +1 or +2). */
static int plot_finish(lua_State *L, sq_scene *s, const char *path)
{
    sq_error err;
    sq_status st = sq_scene_write(s, path, &err);
    sq_scene_free(s);
    if (st == SQ_ERR_ARG)
        return luaL_argerror(L, 2, err.msg);
    if (st != SQ_OK) {
        luaL_pushfail(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* The histogram of h drawn into path with the labels in opts (stack: +1/+2). */
static int plot_hist(lua_State *L, const sq_hist *h, const char *path, int opts, const char *title,
                     const char *subtitle, const char *xlabel, const double *marks, size_t n_marks)
{
    sq_plot_hist ph = sq_plot_hist_default();
    ph.title = opt_string(L, opts, "title", title);
    ph.subtitle = opt_string(L, opts, "subtitle", subtitle);
    ph.xlabel = opt_string(L, opts, "xlabel", xlabel);
    ph.counts = h->counts;
    ph.bins = h->bins;
    ph.lo = h->lo;
    ph.hi = h->hi;
    ph.log_counts = opt_bool(L, opts, "log");
    ph.marks = marks;
    ph.n_marks = n_marks;
    sq_scene *s;
    sq_error err;
    if (sq_plot_histogram(&ph, &s, &err) != SQ_OK)
        return lsq_engine_error(L, 1, &err);
    return plot_finish(L, s, path);
}

/* A tensor's values: 64 bins over [min, max] (stack: +1/+2). */
static int plot_tensor(lua_State *L, const sq_tensor *t, const char *path, int opts)
{
    sq_summary sm;
    sq_tensor_summary(t, &sm);
    if (t->numel == 0 || sm.n_nan || sm.n_inf)
        return luaL_argerror(L, 1, "the tensor is empty or holds NaN/Inf: nothing to draw");
    double lo = sm.min, hi = sm.max > sm.min ? sm.max : sm.min + 1;
    sq_hist h;
    sq_error err;
    int bins = (int)opt_int(L, opts, "bins", 64, 1, 4096);
    if (sq_histogram_floats(t->data, t->numel, bins, lo, hi, &h, &err) != SQ_OK)
        return lsq_engine_error(L, 1, &err);
    void **g = lsq_guard(L, (lsq_free_fn)free);
    *g = h.counts;
    return plot_hist(L, &h, path, opts, "Values", NULL, "value", NULL, 0);
}

/* A quantized tensor's round-trip error against its source (argument 3 of
 * the call or the tensor sq.quantize made it from) (stack: +1/+2). */
static int plot_qtensor(lua_State *L, const sq_qtensor *q, const char *path, int opts)
{
    const sq_tensor *x = NULL;
    lua_getfield(L, opts, "source"); /* opts is a table here */
    if (!lua_isnil(L, -1)) {
        if (!luaL_testudata(L, -1, SQ_LUA_TENSOR))
            return luaL_argerror(L, 3, "opts.source must be a tensor");
        x = lsq_check_tensor(L, -1);
    }
    else if (lua_getiuservalue(L, 1, 1) != LUA_TNONE && luaL_testudata(L, -1, SQ_LUA_TENSOR))
        x = lsq_check_tensor(L, -1);
    if (!x)
        return luaL_argerror(L, 1, "the quantized tensor has no source to measure its error against "
                                   "(give opts.source)");
    sq_stats_opts so = {.hist_bins = (int)opt_int(L, opts, "bins", 64, 1, 4096), .range = SQ_HIST_RANGE_DATA};
    sq_stats st;
    sq_hist h;
    sq_error err;
    if (sq_roundtrip_stats(x, q, &so, &st, &h, &err) != SQ_OK)
        return lsq_engine_error(L, 1, &err);
    void **g = lsq_guard(L, (lsq_free_fn)free);
    *g = h.counts;
    char cfg[96], sub[160];
    snprintf(sub, sizeof sub, "%s: SQNR %.2f dB, RMSE %.3g", sq_qconfig_describe_from(&q->config, 1, cfg, sizeof cfg),
             st.sqnr_db, st.rmse);
    return plot_hist(L, &h, path, opts, "Round-trip error x - x^", sub, "error (value units)", NULL, 0);
}

/* SQNR against bits per weight (f16 scales) for the configurations in the
 * table at index 2, a series per granularity (stack: +1/+2). */
static int plot_configs(lua_State *L, const sq_tensor *t, const char *path, int opts)
{
    lua_Integer n = lsq_checklen(L, 2, 2, 256, "configurations");
    luaL_argcheck(L, n > 0, 2, "no configurations to plot");
    sq_plot_point *pts = lua_newuserdatauv(L, (size_t)n * sizeof *pts, 0);
    char *labels = lua_newuserdatauv(L, (size_t)n * 64, 0);
    static const char *const names[] = {"per-tensor", "per-channel", "per-group"};
    for (lua_Integer i = 0; i < n; i++) {
        sq_qconfig cfg;
        lua_geti(L, 2, i + 1);
        lsq_parse_qconfig(L, lua_gettop(L), 2, "", t->shape, t->ndim, &cfg);
        lua_pop(L, 1);
        sq_qtensor *q;
        sq_stats st;
        sq_error err;
        if (sq_quantize_stats(t, &cfg, NULL, &q, &st, NULL, &err) != SQ_OK)
            return lsq_engine_error(L, 2, &err);
        sq_qconfig_describe_from(&cfg, 1, labels + i * 64, 64);
        pts[i] = (sq_plot_point){st.bits_per_weight_f16, st.sqnr_db, (int)cfg.granularity, labels + i * 64};
        sq_qtensor_free(q);
    }
    sq_plot_scatter c = sq_plot_scatter_default();
    c.title = opt_string(L, opts, "title", "SQNR against bits per weight");
    c.subtitle = opt_string(L, opts, "subtitle", "scales stored as f16");
    c.xlabel = "bits per weight";
    c.ylabel = "SQNR (dB)";
    c.points = pts;
    c.n_points = (size_t)n;
    c.series_names = names;
    c.n_series = 3;
    c.lines = true;
    sq_scene *s;
    sq_error err;
    if (sq_plot_scatter_chart(&c, &s, &err) != SQ_OK)
        return lsq_engine_error(L, 2, &err);
    return plot_finish(L, s, path);
}

/* Refuse a key of the opts table at index opts (argument arg; nil: none)
 * that is not in keys (NULL-terminated), naming it and what applies:
 * options that do not apply are errors (stack: 0). */
static void check_opts(lua_State *L, int opts, int arg, const char *what, const char *const *keys)
{
    if (!lua_istable(L, opts))
        return;
    lua_pushnil(L);
    while (lua_next(L, opts) != 0) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        size_t i = 0;
        while (k && keys[i] && strcmp(k, keys[i]) != 0)
            i++;
        if (k && keys[i])
            continue;
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (i = 0; keys[i]; i++) {
            luaL_addstring(&b, i ? ", " : "");
            luaL_addstring(&b, keys[i]);
        }
        luaL_pushresult(&b);
        luaL_argerror(L, arg, lua_pushfstring(L, "opts: %s%s%s does not apply to %s (its options: %s)",
                                              k ? "'" : "", k ? k : luaL_tolstring(L, -2, NULL), k ? "'" : "",
                                              what, lua_tostring(L, -1)));
    }
}

/* sq.plot(t, path [, opts]): histogram of a tensor's values;
 * sq.plot(q, path [, opts]): histogram of a quantized tensor's error against
 * its source; sq.plot(t, {cfg, ...}, path [, opts]): SQNR against bits per
 * weight. path ends in .png or .svg. opts: title, subtitle, xlabel, bins,
 * log, source. Returns true, or nil and a message when the file cannot be
 * written (stack: +1 or +2). */
static int lsq_plot(lua_State *L)
{
    static const char *const cfg_keys[] = {"title", "subtitle", NULL};
    static const char *const t_keys[] = {"title", "subtitle", "xlabel", "bins", "log", NULL};
    static const char *const q_keys[] = {"title", "subtitle", "xlabel", "bins", "log", "source", NULL};
    if (lua_istable(L, 2)) {
        const sq_tensor *t = lsq_check_tensor(L, 1);
        const char *path = luaL_checkstring(L, 3);
        if (!lua_isnoneornil(L, 4))
            luaL_checktype(L, 4, LUA_TTABLE);
        lua_settop(L, 4); /* opts (or nil) at 4, whatever plot_configs pushes above it */
        check_opts(L, 4, 4, "a plot of configurations", cfg_keys);
        lua_pushnil(L);
        if (lua_rawlen(L, 2) == 0 && lua_next(L, 2) != 0 && lua_type(L, -2) == LUA_TSTRING) {
            lua_settop(L, 4); /* sq.plot(t, {bits = 4}, path): one configuration, as sq.compare */
            lua_createtable(L, 1, 0);
            lua_pushvalue(L, 2);
            lua_rawseti(L, -2, 1);
            lua_replace(L, 2);
        }
        lua_settop(L, 4);
        return plot_configs(L, t, path, 4);
    }
    const char *path = luaL_checkstring(L, 2);
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    else {
        lua_settop(L, 2);
        lua_newtable(L);
    }
    if (luaL_testudata(L, 1, SQ_LUA_QTENSOR)) {
        check_opts(L, 3, 3, "a quantized tensor's error histogram", q_keys);
        return plot_qtensor(L, lsq_check_qtensor(L, 1), path, 3);
    }
    check_opts(L, 3, 3, "a tensor's histogram", t_keys);
    return plot_tensor(L, lsq_check_tensor(L, 1), path, 3);
}

static const luaL_Reg lsq_misc_functions[] = {
    {"threads", lsq_threads},
    {"lesson", lsq_lesson},
    {"plot", lsq_plot},
    {NULL, NULL},
};

void lsq_misc_register(lua_State *L)
{
    luaL_setfuncs(L, lsq_misc_functions, 0);
}
