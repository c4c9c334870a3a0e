/* lsquint.c - the squint Lua module (see lsquint.h for the error channels).
 *
 * Userdata types follow liolib.c: each is a small box holding one engine
 * pointer, created "closed" (NULL) before the engine call that fills it, so a
 * Lua memory error can never leak an engine object; each has one __gc, a
 * method table and a metamethod table. A quantized tensor keeps its source
 * tensor as user value 1, which q:stats() and q:histogram() need. */
#include "lsquint.h"
#include "lsquint_int.h"

#include <jansson.h>
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfgopts.h"
#include "fileio.h"
#include "error.h"
#include "model.h"
#include "quant.h"
#include "stats.h"
#include "tensor.h"

typedef struct lsq_linear { sq_linear *l; } lsq_linear;
typedef struct lsq_qlinear { sq_qlinear *ql; } lsq_qlinear;

#define LSQ_NAMED_GUARD "squint.namedguard"
#define LSQ_GUARD "squint.guard"
#define LSQ_JSON_MAX_DEPTH 64

/* ======================================================================
 * Shared helpers
 * ==================================================================== */

/* Raise the engine error err: as an argument error on argument arg for
 * invalid input (arg > 0), else as a plain error. Never returns. */
int lsq_engine_error(lua_State *L, int arg, const sq_error *err)
{
    if (arg > 0 && (err->code == SQ_ERR_ARG || err->code == SQ_ERR_NONFINITE ||
                    err->code == SQ_ERR_NOTFOUND || err->code == SQ_ERR_OVERFLOW))
        return luaL_argerror(L, arg, err->msg);
    return luaL_error(L, "%s", err->msg);
}

/* Push a new userdata box of size sz with metatable tname and nuv user values,
 * zero-filled ("closed"); returns it (stack: +1). */
void *lsq_newbox(lua_State *L, size_t sz, const char *tname, int nuv)
{
    void *p = lua_newuserdatauv(L, sz, nuv);
    memset(p, 0, sz);
    luaL_setmetatable(L, tname);
    return p;
}

lua_Integer lsq_checklen(lua_State *L, int idx, int arg, lua_Integer max, const char *what)
{
    lua_Integer n = luaL_len(L, idx);
    if (n < 0 || n > max)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s has length %I (expected 0..%I)", what, n, max));
    return n;
}

typedef struct lsq_guard_box {
    void *p;
    lsq_free_fn fn;
} lsq_guard_box;

void **lsq_guard(lua_State *L, lsq_free_fn fn)
{
    lsq_guard_box *g = lsq_newbox(L, sizeof *g, LSQ_GUARD, 0);
    g->fn = fn;
    lua_toclose(L, -1); /* freed as soon as the calling function returns or raises */
    return &g->p;
}

void *lsq_guard_take(lua_State *L, int idx)
{
    lsq_guard_box *g = luaL_checkudata(L, idx, LSQ_GUARD);
    void *p = g->p;
    g->p = NULL;
    return p;
}

/* __gc of a guard, also lsq_guard_free (stack: 0). */
static int lsq_guard_gc(lua_State *L)
{
    lsq_guard_box *g = luaL_checkudata(L, 1, LSQ_GUARD);
    void *p = g->p;
    g->p = NULL;
    if (p)
        g->fn(p);
    return 0;
}

void lsq_guard_free(lua_State *L, int idx)
{
    lua_pushcfunction(L, lsq_guard_gc);
    lua_pushvalue(L, idx < 0 && idx > LUA_REGISTRYINDEX ? idx - 1 : idx);
    lua_call(L, 1, 0);
}

/* Bytes of tensor data created since the last full collection. */
static size_t lsq_external_bytes;

void lsq_gc_account(lua_State *L, size_t bytes)
{
    /* Lua's own heap stays small while tensors are large, so the collector
     * would hardly ever run: after every 64 MiB of tensor data, run a full
     * collection (cheap over a small heap), which frees the tensors no
     * longer reachable. */
    lsq_external_bytes += bytes;
    if (lsq_external_bytes >= (size_t)64 << 20) {
        lsq_external_bytes = 0;
        lua_gc(L, LUA_GCCOLLECT);
    }
}

/* Push a shape as a Lua array of sizes (stack: +1). */
void lsq_push_shape(lua_State *L, const size_t *shape, int ndim)
{
    lua_createtable(L, ndim, 0);
    for (int d = 0; d < ndim; d++) {
        lua_pushinteger(L, (lua_Integer)shape[d]);
        lua_rawseti(L, -2, d + 1);
    }
}

/* Read a shape argument: a table of non-negative integer sizes, or a single
 * integer for a vector. Raises an argument error on anything else (stack: 0). */
static int lsq_check_shape(lua_State *L, int arg, size_t *shape)
{
    if (lua_isinteger(L, arg)) {
        lua_Integer n = lua_tointeger(L, arg);
        luaL_argcheck(L, n >= 0, arg, "sizes must be non-negative");
        shape[0] = (size_t)n;
        return 1;
    }
    luaL_argexpected(L, lua_type(L, arg) == LUA_TTABLE, arg, "shape table");
    lua_Integer nd = luaL_len(L, arg);
    luaL_argcheck(L, nd >= 0 && nd <= SQ_MAX_DIMS, arg,
                  lua_pushfstring(L, "a shape has 0..8 dimensions, this one claims %I", nd));
    for (int d = 0; d < (int)nd; d++) {
        lua_geti(L, arg, d + 1);
        int isint;
        lua_Integer v = lua_tointegerx(L, -1, &isint);
        lua_pop(L, 1);
        if (!isint || v < 0)
            luaL_argerror(L, arg, lua_pushfstring(L, "size %d must be a non-negative integer", d + 1));
        shape[d] = (size_t)v;
    }
    return (int)nd;
}

/* Push "[2, 3]" for a shape (stack: +1). */
static void lsq_push_shape_string(lua_State *L, const size_t *shape, int ndim)
{
    char buf[8 * 24 + 4];
    lua_pushstring(L, sq_shape_format(shape, ndim, buf, sizeof buf));
}

/* ======================================================================
 * Tensors
 * ==================================================================== */

/* The tensor at arg (raises unless it is an open squint.tensor). */
sq_tensor *lsq_check_tensor(lua_State *L, int arg)
{
    lsq_tensor *b = luaL_checkudata(L, arg, SQ_LUA_TENSOR);
    luaL_argcheck(L, b->t != NULL, arg, "tensor has been freed");
    return b->t;
}

/* Push a closed tensor box (stack: +1). */
lsq_tensor *lsq_new_tensor(lua_State *L)
{
    return lsq_newbox(L, sizeof(lsq_tensor), SQ_LUA_TENSOR, 0);
}

/* Push a tensor box owning a deep copy of t (stack: +1). */
static void lsq_push_tensor_copy(lua_State *L, const sq_tensor *t)
{
    sq_error err;
    lsq_tensor *b = lsq_new_tensor(L);
    if (sq_tensor_clone(t, &b->t, &err) != SQ_OK)
        lsq_engine_error(L, 0, &err);
    lsq_gc_account(L, b->t->numel * sizeof(float));
}

/* Walk a nested table's first elements to find its shape (stack: 0). */
static int lsq_nested_shape(lua_State *L, int arg, size_t *shape)
{
    int nd = 0;
    lua_pushvalue(L, arg);
    while (lua_type(L, -1) == LUA_TTABLE) {
        if (nd == SQ_MAX_DIMS)
            luaL_argerror(L, arg, "too deeply nested (at most 8 dimensions)");
        shape[nd++] = (size_t)lua_rawlen(L, -1);
        if (shape[nd - 1] == 0)
            break;
        lua_rawgeti(L, -1, 1);
        lua_remove(L, -2);
    }
    lua_pop(L, 1);
    return nd;
}

/* Copy the nested table at stack index idx (depth d of shape) into *dst,
 * checking that it is rectangular with numeric leaves (stack: 0). */
static void lsq_nested_fill(lua_State *L, int arg, int idx, int d, const size_t *shape, int nd,
                            float **dst)
{
    luaL_checkstack(L, 4, "nesting too deep");
    if (lua_type(L, idx) != LUA_TTABLE || lua_rawlen(L, idx) != shape[d])
        luaL_argerror(L, arg, lua_pushfstring(L, "ragged nested table: expected %d elements at depth %d",
                                              (int)shape[d], d + 1));
    for (size_t i = 1; i <= shape[d]; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i);
        if (d + 1 < nd) {
            lsq_nested_fill(L, arg, lua_gettop(L), d + 1, shape, nd, dst);
        } else {
            if (lua_type(L, -1) != LUA_TNUMBER)
                luaL_argerror(L, arg, lua_pushfstring(L, "expected a number at depth %d, got %s", d + 1,
                                                      luaL_typename(L, -1)));
            *(*dst)++ = (float)lua_tonumber(L, -1);
        }
        lua_pop(L, 1);
    }
}

/* sq.tensor(nested_table | number) -> tensor (stack: +1). */
static int lsq_tensor_new(lua_State *L)
{
    size_t shape[SQ_MAX_DIMS] = {0};
    sq_error err;
    int nd = 0;
    if (lua_type(L, 1) == LUA_TNUMBER) {
        lsq_tensor *b = lsq_new_tensor(L);
        if (sq_tensor_new(shape, 0, SQ_DTYPE_F32, &b->t, &err) != SQ_OK)
            return lsq_engine_error(L, 1, &err);
        lsq_gc_account(L, b->t->numel * sizeof(float));
        b->t->data[0] = (float)lua_tonumber(L, 1);
        return 1;
    }
    luaL_argexpected(L, lua_type(L, 1) == LUA_TTABLE, 1, "table or number");
    nd = lsq_nested_shape(L, 1, shape);
    lsq_tensor *b = lsq_new_tensor(L);
    if (sq_tensor_new(shape, nd, SQ_DTYPE_F32, &b->t, &err) != SQ_OK)
        return lsq_engine_error(L, 1, &err);
    lsq_gc_account(L, b->t->numel * sizeof(float));
    float *dst = b->t->data;
    if (b->t->numel > 0)
        lsq_nested_fill(L, 1, 1, 0, shape, nd, &dst);
    return 1;
}

/* sq.randn(shape [, seed]) -> tensor of N(0, 1) values (stack: +1). */
static int lsq_randn(lua_State *L)
{
    size_t shape[SQ_MAX_DIMS];
    sq_error err;
    int nd = lsq_check_shape(L, 1, shape);
    lua_Integer seed = luaL_optinteger(L, 2, 0);
    lsq_tensor *b = lsq_new_tensor(L);
    if (sq_tensor_randn(shape, nd, (uint64_t)seed, &b->t, &err) != SQ_OK)
        return lsq_engine_error(L, 1, &err);
    lsq_gc_account(L, b->t->numel * sizeof(float));
    return 1;
}

/* sq.zeros(shape) -> tensor of zeros (stack: +1). */
static int lsq_zeros(lua_State *L)
{
    size_t shape[SQ_MAX_DIMS];
    sq_error err;
    int nd = lsq_check_shape(L, 1, shape);
    lsq_tensor *b = lsq_new_tensor(L);
    if (sq_tensor_new(shape, nd, SQ_DTYPE_F32, &b->t, &err) != SQ_OK)
        return lsq_engine_error(L, 1, &err);
    lsq_gc_account(L, b->t->numel * sizeof(float));
    return 1;
}

/* sq.demo() -> the built-in 256 x 512 demo tensor (stack: +1). */
static int lsq_demo(lua_State *L)
{
    sq_error err;
    lsq_tensor *b = lsq_new_tensor(L);
    if (sq_tensor_demo(&b->t, &err) != SQ_OK)
        return lsq_engine_error(L, 0, &err);
    lsq_gc_account(L, b->t->numel * sizeof(float));
    return 1;
}

/* t:numel() -> element count (stack: +1). */
static int lsq_tensor_numel(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)lsq_check_tensor(L, 1)->numel);
    return 1;
}

/* t:get(i, j, ...) -> the element at 1-based indices (stack: +1). */
static int lsq_tensor_get(lua_State *L)
{
    sq_tensor *t = lsq_check_tensor(L, 1);
    int nargs = lua_gettop(L) - 1;
    if (nargs != t->ndim)
        return luaL_error(L, "get: expected %d index%s for a tensor of shape %s, got %d", t->ndim,
                          t->ndim == 1 ? "" : "es",
                          (lsq_push_shape_string(L, t->shape, t->ndim), lua_tostring(L, -1)), nargs);
    size_t flat = 0;
    for (int d = 0; d < t->ndim; d++) {
        lua_Integer i = luaL_checkinteger(L, d + 2);
        if (i < 1 || (size_t)i > t->shape[d])
            luaL_argerror(L, d + 2, lua_pushfstring(L, "index %I out of range 1..%I", i,
                                                    (lua_Integer)t->shape[d]));
        flat = flat * t->shape[d] + (size_t)(i - 1);
    }
    lua_pushnumber(L, t->data[flat]);
    return 1;
}

/* Push one field of the value summary of the tensor at 1 (stack: +1). */
static int lsq_tensor_summary_field(lua_State *L, int which)
{
    sq_summary s;
    sq_tensor_summary(lsq_check_tensor(L, 1), &s);
    double v[4] = {s.min, s.max, s.mean, s.std};
    lua_pushnumber(L, v[which]);
    return 1;
}

/* t:min(), t:max(), t:mean(), t:std() over the finite values (stack: +1). */
static int lsq_tensor_min(lua_State *L) { return lsq_tensor_summary_field(L, 0); }
static int lsq_tensor_max(lua_State *L) { return lsq_tensor_summary_field(L, 1); }
static int lsq_tensor_mean(lua_State *L) { return lsq_tensor_summary_field(L, 2); }
static int lsq_tensor_std(lua_State *L) { return lsq_tensor_summary_field(L, 3); }

/* Push the nested table of dimension d onward, consuming values from *src (stack: +1). */
static void lsq_push_nested(lua_State *L, const sq_tensor *t, int d, const float **src)
{
    luaL_checkstack(L, 3, "nesting too deep");
    lua_createtable(L, LSQ_SIZEHINT(t->shape[d]), 0);
    for (size_t i = 1; i <= t->shape[d]; i++) {
        if (d + 1 < t->ndim)
            lsq_push_nested(L, t, d + 1, src);
        else
            lua_pushnumber(L, *(*src)++);
        lua_rawseti(L, -2, (lua_Integer)i);
    }
}

/* The nested tables t:totable() builds beyond those holding values: a
 * zero-element tensor may claim huge dimensions ([1, 2^40, 0]) that would
 * each become an empty table. Allowed: a few per value, plus 65536. */
#define LSQ_TOTABLE_SPARE 65536

/* Number of tables t:totable() would build (saturating at SIZE_MAX). */
static size_t lsq_totable_count(const sq_tensor *t)
{
    size_t total = 0, level = 1;
    for (int d = 0; d < t->ndim; d++) {
        if (total > SIZE_MAX - level)
            return SIZE_MAX;
        total += level; /* the tables of dimension d */
        if (t->shape[d] != 0 && level > SIZE_MAX / t->shape[d])
            level = SIZE_MAX;
        else
            level *= t->shape[d];
    }
    return total;
}

/* t:totable() -> nested Lua tables (a number for a scalar); raises for a
 * zero-element tensor whose shape would need absurdly many empty tables (stack: +1). */
static int lsq_tensor_totable(lua_State *L)
{
    sq_tensor *t = lsq_check_tensor(L, 1);
    size_t tables = lsq_totable_count(t), numel = t->numel;
    size_t limit = numel <= (SIZE_MAX - LSQ_TOTABLE_SPARE) / SQ_MAX_DIMS ? numel * SQ_MAX_DIMS + LSQ_TOTABLE_SPARE
                                                                         : SIZE_MAX;
    if (tables > limit) {
        char shape[8 * 24 + 4];
        return luaL_error(L, "totable: a tensor of shape %s has %I elements but would need %s nested tables",
                          sq_shape_format(t->shape, t->ndim, shape, sizeof shape), (lua_Integer)numel,
                          tables == SIZE_MAX ? "more than 2^64" : lua_pushfstring(L, "%I", (lua_Integer)tables));
    }
    const float *src = t->data;
    if (t->ndim == 0)
        lua_pushnumber(L, t->data[0]);
    else
        lsq_push_nested(L, t, 0, &src);
    return 1;
}

/* #t: size of the first dimension, 1 for a scalar (stack: +1). */
static int lsq_tensor_len(lua_State *L)
{
    sq_tensor *t = lsq_check_tensor(L, 1);
    lua_pushinteger(L, (lua_Integer)(t->ndim ? t->shape[0] : 1));
    return 1;
}

/* tostring(t): "tensor[256, 512] f32 min .. max .. mean .. std .." and the
 * values themselves for tiny tensors (stack: +1). */
static int lsq_tensor_tostring(lua_State *L)
{
    lsq_tensor *b = luaL_checkudata(L, 1, SQ_LUA_TENSOR);
    if (!b->t) {
        lua_pushliteral(L, "tensor (freed)");
        return 1;
    }
    sq_summary s;
    char shape[8 * 24 + 4];
    sq_tensor_summary(b->t, &s);
    luaL_Buffer B;
    luaL_buffinit(L, &B);
    lua_pushfstring(L, "tensor%s %s", sq_shape_format(b->t->shape, b->t->ndim, shape, sizeof shape),
                    sq_dtype_name(b->t->dtype));
    luaL_addvalue(&B);
    if (b->t->numel > 0 && b->t->numel <= 8) {
        luaL_addstring(&B, " {");
        for (size_t i = 0; i < b->t->numel; i++) {
            char num[40];
            snprintf(num, sizeof num, "%s%.6g", i ? ", " : "", (double)b->t->data[i]);
            luaL_addstring(&B, num);
        }
        luaL_addstring(&B, "}");
    } else if (b->t->numel > 0) {
        char num[160];
        snprintf(num, sizeof num, " min %.4g max %.4g mean %.4g std %.4g", s.min, s.max, s.mean, s.std);
        luaL_addstring(&B, num);
    }
    luaL_pushresult(&B);
    return 1;
}

/* __gc / __close: free the tensor (stack: 0). */
static int lsq_tensor_gc(lua_State *L)
{
    lsq_tensor *b = luaL_checkudata(L, 1, SQ_LUA_TENSOR);
    sq_tensor_free(b->t);
    b->t = NULL;
    return 0;
}

/* Fields of a tensor: shape, dtype, ndim; pushes nil for others (stack: +1). */
static void lsq_tensor_field(lua_State *L, const sq_tensor *t, const char *k)
{
    if (strcmp(k, "shape") == 0)
        lsq_push_shape(L, t->shape, t->ndim);
    else if (strcmp(k, "dtype") == 0)
        lua_pushstring(L, sq_dtype_name(t->dtype));
    else if (strcmp(k, "ndim") == 0)
        lua_pushinteger(L, t->ndim);
    else
        lua_pushnil(L);
}

/* __index of a tensor: a method from upvalue 1, else a field (stack: +1). */
static int lsq_tensor_index(lua_State *L)
{
    sq_tensor *t = lsq_check_tensor(L, 1);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL || lua_type(L, 2) != LUA_TSTRING)
        return 1;
    lsq_tensor_field(L, t, lua_tostring(L, 2));
    return 1;
}

/* ======================================================================
 * Quantization configuration
 * ==================================================================== */

/* Raise "bad argument #arg to 'f' (<prefix>msg)" (msg is a format). */
static int lsq_cfg_error(lua_State *L, int arg, const char *prefix, const char *msg)
{
    return luaL_argerror(L, arg, lua_pushfstring(L, "%s%s", prefix, msg));
}

/* Text of the value at the top of the stack for messages (stack: +1). */
static const char *lsq_value_text(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TSTRING)
        return lua_pushfstring(L, "'%s'", lua_tostring(L, idx));
    return luaL_tolstring(L, idx, NULL);
}

/* Read an integer cfg value at the top of the stack within [lo, hi]. */
static int lsq_cfg_int(lua_State *L, int arg, const char *prefix, const char *key, lua_Integer lo,
                       lua_Integer hi, const char *range)
{
    int isint;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (lua_type(L, -1) != LUA_TNUMBER || !isint || v < lo || v > hi)
        lsq_cfg_error(L, arg, prefix,
                      lua_pushfstring(L, "%s must be %s, got %s", key, range, lsq_value_text(L, -1)));
    return (int)v;
}

/* A number cfg value at the top of the stack in (0, hi], hi an integer (stack: 0). */
static double lsq_cfg_number(lua_State *L, int arg, const char *prefix, const char *key, int hi)
{
    double v = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || !(v > 0.0 && v <= hi))
        lsq_cfg_error(L, arg, prefix, lua_pushfstring(L, "%s must be a number in (0, %d], got %s", key, hi,
                                                      lsq_value_text(L, -1)));
    return v;
}

/* The calibration keys: calibration, percentile, clip, range = {lo, hi};
 * given[1] records an explicit calibration, given[2] the method a
 * parameter implies (stack: 0). Returns 0 for another key. */
static int lsq_cfg_calib_key(lua_State *L, int arg, const char *prefix, const char *k, sq_qconfig *cfg, int *given)
{
    if (strcmp(k, "calibration") == 0) {
        const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
        if (!sq_calibration_parse(s, &cfg->calibration))
            lsq_cfg_error(L, arg, prefix,
                          lua_pushfstring(L, "calibration must be 'minmax', 'percentile', 'mse', 'clip', "
                                             "'range' or 'kl', got %s", lsq_value_text(L, -1)));
        given[1] = 1 + (int)cfg->calibration;
        return 1;
    }
    int implied;
    if (strcmp(k, "percentile") == 0) {
        cfg->percentile = lsq_cfg_number(L, arg, prefix, k, 100);
        implied = SQ_CALIB_PERCENTILE;
    } else if (strcmp(k, "clip") == 0) {
        cfg->clip = lsq_cfg_number(L, arg, prefix, k, 1);
        implied = SQ_CALIB_CLIP;
    } else if (strcmp(k, "range") == 0) {
        int ok = lua_type(L, -1) == LUA_TTABLE && luaL_len(L, -1) == 2;
        if (ok) {
            lua_geti(L, -1, 1);
            lua_geti(L, -2, 2);
            ok = lua_type(L, -2) == LUA_TNUMBER && lua_type(L, -1) == LUA_TNUMBER;
            cfg->range_lo = lua_tonumber(L, -2);
            cfg->range_hi = lua_tonumber(L, -1);
            lua_pop(L, 2);
            ok = ok && isfinite(cfg->range_lo) && isfinite(cfg->range_hi) && cfg->range_lo < cfg->range_hi;
        }
        if (!ok)
            lsq_cfg_error(L, arg, prefix, lua_pushfstring(L, "range must be {lo, hi} with finite lo < hi, got %s",
                                                          lsq_value_text(L, -1)));
        implied = SQ_CALIB_RANGE;
    } else {
        return 0;
    }
    if (given[2] && given[2] != 1 + implied)
        lsq_cfg_error(L, arg, prefix, "percentile, clip and range exclude each other");
    given[2] = 1 + implied;
    return 1;
}

/* The option bit of configuration key k (calibration's parameters count as
 * calibration), or 0 for format and unknown keys. */
static unsigned lsq_cfg_opt_bit(const char *k)
{
    static const char *const calib[] = {"percentile", "clip", "range"};
    for (int o = 0; o < SQ_OPT_COUNT; o++)
        if (strcmp(k, sq_opt_name((sq_opt)o, SQ_OPTS_LUA)) == 0)
            return SQ_OPT_BIT(o);
    for (size_t i = 0; i < sizeof calib / sizeof calib[0]; i++)
        if (strcmp(k, calib[i]) == 0)
            return SQ_OPT_BIT(SQ_OPT_CALIBRATION);
    return 0;
}

/* cfg = the configuration the table's `format` key (at stack index idx)
 * implies: sq_qconfig_for_format, or the defaults when absent (stack: 0). */
static void lsq_cfg_format(lua_State *L, int idx, int arg, const char *prefix, sq_qconfig *cfg)
{
    sq_format f = SQ_FORMAT_INT;
    int t = lua_getfield(L, idx, "format");
    if (t != LUA_TNIL && (t != LUA_TSTRING || !sq_format_parse(lua_tostring(L, -1), &f))) {
        char names[400];
        lsq_cfg_error(L, arg, prefix, lua_pushfstring(L, "format must be one of %s, got %s",
                                                      sq_opts_format_list(names, sizeof names),
                                                      lsq_value_text(L, -1)));
    }
    lua_pop(L, 1);
    *cfg = sq_qconfig_for_format(f);
}

/* Parse one configuration key (value at the top of the stack) into cfg. */
static void lsq_cfg_key(lua_State *L, int arg, const char *prefix, const char *k, sq_qconfig *cfg,
                        int *given)
{
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    if (strcmp(k, "format") == 0) {
        return; /* read first, by lsq_cfg_format */
    } else if (strcmp(k, "double_quant") == 0) {
        if (!lua_isboolean(L, -1))
            lsq_cfg_error(L, arg, prefix, lua_pushfstring(L, "double_quant must be a boolean, got %s",
                                                          lsq_value_text(L, -1)));
        cfg->double_quant = lua_toboolean(L, -1);
    } else if (strcmp(k, "bits") == 0) {
        cfg->bits = lsq_cfg_int(L, arg, prefix, k, SQ_BITS_MIN, SQ_BITS_MAX, "an integer in 2..8");
    } else if (strcmp(k, "mode") == 0) {
        if (!sq_mode_parse(s, &cfg->mode))
            lsq_cfg_error(L, arg, prefix, lua_pushfstring(L, "mode must be 'symmetric' or 'asymmetric', got %s",
                                                          lsq_value_text(L, -1)));
    } else if (strcmp(k, "granularity") == 0) {
        if (!sq_granularity_parse(s, &cfg->granularity))
            lsq_cfg_error(L, arg, prefix,
                          lua_pushfstring(L, "granularity must be 'tensor', 'channel' or 'group', got %s",
                                          lsq_value_text(L, -1)));
    } else if (strcmp(k, "axis") == 0) {
        cfg->axis = lsq_cfg_int(L, arg, prefix, k, 1, SQ_MAX_DIMS, "an integer in 1..8 (1 = first dimension)") - 1;
        given[0] = 1;
    } else if (strcmp(k, "group_size") == 0) {
        cfg->group_size = (size_t)lsq_cfg_int(L, arg, prefix, k, 1, INT32_MAX, "a positive integer");
    } else if (strcmp(k, "rounding") == 0) {
        if (!sq_rounding_parse(s, &cfg->rounding))
            lsq_cfg_error(L, arg, prefix, lua_pushfstring(L, "rounding must be 'away' or 'even', got %s",
                                                          lsq_value_text(L, -1)));
    } else if (strcmp(k, "scale_dtype") == 0) {
        if (!sq_scale_store_parse(s, &cfg->scale_store))
            lsq_cfg_error(L, arg, prefix, lua_pushfstring(L, "scale_dtype must be 'f16', 'f32' or 'f64', got %s",
                                                          lsq_value_text(L, -1)));
    } else if (strcmp(k, "zero_in_range") == 0) {
        if (!lua_isboolean(L, -1))
            lsq_cfg_error(L, arg, prefix, lua_pushfstring(L, "zero_in_range must be a boolean, got %s",
                                                          lsq_value_text(L, -1)));
        cfg->zero_in_range = lua_toboolean(L, -1);
    } else if (!lsq_cfg_calib_key(L, arg, prefix, k, cfg, given)) {
        lsq_cfg_error(L, arg, prefix, lua_pushfstring(L, "unknown key '%s'", k));
    }
}

/* Read the configuration table at stack index idx (nil: the defaults) into
 * cfg; errors are reported against argument arg with prefix. When shape is
 * given, also check cfg against it (axis 1-based in messages) (stack: 0). */
void lsq_parse_qconfig(lua_State *L, int idx, int arg, const char *prefix, const size_t *shape,
                              int ndim, sq_qconfig *cfg)
{
    int given[3] = {0, 0, 0}; /* axis; calibration; the method a parameter implies (each 1 + value) */
    unsigned set = 0;         /* the options the table gives (cfgopts.h) */
    *cfg = sq_qconfig_default();
    idx = lua_absindex(L, idx);
    if (lua_isnoneornil(L, idx))
        return;
    if (lua_type(L, idx) != LUA_TTABLE)
        lsq_cfg_error(L, arg, prefix, lua_pushfstring(L, "configuration table expected, got %s",
                                                      luaL_typename(L, idx)));
    lsq_cfg_format(L, idx, arg, prefix, cfg);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING)
            lsq_cfg_error(L, arg, prefix, lua_pushfstring(L, "unknown key %s", lsq_value_text(L, -2)));
        lsq_cfg_key(L, arg, prefix, lua_tostring(L, -2), cfg, given);
        set |= lsq_cfg_opt_bit(lua_tostring(L, -2));
        lua_pop(L, 1);
    }
    if (given[2] && !given[1])
        cfg->calibration = (sq_calibration)(given[2] - 1);
    else if (given[2] && given[1] != given[2])
        lsq_cfg_error(L, arg, prefix,
                      lua_pushfstring(L, "calibration '%s' takes no %s", sq_calibration_name(cfg->calibration),
                                      given[2] == 1 + SQ_CALIB_PERCENTILE ? "percentile"
                                      : given[2] == 1 + SQ_CALIB_CLIP   ? "clip"
                                                                         : "range"));
    char why[300];
    if (sq_opts_check(cfg, set, SQ_OPTS_LUA, why, sizeof why) >= 0)
        lsq_cfg_error(L, arg, prefix, why);
    if (!shape)
        return;
    if (cfg->granularity == SQ_GRAN_CHANNEL && cfg->axis >= ndim)
        lsq_cfg_error(L, arg, prefix, lua_pushfstring(L, "axis = %d is out of range for a tensor of %d dimension%s",
                                                      cfg->axis + 1, ndim, ndim == 1 ? "" : "s"));
    sq_error err;
    if (sq_qconfig_check(cfg, shape, ndim, &err) != SQ_OK)
        lsq_cfg_error(L, arg, prefix, err.msg);
}

/* Describe cfg as the engine does, but with the 1-based axis Lua uses:
 * "int8 sym per-channel(axis 1)". Returns buf. */
char *lsq_describe(const sq_qconfig *cfg, char *buf, size_t size)
{
    return sq_qconfig_describe_from(cfg, 1, buf, size);
}

/* Push a configuration as a table sq.quantize accepts back (stack: +1):
 * format, and axis / group_size only where the granularity uses them,
 * scale_dtype only for INT scales not kept as f64. */
static void lsq_push_qconfig(lua_State *L, const sq_qconfig *cfg)
{
    lua_createtable(L, 0, 9);
    lua_pushstring(L, sq_format_name(cfg->format));
    lua_setfield(L, -2, "format");
    if (cfg->format == SQ_FORMAT_NF4) {
        lua_pushboolean(L, cfg->double_quant);
        lua_setfield(L, -2, "double_quant");
    }
    lua_pushinteger(L, cfg->bits);
    lua_setfield(L, -2, "bits");
    lua_pushstring(L, sq_mode_name(cfg->mode));
    lua_setfield(L, -2, "mode");
    lua_pushstring(L, sq_granularity_name(cfg->granularity));
    lua_setfield(L, -2, "granularity");
    if (cfg->granularity == SQ_GRAN_CHANNEL) {
        lua_pushinteger(L, cfg->axis + 1);
        lua_setfield(L, -2, "axis");
    }
    if (cfg->granularity == SQ_GRAN_GROUP) {
        lua_pushinteger(L, (lua_Integer)cfg->group_size);
        lua_setfield(L, -2, "group_size");
    }
    lua_pushstring(L, sq_rounding_name(cfg->rounding));
    lua_setfield(L, -2, "rounding");
    if (cfg->format == SQ_FORMAT_INT && cfg->scale_store != SQ_SCALE_F64) {
        lua_pushstring(L, sq_scale_store_name(cfg->scale_store));
        lua_setfield(L, -2, "scale_dtype");
    }
    lua_pushboolean(L, cfg->zero_in_range);
    lua_setfield(L, -2, "zero_in_range");
    lua_pushstring(L, sq_calibration_name(cfg->calibration));
    lua_setfield(L, -2, "calibration");
    if (cfg->calibration == SQ_CALIB_PERCENTILE) {
        lua_pushnumber(L, cfg->percentile);
        lua_setfield(L, -2, "percentile");
    } else if (cfg->calibration == SQ_CALIB_CLIP) {
        lua_pushnumber(L, cfg->clip);
        lua_setfield(L, -2, "clip");
    } else if (cfg->calibration == SQ_CALIB_RANGE) {
        lua_createtable(L, 2, 0);
        lua_pushnumber(L, cfg->range_lo);
        lua_rawseti(L, -2, 1);
        lua_pushnumber(L, cfg->range_hi);
        lua_rawseti(L, -2, 2);
        lua_setfield(L, -2, "range");
    }
}

/* ======================================================================
 * Quantized tensors
 * ==================================================================== */

/* The quantized tensor at arg. */
sq_qtensor *lsq_check_qtensor(lua_State *L, int arg)
{
    lsq_qtensor *b = luaL_checkudata(L, arg, SQ_LUA_QTENSOR);
    luaL_argcheck(L, b->q != NULL, arg, "quantized tensor has been freed");
    return b->q;
}

/* The source tensor of the quantized tensor at 1 (its user value). */
static sq_tensor *lsq_qtensor_source(lua_State *L)
{
    lua_getiuservalue(L, 1, 1);
    lsq_tensor *b = luaL_testudata(L, -1, SQ_LUA_TENSOR);
    lua_pop(L, 1); /* still referenced by the user value */
    if (!b || !b->t)
        luaL_error(L, "this quantized tensor has no source tensor to compare with");
    return b->t;
}

/* lsq_free_fn releasing a histogram's counts. */
static void lsq_hist_free(void *p)
{
    sq_hist_free(p);
}

/* Keep in box b the 64-bin "step" histogram h of an INT quantization when it
 * holds every error (that is the default histogram then, see
 * lsq_q_histogram), else free it; records b->step_ok (stack: 0). */
static void lsq_keep_step_hist(lsq_qtensor *b, sq_hist *h)
{
    b->step_ok = h->counts && h->below == 0 && h->above == 0;
    if (b->step_ok)
        b->hist = *h;
    else
        sq_hist_free(h);
}

/* Quantize the tensor at stack index tidx with cfg into a new qtensor box
 * remembering the source (stack: +1): one fused pass forms the codes, the
 * statistics and (INT format) the 64-bin error histogram over the "step"
 * range, kept in the box for q:stats() and q:histogram(). Engine errors name
 * argument arg. */
static void lsq_push_quantized(lua_State *L, int tidx, const sq_qconfig *cfg, int arg)
{
    sq_error err;
    sq_hist h = {0};
    tidx = lua_absindex(L, tidx);
    sq_tensor *t = lsq_check_tensor(L, tidx);
    lsq_qtensor *b = lsq_newbox(L, sizeof(lsq_qtensor), SQ_LUA_QTENSOR, 1);
    /* 64 bins, "step" range; no code counts: counting them in the pass costs
     * about a third of it (two counter increments a value), counting them
     * from the packed codes when q:code_histogram() asks is cheaper */
    sq_stats_opts o = sq_stats_opts_default();
    int with_hist = cfg->format == SQ_FORMAT_INT; /* other formats: "step" would be a second pass */
    if (sq_quantize_stats(t, cfg, &o, &b->q, &b->stats, with_hist ? &h : NULL, &err) != SQ_OK)
        lsq_engine_error(L, err.code == SQ_ERR_NONFINITE ? 1 : arg, &err);
    lsq_keep_step_hist(b, &h);
    b->have_stats = 1;
    lsq_gc_account(L, b->q->code_bytes + b->q->n_scales * 2 * sizeof(double));
    lua_pushvalue(L, tidx);
    lua_setiuservalue(L, -2, 1);
}

/* sq.quantize(t [, cfg]) -> quantized tensor (stack: +1). */
static int lsq_quantize(lua_State *L)
{
    sq_qconfig cfg;
    sq_tensor *t = lsq_check_tensor(L, 1);
    lsq_parse_qconfig(L, 2, 2, "", t->shape, t->ndim, &cfg);
    lsq_push_quantized(L, 1, &cfg, 2);
    return 1;
}

/* q:dequantize() -> tensor (stack: +1). */
static int lsq_q_dequantize(lua_State *L)
{
    sq_error err;
    sq_qtensor *q = lsq_check_qtensor(L, 1);
    lsq_tensor *b = lsq_new_tensor(L);
    if (sq_dequantize(q, &b->t, &err) != SQ_OK)
        return lsq_engine_error(L, 0, &err);
    lsq_gc_account(L, b->t->numel * sizeof(float));
    return 1;
}

/* q:codes() -> tensor of the signed integer codes (dtype i8) (stack: +1). */
static int lsq_q_codes(lua_State *L)
{
    sq_error err;
    int8_t buf[4096];
    sq_qtensor *q = lsq_check_qtensor(L, 1);
    lsq_tensor *b = lsq_new_tensor(L);
    if (sq_tensor_new(q->shape, q->ndim, SQ_DTYPE_I8, &b->t, &err) != SQ_OK)
        return lsq_engine_error(L, 0, &err);
    lsq_gc_account(L, b->t->numel * sizeof(float));
    for (size_t i = 0; i < q->numel; i += sizeof buf) {
        size_t n = q->numel - i < sizeof buf ? q->numel - i : sizeof buf;
        sq_qtensor_codes(q, i, n, buf);
        for (size_t j = 0; j < n; j++)
            b->t->data[i + j] = buf[j];
    }
    return 1;
}

/* Push n doubles as a Lua array (stack: +1). */
static void lsq_push_doubles(lua_State *L, const double *v, size_t n)
{
    lua_createtable(L, LSQ_SIZEHINT(n), 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushnumber(L, v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* q:scales() -> array of the scales, exact doubles (stack: +1). */
static int lsq_q_scales(lua_State *L)
{
    sq_qtensor *q = lsq_check_qtensor(L, 1);
    lsq_push_doubles(L, q->scales, q->n_scales);
    return 1;
}

/* q:zero_points() -> array of the zero points (stack: +1). */
static int lsq_q_zero_points(lua_State *L)
{
    sq_qtensor *q = lsq_check_qtensor(L, 1);
    lsq_push_doubles(L, q->zero_points, q->n_scales);
    return 1;
}

/* q:size_bytes() -> packed code bytes (stack: +1). */
static int lsq_q_size_bytes(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)sq_qtensor_size_bytes(lsq_check_qtensor(L, 1)));
    return 1;
}

/* q:compression_ratio() -> 4 * numel / size_bytes (stack: +1). */
static int lsq_q_compression_ratio(lua_State *L)
{
    lua_pushnumber(L, sq_qtensor_compression_ratio(lsq_check_qtensor(L, 1)));
    return 1;
}

/* q:numel() (stack: +1). */
static int lsq_q_numel(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)lsq_check_qtensor(L, 1)->numel);
    return 1;
}

/* Set t[k] = v for a number / integer field of the table on top. */
void lsq_setnum(lua_State *L, const char *k, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}
void lsq_setint(lua_State *L, const char *k, size_t v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

/* Push round-trip statistics of q as a table; the sizes are the one
 * accounting (sq_qtensor_storage_bytes: codes + scales in q's scale_dtype +
 * zero points, as squint quantize writes them), the seed's figures keep
 * seed_* names (stack: +1). */
static void lsq_push_stats(lua_State *L, const sq_stats *st, const sq_qtensor *q)
{
    size_t bytes = sq_qtensor_storage_bytes(q);
    lua_createtable(L, 0, 22);
    lsq_setnum(L, "mse", st->mse);
    lsq_setnum(L, "mse_round", st->mse_round);
    lsq_setnum(L, "mse_clip", st->mse_clip);
    lsq_setnum(L, "rmse", st->rmse);
    lsq_setnum(L, "max_abs_err", st->max_abs_err);
    lsq_setnum(L, "mean_abs_err", st->mean_abs_err);
    lsq_setnum(L, "sqnr_db", st->sqnr_db);
    lsq_setnum(L, "cosine", st->cosine);
    lsq_setnum(L, "err_min", st->err_min);
    lsq_setnum(L, "err_max", st->err_max);
    lsq_setint(L, "clipped", st->clipped);
    lsq_setnum(L, "clipped_frac", st->clipped_frac);
    lsq_setint(L, "numel", st->numel);
    lsq_setint(L, "fp32_bytes", st->fp32_bytes);
    lsq_setint(L, "bytes", bytes);
    lsq_setnum(L, "bits_per_weight", st->numel ? 8.0 * (double)bytes / (double)st->numel : 0.0);
    lsq_setnum(L, "ratio", bytes ? 4.0 * (double)st->numel / (double)bytes : 1.0);
    lua_pushstring(L, q->config.format == SQ_FORMAT_INT ? sq_scale_store_name(q->config.scale_store)
                                                       : sq_format_info_of((int)q->config.format)->scale_desc);
    lua_setfield(L, -2, "scale_dtype");
    lsq_setnum(L, "bits_per_weight_f16", st->bits_per_weight_f16);
    lsq_setint(L, "seed_size_bytes", st->size_bytes);
    lsq_setint(L, "seed_meta_bytes", st->meta_bytes);
    lsq_setnum(L, "seed_ratio", st->compression);
}

/* The quantized tensor box at 1 with its statistics against the source
 * known, and whether every error lies in the "step" range (one pass, which
 * also bins the 64-bin step histogram of an INT quantization, when
 * sq.quantize did not leave them) (stack: 0). */
static lsq_qtensor *lsq_q_with_stats(lua_State *L)
{
    sq_error err;
    lsq_check_qtensor(L, 1);
    lsq_qtensor *b = lua_touserdata(L, 1);
    sq_tensor *x = lsq_qtensor_source(L);
    if (!b->have_stats) {
        int with_hist = b->q->config.format == SQ_FORMAT_INT;
        sq_hist *h = lua_newuserdatauv(L, sizeof *h, 0); /* freed on any exit unless kept */
        memset(h, 0, sizeof *h);
        *lsq_guard(L, lsq_hist_free) = h;
        if (sq_roundtrip_stats(x, b->q, NULL, &b->stats, with_hist ? h : NULL, &err) != SQ_OK)
            lsq_engine_error(L, 0, &err);
        lsq_keep_step_hist(b, h);
        memset(h, 0, sizeof *h);
        lua_pop(L, 2); /* the guard (closing it frees nothing now) and h */
        b->have_stats = 1;
    }
    return b;
}

/* q:stats() -> table of round-trip error statistics against the source (stack: +1). */
static int lsq_q_stats(lua_State *L)
{
    lsq_qtensor *b = lsq_q_with_stats(L);
    lsq_push_stats(L, &b->stats, b->q);
    return 1;
}

/* Push h as {edges, counts, below, above} (stack: +1). */
static void lsq_push_hist(lua_State *L, const sq_hist *h)
{
    lua_createtable(L, 0, 4);
    lua_createtable(L, h->bins + 1, 0);
    lua_createtable(L, h->bins, 0);
    for (int i = 0; i <= h->bins; i++) {
        lua_pushnumber(L, i == h->bins ? h->hi : h->lo + (h->hi - h->lo) * i / h->bins);
        lua_rawseti(L, -3, i + 1);
    }
    for (int i = 0; i < h->bins; i++) {
        lua_pushinteger(L, (lua_Integer)h->counts[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -3, "counts");
    lua_setfield(L, -2, "edges");
    lsq_setint(L, "below", h->below);
    lsq_setint(L, "above", h->above);
}

/* Histogram options for bins over range of q: the "data" range [-m, m], m =
 * max|err| (1 when that is 0 or not finite), is taken from the known
 * statistics as a fixed range, exactly the one sq_roundtrip_stats would find
 * in its first pass, so that the histogram is a single pass; so is "step"
 * for the formats other than INT, where it means the data range. */
static sq_stats_opts lsq_hist_opts(const sq_stats *st, const sq_qtensor *q, int bins, sq_hist_range range)
{
    sq_stats_opts o = sq_stats_opts_default();
    o.hist_bins = bins;
    o.range = range;
    if (range == SQ_HIST_RANGE_DATA || (range == SQ_HIST_RANGE_STEP && q->config.format != SQ_FORMAT_INT)) {
        double m = st->max_abs_err;
        if (!(m > 0.0) || !isfinite(m))
            m = 1.0;
        o.range = SQ_HIST_RANGE_FIXED;
        o.lo = -m;
        o.hi = m;
    }
    return o;
}

/* q:histogram([bins [, range]]) -> {edges, counts, below, above} of the
 * round-trip error; range "auto" (default: "step" when that range holds
 * every error, else "data"), "data" (+-max|err|) or "step" (the rounding
 * bound, stats.h SQ_HIST_RANGE_STEP). The default 64-bin histogram is
 * kept (stack: +1). */
static int lsq_q_histogram(lua_State *L)
{
    static const char *const ranges[] = {"auto", "step", "data", NULL};
    sq_error err;
    sq_stats st;
    lsq_check_qtensor(L, 1);
    lua_Integer bins = luaL_optinteger(L, 2, 64);
    luaL_argcheck(L, bins >= 1 && bins <= SQ_HIST_BINS_MAX, 2, "bins must be in 1..65536");
    int opt = luaL_checkoption(L, 3, "auto", ranges);
    lsq_qtensor *b = lsq_q_with_stats(L);
    sq_hist_range auto_range = b->step_ok ? SQ_HIST_RANGE_STEP : SQ_HIST_RANGE_DATA;
    sq_hist_range range = opt == 1 ? SQ_HIST_RANGE_STEP : opt == 2 ? SQ_HIST_RANGE_DATA : auto_range;
    int dflt = bins == 64 && range == auto_range; /* what b->hist holds (once known) */
    if (dflt && b->hist.counts) {
        lsq_push_hist(L, &b->hist);
        return 1;
    }
    sq_stats_opts o = lsq_hist_opts(&b->stats, b->q, (int)bins, range);
    sq_hist *h = lua_newuserdatauv(L, sizeof *h, 0); /* the histogram... */
    memset(h, 0, sizeof *h);
    *lsq_guard(L, lsq_hist_free) = h; /* ...and its counts, freed on any exit */
    if (sq_roundtrip_stats(lsq_qtensor_source(L), b->q, &o, &st, h, &err) != SQ_OK)
        return lsq_engine_error(L, 0, &err);
    if (dflt) { /* keep it: the box owns the counts from now on */
        b->hist = *h;
        memset(h, 0, sizeof *h);
        h = &b->hist;
    }
    lsq_push_hist(L, h);
    return 1;
}

/* q:code_histogram() -> {[code] = count} for every code level
 * -2^(bits-1) .. 2^(bits-1)-1, counted once and kept (stack: +1). */
static int lsq_q_code_histogram(lua_State *L)
{
    lsq_check_qtensor(L, 1);
    lsq_qtensor *b = lua_touserdata(L, 1);
    int levels = 1 << b->q->config.bits, lo = -(levels / 2);
    if (!b->have_codes) {
        sq_code_histogram(b->q, b->code_counts);
        b->have_codes = 1;
    }
    lua_createtable(L, 0, levels);
    for (int i = 0; i < levels; i++) {
        lua_pushinteger(L, (lua_Integer)b->code_counts[i]);
        lua_rawseti(L, -2, lo + i);
    }
    return 1;
}

/* #q: size of the first dimension (1 for a scalar) (stack: +1). */
static int lsq_q_len(lua_State *L)
{
    sq_qtensor *q = lsq_check_qtensor(L, 1);
    lua_pushinteger(L, (lua_Integer)(q->ndim ? q->shape[0] : 1));
    return 1;
}

/* tostring(q): "qtensor[256, 512] int8 sym per-tensor, 131080 B (4.00x)", the
 * bytes and ratio of q:stats() (stack: +1). */
static int lsq_q_tostring(lua_State *L)
{
    lsq_qtensor *b = luaL_checkudata(L, 1, SQ_LUA_QTENSOR);
    if (!b->q) {
        lua_pushliteral(L, "qtensor (freed)");
        return 1;
    }
    char shape[8 * 24 + 4], desc[96], line[400];
    snprintf(line, sizeof line, "qtensor%s %s, %zu B (%.2fx)",
             sq_shape_format(b->q->shape, b->q->ndim, shape, sizeof shape),
             lsq_describe(&b->q->config, desc, sizeof desc), sq_qtensor_storage_bytes(b->q),
             sq_qtensor_storage_bytes(b->q) ? 4.0 * (double)b->q->numel / (double)sq_qtensor_storage_bytes(b->q) : 1.0);
    lua_pushstring(L, line);
    return 1;
}

/* __gc: free the quantized tensor (stack: 0). */
static int lsq_q_gc(lua_State *L)
{
    lsq_qtensor *b = luaL_checkudata(L, 1, SQ_LUA_QTENSOR);
    sq_qtensor_free(b->q);
    b->q = NULL;
    sq_hist_free(&b->hist);
    return 0;
}

/* __index of a qtensor: a method, else config / shape / ndim / dtype / bits (stack: +1). */
static int lsq_q_index(lua_State *L)
{
    sq_qtensor *q = lsq_check_qtensor(L, 1);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL || lua_type(L, 2) != LUA_TSTRING)
        return 1;
    const char *k = lua_tostring(L, 2);
    if (strcmp(k, "config") == 0)
        lsq_push_qconfig(L, &q->config);
    else if (strcmp(k, "shape") == 0)
        lsq_push_shape(L, q->shape, q->ndim);
    else if (strcmp(k, "ndim") == 0)
        lua_pushinteger(L, q->ndim);
    else if (strcmp(k, "dtype") == 0)
        lua_pushstring(L, sq_dtype_name(q->orig_dtype));
    else if (strcmp(k, "bits") == 0)
        lua_pushinteger(L, q->config.bits);
    else
        lua_pushnil(L);
    return 1;
}

/* ======================================================================
 * sq.compare and result rows
 * ==================================================================== */

static const char *const lsq_row_columns[] = {
    "config", "bits", "mode", "granularity", "sqnr_db", "rmse", "max_abs_err", "mean_abs_err",
    "cosine", "clipped", "bytes", "ratio", "bits_per_weight", NULL};

/* sq.compare(t, {cfg, ...}) -> rows of statistics, one per configuration,
 * printing as an aligned table (stack: +1). */
static int lsq_compare(lua_State *L)
{
    lsq_check_tensor(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_pushnil(L);
    if (lua_rawlen(L, 2) == 0 && lua_next(L, 2) != 0) { /* sq.compare(t, {bits = 4}): one configuration */
        bool one = lua_type(L, -2) == LUA_TSTRING;
        lua_pop(L, 2);
        if (one) {
            lua_createtable(L, 1, 0);
            lua_pushvalue(L, 2);
            lua_rawseti(L, -2, 1);
            lua_replace(L, 2);
        }
    }
    lua_settop(L, 2);
    lua_Integer n = lsq_checklen(L, 2, 2, LSQ_MAX_CONFIGS, "configuration list");
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        sq_qconfig cfg;
        sq_stats st;
        char prefix[48], desc[96];
        snprintf(prefix, sizeof prefix, "config %lld: ", (long long)i);
        lua_geti(L, 2, i); /* may run Lua code: fetch the tensor again */
        sq_tensor *t = lsq_check_tensor(L, 1);
        lsq_parse_qconfig(L, -1, 2, prefix, t->shape, t->ndim, &cfg);
        lua_pop(L, 1);
        lsq_push_quantized(L, 1, &cfg, 2);
        st = ((lsq_qtensor *)lua_touserdata(L, -1))->stats; /* from the fused pass */
        lsq_push_stats(L, &st, ((lsq_qtensor *)lua_touserdata(L, -1))->q);
        lua_remove(L, -2);
        lua_pushstring(L, lsq_describe(&cfg, desc, sizeof desc));
        lua_setfield(L, -2, "config");
        lsq_setint(L, "bits", (size_t)cfg.bits);
        lua_pushstring(L, sq_mode_name(cfg.mode));
        lua_setfield(L, -2, "mode");
        lua_pushstring(L, sq_granularity_name(cfg.granularity));
        lua_setfield(L, -2, "granularity");
        lua_rawseti(L, -2, i);
    }
    luaL_setmetatable(L, SQ_LUA_ROWS);
    return 1;
}

/* Replace the column list at the top by a private copy holding strings
 * only (so that metamethods run later cannot change it); as_text converts
 * other values with tostring, else they raise an argument error on arg.
 * Returns the number of columns (stack: 0). */
static int lsq_columns_copy(lua_State *L, int arg, int as_text)
{
    int src = lua_gettop(L);
    int nc = (int)lsq_checklen(L, src, arg, LSQ_MAX_COLUMNS, "column list");
    lua_createtable(L, nc, 0);
    for (int c = 1; c <= nc; c++) {
        int type = lua_geti(L, src, c);
        if (type != LUA_TSTRING) {
            if (!as_text)
                luaL_argerror(L, arg, lua_pushfstring(L, "column %d is a %s, not a string", c, lua_typename(L, type)));
            luaL_tolstring(L, -1, NULL);
            lua_remove(L, -2);
        }
        lua_rawseti(L, -2, c);
    }
    lua_remove(L, src);
    return nc;
}

/* Raise an argument error on arg unless nr rows x nc columns is at most
 * LSQ_MAX_CELLS cells (stack: 0). */
static void lsq_check_cells(lua_State *L, int arg, lua_Integer nr, int nc)
{
    if (nc > 0 && nr > LSQ_MAX_CELLS / nc)
        luaL_argerror(L, arg, lua_pushfstring(L, "%I rows x %d columns is more than %I cells", nr, nc,
                                              LSQ_MAX_CELLS));
}

/* Push the column list for the rows table at idx: its metatable's `columns`
 * (which must then be a table), else the sorted union of the rows' string
 * keys; the list is a private copy of strings (see lsq_columns_copy).
 * Returns the number of columns (stack: +1). */
static int lsq_rows_columns(lua_State *L, int idx, int arg, int as_text)
{
    idx = lua_absindex(L, idx);
    int type = luaL_getmetafield(L, idx, "columns");
    if (type == LUA_TTABLE)
        return lsq_columns_copy(L, arg, as_text);
    if (type != LUA_TNIL)
        luaL_argerror(L, arg, lua_pushfstring(L, "the metatable's 'columns' is a %s, not a table",
                                              lua_typename(L, type)));
    lua_newtable(L); /* set of keys */
    lua_Integer n = lsq_checklen(L, idx, arg, LSQ_MAX_ROWS, "rows table");
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_geti(L, idx, i) == LUA_TTABLE) {
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                lua_pop(L, 1);
                if (lua_type(L, -1) == LUA_TSTRING) {
                    lua_pushvalue(L, -1);
                    lua_pushboolean(L, 1);
                    lua_rawset(L, -5);
                }
            }
        }
        lua_pop(L, 1);
    }
    /* sort the keys with table.sort-free insertion into an array */
    lua_newtable(L);
    int m = 0;
    lua_pushnil(L);
    while (lua_next(L, -3)) {
        lua_pop(L, 1);
        const char *k = lua_tostring(L, -1);
        int j = m;
        while (j > 0) {
            lua_rawgeti(L, -2, j);
            int gt = strcmp(lua_tostring(L, -1), k) > 0;
            if (!gt) {
                lua_pop(L, 1);
                break;
            }
            lua_rawseti(L, -3, j + 1);
            j--;
        }
        lua_pushvalue(L, -1);
        lua_rawseti(L, -3, j + 1);
        if (++m > LSQ_MAX_COLUMNS)
            luaL_argerror(L, arg, "the rows have more than 4096 distinct keys");
    }
    lua_remove(L, -2);
    return m;
}

/* Push the display text of a cell value at idx ("" for nil) (stack: +1). */
static const char *lsq_cell_text(lua_State *L, int idx, int for_csv)
{
    char buf[64];
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        lua_pushliteral(L, "");
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            lua_pushfstring(L, "%I", lua_tointeger(L, idx));
        else {
            snprintf(buf, sizeof buf, for_csv ? "%.17g" : "%.6g", lua_tonumber(L, idx));
            lua_pushstring(L, buf);
        }
        break;
    default:
        luaL_tolstring(L, idx, NULL);
    }
    return lua_tostring(L, -1);
}

/* tostring(rows): an aligned text table, strings left-aligned, numbers right (stack: +1). */
static int lsq_rows_tostring(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    int nc = lsq_rows_columns(L, 1, 1, 1); /* 2: columns */
    lua_Integer nr = lsq_checklen(L, 1, 1, LSQ_MAX_ROWS, "rows table");
    lsq_check_cells(L, 1, nr + 1, nc);
    size_t ncells = (size_t)(nr + 1) * (size_t)nc; /* at most LSQ_MAX_CELLS */
    lua_createtable(L, LSQ_SIZEHINT(ncells), 0); /* 3: cell texts */
    size_t *w = lua_newuserdatauv(L, sizeof(size_t) * (size_t)(nc + 1), 0); /* 4: widths */
    char *isnum = lua_newuserdatauv(L, ncells + 1, 0);                      /* 5: numeric cells */
    memset(w, 0, sizeof(size_t) * (size_t)(nc + 1));
    for (lua_Integer r = 0; r <= nr; r++) {
        if (r > 0)
            lua_geti(L, 1, r); /* row */
        for (int c = 0; c < nc; c++) {
            size_t k = (size_t)r * (size_t)nc + (size_t)c;
            lua_rawgeti(L, 2, c + 1);
            if (r == 0) {
                isnum[k] = 0;
                lua_pushvalue(L, -1);
            } else {
                if (lua_type(L, -2) != LUA_TTABLE)
                    return luaL_error(L, "row %I is a %s, not a table", r, luaL_typename(L, -2));
                lua_gettable(L, -2);
                isnum[k] = lua_type(L, -1) == LUA_TNUMBER;
                lsq_cell_text(L, -1, 0);
            }
            lua_remove(L, -2);
            size_t len = lua_rawlen(L, -1);
            if (len > w[c])
                w[c] = len;
            lua_rawseti(L, 3, (lua_Integer)k + 1);
        }
        if (r > 0)
            lua_pop(L, 1);
    }
    luaL_Buffer B;
    luaL_buffinit(L, &B);
    for (size_t k = 0; k < ncells; k++) {
        int c = (int)(k % (size_t)nc);
        char cell[300];
        lua_rawgeti(L, 3, (lua_Integer)k + 1);
        const char *text = lua_tostring(L, -1);
        int pad = (int)(w[c] < 256 ? w[c] : 256);
        snprintf(cell, sizeof cell, isnum[k] ? "%*s%s" : "%-*s%s", pad, text, c + 1 < nc ? "  " : "\n");
        lua_pop(L, 1);
        luaL_addstring(&B, cell);
    }
    luaL_pushresult(&B);
    return 1;
}

/* sq.formats() -> one row per element format: {name, kind ("int", "block"
 * or "element"), block (elements per stored block; nf4: its default 64; nil
 * for int), bits (code bits; nil for int), bits_per_weight (stored blocks
 * alone; nil for int), scales (how scales are stored)}, printing as an
 * aligned table (stack: +1). */
static int lsq_formats(lua_State *L)
{
    static const char *const kinds[] = {"int", "block", "element"};
    static const char *const cols[] = {"name", "kind", "block", "bits", "bits_per_weight", "scales"};
    lua_createtable(L, SQ_FORMAT_COUNT, 0);
    for (int f = 0; f < SQ_FORMAT_COUNT; f++) {
        const sq_format_info *fi = sq_format_info_of(f);
        lua_createtable(L, 0, 6);
        lua_pushstring(L, fi->name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, kinds[fi->kind]);
        lua_setfield(L, -2, "kind");
        if (f != SQ_FORMAT_INT) {
            lsq_setint(L, "block", fi->block ? fi->block : sq_qconfig_for_format((sq_format)f).group_size);
            lsq_setint(L, "bits", (size_t)fi->bits);
            lsq_setnum(L, "bits_per_weight", fi->bits_per_weight);
        }
        lua_pushstring(L, fi->scale_desc);
        lua_setfield(L, -2, "scales");
        lua_rawseti(L, -2, f + 1);
    }
    if (luaL_newmetatable(L, "squint.formats")) {
        lua_pushcfunction(L, lsq_rows_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_createtable(L, 6, 0);
        for (int c = 0; c < 6; c++) {
            lua_pushstring(L, cols[c]);
            lua_rawseti(L, -2, c + 1);
        }
        lua_setfield(L, -2, "columns");
    }
    lua_setmetatable(L, -2);
    return 1;
}

/* ======================================================================
 * Linear layers
 * ==================================================================== */

/* The linear layer at arg. */
static sq_linear *lsq_check_linear(lua_State *L, int arg)
{
    lsq_linear *b = luaL_checkudata(L, arg, SQ_LUA_LINEAR);
    luaL_argcheck(L, b->l != NULL, arg, "linear layer has been freed");
    return b->l;
}

/* The quantized linear layer at arg. */
static sq_qlinear *lsq_check_qlinear(lua_State *L, int arg)
{
    lsq_qlinear *b = luaL_checkudata(L, arg, SQ_LUA_QLINEAR);
    luaL_argcheck(L, b->ql != NULL, arg, "quantized linear layer has been freed");
    return b->ql;
}

/* sq.linear(W [, b]) from a weight [out, in] and optional bias, or
 * sq.linear(in, out [, seed [, with_bias]]) with PyTorch's initialisation (stack: +1). */
static int lsq_linear_new(lua_State *L)
{
    sq_error err;
    if (lua_type(L, 1) == LUA_TNUMBER) {
        lua_Integer in = luaL_checkinteger(L, 1), out = luaL_checkinteger(L, 2);
        luaL_argcheck(L, in > 0, 1, "in_features must be positive");
        luaL_argcheck(L, out > 0, 2, "out_features must be positive");
        lua_Integer seed = luaL_optinteger(L, 3, 0);
        int with_bias = lua_isnoneornil(L, 4) ? 1 : lua_toboolean(L, 4);
        lsq_linear *b = lsq_newbox(L, sizeof(lsq_linear), SQ_LUA_LINEAR, 0);
        if (sq_linear_new((size_t)in, (size_t)out, with_bias, (uint64_t)seed, &b->l, &err) != SQ_OK)
            return lsq_engine_error(L, 1, &err);
        return 1;
    }
    sq_tensor *w = lsq_check_tensor(L, 1);
    sq_tensor *bias = lua_isnoneornil(L, 2) ? NULL : lsq_check_tensor(L, 2);
    luaL_argcheck(L, w->ndim == 2, 1, "weight must be a matrix [out, in]");
    if (bias && bias->numel != w->shape[0])
        luaL_argerror(L, 2, lua_pushfstring(L, "bias must have %I elements (out_features), got %I",
                                            (lua_Integer)w->shape[0], (lua_Integer)bias->numel));
    lsq_linear *b = lsq_newbox(L, sizeof(lsq_linear), SQ_LUA_LINEAR, 0);
    if (sq_linear_from(w, bias, &b->l, &err) != SQ_OK)
        return lsq_engine_error(L, 1, &err);
    return 1;
}

/* lin:forward(x) -> x W^T + b (stack: +1). */
static int lsq_linear_forward(lua_State *L)
{
    sq_error err;
    sq_linear *l = lsq_check_linear(L, 1);
    sq_tensor *x = lsq_check_tensor(L, 2);
    lsq_tensor *b = lsq_new_tensor(L);
    if (sq_linear_forward(l, x, &b->t, &err) != SQ_OK)
        return lsq_engine_error(L, 2, &err);
    lsq_gc_account(L, b->t->numel * sizeof(float));
    return 1;
}

/* lin:parameters() -> {weight = tensor, bias = tensor} (copies) (stack: +1). */
static int lsq_linear_parameters(lua_State *L)
{
    sq_named_tensor p[2];
    size_t n = sq_linear_named_parameters(lsq_check_linear(L, 1), p);
    lua_createtable(L, 0, 2);
    for (size_t i = 0; i < n; i++) {
        lsq_push_tensor_copy(L, p[i].tensor);
        lua_setfield(L, -2, p[i].name);
    }
    return 1;
}

/* tostring(lin) (stack: +1). */
static int lsq_linear_tostring(lua_State *L)
{
    lsq_linear *b = luaL_checkudata(L, 1, SQ_LUA_LINEAR);
    if (!b->l)
        lua_pushliteral(L, "linear (freed)");
    else
        lua_pushfstring(L, "linear(in=%I, out=%I, bias=%s)", (lua_Integer)b->l->in_features,
                        (lua_Integer)b->l->out_features, b->l->bias ? "true" : "false");
    return 1;
}

/* __gc of a linear layer (stack: 0). */
static int lsq_linear_gc(lua_State *L)
{
    lsq_linear *b = luaL_checkudata(L, 1, SQ_LUA_LINEAR);
    sq_linear_free(b->l);
    b->l = NULL;
    return 0;
}

/* __index of a linear layer: methods, then in_features, out_features,
 * weight, bias (tensor copies) (stack: +1). */
static int lsq_linear_index(lua_State *L)
{
    sq_linear *l = lsq_check_linear(L, 1);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL || lua_type(L, 2) != LUA_TSTRING)
        return 1;
    const char *k = lua_tostring(L, 2);
    if (strcmp(k, "in_features") == 0)
        lua_pushinteger(L, (lua_Integer)l->in_features);
    else if (strcmp(k, "out_features") == 0)
        lua_pushinteger(L, (lua_Integer)l->out_features);
    else if (strcmp(k, "weight") == 0)
        lsq_push_tensor_copy(L, l->weight);
    else if (strcmp(k, "bias") == 0 && l->bias)
        lsq_push_tensor_copy(L, l->bias);
    else
        lua_pushnil(L);
    return 1;
}

/* sq.quantize_linear(lin [, cfg]) -> quantized layer (stack: +1). */
static int lsq_quantize_linear(lua_State *L)
{
    sq_error err;
    sq_qconfig cfg;
    sq_linear *l = lsq_check_linear(L, 1);
    lsq_parse_qconfig(L, 2, 2, "", l->weight->shape, l->weight->ndim, &cfg);
    lsq_qlinear *b = lsq_newbox(L, sizeof(lsq_qlinear), SQ_LUA_QLINEAR, 0);
    if (sq_qlinear_from_linear(l, &cfg, &b->ql, &err) != SQ_OK)
        return lsq_engine_error(L, 2, &err);
    return 1;
}

/* ql:forward(x [, mode]) on the dequantized weight: mode "exact" (the
 * default) or "dynamic_int8" (activations quantized to int8 per row, integer
 * products: engine/model.h) (stack: +1). */
static int lsq_qlinear_forward(lua_State *L)
{
    static const char *const modes[] = {"exact", "dynamic_int8", NULL};
    sq_error err;
    sq_qlinear *ql = lsq_check_qlinear(L, 1);
    sq_tensor *x = lsq_check_tensor(L, 2);
    int mode = luaL_checkoption(L, 3, "exact", modes);
    lsq_tensor *b = lsq_new_tensor(L);
    if (sq_qlinear_forward_mode(ql, x, mode ? SQ_QLINEAR_DYNAMIC_INT8 : SQ_QLINEAR_EXACT, &b->t, &err) != SQ_OK)
        return lsq_engine_error(L, 2, &err);
    lsq_gc_account(L, b->t->numel * sizeof(float));
    return 1;
}

/* ql:memory_savings_bytes() (stack: +1). */
static int lsq_qlinear_savings(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)sq_qlinear_memory_savings(lsq_check_qlinear(L, 1)));
    return 1;
}

/* ql:parameters() -> {} (a quantized layer has no trainable parameters) (stack: +1). */
static int lsq_qlinear_parameters(lua_State *L)
{
    lsq_check_qlinear(L, 1);
    lua_newtable(L);
    return 1;
}

/* tostring(ql) (stack: +1). */
static int lsq_qlinear_tostring(lua_State *L)
{
    lsq_qlinear *b = luaL_checkudata(L, 1, SQ_LUA_QLINEAR);
    char desc[96];
    if (!b->ql)
        lua_pushliteral(L, "qlinear (freed)");
    else
        lua_pushfstring(L, "qlinear(in=%I, out=%I, bias=%s, %s)", (lua_Integer)b->ql->in_features,
                        (lua_Integer)b->ql->out_features, b->ql->bias ? "true" : "false",
                        lsq_describe(&b->ql->weight_q->config, desc, sizeof desc));
    return 1;
}

/* __gc of a quantized linear layer (stack: 0). */
static int lsq_qlinear_gc(lua_State *L)
{
    lsq_qlinear *b = luaL_checkudata(L, 1, SQ_LUA_QLINEAR);
    sq_qlinear_free(b->ql);
    b->ql = NULL;
    return 0;
}

/* __index of a quantized layer: methods, in_features, out_features, config,
 * dynamic_applies (stack: +1). */
static int lsq_qlinear_index(lua_State *L)
{
    sq_qlinear *ql = lsq_check_qlinear(L, 1);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL || lua_type(L, 2) != LUA_TSTRING)
        return 1;
    const char *k = lua_tostring(L, 2);
    if (strcmp(k, "in_features") == 0)
        lua_pushinteger(L, (lua_Integer)ql->in_features);
    else if (strcmp(k, "out_features") == 0)
        lua_pushinteger(L, (lua_Integer)ql->out_features);
    else if (strcmp(k, "config") == 0)
        lsq_push_qconfig(L, &ql->weight_q->config);
    else if (strcmp(k, "dynamic_applies") == 0)
        lua_pushboolean(L, sq_qlinear_dynamic_applies(ql));
    else
        lua_pushnil(L);
    return 1;
}

/* ======================================================================
 * Named tensor sets
 * ==================================================================== */

/* Ordering of named tensors by name (qsort). */
static int lsq_named_cmp(const void *a, const void *b)
{
    return strcmp(((const sq_named_tensor *)a)->name, ((const sq_named_tensor *)b)->name);
}

/* Collect the {name = tensor} table at arg into a scratch array sorted by
 * name (a userdata left on the stack keeps it alive; its user value, a
 * private name -> tensor table, keeps the names and tensors alive whatever
 * happens to the argument table meanwhile) (stack: +1). */
static sq_named_tensor *lsq_collect_named(lua_State *L, int arg, size_t *n_out)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        n++;
        lua_pop(L, 1);
    }
    sq_named_tensor *set = lua_newuserdatauv(L, (n ? n : 1) * sizeof *set, 1);
    lua_createtable(L, 0, LSQ_SIZEHINT(n)); /* name -> tensor: anchors both for the set's lifetime */
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        if (i == n) { /* keys added by a finalizer meanwhile: ignored */
            lua_pop(L, 2);
            break;
        }
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_argerror(L, arg, "tensor names must be strings");
        lsq_tensor *b = luaL_testudata(L, -1, SQ_LUA_TENSOR);
        if (!b || !b->t)
            luaL_argerror(L, arg, lua_pushfstring(L, "value for '%s' is not a tensor", lua_tostring(L, -2)));
        set[i].name = lua_tostring(L, -2);
        set[i].tensor = b->t;
        i++;
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4); /* anchor[name] = tensor */
    }
    lua_setiuservalue(L, -2, 1);
    qsort(set, i, sizeof *set, lsq_named_cmp);
    n = i;
    *n_out = n;
    return set;
}

/* A guard userdata owning a result array of sq_quantize_named until its
 * entries are moved into Lua boxes. */
typedef struct lsq_named_guard {
    sq_named_qtensor *arr;
    size_t n;
} lsq_named_guard;

/* __gc of the guard: free whatever was not moved out (stack: 0). */
static int lsq_named_guard_gc(lua_State *L)
{
    lsq_named_guard *g = luaL_checkudata(L, 1, LSQ_NAMED_GUARD);
    sq_named_qtensors_free(g->arr, g->n);
    g->arr = NULL;
    g->n = 0;
    return 0;
}

/* sq.quantize_named({name = tensor, ...} [, cfg]) -> {name = qtensor} for every
 * tensor of rank >= 2; others are skipped (stack: +1). */
static int lsq_quantize_named(lua_State *L)
{
    sq_error err;
    sq_qconfig cfg;
    size_t n, n_out;
    lua_settop(L, 2);
    lsq_parse_qconfig(L, 2, 2, "", NULL, 0, &cfg);
    if (lsq_test_checkpoint(L, 1))
        return lsq_ckpt_quantize_named(L, &cfg);
    sq_named_tensor *set = lsq_collect_named(L, 1, &n); /* 3 */
    lsq_named_guard *g = lsq_newbox(L, sizeof *g, LSQ_NAMED_GUARD, 0); /* 4 */
    if (sq_quantize_named(set, n, &cfg, &g->arr, &n_out, &err) != SQ_OK)
        return lsq_engine_error(L, err.code == SQ_ERR_NONFINITE ? 1 : 2, &err);
    g->n = n_out;
    lua_createtable(L, 0, LSQ_SIZEHINT(n_out)); /* 5 */
    for (size_t i = 0; i < n_out; i++) {
        lsq_qtensor *b = lsq_newbox(L, sizeof(lsq_qtensor), SQ_LUA_QTENSOR, 1);
        b->q = g->arr[i].qtensor;
        g->arr[i].qtensor = NULL;
        lua_getiuservalue(L, 3, 1); /* the anchor table of the set */
        lua_getfield(L, -1, g->arr[i].name);
        lua_remove(L, -2);
        lua_setiuservalue(L, -2, 1);
        lua_setfield(L, 5, g->arr[i].name);
    }
    return 1;
}

/* sq.model_stats({name = tensor, ...} [, cfg]) -> {num_quantized, num_fp32,
 * fp32_bytes, quantized_bytes, compression_ratio} (stack: +1). */
static int lsq_model_stats(lua_State *L)
{
    sq_error err;
    sq_qconfig cfg;
    sq_model_stats ms;
    size_t n;
    lua_settop(L, 2);
    lsq_parse_qconfig(L, 2, 2, "", NULL, 0, &cfg);
    if (lsq_test_checkpoint(L, 1))
        return lsq_ckpt_model_stats(L, &cfg);
    sq_named_tensor *set = lsq_collect_named(L, 1, &n);
    if (sq_model_stats_compute(set, n, &cfg, &ms, &err) != SQ_OK)
        return lsq_engine_error(L, 2, &err);
    lua_createtable(L, 0, 5);
    lsq_setint(L, "num_quantized", ms.num_quantized);
    lsq_setint(L, "num_fp32", ms.num_fp32);
    lsq_setint(L, "fp32_bytes", ms.fp32_bytes);
    lsq_setint(L, "quantized_bytes", ms.quantized_bytes);
    lsq_setnum(L, "compression_ratio", ms.compression_ratio);
    return 1;
}

/* ======================================================================
 * Clock and result files
 * ==================================================================== */

/* sq.now() -> seconds of CLOCK_MONOTONIC as a float (stack: +1). */
static int lsq_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
    return 1;
}

/* Write the string at the top of the stack to path atomically; return
 * true, or nil + message (stack: replaces the string by the results). */
static int lsq_write_result(lua_State *L, const char *path)
{
    size_t len;
    sq_error err;
    const char *data = lua_tolstring(L, -1, &len);
    if (sq_write_file_atomic(path, data, len, &err) != SQ_OK) {
        luaL_pushfail(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* Replace the string at the top of the stack by its CSV form: quoted (with
 * doubled quotes) when it holds a comma, quote, CR or LF (stack: 0). */
static void lsq_csv_quote(lua_State *L)
{
    const char *s = lua_tostring(L, -1);
    if (strpbrk(s, ",\"\r\n") == NULL)
        return;
    luaL_gsub(L, s, "\"", "\"\"");
    lua_pushfstring(L, "\"%s\"", lua_tostring(L, -1));
    lua_replace(L, -3);
    lua_pop(L, 1);
}

/* sq.write_csv(rows, path [, columns]) -> true | nil, msg. Columns: the
 * argument, else the rows' metatable `columns`, else the sorted keys of all
 * rows. Numbers are written with 17 significant digits (stack: +1|2). */
static int lsq_write_csv(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkstring(L, 2);
    int nc;
    if (lua_isnoneornil(L, 3)) {
        lua_settop(L, 2);
        nc = lsq_rows_columns(L, 1, 1, 0); /* 3 */
    } else {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_settop(L, 3);
        nc = lsq_columns_copy(L, 3, 0); /* 3: a private copy */
    }
    lua_Integer nr = lsq_checklen(L, 1, 1, LSQ_MAX_ROWS, "rows table");
    lsq_check_cells(L, 1, nr + 1, nc);
    lua_settop(L, 4); /* 4: the current row, below the buffer */
    luaL_Buffer B;
    luaL_buffinit(L, &B);
    for (lua_Integer r = 0; r <= nr; r++) {
        if (r > 0) {
            if (lua_geti(L, 1, r) != LUA_TTABLE) /* may run Lua code: checked per row */
                return luaL_argerror(L, 1, lua_pushfstring(L, "row %I is not a table", r));
            lua_replace(L, 4);
        }
        for (int c = 0; c < nc; c++) {
            if (c > 0)
                luaL_addchar(&B, ',');
            lua_rawgeti(L, 3, c + 1); /* a string: the copy is private */
            if (r > 0) {
                lua_gettable(L, 4);
                lsq_cell_text(L, -1, 1);
                lua_remove(L, -2);
            }
            lsq_csv_quote(L);
            luaL_addvalue(&B);
        }
        luaL_addchar(&B, '\n');
    }
    luaL_pushresult(&B);
    return lsq_write_result(L, lua_tostring(L, 2));
}

static json_t *lsq_to_json(lua_State *L, int idx, int depth, const char **why);

/* lsq_free_fn releasing a JSON value. */
static void lsq_json_free(void *p)
{
    json_decref(p);
}

/* Fill the array or object in the guard at g from the table at idx; 0 on
 * failure (*why set or left NULL). Object keys are converted with tostring
 * before the value, so a raising __tostring never strands a converted value
 * outside the guard (stack: 0). */
static int lsq_table_fill_json(lua_State *L, int idx, int g, lua_Integer n, int depth, const char **why)
{
    json_t *c = *(json_t **)lua_touserdata(L, g);
    if (json_is_array(c)) {
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            json_t *v = lsq_to_json(L, lua_gettop(L), depth + 1, why);
            lua_pop(L, 1);
            if (!v || json_array_append_new(c, v) != 0) /* _new frees v on failure */
                return 0;
        }
        return 1;
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pushvalue(L, -2);
        const char *k = luaL_tolstring(L, -1, NULL); /* may raise: nothing unguarded yet */
        json_t *v = lsq_to_json(L, lua_gettop(L) - 2, depth + 1, why);
        int rc = v ? json_object_set_new(c, k, v) : -1;
        lua_pop(L, 3); /* key string, key copy, value */
        if (rc != 0) {
            lua_pop(L, 1);
            if (!*why && v)
                *why = "a key is not valid UTF-8";
            return 0;
        }
    }
    return 1;
}

/* Convert the table at idx to a JSON array (keys exactly 1..n, n > 0) or an
 * object (keys converted with tostring). The value under construction is
 * held by a guard, so an error raised inside frees it (stack: 0). */
static json_t *lsq_table_to_json(lua_State *L, int idx, int depth, const char **why)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        count++;
        lua_pop(L, 1);
    }
    json_t **slot = (json_t **)lsq_guard(L, lsq_json_free);
    int g = lua_gettop(L);
    *slot = n > 0 && count == n ? json_array() : json_object();
    if (!*slot || !lsq_table_fill_json(L, idx, g, n, depth, why)) {
        lsq_guard_free(L, g);
        lua_pop(L, 1);
        return NULL;
    }
    json_t *out = lsq_guard_take(L, g);
    lua_pop(L, 1);
    return out;
}

/* Convert the Lua value at idx to a new JSON value; NULL with *why set on
 * an unconvertible value (stack: 0). Non-finite numbers become null. */
static json_t *lsq_to_json(lua_State *L, int idx, int depth, const char **why)
{
    if (depth > LSQ_JSON_MAX_DEPTH) {
        *why = "nesting too deep (a cycle?)";
        return NULL;
    }
    luaL_checkstack(L, 6, "nesting too deep");
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return json_null();
    case LUA_TBOOLEAN:
        return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            return json_integer((json_int_t)lua_tointeger(L, idx));
        return isfinite(lua_tonumber(L, idx)) ? json_real(lua_tonumber(L, idx)) : json_null();
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        json_t *v = json_stringn(s, len);
        if (!v)
            *why = "a string is not valid UTF-8";
        return v;
    }
    case LUA_TTABLE:
        return lsq_table_to_json(L, idx, depth, why);
    default:
        *why = "holds a function, userdata or thread, which JSON cannot represent";
        return NULL;
    }
}

/* sq.write_json(value, path) -> true | nil, msg (indented, sorted keys) (stack: +1|2). */
static int lsq_write_json(lua_State *L)
{
    luaL_checkany(L, 1);
    const char *path = luaL_checkstring(L, 2);
    const char *why = NULL;
    lua_settop(L, 2);
    json_t *j = lsq_to_json(L, 1, 0, &why);
    if (!j)
        return luaL_argerror(L, 1, why ? why : "cannot convert to JSON");
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(j);
    if (!text)
        return luaL_error(L, "write_json: cannot encode the value");
    *lsq_guard(L, free) = text; /* 3 */
    lua_pushstring(L, text);
    lua_pushliteral(L, "\n");
    lua_concat(L, 2);
    lsq_guard_free(L, 3);
    return lsq_write_result(L, path);
}

/* ======================================================================
 * Registration
 * ==================================================================== */

static const luaL_Reg lsq_functions[] = {
    {"tensor", lsq_tensor_new},
    {"randn", lsq_randn},
    {"zeros", lsq_zeros},
    {"demo", lsq_demo},
    {"load", lsq_load},
    {"open", lsq_open},
    {"quantize", lsq_quantize},
    {"compare", lsq_compare},
    {"linear", lsq_linear_new},
    {"quantize_linear", lsq_quantize_linear},
    {"quantize_named", lsq_quantize_named},
    {"model_stats", lsq_model_stats},
    {"now", lsq_now},
    {"write_csv", lsq_write_csv},
    {"write_json", lsq_write_json},
    {"view", lsq_view},
    {"report", lsq_report},
    {"formats", lsq_formats},
    {NULL, NULL},
};

static const luaL_Reg lsq_tensor_methods[] = {
    {"numel", lsq_tensor_numel}, {"get", lsq_tensor_get},   {"min", lsq_tensor_min},
    {"max", lsq_tensor_max},     {"mean", lsq_tensor_mean}, {"std", lsq_tensor_std},
    {"totable", lsq_tensor_totable}, {"save", lsq_tensor_save}, {NULL, NULL},
};
static const luaL_Reg lsq_tensor_meta[] = {
    {"__gc", lsq_tensor_gc}, {"__close", lsq_tensor_gc}, {"__tostring", lsq_tensor_tostring},
    {"__len", lsq_tensor_len}, {"__index", NULL}, {NULL, NULL},
};
static const char *const lsq_tensor_fields[] = {"shape", "dtype", "ndim", NULL};

static const luaL_Reg lsq_qtensor_methods[] = {
    {"dequantize", lsq_q_dequantize},
    {"codes", lsq_q_codes},
    {"scales", lsq_q_scales},
    {"zero_points", lsq_q_zero_points},
    {"size_bytes", lsq_q_size_bytes},
    {"compression_ratio", lsq_q_compression_ratio},
    {"numel", lsq_q_numel},
    {"stats", lsq_q_stats},
    {"histogram", lsq_q_histogram},
    {"code_histogram", lsq_q_code_histogram},
    {"save", lsq_q_save},
    {NULL, NULL},
};
static const luaL_Reg lsq_qtensor_meta[] = {
    {"__gc", lsq_q_gc}, {"__close", lsq_q_gc}, {"__tostring", lsq_q_tostring},
    {"__len", lsq_q_len}, {"__index", NULL}, {NULL, NULL},
};
static const char *const lsq_qtensor_fields[] = {"config", "shape", "ndim", "dtype", "bits", NULL};

static const luaL_Reg lsq_linear_methods[] = {
    {"forward", lsq_linear_forward}, {"parameters", lsq_linear_parameters}, {NULL, NULL},
};
static const luaL_Reg lsq_linear_meta[] = {
    {"__gc", lsq_linear_gc}, {"__close", lsq_linear_gc}, {"__tostring", lsq_linear_tostring},
    {"__index", NULL}, {NULL, NULL},
};
static const char *const lsq_linear_fields[] = {"in_features", "out_features", "weight", "bias", NULL};

static const luaL_Reg lsq_qlinear_methods[] = {
    {"forward", lsq_qlinear_forward},
    {"memory_savings_bytes", lsq_qlinear_savings},
    {"parameters", lsq_qlinear_parameters},
    {NULL, NULL},
};
static const luaL_Reg lsq_qlinear_meta[] = {
    {"__gc", lsq_qlinear_gc}, {"__close", lsq_qlinear_gc}, {"__tostring", lsq_qlinear_tostring},
    {"__index", NULL}, {NULL, NULL},
};
static const char *const lsq_qlinear_fields[] = {"in_features", "out_features", "config", "dynamic_applies", NULL};

/* Create metatable tname with metamethods meta, __index = index (a closure
 * over the methods table); also record __methods and __fields for the REPL's
 * completion (stack: 0). */
void lsq_register_type(lua_State *L, const char *tname, const luaL_Reg *meta, const luaL_Reg *methods,
                              lua_CFunction index, const char *const *fields)
{
    luaL_newmetatable(L, tname);
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__methods");
    lua_pushcclosure(L, index, 1);
    lua_setfield(L, -2, "__index");
    lua_newtable(L);
    for (int i = 0; fields[i]; i++) {
        lua_pushstring(L, fields[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "__fields");
    lua_pop(L, 1);
}

/* The metatable of result rows: __tostring and the column order (stack: 0). */
static void lsq_register_rows(lua_State *L)
{
    luaL_newmetatable(L, SQ_LUA_ROWS);
    lua_pushcfunction(L, lsq_rows_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_newtable(L);
    for (int i = 0; lsq_row_columns[i]; i++) {
        lua_pushstring(L, lsq_row_columns[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "columns");
    lua_pop(L, 1);
    luaL_newmetatable(L, LSQ_NAMED_GUARD);
    lua_pushcfunction(L, lsq_named_guard_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newmetatable(L, LSQ_GUARD);
    lua_pushcfunction(L, lsq_guard_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, lsq_guard_gc);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);
}

int luaopen_squint(lua_State *L)
{
    luaL_checkversion(L);
    lsq_register_type(L, SQ_LUA_TENSOR, lsq_tensor_meta, lsq_tensor_methods, lsq_tensor_index,
                      lsq_tensor_fields);
    lsq_register_type(L, SQ_LUA_QTENSOR, lsq_qtensor_meta, lsq_qtensor_methods, lsq_q_index,
                      lsq_qtensor_fields);
    lsq_register_type(L, SQ_LUA_LINEAR, lsq_linear_meta, lsq_linear_methods, lsq_linear_index,
                      lsq_linear_fields);
    lsq_register_type(L, SQ_LUA_QLINEAR, lsq_qlinear_meta, lsq_qlinear_methods, lsq_qlinear_index,
                      lsq_qlinear_fields);
    lsq_io_register(L);
    lsq_register_rows(L);
    luaL_newlib(L, lsq_functions);
    lsq_misc_register(L);
    lsq_diff_register(L); /* lsquint_diff.c: sq.diff, sq.layer_error, sq.take_rows */
    lua_pushstring(L, PACKAGE_VERSION);
    lua_setfield(L, -2, "version");
    lsq_help_register(L);
    return 1;
}
