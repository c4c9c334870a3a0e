/* tui_pair.c - the panel on a pair of plain tensors (sq.view(a, b)): b
 * compared against the reference a (engine/diff.h), the value histograms of
 * both over their common range and the error histogram; pure (no terminal),
 * app/tui_curses.c runs it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui_model.h"

/* The value range shared by a and b (finite values), never empty. */
static void pair_range(const sq_tensor *a, const sq_tensor *b, double *lo, double *hi)
{
    float mn = INFINITY, mx = -INFINITY;
    const sq_tensor *ts[2] = {a, b};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < ts[k]->numel; i++) {
            float v = ts[k]->data[i];
            if (isfinite(v)) {
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
        }
    *lo = mn, *hi = mx;
    if (!(isfinite(*lo) && isfinite(*hi)))
        *lo = -1, *hi = 1;
    if (!(*hi > *lo))
        *lo -= 0.5, *hi += 0.5;
}

sq_status sq_tui_pair_init(sq_tui_pair *p, const sq_tensor *a, const sq_tensor *b, const char *name, sq_error *err)
{
    memset(p, 0, sizeof *p);
    p->a = a;
    p->b = b;
    snprintf(p->name, sizeof p->name, "%s", name ? name : "pair");
    /* the shapes and values are checked here (sq_diff_stats' errors); the
     * plot width then only rebins when it changes */
    sq_status s = sq_tui_pair_update(p, 64, err);
    if (s != SQ_OK)
        sq_tui_pair_free(p);
    return s;
}

void sq_tui_pair_free(sq_tui_pair *p)
{
    sq_hist_free(&p->ha);
    sq_hist_free(&p->hb);
    sq_hist_free(&p->he);
    p->have = false;
}

sq_status sq_tui_pair_update(sq_tui_pair *p, int bins, sq_error *err)
{
    if (bins < 1)
        bins = 1;
    if (p->have && bins == p->bins)
        return SQ_OK;
    sq_tui_pair_free(p);
    sq_stats_opts o = sq_stats_opts_default();
    o.range = SQ_HIST_RANGE_DATA;
    o.hist_bins = bins > SQ_HIST_BINS_MAX ? SQ_HIST_BINS_MAX : bins;
    double lo, hi;
    pair_range(p->a, p->b, &lo, &hi);
    sq_status s = sq_diff_stats(p->a, p->b, &o, &p->d, &p->he, err);
    if (s == SQ_OK)
        s = sq_histogram_floats(p->a->data, p->a->numel, o.hist_bins, lo, hi, &p->ha, err);
    if (s == SQ_OK)
        s = sq_histogram_floats(p->b->data, p->b->numel, o.hist_bins, lo, hi, &p->hb, err);
    if (s != SQ_OK) {
        sq_tui_pair_free(p);
        snprintf(p->msg, sizeof p->msg, "error: %.480s", err ? err->msg : "comparison failed");
        return s;
    }
    p->bins = bins;
    p->have = true;
    return SQ_OK;
}

int sq_tui_pair_key(sq_tui_pair *p, int key)
{
    p->msg[0] = '\0';
    switch (key) {
    case 'q': case 'Q': case SQ_TUI_KEY_ESC:
        if (p->help) {
            p->help = false;
            return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
        }
        return SQ_TUI_HANDLED | SQ_TUI_QUIT;
    case 'l': p->log_counts = !p->log_counts; return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
    case '?': p->help = !p->help; return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
    case 0: return SQ_TUI_IGNORED;
    default:
        if (key >= 0x20 && key < 0x7f && strchr(SQ_TUI_PAIR_CONFIG_KEYS, key)) {
            snprintf(p->msg, sizeof p->msg, "%c: %s", key, SQ_TUI_MSG_PAIR);
            return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
        }
        return SQ_TUI_IGNORED;
    }
}

bool sq_tui_pair_stats_cell(const sq_diff *d, int i, const char **label, char *value, size_t vsize)
{
    static const char *labels[] = {"SQNR",   "MSE",    "RMSE",     "max |err|", "  at",     "mean |err|",
                                   "p50|err|", "p95|err|", "cosine", "err min",  "err max", "values"};
    char a[32];
    if (i < 0 || i >= (int)(sizeof labels / sizeof labels[0]))
        return false;
    *label = labels[i];
    switch (i) {
    case 0: snprintf(value, vsize, "%.2f dB", d->sqnr_db); break;
    case 1: snprintf(value, vsize, "%s", sq_tui_fmt_si(d->mse, 8, a, sizeof a)); break;
    case 2: snprintf(value, vsize, "%s", sq_tui_fmt_si(d->rmse, 8, a, sizeof a)); break;
    case 3: snprintf(value, vsize, "%s", sq_tui_fmt_si(d->max_abs_err, 8, a, sizeof a)); break;
    case 4: snprintf(value, vsize, "element %zu", d->max_index + 1); break;
    case 5: snprintf(value, vsize, "%s", sq_tui_fmt_si(d->mean_abs_err, 8, a, sizeof a)); break;
    case 6: snprintf(value, vsize, "%s", sq_tui_fmt_si(d->median_abs_err, 8, a, sizeof a)); break;
    case 7: snprintf(value, vsize, "%s", sq_tui_fmt_si(d->p95_abs_err, 8, a, sizeof a)); break;
    case 8: snprintf(value, vsize, "%.6f", d->cosine); break;
    case 9: snprintf(value, vsize, "%s", sq_tui_fmt_si(d->err_min, 8, a, sizeof a)); break;
    case 10: snprintf(value, vsize, "%s", sq_tui_fmt_si(d->err_max, 8, a, sizeof a)); break;
    default: snprintf(value, vsize, "%s", sq_tui_fmt_count(d->numel, a, sizeof a)); break;
    }
    return true;
}

void sq_tui_pair_layout(int w, int h, sq_tui_pair_layout_t *l)
{
    memset(l, 0, sizeof *l);
    l->w = w;
    l->h = h;
    if (w < SQ_TUI_MIN_W || h < SQ_TUI_MIN_H) {
        l->too_small = true;
        l->plot_w = w > 2 ? w - 2 : 1;
        return;
    }
    int stats_w = w >= 120 ? 36 : 30;
    l->left_w = w - stats_w - 1;
    l->plot_x = 1;
    l->plot_w = l->left_w - 2;
    l->stats_x = l->left_w + 1;
    int bars = h - 2 - 6; /* header, footer; a title and a range row per chart */
    for (int k = 0; k < 3; k++) {
        l->bars_h[k] = bars / 3 + (k < bars % 3);
        l->title_y[k] = k == 0 ? 1 : l->range_y[k - 1] + 1;
        l->bars_y[k] = l->title_y[k] + 1;
        l->range_y[k] = l->bars_y[k] + l->bars_h[k];
    }
}

/* lo at the left, hi at the right of a range row. */
static void pair_range_row(sq_tui_grid *g, int x, int y, int w, double lo, double hi)
{
    char a[32], b[32];
    sq_tui_fmt_si(lo, 1, a, sizeof a);
    sq_tui_fmt_si(hi, 1, b, sizeof b);
    sq_tui_grid_put(g, x, y, a, SQ_ROLE_LABEL, -1);
    sq_tui_grid_put(g, x + w - (int)strlen(b), y, b, SQ_ROLE_LABEL, -1);
}

static const char *const pair_help[] = {
    "sq.view(a, b): b compared against the reference a",
    "(e = a - b; SQNR = 10 log10(sum a^2 / sum e^2))",
    "",
    "l       log / linear counts",
    "?       this help",
    "q / Esc back",
    "",
    "Quantization keys (b, m, g, f, c, e, ...) do nothing here:",
    "view one tensor to quantize it.",
};

void sq_tui_pair_render(const sq_tui_pair *p, const sq_tui_pair_layout_t *l, sq_tui_grid *g,
                        const sq_tui_glyphs *gl)
{
    char buf[512], shape[8 * 24 + 4];
    if (!sq_tui_grid_resize(g, l->w, l->h))
        return;
    sq_shape_format(p->a->shape, p->a->ndim, shape, sizeof shape);
    if (l->too_small) {
        sq_tui_grid_printf(g, 0, 0, SQ_ROLE_WARN, "terminal too small (need %dx%d)", SQ_TUI_MIN_W, SQ_TUI_MIN_H);
        return;
    }
    for (int x = 0; x < g->w; x++)
        sq_tui_grid_put(g, x, 0, " ", SQ_ROLE_HEADER, 1);
    snprintf(buf, sizeof buf, " %s %s f32, %s values %s b against the reference a", p->name, shape,
             sq_tui_fmt_count(p->a->numel, (char[32]){0}, 32), gl->hline);
    sq_tui_grid_put(g, 0, 0, buf, SQ_ROLE_HEADER, g->w);
    if (p->have) {
        const sq_hist *hs[3] = {&p->ha, &p->hb, &p->he};
        const char *titles[3] = {"Values of a (reference)", "Values of b", "Error a-b"};
        sq_tui_role roles[3] = {SQ_ROLE_BAR_VALUE, SQ_ROLE_BAR_VALUE, SQ_ROLE_BAR_ERROR};
        for (int k = 0; k < 3; k++) {
            sq_tui_grid_printf(g, 0, l->title_y[k], SQ_ROLE_TITLE, "%s%s", titles[k],
                               p->log_counts ? " (log)" : "");
            sq_tui_draw_counts(g, hs[k]->counts, (size_t)hs[k]->bins, l->plot_x, l->bars_y[k], l->plot_w, l->bars_h[k],
                               p->log_counts, gl, roles[k]);
            pair_range_row(g, l->plot_x, l->range_y[k], l->plot_w, hs[k]->lo, hs[k]->hi);
        }
        sq_tui_grid_put(g, l->stats_x, 1, "Statistics", SQ_ROLE_TITLE, -1);
        const char *label;
        char v[64];
        for (int i = 0; sq_tui_pair_stats_cell(&p->d, i, &label, v, sizeof v) && 2 + i < l->h - 1; i++) {
            sq_tui_grid_put(g, l->stats_x, 2 + i, label, SQ_ROLE_LABEL, -1);
            sq_tui_grid_put(g, l->stats_x + 11, 2 + i, v, SQ_ROLE_VALUE, g->w - l->stats_x - 11);
        }
    }
    for (int x = 0; x < g->w; x++)
        sq_tui_grid_put(g, x, l->h - 1, " ", SQ_ROLE_FOOTER, 1);
    if (p->msg[0])
        sq_tui_grid_put(g, 0, l->h - 1, p->msg, SQ_ROLE_WARN, g->w);
    else
        sq_tui_grid_put(g, 0, l->h - 1, "l log counts  ? help  q quit", SQ_ROLE_FOOTER, g->w);
    if (p->help)
        sq_tui_draw_box(g, pair_help, (int)(sizeof pair_help / sizeof pair_help[0]), SQ_ROLE_HEADER);
}
