/* tui_save.c - `s` in the panel: statistics, histograms and pinned rows as
 * CSV and JSON, the screen as text, each file written atomically. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "plot.h"
#include "tui_model.h"

sq_status sq_tui_write_atomic(const char *path, const char *data, size_t len, sq_error *err)
{
    return sq_write_file_atomic(path, data, len, err);
}

/* A growing string. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    bool oom;
} sbuf;

/* Append printf-style text to b (sets b->oom on failure). */
static void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    if (b->oom)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 1024) + (size_t)n;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* The statistics as a JSON object (new reference). */
static json_t *stats_json(const sq_qconfig *cfg, const sq_stats *st, size_t codes_used, size_t storage)
{
    char desc[96];
    json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:i, s:I, s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, "
                     "s:I, s:f, s:f, s:I, s:f, s:f}",
                     "config", sq_qconfig_describe_from(cfg, 1, desc, sizeof desc), "format",
                     sq_format_name(cfg->format), "bits", cfg->bits, "mode",
                     sq_mode_name(cfg->mode), "granularity", sq_granularity_name(cfg->granularity), "axis", cfg->axis + 1,
                     "group_size", (json_int_t)cfg->group_size, "rounding", sq_rounding_name(cfg->rounding),
                     "mse", st->mse, "rmse", st->rmse, "max_abs_err", st->max_abs_err, "mean_abs_err",
                     st->mean_abs_err, "cosine", st->cosine, "clipped_frac", st->clipped_frac, "clipped", (json_int_t)st->clipped,
                     "codes_used", (json_int_t)codes_used, "fp32_bytes", (json_int_t)st->fp32_bytes,
                     "storage_bytes", (json_int_t)storage,
                     "ratio", storage ? 4.0 * (double)st->numel / (double)storage : 1.0,
                     "bits_per_weight", st->numel ? 8.0 * (double)storage / (double)st->numel : 0.0,
                     "seed_size_bytes", (json_int_t)st->size_bytes, "seed_compression", st->compression,
                     "numel", (double)st->numel);
    /* JSON has no infinity: a lossless round trip has sqnr_db null */
    if (o)
        json_object_set_new(o, "sqnr_db", isfinite(st->sqnr_db) ? json_real(st->sqnr_db) : json_null());
    return o;
}

/* A histogram as a JSON object (new reference). */
static json_t *hist_json(const sq_hist *h)
{
    json_t *c = json_array();
    for (int i = 0; i < h->bins; i++)
        json_array_append_new(c, json_integer((json_int_t)h->counts[i]));
    return json_pack("{s:f, s:f, s:i, s:I, s:I, s:o}", "lo", h->lo, "hi", h->hi, "bins", h->bins, "below",
                     (json_int_t)h->below, "above", (json_int_t)h->above, "counts", c);
}

/* Histogram rows of one histogram to CSV. */
static void hist_csv(sbuf *b, const char *which, const sq_hist *h)
{
    double w = (h->hi - h->lo) / (h->bins ? h->bins : 1);
    for (int i = 0; i < h->bins; i++)
        sb_printf(b, "%s,%d,%.9g,%.9g,%llu\n", which, i, h->lo + i * w, h->lo + (i + 1) * w,
                  (unsigned long long)h->counts[i]);
}

/* One pinned/current row to CSV. */
static void pin_csv(sbuf *b, const char *label, const sq_qconfig *cfg, const sq_stats *st, size_t used,
                    size_t storage)
{
    char desc[96];
    sb_printf(b, "%s,\"%s\",%.6f,%.9g,%.9g,%.9g,%.6f,%zu,%.4f,%.4f,%zu\n", label,
              sq_qconfig_describe_from(cfg, 1, desc, sizeof desc), st->sqnr_db, st->mse, st->rmse, st->max_abs_err,
              st->cosine, storage, st->numel ? 8.0 * (double)storage / (double)st->numel : 0,
              storage ? 4.0 * (double)st->numel / (double)storage : 1, used);
}

/* Write one file dir/base+suffix from a buffer; appends its name to list. */
static sq_status save_one(const char *dir, const char *base, const char *suffix, const char *data, size_t len,
                          sbuf *list, sq_error *err)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s%s", dir, base, suffix);
    sq_status s = sq_tui_write_atomic(path, data ? data : "", data ? len : 0, err);
    if (s == SQ_OK)
        sb_printf(list, "%s%s%s", list->len ? " " : "", list->len ? suffix : base, list->len ? "" : suffix);
    return s;
}

/* Draw scene (owned, freed here) to dir/base+suffix.svg and .png. */
static sq_status save_chart(const char *dir, const char *base, const char *suffix, sq_scene *scene, sbuf *list,
                            sq_error *err)
{
    static const char *const ext[2] = {".svg", ".png"};
    sq_status s = SQ_OK;
    for (int i = 0; i < 2 && s == SQ_OK; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s%s%s", dir, base, suffix, ext[i]);
        if ((s = sq_scene_write(scene, path, err)) == SQ_OK)
            sb_printf(list, " %s%s", suffix, ext[i]);
    }
    sq_scene_free(scene);
    return s;
}

/* The histogram h as a chart titled title, with marks (may be NULL). */
static sq_status hist_scene(const sq_hist *h, const char *title, const char *subtitle, const char *xlabel,
                            bool log_counts, const double *marks, size_t n_marks, sq_scene **out, sq_error *err)
{
    sq_plot_hist ph = sq_plot_hist_default();
    ph.title = title;
    ph.subtitle = subtitle;
    ph.xlabel = xlabel;
    ph.counts = h->counts;
    ph.bins = h->bins;
    ph.lo = h->lo;
    ph.hi = h->hi;
    ph.log_counts = log_counts;
    ph.marks = marks;
    ph.n_marks = n_marks;
    return sq_plot_histogram(&ph, out, err);
}

/* The charts of the screen: the value histogram with the selected group's
 * levels, the error histogram, and SQNR against bits per weight of the
 * current row and the pins (PNG and SVG each). */
static sq_status save_charts(const sq_tui_model *m, const char *dir, const char *base, sbuf *list, sq_error *err)
{
    char desc[96], sub[200], title[200];
    double levels[256];
    size_t n_levels = 0;
    sq_qconfig_describe_from(&m->done_cfg, 1, desc, sizeof desc);
    if (m->q && m->sel < m->q->n_scales) { /* the levels sq_qtensor_levels gives (every format) */
        float lv[256];
        n_levels = sq_qtensor_levels(m->q, sq_tui_member(m->q, m->sel, 0), lv, 256);
        n_levels = n_levels > 256 ? 256 : n_levels;
        for (size_t i = 0; i < n_levels; i++)
            levels[i] = lv[i];
    }
    snprintf(title, sizeof title, "Values of %s", m->name);
    snprintf(sub, sizeof sub, "%s: levels of %s %zu marked", desc,
             m->done_cfg.granularity == SQ_GRAN_TENSOR ? "the tensor" :
             m->done_cfg.granularity == SQ_GRAN_CHANNEL ? "channel" : "group", m->sel + 1);
    sq_scene *sc;
    sq_status s = hist_scene(&m->val_hist, title, sub, "value", m->log_counts, levels, n_levels, &sc, err);
    if (s == SQ_OK)
        s = save_chart(dir, base, "-values", sc, list, err);
    if (s != SQ_OK || !m->err_known)
        return s;
    snprintf(title, sizeof title, "Round-trip error of %s", m->name);
    snprintf(sub, sizeof sub, "%s: SQNR %.2f dB, RMSE %.4g", desc, m->st.sqnr_db, m->st.rmse);
    if ((s = hist_scene(&m->err_hist, title, sub, "error x - x^ (value units)", m->log_counts, NULL, 0, &sc, err)) ==
        SQ_OK)
        s = save_chart(dir, base, "-error", sc, list, err);
    if (s != SQ_OK)
        return s;
    sq_plot_point pts[SQ_TUI_MAX_PINS + 1];
    char labels[SQ_TUI_MAX_PINS + 1][64];
    static const char *const series[] = {"per-tensor", "per-channel", "per-group"};
    int n = 0;
    for (int i = -1; i < m->n_pins; i++) {
        const sq_qconfig *c = i < 0 ? &m->done_cfg : &m->pins[i].cfg;
        const sq_stats *st = i < 0 ? &m->st : &m->pins[i].st;
        sq_tui_config_short(c, labels[n], sizeof labels[n]);
        if (i < 0)
            snprintf(labels[n] + strlen(labels[n]), sizeof labels[n] - strlen(labels[n]), " (now)");
        size_t stored = i < 0 ? m->storage : m->pins[i].storage;
        double bpw = st->numel ? 8.0 * (double)stored / (double)st->numel : 0;
        pts[n] = (sq_plot_point){bpw, st->sqnr_db, (int)c->granularity, labels[n]};
        n++;
    }
    sq_plot_scatter ps = sq_plot_scatter_default();
    snprintf(title, sizeof title, "%s: SQNR against bits per weight", m->name);
    ps.title = title;
    ps.subtitle = "the current configuration and the pinned ones, bytes as stored";
    ps.xlabel = "bits per weight";
    ps.ylabel = "SQNR (dB)";
    ps.points = pts;
    ps.n_points = (size_t)n;
    ps.series_names = series;
    ps.n_series = 3;
    if (sq_plot_scatter_chart(&ps, &sc, err) != SQ_OK)
        return SQ_OK; /* nothing finite to draw (a lossless configuration): no chart */
    return save_chart(dir, base, "-pins", sc, list, err);
}

sq_status sq_tui_save(const sq_tui_model *m, const char *screen_text, const char *dir, char *written,
                      size_t wsize, sq_error *err)
{
    char base[160];
    sbuf b = {0}, list = {0};
    sq_status s = SQ_OK;
    if (!m->have)
        return sq_fail(err, SQ_ERR_ARG, "nothing to save: no analysis");
    if (!dir)
        dir = ".";
    size_t k = (size_t)snprintf(base, sizeof base, "squint-");
    for (const char *p = m->name; *p && k + 1 < sizeof base; p++)
        base[k++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                            *p == '_' || (*p == '.' && p != m->name)
                        ? *p
                        : '_';
    base[k] = '\0';

    /* stats CSV */
    const char *label;
    char v[64];
    sb_printf(&b, "statistic,value\n");
    char desc[96];
    sb_printf(&b, "config,\"%s\"\n", sq_qconfig_describe_from(&m->done_cfg, 1, desc, sizeof desc));
    sb_printf(&b, "mse,%.9g\nrmse,%.9g\nmax_abs_err,%.9g\nmean_abs_err,%.9g\nsqnr_db,%.6f\ncosine,%.9f\n", m->st.mse,
              m->st.rmse, m->st.max_abs_err, m->st.mean_abs_err, m->st.sqnr_db, m->st.cosine);
    sb_printf(&b, "clipped,%zu\nclipped_frac,%.9g\ncodes_used,%zu\ncode_levels,%d\n", m->st.clipped,
              m->st.clipped_frac, m->codes_used, 1 << m->done_cfg.bits);
    sb_printf(&b, "fp32_bytes,%zu\nstorage_bytes,%zu\nratio,%.6f\nbits_per_weight,%.6f\n", m->st.fp32_bytes,
              m->storage, m->storage ? 4.0 * (double)m->st.numel / (double)m->storage : 1,
              m->st.numel ? 8.0 * (double)m->storage / (double)m->st.numel : 0);
    sb_printf(&b, "seed_size_bytes,%zu\nseed_compression,%.6f\n", m->st.size_bytes, m->st.compression);
    (void)label;
    (void)v;
    if (b.oom)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    s = save_one(dir, base, "-stats.csv", b.s, b.len, &list, err);
    b.len = 0;
    /* histograms CSV */
    if (s == SQ_OK) {
        sb_printf(&b, "histogram,bin,lo,hi,count\n");
        hist_csv(&b, "value", &m->val_hist);
        hist_csv(&b, "error", &m->err_hist);
        s = b.oom ? sq_fail(err, SQ_ERR_NOMEM, "out of memory") : save_one(dir, base, "-hist.csv", b.s, b.len, &list, err);
        b.len = 0;
    }
    /* pinned table CSV */
    if (s == SQ_OK) {
        sb_printf(&b, "row,config,sqnr_db,mse,rmse,max_abs_err,cosine,storage_bytes,bits_per_weight,ratio,codes_used\n");
        pin_csv(&b, "now", &m->done_cfg, &m->st, m->codes_used, m->storage);
        for (int i = 0; i < m->n_pins; i++) {
            char lab[16];
            snprintf(lab, sizeof lab, "%d", i + 1);
            pin_csv(&b, lab, &m->pins[i].cfg, &m->pins[i].st, m->pins[i].codes_used, m->pins[i].storage);
        }
        s = b.oom ? sq_fail(err, SQ_ERR_NOMEM, "out of memory") : save_one(dir, base, "-pins.csv", b.s, b.len, &list, err);
    }
    free(b.s);
    /* JSON */
    if (s == SQ_OK) {
        char shape[128];
        json_t *pins = json_array();
        for (int i = 0; i < m->n_pins; i++)
            json_array_append_new(pins, stats_json(&m->pins[i].cfg, &m->pins[i].st, m->pins[i].codes_used, m->pins[i].storage));
        json_t *root = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "tensor", m->name, "shape",
                                 sq_shape_format(m->t->shape, m->t->ndim, shape, sizeof shape), "dtype",
                                 sq_dtype_name(m->t->dtype), "stats", stats_json(&m->done_cfg, &m->st, m->codes_used, m->storage),
                                 "value_histogram", hist_json(&m->val_hist), "error_histogram",
                                 hist_json(&m->err_hist), "pinned", pins);
        char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) : NULL;
        json_decref(root);
        if (!text)
            s = sq_fail(err, SQ_ERR_NOMEM, "cannot build the JSON document");
        else {
            size_t len = strlen(text);
            text[len - (len && text[len - 1] == '\n')] = '\0';
            char *t2 = malloc(strlen(text) + 2);
            if (t2) {
                sprintf(t2, "%s\n", text);
                s = save_one(dir, base, ".json", t2, strlen(t2), &list, err);
                free(t2);
            } else
                s = sq_fail(err, SQ_ERR_NOMEM, "out of memory");
            free(text);
        }
    }
    if (s == SQ_OK && screen_text)
        s = save_one(dir, base, "-screen.txt", screen_text, strlen(screen_text), &list, err);
    if (s == SQ_OK)
        s = save_charts(m, dir, base, &list, err);
    if (s == SQ_OK && written)
        snprintf(written, wsize, "saved in %s: %s", dir, list.s ? list.s : "");
    free(list.s);
    return s;
}
