/* lsquint_int.h - internal: helpers shared by the binding files
 * (lsquint.c: tensors, quantization, statistics, model pieces; lsquint_io.c:
 * files, checkpoints and the panel). Not part of the module's API. */
#ifndef SQ_APP_LSQUINT_INT_H
#define SQ_APP_LSQUINT_INT_H

#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>

#include "error.h"
#include "quant.h"
#include "stats.h"
#include "tensor.h"

#define SQ_LUA_CHECKPOINT "squint.checkpoint"

typedef struct lsq_tensor { sq_tensor *t; } lsq_tensor;
/* A quantized tensor and what is known of it against its source (user value
 * 1): sq.quantize fills stats and code_counts in its fused pass; the first
 * q:stats() / q:histogram() fills what is missing (a tensor is immutable, so
 * the figures never go stale). hist holds the default histogram (64 bins,
 * "data" range) once computed; counts NULL until then, freed by __gc. A box
 * from lsq_newbox (zero-filled) starts with nothing known. */
typedef struct lsq_qtensor {
    sq_qtensor *q;
    int have_stats, have_codes;
    int step_ok; /* known with stats: every error within the "step" range (then hist may hold it, 64 bins) */
    sq_stats stats;
    uint64_t code_counts[256];
    sq_hist hist;
} lsq_qtensor;

/* Bounds of lengths read from Lua (luaL_len honours __len, so a hostile
 * table may claim any length): configurations of sq.compare / sq.report,
 * rows, columns and cells of a rows table (its __tostring, sq.write_csv). */
#define LSQ_MAX_CONFIGS 4096
#define LSQ_MAX_ROWS ((lua_Integer)1 << 20)
#define LSQ_MAX_COLUMNS 4096
#define LSQ_MAX_CELLS ((lua_Integer)1 << 24) /* rows x columns of one table or CSV */

/* A size as lua_createtable's int preallocation hint (0 when too large). */
#define LSQ_SIZEHINT(n) ((n) <= (size_t)INT32_MAX ? (int)(n) : 0)

/* #value at idx (its __len honoured), raising an argument error on arg
 * unless it is an integer in 0..max; what names the value in the message
 * ("configuration list has length -1 (expected 0..4096)") (stack: 0). */
lua_Integer lsq_checklen(lua_State *L, int idx, int arg, lua_Integer max, const char *what);

/* A to-be-freed C resource held by a Lua userdata: push a guard, marked
 * to-be-closed, whose __close (and __gc) calls fn(p) unless p was taken
 * back, so that a Lua error (a raising metamethod, a memory error) between
 * acquiring p and handing it on frees it at once; it is also freed when the
 * calling C function returns. Remove a guard only with lua_pop / lua_settop.
 * Returns the slot to store p in (stack: +1). */
typedef void (*lsq_free_fn)(void *p);
void **lsq_guard(lua_State *L, lsq_free_fn fn);
/* Take the resource back from the guard at idx (it will not be freed) and
 * return it (stack: 0). */
void *lsq_guard_take(lua_State *L, int idx);
/* Free the guarded resource at idx now (stack: 0). */
void lsq_guard_free(lua_State *L, int idx);

/* Raise err: an argument error on arg for invalid input (arg > 0), else a
 * plain error. Never returns. */
int lsq_engine_error(lua_State *L, int arg, const sq_error *err);
/* Push a zero-filled userdata box with metatable tname and nuv user values (stack: +1). */
void *lsq_newbox(lua_State *L, size_t sz, const char *tname, int nuv);
/* Account `bytes` outside Lua's heap now hanging on the object just made (a
 * tensor's values), so that unreachable tensors are collected at the pace
 * big ones are created rather than only as Lua's own heap grows: a loop over
 * a checkpoint's tensors keeps a few alive, not all (stack: 0). */
void lsq_gc_account(lua_State *L, size_t bytes);
/* Push a shape as a Lua array (stack: +1). */
void lsq_push_shape(lua_State *L, const size_t *shape, int ndim);
/* The open tensor at arg (raises otherwise). */
sq_tensor *lsq_check_tensor(lua_State *L, int arg);
/* Push a closed tensor box (stack: +1). */
lsq_tensor *lsq_new_tensor(lua_State *L);
/* The open quantized tensor at arg (raises otherwise). */
sq_qtensor *lsq_check_qtensor(lua_State *L, int arg);
/* Read the configuration table at idx (absent = defaults) into cfg, checked
 * against shape when not NULL; errors name argument arg (stack: 0). */
void lsq_parse_qconfig(lua_State *L, int idx, int arg, const char *prefix, const size_t *shape, int ndim,
                       sq_qconfig *cfg);
/* Set a number / integer field of the table on top (stack: 0). */
void lsq_setnum(lua_State *L, const char *k, double v);
void lsq_setint(lua_State *L, const char *k, size_t v);
/* Register a userdata type: metamethods, methods, __index closure and the
 * field names the REPL completes (stack: 0). */
void lsq_register_type(lua_State *L, const char *tname, const luaL_Reg *meta, const luaL_Reg *methods,
                       lua_CFunction index, const char *const *fields);

/* ---- lsquint_io.c -------------------------------------------------------- */

/* Register the checkpoint type (stack: 0). */
void lsq_io_register(lua_State *L);
/* sq.load, sq.open, sq.view; t:save and q:save. */
int lsq_load(lua_State *L);
int lsq_open(lua_State *L);
int lsq_view(lua_State *L);
int lsq_report(lua_State *L);
int lsq_tensor_save(lua_State *L);
int lsq_q_save(lua_State *L);
/* The open checkpoint at arg, or NULL when arg is not a checkpoint. */
struct sq_checkpoint *lsq_test_checkpoint(lua_State *L, int arg);
/* sq.quantize_named / sq.model_stats over the checkpoint at 1 with cfg (stack: +1). */
int lsq_ckpt_quantize_named(lua_State *L, const sq_qconfig *cfg);
int lsq_ckpt_model_stats(lua_State *L, const sq_qconfig *cfg);

/* Add sq.threads, sq.lesson and sq.plot to the module table on top
 * (lsquint_misc.c; stack: 0). */
void lsq_misc_register(lua_State *L);
/* Add sq.diff, sq.layer_error and sq.take_rows (lsquint_diff.c; stack: 0). */
void lsq_diff_register(lua_State *L);

/* Add sq.help and the module table's __tostring (the list of functions and
 * methods) to the module table on top (lsquint_help.c; stack: 0). */
void lsq_help_register(lua_State *L);

#endif
