/* kernel.h - internal: the per-element arithmetic of encoding, shared by the
 * encode kernels (quant.c) and the fused encode + analysis kernels (stats.c),
 * so that both produce bit-identical codes. */
#ifndef SQ_KERNEL_H
#define SQ_KERNEL_H

#include <math.h>

/* Rounding of a value v already clamped to [qmin-1, qmax+1], in double,
 * into a new variable r: half to even by the 1.5*2^52 trick (exact for
 * |v| < 2^51); half away from zero as |v| rounded to even, moved up at an
 * exact tie that went down (|v| - r is exact, so the tie test is exact), with
 * v's sign put back. */
#define SQ_ROUND_EVEN(v, r) double r = ((v) + 0x1.8p52) - 0x1.8p52;
#define SQ_ROUND_AWAY(v, r)                                                  \
    double r##_a = fabs(v);                                                  \
    SQ_ROUND_EVEN(r##_a, r##_e)                                              \
    double r = copysign(r##_e + (r##_a - r##_e == 0.5 ? 1.0 : 0.0), v);

/* The code of value X with parameters INV (1/scale) and ZP, rounded by ROUND,
 * into a new double variable C holding an integer in [QMIN, QMAX]. The value
 * is clamped to [QMIN-1, QMAX+1] before rounding, which changes no result but
 * keeps the arithmetic in a small range; everything stays in double lanes so
 * loops over it vectorize at full width. */
#define SQ_ENCODE(X, INV, ZP, QMIN, QMAX, ROUND, C)                          \
    double C##_v = (double)(X) * (INV) + (ZP);                               \
    C##_v = C##_v < (QMIN) - 1.0 ? (QMIN) - 1.0 : (C##_v > (QMAX) + 1.0 ? (QMAX) + 1.0 : C##_v); \
    ROUND(C##_v, C##_r)                                                      \
    double C = C##_r < (QMIN) ? (QMIN) : (C##_r > (QMAX) ? (QMAX) : C##_r);

/* Round one double half to even (even != 0) or half away from zero, with
 * the arithmetic above (no libm call); values of magnitude >= 2^52 are
 * integers already. */
static inline double sq_round_scalar(double v, int even)
{
    if (!(fabs(v) < 0x1p52))
        return v;
    if (even) {
        SQ_ROUND_EVEN(v, r)
        return r;
    }
    SQ_ROUND_AWAY(v, r)
    return r;
}

#endif
