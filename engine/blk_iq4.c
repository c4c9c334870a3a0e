/*
 * blk_iq4.c - llama.cpp's non-linear 4-bit formats IQ4_NL and IQ4_XS.
 *
 * Both map each element to one of 16 fixed levels (ggml's kvalues_iq4nl,
 * spaced more densely near zero) times a scale. IQ4_NL: 32-element blocks
 * with a half scale (d qs[16], 18 bytes). IQ4_XS: 256-element super-blocks,
 * a half scale and eight 6-bit sub-block scales (d scales_h scales_l[4]
 * qs[128], 136 bytes).
 *
 * The scale search is ggml's quantize_row_iq4_nl_impl as ggml_quantize_chunk
 * runs it without an importance matrix (weights x^2, 15 trial scales),
 * redone step for step in float32 so the bytes agree.
 */
#include <math.h>

#include "blk_int.h"
#include "blk_lanes.h"
#include "simd.h"

static const float levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

#define NTRY 7
#define GROUP_EPS 1e-15f

/* Index of the level nearest to v, as ggml's best_index_int8 picks it: 0 at
 * or below the lowest level, 15 at or above the highest (and for NaN, where
 * ggml's bisection ends), otherwise of the two levels around v the lower
 * one when strictly nearer. The bracketing level is found by counting
 * instead of bisecting (the same level: they are strictly increasing). */
static int nearest_level(float v)
{
    if (v <= levels[0])
        return 0;
    if (!(v < levels[15]))
        return 15;
    int hi = 1;
    for (int k = 1; k < 15; k++)
        hi += v >= levels[k];
    return v - levels[hi - 1] < levels[hi] - v ? hi - 1 : hi;
}

/* Weighted (w = x^2) sums of q*x and q*q for the levels nearest id * x;
 * the level indices go to L when it is not NULL. */
static void level_sums(const float *x, float id, uint8_t *L, float *sumqx, float *sumq2)
{
    float sqx = 0, sq2 = 0;
    for (int j = 0; j < 32; j++) {
        int l = nearest_level(id * x[j]);
        if (L)
            L[j] = (uint8_t)l;
        float q = levels[l], w = x[j] * x[j];
        sqx += w * q * x[j];
        sq2 += w * q * q;
    }
    *sumqx = sqx;
    *sumq2 = sq2;
}

/* The scale of one 32-element block (0 for an all-zero block, L untouched)
 * and its first level indices in L. */
static float block_scale(const float *x, uint8_t *L)
{
    float amax = 0, max = 0;
    for (int j = 0; j < 32; j++) {
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    if (amax < GROUP_EPS)
        return 0;
    float sumqx, sumq2;
    level_sums(x, 1 / (-max / levels[0]), L, &sumqx, &sumq2);
    float d = sumqx / sumq2, best = d * sumqx;
    for (int itry = -NTRY; itry <= NTRY; itry++) {
        level_sums(x, (itry + levels[0]) / max, NULL, &sumqx, &sumq2);
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

#if SQ_BLK_LANES
/* nearest_level per lane, returning the level's value (the index is not
 * needed while searching); lv[k] holds levels[k] in every lane. */
SQ_LANE_INLINE sq_lf lanes_level(sq_lf v, const sq_lf *lv)
{
    sq_lf lo = lv[0], hi = lv[15];
    for (int k = 1; k < 15; k++)
        lo = lf_sel(v >= lv[k], lv[k], lo);
    for (int k = 14; k >= 1; k--)
        hi = lf_sel(v < lv[k], lv[k], hi);
    sq_lf q = lf_sel(v - lo < hi - v, lo, hi);
    q = lf_sel(v <= lv[0], lv[0], q);
    return lf_sel(~(v < lv[15]), lv[15], q);
}

SQ_LANE_INLINE void lanes_level_sums(const sq_lf *x, sq_lf id, const sq_lf *lv, sq_lf *sumqx, sq_lf *sumq2)
{
    sq_lf sqx = lf_splat(0), sq2 = lf_splat(0);
    for (int j = 0; j < 32; j++) {
        sq_lf q = lanes_level(id * x[j], lv), w = x[j] * x[j];
        sqx += w * q * x[j];
        sq2 += w * q * q;
    }
    *sumqx = sqx;
    *sumq2 = sq2;
}

/* block_scale for eight blocks at once (element j of lane k is x[j][k]);
 * all-zero lanes compute garbage replaced by 0 at the end. */
SQ_LANE_INLINE sq_lf lanes_block_scale(const sq_lf *x)
{
    sq_lf amax = lf_splat(0), max = lf_splat(0), zero = lf_splat(0);
    for (int j = 0; j < 32; j++) {
        sq_li m = lf_abs(x[j]) > amax;
        amax = lf_sel(m, lf_abs(x[j]), amax);
        max = lf_sel(m, x[j], max);
    }
    sq_lf sumqx, sumq2, lv[16];
    for (int k = 0; k < 16; k++)
        lv[k] = lf_splat(levels[k]);
    lanes_level_sums(x, lf_splat(1.0f) / (-max / lv[0]), lv, &sumqx, &sumq2);
    sq_lf d = sumqx / sumq2, best = d * sumqx;
    for (int itry = -NTRY; itry <= NTRY; itry++) {
        lanes_level_sums(x, lf_splat(itry + levels[0]) / max, lv, &sumqx, &sumq2);
        sq_li upd = (sumq2 > zero) & (sumqx * sumqx > best * sumq2);
        sq_lf nd = sumqx / sumq2;
        d = lf_sel(upd, nd, d);
        best = lf_sel(upd, nd * sumqx, best);
    }
    return lf_sel(amax < lf_splat(GROUP_EPS), zero, d);
}
#endif

#if SQ_X86_KERNELS
/* ---- hand-written AVX-512 search -------------------------------------------
 * block_scale per lane with mask registers. */

/* The value of nearest_level(v) per lane, for the search, where |v| <=
 * 134 (v = id * x with |id| <= 134 / max|x|, up to two roundings) -- other
 * lanes (all-zero blocks) are dropped.
 * There nearest_level(v) is the number of midpoints (levels[k] +
 * levels[k + 1]) / 2 at or below v: near a midpoint both v - lo and hi - v
 * are exact (|v| is at least as large as them there, and lo, hi are
 * integers), so v - lo < hi - v is exactly v < midpoint (a tie going up);
 * away from it the rounded differences keep their order. The count comes
 * from a table: bucket b = floor(v * BUCKET_SCALE), monotone in v, lies in
 * -16..15 for |v| < 134.4, and no bucket holds two midpoints (they are at
 * least 11.5 apart, buckets 8.4 wide); so v's count is the count of the
 * midpoints in lower buckets plus one when v reaches its bucket's midpoint.
 * The table is indexed by b's low five bits (the permute ignores the rest)
 * and holds the level below and at or above the bucket's midpoint
 * (+inf when the bucket has none). */
#define BUCKET_SCALE (1.0f / 8.4f)

/* The tables for buckets 0..15 then -16..-1 (entry b & 31), as the
 * definitions above give them (mid +inf where a bucket holds none).
 * avx_level agrees with levels[nearest_level(v)] for every float with
 * |v| <= 134.39, and avx_level_index with nearest_level for every finite
 * float (both checked once by enumerating the floats; tests/test_blockfmt
 * compares the paths' bytes). */
static const float tab_mid[32] = {7,     INFINITY, 19,       31.5f,    INFINITY, 45.5f,    INFINITY, 61,
                                  INFINITY, 79,    INFINITY, INFINITY, 101,      INFINITY, INFINITY, INFINITY,
                                  INFINITY, INFINITY, -115.5f, INFINITY, -93.5f, INFINITY, INFINITY, -74,
                                  INFINITY, -57,   -42,      INFINITY, -28.5f,   INFINITY, -16,      -4.5f};
static const float tab_qlo[32] = {1,    13,   13,   25,   38,   38,   53,   53,   69,  69,  89,  89,  89,  113, 113, 113,
                                  -127, -127, -127, -104, -104, -83, -83, -83, -65, -65, -49, -35, -35, -22, -22, -10};
static const float tab_qhi[32] = {13,   25,   25,  38,  53,  53,  69,  69,  89,  89,  113, 113, 113, 113, 113, 113,
                                  -104, -104, -104, -83, -83, -65, -65, -65, -49, -49, -35, -22, -22, -10, -10, 1};

typedef struct avx_level_tabs {
    __m512 mid[2], qlo[2], qhi[2]; /* entries 0..15 and 16..31 */
} avx_level_tabs;

SQ_AVX512 static inline __m512 avx_level(__m512 v, const avx_level_tabs *t)
{
    __m512i b = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v, _mm512_set1_ps(BUCKET_SCALE)),
                                         _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512 mid = _mm512_permutex2var_ps(t->mid[0], b, t->mid[1]);
    __m512 qlo = _mm512_permutex2var_ps(t->qlo[0], b, t->qlo[1]);
    __m512 qhi = _mm512_permutex2var_ps(t->qhi[0], b, t->qhi[1]);
    return _mm512_mask_mov_ps(qlo, _mm512_cmp_ps_mask(v, mid, _CMP_GE_OQ), qhi);
}

/* nearest_level(v) per lane, the index, for any finite v (for the final
 * indices, whose scale is not bounded like the search's): v clamped to
 * [-134, 134], which keeps the count of midpoints at or below it, then the
 * count as avx_level takes it; tab_ilo[b] is the index of tab_qlo[b]. */
static const int32_t tab_ilo[32] = {8, 9, 9, 10, 11, 11, 12, 12, 13, 13, 14, 14, 14, 15, 15, 15,
                                    0, 0, 0, 1,  1,  2,  2,  2,  3,  3,  4,  5,  5,  6,  6,  7};

SQ_AVX512 static inline __m512i avx_level_index(__m512 v, __m512 mid0, __m512 mid1, __m512i ilo0, __m512i ilo1)
{
    v = _mm512_max_ps(_mm512_min_ps(v, _mm512_set1_ps(134.0f)), _mm512_set1_ps(-134.0f));
    __m512i b = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v, _mm512_set1_ps(BUCKET_SCALE)),
                                         _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512i idx = _mm512_permutex2var_epi32(ilo0, b, ilo1);
    __mmask16 up = _mm512_cmp_ps_mask(v, _mm512_permutex2var_ps(mid0, b, mid1), _CMP_GE_OQ);
    return _mm512_mask_add_epi32(idx, up, idx, _mm512_set1_epi32(1));
}

/* The 32 level indices of one block against inverse scale id, packed as
 * pack_levels packs them (16 bytes at q4). */
SQ_AVX512 static void avx_block_levels(const float *x, float id, uint8_t *q4)
{
    __m512 mid0 = _mm512_loadu_ps(tab_mid), mid1 = _mm512_loadu_ps(tab_mid + 16);
    __m512i ilo0 = _mm512_loadu_si512(tab_ilo), ilo1 = _mm512_loadu_si512(tab_ilo + 16);
    __m512 vid = _mm512_set1_ps(id);
    __m512i lo = avx_level_index(_mm512_mul_ps(vid, _mm512_loadu_ps(x)), mid0, mid1, ilo0, ilo1);
    __m512i hi = avx_level_index(_mm512_mul_ps(vid, _mm512_loadu_ps(x + 16)), mid0, mid1, ilo0, ilo1);
    _mm_storeu_si128((__m128i *)q4, _mm512_cvtepi32_epi8(_mm512_or_si512(lo, _mm512_slli_epi32(hi, 4))));
}

SQ_AVX512 static inline void avx_level_sums(const __m512 *xt, const __m512 *wt, __m512 id, const avx_level_tabs *t,
                                            __m512 *sumqx, __m512 *sumq2)
{
    __m512 sqx = _mm512_setzero_ps(), sq2 = _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int j = 0; j < 32; j++) {
        __m512 q = avx_level(_mm512_mul_ps(id, xt[j]), t), wq = _mm512_mul_ps(wt[j], q);
        sqx = _mm512_add_ps(sqx, _mm512_mul_ps(wq, xt[j]));
        sq2 = _mm512_add_ps(sq2, _mm512_mul_ps(wq, q));
    }
    *sumqx = sqx;
    *sumq2 = sq2;
}

/* block_scales_group's search for up to 16 blocks of 32. */
SQ_AVX512 static void avx_block_scales(int count, const float *x, float *scales)
{
    __m512 xt[32], wt[32];
    const __m512 zero = _mm512_setzero_ps();
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    __m512i idx = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                     _mm512_set1_epi32(32));
    __mmask16 m = (__mmask16)((1u << count) - 1);
    __m512 amax = zero, max = zero;
    for (int j = 0; j < 32; j++) {
        xt[j] = _mm512_mask_i32gather_ps(zero, m, idx, x + j, 4);
        wt[j] = _mm512_mul_ps(xt[j], xt[j]);
        __m512 ax = _mm512_and_ps(xt[j], absmask);
        __mmask16 gt = _mm512_cmp_ps_mask(ax, amax, _CMP_GT_OQ);
        amax = _mm512_mask_mov_ps(amax, gt, ax);
        max = _mm512_mask_mov_ps(max, gt, xt[j]);
    }
    avx_level_tabs tabs;
    for (int h = 0; h < 2; h++) {
        tabs.mid[h] = _mm512_loadu_ps(tab_mid + 16 * h);
        tabs.qlo[h] = _mm512_loadu_ps(tab_qlo + 16 * h);
        tabs.qhi[h] = _mm512_loadu_ps(tab_qhi + 16 * h);
    }
    __m512 sumqx, sumq2;
    __m512 id0 = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_div_ps(_mm512_xor_ps(_mm512_set1_ps(-0.0f), max), _mm512_set1_ps(levels[0])));
    avx_level_sums(xt, wt, id0, &tabs, &sumqx, &sumq2);
    __m512 d = _mm512_div_ps(sumqx, sumq2), best = _mm512_mul_ps(d, sumqx);
    for (int itry = -NTRY; itry <= NTRY; itry++) {
        avx_level_sums(xt, wt, _mm512_div_ps(_mm512_set1_ps(itry + levels[0]), max), &tabs, &sumqx, &sumq2);
        __mmask16 upd = _mm512_cmp_ps_mask(sumq2, zero, _CMP_GT_OQ) &
                        _mm512_cmp_ps_mask(_mm512_mul_ps(sumqx, sumqx), _mm512_mul_ps(best, sumq2), _CMP_GT_OQ);
        __m512 nd = _mm512_div_ps(sumqx, sumq2);
        d = _mm512_mask_mov_ps(d, upd, nd);
        best = _mm512_mask_mov_ps(best, upd, _mm512_mul_ps(nd, sumqx));
    }
    float out[16];
    _mm512_storeu_ps(out, _mm512_mask_mov_ps(d, _mm512_cmp_ps_mask(amax, _mm512_set1_ps(GROUP_EPS), _CMP_LT_OQ), zero));
    for (int k = 0; k < count; k++)
        scales[k] = out[k];
}
#endif

/* The scales of count (at most 16) consecutive 32-element blocks
 * (block_scale's results; L, room for count * 32, receives block_scale's
 * provisional indices on the scalar path only: callers recompute them).
 * Unused lanes hold zeros and are dropped. */
SQ_HOT static void block_scales_group(int count, const float *x, uint8_t *L, float *scales)
{
#if SQ_X86_KERNELS
    if (sq_blk_lanes_enabled() && sq_use_avx512()) {
        avx_block_scales(count, x, scales);
        return;
    }
#endif
#if SQ_BLK_LANES
    if (sq_blk_lanes_enabled()) {
        sq_lf xt[32] = {{0}};
        for (int j = 0; j < 32; j++)
            for (int k = 0; k < count; k++)
                xt[j][k] = x[32 * k + j];
        sq_lf d = lanes_block_scale(xt);
        for (int k = 0; k < count; k++)
            scales[k] = d[k];
        return;
    }
#endif
    for (int k = 0; k < count; k++)
        scales[k] = block_scale(x + 32 * k, L + 32 * k);
}

/* Level indices: block of 32 k holds elements k*32+j (low nibble) and
 * k*32+16+j (high nibble) in byte 16k+j. */
static void pack_levels(const uint8_t *L, int n, uint8_t *q4)
{
    for (int i = 0; i < n / 32; i++)
        for (int j = 0; j < 16; j++)
            q4[16 * i + j] = (uint8_t)(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
}

/* IQ4_NL block with scale d found: half scale, then indices against the
 * scale as a float (not its half), as ggml does. */
static void iq4_nl_finish(const float *x, float d, uint8_t *b)
{
    uint8_t L[32];
    float id = d ? 1 / d : 0;
#if SQ_X86_KERNELS
    if (sq_blk_lanes_enabled() && sq_use_avx512()) {
        sq_blk_avx_put_halves(b, d, 0, 0);
        avx_block_levels(x, id, b + 2);
        return;
    }
#endif
    sq_blk_put_half(b, d);
    for (int j = 0; j < 32; j++)
        L[j] = (uint8_t)nearest_level(id * x[j]);
    pack_levels(L, 32, b + 2);
}

void sq_blk_iq4_nl_quant(const float *x, size_t nb, uint8_t *dst)
{
    uint8_t L[16 * 32];
    float d[16];
    for (size_t i = 0; i < nb; i += 16) {
        int count = nb - i >= 16 ? 16 : (int)(nb - i);
        block_scales_group(count, x + i * 32, L, d);
        for (int k = 0; k < count; k++)
            iq4_nl_finish(x + (i + (size_t)k) * 32, d[k], dst + (i + (size_t)k) * 18);
    }
}

void sq_blk_iq4_nl_dequant(const uint8_t *src, size_t nb, float *dst)
{
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + i * 18;
        float d = sq_blk_get_half(b), *y = dst + i * 32;
        for (int j = 0; j < 16; j++) {
            y[j] = d * levels[b[2 + j] & 0xf];
            y[j + 16] = d * levels[b[2 + j] >> 4];
        }
    }
}

/* One IQ4_XS super-block whose eight block scales are found. */
static void iq4_xs_finish(const float *x, const float *scales, uint8_t *b)
{
    uint8_t L[SQ_QK];
    float max_scale = 0, amax_scale = 0;
#if SQ_X86_KERNELS
    int fast = sq_blk_lanes_enabled() && sq_use_avx512();
#else
    int fast = 0;
#endif
    for (int ib = 0; ib < 8; ib++) {
        if (fabsf(scales[ib]) > amax_scale) {
            amax_scale = fabsf(scales[ib]);
            max_scale = scales[ib];
        }
    }
    float d = -max_scale / 32;
    sq_blk_put_half(b, d);
    float id = d ? 1 / d : 0.f;
    unsigned scales_h = 0;
    memset(b + 4, 0, 4);
    for (int ib = 0; ib < 8; ib++) {
        int l = sq_blk_clamp(sq_blk_nearest(id * scales[ib]), -32, 31);
        float dl = d * l;
        float idl = dl ? 1 / dl : 0.f;
#if SQ_X86_KERNELS
        if (fast)
            avx_block_levels(x + 32 * ib, idl, b + 8 + 16 * ib);
        else
#endif
            for (int j = 0; j < 32; j++)
                L[32 * ib + j] = (uint8_t)nearest_level(idl * x[32 * ib + j]);
        l += 32;
        b[4 + ib / 2] = (uint8_t)(b[4 + ib / 2] | ((l & 0xf) << (4 * (ib % 2))));
        scales_h |= (unsigned)(l >> 4) << (2 * ib);
    }
    b[2] = (uint8_t)(scales_h & 0xff);
    b[3] = (uint8_t)(scales_h >> 8);
    if (!fast)
        pack_levels(L, SQ_QK, b + 8);
}

void sq_blk_iq4_xs_quant(const float *x, size_t nb, uint8_t *dst)
{
    uint8_t L[2 * SQ_QK];
    float scales[16];
    for (size_t i = 0; i < nb; i += 2) {
        int nsb = nb - i >= 2 ? 2 : 1;
        block_scales_group(8 * nsb, x + i * SQ_QK, L, scales);
        for (int s = 0; s < nsb; s++)
            iq4_xs_finish(x + (i + (size_t)s) * SQ_QK, scales + 8 * s, dst + (i + (size_t)s) * 136);
    }
}

void sq_blk_iq4_xs_dequant(const uint8_t *src, size_t nb, float *dst)
{
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = src + i * 136, *qs = b + 8;
        float d = sq_blk_get_half(b), *y = dst + i * SQ_QK;
        unsigned scales_h = (unsigned)b[2] | (unsigned)b[3] << 8;
        for (int ib = 0; ib < 8; ib++) {
            int ls = ((b[4 + ib / 2] >> (4 * (ib % 2))) & 0xf) | (((scales_h >> (2 * ib)) & 3) << 4);
            float dl = d * (ls - 32);
            for (int j = 0; j < 16; j++) {
                y[32 * ib + j] = dl * levels[qs[16 * ib + j] & 0xf];
                y[32 * ib + j + 16] = dl * levels[qs[16 * ib + j] >> 4];
            }
        }
    }
}
