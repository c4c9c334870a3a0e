/* lsquint.h - the squint Lua module: tensors, quantization, statistics and the
 * seed's model pieces bound to Lua 5.4.
 *
 * The program opens it as the global `sq`; the same code builds as the Lua C
 * module squint.so (`local sq = require "squint"`). Indices are 1-based
 * (axis = 1 is the first dimension).
 *
 * Error channels: misuse (wrong types, unknown configuration keys, bad values)
 * and engine errors raise Lua errors naming the function and argument
 * ("bad argument #2 to 'quantize' (unknown key 'bitz')"); expected run-time
 * failures of the file writers (sq.write_csv, sq.write_json) return
 * nil, message. */
#ifndef SQ_APP_LSQUINT_H
#define SQ_APP_LSQUINT_H

#include <lua.h>

/* Metatable names (luaL_checkudata) of the module's userdata types. */
#define SQ_LUA_TENSOR "squint.tensor"
#define SQ_LUA_QTENSOR "squint.qtensor"
#define SQ_LUA_LINEAR "squint.linear"
#define SQ_LUA_QLINEAR "squint.qlinear"
#define SQ_LUA_ROWS "squint.rows"

#include <signal.h>

/* Set by the interpreter's SIGINT handler; long-running module functions
 * (sq.report) check it between tensors and stop early. */
extern volatile sig_atomic_t sq_lua_interrupt;

/* Set by the interpreter (NULL otherwise): sq.report calls it when it
 * stopped early on sq_lua_interrupt and is about to return the rows computed
 * so far (rows.interrupted = true), so that the interpreter cancels its
 * pending "interrupted!" error and prints a note. */
extern void (*sq_lua_interrupt_absorbed)(lua_State *L);

/* Create the module table, register the metatables and push the table
 * (stack: +1). The Lua C module entry point. */
int luaopen_squint(lua_State *L);

#endif
