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
 * a REPL continues normally. The terminal size comes from the terminal
 * (ioctl), not from LINES/COLUMNS. While the panel runs, SIGWINCH is caught
 * by the panel (resizes redraw it at the new size); the previous disposition
 * is restored on return and, when the window was resized meanwhile, receives
 * one SIGWINCH then. No other signal handler is installed by squint (the
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

#include "checkpoint.h"
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

/* Show a loaded quantized tensor q (borrowed) with its own, fixed
 * configuration, codes and scales - never re-quantized. With source
 * (borrowed, may be NULL: the tensor q was made from, same shape) the panel
 * shows q's error against it, and configuration keys re-quantize the source
 * for comparison (q's own configuration shows q again). Without a source the
 * values shown are q's dequantized values, the error figures read "unknown"
 * and configuration keys say that the configuration is fixed. Errors:
 * source shape differs (ARG), no terminal (UNSUPPORTED), no memory. */
sq_status sq_tui_view_qtensor_source(const sq_qtensor *q, const sq_tensor *source, const char *name,
                                     sq_error *err);
/* The panel on b compared against the reference a (one shape; both
 * borrowed): error statistics, both value histograms, the error histogram
 * (app/tui_pair.c). Errors: shape mismatch, non-finite values (ARG /
 * NONFINITE, before the terminal is touched), no terminal. */
sq_status sq_tui_view_pair(const sq_tensor *a, const sq_tensor *b, const char *name, sq_error *err);
/* sq_tui_view_qtensor_source without a source. */
sq_status sq_tui_view_qtensor(const sq_qtensor *q, const char *name, sq_error *err);

/* The next tensor panel opened (sq_tui_view_tensor / _qtensor*) shows note
 * on its status line until the first key (e.g. a lesson's note and the keys
 * to try). note is copied (up to 511 bytes); NULL or "" clears it. */
void sq_tui_set_note(const char *note);

/* A set of named tensors loaded on demand (e.g. a checkpoint), with no
 * dependency on any file format. name(ctx, i) returns a string owned by the
 * source, valid while the panel runs; load(ctx, i, out, err) returns a new
 * tensor the panel frees with sq_tensor_free. Optional (NULL when the source
 * has none): is_quantized(ctx, i) says entry i is a quantized tensor, which
 * load_q(ctx, i, out, err) returns (a new qtensor the panel frees with
 * sq_qtensor_free; load is not called for it); load_orig(ctx, i, out, err)
 * returns the tensor it was quantized from, when available (a new tensor;
 * any error means "no source"). */
typedef struct sq_tui_source {
    size_t n;
    const char *(*name)(void *ctx, size_t i);
    sq_status (*load)(void *ctx, size_t i, sq_tensor **out, sq_error *err);
    void *ctx;
    bool (*is_quantized)(void *ctx, size_t i);
    sq_status (*load_q)(void *ctx, size_t i, sq_qtensor **out, sq_error *err);
    sq_status (*load_orig)(void *ctx, size_t i, sq_tensor **out, sq_error *err);
} sq_tui_source;

/* Show the list of src's tensors with shape, size and SQNR under the current
 * configuration (a quantized entry: its own configuration and bits per
 * weight, SQNR unknown without its source; Enter opens it as
 * sq_tui_view_qtensor does) (computed one tensor at a time between key polls, with a
 * progress line), sortable by SQNR or size (o); Enter opens one in the
 * tensor panel, q there returns to the list. title names the source (e.g.
 * the file name). Load errors are shown on the tensor's row. */
sq_status sq_tui_view_source(const sq_tui_source *src, const char *title, const sq_qconfig *initial,
                             sq_error *err);

/* A checkpoint as a panel source: one entry per plain tensor and one per
 * squint-quantized tensor NAME (its NAME.codes / .scales / .zero_points parts
 * are not listed separately), in file order. When the export names its
 * source file (metadata squint.source, as `squint quantize` writes it) and
 * that file opens, a quantized tensor's original is the source's tensor of
 * the same name and shape. The checkpoint is borrowed and must outlive the
 * source. Free with sq_tui_ckpt_source_free. */
typedef struct sq_tui_ckpt_source {
    sq_tui_source src;           /* pass &src to sq_tui_view_source */
    const sq_checkpoint *ck;
    sq_checkpoint *orig;         /* owned: the export's source file, or NULL */
    size_t *index;               /* entry -> checkpoint index (of NAME.codes when quantized) */
    char **qname;                /* entry -> NAME for quantized entries, else NULL */
} sq_tui_ckpt_source;
/* Errors: no memory. */
sq_status sq_tui_ckpt_source_init(sq_tui_ckpt_source *cs, const sq_checkpoint *ck, sq_error *err);
void sq_tui_ckpt_source_free(sq_tui_ckpt_source *cs);
/* sq_tui_view_source on a checkpoint's entries as above. */
sq_status sq_tui_view_checkpoint(const sq_checkpoint *ck, const char *title, const sq_qconfig *initial,
                                 sq_error *err);

#endif
