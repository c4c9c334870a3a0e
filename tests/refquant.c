/* refquant.c - the reference implementation (see refquant.h). */
#include "refquant.h"

#include <math.h>
#include <stdlib.h>

static int qmax_of(const sq_qconfig *c)
{
    return (1 << (c->bits - 1)) - 1;
}

static int qmin_of(const sq_qconfig *c)
{
    return c->mode == SQ_MODE_SYMMETRIC ? -qmax_of(c) : -(1 << (c->bits - 1));
}

static double rnd(double v, sq_rounding r)
{
    return r == SQ_ROUND_EVEN ? nearbyint(v) : round(v);
}

static size_t numel_of(const size_t *shape, int ndim)
{
    size_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    return n;
}

static size_t count_scales(const size_t *shape, int ndim, const sq_qconfig *cfg)
{
    if (cfg->granularity == SQ_GRAN_CHANNEL && ndim > 0)
        return shape[cfg->axis];
    if (cfg->granularity == SQ_GRAN_GROUP)
        return numel_of(shape, ndim) / cfg->group_size;
    return 1;
}

size_t ref_scale_index(const size_t *shape, int ndim, const sq_qconfig *cfg, size_t i)
{
    if (cfg->granularity == SQ_GRAN_CHANNEL && ndim > 0) {
        /* the axis coordinate of element i */
        size_t rest = i;
        for (int d = ndim - 1; d > cfg->axis; d--)
            rest /= shape[d];
        return rest % shape[cfg->axis];
    }
    if (cfg->granularity == SQ_GRAN_GROUP)
        return i / cfg->group_size;
    return 0;
}

int ref_quantize(const float *x, const size_t *shape, int ndim, const sq_qconfig *cfg, ref_result *r)
{
    size_t n = numel_of(shape, ndim), ns = count_scales(shape, ndim, cfg);
    double qmin = qmin_of(cfg), qmax = qmax_of(cfg);
    r->numel = n;
    r->n_scales = ns;
    r->clipped = 0;
    r->codes = malloc(n ? n : 1);
    r->scales = malloc((ns ? ns : 1) * sizeof(double));
    r->zps = malloc((ns ? ns : 1) * sizeof(double));
    double *mn = malloc((ns ? ns : 1) * sizeof(double)), *mx = malloc((ns ? ns : 1) * sizeof(double));
    size_t *cnt = calloc(ns ? ns : 1, sizeof(size_t));
    if (!r->codes || !r->scales || !r->zps || !mn || !mx || !cnt) {
        free(mn);
        free(mx);
        free(cnt);
        ref_free(r);
        return -1;
    }
    for (size_t k = 0; k < ns; k++) {
        mn[k] = INFINITY;
        mx[k] = -INFINITY;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = ref_scale_index(shape, ndim, cfg, i);
        mn[k] = fmin(mn[k], x[i]);
        mx[k] = fmax(mx[k], x[i]);
        cnt[k]++;
    }
    for (size_t k = 0; k < ns; k++) {
        double scale = 1.0, zp = 0.0;
        if (cnt[k] && cfg->mode == SQ_MODE_SYMMETRIC) {
            double amax = fmax(fabs(mn[k]), fabs(mx[k]));
            scale = amax < 1e-30 ? 1.0 : amax / qmax;
        } else if (cnt[k] && !cfg->zero_in_range) {
            double range = mx[k] - mn[k];
            scale = range < 1e-30 ? 1.0 : range / (qmax - qmin);
            zp = rnd(qmin - mn[k] / scale, cfg->rounding);
        } else if (cnt[k]) {
            double lo = fmin(mn[k], 0.0), hi = fmax(mx[k], 0.0);
            scale = hi - lo < 1e-30 ? 1.0 : (hi - lo) / (qmax - qmin);
            zp = fmin(fmax(qmin - rnd(lo / scale, cfg->rounding), qmin), qmax);
        }
        r->scales[k] = scale;
        r->zps[k] = zp;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = ref_scale_index(shape, ndim, cfg, i);
        double inv = fabs(r->scales[k]) < 1e-30 ? 0.0 : 1.0 / r->scales[k];
        double q = rnd((double)x[i] * inv + r->zps[k], cfg->rounding);
        double c = fmin(fmax(q, qmin), qmax);
        r->clipped += c != q;
        r->codes[i] = (int8_t)c;
    }
    free(mn);
    free(mx);
    free(cnt);
    return 0;
}

void ref_dequantize(const ref_result *r, const size_t *shape, int ndim, const sq_qconfig *cfg, float *out)
{
    for (size_t i = 0; i < r->numel; i++) {
        size_t k = ref_scale_index(shape, ndim, cfg, i);
        out[i] = (float)((r->codes[i] - r->zps[k]) * r->scales[k]);
    }
}

void ref_free(ref_result *r)
{
    free(r->codes);
    free(r->scales);
    free(r->zps);
    r->codes = NULL;
    r->scales = r->zps = NULL;
}

void ref_stats_compute(const float *x, const float *xh, size_t n, ref_stats *s, int bins, double lo,
                       double hi, uint64_t *counts)
{
    double se = 0, sa = 0, sx = 0, sh = 0, sxh = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)x[i] - (double)xh[i];
        se += e * e;
        sa += fabs(e);
        sx += (double)x[i] * x[i];
        sh += (double)xh[i] * xh[i];
        sxh += (double)x[i] * xh[i];
        mx = fmax(mx, fabs(e));
        if (counts && e >= lo && e <= hi) {
            int k = (int)floor((e - lo) * ((double)bins / (hi - lo)));
            counts[k >= bins ? bins - 1 : k]++;
        }
    }
    s->mse = n ? se / (double)n : 0.0;
    s->mean_abs = n ? sa / (double)n : 0.0;
    s->max_abs = mx;
    s->sqnr_db = se == 0.0 ? INFINITY : 10.0 * log10(sx / se);
    s->cosine = (sx == 0.0 || sh == 0.0) ? (sx == sh ? 1.0 : 0.0) : sxh / (sqrt(sx) * sqrt(sh));
}
