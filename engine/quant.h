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
/* Element format: uniform integers (INT, the seed's arithmetic and the
 * default), llama.cpp's block formats (blockfmt.h, byte-exact with ggml) and
 * the float / codebook element formats (elemfmt.h). See "Formats" below. */
typedef enum sq_format {
    SQ_FORMAT_INT = 0,
    SQ_FORMAT_Q4_0, SQ_FORMAT_Q4_1, SQ_FORMAT_Q5_0, SQ_FORMAT_Q5_1, SQ_FORMAT_Q8_0,
    SQ_FORMAT_Q2_K, SQ_FORMAT_Q3_K, SQ_FORMAT_Q4_K, SQ_FORMAT_Q5_K, SQ_FORMAT_Q6_K,
    SQ_FORMAT_IQ4_NL, SQ_FORMAT_IQ4_XS,
    SQ_FORMAT_FP8_E4M3, SQ_FORMAT_FP8_E5M2, SQ_FORMAT_FP4_E2M1, SQ_FORMAT_NF4,
    SQ_FORMAT_MXFP4, SQ_FORMAT_MXFP8, SQ_FORMAT_NVFP4
} sq_format;
#define SQ_FORMAT_COUNT 20
/* How the range of each scale group is chosen (compute_params in quant.c):
 *   MINMAX:     min and max (max|x| when symmetric) - the default;
 *   PERCENTILE: symmetric: the p-th percentile of |x|; asymmetric: the
 *               (100-p)-th and p-th percentiles of x (numpy's linear
 *               interpolation), p = cfg->percentile in (0, 100];
 *   MSE:        alpha times the min/max range (symmetric: alpha*max|x|;
 *               asymmetric: alpha*min, alpha*max), alpha minimizing the
 *               round-trip squared error of the group over the 100-point
 *               grid 0.2 + 0.8*i/99 (i = 0..99, alpha = 1 included), refined
 *               by 20 points around the best; never worse than min/max
 *               (the grid is ranked in float arithmetic for groups of up to
 *               4096 values, and alpha = 1 and the 4 best-ranked points are
 *               compared exactly);
 *   CLIP:       cfg->clip (in (0, 1]) times the min/max range, as MSE's alpha;
 *   RANGE:      the explicit range [cfg->range_lo, cfg->range_hi] for every
 *               group (symmetric: max(|lo|, |hi|));
 *   KL:         TensorRT's entropy calibration: the threshold T minimizing
 *               the KL divergence between the 2048-bin histogram of |x| over
 *               [0, max|x|] clipped at T and its quantization to L levels
 *               (T = (i + 0.5) bin widths, i = L..2048, at most max|x|; the
 *               details at kl_threshold in quant.c). Symmetric: [-T, T],
 *               L = 2^(bits-1). Asymmetric: [max(min, -T), min(max, T)] with
 *               T from the same |x| histogram and L = 2^bits when all values
 *               have one sign, else 2^(bits-1). Per tensor or per channel
 *               (each channel its own histogram: with few values per channel
 *               the histogram is sparse and the threshold noisy); per-group
 *               is refused. A tensor costs one pass plus O(2048 * L) per
 *               scale (4096 x 4096 int8 per channel: about 3 s on one core).
 * Values outside the range are clipped (counted in n_clipped). The ranges are
 * computed per scale group, so results do not depend on the thread count. */
typedef enum sq_calibration {
    SQ_CALIB_MINMAX = 0, SQ_CALIB_PERCENTILE, SQ_CALIB_MSE, SQ_CALIB_CLIP, SQ_CALIB_RANGE, SQ_CALIB_KL
} sq_calibration;

/* "minmax", "percentile", "mse", "clip", "range", "kl", and the parser
 * (false on an unknown name). */
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
    bool double_quant;          /* NF4 only: bitsandbytes' double quantization of the absmax values */
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
 * " mse", " p99.9", " clip0.8", " range[-1,2]", " kl". Returns buf (always NUL-terminated). */
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
    /* Formats other than INT (see "Formats"); NULL / 0 / 1 for INT. */
    uint8_t *aux;            /* format side data, owned (NF4 double quantization) */
    size_t aux_bytes;
    double tensor_scale;     /* NVFP4's fp32 tensor scale S; 1 otherwise */
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

/* Bytes each of the n zero points zp takes in a file: the smallest type
 * holding all of them exactly, 1 (I8) or 2 (I16) when all are integers in
 * range, else 4 (F32) when all are floats, else 8 (F64); 1 when n is 0. */
size_t sq_zero_point_width(const double *zp, size_t n);

/* Bits per weight as GGUF reports it: (packed code bits + n_scales * (scale
 * bits + zero-point bits when asymmetric)) / numel, zero points counted at
 * the scale's width (store F64: 64 bits). 0 for an empty tensor. */
double sq_qtensor_bits_per_weight(const sq_qtensor *q, sq_scale_store store);

/* ---- formats ------------------------------------------------------------------
 * A configuration's `format` selects how elements are stored. INT is the
 * uniform integer grid above. For every other format the configuration is
 * the format's own (sq_qconfig_for_format) and sq_qconfig_check refuses
 * anything else, naming the field:
 *   bits        = the format's code bits (4 for q4_k and nf4, 6 for q6_k, 8 for fp8 ...);
 *   mode        = asymmetric for the formats with a per-block minimum (q4_1, q5_1,
 *                 q2_k, q4_k, q5_k), symmetric otherwise;
 *   granularity = per-group with group_size = the block for the fixed-block formats
 *                 (ggml's 32 / 256, mxfp4/mxfp8 32, nvfp4 16); nf4: per-group, any
 *                 even group_size dividing the last dimension (default 64);
 *                 fp8_e4m3, fp8_e5m2, fp4_e2m1: any granularity (scale = max|x| / format max);
 *   calibration = minmax; scale_store is ignored (out-of-row scales are float32);
 *   double_quant only with nf4.
 * rounding and zero_in_range are ignored (each format rounds as its reference does).
 *
 * A quantized tensor of such a format holds (sq_qtensor):
 *   codes       the bytes as stored: the concatenated blocks of every row for the
 *               block formats, mxfp4/mxfp8 and nvfp4 (blockfmt.h / elemfmt.h layouts,
 *               rows along the last axis); for fp8 one byte per element; for fp4
 *               two elements per byte, element 2i in the low nibble; for nf4 the
 *               4-bit codes, first element of a pair in the high nibble (bitsandbytes).
 *               code_bytes is their size.
 *   scales      one per scale index (sq_qconfig_scale_count): fp8/fp4: the out-of-row
 *               scale; nf4: the block absmax used to decode (after double quantization);
 *               the block formats, mx and nvfp4: the block's decoded scale (the
 *               super-block d for the K-quants; E4M3 scale times S for nvfp4), for display;
 *   zero_points 0, or for the formats with a minimum the block's decoded minimum (display:
 *               q4_1 / q5_1 the block's m; q2_k / q4_k / q5_k the super-block dmin as
 *               stored, the sub-block minimums being -dmin times their 6- or 4-bit mins);
 *   aux         nf4 with double_quant: the nabs code bytes, then ceil(nabs / 256)
 *               float32 absmax2 and the float32 offset (sq_nf4_dq_encode); else NULL;
 *   tensor_scale nvfp4's S; 1 otherwise.
 * sq_dequantize gives exactly the values the format's decoder gives (ggml's
 * dequantize_row_* for the block formats). sq_qtensor_code returns the stored
 * code of an element as an unsigned value 0 .. 2^bits - 1 (ggml's quant index,
 * q8_0's int8 plus 128, the fp8 byte, the fp4 nibble, the codebook index); sq_qtensor_codes writes that value minus
 * 2^(bits-1), so the code histogram's level (sq_code_histogram) is the stored
 * code itself. n_clipped counts values beyond the largest level of their block
 * on their side (saturated). For these formats sq_qtensor_size_bytes is
 * code_bytes, sq_qtensor_meta_bytes the rest of sq_qtensor_storage_bytes, and
 * sq_qtensor_bits_per_weight 8 * storage bytes / numel whatever the store
 * argument; sq_qtensor_from_parts refuses them (use sq_qtensor_from_format_bytes).
 * Quantization runs on the thread pool in parts of whole blocks, with results
 * identical for every thread count. */

typedef enum sq_format_kind { SQ_FORMAT_KIND_INT = 0, SQ_FORMAT_KIND_BLOCK, SQ_FORMAT_KIND_ELEM } sq_format_kind;

typedef struct sq_format_info {
    sq_format format;
    const char *name;         /* "int", "q4_k", "fp8_e4m3", "nf4", "mxfp4", ... */
    sq_format_kind kind;
    int native;               /* sq_block_type (BLOCK), sq_elemfmt (ELEM), -1 (INT) */
    int bits;                 /* code bits per element (0 for INT: set by the config) */
    size_t block;             /* elements per stored block; 0 when set by the config */
    bool fixed_block;         /* granularity is forced to per-group(block) */
    bool any_granularity;     /* per-tensor / per-channel / per-group scales allowed */
    bool asymmetric;          /* blocks carry a minimum */
    double bits_per_weight;   /* from the stored blocks alone (0 for INT); nf4 at block 64 */
    const char *scale_desc;   /* how scales are stored, one short phrase */
} sq_format_info;

/* Description of f (static storage), or NULL when f is out of range. */
const sq_format_info *sq_format_info_of(int f);

/* The format's name ("int", "q4_k", ...), or "?" when out of range. */
const char *sq_format_name(sq_format f);

/* Look a name up case-insensitively ("Q4_K", "nf4", "int"). false when unknown. */
bool sq_format_parse(const char *s, sq_format *out);

/* The configuration format f implies (sq_qconfig_default for INT; otherwise
 * format, bits, mode, granularity and group_size set as listed above, fp8/fp4
 * per-tensor, nf4 group 64). */
sq_qconfig sq_qconfig_for_format(sq_format f);

/* The representable values available to element i of q, ascending, each
 * once, as float32 (INT: (q - zp) * scale for every code of its scale index;
 * formats: every code of its block or sub-block decoded with that block's
 * scales). Writes the first min(count, max) to out (NULL allowed when max is
 * 0) and returns the count (0 when i >= numel). */
size_t sq_qtensor_levels(const sq_qtensor *q, size_t i, float *out, size_t max);

/* Bytes q takes in a file, the one accounting shown to users (q:stats(),
 * sq.compare, squint report's "after", the bytes squint quantize writes):
 * codes as stored plus every scale and zero point at the precision it is
 * stored in (INT: scales in scale_store, F64 counted as 8 bytes; zero points
 * only when asymmetric, at sq_zero_point_width; formats: code_bytes + 4 per out-of-row scale + aux_bytes +
 * 4 for nvfp4's tensor scale). */
size_t sq_qtensor_storage_bytes(const sq_qtensor *q);

/* Build a quantized tensor of a non-INT format from its stored bytes (e.g.
 * read back from a file): bytes/nbytes as in q->codes, scales the
 * out-of-row scales for fp8/fp4 (sq_qconfig_scale_count of them, finite and
 * > 0; NULL otherwise), nf4: absmax per block when not double-quantized,
 * aux as q->aux, tensor_scale nvfp4's S. Validates sizes, derives the display
 * scales. Caller frees *out. Errors: SQ_ERR_ARG naming what does not fit.
 * Scales and S are rounded to float32 (as stored and as the decoders use
 * them) and must stay finite (and > 0 but for nf4's absmax) after that;
 * n_clipped is 0 (the originals are unknown). */
sq_status sq_qtensor_from_format_bytes(const sq_qconfig *cfg, const size_t *shape, int ndim,
                                       sq_dtype orig_dtype, const uint8_t *bytes, size_t nbytes,
                                       const double *scales, const uint8_t *aux, size_t aux_bytes,
                                       double tensor_scale, sq_qtensor **out, sq_error *err);

#endif
