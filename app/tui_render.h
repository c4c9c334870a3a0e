/*
 * tui_render.h - pure drawing primitives of the panel: a cell grid, glyph
 * tables (UTF-8 and ASCII), number formatting, histogram binning to bar
 * heights with eighth-block resolution. No terminal calls: everything here is
 * unit-tested (tests/test_tui.c); app/tui_curses.c copies a grid to the screen.
 *
 * A grid is w x h cells; each cell holds one glyph (one display column, up to
 * 4 bytes of UTF-8) and a colour role. Writing outside the grid is clipped.
 */
#ifndef SQ_TUI_RENDER_H
#define SQ_TUI_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a cell shows, for colouring; app/tui_curses.c maps roles to colour
 * pairs (or to bold/reverse in monochrome). */
typedef enum sq_tui_role {
    SQ_ROLE_NORMAL = 0,
    SQ_ROLE_HEADER,      /* top line: tensor and configuration */
    SQ_ROLE_TITLE,       /* section titles */
    SQ_ROLE_LABEL,       /* axis labels, table keys */
    SQ_ROLE_VALUE,       /* table values */
    SQ_ROLE_BAR_VALUE,   /* value-histogram bars */
    SQ_ROLE_BAR_ERROR,   /* error-histogram bars */
    SQ_ROLE_MARKER,      /* quantization-level markers */
    SQ_ROLE_SELECTED,    /* the selected channel / list row */
    SQ_ROLE_PIN,         /* pinned comparison rows */
    SQ_ROLE_FOOTER,      /* key help line */
    SQ_ROLE_WARN,        /* messages, errors */
    SQ_ROLE_BAR_CLIP,    /* value-histogram bars beyond the clip range */
    SQ_ROLE_COUNT
} sq_tui_role;

typedef struct sq_tui_cell {
    char g[5];          /* NUL-terminated UTF-8 of one glyph */
    uint8_t role;
} sq_tui_cell;

typedef struct sq_tui_grid {
    int w, h;
    sq_tui_cell *cells; /* w * h, row-major, owned */
} sq_tui_grid;

/* Glyphs for bars and markers: bar[k] is the glyph for k eighths (0..8) of a
 * cell filled from the bottom; mark the level marker; hline a rule; clip
 * replaces the filled cells of the columns beyond the clip range (a shade in
 * UTF-8, '/' in ASCII), whose ends clip_lo / clip_hi mark ("[" and "]"). */
typedef struct sq_tui_glyphs {
    const char *bar[9];
    const char *mark;
    const char *hline;
    const char *sel;     /* marker under the selected channel in the strip */
    const char *xhat;    /* the dequantized value x-hat ("x^" in ASCII) */
    const char *clip;    /* a filled cell of a bar beyond the clip range */
    const char *clip_lo, *clip_hi; /* the clip thresholds on the marker row */
} sq_tui_glyphs;

/* The UTF-8 (block elements) or the ASCII table. */
const sq_tui_glyphs *sq_tui_glyphs_get(bool utf8);

/* Whether a terminal of type term (the TERM variable, may be NULL) can run
 * the full-screen panel: false when unset, empty or "dumb" (callers then
 * fall back to plain text, as for a pipe). */
bool sq_tui_term_ok(const char *term);

/* Resize (and clear) a grid; returns false on allocation failure (grid left
 * empty). sq_tui_grid_free frees the cells; both accept a zeroed grid. */
bool sq_tui_grid_resize(sq_tui_grid *g, int w, int h);
void sq_tui_grid_free(sq_tui_grid *g);
void sq_tui_grid_clear(sq_tui_grid *g);
/* Write UTF-8 text at (x, y), one glyph per cell, clipped at the right edge
 * and at max_cells (< 0: no limit); a combining mark (U+0300..U+036F) joins
 * the cell before it. Returns the number of cells written. */
int sq_tui_grid_put(sq_tui_grid *g, int x, int y, const char *text, sq_tui_role role, int max_cells);
/* printf-style sq_tui_grid_put without a cell limit. */
int sq_tui_grid_printf(sq_tui_grid *g, int x, int y, sq_tui_role role, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
/* Row y as text (glyphs concatenated, trailing blanks removed) into buf;
 * returns buf. */
char *sq_tui_grid_row(const sq_tui_grid *g, int y, char *buf, size_t bufsize);
/* The whole grid as text, one line per row; a new string the caller frees. */
char *sq_tui_grid_text(const sq_tui_grid *g);

/* Display columns of UTF-8 text as sq_tui_grid_put lays it out: one per
 * glyph, none for a combining mark (U+0300..U+036F); "x\u0302" is 1. */
int sq_tui_text_cols(const char *s);
/* Draw a box of role `role` holding lines[0..n) (UTF-8), centred in the grid
 * below the header row, sized to the longest line (in display columns,
 * sq_tui_text_cols) plus a margin of two
 * columns each side and one blank row above and below (clipped to the grid
 * when it cannot fit). */
void sq_tui_draw_box(sq_tui_grid *g, const char *const *lines, int n, sq_tui_role role);

/* ---- numbers ------------------------------------------------------------- */

/* A number in at most `width` characters (width >= 6), right-aligned to
 * exactly width, 4 significant digits with an SI suffix (p n u m k M G T) when
 * |v| is outside [1, 1000): 0.000123 -> "123.0u", 15360 -> "15.36k",
 * -0.5 -> "-500.0m", 0 -> "0", inf -> "inf". Returns buf. */
char *sq_tui_fmt_si(double v, int width, char *buf, size_t bufsize);
/* Bytes with a binary unit: 512 -> "512 B", 4096 -> "4.00 KiB",
 * 67108864 -> "64.00 MiB". Returns buf. */
char *sq_tui_fmt_bytes(double bytes, char *buf, size_t bufsize);
/* A count compactly: below 10000 as is, then 12.3k, 4.56M, ... Returns buf. */
char *sq_tui_fmt_count(uint64_t n, char *buf, size_t bufsize);

/* ---- bars ---------------------------------------------------------------- */

/* Scale counts[0..n) to bar heights in eighths of a cell for bars `rows`
 * cells tall: the largest count fills rows * 8 eighths; a non-zero count is
 * at least one eighth; log_scale uses log(1 + count). Writes n heights. */
void sq_tui_bar_heights(const uint64_t *counts, size_t n, int rows, bool log_scale, int *heights);
/* Same for non-negative doubles (NaN and negatives count as 0). */
void sq_tui_bar_heights_d(const double *v, size_t n, int rows, int *heights);
/* Regroup `in` bins into `out` columns (out <= in or not): column c sums the
 * input bins whose centre falls in it. */
void sq_tui_rebin(const uint64_t *in, size_t n_in, uint64_t *out, size_t n_out);
/* Draw bars with heights in eighths into a rows-tall box whose top-left cell
 * is (x, y), one column per bar. */
void sq_tui_draw_bars(sq_tui_grid *g, int x, int y, int rows, const int *heights, size_t n,
                      const sq_tui_glyphs *gl, sq_tui_role role);
/* Draw bins counts as bars rebinned to w columns in a rows-tall box at
 * (x, y) (nothing when counts is NULL or the box is empty); log_scale draws
 * log(1 + count). Allocates two w-long scratch arrays (nothing drawn when
 * they cannot be had). */
void sq_tui_draw_counts(sq_tui_grid *g, const uint64_t *counts, size_t bins, int x, int y, int w, int rows,
                        bool log_scale, const sq_tui_glyphs *gl, sq_tui_role role);
/* One-row sparkline of heights (0..8 eighths) at (x, y). */
void sq_tui_draw_spark(sq_tui_grid *g, int x, int y, const int *eighths, size_t n,
                       const sq_tui_glyphs *gl, sq_tui_role role);

#endif
