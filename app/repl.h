/* repl.h - squint as a Lua interpreter: script mode and the interactive REPL.
 *
 * As lua(1): `squint [options] [script [args]]` with -e CODE, -l [G=]MODULE,
 * -i, -v, -E, -W, -, --, LUA_INIT_5_4 / LUA_INIT; the REPL on a terminal (GNU readline when built
 * with it: history, tab completion of globals and fields, Ctrl-C to
 * interrupt), otherwise stdin runs as a script. The squint module is the
 * global `sq` (and package.loaded.squint). In the REPL a top-level
 * `local NAME = ...` / `local function NAME` runs without the `local`. */
#ifndef SQ_APP_REPL_H
#define SQ_APP_REPL_H

#include <stdio.h>

/* Run the interpreter on argv (argv[0] is the program name). Returns the
 * process exit status: 0, or 1 when a chunk failed or an option is bad
 * (then lua(1)'s usage text goes to stderr). Messages are prefixed with argv[0]. */
int sq_repl_main(int argc, char **argv);

/* Print the interpreter's command-line options (for --help). */
void sq_repl_usage(FILE *out);

#endif
