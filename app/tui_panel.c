/* tui_panel.c - layout of the panel for a terminal size and rendering of the
 * model into a cell grid (pure; see tui_model.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui_model.h"

/* Fixed rows of the histogram column: two titles, marker row, two range rows. */
#define HIST_FIXED_ROWS 5
#define TOP_MIN_ROWS 11
/* Chart rows from which a third chart is shown (two more fixed rows). */
#define TALL_BARS 32

void sq_tui_layout_compute(const sq_tui_model *m, int w, int h, sq_tui_layout *lay)
{
    memset(lay, 0, sizeof *lay);
    lay->w = w;
    lay->h = h;
    if (w < SQ_TUI_MIN_W || h < SQ_TUI_MIN_H) {
        lay->too_small = true;
        lay->plot_w = w > 2 ? w - 2 : 1;
        return;
    }
    int stats_w = w >= 120 ? 36 : 30;
    lay->left_w = w - stats_w - 1;
    lay->plot_x = 1;
    lay->plot_w = lay->left_w - 2;
    lay->footer_y = h - 1;
    int avail = h - 2;
    lay->strip_h = m->cfg.granularity != SQ_GRAN_TENSOR ? 4 : 0;
    lay->pins_shown = m->n_pins;
    lay->pins_h = 3 + lay->pins_shown;
    int top = avail - lay->strip_h - lay->pins_h;
    if (top < TOP_MIN_ROWS) {
        lay->pins_shown -= TOP_MIN_ROWS - top;
        if (lay->pins_shown < 0)
            lay->pins_shown = 0;
        lay->pins_h = 3 + lay->pins_shown;
        top = avail - lay->strip_h - lay->pins_h;
    }
    int bars = top - HIST_FIXED_ROWS;
    if (bars >= TALL_BARS) { /* room for a third chart: three of at least 10 rows */
        lay->xbars_h = (bars - 2) / 3;
        lay->ebars_h = (bars - 2) / 3;
        lay->vbars_h = bars - 2 - lay->xbars_h - lay->ebars_h;
    } else {
        lay->vbars_h = (bars + 1) / 2;
        lay->ebars_h = bars - lay->vbars_h;
    }
    lay->vtitle_y = 1;
    lay->vbars_y = 2;
    lay->vmark_y = lay->vbars_y + lay->vbars_h;
    lay->vrange_y = lay->vmark_y + 1;
    lay->etitle_y = lay->vrange_y + 1;
    lay->ebars_y = lay->etitle_y + 1;
    lay->erange_y = lay->ebars_y + lay->ebars_h;
    if (lay->xbars_h > 0) {
        lay->xtitle_y = lay->erange_y + 1;
        lay->xbars_y = lay->xtitle_y + 1;
        lay->xrange_y = lay->xbars_y + lay->xbars_h;
    }
    lay->stats_x = lay->left_w + 1;
    lay->stats_y = 1;
    lay->stats_h = top;
    lay->strip_y = 1 + top;
    lay->pins_y = lay->strip_y + lay->strip_h;
}

/* printf into the grid, at most maxw cells. */
static void put_clip(sq_tui_grid *g, int x, int y, int maxw, sq_tui_role role, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;
static void put_clip(sq_tui_grid *g, int x, int y, int maxw, sq_tui_role role, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (maxw > 0)
        sq_tui_grid_put(g, x, y, buf, role, maxw);
}

/* Fill row y with blanks of a role. */
static void fill_row(sq_tui_grid *g, int y, sq_tui_role role)
{
    for (int x = 0; x < g->w; x++)
        sq_tui_grid_put(g, x, y, " ", role, 1);
}

/* Draw counts as bars (rebinned to w columns when needed). */
static void draw_hist(sq_tui_grid *g, const sq_hist *h, int x, int y, int w, int rows, bool log_scale,
                      const sq_tui_glyphs *gl, sq_tui_role role)
{
    sq_tui_draw_counts(g, h->counts, (size_t)h->bins, x, y, w, rows, log_scale, gl, role);
}

/* A range row: lo at the left, hi at the right, 0 at its column when inside. */
static void draw_range(sq_tui_grid *g, int x, int y, int w, double lo, double hi)
{
    char a[32], b[32];
    sq_tui_fmt_si(lo, 1, a, sizeof a);
    sq_tui_fmt_si(hi, 1, b, sizeof b);
    if (lo < 0 && hi > 0) {
        int z = x + (int)((0 - lo) / (hi - lo) * w);
        if (z > x + (int)strlen(a) && z < x + w - (int)strlen(b) - 1)
            sq_tui_grid_put(g, z, y, "0", SQ_ROLE_LABEL, -1);
    }
    sq_tui_grid_put(g, x, y, a, SQ_ROLE_LABEL, -1);
    sq_tui_grid_put(g, x + w - (int)strlen(b), y, b, SQ_ROLE_LABEL, -1);
}

/* The "what is selected" text: channel k of n / group k (row r, columns ..). */
static void selection_text(const sq_tui_model *m, char *buf, size_t size)
{
    const sq_qconfig *c = &m->done_cfg;
    if (c->granularity == SQ_GRAN_CHANNEL)
        snprintf(buf, size, "channel %zu/%zu (axis %d)", m->sel + 1, m->n_ch, c->axis + 1);
    else if (c->granularity == SQ_GRAN_GROUP) {
        size_t last = m->t->ndim > 0 ? m->t->shape[m->t->ndim - 1] : 1;
        size_t first = m->sel * c->group_size;
        snprintf(buf, size, "group %zu/%zu (row %zu, cols %zu..%zu)", m->sel + 1, m->n_ch, first / last + 1,
                 first % last + 1, first % last + c->group_size);
    } else
        snprintf(buf, size, "the tensor");
}

/* Shade the value-histogram columns beyond the selected scale's clip range
 * (sq_tui_clip_range): their filled cells get the clip glyph and role. Only
 * for a histogram of exactly the values that range governs (per-tensor INT,
 * or v's selection): other channels' values beyond it are not clipped. */
static void draw_clip(const sq_tui_model *m, const sq_tui_layout *l, sq_tui_grid *g, const sq_tui_glyphs *gl,
                      const sq_hist *h)
{
    double clo, chi;
    int below, above;
    sq_tui_clip_range(m->q, m->sel, &clo, &chi);
    sq_tui_clip_columns(h->lo, h->hi, clo, chi, l->plot_w, &below, &above);
    for (int c = 0; c < l->plot_w; c++) {
        if (c >= below && c < l->plot_w - above)
            continue;
        for (int r = 0; r < l->vbars_h; r++) {
            int x = l->plot_x + c, y = l->vbars_y + r;
            if (x < g->w && y < g->h && strcmp(g->cells[(size_t)y * g->w + x].g, " ") != 0)
                sq_tui_grid_put(g, x, y, gl->clip, SQ_ROLE_BAR_CLIP, 1);
        }
    }
}

/* The clip thresholds on the marker row (over the level markers), unless
 * they fall in the plot's first / last column (nothing beyond them). */
static void draw_clip_marks(const sq_tui_model *m, const sq_tui_layout *l, sq_tui_grid *g, const sq_tui_glyphs *gl,
                            const sq_hist *h)
{
    double clo, chi;
    sq_tui_clip_range(m->q, m->sel, &clo, &chi);
    int a = sq_tui_value_column(clo, h->lo, h->hi, l->plot_w), b = sq_tui_value_column(chi, h->lo, h->hi, l->plot_w);
    if (a > 0) /* not at the plot's edge: something lies beyond it */
        sq_tui_grid_put(g, l->plot_x + a, l->vmark_y, gl->clip_lo, SQ_ROLE_BAR_CLIP, 1);
    if (b >= 0 && b < l->plot_w - 1)
        sq_tui_grid_put(g, l->plot_x + b, l->vmark_y, gl->clip_hi, SQ_ROLE_BAR_CLIP, 1);
}

/* Value histogram (of the tensor, or with v of the selection alone over
 * its range widened to its levels) with the selected scale's level markers
 * (sq_qtensor_levels of its first element). */
static void draw_values(const sq_tui_model *m, const sq_tui_layout *l, sq_tui_grid *g, const sq_tui_glyphs *gl)
{
    char sel[96], s[32], z[32];
    double scale = m->q->scales[m->sel], zp = m->q->zero_points[m->sel];
    sq_hist selh = {0};
    const sq_hist *h = &m->val_hist;
    sq_error e;
    selection_text(m, sel, sizeof sel);
    if (m->sel_hist && m->sel_h.counts && m->sel_h_k == m->sel && m->sel_h_bins == l->plot_w)
        h = &m->sel_h; /* made by the update: a redraw does no pass over the values */
    else if (m->sel_hist && sq_tui_selection_hist(m->t, m->q, m->sel, l->plot_w, &selh, &e) == SQ_OK)
        h = &selh;
    bool of_sel = h == &selh || h == &m->sel_h;
    const char *vt = of_sel ? "Values of" : m->has_source ? "Values" : "Dequantized values";
    int tx = sq_tui_grid_printf(g, 0, l->vtitle_y, SQ_ROLE_TITLE, "%s%s", vt, m->log_counts ? " (log)" : "");
    if (of_sel)
        put_clip(g, tx, l->vtitle_y, l->left_w - tx, SQ_ROLE_LABEL, " %s, %s its levels (v: whole tensor)", sel,
                 gl->mark);
    else if (m->done_cfg.format == SQ_FORMAT_INT)
        put_clip(g, tx, l->vtitle_y, l->left_w - tx, SQ_ROLE_LABEL, " %s levels of %s: scale %s zp %s", gl->mark, sel,
                 sq_tui_fmt_si(scale, 1, s, sizeof s), sq_tui_fmt_si(zp, 1, z, sizeof z));
    else
        put_clip(g, tx, l->vtitle_y, l->left_w - tx, SQ_ROLE_LABEL, " %s %s levels of %s", gl->mark,
                 sq_format_name(m->done_cfg.format), sel);
    draw_hist(g, h, l->plot_x, l->vbars_y, l->plot_w, l->vbars_h, m->log_counts, gl, SQ_ROLE_BAR_VALUE);
    if (of_sel || (m->done_cfg.format == SQ_FORMAT_INT && m->done_cfg.granularity == SQ_GRAN_TENSOR))
        draw_clip(m, l, g, gl, h); /* the histogram holds exactly the values that range governs */
    size_t n = 0;
    float *lv = sq_tui_element_levels(m->q, sq_tui_member(m->q, m->sel, 0), &n);
    double *lvd = malloc((n ? n : 1) * sizeof *lvd);
    bool *mark = calloc((size_t)l->plot_w, sizeof *mark);
    if (lv && lvd && mark) {
        for (size_t i = 0; i < n; i++)
            lvd[i] = lv[i];
        sq_tui_marker_columns(lvd, n, h->lo, h->hi, l->plot_w, mark);
        for (int c = 0; c < l->plot_w; c++)
            if (mark[c])
                sq_tui_grid_put(g, l->plot_x + c, l->vmark_y, gl->mark, SQ_ROLE_MARKER, 1);
    }
    free(lv);
    free(lvd);
    free(mark);
    draw_clip_marks(m, l, g, gl, h);
    draw_range(g, l->plot_x, l->vrange_y, l->plot_w, h->lo, h->hi);
    sq_hist_free(&selh);
}

/* Error histogram. */
static void draw_errors(const sq_tui_model *m, const sq_tui_layout *l, sq_tui_grid *g, const sq_tui_glyphs *gl)
{
    char o[32];
    const sq_hist *h = &m->err_hist;
    if (!m->err_known) {
        sq_tui_grid_put(g, 0, l->etitle_y, "Error", SQ_ROLE_TITLE, -1);
        put_clip(g, 6, l->etitle_y, l->left_w - 6, SQ_ROLE_LABEL, " (x-%s)", gl->xhat);
        put_clip(g, l->plot_x, l->ebars_y + l->ebars_h / 2, l->plot_w, SQ_ROLE_WARN,
                 "no source: error unknown (sq.view(q, source) compares)");
        return;
    }
    int tx = sq_tui_grid_printf(g, 0, l->etitle_y, SQ_ROLE_TITLE, "Error x-%s%s", gl->xhat,
                                m->log_counts ? " (log)" : "");
    put_clip(g, tx, l->etitle_y, l->left_w - tx, SQ_ROLE_LABEL, " %s counts, outside range %s",
                       m->log_counts ? "log" : "linear", sq_tui_fmt_count(h->below + h->above, o, sizeof o));
    draw_hist(g, h, l->plot_x, l->ebars_y, l->plot_w, l->ebars_h, m->log_counts, gl, SQ_ROLE_BAR_ERROR);
    draw_range(g, l->plot_x, l->erange_y, l->plot_w, h->lo, h->hi);
}

/* Code usage: how often each code is used (t). */
static void draw_codes(const sq_tui_model *m, const sq_tui_layout *l, sq_tui_grid *g, const sq_tui_glyphs *gl)
{
    size_t n = (size_t)1 << m->done_cfg.bits;
    bool is_int = m->done_cfg.format == SQ_FORMAT_INT;
    int lo = is_int ? -(1 << (m->done_cfg.bits - 1)) : 0;
    char a[32], b[32];
    int tx = sq_tui_grid_printf(g, 0, l->etitle_y, SQ_ROLE_TITLE, "Code usage%s", m->log_counts ? " (log)" : "");
    put_clip(g, tx, l->etitle_y, l->left_w - tx, SQ_ROLE_LABEL, " %zu of %zu codes used (t: next pane)",
             m->codes_used, n);
    uint64_t *cols = malloc((size_t)l->plot_w * sizeof *cols);
    int *hts = malloc((size_t)l->plot_w * sizeof *hts);
    if (cols && hts && l->plot_w > 0) {
        sq_tui_code_columns(m->codes, n, l->plot_w, cols);
        sq_tui_bar_heights(cols, (size_t)l->plot_w, l->ebars_h, m->log_counts, hts);
        sq_tui_draw_bars(g, l->plot_x, l->ebars_y, l->ebars_h, hts, (size_t)l->plot_w, gl, SQ_ROLE_BAR_ERROR);
    }
    free(cols);
    free(hts);
    snprintf(a, sizeof a, "code %d", lo);
    snprintf(b, sizeof b, "%d", lo + (int)n - 1);
    sq_tui_grid_put(g, l->plot_x, l->erange_y, a, SQ_ROLE_LABEL, -1);
    sq_tui_grid_put(g, l->plot_x + l->plot_w - (int)strlen(b), l->erange_y, b, SQ_ROLE_LABEL, -1);
}

/* The transfer function x -> x-hat over the selection's range (t): the
 * staircase (*) over the identity (.). */
static void draw_transfer(const sq_tui_model *m, const sq_tui_layout *l, sq_tui_grid *g, const sq_tui_glyphs *gl)
{
    char sel[96];
    double lo, hi;
    int w = l->plot_w, rows = l->ebars_h;
    selection_text(m, sel, sizeof sel);
    int tx = sq_tui_grid_printf(g, 0, l->etitle_y, SQ_ROLE_TITLE, "Transfer x -> %s", gl->xhat);
    put_clip(g, tx, l->etitle_y, l->left_w - tx, SQ_ROLE_LABEL, " of %s (* %s, . x = %s)", sel, gl->xhat, gl->xhat);
    if (w <= 0 || rows <= 0)
        return;
    if (m->sel_r_ok && m->sel_r_k == m->sel)
        lo = m->sel_lo, hi = m->sel_hi; /* made by the update */
    else
        sq_tui_selection_range(m->t, m->q, m->sel, &lo, &hi);
    double *out = malloc((size_t)w * sizeof *out);
    if (out) {
        sq_tui_transfer(m->q, sq_tui_member(m->q, m->sel, 0), lo, hi, w, out);
        for (int c = 0; c < w; c++) {
            int ry = sq_tui_transfer_row(lo + (c + 0.5) * (hi - lo) / w, lo, hi, rows);
            if (ry >= 0)
                sq_tui_grid_put(g, l->plot_x + c, l->ebars_y + ry, ".", SQ_ROLE_LABEL, 1);
        }
        for (int c = 0; c < w; c++) {
            int ry = sq_tui_transfer_row(out[c], lo, hi, rows);
            if (ry >= 0)
                sq_tui_grid_put(g, l->plot_x + c, l->ebars_y + ry, "*", SQ_ROLE_BAR_ERROR, 1);
        }
    }
    free(out);
    draw_range(g, l->plot_x, l->erange_y, l->plot_w, lo, hi);
}

/* The statistics table. */
static void draw_stats(const sq_tui_model *m, const sq_tui_layout *l, sq_tui_grid *g)
{
    const char *label;
    char v[64];
    sq_tui_grid_put(g, l->stats_x, l->stats_y, "Statistics", SQ_ROLE_TITLE, -1);
    for (int i = 0; i + 1 < l->stats_h; i++) {
        if (!sq_tui_stats_cell(&m->st, &m->done_cfg, m->codes_used, m->storage, m->n_ch, i, &label, v, sizeof v))
            break;
        sq_tui_grid_put(g, l->stats_x, l->stats_y + 1 + i, label, SQ_ROLE_LABEL, -1);
        sq_tui_grid_put(g, l->stats_x + 11, l->stats_y + 1 + i, v, SQ_ROLE_VALUE, g->w - l->stats_x - 11);
    }
}

/* The per-channel / per-group strip: scales and errors as sparklines. */
static void draw_strip(const sq_tui_model *m, const sq_tui_layout *l, sq_tui_grid *g, const sq_tui_glyphs *gl)
{
    char sel[96], a[32], b[32], z[32];
    int cols = g->w - 8, x = 7;
    if (l->strip_h < 4 || cols < 1 || m->n_ch == 0)
        return;
    selection_text(m, sel, sizeof sel);
    sq_tui_grid_printf(g, 0, l->strip_y, SQ_ROLE_TITLE, "%s", m->done_cfg.granularity == SQ_GRAN_CHANNEL ? "Channels" : "Groups");
    if (isnan(m->ch_rmse[m->sel]))
        snprintf(b, sizeof b, "unknown");
    else
        sq_tui_fmt_si(m->ch_rmse[m->sel], 1, b, sizeof b);
    const sq_format_info *fi = sq_format_info_of((int)m->done_cfg.format);
    bool is_int = m->done_cfg.format == SQ_FORMAT_INT;
    char zpart[48] = ""; /* INT: the zero point; formats with a minimum: the block's minimum */
    if (is_int || (fi && fi->asymmetric))
        snprintf(zpart, sizeof zpart, " %s %s", is_int ? "zp" : "min",
                 sq_tui_fmt_si(m->q->zero_points[m->sel], 1, z, sizeof z));
    sq_tui_grid_printf(g, 9, l->strip_y, SQ_ROLE_LABEL, "%s: scale %s%s rmse %s   (,/. move  </> page)", sel,
                       sq_tui_fmt_si(m->q->scales[m->sel], 1, a, sizeof a), zpart, b);
    double *col = malloc((size_t)cols * sizeof *col);
    int *hts = malloc((size_t)cols * sizeof *hts);
    if (col && hts) {
        int used = sq_tui_strip_columns(m->q->scales, m->n_ch, cols, col);
        sq_tui_bar_heights_d(col, (size_t)used, 1, hts);
        sq_tui_grid_put(g, 0, l->strip_y + 1, "scale", SQ_ROLE_LABEL, -1);
        sq_tui_draw_spark(g, x, l->strip_y + 1, hts, (size_t)used, gl, SQ_ROLE_BAR_VALUE);
        used = sq_tui_strip_columns(m->ch_rmse, m->n_ch, cols, col);
        sq_tui_bar_heights_d(col, (size_t)used, 1, hts);
        sq_tui_grid_put(g, 0, l->strip_y + 2, "rmse", SQ_ROLE_LABEL, -1);
        sq_tui_draw_spark(g, x, l->strip_y + 2, hts, (size_t)used, gl, SQ_ROLE_BAR_ERROR);
        sq_tui_grid_put(g, x + sq_tui_strip_column_of(m->sel, m->n_ch, cols), l->strip_y + 3, gl->sel,
                        SQ_ROLE_SELECTED, 1);
    }
    free(col);
    free(hts);
}

/* The comparison table: the current configuration and the pinned rows. */
static void draw_pins(const sq_tui_model *m, const sq_tui_layout *l, sq_tui_grid *g)
{
    char row[256];
    int y = l->pins_y;
    sq_tui_grid_put(g, 0, y, "Comparison", SQ_ROLE_TITLE, -1);
    sq_tui_grid_printf(g, 11, y++, SQ_ROLE_LABEL, "(p pins the current row, x drops the last; %d pinned)", m->n_pins);
    sq_tui_grid_printf(g, 0, y++, SQ_ROLE_LABEL, "    %s", sq_tui_pin_row(NULL, NULL, 0, 0, row, sizeof row));
    sq_tui_grid_printf(g, 0, y++, SQ_ROLE_SELECTED, "now %s",
                       sq_tui_pin_row(&m->done_cfg, &m->st, m->codes_used, m->storage, row, sizeof row));
    for (int i = m->n_pins - l->pins_shown; i < m->n_pins; i++)
        sq_tui_grid_printf(g, 0, y++, SQ_ROLE_PIN, "#%-2d %s", i + 1,
                           sq_tui_pin_row(&m->pins[i].cfg, &m->pins[i].st, m->pins[i].codes_used, m->pins[i].storage, row,
                                          sizeof row));
}

static const char *const help_lines[] = {
    "Keys                                    (? again: the glossary)",
    "b / B   bits down / up (2..8)           f / F   format next / previous",
    "m       symmetric / asymmetric          e       walk through an element",
    "g       tensor, channel, group          w       element of worst |error|",
    "a       per-channel axis                v       values: tensor / selection",
    "[ / ]   group size down / up            t       pane: error, codes, x->x^",
    "r       rounding away / half even       l       log / linear counts",
    "z       zero in range (asymmetric)      p / x   pin row / drop last pin",
    ", / .   channel or group (arrows)       s       save stats, charts, screen",
    "< / >   selection by pages              ?       this help, the glossary",
    "c       calibration: minmax, mse, pct   ( / )   clip ratio -1% / +1%",
    "In the walk-through (e): <- / -> element, w worst, e or Esc closes.",
    "q / Esc back",
};

/* The walk-through box of element m->walk_i. The model is const here; the
 * dequantized values the formats need come from m->xhat when made (the key
 * that opens the box makes them), else are computed for the one element. */
static void draw_walk(const sq_tui_model *m, sq_tui_grid *g, const sq_tui_glyphs *gl)
{
    char lines[SQ_TUI_WALK_LINES][SQ_TUI_WALK_W];
    const char *ptr[SQ_TUI_WALK_LINES];
    sq_tui_walk w;
    float one = NAN;
    const float *xh = m->xhat;
    if (!xh && m->done_cfg.format != SQ_FORMAT_INT) {
        float *all = malloc(m->q->numel * sizeof *all);
        if (all) {
            sq_dequantize_into(m->q, all);
            one = all[m->walk_i < m->q->numel ? m->walk_i : 0];
        }
        free(all);
    }
    sq_tui_walk_compute(m->t, m->q, xh, m->walk_i, &w);
    if (!xh && m->done_cfg.format != SQ_FORMAT_INT) {
        w.xhat = one;
        w.err = w.x - one;
    }
    int n = sq_tui_walk_lines_glyph(&w, m->q, m->err_known, gl->xhat, lines, SQ_TUI_WALK_LINES);
    for (int i = 0; i < n; i++)
        ptr[i] = lines[i];
    sq_tui_draw_box(g, ptr, n, SQ_ROLE_HEADER);
}

/* What the header adds for a loaded quantized tensor. */
static const char *fixed_note(const sq_tui_model *m)
{
    if (!m->fixed)
        return "";
    if (!m->has_source)
        return " (loaded, fixed; no source)";
    return memcmp(&m->cfg, &m->fixed->config, sizeof m->cfg) == 0 ? " (loaded, vs source)"
                                                                   : " (source re-quantized)";
}

void sq_tui_render(const sq_tui_model *m, const sq_tui_layout *l, sq_tui_grid *g, const sq_tui_glyphs *gl)
{
    char shape[128], desc[96], cnt[32];
    if (!sq_tui_grid_resize(g, l->w, l->h))
        return;
    if (l->too_small) {
        sq_tui_grid_printf(g, 0, 0, SQ_ROLE_WARN, "terminal %dx%d is too small", l->w, l->h);
        sq_tui_grid_printf(g, 0, 1, SQ_ROLE_WARN, "need %dx%d; q quits", SQ_TUI_MIN_W, SQ_TUI_MIN_H);
        return;
    }
    fill_row(g, 0, SQ_ROLE_HEADER);
    sq_tui_grid_printf(g, 0, 0, SQ_ROLE_HEADER, " %s %s %s, %s values %s %s%s", m->name,
                       sq_shape_format(m->t->shape, m->t->ndim, shape, sizeof shape), sq_dtype_name(m->t->dtype),
                       sq_tui_fmt_count(m->t->numel, cnt, sizeof cnt), gl->hline,
                       sq_qconfig_describe_from(&m->cfg, 1, desc, sizeof desc), fixed_note(m));
    if (m->have) {
        draw_values(m, l, g, gl);
        if (l->xbars_h > 0) { /* tall: the error stays, the third chart shows codes or the transfer */
            sq_tui_layout x = *l;
            x.etitle_y = l->xtitle_y, x.ebars_y = l->xbars_y, x.ebars_h = l->xbars_h, x.erange_y = l->xrange_y;
            draw_errors(m, l, g, gl);
            if (m->pane == SQ_PANE_TRANSFER)
                draw_transfer(m, &x, g, gl);
            else
                draw_codes(m, &x, g, gl);
        } else if (m->pane == SQ_PANE_CODES)
            draw_codes(m, l, g, gl);
        else if (m->pane == SQ_PANE_TRANSFER)
            draw_transfer(m, l, g, gl);
        else
            draw_errors(m, l, g, gl);
        draw_stats(m, l, g);
        draw_strip(m, l, g, gl);
        draw_pins(m, l, g);
    } else {
        sq_tui_grid_put(g, 1, 2, m->fail[0] ? m->fail : m->msg[0] ? m->msg : "computing...", SQ_ROLE_WARN, -1);
    }
    fill_row(g, l->footer_y, SQ_ROLE_FOOTER);
    if (m->msg[0] && (m->have || (m->fail[0] && strcmp(m->msg, m->fail) != 0)))
        sq_tui_grid_put(g, 0, l->footer_y, m->msg, SQ_ROLE_WARN, -1);
    else
        sq_tui_grid_put(g, 0, l->footer_y,
                        g->w >= 131 ? "b/B bits  m mode  g gran  a axis  [/] group  f/F format  e explain  w worst  "
                                      "v sel  t pane  ,/. chan  p pin  s save  ? help  q quit"
                        : g->w >= 100 ? "b/B bits  m mode  g gran  a axis  [/] group  f/F format  e walk  v sel  "
                                        "t pane  p pin  ? help q quit"
                                      : "b/B m g a [] f/F fmt e walk w worst v sel t pane ,. p pin s ? help q quit",
                        SQ_ROLE_FOOTER, -1);
    if (m->have && m->walk && !m->help)
        draw_walk(m, g, gl);
    if (m->help && m->glossary)
        sq_tui_draw_box(g, sq_tui_glossary, sq_tui_glossary_n, SQ_ROLE_HEADER);
    else if (m->help)
        sq_tui_draw_box(g, help_lines, (int)(sizeof help_lines / sizeof help_lines[0]), SQ_ROLE_HEADER);
}
