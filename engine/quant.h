/*
 * quant.h - integer quantization of tensors and its inverse.
 *
 *     sq_qconfig cfg = sq_qconfig_default();          // int8 symmetric per-tensor
 *     cfg.bits = 4; cfg.granularity = SQ_GRAN_GROUP; cfg.group_size = 32;
 *     sq_qtensor *q;  sq_tensor *xhat;
 *     if (sq_quantize(x, &cfg, &q, &err) != SQ_OK) ...;
 *     if (sq_dequantize(q, &xhat, &err) != SQ_OK) ...;
 *     sq_qtensor_free(q); sq_tensor_free(xhat);
 *
 * Semantics (the seed module's, extended):
 *   qmax = 2^(bits-1) - 1; symmetric qmin = -qmax; asymmetric qmin = -2^(bits-1).
 *   symmetric:  scale = max|x| / qmax, zero point 0.
 *   asymmetric: scale = (max - min) / (qmax - qmin), zp = round(qmin - min/scale)
 *               (a float, not clamped: it can leave the code range);
 *               with zero_in_range (PyTorch's rule) min/max are first widened to
 *               include 0 and zp = clamp(qmin - round(min/scale), qmin, qmax).
 *   scale = 1 when the range (or max|x|) is below 1e-30, and (1, 0) for an empty set.
 *   code q = clamp(round(x * (1/scale) + zp), qmin, qmax), all in double precision,
 *   rounding half away from zero (default) or half to even.
 *   dequantized value = (q - zp) * scale, rounded to float32.
 *   One scale (and zp) per tensor, per index of one axis, or per group of
 *   group_size consecutive elements along the last axis.
 *
 * Codes are stored bit-packed: element i occupies bits [i*bits, (i+1)*bits) of
 * a little-endian bit stream (so for 4 bits element 2k is the low nibble of
 * byte k), as the unsigned offset-binary value q + 2^(bits-1).
 *
 * Where later formats go: codebook and float element formats (NF4, FP8 E4M3/E5M2,
 * MXFP4) become new sq_format values, with their own encode/decode kernels chosen
 * in quant.c's kernel table, sharing the scale-group iteration and the packing;
 * calibration methods (percentile, MSE-optimal clipping, KL) become sq_calibration
 * values handled in the scale computation (quant.c: compute_params), which is the
 * only place that looks at the data's range.
 *
 * Thread-safety: quantize/dequantize only read their inputs; they may run
 * concurrently on shared inputs.
 */
#ifndef SQ_QUANT_H
#define SQ_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tensor.h"

#define SQ_BITS_MIN 2
#define SQ_BITS_MAX 8

typedef enum sq_mode { SQ_MODE_SYMMETRIC = 0, SQ_MODE_ASYMMETRIC } sq_mode;
typedef enum sq_granularity { SQ_GRAN_TENSOR = 0, SQ_GRAN_CHANNEL, SQ_GRAN_GROUP } sq_granularity;
typedef enum sq_rounding { SQ_ROUND_AWAY = 0, SQ_ROUND_EVEN } sq_rounding;
/* Element format. Only uniform integers today; see the header comment. */
typedef enum sq_format { SQ_FORMAT_INT = 0 } sq_format;
/* How the range of each scale group is chosen (compute_params in quant.c):
 *   MINMAX:     min and max (max|x| when symmetric) - the default;
 *   PERCENTILE: symmetric: the p-th percentile of |x|; asymmetric: the
 *               (100-p)-th and p-th percentiles of x (numpy's linear
 *               interpolation), p = cfg->percentile in (0, 100];
 *   MSE:        alpha times the min/max range (symmetric: alpha*max|x|;
 *               asymmetric: alpha*min, alpha*max), alpha minimizing the
 *               round-trip squared error of the group over the 100-point
 *               grid 0.2 + 0.8*i/99 (i = 0..99, alpha = 1 included), refined
 *               by 20 points around the best; never worse than min/max;
 *   CLIP:       cfg->clip (in (0, 1]) times the min/max range, as MSE's alpha;
 *   RANGE:      the explicit range [cfg->range_lo, cfg->range_hi] for every
 *               group (symmetric: max(|lo|, |hi|)).
 * Values outside the range are clipped (counted in n_clipped). The ranges are
 * computed per scale group, so results do not depend on the thread count. */
typedef enum sq_calibration {
    SQ_CALIB_MINMAX = 0, SQ_CALIB_PERCENTILE, SQ_CALIB_MSE, SQ_CALIB_CLIP, SQ_CALIB_RANGE
} sq_calibration;

/* "minmax", "percentile", "mse", "clip", "range", and the parser (false on
 * an unknown name). */
const char *sq_calibration_name(sq_calibration c);
bool sq_calibration_parse(const char *s, sq_calibration *out);

/* The precision scales are kept in (and stored in a file as). F64, the
 * default (0), keeps the double the arithmetic gives. With F32 or F16,
 * quantize rounds each scale to that precision (double -> float -> half,
 * each to nearest even) before forming zero points and codes, so a file
 * holding the rounded scales reproduces the in-memory tensor bit for bit.
 * F16 falls back to F32 for a whole tensor when one of its rounded scales
 * would be infinite or below f16's smallest normal 2^-14 (a subnormal would
 * lose precision and clip): q->config.scale_store then says F32. */
typedef enum sq_scale_store { SQ_SCALE_F64 = 0, SQ_SCALE_F32, SQ_SCALE_F16 } sq_scale_store;

/* "f64", "f32", "f16", and the parser (false on an unknown name). */
const char *sq_scale_store_name(sq_scale_store s);
bool sq_scale_store_parse(const char *s, sq_scale_store *out);

typedef struct sq_qconfig {
    int bits;                   /* 2..8 */
    sq_mode mode;
    sq_granularity granularity;
    int axis;                   /* per-channel axis, 0-based (0 = first dimension) */
    size_t group_size;          /* per-group: elements per group along the last axis */
    sq_rounding rounding;
    bool zero_in_range;         /* asymmetric only: PyTorch's range widening */
    sq_format format;
    sq_calibration calibration;
    double percentile;          /* PERCENTILE: p in (0, 100] (default 99.99) */
    double clip;                /* CLIP: ratio in (0, 1] (default 1) */
    double range_lo, range_hi;  /* RANGE: lo < hi, finite */
    sq_scale_store scale_store; /* precision scales are rounded to (default F64: none) */
} sq_qconfig;

/* The seed's default: int8, symmetric, per-tensor, round half away from zero,
 * axis 0, group size 32 (used only when granularity is per-group). */
sq_qconfig sq_qconfig_default(void);

/* Check cfg on its own and against a tensor shape: bits in 2..8, known enums,
 * axis within 0..ndim-1 (per-channel, ndim > 0), group_size > 0 and dividing
 * the last dimension (per-group, ndim > 0). The message names the offending
 * field and value (calibration: "percentile", "clip", "range" must be in
 * their domains, see sq_calibration). shape may be NULL to check cfg alone. */
sq_status sq_qconfig_check(const sq_qconfig *cfg, const size_t *shape, int ndim, sq_error *err);

int sq_qconfig_qmin(const sq_qconfig *cfg);
int sq_qconfig_qmax(const sq_qconfig *cfg);

/* Describe cfg compactly, e.g. "int4 asym per-group(32)" plus " even" or
 * " zir" when those options are set, and the calibration when not min/max:
 * " mse", " p99.9", " clip0.8", " range[-1,2]". Returns buf (always NUL-terminated). */
char *sq_qconfig_describe(const sq_qconfig *cfg, char *buf, size_t bufsize);

/* The same with the axis numbered from first_axis (1 for user-facing text,
 * as in Lua: "per-channel(axis 1)" is the first dimension). */
char *sq_qconfig_describe_from(const sq_qconfig *cfg, int first_axis, char *buf, size_t bufsize);

/* Names used by the Lua layer and files ("symmetric", "channel", "even", ...)
 * and their parsers (return false on an unknown name). */
const char *sq_mode_name(sq_mode m);
const char *sq_granularity_name(sq_granularity g);
const char *sq_rounding_name(sq_rounding r);
bool sq_mode_parse(const char *s, sq_mode *out);
bool sq_granularity_parse(const char *s, sq_granularity *out);
bool sq_rounding_parse(const char *s, sq_rounding *out);

typedef struct sq_qtensor {
    sq_qconfig config;
    int ndim;
    size_t shape[SQ_MAX_DIMS];
    size_t numel;
    sq_dtype orig_dtype;     /* dtype of the tensor that was quantized */
    uint8_t *codes;          /* packed codes, code_bytes bytes, owned */
    size_t code_bytes;       /* ceil(numel * bits / 8) */
    size_t n_scales;         /* 1, shape[axis], or numel / group_size */
    double *scales;          /* n_scales, owned */
    double *zero_points;     /* n_scales, owned (float values, may exceed the code range) */
    size_t n_clipped;        /* values whose rounded code fell outside [qmin, qmax] */
} sq_qtensor;

/* Quantize x with cfg. On success *out is a new quantized tensor the caller
 * frees with sq_qtensor_free. Errors: invalid cfg for x's shape (ARG), NaN or
 * Inf in x (NONFINITE, with count and first index), size overflow, no memory. */
sq_status sq_quantize(const sq_tensor *x, const sq_qconfig *cfg, sq_qtensor **out, sq_error *err);

/* The dequantized tensor (dtype label: q->orig_dtype). Caller frees. */
sq_status sq_dequantize(const sq_qtensor *q, sq_tensor **out, sq_error *err);

/* Dequantize into a caller-owned buffer of q->numel floats. Cannot fail. */
void sq_dequantize_into(const sq_qtensor *q, float *out);

/* Free q and everything it owns. sq_qtensor_free(NULL) is a no-op. */
void sq_qtensor_free(sq_qtensor *q);

/* Signed code of element i (no bounds check beyond an assert-free clamp:
 * i must be < q->numel). */
int sq_qtensor_code(const sq_qtensor *q, size_t i);

/* Unpack codes [start, start+n) as signed integers into out. */
void sq_qtensor_codes(const sq_qtensor *q, size_t start, size_t n, int8_t *out);

/* Index into scales/zero_points that governs element i. */
size_t sq_qtensor_scale_index(const sq_qtensor *q, size_t i);

/* Build a quantized tensor from its parts (e.g. read back from a file):
 * codes are signed values, one per element; scales and zero_points have the
 * count cfg implies for shape. Validates cfg, that every code lies in
 * [qmin, qmax] and that scales are finite. Caller frees *out. */
sq_status sq_qtensor_from_parts(const sq_qconfig *cfg, const size_t *shape, int ndim,
                                sq_dtype orig_dtype, const int8_t *codes,
                                const double *scales, const double *zero_points,
                                sq_qtensor **out, sq_error *err);

/* Number of scales cfg gives a tensor of this shape (cfg must be valid for it). */
size_t sq_qconfig_scale_count(const sq_qconfig *cfg, const size_t *shape, int ndim);

/* Compute one (scale, zero point) pair for n values as quantize does for a
 * single group. Values must be finite. */
void sq_compute_scale_zp(const float *x, size_t n, const sq_qconfig *cfg,
                         double *scale, double *zero_point);

/* ---- size accounting ---------------------------------------------------- */

/* Bytes the packed codes of n elements take: ceil(n * bits / 8). Fails with
 * SQ_ERR_OVERFLOW when that does not fit in size_t. */
sq_status sq_packed_size(size_t n, int bits, size_t *bytes, sq_error *err);

/* Pack n signed codes (each in the bit width's signed range) into dst
 * (sq_packed_size bytes, fully written, padding bits zero). */
void sq_pack_codes(const int8_t *codes, size_t n, int bits, uint8_t *dst);

/* Unpack n codes starting at element `start` of a packed stream. */
void sq_unpack_codes(const uint8_t *src, size_t start, size_t n, int bits, int8_t *out);

/* The seed's size: the packed code bytes. */
size_t sq_qtensor_size_bytes(const sq_qtensor *q);
/* The seed's compression ratio: numel * 4 / size_bytes (1.0 for an empty tensor). */
double sq_qtensor_compression_ratio(const sq_qtensor *q);
/* The seed's metadata accounting: 16 bytes per scale (f64 scale + f64 zero point). */
size_t sq_qtensor_meta_bytes(const sq_qtensor *q);

/* Bits per weight as GGUF reports it: (packed code bits + n_scales * (scale
 * bits + zero-point bits when asymmetric)) / numel, zero points counted at
 * the scale's width (store F64: 64 bits). 0 for an empty tensor. */
double sq_qtensor_bits_per_weight(const sq_qtensor *q, sq_scale_store store);

#endif
