/* pack.c - bit-packing of signed codes into an offset-binary bit stream.
 *
 * Element i occupies bits [i*b, (i+1)*b) of a little-endian bit stream; eight
 * consecutive elements starting at a multiple of 8 fill exactly b bytes, which
 * is the unit the generic paths work in. */
#include <stdint.h>
#include <string.h>

#include "quant.h"
#include "simd.h"

sq_status sq_packed_size(size_t n, int bits, size_t *bytes, sq_error *err)
{
    if (bits < 1 || bits > 8)
        return sq_fail(err, SQ_ERR_ARG, "bit width %d is outside 1..8", bits);
    /* ceil(n * bits / 8) without overflowing n * bits */
    size_t whole = n / 8, rest = n % 8;
    if (whole > SIZE_MAX / (size_t)bits)
        return sq_fail(err, SQ_ERR_OVERFLOW, "%zu codes of %d bits overflow size_t", n, bits);
    *bytes = whole * (size_t)bits + (rest * (size_t)bits + 7) / 8;
    return SQ_OK;
}

/* Pack 8 codes into b bytes. */
static inline __attribute__((always_inline)) void pack8(const int8_t *q, int bits, unsigned bias, uint8_t *dst)
{
    uint64_t w = 0, mask = (1u << bits) - 1u;
    for (int j = 0; j < 8; j++)
        w |= (uint64_t)(((unsigned)(q[j] + (int)bias)) & mask) << (j * bits);
    for (int t = 0; t < bits; t++)
        dst[t] = (uint8_t)(w >> (8 * t));
}

/* Whole groups of 8 codes, with the width a constant in each loop so that
 * the shifts and masks unroll. */
#define PACK_GROUPS_AS(B)                                       \
    for (size_t g = 0; g < groups; g++)                         \
        pack8(codes + 8 * g, B, 1u << (B - 1), dst + g * (size_t)(B));

#if SQ_X86_KERNELS
/* Byte-lane constants of the BMI2 paths: one bit per byte, and each byte's
 * low `bits` bits. */
#define LANES_1 0x0101010101010101ull
#define LANE_FIELDS(bits) (LANES_1 * ((1u << (bits)) - 1u))

/* pack_groups with BMI2: eight codes are one 64-bit load; flipping bit
 * b-1 of each byte turns its low b bits (the code modulo 2^b) into offset
 * binary, and pext gathers those fields into b bytes. Groups with 8 bytes of
 * room store all 8 (later groups overwrite the spare ones). */
__attribute__((target("bmi2"))) static void pack_groups_bmi2(const int8_t *codes, size_t groups, int bits,
                                                             uint8_t *dst)
{
    const uint64_t flip = LANES_1 << (bits - 1), fields = LANE_FIELDS(bits);
    for (size_t g = 0; g < groups; g++) {
        uint64_t w;
        memcpy(&w, codes + 8 * g, 8);
        w = _pext_u64(w ^ flip, fields);
        if (g * (size_t)bits + 8 <= groups * (size_t)bits) { /* 8 bytes fit */
            memcpy(dst + g * (size_t)bits, &w, 8);
        } else {
            for (int t = 0; t < bits; t++)
                dst[g * (size_t)bits + (size_t)t] = (uint8_t)(w >> (8 * t));
        }
    }
}
#endif

SQ_HOT
static void pack_groups(const int8_t *codes, size_t groups, int bits, uint8_t *dst)
{
#if SQ_X86_KERNELS
    if (sq_use_bmi2()) {
        pack_groups_bmi2(codes, groups, bits, dst);
        return;
    }
#endif
    switch (bits) {
    case 1: PACK_GROUPS_AS(1) break;
    case 2: PACK_GROUPS_AS(2) break;
    case 3: PACK_GROUPS_AS(3) break;
    case 5: PACK_GROUPS_AS(5) break;
    case 6: PACK_GROUPS_AS(6) break;
    case 7: PACK_GROUPS_AS(7) break;
    default:
        for (size_t g = 0; g < groups; g++)
            pack8(codes + 8 * g, bits, 1u << (bits - 1), dst + g * (size_t)bits);
    }
}

SQ_HOT
static void pack_8bit(const int8_t *q, size_t n, uint8_t *dst)
{
    SQ_SIMD
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint8_t)(q[i] + 128);
}

SQ_HOT
static void pack_4bit(const int8_t *q, size_t n, uint8_t *dst)
{
    size_t pairs = n / 2;
    SQ_SIMD
    for (size_t k = 0; k < pairs; k++)
        dst[k] = (uint8_t)(((q[2 * k] + 8) & 0xf) | (((q[2 * k + 1] + 8) & 0xf) << 4));
    if (n & 1)
        dst[pairs] = (uint8_t)((q[n - 1] + 8) & 0xf);
}

void sq_pack_codes(const int8_t *codes, size_t n, int bits, uint8_t *dst)
{
    unsigned bias = 1u << (bits - 1);
    size_t groups = n / 8, rest = n % 8;
    if (bits == 8) {
        pack_8bit(codes, n, dst);
        return;
    }
    if (bits == 4) {
        pack_4bit(codes, n, dst);
        return;
    }
    pack_groups(codes, groups, bits, dst);
    if (rest) {
        int8_t tail[8];
        uint8_t out[8];
        memset(tail, 0, sizeof tail);
        memcpy(tail, codes + 8 * groups, rest);
        for (size_t j = rest; j < 8; j++)
            tail[j] = (int8_t)-(int)bias; /* encodes as 0: padding bits stay zero */
        pack8(tail, bits, bias, out);
        memcpy(dst + groups * (size_t)bits, out, (rest * (size_t)bits + 7) / 8);
    }
}

/* The offset-binary value of element i, read bit by bit. */
static unsigned read_code(const uint8_t *src, size_t i, int bits)
{
    size_t bit = i * (size_t)bits;
    unsigned v = src[bit / 8] >> (bit % 8);
    if (bit % 8 + (size_t)bits > 8)
        v |= (unsigned)src[bit / 8 + 1] << (8 - bit % 8);
    return v & ((1u << bits) - 1u);
}

SQ_HOT
static void unpack_8bit(const uint8_t *src, size_t n, int8_t *out)
{
    SQ_SIMD
    for (size_t i = 0; i < n; i++)
        out[i] = (int8_t)(src[i] - 128);
}

SQ_HOT
static void unpack_4bit(const uint8_t *src, size_t n, int8_t *out)
{
    size_t pairs = n / 2;
    SQ_SIMD
    for (size_t k = 0; k < pairs; k++) {
        out[2 * k] = (int8_t)((src[k] & 0xf) - 8);
        out[2 * k + 1] = (int8_t)((src[k] >> 4) - 8);
    }
    if (n & 1)
        out[n - 1] = (int8_t)((src[pairs] & 0xf) - 8);
}

/* Unpack one group of 8 codes from b bytes. */
static inline __attribute__((always_inline)) void unpack8(const uint8_t *src, int bits, int8_t *out)
{
    int bias = 1 << (bits - 1);
    uint64_t mask = (1u << bits) - 1u, w = 0;
    for (int t = 0; t < bits; t++)
        w |= (uint64_t)src[t] << (8 * t);
    for (int j = 0; j < 8; j++)
        out[j] = (int8_t)((int)((w >> (j * bits)) & mask) - bias);
}

#define UNPACK_GROUPS_AS(B)                                     \
    for (size_t g = 0; g < n8; g++)                             \
        unpack8(src + g * (size_t)(B), B, out + 8 * g);

/* Unpack whole groups of 8 starting at a multiple of 8 (constant widths, as
 * pack_groups). */
#if SQ_X86_KERNELS
/* unpack_groups with BMI2: pdep spreads b packed bytes into the low b bits
 * of eight bytes (offset binary o); each byte then becomes o - 2^(b-1) as
 * (o + 128 - 2^(b-1)) ^ 0x80, a sum that stays below 256 in every byte for
 * b <= 7, so no carry crosses a byte. Groups with 8 bytes of input left
 * load all 8 (the spare ones belong to later groups). */
__attribute__((target("bmi2"))) static void unpack_groups_bmi2(const uint8_t *src, size_t n8, int bits,
                                                               int8_t *out)
{
    const uint64_t fields = LANE_FIELDS(bits), offset = LANES_1 * (128u - (1u << (bits - 1)));
    for (size_t g = 0; g < n8; g++) {
        const uint8_t *p = src + g * (size_t)bits;
        uint64_t w = 0;
        if (g * (size_t)bits + 8 <= n8 * (size_t)bits) { /* 8 bytes are there */
            memcpy(&w, p, 8);
        } else {
            for (int t = 0; t < bits; t++)
                w |= (uint64_t)p[t] << (8 * t);
        }
        w = (_pdep_u64(w, fields) + offset) ^ (LANES_1 * 0x80u);
        memcpy(out + 8 * g, &w, 8);
    }
}
#endif

SQ_HOT
static void unpack_groups(const uint8_t *src, size_t n8, int bits, int8_t *out)
{
#if SQ_X86_KERNELS
    if (sq_use_bmi2()) {
        unpack_groups_bmi2(src, n8, bits, out);
        return;
    }
#endif
    switch (bits) {
    case 1: UNPACK_GROUPS_AS(1) return;
    case 2: UNPACK_GROUPS_AS(2) return;
    case 3: UNPACK_GROUPS_AS(3) return;
    case 5: UNPACK_GROUPS_AS(5) return;
    case 6: UNPACK_GROUPS_AS(6) return;
    case 7: UNPACK_GROUPS_AS(7) return;
    default: break;
    }
    int bias = 1 << (bits - 1);
    uint64_t mask = (1u << bits) - 1u;
    for (size_t g = 0; g < n8; g++) {
        uint64_t w = 0;
        for (int t = 0; t < bits; t++)
            w |= (uint64_t)src[g * (size_t)bits + (size_t)t] << (8 * t);
        for (int j = 0; j < 8; j++)
            out[8 * g + (size_t)j] = (int8_t)((int)((w >> (j * bits)) & mask) - bias);
    }
}

void sq_unpack_codes(const uint8_t *src, size_t start, size_t n, int bits, int8_t *out)
{
    int bias = 1 << (bits - 1);
    size_t i = 0;
    while (i < n && (start + i) % 8 != 0) {
        out[i] = (int8_t)((int)read_code(src, start + i, bits) - bias);
        i++;
    }
    size_t aligned = (n - i) / 8 * 8;
    const uint8_t *base = src + (start + i) / 8 * (size_t)bits;
    if (bits == 8)
        unpack_8bit(base, aligned, out + i);
    else if (bits == 4)
        unpack_4bit(base, aligned, out + i);
    else
        unpack_groups(base, aligned / 8, bits, out + i);
    for (i += aligned; i < n; i++)
        out[i] = (int8_t)((int)read_code(src, start + i, bits) - bias);
}
