/*
 * fmt_nf4.c - bitsandbytes' NF4 (4-bit NormalFloat) codebook format and
 * its double quantization of the block absmax values (see elemfmt.h).
 *
 * The codebook and the decision midpoints are bitsandbytes' float32
 * constants (csrc/kernels.cu: the NF4 table and dQuantizeNF4). Its tree of
 * `x > midpoint` tests equals counting the midpoints below x, which is how
 * it is computed here (branch-free, so it vectorizes); a value exactly on a
 * midpoint takes the lower code, as in bitsandbytes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "elemfmt.h"
#include "fmt_int.h"
#include "simd.h"

static const float nf4_values[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
    -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
    0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
    0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};

/* bitsandbytes' decision thresholds, ascending (between codes i and i+1). */
static const float nf4_mid[15] = {
    -0.8480964004993439f, -0.6106329262256622f, -0.4599952697753906f, -0.33967943489551544f,
    -0.23460740596055984f, -0.13791173323988914f, -0.045525018125772476f, 0.03979014977812767f,
    0.1202552504837513f, 0.2035212516784668f, 0.2920137718319893f, 0.3893125355243683f,
    0.5016634166240692f, 0.6427869200706482f, 0.8614784181118011f};

float sq_nf4_value(uint8_t c)
{
    return nf4_values[c & 15u];
}

/* The midpoint count, written out so that loops over elements vectorize
 * (a loop over the thresholds would be vectorized instead). */
static inline uint8_t nf4_code(float v)
{
    const float *m = nf4_mid;
    int c = (v > m[0]) + (v > m[1]) + (v > m[2]) + (v > m[3]) + (v > m[4]) + (v > m[5]) + (v > m[6]) +
            (v > m[7]) + (v > m[8]) + (v > m[9]) + (v > m[10]) + (v > m[11]) + (v > m[12]) + (v > m[13]) +
            (v > m[14]);
    return (uint8_t)c;
}

uint8_t sq_nf4_code(float v)
{
    return nf4_code(v);
}

/* x * (1 / absmax) as bitsandbytes normalizes; 0 for an all-zero block;
 * a division where 1 / absmax overflows (subnormal absmax). */
static inline float nf4_inverse(float absmax)
{
    return absmax > 0.0f ? 1.0f / absmax : 0.0f;
}

/* Codes of x[0..n) * inv (or / absmax where 1 / absmax overflows). */
SQ_HOT static void nf4_codes(const float *x, size_t n, float inv, float absmax, uint8_t *c)
{
    if (isinf(inv)) {
        for (size_t j = 0; j < n; j++)
            c[j] = nf4_code(x[j] / absmax);
        return;
    }
    for (size_t j = 0; j < n; j++)
        c[j] = nf4_code(x[j] * inv);
}

/* One block of `block` elements into block / 2 code bytes, in chunks of
 * 64 codes (computed apart first so that the loop vectorizes). */
static void nf4_block(const float *x, size_t block, float absmax, uint8_t *q)
{
    float inv = nf4_inverse(absmax);
    uint8_t c[64];
    for (size_t k = 0; k < block; k += 64) {
        size_t m = block - k < 64 ? block - k : 64;
        nf4_codes(x + k, m, inv, absmax, c);
        for (size_t j = 0; j < m / 2; j++)
            q[k / 2 + j] = (uint8_t)(c[2 * j] << 4 | c[2 * j + 1]);
    }
}

static void nf4_block_dec(const uint8_t *q, size_t block, float absmax, float *y)
{
    for (size_t j = 0; j < block / 2; j++) {
        y[2 * j] = nf4_values[q[j] >> 4] * absmax;
        y[2 * j + 1] = nf4_values[q[j] & 15u] * absmax;
    }
}

static void put_f32le(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)(u >> (8 * k));
}

static float get_f32le(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Row kernels of the table's "nf4": blocks of 64 as fp32 absmax + 32 bytes. */
void sq_fmt_nf4_enc(const float *x, size_t nb, float scale, uint8_t *dst)
{
    (void)scale;
    for (size_t i = 0; i < nb; i++) {
        float a = sq_fmt_absmax(x + 64 * i, 64);
        put_f32le(dst + 36 * i, a);
        nf4_block(x + 64 * i, 64, a, dst + 36 * i + 4);
    }
}

void sq_fmt_nf4_dec(const uint8_t *src, size_t nb, float scale, float *dst)
{
    (void)scale;
    for (size_t i = 0; i < nb; i++)
        nf4_block_dec(src + 36 * i + 4, 64, get_f32le(src + 36 * i), dst + 64 * i);
}

static sq_status nf4_check(size_t n, size_t block, sq_error *err)
{
    if (block == 0 || block % 2 != 0)
        return sq_fail(err, SQ_ERR_ARG, "nf4: block size %zu must be even and positive", block);
    if (n % block != 0)
        return sq_fail(err, SQ_ERR_ARG, "nf4: row length %zu is not a multiple of the block size %zu", n, block);
    return SQ_OK;
}

sq_status sq_nf4_encode(const float *x, size_t n, size_t block, uint8_t *codes, float *absmax, sq_error *err)
{
    sq_status st = nf4_check(n, block, err);
    if (st != SQ_OK)
        return st;
    size_t bad = sq_fmt_first_nonfinite(x, n);
    if (bad < n)
        return sq_fail(err, SQ_ERR_NONFINITE, "nf4: input element %zu is %g (finite values needed)", bad + 1,
                       (double)x[bad]);
    for (size_t i = 0; i < n / block; i++) {
        absmax[i] = sq_fmt_absmax(x + i * block, block);
        nf4_block(x + i * block, block, absmax[i], codes + i * block / 2);
    }
    return SQ_OK;
}

sq_status sq_nf4_decode(const uint8_t *codes, const float *absmax, size_t n, size_t block, float *dst,
                        sq_error *err)
{
    sq_status st = nf4_check(n, block, err);
    if (st != SQ_OK)
        return st;
    for (size_t i = 0; i < n / block; i++)
        nf4_block_dec(codes + i * block / 2, block, absmax[i], dst + i * block);
    return SQ_OK;
}

double sq_nf4_bits_per_weight(size_t block, bool double_quant)
{
    if (block == 0)
        return 0.0;
    if (!double_quant)
        return 4.0 + 32.0 / (double)block;
    return 4.0 + 8.0 / (double)block + 32.0 / (SQ_NF4_DQ_BLOCK * (double)block);
}

/* ---- double quantization ------------------------------------------------ */

/* torch.linspace(start, end, steps) in float32 as torch's CPU kernel
 * computes it: the first half from start, the second half back from end. */
static void linspace_f32(float start, float end, int steps, float *out)
{
    float step = (end - start) / (float)(steps - 1);
    int half = steps / 2;
    for (int i = 0; i < steps; i++)
        out[i] = i < half ? start + step * (float)i : end - step * (float)(steps - i - 1);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8): for
 * i = 0..6, the means of consecutive points of linspace(0.1, 1, 2^i + 1)
 * times +-10^(i - 6); then 0 and 1; sorted. */
void sq_dynamic_map(float out[256])
{
    static const float pow10[7] = {1e-6f, 1e-5f, 1e-4f, 1e-3f, 1e-2f, 1e-1f, 1.0f};
    float b[65];
    size_t k = 0;
    for (int i = 0; i < 7; i++) {
        int items = (1 << i) + 1;
        linspace_f32(0.1f, 1.0f, items, b);
        for (int j = 0; j + 1 < items; j++) {
            float mean = (b[j] + b[j + 1]) / 2.0f;
            out[k++] = pow10[i] * mean;
            out[k++] = -(pow10[i] * mean);
        }
    }
    out[k++] = 0.0f;
    out[k++] = 1.0f;
    qsort(out, k, sizeof out[0], cmp_float);
}

/* bitsandbytes' dQuantize (non-stochastic): a binary search from the
 * middle of the map, then the nearer of the two bracketing entries by
 * their float midpoint (on the midpoint: the one nearer the search's
 * last pivot). */
static uint8_t dyn_code(const float *code, float x)
{
    int pivot = 127, up = 255, lo = 0;
    float lower = -1.0f, upper = 1.0f, val = code[pivot];
    for (int i = 64; i > 0; i >>= 1) {
        if (x > val) {
            lo = pivot, lower = val, pivot += i;
        } else {
            up = pivot, upper = val, pivot -= i;
        }
        val = code[pivot];
    }
    if (up == 255)
        upper = code[255];
    if (lo == 0)
        lower = code[0];
    if (x > val)
        return (uint8_t)(x > (upper + val) * 0.5f ? up : pivot);
    return (uint8_t)(x < (lower + val) * 0.5f ? lo : pivot);
}

sq_status sq_nf4_dq_encode(const float *absmax, size_t nabs, uint8_t *q, float *absmax2, float *offset,
                           sq_error *err)
{
    size_t bad = sq_fmt_first_nonfinite(absmax, nabs);
    if (bad < nabs)
        return sq_fail(err, SQ_ERR_NONFINITE, "nf4 double quantization: absmax %zu is %g", bad + 1,
                       (double)absmax[bad]);
    float map[256];
    sq_dynamic_map(map);
    double sum = 0.0;
    for (size_t i = 0; i < nabs; i++)
        sum += absmax[i];
    float mean = nabs ? (float)(sum / (double)nabs) : 0.0f;
    *offset = mean;
    for (size_t b = 0; b * SQ_NF4_DQ_BLOCK < nabs; b++) {
        size_t lo = b * SQ_NF4_DQ_BLOCK, m = nabs - lo < SQ_NF4_DQ_BLOCK ? nabs - lo : SQ_NF4_DQ_BLOCK;
        float a = 0.0f;
        for (size_t i = 0; i < m; i++)
            a = fmaxf(a, fabsf(absmax[lo + i] - mean));
        absmax2[b] = a;
        float inv = a > 0.0f ? 1.0f / a : 0.0f;
        for (size_t i = 0; i < m; i++) {
            float v = absmax[lo + i] - mean;
            q[lo + i] = dyn_code(map, isinf(inv) ? v / a : v * inv);
        }
    }
    return SQ_OK;
}

void sq_nf4_dq_decode(const uint8_t *q, const float *absmax2, float offset, size_t nabs, float *absmax)
{
    float map[256];
    sq_dynamic_map(map);
    for (size_t i = 0; i < nabs; i++)
        absmax[i] = map[q[i]] * absmax2[i / SQ_NF4_DQ_BLOCK] + offset;
}
