/*
 * elemfmt.h - float element formats and codebook formats: FP8 (E4M3, E5M2),
 * FP4 (E2M1), bitsandbytes' NF4, OCP microscaling MXFP4 / MXFP8 and NVFP4.
 *
 * Every format has a row encoder and decoder working on whole blocks:
 *
 *     float s;
 *     size_t bytes;
 *     if (sq_elemfmt_row_scale(SQ_ELEM_FP8_E4M3, x, n, &s, &err) != SQ_OK) ...;
 *     sq_elemfmt_row_bytes(SQ_ELEM_FP8_E4M3, n, &bytes, &err);
 *     sq_elemfmt_encode_row(SQ_ELEM_FP8_E4M3, x, n, s, dst, &err);
 *     sq_elemfmt_decode_row(SQ_ELEM_FP8_E4M3, dst, n, s, y, &err);
 *
 * The `scale` argument is the scale kept outside the row's bytes:
 *   fp8_e4m3, fp8_e5m2, fp4_e2m1: the scale of the tensor, channel or group
 *     (sq_elemfmt_tensor_scale: max|x| / format max, 1 when max|x| < 1e-30);
 *     code = round-to-nearest-even(x / scale) saturated to +-max; value =
 *     decode(code) * scale (float32). Per tensor / channel / group = one call
 *     per tensor / row / group slice with that slice's scale.
 *   nvfp4: the fp32 tensor scale S = max|x| / (448 * 6).
 *   nf4, mxfp4, mxfp8: ignored (their scales live in the blocks).
 *
 * Storage (bytes per block, little-endian):
 *   fp8_*    1 element, 1 byte (the code).
 *   fp4_e2m1 2 elements, 1 byte: element 2i in the low nibble, 2i+1 high.
 *   nf4      64 elements, 36 bytes: fp32 absmax, then 32 bytes of codes
 *            with the FIRST element of each pair in the HIGH nibble (as
 *            bitsandbytes packs). Codes/absmax apart, other block sizes and
 *            double quantization: sq_nf4_* below.
 *   mxfp4    32 elements, 17 bytes = ggml's block_mxfp4 (GGUF type 39):
 *            E8M0 scale byte, then qs[16]; element j in the low nibble of
 *            qs[j], element j + 16 in its high nibble.
 *   mxfp8    32 elements, 33 bytes: E8M0 scale byte, 32 E4M3 codes.
 *   nvfp4    16 elements, 9 bytes: E4M3 block scale byte, then 8 bytes of
 *            E2M1 codes, element 2i low nibble, 2i+1 high (as fp4_e2m1).
 *
 * No allocation; thread-safe.
 */
#ifndef SQ_ELEMFMT_H
#define SQ_ELEMFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum sq_elemfmt {
    SQ_ELEM_FP8_E4M3 = 0,
    SQ_ELEM_FP8_E5M2,
    SQ_ELEM_FP4_E2M1,
    SQ_ELEM_NF4,
    SQ_ELEM_MXFP4,
    SQ_ELEM_MXFP8,
    SQ_ELEM_NVFP4
} sq_elemfmt;

#define SQ_ELEMFMT_COUNT 7

typedef struct sq_elemfmt_info {
    sq_elemfmt fmt;
    const char *name;       /* "fp8_e4m3", "nf4", "mxfp4", ... */
    size_t block;           /* elements per block */
    size_t block_bytes;     /* bytes per block (in-row scales included) */
    double bits_per_weight; /* 8 * block_bytes / block (nvfp4: + its one fp32 per tensor) */
    size_t nlevels;         /* distinct representable values at a fixed scale (0 once) */
    const char *scale_desc; /* how the scale is stored, for tables */
} sq_elemfmt_info;

/* Description of f (static storage), or NULL when f is out of range. */
const sq_elemfmt_info *sq_elemfmt_info_of(int f);

/* The i-th format for i < SQ_ELEMFMT_COUNT, NULL otherwise. */
const sq_elemfmt_info *sq_elemfmt_info_at(size_t i);

/* Look a format up by name, case-insensitively. Unknown names:
 * SQ_ERR_NOTFOUND naming it and listing the known ones. */
sq_status sq_elemfmt_lookup(const char *name, sq_elemfmt *out, sq_error *err);

/* The out-of-row scale for data whose largest magnitude is absmax:
 * absmax / 448 (e4m3), / 57344 (e5m2), / 6 (e2m1), / (448 * 6) (nvfp4);
 * 1 when absmax < 1e-30 (or not a number). 1 for nf4, mxfp4, mxfp8. */
float sq_elemfmt_tensor_scale(sq_elemfmt f, float absmax);

/* sq_elemfmt_tensor_scale of max|x[0..n)| into *scale. Errors:
 * SQ_ERR_NONFINITE naming the format and the first NaN/Inf's index. */
sq_status sq_elemfmt_row_scale(sq_elemfmt f, const float *x, size_t n, float *scale, sq_error *err);

/* Bytes of a row of n elements. Errors: SQ_ERR_ARG for an unknown format
 * or n not a multiple of the block (the message names format and n). */
sq_status sq_elemfmt_row_bytes(sq_elemfmt f, size_t n, size_t *bytes, sq_error *err);

/* Encode the n floats at x into sq_elemfmt_row_bytes bytes at dst (caller
 * owned). Errors: those of sq_elemfmt_row_bytes; SQ_ERR_ARG when scale is
 * used by f and is not finite and > 0; SQ_ERR_NONFINITE naming the format
 * and the index of the first NaN/Inf (dst untouched). */
sq_status sq_elemfmt_encode_row(sq_elemfmt f, const float *x, size_t n, float scale, uint8_t *dst,
                                sq_error *err);

/* Decode n elements from src into dst (caller owned). Any bytes decode:
 * NaN codes (E4M3 S.1111.111, E5M2 S.11111.xx, E8M0 0xFF) give NaN and the
 * E5M2 infinities give +-Inf. Errors: those of sq_elemfmt_row_bytes;
 * SQ_ERR_ARG for a bad scale as in encode. */
sq_status sq_elemfmt_decode_row(sq_elemfmt f, const uint8_t *src, size_t n, float scale, float *dst,
                                sq_error *err);

/* The representable values of f at `scale` (fp8/fp4/nvfp4: the out-of-row
 * scale times, for nvfp4, the decoded block scale; nf4: the block absmax;
 * mx: the decoded E8M0 block scale), ascending, zero once, each value *
 * scale in float32. Writes the first min(count, max) into out (may be NULL
 * when max is 0) and returns the count (0 for an unknown format). */
size_t sq_elemfmt_levels(sq_elemfmt f, float scale, float *out, size_t max);

/* ---- scalar element converters ------------------------------------------
 * encode: the code of round-to-nearest-even(x), ties to the even code,
 * magnitudes beyond the format's max (infinities too) saturate to +-max,
 * -0 keeps its sign bit; -1 when x is NaN. decode: the exact value (NaN
 * codes give NaN, E5M2 infinity codes +-Inf). E2M1 codes are 4 bits
 * (bit 3 = sign); decode ignores higher bits. */
int sq_fp8_e4m3_encode(float x);
float sq_fp8_e4m3_decode(uint8_t code);
int sq_fp8_e5m2_encode(float x);
float sq_fp8_e5m2_decode(uint8_t code);
int sq_fp4_e2m1_encode(float x);
float sq_fp4_e2m1_decode(uint8_t code);
/* 2^(e - 127); NaN for 0xFF. */
float sq_e8m0_decode(uint8_t e);
/* The E8M0 byte MX gives a block with largest magnitude amax and element
 * max exponent emax (2 for E2M1, 8 for E4M3): floor(log2 amax) - emax + 127
 * clamped to [0, 254]; 0 for amax = 0 (as ggml and the OCP reference's
 * clamp give). amax must be finite and >= 0. */
uint8_t sq_mx_scale_byte(float amax, int emax);

/* ---- NF4 (bitsandbytes) with any block size, double quantization --------
 * Codebook value of code c (0..15), bitsandbytes' float32 constants. */
float sq_nf4_value(uint8_t c);

/* The NF4 code of a value normalized to [-1, 1]: bitsandbytes' decision
 * tree, i.e. the number of codebook midpoints m with v > m, so a value
 * exactly on a midpoint takes the LOWER code. NaN gives code 0. */
uint8_t sq_nf4_code(float v);

/* Quantize n floats (n a multiple of block, block even and > 0) into n / 2
 * bytes of codes (first element of a pair in the high nibble) and n / block
 * absmax values. Element = code of x * (1 / absmax) as bitsandbytes
 * computes it; an all-zero block gets code 7 (0.0) where bitsandbytes'
 * 0 * inf gives NaN and code 0. Errors: SQ_ERR_ARG (block, n) and
 * SQ_ERR_NONFINITE (first index), naming "nf4". */
sq_status sq_nf4_encode(const float *x, size_t n, size_t block, uint8_t *codes, float *absmax,
                        sq_error *err);

/* Decode: value = codebook[code] * absmax. Errors: SQ_ERR_ARG as above. */
sq_status sq_nf4_decode(const uint8_t *codes, const float *absmax, size_t n, size_t block, float *dst,
                        sq_error *err);

/* Bits per weight of NF4 with this block size: 4 + 32 / block, or with
 * double quantization 4 + 8 / block + 32 / (256 * block) (4.127 at 64). */
double sq_nf4_bits_per_weight(size_t block, bool double_quant);

#define SQ_NF4_DQ_BLOCK 256

/* bitsandbytes' dynamic 8-bit map (create_dynamic_map(signed=True)): 256
 * ascending values from -1 to 1 with 0 at index 127, computed with
 * torch's float32 linspace formula. */
void sq_dynamic_map(float out[256]);

/* Double quantization of nabs absmax values as bitsandbytes does it:
 * offset = mean(absmax); absmax - offset quantized blockwise (blocks of
 * SQ_NF4_DQ_BLOCK, the last one may be partial) to the dynamic map, each
 * block with an fp32 absmax. Writes nabs bytes to q, ceil(nabs / 256)
 * floats to absmax2 and the mean to *offset. Errors: SQ_ERR_NONFINITE. */
sq_status sq_nf4_dq_encode(const float *absmax, size_t nabs, uint8_t *q, float *absmax2, float *offset,
                           sq_error *err);

/* The inverse: absmax[i] = map[q[i]] * absmax2[i / 256] + offset. */
void sq_nf4_dq_decode(const uint8_t *q, const float *absmax2, float offset, size_t nabs, float *absmax);

/* ---- ggml ---------------------------------------------------------------
 * Decode ggml's MXFP4 blocks (GGML_TYPE_MXFP4, 17 bytes per 32) exactly as
 * ggml's dequantize_row_mxfp4: as SQ_ELEM_MXFP4 except that a 0xFF scale
 * byte means 2^128 (ggml has no NaN scale). Errors: SQ_ERR_ARG for n not
 * a multiple of 32. */
sq_status sq_elemfmt_decode_ggml_mxfp4(const uint8_t *src, size_t n, float *dst, sq_error *err);

#endif
