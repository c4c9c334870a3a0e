/*
 * model.h - the seed's model-level pieces: a linear layer and its quantized
 * form, quantizing every rank >= 2 tensor of a named set, and whole-model
 * size statistics.
 *
 * As in the seed, a linear layer's weight is [out, in] and its bias is kept as
 * a [1, out] matrix, so quantizing "every rank >= 2 tensor" of one layer
 * quantizes both.
 */
#ifndef SQ_MODEL_H
#define SQ_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "quant.h"
#include "tensor.h"

typedef struct sq_linear {
    size_t in_features, out_features;
    sq_tensor *weight;   /* [out, in], owned */
    sq_tensor *bias;     /* [1, out], owned, or NULL */
} sq_linear;

/* A layer with PyTorch's default initialisation, U(-1/sqrt(in), 1/sqrt(in))
 * for weight and bias, from a seeded generator. Caller frees with
 * sq_linear_free. Errors: in or out is 0 (ARG), overflow, no memory. */
sq_status sq_linear_new(size_t in_features, size_t out_features, bool with_bias,
                        uint64_t seed, sq_linear **out, sq_error *err);

/* A layer from copies of weight ([out, in]) and bias (NULL, or out values in
 * any shape with out elements, stored as [1, out]). Caller frees. */
sq_status sq_linear_from(const sq_tensor *weight, const sq_tensor *bias,
                         sq_linear **out, sq_error *err);

void sq_linear_free(sq_linear *l);

/* y = x W^T + b for x of shape [..., in] (or [in]); y has shape [..., out].
 * In float: two rows and more on a CPU with AVX-512, squint's own kernel
 * (engine/sgemm.h; on the engine's threads, SQUINT_THREADS, the same
 * results for any count); otherwise with OpenBLAS
 * (configure finds it) one cblas_sgemv for a single row, else one
 * cblas_sgemm (OpenBLAS's threads: OPENBLAS_NUM_THREADS); without OpenBLAS
 * the double-accumulating loop of sq_linear_forward_reference. Error against
 * the exact product:
 * |y - y_exact| <= (in + 2) * 2^-24 * (sum_k |W[o][k]| |x[k]| + |b[o]|).
 * Caller frees *y. Errors: last dimension != in (ARG), no memory. */
sq_status sq_linear_forward(const sq_linear *l, const sq_tensor *x, sq_tensor **y, sq_error *err);

/* The same accumulated in double with one rounding to float per output
 * (slow; the reference for tests and benchmarks). */
sq_status sq_linear_forward_reference(const sq_linear *l, const sq_tensor *x, sq_tensor **y, sq_error *err);

/* Whether sq_linear_forward has OpenBLAS (decided at build time; for a
 * single row, or when the CPU has no AVX-512). */
bool sq_linear_have_blas(void);

struct sq_qgemm_params;

/* A quantized linear layer. Build it with sq_qlinear_from_linear or
 * sq_qlinear_from_qtensor (they also fill kparams); do not swap weight_q. */
typedef struct sq_qlinear {
    size_t in_features, out_features;
    sq_qtensor *weight_q;   /* owned */
    sq_tensor *bias;        /* owned copy kept in float, or NULL */
    struct sq_qgemm_params *kparams; /* owned: float scale forms for the kernels, 8 B per scale (INT weights) */
    sq_tensor *weight_dq;   /* owned: a non-INT format's weight decoded once (its values exactly), else NULL */
} sq_qlinear;

/* Quantize l's weight with cfg (the bias stays float). Caller frees.
 * Errors: cfg invalid for the weight (ARG), no memory. */
sq_status sq_qlinear_from_linear(const sq_linear *l, const sq_qconfig *cfg,
                                 sq_qlinear **out, sq_error *err);

/* A layer from a copy of a quantized 2-D weight [out, in] (e.g. loaded with
 * sq_st_load_qtensor) and a copy of bias (NULL or out elements). Caller frees.
 * Errors: weight not a non-empty matrix or bias of the wrong size (ARG), no
 * memory. */
sq_status sq_qlinear_from_qtensor(const sq_qtensor *weight, const sq_tensor *bias, sq_qlinear **out,
                                  sq_error *err);
void sq_qlinear_free(sq_qlinear *ql);

/* How sq_qlinear_forward_mode multiplies.
 * SQ_QLINEAR_EXACT (the default, sq_qlinear_forward): weight values
 *   (q - zp) * scale formed in float registers from the packed codes and
 *   multiplied with x in float. For output o of a row x, with s_k and zp_k
 *   the scale and zero point governing W[o][k],
 *     |y - y_ref| <= (in + 4) * 2^-24 * (sum_k (|q_k| + |zp_k|) s_k |x_k| + |b_o|)
 *   where y_ref = sum_k dequant(W)[o][k] x_k + b_o computed exactly (for
 *   symmetric codes the sum is sum_k |dequant(W)[o][k] x_k|).
 * SQ_QLINEAR_DYNAMIC_INT8: as PyTorch's dynamic quantized Linear, each row of
 *   x is quantized to int8 (sx = max|x| / 127, round half to even) and the
 *   code products are summed exactly in integers, then scaled in double:
 *     |y - y_ref| <= (1 + 2^-20) sx / 2 * sum_k |w_k| + 2^-22 (sum_k |w_k| (|x_k| + sx) + |b_o|)
 *   with w = dequant(W)[o]: the activation rounding dominates. Fastest for
 *   larger batches. Applies to weights with one scale per row, per tensor,
 *   or per group along the input (per-channel along the input axis is
 *   multiplied in the exact arithmetic, as sq_qlinear_dynamic_applies
 *   tells). Per-group weights on the AVX-512 VNNI kernel: each group's code
 *   sum is an exact integer, but the groups are summed in float lanes, so
 *   the bound gains
 *     (in + 8) * 2^-24 * (sum_k (|q_k| + |zp_k|) s_k (|x_k| + sx) + |b_o|)
 *   (in practice in / 32 terms per lane); the portable kernel keeps the
 *   bound above. */
typedef enum sq_qlinear_mode { SQ_QLINEAR_EXACT = 0, SQ_QLINEAR_DYNAMIC_INT8 } sq_qlinear_mode;

/* y = x dequant(W)^T + b for x of shape [..., in] (or [in]), computed from
 * the packed codes (the float weight is never formed). Kernels: AVX-512 for
 * 8- and 4-bit codes (VNNI for the integer products) when the CPU has it,
 * portable code (also built for AVX2) otherwise; see engine/qgemm.h. Caller
 * frees *y. Errors: last dimension != in (ARG), no memory. */
sq_status sq_qlinear_forward_mode(const sq_qlinear *ql, const sq_tensor *x, sq_qlinear_mode mode, sq_tensor **y,
                                  sq_error *err);

/* Whether SQ_QLINEAR_DYNAMIC_INT8 quantizes the activations for this layer
 * (its weight has one scale per output row, per tensor, or per group). */
bool sq_qlinear_dynamic_applies(const sq_qlinear *ql);

/* sq_qlinear_forward_mode with SQ_QLINEAR_EXACT. Forward calls only read the
 * layer: they may run concurrently on one layer. */
sq_status sq_qlinear_forward(const sq_qlinear *ql, const sq_tensor *x, sq_tensor **y, sq_error *err);

/* The seed's forward: dequantize the whole weight, then multiply accumulating
 * in double (one rounding per output). Slow; the reference for tests and
 * benchmarks. Caller frees *y. Errors: as sq_qlinear_forward. */
sq_status sq_qlinear_forward_reference(const sq_qlinear *ql, const sq_tensor *x, sq_tensor **y, sq_error *err);

/* fp32 bytes of the weight minus its packed code bytes (the seed's figure). */
size_t sq_qlinear_memory_savings(const sq_qlinear *ql);

/* A quantized layer has no trainable parameters: always 0. */
size_t sq_qlinear_num_parameters(const sq_qlinear *ql);

/* ---- named tensor sets ---------------------------------------------------- */

typedef struct sq_named_tensor {
    const char *name;          /* borrowed */
    const sq_tensor *tensor;   /* borrowed */
} sq_named_tensor;

typedef struct sq_named_qtensor {
    char *name;                /* owned copy */
    sq_qtensor *qtensor;       /* owned */
} sq_named_qtensor;

/* The parameters of a linear layer as a named set: "weight" then "bias" (when
 * present). Writes up to 2 entries into out, returns how many. */
size_t sq_linear_named_parameters(const sq_linear *l, sq_named_tensor out[2]);

/* Quantize every tensor of rank >= 2 in order; others are skipped. *out is a
 * new array of *n_out entries; free it with sq_named_qtensors_free. On error
 * nothing is returned and the message names the tensor. */
sq_status sq_quantize_named(const sq_named_tensor *set, size_t n, const sq_qconfig *cfg,
                            sq_named_qtensor **out, size_t *n_out, sq_error *err);
void sq_named_qtensors_free(sq_named_qtensor *arr, size_t n);

/* The seed's whole-model statistics. */
typedef struct sq_model_stats {
    size_t num_quantized;      /* rank >= 2 tensors */
    size_t num_fp32;           /* others, kept as fp32 */
    size_t fp32_bytes;         /* all tensors as fp32 */
    size_t quantized_bytes;    /* packed codes + 16 B per scale, plus fp32 of kept tensors */
    double compression_ratio;  /* fp32_bytes / quantized_bytes (1 when empty) */
} sq_model_stats;

/* Start an accumulation (all zero, ratio 1). */
void sq_model_stats_init(sq_model_stats *s);

/* Account one tensor by its shape alone (no data needed, so a checkpoint can
 * be summarised without loading it). cfg must be valid for shapes of rank >= 2
 * (per-group: group size dividing the last dimension), else SQ_ERR_ARG.
 * Updates compression_ratio. Errors: overflow, invalid cfg for the shape. */
sq_status sq_model_stats_add(sq_model_stats *s, const size_t *shape, int ndim,
                             const sq_qconfig *cfg, sq_error *err);

/* Statistics for a whole named set. */
sq_status sq_model_stats_compute(const sq_named_tensor *set, size_t n, const sq_qconfig *cfg,
                                 sq_model_stats *out, sq_error *err);

#endif
