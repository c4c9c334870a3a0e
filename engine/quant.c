/* quant.c - configuration, scale computation, quantize and dequantize.
 *
 * Both directions walk the tensor in SQ_CHUNK-element chunks: codes are formed
 * as int8 in a small buffer by a vectorizable kernel, then bit-packed; the
 * reverse unpacks a chunk and scales it. Large tensors are split into parts of
 * SQ_PART elements (quant_int.h) that run on the thread pool (threads.h); the
 * range pass splits by index (or, per-tensor, by part: minima and maxima are
 * exact, so any split gives the same bits). All arithmetic on values is double,
 * as in the seed, and compiled with -ffp-contract=off so that the fast kernels
 * agree bit for bit with a plain scalar implementation. */
#include "quant.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "kernel512.h"
#include "layout.h"
#include "qformat_int.h"
#include "quant_int.h"
#include "simd.h"
#include "threads.h"
#include "blk_lanes.h"

/* ---- configuration -------------------------------------------------------- */

sq_qconfig sq_qconfig_default(void)
{
    sq_qconfig c;
    memset(&c, 0, sizeof c);
    c.bits = 8;
    c.mode = SQ_MODE_SYMMETRIC;
    c.granularity = SQ_GRAN_TENSOR;
    c.axis = 0;
    c.group_size = 32;
    c.rounding = SQ_ROUND_AWAY;
    c.zero_in_range = false;
    c.format = SQ_FORMAT_INT;
    c.calibration = SQ_CALIB_MINMAX;
    c.percentile = 99.99;
    c.clip = 1.0;
    c.range_lo = -1.0;
    c.range_hi = 1.0;
    return c;
}

int sq_qconfig_qmax(const sq_qconfig *cfg)
{
    return (1 << (cfg->bits - 1)) - 1;
}

int sq_qconfig_qmin(const sq_qconfig *cfg)
{
    return cfg->mode == SQ_MODE_SYMMETRIC ? -sq_qconfig_qmax(cfg) : -(1 << (cfg->bits - 1));
}

static sq_status check_enums(const sq_qconfig *cfg, sq_error *err)
{
    if (cfg->bits < SQ_BITS_MIN || cfg->bits > SQ_BITS_MAX)
        return sq_fail(err, SQ_ERR_ARG, "bits = %d is outside %d..%d", cfg->bits, SQ_BITS_MIN,
                       SQ_BITS_MAX);
    if (cfg->mode != SQ_MODE_SYMMETRIC && cfg->mode != SQ_MODE_ASYMMETRIC)
        return sq_fail(err, SQ_ERR_ARG, "unknown mode %d", (int)cfg->mode);
    if ((unsigned)cfg->granularity > SQ_GRAN_GROUP)
        return sq_fail(err, SQ_ERR_ARG, "unknown granularity %d", (int)cfg->granularity);
    if (cfg->rounding != SQ_ROUND_AWAY && cfg->rounding != SQ_ROUND_EVEN)
        return sq_fail(err, SQ_ERR_ARG, "unknown rounding %d", (int)cfg->rounding);
    sq_status fst = sq_format_check(cfg, err);
    if (fst != SQ_OK)
        return fst;
    if ((unsigned)cfg->calibration > SQ_CALIB_KL)
        return sq_fail(err, SQ_ERR_ARG, "unknown calibration %d", (int)cfg->calibration);
    if (cfg->calibration == SQ_CALIB_KL && cfg->granularity == SQ_GRAN_GROUP)
        return sq_fail(err, SQ_ERR_ARG, "calibration = kl works per tensor or per channel, not per group "
                                        "(its 2048-bin histogram needs many values per scale)");
    if (cfg->calibration == SQ_CALIB_PERCENTILE && !(cfg->percentile > 0.0 && cfg->percentile <= 100.0))
        return sq_fail(err, SQ_ERR_ARG, "percentile = %g is outside (0, 100]", cfg->percentile);
    if (cfg->calibration == SQ_CALIB_CLIP && !(cfg->clip > 0.0 && cfg->clip <= 1.0))
        return sq_fail(err, SQ_ERR_ARG, "clip = %g is outside (0, 1]", cfg->clip);
    if (cfg->calibration == SQ_CALIB_RANGE &&
        !(isfinite(cfg->range_lo) && isfinite(cfg->range_hi) && cfg->range_lo < cfg->range_hi))
        return sq_fail(err, SQ_ERR_ARG, "range = {%g, %g} needs finite lo < hi", cfg->range_lo,
                       cfg->range_hi);
    if ((unsigned)cfg->scale_store > SQ_SCALE_F16)
        return sq_fail(err, SQ_ERR_ARG, "unknown scale store %d", (int)cfg->scale_store);
    return SQ_OK;
}

sq_status sq_qconfig_check(const sq_qconfig *cfg, const size_t *shape, int ndim, sq_error *err)
{
    sq_status st = check_enums(cfg, err);
    if (st != SQ_OK || !shape)
        return st;
    if (cfg->granularity == SQ_GRAN_CHANNEL && ndim > 0 && (cfg->axis < 0 || cfg->axis >= ndim))
        return sq_fail(err, SQ_ERR_ARG, "axis %d is out of range for a tensor of %d dimension%s (axes 1..%d)",
                       cfg->axis + 1, ndim, ndim == 1 ? "" : "s", ndim); /* 1-based, as users number axes */
    if (cfg->granularity == SQ_GRAN_GROUP) {
        if (ndim == 0)
            return sq_fail(err, SQ_ERR_ARG, "per-group quantization needs at least one dimension");
        if (cfg->group_size == 0)
            return sq_fail(err, SQ_ERR_ARG, "group_size must be positive");
        if (shape[ndim - 1] % cfg->group_size != 0)
            return sq_fail(err, SQ_ERR_ARG,
                           "group_size = %zu does not divide the last dimension (%zu)",
                           cfg->group_size, shape[ndim - 1]);
    }
    return SQ_OK;
}

static const char *const mode_names[] = {"symmetric", "asymmetric"};
static const char *const gran_names[] = {"tensor", "channel", "group"};
static const char *const round_names[] = {"away", "even"};
static const char *const store_names[] = {"f64", "f32", "f16"};
static const char *const calib_names[] = {"minmax", "percentile", "mse", "clip", "range", "kl"};

const char *sq_calibration_name(sq_calibration c)
{
    return (unsigned)c <= SQ_CALIB_KL ? calib_names[c] : "?";
}

const char *sq_scale_store_name(sq_scale_store s)
{
    return (unsigned)s < 3 ? store_names[s] : "?";
}

const char *sq_mode_name(sq_mode m)
{
    return (unsigned)m < 2 ? mode_names[m] : "?";
}

const char *sq_granularity_name(sq_granularity g)
{
    return (unsigned)g < 3 ? gran_names[g] : "?";
}

const char *sq_rounding_name(sq_rounding r)
{
    return (unsigned)r < 2 ? round_names[r] : "?";
}

static bool parse_name(const char *s, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

bool sq_mode_parse(const char *s, sq_mode *out)
{
    int v;
    if (!parse_name(s, mode_names, 2, &v))
        return false;
    *out = (sq_mode)v;
    return true;
}

bool sq_granularity_parse(const char *s, sq_granularity *out)
{
    int v;
    if (!parse_name(s, gran_names, 3, &v))
        return false;
    *out = (sq_granularity)v;
    return true;
}

bool sq_scale_store_parse(const char *s, sq_scale_store *out)
{
    int v;
    if (!parse_name(s, store_names, 3, &v))
        return false;
    *out = (sq_scale_store)v;
    return true;
}

bool sq_calibration_parse(const char *s, sq_calibration *out)
{
    int v;
    if (!parse_name(s, calib_names, 6, &v))
        return false;
    *out = (sq_calibration)v;
    return true;
}

bool sq_rounding_parse(const char *s, sq_rounding *out)
{
    int v;
    if (!parse_name(s, round_names, 2, &v))
        return false;
    *out = (sq_rounding)v;
    return true;
}

char *sq_qconfig_describe(const sq_qconfig *cfg, char *buf, size_t bufsize)
{
    return sq_qconfig_describe_from(cfg, 0, buf, bufsize);
}

char *sq_qconfig_describe_from(const sq_qconfig *cfg, int first_axis, char *buf, size_t bufsize)
{
    char gran[48];
    if (cfg->granularity == SQ_GRAN_CHANNEL)
        snprintf(gran, sizeof gran, "per-channel(axis %d)", cfg->axis + first_axis);
    else if (cfg->granularity == SQ_GRAN_GROUP)
        snprintf(gran, sizeof gran, "per-group(%zu)", cfg->group_size);
    else
        snprintf(gran, sizeof gran, "per-tensor");
    if (cfg->format != SQ_FORMAT_INT) { /* "q4_k", "nf4 per-group(128) dq", "fp8_e4m3 per-channel(axis 1)" */
        const sq_format_info *fi = sq_format_info_of((int)cfg->format);
        bool show = fi && (fi->any_granularity || (cfg->format == SQ_FORMAT_NF4 && cfg->group_size != 64));
        snprintf(buf, bufsize, "%s%s%s%s", sq_format_name(cfg->format), show ? " " : "", show ? gran : "",
                 cfg->double_quant ? " dq" : "");
        return buf;
    }
    char cal[64] = "";
    if (cfg->calibration == SQ_CALIB_MSE)
        snprintf(cal, sizeof cal, " mse");
    else if (cfg->calibration == SQ_CALIB_PERCENTILE)
        snprintf(cal, sizeof cal, " p%g", cfg->percentile);
    else if (cfg->calibration == SQ_CALIB_CLIP)
        snprintf(cal, sizeof cal, " clip%g", cfg->clip);
    else if (cfg->calibration == SQ_CALIB_RANGE)
        snprintf(cal, sizeof cal, " range[%g,%g]", cfg->range_lo, cfg->range_hi);
    else if (cfg->calibration == SQ_CALIB_KL)
        snprintf(cal, sizeof cal, " kl");
    snprintf(buf, bufsize, "int%d %s %s%s%s%s", cfg->bits,
             cfg->mode == SQ_MODE_SYMMETRIC ? "sym" : "asym", gran,
             cfg->rounding == SQ_ROUND_EVEN ? " even" : "",
             cfg->zero_in_range && cfg->mode == SQ_MODE_ASYMMETRIC ? " zir" : "", cal);
    return buf;
}

/* ---- layout ------------------------------------------------------------- */

void sq_layout_init(sq_layout *l, const sq_qconfig *cfg, const size_t *shape, int ndim, size_t numel)
{
    l->numel = numel;
    l->cycle = 0;
    if (cfg->granularity == SQ_GRAN_CHANNEL && ndim > 0) {
        size_t inner = 1;
        for (int d = cfg->axis + 1; d < ndim; d++)
            inner *= shape[d];
        l->run = inner ? inner : 1;
        l->cycle = shape[cfg->axis];
        l->n_index = shape[cfg->axis];
    } else if (cfg->granularity == SQ_GRAN_GROUP) {
        l->run = cfg->group_size;
        l->n_index = numel / cfg->group_size;
    } else {
        l->run = numel ? numel : 1;
        l->n_index = 1;
    }
}

void sq_layout_expand(const sq_layout *l, size_t start, size_t n, const double *a, const double *b,
                      const double *c, double *out_a, double *out_b, double *out_c)
{
    sq_run r = sq_run_at(l, start);
    for (size_t j = 0; j < n;) {
        size_t len = r.left < n - j ? r.left : n - j;
        for (size_t t = j; t < j + len; t++) {
            out_a[t] = a[r.k];
            out_b[t] = b[r.k];
            if (c)
                out_c[t] = c[r.k];
        }
        j += len;
        sq_run_advance(l, &r, len);
    }
}

size_t sq_qconfig_scale_count(const sq_qconfig *cfg, const size_t *shape, int ndim)
{
    sq_layout l;
    size_t numel = 1;
    for (int d = 0; d < ndim; d++)
        numel *= shape[d];
    sq_layout_init(&l, cfg, shape, ndim, numel);
    return l.n_index;
}

/* ---- scales ------------------------------------------------------------- */

static double round_half(double v, sq_rounding r)
{
    return sq_round_scalar(v, r == SQ_ROUND_EVEN);
}

/* The (scale, zero point) of a set whose finite min and max are mn, mx. */
static void params_from_range(double mn, double mx, size_t n, const sq_qconfig *cfg, double *scale,
                              double *zp)
{
    double qmin = sq_qconfig_qmin(cfg), qmax = sq_qconfig_qmax(cfg);
    if (n == 0) {
        *scale = 1.0;
        *zp = 0.0;
        return;
    }
    if (cfg->mode == SQ_MODE_SYMMETRIC) {
        double amax = fabs(mn) > fabs(mx) ? fabs(mn) : fabs(mx);
        *scale = amax < 1e-30 ? 1.0 : amax / qmax;
        *zp = 0.0;
        return;
    }
    if (cfg->zero_in_range) {
        mn = mn < 0.0 ? mn : 0.0;
        mx = mx > 0.0 ? mx : 0.0;
    }
    double range = mx - mn;
    *scale = range < 1e-30 ? 1.0 : range / (qmax - qmin);
    if (cfg->zero_in_range) {
        double z = qmin - round_half(mn / *scale, cfg->rounding);
        *zp = z < qmin ? qmin : (z > qmax ? qmax : z);
    } else {
        *zp = round_half(qmin - mn / *scale, cfg->rounding);
    }
}

void sq_compute_scale_zp(const float *x, size_t n, const sq_qconfig *cfg, double *scale,
                         double *zero_point)
{
    float mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    params_from_range(mn, mx, n, cfg, scale, zero_point);
}

/* Min and max of n floats; returns nonzero when any value is not finite. */
SQ_HOT
static int range_of(const float *x, size_t n, float *mn_io, float *mx_io)
{
    float mn = *mn_io, mx = *mx_io;
    int bad = 0;
    SQ_SIMD_WITH(reduction(min : mn) reduction(max : mx) reduction(| : bad))
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        bad |= !(fabsf(v) <= FLT_MAX);
    }
    *mn_io = mn;
    *mx_io = mx;
    return bad;
}

/* Range passes stream through memory faster when they ask for data well
 * ahead of the hardware prefetcher: SQ_RANGE_AHEAD floats (16 KiB). */
#ifndef SQ_RANGE_AHEAD
#define SQ_RANGE_AHEAD 4096
#endif
#define SQ_RANGE_BLOCK 1024

/* Prefetch the cache lines of x[from, to) clamped to x[0, n). */
static inline void prefetch_floats(const float *x, size_t from, size_t to, size_t n)
{
#if defined(__GNUC__) || defined(__clang__)
    to = to < n ? to : n;
    for (size_t i = from; i < to; i += 16)
        __builtin_prefetch(x + i, 0, 3);
#else
    (void)x, (void)from, (void)to, (void)n;
#endif
}

/* range_of over a long run, block by block with read-ahead. */
static int range_of_streamed(const float *x, size_t n, float *mn_io, float *mx_io)
{
    int bad = 0;
    for (size_t b = 0; b < n; b += SQ_RANGE_BLOCK) {
        size_t len = n - b < SQ_RANGE_BLOCK ? n - b : SQ_RANGE_BLOCK;
        prefetch_floats(x, b + SQ_RANGE_AHEAD, b + SQ_RANGE_AHEAD + len, n);
        bad |= range_of(x + b, len, mn_io, mx_io);
    }
    return bad;
}

/* Min and max of each of count consecutive groups of g floats (one call for
 * many small groups: eight running minima/maxima per group, a shape compilers
 * vectorize); returns nonzero when any value is not finite. */
SQ_HOT
static int ranges_groups(const float *x, size_t g, size_t count, float *mn, float *mx)
{
    int bad = 0;
    for (size_t k = 0; k < count; k++) {
        const float *p = x + k * g;
        float lo[8], hi[8];
        int b8[8];
        for (int j = 0; j < 8; j++) {
            lo[j] = INFINITY;
            hi[j] = -INFINITY;
            b8[j] = 0;
        }
        size_t i = 0;
        for (; i + 8 <= g; i += 8) {
            for (int j = 0; j < 8; j++) {
                float v = p[i + (size_t)j];
                lo[j] = v < lo[j] ? v : lo[j];
                hi[j] = v > hi[j] ? v : hi[j];
                b8[j] |= !(fabsf(v) <= FLT_MAX);
            }
        }
        for (; i < g; i++) {
            lo[0] = p[i] < lo[0] ? p[i] : lo[0];
            hi[0] = p[i] > hi[0] ? p[i] : hi[0];
            b8[0] |= !(fabsf(p[i]) <= FLT_MAX);
        }
        for (int j = 1; j < 8; j++) {
            lo[0] = lo[j] < lo[0] ? lo[j] : lo[0];
            hi[0] = hi[j] > hi[0] ? hi[j] : hi[0];
            b8[0] |= b8[j];
        }
        mn[k] = lo[0];
        mx[k] = hi[0];
        bad |= b8[0];
    }
    return bad;
}

#if SQ_X86_KERNELS
/* Fold sixteen vectors v[k] into one whose lane k is the min (max when
 * want_max) of v[k]'s lanes: four levels of pairwise shuffles, then one
 * permutation (after the tree, lane 4b + j holds vector b + 4j). */
static inline SQ_AVX512 __attribute__((always_inline)) __m512 fold16(__m512 *v, bool want_max)
{
#define SQ_PICK(x, y) (want_max ? _mm512_max_ps(x, y) : _mm512_min_ps(x, y))
    for (int p = 0; p < 8; p++) /* blocks 0,1: vector 2p; blocks 2,3: vector 2p+1 */
        v[p] = SQ_PICK(_mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                       _mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    for (int p = 0; p < 4; p++) /* block b: vector 4p + b */
        v[p] = SQ_PICK(_mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    for (int p = 0; p < 2; p++) /* block b, lanes 0-1: vector 8p + b; lanes 2-3: 8p + 4 + b */
        v[p] = SQ_PICK(_mm512_shuffle_ps(v[2 * p], v[2 * p + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                       _mm512_shuffle_ps(v[2 * p], v[2 * p + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    __m512 r = SQ_PICK(_mm512_shuffle_ps(v[0], v[1], _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_ps(v[0], v[1], _MM_SHUFFLE(3, 1, 3, 1)));
#undef SQ_PICK
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_permutexvar_ps(order, r);
}

/* ranges_groups for group sizes that are multiples of 16, sixteen groups at
 * a time; returns how many groups it did (count rounded down to 16) and
 * sets *bad when any value is NaN or infinite. */
SQ_AVX512
static size_t ranges_groups16_avx512(const float *x, size_t g, size_t count, float *mn, float *mx, int *bad)
{
    const __m512 big = _mm512_set1_ps(FLT_MAX), absmask = _mm512_castsi512_ps(_mm512_set1_epi32(INT32_MAX));
    __mmask16 nonfinite = 0;
    size_t k = 0;
    for (; k + 16 <= count; k += 16) {
        __m512 lo[16], hi[16];
        prefetch_floats(x, k * g + SQ_RANGE_AHEAD, (k + 16) * g + SQ_RANGE_AHEAD, count * g);
        for (int b = 0; b < 16; b++) {
            const float *p = x + (k + (size_t)b) * g;
            __m512 v = _mm512_loadu_ps(p);
            __m512 l = v, h = v;
            nonfinite |= _mm512_cmp_ps_mask(_mm512_and_ps(v, absmask), big, _CMP_NLE_UQ);
            for (size_t i = 16; i < g; i += 16) {
                v = _mm512_loadu_ps(p + i);
                l = _mm512_min_ps(l, v);
                h = _mm512_max_ps(h, v);
                nonfinite |= _mm512_cmp_ps_mask(_mm512_and_ps(v, absmask), big, _CMP_NLE_UQ);
            }
            lo[b] = l;
            hi[b] = h;
        }
        _mm512_storeu_ps(mn + k, fold16(lo, false));
        _mm512_storeu_ps(mx + k, fold16(hi, true));
    }
    *bad |= nonfinite != 0;
    return k;
}
#endif

/* Min/max of the channels k0..k1-1 of a per-channel layout, row by row
 * (a row holds cycle * run elements: every channel once). */
static int ranges_channels(const sq_layout *l, const float *x, size_t k0, size_t k1, float *mn, float *mx)
{
    int bad = 0;
    size_t row = l->cycle * l->run;
    for (size_t base = 0; base < l->numel; base += row) {
        const float *r = x + base;
        if (l->run == 1) {
            SQ_SIMD_WITH(reduction(| : bad))
            for (size_t c = k0; c < k1; c++) {
                mn[c] = r[c] < mn[c] ? r[c] : mn[c];
                mx[c] = r[c] > mx[c] ? r[c] : mx[c];
                bad |= !(fabsf(r[c]) <= FLT_MAX);
            }
        } else if (l->run < SQ_SHORT_RUN) {
            for (size_t c = k0; c < k1; c++)
                bad |= range_of(r + c * l->run, l->run, &mn[c], &mx[c]);
        } else {
            for (size_t c = k0; c < k1; c++)
                bad |= range_of_streamed(r + c * l->run, l->run, &mn[c], &mx[c]);
        }
    }
    return bad;
}

/* Min/max of indices k0..k1-1 (all of them when the layout has one index);
 * returns nonzero when one of their values is not finite. */
static int ranges_indices(const sq_layout *l, const float *x, size_t k0, size_t k1, float *mn, float *mx)
{
    for (size_t k = k0; k < k1; k++) {
        mn[k] = INFINITY;
        mx[k] = -INFINITY;
    }
    if (l->cycle)
        return ranges_channels(l, x, k0, k1, mn, mx);
    if (l->n_index > 1) { /* per-group */
        size_t done = 0, g = l->run;
        int bad = 0;
        x += k0 * g;
#if SQ_X86_KERNELS
        if (g % 16 == 0 && sq_use_avx512())
            done = ranges_groups16_avx512(x, g, k1 - k0, mn + k0, mx + k0, &bad);
#endif
        return bad | ranges_groups(x + done * g, g, k1 - k0 - done, mn + k0 + done, mx + k0 + done);
    }
    return range_of_streamed(x, l->numel, &mn[0], &mx[0]);
}

/* The range pass in parallel tasks. With one index, task t takes part t of
 * the elements into its own min/max (combined afterwards); otherwise task t
 * takes indices [t * per_task, (t+1) * per_task). Minima and maxima are
 * exact, so the result is the same for any split. */
typedef struct range_job {
    const sq_layout *l;
    const float *x;
    float *mn, *mx;     /* per index */
    float *pmn, *pmx;   /* per task (one index) */
    int *bad;           /* per task */
    size_t per_task;
} range_job;

static void range_task(void *vjob, size_t t, int worker)
{
    const range_job *j = vjob;
    (void)worker;
    if (j->pmn) {
        size_t s = t * SQ_PART, e = j->l->numel - s < SQ_PART ? j->l->numel : s + SQ_PART;
        j->pmn[t] = INFINITY;
        j->pmx[t] = -INFINITY;
        j->bad[t] = range_of_streamed(j->x + s, e - s, &j->pmn[t], &j->pmx[t]);
    } else {
        size_t k0 = t * j->per_task, k1 = j->l->n_index - k0 < j->per_task ? j->l->n_index : k0 + j->per_task;
        j->bad[t] = ranges_indices(j->l, j->x, k0, k1, j->mn, j->mx);
    }
}

/* Indices per range task: about SQ_PART elements each. Per-channel layouts
 * whose channels repeat in rows (an axis other than the first) read each
 * task's channels from every row; when those pieces are short the pass
 * stays one task. */
static size_t range_per_task(const sq_layout *l)
{
    size_t per_index = l->n_index ? l->numel / l->n_index : 1, per = SQ_PART / (per_index ? per_index : 1);
    per = per < 1 ? 1 : (per > 16 ? per / 16 * 16 : per); /* whole blocks for ranges_groups16_avx512 */
    if (l->cycle && l->cycle * l->run < l->numel && per * l->run < 1024)
        return l->n_index;
    return per;
}

/* Per-index min/max of x; returns nonzero when x has a non-finite value. */
static int ranges_by_index(const sq_layout *l, const float *x, float *mn, float *mx)
{
    range_job j = {.l = l, .x = x, .mn = mn, .mx = mx, .per_task = l->n_index};
    size_t tasks = 1;
    if (l->n_index == 1)
        tasks = sq_part_count(l->numel);
    else if (l->n_index > 1) {
        j.per_task = range_per_task(l);
        tasks = (l->n_index + j.per_task - 1) / j.per_task;
    }
    if (tasks <= 1)
        return l->n_index ? ranges_indices(l, x, 0, l->n_index, mn, mx) : 0;
    j.bad = malloc(tasks * (sizeof(int) + (l->n_index == 1 ? 2 * sizeof(float) : 0)));
    if (!j.bad) /* no memory for the tasks' results: one pass on this thread */
        return ranges_indices(l, x, 0, l->n_index, mn, mx);
    if (l->n_index == 1) {
        j.pmn = (float *)(j.bad + tasks);
        j.pmx = j.pmn + tasks;
    }
    sq_parallel_for(tasks, range_task, &j);
    int bad = 0;
    for (size_t t = 0; t < tasks; t++) {
        bad |= j.bad[t];
        if (j.pmn) {
            mn[0] = t == 0 || j.pmn[t] < mn[0] ? j.pmn[t] : mn[0];
            mx[0] = t == 0 || j.pmx[t] > mx[0] ? j.pmx[t] : mx[0];
        }
    }
    free(j.bad);
    return bad;
}

/* ---- encode / decode kernels ---------------------------------------------- */

/* The loop shared by the four encode kernels: codes of x[i] with INV and ZP
 * (scalars or per-element) rounded by ROUND (kernel.h). Clipping is counted
 * afterwards (count_clipped). */
#define ENCODE_LOOP(INV, ZP, ROUND)                                        \
    for (size_t i = 0; i < n; i++) {                                      \
        SQ_ENCODE(x[i], INV, ZP, qmin, qmax, ROUND, c)                    \
        q[i] = (int8_t)(int)c;                                            \
        clipped += c_r != c;                                              \
    }

/* Codes of n (<= SQ_CHUNK) values with one (inv_scale, zp); returns how
 * many were clipped. */
SQ_HOT
static int encode_uniform(const float *x, size_t n, double inv, double zp, double qmin, double qmax,
                          sq_rounding rnd, int8_t *q)
{
    int clipped = 0;
    if (rnd == SQ_ROUND_EVEN) {
        ENCODE_LOOP(inv, zp, SQ_ROUND_EVEN)
    } else {
        ENCODE_LOOP(inv, zp, SQ_ROUND_AWAY)
    }
    return clipped;
}

/* As encode_uniform with per-element parameters. */
SQ_HOT
static int encode_varying(const float *x, size_t n, const double *inv, const double *zp, double qmin,
                          double qmax, sq_rounding rnd, int8_t *q)
{
    int clipped = 0;
    if (rnd == SQ_ROUND_EVEN) {
        ENCODE_LOOP(inv[i], zp[i], SQ_ROUND_EVEN)
    } else {
        ENCODE_LOOP(inv[i], zp[i], SQ_ROUND_AWAY)
    }
    return clipped;
}

SQ_HOT
static void decode_uniform(const int8_t *q, size_t n, double scale, double zp, float *out)
{
    SQ_SIMD
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(((double)q[i] - zp) * scale);
}

SQ_HOT
static void decode_varying(const int8_t *q, size_t n, const double *scale, const double *zp, float *out)
{
    SQ_SIMD
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(((double)q[i] - zp[i]) * scale[i]);
}

/* ---- quantize ------------------------------------------------------------ */

static sq_status qtensor_alloc(const sq_qconfig *cfg, const size_t *shape, int ndim, size_t numel,
                               sq_dtype dtype, size_t n_scales, sq_qtensor **out, sq_error *err)
{
    size_t bytes;
    sq_status st = sq_packed_size(numel, cfg->bits, &bytes, err);
    if (st != SQ_OK)
        return st;
    /* one scale per channel of a tensor with no elements: at most 2^24 of them
     * (a [2^40, 0] tensor would otherwise ask for 8 TB of scales) */
    if (numel == 0 && n_scales > ((size_t)1 << 24))
        return sq_fail(err, SQ_ERR_ARG, "a tensor with no elements and %zu channels: more than 2^24 scales for "
                                        "nothing to quantize", n_scales);
    if (n_scales > SIZE_MAX / sizeof(double))
        return sq_fail(err, SQ_ERR_OVERFLOW, "%zu scales overflow size_t", n_scales);
    sq_qtensor *q = calloc(1, sizeof *q);
    if (!q)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory allocating a quantized tensor");
    q->codes = malloc(bytes ? bytes : 1);
    q->scales = malloc((n_scales ? n_scales : 1) * sizeof(double));
    q->zero_points = malloc((n_scales ? n_scales : 1) * sizeof(double));
    if (!q->codes || !q->scales || !q->zero_points) {
        sq_qtensor_free(q);
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory allocating %zu code bytes and %zu scales",
                       bytes, n_scales);
    }
    q->config = *cfg;
    q->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        q->shape[d] = shape[d];
    q->numel = numel;
    q->orig_dtype = dtype;
    q->code_bytes = bytes;
    q->n_scales = n_scales;
    q->tensor_scale = 1.0;
    *out = q;
    return SQ_OK;
}

void sq_qtensor_free(sq_qtensor *q)
{
    if (q) {
        free(q->codes);
        free(q->scales);
        free(q->zero_points);
        free(q->aux);
        free(q);
    }
}

/* Scratch buffers for one chunk. */
typedef struct chunk_buf {
    int8_t q[SQ_CHUNK];
    double a[SQ_CHUNK], b[SQ_CHUNK];
} chunk_buf;

#if SQ_X86_KERNELS
/* encode_uniform for the runs of a chunk on AVX-512 machines: sixteen codes
 * at a time by kernel512.h's float screening, the exact double path where it
 * declines, run tails (fewer than eight) by encode_uniform. */
SQ_AVX512
static size_t encode_runs_avx512(const sq_layout *l, const float *x, size_t start, size_t n, const double *inv,
                                 const double *zp, double qmin, double qmax, sq_rounding rnd, int8_t *codes)
{
    size_t clipped = 0, j = 0;
    kern512 k;
    kern512_init(&k, qmin, qmax, rnd == SQ_ROUND_EVEN);
    run512 r = {.have_zp = false};
    sq_run run = sq_run_at(l, start);
    while (j < n) {
        size_t len = run.left < n - j ? run.left : n - j, i = j;
        size_t end16 = j + len / 16 * 16, end8 = j + len / 8 * 8;
        run512_init(&r, &k, inv[run.k], zp[run.k], 1.0, false);
        for (; i < end16; i += 16) {
            __m512 xf = _mm512_loadu_ps(x + start + i), cf;
            __m512i ci;
            __mmask16 clip;
            if (__builtin_expect(screen16(&r, &k, xf, &cf, &ci, &clip), 1)) {
                clipped += (size_t)__builtin_popcount(clip);
                _mm_storeu_si128((__m128i *)(codes + i), _mm512_cvtepi32_epi8(ci));
            } else {
                for (size_t h = 0; h < 16; h += 8)
                    store_codes8(encode8_exact(_mm512_cvtps_pd(_mm256_loadu_ps(x + start + i + h)), &r, &k, &clipped),
                                 &k, codes + i + h);
            }
        }
        if (i < end8) {
            store_codes8(encode8_exact(_mm512_cvtps_pd(_mm256_loadu_ps(x + start + i)), &r, &k, &clipped), &k,
                         codes + i);
            i += 8;
        }
        if (i < j + len)
            clipped += (size_t)encode_uniform(x + start + i, j + len - i, inv[run.k], zp[run.k], qmin, qmax, rnd,
                                              codes + i);
        j += len;
        sq_run_advance(l, &run, len);
    }
    return clipped;
}
#endif

/* Codes of elements [start, start+n) into cb->q; returns how many were clipped. */
static size_t encode_chunk(const sq_layout *l, const float *x, size_t start, size_t n,
                           const double *inv, const double *zp, const sq_qconfig *cfg, chunk_buf *cb)
{
    double qmin = sq_qconfig_qmin(cfg), qmax = sq_qconfig_qmax(cfg);
    size_t clipped = 0;
#if SQ_X86_KERNELS
    if (l->run >= SQ_SHORT_RUN && sq_use_avx512())
        return encode_runs_avx512(l, x, start, n, inv, zp, qmin, qmax, cfg->rounding, cb->q);
#endif
    if (l->run < SQ_SHORT_RUN) {
        sq_layout_expand(l, start, n, inv, zp, NULL, cb->a, cb->b, NULL);
        return (size_t)encode_varying(x + start, n, cb->a, cb->b, qmin, qmax, cfg->rounding, cb->q);
    }
    sq_run r = sq_run_at(l, start);
    for (size_t j = 0; j < n;) {
        size_t len = r.left < n - j ? r.left : n - j;
        clipped += (size_t)encode_uniform(x + start + j, len, inv[r.k], zp[r.k], qmin, qmax, cfg->rounding, cb->q + j);
        j += len;
        sq_run_advance(l, &r, len);
    }
    return clipped;
}

/* The 1/scale encoding multiplies by: 0 for a scale below 1e-30, as the
 * seed has it. Branch-free, so that loops over it vectorize. */
static inline double inverse_scale(double s)
{
    double r = 1.0 / s;
    return fabs(s) < 1e-30 ? 0.0 : r;
}

/* params_from_range for n indices of a symmetric configuration (no empty
 * sets), as one loop the compiler vectorizes: the same operations, so the
 * same results; inv[k] as inverse_scales forms it, in the same pass. */
SQ_HOT
static void params_symmetric(const float *mn, const float *mx, size_t n, double qmax, double *scale, double *zp,
                             double *inv)
{
    SQ_SIMD
    for (size_t k = 0; k < n; k++) {
        double lo = fabs((double)mn[k]), hi = fabs((double)mx[k]);
        double amax = lo > hi ? lo : hi, s = amax / qmax;
        s = amax < 1e-30 ? 1.0 : s;
        scale[k] = s;
        zp[k] = 0.0;
        inv[k] = inverse_scale(s);
    }
}

/* The same for an asymmetric configuration without zero_in_range. */
SQ_HOT
static void params_asymmetric(const float *mn, const float *mx, size_t n, double qmin, double qmax, bool even,
                              double *scale, double *zp)
{
    for (size_t k = 0; k < n; k++) {
        double range = (double)mx[k] - (double)mn[k];
        double s = range < 1e-30 ? 1.0 : range / (qmax - qmin);
        double v = qmin - (double)mn[k] / s, r;
        if (even) {
            SQ_ROUND_EVEN(v, re)
            r = re;
        } else {
            SQ_ROUND_AWAY(v, ra)
            r = ra;
        }
        scale[k] = s;
        zp[k] = fabs(v) < 0x1p52 ? r : v; /* as sq_round_scalar */
    }
}

/* inv[k] = inverse_scale(scale[k]) for n indices. */
SQ_HOT
static void inverse_scales(const double *scale, size_t n, double *inv)
{
    for (size_t k = 0; k < n; k++)
        inv[k] = inverse_scale(scale[k]);
}

/* A scale rounded to the precision store keeps (F16 through float). */
static double store_round(double s, sq_scale_store store)
{
    if (store == SQ_SCALE_F32)
        return (double)(float)s;
    if (store == SQ_SCALE_F16)
        return (double)sq_half_to_float(sq_float_to_half((float)s));
    return s;
}

/* Whether every scale rounds to a finite, normal f16 (>= 2^-14). */
static bool scales_fit_f16(const double *scale, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        double h = store_round(scale[k], SQ_SCALE_F16);
        if (!(h >= 0x1p-14 && h <= 65504.0))
            return false;
    }
    return true;
}

/* The asymmetric zero point of a set with minimum mn for scale s, as
 * params_from_range forms it. */
static double zp_for_scale(double mn, double s, const sq_qconfig *cfg)
{
    double qmin = sq_qconfig_qmin(cfg), qmax = sq_qconfig_qmax(cfg);
    if (!cfg->zero_in_range)
        return round_half(qmin - mn / s, cfg->rounding);
    mn = mn < 0.0 ? mn : 0.0;
    double z = qmin - round_half(mn / s, cfg->rounding);
    return z < qmin ? qmin : (z > qmax ? qmax : z);
}

/* Round the scales of q to cfg->scale_store (F16 falling back to F32 for the
 * whole tensor, recorded in q->config) and form the asymmetric zero points
 * again from the rounded scales; inv gets the new inverse scales. */
static void round_scales(const float *mn, const double *lo, size_t n, size_t per_index, const sq_qconfig *cfg,
                         sq_qtensor *q, double *inv)
{
    sq_scale_store store = cfg->scale_store;
    if (store == SQ_SCALE_F16 && !scales_fit_f16(q->scales, n))
        store = SQ_SCALE_F32;
    q->config.scale_store = store;
    for (size_t k = 0; k < n; k++) {
        q->scales[k] = store_round(q->scales[k], store);
        if (cfg->mode == SQ_MODE_ASYMMETRIC && per_index)
            q->zero_points[k] = zp_for_scale(lo ? lo[k] : mn[k], q->scales[k], cfg);
    }
    inverse_scales(q->scales, n, inv);
}

/* ---- calibration (sq_calibration other than min/max) ---------------------- */

/* The p-th percentile (0 < p <= 100) of the n >= 1 sorted values v, with
 * numpy's default linear interpolation. */
static double percentile_sorted(const double *v, size_t n, double p)
{
    double rank = p / 100.0 * (double)(n - 1);
    size_t i = (size_t)floor(rank);
    if (i + 1 >= n)
        return v[n - 1];
    double t = rank - (double)i, a = v[i], b = v[i + 1];
    return t >= 0.5 ? b - (b - a) * (1.0 - t) : a + (b - a) * t; /* numpy's _lerp */
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Sort n doubles ascending: insertion sort for small groups, else qsort. */
static void sort_doubles(double *v, size_t n)
{
    if (n > 64) {
        qsort(v, n, sizeof *v, cmp_double);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        double t = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > t; j--)
            v[j] = v[j - 1];
        v[j] = t;
    }
}

/* Sum of squared round-trip errors of n values quantized with the range
 * [lo, hi], with the arithmetic of the encode and decode kernels (the sum
 * in a fixed vector order: the same for every call on the same data). */
#define SSE_LOOP(ROUND)                                                    \
    SQ_SIMD_WITH(reduction(+ : sse))                                       \
    for (size_t i = 0; i < n; i++) {                                       \
        SQ_ENCODE(x[i], inv, zp, qmin, qmax, ROUND, c)                     \
        double e = (double)(float)((c - zp) * s) - (double)x[i];           \
        sse += e * e;                                                      \
    }

SQ_HOT
static double roundtrip_sse(const float *x, size_t n, double lo, double hi, const sq_qconfig *cfg)
{
    double s, zp, sse = 0.0;
    params_from_range(lo, hi, n, cfg, &s, &zp);
    double inv = inverse_scale(s), qmin = sq_qconfig_qmin(cfg), qmax = sq_qconfig_qmax(cfg);
    if (cfg->rounding == SQ_ROUND_EVEN) {
        SSE_LOOP(SQ_ROUND_EVEN)
    } else {
        SSE_LOOP(SQ_ROUND_AWAY)
    }
    return sse;
}

#define SQ_MSE_GRID 100
#define SQ_MSE_REFINE 20
#define SQ_MSE_EXACT 4 /* float-search winners checked exactly (grid; half as many for the refinement) */
/* Groups of up to this many values are ranked in float (larger ones: the
 * float sums would be too coarse, and there are few such groups). */
#define SQ_MSE_FLOAT_MAX 4096

/* The float pre-search: for each of SQ_MSE_BATCH candidates (scale s, zero
 * point zp, 1/s inv, all as floats) the round-trip squared error of n values
 * in float arithmetic into f[c], and a lower bound of the true error from
 * clipping alone into lb[c]: the squared distances of the values outside the
 * candidate's decoded range [dlo[c], dhi[c]]. Both only rank candidates: the
 * winners are checked with roundtrip_sse. The lanes of the vectors are the
 * candidates, so it vectorizes for any n. */
#define SQ_MSE_BATCH 16
SQ_HOT
static void sse_candidates(const float *x, size_t n, const float *inv, const float *s, const float *zp,
                           const float *dlo, const float *dhi, float qmin, float qmax, float *f, float *lb)
{
#if SQ_BLK_LANES /* the same arithmetic in vector lanes, one candidate each */
    sq_lf vi, vs, vz, vlo, vhi, acc = lf_splat(0.0f), clip = lf_splat(0.0f);
    sq_lf lo = lf_splat(qmin), hi = lf_splat(qmax), magic = lf_splat(0x1.8p23f), zero = lf_splat(0.0f);
    memcpy(&vi, inv, sizeof vi);
    memcpy(&vs, s, sizeof vs);
    memcpy(&vz, zp, sizeof vz);
    memcpy(&vlo, dlo, sizeof vlo);
    memcpy(&vhi, dhi, sizeof vhi);
    for (size_t i = 0; i < n; i++) {
        sq_lf xi = zero + x[i], v = xi * vi + vz; /* a broadcast (lf_splat builds lane by lane) */
        v = lf_sel(v < lo, lo, lf_sel(v > hi, hi, v));
        sq_lf r = (v + magic) - magic;
        sq_lf e = (r - vz) * vs - xi;
        sq_lf d = lf_sel(xi > vhi, xi - vhi, lf_sel(xi < vlo, vlo - xi, zero));
        acc += e * e;
        clip += d * d;
    }
    memcpy(f, &acc, sizeof acc);
    memcpy(lb, &clip, sizeof clip);
#else
    for (int c = 0; c < SQ_MSE_BATCH; c++) {
        float acc = 0.0f, clip = 0.0f;
        for (size_t i = 0; i < n; i++) {
            float xi = x[i], v = xi * inv[c] + zp[c];
            v = v < qmin ? qmin : (v > qmax ? qmax : v);
            float r = (v + 0x1.8p23f) - 0x1.8p23f; /* nearest integer (ties: even) */
            float e = (r - zp[c]) * s[c] - xi;
            float d = xi > dhi[c] ? xi - dhi[c] : (xi < dlo[c] ? dlo[c] - xi : 0.0f);
            acc += e * e;
            clip += d * d;
        }
        f[c] = acc;
        lb[c] = clip;
    }
#endif
}

/* Float parameters of the candidate range [lo, hi] for sse_candidates: its
 * bound of the decoded range widens [lo, hi] by half a step (the zero
 * point's rounding) and a relative 2^-16 (float rounding). */
static inline void float_candidate(double lo, double hi, size_t n, const sq_qconfig *cfg, float *inv, float *s,
                                   float *zp, float *dlo, float *dhi)
{
    double sd, zd;
    if (cfg->mode == SQ_MODE_SYMMETRIC) { /* params_from_range's arithmetic, for hi = -lo >= 1e-30 */
        sd = hi / (double)((1 << (cfg->bits - 1)) - 1);
        zd = 0.0;
    } else {
        params_from_range(lo, hi, n, cfg, &sd, &zd);
    }
    if (cfg->zero_in_range && cfg->mode == SQ_MODE_ASYMMETRIC) {
        lo = lo < 0.0 ? lo : 0.0;
        hi = hi > 0.0 ? hi : 0.0;
    }
    double w = cfg->mode == SQ_MODE_SYMMETRIC ? 0.0 : 0.5 * sd;
    *inv = (float)inverse_scale(sd);
    *s = (float)sd;
    *zp = (float)zd;
    *dlo = (float)((lo - w) - fabs(lo - w) * 0x1p-16);
    *dhi = (float)((hi + w) + fabs(hi + w) * 0x1p-16);
}

/* Indices of the (at most k) smallest of f[0..m) that lie within 1% of the
 * smallest (float rounding moves the errors by far less, so the others
 * cannot be the best) into idx, by increasing index (ties in f: the lower
 * index first); returns how many. */
static int smallest_k(const float *f, int m, int k, int *idx)
{
    float fmin = INFINITY;
    for (int c = 0; c < m; c++)
        fmin = f[c] < fmin ? f[c] : fmin;
    float limit = fmin * 1.01f;
    int got = 0;
    for (int c = 0; c < m; c++) {
        if (!(f[c] <= limit))
            continue;
        if (got < k) {
            idx[got++] = c;
            continue;
        }
        int worst = 0; /* full: replace the largest (the last such) when c is smaller */
        for (int j = 1; j < k; j++)
            worst = f[idx[j]] >= f[idx[worst]] ? j : worst;
        if (f[c] < f[idx[worst]]) {
            for (int j = worst; j + 1 < k; j++) /* keep index order */
                idx[j] = idx[j + 1];
            idx[k - 1] = c;
        }
    }
    return got;
}

/* mse_alpha's search with every candidate evaluated exactly: the reference
 * behaviour, used for groups whose magnitudes float arithmetic cannot hold. */
static double mse_alpha_exact(const float *x, size_t n, double mn, double mx, const sq_qconfig *cfg)
{
    double step = 0.8 / (SQ_MSE_GRID - 1), best_a = 1.0;
    double best = roundtrip_sse(x, n, mn, mx, cfg);
    for (int i = SQ_MSE_GRID - 2; i >= 0; i--) {
        double a = 0.2 + step * i, e = roundtrip_sse(x, n, a * mn, a * mx, cfg);
        if (e < best) {
            best = e;
            best_a = a;
        }
    }
    double center = best_a;
    for (int i = 0; i < SQ_MSE_REFINE; i++) {
        double a = center - step + 2.0 * step * (i + 0.5) / SQ_MSE_REFINE;
        if (a < 0.2 || a > 1.0)
            continue;
        double e = roundtrip_sse(x, n, a * mn, a * mx, cfg);
        if (e < best) {
            best = e;
            best_a = a;
        }
    }
    return best_a;
}

/* The clip ratio alpha minimizing roundtrip_sse of [alpha*mn, alpha*mx] over
 * the grid 0.2 + 0.8*i/99, then over SQ_MSE_REFINE points within one grid
 * step of the best (taken only when strictly better). The grid is ranked in
 * float arithmetic (sse_candidates, from alpha = 1 down, stopping once
 * clipping alone costs more than the best so far); alpha = 1 and the
 * SQ_MSE_EXACT best-ranked points are then compared exactly, by decreasing
 * alpha, a point replacing the best only when strictly better (so ties keep
 * the larger alpha and the result is never worse than min/max). The same for
 * the refinement with half as many exact checks. */
static double mse_alpha(const float *x, size_t n, double mn, double mx, const sq_qconfig *cfg)
{
    double amax = fabs(mn) > fabs(mx) ? fabs(mn) : fabs(mx);
    if (!(amax > 0x1p-40 && amax < 0x1p50) || n > SQ_MSE_FLOAT_MAX) /* float squares stay normal and finite */
        return mse_alpha_exact(x, n, mn, mx, cfg);
    enum { CAP = SQ_MSE_GRID + SQ_MSE_BATCH }; /* room for whole batches */
    float inv[CAP], s[CAP], zp[CAP], dlo[CAP], dhi[CAP], f[CAP], lb[CAP];
    double alpha[CAP], step = 0.8 / (SQ_MSE_GRID - 1);
    float qmin = (float)sq_qconfig_qmin(cfg), qmax = (float)sq_qconfig_qmax(cfg), fbest = INFINITY;
    int m = 0;
    bool stop = false;
    /* Batches of candidates by decreasing alpha (alpha = 1 first), formed only
     * as needed: stop after a candidate whose clipping bound exceeds the best
     * float error so far by more than 0.1% (the bound only grows as alpha
     * shrinks, so no later candidate can win). */
    for (int b = 0; b < SQ_MSE_GRID && !stop; b += SQ_MSE_BATCH) {
        for (int c = b; c < b + SQ_MSE_BATCH; c++) { /* grid point 99 - c (past the grid: 0.2 again) */
            int i = c < SQ_MSE_GRID ? SQ_MSE_GRID - 1 - c : 0;
            alpha[c] = i == SQ_MSE_GRID - 1 ? 1.0 : 0.2 + step * i;
        }
        if (cfg->mode == SQ_MODE_SYMMETRIC) { /* float_candidate's values, with fewer divisions */
            double u = amax / (-qmin), v = (-qmin) / amax;
            for (int c = b; c < b + SQ_MSE_BATCH; c++) {
                s[c] = (float)(alpha[c] * u);
                inv[c] = (float)(v / alpha[c]);
                zp[c] = 0.0f;
                dhi[c] = (float)(alpha[c] * amax * (1.0 + 0x1p-16));
                dlo[c] = -dhi[c];
            }
        } else {
            for (int c = b; c < b + SQ_MSE_BATCH; c++)
                float_candidate(alpha[c] * mn, alpha[c] * mx, n, cfg, &inv[c], &s[c], &zp[c], &dlo[c], &dhi[c]);
        }
        sse_candidates(x, n, inv + b, s + b, zp + b, dlo + b, dhi + b, qmin, qmax, f + b, lb + b);
        for (int c = b; c < b + SQ_MSE_BATCH && c < SQ_MSE_GRID && !stop; c++) {
            fbest = f[c] < fbest ? f[c] : fbest;
            m = c + 1;
            stop = lb[c] > fbest * 1.001f;
        }
    }
    int idx[SQ_MSE_EXACT];
    int k = smallest_k(f, m, SQ_MSE_EXACT, idx);
    double best_a = 1.0, best = roundtrip_sse(x, n, mn, mx, cfg);
    for (int j = 0; j < k; j++) {
        if (idx[j] == 0)
            continue;
        double a = alpha[idx[j]], e = roundtrip_sse(x, n, a * mn, a * mx, cfg);
        if (e < best) {
            best = e;
            best_a = a;
        }
    }
    double center = best_a, ra[SQ_MSE_REFINE];
    int r = 0;
    for (int i = 0; i < SQ_MSE_REFINE; i++) {
        double a = center - step + 2.0 * step * (i + 0.5) / SQ_MSE_REFINE;
        if (a < 0.2 || a > 1.0)
            continue;
        ra[r] = a;
        float_candidate(a * mn, a * mx, n, cfg, &inv[r], &s[r], &zp[r], &dlo[r], &dhi[r]);
        r++;
    }
    for (int c = r; c < (r + SQ_MSE_BATCH - 1) / SQ_MSE_BATCH * SQ_MSE_BATCH; c++) { /* pad the last batch */
        inv[c] = inv[0];
        s[c] = s[0];
        zp[c] = zp[0];
        dlo[c] = dlo[0];
        dhi[c] = dhi[0];
    }
    for (int b = 0; b < r; b += SQ_MSE_BATCH)
        sse_candidates(x, n, inv + b, s + b, zp + b, dlo + b, dhi + b, qmin, qmax, f + b, lb + b);
    m = r;
    k = smallest_k(f, m, SQ_MSE_EXACT / 2, idx);
    for (int j = 0; j < k; j++) {
        double a = ra[idx[j]], e = roundtrip_sse(x, n, a * mn, a * mx, cfg);
        if (e < best) {
            best = e;
            best_a = a;
        }
    }
    return best_a;
}

/* ---- KL (entropy) calibration --------------------------------------------
 * TensorRT's entropy calibration (Migacz, "8-bit Inference with TensorRT",
 * GTC 2017), as squint does it: a histogram of |x| with SQ_KL_BINS bins over
 * [0, max|x|]; for each candidate i = L..SQ_KL_BINS (L quantized levels) the
 * reference P = bins 0..i-1 with the count beyond (the clipped values) added
 * to bin i-1, and the candidate Q = bins 0..i-1 (without the clipped count)
 * summed in L groups of floor(i/L) bins (the last group also takes the
 * remainder), each group's sum spread evenly over the bins where P is not
 * zero, both normalized. The divergence is sum p log(p/q). When the last
 * group has no count of its own but P does (it holds only clipped values,
 * folded into bin i-1), q there is 1/(N+1), N the total count: as if it held
 * one value of N+1 (NVIDIA's scipy-based code has an infinite divergence
 * there, which forbids clipping isolated outliers; MXNet smooths both
 * distributions by 1e-4, which makes a lone value cost nothing to clip).
 * The threshold is (i + 0.5) bin widths for the smallest divergence (ties:
 * the smaller i), at most max|x|.
 * With prefix sums of the counts, of the non-empty bins and of c log c, one
 * candidate costs O(L): sum p log(p/q) = (sum P log P - sum_g P_g log(Q_g/nz_g)) / N
 * - log N + (N - A)/N log sum Q + A/N log(N+1), N the total count, P_g the
 * part of P in group g, Q_g its part of Q, nz_g its non-empty bins, the sum
 * over groups with Q_g > 0, and A the clipped count when it is alone. */
#define SQ_KL_BINS 2048
#define SQ_KL_WORK (4 * (SQ_KL_BINS + 1)) /* doubles of workspace kl_threshold needs */
#define SQ_KL_LOGS 65536                  /* log(k) is tabulated for counts k up to this */

/* The workspace of a task's KL searches over groups of n values: SQ_KL_WORK
 * doubles, then log(k) for k = 0..min(n, SQ_KL_LOGS) (log(0) stored as 0). */
static size_t kl_work_size(size_t n)
{
    return SQ_KL_WORK + (n < SQ_KL_LOGS ? n : SQ_KL_LOGS) + 1;
}

static void kl_work_init(double *w, size_t n)
{
    size_t top = n < SQ_KL_LOGS ? n : SQ_KL_LOGS;
    double *lg = w + SQ_KL_WORK;
    lg[0] = 0.0;
    for (size_t k = 1; k <= top; k++)
        lg[k] = log((double)k);
}

/* log(c) for a count c >= 1, from the table of kl_work_init (the same value). */
static inline double kl_log(const double *lg, size_t top, double c)
{
    return c <= (double)top ? lg[(size_t)c] : log(c);
}

/* The divergence of candidate i (see above) from the prefix sums cum (counts),
 * nz (non-empty bins) and plp (c log c) of the histogram h. */
static double kl_candidate(const double *h, const double *cum, const double *nz, const double *plp, int i, int levels,
                           const double *lg, size_t top)
{
    double total = cum[SQ_KL_BINS], out = total - cum[i], last = h[i - 1] + out;
    double plogp = plp[i - 1] + (last > 0.0 ? last * kl_log(lg, top, last) : 0.0), cross = 0.0, alone = 0.0;
    int per = i / levels;
    for (int g = 0; g < levels; g++) {
        int a = g * per, b = g == levels - 1 ? i : a + per;
        double qg = cum[b] - cum[a], pg = qg, nzg = nz[b] - nz[a];
        if (g == levels - 1) {
            pg += out;
            nzg += h[i - 1] == 0.0 && out > 0.0; /* bin i-1 holds only clipped values */
        }
        if (qg == 0.0) /* pg is 0 too, or only clipped values (q = 1/(N+1)) */
            alone = pg;
        else
            cross += pg * (kl_log(lg, top, qg) - kl_log(lg, top, nzg));
    }
    double kl = (plogp - cross) / total - kl_log(lg, top, total) + alone / total * log(total + 1.0);
    return cum[i] > 0.0 ? kl + (total - alone) / total * kl_log(lg, top, cum[i]) : kl;
}

/* The KL threshold of n values (max |x| = amax > 0) for `levels` quantized
 * levels; w is a workspace of kl_work_size(n) doubles set up by kl_work_init. */
static double kl_threshold(const float *x, size_t n, double amax, int levels, double *w)
{
    double *h = w, *cum = h + SQ_KL_BINS, *nz = cum + SQ_KL_BINS + 1, *plp = nz + SQ_KL_BINS + 1;
    const double *lg = w + SQ_KL_WORK;
    size_t top = n < SQ_KL_LOGS ? n : SQ_KL_LOGS;
    double per_bin = SQ_KL_BINS / amax;
    memset(h, 0, SQ_KL_BINS * sizeof *h);
    for (size_t k = 0; k < n; k++) {
        double b = fabs((double)x[k]) * per_bin;
        h[b < SQ_KL_BINS - 1 ? (int)b : SQ_KL_BINS - 1] += 1.0;
    }
    cum[0] = nz[0] = plp[0] = 0.0;
    for (int j = 0; j < SQ_KL_BINS; j++) {
        cum[j + 1] = cum[j] + h[j];
        nz[j + 1] = nz[j] + (h[j] > 0.0);
        plp[j + 1] = plp[j] + (h[j] > 0.0 ? h[j] * kl_log(lg, top, h[j]) : 0.0);
    }
    int best_i = SQ_KL_BINS;
    double best = INFINITY;
    for (int i = levels; i <= SQ_KL_BINS; i++) {
        double d = kl_candidate(h, cum, nz, plp, i, levels, lg, top);
        if (d < best) {
            best = d;
            best_i = i;
        }
    }
    double t = (best_i + 0.5) * (amax / SQ_KL_BINS);
    return t < amax ? t : amax;
}

/* The KL range of a group: symmetric [-T, T] with 2^(bits-1) levels;
 * asymmetric [max(mn, -T), min(mx, T)] with T from the same |x| histogram,
 * with 2^bits levels when the values are all of one sign (the whole code
 * range then covers [0, T]) and 2^(bits-1) otherwise. */
static void kl_range(const float *x, size_t n, double mn, double mx, const sq_qconfig *cfg, double *w, double *lo,
                     double *hi)
{
    double amax = fabs(mn) > fabs(mx) ? fabs(mn) : fabs(mx);
    bool sym = cfg->mode == SQ_MODE_SYMMETRIC, one_sided = mn >= 0.0 || mx <= 0.0;
    int levels = 1 << (cfg->bits - (sym || !one_sided ? 1 : 0));
    *lo = sym ? -amax : mn;
    *hi = sym ? amax : mx;
    if (!(amax >= 1e-30))
        return;
    double t = kl_threshold(x, n, amax, levels, w);
    *lo = sym ? -t : (mn > -t ? mn : -t);
    *hi = sym ? t : (mx < t ? mx : t);
}

/* The calibrated range [*lo, *hi] of one group of n values (x, with min/max
 * mn, mx); tmp holds n doubles (PERCENTILE) or KL's workspace (kl_work_init). */
static void calibrate_group(const float *x, size_t n, float mn, float mx, const sq_qconfig *cfg, double *tmp,
                            double *lo, double *hi)
{
    bool sym = cfg->mode == SQ_MODE_SYMMETRIC;
    double a = fabs((double)mn) > fabs((double)mx) ? fabs((double)mn) : fabs((double)mx);
    double l0 = sym ? -a : mn, h0 = sym ? a : mx, r = 1.0;
    if (n == 0 || cfg->calibration == SQ_CALIB_RANGE) {
        l0 = cfg->range_lo;
        h0 = cfg->range_hi;
        a = fabs(l0) > fabs(h0) ? fabs(l0) : fabs(h0);
        *lo = sym ? -a : l0;
        *hi = sym ? a : h0;
        return;
    }
    if (cfg->calibration == SQ_CALIB_PERCENTILE) {
        for (size_t i = 0; i < n; i++)
            tmp[i] = sym ? fabs((double)x[i]) : (double)x[i];
        sort_doubles(tmp, n);
        *hi = percentile_sorted(tmp, n, cfg->percentile);
        *lo = sym ? -*hi : percentile_sorted(tmp, n, 100.0 - cfg->percentile);
        return;
    }
    if (cfg->calibration == SQ_CALIB_KL) {
        kl_range(x, n, mn, mx, cfg, tmp, lo, hi);
        return;
    }
    if (cfg->calibration == SQ_CALIB_CLIP)
        r = cfg->clip;
    else if (cfg->calibration == SQ_CALIB_MSE)
        r = mse_alpha(x, n, l0, h0, cfg);
    *lo = r * l0;
    *hi = r * h0;
}

typedef struct calib_job {
    const sq_layout *l;
    const sq_qconfig *cfg;
    const float *data;       /* the values grouped by index, per_index each */
    size_t per_index, per_task;
    const float *mn, *mx;
    double *lo, *hi;
    int *nomem;              /* per task */
} calib_job;

static void calib_task(void *vjob, size_t t, int worker)
{
    const calib_job *j = vjob;
    (void)worker;
    size_t k0 = t * j->per_task, k1 = j->l->n_index - k0 < j->per_task ? j->l->n_index : k0 + j->per_task;
    double *tmp = NULL;
    size_t need = j->cfg->calibration == SQ_CALIB_KL ? kl_work_size(j->per_index)
                  : j->cfg->calibration == SQ_CALIB_PERCENTILE ? j->per_index : 0;
    if (need && !(tmp = malloc(need * sizeof *tmp))) {
        j->nomem[t] = 1;
        return;
    }
    if (j->cfg->calibration == SQ_CALIB_KL)
        kl_work_init(tmp, j->per_index);
    for (size_t k = k0; k < k1; k++)
        calibrate_group(j->data + k * j->per_index, j->per_index, j->mn[k], j->mx[k], j->cfg, tmp, &j->lo[k],
                        &j->hi[k]);
    free(tmp);
}

/* x's values grouped by scale index (a copy) when the layout interleaves
 * them (per-channel on an axis other than the first); NULL when x is
 * grouped already (*copy false) or on no memory (*copy true). */
static float *group_values(const sq_layout *l, const float *x, bool *copy)
{
    size_t per = l->n_index ? l->numel / l->n_index : 0;
    *copy = l->cycle && l->cycle * l->run < l->numel;
    if (!*copy)
        return NULL;
    float *g = malloc(l->numel * sizeof *g);
    size_t *fill = calloc(l->n_index, sizeof *fill);
    if (!g || !fill) {
        free(g);
        free(fill);
        return NULL;
    }
    sq_run r = sq_run_at(l, 0);
    for (size_t i = 0; i < l->numel;) {
        memcpy(g + r.k * per + fill[r.k], x + i, r.left * sizeof *g);
        fill[r.k] += r.left;
        i += r.left;
        sq_run_advance(l, &r, r.left);
    }
    free(fill);
    return g;
}

/* Calibrated ranges of every index into lo, hi (n_index each), one task
 * per about SQ_PART elements; fails only on no memory. */
static sq_status calibrate_ranges(const sq_layout *l, const float *x, const sq_qconfig *cfg, const float *mn,
                                  const float *mx, double *lo, double *hi, sq_error *err)
{
    bool copy;
    float *g = group_values(l, x, &copy);
    if (copy && !g)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for calibration (%zu values)", l->numel);
    size_t per = l->n_index ? l->numel / l->n_index : 0;
    calib_job j = {.l = l, .cfg = cfg, .data = copy ? g : x, .per_index = per, .mn = mn, .mx = mx, .lo = lo, .hi = hi};
    size_t pt = SQ_PART / (per ? per : 1);
    j.per_task = pt ? pt : 1;
    size_t tasks = l->n_index ? (l->n_index + j.per_task - 1) / j.per_task : 0;
    j.nomem = calloc(tasks ? tasks : 1, sizeof *j.nomem);
    if (!j.nomem) {
        free(g);
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for calibration");
    }
    sq_parallel_for(tasks, calib_task, &j);
    int nomem = 0;
    for (size_t t = 0; t < tasks; t++)
        nomem |= j.nomem[t];
    free(j.nomem);
    free(g);
    return nomem ? sq_fail(err, SQ_ERR_NOMEM, "out of memory for calibration") : SQ_OK;
}

/* Scales, zero points and inverse scales from calibrated ranges (mn, mx:
 * the min/max per index). */
static sq_status calibrated_params(const sq_layout *l, const float *x, const sq_qconfig *cfg, const float *mn,
                                   const float *mx, sq_qtensor *q, double *inv, sq_error *err)
{
    size_t n = l->n_index, per_index = n ? l->numel / n : 0;
    double *lo = malloc((n ? n : 1) * 2 * sizeof *lo);
    if (!lo)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for %zu calibrated ranges", n);
    double *hi = lo + n;
    sq_status st = calibrate_ranges(l, x, cfg, mn, mx, lo, hi, err);
    if (st == SQ_OK) {
        for (size_t k = 0; k < n; k++)
            params_from_range(lo[k], hi[k], per_index, cfg, &q->scales[k], &q->zero_points[k]);
        inverse_scales(q->scales, n, inv);
        if (cfg->scale_store != SQ_SCALE_F64)
            round_scales(mn, lo, n, per_index, cfg, q, inv);
    }
    free(lo);
    return st;
}

/* Scales and zero points of every index, and their inverse scales in inv;
 * fails on non-finite input. */
static sq_status compute_params(const sq_layout *l, const sq_tensor *x, const sq_qconfig *cfg,
                                sq_qtensor *q, double *inv, sq_error *err)
{
    float *mn = malloc((l->n_index ? l->n_index : 1) * 2 * sizeof(float));
    if (!mn)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for %zu ranges", l->n_index);
    float *mx = mn + l->n_index;
    int bad = ranges_by_index(l, x->data, mn, mx);
    if (bad) {
        free(mn);
        return sq_tensor_check_finite(x, "tensor", err);
    }
    size_t per_index = l->n_index ? l->numel / l->n_index : 0;
    if (cfg->calibration != SQ_CALIB_MINMAX) {
        sq_status st = calibrated_params(l, x->data, cfg, mn, mx, q, inv, err);
        free(mn);
        return st;
    }
    double qmin = sq_qconfig_qmin(cfg), qmax = sq_qconfig_qmax(cfg);
    if (per_index && cfg->mode == SQ_MODE_SYMMETRIC) {
        params_symmetric(mn, mx, l->n_index, qmax, q->scales, q->zero_points, inv);
    } else {
        if (per_index && !cfg->zero_in_range)
            params_asymmetric(mn, mx, l->n_index, qmin, qmax, cfg->rounding == SQ_ROUND_EVEN, q->scales,
                              q->zero_points);
        else
            for (size_t k = 0; k < l->n_index; k++)
                params_from_range(mn[k], mx[k], per_index, cfg, &q->scales[k], &q->zero_points[k]);
        inverse_scales(q->scales, l->n_index, inv);
    }
    if (cfg->scale_store != SQ_SCALE_F64)
        round_scales(mn, NULL, l->n_index, per_index, cfg, q, inv);
    free(mn);
    return SQ_OK;
}

sq_status sq_quantize(const sq_tensor *x, const sq_qconfig *cfg, sq_qtensor **out, sq_error *err)
{
    return sq_quantize_visit(x, cfg, NULL, out, err);
}

/* The encoding pass, one task per part. */
typedef struct encode_job {
    const sq_layout *l;
    const sq_tensor *x;
    const sq_qconfig *c;
    sq_qtensor *q;
    const double *inv;
    sq_quant_hooks h;
    chunk_buf *bufs;   /* one per worker */
    size_t *clipped;   /* per worker */
} encode_job;

static void encode_part(void *vjob, size_t p, int worker)
{
    const encode_job *j = vjob;
    size_t numel = j->x->numel, total = 0;
    sq_part part = {.index = p, .start = p * SQ_PART, .worker = worker};
    part.end = numel - part.start < SQ_PART ? numel : part.start + SQ_PART;
    chunk_buf *cb = &j->bufs[worker];
    for (size_t start = part.start; start < part.end; start += SQ_CHUNK) {
        size_t n = part.end - start < SQ_CHUNK ? part.end - start : SQ_CHUNK;
        size_t clipped = 0;
        bool done = j->h.enc && j->h.enc(j->h.ctx, &part, j->q, j->x->data, start, n, j->inv, cb->q, &clipped);
        if (!done)
            clipped = encode_chunk(j->l, j->x->data, start, n, j->inv, j->q->zero_points, j->c, cb);
        total += clipped;
        sq_pack_codes(cb->q, n, j->c->bits, j->q->codes + start / 8 * (size_t)j->c->bits);
        if (!done && j->h.visit)
            j->h.visit(j->h.ctx, &part, j->q, start, n, cb->q);
    }
    j->clipped[worker] += total;
}

/* Settle the run-time kernel choice before threads read it. */
static void choose_kernels(void)
{
    (void)sq_use_avx512();
    (void)sq_use_bmi2();
}

sq_status sq_quantize_visit(const sq_tensor *x, const sq_qconfig *cfg, const sq_quant_hooks *h, sq_qtensor **out,
                            sq_error *err)
{
    sq_layout l;
    sq_status st;
    *out = NULL;
    if ((st = sq_qconfig_check(cfg, x->shape, x->ndim, err)) != SQ_OK)
        return st;
    if (cfg->format != SQ_FORMAT_INT)
        return sq_format_quantize(x, cfg, h, NULL, out, err);
    sq_qconfig c = *cfg;
    if (c.granularity == SQ_GRAN_CHANNEL && x->ndim == 0)
        c.granularity = SQ_GRAN_TENSOR; /* the seed: a scalar has no channels */
    choose_kernels();
    sq_layout_init(&l, &c, x->shape, x->ndim, x->numel);
    sq_qtensor *q;
    if ((st = qtensor_alloc(&c, x->shape, x->ndim, x->numel, x->dtype, l.n_index, &q, err)) != SQ_OK)
        return st;
    size_t clipped[SQ_THREADS_MAX] = {0}, n_parts = sq_part_count(x->numel);
    int workers = sq_parallel_workers(n_parts);
    encode_job j = {.l = &l, .x = x, .c = &c, .q = q, .clipped = clipped};
    if (h)
        j.h = *h;
    double *inv = malloc((l.n_index ? l.n_index : 1) * sizeof(double));
    if (!inv) {
        st = sq_fail(err, SQ_ERR_NOMEM, "out of memory for quantization buffers");
        goto fail;
    }
    if ((st = compute_params(&l, x, &c, q, inv, err)) != SQ_OK)
        goto fail;
    if (j.h.begin && (st = j.h.begin(j.h.ctx, q, n_parts, &workers, err)) != SQ_OK)
        goto fail;
    workers = workers < 1 ? 1 : workers;
    j.bufs = malloc((size_t)workers * sizeof *j.bufs);
    if (!j.bufs && workers > 1) { /* then on this thread alone */
        workers = 1;
        j.bufs = malloc(sizeof *j.bufs);
    }
    if (!j.bufs) {
        st = sq_fail(err, SQ_ERR_NOMEM, "out of memory for quantization buffers");
        goto fail;
    }
    j.inv = inv;
    sq_parallel_run(n_parts, workers, encode_part, &j);
    for (int w = 0; w < workers; w++)
        q->n_clipped += clipped[w];
    free(inv);
    free(j.bufs);
    *out = q;
    return SQ_OK;
fail:
    free(inv);
    free(j.bufs);
    sq_qtensor_free(q);
    return st;
}

/* ---- dequantize ------------------------------------------------------------ */

typedef struct dequant_job {
    const sq_qtensor *q;
    const sq_layout *l;
    float *out;
    chunk_buf *bufs; /* one per worker, or NULL */
} dequant_job;

static void dequant_part(void *vjob, size_t p, int worker)
{
    const dequant_job *j = vjob;
    const sq_qtensor *q = j->q;
    chunk_buf *cb = j->bufs ? &j->bufs[worker] : NULL;
    int8_t small[SQ_CHUNK];
    size_t end = q->numel - p * SQ_PART < SQ_PART ? q->numel : p * SQ_PART + SQ_PART;
    for (size_t start = p * SQ_PART; start < end; start += SQ_CHUNK) {
        size_t n = end - start < SQ_CHUNK ? end - start : SQ_CHUNK;
        sq_unpack_codes(q->codes, start, n, q->config.bits, small);
        if (j->l->run < SQ_SHORT_RUN && cb) {
            sq_layout_expand(j->l, start, n, q->scales, q->zero_points, NULL, cb->a, cb->b, NULL);
            decode_varying(small, n, cb->a, cb->b, j->out + start);
            continue;
        }
        sq_run r = sq_run_at(j->l, start);
        for (size_t i = 0; i < n;) {
            size_t len = r.left < n - i ? r.left : n - i;
            decode_uniform(small + i, len, q->scales[r.k], q->zero_points[r.k], j->out + start + i);
            i += len;
            sq_run_advance(j->l, &r, len);
        }
    }
}

void sq_dequantize_into(const sq_qtensor *q, float *out)
{
    sq_layout l;
    size_t n_parts = sq_part_count(q->numel);
    int workers = sq_parallel_workers(n_parts);
    if (q->config.format != SQ_FORMAT_INT) {
        sq_format_dequantize_into(q, out);
        return;
    }
    sq_layout_init(&l, &q->config, q->shape, q->ndim, q->numel);
    choose_kernels();
    dequant_job j = {.q = q, .l = &l, .out = out, .bufs = malloc((size_t)workers * sizeof(chunk_buf))};
    sq_parallel_run(n_parts, j.bufs ? workers : 1, dequant_part, &j);
    free(j.bufs);
}


sq_status sq_dequantize(const sq_qtensor *q, sq_tensor **out, sq_error *err)
{
    sq_status st = sq_tensor_new(q->shape, q->ndim, q->orig_dtype, out, err);
    if (st == SQ_OK)
        sq_dequantize_into(q, (*out)->data);
    return st;
}

/* ---- element access --------------------------------------------------------- */

int sq_qtensor_code(const sq_qtensor *q, size_t i)
{
    int8_t v = 0;
    if (q->config.format != SQ_FORMAT_INT)
        return (int)sq_format_code(q, i);
    if (i < q->numel)
        sq_unpack_codes(q->codes, i, 1, q->config.bits, &v);
    return v;
}

void sq_qtensor_codes(const sq_qtensor *q, size_t start, size_t n, int8_t *out)
{
    if (q->config.format != SQ_FORMAT_INT) { /* stored code - 2^(bits-1) */
        int bias = 1 << (q->config.bits - 1);
        for (size_t i = 0; i < n; i++)
            out[i] = (int8_t)((int)sq_format_code(q, start + i) - bias);
        return;
    }
    sq_unpack_codes(q->codes, start, n, q->config.bits, out);
}

size_t sq_qtensor_scale_index(const sq_qtensor *q, size_t i)
{
    sq_layout l;
    size_t left;
    sq_layout_init(&l, &q->config, q->shape, q->ndim, q->numel);
    return sq_layout_at(&l, i, &left);
}

sq_status sq_qtensor_from_parts(const sq_qconfig *cfg, const size_t *shape, int ndim,
                                sq_dtype orig_dtype, const int8_t *codes, const double *scales,
                                const double *zero_points, sq_qtensor **out, sq_error *err)
{
    size_t numel;
    sq_layout l;
    sq_status st;
    *out = NULL;
    if ((st = sq_shape_numel(shape, ndim, &numel, err)) != SQ_OK)
        return st;
    if ((st = sq_qconfig_check(cfg, shape, ndim, err)) != SQ_OK)
        return st;
    if (cfg->format != SQ_FORMAT_INT)
        return sq_fail(err, SQ_ERR_ARG, "format %s: integer codes and scales cannot rebuild it "
                                        "(use sq_qtensor_from_format_bytes with its stored bytes)",
                       sq_format_name(cfg->format));
    sq_qconfig c = *cfg;
    if (c.granularity == SQ_GRAN_CHANNEL && ndim == 0)
        c.granularity = SQ_GRAN_TENSOR;
    sq_layout_init(&l, &c, shape, ndim, numel);
    int qmin = sq_qconfig_qmin(&c), qmax = sq_qconfig_qmax(&c);
    for (size_t i = 0; i < numel; i++) {
        if (codes[i] < qmin || codes[i] > qmax)
            return sq_fail(err, SQ_ERR_ARG, "code %d of element %zu is outside [%d, %d] for %d bits %s",
                           codes[i], i + 1, qmin, qmax, c.bits, sq_mode_name(c.mode));
    }
    for (size_t k = 0; k < l.n_index; k++) {
        if (!isfinite(scales[k]) || !isfinite(zero_points[k]))
            return sq_fail(err, SQ_ERR_NONFINITE, "scale or zero point %zu is not finite", k + 1);
    }
    sq_qtensor *q;
    if ((st = qtensor_alloc(&c, shape, ndim, numel, orig_dtype, l.n_index, &q, err)) != SQ_OK)
        return st;
    sq_pack_codes(codes, numel, c.bits, q->codes);
    if (l.n_index) {
        memcpy(q->scales, scales, l.n_index * sizeof(double));
        memcpy(q->zero_points, zero_points, l.n_index * sizeof(double));
    }
    *out = q;
    return SQ_OK;
}

/* ---- size accounting ------------------------------------------------------ */

size_t sq_qtensor_size_bytes(const sq_qtensor *q)
{
    return q->code_bytes;
}

double sq_qtensor_compression_ratio(const sq_qtensor *q)
{
    if (q->code_bytes == 0)
        return 1.0;
    return (double)q->numel * 4.0 / (double)q->code_bytes;
}

size_t sq_qtensor_meta_bytes(const sq_qtensor *q)
{
    if (q->config.format != SQ_FORMAT_INT) /* formats: the out-of-row scales and side data */
        return sq_qtensor_storage_bytes(q) - q->code_bytes;
    return q->n_scales * 16;
}

size_t sq_zero_point_width(const double *zp, size_t n)
{
    bool i8 = true, i16 = true, f32 = true;
    for (size_t k = 0; k < n; k++) {
        double v = zp[k];
        bool integral = v == trunc(v);
        i8 = i8 && integral && v >= -128.0 && v <= 127.0;
        i16 = i16 && integral && v >= -32768.0 && v <= 32767.0;
        f32 = f32 && (double)(float)v == v;
    }
    return i8 ? 1 : i16 ? 2 : f32 ? 4 : 8;
}

double sq_qtensor_bits_per_weight(const sq_qtensor *q, sq_scale_store store)
{
    if (q->numel == 0)
        return 0.0;
    if (q->config.format != SQ_FORMAT_INT) /* formats: as stored, whatever store says */
        return 8.0 * (double)sq_qtensor_storage_bytes(q) / (double)q->numel;
    double per_scale = store == SQ_SCALE_F16 ? 16.0 : store == SQ_SCALE_F64 ? 64.0 : 32.0;
    if (q->config.mode == SQ_MODE_ASYMMETRIC)
        per_scale *= 2.0;
    return ((double)q->numel * q->config.bits + (double)q->n_scales * per_scale) / (double)q->numel;
}
