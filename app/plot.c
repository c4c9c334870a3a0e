/* plot.c - lay out charts (histograms, scatter charts) as scenes of
 * primitives in pixel coordinates. Pure: no files, no cairo. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Layout of a chart: margins around the plotting area, font sizes in px. */
enum { MARGIN_LEFT = 120, MARGIN_RIGHT = 50, MARGIN_TOP = 110, MARGIN_BOTTOM = 105 };
#define FONT_TITLE 30.0
#define FONT_SUBTITLE 20.0
#define FONT_LABEL 22.0
#define FONT_TICK 18.0
#define FONT_NOTE 16.0

#define COLOR_TEXT 0x202020u
#define COLOR_AXIS 0x404040u
#define COLOR_GRID 0xdddddd
#define COLOR_BAR 0x0072b2u
#define COLOR_MARK 0xd55e00u

/* Okabe-Ito colours: distinguishable for colour-blind readers and on a projector. */
static const uint32_t series_colors[] = {0x0072b2, 0xd55e00, 0x009e73, 0xe69f00,
                                         0xcc79a7, 0x56b4e9, 0x000000, 0xf0e442};

/* The plotting area of a scene and the data ranges it maps. */
typedef struct plot_frame {
    double left, right, top, bottom;   /* pixels */
    double xlo, xhi, ylo, yhi;         /* data */
} plot_frame;

sq_plot_hist sq_plot_hist_default(void)
{
    sq_plot_hist h;
    memset(&h, 0, sizeof h);
    return h;
}

sq_plot_scatter sq_plot_scatter_default(void)
{
    sq_plot_scatter s;
    memset(&s, 0, sizeof s);
    s.n_series = 1;
    return s;
}

void sq_scene_free(sq_scene *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->prims[i].text);
    free(s->prims);
    free(s);
}

/* A new empty scene of w x h pixels (0: 1280 x 720); NULL without memory. */
static sq_scene *scene_new(double w, double h)
{
    sq_scene *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->w = w > 0 ? w : 1280;
    s->h = h > 0 ? h : 720;
    return s;
}

/* Append p (its text copied); false without memory. */
static bool scene_add(sq_scene *s, sq_prim p)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        sq_prim *np = realloc(s->prims, cap * sizeof *np);
        if (!np)
            return false;
        s->prims = np;
        s->cap = cap;
    }
    if (p.text && !(p.text = strdup(p.text)))
        return false;
    s->prims[s->n++] = p;
    return true;
}

static bool add_rect(sq_scene *s, double x, double y, double w, double h, uint32_t rgb)
{
    sq_prim p = {.kind = SQ_PRIM_RECT, .x = x, .y = y, .w = w, .h = h, .rgb = rgb};
    return scene_add(s, p);
}

static bool add_line(sq_scene *s, double x, double y, double x2, double y2, double width, uint32_t rgb)
{
    sq_prim p = {.kind = SQ_PRIM_LINE, .x = x, .y = y, .x2 = x2, .y2 = y2, .width = width, .rgb = rgb};
    return scene_add(s, p);
}

static bool add_circle(sq_scene *s, double x, double y, double r, uint32_t rgb)
{
    sq_prim p = {.kind = SQ_PRIM_CIRCLE, .x = x, .y = y, .w = r, .rgb = rgb};
    return scene_add(s, p);
}

static bool add_text(sq_scene *s, double x, double y, const char *text, double size, sq_anchor anchor,
                     uint32_t rgb)
{
    sq_prim p = {.kind = SQ_PRIM_TEXT, .x = x, .y = y, .size = size, .anchor = anchor, .rgb = rgb,
                 .text = (char *)text};
    return scene_add(s, p);
}

size_t sq_scene_count_text(const sq_scene *s, const char *str)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->prims[i].kind == SQ_PRIM_TEXT && strcmp(s->prims[i].text, str) == 0)
            n++;
    return n;
}

size_t sq_plot_ticks(double lo, double hi, int target, double *out, size_t max)
{
    double raw = (hi - lo) / (target > 1 ? target : 1);
    double mag = pow(10.0, floor(log10(raw)));
    double step = mag;
    if (raw / mag > 5)
        step = 10 * mag;
    else if (raw / mag > 2)
        step = 5 * mag;
    else if (raw / mag > 1)
        step = 2 * mag;
    size_t n = 0;
    for (double k = ceil(lo / step - 1e-9); n < max; k++) {
        double v = k * step;
        if (v > hi + step * 1e-9)
            break;
        out[n++] = fabs(v) < step * 1e-9 ? 0.0 : v;
    }
    return n;
}

/* Data to pixel coordinates. */
static double frame_x(const plot_frame *f, double x)
{
    return f->left + (x - f->xlo) / (f->xhi - f->xlo) * (f->right - f->left);
}

static double frame_y(const plot_frame *f, double y)
{
    return f->bottom - (y - f->ylo) / (f->yhi - f->ylo) * (f->bottom - f->top);
}

/* A tick value as short text: %.4g, with "-0" written as "0". */
static void tick_text(double v, char *buf, size_t n)
{
    snprintf(buf, n, "%.4g", v == 0 ? 0.0 : v);
}

/* Title, subtitle and axis labels around the frame. */
static bool draw_titles(sq_scene *s, const plot_frame *f, const char *title, const char *subtitle,
                        const char *xlabel, const char *ylabel)
{
    bool ok = true;
    if (title) {
        ok = add_text(s, s->w / 2, 48, title, FONT_TITLE, SQ_ANCHOR_MIDDLE, COLOR_TEXT);
        if (ok)
            s->prims[s->n - 1].bold = true;
    }
    if (subtitle)
        ok = ok && add_text(s, s->w / 2, 82, subtitle, FONT_SUBTITLE, SQ_ANCHOR_MIDDLE, COLOR_AXIS);
    if (xlabel)
        ok = ok && add_text(s, (f->left + f->right) / 2, s->h - 25, xlabel, FONT_LABEL, SQ_ANCHOR_MIDDLE,
                            COLOR_TEXT);
    if (ylabel) {
        ok = ok && add_text(s, 32, (f->top + f->bottom) / 2, ylabel, FONT_LABEL, SQ_ANCHOR_MIDDLE, COLOR_TEXT);
        if (ok)
            s->prims[s->n - 1].vertical = true;
    }
    return ok;
}

/* Horizontal axis with ticks and labels at the values in ticks[]. */
static bool draw_xaxis(sq_scene *s, const plot_frame *f, const double *ticks, size_t n)
{
    bool ok = add_line(s, f->left, f->bottom, f->right, f->bottom, 2, COLOR_AXIS);
    char buf[32];
    for (size_t i = 0; ok && i < n; i++) {
        double x = frame_x(f, ticks[i]);
        tick_text(ticks[i], buf, sizeof buf);
        ok = add_line(s, x, f->bottom, x, f->bottom + 8, 2, COLOR_AXIS) &&
             add_text(s, x, f->bottom + 32, buf, FONT_TICK, SQ_ANCHOR_MIDDLE, COLOR_TEXT);
    }
    return ok;
}

/* Vertical axis with grid lines at ticks[], labelled by labels[i] (or the
 * value itself when labels is NULL). */
static bool draw_yaxis(sq_scene *s, const plot_frame *f, const double *ticks, const char *const *labels,
                       size_t n)
{
    bool ok = add_line(s, f->left, f->top, f->left, f->bottom, 2, COLOR_AXIS);
    char buf[32];
    for (size_t i = 0; ok && i < n; i++) {
        double y = frame_y(f, ticks[i]);
        if (labels)
            snprintf(buf, sizeof buf, "%s", labels[i]);
        else
            tick_text(ticks[i], buf, sizeof buf);
        ok = add_line(s, f->left + 1, y, f->right, y, 1, COLOR_GRID) &&
             add_line(s, f->left - 8, y, f->left, y, 2, COLOR_AXIS) &&
             add_text(s, f->left - 14, y + 6, buf, FONT_TICK, SQ_ANCHOR_END, COLOR_TEXT);
    }
    return ok;
}

/* The frame inside the scene's margins, for the given data ranges. */
static plot_frame frame_for(const sq_scene *s, double xlo, double xhi, double ylo, double yhi)
{
    plot_frame f = {MARGIN_LEFT, s->w - MARGIN_RIGHT, MARGIN_TOP, s->h - MARGIN_BOTTOM, xlo, xhi, ylo, yhi};
    return f;
}

/* Check a histogram's fields; SQ_OK or ARG naming the field. */
static sq_status hist_check(const sq_plot_hist *h, sq_error *err)
{
    if (h->bins < 1 || !h->counts)
        return sq_fail(err, SQ_ERR_ARG, "histogram: %d bins%s", h->bins, h->counts ? "" : " and no counts");
    if (!isfinite(h->lo) || !isfinite(h->hi) || !(h->lo < h->hi))
        return sq_fail(err, SQ_ERR_ARG, "histogram: range [%g, %g] is not a finite interval", h->lo, h->hi);
    for (size_t i = 0; i < h->n_marks; i++)
        if (!isfinite(h->marks[i]))
            return sq_fail(err, SQ_ERR_ARG, "histogram: mark %zu is not finite", i + 1);
    if (h->width < 0 || h->height < 0 || (h->width > 0 && h->width < 320) || (h->height > 0 && h->height < 240) ||
        h->width > 16384 || h->height > 16384)
        return sq_fail(err, SQ_ERR_ARG, "histogram: size %gx%g outside 320x240 .. 16384x16384", h->width,
                       h->height);
    return SQ_OK;
}

/* Height of a bin on the chart's vertical scale. */
static double hist_value(const sq_plot_hist *h, uint64_t count)
{
    return h->log_counts ? log10(1.0 + (double)count) : (double)count;
}

/* Vertical axis of a histogram: linear nice ticks, or powers of ten. */
static bool hist_yaxis(sq_scene *s, const plot_frame *f, const sq_plot_hist *h)
{
    double ticks[24];
    if (!h->log_counts) {
        size_t n = sq_plot_ticks(0, f->yhi, 6, ticks, 24);
        return draw_yaxis(s, f, ticks, NULL, n);
    }
    static const char *const pow_labels[] = {"0", "1", "10", "100", "1k", "10k", "100k", "1M", "10M",
                                             "100M", "1G", "10G", "100G", "1T"};
    size_t n = 0;
    ticks[n++] = 0;
    for (int k = 0; k < 13 && log10(1.0 + pow(10.0, k)) <= f->yhi + 1e-9; k++)
        ticks[n++] = log10(1.0 + pow(10.0, k));
    return draw_yaxis(s, f, ticks, pow_labels, n);
}

sq_status sq_plot_histogram(const sq_plot_hist *h, sq_scene **out, sq_error *err)
{
    *out = NULL;
    sq_status st = hist_check(h, err);
    if (st != SQ_OK)
        return st;
    sq_scene *s = scene_new(h->width, h->height);
    if (!s)
        return sq_fail(err, SQ_ERR_NOMEM, "histogram: out of memory");
    double top = 0;
    for (int i = 0; i < h->bins; i++)
        top = fmax(top, hist_value(h, h->counts[i]));
    plot_frame f = frame_for(s, h->lo, h->hi, 0, top > 0 ? top * 1.05 : 1);
    bool ok = draw_titles(s, &f, h->title, h->subtitle, h->xlabel, h->ylabel ? h->ylabel : "count") &&
              hist_yaxis(s, &f, h);
    double bw = (f.right - f.left) / h->bins;
    for (int i = 0; ok && i < h->bins; i++) {
        double y = frame_y(&f, hist_value(h, h->counts[i]));
        if (h->counts[i])
            ok = add_rect(s, f.left + i * bw, y, bw > 3 ? bw - 1 : bw, f.bottom - y, COLOR_BAR);
    }
    size_t shown = 0;
    for (size_t i = 0; ok && i < h->n_marks; i++)
        if (h->marks[i] >= h->lo && h->marks[i] <= h->hi) {
            double x = frame_x(&f, h->marks[i]);
            ok = add_line(s, x, f.bottom - 14, x, f.bottom, 3, COLOR_MARK);
            shown++;
        }
    double ticks[24];
    size_t nt = sq_plot_ticks(h->lo, h->hi, 8, ticks, 24);
    ok = ok && draw_xaxis(s, &f, ticks, nt);
    if (ok && h->n_marks) {
        char note[96];
        snprintf(note, sizeof note, "| %zu level%s marked", shown, shown == 1 ? "" : "s");
        if (shown < h->n_marks)
            snprintf(note + strlen(note), sizeof note - strlen(note), " (%zu outside the range)",
                     h->n_marks - shown);
        ok = add_text(s, f.right, f.top - 8, note, FONT_NOTE, SQ_ANCHOR_END, COLOR_MARK);
    }
    if (!ok) {
        sq_scene_free(s);
        return sq_fail(err, SQ_ERR_NOMEM, "histogram: out of memory");
    }
    *out = s;
    return SQ_OK;
}

/* Check a scatter chart's fields and find the range of its finite points;
 * *skipped counts the others. */
static sq_status scatter_check(const sq_plot_scatter *c, double r[4], size_t *skipped, sq_error *err)
{
    if (c->n_series < 1 || c->n_series > 64)
        return sq_fail(err, SQ_ERR_ARG, "scatter chart: %d series (1 to 64)", c->n_series);
    if (c->width < 0 || c->height < 0 || (c->width > 0 && c->width < 320) || (c->height > 0 && c->height < 240) ||
        c->width > 16384 || c->height > 16384)
        return sq_fail(err, SQ_ERR_ARG, "scatter chart: size %gx%g outside 320x240 .. 16384x16384", c->width,
                       c->height);
    r[0] = r[2] = INFINITY;
    r[1] = r[3] = -INFINITY;
    *skipped = 0;
    for (size_t i = 0; i < c->n_points; i++) {
        const sq_plot_point *p = &c->points[i];
        if (p->series < 0 || p->series >= c->n_series)
            return sq_fail(err, SQ_ERR_ARG, "scatter chart: point %zu has series %d (1 to %d)", i + 1,
                           p->series + 1, c->n_series);
        if (!isfinite(p->x) || !isfinite(p->y)) {
            (*skipped)++;
            continue;
        }
        r[0] = fmin(r[0], p->x), r[1] = fmax(r[1], p->x);
        r[2] = fmin(r[2], p->y), r[3] = fmax(r[3], p->y);
    }
    if (*skipped == c->n_points)
        return sq_fail(err, SQ_ERR_ARG, "scatter chart: no point with finite coordinates (%zu given)",
                       c->n_points);
    return SQ_OK;
}

/* Widen [*lo, *hi] by 6% on each side (by 1 when it is a single value). */
static void pad_range(double *lo, double *hi)
{
    double d = *hi - *lo;
    if (d <= 0) {
        *lo -= 1;
        *hi += 1;
        return;
    }
    *lo -= 0.06 * d;
    *hi += 0.06 * d;
}

/* Lines joining each series' points in order, then the points, labels. */
static bool scatter_points(sq_scene *s, const plot_frame *f, const sq_plot_scatter *c)
{
    bool ok = true;
    for (int k = 0; ok && c->lines && k < c->n_series; k++) {
        const sq_plot_point *prev = NULL;
        for (size_t i = 0; ok && i < c->n_points; i++) {
            const sq_plot_point *p = &c->points[i];
            if (p->series != k || !isfinite(p->x) || !isfinite(p->y))
                continue;
            if (prev)
                ok = add_line(s, frame_x(f, prev->x), frame_y(f, prev->y), frame_x(f, p->x), frame_y(f, p->y), 2,
                              series_colors[k % 8]);
            prev = p;
        }
    }
    for (size_t i = 0; ok && i < c->n_points; i++) {
        const sq_plot_point *p = &c->points[i];
        if (!isfinite(p->x) || !isfinite(p->y))
            continue;
        double x = frame_x(f, p->x), y = frame_y(f, p->y);
        ok = add_circle(s, x, y, 7, series_colors[p->series % 8]);
        /* a label that would run off the right edge goes left of its point
         * (width estimated at 0.6 em a character) */
        bool left = p->label && x + 11 + 0.6 * FONT_NOTE * (double)strlen(p->label) > s->w - 4;
        if (ok && p->label)
            ok = add_text(s, left ? x - 11 : x + 11, y - 9, p->label, FONT_NOTE,
                          left ? SQ_ANCHOR_END : SQ_ANCHOR_START, COLOR_TEXT);
    }
    return ok;
}

/* The legend: one coloured dot and name per series, top left of the frame. */
static bool scatter_legend(sq_scene *s, const plot_frame *f, const sq_plot_scatter *c)
{
    bool ok = true;
    for (int k = 0; ok && c->series_names && k < c->n_series; k++) {
        double y = f->top + 22 + 26.0 * k;
        ok = add_circle(s, f->left + 22, y - 6, 7, series_colors[k % 8]) &&
             add_text(s, f->left + 38, y, c->series_names[k], FONT_TICK, SQ_ANCHOR_START, COLOR_TEXT);
    }
    return ok;
}

sq_status sq_plot_scatter_chart(const sq_plot_scatter *c, sq_scene **out, sq_error *err)
{
    *out = NULL;
    double r[4] = {0, 0, 0, 0};
    size_t skipped = 0;
    sq_status st = scatter_check(c, r, &skipped, err);
    if (st != SQ_OK)
        return st;
    sq_scene *s = scene_new(c->width, c->height);
    if (!s)
        return sq_fail(err, SQ_ERR_NOMEM, "scatter chart: out of memory");
    pad_range(&r[0], &r[1]);
    pad_range(&r[2], &r[3]);
    plot_frame f = frame_for(s, r[0], r[1], r[2], r[3]);
    double xt[24], yt[24];
    size_t nx = sq_plot_ticks(r[0], r[1], 8, xt, 24), ny = sq_plot_ticks(r[2], r[3], 6, yt, 24);
    bool ok = draw_titles(s, &f, c->title, c->subtitle, c->xlabel, c->ylabel) && draw_yaxis(s, &f, yt, NULL, ny) &&
              draw_xaxis(s, &f, xt, nx) && scatter_points(s, &f, c) && scatter_legend(s, &f, c);
    if (ok && skipped) {
        char note[96];
        snprintf(note, sizeof note, "%zu point%s not shown (infinite: lossless)", skipped, skipped == 1 ? "" : "s");
        ok = add_text(s, f.right, f.top - 8, note, FONT_NOTE, SQ_ANCHOR_END, COLOR_AXIS);
    }
    if (!ok) {
        sq_scene_free(s);
        return sq_fail(err, SQ_ERR_NOMEM, "scatter chart: out of memory");
    }
    *out = s;
    return SQ_OK;
}
