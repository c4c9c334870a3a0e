/* bench_lua.c - the natural Lua sequence
 *     q = sq.quantize(t); q:stats(); q:histogram(64)
 * on a 4096x4096 tensor, timed through the real bindings, next to the
 * engine's fused pass (sq_quantize_stats with the 64-bin histogram) on the
 * same values in the same run. Prints both (best of several runs) and their
 * ratio; exits 1 when the Lua sequence takes more than 1.25x the engine.
 *
 * Usage: bench_lua [rows cols] (default 4096 4096). */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lsquint.h"
#include "quant.h"
#include "stats.h"
#include "tensor.h"

#define RUNS 7
#define TARGET 1.25

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One sq_quantize_stats (default options: 64 bins) on x; its time or -1. */
static double time_engine(const sq_tensor *x)
{
    sq_error err;
    sq_qtensor *q;
    sq_stats st;
    sq_hist h;
    sq_qconfig cfg = sq_qconfig_default();
    double t0 = now();
    if (sq_quantize_stats(x, &cfg, NULL, &q, &st, &h, &err) != SQ_OK) {
        fprintf(stderr, "bench_lua: %s\n", err.msg);
        return -1.0;
    }
    double t = now() - t0;
    sq_hist_free(&h);
    sq_qtensor_free(q);
    return t;
}

/* One call of the Lua function on top (left there); its time or -1. */
static double time_lua(lua_State *L)
{
    lua_pushvalue(L, -1);
    double t0 = now();
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        fprintf(stderr, "bench_lua: %s\n", lua_tostring(L, -1));
        return -1.0;
    }
    double t = now() - t0;
    lua_gc(L, LUA_GCCOLLECT); /* free the qtensor outside the timing */
    return t;
}

static const char lua_setup[] =
    "local sq, rows, cols = ...\n"
    "local t = sq.randn({rows, cols}, 42)\n"
    "return function() local q = sq.quantize(t); q:stats(); q:histogram(64) end\n";

/* Push the timed Lua function for a rows x cols tensor (0 on success). */
static int lua_prepare(lua_State *L, lua_Integer rows, lua_Integer cols)
{
    luaL_openlibs(L);
    luaL_requiref(L, "squint", luaopen_squint, 0);
    if (luaL_loadstring(L, lua_setup) != LUA_OK)
        return 1;
    lua_insert(L, -2);
    lua_pushinteger(L, rows);
    lua_pushinteger(L, cols);
    return lua_pcall(L, 3, 1, 0) != LUA_OK;
}

int main(int argc, char **argv)
{
    size_t shape[2] = {4096, 4096};
    if (argc == 3) {
        shape[0] = (size_t)strtoul(argv[1], NULL, 10);
        shape[1] = (size_t)strtoul(argv[2], NULL, 10);
    }
    sq_error err;
    sq_tensor *x;
    if (sq_tensor_randn(shape, 2, 42, &x, &err) != SQ_OK) {
        fprintf(stderr, "bench_lua: %s\n", err.msg);
        return 1;
    }
    lua_State *L = luaL_newstate();
    if (!L || lua_prepare(L, (lua_Integer)shape[0], (lua_Integer)shape[1])) {
        fprintf(stderr, "bench_lua: %s\n", L ? lua_tostring(L, -1) : "no memory for Lua");
        sq_tensor_free(x);
        return 1;
    }
    double be = 1e30, bl = 1e30;
    for (int r = 0; r < RUNS; r++) { /* interleaved, best of each */
        double te = time_engine(x), tl = time_lua(L);
        if (te < 0 || tl < 0)
            return 1;
        be = te < be ? te : be;
        bl = tl < bl ? tl : bl;
    }
    double ratio = bl / be;
    printf("lua sequence %zux%zu int8 per-tensor: sq.quantize + q:stats() + q:histogram(64) %.1f ms\n", shape[0],
           shape[1], bl * 1e3);
    printf("  engine fused pass (sq_quantize_stats, 64-bin histogram)            %.1f ms\n", be * 1e3);
    printf("  ratio %.2f (target <= %.2f): %s\n", ratio, TARGET, ratio <= TARGET ? "ok" : "MISSED");
    lua_close(L);
    sq_tensor_free(x);
    return ratio <= TARGET ? 0 : 1;
}
