/*
 * blk_lanes.h - internal: sixteen independent sub-blocks at once.
 *
 * The block-format searches sum over a sub-block's elements in order, and
 * byte-exactness forbids reordering those sums. What can run in parallel
 * is different sub-blocks: here each of sixteen vector lanes carries one
 * sub-block through exactly the scalar operations, in the scalar order, so
 * every lane's result is bit-identical to the scalar code's. Vectors are
 * GCC/clang vector extensions (lowered to whatever the target has: SSE
 * quads by default, AVX2 pairs or AVX-512 in the clones of SQ_HOT
 * functions); sixteen lanes, not eight, so that the in-order sums of two
 * vector halves overlap their latencies.
 * Branches become masks: a lane computes both sides and keeps one.
 *
 * SQ_BLK_LANES is 0 where the extensions are missing; the scalar code then
 * runs alone. On CPUs with AVX-512 the blk_*.c files run hand-written
 * intrinsics versions of the same per-lane operations instead (GCC lowers
 * these generic vectors' masks poorly there); this code is their portable
 * twin (sq_simd_force_portable selects it).
 */
#ifndef SQ_BLK_LANES_H
#define SQ_BLK_LANES_H

#include <stdint.h>

#if (defined(__GNUC__) && __GNUC__ >= 9) || defined(__clang__)
#define SQ_BLK_LANES 1
#else
#define SQ_BLK_LANES 0
#endif

#if SQ_BLK_LANES

#define SQ_LANES 16
#define SQ_LANE_INLINE static inline __attribute__((always_inline))

typedef float sq_lf __attribute__((vector_size(64)));   /* 16 floats */
typedef int32_t sq_li __attribute__((vector_size(64))); /* 16 ints; also masks: -1 true, 0 false */

SQ_LANE_INLINE sq_lf lf_splat(float v)
{
    return (sq_lf){v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v};
}

SQ_LANE_INLINE sq_li li_splat(int32_t v)
{
    return (sq_li){v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v};
}

/* m ? a : b per lane (m a mask). */
SQ_LANE_INLINE sq_lf lf_sel(sq_li m, sq_lf a, sq_lf b)
{
    return (sq_lf)((m & (sq_li)a) | (~m & (sq_li)b));
}

SQ_LANE_INLINE sq_li li_sel(sq_li m, sq_li a, sq_li b)
{
    return (m & a) | (~m & b);
}

SQ_LANE_INLINE sq_lf lf_abs(sq_lf v)
{
    return (sq_lf)((sq_li)v & li_splat(0x7fffffff));
}

SQ_LANE_INLINE sq_lf lf_from_li(sq_li v)
{
    return __builtin_convertvector(v, sq_lf);
}

/* sq_blk_nearest per lane. */
SQ_LANE_INLINE sq_li li_nearest(sq_lf v)
{
    sq_lf t = v + lf_splat(12582912.f);
    return ((sq_li)t & li_splat(0x007fffff)) - li_splat(0x00400000);
}

SQ_LANE_INLINE sq_li li_clamp(sq_li v, int32_t lo, int32_t hi)
{
    sq_li l = li_splat(lo), h = li_splat(hi);
    v = li_sel(v > h, h, v);
    return li_sel(v < l, l, v);
}

#endif
#endif
