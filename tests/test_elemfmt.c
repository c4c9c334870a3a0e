/* test_elemfmt.c - float element and codebook formats (elemfmt.h): the
 * exhaustive FP8/FP4 code tables, ties to even, saturation, zeros and
 * subnormals; a brute-force nearest-value reference for random inputs;
 * hand-computed rows of every format (MX, NVFP4, NF4 and its double
 * quantization); ggml's MXFP4 layout; the table, levels and errors. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "elemfmt.h"
#include "testutil.h"

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

typedef int (*enc_fn)(float);
typedef float (*dec_fn)(uint8_t);

/* The spec value of a code of a format with ebits/mbits/bias; ieee: the
 * top exponent is Inf/NaN (E5M2); else only S.1111.111 is NaN (E4M3,
 * "fn"); E2M1 has neither (nan_code 0). */
static double spec_value(unsigned c, int ebits, int mbits, int bias, int ieee, unsigned nan_mask)
{
    unsigned nbits = 1 + ebits + mbits, s = c >> (nbits - 1), e = (c >> mbits) & ((1u << ebits) - 1),
             m = c & ((1u << mbits) - 1);
    double sign = s ? -1.0 : 1.0;
    if (ieee && e == (1u << ebits) - 1)
        return m ? NAN : sign * INFINITY;
    if (nan_mask && (c & nan_mask) == nan_mask)
        return NAN;
    if (e == 0)
        return sign * ldexp((double)m, 1 - bias - mbits);
    return sign * ldexp(1.0 + ldexp((double)m, -mbits), (int)e - bias);
}

static const struct {
    const char *name;
    enc_fn enc;
    dec_fn dec;
    int ebits, mbits, bias, ieee;
    unsigned ncodes, nan_mask, maxcode;
    double max;
} fmts[] = {
    {"e4m3", sq_fp8_e4m3_encode, sq_fp8_e4m3_decode, 4, 3, 7, 0, 256, 0x7f, 0x7e, 448.0},
    {"e5m2", sq_fp8_e5m2_encode, sq_fp8_e5m2_decode, 5, 2, 15, 1, 256, 0, 0x7b, 57344.0},
    {"e2m1", sq_fp4_e2m1_encode, sq_fp4_e2m1_decode, 2, 1, 1, 0, 16, 0, 0x7, 6.0},
};
#define NFMTS 3

/* All codes decode to the spec values (sign of zero included). */
START_TEST(test_code_tables)
{
    for (unsigned c = 0; c < fmts[_i].ncodes; c++) {
        double want = spec_value(c, fmts[_i].ebits, fmts[_i].mbits, fmts[_i].bias, fmts[_i].ieee,
                                 fmts[_i].nan_mask);
        float got = fmts[_i].dec((uint8_t)c);
        if (isnan(want))
            ck_assert_msg(isnan(got), "%s code %#x: got %a, want NaN", fmts[_i].name, c, (double)got);
        else
            ck_assert_msg(bits(got) == bits((float)want), "%s code %#x: got %a want %a", fmts[_i].name, c,
                          (double)got, want);
    }
    ck_assert(fmts[_i].dec((uint8_t)fmts[_i].maxcode) == (float)fmts[_i].max);
}
END_TEST

START_TEST(test_spot_values)
{
    ck_assert(sq_fp8_e4m3_decode(0x7e) == 448.0f);
    ck_assert(sq_fp8_e4m3_decode(0x01) == 0x1p-9f);
    ck_assert(sq_fp8_e4m3_decode(0x08) == 0x1p-6f);
    ck_assert(sq_fp8_e4m3_decode(0x38) == 1.0f);
    ck_assert(isnan(sq_fp8_e4m3_decode(0x7f)) && isnan(sq_fp8_e4m3_decode(0xff)));
    ck_assert(isfinite(sq_fp8_e4m3_decode(0x78))); /* 256: e4m3fn has no infinities */
    ck_assert_uint_eq(bits(sq_fp8_e4m3_decode(0x80)), 0x80000000u);
    ck_assert(sq_fp8_e5m2_decode(0x7b) == 57344.0f);
    ck_assert(sq_fp8_e5m2_decode(0x01) == 0x1p-16f);
    ck_assert(sq_fp8_e5m2_decode(0x3c) == 1.0f);
    ck_assert(sq_fp8_e5m2_decode(0x7c) == INFINITY && sq_fp8_e5m2_decode(0xfc) == -INFINITY);
    ck_assert(isnan(sq_fp8_e5m2_decode(0x7d)));
    ck_assert(sq_fp4_e2m1_decode(1) == 0.5f && sq_fp4_e2m1_decode(7) == 6.0f && sq_fp4_e2m1_decode(0xd) == -3.0f);
    ck_assert(sq_e8m0_decode(127) == 1.0f && sq_e8m0_decode(0) == 0x1p-127f && sq_e8m0_decode(254) == 0x1p127f);
    ck_assert(isnan(sq_e8m0_decode(255)));
}
END_TEST

static int is_nan_code(int f, unsigned c)
{
    return isnan(fmts[f].dec((uint8_t)c));
}

/* encode(decode(c)) == c for every non-NaN code; E5M2's infinities
 * saturate to +-max. */
START_TEST(test_roundtrip_codes)
{
    for (unsigned c = 0; c < fmts[_i].ncodes; c++) {
        if (is_nan_code(_i, c))
            continue;
        float v = fmts[_i].dec((uint8_t)c);
        int want = isinf(v) ? (int)((c & ~fmts[_i].maxcode & (fmts[_i].ncodes >> 1)) | fmts[_i].maxcode) : (int)c;
        ck_assert_msg(fmts[_i].enc(v) == want, "%s code %#x -> %a -> %#x", fmts[_i].name, c, (double)v,
                      fmts[_i].enc(v));
    }
}
END_TEST

/* The midpoint between adjacent codes goes to the even code; a float
 * step off it goes to the nearer one. Both signs, subnormals included
 * (0 and the smallest subnormal are adjacent). */
START_TEST(test_ties_to_even)
{
    unsigned sign = fmts[_i].ncodes >> 1;
    for (unsigned c = 0; c < fmts[_i].maxcode; c++) {
        float lo = fmts[_i].dec((uint8_t)c), hi = fmts[_i].dec((uint8_t)(c + 1));
        float mid = (lo + hi) / 2;
        ck_assert((double)mid == ((double)lo + hi) / 2); /* exact */
        unsigned even = c % 2 == 0 ? c : c + 1;
        ck_assert_int_eq(fmts[_i].enc(mid), (int)even);
        ck_assert_int_eq(fmts[_i].enc(-mid), (int)(even | sign));
        ck_assert_int_eq(fmts[_i].enc(nextafterf(mid, 0)), (int)c);
        ck_assert_int_eq(fmts[_i].enc(nextafterf(mid, INFINITY)), (int)c + 1);
        ck_assert_int_eq(fmts[_i].enc(-nextafterf(mid, INFINITY)), (int)((c + 1) | sign));
    }
}
END_TEST

START_TEST(test_saturation_zero_nan)
{
    unsigned sign = fmts[_i].ncodes >> 1, mx = fmts[_i].maxcode;
    float max = (float)fmts[_i].max;
    ck_assert_int_eq(fmts[_i].enc(max), (int)mx);
    ck_assert_int_eq(fmts[_i].enc(nextafterf(max, INFINITY)), (int)mx);
    ck_assert_int_eq(fmts[_i].enc(max * 1.5f), (int)mx);
    ck_assert_int_eq(fmts[_i].enc(1e30f), (int)mx);
    ck_assert_int_eq(fmts[_i].enc(FLT_MAX), (int)mx);
    ck_assert_int_eq(fmts[_i].enc(INFINITY), (int)mx);
    ck_assert_int_eq(fmts[_i].enc(-INFINITY), (int)(mx | sign));
    ck_assert_int_eq(fmts[_i].enc(-max * 4), (int)(mx | sign));
    ck_assert_int_eq(fmts[_i].enc(0.0f), 0);
    ck_assert_int_eq(fmts[_i].enc(-0.0f), (int)sign);
    ck_assert_int_eq(fmts[_i].enc(1e-30f), 0);
    ck_assert_int_eq(fmts[_i].enc(-0x1p-149f), (int)sign);
    ck_assert_int_eq(fmts[_i].enc(NAN), -1);
    ck_assert_int_eq(fmts[_i].enc(-NAN), -1);
}
END_TEST

START_TEST(test_hand_values)
{
    ck_assert_int_eq(sq_fp8_e4m3_encode(464.0f), 0x7e); /* the tie with 480 (not a value) saturates */
    ck_assert_int_eq(sq_fp8_e4m3_encode(0x1p-10f), 0x00); /* tie 0 / 2^-9 -> 0 */
    ck_assert_int_eq(sq_fp8_e4m3_encode(3 * 0x1p-10f), 0x02); /* tie 2^-9 / 2^-8 -> 2^-8 */
    ck_assert_int_eq(sq_fp8_e4m3_encode(1.0625f), 0x38); /* tie 1 / 1.125 -> 1 */
    ck_assert_int_eq(sq_fp8_e4m3_encode(1.1875f), 0x3a); /* tie 1.125 / 1.25 -> 1.25 */
    ck_assert_int_eq(sq_fp8_e4m3_encode(15.5f), 0x58); /* tie 15 / 16 -> 16 (carry into the exponent) */
    ck_assert_int_eq(sq_fp8_e4m3_encode(-0.3f), 0xaa); /* -0.3 -> -0.3125 = -(1 + 2/8) 2^-2 */
    ck_assert_int_eq(sq_fp8_e5m2_encode(61440.0f), 0x7b); /* tie with 65536 saturates */
    ck_assert_int_eq(sq_fp8_e5m2_encode(1.125f), 0x3c); /* tie 1 / 1.25 -> 1 */
    ck_assert_int_eq(sq_fp8_e5m2_encode(0x1p-17f), 0x00);
    ck_assert_int_eq(sq_fp8_e5m2_encode(3 * 0x1p-17f), 0x02);
    ck_assert_int_eq(sq_fp4_e2m1_encode(0.25f), 0x0); /* tie 0 / 0.5 -> 0 */
    ck_assert_int_eq(sq_fp4_e2m1_encode(0.75f), 0x2); /* tie 0.5 / 1 -> 1 */
    ck_assert_int_eq(sq_fp4_e2m1_encode(1.25f), 0x2); /* tie 1 / 1.5 -> 1 */
    ck_assert_int_eq(sq_fp4_e2m1_encode(2.5f), 0x4); /* tie 2 / 3 -> 2 */
    ck_assert_int_eq(sq_fp4_e2m1_encode(5.0f), 0x6); /* tie 4 / 6 -> 4 */
    ck_assert_int_eq(sq_fp4_e2m1_encode(-5.1f), 0xf);
    ck_assert_int_eq(sq_fp4_e2m1_encode(6.9f), 0x7);
}
END_TEST

/* Brute force: the code whose value is nearest, ties to the even code,
 * saturating. */
static int brute(int f, float x)
{
    unsigned sign = fmts[f].ncodes >> 1;
    double a = fabs((double)x), best = INFINITY;
    int bc = 0;
    for (unsigned c = 0; c <= fmts[f].maxcode; c++) {
        double d = fabs((double)fmts[f].dec((uint8_t)c) - a);
        if (d < best || (d == best && c % 2 == 0))
            best = d, bc = (int)c;
    }
    return signbit(x) ? bc | (int)sign : bc;
}

START_TEST(test_random_vs_brute_force)
{
    uint32_t s = 12345;
    for (int k = 0; k < 60000; k++) {
        s = s * 1664525u + 1013904223u;
        int e = (int)(s >> 24) % 40 - 24; /* 2^-24 .. 2^16 */
        s = s * 1664525u + 1013904223u;
        float x = ldexpf(1.0f + (float)(s >> 8) * 0x1p-24f, e);
        if (s & 1)
            x = -x;
        ck_assert_msg(fmts[_i].enc(x) == brute(_i, x), "%s %a: got %#x want %#x", fmts[_i].name, (double)x,
                      fmts[_i].enc(x), brute(_i, x));
    }
}
END_TEST

/* ---- rows ---------------------------------------------------------------- */

START_TEST(test_fp8_row)
{
    sq_error err;
    float x[5] = {896.0f, -224.0f, 1.0f, 0.0f, -0.0f}, y[5], s;
    uint8_t q[5];
    ck_assert_int_eq(sq_elemfmt_row_scale(SQ_ELEM_FP8_E4M3, x, 5, &s, &err), SQ_OK);
    ck_assert(s == 2.0f);
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_FP8_E4M3, x, 5, s, q, &err), SQ_OK);
    ck_assert_uint_eq(q[0], 0x7e); /* 448 */
    ck_assert_uint_eq(q[1], 0xee); /* -112 = -(1 + 6/8) 2^6 */
    ck_assert_uint_eq(q[2], 0x30); /* 0.5 */
    ck_assert_uint_eq(q[3], 0x00);
    ck_assert_uint_eq(q[4], 0x80);
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_FP8_E4M3, q, 5, s, y, &err), SQ_OK);
    ck_assert(y[0] == 896.0f && y[1] == -224.0f && y[2] == 1.0f && y[3] == 0.0f);
    ck_assert_uint_eq(bits(y[4]), 0x80000000u);
    /* e5m2, a scale that is no power of two */
    float z[2] = {57344.0f * 3, 1.0f};
    ck_assert_int_eq(sq_elemfmt_row_scale(SQ_ELEM_FP8_E5M2, z, 2, &s, &err), SQ_OK);
    ck_assert(s == 3.0f);
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_FP8_E5M2, z, 2, s, q, &err), SQ_OK);
    ck_assert_uint_eq(q[0], 0x7b);
    ck_assert_uint_eq(q[1], (uint8_t)sq_fp8_e5m2_encode(1.0f / 3.0f));
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_FP8_E5M2, q, 2, s, y, &err), SQ_OK);
    ck_assert(y[0] == 57344.0f * 3 && y[1] == sq_fp8_e5m2_decode(q[1]) * 3.0f);
}
END_TEST

START_TEST(test_scales)
{
    ck_assert(sq_elemfmt_tensor_scale(SQ_ELEM_FP8_E4M3, 448.0f * 4) == 4.0f);
    ck_assert(sq_elemfmt_tensor_scale(SQ_ELEM_FP8_E5M2, 57344.0f) == 1.0f);
    ck_assert(sq_elemfmt_tensor_scale(SQ_ELEM_FP4_E2M1, 3.0f) == 0.5f);
    ck_assert(sq_elemfmt_tensor_scale(SQ_ELEM_NVFP4, 2688.0f * 8) == 8.0f);
    ck_assert(sq_elemfmt_tensor_scale(SQ_ELEM_FP8_E4M3, 9e-31f) == 1.0f); /* tiny */
    ck_assert(sq_elemfmt_tensor_scale(SQ_ELEM_FP8_E4M3, 0.0f) == 1.0f);
    ck_assert(sq_elemfmt_tensor_scale(SQ_ELEM_FP8_E4M3, 1e-30f) == 1e-30f / 448.0f);
    ck_assert(sq_elemfmt_tensor_scale(SQ_ELEM_MXFP4, 100.0f) == 1.0f);
    ck_assert(sq_elemfmt_tensor_scale(SQ_ELEM_NF4, 100.0f) == 1.0f);
    /* a tiny row: scale 1, every element encodes to (signed) zero */
    float x[4] = {1e-31f, -5e-31f, 0.0f, 2e-31f}, s;
    uint8_t q[4];
    sq_error err;
    ck_assert_int_eq(sq_elemfmt_row_scale(SQ_ELEM_FP8_E4M3, x, 4, &s, &err), SQ_OK);
    ck_assert(s == 1.0f);
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_FP8_E4M3, x, 4, s, q, &err), SQ_OK);
    ck_assert(q[0] == 0 && q[1] == 0x80 && q[2] == 0 && q[3] == 0);
}
END_TEST

START_TEST(test_fp4_row)
{
    sq_error err;
    float x[4] = {1.0f, -6.0f, 0.5f, 3.0f}, y[4];
    uint8_t q[2];
    size_t bytes;
    ck_assert_int_eq(sq_elemfmt_row_bytes(SQ_ELEM_FP4_E2M1, 4, &bytes, &err), SQ_OK);
    ck_assert_uint_eq(bytes, 2);
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_FP4_E2M1, x, 4, 0.5f, q, &err), SQ_OK);
    ck_assert_uint_eq(q[0], 0xf4); /* low: 2 (code 4), high: -12 saturated to -6 (code 0xf) */
    ck_assert_uint_eq(q[1], 0x72); /* low: 1 (code 2), high: 6 (code 7) */
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_FP4_E2M1, q, 4, 0.5f, y, &err), SQ_OK);
    ck_assert(y[0] == 1.0f && y[1] == -3.0f && y[2] == 0.5f && y[3] == 3.0f);
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_FP4_E2M1, x, 3, 1.0f, q, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "fp4_e2m1"));
    ck_assert_ptr_nonnull(strstr(err.msg, "row length 3"));
}
END_TEST

/* 32 floats: the listed ones first, the rest `fill`. */
static void block32(float *x, const float *v, int nv, float fill)
{
    for (int j = 0; j < 32; j++)
        x[j] = j < nv ? v[j] : fill;
}

START_TEST(test_mxfp4_hand)
{
    sq_error err;
    float x[32], y[32];
    uint8_t q[17];
    /* amax 6: floor(log2 6) - 2 = 0 -> scale 1, byte 127 */
    const float v[6] = {6.0f, -3.0f, 0.25f, 0.75f, 5.0f, 2.5f};
    block32(x, v, 6, 0.0f);
    x[16] = -1.25f;
    x[17] = 7.0f - 6.0f; /* 1 */
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_MXFP4, x, 32, 1.0f, q, &err), SQ_OK);
    ck_assert_uint_eq(q[0], 127);
    ck_assert_uint_eq(q[1], 0xa7); /* x0 = 6 (7) low, x16 = -1.25 -> -1 (0xa) high */
    ck_assert_uint_eq(q[2], 0x2d); /* x1 = -3 (0xd), x17 = 1 (2) */
    ck_assert_uint_eq(q[3], 0x00); /* 0.25 ties to 0 */
    ck_assert_uint_eq(q[4], 0x02); /* 0.75 ties to 1 */
    ck_assert_uint_eq(q[5], 0x06); /* 5 ties to 4 */
    ck_assert_uint_eq(q[6], 0x04); /* 2.5 ties to 2 */
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_MXFP4, q, 32, 1.0f, y, &err), SQ_OK);
    ck_assert(y[0] == 6 && y[1] == -3 && y[2] == 0 && y[3] == 1 && y[4] == 4 && y[5] == 2 && y[16] == -1);
    /* amax 7: same exponent, 7 saturates to 6 */
    x[0] = 7.0f;
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_MXFP4, x, 32, 1.0f, q, &err), SQ_OK);
    ck_assert_uint_eq(q[0], 127);
    ck_assert_uint_eq(q[1] & 15, 7);
    /* all equal 1: scale 2^-2, elements 4 (code 6), decoded exactly */
    block32(x, NULL, 0, 1.0f);
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_MXFP4, x, 32, 1.0f, q, &err), SQ_OK);
    ck_assert_uint_eq(q[0], 125);
    for (int j = 1; j < 17; j++)
        ck_assert_uint_eq(q[j], 0x66);
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_MXFP4, q, 32, 1.0f, y, &err), SQ_OK);
    ck_assert(y[31] == 1.0f);
    /* all zero: byte 0, zero codes */
    block32(x, NULL, 0, 0.0f);
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_MXFP4, x, 32, 1.0f, q, &err), SQ_OK);
    ck_assert_uint_eq(q[0], 0);
    ck_assert_uint_eq(q[5], 0);
    /* tiny: amax 1e-31, floor(log2) = -103, byte 127 - 105 = 22; 1e-31 * 2^105 ~ 4.06 -> 4 */
    block32(x, NULL, 0, 1e-31f);
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_MXFP4, x, 32, 1.0f, q, &err), SQ_OK);
    ck_assert_uint_eq(q[0], 22);
    ck_assert_uint_eq(q[1], 0x66);
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_MXFP4, q, 32, 1.0f, y, &err), SQ_OK);
    ck_assert(y[0] == 0x1p-103f);
    /* a subnormal amax clamps the exponent at -127 (byte 0) */
    block32(x, NULL, 0, 0x1p-140f);
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_MXFP4, x, 32, 1.0f, q, &err), SQ_OK);
    ck_assert_uint_eq(q[0], 0);
    ck_assert_uint_eq(q[1], 0x00); /* 2^-140 / 2^-127 = 2^-13 -> 0 */
    ck_assert_uint_eq(sq_mx_scale_byte(FLT_MAX, 2), 252);
    ck_assert_uint_eq(sq_mx_scale_byte(0x1p-126f, 8), 0);
    ck_assert_uint_eq(sq_mx_scale_byte(448.0f, 8), 127);
}
END_TEST

/* Every E2M1 code through an MXFP4 block at scale 2^3 (exhaustive 4-bit). */
START_TEST(test_mxfp4_all_codes)
{
    sq_error err;
    float x[32], y[32];
    uint8_t q[17];
    for (int j = 0; j < 32; j++)
        x[j] = sq_fp4_e2m1_decode((uint8_t)(j % 16)) * 8.0f;
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_MXFP4, x, 32, 1.0f, q, &err), SQ_OK);
    ck_assert_uint_eq(q[0], 130); /* amax 48: floor(log2) 5 - 2 = 3 */
    for (int j = 0; j < 16; j++)
        ck_assert_uint_eq(q[1 + j], (uint8_t)(j | (j << 4)));
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_MXFP4, q, 32, 1.0f, y, &err), SQ_OK);
    for (int j = 0; j < 32; j++)
        ck_assert_uint_eq(bits(y[j]), bits(x[j]));
}
END_TEST

/* A block in ggml's block_mxfp4 layout decodes as ggml does. */
START_TEST(test_ggml_mxfp4_decode)
{
    sq_error err;
    uint8_t b[17] = {128, 0x71, 0x9f};
    float y[32], z[32];
    ck_assert_int_eq(sq_elemfmt_decode_ggml_mxfp4(b, 32, y, &err), SQ_OK);
    ck_assert(y[0] == 1.0f);   /* kvalue 1 * 2^0 */
    ck_assert(y[16] == 12.0f); /* kvalue 12 */
    ck_assert(y[1] == -12.0f); /* code 0xf */
    ck_assert(y[17] == -1.0f); /* code 0x9 */
    ck_assert(y[2] == 0.0f && y[31] == 0.0f);
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_MXFP4, b, 32, 1.0f, z, &err), SQ_OK);
    for (int j = 0; j < 32; j++)
        ck_assert_uint_eq(bits(y[j]), bits(z[j]));
    b[0] = 0; /* 2^-128 in ggml's half convention, 0.5 * 2^-127 ours: the same */
    ck_assert_int_eq(sq_elemfmt_decode_ggml_mxfp4(b, 32, y, &err), SQ_OK);
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_MXFP4, b, 32, 1.0f, z, &err), SQ_OK);
    ck_assert(y[0] == 0x1p-128f && z[0] == 0x1p-128f && y[16] == 12 * 0x1p-128f && z[16] == y[16]);
    b[0] = 255; /* ggml: 2^127 per unit; OCP: NaN */
    ck_assert_int_eq(sq_elemfmt_decode_ggml_mxfp4(b, 32, y, &err), SQ_OK);
    ck_assert(y[0] == 0x1p127f && y[16] == INFINITY);
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_MXFP4, b, 32, 1.0f, z, &err), SQ_OK);
    ck_assert(isnan(z[0]));
    ck_assert_int_eq(sq_elemfmt_decode_ggml_mxfp4(b, 31, y, &err), SQ_ERR_ARG);
}
END_TEST

START_TEST(test_mxfp8_hand)
{
    sq_error err;
    float x[32], y[32];
    uint8_t q[33];
    const float v[4] = {500.0f, -1.0625f, 0x1p-10f, 448.0f};
    block32(x, v, 4, 0.0f);
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_MXFP8, x, 32, 1.0f, q, &err), SQ_OK);
    ck_assert_uint_eq(q[0], 127); /* floor(log2 500) = 8 = emax */
    ck_assert_uint_eq(q[1], 0x7e); /* 500 saturates to 448 */
    ck_assert_uint_eq(q[2], 0xb8); /* -1.0625 ties to -1 */
    ck_assert_uint_eq(q[3], 0x00); /* 2^-10 ties to 0 */
    ck_assert_uint_eq(q[4], 0x7e);
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_MXFP8, q, 32, 1.0f, y, &err), SQ_OK);
    ck_assert(y[0] == 448.0f && y[1] == -1.0f && y[2] == 0.0f);
    block32(x, NULL, 0, 3.0f); /* all equal: scale 2^(1 - 8), 3 * 2^7 = 384 exact */
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_MXFP8, x, 32, 1.0f, q, &err), SQ_OK);
    ck_assert_uint_eq(q[0], 120);
    ck_assert_uint_eq(q[32], 0x7c); /* 384 = 1.5 * 2^8 */
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_MXFP8, q, 32, 1.0f, y, &err), SQ_OK);
    ck_assert(y[5] == 3.0f);
    size_t bytes;
    ck_assert_int_eq(sq_elemfmt_row_bytes(SQ_ELEM_MXFP8, 64, &bytes, &err), SQ_OK);
    ck_assert_uint_eq(bytes, 66);
}
END_TEST

START_TEST(test_nvfp4_hand)
{
    sq_error err;
    float x[16] = {6.0f, -3.0f, 2.5f, 0.25f}, y[16];
    uint8_t q[9];
    /* S = 1: block scale e4m3(6 / 6) = 1.0 (0x38) */
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_NVFP4, x, 16, 1.0f, q, &err), SQ_OK);
    ck_assert_uint_eq(q[0], 0x38);
    ck_assert_uint_eq(q[1], 0xd7);
    ck_assert_uint_eq(q[2], 0x04); /* 2.5 -> 2, 0.25 -> 0 */
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_NVFP4, q, 16, 1.0f, y, &err), SQ_OK);
    ck_assert(y[0] == 6.0f && y[1] == -3.0f && y[2] == 2.0f && y[3] == 0.0f);
    /* S = 0.5, amax 3: 3 / 6 / 0.5 = 1 -> scale 0.5, 3 -> 6 */
    x[0] = 3.0f;
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_NVFP4, x, 16, 0.5f, q, &err), SQ_OK);
    ck_assert_uint_eq(q[0], 0x38);
    ck_assert_uint_eq(q[1], 0xf7); /* 3 -> 6 (7), -3 -> -6 (0xf) */
    /* block scale tie: 6.375 / 6 = 1.0625 -> 1.0 (even); 6.375 saturates to 6 */
    x[0] = 6.375f;
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_NVFP4, x, 16, 1.0f, q, &err), SQ_OK);
    ck_assert_uint_eq(q[0], 0x38);
    ck_assert_uint_eq(q[1] & 15, 7);
    /* the tensor scale of a whole tensor */
    ck_assert(sq_elemfmt_tensor_scale(SQ_ELEM_NVFP4, 2688.0f) == 1.0f);
    /* zero and tiny blocks: zero scale byte, zero codes */
    float z[16] = {0}, t[16] = {1e-31f, -1e-31f};
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_NVFP4, z, 16, 1.0f, q, &err), SQ_OK);
    ck_assert(q[0] == 0 && q[1] == 0);
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_NVFP4, t, 16, 1.0f, q, &err), SQ_OK);
    ck_assert(q[0] == 0 && q[1] == 0x80 && q[2] == 0); /* signed zeros */
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_NVFP4, q, 16, 1.0f, y, &err), SQ_OK);
    ck_assert(y[0] == 0.0f);
    /* all equal 5 with S = 2688 / 2688: scale e4m3(5/6) = 0.8125, 5 / 0.8125 = 6.15 -> 6 */
    for (int j = 0; j < 16; j++)
        x[j] = 5.0f;
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_NVFP4, x, 16, 1.0f, q, &err), SQ_OK);
    ck_assert_uint_eq(q[0], 0x35); /* 0.8125 = 1.625 * 2^-1 */
    ck_assert_uint_eq(q[8], 0x77);
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_NVFP4, q, 16, 1.0f, y, &err), SQ_OK);
    ck_assert(y[15] == 4.875f);
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_NVFP4, x, 16, 0.0f, q, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "nvfp4"));
}
END_TEST

/* ---- NF4 ------------------------------------------------------------------ */

START_TEST(test_nf4_codebook)
{
    ck_assert(sq_nf4_value(0) == -1.0f && sq_nf4_value(7) == 0.0f && sq_nf4_value(15) == 1.0f);
    ck_assert(sq_nf4_value(12) == 0.44070982933044434f);
    for (uint8_t c = 0; c < 16; c++)
        ck_assert_uint_eq(sq_nf4_code(sq_nf4_value(c)), c);
    for (uint8_t c = 0; c < 15; c++) { /* a value on bitsandbytes' threshold takes the lower code */
        float lo = sq_nf4_value(c), hi = sq_nf4_value(c + 1), mid = (lo + hi) / 2;
        uint8_t at = sq_nf4_code(mid);
        ck_assert(at == c || at == c + 1); /* the float midpoint is within an ulp of the threshold */
        ck_assert_uint_eq(sq_nf4_code(nextafterf(mid, -2.0f) - 1e-6f), c);
        ck_assert_uint_eq(sq_nf4_code(nextafterf(mid, 2.0f) + 1e-6f), c + 1);
    }
    ck_assert_uint_eq(sq_nf4_code(0.03979014977812767f), 7); /* exactly the threshold 7 | 8 */
    ck_assert_uint_eq(sq_nf4_code(nextafterf(0.03979014977812767f, 1.0f)), 8);
    ck_assert_uint_eq(sq_nf4_code(-0.8480964004993439f), 0);
    ck_assert_uint_eq(sq_nf4_code(-0.0f), 7);
    ck_assert_uint_eq(sq_nf4_code(2.0f), 15);
}
END_TEST

START_TEST(test_nf4_row)
{
    sq_error err;
    float x[64] = {2.0f, -2.0f, 1.0f, 0.0f, 0.16f, -0.5f}, y[64];
    uint8_t q[36];
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_NF4, x, 64, 1.0f, q, &err), SQ_OK);
    ck_assert(q[0] == 0 && q[1] == 0 && q[2] == 0 && q[3] == 0x40); /* absmax 2.0f, little-endian */
    ck_assert_uint_eq(q[4], 0xf0);          /* 1 (15) high, -1 (0) low */
    ck_assert_uint_eq(q[5], 0xc7);          /* 0.5 -> 0.4407 (12; threshold 0.5017), 0 -> 7 */
    ck_assert_uint_eq(q[6], 0x84);          /* 0.08 -> 0.0796 (8), -0.25 -> -0.2844 (4) */
    ck_assert_uint_eq(q[35], 0x77);
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_NF4, q, 64, 1.0f, y, &err), SQ_OK);
    ck_assert(y[0] == 2.0f && y[1] == -2.0f && y[2] == 0.44070982933044434f * 2.0f && y[3] == 0.0f);
    ck_assert(y[4] == 0.07958029955625534f * 2.0f && y[5] == -0.28444138169288635f * 2.0f);
    /* other block size, codes and absmax apart */
    uint8_t c[4];
    float a[2];
    float w[8] = {1, 2, 3, 4, 0, 0, 0, 0}, v[8];
    ck_assert_int_eq(sq_nf4_encode(w, 8, 4, c, a, &err), SQ_OK);
    ck_assert(a[0] == 4.0f && a[1] == 0.0f);
    ck_assert_uint_eq(c[0], 0xac); /* 0.25 -> 0.2461 (10), 0.5 -> 12 */
    ck_assert_uint_eq(c[1], 0xef); /* 0.75 -> 0.7230 (14; thresholds 0.6428, 0.8615), 1 -> 15 */
    ck_assert_uint_eq(c[2], 0x77);
    ck_assert_int_eq(sq_nf4_decode(c, a, 8, 4, v, &err), SQ_OK);
    ck_assert(v[3] == 4.0f && v[4] == 0.0f);
    ck_assert_int_eq(sq_nf4_encode(w, 8, 3, c, a, &err), SQ_ERR_ARG);
    ck_assert_int_eq(sq_nf4_encode(w, 6, 4, c, a, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "nf4"));
    w[6] = NAN;
    ck_assert_int_eq(sq_nf4_encode(w, 8, 4, c, a, &err), SQ_ERR_NONFINITE);
    ck_assert_ptr_nonnull(strstr(err.msg, "element 7"));
}
END_TEST

START_TEST(test_nf4_double_quant)
{
    float map[256];
    sq_dynamic_map(map);
    ck_assert(map[127] == 0.0f && map[255] == 1.0f && map[128] == 1e-6f * 0.55f);
    for (int i = 0; i < 255; i++)
        ck_assert(map[i] < map[i + 1]);
    ck_assert(map[0] == -map[254]);
    sq_error err;
    float a[300], back[300], a2[2], off;
    uint8_t q[300];
    for (int i = 0; i < 300; i++)
        a[i] = 1.0f + (float)(i % 7);
    a[299] = 10.0f;
    ck_assert_int_eq(sq_nf4_dq_encode(a, 300, q, a2, &off, &err), SQ_OK);
    double mean = 0;
    for (int i = 0; i < 300; i++)
        mean += a[i];
    ck_assert(fabs(off - mean / 300) < 1e-5);
    ck_assert(a2[1] == 10.0f - off); /* the partial block's absmax */
    sq_nf4_dq_decode(q, a2, off, 300, back);
    for (int i = 0; i < 300; i++)
        ck_assert_msg(fabsf(back[i] - a[i]) <= 0.01f * fabsf(a2[i / 256]) + 1e-6f, "%d: %g vs %g", i,
                      (double)back[i], (double)a[i]);
    ck_assert_uint_eq(q[299], 255); /* the block's largest deviation maps to 1.0 */
    ck_assert(back[299] == 10.0f);
    ck_assert(fabs(sq_nf4_bits_per_weight(64, true) - 4.127) < 5e-4);
    ck_assert(sq_nf4_bits_per_weight(64, false) == 4.5);
    a[3] = INFINITY;
    ck_assert_int_eq(sq_nf4_dq_encode(a, 300, q, a2, &off, &err), SQ_ERR_NONFINITE);
}
END_TEST


/* Every format on 64-element rows: zeros (and -0 where the format has a
 * signed zero), a tiny row (max < 1e-30), an all-equal row; each with the
 * scale sq_elemfmt_row_scale gives. */
static void roundtrip(sq_elemfmt f, const float *x, float *y)
{
    sq_error err;
    float s;
    uint8_t q[128];
    size_t n = 64, bytes;
    ck_assert_int_eq(sq_elemfmt_row_bytes(f, n, &bytes, &err), SQ_OK);
    ck_assert_uint_le(bytes, sizeof q);
    ck_assert_int_eq(sq_elemfmt_row_scale(f, x, n, &s, &err), SQ_OK);
    ck_assert_int_eq(sq_elemfmt_encode_row(f, x, n, s, q, &err), SQ_OK);
    ck_assert_int_eq(sq_elemfmt_decode_row(f, q, n, s, y, &err), SQ_OK);
}

START_TEST(test_every_format_special_rows)
{
    sq_elemfmt f = (sq_elemfmt)_i;
    float x[64], y[64];
    for (int j = 0; j < 64; j++)
        x[j] = j % 2 ? -0.0f : 0.0f;
    roundtrip(f, x, y);
    for (int j = 0; j < 64; j++) {
        ck_assert(y[j] == 0.0f);
        if (f != SQ_ELEM_NF4) /* NF4's codebook has one (positive) zero */
            ck_assert_int_eq(!!signbit(y[j]), j % 2);
    }
    for (int j = 0; j < 64; j++) /* tiny: +-8e-31 and +-4e-31 */
        x[j] = (j % 2 ? -1.0f : 1.0f) * (j % 4 < 2 ? 8e-31f : 4e-31f);
    roundtrip(f, x, y);
    for (int j = 0; j < 64; j++) {
        if (f == SQ_ELEM_FP8_E4M3 || f == SQ_ELEM_FP8_E5M2 || f == SQ_ELEM_FP4_E2M1 || f == SQ_ELEM_NVFP4)
            ck_assert(y[j] == 0.0f); /* scale 1: far below the smallest subnormal */
        else if (f == SQ_ELEM_NF4) {
            /* +-1 exact; 0.5 -> 0.4407 (threshold 0.5017); -0.5 -> -0.5251 (thresholds -0.6106, -0.4600) */
            const float want[4] = {1.0f, -1.0f, 0.44070982933044434f, -0.5250730514526367f};
            ck_assert(y[j] == want[j % 4] * 8e-31f);
        }
        else /* MX: scale 2^(floor(log2 8e-31) - emax), 8e-31 = 1.98 * 2^-101, 4e-31 = 1.98 * 2^-102 */
            ck_assert_msg(fabsf(y[j] - x[j]) <= fabsf(x[j]) * (f == SQ_ELEM_MXFP4 ? 0.25f : 0.0625f),
                          "%s [%d] %g -> %g", sq_elemfmt_info_of(_i)->name, j, (double)x[j], (double)y[j]);
    }
    for (int j = 0; j < 64; j++)
        x[j] = 0.75f;
    roundtrip(f, x, y);
    for (int j = 0; j < 64; j++) /* the max of the row is representable after scaling in every format */
        ck_assert_msg(fabsf(y[j] - 0.75f) <= 0x1p-22f, "%s: 0.75 -> %a", sq_elemfmt_info_of(_i)->name,
                      (double)y[j]);
}
END_TEST

/* ---- table, levels, errors ----------------------------------------------- */

static const struct {
    const char *name;
    size_t block, bytes, nlevels;
    double bpw;
} table[] = {
    {"fp8_e4m3", 1, 1, 253, 8.0}, {"fp8_e5m2", 1, 1, 247, 8.0}, {"fp4_e2m1", 2, 1, 15, 4.0},
    {"nf4", 64, 36, 16, 4.5},     {"mxfp4", 32, 17, 15, 4.25},  {"mxfp8", 32, 33, 253, 8.25},
    {"nvfp4", 16, 9, 15, 4.5},
};

START_TEST(test_table)
{
    const sq_elemfmt_info *i = sq_elemfmt_info_at((size_t)_i);
    sq_elemfmt f;
    sq_error err;
    ck_assert_ptr_nonnull(i);
    ck_assert_str_eq(i->name, table[_i].name);
    ck_assert_uint_eq(i->block, table[_i].block);
    ck_assert_uint_eq(i->block_bytes, table[_i].bytes);
    ck_assert_uint_eq(i->nlevels, table[_i].nlevels);
    ck_assert(i->bits_per_weight == table[_i].bpw);
    ck_assert_ptr_eq(sq_elemfmt_info_of((int)i->fmt), i);
    ck_assert_int_eq(sq_elemfmt_lookup(table[_i].name, &f, &err), SQ_OK);
    ck_assert_int_eq((int)f, (int)i->fmt);
    float lv[300];
    ck_assert_uint_eq(sq_elemfmt_levels(f, 2.0f, lv, 300), table[_i].nlevels);
    for (size_t k = 0; k + 1 < table[_i].nlevels; k++)
        ck_assert(lv[k] < lv[k + 1]);
    ck_assert(lv[0] == -lv[table[_i].nlevels - 1]);
    ck_assert_uint_eq(sq_elemfmt_levels(f, 1.0f, NULL, 0), table[_i].nlevels);
    /* every decoded value is one of the levels: decode a row of all codes */
    size_t n = 64 * table[_i].block, bytes;
    ck_assert_int_eq(sq_elemfmt_row_bytes(f, n, &bytes, &err), SQ_OK);
    ck_assert_uint_eq(bytes, 64 * table[_i].bytes);
}
END_TEST

START_TEST(test_levels_values)
{
    float lv[16];
    ck_assert_uint_eq(sq_elemfmt_levels(SQ_ELEM_FP4_E2M1, 1.0f, lv, 16), 15);
    const float want[15] = {-6, -4, -3, -2, -1.5f, -1, -0.5f, 0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
    for (int k = 0; k < 15; k++)
        ck_assert(lv[k] == want[k]);
    ck_assert_uint_eq(sq_elemfmt_levels(SQ_ELEM_NF4, 2.0f, lv, 3), 16);
    ck_assert(lv[0] == -2.0f && lv[1] == -0.6961928009986877f * 2 && lv[2] == -0.5250730514526367f * 2);
    float e4[253];
    ck_assert_uint_eq(sq_elemfmt_levels(SQ_ELEM_MXFP8, 0.5f, e4, 253), 253);
    ck_assert(e4[0] == -224.0f && e4[126] == 0.0f && e4[127] == 0x1p-10f && e4[252] == 224.0f);
    ck_assert_uint_eq(sq_elemfmt_levels((sq_elemfmt)99, 1.0f, lv, 16), 0);
}
END_TEST

START_TEST(test_errors)
{
    sq_error err;
    sq_elemfmt f;
    float x[64] = {0}, s;
    uint8_t q[64];
    ck_assert_int_eq(sq_elemfmt_lookup("MXFP4", &f, &err), SQ_OK);
    ck_assert_int_eq(f, SQ_ELEM_MXFP4);
    ck_assert_int_eq(sq_elemfmt_lookup("fp6", &f, &err), SQ_ERR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "'fp6'"));
    ck_assert_ptr_nonnull(strstr(err.msg, "nvfp4"));
    ck_assert_int_eq(sq_elemfmt_lookup(NULL, &f, &err), SQ_ERR_NOTFOUND);
    ck_assert_ptr_null(sq_elemfmt_info_of(7));
    ck_assert_ptr_null(sq_elemfmt_info_of(-1));
    ck_assert_ptr_null(sq_elemfmt_info_at(7));
    x[5] = NAN;
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_FP8_E4M3, x, 8, 1.0f, q, &err), SQ_ERR_NONFINITE);
    ck_assert_ptr_nonnull(strstr(err.msg, "fp8_e4m3"));
    ck_assert_ptr_nonnull(strstr(err.msg, "element 6"));
    ck_assert_int_eq(sq_elemfmt_row_scale(SQ_ELEM_FP8_E5M2, x, 8, &s, &err), SQ_ERR_NONFINITE);
    ck_assert_ptr_nonnull(strstr(err.msg, "fp8_e5m2"));
    x[5] = 0;
    x[40] = -INFINITY;
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_MXFP8, x, 64, 1.0f, q, &err), SQ_ERR_NONFINITE);
    ck_assert_ptr_nonnull(strstr(err.msg, "mxfp8: input element 41"));
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_MXFP4, x, 33, 1.0f, q, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "mxfp4: row length 33 is not a multiple of the block size 32"));
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_NF4, q, 32, 1.0f, x, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "nf4"));
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_FP8_E4M3, x, 4, NAN, q, &err), SQ_ERR_ARG);
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_FP8_E4M3, x, 4, -1.0f, q, &err), SQ_ERR_ARG);
    ck_assert_int_eq(sq_elemfmt_decode_row(SQ_ELEM_FP8_E4M3, q, 4, INFINITY, x, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "fp8_e4m3: scale"));
    ck_assert_int_eq(sq_elemfmt_encode_row((sq_elemfmt)42, x, 4, 1.0f, q, &err), SQ_ERR_ARG);
    ck_assert_int_eq(sq_elemfmt_encode_row(SQ_ELEM_MXFP4, x, 0, 1.0f, q, &err), SQ_OK);
}
END_TEST

static Suite *elemfmt_suite(void)
{
    Suite *s = suite_create("elemfmt");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_code_tables, 0, NFMTS);
    tcase_add_test(tc, test_spot_values);
    tcase_add_loop_test(tc, test_roundtrip_codes, 0, NFMTS);
    tcase_add_loop_test(tc, test_ties_to_even, 0, NFMTS);
    tcase_add_loop_test(tc, test_saturation_zero_nan, 0, NFMTS);
    tcase_add_test(tc, test_hand_values);
    tcase_add_loop_test(tc, test_random_vs_brute_force, 0, NFMTS);
    tcase_add_test(tc, test_fp8_row);
    tcase_add_test(tc, test_scales);
    tcase_add_test(tc, test_fp4_row);
    tcase_add_test(tc, test_mxfp4_hand);
    tcase_add_test(tc, test_mxfp4_all_codes);
    tcase_add_test(tc, test_ggml_mxfp4_decode);
    tcase_add_test(tc, test_mxfp8_hand);
    tcase_add_test(tc, test_nvfp4_hand);
    tcase_add_test(tc, test_nf4_codebook);
    tcase_add_test(tc, test_nf4_row);
    tcase_add_test(tc, test_nf4_double_quant);
    tcase_add_loop_test(tc, test_table, 0, SQ_ELEMFMT_COUNT);
    tcase_add_loop_test(tc, test_every_format_special_rows, 0, SQ_ELEMFMT_COUNT);
    tcase_add_test(tc, test_levels_values);
    tcase_add_test(tc, test_errors);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(elemfmt_suite)
