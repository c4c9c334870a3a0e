/*
 * blk_kquant.c - llama.cpp's K-quants: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
 *
 * A 256-element super-block is cut into sub-blocks (16 elements for Q2_K,
 * Q3_K, Q6_K; 32 for Q4_K, Q5_K). Each sub-block gets its own scale (and,
 * for Q2/Q4/Q5_K, a minimum) found by a small search; those are quantized
 * again against one half-precision super-block scale, and finally each
 * element is re-rounded against its sub-block's reconstructed scale.
 *
 * The searches are ggml's (make_qkx2_quants, make_qx_quants,
 * make_q3_quants, without importance weights), redone here step for step in
 * float32 — same operations, same order — so that the bytes agree with
 * ggml's reference quantizers exactly. Comments name the ggml function each
 * routine mirrors.
 */
#include <math.h>

#include "blk_int.h"
#include "blk_lanes.h"
#include "simd.h"

#define GROUP_EPS 1e-15f /* ggml's GROUP_MAX_EPS: a sub-block this small is all zero */

/* ---- shared searches ------------------------------------------------------ */

/* Weighted squared or absolute error of scale * L + min against x. */
static float fit_error(int n, const float *x, const float *w, const uint8_t *L, float scale, float min,
                       int use_mad)
{
    float err = 0;
    for (int i = 0; i < n; i++) {
        float diff = scale * L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        err += w[i] * diff;
    }
    return err;
}

/* Codes clamp(round(iscale * (x - min)), 0, nmax) into L. */
static void round_affine(int n, int nmax, const float *x, float iscale, float min, uint8_t *L)
{
    for (int i = 0; i < n; i++)
        L[i] = (uint8_t)sq_blk_clamp(sq_blk_nearest(iscale * (x[i] - min)), 0, nmax);
}

typedef struct affine_fit {
    float sum_w, sum_x; /* weighted sums of 1 and x over the sub-block */
    float max;          /* largest element */
} affine_fit;

/* One candidate of make_qkx2_quants' grid: codes for iscale, then the
 * least-squares scale and min for those codes. Returns 0 when degenerate. */
static int affine_candidate(int n, int nmax, const float *x, const float *w, const affine_fit *f, float iscale,
                            float min, uint8_t *Laux, float *scale_out, float *min_out)
{
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    round_affine(n, nmax, x, iscale, min, Laux);
    for (int i = 0; i < n; i++) {
        int l = Laux[i];
        sum_l += w[i] * l;
        sum_l2 += w[i] * l * l;
        sum_xl += w[i] * l * x[i];
    }
    float D = f->sum_w * sum_l2 - sum_l * sum_l;
    if (!(D > 0))
        return 0;
    float this_scale = (f->sum_w * sum_xl - f->sum_x * sum_l) / D;
    float this_min = (sum_l2 * f->sum_x - sum_l * sum_xl) / D;
    if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
    }
    *scale_out = this_scale;
    *min_out = this_min;
    return 1;
}

/* ggml's make_qkx2_quants: codes L in [0, nmax] and x ~ scale * L - *neg_min
 * over n elements with weights w, trying nstep + 1 scales around nmax /
 * (max - min). Returns the scale. */
static float fit_affine(int n, int nmax, const float *x, const float *w, uint8_t *L, float *neg_min, float rmin,
                        float rdelta, int nstep, int use_mad)
{
    affine_fit f = {w[0], w[0] * x[0], x[0]};
    float min = x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > f.max)
            f.max = x[i];
        f.sum_w += w[i];
        f.sum_x += w[i] * x[i];
    }
    if (min > 0)
        min = 0;
    if (f.max == min) {
        memset(L, 0, (size_t)n);
        *neg_min = -min;
        return 0.f;
    }
    float iscale = nmax / (f.max - min);
    float scale = 1 / iscale;
    round_affine(n, nmax, x, iscale, min, L);
    float best = fit_error(n, x, w, L, scale, min, use_mad);
    uint8_t Laux[32];
    for (int is = 0; is <= nstep; is++) {
        float s, m;
        iscale = (rmin + rdelta * is + nmax) / (f.max - min);
        if (!affine_candidate(n, nmax, x, w, &f, iscale, min, Laux, &s, &m))
            continue;
        float mad = fit_error(n, x, w, Laux, s, m, use_mad);
        if (mad < best) {
            memcpy(L, Laux, (size_t)n);
            best = mad;
            scale = s;
            min = m;
        }
    }
    *neg_min = -min;
    return scale;
}

#if SQ_BLK_LANES
/* fit_error for eight sub-blocks, one a lane. */
SQ_LANE_INLINE sq_lf lanes_fit_error(int n, const sq_lf *x, const sq_lf *w, const sq_li *L, sq_lf scale, sq_lf min,
                                     int use_mad)
{
    sq_lf err = lf_splat(0);
    for (int i = 0; i < n; i++) {
        sq_lf diff = scale * lf_from_li(L[i]) + min - x[i];
        diff = use_mad ? lf_abs(diff) : diff * diff;
        err += w[i] * diff;
    }
    return err;
}

SQ_LANE_INLINE void lanes_round_affine(int n, int nmax, const sq_lf *x, sq_lf iscale, sq_lf min, sq_li *L)
{
    for (int i = 0; i < n; i++)
        L[i] = li_clamp(li_nearest(iscale * (x[i] - min)), 0, nmax);
}

/* fit_affine for eight sub-blocks at once (element i of lane k is x[i][k]):
 * the same operations per lane, the scalar branches as masks. Degenerate
 * lanes (max == min) compute garbage that is replaced at the end, as the
 * scalar code returns early for them. */
SQ_LANE_INLINE void lanes_fit_affine(int n, int nmax, const sq_lf *x, const sq_lf *w, sq_li *L, sq_lf *scale_out,
                                     sq_lf *neg_min, float rmin, float rdelta, int nstep, int use_mad)
{
    sq_lf min = x[0], max = x[0], sum_w = w[0], sum_x = w[0] * x[0], zero = lf_splat(0);
    for (int i = 1; i < n; i++) {
        min = lf_sel(x[i] < min, x[i], min);
        max = lf_sel(x[i] > max, x[i], max);
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    min = lf_sel(min > zero, zero, min);
    sq_lf min0 = min;
    sq_li degenerate = max == min;
    sq_lf iscale = lf_splat((float)nmax) / (max - min);
    sq_lf scale = lf_splat(1.0f) / iscale;
    lanes_round_affine(n, nmax, x, iscale, min, L);
    sq_lf best = lanes_fit_error(n, x, w, L, scale, min, use_mad);
    sq_li Laux[32];
    for (int is = 0; is <= nstep; is++) {
        iscale = lf_splat(rmin + rdelta * is + nmax) / (max - min);
        lanes_round_affine(n, nmax, x, iscale, min, Laux);
        sq_lf sum_l = zero, sum_l2 = zero, sum_xl = zero;
        for (int i = 0; i < n; i++) {
            sq_lf l = lf_from_li(Laux[i]);
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        sq_lf D = sum_w * sum_l2 - sum_l * sum_l;
        sq_lf this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
        sq_lf this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        sq_li pos = this_min > zero;
        this_min = lf_sel(pos, zero, this_min);
        this_scale = lf_sel(pos, sum_xl / sum_l2, this_scale);
        sq_lf mad = lanes_fit_error(n, x, w, Laux, this_scale, this_min, use_mad);
        sq_li upd = (D > zero) & (mad < best);
        for (int i = 0; i < n; i++)
            L[i] = li_sel(upd, Laux[i], L[i]);
        best = lf_sel(upd, mad, best);
        scale = lf_sel(upd, this_scale, scale);
        min = lf_sel(upd, this_min, min);
    }
    for (int i = 0; i < n; i++)
        L[i] = li_sel(degenerate, li_splat(0), L[i]);
    *scale_out = lf_sel(degenerate, zero, scale);
    *neg_min = -lf_sel(degenerate, min0, min);
}
#endif

#if SQ_X86_KERNELS
/* ---- hand-written AVX-512 searches -----------------------------------------
 * The same per-lane operations as the lane code above (one sub-block a lane,
 * the scalar order of every sum), with mask registers for the branches:
 * GCC lowers the generic vectors' masks poorly. Each candidate's codes are
 * kept only as the scale and minimum they came from, and rebuilt once at the
 * end with the same operations. */

/* sq_blk_nearest per lane. */
SQ_AVX512 static inline __m512i avx_nearest(__m512 v)
{
    __m512i t = _mm512_castps_si512(_mm512_add_ps(v, _mm512_set1_ps(12582912.f)));
    return _mm512_sub_epi32(_mm512_and_si512(t, _mm512_set1_epi32(0x007fffff)), _mm512_set1_epi32(0x00400000));
}

SQ_AVX512 static inline __m512i avx_clamp(__m512i v, int lo, int hi)
{
    return _mm512_max_epi32(_mm512_min_epi32(v, _mm512_set1_epi32(hi)), _mm512_set1_epi32(lo));
}

/* Codes clamp(nearest((x[i] + dm) / d), lo, hi) + off for the n (a
 * multiple of 16) elements at x into L -- the final re-rounding loops, with
 * the scalar operations per lane (vdivps rounds as divss does). Without
 * use_dm, x[i] / d. */
SQ_AVX512 static inline void avx_requant(const float *x, int n, float d, float dm, int use_dm, int lo, int hi, int off,
                                  uint8_t *L)
{
    const __m512 vd = _mm512_set1_ps(d), vdm = _mm512_set1_ps(dm);
    for (int i = 0; i < n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        if (use_dm)
            v = _mm512_add_ps(v, vdm);
        __m512i l = avx_clamp(avx_nearest(_mm512_div_ps(v, vd)), lo, hi);
        _mm_storeu_si128((__m128i *)(L + i), _mm512_cvtepi32_epi8(_mm512_add_epi32(l, _mm512_set1_epi32(off))));
    }
}

/* avx_requant for nsub sub-blocks of n at x, sub-block j against d[j] (and
 * dm[j] unless dm is NULL), skipped where d[j] is 0 as the scalar loops
 * skip it. */
SQ_AVX512 static void avx_requant_subs(const float *x, int nsub, int n, const float *d, const float *dm, int lo,
                                       int hi, int off, uint8_t *L)
{
    for (int j = 0; j < nsub; j++)
        if (d[j])
            avx_requant(x + n * j, n, d[j], dm ? dm[j] : 0.f, dm != NULL, lo, hi, off, L + n * j);
}

/* The 16 x 16 bytes r[i][k] transposed: out + k * stride gets r[0..15][k]
 * for k < count. Four rounds of the same interleave, each rotating the
 * eight index bits (row, column) by one. */
SQ_AVX512 static inline __attribute__((always_inline)) void avx_transpose_bytes(__m128i r[16], int count,
                                                                                uint8_t *out, int stride)
{
#pragma GCC unroll 4
    for (int s = 0; s < 4; s++) {
        __m128i t[16];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            t[2 * i] = _mm_unpacklo_epi8(r[i], r[i + 8]);
            t[2 * i + 1] = _mm_unpackhi_epi8(r[i], r[i + 8]);
        }
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            r[i] = t[i];
    }
    for (int k = 0; k < count; k++)
        _mm_storeu_si128((__m128i *)(out + (size_t)k * (size_t)stride), r[k]);
}

/* Element i of the count (<= 16) sub-blocks of n (16 or 32) elements at x,
 * one a lane, into xt[i]; missing lanes read 0. Each 16 x 16 square is
 * transposed in registers by four rounds of the same two-source interleave
 * (each rotates the eight index bits, row and column, by one). */
SQ_AVX512 static inline __attribute__((always_inline)) void avx_transpose(int count, int n, const float *x,
                                                                          __m512 *xt)
{
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (int h = 0; h < n; h += 16) {
        __m512 r[16], t[16];
        for (int k = 0; k < 16; k++)
            r[k] = k < count ? _mm512_loadu_ps(x + k * n + h) : _mm512_setzero_ps();
#pragma GCC unroll 4
        for (int s = 0; s < 4; s++) {
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) {
                t[2 * i] = _mm512_permutex2var_ps(r[i], lo, r[i + 8]);
                t[2 * i + 1] = _mm512_permutex2var_ps(r[i], hi, r[i + 8]);
            }
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                r[i] = t[i];
        }
        for (int i = 0; i < 16; i++)
            xt[h + i] = r[i];
    }
}

/* The weights of the K-quant searches: |x| (Q2_K), or av_x + |x| with
 * av_x = sqrt(sum of x^2 / 32) over the sub-block, summed in order
 * (Q4_K, Q5_K) -- k45_blocks' and q2_k_block's arithmetic, per lane. */
enum { W_ABS = 1, W_RMS_ABS = 2 };

/* One candidate's codes and sums for the G groups of lanes, rounding in
 * the float domain (see avx_fit_affine); the clamps to [0, nmax] only when
 * some lane needs them (clamp_lo, clamp_hi). */
#define AVX_AFFINE_SUMS(G, n, nmax, clamp_lo, clamp_hi, cached)                                                 \
    do {                                                                                                       \
        const __m512 top_ = _mm512_set1_ps((float)(nmax));                                                     \
        _Pragma("GCC unroll 4") for (int i = 0; i < (n); i++) _Pragma("GCC unroll 4") for (int g = 0; g < (G); g++) \
        {                                                                                                      \
            __m512 d_ = cached ? xm[g][i] : _mm512_sub_ps(xt[g][i], min[g]);                                   \
            if (!(cached))                                                                                     \
                xm[g][i] = d_;                                                                                 \
            __m512 l = _mm512_roundscale_ps(_mm512_mul_ps(iscale[g], d_),                                       \
                                            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);                    \
            if (clamp_lo)                                                                                      \
                l = _mm512_max_ps(l, zero);                                                                    \
            if (clamp_hi)                                                                                      \
                l = _mm512_min_ps(l, top_);                                                                    \
            __m512 wl = _mm512_mul_ps(wt[g][i], l);                                                            \
            lt[g][i] = l;                                                                                      \
            sum_l[g] = _mm512_add_ps(sum_l[g], wl);                                                            \
            sum_l2[g] = _mm512_add_ps(sum_l2[g], _mm512_mul_ps(wl, l));                                        \
            sum_xl[g] = _mm512_add_ps(sum_xl[g], _mm512_mul_ps(wl, xt[g][i]));                                 \
        }                                                                                                      \
    } while (0)

/* fit_affine_group's search for up to 16 G sub-blocks of n (16 or 32),
 * inlined into one copy per format (constant G, n, nmax, use_mad); G
 * groups of sixteen lanes run interleaved, so that one group's in-order
 * sums fill the other's latencies. The candidates' codes round in the
 * float domain -- vrndscaleps to nearest even, clamped to [0, nmax], the
 * same code as sq_blk_nearest and the integer clamp (a -0.0 code adds and
 * multiplies into the sums and errors as +0.0 does) -- whenever every
 * lane's v = iscale * (x - min) stays within +-2^22 (checked at the lane's
 * extreme elements: the rounded products are monotone in x); otherwise
 * (some huge or degenerate scale) the exact integer rounding runs. The same
 * extremes tell whether any lane needs the clamps at all. */
SQ_AVX512 static inline __attribute__((always_inline)) void
avx_fit_affine(const int G, int count, const int n, const int nmax, const float *x, int wmode, uint8_t *L,
               float *scales, float *mins, float rmin, float rdelta, int nstep, const int use_mad)
{
    __m512 xt[4][32], wt[4][32], lt[4][32], xm[4][32]; /* xm: x - min, kept while min stays */
    if (n < 1 || n > 32 || G < 1 || G > 4)
        return;
    const __m512 zero = _mm512_setzero_ps();
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    const __m512i vnmax = _mm512_set1_epi32(nmax);
    const __m512 lim = _mm512_set1_ps(0x1p22f), nlim = _mm512_set1_ps(-0x1p22f);
    const __m512 half = _mm512_set1_ps(-0.5f), top = _mm512_set1_ps((float)nmax + 0.5f);
    __m512 min[4], max[4], xmin[4], min0[4], sum_w[4], sum_x[4], scale[4], src_is[4], src_min[4], best[4];
    __m512 iscale[4], sum_l[4], sum_l2[4], sum_xl[4];
    __mmask16 degenerate[4], care[4];
    for (int g = 0; g < G; g++) {
        int cg = sq_blk_clamp(count - 16 * g, 0, 16);
        avx_transpose(cg, n, x + 16 * g * n, xt[g]);
        if (wmode == W_ABS) {
            for (int i = 0; i < n; i++)
                wt[g][i] = _mm512_and_ps(xt[g][i], absmask);
        } else {
            __m512 sum_x2 = zero;
            for (int i = 0; i < n; i++)
                sum_x2 = _mm512_add_ps(sum_x2, _mm512_mul_ps(xt[g][i], xt[g][i]));
            __m512 av_x = _mm512_sqrt_ps(_mm512_div_ps(sum_x2, _mm512_set1_ps(32.0f)));
            for (int i = 0; i < n; i++)
                wt[g][i] = _mm512_add_ps(av_x, _mm512_and_ps(xt[g][i], absmask));
        }
        __m512 mn = xt[g][0], mx = xt[g][0], sw = wt[g][0], sx = _mm512_mul_ps(wt[g][0], xt[g][0]);
        for (int i = 1; i < n; i++) {
            mn = _mm512_min_ps(xt[g][i], mn); /* x < min ? x : min */
            mx = _mm512_max_ps(xt[g][i], mx); /* x > max ? x : max */
            sw = _mm512_add_ps(sw, wt[g][i]);
            sx = _mm512_add_ps(sx, _mm512_mul_ps(wt[g][i], xt[g][i]));
        }
        xmin[g] = mn;
        max[g] = mx;
        sum_w[g] = sw;
        sum_x[g] = sx;
        min[g] = _mm512_mask_mov_ps(mn, _mm512_cmp_ps_mask(mn, zero, _CMP_GT_OQ), zero);
        min0[g] = min[g];
        degenerate[g] = _mm512_cmp_ps_mask(max[g], min[g], _CMP_EQ_OQ);
        /* lanes whose rounding range matters: neither degenerate nor unused */
        care[g] = (__mmask16)(~degenerate[g] & ((1u << cg) - 1));
        __m512 is0 = _mm512_div_ps(_mm512_set1_ps((float)nmax), _mm512_sub_ps(max[g], min[g]));
        scale[g] = _mm512_div_ps(_mm512_set1_ps(1.0f), is0);
        /* the codes' source: L = clamp(nearest(src_is * (x - src_min))) */
        src_is[g] = is0;
        src_min[g] = min[g];
        __m512 b = zero;
        for (int i = 0; i < n; i++) {
            __m512i l = avx_nearest(_mm512_mul_ps(is0, _mm512_sub_ps(xt[g][i], min[g])));
            l = _mm512_max_epi32(_mm512_min_epi32(l, vnmax), _mm512_setzero_si512());
            __m512 diff =
                _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(scale[g], _mm512_cvtepi32_ps(l)), min[g]), xt[g][i]);
            diff = use_mad ? _mm512_and_ps(diff, absmask) : _mm512_mul_ps(diff, diff);
            b = _mm512_add_ps(b, _mm512_mul_ps(wt[g][i], diff));
        }
        best[g] = b;
    }
    int cached = 0; /* whether xm holds x - min for the current min */
    for (int is = 0; is <= nstep; is++) {
        int fast = 1, need_lo = 0, need_hi = 0;
#pragma GCC unroll 4
        for (int g = 0; g < G; g++) {
            __m512 range = _mm512_sub_ps(max[g], min[g]);
            iscale[g] = _mm512_div_ps(_mm512_set1_ps(rmin + rdelta * is + nmax), range);
            sum_l[g] = sum_l2[g] = sum_xl[g] = zero;
            __m512 a = _mm512_mul_ps(iscale[g], range), b = _mm512_mul_ps(iscale[g], _mm512_sub_ps(xmin[g], min[g]));
            __mmask16 in_range = _mm512_cmp_ps_mask(a, lim, _CMP_LT_OQ) & _mm512_cmp_ps_mask(b, nlim, _CMP_GT_OQ) &
                                 _mm512_cmp_ps_mask(a, nlim, _CMP_GT_OQ) & _mm512_cmp_ps_mask(b, lim, _CMP_LT_OQ);
            fast &= (in_range & care[g]) == care[g];
            __m512 vlo = _mm512_min_ps(a, b), vhi = _mm512_max_ps(a, b);
            need_lo |= (_mm512_cmp_ps_mask(vlo, half, _CMP_GE_OQ) & care[g]) != care[g];
            need_hi |= (_mm512_cmp_ps_mask(vhi, top, _CMP_LT_OQ) & care[g]) != care[g];
        }
/* AVX_AFFINE_SUMS with the clamps the lanes need (compile-time flags). */
#define AVX_AFFINE_CLAMPED(CACHED)                        \
    do {                                                  \
        if (need_lo && need_hi)                           \
            AVX_AFFINE_SUMS(G, n, nmax, 1, 1, CACHED);    \
        else if (need_hi)                                 \
            AVX_AFFINE_SUMS(G, n, nmax, 0, 1, CACHED);    \
        else if (need_lo)                                 \
            AVX_AFFINE_SUMS(G, n, nmax, 1, 0, CACHED);    \
        else                                              \
            AVX_AFFINE_SUMS(G, n, nmax, 0, 0, CACHED);    \
    } while (0)
        if (fast && cached) {
            AVX_AFFINE_CLAMPED(1);
        } else if (fast) {
            cached = 1;
            AVX_AFFINE_CLAMPED(0);
        } else {
            cached = 0;
            for (int i = 0; i < n; i++)
#pragma GCC unroll 4
                for (int g = 0; g < G; g++) {
                    __m512i li = avx_nearest(_mm512_mul_ps(iscale[g], _mm512_sub_ps(xt[g][i], min[g])));
                    li = _mm512_max_epi32(_mm512_min_epi32(li, vnmax), _mm512_setzero_si512());
                    __m512 l = _mm512_cvtepi32_ps(li), wl = _mm512_mul_ps(wt[g][i], l);
                    lt[g][i] = l;
                    sum_l[g] = _mm512_add_ps(sum_l[g], wl);
                    sum_l2[g] = _mm512_add_ps(sum_l2[g], _mm512_mul_ps(wl, l));
                    sum_xl[g] = _mm512_add_ps(sum_xl[g], _mm512_mul_ps(wl, xt[g][i]));
                }
        }
        __m512 D[4], this_scale[4], this_min[4], mad[4];
#pragma GCC unroll 4
        for (int g = 0; g < G; g++) {
            D[g] = _mm512_sub_ps(_mm512_mul_ps(sum_w[g], sum_l2[g]), _mm512_mul_ps(sum_l[g], sum_l[g]));
            this_scale[g] = _mm512_div_ps(
                _mm512_sub_ps(_mm512_mul_ps(sum_w[g], sum_xl[g]), _mm512_mul_ps(sum_x[g], sum_l[g])), D[g]);
            this_min[g] = _mm512_div_ps(
                _mm512_sub_ps(_mm512_mul_ps(sum_l2[g], sum_x[g]), _mm512_mul_ps(sum_l[g], sum_xl[g])), D[g]);
            __mmask16 pos = _mm512_cmp_ps_mask(this_min[g], zero, _CMP_GT_OQ);
            this_min[g] = _mm512_mask_mov_ps(this_min[g], pos, zero);
            this_scale[g] = _mm512_mask_div_ps(this_scale[g], pos, sum_xl[g], sum_l2[g]);
            mad[g] = zero;
        }
#pragma GCC unroll 4
        for (int i = 0; i < n; i++)
#pragma GCC unroll 4
            for (int g = 0; g < G; g++) {
                __m512 diff =
                    _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(this_scale[g], lt[g][i]), this_min[g]), xt[g][i]);
                diff = use_mad ? _mm512_and_ps(diff, absmask) : _mm512_mul_ps(diff, diff);
                mad[g] = _mm512_add_ps(mad[g], _mm512_mul_ps(wt[g][i], diff));
            }
#pragma GCC unroll 4
        for (int g = 0; g < G; g++) {
            __mmask16 upd =
                _mm512_cmp_ps_mask(D[g], zero, _CMP_GT_OQ) & _mm512_cmp_ps_mask(mad[g], best[g], _CMP_LT_OQ);
            if (upd)
                cached = 0;
            src_is[g] = _mm512_mask_mov_ps(src_is[g], upd, iscale[g]);
            src_min[g] = _mm512_mask_mov_ps(src_min[g], upd, min[g]);
            best[g] = _mm512_mask_mov_ps(best[g], upd, mad[g]);
            scale[g] = _mm512_mask_mov_ps(scale[g], upd, this_scale[g]);
            min[g] = _mm512_mask_mov_ps(min[g], upd, this_min[g]);
        }
    }
    for (int g = 0; g < G; g++) {
        int cg = sq_blk_clamp(count - 16 * g, 0, 16);
        __m128i codes[32];
        for (int i = 0; i < n; i++) {
            __m512i l = avx_nearest(_mm512_mul_ps(src_is[g], _mm512_sub_ps(xt[g][i], src_min[g])));
            l = _mm512_max_epi32(_mm512_min_epi32(l, vnmax), _mm512_setzero_si512());
            codes[i] = _mm512_cvtepi32_epi8(_mm512_mask_mov_epi32(l, degenerate[g], _mm512_setzero_si512()));
        }
        float sc[16], nm[16];
        _mm512_storeu_ps(sc, _mm512_mask_mov_ps(scale[g], degenerate[g], zero));
        _mm512_storeu_ps(nm,
                         _mm512_xor_ps(_mm512_set1_ps(-0.0f), _mm512_mask_mov_ps(min[g], degenerate[g], min0[g])));
        for (int k = 0; k < cg; k++) {
            scales[16 * g + k] = sc[k];
            mins[16 * g + k] = nm[k];
        }
        for (int i = 0; i < n; i += 16) /* lane k's codes: column k of codes[] */
            avx_transpose_bytes(codes + i, cg, L + 16 * g * n + i, n);
    }
}

/* count (at most 32) sub-blocks: two groups of lanes where there are more
 * than sixteen. */
SQ_AVX512 static void avx_fit_q2(int count, const float *x, uint8_t *L, float *scales, float *mins)
{
    if (count > 32)
        avx_fit_affine(4, count, 16, 3, x, W_ABS, L, scales, mins, -0.5f, 0.1f, 15, 1);
    else if (count > 16)
        avx_fit_affine(2, count, 16, 3, x, W_ABS, L, scales, mins, -0.5f, 0.1f, 15, 1);
    else
        avx_fit_affine(1, count, 16, 3, x, W_ABS, L, scales, mins, -0.5f, 0.1f, 15, 1);
}

SQ_AVX512 static void avx_fit_q4(int count, const float *x, uint8_t *L, float *scales, float *mins)
{
    if (count > 32)
        avx_fit_affine(4, count, 32, 15, x, W_RMS_ABS, L, scales, mins, -1.f, 0.1f, 20, 0);
    else if (count > 16)
        avx_fit_affine(2, count, 32, 15, x, W_RMS_ABS, L, scales, mins, -1.f, 0.1f, 20, 0);
    else
        avx_fit_affine(1, count, 32, 15, x, W_RMS_ABS, L, scales, mins, -1.f, 0.1f, 20, 0);
}

SQ_AVX512 static void avx_fit_q5(int count, const float *x, uint8_t *L, float *scales, float *mins)
{
    if (count > 32)
        avx_fit_affine(4, count, 32, 31, x, W_RMS_ABS, L, scales, mins, -0.5f, 0.1f, 15, 0);
    else if (count > 16)
        avx_fit_affine(2, count, 32, 31, x, W_RMS_ABS, L, scales, mins, -0.5f, 0.1f, 15, 0);
    else
        avx_fit_affine(1, count, 32, 31, x, W_RMS_ABS, L, scales, mins, -0.5f, 0.1f, 15, 0);
}
#endif

/* count (at most 16) consecutive sub-blocks of n elements (x and weights w
 * laid out alike): codes into L, scales and negated minima into scales[],
 * mins[]. Unused lanes hold zeros (a degenerate sub-block) and are
 * dropped. */
SQ_HOT static void fit_affine_group(int count, int n, int nmax, const float *x, const float *w, uint8_t *L,
                                    float *scales, float *mins, float rmin, int nstep, int use_mad)
{
#if SQ_BLK_LANES
    if (sq_blk_lanes_enabled()) {
        sq_lf xt[32] = {{0}}, wt[32] = {{0}}, sc, nm;
        sq_li Lt[32];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < count; k++) {
                xt[i][k] = x[k * n + i];
                wt[i][k] = w[k * n + i];
            }
        lanes_fit_affine(n, nmax, xt, wt, Lt, &sc, &nm, rmin, 0.1f, nstep, use_mad);
        for (int k = 0; k < count; k++) {
            scales[k] = sc[k];
            mins[k] = nm[k];
            for (int i = 0; i < n; i++)
                L[k * n + i] = (uint8_t)Lt[i][k];
        }
        return;
    }
#endif
    for (int k = 0; k < count; k++)
        scales[k] = fit_affine(n, nmax, x + k * n, w + k * n, L + k * n, &mins[k], rmin, 0.1f, nstep, use_mad);
}

/* The element of largest magnitude (first on ties) and that magnitude. */
static float signed_absmax(int n, const float *x, float *amax_out)
{
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    *amax_out = amax;
    return max;
}

/* Weighted (w = x^2) sums of x*l and l*l for codes clamp(round(iscale*x),
 * -nmax, nmax-1); the codes go to L (offset by nmax) when L is not NULL. */
static void symmetric_sums(int n, int nmax, const float *x, float iscale, int8_t *L, float *sumlx, float *suml2)
{
    float slx = 0, sl2 = 0;
    for (int i = 0; i < n; i++) {
        int l = sq_blk_clamp(sq_blk_nearest(iscale * x[i]), -nmax, nmax - 1);
        if (L)
            L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        slx += w * x[i] * l;
        sl2 += w * l * l;
    }
    *sumlx = slx;
    *suml2 = sl2;
}

/* ggml's make_qx_quants with rmse_type 1 and no weights: codes L (offset by
 * nmax) in [0, 2 nmax) and the scale, best of 19 trial scales. */
static float fit_symmetric(int n, int nmax, const float *x, int8_t *L)
{
    float amax, max = signed_absmax(n, x, &amax);
    if (amax < GROUP_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    float sumlx, suml2;
    symmetric_sums(n, nmax, x, -nmax / max, L, &sumlx, &suml2);
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0)
            continue;
        float iscale = -(nmax + 0.1f * is) / max;
        symmetric_sums(n, nmax, x, iscale, NULL, &sumlx, &suml2);
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            symmetric_sums(n, nmax, x, iscale, L, &sumlx, &suml2);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

#if SQ_BLK_LANES
/* symmetric_sums for eight sub-blocks, one a lane. */
SQ_LANE_INLINE void lanes_symmetric_sums(int n, int nmax, const sq_lf *x, sq_lf iscale, sq_li *L, sq_lf *sumlx,
                                         sq_lf *suml2)
{
    sq_lf slx = lf_splat(0), sl2 = lf_splat(0);
    for (int i = 0; i < n; i++) {
        sq_li li = li_clamp(li_nearest(iscale * x[i]), -nmax, nmax - 1);
        L[i] = li + li_splat(nmax);
        sq_lf l = lf_from_li(li), w = x[i] * x[i];
        slx += w * x[i] * l;
        sl2 += w * l * l;
    }
    *sumlx = slx;
    *suml2 = sl2;
}

/* fit_symmetric for eight sub-blocks at once; all-zero lanes compute
 * garbage replaced at the end (the scalar code returns early). */
SQ_LANE_INLINE void lanes_fit_symmetric(int n, int nmax, const sq_lf *x, sq_li *L, sq_lf *scale_out)
{
    sq_lf amax = lf_splat(0), max = lf_splat(0), zero = lf_splat(0);
    for (int i = 0; i < n; i++) {
        sq_li m = lf_abs(x[i]) > amax;
        amax = lf_sel(m, lf_abs(x[i]), amax);
        max = lf_sel(m, x[i], max);
    }
    sq_li tiny = amax < lf_splat(GROUP_EPS);
    sq_lf sumlx, suml2;
    lanes_symmetric_sums(n, nmax, x, lf_splat((float)-nmax) / max, L, &sumlx, &suml2);
    sq_lf scale = lf_sel(suml2 != zero, sumlx / suml2, zero);
    sq_lf best = scale * sumlx;
    sq_li Lc[32];
    for (int is = -9; is <= 9; is++) {
        if (is == 0)
            continue;
        sq_lf iscale = lf_splat(-(nmax + 0.1f * is)) / max;
        lanes_symmetric_sums(n, nmax, x, iscale, Lc, &sumlx, &suml2);
        sq_li upd = (suml2 > zero) & (sumlx * sumlx > best * suml2);
        for (int i = 0; i < n; i++)
            L[i] = li_sel(upd, Lc[i], L[i]);
        sq_lf ns = sumlx / suml2;
        scale = lf_sel(upd, ns, scale);
        best = lf_sel(upd, ns * sumlx, best);
    }
    for (int i = 0; i < n; i++)
        L[i] = li_sel(tiny, li_splat(0), L[i]);
    *scale_out = lf_sel(tiny, zero, scale);
}
#endif

#if SQ_X86_KERNELS
/* The element of largest magnitude (first on ties) per lane, and that
 * magnitude: the magnitude as a maximum (exact in any order), then the
 * first element reaching it (+0 when all are zero). */
SQ_AVX512 static inline __attribute__((always_inline)) __m512 avx_signed_absmax(int n, const __m512 *xt,
                                                                               __m512 *amax_out)
{
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    __m512 m[16], amax, max = _mm512_setzero_ps();
    if (n != 16)
        return max;
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        m[i] = _mm512_and_ps(xt[i], absmask);
#pragma GCC unroll 8
    for (int w = 8; w > 0; w /= 2)
#pragma GCC unroll 8
        for (int i = 0; i < w; i++)
            m[i] = _mm512_max_ps(m[i], m[i + w]);
    amax = _mm512_max_ps(m[0], _mm512_setzero_ps());
    __mmask16 pos = _mm512_cmp_ps_mask(amax, _mm512_setzero_ps(), _CMP_GT_OQ);
#pragma GCC unroll 16
    for (int i = 15; i >= 0; i--)
        max = _mm512_mask_mov_ps(max, pos & _mm512_cmp_ps_mask(_mm512_and_ps(xt[i], absmask), amax, _CMP_EQ_OQ),
                                 xt[i]);
    *amax_out = amax;
    return max;
}

/* symmetric_sums per lane (wx = x*x*x and w = x*x precomputed, as the
 * scalar products group). The codes round in the float domain with
 * vrndscaleps (to nearest, ties to even), which is nearest(v) while |v| <=
 * 2^22, true for every lane that counts (|v| <= |iscale * max| ~ nmax + 1;
 * the tiny lanes' results are dropped); a code may come out as -0.0, which
 * adds the same as +0.0 to sums that start at +0.0. The clamps to [-nmax,
 * nmax - 1] run only where some lane's extreme product needs them
 * (clamp_lo, clamp_hi). */
SQ_AVX512 static inline __attribute__((always_inline)) void
avx_symmetric_sums(const int P, int n, int nmax, const __m512 *xt, const __m512 *wxt, const __m512 *wt,
                   const __m512 *iscale, const int clamp_lo, const int clamp_hi, __m512 *sumlx, __m512 *suml2)
{
    const __m512 lo = _mm512_set1_ps(-(float)nmax), hi = _mm512_set1_ps((float)(nmax - 1));
    __m512 slx[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()}, sl2[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
#pragma GCC unroll 16
    for (int i = 0; i < n; i++)
#pragma GCC unroll 2
        for (int p = 0; p < P; p++) {
            __m512 l = _mm512_roundscale_ps(_mm512_mul_ps(iscale[p], xt[i]),
                                            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            if (clamp_lo)
                l = _mm512_max_ps(l, lo);
            if (clamp_hi)
                l = _mm512_min_ps(l, hi);
            slx[p] = _mm512_add_ps(slx[p], _mm512_mul_ps(wxt[i], l));
            sl2[p] = _mm512_add_ps(sl2[p], _mm512_mul_ps(_mm512_mul_ps(wt[i], l), l));
        }
    for (int p = 0; p < P; p++) {
        sumlx[p] = slx[p];
        suml2[p] = sl2[p];
    }
}

/* avx_symmetric_sums for P (1 or 2) candidates side by side, with the
 * clamps the lanes in care need for either (a clamp that changes nothing
 * is harmless): the products lie between iscale * xmin and iscale * xmax
 * (rounding is monotone). */
SQ_AVX512 static inline __attribute__((always_inline)) void
avx_symmetric_sums_any(const int P, int n, int nmax, const __m512 *xt, const __m512 *wxt, const __m512 *wt,
                       const __m512 *iscale, __m512 xmin, __m512 xmax, __mmask16 care, __m512 *sumlx, __m512 *suml2)
{
    int need_lo = 0, need_hi = 0;
    for (int p = 0; p < P; p++) {
        __m512 a = _mm512_mul_ps(iscale[p], xmin), b = _mm512_mul_ps(iscale[p], xmax);
        __m512 vlo = _mm512_min_ps(a, b), vhi = _mm512_max_ps(a, b);
        need_lo |= (_mm512_cmp_ps_mask(vlo, _mm512_set1_ps(-(float)nmax - 0.5f), _CMP_NLT_UQ) & care) != care;
        need_hi |= (_mm512_cmp_ps_mask(vhi, _mm512_set1_ps((float)nmax - 0.5f), _CMP_LT_OQ) & care) != care;
    }
    if (need_lo && need_hi)
        avx_symmetric_sums(P, n, nmax, xt, wxt, wt, iscale, 1, 1, sumlx, suml2);
    else if (need_lo)
        avx_symmetric_sums(P, n, nmax, xt, wxt, wt, iscale, 1, 0, sumlx, suml2);
    else if (need_hi)
        avx_symmetric_sums(P, n, nmax, xt, wxt, wt, iscale, 0, 1, sumlx, suml2);
    else
        avx_symmetric_sums(P, n, nmax, xt, wxt, wt, iscale, 0, 0, sumlx, suml2);
}

/* fit_symmetric_group's search for up to 16 sub-blocks of 16. */
SQ_AVX512 static void avx_fit_symmetric(int count, const int nmax, const float *x, int8_t *L, float *scales)
{
    enum { n = 16 };
    __m512 xt[n], wt[n], wxt[n], amax;
    const __m512 zero = _mm512_setzero_ps();
    avx_transpose(count, n, x, xt);
    for (int i = 0; i < n; i++) {
        wt[i] = _mm512_mul_ps(xt[i], xt[i]);
        wxt[i] = _mm512_mul_ps(wt[i], xt[i]);
    }
    __m512 max = avx_signed_absmax(n, xt, &amax), xmin = xt[0], xmax = xt[0];
    for (int i = 1; i < n; i++) {
        xmin = _mm512_min_ps(xmin, xt[i]);
        xmax = _mm512_max_ps(xmax, xt[i]);
    }
    __mmask16 tiny = _mm512_cmp_ps_mask(amax, _mm512_set1_ps(GROUP_EPS), _CMP_LT_OQ);
    const __mmask16 care = (__mmask16)(~tiny & ((1u << count) - 1));
    __m512 sumlx, suml2, src_is = _mm512_div_ps(_mm512_set1_ps((float)-nmax), max);
    avx_symmetric_sums_any(1, n, nmax, xt, wxt, wt, &src_is, xmin, xmax, care, &sumlx, &suml2);
    __m512 scale = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(suml2, zero, _CMP_NEQ_UQ), sumlx, suml2);
    __m512 best = _mm512_mul_ps(scale, sumlx);
    /* the trial scales is = -9..-1, 1..9 two at a time, their sums side by
     * side, the comparisons in order */
    for (int k = 0; k < 18; k += 2) {
        __m512 iscale[2], slx[2], sl2[2];
        for (int p = 0; p < 2; p++) {
            int is = k + p < 9 ? k + p - 9 : k + p - 8;
            iscale[p] = _mm512_div_ps(_mm512_set1_ps(-(nmax + 0.1f * is)), max);
        }
        avx_symmetric_sums_any(2, n, nmax, xt, wxt, wt, iscale, xmin, xmax, care, slx, sl2);
        for (int p = 0; p < 2; p++) {
            __mmask16 upd = _mm512_cmp_ps_mask(sl2[p], zero, _CMP_GT_OQ) &
                            _mm512_cmp_ps_mask(_mm512_mul_ps(slx[p], slx[p]), _mm512_mul_ps(best, sl2[p]), _CMP_GT_OQ);
            __m512 ns = _mm512_div_ps(slx[p], sl2[p]);
            scale = _mm512_mask_mov_ps(scale, upd, ns);
            best = _mm512_mask_mov_ps(best, upd, _mm512_mul_ps(ns, slx[p]));
            src_is = _mm512_mask_mov_ps(src_is, upd, iscale[p]);
        }
    }
    __m128i codes[n];
    for (int i = 0; i < n; i++) {
        __m512i l = avx_clamp(avx_nearest(_mm512_mul_ps(src_is, xt[i])), -nmax, nmax - 1);
        l = _mm512_add_epi32(l, _mm512_set1_epi32(nmax));
        codes[i] = _mm512_cvtepi32_epi8(_mm512_mask_mov_epi32(l, tiny, _mm512_setzero_si512()));
    }
    float sc[16];
    _mm512_storeu_ps(sc, _mm512_mask_mov_ps(scale, tiny, zero));
    for (int k = 0; k < count; k++)
        scales[k] = sc[k];
    avx_transpose_bytes(codes, count, (uint8_t *)L, n);
}

/* fit_q3 for the sixteen sub-blocks of 16 of each of G (1 to 4) Q3_K
 * super-blocks at x (codes at L + 256 g, scales at scales + 16 g). The
 * coordinate descent is a chain through every element, so the blocks' run
 * interleaved; passes go on while any block's lanes change (a pass that
 * changes nothing in a lane changes nothing after it either). */
SQ_AVX512 static inline __attribute__((always_inline)) void avx_fit_q3_g(const int G, const float *x, int8_t *L,
                                                                        float *scales)
{
    enum { n = 16, nmax = 4 };
    __m512 xt[4][n], wt[4][n], wxt[4][n], sumlx[4], suml2[4];
    __m512i lt[4][n];
    __mmask16 tiny[4];
    const __m512 zero = _mm512_setzero_ps();
    if (G < 1 || G > 4)
        return;
    for (int g = 0; g < G; g++) {
        __m512 amax;
        avx_transpose(16, n, x + SQ_QK * g, xt[g]);
        for (int i = 0; i < n; i++) {
            wt[g][i] = _mm512_mul_ps(xt[g][i], xt[g][i]);
            wxt[g][i] = _mm512_mul_ps(wt[g][i], xt[g][i]);
        }
        __m512 max = avx_signed_absmax(n, xt[g], &amax);
        tiny[g] = _mm512_cmp_ps_mask(amax, _mm512_set1_ps(GROUP_EPS), _CMP_LT_OQ);
        __m512 iscale = _mm512_div_ps(_mm512_set1_ps((float)-nmax), max);
        __m512 sx = zero, s2 = zero;
        for (int i = 0; i < n; i++) {
            lt[g][i] = avx_clamp(avx_nearest(_mm512_mul_ps(iscale, xt[g][i])), -nmax, nmax - 1);
            __m512 l = _mm512_cvtepi32_ps(lt[g][i]);
            sx = _mm512_add_ps(sx, _mm512_mul_ps(wxt[g][i], l));
            s2 = _mm512_add_ps(s2, _mm512_mul_ps(_mm512_mul_ps(wt[g][i], l), l));
        }
        sumlx[g] = sx;
        suml2[g] = s2;
    }
    for (int itry = 0; itry < 5; itry++) {
        __mmask16 changed = 0;
#pragma GCC unroll 2
        for (int i = 0; i < n; i++)
#pragma GCC unroll 4
            for (int g = 0; g < G; g++) {
                __m512 l = _mm512_cvtepi32_ps(lt[g][i]);
                __m512 slx = _mm512_sub_ps(sumlx[g], _mm512_mul_ps(wxt[g][i], l));
                __mmask16 go = _mm512_cmp_ps_mask(slx, zero, _CMP_GT_OQ);
                __m512 sl2 = _mm512_sub_ps(suml2[g], _mm512_mul_ps(_mm512_mul_ps(wt[g][i], l), l));
                __m512i nli =
                    avx_clamp(avx_nearest(_mm512_div_ps(_mm512_mul_ps(xt[g][i], sl2), slx)), -nmax, nmax - 1);
                go &= _mm512_cmpneq_epi32_mask(nli, lt[g][i]);
                __m512 nl = _mm512_cvtepi32_ps(nli);
                slx = _mm512_add_ps(slx, _mm512_mul_ps(wxt[g][i], nl));
                sl2 = _mm512_add_ps(sl2, _mm512_mul_ps(_mm512_mul_ps(wt[g][i], nl), nl));
                go &= _mm512_cmp_ps_mask(sl2, zero, _CMP_GT_OQ);
                go &= _mm512_cmp_ps_mask(_mm512_mul_ps(_mm512_mul_ps(slx, slx), suml2[g]),
                                         _mm512_mul_ps(_mm512_mul_ps(sumlx[g], sumlx[g]), sl2), _CMP_GT_OQ);
                lt[g][i] = _mm512_mask_mov_epi32(lt[g][i], go, nli);
                sumlx[g] = _mm512_mask_mov_ps(sumlx[g], go, slx);
                suml2[g] = _mm512_mask_mov_ps(suml2[g], go, sl2);
                changed |= go;
            }
        if (!changed)
            break;
    }
    for (int g = 0; g < G; g++) {
        __m128i codes[n];
        for (int i = 0; i < n; i++) {
            __m512i l = _mm512_add_epi32(lt[g][i], _mm512_set1_epi32(nmax));
            codes[i] = _mm512_cvtepi32_epi8(_mm512_mask_mov_epi32(l, tiny[g], _mm512_setzero_si512()));
        }
        _mm512_storeu_ps(scales + 16 * g, _mm512_mask_mov_ps(_mm512_div_ps(sumlx[g], suml2[g]), tiny[g], zero));
        avx_transpose_bytes(codes, 16, (uint8_t *)L + SQ_QK * g, n);
    }
}

/* avx_fit_q3_g for nsb (1 to 4) super-blocks. */
SQ_AVX512 static void avx_fit_q3(int nsb, const float *x, int8_t *L, float *scales)
{
    if (nsb == 4)
        avx_fit_q3_g(4, x, L, scales);
    else if (nsb == 3)
        avx_fit_q3_g(3, x, L, scales);
    else if (nsb == 2)
        avx_fit_q3_g(2, x, L, scales);
    else
        avx_fit_q3_g(1, x, L, scales);
}
#endif

/* fit_symmetric for count (at most 16) consecutive sub-blocks of n
 * elements: codes into L, scales into scales[]. */
SQ_HOT static void fit_symmetric_group(int count, int n, int nmax, const float *x, int8_t *L, float *scales)
{
#if SQ_X86_KERNELS
    if (n == 16 && sq_blk_lanes_enabled() && sq_use_avx512()) {
        avx_fit_symmetric(count, nmax, x, L, scales);
        return;
    }
#endif
#if SQ_BLK_LANES
    if (sq_blk_lanes_enabled()) {
        sq_lf xt[32] = {{0}}, sc;
        sq_li Lt[32];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < count; k++)
                xt[i][k] = x[k * n + i];
        lanes_fit_symmetric(n, nmax, xt, Lt, &sc);
        for (int k = 0; k < count; k++) {
            scales[k] = sc[k];
            for (int i = 0; i < n; i++)
                L[k * n + i] = (int8_t)Lt[i][k];
        }
        return;
    }
#endif
    for (int k = 0; k < count; k++)
        scales[k] = fit_symmetric(n, nmax, x + k * n, L + k * n);
}

/* One pass of make_q3_quants' coordinate descent over the codes L (not
 * offset). Returns how many codes changed. */
static int refine_q3_pass(int n, int nmax, const float *x, int8_t *L, float *sumlx, float *suml2)
{
    int changed = 0;
    for (int i = 0; i < n; i++) {
        float w = x[i] * x[i];
        float slx = *sumlx - w * x[i] * L[i];
        if (!(slx > 0))
            continue;
        float sl2 = *suml2 - w * L[i] * L[i];
        int nl = sq_blk_clamp(sq_blk_nearest(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (nl == L[i])
            continue;
        slx += w * x[i] * nl;
        sl2 += w * nl * nl;
        if (sl2 > 0 && slx * slx * *suml2 > *sumlx * *sumlx * sl2) {
            L[i] = (int8_t)nl;
            *sumlx = slx;
            *suml2 = sl2;
            changed++;
        }
    }
    return changed;
}

/* ggml's make_q3_quants with do_rmse: codes L (offset by nmax) and scale. */
static float fit_q3(int n, int nmax, const float *x, int8_t *L)
{
    float amax, max = signed_absmax(n, x, &amax);
    if (amax < GROUP_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    float sumlx, suml2;
    symmetric_sums(n, nmax, x, -nmax / max, L, &sumlx, &suml2);
    for (int i = 0; i < n; i++)
        L[i] = (int8_t)(L[i] - nmax);
    for (int itry = 0; itry < 5; itry++)
        if (!refine_q3_pass(n, nmax, x, L, &sumlx, &suml2))
            break;
    for (int i = 0; i < n; i++)
        L[i] = (int8_t)(L[i] + nmax);
    return sumlx / suml2;
}

/* Pack 256 two-bit codes: byte k of each 32-byte group of 128 elements
 * holds elements k, k+32, k+64, k+96 (low bits first). */
static void pack_2bit(const uint8_t *L, uint8_t *qs)
{
    for (int j = 0; j < SQ_QK; j += 128)
        for (int l = 0; l < 32; l++)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

/* ---- Q2_K: scales[16] qs[64] d dmin (84 bytes) ---------------------------- */

/* The scale bytes, half scales and final codes of one Q2_K block whose
 * sub-blocks are fitted (codes L, scales, minima); fast: the AVX-512
 * re-rounding. */
static void q2_k_finish(const float *x, uint8_t *L, const float *scales, const float *mins, uint8_t *b, int fast)
{
    uint8_t *sc = b;
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 16; j++) {
        if (scales[j] > max_scale)
            max_scale = scales[j];
        if (mins[j] > max_min)
            max_min = mins[j];
    }
    memset(sc, 0, 16);
    if (max_scale > 0) {
        float iscale = 15.f / max_scale;
        for (int j = 0; j < 16; j++)
            sc[j] = (uint8_t)sq_blk_nearest(iscale * scales[j]);
    }
    sq_blk_put_half(b + 80, max_scale > 0 ? max_scale / 15.f : 0.f);
    if (max_min > 0) {
        float iscale = 15.f / max_min;
        for (int j = 0; j < 16; j++)
            sc[j] = (uint8_t)(sc[j] | (sq_blk_nearest(iscale * mins[j]) << 4));
    }
    sq_blk_put_half(b + 82, max_min > 0 ? max_min / 15.f : 0.f);
    float dall = sq_blk_get_half(b + 80), dmin = sq_blk_get_half(b + 82), ds[16] = {0}, dms[16] = {0};
    for (int j = 0; j < 16; j++) {
        float d = dall * (sc[j] & 0xf);
        if (!d)
            continue;
        float dm = dmin * (sc[j] >> 4);
        if (fast) {
            ds[j] = d;
            dms[j] = dm;
            continue;
        }
        for (int i = 0; i < 16; i++)
            L[16 * j + i] = (uint8_t)sq_blk_clamp(sq_blk_nearest((x[16 * j + i] + dm) / d), 0, 3);
    }
#if SQ_X86_KERNELS
    if (fast)
        avx_requant_subs(x, 16, 16, ds, dms, 0, 3, 0, L);
#endif
    pack_2bit(L, b + 16);
}

SQ_HOT void sq_blk_q2_k_quant(const float *x, size_t nb, uint8_t *dst)
{
    uint8_t L[4 * SQ_QK];
    float w[SQ_QK], scales[64], mins[64];
#if SQ_X86_KERNELS
    if (sq_blk_lanes_enabled() && sq_use_avx512()) {
        for (size_t i = 0; i < nb; i += 4) { /* four blocks' 64 sub-blocks at once */
            int nsb = nb - i >= 4 ? 4 : (int)(nb - i);
            avx_fit_q2(16 * nsb, x + i * SQ_QK, L, scales, mins);
            for (int s = 0; s < nsb; s++)
                q2_k_finish(x + (i + (size_t)s) * SQ_QK, L + s * SQ_QK, scales + 16 * s, mins + 16 * s,
                            dst + (i + (size_t)s) * 84, 1);
        }
        return;
    }
#endif
    for (size_t i = 0; i < nb; i++) {
        const float *xb = x + i * SQ_QK;
        for (int k = 0; k < SQ_QK; k++)
            w[k] = fabsf(xb[k]);
        fit_affine_group(16, 16, 3, xb, w, L, scales, mins, -0.5f, 15, 1);
        q2_k_finish(xb, L, scales, mins, dst + i * 84, 0);
    }
}

void sq_blk_q2_k_dequant(const uint8_t *src, size_t nb, float *dst)
{
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + i * 84, *q = b + 16;
        float d = sq_blk_get_half(b + 80), min = sq_blk_get_half(b + 82), *y = dst + i * SQ_QK;
        for (int sub = 0; sub < 16; sub++) { /* element 16 sub + l: bits 2 s of q[32 n + l % 32] */
            int n = sub / 8, shift = 2 * (sub % 8 / 2);
            const uint8_t *qs = q + 32 * n + 16 * (sub % 2);
            float dl = d * (b[sub] & 0xf), ml = min * (b[sub] >> 4), *o = y + 16 * sub;
            for (int l = 0; l < 16; l++)
                o[l] = dl * ((qs[l] >> shift) & 3) - ml;
        }
    }
}

/* ---- Q3_K: hmask[32] qs[64] scales[12] d (110 bytes) ---------------------- */

/* Six-bit scale j (biased by 32) from the packed 12 bytes. */
static int q3_scale(const uint8_t *s, int j)
{
    int lo = j < 8 ? (s[j] & 0xf) : (s[j - 8] >> 4);
    return (lo | (((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
}

static void q3_k_put_scales(const float *scales, float max_scale, uint8_t *s)
{
    float iscale = -32.f / max_scale;
    for (int j = 0; j < 16; j++) {
        int l = sq_blk_clamp(sq_blk_wrap_i8(sq_blk_nearest(iscale * scales[j])), -32, 31) + 32;
        if (j < 8)
            s[j] = (uint8_t)(l & 0xf);
        else
            s[j - 8] = (uint8_t)(s[j - 8] | ((l & 0xf) << 4));
        s[j % 4 + 8] = (uint8_t)(s[j % 4 + 8] | ((l >> 4) << (2 * (j / 4))));
    }
}

static void q3_k_pack(uint8_t *L, uint8_t *b)
{
    memset(b, 0, 32);
    for (int j = 0; j < SQ_QK; j += 32) /* codes are 0..7: bit 2 goes to hmask */
        for (int k = 0; k < 32; k++) {
            b[k] = (uint8_t)(b[k] | ((L[j + k] >> 2) << (j / 32)));
            L[j + k] &= 3;
        }
    pack_2bit(L, b + 32);
}

/* The scale bytes, half scale and final codes of one Q3_K block whose
 * sub-blocks are fitted (codes L, scales); fast: the AVX-512 re-rounding. */
static void q3_k_finish(const float *x, int8_t *L, const float *scales, uint8_t *b, int fast)
{
    float max_scale = 0, amax = 0;
    for (int j = 0; j < 16; j++) {
        if (fabsf(scales[j]) > amax) {
            amax = fabsf(scales[j]);
            max_scale = scales[j];
        }
    }
    memset(b + 96, 0, 12);
    if (max_scale) {
        q3_k_put_scales(scales, max_scale, b + 96);
        sq_blk_put_half(b + 108, 1 / (-32.f / max_scale));
    } else {
        sq_blk_put_half(b + 108, 0.f);
    }
    float dall = sq_blk_get_half(b + 108), ds[16];
    for (int j = 0; j < 16; j++) {
        float d = dall * q3_scale(b + 96, j);
        ds[j] = d;
        if (!d || fast)
            continue;
        for (int i = 0; i < 16; i++)
            L[16 * j + i] = (int8_t)(sq_blk_clamp(sq_blk_nearest(x[16 * j + i] / d), -4, 3) + 4);
    }
#if SQ_X86_KERNELS
    if (fast)
        avx_requant_subs(x, 16, 16, ds, NULL, -4, 3, 4, (uint8_t *)L);
#endif
    q3_k_pack((uint8_t *)L, b);
}

SQ_HOT void sq_blk_q3_k_quant(const float *x, size_t nb, uint8_t *dst)
{
    int8_t L[4 * SQ_QK];
    float scales[64];
#if SQ_X86_KERNELS
    if (sq_blk_lanes_enabled() && sq_use_avx512()) {
        for (size_t i = 0; i < nb; i += 4) { /* four blocks' searches interleaved */
            int nsb = nb - i >= 4 ? 4 : (int)(nb - i);
            avx_fit_q3(nsb, x + i * SQ_QK, L, scales);
            for (int s = 0; s < nsb; s++)
                q3_k_finish(x + (i + (size_t)s) * SQ_QK, L + s * SQ_QK, scales + 16 * s, dst + (i + (size_t)s) * 110,
                            1);
        }
        return;
    }
#endif
    for (size_t i = 0; i < nb; i++) {
        const float *xb = x + i * SQ_QK;
        for (int j = 0; j < 16; j++)
            scales[j] = fit_q3(16, 4, xb + 16 * j, L + 16 * j);
        q3_k_finish(xb, L, scales, dst + i * 110, 0);
    }
}

void sq_blk_q3_k_dequant(const uint8_t *src, size_t nb, float *dst)
{
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + i * 110, *q = b + 32;
        float d = sq_blk_get_half(b + 108), *y = dst + i * SQ_QK;
        for (int sub = 0; sub < 16; sub++) { /* element 16 sub + l (e = 128 n + 32 s + k) */
            int n = sub / 8, s = sub % 8 / 2, k0 = 16 * (sub % 2), shift = 2 * s, hbit = 4 * n + s;
            const uint8_t *qs = q + 32 * n + k0, *hm = b + k0;
            float dl = d * q3_scale(b + 96, sub), *o = y + 16 * sub;
            for (int l = 0; l < 16; l++)
                o[l] = dl * (((qs[l] >> shift) & 3) - ((hm[l] >> hbit) & 1 ? 0 : 4));
        }
    }
}

/* ---- Q4_K / Q5_K: d dmin scales[12] [qh[32]] qs[128] ---------------------- */

/* ggml's get_scale_min_k4: six-bit scale and min of sub-block j. */
static void k4_scale_min(const uint8_t *s, int j, int *sc, int *m)
{
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

static void k4_put_scales(const float *scales, const float *mins, float max_scale, float max_min, uint8_t *s)
{
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < 8; j++) {
        int ls = sq_blk_min(63, sq_blk_nearest(inv_scale * scales[j]) & 0xff);
        int lm = sq_blk_min(63, sq_blk_nearest(inv_min * mins[j]) & 0xff);
        if (j < 4) {
            s[j] = (uint8_t)ls;
            s[j + 4] = (uint8_t)lm;
        } else {
            s[j + 4] = (uint8_t)((ls & 0xf) | ((lm & 0xf) << 4));
            s[j - 4] = (uint8_t)(s[j - 4] | ((ls >> 4) << 6));
            s[j] = (uint8_t)(s[j] | ((lm >> 4) << 6));
        }
    }
}

/* Shared by Q4_K (nmax 15) and Q5_K (nmax 31), for one super-block whose
 * sub-blocks are fitted: the scale bytes and half scales at b, then the
 * final codes in L. */
static void k45_finish(const float *x, const float *scales, const float *mins, uint8_t *b, int nmax, uint8_t *L,
                       int fast)
{
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        if (scales[j] > max_scale)
            max_scale = scales[j];
        if (mins[j] > max_min)
            max_min = mins[j];
    }
    k4_put_scales(scales, mins, max_scale, max_min, b + 4);
    sq_blk_put_half(b, max_scale / 63.f);
    sq_blk_put_half(b + 2, max_min / 63.f);
    float dall = sq_blk_get_half(b), dmin = sq_blk_get_half(b + 2), ds[8] = {0}, dms[8] = {0};
    for (int j = 0; j < 8; j++) {
        int sc, m;
        k4_scale_min(b + 4, j, &sc, &m);
        float d = dall * sc;
        if (!d)
            continue;
        float dm = dmin * m;
        if (fast) {
            ds[j] = d;
            dms[j] = dm;
            continue;
        }
        for (int i = 0; i < 32; i++)
            L[32 * j + i] = (uint8_t)sq_blk_clamp(sq_blk_nearest((x[32 * j + i] + dm) / d), 0, nmax);
    }
#if SQ_X86_KERNELS
    if (fast)
        avx_requant_subs(x, 8, 32, ds, dms, 0, nmax, 0, L);
#endif
}

/* Fit the sub-blocks of nsb (1 to 8) consecutive Q4_K/Q5_K super-blocks
 * together (the AVX-512 lanes take 64, the portable lanes sixteen), then
 * finish each: block s gets its bytes at b + s * bb and its codes at L +
 * 256 s. */
static void k45_blocks(const float *x, int nsb, uint8_t *b, size_t bb, int nmax, float rmin, int nstep, uint8_t *L)
{
    float w[2 * SQ_QK], scales[64], mins[64];
#if SQ_X86_KERNELS
    if (sq_blk_lanes_enabled() && sq_use_avx512()) {
        (nmax == 15 ? avx_fit_q4 : avx_fit_q5)(8 * nsb, x, L, scales, mins);
        for (int s = 0; s < nsb; s++)
            k45_finish(x + s * SQ_QK, scales + 8 * s, mins + 8 * s, b + (size_t)s * bb, nmax, L + s * SQ_QK, 1);
        return;
    }
#endif
    for (int p = 0; p < nsb; p += 2) {
        int np = sq_blk_min(2, nsb - p);
        const float *xp = x + p * SQ_QK;
        for (int j = 0; j < 8 * np; j++) {
            const float *xb = xp + 32 * j;
            float sum_x2 = 0;
            for (int l = 0; l < 32; l++)
                sum_x2 += xb[l] * xb[l];
            float av_x = sqrtf(sum_x2 / 32);
            for (int l = 0; l < 32; l++)
                w[32 * j + l] = av_x + fabsf(xb[l]);
        }
        fit_affine_group(8 * np, 32, nmax, xp, w, L + p * SQ_QK, scales, mins, rmin, nstep, 0);
        for (int s = 0; s < np; s++)
            k45_finish(xp + s * SQ_QK, scales + 8 * s, mins + 8 * s, b + (size_t)(p + s) * bb, nmax,
                       L + (p + s) * SQ_QK, 0);
    }
}

#if SQ_X86_KERNELS
/* q4_k_pack and q5_k_pack, 32 codes a vector (the shifts run on 16-bit
 * lanes; the masks keep every byte's bits its own). */
SQ_AVX512 static void avx_q45_k_pack(const uint8_t *L, uint8_t *b, int five)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), m1 = _mm256_set1_epi8(0x01);
    __m256i qh = _mm256_setzero_si256();
    uint8_t *ql = b + (five ? 48 : 16);
    for (int n = 0; n < SQ_QK; n += 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(L + n));
        __m256i c = _mm256_loadu_si256((const __m256i *)(L + n + 32));
        __m256i lo = _mm256_or_si256(_mm256_and_si256(a, m4), _mm256_slli_epi16(_mm256_and_si256(c, m4), 4));
        _mm256_storeu_si256((__m256i *)(ql + n / 2), lo);
        if (five) {
            __m256i ha = _mm256_and_si256(_mm256_srli_epi16(a, 4), m1);
            __m256i hc = _mm256_and_si256(_mm256_srli_epi16(c, 4), m1);
            qh = _mm256_or_si256(qh, _mm256_sll_epi16(ha, _mm_cvtsi32_si128(n / 32)));
            qh = _mm256_or_si256(qh, _mm256_sll_epi16(hc, _mm_cvtsi32_si128(n / 32 + 1)));
        }
    }
    if (five)
        _mm256_storeu_si256((__m256i *)(b + 16), qh);
}
#endif

static void q4_k_pack(const uint8_t *L, uint8_t *b)
{
    for (int j = 0; j < SQ_QK; j += 64)
        for (int l = 0; l < 32; l++)
            b[16 + j / 2 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
}

/* sq_blk_q4_k_quant: below, with Q5_K (k45_quant). */

void sq_blk_q4_k_dequant(const uint8_t *src, size_t nb, float *dst)
{
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + i * 144;
        float d = sq_blk_get_half(b), min = sq_blk_get_half(b + 2), *y = dst + i * SQ_QK;
        for (int sub = 0; sub < 8; sub++) { /* element 32 sub + l: nibble sub % 2 of qs[32 (sub / 2) + l] */
            int sc, m, shift = 4 * (sub % 2);
            const uint8_t *qs = b + 16 + 32 * (sub / 2);
            k4_scale_min(b + 4, sub, &sc, &m);
            float dl = d * sc, ml = min * m, *o = y + 32 * sub;
            for (int l = 0; l < 32; l++)
                o[l] = dl * ((qs[l] >> shift) & 0xf) - ml;
        }
    }
}

static void q5_k_pack(const uint8_t *L, uint8_t *b)
{
    uint8_t *qh = b + 16, *ql = b + 48;
    memset(qh, 0, 32);
    for (int n = 0; n < SQ_QK; n += 64) {
        for (int j = 0; j < 32; j++) { /* codes are 0..31: bit 4 goes to qh */
            int l1 = L[n + j], l2 = L[n + j + 32];
            qh[j] = (uint8_t)(qh[j] | ((l1 >> 4) << (n / 32)) | ((l2 >> 4) << (n / 32 + 1)));
            ql[n / 2 + j] = (uint8_t)((l1 & 15) | ((l2 & 15) << 4));
        }
    }
}

/* Q4_K (five = 0: 144-byte blocks, codes 0..15) or Q5_K (five = 1: 176
 * bytes, codes 0..31): eight super-blocks per search, then packed. */
SQ_HOT static void k45_quant(const float *x, size_t nb, uint8_t *dst, int five)
{
    const size_t bb = five ? 176 : 144;
    uint8_t L[8 * SQ_QK];
#if SQ_X86_KERNELS
    const int fast = sq_blk_lanes_enabled() && sq_use_avx512();
#endif
    for (size_t i = 0; i < nb; i += 8) {
        int nsb = nb - i >= 8 ? 8 : (int)(nb - i);
        if (five)
            k45_blocks(x + i * SQ_QK, nsb, dst + i * bb, bb, 31, -0.5f, 15, L);
        else
            k45_blocks(x + i * SQ_QK, nsb, dst + i * bb, bb, 15, -1.f, 20, L);
        for (int s = 0; s < nsb; s++) {
            uint8_t *b = dst + (i + (size_t)s) * bb;
#if SQ_X86_KERNELS
            if (fast) {
                avx_q45_k_pack(L + s * SQ_QK, b, five);
                continue;
            }
#endif
            if (five)
                q5_k_pack(L + s * SQ_QK, b);
            else
                q4_k_pack(L + s * SQ_QK, b);
        }
    }
}


SQ_HOT void sq_blk_q4_k_quant(const float *x, size_t nb, uint8_t *dst)
{
    k45_quant(x, nb, dst, 0);
}

SQ_HOT void sq_blk_q5_k_quant(const float *x, size_t nb, uint8_t *dst)
{
    k45_quant(x, nb, dst, 1);
}

void sq_blk_q5_k_dequant(const uint8_t *src, size_t nb, float *dst)
{
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + i * 176, *qh = b + 16, *ql = b + 48;
        float d = sq_blk_get_half(b), min = sq_blk_get_half(b + 2), *y = dst + i * SQ_QK;
        for (int sub = 0; sub < 8; sub++) { /* element 32 sub + k */
            int sc, m, shift = 4 * (sub % 2);
            const uint8_t *qs = ql + 32 * (sub / 2);
            k4_scale_min(b + 4, sub, &sc, &m);
            float dl = d * sc, ml = min * m, *o = y + 32 * sub;
            for (int k = 0; k < 32; k++)
                o[k] = dl * (((qs[k] >> shift) & 0xf) + ((qh[k] >> sub) & 1 ? 16 : 0)) - ml;
        }
    }
}

/* ---- Q6_K: ql[128] qh[64] scales[16] (int8) d (210 bytes) ----------------- */

static void q6_k_pack(const int8_t *L, uint8_t *b)
{
    uint8_t *ql = b, *qh = b + 128;
    for (int j = 0; j < SQ_QK; j += 128) {
        for (int l = 0; l < 32; l++) {
            const int8_t *p = L + j + l;
            ql[l] = (uint8_t)((p[0] & 0xf) | ((p[64] & 0xf) << 4));
            ql[l + 32] = (uint8_t)((p[32] & 0xf) | ((p[96] & 0xf) << 4));
            qh[l] = (uint8_t)((p[0] >> 4) | ((p[32] >> 4) << 2) | ((p[64] >> 4) << 4) | ((p[96] >> 4) << 6));
        }
        ql += 64;
        qh += 32;
    }
}

#if SQ_X86_KERNELS
/* q6_k_pack, 32 codes a vector (the shifts run on 16-bit lanes; the masks
 * keep every byte's bits its own). */
SQ_AVX512 static void avx_q6_k_pack(const int8_t *L, uint8_t *b)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x03);
    for (int j = 0; j < 2; j++) {
        const int8_t *p = L + 128 * j;
        __m256i a = _mm256_loadu_si256((const __m256i *)p), c = _mm256_loadu_si256((const __m256i *)(p + 32));
        __m256i e = _mm256_loadu_si256((const __m256i *)(p + 64)), f = _mm256_loadu_si256((const __m256i *)(p + 96));
        __m256i ql0 = _mm256_or_si256(_mm256_and_si256(a, m4), _mm256_slli_epi16(_mm256_and_si256(e, m4), 4));
        __m256i ql1 = _mm256_or_si256(_mm256_and_si256(c, m4), _mm256_slli_epi16(_mm256_and_si256(f, m4), 4));
        __m256i qh = _mm256_and_si256(_mm256_srli_epi16(a, 4), m2);
        qh = _mm256_or_si256(qh, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(c, 4), m2), 2));
        qh = _mm256_or_si256(qh, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(e, 4), m2), 4));
        qh = _mm256_or_si256(qh, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(f, 4), m2), 6));
        _mm256_storeu_si256((__m256i *)(b + 64 * j), ql0);
        _mm256_storeu_si256((__m256i *)(b + 64 * j + 32), ql1);
        _mm256_storeu_si256((__m256i *)(b + 128 + 32 * j), qh);
    }
}
#endif

#if SQ_X86_KERNELS
/* q6_k_block's final codes and packing: sub-block j re-rounded against d =
 * dall * sc[j] (the same float product per lane) unless d is 0. */
SQ_AVX512 static void avx_q6_k_finish(const float *x, float dall, const int8_t *sc, int8_t *L, uint8_t *b)
{
    float d[16];
    _mm512_storeu_ps(d, _mm512_mul_ps(_mm512_set1_ps(dall),
                                      _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)sc)))));
    for (int j = 0; j < 16; j++) {
        if (!d[j])
            continue;
        __m512i l = avx_clamp(avx_nearest(_mm512_div_ps(_mm512_loadu_ps(x + 16 * j), _mm512_set1_ps(d[j]))), -32, 31);
        _mm_storeu_si128((__m128i *)(L + 16 * j), _mm512_cvtepi32_epi8(_mm512_add_epi32(l, _mm512_set1_epi32(32))));
    }
    avx_q6_k_pack(L, b);
}
#endif

static void q6_k_block(const float *x, uint8_t *b)
{
    int8_t L[SQ_QK];
    float scales[16], max_scale = 0, max_abs = 0;
#if SQ_X86_KERNELS
    const int fast = sq_blk_lanes_enabled() && sq_use_avx512();
#endif
    fit_symmetric_group(16, 16, 32, x, L, scales);
    for (int j = 0; j < 16; j++) {
        if (fabsf(scales[j]) > max_abs) {
            max_abs = fabsf(scales[j]);
            max_scale = scales[j];
        }
    }
    if (max_abs < GROUP_EPS) {
        memset(b, 0, 210);
        return;
    }
    float iscale = -128.f / max_scale; /* every byte is written below */
    sq_blk_put_half(b + 208, 1 / iscale);
    int8_t *sc = (int8_t *)(b + 192);
    for (int j = 0; j < 16; j++)
        sc[j] = (int8_t)sq_blk_wrap_i8(sq_blk_min(127, sq_blk_nearest(iscale * scales[j])));
    float dall = sq_blk_get_half(b + 208);
#if SQ_X86_KERNELS
    if (fast) {
        avx_q6_k_finish(x, dall, sc, L, b);
        return;
    }
#endif
    for (int j = 0; j < 16; j++) {
        float d = dall * sc[j];
        if (!d)
            continue;
        for (int i = 0; i < 16; i++)
            L[16 * j + i] = (int8_t)(sq_blk_clamp(sq_blk_nearest(x[16 * j + i] / d), -32, 31) + 32);
    }
    q6_k_pack(L, b);
}

SQ_HOT void sq_blk_q6_k_quant(const float *x, size_t nb, uint8_t *dst)
{
    for (size_t i = 0; i < nb; i++)
        q6_k_block(x + i * SQ_QK, dst + i * 210);
}

void sq_blk_q6_k_dequant(const uint8_t *src, size_t nb, float *dst)
{
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + i * 210;
        float d = sq_blk_get_half(b + 208), *y = dst + i * SQ_QK;
        for (int sub = 0; sub < 16; sub++) { /* element 16 sub + l (e = 128 half + 32 quarter + l') */
            int half = sub / 8, quarter = sub % 8 / 2, l0 = 16 * (sub % 2);
            int shift = quarter / 2 ? 4 : 0, hshift = 2 * quarter;
            const uint8_t *lo = b + half * 64 + (quarter % 2) * 32 + l0, *hi = b + 128 + half * 32 + l0;
            float ds = d * sq_blk_wrap_i8(b[192 + sub]), *o = y + 16 * sub;
            for (int l = 0; l < 16; l++)
                o[l] = ds * ((((lo[l] >> shift) & 0xf) | ((hi[l] >> hshift) & 3) << 4) - 32);
        }
    }
}
