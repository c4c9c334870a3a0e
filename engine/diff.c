/* diff.c - error statistics between a reference tensor and another version of it. */
#include "diff.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

double sq_diff_sqnr_db(double sx, double se)
{
    if (se == 0.0)
        return INFINITY;
    if (sx == 0.0)
        return -INFINITY;
    return 10.0 * log10(sx / se);
}

void sq_diff_pooled(size_t numel, double sum_x2, double sum_e2, double max_abs_err, sq_diff *out)
{
    memset(out, 0, sizeof *out);
    out->numel = numel;
    out->sum_x2 = sum_x2;
    out->sum_e2 = sum_e2;
    out->mse = numel ? sum_e2 / (double)numel : 0.0;
    out->rmse = sqrt(out->mse);
    out->max_abs_err = max_abs_err;
    out->sqnr_db = sq_diff_sqnr_db(sum_x2, sum_e2);
    out->mean_abs_err = out->cosine = out->err_min = out->err_max = NAN;
    out->median_abs_err = out->p95_abs_err = out->sum_y2 = NAN;
}

/* ARG naming both shapes and the first differing dimension (1-based) unless
 * a and b have one shape. */
static sq_status check_shapes(const sq_tensor *a, const sq_tensor *b, sq_error *err)
{
    char sa[200], sb[200];
    int d = 0;
    while (d < a->ndim && d < b->ndim && a->shape[d] == b->shape[d])
        d++;
    if (a->ndim == b->ndim && d == a->ndim)
        return SQ_OK;
    sq_shape_format(a->shape, a->ndim, sa, sizeof sa);
    sq_shape_format(b->shape, b->ndim, sb, sizeof sb);
    if (a->ndim != b->ndim)
        return sq_fail(err, SQ_ERR_ARG, "shapes differ: the reference is %s (%d dimensions), the other %s (%d)", sa,
                       a->ndim, sb, b->ndim);
    return sq_fail(err, SQ_ERR_ARG, "shapes differ: the reference is %s, the other %s (dimension %d: %zu vs %zu)", sa,
                   sb, d + 1, a->shape[d], b->shape[d]);
}

/* The histogram range [lo, hi] for opts and the largest |e| m. */
static sq_status hist_range(const sq_stats_opts *o, double m, double *lo, double *hi, sq_error *err)
{
    if (o->hist_bins < 1 || o->hist_bins > SQ_HIST_BINS_MAX)
        return sq_fail(err, SQ_ERR_ARG, "histogram bins must be 1..%d, not %d", SQ_HIST_BINS_MAX, o->hist_bins);
    if (o->range == SQ_HIST_RANGE_FIXED) {
        if (!isfinite(o->lo) || !isfinite(o->hi) || !(o->lo < o->hi))
            return sq_fail(err, SQ_ERR_ARG, "histogram range [%g, %g] must be finite with lo < hi", o->lo, o->hi);
        *lo = o->lo;
        *hi = o->hi;
        return SQ_OK;
    }
    if (!(m > 0.0) || !isfinite(m))
        m = 1.0;
    *lo = -m;
    *hi = m;
    return SQ_OK;
}

/* The statistics of e = x - y over n values, each side read from the float
 * array when not NULL, else from the double one. Shapes and finiteness are
 * the caller's business. */
static sq_status diff_core(const float *xf, const double *xd, const float *yf, const double *yd, size_t n,
                           const sq_stats_opts *o, sq_diff *out, sq_hist *hist, sq_error *err)
{
    sq_status st;
    memset(out, 0, sizeof *out);
    if (hist && (st = hist_range(o, 1.0, &(double){0}, &(double){0}, err)) != SQ_OK)
        return st;
    float *e = malloc((n ? n : 1) * sizeof *e);
    if (!e)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for %zu error values", n);
    double sx = 0, sy = 0, se = 0, sxy = 0, sa = 0, mx = 0, emin = 0, emax = 0;
    size_t imax = 0;
    for (size_t i = 0; i < n; i++) {
        double x = xf ? xf[i] : xd[i], y = yf ? yf[i] : yd[i], d = x - y, a = fabs(d);
        sx += x * x;
        sy += y * y;
        sxy += x * y;
        se += d * d;
        sa += a;
        if (a > mx) {
            mx = a;
            imax = i;
        }
        if (i == 0 || d < emin)
            emin = d;
        if (i == 0 || d > emax)
            emax = d;
        e[i] = (float)d;
    }
    out->numel = n;
    out->sum_x2 = sx;
    out->sum_y2 = sy;
    out->sum_e2 = se;
    out->mse = n ? se / (double)n : 0.0;
    out->rmse = sqrt(out->mse);
    out->max_abs_err = mx;
    out->max_index = imax;
    out->mean_abs_err = n ? sa / (double)n : 0.0;
    out->err_min = emin;
    out->err_max = emax;
    out->sqnr_db = sq_diff_sqnr_db(sx, se);
    if (sx == 0.0 && sy == 0.0)
        out->cosine = 1.0;
    else if (sx == 0.0 || sy == 0.0)
        out->cosine = 0.0;
    else
        out->cosine = sxy / sqrt(sx * sy);
    if (hist) {
        double lo, hi;
        hist_range(o, fmax(mx, (double)(float)mx), &lo, &hi, err); /* |(float)d| <= (float)mx */
        if ((st = sq_histogram_floats(e, n, o->hist_bins, lo, hi, hist, err)) != SQ_OK) {
            free(e);
            memset(out, 0, sizeof *out);
            return st;
        }
    }
    for (size_t i = 0; i < n; i++)
        e[i] = fabsf(e[i]);
    out->median_abs_err = n ? sq_percentile_select(e, n, 0.5) : 0.0;
    out->p95_abs_err = n ? sq_percentile_select(e, n, 0.95) : 0.0;
    free(e);
    return SQ_OK;
}

/* opts, or the defaults (64 bins, data range) in *dflt. */
static const sq_stats_opts *opts_or_default(const sq_stats_opts *opts, sq_stats_opts *dflt)
{
    *dflt = sq_stats_opts_default();
    dflt->range = SQ_HIST_RANGE_DATA;
    return opts ? opts : dflt;
}

sq_status sq_diff_stats(const sq_tensor *ref, const sq_tensor *other, const sq_stats_opts *opts, sq_diff *out,
                        sq_hist *hist, sq_error *err)
{
    sq_stats_opts dflt;
    const sq_stats_opts *o = opts_or_default(opts, &dflt);
    sq_status st;
    memset(out, 0, sizeof *out);
    if ((st = check_shapes(ref, other, err)) != SQ_OK ||
        (st = sq_tensor_check_finite(ref, "the reference", err)) != SQ_OK ||
        (st = sq_tensor_check_finite(other, "the other tensor", err)) != SQ_OK)
        return st;
    return diff_core(ref->data, NULL, other->data, NULL, ref->numel, o, out, hist, err);
}

sq_status sq_diff_doubles(const double *ref, const double *other, size_t n, const sq_stats_opts *opts, sq_diff *out,
                          sq_hist *hist, sq_error *err)
{
    sq_stats_opts dflt;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(ref[i]) || !isfinite(other[i]))
            return sq_fail(err, SQ_ERR_NONFINITE, "%s holds a non-finite value at element %zu",
                           isfinite(ref[i]) ? "the other" : "the reference", i + 1);
    return diff_core(NULL, ref, NULL, other, n, opts_or_default(opts, &dflt), out, hist, err);
}

/* Check the shapes of a layer's W, X and b; the number of tokens in *n. */
static sq_status layer_shapes(const sq_tensor *w, const sq_tensor *x, const sq_tensor *b, size_t *n, sq_error *err)
{
    char s[200];
    if (w->ndim != 2)
        return sq_fail(err, SQ_ERR_ARG, "the weight must be a matrix [out, in], not %s",
                       sq_shape_format(w->shape, w->ndim, s, sizeof s));
    if (x->ndim != 1 && x->ndim != 2)
        return sq_fail(err, SQ_ERR_ARG, "the input must be [tokens, in] or [in], not %s",
                       sq_shape_format(x->shape, x->ndim, s, sizeof s));
    size_t in = x->shape[x->ndim - 1];
    if (in != w->shape[1])
        return sq_fail(err, SQ_ERR_ARG, "the input has %zu features (its dimension %d) but the weight takes %zu (its "
                       "dimension 2)", in, x->ndim, w->shape[1]);
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
        return sq_fail(err, SQ_ERR_ARG, "the bias must be [%zu] (the weight's dimension 1), not %s", w->shape[0],
                       sq_shape_format(b->shape, b->ndim, s, sizeof s));
    *n = x->ndim == 2 ? x->shape[0] : 1;
    return SQ_OK;
}

/* y[t, o] = sum_k x[t, k] w[o, k] + b[o] in double, n tokens. */
static void layer_forward(const float *x, const float *w, const sq_tensor *b, size_t n, size_t in, size_t outf,
                          double *y)
{
    for (size_t t = 0; t < n; t++)
        for (size_t o = 0; o < outf; o++) {
            const float *xr = x + t * in, *wr = w + o * in;
            double acc = b ? (double)b->data[o] : 0.0;
            for (size_t k = 0; k < in; k++)
                acc += (double)xr[k] * (double)wr[k];
            y[t * outf + o] = acc;
        }
}

/* Quantize t with cfg and return the dequantized copy in *out; what prefixes
 * errors. */
static sq_status roundtrip(const sq_tensor *t, const sq_qconfig *cfg, const char *what, sq_tensor **out, sq_error *err)
{
    sq_qtensor *q = NULL;
    sq_status st = sq_qconfig_check(cfg, t->shape, t->ndim, err);
    if (st == SQ_OK)
        st = sq_quantize(t, cfg, &q, err);
    if (st == SQ_OK)
        st = sq_dequantize(q, out, err);
    sq_qtensor_free(q);
    return st == SQ_OK ? SQ_OK : sq_error_prefix(err, what);
}

sq_status sq_layer_error(const sq_tensor *w, const sq_tensor *x, const sq_tensor *b, const sq_qconfig *wcfg,
                         const sq_qconfig *acfg, sq_layer_err *out, sq_error *err)
{
    size_t n = 0;
    sq_status st;
    memset(out, 0, sizeof *out);
    if ((st = layer_shapes(w, x, b, &n, err)) != SQ_OK || (st = sq_tensor_check_finite(w, "the weight", err)) != SQ_OK ||
        (st = sq_tensor_check_finite(x, "the input", err)) != SQ_OK ||
        (b && (st = sq_tensor_check_finite(b, "the bias", err)) != SQ_OK))
        return st;
    size_t in = w->shape[1], outf = w->shape[0], ny = n * outf;
    if ((outf && n > SIZE_MAX / outf) || ny > SIZE_MAX / (2 * sizeof(double)))
        return sq_fail(err, SQ_ERR_OVERFLOW, "the output [%zu, %zu] is too large", n, outf);
    sq_tensor *wq = NULL, *xq = NULL, *x2 = NULL;
    double *y = NULL;
    const size_t shape2[2] = {n, in};
    if ((st = roundtrip(w, wcfg, "weight", &wq, err)) != SQ_OK)
        goto done;
    if (acfg) { /* X as [n, in], so per-token is per channel along axis 0 */
        if ((st = sq_tensor_from_floats(shape2, 2, x->data, &x2, err)) != SQ_OK ||
            (st = roundtrip(x2, acfg, "input", &xq, err)) != SQ_OK)
            goto done;
    }
    y = malloc((ny ? ny : 1) * 2 * sizeof *y);
    if (!y) {
        st = sq_fail(err, SQ_ERR_NOMEM, "out of memory for the layer's output [%zu, %zu]", n, outf);
        goto done;
    }
    layer_forward(x->data, w->data, b, n, in, outf, y);
    layer_forward(xq ? xq->data : x->data, wq->data, b, n, in, outf, y + ny);
    out->tokens = n;
    out->in_features = in;
    out->out_features = outf;
    if ((st = sq_diff_doubles(y, y + ny, ny, NULL, &out->output, NULL, err)) != SQ_OK ||
        (st = sq_diff_stats(w, wq, NULL, &out->weight, NULL, err)) != SQ_OK ||
        (st = diff_core(x->data, NULL, xq ? xq->data : x->data, NULL, x->numel, opts_or_default(NULL, &(sq_stats_opts){0}),
                        &out->input, NULL, err)) != SQ_OK)
        memset(out, 0, sizeof *out);
done:
    free(y);
    sq_tensor_free(wq);
    sq_tensor_free(xq);
    sq_tensor_free(x2);
    return st;
}
