/* tui_explain.c - the panel's explanations, pure and unit-tested (see
 * tui_model.h): the walk-through of one element's quantization, the elements
 * of a scale group, the histogram of a selection with its levels, the
 * transfer function x -> x-hat, the worst element, and the glossary. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui_model.h"

/* ---- the elements of one scale index ---------------------------------------- */

/* Elements governed by scale index k when the channel axis is `axis`: the
 * element count of the dimensions after it (inner) and of the axis itself. */
static void channel_dims(const sq_qtensor *q, size_t *inner, size_t *n_axis)
{
    int a = q->config.axis;
    *inner = 1;
    for (int d = a + 1; d < q->ndim; d++)
        *inner *= q->shape[d];
    *n_axis = q->ndim > 0 ? q->shape[a] : 1;
}

size_t sq_tui_member_count(const sq_qtensor *q, size_t k)
{
    if (k >= q->n_scales)
        return 0;
    switch (q->config.granularity) {
    case SQ_GRAN_GROUP:
        return q->config.group_size;
    case SQ_GRAN_CHANNEL: {
        size_t inner, n_axis;
        if (q->ndim == 0)
            return q->numel;
        channel_dims(q, &inner, &n_axis);
        return n_axis ? q->numel / n_axis : 0;
    }
    default:
        return q->numel;
    }
}

size_t sq_tui_member(const sq_qtensor *q, size_t k, size_t j)
{
    switch (q->config.granularity) {
    case SQ_GRAN_GROUP:
        return k * q->config.group_size + j;
    case SQ_GRAN_CHANNEL: {
        size_t inner, n_axis;
        if (q->ndim == 0)
            return j;
        channel_dims(q, &inner, &n_axis);
        return (j / inner) * n_axis * inner + k * inner + j % inner;
    }
    default:
        return j;
    }
}

void sq_tui_member_runs(const sq_qtensor *q, size_t k, size_t *start, size_t *n_runs, size_t *run_len,
                        size_t *stride)
{
    *start = 0, *n_runs = 0, *run_len = 0, *stride = 0;
    size_t n = sq_tui_member_count(q, k);
    if (n == 0)
        return;
    if (q->config.granularity == SQ_GRAN_CHANNEL && q->ndim > 0) {
        size_t inner, n_axis;
        channel_dims(q, &inner, &n_axis);
        *start = k * inner;
        *run_len = inner;
        *n_runs = inner ? n / inner : 0;
        *stride = n_axis * inner;
        return;
    }
    *start = sq_tui_member(q, k, 0);
    *n_runs = 1;
    *run_len = n;
    *stride = n;
}

/* ---- levels ------------------------------------------------------------------ */

float *sq_tui_element_levels(const sq_qtensor *q, size_t i, size_t *n)
{
    size_t c = sq_qtensor_levels(q, i, NULL, 0);
    float *lv = malloc((c ? c : 1) * sizeof *lv);
    *n = 0;
    if (!lv)
        return NULL;
    *n = sq_qtensor_levels(q, i, lv, c);
    return lv;
}

void sq_tui_selection_range(const sq_tensor *t, const sq_qtensor *q, size_t k, double *lo, double *hi)
{
    float a = INFINITY, b = -INFINITY;
    size_t n = sq_tui_member_count(q, k), nl = 0, start, runs, len, stride;
    sq_tui_member_runs(q, k, &start, &runs, &len, &stride);
    for (size_t r = 0; r < runs; r++) {
        const float *p = t->data + start + r * stride;
        for (size_t j = 0; j < len; j++)
            if (isfinite(p[j])) {
                a = p[j] < a ? p[j] : a;
                b = p[j] > b ? p[j] : b;
            }
    }
    if (n > 0) {
        float *lv = sq_tui_element_levels(q, sq_tui_member(q, k, 0), &nl);
        for (size_t j = 0; lv && j < nl; j++)
            if (isfinite(lv[j])) {
                a = lv[j] < a ? lv[j] : a;
                b = lv[j] > b ? lv[j] : b;
            }
        free(lv);
    }
    if (!(isfinite(a) && isfinite(b)))
        a = -1, b = 1;
    if (!(b > a))
        a -= 0.5, b += 0.5;
    *lo = a;
    *hi = b;
}

void sq_tui_clip_range(const sq_qtensor *q, size_t k, double *lo, double *hi)
{
    *lo = *hi = NAN;
    if (k >= q->n_scales || sq_tui_member_count(q, k) == 0)
        return;
    if (q->config.format == SQ_FORMAT_INT) {
        double s = q->scales[k], zp = q->zero_points[k];
        *lo = ((double)sq_qconfig_qmin(&q->config) - zp) * s;
        *hi = ((double)sq_qconfig_qmax(&q->config) - zp) * s;
        return;
    }
    size_t nl = 0;
    float *lv = sq_tui_element_levels(q, sq_tui_member(q, k, 0), &nl);
    double a = INFINITY, b = -INFINITY;
    for (size_t j = 0; lv && j < nl; j++)
        if (isfinite(lv[j])) {
            a = lv[j] < a ? lv[j] : a;
            b = lv[j] > b ? lv[j] : b;
        }
    free(lv);
    if (b >= a)
        *lo = a, *hi = b;
}

void sq_tui_clip_columns(double lo, double hi, double clo, double chi, int cols, int *below, int *above)
{
    *below = *above = 0;
    if (cols < 1 || !(hi > lo))
        return;
    double w = (hi - lo) / cols;
    for (int c = 0; c < cols; c++) {
        double centre = lo + (c + 0.5) * w;
        if (centre < clo) /* false for a NaN threshold */
            *below = c + 1;
        if (centre > chi && *above == 0)
            *above = cols - c;
    }
}

int sq_tui_value_column(double v, double lo, double hi, int cols)
{
    if (cols < 1 || !(hi > lo) || !(v >= lo && v <= hi))
        return -1;
    int c = (int)((v - lo) / (hi - lo) * cols);
    return c >= cols ? cols - 1 : c;
}

sq_status sq_tui_selection_hist(const sq_tensor *t, const sq_qtensor *q, size_t k, int bins, sq_hist *h,
                                sq_error *err)
{
    double lo, hi;
    memset(h, 0, sizeof *h);
    if (bins < 1)
        return sq_fail(err, SQ_ERR_ARG, "selection histogram: bins %d must be at least 1", bins);
    sq_tui_selection_range(t, q, k, &lo, &hi);
    h->counts = calloc((size_t)bins, sizeof *h->counts);
    if (!h->counts)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for the selection histogram");
    h->bins = bins;
    h->lo = lo;
    h->hi = hi;
    size_t start, runs, len, stride;
    double f = bins / (hi - lo);
    sq_tui_member_runs(q, k, &start, &runs, &len, &stride);
    for (size_t r = 0; r < runs; r++) {
        const float *p = t->data + start + r * stride;
        for (size_t j = 0; j < len; j++) {
            double v = p[j];
            if (isnan(v))
                continue;
            if (v < lo) {
                h->below++;
                continue;
            }
            if (v > hi) {
                h->above++;
                continue;
            }
            int b = (int)((v - lo) * f);
            h->counts[b >= bins ? bins - 1 : b]++;
        }
    }
    return SQ_OK;
}

/* ---- one element, step by step ------------------------------------------------ */

/* Round as the configuration does. */
static double round_as(const sq_qconfig *c, double v)
{
    return c->rounding == SQ_ROUND_EVEN ? nearbyint(v) : round(v);
}

/* The level of lv[0..n) nearest v (the lower one on a tie). */
static double nearest_level(const float *lv, size_t n, double v)
{
    double best = n ? lv[0] : NAN;
    for (size_t j = 1; j < n; j++)
        if (fabs(lv[j] - v) < fabs(best - v))
            best = lv[j];
    return best;
}

/* min, max and max|x| of scale group k's values. */
static void group_range(const sq_tensor *t, const sq_qtensor *q, size_t k, double *mn, double *mx, double *amax)
{
    size_t start, runs, len, stride;
    float a = INFINITY, b = -INFINITY;
    sq_tui_member_runs(q, k, &start, &runs, &len, &stride);
    for (size_t r = 0; r < runs; r++) {
        const float *p = t->data + start + r * stride;
        for (size_t j = 0; j < len; j++) {
            a = p[j] < a ? p[j] : a;
            b = p[j] > b ? p[j] : b;
        }
    }
    *mn = a;
    *mx = b;
    *amax = fmax(fabs((double)a), fabs((double)b));
}

void sq_tui_walk_compute(const sq_tensor *t, const sq_qtensor *q, const float *xhat, size_t i, sq_tui_walk *w)
{
    const sq_qconfig *c = &q->config;
    memset(w, 0, sizeof *w);
    if (i >= q->numel)
        i = q->numel ? q->numel - 1 : 0;
    w->i = i;
    w->k = sq_qtensor_scale_index(q, i);
    w->is_int = c->format == SQ_FORMAT_INT;
    w->x = t->data[i];
    w->scale = q->scales[w->k];
    w->zp = q->zero_points[w->k];
    w->code = sq_qtensor_code(q, i);
    w->range_lo = w->range_hi = NAN;
    if (w->is_int) {
        w->qmin = sq_qconfig_qmin(c);
        w->qmax = sq_qconfig_qmax(c);
        w->t = (double)(float)w->x * (1.0 / w->scale) + w->zp;
        w->rounded = round_as(c, w->t);
        w->clipped = w->rounded < w->qmin || w->rounded > w->qmax;
        w->xhat = (float)(((double)w->code - w->zp) * w->scale);
        if (c->calibration == SQ_CALIB_MINMAX && !c->zero_in_range) {
            double mn, mx, amax;
            group_range(t, q, w->k, &mn, &mx, &amax);
            w->range_lo = c->mode == SQ_MODE_SYMMETRIC ? -amax : mn;
            w->range_hi = c->mode == SQ_MODE_SYMMETRIC ? amax : mx;
        }
    } else {
        size_t nl = 0;
        float *lv = sq_tui_element_levels(q, i, &nl);
        w->n_levels = nl;
        w->nearest = lv ? nearest_level(lv, nl, w->x) : NAN;
        w->clipped = lv && nl > 0 && ((w->x > 0 && w->x > lv[nl - 1]) || (w->x < 0 && w->x < lv[0]));
        free(lv);
        w->qmin = 0;
        w->qmax = (1 << c->bits) - 1;
        w->xhat = xhat ? xhat[i] : NAN;
    }
    w->err = w->x - w->xhat;
}

/* Element i's position: "[3, 17]" (1-based), or "" for a scalar. */
static void coords(const sq_qtensor *q, size_t i, char *buf, size_t size)
{
    size_t idx[SQ_MAX_DIMS];
    size_t r = i;
    for (int d = q->ndim - 1; d >= 0; d--) {
        idx[d] = q->shape[d] ? r % q->shape[d] : 0;
        r = q->shape[d] ? r / q->shape[d] : 0;
    }
    size_t o = 0;
    buf[0] = '\0';
    for (int d = 0; d < q->ndim && o < size; d++)
        o += (size_t)snprintf(buf + o, size - o, "%s%zu%s", d ? ", " : "[", idx[d] + 1, d + 1 == q->ndim ? "]" : "");
}

/* A number with 7 significant digits. */
static const char *num(double v, char *buf, size_t size)
{
    snprintf(buf, size, "%.7g", v);
    return buf;
}

/* label into buf with each "x^" spelled xh, padded with blanks to 24
 * display columns; returns its length in bytes. */
static int walk_label(char *buf, size_t size, const char *label, const char *xh)
{
    size_t o = 0;
    for (const char *p = label; *p && o + 8 < size; p++) {
        if (p[0] == 'x' && p[1] == '^') {
            o += (size_t)snprintf(buf + o, size - o, "%s", xh);
            p++;
        } else
            buf[o++] = *p;
    }
    buf[o] = '\0';
    for (int cols = sq_tui_text_cols(buf); cols < 24 && o + 1 < size; cols++)
        buf[o++] = ' ', buf[o] = '\0';
    return (int)o;
}

int sq_tui_walk_lines(const sq_tui_walk *w, const sq_qtensor *q, bool known, char lines[][SQ_TUI_WALK_W],
                      int max)
{
    return sq_tui_walk_lines_glyph(w, q, known, "x^", lines, max);
}

int sq_tui_walk_lines_glyph(const sq_tui_walk *w, const sq_qtensor *q, bool known, const char *xh,
                            char lines[][SQ_TUI_WALK_W], int max)
{
    const sq_qconfig *c = &q->config;
    char a[32], b[32], d[32], e[32], pos[96], desc[64], lab[64];
    int n = 0, lab_len = 24;
#define L(label, ...) do { if (n < max) { lab_len = walk_label(lines[n], SQ_TUI_WALK_W, label, xh); \
        snprintf(lines[n] + lab_len, SQ_TUI_WALK_W - (size_t)lab_len, __VA_ARGS__); n++; } } while (0)
    /* a line with its operands wider than the box at 80 columns keeps only its result (after the last "= ") */
#define FIT() do { if (n > 0 && sq_tui_text_cols(lines[n - 1]) > SQ_TUI_WALK_FIT) { \
        const char *r_ = strrchr(lines[n - 1], '='); \
        memmove(lines[n - 1] + lab_len, r_, strlen(r_) + 1); } } while (0)
    coords(q, w->i, pos, sizeof pos);
    sq_qconfig_describe_from(c, 1, desc, sizeof desc);
    snprintf(lab, sizeof lab, "Element %zu of %zu", w->i + 1, q->numel);
    L(lab, "%s", pos);
    snprintf(lab, sizeof lab, "scale index %zu of %zu", w->k + 1, q->n_scales);
    L(lab, "%s", desc);
    if (known)
        L("x", "= %s", num(w->x, a, sizeof a));
    else
        L("x", "unknown (no source: the values shown are %s)", xh);
    if (w->is_int) {
        if (known && !isnan(w->range_hi) && c->mode == SQ_MODE_SYMMETRIC) {
            L("scale = max|x| / qmax", "= %s / %d = %s", num(w->range_hi, b, sizeof b), w->qmax,
              num(w->scale, a, sizeof a));
            FIT();
        } else if (known && !isnan(w->range_hi)) { /* (without a source the range is unknown) */
            L("scale = (max - min) / n", "= (%s - %s) / %d = %s", num(w->range_hi, b, sizeof b),
              num(w->range_lo, d, sizeof d), w->qmax - w->qmin, num(w->scale, a, sizeof a));
            FIT();
        } else {
            snprintf(lab, sizeof lab, "scale (%s)", sq_calibration_name(c->calibration));
            L(lab, "= %s", num(w->scale, a, sizeof a));
        }
        L("zero point zp", "= %s", num(w->zp, a, sizeof a));
        L("x / scale + zp", "= %s / %s + %s = %s", num(w->x, a, sizeof a), num(w->scale, b, sizeof b),
          num(w->zp, d, sizeof d), num(w->t, e, sizeof e));
        FIT();
        L(c->rounding == SQ_ROUND_EVEN ? "round (half to even)" : "round (half away)", "= %.0f", w->rounded);
        snprintf(lab, sizeof lab, "clamp to [%d, %d]", w->qmin, w->qmax);
        L(lab, "= q = %d%s", w->code, w->clipped ? "  CLIPPED: outside the code range" : "  (inside: not clipped)");
        L("x^ = (q - zp) * scale", "= (%d - %s) * %s = %s", w->code, num(w->zp, a, sizeof a),
          num(w->scale, b, sizeof b), num(w->xhat, d, sizeof d));
        FIT();
    } else {
        const sq_format_info *fi = sq_format_info_of((int)c->format);
        L("block scale", "= %s%s%s", num(w->scale, a, sizeof a), fi && fi->asymmetric ? ", min " : "",
          fi && fi->asymmetric ? num(w->zp, b, sizeof b) : "");
        if (fi && fi->scale_desc && n < max) /* how the format stores its scales */
            snprintf(lines[n++], SQ_TUI_WALK_FIT + 1, "  (%s)", fi->scale_desc);
        L("levels of the block", "= %zu representable values", w->n_levels);
        L("nearest level to x", "= %s%s", num(w->nearest, a, sizeof a),
          w->clipped ? "  CLIPPED: beyond the levels" : "");
        snprintf(lab, sizeof lab, "code (stored, 0..%d)", w->qmax);
        L(lab, "= %d", w->code);
        L("x^ (the decoder's)", "= %s", num(w->xhat, a, sizeof a));
    }
    if (known)
        L("error x - x^", "= %s", num(w->err, a, sizeof a));
    if (n < max)
        snprintf(lines[n++], SQ_TUI_WALK_W, "<-/-> previous/next element   w worst |error|   e/Esc close");
#undef L
#undef FIT
    return n;
}

size_t sq_tui_worst_element(const sq_tensor *t, const float *xhat)
{
    size_t best = 0;
    double be = -1;
    for (size_t i = 0; i < t->numel; i++) {
        double e = fabs((double)t->data[i] - (double)xhat[i]);
        if (e > be) {
            be = e;
            best = i;
        }
    }
    return best;
}

/* ---- transfer function -------------------------------------------------------- */

void sq_tui_transfer(const sq_qtensor *q, size_t i, double lo, double hi, int cols, double *out)
{
    const sq_qconfig *c = &q->config;
    size_t k = sq_qtensor_scale_index(q, i), nl = 0;
    float *lv = c->format == SQ_FORMAT_INT ? NULL : sq_tui_element_levels(q, i, &nl);
    int qmin = sq_qconfig_qmin(c), qmax = sq_qconfig_qmax(c);
    double s = q->scales[k], zp = q->zero_points[k];
    for (int col = 0; col < cols; col++) {
        double x = lo + (col + 0.5) * (hi - lo) / cols;
        if (c->format != SQ_FORMAT_INT) {
            out[col] = lv ? nearest_level(lv, nl, x) : NAN;
            continue;
        }
        double r = round_as(c, (double)(float)x * (1.0 / s) + zp);
        r = r < qmin ? qmin : r > qmax ? qmax : r;
        out[col] = (float)((r - zp) * s);
    }
    free(lv);
}

int sq_tui_transfer_row(double v, double lo, double hi, int rows)
{
    if (!(hi > lo) || rows <= 0 || !(v >= lo && v <= hi))
        return -1;
    int r = (int)floor((v - lo) / (hi - lo) * rows);
    if (r < 0 || r > rows)
        return -1;
    if (r == rows)
        r = rows - 1;
    return rows - 1 - r;
}

/* ---- code usage ---------------------------------------------------------------- */

void sq_tui_code_columns(const uint64_t *counts, size_t n, int cols, uint64_t *out)
{
    if (cols <= 0)
        return;
    if (n == 0 || n > (size_t)cols) {
        sq_tui_rebin(counts, n, out, (size_t)cols);
        return;
    }
    int w = cols / (int)n, bar = w >= 3 ? w - 1 : w;
    for (int c = 0; c < cols; c++)
        out[c] = 0;
    for (size_t k = 0; k < n; k++)
        for (int j = 0; j < bar; j++)
            out[(int)k * w + j] = counts[k];
}

/* ---- glossary ------------------------------------------------------------------ */

const char *const sq_tui_glossary[] = {
    "Glossary (the names used in Statistics and the table)",
    "SQNR     signal to quantization noise: 10 log10(sum x^2 / sum (x - x^)^2)",
    "         in dB; higher is better, about 6 dB per extra bit.",
    "RMSE     root mean squared error: the typical size of x - x^.",
    "cosine   cosine similarity of x and x^ as vectors; 1 means same direction.",
    "clipped  values beyond the range a scale reaches ([ ] on the value chart,",
    "         tails shaded): they land on the extreme code; rnd+clip splits MSE.",
    "bits/w   bits per weight: 8 * stored bytes / elements, codes plus scales",
    "         and zero points as stored; ratio = 32 / bits/w against fp32.",
    "seed     the seed's own figures: size = packed codes only, no scales.",
    "scale    the step between neighbouring levels: x^ = (q - zp) * scale.",
    "zero pt  zp, the code that stands for 0 (0 when symmetric); asymmetric",
    "         grids shift so that min..max is covered.",
    "group    elements sharing one scale: the tensor, a channel (one index of",
    "         an axis) or a run of group-size elements along the last axis.",
    "format   how codes are stored: int (a uniform grid), a ggml block format",
    "         (q4_k: blocks of 256 with their own scales) or an element format",
    "         (nf4, fp8_e4m3: a fixed set of levels, times the block's scale).",
    "calib    how a group's range is chosen: min/max, mse (the least squared",
    "         error), a percentile of |x|, or clip (a fraction of min/max).",
};
const int sq_tui_glossary_n = (int)(sizeof sq_tui_glossary / sizeof sq_tui_glossary[0]);
