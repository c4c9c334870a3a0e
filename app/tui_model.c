/* tui_model.c - panel state, key transitions and the analysis behind the
 * panel (see tui_model.h). */
#include "tui_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sq_status sq_tui_model_init(sq_tui_model *m, const sq_tensor *t, const char *name,
                            const sq_qconfig *initial, sq_error *err)
{
    memset(m, 0, sizeof *m);
    m->t = t;
    snprintf(m->name, sizeof m->name, "%s", name && *name ? name : "tensor");
    m->cfg = initial ? *initial : sq_qconfig_default();
    sq_status s = sq_qconfig_check(&m->cfg, t->shape, t->ndim, err);
    if (s != SQ_OK)
        return s;
    sq_tensor_summary(t, &m->sum);
    m->has_source = true;
    m->int_cfg = m->cfg.format == SQ_FORMAT_INT ? m->cfg : sq_qconfig_default();
    return SQ_OK;
}

sq_status sq_tui_qtensor_check(const sq_qtensor *q, const sq_tensor *source, sq_error *err)
{
    char a[128], b[128];
    if (!q)
        return sq_fail(err, SQ_ERR_ARG, "no quantized tensor to show");
    if (source && (source->ndim != q->ndim ||
                   memcmp(source->shape, q->shape, (size_t)q->ndim * sizeof q->shape[0]) != 0))
        return sq_fail(err, SQ_ERR_ARG, "source tensor shape %s does not match the quantized tensor's %s",
                       sq_shape_format(source->shape, source->ndim, a, sizeof a),
                       sq_shape_format(q->shape, q->ndim, b, sizeof b));
    return sq_qconfig_check(&q->config, q->shape, q->ndim, err);
}

sq_status sq_tui_model_init_qtensor(sq_tui_model *m, const sq_qtensor *q, const sq_tensor *source,
                                    const sq_tensor *deq, const char *name, sq_error *err)
{
    const sq_tensor *t = source ? source : deq;
    memset(m, 0, sizeof *m);
    if (!t)
        return sq_fail(err, SQ_ERR_ARG, "the quantized tensor view needs its source or dequantized values");
    sq_status s = sq_tui_qtensor_check(q, t, err);
    if (s == SQ_OK)
        s = sq_tui_model_init(m, t, name, &q->config, err);
    if (s != SQ_OK)
        return s;
    m->fixed = q;
    m->has_source = source != NULL;
    return SQ_OK;
}

/* Drop the analysis results (not the value histogram). */
static void model_drop_results(sq_tui_model *m)
{
    sq_qtensor_free(m->q_own);
    m->q_own = NULL;
    m->q = NULL;
    m->showing_fixed = false;
    m->err_known = false;
    sq_hist_free(&m->err_hist);
    free(m->ch_rmse);
    m->ch_rmse = NULL;
    m->xhat = NULL; /* its buffer stays for the next configuration */
    sq_hist_free(&m->sel_h);
    m->sel_r_ok = false;
    m->n_ch = 0;
    m->storage = 0;
    m->have = false;
}

const float *sq_tui_model_xhat(sq_tui_model *m)
{
    if (!m->have || !m->q)
        return NULL;
    if (!m->xhat) {
        size_t n = m->q->numel ? m->q->numel : 1;
        if (m->xhat_cap < n) {
            free(m->xhat_buf);
            m->xhat_buf = malloc(n * sizeof *m->xhat_buf);
            m->xhat_cap = m->xhat_buf ? n : 0;
        }
        if (m->xhat_buf) {
            sq_dequantize_into(m->q, m->xhat_buf);
            m->xhat = m->xhat_buf;
        }
    }
    return m->xhat;
}

void sq_tui_model_free(sq_tui_model *m)
{
    model_drop_results(m);
    free(m->xhat_buf);
    m->xhat_buf = NULL;
    m->xhat_cap = 0;
    sq_hist_free(&m->val_hist);
}

/* Mark the error figures of st unknown (NaN); sizes stay. */
static void stats_errors_unknown(sq_stats *st)
{
    st->mse = st->rmse = st->max_abs_err = st->mean_abs_err = NAN;
    st->sqnr_db = st->cosine = st->clipped_frac = NAN;
    st->err_min = st->err_max = st->sum_e2 = st->mse_round = st->mse_clip = NAN;
    st->clipped = 0;
}

/* The results for the loaded quantized tensor itself: its codes, scales and
 * sizes; its error against the source when there is one (never a
 * re-quantization). m->ch_rmse has m->fixed->n_scales entries. */
static sq_status analyse_fixed(sq_tui_model *m, sq_stats_opts *o, sq_error *err)
{
    const sq_qtensor *q = m->fixed;
    sq_status s;
    m->q = q;
    m->showing_fixed = true;
    sq_code_histogram(q, m->codes);
    if (!m->has_source) {
        s = sq_roundtrip_stats(m->t, q, o, &m->st, NULL, err); /* the sizes */
        stats_errors_unknown(&m->st);
        for (size_t c = 0; c < q->n_scales; c++)
            m->ch_rmse[c] = NAN;
        return s;
    }
    s = sq_roundtrip_stats(m->t, q, o, &m->st, &m->err_hist, err);
    if (s == SQ_OK)
        s = sq_index_mse(m->t, q, m->ch_rmse, err);
    m->err_known = s == SQ_OK;
    return s;
}

/* v: (re)make the selection's histogram for m->sel and bins when it is not
 * the one held (a failure leaves none: the render then makes its own); the
 * transfer pane: the selection's range likewise. */
static void sel_hist_refresh(sq_tui_model *m, int bins)
{
    sq_error e;
    if (!m->have || !m->q)
        return;
    if (m->pane == SQ_PANE_TRANSFER && !(m->sel_r_ok && m->sel_r_k == m->sel)) {
        sq_tui_selection_range(m->t, m->q, m->sel, &m->sel_lo, &m->sel_hi);
        m->sel_r_k = m->sel;
        m->sel_r_ok = true;
    }
    if (!m->sel_hist)
        return;
    if (m->sel_h.counts && m->sel_h_k == m->sel && m->sel_h_bins == bins)
        return;
    sq_hist_free(&m->sel_h);
    if (sq_tui_selection_hist(m->t, m->q, m->sel, bins, &m->sel_h, &e) == SQ_OK) {
        m->sel_h_k = m->sel;
        m->sel_h_bins = bins;
    }
}

sq_status sq_tui_model_update(sq_tui_model *m, int bins, sq_error *err)
{
    sq_status s;
    if (bins < 1)
        bins = 1;
    if (bins != m->bins || !m->val_hist.counts) {
        double lo = m->sum.min, hi = m->sum.max;
        if (!(isfinite(lo) && isfinite(hi)))
            lo = -1, hi = 1;
        if (!(hi > lo))
            lo -= 0.5, hi += 0.5;
        sq_hist_free(&m->val_hist);
        s = sq_histogram_floats(m->t->data, m->t->numel, bins, lo, hi, &m->val_hist, err);
        if (s != SQ_OK)
            goto fail;
    }
    if (m->have && bins == m->bins && memcmp(&m->done_cfg, &m->cfg, sizeof m->cfg) == 0) {
        sel_hist_refresh(m, bins);
        return SQ_OK;
    }
    model_drop_results(m);
    m->bins = bins;
    sq_stats_opts o = sq_stats_opts_default();
    o.hist_bins = bins;
    if ((s = sq_qconfig_check(&m->cfg, m->t->shape, m->t->ndim, err)) != SQ_OK)
        goto fail;
    m->n_ch = sq_qconfig_scale_count(&m->cfg, m->t->shape, m->t->ndim);
    m->ch_rmse = malloc((m->n_ch ? m->n_ch : 1) * sizeof *m->ch_rmse);
    if (!m->ch_rmse) {
        s = sq_fail(err, SQ_ERR_NOMEM, "out of memory for per-channel errors");
        goto fail;
    }
    if (m->fixed && memcmp(&m->cfg, &m->fixed->config, sizeof m->cfg) == 0) {
        s = analyse_fixed(m, &o, err);
    } else {
        o.index_mse = m->ch_rmse; /* per-channel / per-group errors and the code */
        o.code_counts = m->codes; /* histogram in the same pass */
        s = sq_quantize_stats(m->t, &m->cfg, &o, &m->q_own, &m->st, &m->err_hist, err);
        m->q = m->q_own;
        m->err_known = true;
    }
    if (s != SQ_OK)
        goto fail;
    m->codes_used = 0;
    for (size_t k = 0; k < ((size_t)1 << m->cfg.bits); k++)
        m->codes_used += m->codes[k] != 0;
    m->n_ch = m->q->n_scales;
    m->storage = sq_qtensor_storage_bytes(m->q);
    for (size_t c = 0; c < m->n_ch; c++)
        m->ch_rmse[c] = sqrt(m->ch_rmse[c]);
    if (m->sel >= m->n_ch)
        m->sel = m->n_ch ? m->n_ch - 1 : 0;
    m->done_cfg = m->cfg;
    m->have = true;
    m->fail[0] = '\0';
    sel_hist_refresh(m, bins);
    return SQ_OK;
fail:
    model_drop_results(m);
    snprintf(m->msg, sizeof m->msg, "error: %.480s", err ? err->msg : "analysis failed");
    memcpy(m->fail, m->msg, sizeof m->fail);
    m->fail_cfg = m->cfg;
    return s;
}

/* ---- transitions ----------------------------------------------------------- */

size_t sq_tui_group_step(size_t g, size_t last_dim, int dir)
{
    if (last_dim == 0)
        return g;
    if (dir > 0) {
        for (size_t d = 2 * g; d <= last_dim; d++)
            if (last_dim % d == 0)
                return d;
        for (size_t d = g + 1; d <= last_dim; d++)
            if (last_dim % d == 0)
                return d;
        return g;
    }
    for (size_t d = g / 2; d >= 1; d--)
        if (last_dim % d == 0)
            return d;
    for (size_t d = g > 1 ? g - 1 : 1; d >= 1 && d < g; d--)
        if (last_dim % d == 0)
            return d;
    return g;
}

/* A group size dividing last_dim: g itself, else the largest divisor below, else 1. */
static size_t group_fit(size_t g, size_t last_dim)
{
    if (last_dim == 0)
        return g ? g : 1;
    if (g == 0)
        g = 1;
    if (g > last_dim)
        g = last_dim;
    while (g > 1 && last_dim % g != 0)
        g--;
    return g;
}

void sq_tui_cycle_granularity(sq_qconfig *cfg, const size_t *shape, int ndim)
{
    if (ndim <= 0) {
        cfg->granularity = SQ_GRAN_TENSOR;
        return;
    }
    switch (cfg->granularity) {
    case SQ_GRAN_TENSOR:
        cfg->granularity = SQ_GRAN_CHANNEL;
        if (cfg->axis < 0 || cfg->axis >= ndim)
            cfg->axis = 0;
        break;
    case SQ_GRAN_CHANNEL:
        cfg->granularity = SQ_GRAN_GROUP;
        cfg->group_size = group_fit(cfg->group_size, shape[ndim - 1]);
        break;
    default:
        cfg->granularity = SQ_GRAN_TENSOR;
        break;
    }
}

/* First element of scale index k. */
static size_t first_element(const sq_tui_model *m, size_t k)
{
    return m->q && sq_tui_member_count(m->q, k) ? sq_tui_member(m->q, k, 0) : 0;
}

/* Move the selection by delta within 0..n-1 (clamped); an open
 * walk-through follows to the selection's first element. */
static int move_sel(sq_tui_model *m, long long delta)
{
    size_t n = m->n_ch;
    if (n == 0)
        return SQ_TUI_HANDLED;
    long long s = (long long)m->sel + delta;
    if (s < 0)
        s = 0;
    if (s >= (long long)n)
        s = (long long)n - 1;
    m->sel = (size_t)s;
    if (m->walk)
        m->walk_i = first_element(m, m->sel);
    return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
}

/* Say on the status line that key has nothing to do (state unchanged). */
static int idle(sq_tui_model *m, const char *why)
{
    snprintf(m->msg, sizeof m->msg, "%s", why);
    return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
}

/* [ / ]: the next group size, or why there is none. */
static int group_key(sq_tui_model *m, int key)
{
    sq_qconfig *c = &m->cfg;
    if (c->granularity != SQ_GRAN_GROUP || m->t->ndim <= 0)
        return idle(m, SQ_TUI_MSG_NOT_GROUP);
    size_t last = m->t->shape[m->t->ndim - 1], cur = group_fit(c->group_size, last);
    size_t next = sq_tui_group_step(cur, last, key == ']' ? 1 : -1);
    if (next == cur) {
        snprintf(m->msg, sizeof m->msg, "%c: group size %zu is already the %s divisor of %zu", key, cur,
                 key == ']' ? "largest" : "smallest", last);
        return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
    }
    c->group_size = next;
    m->sel = 0;
    return SQ_TUI_HANDLED | SQ_TUI_REDRAW | SQ_TUI_RECOMPUTE;
}

/* ( / ): the clip ratio 1% down / up (switching to clip calibration from
 * 100%), within 1%..100%. */
static int clip_key(sq_tui_model *m, int key)
{
    sq_qconfig *c = &m->cfg;
    double r = c->calibration == SQ_CALIB_CLIP ? c->clip : 1.0;
    long pct = lround(r * 100) + (key == ')' ? 1 : -1);
    if (pct > 100 || pct < 1) {
        snprintf(m->msg, sizeof m->msg, "%c: the clip ratio is already %s", key,
                 pct > 100 ? "100% (the whole range)" : "1%, the least");
        return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
    }
    c->calibration = SQ_CALIB_CLIP;
    c->clip = (double)pct / 100.0;
    return SQ_TUI_HANDLED | SQ_TUI_REDRAW | SQ_TUI_RECOMPUTE;
}

/* , . < > and arrows: move the selection, or say there is none. */
static int sel_key(sq_tui_model *m, long long delta)
{
    if (m->cfg.granularity == SQ_GRAN_TENSOR)
        return idle(m, SQ_TUI_MSG_NO_SEL);
    return move_sel(m, delta);
}

/* Put the walk-through on element i and select its scale index. */
static void walk_to(sq_tui_model *m, size_t i)
{
    m->walk_i = i;
    if (m->q && i < m->q->numel)
        m->sel = sq_qtensor_scale_index(m->q, i);
}

/* Keys of the open walk-through: arrows step through the elements, w jumps
 * to the worst, e / Esc close. Returns 0 for a key it leaves to the panel. */
static int walk_key(sq_tui_model *m, int key)
{
    size_t n = m->q ? m->q->numel : 0;
    switch (key) {
    case SQ_TUI_KEY_LEFT:
        if (m->walk_i > 0)
            walk_to(m, m->walk_i - 1);
        return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
    case SQ_TUI_KEY_RIGHT:
        if (m->walk_i + 1 < n)
            walk_to(m, m->walk_i + 1);
        return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
    case 'e':
    case SQ_TUI_KEY_ESC:
        m->walk = false;
        return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
    default:
        return 0;
    }
}

/* w: the element with the worst |error| (opens the walk-through). */
static int worst_key(sq_tui_model *m)
{
    const float *xh = sq_tui_model_xhat(m);
    if (!xh)
        return idle(m, m->have ? "w: out of memory for the dequantized values" : "w: nothing computed yet");
    if (!m->err_known)
        return idle(m, "w: the error is unknown without a source");
    walk_to(m, sq_tui_worst_element(m->t, xh));
    m->walk = true;
    snprintf(m->msg, sizeof m->msg, "w: element %zu has the worst |error| %.4g", m->walk_i + 1,
             fabs((double)m->t->data[m->walk_i] - xh[m->walk_i]));
    return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
}

/* f / F: the next / previous format that fits the tensor; the ones skipped
 * are named on the status line. Leaving INT keeps its configuration for the
 * way back. */
static int format_key(sq_tui_model *m, int dir)
{
    const sq_tensor *t = m->t;
    char skipped[256] = "", why[200] = "";
    int cur = (int)m->cfg.format;
    sq_error e;
    for (int step = 1; step < SQ_FORMAT_COUNT; step++) {
        int f = ((cur + dir * step) % SQ_FORMAT_COUNT + SQ_FORMAT_COUNT) % SQ_FORMAT_COUNT;
        sq_qconfig c = f == SQ_FORMAT_INT ? m->int_cfg : sq_qconfig_for_format((sq_format)f);
        if (f == SQ_FORMAT_NF4 && t->ndim > 0) { /* any even group size dividing the row */
            size_t last = t->shape[t->ndim - 1], g = group_fit(c.group_size, last);
            while (g > 2 && (g % 2 || last % g))
                g--;
            c.group_size = g;
        }
        if (sq_qconfig_check(&c, t->shape, t->ndim, &e) != SQ_OK) {
            size_t o = strlen(skipped);
            snprintf(skipped + o, sizeof skipped - o, "%s%s", o ? " " : "", sq_format_name((sq_format)f));
            if (!why[0])
                snprintf(why, sizeof why, "%.190s", e.msg);
            continue;
        }
        if (cur == SQ_FORMAT_INT)
            m->int_cfg = m->cfg;
        m->cfg = c;
        m->sel = 0;
        if (skipped[0])
            snprintf(m->msg, sizeof m->msg, "%c: skipped %s (%s)", dir > 0 ? 'f' : 'F', skipped, why);
        return SQ_TUI_HANDLED | SQ_TUI_REDRAW | SQ_TUI_RECOMPUTE;
    }
    return idle(m, "f: no other format fits this tensor");
}

static int model_key(sq_tui_model *m, int key);

int sq_tui_model_key(sq_tui_model *m, int key)
{
    sq_qconfig before = m->cfg;
    int r = model_key(m, key);
    if ((r & SQ_TUI_RECOMPUTE) && before.format != SQ_FORMAT_INT && m->cfg.format == before.format) {
        sq_error e;
        if (sq_qconfig_check(&m->cfg, m->t->shape, m->t->ndim, &e) != SQ_OK) {
            m->cfg = before; /* a key the format does not allow */
            snprintf(m->msg, sizeof m->msg, "%c: %s %s", key, sq_format_name(before.format), SQ_TUI_MSG_FORMAT_FIXED);
            return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
        }
    }
    return r;
}

static int model_key(sq_tui_model *m, int key)
{
    sq_qconfig *c = &m->cfg;
    const sq_tensor *t = m->t;
    const int changed = SQ_TUI_HANDLED | SQ_TUI_REDRAW | SQ_TUI_RECOMPUTE;
    long long page = m->n_ch > 16 ? (long long)(m->n_ch / 16) : 1;
    if (m->help && key != '?' && key != 'q' && key != SQ_TUI_KEY_ESC)
        m->help = m->glossary = false; /* any other key closes the help and then acts */
    m->msg[0] = key == 's' ? m->msg[0] : '\0';
    if (m->walk && !m->help) {
        int r = walk_key(m, key);
        if (r)
            return r;
    }
    if (m->fixed && !m->has_source && key < 128 && key > 0 && strchr("bBmga[]rzfFc()", key)) {
        snprintf(m->msg, sizeof m->msg, "%s", SQ_TUI_MSG_FIXED);
        return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
    }
    switch (key) {
    case 'b':
        if (c->bits <= SQ_BITS_MIN)
            return idle(m, SQ_TUI_MSG_BITS_MIN);
        c->bits--;
        return changed;
    case 'B':
        if (c->bits >= SQ_BITS_MAX)
            return idle(m, SQ_TUI_MSG_BITS_MAX);
        c->bits++;
        return changed;
    case 'm':
        c->mode = c->mode == SQ_MODE_SYMMETRIC ? SQ_MODE_ASYMMETRIC : SQ_MODE_SYMMETRIC;
        return changed;
    case 'g':
        sq_tui_cycle_granularity(c, t->shape, t->ndim);
        m->sel = 0;
        return changed;
    case 'a':
        if (c->granularity != SQ_GRAN_CHANNEL)
            return idle(m, SQ_TUI_MSG_NOT_CHANNEL);
        if (t->ndim <= 1)
            return idle(m, SQ_TUI_MSG_ONE_AXIS);
        c->axis = (c->axis + 1) % t->ndim;
        m->sel = 0;
        return changed;
    case '[':
    case ']':
        return group_key(m, key);
    case 'r':
        c->rounding = c->rounding == SQ_ROUND_AWAY ? SQ_ROUND_EVEN : SQ_ROUND_AWAY;
        return changed;
    case 'z':
        if (c->mode != SQ_MODE_ASYMMETRIC)
            return idle(m, SQ_TUI_MSG_Z_SYM);
        c->zero_in_range = !c->zero_in_range;
        return changed;
    case 'l':
        m->log_counts = !m->log_counts;
        return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
    case 'c': /* calibration: minmax -> mse -> percentile -> minmax */
        c->calibration = c->calibration == SQ_CALIB_MINMAX ? SQ_CALIB_MSE
                         : c->calibration == SQ_CALIB_MSE  ? SQ_CALIB_PERCENTILE
                                                           : SQ_CALIB_MINMAX;
        return changed;
    case '(':
    case ')':
        return clip_key(m, key);
    case 'e':
        if (!m->have)
            return idle(m, "e: nothing computed yet");
        m->walk = true;
        if (m->done_cfg.format != SQ_FORMAT_INT)
            sq_tui_model_xhat(m); /* the decoder's values (INT computes its own) */
        if (!m->q || m->walk_i >= m->q->numel || sq_qtensor_scale_index(m->q, m->walk_i) != m->sel)
            m->walk_i = first_element(m, m->sel);
        return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
    case 'w':
        return worst_key(m);
    case 'v':
        m->sel_hist = !m->sel_hist;
        return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
    case 't':
        m->pane = (sq_tui_pane)((m->pane + 1) % SQ_PANE_COUNT);
        return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
    case 'f':
    case 'F':
        return format_key(m, key == 'f' ? 1 : -1);
    case SQ_TUI_KEY_LEFT:
    case ',':
        return sel_key(m, -1);
    case SQ_TUI_KEY_RIGHT:
    case '.':
        return sel_key(m, 1);
    case SQ_TUI_KEY_PGUP:
    case '<':
        return sel_key(m, -page);
    case SQ_TUI_KEY_PGDN:
    case '>':
        return sel_key(m, page);
    case SQ_TUI_KEY_HOME:
        return sel_key(m, -(long long)m->n_ch);
    case SQ_TUI_KEY_END:
        return sel_key(m, (long long)m->n_ch);
    case 'p':
        if (!m->have)
            return SQ_TUI_HANDLED;
        if (m->n_pins == SQ_TUI_MAX_PINS) {
            memmove(m->pins, m->pins + 1, (SQ_TUI_MAX_PINS - 1) * sizeof m->pins[0]);
            m->n_pins--;
        }
        m->pins[m->n_pins].cfg = m->done_cfg;
        m->pins[m->n_pins].st = m->st;
        m->pins[m->n_pins].codes_used = m->codes_used;
        m->pins[m->n_pins].storage = m->storage;
        m->n_pins++;
        return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
    case 'x':
        if (m->n_pins > 0)
            m->n_pins--;
        return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
    case 's':
        if (m->have && !m->err_known) {
            snprintf(m->msg, sizeof m->msg, "nothing saved: the error is unknown without a source");
            return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
        }
        return SQ_TUI_HANDLED | SQ_TUI_SAVE | SQ_TUI_REDRAW;
    case '?': /* keys, then the glossary, then closed */
        if (m->help && !m->glossary)
            m->glossary = true;
        else
            m->help = !m->help, m->glossary = false;
        return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
    case 'q':
    case 'Q':
    case SQ_TUI_KEY_ESC:
        if (m->help) {
            m->help = m->glossary = false;
            return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
        }
        return SQ_TUI_HANDLED | SQ_TUI_QUIT;
    default:
        return SQ_TUI_IGNORED;
    }
}

/* ---- pure helpers ---------------------------------------------------------- */

size_t sq_tui_levels(const sq_qconfig *cfg, double scale, double zp, double *out)
{
    int qmin = sq_qconfig_qmin(cfg), qmax = sq_qconfig_qmax(cfg);
    size_t n = 0;
    for (int q = qmin; q <= qmax && n < 256; q++)
        out[n++] = (float)(((double)q - zp) * scale);
    return n;
}

void sq_tui_marker_columns(const double *levels, size_t n, double lo, double hi, int cols, bool *mark)
{
    for (int c = 0; c < cols; c++)
        mark[c] = false;
    if (!(hi > lo) || cols <= 0)
        return;
    for (size_t i = 0; i < n; i++) {
        double v = levels[i];
        if (v < lo || v > hi)
            continue;
        int c = (int)((v - lo) / (hi - lo) * cols);
        mark[c >= cols ? cols - 1 : c] = true;
    }
}

int sq_tui_strip_columns(const double *v, size_t n, int cols, double *out)
{
    if (cols <= 0)
        return 0;
    for (int c = 0; c < cols; c++)
        out[c] = 0;
    if (n <= (size_t)cols) {
        for (size_t i = 0; i < n; i++)
            out[i] = v[i];
        return (int)n;
    }
    for (size_t i = 0; i < n; i++) {
        int c = sq_tui_strip_column_of(i, n, cols);
        if (v[i] > out[c])
            out[c] = v[i];
    }
    return cols;
}

int sq_tui_strip_column_of(size_t sel, size_t n, int cols)
{
    if (n <= (size_t)cols)
        return (int)sel;
    return (int)((double)sel * cols / (double)n);
}

char *sq_tui_config_short(const sq_qconfig *cfg, char *buf, size_t bufsize)
{
    char gran[32];
    if (cfg->granularity == SQ_GRAN_CHANNEL)
        snprintf(gran, sizeof gran, "ch%d", cfg->axis + 1);
    else if (cfg->granularity == SQ_GRAN_GROUP)
        snprintf(gran, sizeof gran, "g%zu", cfg->group_size);
    else
        snprintf(gran, sizeof gran, "tensor");
    bool asym = cfg->mode == SQ_MODE_ASYMMETRIC;
    if (cfg->format != SQ_FORMAT_INT) {
        const sq_format_info *fi = sq_format_info_of((int)cfg->format);
        if (fi && fi->any_granularity)
            snprintf(buf, bufsize, "%s %s", fi->name, gran);
        else if (cfg->format == SQ_FORMAT_NF4)
            snprintf(buf, bufsize, "nf4 %s%s", gran, cfg->double_quant ? " dq" : "");
        else
            snprintf(buf, bufsize, "%s", sq_format_name(cfg->format));
        return buf;
    }
    snprintf(buf, bufsize, "i%d %s %s%s%s%s%s", cfg->bits, asym ? "asym" : "sym", gran,
             cfg->rounding == SQ_ROUND_EVEN ? " even" : "", asym && cfg->zero_in_range ? " zr" : "",
             cfg->scale_store != SQ_SCALE_F64 ? " s" : "",
             cfg->scale_store != SQ_SCALE_F64 ? sq_scale_store_name(cfg->scale_store) : "");
    return buf;
}

/* The file accounting: bits per weight and ratio against fp32 of `storage`
 * bytes for n elements (0 and 1 for an empty tensor). */
static void accounting(size_t storage, size_t n, double *bpw, double *ratio)
{
    *bpw = n ? 8.0 * (double)storage / (double)n : 0;
    *ratio = storage ? 4.0 * (double)n / (double)storage : 1;
}

char *sq_tui_pin_row(const sq_qconfig *cfg, const sq_stats *st, size_t codes_used, size_t storage, char *buf,
                     size_t bufsize)
{
    char desc[64], rmse[16], maxe[16];
    double bpw, ratio;
    if (!cfg) {
        snprintf(buf, bufsize, "%-*s %8s %8s %8s %7s %7s %6s", SQ_TUI_SHORT_W, "config", "SQNR dB", "RMSE",
                 "max|err|", "bits/w", "ratio", "codes");
        return buf;
    }
    sq_tui_config_short(cfg, desc, sizeof desc);
    accounting(storage, st->numel, &bpw, &ratio);
    if (isnan(st->sqnr_db)) {
        snprintf(buf, bufsize, "%-*s %8s %8s %8s %7.3f %6.2fx %6zu", SQ_TUI_SHORT_W, desc, "unknown", "-", "-",
                 bpw, ratio, codes_used);
        return buf;
    }
    snprintf(buf, bufsize, "%-*s %8.2f %s %s %7.3f %6.2fx %6zu", SQ_TUI_SHORT_W, desc, st->sqnr_db,
             sq_tui_fmt_si(st->rmse, 8, rmse, sizeof rmse), sq_tui_fmt_si(st->max_abs_err, 8, maxe, sizeof maxe),
             bpw, ratio, codes_used);
    return buf;
}

bool sq_tui_stats_cell(const sq_stats *st, const sq_qconfig *cfg, size_t codes_used, size_t storage,
                       size_t n_scales, int i, const char **label, char *value, size_t vsize)
{
    static const char *labels[] = {"SQNR",    "MSE",     "RMSE",     "max |err|", "mean |err|",
                                   "cosine",  "clipped", "rnd+clip", "codes",     "stored",
                                   "ratio",   "bits/w",  "seed size", "scales",   "fp32"};
    char a[32], b[32];
    double bpw, ratio;
    accounting(storage, st->numel, &bpw, &ratio);
    if (i < 0 || i >= (int)(sizeof labels / sizeof labels[0]))
        return false;
    *label = labels[i];
    if (i <= 7 && isnan(st->sqnr_db)) { /* error figures unknown (no source) */
        snprintf(value, vsize, "%s", i == 0 ? "unknown: no source" : "unknown");
        return true;
    }
    switch (i) {
    case 0: snprintf(value, vsize, "%.2f dB", st->sqnr_db); break;
    case 1: snprintf(value, vsize, "%s", sq_tui_fmt_si(st->mse, 8, a, sizeof a)); break;
    case 2: snprintf(value, vsize, "%s", sq_tui_fmt_si(st->rmse, 8, a, sizeof a)); break;
    case 3: snprintf(value, vsize, "%s", sq_tui_fmt_si(st->max_abs_err, 8, a, sizeof a)); break;
    case 4: snprintf(value, vsize, "%s", sq_tui_fmt_si(st->mean_abs_err, 8, a, sizeof a)); break;
    case 5: snprintf(value, vsize, "%.6f", st->cosine); break;
    case 6:
        snprintf(value, vsize, "%.2f%% (%s)", 100.0 * st->clipped_frac, sq_tui_fmt_count(st->clipped, a, sizeof a));
        break;
    case 7: /* the MSE split: rounding (unclipped values) + clipping */
        snprintf(value, vsize, "%s + %s", sq_tui_fmt_si(st->mse_round, 1, a, sizeof a),
                 sq_tui_fmt_si(st->mse_clip, 1, b, sizeof b));
        break;
    case 8: snprintf(value, vsize, "%zu / %d", codes_used, 1 << cfg->bits); break;
    case 9: snprintf(value, vsize, "%s", sq_tui_fmt_bytes((double)storage, a, sizeof a)); break;
    case 10: snprintf(value, vsize, "%.2fx", ratio); break;
    case 11: snprintf(value, vsize, "%.3f", bpw); break;
    case 12:
        snprintf(value, vsize, "%s (%.2fx)", sq_tui_fmt_bytes((double)st->size_bytes, a, sizeof a), st->compression);
        break;
    case 13: snprintf(value, vsize, "%s", sq_tui_fmt_count(n_scales, b, sizeof b)); break;
    default: snprintf(value, vsize, "%s", sq_tui_fmt_bytes((double)st->fp32_bytes, a, sizeof a)); break;
    }
    return true;
}
