/*
 * tui.h - the full-screen ncurses panel (public API for the program, the Lua
 * REPL and the file-format layer).
 *
 *     sq_error err;
 *     if (sq_tui_view_tensor(t, "layer0.weight", NULL, &err) != SQ_OK)
 *         fprintf(stderr, "squint: %s\n", err.msg);
 *
 * Each call takes the terminal (newterm on stdin/stdout, the locale set from
 * the environment for the duration), runs until the user presses q / Esc,
 * then restores the terminal (endwin + delscreen) and the previous locale, so
 * a REPL continues normally. No signal handlers are installed by squint (the
 * terminal is in raw mode: Ctrl-C is a key that leaves the panel). Requires
 * stdin and stdout to be terminals (SQ_ERR_UNSUPPORTED otherwise: check
 * sq_tui_available first). Not thread-safe; one panel at a time.
 *
 * Keys: b/B bits, m mode, g granularity, a axis, [ ] group size, r rounding,
 * z zero-in-range, l log counts, , . (or arrows) selected channel/group,
 * < > (PgUp/PgDn) by pages, p pin, x drop pin, s save, ? help, q/Esc back.
 */
#ifndef SQ_TUI_H
#define SQ_TUI_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "quant.h"
#include "tensor.h"

/* True when stdin and stdout are terminals (the panel can run). */
bool sq_tui_available(void);

/* Show tensor t (borrowed; not modified) named name, starting at `initial`
 * (NULL: int8 symmetric per-tensor). Returns SQ_OK when the user leaves;
 * errors: initial invalid for t (ARG), no terminal (UNSUPPORTED), no memory.
 * Analysis errors (e.g. NaN in t) are shown in the panel, not returned. */
sq_status sq_tui_view_tensor(const sq_tensor *t, const char *name, const sq_qconfig *initial, sq_error *err);

/* Show a quantized tensor: its dequantized values, starting at its own
 * configuration. */
sq_status sq_tui_view_qtensor(const sq_qtensor *q, const char *name, sq_error *err);

/* A set of named tensors loaded on demand (e.g. a checkpoint), with no
 * dependency on any file format. name(ctx, i) returns a string owned by the
 * source, valid while the panel runs; load(ctx, i, out, err) returns a new
 * tensor the panel frees with sq_tensor_free. */
typedef struct sq_tui_source {
    size_t n;
    const char *(*name)(void *ctx, size_t i);
    sq_status (*load)(void *ctx, size_t i, sq_tensor **out, sq_error *err);
    void *ctx;
} sq_tui_source;

/* Show the list of src's tensors with shape, size and SQNR under the current
 * configuration (computed one tensor at a time between key polls, with a
 * progress line), sortable by SQNR or size (o); Enter opens one in the
 * tensor panel, q there returns to the list. title names the source (e.g.
 * the file name). Load errors are shown on the tensor's row. */
sq_status sq_tui_view_source(const sq_tui_source *src, const char *title, const sq_qconfig *initial,
                             sq_error *err);

#endif
