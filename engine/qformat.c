/*
 * qformat.c - the format table of quant.h: names, the configuration each
 * format implies, its checks, levels and the storage accounting; and the
 * quantize / dequantize / statistics paths of the non-INT formats, which
 * call the row kernels of blockfmt.h and elemfmt.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blockfmt.h"
#include "elemfmt.h"
#include "quant.h"
#include "qformat_int.h"

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

/* ---- stubs: the format paths land with the format engine ------------------------ */

size_t sq_format_levels(const sq_qtensor *q, size_t i, float *out, size_t max)
{
    (void)q; (void)i; (void)out; (void)max;
    return 0;
}

sq_status sq_qtensor_from_format_bytes(const sq_qconfig *cfg, const size_t *shape, int ndim,
                                       sq_dtype orig_dtype, const uint8_t *bytes, size_t nbytes,
                                       const double *scales, const uint8_t *aux, size_t aux_bytes,
                                       double tensor_scale, sq_qtensor **out, sq_error *err)
{
    (void)shape; (void)ndim; (void)orig_dtype; (void)bytes; (void)nbytes; (void)scales; (void)aux;
    (void)aux_bytes; (void)tensor_scale;
    *out = NULL;
    return sq_fail(err, SQ_ERR_UNSUPPORTED, "format %s: not wired yet", sq_format_name(cfg->format));
}
