/* diff.c - error statistics between a reference tensor and another version of it. */
#include "diff.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "threads.h"

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

/* ---- the core: sums in fixed parts, percentiles of |e| by radix counting ----
 *
 * The n values are cut into parts of DIFF_PART elements (the last shorter):
 * the boundaries depend on n alone. Within a part the sums run in
 * DIFF_LANES interleaved lanes (element i adds into lane i % DIFF_LANES),
 * combined as l0 + l1; the parts' sums are then added in part order.
 * Every figure is thus the same for any thread count.
 *
 * The median and p95 of |e| (|e| rounded to float32) are exact order
 * statistics found without sorting: a non-negative float orders as its
 * bits, so pass 1 counts the top KEY_BITS bits of every |e| (per-worker
 * histograms, summed), the cumulative counts name the bin holding each
 * sought rank, and pass 2 counts the low bits of the values in those bins
 * only, which pins each rank's value down to the bit. Ties need no special
 * care. One part (n <= DIFF_PART) is done serially by selection over a
 * buffer of |e| instead (sq_percentile_select): same values. */

#define DIFF_PART ((size_t)1 << 18)
#define DIFF_LANES 2
#define KEY_BITS 16
#define KEY_BINS ((size_t)1 << KEY_BITS)
#define MAX_WANT 4 /* ranks sought: r and r + 1 for the median and for p95 */
#define H2_TRASH ((size_t)64)
_Static_assert(DIFF_PART % DIFF_LANES == 0, "parts start on lane 0");

/* One lane's sums. */
typedef struct lane_sums {
    double sx, sy, sxy, se, sa;
} lane_sums;

/* One part's figures. */
typedef struct part_sums {
    lane_sums s;
    double mx, emin, emax;
    size_t imax;     /* first index of mx (global) */
    bool nonfinite;  /* some e was not finite */
} part_sums;

/* The work of the two passes, shared by their tasks. */
typedef struct diff_job {
    const float *xf, *yf;     /* the float sides, or NULL */
    const double *xd, *yd;    /* else the double ones */
    size_t n, parts;
    part_sums *ps;
    uint64_t *h1;             /* pass 1: workers x KEY_BINS counts of key >> (32 - KEY_BITS) */
    int nwant;                /* pass 2: bins holding the sought ranks (sorted, distinct) */
    uint32_t want[MAX_WANT];
    uint8_t *slot;            /* KEY_BINS entries: 1 + w for the bin want[w], else 0 */
    uint64_t *h2;             /* per worker: H2_TRASH scratch counters, then nwant x KEY_BINS
                               * counts of the low bits in the sought bins */
    int hbins;                /* the histogram of e, when hbins > 0 */
    double hlo, hhi, hiw;
    uint64_t *hc;             /* workers x (hbins + 2): counts, below, above */
} diff_job;

/* The bits of (float)|d|: an order-preserving key of |e| (never negative). */
static inline uint32_t abs_key(double d)
{
    float f = (float)fabs(d);
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Element i of a side. */
static inline __attribute__((always_inline)) double side_at(const float *f, const double *d, bool isf, size_t i)
{
    return isf ? (double)f[i] : d[i];
}

/* The running extremes of a part. */
typedef struct run_ext {
    double mx, emin, emax;
    size_t imax;
} run_ext;

/* Add element i (value x, y) to lane l and to the extremes r; count its
 * key into h1 when not NULL. */
static inline __attribute__((always_inline)) void sums_step(lane_sums *l, run_ext *r, uint64_t *h1, double x,
                                                           double y, size_t i)
{
    double d = x - y, a = fabs(d);
    l->sx += x * x;
    l->sy += y * y;
    l->sxy += x * y;
    l->se += d * d;
    l->sa += a;
    /* rare updates as well-predicted branches: a conditional move would
     * chain every element to the previous one */
    if (__builtin_expect(a > r->mx, 0)) {
        r->mx = a;
        r->imax = i;
    }
    if (__builtin_expect(d < r->emin, 0))
        r->emin = d;
    if (__builtin_expect(d > r->emax, 0))
        r->emax = d;
    if (h1)
        h1[abs_key(d) >> (32 - KEY_BITS)]++;
}

/* Pass 1 over elements [a, b) into *p, counting keys into h1 when not
 * NULL. A non-finite e makes mx or se non-finite (inf, or NaN through
 * d * d), which flags the part. */
static inline __attribute__((always_inline)) void sums_range(const diff_job *j, bool isf, size_t a, size_t b,
                                                            part_sums *p, uint64_t *h1)
{
    lane_sums l0 = {0}, l1 = {0};
    run_ext r = {0};
    memset(p, 0, sizeof *p);
    if (a >= b)
        return;
    r.emin = r.emax = side_at(j->xf, j->xd, isf, a) - side_at(j->yf, j->yd, isf, a);
    size_t i = a;
    for (; i + DIFF_LANES <= b; i += DIFF_LANES) {
        sums_step(&l0, &r, h1, side_at(j->xf, j->xd, isf, i), side_at(j->yf, j->yd, isf, i), i);
        sums_step(&l1, &r, h1, side_at(j->xf, j->xd, isf, i + 1), side_at(j->yf, j->yd, isf, i + 1), i + 1);
    }
    if (i < b) /* the last element of an odd count */
        sums_step(&l0, &r, h1, side_at(j->xf, j->xd, isf, i), side_at(j->yf, j->yd, isf, i), i);
    p->s.sx = l0.sx + l1.sx;
    p->s.sy = l0.sy + l1.sy;
    p->s.sxy = l0.sxy + l1.sxy;
    p->s.se = l0.se + l1.se;
    p->s.sa = l0.sa + l1.sa;
    p->mx = r.mx;
    p->imax = r.imax;
    p->emin = r.emin;
    p->emax = r.emax;
    p->nonfinite = !(r.mx <= DBL_MAX) || isnan(p->s.se);
}

/* Part t's bounds. */
static void part_bounds(const diff_job *j, size_t t, size_t *a, size_t *b)
{
    *a = t * DIFF_PART;
    *b = j->n - *a < DIFF_PART ? j->n : *a + DIFF_PART;
}

/* sq_task_fn of pass 1. */
static void sums_part(void *ctx, size_t t, int worker)
{
    const diff_job *j = ctx;
    size_t a, b;
    part_bounds(j, t, &a, &b);
    uint64_t *h1 = j->h1 ? j->h1 + (size_t)worker * KEY_BINS : NULL;
    if (j->xf)
        sums_range(j, true, a, b, &j->ps[t], h1);
    else
        sums_range(j, false, a, b, &j->ps[t], h1);
}

/* The key of |x - y| for two floats: the same bits as abs_key((double)x -
 * (double)y), since rounding the exact difference to double then to float
 * gives the float difference (53 >= 2 * 24 + 2 bits: double rounding is
 * innocuous for a subtraction). */
static inline uint32_t abs_key_f(float x, float y)
{
    float f = fabsf(x - y);
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Pass 2 over [a, b): the low bits of keys in the sought bins into h2 (the
 * layout of diff_job.h2), the histogram of e into hc (when hbins > 0).
 * Branch-free: about half the values lie between the two percentiles, so a
 * test of the key would be mispredicted often. slot[top] is 0 outside the
 * sought bins, else 1 + the bin's number in want[]; a value outside them
 * is counted into one of H2_TRASH scratch counters (chosen by its index,
 * so that runs of them do not wait on one counter). */
static inline __attribute__((always_inline)) void pass2_range(const diff_job *j, bool isf, size_t a, size_t b,
                                                             uint64_t *h2, uint64_t *hc)
{
    size_t base[MAX_WANT + 1], mlow[MAX_WANT + 1], mi[MAX_WANT + 1];
    for (int s = 0; s <= MAX_WANT; s++) {
        base[s] = s ? H2_TRASH + (size_t)(s - 1) * KEY_BINS : 0;
        mlow[s] = s ? KEY_BINS - 1 : 0;
        mi[s] = s ? 0 : H2_TRASH - 1;
    }
    const uint8_t *slot = j->slot;
    for (size_t i = a; i < b; i++) {
        uint32_t key = isf ? abs_key_f(j->xf[i], j->yf[i]) : abs_key(j->xd[i] - j->yd[i]);
        unsigned s = slot[key >> (32 - KEY_BITS)];
        h2[base[s] + (key & mlow[s]) + (i & mi[s])]++;
        if (j->hbins > 0) { /* as sq_histogram_floats bins the float e */
            double x = isf ? (double)(j->xf[i] - j->yf[i]) : (double)(float)(j->xd[i] - j->yd[i]);
            if (x < j->hlo)
                hc[j->hbins]++;
            else if (x > j->hhi)
                hc[j->hbins + 1]++;
            else {
                int k = (int)((x - j->hlo) * j->hiw);
                hc[k >= j->hbins ? j->hbins - 1 : k]++;
            }
        }
    }
}

/* sq_task_fn of pass 2. */
static void pass2_part(void *ctx, size_t t, int worker)
{
    const diff_job *j = ctx;
    size_t a, b;
    part_bounds(j, t, &a, &b);
    uint64_t *h2 = j->h2 + (size_t)worker * (H2_TRASH + (size_t)j->nwant * KEY_BINS);
    uint64_t *hc = j->hc ? j->hc + (size_t)worker * (size_t)(j->hbins + 2) : NULL;
    if (j->xf)
        pass2_range(j, true, a, b, h2, hc);
    else
        pass2_range(j, false, a, b, h2, hc);
}

/* Sum `workers` arrays of m counts laid one after another into the first. */
static void sum_workers(uint64_t *h, size_t m, int workers)
{
    for (int w = 1; w < workers; w++)
        for (size_t i = 0; i < m; i++)
            h[i] += h[(size_t)w * m + i];
}

/* The bin of h (m counts) holding 0-based rank r, and the count before it. */
static size_t rank_bin(const uint64_t *h, size_t m, size_t r, size_t *before)
{
    size_t cum = 0, k = 0;
    while (k + 1 < m && cum + h[k] <= r)
        cum += h[k++];
    *before = cum;
    return k;
}

/* The 0-based ranks percentile p of n values needs (lo, and lo + 1 when
 * the interpolation uses it) and the interpolation weight, as
 * sq_percentile_select computes them. Returns how many ranks. */
static int percentile_ranks(size_t n, double p, size_t r[2], double *frac)
{
    double pos = p * (double)(n - 1);
    size_t lo = (size_t)pos;
    if (lo >= n)
        lo = n - 1;
    *frac = pos - (double)lo;
    r[0] = lo;
    r[1] = lo + 1;
    return *frac <= 0.0 || lo + 1 >= n ? 1 : 2;
}

/* The float whose bits are u. */
static double key_value(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Pass 2 and the percentiles of |e| (median in q[0], p95 in q[1]) from the
 * summed pass 1 counts j->h1; the histogram of e into j->hc when hbins > 0
 * (hc allocated by the caller). False for want of memory. */
static bool radix_percentiles(diff_job *j, int workers, double q[2])
{
    static const double ps[2] = {0.5, 0.95};
    size_t r[2][2], before[2][2], bin[2][2];
    double frac[2];
    int nr[2];
    j->nwant = 0;
    for (int t = 0; t < 2; t++) {
        nr[t] = percentile_ranks(j->n, ps[t], r[t], &frac[t]);
        for (int k = 0; k < nr[t]; k++) {
            bin[t][k] = rank_bin(j->h1, KEY_BINS, r[t][k], &before[t][k]);
            int w = 0;
            while (w < j->nwant && j->want[w] < bin[t][k])
                w++;
            if (w < j->nwant && j->want[w] == bin[t][k])
                continue;
            memmove(j->want + w + 1, j->want + w, (size_t)(j->nwant - w) * sizeof j->want[0]);
            j->want[w] = (uint32_t)bin[t][k];
            j->nwant++;
        }
    }
    size_t m2 = H2_TRASH + (size_t)j->nwant * KEY_BINS;
    j->h2 = calloc((size_t)workers * m2, sizeof *j->h2);
    j->slot = calloc(KEY_BINS, 1);
    if (!j->h2 || !j->slot) {
        free(j->h2);
        free(j->slot);
        return false;
    }
    for (int w = 0; w < j->nwant; w++)
        j->slot[j->want[w]] = (uint8_t)(w + 1);
    sq_parallel_run(j->parts, workers, pass2_part, j);
    free(j->slot);
    sum_workers(j->h2, m2, workers);
    for (int t = 0; t < 2; t++) {
        double v[2];
        for (int k = 0; k < nr[t]; k++) {
            int w = 0;
            while (j->want[w] != bin[t][k])
                w++;
            size_t skip;
            size_t low = rank_bin(j->h2 + H2_TRASH + (size_t)w * KEY_BINS, KEY_BINS, r[t][k] - before[t][k], &skip);
            v[k] = key_value((uint32_t)(bin[t][k] << (32 - KEY_BITS)) | (uint32_t)low);
        }
        q[t] = nr[t] == 1 ? v[0] : v[0] + (v[1] - v[0]) * frac[t];
    }
    free(j->h2);
    j->h2 = NULL;
    return true;
}

/* Add the parts' figures in part order into *out (the sums and extremes). */
static void combine_parts(const diff_job *j, sq_diff *out, double *sa, double *sxy)
{
    lane_sums s = {0};
    double mx = 0, emin = 0, emax = 0;
    size_t imax = 0;
    for (size_t t = 0; t < j->parts; t++) {
        const part_sums *p = &j->ps[t];
        s.sx += p->s.sx;
        s.sy += p->s.sy;
        s.sxy += p->s.sxy;
        s.se += p->s.se;
        s.sa += p->s.sa;
        if (p->mx > mx) {
            mx = p->mx;
            imax = p->imax;
        }
        if (t == 0 || p->emin < emin)
            emin = p->emin;
        if (t == 0 || p->emax > emax)
            emax = p->emax;
    }
    out->sum_x2 = s.sx;
    out->sum_y2 = s.sy;
    out->sum_e2 = s.se;
    out->max_abs_err = mx;
    out->max_index = imax;
    out->err_min = emin;
    out->err_max = emax;
    *sa = s.sa;
    *sxy = s.sxy;
}

/* NONFINITE when xt, yt (or, without them, xd, yd) hold a non-finite value,
 * with the messages of sq_diff_stats and sq_diff_doubles. */
static sq_status check_nonfinite(const sq_tensor *xt, const sq_tensor *yt, const double *xd, const double *yd,
                                 size_t n, sq_error *err)
{
    sq_status st;
    if (xt) {
        if ((st = sq_tensor_check_finite(xt, "the reference", err)) != SQ_OK ||
            (st = sq_tensor_check_finite(yt, "the other tensor", err)) != SQ_OK)
            return st;
        return SQ_OK;
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(xd[i]) || !isfinite(yd[i]))
            return sq_fail(err, SQ_ERR_NONFINITE, "%s holds a non-finite value at element %zu",
                           isfinite(xd[i]) ? "the other" : "the reference", i + 1);
    return SQ_OK;
}

/* The statistics of e = x - y over n values, the sides from the tensors xt
 * and yt when xt is not NULL (same numel n), else from the double arrays.
 * Shapes are the caller's business; a non-finite input is an error found
 * here (checked again in detail only when some e is not finite). */
static sq_status diff_core(const sq_tensor *xt, const sq_tensor *yt, const double *xd, const double *yd, size_t n,
                           const sq_stats_opts *o, sq_diff *out, sq_hist *hist, sq_error *err)
{
    sq_status st = SQ_OK;
    diff_job j = {.xf = xt ? xt->data : NULL, .yf = xt ? yt->data : NULL, .xd = xd, .yd = yd, .n = n};
    double sa, sxy, lo, hi;
    float *e = NULL;
    memset(out, 0, sizeof *out);
    j.parts = n <= DIFF_PART ? 1 : (n + DIFF_PART - 1) / DIFF_PART;
    int workers = sq_parallel_workers(j.parts);
    bool radix = j.parts > 1;
    j.ps = malloc(j.parts * sizeof *j.ps);
    if (radix)
        j.h1 = calloc((size_t)workers * KEY_BINS, sizeof *j.h1);
    if (!j.ps || (radix && !j.h1)) {
        st = sq_fail(err, SQ_ERR_NOMEM, "out of memory for the error statistics of %zu values", n);
        goto done;
    }
    sq_parallel_run(j.parts, workers, sums_part, &j);
    for (size_t t = 0; t < j.parts; t++)
        if (j.ps[t].nonfinite && (st = check_nonfinite(xt, yt, xd, yd, n, err)) != SQ_OK)
            goto done;
    if (hist && (st = hist_range(o, 1.0, &lo, &hi, err)) != SQ_OK)
        goto done;
    combine_parts(&j, out, &sa, &sxy);
    double sx = out->sum_x2, sy = out->sum_y2, se = out->sum_e2, mx = out->max_abs_err;
    out->numel = n;
    out->mse = n ? se / (double)n : 0.0;
    out->rmse = sqrt(out->mse);
    out->mean_abs_err = n ? sa / (double)n : 0.0;
    out->sqnr_db = sq_diff_sqnr_db(sx, se);
    if (sx == 0.0 && sy == 0.0)
        out->cosine = 1.0;
    else if (sx == 0.0 || sy == 0.0)
        out->cosine = 0.0;
    else
        out->cosine = sxy / sqrt(sx * sy);
    if (hist)
        hist_range(o, fmax(mx, (double)(float)mx), &lo, &hi, err); /* |(float)d| <= (float)mx */
    if (radix) {
        sum_workers(j.h1, KEY_BINS, workers);
        if (hist) { /* allocated empty here, counted in pass 2 */
            if ((st = sq_histogram_floats(NULL, 0, o->hist_bins, lo, hi, hist, err)) != SQ_OK)
                goto done;
            j.hbins = hist->bins;
            j.hlo = hist->lo;
            j.hhi = hist->hi;
            j.hiw = hist->bins / (hist->hi - hist->lo);
            j.hc = calloc((size_t)workers * (size_t)(j.hbins + 2), sizeof *j.hc);
        }
        double q[2];
        if ((hist && !j.hc) || !radix_percentiles(&j, workers, q)) {
            st = sq_fail(err, SQ_ERR_NOMEM, "out of memory for the percentiles of %zu error values", n);
            goto done;
        }
        if (hist) {
            sum_workers(j.hc, (size_t)j.hbins + 2, workers);
            for (int k = 0; k < j.hbins; k++)
                hist->counts[k] = j.hc[k];
            hist->below = j.hc[j.hbins];
            hist->above = j.hc[j.hbins + 1];
        }
        out->median_abs_err = q[0];
        out->p95_abs_err = q[1];
        goto done;
    }
    if (n == 0)
        goto done;
    e = malloc(n * sizeof *e);
    if (!e) {
        st = sq_fail(err, SQ_ERR_NOMEM, "out of memory for %zu error values", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        e[i] = (float)(j.xf ? (double)j.xf[i] - (double)j.yf[i] : xd[i] - yd[i]);
    if (hist) {
        if ((st = sq_histogram_floats(e, n, o->hist_bins, lo, hi, hist, err)) != SQ_OK)
            goto done;
    }
    for (size_t i = 0; i < n; i++)
        e[i] = fabsf(e[i]);
    out->median_abs_err = sq_percentile_select(e, n, 0.5);
    out->p95_abs_err = sq_percentile_select(e, n, 0.95);
done:
    free(e);
    free(j.ps);
    free(j.h1);
    free(j.hc);
    if (st != SQ_OK) {
        memset(out, 0, sizeof *out);
        if (hist)
            sq_hist_free(hist);
    }
    return st;
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
    if ((st = check_shapes(ref, other, err)) != SQ_OK)
        return st;
    return diff_core(ref, other, NULL, NULL, ref->numel, o, out, hist, err);
}

sq_status sq_diff_doubles(const double *ref, const double *other, size_t n, const sq_stats_opts *opts, sq_diff *out,
                          sq_hist *hist, sq_error *err)
{
    sq_stats_opts dflt;
    return diff_core(NULL, NULL, ref, other, n, opts_or_default(opts, &dflt), out, hist, err);
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
        (st = diff_core(x, xq ? xq : x, NULL, NULL, x->numel, opts_or_default(NULL, &(sq_stats_opts){0}),
                        &out->input, NULL, err)) != SQ_OK)
        memset(out, 0, sizeof *out);
done:
    free(y);
    sq_tensor_free(wq);
    sq_tensor_free(xq);
    sq_tensor_free(x2);
    return st;
}
