/*
 * qformat.c - the format table of quant.h: names, the configuration each
 * format implies, its checks, levels and the storage accounting; and the
 * quantize / dequantize / statistics paths of the non-INT formats, which
 * call the row kernels of blockfmt.h and elemfmt.h.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blk_int.h"
#include "blockfmt.h"
#include "elemfmt.h"
#include "fmt_int.h"
#include "quant.h"
#include "layout.h"
#include "qformat_int.h"
#include "quant_int.h"
#include "simd.h"
#include "threads.h"

#define B SQ_FORMAT_KIND_BLOCK
#define E SQ_FORMAT_KIND_ELEM

/* format, name, kind, native, bits, block, fixed, any granularity, asymmetric, bits/w, scales */
static const sq_format_info formats[SQ_FORMAT_COUNT] = {
    {SQ_FORMAT_INT, "int", SQ_FORMAT_KIND_INT, -1, 0, 0, false, true, false, 0.0,
     "f64/f32/f16 per tensor/channel/group"},
    {SQ_FORMAT_Q4_0, "q4_0", B, SQ_BLOCK_Q4_0, 4, 32, true, false, false, 4.5, "f16 per 32"},
    {SQ_FORMAT_Q4_1, "q4_1", B, SQ_BLOCK_Q4_1, 4, 32, true, false, true, 5.0, "f16 scale + f16 min per 32"},
    {SQ_FORMAT_Q5_0, "q5_0", B, SQ_BLOCK_Q5_0, 5, 32, true, false, false, 5.5, "f16 per 32"},
    {SQ_FORMAT_Q5_1, "q5_1", B, SQ_BLOCK_Q5_1, 5, 32, true, false, true, 6.0, "f16 scale + f16 min per 32"},
    {SQ_FORMAT_Q8_0, "q8_0", B, SQ_BLOCK_Q8_0, 8, 32, true, false, false, 8.5, "f16 per 32"},
    {SQ_FORMAT_Q2_K, "q2_k", B, SQ_BLOCK_Q2_K, 2, 256, true, false, true, 2.625,
     "4-bit scale + min per 16, f16 d + dmin per 256"},
    {SQ_FORMAT_Q3_K, "q3_k", B, SQ_BLOCK_Q3_K, 3, 256, true, false, false, 3.4375,
     "6-bit scale per 16, f16 d per 256"},
    {SQ_FORMAT_Q4_K, "q4_k", B, SQ_BLOCK_Q4_K, 4, 256, true, false, true, 4.5,
     "6-bit scale + min per 32, f16 d + dmin per 256"},
    {SQ_FORMAT_Q5_K, "q5_k", B, SQ_BLOCK_Q5_K, 5, 256, true, false, true, 5.5,
     "6-bit scale + min per 32, f16 d + dmin per 256"},
    {SQ_FORMAT_Q6_K, "q6_k", B, SQ_BLOCK_Q6_K, 6, 256, true, false, false, 6.5625,
     "8-bit scale per 16, f16 d per 256"},
    {SQ_FORMAT_IQ4_NL, "iq4_nl", B, SQ_BLOCK_IQ4_NL, 4, 32, true, false, false, 4.5,
     "f16 per 32, non-linear codebook"},
    {SQ_FORMAT_IQ4_XS, "iq4_xs", B, SQ_BLOCK_IQ4_XS, 4, 256, true, false, false, 4.25,
     "6-bit scale per 32, f16 d per 256, non-linear codebook"},
    {SQ_FORMAT_FP8_E4M3, "fp8_e4m3", E, SQ_ELEM_FP8_E4M3, 8, 1, false, true, false, 8.0,
     "fp32 per tensor/channel/group"},
    {SQ_FORMAT_FP8_E5M2, "fp8_e5m2", E, SQ_ELEM_FP8_E5M2, 8, 1, false, true, false, 8.0,
     "fp32 per tensor/channel/group"},
    {SQ_FORMAT_FP4_E2M1, "fp4_e2m1", E, SQ_ELEM_FP4_E2M1, 4, 1, false, true, false, 4.0,
     "fp32 per tensor/channel/group"},
    {SQ_FORMAT_NF4, "nf4", E, SQ_ELEM_NF4, 4, 0, false, false, false, 4.5,
     "fp32 absmax per block (64), optional double quantization"},
    {SQ_FORMAT_MXFP4, "mxfp4", E, SQ_ELEM_MXFP4, 4, 32, true, false, false, 4.25, "E8M0 per 32"},
    {SQ_FORMAT_MXFP8, "mxfp8", E, SQ_ELEM_MXFP8, 8, 32, true, false, false, 8.25, "E8M0 per 32"},
    {SQ_FORMAT_NVFP4, "nvfp4", E, SQ_ELEM_NVFP4, 4, 16, true, false, false, 4.5,
     "E4M3 per 16 + fp32 per tensor"},
};

#undef B
#undef E

const sq_format_info *sq_format_info_of(int f)
{
    return f >= 0 && f < SQ_FORMAT_COUNT ? &formats[f] : NULL;
}

const char *sq_format_name(sq_format f)
{
    const sq_format_info *i = sq_format_info_of((int)f);
    return i ? i->name : "?";
}

bool sq_format_parse(const char *s, sq_format *out)
{
    for (int f = 0; s && f < SQ_FORMAT_COUNT; f++)
        if (strcasecmp(s, formats[f].name) == 0) {
            *out = (sq_format)f;
            return true;
        }
    return false;
}

sq_qconfig sq_qconfig_for_format(sq_format f)
{
    sq_qconfig c = sq_qconfig_default();
    const sq_format_info *i = sq_format_info_of((int)f);
    if (!i || f == SQ_FORMAT_INT)
        return c;
    c.format = f;
    c.bits = i->bits;
    c.mode = i->asymmetric ? SQ_MODE_ASYMMETRIC : SQ_MODE_SYMMETRIC;
    if (i->fixed_block) {
        c.granularity = SQ_GRAN_GROUP;
        c.group_size = i->block;
    } else if (f == SQ_FORMAT_NF4) {
        c.granularity = SQ_GRAN_GROUP;
        c.group_size = 64;
    }
    return c;
}

sq_status sq_format_check(const sq_qconfig *cfg, sq_error *err)
{
    const sq_format_info *i = sq_format_info_of((int)cfg->format);
    if (!i)
        return sq_fail(err, SQ_ERR_ARG, "unknown format %d", (int)cfg->format);
    if (cfg->format == SQ_FORMAT_INT) {
        if (cfg->double_quant)
            return sq_fail(err, SQ_ERR_ARG, "double_quant applies to format nf4 only, not int");
        return SQ_OK;
    }
    if (cfg->bits != i->bits)
        return sq_fail(err, SQ_ERR_ARG, "bits = %d does not apply to format %s (it stores %d-bit codes)",
                       cfg->bits, i->name, i->bits);
    sq_mode m = i->asymmetric ? SQ_MODE_ASYMMETRIC : SQ_MODE_SYMMETRIC;
    if (cfg->mode != m)
        return sq_fail(err, SQ_ERR_ARG, "mode = %s does not apply to format %s (it is %s)",
                       sq_mode_name(cfg->mode), i->name, sq_mode_name(m));
    if (i->fixed_block && (cfg->granularity != SQ_GRAN_GROUP || cfg->group_size != i->block))
        return sq_fail(err, SQ_ERR_ARG,
                       "format %s stores blocks of %zu: granularity must be group with group_size = %zu",
                       i->name, i->block, i->block);
    if (cfg->format == SQ_FORMAT_NF4 && cfg->granularity != SQ_GRAN_GROUP)
        return sq_fail(err, SQ_ERR_ARG, "format nf4 scales blocks: granularity must be group (group_size = 64 by default)");
    if (cfg->format == SQ_FORMAT_NF4 && (cfg->group_size == 0 || cfg->group_size % 2 != 0))
        return sq_fail(err, SQ_ERR_ARG, "group_size = %zu: format nf4 needs an even block size", cfg->group_size);
    if (cfg->calibration != SQ_CALIB_MINMAX)
        return sq_fail(err, SQ_ERR_ARG, "calibration = %s does not apply to format %s (its scales are min/max)",
                       sq_calibration_name(cfg->calibration), i->name);
    if (cfg->double_quant && cfg->format != SQ_FORMAT_NF4)
        return sq_fail(err, SQ_ERR_ARG, "double_quant applies to format nf4 only, not %s", i->name);
    return SQ_OK;
}

/* ---- levels ------------------------------------------------------------------ */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

size_t sq_qtensor_levels(const sq_qtensor *q, size_t i, float *out, size_t max)
{
    if (i >= q->numel)
        return 0;
    if (q->config.format != SQ_FORMAT_INT)
        return sq_format_levels(q, i, out, max);
    size_t k = sq_qtensor_scale_index(q, i);
    int qmin = sq_qconfig_qmin(&q->config), qmax = sq_qconfig_qmax(&q->config);
    float tmp[256];
    size_t n = 0;
    for (int c = qmin; c <= qmax; c++)
        tmp[n++] = (float)(((double)c - q->zero_points[k]) * q->scales[k]);
    qsort(tmp, n, sizeof *tmp, cmp_float);
    size_t m = 0; /* distinct (a zero scale collapses every level) */
    for (size_t j = 0; j < n; j++)
        if (m == 0 || tmp[j] != tmp[m - 1])
            tmp[m++] = tmp[j];
    for (size_t j = 0; j < m && j < max; j++)
        out[j] = tmp[j];
    return m;
}

/* ---- accounting -------------------------------------------------------------- */

size_t sq_qtensor_storage_bytes(const sq_qtensor *q)
{
    if (q->config.format == SQ_FORMAT_INT) {
        size_t per = q->config.scale_store == SQ_SCALE_F16 ? 2 : q->config.scale_store == SQ_SCALE_F32 ? 4 : 8;
        if (q->config.mode == SQ_MODE_ASYMMETRIC)
            per += sq_zero_point_width(q->zero_points, q->n_scales); /* as the export writes them */
        return q->code_bytes + q->n_scales * per;
    }
    size_t b = q->code_bytes + q->aux_bytes;
    const sq_format_info *i = sq_format_info_of((int)q->config.format);
    if (i->any_granularity)
        b += 4 * q->n_scales; /* out-of-row fp32 scales */
    if (q->config.format == SQ_FORMAT_NF4 && !q->config.double_quant)
        b += 4 * q->n_scales; /* fp32 absmax per block */
    if (q->config.format == SQ_FORMAT_NVFP4)
        b += 4;
    return b;
}

/* ---- the stored layout ---------------------------------------------------------
 * Three families: "in-row" formats keep their scales inside fixed blocks of
 * the rows (the ggml block types, mxfp4, mxfp8, nvfp4); fp8 / fp4 keep one
 * out-of-row scale per tensor, channel or group; nf4 keeps codes apart from
 * one absmax per block. Every pass splits a tensor into parts and chunks that
 * are whole multiples of the format's unit (a block, a byte of fp4 codes, an
 * nf4 block), so no block straddles two parts and the geometry depends on the
 * configuration and the size alone (never on the thread count). */

static bool is_inrow(sq_format f)
{
    const sq_format_info *i = sq_format_info_of((int)f);
    return i && (i->kind == SQ_FORMAT_KIND_BLOCK || f == SQ_FORMAT_MXFP4 || f == SQ_FORMAT_MXFP8 ||
                 f == SQ_FORMAT_NVFP4);
}

/* Elements and bytes of one stored block of an in-row format. */
static void inrow_block(sq_format f, size_t *elems, size_t *bytes)
{
    const sq_format_info *i = sq_format_info_of((int)f);
    if (i->kind == SQ_FORMAT_KIND_BLOCK) {
        const sq_block_info *b = sq_block_info_of(i->native);
        *elems = b->block;
        *bytes = b->block_bytes;
    } else {
        const sq_elemfmt_info *e = sq_elemfmt_info_of(i->native);
        *elems = e->block;
        *bytes = e->block_bytes;
    }
}

size_t sq_format_unit(const sq_qconfig *c)
{
    size_t e, b;
    if (is_inrow(c->format)) {
        inrow_block(c->format, &e, &b);
        return e;
    }
    if (c->format == SQ_FORMAT_NF4)
        return c->group_size;
    return c->format == SQ_FORMAT_FP4_E2M1 ? 2 : 1;
}

void sq_format_geometry(const sq_qconfig *c, size_t numel, size_t *part, size_t *chunk, size_t *n_parts)
{
    size_t u = sq_format_unit(c);
    *part = u <= SQ_PART ? SQ_PART / u * u : u;
    *chunk = u <= SQ_FORMAT_CHUNK ? SQ_FORMAT_CHUNK / u * u : u;
    *n_parts = numel <= *part ? 1 : (numel + *part - 1) / *part;
}

/* Byte offset of element i (the first of its unit) in the stored codes. */
static size_t byte_of(const sq_qconfig *c, size_t i)
{
    size_t e, b;
    if (is_inrow(c->format)) {
        inrow_block(c->format, &e, &b);
        return i / e * b;
    }
    return c->format == SQ_FORMAT_FP8_E4M3 || c->format == SQ_FORMAT_FP8_E5M2 ? i : i / 2;
}

/* Bytes of the stored codes of numel elements (checked against overflow by
 * the caller: at most numel * 8 / 4 + something for every format). */
static size_t codes_size(const sq_qconfig *c, size_t numel)
{
    if (c->format == SQ_FORMAT_FP4_E2M1)
        return numel / 2 + numel % 2;
    return byte_of(c, numel);
}

/* ---- code bits inside a block ----------------------------------------------------
 * Where the code of element j of a block lives: `lw` low bits at bit `ls` of
 * byte `lb`, then (hw > 0) `hw` high bits at bit `hs` of byte `hb` (ggml's
 * block_* structs of ggml-common.h, the elemfmt.h layouts). */
typedef struct bitloc {
    size_t lb, hb;
    unsigned ls, lw, hs, hw;
} bitloc;

static bitloc loc(size_t lb, unsigned ls, unsigned lw, size_t hb, unsigned hs, unsigned hw)
{
    bitloc l = {lb, hb, ls, lw, hs, hw};
    return l;
}

static bitloc locate(sq_format f, size_t j)
{
    size_t n = j / 128, r = j % 128, g = j / 64, r64 = j % 64;
    unsigned nib16 = j % 32 < 16 ? 0 : 4; /* 32-blocks: j and j + 16 share a byte */
    switch (f) {
    case SQ_FORMAT_Q4_0:
    case SQ_FORMAT_IQ4_NL: return loc(2 + j % 16, nib16, 4, 0, 0, 0);
    case SQ_FORMAT_Q4_1: return loc(4 + j % 16, nib16, 4, 0, 0, 0);
    case SQ_FORMAT_Q5_0: return loc(6 + j % 16, nib16, 4, 2 + j / 8, (unsigned)(j % 8), 1);
    case SQ_FORMAT_Q5_1: return loc(8 + j % 16, nib16, 4, 4 + j / 8, (unsigned)(j % 8), 1);
    case SQ_FORMAT_Q8_0: return loc(2 + j, 0, 8, 0, 0, 0);
    case SQ_FORMAT_Q2_K: return loc(16 + 32 * n + r % 32, (unsigned)(2 * (r / 32)), 2, 0, 0, 0);
    case SQ_FORMAT_Q3_K:
        return loc(32 + 32 * n + r % 32, (unsigned)(2 * (r / 32)), 2, r % 32, (unsigned)(4 * n + r / 32), 1);
    case SQ_FORMAT_Q4_K: return loc(16 + 32 * g + r64 % 32, r64 < 32 ? 0 : 4, 4, 0, 0, 0);
    case SQ_FORMAT_Q5_K: return loc(48 + 32 * g + r64 % 32, r64 < 32 ? 0 : 4, 4, 16 + r64 % 32, (unsigned)(j / 32), 1);
    case SQ_FORMAT_Q6_K: {
        size_t k = r / 32, l = r % 32;
        return loc(64 * n + l + 32 * (k & 1), k >= 2 ? 4 : 0, 4, 128 + 32 * n + l, (unsigned)(2 * k), 2);
    }
    case SQ_FORMAT_IQ4_XS: return loc(8 + 16 * (j / 32) + j % 16, nib16, 4, 0, 0, 0);
    case SQ_FORMAT_MXFP4: return loc(1 + j % 16, nib16, 4, 0, 0, 0);
    case SQ_FORMAT_MXFP8: return loc(1 + j, 0, 8, 0, 0, 0);
    case SQ_FORMAT_NVFP4: return loc(1 + j / 2, (unsigned)(4 * (j % 2)), 4, 0, 0, 0);
    default: return loc(0, 0, 8, 0, 0, 0);
    }
}

/* The stored code of element j of block b (q8_0: its int8 plus 128). */
static unsigned block_code(sq_format f, const uint8_t *b, size_t j)
{
    bitloc l = locate(f, j);
    unsigned c = ((unsigned)b[l.lb] >> l.ls) & ((1u << l.lw) - 1u);
    if (l.hw)
        c |= (((unsigned)b[l.hb] >> l.hs) & ((1u << l.hw) - 1u)) << l.lw;
    return f == SQ_FORMAT_Q8_0 ? c ^ 0x80u : c;
}

/* Store code c as element j of block b. */
static void block_set_code(sq_format f, uint8_t *b, size_t j, unsigned c)
{
    bitloc l = locate(f, j);
    if (f == SQ_FORMAT_Q8_0)
        c ^= 0x80u;
    unsigned m = (1u << l.lw) - 1u;
    b[l.lb] = (uint8_t)(((unsigned)b[l.lb] & ~(m << l.ls)) | ((c & m) << l.ls));
    if (l.hw) {
        unsigned hm = (1u << l.hw) - 1u;
        b[l.hb] = (uint8_t)(((unsigned)b[l.hb] & ~(hm << l.hs)) | (((c >> l.lw) & hm) << l.hs));
    }
}

unsigned sq_format_code(const sq_qtensor *q, size_t i)
{
    sq_format f = q->config.format;
    if (i >= q->numel)
        return 0;
    if (is_inrow(f)) {
        size_t e, b;
        inrow_block(f, &e, &b);
        return block_code(f, q->codes + i / e * b, i % e);
    }
    if (f == SQ_FORMAT_FP8_E4M3 || f == SQ_FORMAT_FP8_E5M2)
        return q->codes[i];
    unsigned byte = q->codes[i / 2];
    if (f == SQ_FORMAT_NF4) /* first of a pair in the high nibble */
        return i % 2 ? byte & 15u : byte >> 4;
    return i % 2 ? byte >> 4 : byte & 15u;
}

/* Low nibbles of m bytes at p, then their high nibbles, into out[0 .. 2m). */
static void nibbles_split(const uint8_t *p, size_t m, uint8_t *out)
{
    for (size_t k = 0; k < m; k++) {
        out[k] = p[k] & 15u;
        out[k + m] = p[k] >> 4;
    }
}

/* ---- whole-block code extraction, eight codes at a time in a uint64 ------------- */

#define LO_NIBBLES 0x0F0F0F0F0F0F0F0Fu
#define LOW_2BITS 0x0303030303030303u
#define LOW_BITS 0x0101010101010101u


/* Bit i of b as the value 0 or 1 of byte i. */
static inline uint64_t bits_to_bytes(unsigned b)
{
    uint64_t v = ((uint64_t)b * LOW_BITS) & 0x8040201008040201u; /* byte i: bit i of b, in place */
    return ((v + 0x7F7F7F7F7F7F7F7Fu) >> 7) & LOW_BITS;         /* a non-zero byte sets its bit 7 */
}

/* Both nibbles of m bytes at p in byte order, out[2k] and out[2k + 1] from
 * p[k]: its low nibble first, or its high nibble first when hi_first. */
static void nibbles_pairs(const uint8_t *p, size_t m, bool hi_first, uint8_t *out)
{
    const uint64_t n16 = 0x000F000F000F000Fu;
    size_t k = 0;
    for (; k + 4 <= m; k += 4) {
        uint64_t y = (uint64_t)p[k] | (uint64_t)p[k + 1] << 16 | (uint64_t)p[k + 2] << 32 |
                     (uint64_t)p[k + 3] << 48; /* byte i in lane i of four 16-bit lanes */
        uint64_t lo = y & n16, hi = (y >> 4) & n16;
        le64_store(out + 2 * k, hi_first ? hi | lo << 8 : lo | hi << 8);
    }
    for (; k < m; k++) {
        out[2 * k] = (uint8_t)(hi_first ? p[k] >> 4 : p[k] & 15u);
        out[2 * k + 1] = (uint8_t)(hi_first ? p[k] & 15u : p[k] >> 4);
    }
}

/* The 32 codes of a q5_0 / q5_1 block: low nibbles in qs (elements j and
 * j + 16 share byte j), the fifth bits in the 32-bit little-endian qh (bit j
 * of element j). */
static void q5_codes(const uint8_t *qh, const uint8_t *qs, uint8_t *out)
{
    for (unsigned k = 0; k < 2; k++) {
        uint64_t q = le64_load(qs + 8 * k);
        le64_store(out + 8 * k, (q & LO_NIBBLES) | bits_to_bytes(qh[k]) << 4);
        le64_store(out + 16 + 8 * k, ((q >> 4) & LO_NIBBLES) | bits_to_bytes(qh[2 + k]) << 4);
    }
}

/* The 256 codes of a q2_k block (h = NULL) or q3_k block (h = its hmask):
 * element 128 n + 32 s + l has its two low bits at bit 2 s of qs[32 n + l],
 * q3_k its third bit at bit 4 n + s of h[l]. */
static void q23k_codes(const uint8_t *qs, const uint8_t *h, uint8_t *out)
{
    for (unsigned n = 0; n < 2; n++)
        for (unsigned l = 0; l < 32; l += 8) {
            uint64_t q = le64_load(qs + 32 * n + l), m = h ? le64_load(h + l) : 0;
            for (unsigned s = 0; s < 4; s++)
                le64_store(out + 128 * n + 32 * s + l,
                           ((q >> (2 * s)) & LOW_2BITS) | ((m >> (4 * n + s)) & LOW_BITS) << 2);
        }
}

/* The 256 codes of a q5_k block: element 64 g + 32 u + l has its low nibble
 * in nibble u of qs[32 g + l] and its fifth bit at bit 2 g + u of qh[l]. */
static void q5k_codes(const uint8_t *qh, const uint8_t *qs, uint8_t *out)
{
    for (unsigned l = 0; l < 32; l += 8) {
        uint64_t m = le64_load(qh + l);
        for (unsigned g = 0; g < 4; g++) {
            uint64_t q = le64_load(qs + 32 * g + l);
            for (unsigned u = 0; u < 2; u++)
                le64_store(out + 64 * g + 32 * u + l,
                           ((q >> (4 * u)) & LO_NIBBLES) | ((m >> (2 * g + u)) & LOW_BITS) << 4);
        }
    }
}

/* The 256 codes of a q6_k block: element 128 n + 32 k + l has its low
 * nibble in nibble k / 2 of ql[64 n + 32 (k % 2) + l] and its two high bits
 * at bit 2 k of qh[32 n + l]. */
static void q6k_codes(const uint8_t *ql, const uint8_t *qh, uint8_t *out)
{
    for (unsigned n = 0; n < 2; n++)
        for (unsigned l = 0; l < 32; l += 8) {
            uint64_t m = le64_load(qh + 32 * n + l);
            for (unsigned k = 0; k < 4; k++) {
                uint64_t q = le64_load(ql + 64 * n + 32 * (k & 1u) + l);
                le64_store(out + 128 * n + 32 * k + l,
                           ((q >> (k >= 2 ? 4 : 0)) & LO_NIBBLES) | ((m >> (2 * k)) & LOW_2BITS) << 4);
            }
        }
}

/* Every code of in-row block b (e elements) into out, as block_code gives them. */
static void block_codes(sq_format f, const uint8_t *b, size_t e, uint8_t *out)
{
    switch (f) {
    case SQ_FORMAT_Q5_0: q5_codes(b + 2, b + 6, out); break;
    case SQ_FORMAT_Q5_1: q5_codes(b + 4, b + 8, out); break;
    case SQ_FORMAT_Q2_K: q23k_codes(b + 16, NULL, out); break;
    case SQ_FORMAT_Q3_K: q23k_codes(b + 32, b, out); break;
    case SQ_FORMAT_Q5_K: q5k_codes(b + 16, b + 48, out); break;
    case SQ_FORMAT_Q6_K: q6k_codes(b, b + 128, out); break;
    case SQ_FORMAT_Q4_0:
    case SQ_FORMAT_IQ4_NL: nibbles_split(b + 2, 16, out); break;
    case SQ_FORMAT_Q4_1: nibbles_split(b + 4, 16, out); break;
    case SQ_FORMAT_MXFP4: nibbles_split(b + 1, 16, out); break;
    case SQ_FORMAT_Q4_K:
        for (size_t g = 0; g < 4; g++)
            nibbles_split(b + 16 + 32 * g, 32, out + 64 * g);
        break;
    case SQ_FORMAT_IQ4_XS:
        for (size_t g = 0; g < 8; g++)
            nibbles_split(b + 8 + 16 * g, 16, out + 32 * g);
        break;
    case SQ_FORMAT_Q8_0:
        for (size_t j = 0; j < 32; j++)
            out[j] = b[2 + j] ^ 0x80u;
        break;
    case SQ_FORMAT_MXFP8: memcpy(out, b + 1, 32); break;
    case SQ_FORMAT_NVFP4: nibbles_pairs(b + 1, 8, false, out); break;
    default:
        for (size_t j = 0; j < e; j++)
            out[j] = (uint8_t)block_code(f, b, j);
        break;
    }
}

void sq_format_codes(const sq_qtensor *q, size_t start, size_t n, uint8_t *out)
{
    sq_format f = q->config.format;
    if (f == SQ_FORMAT_FP8_E4M3 || f == SQ_FORMAT_FP8_E5M2) {
        memcpy(out, q->codes + start, n);
        return;
    }
    if (is_inrow(f)) {
        size_t e, b, i = start;
        uint8_t tmp[256];
        inrow_block(f, &e, &b);
        for (; i < start + n && i % e; i++) /* a partial first block */
            out[i - start] = (uint8_t)block_code(f, q->codes + i / e * b, i % e);
        for (; i + e <= start + n; i += e)
            block_codes(f, q->codes + i / e * b, e, out + (i - start));
        if (i < start + n) { /* a partial last block */
            block_codes(f, q->codes + i / e * b, e, tmp);
            memcpy(out + (i - start), tmp, start + n - i);
        }
        return;
    }
    if ((f == SQ_FORMAT_NF4 || f == SQ_FORMAT_FP4_E2M1) && start % 2 == 0) { /* nf4: high nibble first */
        nibbles_pairs(q->codes + start / 2, n / 2, f == SQ_FORMAT_NF4, out);
        if (n % 2)
            out[n - 1] = (uint8_t)sq_format_code(q, start + n - 1);
        return;
    }
    for (size_t i = start; i < start + n; i++)
        out[i - start] = (uint8_t)sq_format_code(q, i);
}

/* ---- block scales for display ----------------------------------------------------- */

static float get_half(const uint8_t *p)
{
    return sq_half_to_float((uint16_t)(p[0] | p[1] << 8));
}

/* The display scale and minimum of in-row block b: ggml's d (the super-block
 * d of the K-quants and iq4_xs) and m (q4_1, q5_1) or the super-block dmin
 * (q2_k, q4_k, q5_k, as stored: sub-block minimums are -dmin * m6); mx: the
 * E8M0 scale 2^e; nvfp4: the E4M3 block scale times s. */
static void block_display(sq_format f, const uint8_t *b, float s, double *scale, double *zp)
{
    *zp = 0.0;
    switch (f) {
    case SQ_FORMAT_Q4_1:
    case SQ_FORMAT_Q5_1:
    case SQ_FORMAT_Q4_K:
    case SQ_FORMAT_Q5_K:
        *scale = get_half(b);
        *zp = get_half(b + 2);
        break;
    case SQ_FORMAT_Q2_K:
        *scale = get_half(b + 80);
        *zp = get_half(b + 82);
        break;
    case SQ_FORMAT_Q3_K: *scale = get_half(b + 108); break;
    case SQ_FORMAT_Q6_K: *scale = get_half(b + 208); break;
    case SQ_FORMAT_MXFP4:
    case SQ_FORMAT_MXFP8: *scale = sq_e8m0_decode(b[0]); break;
    case SQ_FORMAT_NVFP4: *scale = sq_fp8_e4m3_decode(b[0]) * s; break;
    default: *scale = get_half(b); break; /* q4_0, q5_0, q8_0, iq4_nl, iq4_xs */
    }
}

/* Display scales of the in-row blocks of elements [start, start + n). */
static void inrow_display(sq_qtensor *q, size_t start, size_t n)
{
    size_t e, b;
    inrow_block(q->config.format, &e, &b);
    for (size_t k = start / e; k < (start + n) / e; k++)
        block_display(q->config.format, q->codes + k * b, (float)q->tensor_scale, &q->scales[k],
                      &q->zero_points[k]);
}

/* ---- decoding ------------------------------------------------------------------- */

/* The largest positive and negative codes of an element format (e4m3 0x7e
 * = 448, e5m2 0x7b = 57344, e2m1 0x7 = 6). */
static void elem_extreme_codes(sq_format f, unsigned *neg, unsigned *pos)
{
    switch (f) {
    case SQ_FORMAT_FP8_E4M3:
    case SQ_FORMAT_MXFP8: *neg = 0xfe, *pos = 0x7e; break;
    case SQ_FORMAT_FP8_E5M2: *neg = 0xfb, *pos = 0x7b; break;
    case SQ_FORMAT_NF4: *neg = 0, *pos = 15; break;
    default: *neg = 0xf, *pos = 0x7; break; /* e2m1 */
    }
}

/* Decode one out-of-row element code with scale s, as the row decoders do. */
static float elem_value(sq_format f, unsigned c, float s)
{
    switch (f) {
    case SQ_FORMAT_FP8_E4M3: return sq_fp8_e4m3_decode((uint8_t)c) * s;
    case SQ_FORMAT_FP8_E5M2: return sq_fp8_e5m2_decode((uint8_t)c) * s;
    case SQ_FORMAT_NF4: return sq_nf4_value((uint8_t)c) * s;
    default: return sq_fp4_e2m1_decode((uint8_t)c) * s;
    }
}

/* Decode the whole in-row blocks at src holding n elements. */
static void inrow_decode(sq_format f, const uint8_t *src, size_t n, float s, float *out)
{
    const sq_format_info *fi = sq_format_info_of((int)f);
    sq_error e;
    if (fi->kind == SQ_FORMAT_KIND_BLOCK)
        (void)sq_block_dequantize_row((sq_block_type)fi->native, src, n, out, &e);
    else
        (void)sq_elemfmt_decode_row((sq_elemfmt)fi->native, src, n, s, out, &e);
}

#if SQ_X86_KERNELS
/* nb nf4 blocks of g elements (g a multiple of 32) with absmax scales[k]
 * (as float32) into out, as sq_nf4_decode forms them: codebook value times
 * absmax, the first element of a pair in the high nibble. */
SQ_AVX512
static void nf4_decode_avx512(const uint8_t *codes, const double *scales, size_t nb, size_t g, float *out)
{
    float tab[16];
    for (unsigned c = 0; c < 16; c++)
        tab[c] = sq_nf4_value((uint8_t)c);
    const __m512 vt = _mm512_loadu_ps(tab);
    const __m512i lo8 = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi8 = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512i m15 = _mm512_set1_epi32(15);
    for (size_t k = 0; k < nb; k++) {
        __m512 s = _mm512_set1_ps((float)scales[k]);
        for (size_t j = 0; j < g; j += 32) {
            __m512i b = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(codes + (k * g + j) / 2)));
            __m512i h = _mm512_srli_epi32(b, 4), l = _mm512_and_si512(b, m15);
            __m512i c0 = _mm512_permutex2var_epi32(h, lo8, l), c1 = _mm512_permutex2var_epi32(h, hi8, l);
            _mm512_storeu_ps(out + k * g + j, _mm512_mul_ps(_mm512_permutexvar_ps(c0, vt), s));
            _mm512_storeu_ps(out + k * g + j + 16, _mm512_mul_ps(_mm512_permutexvar_ps(c1, vt), s));
        }
    }
}
#endif

void sq_format_decode(const sq_qtensor *q, size_t start, size_t n, float *out)
{
    sq_format f = q->config.format;
    if (is_inrow(f)) {
        inrow_decode(f, q->codes + byte_of(&q->config, start), n, (float)q->tensor_scale, out);
        return;
    }
    size_t g = q->config.group_size;
#if SQ_X86_KERNELS
    if (f == SQ_FORMAT_NF4 && start % g == 0 && n % g == 0 && g % 32 == 0 && sq_use_avx512()) {
        nf4_decode_avx512(q->codes + start / 2, q->scales + start / g, n / g, g, out);
        return;
    }
#endif
    if (f == SQ_FORMAT_NF4 && start % g == 0 && n % g == 0 && n / g <= SQ_FORMAT_CHUNK) {
        float am[SQ_FORMAT_CHUNK]; /* nf4 blocks follow one another: the chunk in one call */
        sq_error e;
        for (size_t k = 0; k < n / g; k++)
            am[k] = (float)q->scales[start / g + k];
        (void)sq_nf4_decode(q->codes + start / 2, am, n, g, out, &e);
        return;
    }
    sq_layout l;
    sq_layout_init(&l, &q->config, q->shape, q->ndim, q->numel);
    sq_run r = sq_run_at(&l, start);
    for (size_t i = 0; i < n;) {
        size_t len = r.left < n - i ? r.left : n - i;
        float s = (float)q->scales[r.k];
        if (f == SQ_FORMAT_FP8_E4M3 || f == SQ_FORMAT_FP8_E5M2) {
            sq_error e;
            (void)sq_elemfmt_decode_row(f == SQ_FORMAT_FP8_E4M3 ? SQ_ELEM_FP8_E4M3 : SQ_ELEM_FP8_E5M2,
                                        q->codes + start + i, len, s, out + i, &e);
        } else if (f == SQ_FORMAT_NF4) { /* runs are whole blocks */
            sq_error e;
            (void)sq_nf4_decode(q->codes + (start + i) / 2, &s, len, len, out + i, &e);
        } else { /* fp4: the byte-aligned even middle of the run by the row decoder */
            size_t a = start + i, z = a + len, a2 = a + a % 2, z2 = z - z % 2;
            sq_error e;
            if (z2 > a2)
                (void)sq_elemfmt_decode_row(SQ_ELEM_FP4_E2M1, q->codes + a2 / 2, z2 - a2, s, out + (a2 - start), &e);
            else
                a2 = z2 = z;
            for (size_t t = a; t < a2; t++)
                out[t - start] = elem_value(f, sq_format_code(q, t), s);
            for (size_t t = z2; t < z; t++)
                out[t - start] = elem_value(f, sq_format_code(q, t), s);
        }
        i += len;
        sq_run_advance(&l, &r, len);
    }
}

typedef struct fdq_job {
    const sq_qtensor *q;
    float *out;
    size_t part;
} fdq_job;

static void fdq_part(void *vjob, size_t p, int worker)
{
    const fdq_job *j = vjob;
    size_t s = p * j->part, n = j->q->numel - s < j->part ? j->q->numel - s : j->part;
    (void)worker;
    if (n)
        sq_format_decode(j->q, s, n, j->out + s);
}

void sq_format_dequantize_into(const sq_qtensor *q, float *out)
{
    size_t chunk, n_parts;
    fdq_job j = {.q = q, .out = out};
    sq_format_geometry(&q->config, q->numel, &j.part, &chunk, &n_parts);
    sq_parallel_for(n_parts, fdq_part, &j);
}

/* The bytes of an in-row block that hold nothing but code bits, [off, off +
 * len), and the byte values that set every code there to the format's most
 * negative (lo) and most positive (hi) level at a positive scale (for the
 * ggml types: codes 0 and 2^bits - 1, whichever way the scale turns them). */
typedef struct code_region {
    size_t off, len;
    uint8_t lo, hi;
} code_region;

static code_region region_of(sq_format f)
{
    code_region r = {0, 0, 0x00, 0xff};
    switch (f) {
    case SQ_FORMAT_Q4_0:
    case SQ_FORMAT_IQ4_NL: r.off = 2, r.len = 16; break;
    case SQ_FORMAT_Q4_1: r.off = 4, r.len = 16; break;
    case SQ_FORMAT_Q5_0: r.off = 2, r.len = 20; break;  /* qh[4], qs[16] */
    case SQ_FORMAT_Q5_1: r.off = 4, r.len = 20; break;
    case SQ_FORMAT_Q8_0: r.off = 2, r.len = 32, r.lo = 0x80, r.hi = 0x7f; break;
    case SQ_FORMAT_Q2_K: r.off = 16, r.len = 64; break;
    case SQ_FORMAT_Q3_K: r.off = 0, r.len = 96; break;  /* hmask[32], qs[64] */
    case SQ_FORMAT_Q4_K: r.off = 16, r.len = 128; break;
    case SQ_FORMAT_Q5_K: r.off = 16, r.len = 160; break; /* qh[32], qs[128] */
    case SQ_FORMAT_Q6_K: r.off = 0, r.len = 192; break;  /* ql[128], qh[64] */
    case SQ_FORMAT_IQ4_XS: r.off = 8, r.len = 128; break;
    case SQ_FORMAT_MXFP4: r.off = 1, r.len = 16, r.lo = 0xff, r.hi = 0x77; break; /* -6 / +6 nibbles */
    case SQ_FORMAT_MXFP8: r.off = 1, r.len = 32, r.lo = 0xfe, r.hi = 0x7e; break; /* -448 / +448 */
    case SQ_FORMAT_NVFP4: r.off = 1, r.len = 8, r.lo = 0xff, r.hi = 0x77; break;
    default: break;
    }
    return r;
}

/* The extreme levels of each parameter group of in-row block b: lo[k] and
 * hi[k] the values the block's decoder gives an element of group k (elements
 * [k * g, (k + 1) * g)) holding the code of region_of's lo and hi bytes,
 * formed with the decoder's own arithmetic (float operations in its order;
 * the engine builds with -ffp-contract=off, so none is fused). Returns the
 * group size g, or 0 for a format without this shortcut. */
static size_t group_extremes(sq_format f, const uint8_t *b, float ts, float *lo, float *hi)
{
    static const float iq4_lv0 = -127, iq4_lv15 = 113; /* the iq4 codebook's ends */
    switch (f) {
    case SQ_FORMAT_Q4_0: {
        float d = get_half(b);
        lo[0] = (float)(0 - 8) * d, hi[0] = (float)(15 - 8) * d;
        return 32;
    }
    case SQ_FORMAT_Q5_0: {
        float d = get_half(b);
        lo[0] = (float)(0 - 16) * d, hi[0] = (float)(31 - 16) * d;
        return 32;
    }
    case SQ_FORMAT_Q4_1:
    case SQ_FORMAT_Q5_1: {
        float d = get_half(b), m = get_half(b + 2);
        lo[0] = (float)0 * d + m, hi[0] = (float)(f == SQ_FORMAT_Q4_1 ? 15 : 31) * d + m;
        return 32;
    }
    case SQ_FORMAT_Q8_0: {
        float d = get_half(b);
        lo[0] = (float)-128 * d, hi[0] = (float)127 * d;
        return 32;
    }
    case SQ_FORMAT_IQ4_NL: {
        float d = get_half(b);
        lo[0] = d * iq4_lv0, hi[0] = d * iq4_lv15;
        return 32;
    }
    case SQ_FORMAT_Q2_K: {
        float d = get_half(b + 80), min = get_half(b + 82);
        for (int k = 0; k < 16; k++) {
            float dl = d * (b[k] & 0xf), ml = min * (b[k] >> 4);
            lo[k] = dl * 0 - ml, hi[k] = dl * 3 - ml;
        }
        return 16;
    }
    case SQ_FORMAT_Q3_K: {
        float d = get_half(b + 108);
        const uint8_t *s = b + 96;
        for (int k = 0; k < 16; k++) {
            int l = k < 8 ? (s[k] & 0xf) : (s[k - 8] >> 4);
            float dl = d * ((l | (((s[8 + k % 4] >> (2 * (k / 4))) & 3) << 4)) - 32);
            lo[k] = dl * (0 - 4), hi[k] = dl * 3;
        }
        return 16;
    }
    case SQ_FORMAT_Q4_K:
    case SQ_FORMAT_Q5_K: {
        float d = get_half(b), min = get_half(b + 2);
        const uint8_t *s = b + 4;
        int top = f == SQ_FORMAT_Q4_K ? 15 : 31;
        for (int k = 0; k < 8; k++) {
            int sc = k < 4 ? s[k] & 63 : (s[k + 4] & 0xf) | ((s[k - 4] >> 6) << 4);
            int m = k < 4 ? s[k + 4] & 63 : (s[k + 4] >> 4) | ((s[k] >> 6) << 4);
            float dl = d * sc, ml = min * m;
            lo[k] = dl * 0 - ml, hi[k] = dl * top - ml;
        }
        return 32;
    }
    case SQ_FORMAT_Q6_K: {
        float d = get_half(b + 208);
        for (int k = 0; k < 16; k++) {
            int sc = (int8_t)b[192 + k];
            lo[k] = d * sc * (0 - 32), hi[k] = d * sc * (63 - 32);
        }
        return 16;
    }
    case SQ_FORMAT_IQ4_XS: {
        float d = get_half(b);
        unsigned h = (unsigned)b[2] | (unsigned)b[3] << 8;
        for (int k = 0; k < 8; k++) {
            int ls = ((b[4 + k / 2] >> (4 * (k % 2))) & 0xf) | (((h >> (2 * k)) & 3) << 4);
            float dl = d * (ls - 32);
            lo[k] = dl * iq4_lv0, hi[k] = dl * iq4_lv15;
        }
        return 32;
    }
    case SQ_FORMAT_MXFP4: {
        float d = sq_e8m0_decode(b[0]);
        lo[0] = sq_fp4_e2m1_decode(0xf) * d, hi[0] = sq_fp4_e2m1_decode(0x7) * d;
        return 32;
    }
    case SQ_FORMAT_MXFP8: {
        float d = sq_e8m0_decode(b[0]);
        lo[0] = sq_fp8_e4m3_decode(0xfe) * d, hi[0] = sq_fp8_e4m3_decode(0x7e) * d;
        return 32;
    }
    case SQ_FORMAT_NVFP4: {
        float d = sq_fp8_e4m3_decode(b[0]) * ts;
        lo[0] = sq_fp4_e2m1_decode(0xf) * d, hi[0] = sq_fp4_e2m1_decode(0x7) * d;
        return 16;
    }
    default: return 0;
    }
}

#if SQ_X86_KERNELS
/* count_groups on AVX-512 machines. */
SQ_AVX512
static size_t count_groups_avx512(const float *x, size_t ng, size_t g, const float *a, const float *z)
{
    size_t c = 0;
    for (size_t k = 0; k < ng; k++) {
        __m512 va = _mm512_set1_ps(a[k]), vz = _mm512_set1_ps(z[k]);
        size_t i = k * g, end = (k + 1) * g;
        for (; i + 16 <= end; i += 16) {
            __m512 v = _mm512_loadu_ps(x + i);
            c += (unsigned)__builtin_popcount(_mm512_cmp_ps_mask(v, va, _CMP_LT_OQ) |
                                              _mm512_cmp_ps_mask(v, vz, _CMP_GT_OQ));
        }
        if (i < end) { /* the group's last values, masked */
            __mmask16 m = (__mmask16)((1u << (end - i)) - 1u);
            __m512 v = _mm512_maskz_loadu_ps(m, x + i);
            c += (unsigned)__builtin_popcount(_mm512_mask_cmp_ps_mask(m, v, va, _CMP_LT_OQ) |
                                              _mm512_mask_cmp_ps_mask(m, v, vz, _CMP_GT_OQ));
        }
    }
    return c;
}
#endif

/* How many of x[0, ng * g) lie outside [a[k], z[k]], k = i / g. */
static size_t count_groups(const float *x, size_t ng, size_t g, const float *a, const float *z)
{
#if SQ_X86_KERNELS
    if (sq_use_avx512())
        return count_groups_avx512(x, ng, g, a, z);
#endif
    size_t c = 0;
    for (size_t k = 0; k < ng; k++) {
        float ak = a[k], zk = z[k];
        unsigned ck = 0;
        SQ_SIMD_WITH(reduction(+ : ck))
        for (size_t i = k * g; i < (k + 1) * g; i++)
            ck += (x[i] < ak) | (x[i] > zk);
        c += ck;
    }
    return c;
}

/* The values of the nb in-row blocks at codes (holding x[0, nb * e)) that lie
 * beyond their group's extreme levels, counted; tf: 2 * nb * e floats of
 * scratch. False when the format has no group_extremes. */
static bool count_clipped_blocks(sq_format f, const uint8_t *codes, size_t nb, float ts, const float *x, float *tf,
                                 size_t *clipped)
{
    size_t e, b, g = 0, per;
    inrow_block(f, &e, &b);
    float lo[16], hi[16], *a = tf, *z = tf + nb * e;
    if (!nb || !(g = group_extremes(f, codes, ts, lo, hi)))
        return !nb;
    per = e / g;
    for (size_t k = 0; k < nb; k++) {
        (void)group_extremes(f, codes + k * b, ts, lo, hi);
        for (size_t j = 0; j < per; j++) { /* the lower and the upper level, whichever way the scale turns them */
#if SQ_X86_KERNELS /* without branches (a scale's sign is a coin toss): minss(l, h) = l < h ? l : h */
            __m128 l = _mm_set_ss(lo[j]), h = _mm_set_ss(hi[j]);
            _mm_store_ss(&a[k * per + j], _mm_min_ss(l, h));
            _mm_store_ss(&z[k * per + j], _mm_max_ss(h, l)); /* h > l ? h : l, the same as l < h ? h : l */
#else
            a[k * per + j] = lo[j] < hi[j] ? lo[j] : hi[j];
            z[k * per + j] = lo[j] < hi[j] ? hi[j] : lo[j];
#endif
        }
    }
    size_t ng = nb * per;
    *clipped = count_groups(x, ng, g, a, z);
    return true;
}

/* How many of x[start, start + n) lie beyond the extreme levels of their block
 * (or scale index) on their side. tmp: 2 * (bytes of n elements) bytes and
 * 2 * n floats of scratch for the in-row formats. */
static size_t count_clipped(const sq_qtensor *q, const float *x, size_t start, size_t n, uint8_t *tb, float *tf)
{
    sq_format f = q->config.format;
    size_t clipped = 0;
    unsigned neg, pos;
    if (is_inrow(f)) {
        size_t e, b, off = byte_of(&q->config, start), nb = byte_of(&q->config, start + n) - off;
        code_region cr = region_of(f);
        inrow_block(f, &e, &b);
        if (count_clipped_blocks(f, q->codes + off, nb / b, (float)q->tensor_scale, x, tf, &clipped))
            return clipped; /* from the block headers, without decoding */
        uint8_t *lo = tb, *hi = tb + nb;
        memcpy(lo, q->codes + off, nb);
        memcpy(hi, q->codes + off, nb);
        for (size_t k = 0; k < nb / b; k++) {
            memset(lo + k * b + cr.off, cr.lo, cr.len);
            memset(hi + k * b + cr.off, cr.hi, cr.len);
        }
        float *vlo = tf, *vhi = tf + n;
        inrow_decode(f, lo, n, (float)q->tensor_scale, vlo);
        inrow_decode(f, hi, n, (float)q->tensor_scale, vhi);
        for (size_t i = 0; i < n; i++) {
            float a = vlo[i] < vhi[i] ? vlo[i] : vhi[i], z = vlo[i] < vhi[i] ? vhi[i] : vlo[i];
            clipped += x[i] < a || x[i] > z;
        }
        return clipped;
    }
    elem_extreme_codes(f, &neg, &pos);
    size_t g = q->config.group_size;
    if (f == SQ_FORMAT_NF4 && start % g == 0 && n % g == 0) { /* blocks follow one another: one count */
        float *a = tf, *z = tf + n;
        for (size_t k = 0; k < n / g; k++) {
            float s = (float)q->scales[start / g + k], lo = elem_value(f, neg, s), hi = elem_value(f, pos, s);
            a[k] = lo > hi ? hi : lo, z[k] = lo > hi ? lo : hi;
        }
        return count_groups(x, n / g, g, a, z);
    }
    sq_layout l;
    sq_layout_init(&l, &q->config, q->shape, q->ndim, q->numel);
    sq_run r = sq_run_at(&l, start);
    for (size_t i = 0; i < n;) {
        size_t len = r.left < n - i ? r.left : n - i;
        float s = (float)q->scales[r.k], lo = elem_value(f, neg, s), hi = elem_value(f, pos, s);
        float a = lo > hi ? hi : lo, z = lo > hi ? lo : hi; /* as the swap when lo > hi */
        clipped += count_groups(x + i, 1, len, &a, &z);
        i += len;
        sq_run_advance(&l, &r, len);
    }
    return clipped;
}

/* ---- quantize ------------------------------------------------------------------- */

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

/* The elemfmt.h format of an out-of-row element format. */
static sq_elemfmt elem_of(sq_format f)
{
    return (sq_elemfmt)sq_format_info_of((int)f)->native;
}

/* Bytes of nf4's double-quantization side data for nabs blocks. */
static size_t dq_aux_bytes(size_t nabs)
{
    return nabs + 4 * ((nabs + SQ_NF4_DQ_BLOCK - 1) / SQ_NF4_DQ_BLOCK) + 4;
}

/* A new quantized tensor of format cfg->format for shape, codes zeroed,
 * scales 1 and zero points 0. */
static sq_status fq_alloc(const sq_qconfig *cfg, const size_t *shape, int ndim, size_t numel, sq_dtype dt,
                          sq_qtensor **out, sq_error *err)
{
    size_t ns = sq_qconfig_scale_count(cfg, shape, ndim);
    if (numel == 0 && ns > ((size_t)1 << 24))
        return sq_fail(err, SQ_ERR_ARG, "a tensor with no elements and %zu channels: more than 2^24 scales for "
                                        "nothing to quantize", ns);
    if (ns > SIZE_MAX / sizeof(double))
        return sq_fail(err, SQ_ERR_OVERFLOW, "%zu scales overflow size_t", ns);
    sq_qtensor *q = calloc(1, sizeof *q);
    if (!q)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory allocating a quantized tensor");
    q->config = *cfg;
    q->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        q->shape[d] = shape[d];
    q->numel = numel;
    q->orig_dtype = dt;
    q->code_bytes = codes_size(cfg, numel);
    q->n_scales = ns;
    q->tensor_scale = 1.0;
    q->codes = calloc(q->code_bytes ? q->code_bytes : 1, 1);
    q->scales = malloc((ns ? ns : 1) * sizeof(double));
    q->zero_points = calloc(ns ? ns : 1, sizeof(double));
    if (cfg->format == SQ_FORMAT_NF4 && cfg->double_quant) {
        q->aux_bytes = dq_aux_bytes(ns);
        q->aux = calloc(q->aux_bytes, 1);
    }
    if (!q->codes || !q->scales || !q->zero_points || (q->aux_bytes && !q->aux)) {
        sq_qtensor_free(q);
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory allocating %zu code bytes and %zu scales", q->code_bytes,
                       ns);
    }
    for (size_t k = 0; k < ns; k++)
        q->scales[k] = 1.0;
    *out = q;
    return SQ_OK;
}

/* Per-worker scratch of the quantization passes. */
typedef struct fq_scratch {
    float *xhat, *tf;
    uint8_t *tb, *codes;
    int8_t *scodes;
} fq_scratch;

typedef struct fq_job {
    const sq_tensor *x;
    sq_qtensor *q;
    sq_layout l;
    size_t part, chunk;
    float *absmax;          /* nf4: per block, as encoded (before double quantization) */
    uint32_t *maxbits;      /* scale pre-pass: per worker, per index, max |x| bits */
    bool visit;             /* decode, count and visit in this pass */
    bool encode;            /* encode in this pass */
    sq_quant_hooks qh;
    sq_format_hooks fh;
    fq_scratch *ws;         /* per worker */
    size_t *clipped;        /* per part */
    int *bad;               /* per part: a non-finite value was met */
} fq_job;

static void scratch_free(fq_scratch *ws, int n)
{
    for (int i = 0; ws && i < n; i++) {
        free(ws[i].xhat);
        free(ws[i].tf);
        free(ws[i].tb);
        free(ws[i].codes);
        free(ws[i].scodes);
    }
    free(ws);
}

static fq_scratch *scratch_new(int n, size_t chunk)
{
    fq_scratch *ws = calloc((size_t)n, sizeof *ws);
    for (int i = 0; ws && i < n; i++) {
        ws[i].xhat = malloc(chunk * sizeof(float));
        ws[i].tf = malloc(2 * chunk * sizeof(float));
        ws[i].tb = malloc(4 * chunk + 64);
        ws[i].codes = malloc(chunk);
        ws[i].scodes = malloc(chunk);
        if (!ws[i].xhat || !ws[i].tf || !ws[i].tb || !ws[i].codes || !ws[i].scodes) {
            scratch_free(ws, n);
            return NULL;
        }
    }
    return ws;
}

/* Element t's E2M1 code of v into its nibble (an even t starts the byte). */
static void put_fp4(uint8_t *codes, size_t t, float v)
{
    unsigned c = (unsigned)sq_fp4_e2m1_encode(v) & 15u;
    codes[t / 2] = (uint8_t)(t % 2 ? (codes[t / 2] & 15u) | c << 4 : c);
}

/* The scales the element row kernels take (sq_elemfmt_encode_row's check). */
static bool scale_ok(float s)
{
    return s > 0.0f && s <= FLT_MAX;
}

/* Encode elements [s, s + n) (whole units); false on a non-finite value. */
static bool encode_chunk(fq_job *j, size_t s, size_t n)
{
    sq_qtensor *q = j->q;
    sq_format f = q->config.format;
    const float *x = j->x->data;
    const sq_format_info *fi = sq_format_info_of((int)f);
    uint8_t *dst = q->codes + byte_of(&q->config, s);
    sq_error e;
    if (fi->kind == SQ_FORMAT_KIND_BLOCK) {
        if (sq_block_quantize_row((sq_block_type)fi->native, x + s, n, dst, &e) != SQ_OK)
            return false;
        inrow_display(q, s, n);
        return true;
    }
    if (f == SQ_FORMAT_NVFP4 && scale_ok((float)q->tensor_scale)) { /* finite x: the pre-pass saw to it */
        sq_fmt_nvfp4_enc(x + s, n / 16, (float)q->tensor_scale, dst);
        inrow_display(q, s, n);
        return true;
    }
    if (is_inrow(f)) {
        if (sq_elemfmt_encode_row(elem_of(f), x + s, n, (float)q->tensor_scale, dst, &e) != SQ_OK)
            return false;
        inrow_display(q, s, n);
        return true;
    }
    if (f == SQ_FORMAT_NF4) {
        size_t g = q->config.group_size;
        if (sq_nf4_encode(x + s, n, g, dst, j->absmax + s / g, &e) != SQ_OK)
            return false;
        for (size_t k = s / g; k < (s + n) / g; k++)
            q->scales[k] = j->absmax[k];
        return true;
    }
    sq_run r = sq_run_at(&j->l, s); /* fp8 / fp4: runs sharing a scale (x is finite here) */
    for (size_t i = 0; i < n;) {
        size_t len = r.left < n - i ? r.left : n - i;
        float sc = (float)q->scales[r.k];
        if (f != SQ_FORMAT_FP4_E2M1 && scale_ok(sc)) { /* the row kernel, without its finiteness check */
            (f == SQ_FORMAT_FP8_E4M3 ? sq_fmt_e4m3_enc : sq_fmt_e5m2_enc)(x + s + i, len, sc, q->codes + s + i);
        } else if (f != SQ_FORMAT_FP4_E2M1) {
            (void)sq_elemfmt_encode_row(elem_of(f), x + s + i, len, sc, q->codes + s + i, &e);
        } else { /* the byte-aligned even middle of the run by the row encoder */
            size_t a = s + i, z = a + len, a2 = a + a % 2, z2 = z - z % 2;
            if (z2 > a2)
                (void)sq_elemfmt_encode_row(SQ_ELEM_FP4_E2M1, x + a2, z2 - a2, sc, q->codes + a2 / 2, &e);
            else
                a2 = z2 = z;
            for (size_t t = a; t < a2; t++) /* the odd ends, in element order */
                put_fp4(q->codes, t, x[t] / sc);
            for (size_t t = z2; t < z; t++)
                put_fp4(q->codes, t, x[t] / sc);
        }
        i += len;
        sq_run_advance(&j->l, &r, len);
    }
    return true;
}

/* Decode, count the clipped values of and visit elements [s, s + n) of part p. */
static size_t visit_chunk(fq_job *j, const sq_part *p, size_t s, size_t n, fq_scratch *w)
{
    const sq_qtensor *q = j->q;
    const float *x = j->x->data + s;
    size_t clipped = count_clipped(q, x, s, n, w->tb, w->tf);
    if (j->fh.visit) {
        float *xh = j->fh.xhat_parts ? j->fh.xhat_parts[p->index] + (s - p->start) : w->xhat;
        sq_format_decode(q, s, n, xh);
        if (j->fh.want_codes)
            sq_format_codes(q, s, n, w->codes);
        j->fh.visit(j->fh.ctx, p, q, s, n, x, xh, j->fh.want_codes ? w->codes : NULL);
    }
    if (j->qh.visit) {
        int bias = 1 << (q->config.bits - 1);
        sq_format_codes(q, s, n, w->codes);
        for (size_t i = 0; i < n; i++)
            w->scodes[i] = (int8_t)((int)w->codes[i] - bias);
        for (size_t i = 0; i < n; i += SQ_CHUNK)
            j->qh.visit(j->qh.ctx, p, q, s + i, n - i < SQ_CHUNK ? n - i : SQ_CHUNK, w->scodes + i);
    }
    return clipped;
}

static void fq_part(void *vjob, size_t pi, int worker)
{
    fq_job *j = vjob;
    size_t numel = j->q->numel;
    sq_part p = {.index = pi, .start = pi * j->part, .worker = worker};
    p.end = numel - p.start < j->part ? numel : p.start + j->part;
    for (size_t s = p.start; s < p.end; s += j->chunk) {
        size_t n = p.end - s < j->chunk ? p.end - s : j->chunk;
        if (j->encode && !encode_chunk(j, s, n)) {
            j->bad[pi] = 1;
            return;
        }
        if (j->visit)
            j->clipped[pi] += visit_chunk(j, &p, s, n, &j->ws[worker]);
    }
}

#if SQ_X86_KERNELS
/* max_abs_bits on AVX-512 machines. */
SQ_AVX512
static uint32_t max_abs_bits_avx512(const float *x, size_t n, uint32_t m)
{
    const __m512i abs = _mm512_set1_epi32(0x7fffffff);
    __m512i v0 = _mm512_set1_epi32((int)m), v1 = v0, v2 = v0, v3 = v0;
    size_t t = 0;
    for (; t + 64 <= n; t += 64) {
        v0 = _mm512_max_epu32(v0, _mm512_and_si512(_mm512_loadu_si512(x + t), abs));
        v1 = _mm512_max_epu32(v1, _mm512_and_si512(_mm512_loadu_si512(x + t + 16), abs));
        v2 = _mm512_max_epu32(v2, _mm512_and_si512(_mm512_loadu_si512(x + t + 32), abs));
        v3 = _mm512_max_epu32(v3, _mm512_and_si512(_mm512_loadu_si512(x + t + 48), abs));
    }
    m = _mm512_reduce_max_epu32(_mm512_max_epu32(_mm512_max_epu32(v0, v1), _mm512_max_epu32(v2, v3)));
    for (; t < n; t++) {
        uint32_t u;
        memcpy(&u, &x[t], sizeof u);
        u &= 0x7fffffffu;
        m = u > m ? u : m;
    }
    return m;
}
#endif

/* The largest of m and the bits of |x[t]| over x[0, n) (the bit patterns of
 * non-negative floats order as their values; NaN lies above infinity). */
static uint32_t max_abs_bits(const float *x, size_t n, uint32_t m)
{
#if SQ_X86_KERNELS
    if (n >= 64 && sq_use_avx512())
        return max_abs_bits_avx512(x, n, m);
#endif
    SQ_SIMD_WITH(reduction(max : m))
    for (size_t t = 0; t < n; t++) {
        uint32_t u;
        memcpy(&u, &x[t], sizeof u);
        u &= 0x7fffffffu;
        m = u > m ? u : m;
    }
    return m;
}

/* The scale pre-pass: max |x| bits per scale index, per worker. */
static void maxbits_part(void *vjob, size_t pi, int worker)
{
    fq_job *j = vjob;
    size_t numel = j->q->numel, s = pi * j->part, e = numel - s < j->part ? numel : s + j->part;
    uint32_t *m = j->maxbits + (size_t)worker * j->l.n_index;
    sq_run r = sq_run_at(&j->l, s);
    for (size_t i = s; i < e;) {
        size_t len = r.left < e - i ? r.left : e - i;
        m[r.k] = max_abs_bits(j->x->data + i, len, m[r.k]);
        i += len;
        sq_run_advance(&j->l, &r, len);
    }
}

/* fp8 / fp4 scales (per index) or nvfp4's tensor scale from max |x|.
 * Errors: NONFINITE (through sq_tensor_check_finite), no memory. */
static sq_status prepass_scales(fq_job *j, size_t n_parts, int workers, sq_error *err)
{
    sq_qtensor *q = j->q;
    sq_qconfig c = q->config;
    if (q->config.format == SQ_FORMAT_NVFP4)
        c.granularity = SQ_GRAN_TENSOR;
    sq_layout keep = j->l;
    sq_layout_init(&j->l, &c, q->shape, q->ndim, q->numel);
    size_t ni = j->l.n_index ? j->l.n_index : 1;
    j->maxbits = calloc((size_t)workers * ni, sizeof(uint32_t));
    if (!j->maxbits) {
        j->l = keep;
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for %zu scale ranges", ni);
    }
    sq_parallel_run(n_parts, workers, maxbits_part, j);
    bool bad = false;
    for (size_t k = 0; k < j->l.n_index; k++) {
        uint32_t m = 0;
        for (int w = 0; w < workers; w++)
            m = j->maxbits[(size_t)w * ni + k] > m ? j->maxbits[(size_t)w * ni + k] : m;
        bad |= m >= 0x7f800000u;
        float a;
        memcpy(&a, &m, sizeof a);
        float s = sq_elemfmt_tensor_scale(elem_of(q->config.format), a);
        if (q->config.format == SQ_FORMAT_NVFP4)
            q->tensor_scale = s;
        else
            q->scales[k] = s;
    }
    free(j->maxbits);
    j->maxbits = NULL;
    j->l = keep;
    if (bad)
        return sq_tensor_check_finite(j->x, "tensor", err);
    return SQ_OK;
}

/* nf4 with double quantization: quantize the absmax values, keep the side
 * data in q->aux and decode them into q->scales. */
static sq_status nf4_double_quant(fq_job *j, sq_error *err)
{
    sq_qtensor *q = j->q;
    size_t nabs = q->n_scales, n2 = (nabs + SQ_NF4_DQ_BLOCK - 1) / SQ_NF4_DQ_BLOCK;
    float *a2 = malloc((n2 ? n2 : 1) * sizeof(float)), offset;
    if (!a2)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for nf4 double quantization");
    sq_status st = sq_nf4_dq_encode(j->absmax, nabs, q->aux, a2, &offset, err);
    if (st == SQ_OK) {
        for (size_t b = 0; b < n2; b++)
            put_f32le(q->aux + nabs + 4 * b, a2[b]);
        put_f32le(q->aux + nabs + 4 * n2, offset);
        sq_nf4_dq_decode(q->aux, a2, offset, nabs, j->absmax);
        for (size_t k = 0; k < nabs; k++)
            q->scales[k] = j->absmax[k];
    }
    free(a2);
    return st;
}

sq_status sq_format_quantize(const sq_tensor *x, const sq_qconfig *cfg, const sq_quant_hooks *qh,
                             const sq_format_hooks *fh, sq_qtensor **out, sq_error *err)
{
    sq_status st;
    sq_qtensor *q;
    *out = NULL;
    if ((st = sq_qconfig_check(cfg, x->shape, x->ndim, err)) != SQ_OK)
        return st;
    sq_qconfig c = *cfg;
    if (c.granularity == SQ_GRAN_CHANNEL && x->ndim == 0)
        c.granularity = SQ_GRAN_TENSOR; /* as INT: a scalar has no channels */
    if ((st = fq_alloc(&c, x->shape, x->ndim, x->numel, x->dtype, &q, err)) != SQ_OK)
        return st;
    size_t n_parts;
    fq_job j = {.x = x, .q = q};
    if (qh)
        j.qh = *qh;
    if (fh)
        j.fh = *fh;
    sq_layout_init(&j.l, &c, x->shape, x->ndim, x->numel);
    sq_format_geometry(&c, x->numel, &j.part, &j.chunk, &n_parts);
    int workers = sq_parallel_workers(n_parts);
    j.clipped = calloc(n_parts, sizeof *j.clipped);
    j.bad = calloc(n_parts, sizeof *j.bad);
    if (c.format == SQ_FORMAT_NF4)
        j.absmax = malloc((q->n_scales ? q->n_scales : 1) * sizeof(float));
    if (!j.clipped || !j.bad || (c.format == SQ_FORMAT_NF4 && !j.absmax)) {
        st = sq_fail(err, SQ_ERR_NOMEM, "out of memory for quantization buffers");
        goto done;
    }
    const sq_format_info *fi = sq_format_info_of((int)c.format);
    if ((fi->any_granularity || c.format == SQ_FORMAT_NVFP4) &&
        (st = prepass_scales(&j, n_parts, workers, err)) != SQ_OK)
        goto done;
    if (j.qh.begin && (st = j.qh.begin(j.qh.ctx, q, n_parts, &workers, err)) != SQ_OK)
        goto done;
    if (j.fh.begin && (st = j.fh.begin(j.fh.ctx, q, n_parts, &workers, err)) != SQ_OK)
        goto done;
    workers = workers < 1 ? 1 : workers;
    if (!(j.ws = scratch_new(workers, j.chunk)) && workers > 1)
        j.ws = scratch_new(workers = 1, j.chunk);
    if (!j.ws) {
        st = sq_fail(err, SQ_ERR_NOMEM, "out of memory for quantization buffers");
        goto done;
    }
    bool dq = c.format == SQ_FORMAT_NF4 && c.double_quant;
    j.encode = true;
    j.visit = !dq; /* double quantization needs every block's absmax first */
    sq_parallel_run(n_parts, workers, fq_part, &j);
    for (size_t p = 0; p < n_parts; p++)
        if (j.bad[p]) {
            st = sq_tensor_check_finite(x, "tensor", err);
            if (st == SQ_OK) /* cannot happen: the kernels refuse only non-finite input */
                st = sq_fail(err, SQ_ERR_NONFINITE, "tensor: a non-finite value");
            goto done;
        }
    if (dq) {
        if ((st = nf4_double_quant(&j, err)) != SQ_OK)
            goto done;
        j.encode = false;
        j.visit = true;
        sq_parallel_run(n_parts, workers, fq_part, &j);
    }
    for (size_t p = 0; p < n_parts; p++)
        q->n_clipped += j.clipped[p];
done:
    scratch_free(j.ws, workers);
    free(j.clipped);
    free(j.bad);
    free(j.absmax);
    if (st != SQ_OK)
        sq_qtensor_free(q);
    else
        *out = q;
    return st;
}

/* ---- levels ------------------------------------------------------------------------ */

/* Every finite value of v[0..n) once, ascending, into out[0..max); the count. */
static size_t distinct_sorted(float *v, size_t n, float *out, size_t max)
{
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (isfinite(v[k]))
            v[m++] = v[k];
    qsort(v, m, sizeof *v, cmp_float);
    size_t d = 0;
    for (size_t k = 0; k < m; k++)
        if (d == 0 || v[k] != v[d - 1])
            v[d++] = v[k];
    for (size_t k = 0; k < d && k < max; k++)
        out[k] = v[k];
    return d;
}

size_t sq_format_levels(const sq_qtensor *q, size_t i, float *out, size_t max)
{
    sq_format f = q->config.format;
    unsigned ncodes = 1u << q->config.bits;
    float vals[256];
    if (i >= q->numel)
        return 0;
    if (is_inrow(f)) { /* element i's code set to each value, its block decoded */
        size_t e, b;
        uint8_t blk[256];
        float y[256];
        inrow_block(f, &e, &b);
        memcpy(blk, q->codes + i / e * b, b);
        for (unsigned c = 0; c < ncodes; c++) {
            block_set_code(f, blk, i % e, c);
            inrow_decode(f, blk, e, (float)q->tensor_scale, y);
            vals[c] = y[i % e];
        }
    } else {
        float s = (float)q->scales[sq_qtensor_scale_index(q, i)];
        for (unsigned c = 0; c < ncodes; c++)
            vals[c] = elem_value(f, c, s);
    }
    return distinct_sorted(vals, ncodes, out, max);
}

/* ---- from stored bytes --------------------------------------------------------------- */

sq_status sq_qtensor_from_format_bytes(const sq_qconfig *cfg, const size_t *shape, int ndim,
                                       sq_dtype orig_dtype, const uint8_t *bytes, size_t nbytes,
                                       const double *scales, const uint8_t *aux, size_t aux_bytes,
                                       double tensor_scale, sq_qtensor **out, sq_error *err)
{
    size_t numel;
    sq_status st;
    sq_qtensor *q;
    *out = NULL;
    if (cfg->format == SQ_FORMAT_INT)
        return sq_fail(err, SQ_ERR_ARG, "format int: use sq_qtensor_from_parts for integer codes");
    if ((st = sq_shape_numel(shape, ndim, &numel, err)) != SQ_OK)
        return st;
    if ((st = sq_qconfig_check(cfg, shape, ndim, err)) != SQ_OK)
        return st;
    sq_qconfig c = *cfg;
    if (c.granularity == SQ_GRAN_CHANNEL && ndim == 0)
        c.granularity = SQ_GRAN_TENSOR;
    const char *name = sq_format_name(c.format);
    size_t want = codes_size(&c, numel);
    if (nbytes != want)
        return sq_fail(err, SQ_ERR_ARG, "format %s: %zu code bytes given, %zu elements store %zu", name, nbytes,
                       numel, want);
    bool dq = c.format == SQ_FORMAT_NF4 && c.double_quant;
    bool oor = sq_format_info_of((int)c.format)->any_granularity || (c.format == SQ_FORMAT_NF4 && !dq);
    if (oor && !scales && numel)
        return sq_fail(err, SQ_ERR_ARG, "format %s: scales are needed (one per %s)", name,
                       c.format == SQ_FORMAT_NF4 ? "block" : "scale index");
    float ts = (float)tensor_scale; /* scales are stored as float32 */
    if (c.format == SQ_FORMAT_NVFP4 && !(isfinite(ts) && ts > 0.0f))
        return sq_fail(err, SQ_ERR_ARG, "format nvfp4: tensor scale %g must be finite and positive (as a float32)",
                       tensor_scale);
    if ((st = fq_alloc(&c, shape, ndim, numel, orig_dtype, &q, err)) != SQ_OK)
        return st;
    if (aux_bytes != q->aux_bytes || (aux_bytes && !aux)) {
        st = sq_fail(err, SQ_ERR_ARG, "format %s: %zu bytes of double-quantization data given, %zu expected", name,
                     aux_bytes, q->aux_bytes);
        goto fail;
    }
    for (size_t k = 0; oor && k < q->n_scales; k++) {
        float f = (float)scales[k];
        bool ok = c.format == SQ_FORMAT_NF4 ? isfinite(f) : isfinite(f) && f > 0.0f;
        if (!ok) {
            st = sq_fail(err, SQ_ERR_ARG, "format %s: scale %zu is %g (%s)", name, k + 1, scales[k],
                         c.format == SQ_FORMAT_NF4 ? "must be a finite float32"
                                                   : "must be a finite and positive float32");
            goto fail;
        }
        q->scales[k] = f;
    }
    if (want)
        memcpy(q->codes, bytes, want);
    if (c.format == SQ_FORMAT_NVFP4)
        q->tensor_scale = ts;
    if (is_inrow(c.format))
        inrow_display(q, 0, numel);
    if (dq) {
        size_t nabs = q->n_scales, n2 = (nabs + SQ_NF4_DQ_BLOCK - 1) / SQ_NF4_DQ_BLOCK;
        float *a2 = malloc((n2 + nabs + 1) * sizeof(float));
        if (!a2) {
            st = sq_fail(err, SQ_ERR_NOMEM, "out of memory for nf4 double quantization");
            goto fail;
        }
        memcpy(q->aux, aux, aux_bytes);
        for (size_t b = 0; b < n2; b++)
            a2[b] = get_f32le(aux + nabs + 4 * b);
        float *am = a2 + n2;
        sq_nf4_dq_decode(aux, a2, get_f32le(aux + nabs + 4 * n2), nabs, am);
        for (size_t k = 0; k < nabs; k++)
            q->scales[k] = am[k];
        free(a2);
    }
    *out = q;
    return SQ_OK;
fail:
    sq_qtensor_free(q);
    return st;
}
