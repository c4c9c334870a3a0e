/* stats.c - round-trip error statistics and histograms in one pass.
 *
 * The pass walks SQ_CHUNK-element chunks: unpack codes, then one vectorizable
 * loop forms x_hat exactly as sq_dequantize does (float32 of (q - zp) * scale),
 * accumulates the sums in double and turns each error into a bin slot; a
 * scalar loop then adds the slots into four interleaved count arrays (which
 * avoids a store-to-load dependency between neighbouring equal bins).
 * sq_quantize_stats runs one fused pass instead: on AVX-512 machines
 * encode_acc_avx512 encodes, sums, bins and counts each chunk as it is
 * quantized, with the same results bit for bit. Tensors above SQ_PART
 * elements are processed in parts on the thread pool, with per-part sums
 * added in part order (see "parts and workers" below), so that results do
 * not depend on the number of threads. */
#include "stats.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "kernel512.h"
#include "layout.h"
#include "qformat_int.h"
#include "quant_int.h"
#include "simd.h"
#include "threads.h"

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
    double e2, ae, x2, xh2, emin, emax; /* sum x*x_hat = (x2 + xh2 - e2) / 2 */
    double e2c;                         /* sum e^2 of the clipped values (clip_sse) */
} acc;

/* Binning of errors: bins + 2 slots, slot bins = below, bins + 1 = above. */
typedef struct binner {
    int bins;
    double lo, hi, inv_w;
    uint64_t *sub;        /* 4 interleaved arrays of bins + 2 slots */
} binner;

typedef struct chunk_scratch {
    uint64_t cc[4][256];   /* interleaved code counts (sq_quantize_stats) */
    int8_t q[SQ_CHUNK];
    int32_t q32[SQ_CHUNK];
    int32_t bin[SQ_CHUNK];
    double a[SQ_CHUNK], b[SQ_CHUNK];
} chunk_scratch;

/* The accumulate kernels: x_hat formed from each code exactly as
 * sq_dequantize forms it (float32 of (q - zp) * scale), the sums in double
 * (squares and products with fused multiply-adds, one rounding each),
 * and each error's bin slot (bins = below, bins + 1 = above). The main loop
 * keeps LANES partial sums per quantity in small arrays, a shape compilers
 * turn into full-width vector code; the tail runs the same arithmetic. */
#define LANES 8

typedef struct lane_acc {
    double e2[LANES], ae[LANES], x2[LANES], xh2[LANES], emin[LANES], emax[LANES];
} lane_acc;

static void lane_acc_init(lane_acc *v)
{
    for (int j = 0; j < LANES; j++) {
        v->e2[j] = v->ae[j] = v->x2[j] = v->xh2[j] = 0.0;
        v->emin[j] = INFINITY;
        v->emax[j] = -INFINITY;
    }
}

static void lane_acc_flush(const lane_acc *v, acc *a)
{
    for (int j = 0; j < LANES; j++) {
        a->e2 += v->e2[j];
        a->ae += v->ae[j];
        a->x2 += v->x2[j];
        a->xh2 += v->xh2[j];
        a->emin = v->emin[j] < a->emin ? v->emin[j] : a->emin;
        a->emax = v->emax[j] > a->emax ? v->emax[j] : a->emax;
    }
}

/* Sums and bin slot of one (x, x_hat) pair; the body of every kernel loop. */
#define ACC_ONE(V, J, XV, HV, BIN)                                   \
    do {                                                             \
        double xv_ = (XV), hv_ = (HV), e_ = xv_ - hv_;               \
        (V)->e2[J] = fma(e_, e_, (V)->e2[J]);                         \
        (V)->ae[J] += fabs(e_);                                        \
        (V)->x2[J] = fma(xv_, xv_, (V)->x2[J]);                       \
        (V)->xh2[J] = fma(hv_, hv_, (V)->xh2[J]);                     \
        (V)->emin[J] = e_ < (V)->emin[J] ? e_ : (V)->emin[J];              \
        (V)->emax[J] = e_ > (V)->emax[J] ? e_ : (V)->emax[J];              \
        double t_ = (e_ - lo) * iw;                                  \
        t_ = t_ > 0.0 ? t_ : 0.0;                                    \
        t_ = t_ < top ? t_ : top;                                    \
        int k_ = (int)t_;                                            \
        k_ = e_ < lo ? below : k_;                                   \
        (BIN) = e_ > hi ? above : k_;                                \
    } while (0)

#define ACC_CONSTS(bn)                                                            \
    const double lo = (bn)->lo, hi = (bn)->hi, iw = (bn)->inv_w, top = (bn)->bins - 1; \
    const int below = (bn)->bins, above = (bn)->bins + 1;

/* Accumulate n values sharing one (scale, zp) into the lane sums v. */
static inline __attribute__((always_inline)) void acc_run(lane_acc *vp, const float *x, const int32_t *q, size_t n, double s, double zp,
                           const binner *bn, int32_t *bin)
{
    ACC_CONSTS(bn)
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            ACC_ONE(vp, j, x[i + j], (float)(((double)q[i + j] - zp) * s), bin[i + j]);
    for (; i < n; i++)
        ACC_ONE(vp, 0, x[i], (float)(((double)q[i] - zp) * s), bin[i]);
}

#if SQ_X86_KERNELS

/* The lane sums of lane_acc held in AVX-512 registers (one lane each). */
typedef struct acc512 {
    __m512d e2, ae, x2, xh2, emin, emax;
} acc512;

/* The binner's constants broadcast to registers. */
typedef struct bin512 {
    __m512d lo, hi, iw, top, absmask;
    __m256i below, above;
    bool want;  /* a histogram is being made */
    bool step;  /* its range is the step bound: unclipped errors lie inside */
} bin512;

static inline SQ_AVX512 __attribute__((always_inline)) void acc512_load(acc512 *a, const lane_acc *v)
{
    a->e2 = _mm512_loadu_pd(v->e2);
    a->ae = _mm512_loadu_pd(v->ae);
    a->x2 = _mm512_loadu_pd(v->x2);
    a->xh2 = _mm512_loadu_pd(v->xh2);
    a->emin = _mm512_loadu_pd(v->emin);
    a->emax = _mm512_loadu_pd(v->emax);
}

static inline SQ_AVX512 __attribute__((always_inline)) void acc512_store(const acc512 *a, lane_acc *v)
{
    _mm512_storeu_pd(v->e2, a->e2);
    _mm512_storeu_pd(v->ae, a->ae);
    _mm512_storeu_pd(v->x2, a->x2);
    _mm512_storeu_pd(v->xh2, a->xh2);
    _mm512_storeu_pd(v->emin, a->emin);
    _mm512_storeu_pd(v->emax, a->emax);
}

static inline SQ_AVX512 __attribute__((always_inline)) void bin512_init(bin512 *b, const binner *bn)
{
    b->lo = _mm512_set1_pd(bn->lo);
    b->hi = _mm512_set1_pd(bn->hi);
    b->iw = _mm512_set1_pd(bn->inv_w);
    b->top = _mm512_set1_pd((double)(bn->bins - 1));
    b->absmask = _mm512_castsi512_pd(_mm512_set1_epi64(INT64_MAX));
    b->below = _mm256_set1_epi32(bn->bins);
    b->above = _mm256_set1_epi32(bn->bins + 1);
    b->want = true;
    b->step = false;
}

/* The sums of ACC_ONE for eight lanes: the same operations in the same
 * order, so they are bit-identical to the portable loop's. Returns the errors. */
static inline SQ_AVX512 __attribute__((always_inline)) __m512d acc512_sums(acc512 *a, const bin512 *b, __m512d xv,
                                                                          __m512d hv)
{
    __m512d e = _mm512_sub_pd(xv, hv);
    a->e2 = _mm512_fmadd_pd(e, e, a->e2);
    a->ae = _mm512_add_pd(a->ae, _mm512_and_pd(e, b->absmask));
    a->x2 = _mm512_fmadd_pd(xv, xv, a->x2);
    a->xh2 = _mm512_fmadd_pd(hv, hv, a->xh2);
    a->emin = _mm512_min_pd(e, a->emin);
    a->emax = _mm512_max_pd(e, a->emax);
    return e;
}

/* The bin slots of ACC_ONE for eight errors. With inside set the caller
 * knows lo <= e <= hi for every lane, and the below/above tests are left out. */
static inline SQ_AVX512 __attribute__((always_inline)) void bins512(const bin512 *b, __m512d e, int32_t *bin,
                                                                   bool inside)
{
    __m512d t = _mm512_min_pd(_mm512_mul_pd(_mm512_sub_pd(e, b->lo), b->iw), b->top);
    if (inside) /* t >= 0 already; the clamp keeps every slot in bounds regardless */
        t = _mm512_max_pd(t, _mm512_setzero_pd());
    __m256i k = _mm512_cvttpd_epi32(t); /* values below lo (t < 0) take the below slot */
    if (!inside) {
        k = _mm256_mask_mov_epi32(k, _mm512_cmp_pd_mask(e, b->lo, _CMP_LT_OQ), b->below);
        k = _mm256_mask_mov_epi32(k, _mm512_cmp_pd_mask(e, b->hi, _CMP_GT_OQ), b->above);
    }
    _mm256_storeu_si256((__m256i *)bin, k);
}

/* Sums and bin slots of eight values. */
static inline SQ_AVX512 __attribute__((always_inline)) __m512d acc512_step(acc512 *a, const bin512 *b, __m512d xv,
                                                                          __m512d hv, int32_t *bin)
{
    __m512d e = acc512_sums(a, b, xv, hv);
    bins512(b, e, bin, false);
    return e;
}

/* acc_run for AVX-512: x_hat as sq_dequantize forms it, then acc512_step. */
SQ_AVX512
static void acc_run_avx512(lane_acc *v, const float *x, const int32_t *q, size_t n, double s, double zp,
                           const binner *bn, int32_t *bin)
{
    acc512 a;
    bin512 b;
    acc512_load(&a, v);
    bin512_init(&b, bn);
    const __m512d vs = _mm512_set1_pd(s), vz = _mm512_set1_pd(zp);
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        __m512d qd = _mm512_cvtepi32_pd(_mm256_loadu_si256((const __m256i *)(q + i)));
        __m512d hv = _mm512_cvtps_pd(_mm512_cvtpd_ps(_mm512_mul_pd(_mm512_sub_pd(qd, vz), vs)));
        acc512_step(&a, &b, _mm512_cvtps_pd(_mm256_loadu_ps(x + i)), hv, bin + i);
    }
    acc512_store(&a, v);
    acc_run(v, x + i, q + i, n - i, s, zp, bn, bin + i); /* the tail, portably */
}
#endif

/* Accumulate n values, each with its own scale and zero point. */
static inline __attribute__((always_inline)) void acc_each(lane_acc *vp, const float *x, const int32_t *q, size_t n, const double *s,
                            const double *zp, const binner *bn, int32_t *bin)
{
    ACC_CONSTS(bn)
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            ACC_ONE(vp, j, x[i + j], (float)(((double)q[i + j] - zp[i + j]) * s[i + j]), bin[i + j]);
    for (; i < n; i++)
        ACC_ONE(vp, 0, x[i], (float)(((double)q[i] - zp[i]) * s[i]), bin[i]);
}

/* The vector part of a chunk: codes in s->q32, parameters per run (long
 * runs) or per element (short runs, expanded into s->a, s->b). */
SQ_HOT
static void acc_codes(const sq_layout *l, const float *x, const sq_qtensor *q, size_t start, size_t n,
                      const binner *bn, chunk_scratch *s, acc *a)
{
    const binner b = *bn; /* a local copy: stores to bin cannot alias it */
    lane_acc v;
    lane_acc_init(&v);
    if (l->run < SQ_SHORT_RUN) {
        sq_layout_expand(l, start, n, q->scales, q->zero_points, NULL, s->a, s->b, NULL);
        acc_each(&v, x, s->q32, n, s->a, s->b, &b, s->bin);
    } else {
        sq_run r = sq_run_at(l, start);
        for (size_t j = 0; j < n;) {
            size_t len = r.left < n - j ? r.left : n - j;
#if SQ_X86_KERNELS
            if (sq_use_avx512())
                acc_run_avx512(&v, x + j, s->q32 + j, len, q->scales[r.k], q->zero_points[r.k], &b, s->bin + j);
            else
#endif
                acc_run(&v, x + j, s->q32 + j, len, q->scales[r.k], q->zero_points[r.k], &b, s->bin + j);
            j += len;
            sq_run_advance(l, &r, len);
        }
    }
    lane_acc_flush(&v, a);
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

/* Sum of e^2 over the clipped values of chunk [start, start+n) (codes: its
 * n codes): those whose rounded code x * (1/scale) + zp fell outside [qmin,
 * qmax], with the encoder's arithmetic (INT format only; 0 otherwise). A
 * vector pass over each run skips the runs with nothing near clipping. */
SQ_HOT
static double clip_sse(const sq_layout *l, const sq_qtensor *q, const float *x, size_t start, size_t n,
                       const int8_t *codes)
{
    int qmin = sq_qconfig_qmin(&q->config), qmax = sq_qconfig_qmax(&q->config);
    double sum = 0.0, lo = qmin, hi = qmax;
    bool even = q->config.rounding == SQ_ROUND_EVEN;
    size_t edge = 0; /* codes at qmin or qmax: a clipped value has one */
    SQ_SIMD_WITH(reduction(+ : edge))
    for (size_t i = 0; i < n; i++)
        edge += (codes[i] == qmin) | (codes[i] == qmax);
    if (q->config.format != SQ_FORMAT_INT || edge == 0)
        return 0.0;
    sq_run run = sq_run_at(l, start);
    for (size_t j = 0; j < n;) {
        size_t len = run.left < n - j ? run.left : n - j;
        double s = q->scales[run.k], zp = q->zero_points[run.k], inv = fabs(s) < 1e-30 ? 0.0 : 1.0 / s;
        size_t near = 0; /* values at least half a step outside: every clipped one (and ties that are not) */
        SQ_SIMD_WITH(reduction(+ : near))
        for (size_t i = j; i < j + len; i++) {
            double v = (double)x[i] * inv + zp;
            near += (v >= hi + 0.5) | (v <= lo - 0.5);
        }
        for (size_t i = j; near && i < j + len; i++) {
            double v = (double)x[i] * inv + zp; /* SQ_ENCODE's value; clipped when it rounds outside */
            double r = sq_round_scalar(v < lo - 1.0 ? lo - 1.0 : (v > hi + 1.0 ? hi + 1.0 : v), even);
            if (r < lo || r > hi) {
                double e = (double)x[i] - (double)(float)(((double)codes[i] - zp) * s);
                sum += e * e;
            }
        }
        j += len;
        sq_run_advance(l, &run, len);
    }
    return sum;
}

/* Accumulate chunk [start, start+n) of x against q. */
static void acc_chunk(const sq_layout *l, const sq_tensor *x, const sq_qtensor *q, size_t start, size_t n,
                      const binner *bn, chunk_scratch *s, acc *a)
{
    sq_unpack_codes(q->codes, start, n, q->config.bits, s->q);
    for (size_t j = 0; j < n; j++)
        s->q32[j] = s->q[j];
    acc_codes(l, x->data + start, q, start, n, bn, s, a);
    if (q->n_clipped)
        a->e2c += clip_sse(l, q, x->data + start, start, n, s->q);
}

/* ---- parts and workers --------------------------------------------------------
 * A pass over a large tensor runs in parts (quant_int.h) on the thread pool.
 * Each part accumulates its sums into its own acc, starting from zero; the
 * parts' sums are then added in part order (acc_add), so the results depend
 * on the tensor alone, not on the number of threads. Counts (histogram bins,
 * codes) are exact integers and are kept per worker, then added up. */

/* Settle the run-time kernel choice before threads read it. */
static void choose_kernels(void)
{
    (void)sq_use_avx512();
    (void)sq_use_bmi2();
}

static void acc_init(acc *a)
{
    memset(a, 0, sizeof *a);
    a->emin = INFINITY;
    a->emax = -INFINITY;
}

/* Add part sums p into the running total a, as lane_acc_flush adds lanes. */
static void acc_add(acc *a, const acc *p)
{
    a->e2 += p->e2;
    a->ae += p->ae;
    a->x2 += p->x2;
    a->xh2 += p->xh2;
    a->emin = p->emin < a->emin ? p->emin : a->emin;
    a->emax = p->emax > a->emax ? p->emax : a->emax;
    a->e2c += p->e2c;
}

/* New per-part sums for n parts (each acc_init), or NULL. */
static acc *parts_new(size_t n)
{
    acc *p = malloc(n * sizeof *p);
    for (size_t i = 0; p && i < n; i++)
        acc_init(&p[i]);
    return p;
}

/* The total of n parts' sums, in part order. */
static void parts_total(const acc *parts, size_t n, acc *a)
{
    acc_init(a);
    for (size_t i = 0; i < n; i++)
        acc_add(a, &parts[i]);
}

/* What one worker of a pass owns: its scratch and code counts, and its own
 * copy of the binner with its own interleaved bin counts. */
typedef struct worker_state {
    chunk_scratch s;
    binner bn;
} worker_state;

static void workers_free(worker_state *ws, int n)
{
    for (int i = 0; ws && i < n; i++)
        free(ws[i].bn.sub);
    free(ws);
}

/* n workers for the binner bn (its range set), with bin counts when hist is
 * set; code counts zeroed. NULL when out of memory. */
static worker_state *workers_new(int n, const binner *bn, bool hist)
{
    worker_state *ws = malloc((size_t)n * sizeof *ws);
    if (!ws)
        return NULL;
    for (int i = 0; i < n; i++) {
        memset(ws[i].s.cc, 0, sizeof ws[i].s.cc);
        ws[i].bn = *bn;
        ws[i].bn.sub = NULL;
    }
    for (int i = 0; hist && i < n; i++) {
        if (!(ws[i].bn.sub = calloc(4 * ((size_t)bn->bins + 2), sizeof(uint64_t)))) {
            workers_free(ws, n);
            return NULL;
        }
    }
    return ws;
}

/* *n workers, or one when there is no memory for more; NULL when not even that. */
static worker_state *workers_get(int *n, const binner *bn, bool hist)
{
    worker_state *ws = workers_new(*n, bn, hist);
    if (!ws && *n > 1)
        ws = workers_new(*n = 1, bn, hist);
    return ws;
}

/* Add every worker's bin counts into bn->sub (when hist) and its code counts
 * into cc (when not NULL). */
static void workers_fold(const worker_state *ws, int n, binner *bn, bool hist, uint64_t (*cc)[256])
{
    size_t slots = 4 * ((size_t)bn->bins + 2);
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; hist && k < slots; k++)
            bn->sub[k] += ws[i].bn.sub[k];
        for (int r = 0; cc && r < 4; r++)
            for (int k = 0; k < 256; k++)
                cc[r][k] += ws[i].s.cc[r][k];
    }
}

/* Elements [*start, *end) of part p of a tensor of numel elements. */
static void part_bounds(size_t p, size_t numel, size_t *start, size_t *end)
{
    *start = p * SQ_PART;
    *end = numel - *start < SQ_PART ? numel : *start + SQ_PART;
}

/* A statistics pass over x and q. */
typedef struct pass_job {
    const sq_tensor *x;
    const sq_qtensor *q;
    const sq_layout *l;
    bool count_hist;
    worker_state *ws;
    acc *parts;
} pass_job;

static void pass_part(void *vjob, size_t p, int worker)
{
    const pass_job *j = vjob;
    worker_state *w = &j->ws[worker];
    size_t s, e;
    part_bounds(p, j->q->numel, &s, &e);
    for (size_t start = s; start < e; start += SQ_CHUNK) {
        size_t n = e - start < SQ_CHUNK ? e - start : SQ_CHUNK;
        acc_chunk(j->l, j->x, j->q, start, n, &w->bn, &w->s, &j->parts[p]);
        if (j->count_hist)
            count_bins(w->s.bin, n, &w->bn);
    }
}

/* ---- formats (qformat_int.h) --------------------------------------------------------
 * A non-INT format's values come from its decoder, not from (q - zp) * scale:
 * these passes decode each chunk into a small buffer (sq_format_decode; in
 * sq_quantize_stats the quantizer hands over each chunk it has just encoded
 * and decoded, while it is in cache) and accumulate the (x, x_hat) pairs with
 * the sums above. Parts and chunks follow sq_format_geometry, so
 * sq_roundtrip_stats and sq_quantize_stats agree bit for bit and neither
 * depends on the thread count. Formats have no step bound: for them
 * SQ_HIST_RANGE_STEP means the data range [-m, m], m = max |e| (as
 * SQ_HIST_RANGE_DATA), which the statistics pass finds; the histogram is then
 * a second pass (in sq_quantize_stats over the x_hat kept from the first,
 * without decoding again). */

/* Sums and bin slots of n (x, x_hat) pairs. */
static void acc_pairs(lane_acc *vp, const float *x, const float *xh, size_t n, const binner *bn, int32_t *bin)
{
    ACC_CONSTS(bn)
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            ACC_ONE(vp, j, x[i + j], xh[i + j], bin[i + j]);
    for (; i < n; i++)
        ACC_ONE(vp, 0, x[i], xh[i], bin[i]);
}

#if SQ_X86_KERNELS
/* acc_pairs on AVX-512 machines: acc512_step on eight pairs at a time, the
 * tail portably (the same operations, bit for bit). */
SQ_AVX512
static void acc_pairs_avx512(lane_acc *v, const float *x, const float *xh, size_t n, const binner *bn, int32_t *bin)
{
    acc512 a;
    bin512 b;
    acc512_load(&a, v);
    bin512_init(&b, bn);
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        acc512_step(&a, &b, _mm512_cvtps_pd(_mm256_loadu_ps(x + i)), _mm512_cvtps_pd(_mm256_loadu_ps(xh + i)),
                    bin + i);
    acc512_store(&a, v);
    acc_pairs(v, x + i, xh + i, n - i, bn, bin + i);
}
#endif

#if SQ_X86_KERNELS
/* acc_pairs_avx512 without the bin slots (the sums are the same). */
SQ_AVX512
static void sums_pairs_avx512(lane_acc *v, const float *x, const float *xh, size_t n, const binner *bn,
                              int32_t *bin)
{
    acc512 a;
    bin512 b;
    acc512_load(&a, v);
    bin512_init(&b, bn);
    size_t i = 0;
    for (; i + 2 * LANES <= n; i += 2 * LANES) {
        acc512_sums(&a, &b, _mm512_cvtps_pd(_mm256_loadu_ps(x + i)), _mm512_cvtps_pd(_mm256_loadu_ps(xh + i)));
        acc512_sums(&a, &b, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + LANES)),
                    _mm512_cvtps_pd(_mm256_loadu_ps(xh + i + LANES)));
    }
    for (; i + LANES <= n; i += LANES)
        acc512_sums(&a, &b, _mm512_cvtps_pd(_mm256_loadu_ps(x + i)), _mm512_cvtps_pd(_mm256_loadu_ps(xh + i)));
    acc512_store(&a, v);
    acc_pairs(v, x + i, xh + i, n - i, bn, bin + i);
}

/* The bin slots of n (x, x_hat) pairs, as acc_pairs_avx512 forms them; with
 * inside set the caller knows every error lies in [lo, hi]. */
SQ_AVX512
static void bins_pairs_avx512(const float *x, const float *xh, size_t n, const binner *bn, int32_t *bin,
                              bool inside)
{
    bin512 b;
    bin512_init(&b, bn);
    size_t i = 0;
    for (; inside && i + LANES <= n; i += LANES) {
        __m512d e = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i)), _mm512_cvtps_pd(_mm256_loadu_ps(xh + i)));
        bins512(&b, e, bin + i, true);
    }
    for (; i + LANES <= n; i += LANES) {
        __m512d e = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i)), _mm512_cvtps_pd(_mm256_loadu_ps(xh + i)));
        bins512(&b, e, bin + i, false);
    }
    lane_acc v; /* the tail portably; its sums are dropped */
    lane_acc_init(&v);
    acc_pairs(&v, x + i, xh + i, n - i, bn, bin + i);
}
#endif

/* The bin slots of n (x, x_hat) pairs (n <= SQ_CHUNK), as acc_pairs forms
 * them; inside: every error is known to lie in [lo, hi]. */
static void bins_pairs(const float *x, const float *xh, size_t n, const binner *bn, int32_t *bin, bool inside)
{
#if SQ_X86_KERNELS
    if (sq_use_avx512()) {
        bins_pairs_avx512(x, xh, n, bn, bin, inside);
        return;
    }
#endif
    lane_acc v;
    lane_acc_init(&v);
    acc_pairs(&v, x, xh, n, bn, bin);
}

/* One decoded chunk into a; its bins counted into bn's counts when count_hist. */
static void format_chunk_acc(const float *x, const float *xh, size_t n, const binner *bn, chunk_scratch *s,
                             bool count_hist, acc *a)
{
    const binner b = *bn;
    lane_acc v;
    lane_acc_init(&v);
    for (size_t i = 0; i < n; i += SQ_CHUNK) {
        size_t m = n - i < SQ_CHUNK ? n - i : SQ_CHUNK;
#if SQ_X86_KERNELS
        if (sq_use_avx512() && !count_hist)
            sums_pairs_avx512(&v, x + i, xh + i, m, &b, s->bin);
        else if (sq_use_avx512())
            acc_pairs_avx512(&v, x + i, xh + i, m, &b, s->bin);
        else
#endif
            acc_pairs(&v, x + i, xh + i, m, &b, s->bin);
        if (count_hist)
            count_bins(s->bin, m, bn);
    }
    lane_acc_flush(&v, a);
}

typedef struct fpass_job {
    const sq_tensor *x;
    const sq_qtensor *q;
    size_t part, chunk;
    bool count_hist;
    worker_state *ws;
    float *xh;          /* chunk floats per worker */
    acc *parts;
} fpass_job;

static void fpass_part(void *vjob, size_t p, int worker)
{
    const fpass_job *j = vjob;
    worker_state *w = &j->ws[worker];
    float *xh = j->xh + (size_t)worker * j->chunk;
    size_t numel = j->q->numel, s0 = p * j->part, e = numel - s0 < j->part ? numel : s0 + j->part;
    for (size_t s = s0; s < e; s += j->chunk) {
        size_t n = e - s < j->chunk ? e - s : j->chunk;
        sq_format_decode(j->q, s, n, xh);
        format_chunk_acc(j->x->data + s, xh, n, &w->bn, &w->s, j->count_hist, &j->parts[p]);
    }
}

/* stats_pass for a non-INT format. */
static sq_status format_pass(const sq_tensor *x, const sq_qtensor *q, binner *bn, bool count_hist, acc *a,
                             sq_error *err)
{
    size_t n_parts;
    fpass_job j = {.x = x, .q = q, .count_hist = count_hist};
    sq_format_geometry(&q->config, q->numel, &j.part, &j.chunk, &n_parts);
    int workers = sq_parallel_workers(n_parts);
    j.parts = parts_new(n_parts);
    if (j.parts)
        j.ws = workers_get(&workers, bn, count_hist);
    if (j.ws)
        j.xh = malloc((size_t)workers * j.chunk * sizeof(float));
    if (!j.xh) {
        workers_free(j.ws, workers);
        free(j.parts);
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for statistics scratch");
    }
    sq_parallel_run(n_parts, workers, fpass_part, &j);
    parts_total(j.parts, n_parts, a);
    workers_fold(j.ws, workers, bn, count_hist, NULL);
    workers_free(j.ws, workers);
    free(j.xh);
    free(j.parts);
    return SQ_OK;
}

/* The histogram pass over a kept x_hat (no decoding, no sums): parts of
 * part elements, x_hat of part p in xh[p]. */
typedef struct fbins_job {
    const float *x;
    float *const *xh;
    size_t numel, part;
    bool inside;        /* every error lies in the binner's [lo, hi] */
    worker_state *ws;
} fbins_job;

static void fbins_part(void *vjob, size_t p, int worker)
{
    const fbins_job *j = vjob;
    worker_state *w = &j->ws[worker];
    size_t s0 = p * j->part, e = j->numel - s0 < j->part ? j->numel : s0 + j->part;
    for (size_t s = s0; s < e; s += SQ_CHUNK) {
        size_t n = e - s < SQ_CHUNK ? e - s : SQ_CHUNK;
        bins_pairs(j->x + s, j->xh[p] + (s - s0), n, &w->bn, w->s.bin, j->inside);
        count_bins(w->s.bin, n, &w->bn);
    }
}

/* Count the bins of every (x, x_hat) pair into bn->sub. Errors: no memory. */
static sq_status format_bins(const float *x, float *const *xh, size_t numel, size_t part, size_t n_parts,
                             bool inside, binner *bn, sq_error *err)
{
    int workers = sq_parallel_workers(n_parts);
    fbins_job j = {.x = x, .xh = xh, .numel = numel, .part = part, .inside = inside,
                   .ws = workers_get(&workers, bn, true)};
    if (!j.ws)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for statistics scratch");
    sq_parallel_run(n_parts, workers, fbins_part, &j);
    workers_fold(j.ws, workers, bn, true, NULL);
    workers_free(j.ws, workers);
    return SQ_OK;
}

/* Tensors up to this many elements keep their whole x_hat in the fused pass
 * of sq_quantize_stats (4 bytes each, one buffer per part, small enough to
 * be reused from the heap), so that the data-range histogram needs no second
 * decoding. */
#define SQ_FORMAT_KEEP_XHAT ((size_t)1 << 26) /* 256 MiB of x_hat */

static void keep_free(float **keep, size_t n)
{
    for (size_t p = 0; keep && p < n; p++)
        free(keep[p]);
    free(keep);
}

/* Buffers for the x_hat of every part, or NULL when there is no memory. */
static float **keep_new(size_t numel, size_t part, size_t n_parts)
{
    float **keep = calloc(n_parts, sizeof *keep);
    for (size_t p = 0; keep && p < n_parts; p++) {
        size_t len = numel - p * part < part ? numel - p * part : part;
        if (!(keep[p] = malloc(len * sizeof(float)))) {
            keep_free(keep, n_parts);
            return NULL;
        }
    }
    return keep;
}

/* One pass over x and q into *a; bins counted into bn->sub when count_hist
 * is set. Errors: no memory. */
static sq_status stats_pass(const sq_tensor *x, const sq_qtensor *q, binner *bn, bool count_hist, acc *a,
                            sq_error *err)
{
    if (q->config.format != SQ_FORMAT_INT)
        return format_pass(x, q, bn, count_hist, a, err);
    sq_layout l;
    size_t n_parts = sq_part_count(q->numel);
    int workers = sq_parallel_workers(n_parts);
    sq_layout_init(&l, &q->config, q->shape, q->ndim, q->numel);
    pass_job j = {.x = x, .q = q, .l = &l, .count_hist = count_hist, .parts = parts_new(n_parts)};
    if (j.parts)
        j.ws = workers_get(&workers, bn, count_hist);
    if (!j.parts || !j.ws) {
        free(j.parts);
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for statistics scratch");
    }
    sq_parallel_run(n_parts, workers, pass_part, &j);
    parts_total(j.parts, n_parts, a);
    workers_fold(j.ws, workers, bn, count_hist, NULL);
    workers_free(j.ws, workers);
    free(j.parts);
    return SQ_OK;
}

/* Bound on |e| for values that were not clipped: half a step plus the float32
 * rounding of x_hat (|x_hat| <= max(|qmin - zp|, |qmax - zp|) * scale). With
 * zp_zero the caller knows every zero point is 0 and only the scales are read;
 * the result is the same (rounding is monotonic). */
SQ_HOT
static double step_bound(const sq_qtensor *q, bool zp_zero)
{
    double qmin = sq_qconfig_qmin(&q->config), qmax = sq_qconfig_qmax(&q->config), m = 0.0;
    if (zp_zero) { /* every zero point is 0: the largest scale gives the bound */
        double span = fabs(qmin) > fabs(qmax) ? fabs(qmin) : fabs(qmax), smax = 0.0;
        SQ_SIMD_WITH(reduction(max : smax))
        for (size_t k = 0; k < q->n_scales; k++) {
            double s = fabs(q->scales[k]);
            smax = s > smax ? s : smax;
        }
        return smax * (0.5 + span * 0x1p-23);
    }
    SQ_SIMD_WITH(reduction(max : m))
    for (size_t k = 0; k < q->n_scales; k++) {
        double s = fabs(q->scales[k]), z = q->zero_points[k];
        double span = fabs(qmin - z) > fabs(qmax - z) ? fabs(qmin - z) : fabs(qmax - z);
        double b = s * (0.5 + span * 0x1p-23);
        m = b > m ? b : m;
    }
    return m;
}

static sq_status check_opts(const sq_stats_opts *o, sq_error *err);

static sq_status check_inputs(const sq_tensor *x, const sq_qtensor *q, const sq_stats_opts *o, sq_error *err)
{
    if (x->ndim != q->ndim || x->numel != q->numel ||
        memcmp(x->shape, q->shape, sizeof(size_t) * (size_t)x->ndim) != 0) {
        char a[128], b[128];
        return sq_fail(err, SQ_ERR_ARG, "shape mismatch: tensor %s vs quantized %s",
                       sq_shape_format(x->shape, x->ndim, a, sizeof a),
                       sq_shape_format(q->shape, q->ndim, b, sizeof b));
    }
    return check_opts(o, err);
}

static sq_status check_opts(const sq_stats_opts *o, sq_error *err)
{
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
    /* sum x*x_hat from |x - x_hat|^2 = x2 + xh2 - 2 x.x_hat: one sum fewer in
     * the kernels; with x2 ~ xh2 ~ x.x_hat the absolute error stays that of
     * summing x.x_hat directly */
    double xxh = 0.5 * ((a->x2 + a->xh2) - a->e2);
    double c = xxh / norm;
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
    out->sum_x2 = a->x2;
    out->sum_e2 = a->e2;
    out->mse = a->e2 / (double)n;
    out->mse_clip = a->e2c / (double)n;
    out->mse_round = (a->e2 - a->e2c) / (double)n;
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

/* Choose [lo, hi] for the histogram; may need a first pass (RANGE_DATA).
 * Errors: no memory for that pass. */
static sq_status hist_range(const sq_tensor *x, const sq_qtensor *q, const sq_stats_opts *o, double *lo, double *hi,
                            sq_error *err)
{
    double m;
    if (o->range == SQ_HIST_RANGE_FIXED) {
        *lo = o->lo;
        *hi = o->hi;
        return SQ_OK;
    }
    if (o->range == SQ_HIST_RANGE_DATA || q->config.format != SQ_FORMAT_INT) { /* formats: no step bound */
        acc a;
        binner dummy = {.bins = 1, .lo = -1.0, .hi = 1.0, .inv_w = 0.5};
        sq_status st = stats_pass(x, q, &dummy, false, &a, err);
        if (st != SQ_OK)
            return st;
        m = q->numel ? (fabs(a.emin) > fabs(a.emax) ? fabs(a.emin) : fabs(a.emax)) : 0.0;
    } else {
        m = step_bound(q, false);
    }
    if (!(m > 0.0) || !isfinite(m))
        m = 1.0; /* nothing to spread: every error is 0 */
    *lo = -m;
    *hi = m;
    return SQ_OK;
}

/* Allocate the binner's interleaved counts and h's counts for o->hist_bins. */
static sq_status hist_alloc(binner *bn, sq_hist *h, int bins, sq_error *err)
{
    memset(h, 0, sizeof *h);
    bn->bins = bins;
    bn->sub = calloc(4 * ((size_t)bins + 2), sizeof(uint64_t));
    h->counts = calloc((size_t)bins, sizeof(uint64_t));
    if (!bn->sub || !h->counts) {
        free(bn->sub);
        bn->sub = NULL;
        sq_hist_free(h);
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for a %d-bin histogram", bins);
    }
    return SQ_OK;
}

static void binner_set_range(binner *bn, double lo, double hi)
{
    bn->lo = lo;
    bn->hi = hi;
    bn->inv_w = bn->bins / (hi - lo);
}

/* Fold the interleaved counts into h and free them. */
static void hist_finish(binner *bn, sq_hist *h)
{
    size_t stride = (size_t)bn->bins + 2;
    for (size_t k = 0; k < stride; k++) {
        uint64_t c = bn->sub[k] + bn->sub[k + stride] + bn->sub[k + 2 * stride] + bn->sub[k + 3 * stride];
        if (k < (size_t)bn->bins)
            h->counts[k] = c;
        else if (k == (size_t)bn->bins)
            h->below = c;
        else
            h->above = c;
    }
    h->bins = bn->bins;
    h->lo = bn->lo;
    h->hi = bn->hi;
    free(bn->sub);
    bn->sub = NULL;
}

sq_status sq_roundtrip_stats(const sq_tensor *x, const sq_qtensor *q, const sq_stats_opts *opts,
                             sq_stats *out, sq_hist *hist, sq_error *err)
{
    sq_stats_opts o = opts ? *opts : sq_stats_opts_default();
    sq_status st = check_inputs(x, q, &o, err);
    if (st != SQ_OK)
        return st;
    binner bn = {.bins = 1, .lo = -1.0, .hi = 1.0, .inv_w = 0.5};
    acc a;
    choose_kernels();
    if (hist) {
        double lo, hi;
        if ((st = hist_alloc(&bn, hist, o.hist_bins, err)) != SQ_OK)
            return st;
        if ((st = hist_range(x, q, &o, &lo, &hi, err)) != SQ_OK)
            goto fail;
        binner_set_range(&bn, lo, hi);
    }
    if ((st = stats_pass(x, q, &bn, hist != NULL, &a, err)) != SQ_OK)
        goto fail;
    fill_stats(q, &a, out);
    if (hist)
        hist_finish(&bn, hist);
    return SQ_OK;
fail:
    free(bn.sub);
    sq_hist_free(hist);
    return st;
}

/* The squared errors of n values sharing one (scale, zp) added to lane[0]
 * (the tail of a run), then the lanes summed in order: the end of run_sse,
 * shared with the AVX-512 kernel so that both give the same bits. */
static double sse_finish(double lane[LANES], const float *x, const int8_t *q, size_t n, double s, double zp)
{
    for (size_t i = 0; i < n; i++) {
        double e = (double)x[i] - (double)(float)(((double)q[i] - zp) * s);
        lane[0] += e * e;
    }
    double t = 0.0;
    for (int j = 0; j < LANES; j++)
        t += lane[j];
    return t;
}

/* Sum of squared errors of n values sharing one (scale, zp): lane j takes
 * values i with i % LANES == j, the tail goes to lane 0. */
SQ_HOT
static double run_sse(const float *x, const int8_t *q, size_t n, double s, double zp)
{
    double lane[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) {
            double e = (double)x[i + j] - (double)(float)(((double)q[i + j] - zp) * s);
            lane[j] += e * e;
        }
    return sse_finish(lane, x + i, q + i, n - i, s, zp);
}

/* ---- per-index sums of squared errors, by part ----------------------------------
 * Part p adds the squared errors of its runs into its own window of sums,
 * one slot per scale index it touches: the indices of its runs, which are
 * consecutive (modulo the channel count for per-channel layouts), or every
 * channel when it covers a whole row of them. The windows are then added to
 * the output in part order. When all windows together would take more
 * memory than the tensor's values, the parts run in order on one thread,
 * reusing one window (the same sums, so the same results). */

typedef struct sse_window {
    double *v;           /* size sums */
    size_t k0, size, cycle; /* slot s holds index k0 + s (modulo cycle when cycle != 0) */
} sse_window;

/* The window of part p (v not set). */
static sse_window window_of(const sq_layout *l, size_t p)
{
    sse_window w = {.cycle = l->cycle};
    size_t s, e;
    part_bounds(p, l->numel, &s, &e);
    if (s >= e)
        return w;
    size_t r0 = s / l->run, runs = (e - 1) / l->run - r0 + 1;
    if (l->cycle && runs >= l->cycle)
        w.size = l->cycle;
    else {
        w.size = runs;
        w.k0 = l->cycle ? r0 % l->cycle : r0;
    }
    return w;
}

/* The slot of index k (which the window covers). */
static inline size_t window_slot(const sse_window *w, size_t k)
{
    return !w->cycle || k >= w->k0 ? k - w->k0 : k + w->cycle - w->k0;
}

/* Add the window's sums into out (per index). */
static void window_merge(const sse_window *w, double *out)
{
    for (size_t i = 0; i < w->size; i++) {
        size_t k = w->k0 + i;
        out[w->cycle && k >= w->cycle ? k - w->cycle : k] += w->v[i];
    }
}

/* The windows of a pass. */
typedef struct sse_plan {
    const sq_layout *l;
    size_t n_parts;
    double *out;      /* per-index output (zeroed by the caller) */
    double *buf;      /* every window, or (serial) one reused window */
    size_t *offset;   /* where part p's window starts in buf (not serial) */
    bool serial;
    size_t current;   /* serial: the part whose sums buf holds */
} sse_plan;

/* Plan the windows of the parts of layout l; sets *workers to 1 when they
 * run serially. Errors: no memory. */
static sq_status plan_init(sse_plan *pl, const sq_layout *l, double *out, int *workers, sq_error *err)
{
    size_t n = sq_part_count(l->numel), total = 0, most = 1;
    *pl = (sse_plan){.l = l, .n_parts = n, .out = out};
    for (size_t p = 0; p < n; p++) {
        size_t z = window_of(l, p).size;
        total += z;
        most = z > most ? z : most;
    }
    pl->serial = *workers <= 1 || total > l->numel / 2 + 1024;
    if (!pl->serial && (pl->offset = malloc(n * sizeof *pl->offset)) && (pl->buf = calloc(total, sizeof(double)))) {
        for (size_t p = 0, o = 0; p < n; o += window_of(l, p).size, p++)
            pl->offset[p] = o;
        return SQ_OK;
    }
    free(pl->offset);
    pl->offset = NULL;
    pl->serial = true;
    *workers = 1;
    if (!(pl->buf = calloc(most, sizeof(double))))
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for per-index errors");
    return SQ_OK;
}

static void plan_free(sse_plan *pl)
{
    free(pl->buf);
    free(pl->offset);
    pl->buf = NULL;
    pl->offset = NULL;
}

/* The window of part p, with its sums. Serial plans: parts come in order;
 * moving to a new part adds the previous one's sums to the output first. */
static sse_window plan_window(sse_plan *pl, size_t p)
{
    sse_window w = window_of(pl->l, p);
    if (!pl->serial) {
        w.v = pl->buf + pl->offset[p];
        return w;
    }
    if (p != pl->current) {
        sse_window prev = window_of(pl->l, pl->current);
        prev.v = pl->buf;
        window_merge(&prev, pl->out);
        memset(pl->buf, 0, prev.size * sizeof(double));
        pl->current = p;
    }
    w.v = pl->buf;
    return w;
}

/* Add the remaining windows to the output, in part order, and free them. */
static void plan_finish(sse_plan *pl)
{
    if (pl->buf) {
        for (size_t p = pl->serial ? pl->current : 0; p < (pl->serial ? pl->current + 1 : pl->n_parts); p++) {
            sse_window w = window_of(pl->l, p);
            w.v = pl->serial ? pl->buf : pl->buf + pl->offset[p];
            window_merge(&w, pl->out);
        }
    }
    plan_free(pl);
}

/* Add each run's sum of squared errors in chunk [start, start+n) to its
 * index's slot of window w. */
static void index_sse_chunk(const sq_layout *l, const sq_qtensor *q, const float *x, size_t start, size_t n,
                            const int8_t *codes, const sse_window *w)
{
    sq_run r = sq_run_at(l, start);
    for (size_t j = 0; j < n;) {
        size_t len = r.left < n - j ? r.left : n - j;
        w->v[window_slot(w, r.k)] += run_sse(x + start + j, codes + j, len, q->scales[r.k], q->zero_points[r.k]);
        j += len;
        sq_run_advance(l, &r, len);
    }
}

/* Count n codes (offset by 128 into 0..255) into the interleaved arrays. */
static void count_codes(const int8_t *codes, size_t n, uint64_t (*cc)[256])
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        cc[0][codes[i] + 128]++;
        cc[1][codes[i + 1] + 128]++;
        cc[2][codes[i + 2] + 128]++;
        cc[3][codes[i + 3] + 128]++;
    }
    for (; i < n; i++)
        cc[0][codes[i] + 128]++;
}

/* State of sq_quantize_stats while quantization calls back per chunk. */
typedef struct fused_ctx {
    const sq_tensor *x;
    const sq_stats_opts *o;
    bool with_hist, ready;
    sq_layout l;
    binner bn;          /* the histogram's range and (sub) its final counts */
    worker_state *ws;   /* per worker */
    int n_ws;
    acc *parts;         /* per part */
    size_t n_parts;
    sse_plan plan;      /* per-index errors (o->index_mse) */
} fused_ctx;

/* Once the scales are known: fix the layout and the histogram range (the
 * range stays unset for an empty tensor). */
static void fused_ready(fused_ctx *c, const sq_qtensor *q)
{
    sq_layout_init(&c->l, &q->config, q->shape, q->ndim, q->numel);
    if (c->with_hist && q->numel) {
        /* freshly quantized: symmetric zero points are all 0 */
        double m = step_bound(q, q->config.mode == SQ_MODE_SYMMETRIC);
        if (c->o->range == SQ_HIST_RANGE_FIXED)
            binner_set_range(&c->bn, c->o->lo, c->o->hi);
        else
            binner_set_range(&c->bn, -(m > 0.0 ? m : 1.0), m > 0.0 ? m : 1.0);
        c->ready = true;
    }
}

/* The begin hook: ranges, per-part sums, windows and per-worker state. */
static sq_status fused_begin(void *vctx, const sq_qtensor *q, size_t n_parts, int *workers, sq_error *err)
{
    fused_ctx *c = vctx;
    fused_ready(c, q);
    c->n_parts = n_parts;
    if (!(c->parts = parts_new(n_parts)))
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for statistics scratch");
    sq_status st;
    if (c->o->index_mse && (st = plan_init(&c->plan, &c->l, c->o->index_mse, workers, err)) != SQ_OK)
        return st;
    if (!(c->ws = workers_get(workers, &c->bn, c->with_hist)))
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for statistics scratch");
    c->n_ws = *workers;
    return SQ_OK;
}

static void fused_free(fused_ctx *c)
{
    workers_free(c->ws, c->n_ws);
    free(c->parts);
    plan_free(&c->plan);
    c->ws = NULL;
    c->parts = NULL;
}

/* Chunk visitor: analyse the codes just formed. */
static void fused_visit(void *vctx, const sq_part *p, const sq_qtensor *q, size_t start, size_t n,
                        const int8_t *codes)
{
    fused_ctx *c = vctx;
    worker_state *w = &c->ws[p->worker];
    for (size_t j = 0; j < n; j++)
        w->s.q32[j] = codes[j];
    acc_codes(&c->l, c->x->data + start, q, start, n, &w->bn, &w->s, &c->parts[p->index]);
    c->parts[p->index].e2c += clip_sse(&c->l, q, c->x->data + start, start, n, codes);
    if (c->o->code_counts)
        count_codes(codes, n, w->s.cc);
    if (c->o->index_mse) {
        sse_window win = plan_window(&c->plan, p->index);
        index_sse_chunk(&c->l, q, c->x->data, start, n, codes, &win);
    }
    if (c->with_hist)
        count_bins(w->s.bin, n, &w->bn);
}

#if SQ_X86_KERNELS
#ifndef SQ_PREFETCH_AHEAD
#define SQ_PREFETCH_AHEAD 1024 /* floats ahead of the fused kernel's reads (4 KiB) */
#endif

/* Where the fused kernel counts: the histogram's interleaved arrays (NULL:
 * no histogram), the code counts (NULL: none) and each index's sum of
 * squared errors (NULL: none). */
typedef struct fused_sinks {
    uint64_t *hist;
    size_t hist_stride;
    bool step_range; /* the histogram spans the step bound (see fused_encode) */
    uint64_t (*cc)[256];
    sse_window sse; /* the part's per-index sums (v NULL: none) */
} fused_sinks;

/* The scalar tail of encode_acc_avx512: kernel.h's encoding, then acc_run. */
static size_t encode_acc_tail(lane_acc *v, const float *x, size_t n, double inv, double zp, double s, double qmin,
                              double qmax, bool even, const binner *bn, int8_t *codes, int32_t *bin)
{
    int32_t q[LANES];
    size_t clipped = 0;
    for (size_t i = 0; i < n; i++) {
        if (even) {
            SQ_ENCODE(x[i], inv, zp, qmin, qmax, SQ_ROUND_EVEN, c)
            codes[i] = (int8_t)(int)c;
            clipped += c_r != c;
        } else {
            SQ_ENCODE(x[i], inv, zp, qmin, qmax, SQ_ROUND_AWAY, c)
            codes[i] = (int8_t)(int)c;
            clipped += c_r != c;
        }
        q[i] = codes[i];
    }
    acc_run(v, x, q, n, s, zp, bn, bin);
    return clipped;
}

/* The fused kernel's counters, unpacked into locals (stores to them cannot
 * then alias the kernel's parameters). */
typedef struct counters {
    uint64_t *h0, *h1, *h2, *h3;
    uint64_t (*cc)[256];
} counters;

static counters counters_of(const fused_sinks *k)
{
    counters c = {.cc = k->cc};
    if (k->hist) {
        c.h0 = k->hist;
        c.h1 = c.h0 + k->hist_stride;
        c.h2 = c.h1 + k->hist_stride;
        c.h3 = c.h2 + k->hist_stride;
    }
    return c;
}

/* Add the bin slots and codes of n values to the interleaved counts. The
 * pointers are laundered through an empty asm so that the compiler reads the
 * slots back from memory (scalar loads, which overlap the vector work)
 * instead of extracting them from the register that stored them. */
static inline __attribute__((always_inline)) void count_values(const counters *c, const int32_t *bin,
                                                               const int8_t *codes, size_t n)
{
    __asm__("" : "+r"(bin), "+r"(codes));
    if (c->h0) {
        size_t j = 0;
        for (; j + 4 <= n; j += 4) {
            c->h0[bin[j]]++;
            c->h1[bin[j + 1]]++;
            c->h2[bin[j + 2]]++;
            c->h3[bin[j + 3]]++;
        }
        for (; j < n; j++)
            c->h0[bin[j]]++;
    }
    if (c->cc) {
        size_t j = 0;
        for (; j + 4 <= n; j += 4) {
            c->cc[0][codes[j] + 128]++;
            c->cc[1][codes[j + 1] + 128]++;
            c->cc[2][codes[j + 2] + 128]++;
            c->cc[3][codes[j + 3] + 128]++;
        }
        for (; j < n; j++)
            c->cc[0][codes[j] + 128]++;
    }
}

/* The fused kernel counts each value's bin slot and code SQ_COUNT_LAG
 * values after storing them: by then the vector stores have left the store
 * buffer, and the scalar loads do not wait for store forwarding. */
#define SQ_COUNT_LAG 32

/* x_hat of eight codes c as sq_dequantize forms it: float32 of (c - zp) * scale. */
static inline SQ_AVX512 __attribute__((always_inline)) __m512d xhat8(__m512d c, const run512 *r)
{
    return _mm512_cvtps_pd(_mm512_cvtpd_ps(_mm512_mul_pd(_mm512_sub_pd(c, r->zp), r->s)));
}

/* Eight values through the exact double path: codes out, sums, bin slots. */
static inline SQ_AVX512 __attribute__((always_inline)) __m512d exact8(acc512 *a, const bin512 *b, const run512 *r,
                                                                     const kern512 *k, const float *x, int8_t *codes,
                                                                     int32_t *bin, size_t *clipped)
{
    __m512d xv = _mm512_cvtps_pd(_mm256_loadu_ps(x));
    __m512d c = encode8_exact(xv, r, k, clipped);
    store_codes8(c, k, codes);
    __m512d e = acc512_sums(a, b, xv, xhat8(c, r));
    if (b->want)
        bins512(b, e, bin, false);
    return e;
}

/* Encode the n values of a chunk starting at element `start` and account
 * their errors in one pass, run by run: the codes of kernel.h's SQ_ENCODE
 * and the sums of acc_run, lane for lane (no fused multiply-add in the
 * sums), so codes and sums are bit-identical to the portable path.
 * Sixteen values at a time are first encoded in float (see run512_init);
 * when all sixteen are safely away from a rounding boundary those codes are
 * the exact ones, otherwise the sixteen go through the exact double path.
 * For widths <= 4, x_hat comes from a 16-entry table per run. Sums are
 * accumulated eight lanes at a time in the same order as acc_run. Values
 * are counted into the histogram and code counts inside the loop,
 * SQ_COUNT_LAG behind, where the scalar increments overlap the vector work.
 * Run tails (fewer than eight) go through the portable code. */
SQ_AVX512
static size_t encode_acc_avx512(lane_acc *v, const sq_layout *l, const float *x, size_t start, size_t n,
                                const double *invs, const double *zps, const double *scales, double qmin,
                                double qmax, bool even, const binner *bn, const fused_sinks *sk, int8_t *codes,
                                int32_t *bin)
{
    size_t clipped = 0;
    acc512 a;
    bin512 b;
    kern512 k;
    acc512_load(&a, v);
    bin512_init(&b, bn);
    b.want = sk->hist != NULL;
    b.step = sk->step_range;
    kern512_init(&k, qmin, qmax, even);
    const counters cnt = counters_of(sk);
    size_t counted = 0; /* values [0, counted) of the chunk are counted */
    sq_run run = sq_run_at(l, start);
    size_t j = 0;
    run512 r = {.have_zp = false};
    while (j < n) {
        size_t len = run.left < n - j ? run.left : n - j, i = j;
        size_t end16 = j + len / 16 * 16, end8 = j + len / 8 * 8;
        run512_init(&r, &k, invs[run.k], zps[run.k], scales[run.k], true);
        __m512d run_e2 = _mm512_setzero_pd(); /* this run's sum of squared errors */
        for (; i < end16; i += 16) {
            _mm_prefetch((const char *)(x + i + SQ_PREFETCH_AHEAD), _MM_HINT_T0);
            __m512 xf = _mm512_loadu_ps(x + i), cf;
            __m512i ci;
            __mmask16 clip;
            __m512d e0, e1;
            if (__builtin_expect(!screen16(&r, &k, xf, &cf, &ci, &clip), 0)) {
                e0 = exact8(&a, &b, &r, &k, x + i, codes + i, bin + i, &clipped);
                e1 = exact8(&a, &b, &r, &k, x + i + 8, codes + i + 8, bin + i + 8, &clipped);
            } else {
                clipped += (size_t)__builtin_popcount(clip);
                _mm_storeu_si128((__m128i *)(codes + i), _mm512_cvtepi32_epi8(ci));
                __m512d h0, h1;
                if (r.table) {
                    __m512 hf = _mm512_permutexvar_ps(ci, r.tab);
                    h0 = _mm512_cvtps_pd(_mm512_castps512_ps256(hf));
                    h1 = _mm512_cvtps_pd(_mm512_extractf32x8_ps(hf, 1));
                } else {
                    h0 = xhat8(_mm512_cvtps_pd(_mm512_castps512_ps256(cf)), &r);
                    h1 = xhat8(_mm512_cvtps_pd(_mm512_extractf32x8_ps(cf, 1)), &r);
                }
                e0 = acc512_sums(&a, &b, _mm512_cvtps_pd(_mm512_castps512_ps256(xf)), h0);
                e1 = acc512_sums(&a, &b, _mm512_cvtps_pd(_mm512_extractf32x8_ps(xf, 1)), h1);
                if (b.want && b.step && !clip) { /* unclipped errors lie within the step bound */
                    bins512(&b, e0, bin + i, true);
                    bins512(&b, e1, bin + i + 8, true);
                } else if (b.want) {
                    bins512(&b, e0, bin + i, false);
                    bins512(&b, e1, bin + i + 8, false);
                }
            }
            if (sk->sse.v) /* as run_sse: products rounded, then added */
                run_e2 = _mm512_add_pd(_mm512_add_pd(run_e2, _mm512_mul_pd(e0, e0)), _mm512_mul_pd(e1, e1));
            if (i + 16 >= counted + SQ_COUNT_LAG + 16) {
                count_values(&cnt, bin + counted, codes + counted, 16);
                counted += 16;
            }
        }
        if (i < end8) { /* eight left: the exact path */
            __m512d e0 = exact8(&a, &b, &r, &k, x + i, codes + i, bin + i, &clipped);
            if (sk->sse.v)
                run_e2 = _mm512_add_pd(run_e2, _mm512_mul_pd(e0, e0));
            i += 8;
        }
        if (end8 < j + len) { /* the run's tail: portable, with the sums in memory */
            acc512_store(&a, v);
            clipped += encode_acc_tail(v, x + end8, j + len - end8, invs[run.k], zps[run.k], scales[run.k], qmin,
                                       qmax, even, bn, codes + end8, bin + end8);
            acc512_load(&a, v);
        }
        if (sk->sse.v) {
            double lane[LANES];
            _mm512_storeu_pd(lane, run_e2);
            sk->sse.v[window_slot(&sk->sse, run.k)] +=
                sse_finish(lane, x + end8, codes + end8, j + len - end8, scales[run.k], zps[run.k]);
        }
        j += len;
        sq_run_advance(l, &run, len);
    }
    count_values(&cnt, bin + counted, codes + counted, n - counted);
    acc512_store(&a, v);
    return clipped;
}

/* Chunk encoder of sq_quantize_stats on AVX-512 machines, for layouts with
 * long runs: codes, statistics and counts together. Returns false (the
 * built-in encoder and the visitor then run) otherwise. */
static bool fused_encode(void *vctx, const sq_part *p, const sq_qtensor *q, const float *x, size_t start, size_t n,
                         const double *inv, int8_t *codes, size_t *clipped)
{
    fused_ctx *c = vctx;
    if (!sq_use_avx512() || c->l.run < SQ_SHORT_RUN)
        return false;
    worker_state *w = &c->ws[p->worker];
    const binner b = w->bn;
    const double qmin = sq_qconfig_qmin(&q->config), qmax = sq_qconfig_qmax(&q->config);
    const bool even = q->config.rounding == SQ_ROUND_EVEN;
    /* With the step-bound range every error of a value that was not clipped
     * lies in [lo, hi] = [-m, m]: m bounds scale * (|c - zp| * 2^-23 + 1/2),
     * which covers half a step plus the float rounding of x_hat. The kernel
     * then skips the below/above tests for blocks without clipping. Scales
     * up to 2^97 (m <= 2^96) keep x_hat finite, so that holds for any input. */
    fused_sinks k = {.hist = c->with_hist ? b.sub : NULL,
                     .hist_stride = (size_t)b.bins + 2,
                     .step_range = c->with_hist && c->o->range == SQ_HIST_RANGE_STEP && b.hi <= 0x1p96,
                     .cc = c->o->code_counts ? w->s.cc : NULL};
    if (c->o->index_mse)
        k.sse = plan_window(&c->plan, p->index);
    lane_acc v;
    lane_acc_init(&v);
    size_t nc = encode_acc_avx512(&v, &c->l, x + start, start, n, inv, q->zero_points, q->scales, qmin, qmax, even,
                                  &b, &k, codes, w->s.bin);
    *clipped += nc;
    lane_acc_flush(&v, &c->parts[p->index]);
    if (nc) /* the chunk's clipped values: their part of the error */
        c->parts[p->index].e2c += clip_sse(&c->l, q, x + start, start, n, codes);
    return true;
}
#else
#define fused_encode NULL
#endif

/* ---- per-index squared errors of a non-INT format ------------------------------
 * The sum of an index adds its elements' squared errors one after another in
 * element order, starting from 0 (sq_index_mse's definition for formats).
 * sq_quantize_stats adds them in its visitor while each chunk is in cache
 * when no index spans two parts (each index's elements then come in order on
 * one worker: the same sums for every thread count); otherwise one pass after
 * it adds them in order, over the kept x_hat when there is one. */

/* Add the squared errors of elements [start, start + n) (x and xh point at
 * element start) to their indices' sums in mse, in element order per index.
 * Eight whole runs of distinct indices are summed side by side (eight
 * independent chains; each still in element order). */
static void index_sse_add(const sq_layout *l, const float *x, const float *xh, size_t start, size_t n, double *mse)
{
    const size_t run = l->run;
    const bool wide = !l->cycle || l->cycle >= 8; /* 8 consecutive runs have 8 distinct indices */
    sq_run r = sq_run_at(l, start);
    for (size_t i = 0; i < n;) {
        if (wide && r.left == run && n - i >= 8 * run) {
            size_t k[8];
            double s[8];
            for (int m = 0; m < 8; m++) {
                k[m] = r.k;
                s[m] = mse[r.k];
                sq_run_advance(l, &r, run);
            }
            const float *a = x + i, *b = xh + i;
            for (size_t t = 0; t < run; t++) {
                double e0 = (double)a[t] - (double)b[t], e1 = (double)a[run + t] - (double)b[run + t];
                double e2 = (double)a[2 * run + t] - (double)b[2 * run + t];
                double e3 = (double)a[3 * run + t] - (double)b[3 * run + t];
                double e4 = (double)a[4 * run + t] - (double)b[4 * run + t];
                double e5 = (double)a[5 * run + t] - (double)b[5 * run + t];
                double e6 = (double)a[6 * run + t] - (double)b[6 * run + t];
                double e7 = (double)a[7 * run + t] - (double)b[7 * run + t];
                s[0] += e0 * e0;
                s[1] += e1 * e1;
                s[2] += e2 * e2;
                s[3] += e3 * e3;
                s[4] += e4 * e4;
                s[5] += e5 * e5;
                s[6] += e6 * e6;
                s[7] += e7 * e7;
            }
            for (int m = 0; m < 8; m++)
                mse[k[m]] = s[m];
            i += 8 * run;
            continue;
        }
        size_t len = r.left < n - i ? r.left : n - i;
        double sum = mse[r.k];
        for (size_t t = i; t < i + len; t++) {
            double e = (double)x[t] - (double)xh[t];
            sum += e * e;
        }
        mse[r.k] = sum;
        i += len;
        sq_run_advance(l, &r, len);
    }
}

/* Whether no scale index of q's layout l has elements in two of the parts
 * of the format's passes (sq_format_geometry). */
static bool format_index_local(const sq_qtensor *q, const sq_layout *l)
{
    size_t part, chunk, n_parts;
    sq_format_geometry(&q->config, q->numel, &part, &chunk, &n_parts);
    if (n_parts <= 1)
        return true;
    if (l->cycle && q->numel > l->run * l->cycle) /* an index recurs every cycle runs */
        return false;
    for (size_t p = 1; p < n_parts; p++) /* every part boundary is a run boundary */
        if (p * part % l->run)
            return false;
    return true;
}

/* Divide each index's sum by the elements every index governs. */
static void index_mse_finish(const sq_qtensor *q, double *mse)
{
    size_t per = q->n_scales ? q->numel / q->n_scales : 0;
    for (size_t k = 0; k < q->n_scales; k++)
        mse[k] = per ? mse[k] / (double)per : 0.0;
}

/* sq_index_mse from a kept x_hat (keep[p] holds part p of part elements):
 * the same sums in the same order, without decoding again. */
static void index_mse_kept(const sq_tensor *x, const sq_qtensor *q, float *const *keep, size_t part,
                           size_t n_parts, double *mse)
{
    sq_layout l;
    sq_layout_init(&l, &q->config, q->shape, q->ndim, q->numel);
    for (size_t k = 0; k < q->n_scales; k++)
        mse[k] = 0.0;
    for (size_t p = 0; p < n_parts && p * part < q->numel; p++) {
        size_t s = p * part, n = q->numel - s < part ? q->numel - s : part;
        index_sse_add(&l, x->data + s, keep[p], s, n, mse);
    }
    index_mse_finish(q, mse);
}

/* sq_quantize_stats for a non-INT format: the fused pass (sums, extremes,
 * code counts, per-index errors; bins when the range is fixed), then the
 * histogram pass. */
typedef struct ffused_ctx {
    const sq_stats_opts *o;
    bool bins;          /* count bins in the fused pass (fixed range) */
    bool index_sse;     /* add the per-index errors in the visitor */
    sq_layout l;        /* q's layout (index_sse) */
    binner bn;
    worker_state *ws;
    int n_ws;
    acc *parts;
    size_t n_parts;
} ffused_ctx;

static sq_status ffused_begin(void *vctx, const sq_qtensor *q, size_t n_parts, int *workers, sq_error *err)
{
    ffused_ctx *c = vctx;
    c->n_parts = n_parts;
    if (c->o->index_mse) {
        sq_layout_init(&c->l, &q->config, q->shape, q->ndim, q->numel);
        c->index_sse = format_index_local(q, &c->l);
        for (size_t k = 0; c->index_sse && k < q->n_scales; k++)
            c->o->index_mse[k] = 0.0;
    }
    if (!(c->parts = parts_new(n_parts)) || !(c->ws = workers_get(workers, &c->bn, c->bins)))
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for statistics scratch");
    c->n_ws = *workers;
    return SQ_OK;
}

/* Count n codes into the four interleaved arrays. */
static void count_codes_u8(const uint8_t *codes, size_t n, uint64_t (*cc)[256])
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        cc[0][codes[i]]++;
        cc[1][codes[i + 1]]++;
        cc[2][codes[i + 2]]++;
        cc[3][codes[i + 3]]++;
    }
    for (; i < n; i++)
        cc[0][codes[i]]++;
}

static void ffused_visit(void *vctx, const sq_part *p, const sq_qtensor *q, size_t start, size_t n,
                         const float *x, const float *xhat, const uint8_t *codes)
{
    ffused_ctx *c = vctx;
    worker_state *w = &c->ws[p->worker];
    (void)q;
    format_chunk_acc(x, xhat, n, &w->bn, &w->s, c->bins, &c->parts[p->index]);
    if (c->index_sse)
        index_sse_add(&c->l, x, xhat, start, n, c->o->index_mse);
    if (c->o->code_counts)
        count_codes_u8(codes, n, w->s.cc);
}

static sq_status format_quantize_stats(const sq_tensor *x, const sq_qconfig *cfg, const sq_stats_opts *o,
                                       sq_qtensor **q_out, sq_stats *out, sq_hist *hist, sq_error *err)
{
    sq_status st;
    ffused_ctx c = {.o = o, .bins = hist && o->range == SQ_HIST_RANGE_FIXED};
    c.bn = (binner){.bins = 1, .lo = -1.0, .hi = 1.0, .inv_w = 0.5};
    if (hist && (st = hist_alloc(&c.bn, hist, o->hist_bins, err)) != SQ_OK)
        return st;
    if (c.bins)
        binner_set_range(&c.bn, o->lo, o->hi);
    float **keep = NULL; /* the whole x_hat, when the histogram needs the data range and memory allows */
    size_t kpart, kchunk, kparts;
    sq_format_geometry(cfg, x->numel, &kpart, &kchunk, &kparts);
    if (hist && !c.bins && x->numel && x->numel <= SQ_FORMAT_KEEP_XHAT)
        keep = keep_new(x->numel, kpart, kparts);
    const sq_format_hooks hooks = {.ctx = &c, .begin = ffused_begin, .visit = ffused_visit,
                                   .want_codes = o->code_counts != NULL, .xhat_parts = keep};
    if ((st = sq_format_quantize(x, cfg, NULL, &hooks, q_out, err)) != SQ_OK)
        goto fail;
    uint64_t cc[4][256] = {{0}};
    workers_fold(c.ws, c.n_ws, &c.bn, c.bins, o->code_counts ? cc : NULL);
    for (size_t k = 0; o->code_counts && k < ((size_t)1 << cfg->bits); k++)
        o->code_counts[k] = cc[0][k] + cc[1][k] + cc[2][k] + cc[3][k];
    acc a;
    parts_total(c.parts, c.n_parts, &a);
    fill_stats(*q_out, &a, out);
    if (c.index_sse)
        index_mse_finish(*q_out, o->index_mse);
    else if (o->index_mse && keep)
        index_mse_kept(x, *q_out, keep, kpart, kparts, o->index_mse);
    else if (o->index_mse && (st = sq_index_mse(x, *q_out, o->index_mse, err)) != SQ_OK)
        goto fail;
    if (hist && !c.bins) {
        double m = x->numel ? (fabs(a.emin) > fabs(a.emax) ? fabs(a.emin) : fabs(a.emax)) : 0.0;
        if (!(m > 0.0) || !isfinite(m))
            m = 1.0;
        binner_set_range(&c.bn, -m, m);
        acc again;
        if (keep)
            st = format_bins(x->data, keep, x->numel, kpart, kparts, c.bn.lo <= a.emin && a.emax <= c.bn.hi,
                             &c.bn, err);
        else
            st = format_pass(x, *q_out, &c.bn, true, &again, err);
        if (st != SQ_OK)
            goto fail;
    }
    if (hist)
        hist_finish(&c.bn, hist);
    workers_free(c.ws, c.n_ws);
    free(c.parts);
    keep_free(keep, kparts);
    return SQ_OK;
fail:
    workers_free(c.ws, c.n_ws);
    free(c.parts);
    keep_free(keep, kparts);
    free(c.bn.sub);
    if (hist)
        sq_hist_free(hist);
    sq_qtensor_free(*q_out);
    *q_out = NULL;
    return st;
}

sq_status sq_quantize_stats(const sq_tensor *x, const sq_qconfig *cfg, const sq_stats_opts *opts,
                            sq_qtensor **q_out, sq_stats *out, sq_hist *hist, sq_error *err)
{
    sq_stats_opts o = opts ? *opts : sq_stats_opts_default();
    sq_status st;
    *q_out = NULL;
    if (cfg->format != SQ_FORMAT_INT) {
        if ((st = check_opts(&o, err)) != SQ_OK)
            return st;
        return format_quantize_stats(x, cfg, &o, q_out, out, hist, err);
    }
    if (o.range == SQ_HIST_RANGE_DATA && hist) { /* needs the error range first */
        if ((st = sq_quantize(x, cfg, q_out, err)) != SQ_OK)
            return st;
        if ((st = sq_roundtrip_stats(x, *q_out, &o, out, hist, err)) != SQ_OK) {
            sq_qtensor_free(*q_out);
            *q_out = NULL;
        }
        return st;
    }
    fused_ctx c = {.x = x, .o = &o, .with_hist = hist != NULL};
    c.bn = (binner){.bins = 1, .lo = -1.0, .hi = 1.0, .inv_w = 0.5};
    if ((st = check_opts(&o, err)) != SQ_OK)
        return st;
    if (hist && (st = hist_alloc(&c.bn, hist, o.hist_bins, err)) != SQ_OK)
        return st;
    if (o.index_mse) {
        if ((st = sq_qconfig_check(cfg, x->shape, x->ndim, err)) != SQ_OK)
            goto fail;
        size_t ns = sq_qconfig_scale_count(cfg, x->shape, x->ndim);
        memset(o.index_mse, 0, (ns ? ns : 1) * sizeof(double));
    }
    const sq_quant_hooks hooks = {.ctx = &c, .begin = fused_begin, .enc = fused_encode, .visit = fused_visit};
    if ((st = sq_quantize_visit(x, cfg, &hooks, q_out, err)) != SQ_OK)
        goto fail;
    if (!c.ready && hist) { /* empty tensor: no chunk was visited; the range sq_roundtrip_stats takes */
        double lo, hi;
        if ((st = hist_range(x, *q_out, &o, &lo, &hi, err)) != SQ_OK)
            goto fail;
        binner_set_range(&c.bn, lo, hi);
    }
    uint64_t cc[4][256] = {{0}};
    workers_fold(c.ws, c.n_ws, &c.bn, hist != NULL, o.code_counts ? cc : NULL);
    if (o.code_counts) { /* level = code + 2^(bits-1) = (code + 128) - (128 - 2^(bits-1)) */
        size_t levels = (size_t)1 << (*q_out)->config.bits, off = 128 - levels / 2;
        for (size_t k = 0; k < levels; k++)
            o.code_counts[k] = cc[0][k + off] + cc[1][k + off] + cc[2][k + off] + cc[3][k + off];
    }
    if (o.index_mse)
        plan_finish(&c.plan);
    if (o.index_mse && (*q_out)->n_scales) { /* every index governs numel / n_scales elements */
        double per = (double)((*q_out)->numel / (*q_out)->n_scales);
        for (size_t k = 0; k < (*q_out)->n_scales; k++)
            o.index_mse[k] = per > 0 ? o.index_mse[k] / per : 0.0;
    }
    acc a;
    parts_total(c.parts, c.n_parts, &a);
    fill_stats(*q_out, &a, out);
    if (hist)
        hist_finish(&c.bn, hist);
    fused_free(&c);
    return SQ_OK;
fail:
    fused_free(&c);
    free(c.bn.sub);
    if (hist)
        sq_hist_free(hist);
    return st;
}

/* sq_index_mse for a non-INT format: the squared errors added per index in
 * element order (chunks decoded one after another). */
static sq_status format_index_mse(const sq_tensor *x, const sq_qtensor *q, double *mse, sq_error *err)
{
    size_t part, chunk, n_parts;
    sq_layout l;
    sq_format_geometry(&q->config, q->numel, &part, &chunk, &n_parts);
    float *xh = malloc(chunk * sizeof(float));
    if (!xh)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for per-index errors");
    sq_layout_init(&l, &q->config, q->shape, q->ndim, q->numel);
    for (size_t k = 0; k < q->n_scales; k++)
        mse[k] = 0.0;
    for (size_t s = 0; s < q->numel; s += chunk) {
        size_t n = q->numel - s < chunk ? q->numel - s : chunk;
        sq_format_decode(q, s, n, xh);
        index_sse_add(&l, x->data + s, xh, s, n, mse);
    }
    index_mse_finish(q, mse);
    free(xh);
    return SQ_OK;
}

sq_status sq_index_mse(const sq_tensor *x, const sq_qtensor *q, double *mse, sq_error *err)
{
    sq_stats_opts o = sq_stats_opts_default();
    sq_status st = check_inputs(x, q, &o, err);
    if (st != SQ_OK)
        return st;
    sq_layout l;
    sse_plan pl;
    if (q->config.format != SQ_FORMAT_INT)
        return format_index_mse(x, q, mse, err);
    int workers = 1; /* the parts in order, through the same windows as sq_quantize_stats */
    int8_t *codes = malloc(SQ_CHUNK);
    sq_layout_init(&l, &q->config, q->shape, q->ndim, q->numel);
    for (size_t k = 0; k < q->n_scales; k++)
        mse[k] = 0.0;
    if (!codes || (st = plan_init(&pl, &l, mse, &workers, err)) != SQ_OK) {
        free(codes);
        return codes ? st : sq_fail(err, SQ_ERR_NOMEM, "out of memory for per-index errors");
    }
    for (size_t start = 0; start < q->numel; start += SQ_CHUNK) {
        size_t n = q->numel - start < SQ_CHUNK ? q->numel - start : SQ_CHUNK;
        sse_window w = plan_window(&pl, start / SQ_PART);
        sq_unpack_codes(q->codes, start, n, q->config.bits, codes);
        index_sse_chunk(&l, q, x->data, start, n, codes, &w);
    }
    plan_finish(&pl);
    size_t per = q->n_scales ? q->numel / q->n_scales : 0; /* every index governs as many elements */
    for (size_t k = 0; k < q->n_scales; k++)
        mse[k] = per ? mse[k] / (double)per : 0.0;
    free(codes);
    return SQ_OK;
}

size_t sq_code_histogram(const sq_qtensor *q, uint64_t *counts)
{
    int8_t buf[SQ_CHUNK];
    size_t levels = (size_t)1 << q->config.bits, used = 0;
    int bias = 1 << (q->config.bits - 1);
    memset(counts, 0, levels * sizeof(uint64_t));
    for (size_t start = 0; q->config.format != SQ_FORMAT_INT && start < q->numel; start += SQ_CHUNK) {
        size_t n = q->numel - start < SQ_CHUNK ? q->numel - start : SQ_CHUNK; /* level = stored code */
        uint8_t *u = (uint8_t *)buf;
        sq_format_codes(q, start, n, u);
        for (size_t j = 0; j < n; j++)
            counts[u[j]]++;
    }
    for (size_t start = 0; q->config.format == SQ_FORMAT_INT && start < q->numel; start += SQ_CHUNK) {
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
