/*
 * plot.h - charts a class can read on a projector, as PNG or SVG files.
 *
 *     sq_plot_hist h = sq_plot_hist_default();
 *     h.title = "Round-trip error, int4 per-channel"; h.xlabel = "error"; ...
 *     h.counts = counts; h.bins = 64; h.lo = -0.01; h.hi = 0.01;
 *     sq_scene *s;
 *     if (sq_plot_histogram(&h, &s, &err) != SQ_OK) ...;
 *     if (sq_scene_write(s, "error.svg", &err) != SQ_OK) ...;   // or .png
 *     sq_scene_free(s);
 *
 * A chart is first laid out as a scene: a list of rectangles, lines, circles
 * and text in pixel coordinates (pure code, unit-tested). The scene is then
 * written either as SVG (text elements stay text, so a chart's words can be
 * searched and copied) or as PNG through cairo. Files are written atomically
 * (engine/fileio.h). Nothing here is thread-safe or shared: each scene is
 * owned by its caller.
 */
#ifndef SQ_PLOT_H
#define SQ_PLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum sq_prim_kind { SQ_PRIM_RECT = 0, SQ_PRIM_LINE, SQ_PRIM_CIRCLE, SQ_PRIM_TEXT } sq_prim_kind;
typedef enum sq_anchor { SQ_ANCHOR_START = 0, SQ_ANCHOR_MIDDLE, SQ_ANCHOR_END } sq_anchor;

/* One drawing primitive. RECT: corner (x, y), size (w, h), filled. LINE:
 * from (x, y) to (x2, y2), stroke width `width`. CIRCLE: centre (x, y),
 * radius w, filled. TEXT: `text` with its baseline at (x, y), font size
 * `size` px, anchored by `anchor`, rotated -90 degrees when `vertical`. */
typedef struct sq_prim {
    sq_prim_kind kind;
    double x, y, w, h, x2, y2;
    double width, size;
    uint32_t rgb;        /* 0xRRGGBB */
    sq_anchor anchor;
    bool vertical;
    bool bold;
    char *text;          /* TEXT only; owned by the scene */
} sq_prim;

/* A laid-out chart: w x h pixels on a white background. */
typedef struct sq_scene {
    double w, h;
    sq_prim *prims;
    size_t n, cap;
} sq_scene;

/* A histogram of counts over equal-width bins covering [lo, hi]. */
typedef struct sq_plot_hist {
    const char *title;      /* top line; NULL for none */
    const char *subtitle;   /* second line (configuration, statistics); may be NULL */
    const char *xlabel;     /* horizontal axis label, with units */
    const char *ylabel;     /* vertical axis label ("count" when NULL) */
    const uint64_t *counts; /* bins entries */
    int bins;               /* >= 1 */
    double lo, hi;          /* finite, lo < hi */
    bool log_counts;        /* vertical axis log10(1 + count) */
    const double *marks;    /* values marked under the axis (quantization levels); may be NULL */
    size_t n_marks;
    double width, height;   /* pixels; 0 for 1280 x 720 */
} sq_plot_hist;

/* One point of a scatter chart; series picks its colour and legend entry. */
typedef struct sq_plot_point {
    double x, y;
    int series;             /* 0 .. n_series-1 */
    const char *label;      /* written beside the point; may be NULL */
} sq_plot_point;

/* A scatter chart, e.g. SQNR (dB) against bits per weight, points of a
 * series joined in the order given when `lines` is set. */
typedef struct sq_plot_scatter {
    const char *title, *subtitle, *xlabel, *ylabel;
    const sq_plot_point *points;
    size_t n_points;
    const char *const *series_names;  /* n_series legend entries; may be NULL */
    int n_series;                      /* >= 1 */
    bool lines;
    double width, height;              /* pixels; 0 for 1280 x 720 */
} sq_plot_scatter;

/* Defaults: everything empty, 1280 x 720. */
sq_plot_hist sq_plot_hist_default(void);
sq_plot_scatter sq_plot_scatter_default(void);

/* Lay out a histogram into a new scene (caller frees with sq_scene_free).
 * Errors: ARG (bins < 1, counts NULL, lo/hi not finite or lo >= hi, a mark
 * not finite), NOMEM. */
sq_status sq_plot_histogram(const sq_plot_hist *h, sq_scene **out, sq_error *err);

/* Lay out a scatter chart into a new scene (caller frees). Points with a
 * non-finite coordinate (an SQNR of +inf for a lossless case) are left out
 * and counted in a note on the chart. Errors: ARG (no finite point, a series
 * out of range, n_series < 1), NOMEM. */
sq_status sq_plot_scatter_chart(const sq_plot_scatter *s, sq_scene **out, sq_error *err);

/* Free s and its texts. sq_scene_free(NULL) is a no-op. */
void sq_scene_free(sq_scene *s);

/* Number of the scene's text primitives whose text equals str (for tests). */
size_t sq_scene_count_text(const sq_scene *s, const char *str);

/* "Nice" axis ticks for [lo, hi]: a step of 1, 2 or 5 times a power of ten
 * giving about `target` ticks; writes up to max ticks into out and returns
 * how many. lo < hi, both finite. */
size_t sq_plot_ticks(double lo, double hi, int target, double *out, size_t max);

/* Write s to path: SVG when path ends in ".svg", PNG when it ends in ".png"
 * (case-insensitive), atomically. Errors: ARG (another extension, naming
 * it), IO (naming the path), NOMEM. */
sq_status sq_scene_write(const sq_scene *s, const char *path, sq_error *err);

/* The SVG document of s as a NUL-terminated string (caller frees with
 * free()). Errors: NOMEM. */
sq_status sq_scene_svg(const sq_scene *s, char **out, sq_error *err);

/* Release the font caches cairo and fontconfig keep after drawing text
 * (for leak checkers at exit; drawing again afterwards reloads them). */
void sq_plot_release_caches(void);

#endif
