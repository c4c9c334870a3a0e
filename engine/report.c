/* report.c - per-tensor quantization reports over a checkpoint (tensor by
 * tensor, bounded memory), their CSV/JSON output, and the quantized export. */
#include "report.h"
#include "textesc.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dtconv.h"
#include "fileio.h"
#include "layout.h"
#include "safetensors.h"
#include "simd.h"
#include "stats.h"
#include "threads.h"

sq_report_opts sq_report_opts_default(void)
{
    sq_report_opts o = {NULL, NULL, NULL, NULL, NULL, 0, 0};
    return o;
}

const char *sq_report_status_name(sq_report_status s)
{
    switch (s) {
    case SQ_REPORT_QUANTIZED: return "quantized";
    case SQ_REPORT_KEPT: return "kept";
    case SQ_REPORT_INCOMPATIBLE: return "incompatible";
    case SQ_REPORT_FAILED: return "failed";
    }
    return "?";
}

/* ---- exact percentiles by selection --------------------------------------- */

/* xorshift64*: the pivot choice (deterministic, so runs are reproducible). */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* Rearrange v[lo..hi] so that v[k] holds the value it has in sorted order,
 * with v[lo..k) <= v[k] <= v(k..hi] (Hoare/Wirth partition, random pivot). */
static void select_k(float *v, ptrdiff_t lo, ptrdiff_t hi, ptrdiff_t k, uint64_t *seed)
{
    while (lo < hi) {
        float x = v[lo + (ptrdiff_t)(next_rand(seed) % (uint64_t)(hi - lo + 1))];
        ptrdiff_t i = lo, j = hi;
        do {
            while (v[i] < x)
                i++;
            while (x < v[j])
                j--;
            if (i <= j) {
                float t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        } while (i <= j);
        if (j < k)
            lo = i;
        if (k < i)
            hi = j;
    }
}

/* Smallest of v[a..b). */
static float min_range(const float *v, size_t a, size_t b)
{
    float m = v[a];
    for (size_t i = a + 1; i < b; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

/* Percentile p of n values whose m smallest are in v[0..m) (m <= n); `after`
 * is the m-th order statistic (0-based) when m < n. Reorders v[0..m). */
static double percentile_prefix(float *v, size_t m, size_t n, double p, double after, uint64_t *seed)
{
    double pos = p * (double)(n - 1);
    size_t lo = (size_t)pos;
    if (lo >= n)
        lo = n - 1;
    double frac = pos - (double)lo;
    if (lo >= m)
        lo = m - 1; /* not reached when m covers pos */
    select_k(v, 0, (ptrdiff_t)m - 1, (ptrdiff_t)lo, seed);
    double a = v[lo];
    if (frac <= 0.0 || lo + 1 >= n)
        return a;
    double b = lo + 1 < m ? (double)min_range(v, lo + 1, m) : after;
    return a + (b - a) * frac;
}

double sq_percentile_select(float *v, size_t n, double p)
{
    if (n == 0)
        return NAN;
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    return percentile_prefix(v, n, n, p, NAN, &seed);
}

/* ---- exact percentiles of |e| by sampling, then selection in a window ------ */

/* Elements per part of the parallel passes below (fixed: results never
 * depend on the number of threads; they are exact order statistics anyway). */
#define REP_PART ((size_t)1 << 18)

/* Below this many values the percentiles are found by plain selection. */
#define REP_WINDOW_MIN ((size_t)1 << 16)

/* Values sampled to place the windows. */
#define REP_SAMPLES 32768
_Static_assert(REP_WINDOW_MIN >= 2 * REP_SAMPLES, "a stride of the sample holds two values at least");
#define SAMPLE_AHEAD 24

static size_t rep_parts(size_t n)
{
    return n <= REP_PART ? 1 : (n + REP_PART - 1) / REP_PART;
}

/* The bits of a non-negative float: an order-preserving unsigned key for
 * every value this file feeds it (|e| >= +0, never NaN). */
static uint32_t pos_key(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Candidates of the window pass are stored in blocks of this many floats,
 * taken by the workers from a shared pool as they fill them. */
#define CAND_BLOCK ((size_t)16384)

/* Bins of the histogram of each window's gathered values. */
#define WIN_BINS 4096u

/* Per-run scratch: the float32 values of the current tensor (grown as
 * needed and reused from tensor to tensor, so large tensors do not fault in
 * fresh pages each time), the dequantized values when the format is not
 * INT, the candidates of the window pass, the sample, per-part counts. */
typedef struct rep_scratch {
    float *x;          /* xcap floats */
    size_t xcap;
    float *d;          /* dcap floats, only for formats other than INT */
    size_t dcap;
    float *cand;       /* ccap floats */
    size_t ccap;
    size_t *fill;      /* per candidate block: values in it */
    size_t *counts;    /* 2 per part */
    size_t n_counts;
    float sample[REP_SAMPLES];
    size_t spos[REP_SAMPLES];   /* where the sample's values are */
    size_t *whist;              /* the window pass's per-worker histograms */
    int whist_workers;
} rep_scratch;

static void scratch_free(rep_scratch *s)
{
    free(s->whist);
    free(s->x);
    free(s->d);
    free(s->cand);
    free(s->fill);
    free(s->counts);
}

/* Room for n floats in *buf (capacity *cap, contents not kept); false when out of memory. */
static bool grow(float **buf, size_t *cap, size_t n)
{
    if (n <= *cap && *buf)
        return true;
    free(*buf);
    *cap = 0;
    if (!(*buf = malloc(n ? n * sizeof(float) : 1)))
        return false;
    *cap = n;
    return true;
}

/* The candidate pool for a tensor of n values: n / 16 floats and two blocks
 * per worker more, at least; the per-part counts. False when out of memory. */
static bool scratch_windows(rep_scratch *s, size_t n, int workers)
{
    size_t np = rep_parts(n), blocks = n / 16 / CAND_BLOCK + 2 * (size_t)workers + 1;
    if (np > s->n_counts) {
        free(s->counts);
        s->n_counts = 0;
        if (!(s->counts = malloc(2 * np * sizeof *s->counts)))
            return false;
        s->n_counts = np;
    }
    if (workers > s->whist_workers) {
        free(s->whist);
        s->whist_workers = 0;
        if (!(s->whist = malloc((size_t)workers * 2 * (WIN_BINS + 1) * sizeof *s->whist)))
            return false;
        s->whist_workers = workers;
    }
    if (blocks * CAND_BLOCK > s->ccap) {
        free(s->fill);
        if (!(s->fill = malloc(blocks * sizeof *s->fill)))
            return false;
        if (!grow(&s->cand, &s->ccap, blocks * CAND_BLOCK))
            return false;
    }
    return true;
}

/* Where the window pass reads the dequantized values: computed from the
 * codes chunk by chunk (INT: as sq_dequantize_into does, bit for bit), or
 * from a buffer holding all of them (other formats). */
typedef struct window_job {
    const float *x;
    const sq_qtensor *q;
    sq_layout l;
    const float *d;            /* NULL: decode from q */
    size_t n;
    uint32_t lo[2], hi[2];     /* windows of keys, inclusive */
    size_t *counts;            /* per part: below lo[0], below lo[1] */
    float *cand;
    size_t *fill, n_blocks;
    atomic_size_t next_block;
    atomic_int overflow;
    struct {
        size_t block, used;    /* the worker's current block (SIZE_MAX: none) */
    } w[SQ_THREADS_MAX];
    int shift[2];              /* window t's key - lo[t] >> shift[t]: its bin (< WIN_BINS) */
    size_t *hist;              /* per worker: 2 x (WIN_BINS + 1) counts of the kept values' bins */
} window_job;

/* out[i] = (code - zp) * scale for one run, as quant.c's decode_uniform
 * (the same expression, so the same float, vectorized or not). */
SQ_HOT
static void decode_run(const int8_t *codes, size_t n, double sc, double zp, float *out)
{
    SQ_SIMD
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(((double)codes[i] - zp) * sc);
}

/* The dequantized values [start, start + n) of j->q into out (n <= SQ_CHUNK). */
static void decode_chunk(const window_job *j, size_t start, size_t n, int8_t *codes, float *out)
{
    const sq_qtensor *q = j->q;
    sq_unpack_codes(q->codes, start, n, q->config.bits, codes);
    sq_run r = sq_run_at(&j->l, start);
    for (size_t i = 0; i < n;) {
        size_t len = r.left < n - i ? r.left : n - i;
        decode_run(codes + i, len, q->scales[r.k], q->zero_points[r.k], out + i);
        i += len;
        sq_run_advance(&j->l, &r, len);
    }
}

/* The dequantized value of element i. */
static float decode_one(const window_job *j, size_t i)
{
    if (j->d)
        return j->d[i];
    const sq_qtensor *q = j->q;
    int bits = q->config.bits;
    size_t bit = i * (size_t)bits, left; /* the codes: offset binary, least significant bit first */
    unsigned v = q->codes[bit / 8] >> (bit % 8);
    if (bit % 8 + (size_t)bits > 8)
        v |= (unsigned)q->codes[bit / 8 + 1] << (8 - bit % 8);
    int c = (int)(v & ((1u << bits) - 1u)) - (1 << (bits - 1));
    size_t k = sq_layout_at(&j->l, i, &left);
    return (float)(((double)c - q->zero_points[k]) * q->scales[k]);
}

/* ABS_ERR. |e| is defined as (float)|(double)x - (double)d| (the difference
 * of two floats in double, rounded once to float): the report's figures
 * always were. fabsf(x - d) in float arithmetic is the same number bit for
 * bit: a float difference is the exact difference correctly rounded to
 * float, and so is the double one rounded again to float, since double's
 * 53 bits are at least 2 x 24 + 2 (double rounding is then innocuous for
 * addition and subtraction: Figueroa, "When is double rounding
 * innocuous?", 1995); the absolute value commutes with rounding to
 * nearest. tests/test_report.c checks it on random float pairs of every
 * magnitude, and the percentiles against ones from the double formula. */

/* Values [0, m) of a chunk (portable): counts below each window, kept
 * values (inside a window) appended to out; returns how many. */
static size_t window_span(const float *x, const float *d, size_t m, const uint32_t *lo, const uint32_t *hi, float *out,
                          size_t *below)
{
    enum { BLOCK = 512 };
    uint32_t lo0 = lo[0], lo1 = lo[1], w0 = hi[0] - lo[0], w1 = hi[1] - lo[1];
    size_t b0 = 0, b1 = 0, kept = 0;
    float e[BLOCK];
    for (size_t s = 0; s < m; s += BLOCK) {
        size_t c = m - s < BLOCK ? m - s : BLOCK;
        for (size_t i = 0; i < c; i++) /* = (float)fabs((double)x - (double)d): see ABS_ERR */
            e[i] = fabsf(x[s + i] - d[s + i]);
        for (size_t i = 0; i < c; i++) {
            uint32_t k = pos_key(e[i]);
            b0 += k < lo0;
            b1 += k < lo1;
        }
        for (size_t i = 0; i < c; i++) {
            uint32_t k = pos_key(e[i]);
            out[kept] = e[i]; /* branch-free: kept only advances for a value inside a window */
            kept += (k - lo0 <= w0) | (k - lo1 <= w1);
        }
    }
    below[0] += b0;
    below[1] += b1;
    return kept;
}

#if SQ_X86_KERNELS
/* The same with AVX-512 (the kept values compressed in a register);
 * identical results. */
SQ_AVX512 static size_t window_span_avx512(const float *x, const float *d, size_t m, const uint32_t *lo,
                                           const uint32_t *hi, float *out, size_t *below)
{
    const __m512i l0 = _mm512_set1_epi32((int)lo[0]), l1 = _mm512_set1_epi32((int)lo[1]);
    const __m512i w0 = _mm512_set1_epi32((int)(hi[0] - lo[0])), w1 = _mm512_set1_epi32((int)(hi[1] - lo[1]));
    const __m512 sign = _mm512_set1_ps(-0.0f);
    size_t b0 = 0, b1 = 0, i = 0, kept = 0;
    for (; i + 16 <= m; i += 16) {
        __m512 e = _mm512_andnot_ps(sign, _mm512_sub_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(d + i)));
        __m512i k = _mm512_castps_si512(e);
        b0 += (size_t)__builtin_popcount(_mm512_cmplt_epu32_mask(k, l0));
        b1 += (size_t)__builtin_popcount(_mm512_cmplt_epu32_mask(k, l1));
        __mmask16 in = _mm512_cmple_epu32_mask(_mm512_sub_epi32(k, l0), w0) |
                       _mm512_cmple_epu32_mask(_mm512_sub_epi32(k, l1), w1);
        /* compress in a register and store all 16 lanes (out has 16 floats of slack): neither a
         * branch nor a compress to memory, both slow */
        _mm512_storeu_ps(out + kept, _mm512_maskz_compress_ps(in, e));
        kept += (size_t)__builtin_popcount(in);
    }
    below[0] += b0;
    below[1] += b1;
    return i < m ? kept + window_span(x + i, d + i, m - i, lo, hi, out + kept, below) : kept;
}
#endif

/* A block with room for SQ_CHUNK + 16 more values for worker w; NULL when the
 * pool is spent (the pass then only counts, and the caller falls back). */
static float *cand_room(window_job *j, int w)
{
    if (j->w[w].block != SIZE_MAX && CAND_BLOCK - j->w[w].used >= SQ_CHUNK + 16)
        return j->cand + j->w[w].block * CAND_BLOCK + j->w[w].used;
    if (j->w[w].block != SIZE_MAX)
        j->fill[j->w[w].block] = j->w[w].used;
    size_t b = atomic_fetch_add(&j->next_block, 1);
    if (b >= j->n_blocks) {
        atomic_store(&j->overflow, 1);
        j->w[w].block = SIZE_MAX;
        return NULL;
    }
    j->w[w].block = b;
    j->w[w].used = 0;
    return j->cand + b * CAND_BLOCK;
}

static void window_part(void *ctx, size_t p, int w)
{
    window_job *j = ctx;
    size_t a = p * REP_PART, b = j->n - a < REP_PART ? j->n : a + REP_PART, below[2] = {0, 0};
    int8_t codes[SQ_CHUNK];
    float dq[SQ_CHUNK], spill[SQ_CHUNK + 16];
    for (size_t s = a; s < b; s += SQ_CHUNK) {
        size_t m = b - s < SQ_CHUNK ? b - s : SQ_CHUNK;
        const float *d = j->d ? j->d + s : dq;
        if (!j->d)
            decode_chunk(j, s, m, codes, dq);
        float *out = atomic_load(&j->overflow) ? NULL : cand_room(j, w);
        size_t kept;
#if SQ_X86_KERNELS
        if (sq_use_avx512())
            kept = window_span_avx512(j->x + s, d, m, j->lo, j->hi, out ? out : spill, below);
        else
#endif
            kept = window_span(j->x + s, d, m, j->lo, j->hi, out ? out : spill, below);
        if (out) {
            j->w[w].used += kept;
            size_t *h = j->hist + (size_t)w * 2 * (WIN_BINS + 1);
            uint32_t l0 = j->lo[0], l1 = j->lo[1], s0 = j->hi[0] - l0, s1 = j->hi[1] - l1;
            int sh0 = j->shift[0], sh1 = j->shift[1];
            for (size_t i = 0; i < kept; i++) { /* branch-free: outside a window counts in its last bin */
                uint32_t k = pos_key(out[i]), d0 = k - l0, d1 = k - l1;
                h[d0 <= s0 ? d0 >> sh0 : WIN_BINS]++;
                h[WIN_BINS + 1 + (d1 <= s1 ? d1 >> sh1 : WIN_BINS)]++;
            }
        }
    }
    j->counts[2 * p] = below[0];
    j->counts[2 * p + 1] = below[1];
}

/* For window t: the bin of rank k (0-based among the window's values) in
 * hist (WIN_BINS + 1 counts, the last for values outside), the rank inside
 * it, and the next non-empty bin (WIN_BINS when none). */
static void window_bin(const size_t *hist, size_t k, uint32_t *bin, size_t *kk, uint32_t *next)
{
    uint32_t b = 0;
    size_t acc = 0;
    while (acc + hist[b] <= k)
        acc += hist[b++];
    *bin = b;
    *kk = k - acc;
    uint32_t nb = b + 1;
    while (nb < WIN_BINS && hist[nb] == 0)
        nb++;
    *next = nb;
}

/* The sample, in SAMPLE_PARTS parts over the pool. */
#define SAMPLE_PARTS 8

typedef struct sample_job {
    const window_job *j;
    rep_scratch *s;
    const float *x, *d;
} sample_job;

static void sample_part(void *ctx, size_t p, int w)
{
    (void)w;
    const sample_job *sj = ctx;
    const window_job *j = sj->j;
    const sq_qtensor *q = j->q;
    size_t a = p * (REP_SAMPLES / SAMPLE_PARTS), b = a + REP_SAMPLES / SAMPLE_PARTS;
    for (size_t k = a; k < b; k++) {
        if (k + SAMPLE_AHEAD < b) { /* the reads are scattered: have them in flight together */
            size_t i = sj->s->spos[k + SAMPLE_AHEAD], left;
            __builtin_prefetch(sj->x + i);
            if (sj->d) {
                __builtin_prefetch(sj->d + i);
            } else {
                size_t sk = sq_layout_at(&j->l, i, &left);
                __builtin_prefetch(q->codes + i * (size_t)q->config.bits / 8);
                __builtin_prefetch(q->scales + sk);
                __builtin_prefetch(q->zero_points + sk);
            }
        }
        size_t i = sj->s->spos[k];
        sj->s->sample[k] = fabsf(sj->x[i] - decode_one(j, i)); /* ABS_ERR */
    }
}

/* The gathering of the values in the sought bins, one task per block of
 * candidates; worker w appends to g[t] + w * cap[t]. */
typedef struct gather_job {
    const float *cand;
    const size_t *fill;
    uint32_t lo[2], span[2], bin[2], next[2];
    int shift[2];
    size_t cap[2];             /* values in bin[t]: room enough for any worker */
    float *g[2];
    struct {
        size_t cnt[2];
        float nextmin[2];
    } w[SQ_THREADS_MAX];
} gather_job;

/* Value v of key offset d (key - lo) for window t of j: appended to g at
 * *c when in the sought bin, else lowered into *nmin when in the next one. */
static inline void gather_value(const gather_job *j, int t, float v, uint32_t d, float *g, size_t *c, float *nmin)
{
    if (d > j->span[t])
        return;
    uint32_t bb = d >> j->shift[t];
    if (bb == j->bin[t])
        g[(*c)++] = v;
    else if (bb == j->next[t] && v < *nmin)
        *nmin = v;
}

static void gather_part(void *ctx, size_t b, int w)
{
    gather_job *j = ctx;
    const float *v = j->cand + b * CAND_BLOCK;
    float *g0 = j->g[0] + (size_t)w * j->cap[0], *g1 = j->g[1] + (size_t)w * j->cap[1];
    size_t c0 = j->w[w].cnt[0], c1 = j->w[w].cnt[1];
    float n0 = j->w[w].nextmin[0], n1 = j->w[w].nextmin[1];
    for (size_t i = 0; i < j->fill[b]; i++) {
        uint32_t key = pos_key(v[i]);
        gather_value(j, 0, v[i], key - j->lo[0], g0, &c0, &n0);
        gather_value(j, 1, v[i], key - j->lo[1], g1, &c1, &n1);
    }
    j->w[w].cnt[0] = c0;
    j->w[w].cnt[1] = c1;
    j->w[w].nextmin[0] = n0;
    j->w[w].nextmin[1] = n1;
}

/* The median and p95 of |x - dequant(q)| over n values by the
 * interpolation rule (report.h), exactly. A sample of REP_SAMPLES values
 * (one at a pseudo-random place in each of as many equal strides) places a
 * window of values around each sought rank, wide enough (4.5 standard
 * deviations of a sample quantile, and more) that it almost always holds
 * it; one parallel pass then counts the values below each window, gathers
 * those inside and counts them in WIN_BINS bins of their keys per window;
 * the bin holding each sought rank is picked from the summed counts, its
 * values gathered, and selection among them gives the order statistic (the
 * next one: in the same bin or the least of the next non-empty one). The
 * whole pass's boundaries are fixed and its results integer counts, so the
 * thread count changes nothing. The dequantized values are formed chunk by chunk (INT) or
 * read from d. False when a window missed its rank (the counts say so
 * exactly) or the gathered values overflowed their pool: the caller then
 * selects over all of |e|. */
static bool percentiles_windowed(rep_scratch *s, const sq_qtensor *q, const float *x, const float *d, size_t n,
                                 double *median, double *p95)
{
    const double p[2] = {0.5, 0.95};
    size_t np = rep_parts(n), stride = n / REP_SAMPLES, m = REP_SAMPLES;
    int workers = sq_parallel_workers(np);
    if (!scratch_windows(s, n, workers))
        return false;
    window_job *j = calloc(1, sizeof *j);
    if (!j)
        return false;
    j->x = x;
    j->q = q;
    j->d = d;
    j->n = n;
    j->counts = s->counts;
    j->cand = s->cand;
    j->fill = s->fill;
    j->n_blocks = s->ccap / CAND_BLOCK;
    atomic_init(&j->next_block, 0);
    atomic_init(&j->overflow, 0);
    for (int w = 0; w < SQ_THREADS_MAX; w++)
        j->w[w].block = SIZE_MAX;
    if (!d) /* INT: the values are decoded from the codes */
        sq_layout_init(&j->l, &q->config, q->shape, q->ndim, q->numel);
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    for (size_t k = 0; k < m; k++) /* one value at a pseudo-random place in each stride */
        s->spos[k] = k * stride + (size_t)(next_rand(&seed) % stride);
    sample_job sj = {j, s, x, d};
    sq_parallel_run(SAMPLE_PARTS, sq_parallel_workers(SAMPLE_PARTS), sample_part, &sj);
    size_t from = 0; /* the sample ranks sought increase: each selection starts above the last */
    for (int t = 0; t < 2; t++) {
        double c = p[t] * (double)(m - 1), margin = 4.5 * sqrt((double)m * p[t] * (1.0 - p[t])) + 8.0;
        double lo = floor(c - margin), hi = ceil(c + 1.0 + margin);
        if (lo <= 0.0) {
            j->lo[t] = 0;
        } else {
            size_t at = (size_t)lo < from ? from : (size_t)lo;
            select_k(s->sample, (ptrdiff_t)from, (ptrdiff_t)m - 1, (ptrdiff_t)at, &seed);
            j->lo[t] = pos_key(s->sample[(size_t)lo]);
            from = at;
        }
        if (hi >= (double)(m - 1)) {
            j->hi[t] = UINT32_MAX;
        } else {
            size_t at = (size_t)hi < from ? from : (size_t)hi;
            select_k(s->sample, (ptrdiff_t)from, (ptrdiff_t)m - 1, (ptrdiff_t)at, &seed);
            j->hi[t] = pos_key(s->sample[(size_t)hi]);
            from = at;
        }
    }
    bool merged = j->lo[1] <= j->hi[0];
    if (merged) { /* one window over both */
        j->hi[0] = j->hi[1] > j->hi[0] ? j->hi[1] : j->hi[0];
        j->lo[1] = j->lo[0];
        j->hi[1] = j->hi[0];
    }
    for (int t = 0; t < 2; t++) {
        j->shift[t] = 0;
        while (((j->hi[t] - j->lo[t]) >> j->shift[t]) >= WIN_BINS)
            j->shift[t]++;
    }
    j->hist = s->whist;
    memset(s->whist, 0, (size_t)workers * 2 * (WIN_BINS + 1) * sizeof *s->whist);
    sq_parallel_run(np, workers, window_part, j);
    bool ok = !atomic_load(&j->overflow);
    size_t below[2] = {0, 0}, used = atomic_load(&j->next_block);
    for (size_t t = 0; t < np; t++) {
        below[0] += s->counts[2 * t];
        below[1] += s->counts[2 * t + 1];
    }
    for (int w = 0; w < SQ_THREADS_MAX; w++)
        if (j->w[w].block != SIZE_MAX)
            s->fill[j->w[w].block] = j->w[w].used;
    size_t *h = s->whist; /* the workers' histograms summed into the first */
    for (int w = 1; w < workers; w++)
        for (size_t i = 0; i < 2 * (WIN_BINS + 1); i++)
            h[i] += h[(size_t)w * 2 * (WIN_BINS + 1) + i];
    uint32_t lo[2] = {j->lo[0], j->lo[1]}, span[2] = {j->hi[0] - j->lo[0], j->hi[1] - j->lo[1]}, bin[2], next[2];
    int shift[2] = {j->shift[0], j->shift[1]};
    free(j);
    size_t r[2], r1[2], kk[2], cnt[2] = {0, 0};
    double frac[2];
    for (int t = 0; ok && t < 2; t++) {
        const size_t *ht = h + (size_t)t * (WIN_BINS + 1);
        size_t in = 0; /* values inside the window */
        for (uint32_t k = 0; k < WIN_BINS; k++)
            in += ht[k];
        double pos = p[t] * (double)(n - 1);
        r[t] = (size_t)pos;
        if (r[t] >= n)
            r[t] = n - 1;
        frac[t] = pos - (double)r[t];
        r1[t] = r[t] + 1 < n ? r[t] + 1 : r[t];
        if (r[t] < below[t] || r1[t] >= below[t] + in) /* the window missed its rank */
            ok = false;
        else
            window_bin(ht, r[t] - below[t], &bin[t], &kk[t], &next[t]);
    }
    if (!ok)
        return false;
    /* the values of each sought bin, and the least of the bin after it, gathered over the pool: each worker
     * into its own section of g[t] (room for the whole bin), compacted afterwards; selection does not care
     * about the order */
    gather_job gj = {.cand = s->cand, .fill = s->fill, .cap = {h[bin[0]], h[WIN_BINS + 1 + bin[1]]}};
    int gw = sq_parallel_workers(used);
    for (int t = 0; t < 2; t++) {
        gj.lo[t] = lo[t];
        gj.span[t] = span[t];
        gj.shift[t] = shift[t];
        gj.bin[t] = bin[t];
        gj.next[t] = next[t];
        gj.g[t] = malloc((size_t)gw * gj.cap[t] * sizeof(float) + 1);
    }
    if (!gj.g[0] || !gj.g[1]) {
        free(gj.g[0]);
        free(gj.g[1]);
        return false;
    }
    for (int w = 0; w < gw; w++)
        for (int t = 0; t < 2; t++) {
            gj.w[w].cnt[t] = 0;
            gj.w[w].nextmin[t] = INFINITY;
        }
    sq_parallel_run(used, gw, gather_part, &gj);
    float *g[2] = {gj.g[0], gj.g[1]}, nextmin[2] = {INFINITY, INFINITY};
    for (int t = 0; t < 2; t++)
        for (int w = 0; w < gw; w++) {
            if (w > 0 && gj.w[w].cnt[t])
                memmove(g[t] + cnt[t], g[t] + (size_t)w * gj.cap[t], gj.w[w].cnt[t] * sizeof(float));
            cnt[t] += gj.w[w].cnt[t];
            nextmin[t] = gj.w[w].nextmin[t] < nextmin[t] ? gj.w[w].nextmin[t] : nextmin[t];
        }
    double out[2];
    for (int t = 0; t < 2; t++) {
        select_k(g[t], 0, (ptrdiff_t)cnt[t] - 1, (ptrdiff_t)kk[t], &seed);
        double a = g[t][kk[t]], b;
        if (r1[t] == r[t])
            b = a;
        else if (kk[t] + 1 < cnt[t])
            b = (double)min_range(g[t], kk[t] + 1, cnt[t]);
        else
            b = nextmin[t];
        out[t] = frac[t] <= 0.0 ? a : a + (b - a) * frac[t];
    }
    free(g[0]);
    free(g[1]);
    *median = out[0];
    *p95 = out[1];
    return true;
}

/* The median and p95 of |x - dequant(q)| exactly (report.h). Windowed
 * (above) for large tensors; by selection over all of |e| (a buffer of n
 * floats) for small ones and whenever a window misses or for want of memory.
 * False only when that buffer cannot be had. */
static bool abs_err_percentiles(rep_scratch *s, const sq_qtensor *q, const float *x, size_t n, double *median,
                                double *p95)
{
    if (n == 0) {
        *median = *p95 = 0.0;
        return true;
    }
    bool is_int = q->config.format == SQ_FORMAT_INT;
    if (!is_int && !grow(&s->d, &s->dcap, n))
        return false;
    if (!is_int)
        sq_dequantize_into(q, s->d);
    if (n >= REP_WINDOW_MIN && percentiles_windowed(s, q, x, is_int ? NULL : s->d, n, median, p95))
        return true;
    if (is_int && !grow(&s->d, &s->dcap, n))
        return false;
    float *d = s->d;
    if (is_int || n >= REP_WINDOW_MIN)
        sq_dequantize_into(q, d);
    for (size_t i = 0; i < n; i++)
        d[i] = (float)fabs((double)x[i] - (double)d[i]);
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    *p95 = percentile_prefix(d, n, n, 0.95, NAN, &seed);
    size_t lo95 = (size_t)(0.95 * (double)(n - 1));
    size_t m = lo95 + 1;
    double after = m < n ? (double)min_range(d, m, n) : NAN;
    *median = percentile_prefix(d, m, n, 0.5, after, &seed);
    return true;
}

/* ---- loading in parallel ---------------------------------------------------- */

/* Conversion of a little-endian F32/F16/BF16 tensor into float32, by parts. */
typedef struct decode_job {
    sq_dtype dt;
    const uint8_t *src;
    float *dst;
    size_t n;
} decode_job;

/* bf16 to float32: the bits as the high half (as sq_bf16_to_float); bytes
 * copied with memcpy (no type punning), which the compiler turns into
 * vector loads and stores. */
SQ_HOT
static void bf16_span(const uint8_t *src, size_t n, float *dst)
{
    SQ_SIMD
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, src + 2 * i, 2);
        uint32_t u = (uint32_t)h << 16;
        memcpy(&dst[i], &u, 4);
    }
}

static void decode_part(void *ctx, size_t p, int w)
{
    (void)w;
    decode_job *j = ctx;
    size_t a = p * REP_PART, b = j->n - a < REP_PART ? j->n : a + REP_PART;
    if (j->dt == SQ_DTYPE_BF16) /* little-endian host (plain_float) */
        bf16_span(j->src + 2 * a, b - a, j->dst + a);
    else
        sq_decode_elements(j->dt, false, j->src + a * sq_dtype_size(j->dt), b - a, j->dst + a);
}

/* Whether tensor ti is stored as plain little-endian F32, F16 or BF16 (the
 * file's bytes are the elements), so it can be converted by parts. */
static bool plain_float(const sq_tinfo *ti)
{
    static const char *const names[] = {"F32", "F16", "BF16"};
    static const sq_dtype dts[] = {SQ_DTYPE_F32, SQ_DTYPE_F16, SQ_DTYPE_BF16};
    uint16_t one = 1;
    uint8_t lsb;
    memcpy(&lsb, &one, 1);
    if (lsb != 1 || !ti->loadable || ti->size_unknown)
        return false;
    for (int k = 0; k < 3; k++)
        if (ti->dtype == dts[k] && strcmp(ti->type_name, names[k]) == 0)
            return ti->numel <= SIZE_MAX / 4 && ti->nbytes == ti->numel * sq_dtype_size(dts[k]);
    return false;
}

/* Tensor idx as float32 into s->x (plain types, converted over the pool) or
 * a new tensor in *owned (every other type, through sq_ckpt_load); *x views
 * the values either way. Errors as sq_ckpt_load. */
static sq_status load_values(const sq_checkpoint *ck, size_t idx, const sq_tinfo *ti, rep_scratch *s, sq_tensor *x,
                             sq_tensor **owned, sq_error *err)
{
    *owned = NULL;
    if (!plain_float(ti)) {
        sq_status st = sq_ckpt_load(ck, idx, owned, err);
        if (st == SQ_OK)
            *x = **owned;
        return st;
    }
    if (!grow(&s->x, &s->xcap, ti->numel))
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", ti->name);
    const uint8_t *p;
    size_t len, faults = sq_mapped_faults();
    sq_status st = sq_ckpt_raw(ck, idx, &p, &len, err);
    if (st != SQ_OK)
        return st;
    decode_job j = {ti->dtype, p, s->x, ti->numel};
    size_t np = rep_parts(ti->numel);
    sq_parallel_run(np, sq_parallel_workers(np), decode_part, &j);
    sq_ckpt_raw_release(ck, idx);
    if (sq_mapped_faults() != faults)
        return sq_fail(err, SQ_ERR_IO, "%s: tensor %s: the file shrank while it was being read", sq_ckpt_path(ck),
                       ti->name);
    memset(x, 0, sizeof *x);
    x->ndim = ti->ndim;
    memcpy(x->shape, ti->shape, sizeof x->shape);
    x->numel = ti->numel;
    x->dtype = ti->dtype;
    x->data = s->x;
    return SQ_OK;
}

/* ---- building a report ------------------------------------------------------ */

/* Compiled include/exclude patterns. */
typedef struct filter {
    regex_t inc, exc;
    bool has_inc, has_exc;
} filter;

static void filter_free(filter *f)
{
    if (f->has_inc)
        regfree(&f->inc);
    if (f->has_exc)
        regfree(&f->exc);
    f->has_inc = f->has_exc = false;
}

/* Compile one pattern; message names the option and the pattern. */
static sq_status compile_one(regex_t *re, const char *pat, const char *what, sq_error *err)
{
    int rc = regcomp(re, pat, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char buf[200];
        regerror(rc, re, buf, sizeof buf);
        return sq_fail(err, SQ_ERR_ARG, "bad %s pattern '%s': %s", what, pat, buf);
    }
    return SQ_OK;
}

static sq_status filter_init(filter *f, const sq_report_opts *o, sq_error *err)
{
    f->has_inc = f->has_exc = false;
    if (o->include) {
        sq_status st = compile_one(&f->inc, o->include, "include", err);
        if (st != SQ_OK)
            return st;
        f->has_inc = true;
    }
    if (o->exclude) {
        sq_status st = compile_one(&f->exc, o->exclude, "exclude", err);
        if (st != SQ_OK) {
            filter_free(f);
            return st;
        }
        f->has_exc = true;
    }
    return SQ_OK;
}

static bool filter_match(const filter *f, const char *name)
{
    if (f->has_inc && regexec(&f->inc, name, 0, NULL, 0) != 0)
        return false;
    if (f->has_exc && regexec(&f->exc, name, 0, NULL, 0) == 0)
        return false;
    return true;
}

static void cell_clear_figures(sq_report_cell *c)
{
    c->sqnr_db = c->rmse = c->max_abs_err = c->median_abs_err = c->p95_abs_err = NAN;
    c->mse_round = c->mse_clip = NAN;
    c->sum_x2 = c->sum_e2 = 0.0;
}

/* A cell whose tensor is copied as is: after = its bytes in the file. */
static void cell_sizes_kept(const sq_report_row *r, sq_report_cell *c)
{
    c->code_bytes = c->meta_bytes = c->n_scales = 0;
    c->after_bytes = r->file_bytes;
    c->bits_per_weight = c->bits_per_weight_f16 = r->numel ? 8.0 * (double)r->file_bytes / (double)r->numel : 0.0;
}

/* Sizes of a quantized cell as the export writes them: codes, scales in
 * cfg->scale_store, zero points (exact = true: those of q). */
static void cell_sizes_quant(const sq_report_row *r, const sq_qconfig *cfg, size_t code, size_t meta,
                             sq_report_cell *c)
{
    c->code_bytes = code;
    c->meta_bytes = meta;
    c->after_bytes = code + meta;
    if (r->numel) {
        double asym = cfg->mode == SQ_MODE_ASYMMETRIC ? 2.0 : 1.0;
        double n = (double)r->numel;
        c->bits_per_weight = 8.0 * (double)c->after_bytes / n;
        /* GGUF-style, 16-bit scales; a format stores its scales its own way */
        c->bits_per_weight_f16 = cfg->format != SQ_FORMAT_INT ? c->bits_per_weight
                                                              : (n * cfg->bits + (double)c->n_scales * 16.0 * asym) / n;
    }
}

/* Sizes of a cell from the shape alone; status INCOMPATIBLE when cfg does not
 * fit the shape. Fails only on NOMEM/OVERFLOW. */
static sq_status cell_sizes(sq_report_row *r, const sq_qconfig *cfg, sq_report_cell *c, sq_error *err)
{
    cell_clear_figures(c);
    if (!r->quantized) {
        c->status = SQ_REPORT_KEPT;
        cell_sizes_kept(r, c);
        return SQ_OK;
    }
    sq_error e;
    if (sq_qconfig_check(cfg, r->shape, r->ndim, &e) != SQ_OK) {
        c->status = SQ_REPORT_INCOMPATIBLE;
        cell_sizes_kept(r, c);
        if (!(c->note = strdup(e.msg)))
            return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
        return SQ_OK;
    }
    size_t code, meta;
    sq_status st = sq_st_qconfig_file_bytes(cfg, r->shape, r->ndim, false, &code, &meta, err);
    if (st != SQ_OK)
        return st;
    if (code > SIZE_MAX - meta)
        return sq_fail(err, SQ_ERR_OVERFLOW, "%s: size overflow", r->name);
    c->status = SQ_REPORT_QUANTIZED;
    c->n_scales = sq_qconfig_scale_count(cfg, r->shape, r->ndim);
    cell_sizes_quant(r, cfg, code, meta, c);
    return SQ_OK;
}

/* Mark a cell FAILED with a copy of msg; the export copies such a tensor as
 * is, so its sizes become the file's. */
static sq_status cell_fail(const sq_report_row *r, sq_report_cell *c, const char *msg, sq_error *err)
{
    c->status = SQ_REPORT_FAILED;
    cell_sizes_kept(r, c);
    free(c->note);
    if (!(c->note = strdup(msg)))
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    return SQ_OK;
}

/* Quantize x with cfg and fill the error figures of c (s: scratch). Per-tensor failures become FAILED cells; only NOMEM
 * is returned. */
static sq_status cell_measure(const sq_report_row *r, const sq_tensor *x, const sq_qconfig *cfg, rep_scratch *s,
                              sq_report_cell *c, sq_error *err)
{
    sq_qtensor *q;
    sq_stats st;
    sq_error e;
    sq_status rc = sq_quantize_stats(x, cfg, NULL, &q, &st, NULL, &e);
    if (rc == SQ_ERR_NOMEM)
        return sq_fail(err, rc, "%s", e.msg);
    if (rc != SQ_OK)
        return cell_fail(r, c, e.msg, err);
    size_t code, meta;
    sq_st_qtensor_file_bytes(q, &code, &meta); /* exact: zero point dtype, F16 fallback */
    cell_sizes_quant(r, &q->config, code, meta, c);
    c->sum_x2 = st.sum_x2;
    c->sum_e2 = st.sum_e2;
    c->sqnr_db = st.sqnr_db;
    c->rmse = st.rmse;
    c->max_abs_err = st.max_abs_err;
    c->mse_round = st.mse_round;
    c->mse_clip = st.mse_clip;
    c->clipped = st.clipped;
    bool ok = abs_err_percentiles(s, q, x->data, x->numel, &c->median_abs_err, &c->p95_abs_err);
    sq_qtensor_free(q);
    if (!ok)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", r->name);
    return SQ_OK;
}

/* Fill row r from tensor info ti: sizes per config, then (rank >= 2) load
 * and measure. */
static sq_status report_row(const sq_checkpoint *ck, size_t idx, const sq_tinfo *ti, const sq_qconfig *cfgs,
                            size_t nc, rep_scratch *s, sq_report_row *r, sq_error *err)
{
    if (!(r->name = strdup(ti->name)) || !(r->cells = calloc(nc, sizeof *r->cells)))
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    r->ndim = ti->ndim;
    memcpy(r->shape, ti->shape, sizeof r->shape);
    r->numel = ti->numel;
    snprintf(r->type_name, sizeof r->type_name, "%s", ti->type_name);
    r->quantized = ti->ndim >= 2;
    if (ti->numel > SIZE_MAX / 4)
        return sq_fail(err, SQ_ERR_OVERFLOW, "%s: size overflow", ti->name);
    r->fp32_bytes = ti->numel * 4;
    r->file_bytes = ti->nbytes;
    bool any = false;
    for (size_t c = 0; c < nc; c++) {
        sq_status st = cell_sizes(r, &cfgs[c], &r->cells[c], err);
        if (st != SQ_OK)
            return sq_error_prefix(err, ti->name);
        any = any || r->cells[c].status == SQ_REPORT_QUANTIZED;
    }
    if (!any)
        return SQ_OK;
    sq_tensor x, *owned;
    sq_error e;
    sq_status st = load_values(ck, idx, ti, s, &x, &owned, &e);
    if (st == SQ_ERR_NOMEM)
        return sq_fail(err, st, "%s", e.msg);
    if (st != SQ_OK) {
        for (size_t c = 0; c < nc; c++)
            if (r->cells[c].status == SQ_REPORT_QUANTIZED && cell_fail(r, &r->cells[c], e.msg, err) != SQ_OK)
                return SQ_ERR_NOMEM;
        return SQ_OK;
    }
    st = SQ_OK;
    for (size_t c = 0; c < nc && st == SQ_OK; c++)
        if (r->cells[c].status == SQ_REPORT_QUANTIZED)
            st = cell_measure(r, &x, &cfgs[c], s, &r->cells[c], err);
    sq_tensor_free(owned);
    return st;
}

/* Accumulate row r into the totals of each config. */
static sq_status totals_add(sq_report *rep, const sq_report_row *r, sq_error *err)
{
    for (size_t c = 0; c < rep->n_configs; c++) {
        sq_report_total *t = &rep->totals[c];
        const sq_report_cell *cell = &r->cells[c];
        t->num_tensors++;
        if (cell->status == SQ_REPORT_KEPT || cell->status == SQ_REPORT_INCOMPATIBLE)
            t->num_fp32++;
        else
            t->num_quantized++;
        if (cell->status == SQ_REPORT_FAILED)
            t->num_failed++;
        if (t->numel > SIZE_MAX - r->numel || t->fp32_bytes > SIZE_MAX - r->fp32_bytes ||
            t->file_bytes > SIZE_MAX - r->file_bytes || t->quantized_bytes > SIZE_MAX - cell->after_bytes)
            return sq_fail(err, SQ_ERR_OVERFLOW, "report totals overflow");
        t->numel += r->numel;
        t->fp32_bytes += r->fp32_bytes;
        t->file_bytes += r->file_bytes;
        t->code_bytes += cell->code_bytes;
        t->meta_bytes += cell->meta_bytes;
        t->quantized_bytes += cell->after_bytes;
        t->compression_ratio = t->quantized_bytes ? (double)t->fp32_bytes / (double)t->quantized_bytes : 1.0;
        /* bits_per_weight holds total bits until finished */
        t->bits_per_weight += cell->bits_per_weight * (double)r->numel;
        t->bits_per_weight_f16 += cell->bits_per_weight_f16 * (double)r->numel;
        if (cell->status == SQ_REPORT_QUANTIZED) {
            t->sqnr_db += cell->sum_x2; /* sums until finished */
            t->rmse += cell->sum_e2;
            if (!(cell->max_abs_err <= t->max_abs_err))
                t->max_abs_err = cell->max_abs_err;
        }
    }
    return SQ_OK;
}

/* Turn the running sums of the totals into figures. */
static void totals_finish(sq_report *rep)
{
    for (size_t c = 0; c < rep->n_configs; c++) {
        sq_report_total *t = &rep->totals[c];
        size_t measured = 0;
        for (size_t r = 0; r < rep->n_rows; r++)
            if (rep->rows[r].cells[c].status == SQ_REPORT_QUANTIZED)
                measured += rep->rows[r].numel;
        double sx = t->sqnr_db, se = t->rmse;
        t->sqnr_db = se > 0 ? 10.0 * log10(sx / se) : (measured ? INFINITY : NAN);
        t->rmse = measured ? sqrt(se / (double)measured) : NAN;
        if (!measured)
            t->max_abs_err = NAN;
        t->bits_per_weight = t->numel ? t->bits_per_weight / (double)t->numel : 0.0;
        t->bits_per_weight_f16 = t->numel ? t->bits_per_weight_f16 / (double)t->numel : 0.0;
    }
}

void sq_report_free(sq_report *rep)
{
    if (!rep)
        return;
    for (size_t r = 0; r < rep->n_rows; r++) {
        free(rep->rows[r].name);
        if (rep->rows[r].cells)
            for (size_t c = 0; c < rep->n_configs; c++)
                free(rep->rows[r].cells[c].note);
        free(rep->rows[r].cells);
    }
    free(rep->rows);
    free(rep->totals);
    free(rep->configs);
    free(rep->source);
    free(rep);
}

/* The index of the first tensor after i whose values a report loads (one
 * its filter and shard select, of rank 2 or more; number = the selected
 * tensors up to and including i), n when none: the one to prefetch. */
static size_t next_loaded(const sq_checkpoint *ck, const filter *f, size_t i, size_t number, size_t shards,
                          size_t shard)
{
    size_t n = sq_ckpt_count(ck);
    for (size_t j = i + 1; j < n; j++) {
        const sq_tinfo *tj = sq_ckpt_info(ck, j);
        if (filter_match(f, tj->name) && number++ % shards == shard - 1 && tj->ndim >= 2)
            return j;
    }
    return n;
}

sq_status sq_report_run(const sq_checkpoint *ck, const char *source, const sq_qconfig *configs,
                        size_t n_configs, const sq_report_opts *opts, sq_report **out, sq_error *err)
{
    *out = NULL;
    sq_report_opts o = opts ? *opts : sq_report_opts_default();
    if (!ck || !configs || n_configs == 0)
        return sq_fail(err, SQ_ERR_ARG, "a report needs a checkpoint and at least one configuration");
    for (size_t c = 0; c < n_configs; c++) {
        sq_status st = sq_qconfig_check(&configs[c], NULL, 0, err);
        if (st != SQ_OK) {
            char pre[40];
            snprintf(pre, sizeof pre, "configuration %zu", c + 1);
            return sq_error_prefix(err, pre);
        }
    }
    size_t shards = o.shards > 1 ? o.shards : 1, shard = o.shards > 1 ? o.shard : 1;
    if (shard < 1 || shard > shards)
        return sq_fail(err, SQ_ERR_ARG, "shard %zu of %zu: want a shard from 1 to %zu", o.shard, o.shards, shards);
    filter f;
    sq_status st = filter_init(&f, &o, err);
    if (st != SQ_OK)
        return st;
    size_t n = sq_ckpt_count(ck);
    sq_report *rep = calloc(1, sizeof *rep);
    if (!rep || !(rep->configs = malloc(n_configs * sizeof *rep->configs)) ||
        !(rep->totals = calloc(n_configs, sizeof *rep->totals)) || !(rep->rows = calloc(n ? n : 1, sizeof *rep->rows)) ||
        !(rep->source = strdup(source ? source : ""))) {
        filter_free(&f);
        sq_report_free(rep);
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    }
    memcpy(rep->configs, configs, n_configs * sizeof *configs);
    rep->n_configs = n_configs;
    rep->tensors_in_file = n;
    rep->shard = shard;
    rep->shards = shards;
    for (size_t c = 0; c < n_configs; c++)
        rep->totals[c].compression_ratio = 1.0;
    sq_report_progress pr = {0, 0, 0, 0};
    rep_scratch *scratch = calloc(1, sizeof *scratch);
    if (!scratch) {
        filter_free(&f);
        sq_report_free(rep);
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const sq_tinfo *ti = sq_ckpt_info(ck, i);
        if (filter_match(&f, ti->name) && rep->selected++ % shards == shard - 1) {
            pr.tensors_total++;
            pr.bytes_total += ti->nbytes;
        }
    }
    if (o.progress)
        o.progress(&pr, o.progress_user);
    size_t number = 0, ahead = 0; /* of the selected tensor, 1-based; the tensor prefetched */
    for (size_t i = 0; i < n && st == SQ_OK; i++) {
        const sq_tinfo *ti = sq_ckpt_info(ck, i);
        if (!filter_match(&f, ti->name) || number++ % shards != shard - 1)
            continue;
        if (o.cancel && *o.cancel) {
            rep->cancelled = true;
            break;
        }
        if (ahead <= i) /* the file reads the next loaded row's bytes while this row is worked on */
            sq_ckpt_prefetch(ck, ahead = next_loaded(ck, &f, i, number, shards, shard));
        sq_report_row *r = &rep->rows[rep->n_rows++];
        r->index = number;
        st = report_row(ck, i, ti, configs, n_configs, scratch, r, err);
        if (st == SQ_OK)
            st = totals_add(rep, r, err);
        pr.tensors_done++;
        pr.bytes_done += ti->nbytes;
        if (st == SQ_OK && o.progress)
            o.progress(&pr, o.progress_user);
    }
    filter_free(&f);
    if (scratch)
        scratch_free(scratch);
    free(scratch);
    if (st != SQ_OK) {
        sq_report_free(rep);
        return st;
    }
    totals_finish(rep);
    *out = rep;
    return SQ_OK;
}

/* ---- CSV -------------------------------------------------------------------------- */

/* A field, quoted when it holds a comma, quote or line break. */
static void csv_str(FILE *f, const char *s)
{
    sq_csv_field(f, s);
}

static void csv_num(FILE *f, double v)
{
    fputc(',', f);
    sq_csv_number(f, v);
}

/* Write a memory buffer to path atomically. */
static sq_status write_atomic(const char *path, const char *buf, size_t n, sq_error *err)
{
    sq_afile *af;
    sq_status st = sq_afile_open_flags(path, SQ_AFILE_DASH_STDOUT, &af, err); /* "-": standard output */
    if (st != SQ_OK)
        return st;
    if ((st = sq_afile_write(af, buf, n, err)) != SQ_OK) {
        sq_afile_abort(af);
        return st;
    }
    return sq_afile_commit(af, err);
}

/* The common leading columns of a line. */
static void csv_lead(FILE *f, const char *kind, const char *name, const char *shape, const char *type,
                     size_t numel, size_t fp32, size_t file, const char *desc, size_t ci, const char *status)
{
    fputs(kind, f);
    fputc(',', f);
    csv_str(f, name);
    fputc(',', f);
    csv_str(f, shape);
    fputc(',', f);
    csv_str(f, type);
    fprintf(f, ",%zu,%zu,%zu,", numel, fp32, file);
    csv_str(f, desc);
    fprintf(f, ",%zu,%s", ci + 1, status); /* config_index: 1-based, as sq.report's rows */
}

/* A number as %.17g (exact for a double), "nan"/"inf" otherwise. */
static void csv_num17(FILE *f, double v)
{
    if (isnan(v))
        fputs(",nan", f);
    else if (isinf(v))
        fputs(v > 0 ? ",inf" : ",-inf", f);
    else
        fprintf(f, ",%.17g", v);
}

#define CSV_HEADER                                                                                                    \
    "kind,name,shape,file_type,numel,fp32_bytes,file_bytes,config,config_index,status,sqnr_db,rmse,"                   \
    "max_abs_err,median_abs_err,p95_abs_err,n_scales,code_bytes,meta_bytes,after_bytes,bits_per_weight,"              \
    "bits_per_weight_f16,note,index,sum_x2,sum_e2,bpw_f16_exact\n"

/* The total line of config c (description desc); sx, se: the pooled sums. */
static void csv_total(FILE *f, const sq_report_total *t, const char *desc, size_t c, const char *status,
                      const char *note, size_t selected, double sx, double se)
{
    csv_lead(f, "total", "", "", "", t->numel, t->fp32_bytes, t->file_bytes, desc, c, status);
    csv_num(f, t->sqnr_db);
    csv_num(f, t->rmse);
    csv_num(f, t->max_abs_err);
    fputs(",nan,nan", f);
    fprintf(f, ",,%zu,%zu,%zu", t->code_bytes, t->meta_bytes, t->quantized_bytes);
    csv_num(f, t->bits_per_weight);
    csv_num(f, t->bits_per_weight_f16);
    fputc(',', f);
    csv_str(f, note);
    fprintf(f, ",%zu", selected);
    csv_num17(f, sx);
    csv_num17(f, se);
    fputs(",\n", f);
}

/* The pooled sums of config c over the measured cells, in row order (as totals_add). */
static void pooled(const sq_report *rep, size_t c, double *sx, double *se)
{
    *sx = *se = 0.0;
    for (size_t r = 0; r < rep->n_rows; r++)
        if (rep->rows[r].cells[c].status == SQ_REPORT_QUANTIZED) {
            *sx += rep->rows[r].cells[c].sum_x2;
            *se += rep->rows[r].cells[c].sum_e2;
        }
}

sq_status sq_report_write_csv(const sq_report *rep, const char *path, sq_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    fputs(CSV_HEADER, f);
    for (size_t r = 0; r < rep->n_rows; r++) {
        const sq_report_row *row = &rep->rows[r];
        char shp[200];
        sq_shape_format(row->shape, row->ndim, shp, sizeof shp);
        for (size_t c = 0; c < rep->n_configs; c++) {
            const sq_report_cell *x = &row->cells[c];
            char desc[96];
            sq_qconfig_describe_from(&rep->configs[c], 1, desc, sizeof desc);
            csv_lead(f, "tensor", row->name, shp, row->type_name, row->numel, row->fp32_bytes, row->file_bytes, desc,
                     c, sq_report_status_name(x->status));
            csv_num(f, x->sqnr_db);
            csv_num(f, x->rmse);
            csv_num(f, x->max_abs_err);
            csv_num(f, x->median_abs_err);
            csv_num(f, x->p95_abs_err);
            fprintf(f, ",%zu,%zu,%zu,%zu", x->n_scales, x->code_bytes, x->meta_bytes, x->after_bytes);
            csv_num(f, x->bits_per_weight);
            csv_num(f, x->bits_per_weight_f16);
            fputc(',', f);
            csv_str(f, x->note);
            fprintf(f, ",%zu", row->index);
            csv_num17(f, x->sum_x2);
            csv_num17(f, x->sum_e2);
            csv_num17(f, x->bits_per_weight_f16);
            fputc('\n', f);
        }
    }
    for (size_t c = 0; c < rep->n_configs; c++) {
        char desc[96], note[64] = "";
        double sx, se;
        sq_qconfig_describe_from(&rep->configs[c], 1, desc, sizeof desc);
        if (rep->shards > 1)
            snprintf(note, sizeof note, "shard %zu/%zu", rep->shard, rep->shards);
        pooled(rep, c, &sx, &se);
        csv_total(f, &rep->totals[c], desc, c, rep->cancelled ? "cancelled" : "complete", note, rep->selected, sx, se);
    }
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    }
    sq_status st = write_atomic(path, buf, len, err);
    free(buf);
    return st;
}

/* ---- merging the CSV files of shards ------------------------------------------- */

#define CSV_FIELDS 26

/* One record of a CSV text: its bytes [start, end) (the line break
 * included) and its fields, unquoted, in one owned buffer. */
typedef struct csv_rec {
    const char *start, *end;
    char *text;                  /* the fields, each NUL-terminated */
    const char *field[CSV_FIELDS];
    size_t n_fields;
} csv_rec;

/* Parse the record at *p (RFC 4180); false at the end of the text or when
 * out of memory (*nomem set). */
static bool csv_next(const char **p, const char *end, csv_rec *r, bool *nomem)
{
    const char *s = *p;
    if (s >= end)
        return false;
    r->start = s;
    r->n_fields = 0;
    if (!(r->text = malloc((size_t)(end - s) + CSV_FIELDS + 1))) {
        *nomem = true;
        return false;
    }
    char *o = r->text;
    bool more = true;
    while (more) {
        if (r->n_fields < CSV_FIELDS)
            r->field[r->n_fields] = o;
        r->n_fields++;
        if (s < end && *s == '"') {
            s++;
            while (s < end) {
                if (*s == '"' && s + 1 < end && s[1] == '"') {
                    *o++ = '"';
                    s += 2;
                } else if (*s == '"') {
                    s++;
                    break;
                } else {
                    *o++ = *s++;
                }
            }
        }
        while (s < end && *s != ',' && *s != '\n')
            *o++ = *s++;
        *o++ = 0;
        if (s < end && *s == ',')
            s++;
        else
            more = false;
    }
    if (s < end)
        s++; /* the line break */
    r->end = s;
    *p = s;
    return true;
}

/* Strict unsigned integer; false otherwise. */
static bool parse_size(const char *s, size_t *out)
{
    char *e;
    if (!*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &e, 10);
    if (errno || *e || v > SIZE_MAX)
        return false;
    *out = (size_t)v;
    return true;
}

static bool parse_double(const char *s, double *out)
{
    char *e;
    if (!*s)
        return false;
    *out = strtod(s, &e);
    return *e == 0;
}

static bool parse_status(const char *s, sq_report_status *out)
{
    for (int k = SQ_REPORT_QUANTIZED; k <= SQ_REPORT_FAILED; k++)
        if (strcmp(s, sq_report_status_name((sq_report_status)k)) == 0) {
            *out = (sq_report_status)k;
            return true;
        }
    return false;
}

/* What merging needs of a tensor line. */
typedef struct merge_line {
    const char *start, *end;   /* the line as written */
    size_t index, ci;
} merge_line;

static int cmp_merge_line(const void *a, const void *b)
{
    const merge_line *x = a, *y = b;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return x->ci < y->ci ? -1 : x->ci > y->ci;
}

/* State of a merge: the shards' texts, their lines, the rebuilt report. */
typedef struct merge_state {
    char **texts;
    size_t *lens;
    merge_line *lines;
    size_t n_lines, cap_lines;
    size_t shards, selected, n_configs;
    bool *seen_shard;
    char (*desc)[96];
    sq_report *rep;
} merge_state;

static sq_status merge_bad(sq_error *err, const char *path, size_t line, const char *what)
{
    return sq_fail(err, SQ_ERR_FORMAT, "%s: line %zu: %s", path, line, what);
}

/* The whole of the file at path (caller frees *out). Errors: IO naming it, NOMEM. */
static sq_status read_text(const char *path, char **out, size_t *len, sq_error *err)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sq_fail(err, SQ_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *g = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
        if (!g) {
            free(b);
            b = NULL;
        } else {
            b = g;
            cap *= 2;
        }
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    if (!b)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    if (bad) {
        free(b);
        return sq_fail(err, SQ_ERR_IO, "%s: read error", path);
    }
    *out = b;
    *len = n;
    return SQ_OK;
}

/* Read one shard's CSV into m. */
static sq_status merge_read(merge_state *m, size_t k, const char *path, sq_error *err)
{
    sq_status st = read_text(path, &m->texts[k], &m->lens[k], err);
    if (st != SQ_OK)
        return st;
    const char *p = m->texts[k], *end = p + m->lens[k];
    size_t hl = strlen(CSV_HEADER);
    if (m->lens[k] < hl || memcmp(p, CSV_HEADER, hl) != 0)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: not a CSV of squint report (its header differs: written by another "
                       "version, or not a report)", path);
    p += hl;
    csv_rec r;
    bool nomem = false;
    size_t line = 1, totals = 0, shard = 0, shards = 0, selected = 0;
    while (csv_next(&p, end, &r, &nomem)) {
        line++;
        st = SQ_OK;
        size_t ci, idx;
        if (r.n_fields != CSV_FIELDS || !parse_size(r.field[8], &ci) || !parse_size(r.field[22], &idx))
            st = merge_bad(err, path, line, "not a line of squint report's CSV");
        else if (ci == 0)
            st = merge_bad(err, path, line, "config_index 0 (it counts from 1: a CSV of an older squint? run the "
                           "report again)");
        else if (strcmp(r.field[0], "total") == 0) {
            size_t a = 1, b = 1;
            if (strcmp(r.field[9], "complete") != 0)
                st = sq_fail(err, SQ_ERR_ARG, "%s: the report was interrupted (status %s): run that shard again", path,
                             r.field[9]);
            else if (r.field[21][0] && sscanf(r.field[21], "shard %zu/%zu", &a, &b) != 2)
                st = merge_bad(err, path, line, "a total line whose note is not \"shard K/N\"");
            else if (totals && (a != shard || b != shards || idx != selected))
                st = merge_bad(err, path, line, "total lines of different shards");
            if (st == SQ_OK) {
                shard = a;
                shards = b;
                selected = idx;
                if (totals == 0 && k == 0 && !(m->desc = calloc(1, sizeof *m->desc)))
                    st = sq_fail(err, SQ_ERR_NOMEM, "out of memory");
                if (st == SQ_OK && k == 0) {
                    char(*d)[96] = realloc(m->desc, (totals + 1) * sizeof *m->desc);
                    if (!d)
                        st = sq_fail(err, SQ_ERR_NOMEM, "out of memory");
                    else {
                        m->desc = d;
                        snprintf(m->desc[totals], sizeof m->desc[totals], "%s", r.field[7]);
                    }
                } else if (st == SQ_OK && (totals >= m->n_configs || ci != totals + 1 ||
                                           strcmp(m->desc[totals], r.field[7]) != 0))
                    st = sq_fail(err, SQ_ERR_ARG, "%s: its configurations differ from those of %s", path, "the first shard");
                totals++;
            }
        } else if (strcmp(r.field[0], "tensor") == 0) {
            if (m->n_lines == m->cap_lines) {
                size_t cap = m->cap_lines ? 2 * m->cap_lines : 64;
                merge_line *l = realloc(m->lines, cap * sizeof *l);
                if (!l)
                    st = sq_fail(err, SQ_ERR_NOMEM, "out of memory");
                else {
                    m->lines = l;
                    m->cap_lines = cap;
                }
            }
            if (st == SQ_OK)
                m->lines[m->n_lines++] = (merge_line){r.start, r.end, idx, ci - 1};
        } else {
            st = merge_bad(err, path, line, "neither a tensor nor a total line");
        }
        free(r.text);
        if (st != SQ_OK)
            return st;
    }
    if (nomem)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    if (totals == 0)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: no total lines (a report's CSV cut short?)", path);
    if (k == 0) {
        m->n_configs = totals;
        m->shards = shards;
        m->selected = selected;
        if (!(m->seen_shard = calloc(shards + 1, sizeof *m->seen_shard)))
            return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    } else if (totals != m->n_configs) {
        return sq_fail(err, SQ_ERR_ARG, "%s: its configurations differ from those of the first shard", path);
    } else if (shards != m->shards || selected != m->selected) {
        return sq_fail(err, SQ_ERR_ARG, "%s: shard %zu/%zu of %zu tensors does not belong with shards of %zu of %zu "
                       "tensors", path, shard, shards, selected, m->shards, m->selected);
    }
    if (shard < 1 || shard > shards)
        return merge_bad(err, path, line, "a shard number out of range");
    if (m->seen_shard[shard])
        return sq_fail(err, SQ_ERR_ARG, "%s: shard %zu/%zu given twice", path, shard, shards);
    m->seen_shard[shard] = true;
    return SQ_OK;
}

/* Rebuild row r's cell c from its line (what totals_add reads). */
static sq_status merge_cell(merge_state *m, const merge_line *l, sq_error *err)
{
    csv_rec rec;
    bool nomem = false;
    const char *p = l->start;
    if (!csv_next(&p, l->end, &rec, &nomem))
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    sq_report_row *r = &m->rep->rows[l->index - 1];
    sq_report_cell *c = &r->cells[l->ci];
    const char *const *f = rec.field;
    bool ok = parse_size(f[4], &r->numel) && parse_size(f[5], &r->fp32_bytes) && parse_size(f[6], &r->file_bytes) &&
              parse_status(f[9], &c->status) && parse_double(f[12], &c->max_abs_err) &&
              parse_size(f[16], &c->code_bytes) && parse_size(f[17], &c->meta_bytes) &&
              parse_size(f[18], &c->after_bytes) && parse_double(f[23], &c->sum_x2) &&
              parse_double(f[24], &c->sum_e2) && parse_double(f[25], &c->bits_per_weight_f16);
    free(rec.text);
    if (!ok)
        return sq_fail(err, SQ_ERR_FORMAT, "tensor %zu, configuration %zu: a malformed number", l->index, l->ci + 1);
    /* as cell_sizes_kept / cell_sizes_quant compute it */
    c->bits_per_weight = r->numel ? 8.0 * (double)c->after_bytes / (double)r->numel : 0.0;
    return SQ_OK;
}

static void merge_free(merge_state *m, size_t n)
{
    for (size_t k = 0; k < n; k++)
        free(m->texts[k]);
    free(m->texts);
    free(m->lens);
    free(m->lines);
    free(m->seen_shard);
    free(m->desc);
    sq_report_free(m->rep);
}

sq_status sq_report_merge_csv(const char *out, const char *const *shards, size_t n, sq_error *err)
{
    merge_state m;
    memset(&m, 0, sizeof m);
    if (n == 0)
        return sq_fail(err, SQ_ERR_ARG, "merge: no shard files");
    if (!(m.texts = calloc(n, sizeof *m.texts)) || !(m.lens = calloc(n, sizeof *m.lens))) {
        merge_free(&m, n);
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    }
    sq_status st = SQ_OK;
    for (size_t k = 0; k < n && st == SQ_OK; k++)
        st = merge_read(&m, k, shards[k], err);
    for (size_t k = 1; st == SQ_OK && k <= m.shards; k++)
        if (!m.seen_shard[k])
            st = sq_fail(err, SQ_ERR_ARG, "shard %zu/%zu is missing", k, m.shards);
    if (st == SQ_OK && m.n_lines != m.selected * m.n_configs)
        st = sq_fail(err, SQ_ERR_FORMAT, "the shards hold %zu tensor lines, not %zu (%zu tensors x %zu "
                     "configurations)", m.n_lines, m.selected * m.n_configs, m.selected, m.n_configs);
    if (st == SQ_OK)
        qsort(m.lines, m.n_lines, sizeof *m.lines, cmp_merge_line);
    for (size_t i = 0; st == SQ_OK && i < m.n_lines; i++)
        if (m.lines[i].index != i / m.n_configs + 1 || m.lines[i].ci != i % m.n_configs)
            st = sq_fail(err, SQ_ERR_FORMAT, "tensor %zu, configuration %zu: missing or given twice",
                         i / m.n_configs + 1, i % m.n_configs + 1);
    if (st == SQ_OK && (!(m.rep = calloc(1, sizeof *m.rep)) || !(m.rep->rows = calloc(m.selected + 1, sizeof *m.rep->rows)) ||
                        !(m.rep->totals = calloc(m.n_configs, sizeof *m.rep->totals))))
        st = sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    if (st == SQ_OK) {
        m.rep->n_configs = m.n_configs;
        for (size_t r = 0; st == SQ_OK && r < m.selected; r++) {
            m.rep->n_rows++;
            if (!(m.rep->rows[r].cells = calloc(m.n_configs, sizeof *m.rep->rows[r].cells)))
                st = sq_fail(err, SQ_ERR_NOMEM, "out of memory");
        }
        for (size_t c = 0; c < m.n_configs; c++)
            m.rep->totals[c].compression_ratio = 1.0;
    }
    for (size_t i = 0; st == SQ_OK && i < m.n_lines; i++)
        st = merge_cell(&m, &m.lines[i], err);
    for (size_t r = 0; st == SQ_OK && r < m.selected; r++)
        st = totals_add(m.rep, &m.rep->rows[r], err);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = NULL;
    if (st == SQ_OK) {
        totals_finish(m.rep);
        if (!(f = open_memstream(&buf, &len)))
            st = sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    }
    if (st == SQ_OK) {
        fputs(CSV_HEADER, f);
        for (size_t i = 0; i < m.n_lines; i++)
            fwrite(m.lines[i].start, 1, (size_t)(m.lines[i].end - m.lines[i].start), f);
        for (size_t c = 0; c < m.n_configs; c++) {
            double sx, se;
            pooled(m.rep, c, &sx, &se);
            csv_total(f, &m.rep->totals[c], m.desc[c], c, "complete", "", m.selected, sx, se);
        }
        if (fclose(f) != 0 || !buf)
            st = sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", out);
        else
            st = write_atomic(out, buf, len, err);
    }
    free(buf);
    merge_free(&m, n);
    return st;
}

/* ---- JSON --------------------------------------------------------------------------- */

/* A number, or null when not finite. */
static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* Set key to value (stolen); false when either allocation failed. */
static bool jset(json_t *o, const char *key, json_t *v)
{
    return v && json_object_set_new(o, key, v) == 0;
}

static json_t *json_config(const sq_qconfig *cfg)
{
    char desc[96];
    json_t *o = json_object();
    if (!o)
        return NULL;
    sq_qconfig_describe_from(cfg, 1, desc, sizeof desc);
    if (jset(o, "describe", json_string(desc)) && jset(o, "format", json_string(sq_format_name(cfg->format))) &&
        jset(o, "bits", json_integer(cfg->bits)) &&
        jset(o, "mode", json_string(sq_mode_name(cfg->mode))) &&
        jset(o, "granularity", json_string(sq_granularity_name(cfg->granularity))) &&
        jset(o, "axis", json_integer(cfg->axis + 1)) && jset(o, "group_size", json_integer((json_int_t)cfg->group_size)) &&
        jset(o, "rounding", json_string(sq_rounding_name(cfg->rounding))) &&
        jset(o, "zero_in_range", json_boolean(cfg->zero_in_range)) &&
        jset(o, "calibration", json_string(sq_calibration_name(cfg->calibration))) &&
        jset(o, "scale_dtype", json_string(cfg->format == SQ_FORMAT_INT ? sq_scale_store_name(cfg->scale_store)
                                                                          : sq_format_info_of((int)cfg->format)->scale_desc)))
        return o;
    json_decref(o);
    return NULL;
}

/* A double as exact decimal text (%.17g; "nan", "inf"), for merging. */
static json_t *jexact(double v)
{
    char b[40];
    if (isnan(v))
        snprintf(b, sizeof b, "nan");
    else if (isinf(v))
        snprintf(b, sizeof b, v > 0 ? "inf" : "-inf");
    else
        snprintf(b, sizeof b, "%.17g", v);
    return json_string(b);
}

static json_t *json_cell(const sq_report_cell *x)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (jset(o, "status", json_string(sq_report_status_name(x->status))) && jset(o, "sqnr_db", jnum(x->sqnr_db)) &&
        jset(o, "rmse", jnum(x->rmse)) && jset(o, "max_abs_err", jnum(x->max_abs_err)) &&
        jset(o, "median_abs_err", jnum(x->median_abs_err)) && jset(o, "p95_abs_err", jnum(x->p95_abs_err)) &&
        jset(o, "clipped", json_integer((json_int_t)x->clipped)) &&
        jset(o, "mse_round", jnum(x->mse_round)) && jset(o, "mse_clip", jnum(x->mse_clip)) &&
        jset(o, "n_scales", json_integer((json_int_t)x->n_scales)) &&
        jset(o, "code_bytes", json_integer((json_int_t)x->code_bytes)) &&
        jset(o, "meta_bytes", json_integer((json_int_t)x->meta_bytes)) &&
        jset(o, "after_bytes", json_integer((json_int_t)x->after_bytes)) &&
        jset(o, "bits_per_weight", jnum(x->bits_per_weight)) &&
        jset(o, "bits_per_weight_f16", jnum(x->bits_per_weight_f16)) &&
        jset(o, "note", x->note ? json_string(x->note) : json_null()) && jset(o, "sum_x2", jexact(x->sum_x2)) &&
        jset(o, "sum_e2", jexact(x->sum_e2)) && jset(o, "bpw_f16_exact", jexact(x->bits_per_weight_f16)))
        return o;
    json_decref(o);
    return NULL;
}

static json_t *json_row(const sq_report_row *r, size_t nc)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_t *shape = json_array(), *res = json_array();
    bool ok = jset(o, "name", json_string(r->name)) && jset(o, "index", json_integer((json_int_t)r->index));
    /* each set steals its array, also when it fails */
    ok = jset(o, "shape", shape) && ok;
    ok = ok && jset(o, "file_type", json_string(r->type_name)) && jset(o, "quantized", json_boolean(r->quantized)) &&
         jset(o, "numel", json_integer((json_int_t)r->numel)) &&
         jset(o, "fp32_bytes", json_integer((json_int_t)r->fp32_bytes)) &&
         jset(o, "file_bytes", json_integer((json_int_t)r->file_bytes));
    ok = jset(o, "results", res) && ok;
    for (int d = 0; ok && d < r->ndim; d++)
        ok = json_array_append_new(shape, json_integer((json_int_t)r->shape[d])) == 0;
    for (size_t c = 0; ok && c < nc; c++)
        ok = json_array_append_new(res, json_cell(&r->cells[c])) == 0;
    if (ok)
        return o;
    json_decref(o);
    return NULL;
}

static json_t *json_total(const sq_report_total *t, double sx, double se)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (jset(o, "num_tensors", json_integer((json_int_t)t->num_tensors)) &&
        jset(o, "num_quantized", json_integer((json_int_t)t->num_quantized)) &&
        jset(o, "num_fp32", json_integer((json_int_t)t->num_fp32)) &&
        jset(o, "num_failed", json_integer((json_int_t)t->num_failed)) &&
        jset(o, "numel", json_integer((json_int_t)t->numel)) &&
        jset(o, "fp32_bytes", json_integer((json_int_t)t->fp32_bytes)) &&
        jset(o, "file_bytes", json_integer((json_int_t)t->file_bytes)) &&
        jset(o, "code_bytes", json_integer((json_int_t)t->code_bytes)) &&
        jset(o, "meta_bytes", json_integer((json_int_t)t->meta_bytes)) &&
        jset(o, "quantized_bytes", json_integer((json_int_t)t->quantized_bytes)) &&
        jset(o, "compression_ratio", jnum(t->compression_ratio)) &&
        jset(o, "bits_per_weight", jnum(t->bits_per_weight)) &&
        jset(o, "bits_per_weight_f16", jnum(t->bits_per_weight_f16)) && jset(o, "sqnr_db", jnum(t->sqnr_db)) &&
        jset(o, "rmse", jnum(t->rmse)) && jset(o, "max_abs_err", jnum(t->max_abs_err)) &&
        jset(o, "sum_x2", jexact(sx)) && jset(o, "sum_e2", jexact(se)))
        return o;
    json_decref(o);
    return NULL;
}

/* The whole report as a JSON object (NULL on allocation failure). */
static json_t *json_report(const sq_report *rep)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_t *cfgs = json_array(), *rows = json_array(), *tots = json_array();
    bool ok = jset(o, "source", json_string(rep->source)) && jset(o, "cancelled", json_boolean(rep->cancelled)) &&
              jset(o, "tensors_in_file", json_integer((json_int_t)rep->tensors_in_file)) &&
              jset(o, "selected", json_integer((json_int_t)rep->selected)) &&
              jset(o, "shard", json_integer((json_int_t)rep->shard)) &&
              jset(o, "shards", json_integer((json_int_t)rep->shards));
    /* each set steals its array, also when it fails */
    ok = jset(o, "configs", cfgs) && ok;
    ok = jset(o, "rows", rows) && ok;
    ok = jset(o, "totals", tots) && ok;
    for (size_t c = 0; ok && c < rep->n_configs; c++) {
        double sx, se;
        pooled(rep, c, &sx, &se);
        ok = json_array_append_new(cfgs, json_config(&rep->configs[c])) == 0 &&
             json_array_append_new(tots, json_total(&rep->totals[c], sx, se)) == 0;
    }
    for (size_t r = 0; ok && r < rep->n_rows; r++)
        ok = json_array_append_new(rows, json_row(&rep->rows[r], rep->n_configs)) == 0;
    if (ok)
        return o;
    json_decref(o);
    return NULL;
}

/* Dump o (NULL: out of memory) to path atomically, as every JSON of the report is written. */
static sq_status json_write(json_t *o, const char *path, sq_error *err)
{
    char *s = o ? json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) : NULL;
    if (!s)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    size_t n = strlen(s);
    sq_status st = SQ_OK;
    sq_afile *af;
    if ((st = sq_afile_open_flags(path, SQ_AFILE_DASH_STDOUT, &af, err)) == SQ_OK) {
        if ((st = sq_afile_write(af, s, n, err)) != SQ_OK || (st = sq_afile_write(af, "\n", 1, err)) != SQ_OK)
            sq_afile_abort(af);
        else
            st = sq_afile_commit(af, err);
    }
    free(s);
    return st;
}

sq_status sq_report_write_json(const sq_report *rep, const char *path, sq_error *err)
{
    json_t *o = json_report(rep);
    sq_status st = json_write(o, path, err);
    json_decref(o);
    return st;
}

/* ---- merging the JSON files of shards -------------------------------------------- */

/* A non-negative integer member; false when missing or not one. */
static bool jsize(json_t *o, const char *key, size_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (size_t)json_integer_value(v);
    return true;
}

/* A number member (null: NaN); false when missing or neither. */
static bool jdouble(json_t *o, const char *key, double *out)
{
    json_t *v = json_object_get(o, key);
    if (json_is_null(v))
        *out = NAN;
    else if (json_is_number(v))
        *out = json_number_value(v);
    else
        return false;
    return true;
}

/* An exact-text member (jexact). */
static bool jexact_get(json_t *o, const char *key, double *out)
{
    const char *t = json_string_value(json_object_get(o, key));
    return t && parse_double(t, out);
}

static int cmp_json_row(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "index"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "index"));
    return x < y ? -1 : x > y;
}

sq_status sq_report_merge_json(const char *out, const char *const *shards, size_t n, sq_error *err)
{
    if (n == 0)
        return sq_fail(err, SQ_ERR_ARG, "merge: no shard files");
    json_t **doc = calloc(n, sizeof *doc), *first = NULL, *rows = NULL, *result = NULL;
    json_t **order = NULL;
    bool *seen = NULL;
    sq_report *rep = NULL;
    size_t shards_n = 0, selected = 0, nc = 0, total_rows = 0;
    sq_status st = doc ? SQ_OK : sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    for (size_t k = 0; st == SQ_OK && k < n; k++) {
        json_error_t je;
        size_t sh, shs, sel;
        if (!(doc[k] = json_load_file(shards[k], 0, &je))) {
            st = sq_fail(err, SQ_ERR_FORMAT, "%s: not JSON: %s (line %d)", shards[k], je.text, je.line);
            break;
        }
        json_t *d = doc[k], *cancel = json_object_get(d, "cancelled");
        if (!jsize(d, "shard", &sh) || !jsize(d, "shards", &shs) || !jsize(d, "selected", &sel) ||
            !json_is_array(json_object_get(d, "rows")) || !json_is_array(json_object_get(d, "configs")) ||
            !json_is_string(json_object_get(d, "source")) || !json_is_boolean(cancel)) {
            st = sq_fail(err, SQ_ERR_FORMAT, "%s: not a JSON of squint report (with shard, shards and selected)",
                         shards[k]);
            break;
        }
        if (json_is_true(cancel)) {
            st = sq_fail(err, SQ_ERR_ARG, "%s: the report was interrupted: run that shard again", shards[k]);
            break;
        }
        if (k == 0) {
            first = d;
            shards_n = shs;
            selected = sel;
            nc = json_array_size(json_object_get(d, "configs"));
            if (shs == 0 || !(seen = calloc(shs + 1, sizeof *seen)))
                st = shs ? sq_fail(err, SQ_ERR_NOMEM, "out of memory") : sq_fail(err, SQ_ERR_FORMAT, "%s: 0 shards", shards[k]);
        } else if (shs != shards_n || sel != selected ||
                   !json_equal(json_object_get(d, "configs"), json_object_get(first, "configs")) ||
                   !json_equal(json_object_get(d, "source"), json_object_get(first, "source")) ||
                   !json_equal(json_object_get(d, "tensors_in_file"), json_object_get(first, "tensors_in_file"))) {
            st = sq_fail(err, SQ_ERR_ARG, "%s: not a shard of the same report as %s (file, tensor count, shard "
                         "count or configurations differ)", shards[k], shards[0]);
        }
        if (st == SQ_OK && (sh < 1 || sh > shards_n))
            st = sq_fail(err, SQ_ERR_FORMAT, "%s: shard %zu of %zu", shards[k], sh, shards_n);
        else if (st == SQ_OK && seen[sh])
            st = sq_fail(err, SQ_ERR_ARG, "%s: shard %zu/%zu given twice", shards[k], sh, shards_n);
        if (st == SQ_OK) {
            seen[sh] = true;
            total_rows += json_array_size(json_object_get(d, "rows"));
        }
    }
    for (size_t k = 1; st == SQ_OK && k <= shards_n; k++)
        if (!seen[k])
            st = sq_fail(err, SQ_ERR_ARG, "shard %zu/%zu is missing", k, shards_n);
    if (st == SQ_OK && total_rows != selected)
        st = sq_fail(err, SQ_ERR_FORMAT, "the shards hold %zu rows, not %zu", total_rows, selected);
    if (st == SQ_OK && !(order = malloc((selected + 1) * sizeof *order)))
        st = sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    size_t m = 0;
    for (size_t k = 0; st == SQ_OK && k < n; k++) {
        json_t *r = json_object_get(doc[k], "rows");
        for (size_t i = 0; st == SQ_OK && i < json_array_size(r); i++) {
            json_t *row = json_array_get(r, i);
            size_t idx;
            if (!json_is_object(row) || !jsize(row, "index", &idx) ||
                json_array_size(json_object_get(row, "results")) != nc)
                st = sq_fail(err, SQ_ERR_FORMAT, "%s: row %zu: not a report row", shards[k], i + 1);
            else
                order[m++] = row;
        }
    }
    if (st == SQ_OK)
        qsort(order, m, sizeof *order, cmp_json_row);
    for (size_t i = 0; st == SQ_OK && i < m; i++)
        if ((size_t)json_integer_value(json_object_get(order[i], "index")) != i + 1)
            st = sq_fail(err, SQ_ERR_FORMAT, "tensor %zu: missing or given twice", i + 1);
    if (st == SQ_OK && (!(rep = calloc(1, sizeof *rep)) || !(rep->rows = calloc(m + 1, sizeof *rep->rows)) ||
                        !(rep->totals = calloc(nc + 1, sizeof *rep->totals))))
        st = sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    if (st == SQ_OK) {
        rep->n_configs = nc;
        for (size_t c = 0; c < nc; c++)
            rep->totals[c].compression_ratio = 1.0;
    }
    for (size_t i = 0; st == SQ_OK && i < m; i++) {
        sq_report_row *r = &rep->rows[i];
        json_t *row = order[i], *res = json_object_get(row, "results");
        rep->n_rows++;
        if (!(r->cells = calloc(nc + 1, sizeof *r->cells))) {
            st = sq_fail(err, SQ_ERR_NOMEM, "out of memory");
            break;
        }
        bool ok = jsize(row, "numel", &r->numel) && jsize(row, "fp32_bytes", &r->fp32_bytes) &&
                  jsize(row, "file_bytes", &r->file_bytes);
        for (size_t c = 0; ok && c < nc; c++) {
            json_t *x = json_array_get(res, c);
            sq_report_cell *cell = &r->cells[c];
            const char *status = json_string_value(json_object_get(x, "status"));
            ok = status && parse_status(status, &cell->status) && jdouble(x, "max_abs_err", &cell->max_abs_err) &&
                 jsize(x, "code_bytes", &cell->code_bytes) && jsize(x, "meta_bytes", &cell->meta_bytes) &&
                 jsize(x, "after_bytes", &cell->after_bytes) && jexact_get(x, "sum_x2", &cell->sum_x2) &&
                 jexact_get(x, "sum_e2", &cell->sum_e2) && jexact_get(x, "bpw_f16_exact", &cell->bits_per_weight_f16);
            cell->bits_per_weight = r->numel ? 8.0 * (double)cell->after_bytes / (double)r->numel : 0.0;
        }
        if (!ok)
            st = sq_fail(err, SQ_ERR_FORMAT, "tensor %zu: a field is missing or malformed", i + 1);
        else
            st = totals_add(rep, r, err);
    }
    if (st == SQ_OK) {
        totals_finish(rep);
        json_t *tots = json_array();
        rows = json_array();
        result = json_object();
        bool ok = tots && rows && result && jset(result, "source", json_copy(json_object_get(first, "source"))) &&
                  jset(result, "cancelled", json_false()) &&
                  jset(result, "tensors_in_file", json_copy(json_object_get(first, "tensors_in_file"))) &&
                  jset(result, "selected", json_integer((json_int_t)selected)) && jset(result, "shard", json_integer(1)) &&
                  jset(result, "shards", json_integer(1)) &&
                  jset(result, "configs", json_deep_copy(json_object_get(first, "configs")));
        for (size_t i = 0; ok && i < m; i++)
            ok = json_array_append(rows, order[i]) == 0;
        for (size_t c = 0; ok && c < nc; c++) {
            double sx, se;
            pooled(rep, c, &sx, &se);
            ok = json_array_append_new(tots, json_total(&rep->totals[c], sx, se)) == 0;
        }
        ok = ok && json_object_set(result, "rows", rows) == 0 && json_object_set(result, "totals", tots) == 0;
        json_decref(tots);
        st = ok ? json_write(result, out, err) : sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", out);
    }
    json_decref(result);
    json_decref(rows);
    for (size_t k = 0; doc && k < n; k++)
        json_decref(doc[k]);
    free(doc);
    free(order);
    free(seen);
    sq_report_free(rep);
    return st;
}

/* ---- quantized export ----------------------------------------------------------- */

/* The safetensors dtype a tensor is copied in: its own (safetensors, and the
 * GGUF plain types, which share the names); NULL for a GGUF block type,
 * copied as U8 bytes. */
static const char *raw_dtype(const sq_tinfo *ti)
{
    static const char *const plain[] = {"F64", "F32", "F16",  "BF16",    "I64",     "I32",     "I16", "I8", "U8",
                                        "U16", "U32", "U64", "BOOL", "F8_E4M3", "F8_E5M2", "F8_E8M0", "C64"};
    for (size_t k = 0; k < sizeof plain / sizeof plain[0]; k++)
        if (strcmp(ti->type_name, plain[k]) == 0)
            return plain[k];
    return NULL;
}

/* Whether name is NAME.codes/.scales/.zero_points (or a format's .aux /
 * .tensor_scale) of a quantized tensor of ck. */
static bool is_qpart(const sq_checkpoint *ck, const char *name)
{
    static const char *const parts[] = {".codes", ".scales", ".zero_points", ".aux", ".tensor_scale"};
    size_t len = strlen(name);
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        size_t pl = strlen(parts[k]);
        if (len > pl && len - pl < 512 && strcmp(name + len - pl, parts[k]) == 0) {
            char base[512];
            memcpy(base, name, len - pl);
            base[len - pl] = 0;
            if (sq_ckpt_has_qtensor(ck, base))
                return true;
        }
    }
    return false;
}

/* Whether tensor ti is written quantized; when a selected rank >= 2 tensor
 * is not, why says so (else why[0] = 0). */
static bool export_quantizes(const sq_checkpoint *ck, const sq_tinfo *ti, bool selected, const sq_qconfig *cfg,
                             char *why, size_t n)
{
    sq_error e;
    why[0] = 0;
    if (!selected || ti->ndim < 2)
        return false;
    if (is_qpart(ck, ti->name))
        snprintf(why, n, "part of a quantized tensor of the source: copied as is");
    else if (!ti->loadable)
        snprintf(why, n, "type %s cannot be quantized: copied as is", ti->type_name);
    else if (sq_qconfig_check(cfg, ti->shape, ti->ndim, &e) != SQ_OK)
        snprintf(why, n, "%.250s: copied as is", e.msg);
    else if (strlen(ti->name) > SQ_ST_MAX_QNAME)
        snprintf(why, n, "name longer than %d bytes: copied as is", SQ_ST_MAX_QNAME);
    return why[0] == 0;
}

/* Metadata of the export: the source's `__metadata__` (safetensors; minus
 * the keys set here), squint.config, squint.scale_dtype, squint.source. */
static sq_status export_meta(sq_st_writer *w, const sq_checkpoint *ck, const sq_qconfig *cfg, const char *source,
                             sq_error *err)
{
    char desc[96];
    const char *k, *type, *v;
    sq_status st = SQ_OK;
    for (size_t i = 0; st == SQ_OK && sq_ckpt_get_format(ck) == SQ_CKPT_SAFETENSORS && sq_ckpt_metadata(ck, i, &k, &type, &v);
         i++)
        if (strcmp(k, "squint.config") && strcmp(k, "squint.scale_dtype") && strcmp(k, "squint.source"))
            st = sq_st_writer_add_metadata(w, k, v, err);
    sq_qconfig_describe_from(cfg, 1, desc, sizeof desc);
    if (st == SQ_OK)
        st = sq_st_writer_add_metadata(w, "squint.config", desc, err);
    if (st == SQ_OK) /* a format stores its scales its own way (quant.h, "Formats") */
        st = sq_st_writer_add_metadata(w, "squint.scale_dtype",
                                       cfg->format == SQ_FORMAT_INT ? sq_scale_store_name(cfg->scale_store)
                                                                    : sq_format_info_of((int)cfg->format)->scale_desc,
                                       err);
    if (st == SQ_OK && source) {
        const char *base = strrchr(source, '/');
        st = sq_st_writer_add_metadata(w, "squint.source", base ? base + 1 : source, err);
    }
    return st;
}

/* Copy tensor i byte for byte (declare it when !real): in its dtype, or a
 * GGUF block type as U8 bytes with squint.NAME.ggml_type and .shape. */
static sq_status export_raw(sq_st_writer *w, const sq_checkpoint *ck, size_t i, const sq_tinfo *ti, bool real,
                            sq_error *err)
{
    const char *dt = raw_dtype(ti);
    const uint8_t *p = NULL;
    size_t len = ti->nbytes, shp1[1] = {ti->nbytes};
    sq_status st;
    if (real && (st = sq_ckpt_raw(ck, i, &p, &len, err)) != SQ_OK)
        return st;
    if (dt) {
        st = sq_st_writer_add_raw(w, ti->name, dt, ti->shape, ti->ndim, p, len, err);
    } else {
        char key[600], shp[200];
        st = sq_st_writer_add_raw(w, ti->name, "U8", shp1, 1, p, len, err);
        snprintf(key, sizeof key, "squint.%.500s.ggml_type", ti->name);
        if (st == SQ_OK)
            st = sq_st_writer_add_metadata(w, key, ti->type_name, err);
        snprintf(key, sizeof key, "squint.%.500s.shape", ti->name);
        sq_shape_format(ti->shape, ti->ndim, shp, sizeof shp);
        if (st == SQ_OK)
            st = sq_st_writer_add_metadata(w, key, shp, err);
    }
    if (real)
        sq_ckpt_raw_release(ck, i);
    return st;
}

/* Load, quantize and write tensor i; warns when F16 scales fell back to F32. */
static sq_status export_quant(sq_st_writer *w, const sq_checkpoint *ck, size_t i, const sq_tinfo *ti,
                              const sq_qconfig *cfg, sq_export_warn_fn warn, void *user, sq_error *err)
{
    sq_tensor *x;
    sq_qtensor *q;
    sq_status st = sq_ckpt_load(ck, i, &x, err);
    if (st != SQ_OK)
        return st;
    st = sq_quantize(x, cfg, &q, err);
    sq_tensor_free(x);
    if (st != SQ_OK)
        return st;
    if (q->config.scale_store != cfg->scale_store && warn)
        warn(ti->name, "a scale is outside f16's normal range: scales stored as f32", user);
    st = sq_st_writer_add_qtensor(w, ti->name, q, err);
    sq_qtensor_free(q);
    return st;
}

/* Every tensor of ck into w (declarations when !real), in file order. */
static sq_status export_tensors(sq_st_writer *w, const sq_checkpoint *ck, const sq_qconfig *cfg, const filter *f,
                                bool real, const sq_report_opts *o, sq_export_warn_fn warn, void *user,
                                sq_export_summary *sum, sq_error *err)
{
    size_t n = sq_ckpt_count(ck);
    sq_report_progress pr = {0, n, 0, 0};
    for (size_t i = 0; i < n; i++)
        pr.bytes_total += sq_ckpt_info(ck, i)->nbytes;
    if (real && o->progress)
        o->progress(&pr, o->progress_user);
    for (size_t i = 0; i < n; i++) {
        const sq_tinfo *ti = sq_ckpt_info(ck, i);
        bool sel = filter_match(f, ti->name);
        char why[300];
        bool quant = export_quantizes(ck, ti, sel, cfg, why, sizeof why);
        sq_status st;
        if (real && o->cancel && *o->cancel)
            return sq_fail(err, SQ_ERR_INTERRUPTED, "interrupted, nothing written");
        if (real) /* every tensor is read: the next one's bytes arrive while this one is worked on */
            sq_ckpt_prefetch(ck, i + 1);
        if (real && why[0] && warn)
            warn(ti->name, why, user);
        if (quant && real)
            st = export_quant(w, ck, i, ti, cfg, warn, user, err);
        else if (quant)
            st = sq_st_writer_declare_qtensor(w, ti->name, cfg, ti->shape, ti->ndim, SQ_DTYPE_BF16,
                                              err); /* the longest dtype name: room for whatever the load says */
        else
            st = export_raw(w, ck, i, ti, real, err);
        if (st == SQ_ERR_ARG && err && strncmp(err->msg, "duplicate", 9) == 0) {
            char m[SQ_ERROR_MSG_MAX];
            snprintf(m, sizeof m, "%s", err->msg);
            return sq_fail(err, st, "%.200s: %.300s (a source tensor and a quantized tensor's part NAME.codes/"
                           ".scales/.zero_points or squint.NAME.* key clash: exclude or rename one)", ti->name, m);
        }
        if (st != SQ_OK)
            return sq_error_prefix(err, ti->name);
        sum->quantized += quant;
        sum->kept += !quant && sel;
        sum->excluded += !sel;
        pr.tensors_done++;
        pr.bytes_done += ti->nbytes;
        if (real && o->progress)
            o->progress(&pr, o->progress_user);
    }
    return SQ_OK;
}

/* The header room the export needs: the header of a writer declaring every
 * tensor with its largest parts. Fails early on name clashes. */
static sq_status export_reserve(const sq_checkpoint *ck, const char *source, const sq_qconfig *cfg, const filter *f,
                                size_t *reserve, sq_error *err)
{
    sq_st_writer *w;
    sq_export_summary sum = {0, 0, 0, 0};
    sq_report_opts o = sq_report_opts_default();
    sq_status st = sq_st_writer_new(&w, err);
    if (st != SQ_OK)
        return st;
    if ((st = export_meta(w, ck, cfg, source, err)) == SQ_OK &&
        (st = export_tensors(w, ck, cfg, f, false, &o, NULL, NULL, &sum, err)) == SQ_OK)
        st = sq_st_writer_header_size(w, reserve, err);
    sq_st_writer_free(w);
    return st;
}

sq_status sq_report_export(const sq_checkpoint *ck, const char *source, const sq_qconfig *cfg,
                           const sq_report_opts *opts, const char *path, sq_export_warn_fn warn,
                           void *warn_user, sq_export_summary *summary, sq_error *err)
{
    sq_export_summary sum = {0, 0, 0, 0};
    sq_report_opts o = opts ? *opts : sq_report_opts_default();
    sq_status st = sq_qconfig_check(cfg, NULL, 0, err);
    if (st != SQ_OK)
        return st;
    filter f;
    if ((st = filter_init(&f, &o, err)) != SQ_OK)
        return st;
    size_t reserve = 0, faults = sq_mapped_faults();
    sq_st_writer *w = NULL;
    if ((st = export_reserve(ck, source, cfg, &f, &reserve, err)) == SQ_OK &&
        (st = sq_st_writer_new(&w, err)) == SQ_OK && (st = export_meta(w, ck, cfg, source, err)) == SQ_OK &&
        (st = sq_st_writer_begin(w, path, reserve, err)) == SQ_OK &&
        (st = export_tensors(w, ck, cfg, &f, true, &o, warn, warn_user, &sum, err)) == SQ_OK) {
        if (sq_mapped_faults() != faults) /* raw copies read zeros where the source was cut */
            st = sq_fail(err, SQ_ERR_IO, "%s: the file shrank while it was being read; %s not written", source, path);
        else
            st = sq_st_writer_finish(w, err);
    }
    if (st == SQ_ERR_INTERRUPTED)
        sq_error_prefix(err, path);
    sq_st_writer_free(w);
    filter_free(&f);
    if (st == SQ_OK && summary)
        *summary = sum;
    return st;
}
