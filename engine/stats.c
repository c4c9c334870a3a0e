/* stats.c - round-trip error statistics and histograms in one pass.
 *
 * The pass walks SQ_CHUNK-element chunks: unpack codes, form x_hat exactly as
 * sq_dequantize does (float32 of (q - zp) * scale), then a vectorizable loop
 * accumulates the sums in double and turns each error into a bin index, and
 * a scalar loop adds the indices into four interleaved count arrays (which
 * avoids a store-to-load dependency between neighbouring equal bins). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "simd.h"

void sq_hist_free(sq_hist *h)
{
    if (h) {
        free(h->counts);
        memset(h, 0, sizeof *h);
    }
}

sq_stats_opts sq_stats_opts_default(void)
{
    sq_stats_opts o;
    memset(&o, 0, sizeof o);
    o.hist_bins = 64;
    o.range = SQ_HIST_RANGE_STEP;
    return o;
}

/* Running sums of one pass. */
typedef struct acc {
    double e2, ae, x2, xh2, xxh, emin, emax;
} acc;

/* Binning of errors: bins + 2 slots, slot bins = below, bins + 1 = above. */
typedef struct binner {
    int bins;
    double lo, hi, inv_w;
    uint64_t *sub;        /* 4 interleaved arrays of bins + 2 slots */
} binner;

typedef struct chunk_scratch {
    int8_t q[SQ_CHUNK];
    float xh[SQ_CHUNK];
    int32_t bin[SQ_CHUNK];
    double a[SQ_CHUNK], b[SQ_CHUNK];
} chunk_scratch;

/* Accumulate sums for n pairs (x, xh) and, when bn is set, their bin slots. */
SQ_HOT
static void accumulate(const float *x, const float *xh, size_t n, const binner *bn, int32_t *bin, acc *a)
{
    double e2 = 0, ae = 0, x2 = 0, xh2 = 0, xxh = 0, emin = a->emin, emax = a->emax;
    SQ_SIMD_WITH(reduction(+ : e2, ae, x2, xh2, xxh) reduction(min : emin) reduction(max : emax))
    for (size_t i = 0; i < n; i++) {
        double xv = x[i], hv = xh[i], e = xv - hv;
        e2 += e * e;
        ae += fabs(e);
        x2 += xv * xv;
        xh2 += hv * hv;
        xxh += xv * hv;
        emin = e < emin ? e : emin;
        emax = e > emax ? e : emax;
    }
    a->e2 += e2;
    a->ae += ae;
    a->x2 += x2;
    a->xh2 += xh2;
    a->xxh += xxh;
    a->emin = emin;
    a->emax = emax;
    if (!bn)
        return;
    const double lo = bn->lo, hi = bn->hi, iw = bn->inv_w, top = bn->bins - 1;
    const int below = bn->bins, above = bn->bins + 1;
    SQ_SIMD
    for (size_t i = 0; i < n; i++) {
        double e = (double)x[i] - (double)xh[i];
        double t = (e - lo) * iw;
        t = t < 0.0 ? 0.0 : (t > top ? top : t);
        int k = (int)t;
        bin[i] = e < lo ? below : (e > hi ? above : k);
    }
}

/* Add bin slots into the interleaved arrays. */
static void count_bins(const int32_t *bin, size_t n, const binner *bn)
{
    size_t stride = (size_t)bn->bins + 2, i = 0;
    uint64_t *c0 = bn->sub, *c1 = c0 + stride, *c2 = c1 + stride, *c3 = c2 + stride;
    for (; i + 4 <= n; i += 4) {
        c0[bin[i]]++;
        c1[bin[i + 1]]++;
        c2[bin[i + 2]]++;
        c3[bin[i + 3]]++;
    }
    for (; i < n; i++)
        c0[bin[i]]++;
}

/* Dequantize chunk [start, start+n) of q into s->xh. */
static void decode_chunk(const sq_layout *l, const sq_qtensor *q, size_t start, size_t n, chunk_scratch *s)
{
    sq_unpack_codes(q->codes, start, n, q->config.bits, s->q);
    if (l->run < SQ_SHORT_RUN) {
        sq_layout_expand(l, start, n, q->scales, q->zero_points, NULL, s->a, s->b, NULL);
        for (size_t j = 0; j < n; j++)
            s->xh[j] = (float)(((double)s->q[j] - s->b[j]) * s->a[j]);
        return;
    }
    for (size_t j = 0; j < n;) {
        size_t left, k = sq_layout_at(l, start + j, &left);
        size_t len = left < n - j ? left : n - j;
        double sc = q->scales[k], zp = q->zero_points[k];
        SQ_SIMD
        for (size_t t = j; t < j + len; t++)
            s->xh[t] = (float)(((double)s->q[t] - zp) * sc);
        j += len;
    }
}

/* One pass over x and q. */
static void stats_pass(const sq_tensor *x, const sq_qtensor *q, const binner *bn, chunk_scratch *s, acc *a)
{
    sq_layout l;
    memset(a, 0, sizeof *a);
    a->emin = INFINITY;
    a->emax = -INFINITY;
    sq_layout_init(&l, &q->config, q->shape, q->ndim, q->numel);
    for (size_t start = 0; start < q->numel; start += SQ_CHUNK) {
        size_t n = q->numel - start < SQ_CHUNK ? q->numel - start : SQ_CHUNK;
        decode_chunk(&l, q, start, n, s);
        accumulate(x->data + start, s->xh, n, bn, s->bin, a);
        if (bn)
            count_bins(s->bin, n, bn);
    }
}

/* Bound on |e| for values that were not clipped: half a step plus the float32
 * rounding of x_hat (|x_hat| <= max(|qmin - zp|, |qmax - zp|) * scale). */
static double step_bound(const sq_qtensor *q)
{
    double qmin = sq_qconfig_qmin(&q->config), qmax = sq_qconfig_qmax(&q->config), m = 0.0;
    for (size_t k = 0; k < q->n_scales; k++) {
        double s = fabs(q->scales[k]), z = q->zero_points[k];
        double span = fabs(qmin - z) > fabs(qmax - z) ? fabs(qmin - z) : fabs(qmax - z);
        double b = s * (0.5 + span * 0x1p-23);
        m = b > m ? b : m;
    }
    return m;
}

static sq_status check_inputs(const sq_tensor *x, const sq_qtensor *q, const sq_stats_opts *o, sq_error *err)
{
    if (x->ndim != q->ndim || x->numel != q->numel ||
        memcmp(x->shape, q->shape, sizeof(size_t) * (size_t)x->ndim) != 0) {
        char a[128], b[128];
        return sq_fail(err, SQ_ERR_ARG, "shape mismatch: tensor %s vs quantized %s",
                       sq_shape_format(x->shape, x->ndim, a, sizeof a),
                       sq_shape_format(q->shape, q->ndim, b, sizeof b));
    }
    if (o->hist_bins < 1 || o->hist_bins > SQ_HIST_BINS_MAX)
        return sq_fail(err, SQ_ERR_ARG, "histogram bins = %d is outside 1..%d", o->hist_bins,
                       SQ_HIST_BINS_MAX);
    if (o->range == SQ_HIST_RANGE_FIXED && !(isfinite(o->lo) && isfinite(o->hi) && o->lo < o->hi))
        return sq_fail(err, SQ_ERR_ARG, "histogram range [%g, %g] is not a finite interval", o->lo, o->hi);
    if ((unsigned)o->range > SQ_HIST_RANGE_FIXED)
        return sq_fail(err, SQ_ERR_ARG, "unknown histogram range mode %d", (int)o->range);
    return SQ_OK;
}

/* Cosine similarity from the sums, exact 1 for identical vectors whose
 * squared norms multiply without rounding; clamped to [-1, 1]. */
static double cosine_of(const acc *a)
{
    double p = a->x2 * a->xh2;
    double norm = isfinite(p) ? sqrt(p) : sqrt(a->x2) * sqrt(a->xh2);
    double c = a->xxh / norm;
    return c > 1.0 ? 1.0 : (c < -1.0 ? -1.0 : c);
}

static void fill_stats(const sq_qtensor *q, const acc *a, sq_stats *out)
{
    size_t n = q->numel;
    memset(out, 0, sizeof *out);
    out->numel = n;
    out->clipped = q->n_clipped;
    out->fp32_bytes = n * 4;
    out->size_bytes = sq_qtensor_size_bytes(q);
    out->meta_bytes = sq_qtensor_meta_bytes(q);
    out->compression = sq_qtensor_compression_ratio(q);
    out->bits_per_weight = sq_qtensor_bits_per_weight(q, SQ_SCALE_F32);
    out->bits_per_weight_f16 = sq_qtensor_bits_per_weight(q, SQ_SCALE_F16);
    if (n == 0) {
        out->sqnr_db = INFINITY;
        out->cosine = 1.0;
        return;
    }
    out->mse = a->e2 / (double)n;
    out->rmse = sqrt(out->mse);
    out->mean_abs_err = a->ae / (double)n;
    out->err_min = a->emin;
    out->err_max = a->emax;
    out->max_abs_err = fabs(a->emin) > fabs(a->emax) ? fabs(a->emin) : fabs(a->emax);
    out->clipped_frac = (double)q->n_clipped / (double)n;
    if (a->e2 == 0.0)
        out->sqnr_db = INFINITY;
    else if (a->x2 == 0.0)
        out->sqnr_db = -INFINITY;
    else
        out->sqnr_db = 10.0 * log10(a->x2 / a->e2);
    if (a->x2 == 0.0 && a->xh2 == 0.0)
        out->cosine = 1.0;
    else if (a->x2 == 0.0 || a->xh2 == 0.0)
        out->cosine = 0.0;
    else
        out->cosine = cosine_of(a);
}

/* Choose [lo, hi] for the histogram; may need a first pass (RANGE_DATA). */
static void hist_range(const sq_tensor *x, const sq_qtensor *q, const sq_stats_opts *o, chunk_scratch *s,
                       double *lo, double *hi)
{
    double m;
    if (o->range == SQ_HIST_RANGE_FIXED) {
        *lo = o->lo;
        *hi = o->hi;
        return;
    }
    if (o->range == SQ_HIST_RANGE_DATA) {
        acc a;
        stats_pass(x, q, NULL, s, &a);
        m = q->numel ? (fabs(a.emin) > fabs(a.emax) ? fabs(a.emin) : fabs(a.emax)) : 0.0;
    } else {
        m = step_bound(q);
    }
    if (!(m > 0.0) || !isfinite(m))
        m = 1.0; /* nothing to spread: every error is 0 */
    *lo = -m;
    *hi = m;
}

sq_status sq_roundtrip_stats(const sq_tensor *x, const sq_qtensor *q, const sq_stats_opts *opts,
                             sq_stats *out, sq_hist *hist, sq_error *err)
{
    sq_stats_opts o = opts ? *opts : sq_stats_opts_default();
    sq_status st = check_inputs(x, q, &o, err);
    if (st != SQ_OK)
        return st;
    chunk_scratch *s = malloc(sizeof *s);
    if (!s)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for statistics scratch");
    binner bn = {0};
    acc a;
    if (hist) {
        memset(hist, 0, sizeof *hist);
        hist_range(x, q, &o, s, &bn.lo, &bn.hi);
        bn.bins = o.hist_bins;
        bn.inv_w = bn.bins / (bn.hi - bn.lo);
        bn.sub = calloc(4 * ((size_t)bn.bins + 2), sizeof(uint64_t));
        hist->counts = calloc((size_t)bn.bins, sizeof(uint64_t));
        if (!bn.sub || !hist->counts) {
            free(bn.sub);
            free(s);
            sq_hist_free(hist);
            return sq_fail(err, SQ_ERR_NOMEM, "out of memory for a %d-bin histogram", bn.bins);
        }
    }
    stats_pass(x, q, hist ? &bn : NULL, s, &a);
    fill_stats(q, &a, out);
    if (hist) {
        size_t stride = (size_t)bn.bins + 2;
        for (size_t k = 0; k < stride; k++) {
            uint64_t c = bn.sub[k] + bn.sub[k + stride] + bn.sub[k + 2 * stride] + bn.sub[k + 3 * stride];
            if (k < (size_t)bn.bins)
                hist->counts[k] = c;
            else if (k == (size_t)bn.bins)
                hist->below = c;
            else
                hist->above = c;
        }
        hist->bins = bn.bins;
        hist->lo = bn.lo;
        hist->hi = bn.hi;
    }
    free(bn.sub);
    free(s);
    return SQ_OK;
}

size_t sq_code_histogram(const sq_qtensor *q, uint64_t *counts)
{
    int8_t buf[SQ_CHUNK];
    size_t levels = (size_t)1 << q->config.bits, used = 0;
    int bias = 1 << (q->config.bits - 1);
    memset(counts, 0, levels * sizeof(uint64_t));
    for (size_t start = 0; start < q->numel; start += SQ_CHUNK) {
        size_t n = q->numel - start < SQ_CHUNK ? q->numel - start : SQ_CHUNK;
        sq_unpack_codes(q->codes, start, n, q->config.bits, buf);
        for (size_t j = 0; j < n; j++)
            counts[buf[j] + bias]++;
    }
    for (size_t k = 0; k < levels; k++)
        used += counts[k] != 0;
    return used;
}

sq_status sq_histogram_floats(const float *v, size_t n, int bins, double lo, double hi, sq_hist *h,
                              sq_error *err)
{
    memset(h, 0, sizeof *h);
    if (bins < 1 || bins > SQ_HIST_BINS_MAX)
        return sq_fail(err, SQ_ERR_ARG, "histogram bins = %d is outside 1..%d", bins, SQ_HIST_BINS_MAX);
    if (!(isfinite(lo) && isfinite(hi) && lo < hi))
        return sq_fail(err, SQ_ERR_ARG, "histogram range [%g, %g] is not a finite interval", lo, hi);
    h->counts = calloc((size_t)bins, sizeof(uint64_t));
    if (!h->counts)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for a %d-bin histogram", bins);
    h->bins = bins;
    h->lo = lo;
    h->hi = hi;
    double iw = bins / (hi - lo);
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (x < lo || isnan(x)) {
            h->below += !isnan(x);
            continue;
        }
        if (x > hi) {
            h->above++;
            continue;
        }
        int k = (int)((x - lo) * iw);
        h->counts[k >= bins ? bins - 1 : k]++;
    }
    return SQ_OK;
}
