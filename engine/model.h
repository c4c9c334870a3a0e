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
 * Accumulates in double. Caller frees *y. Errors: last dimension != in (ARG). */
sq_status sq_linear_forward(const sq_linear *l, const sq_tensor *x, sq_tensor **y, sq_error *err);

typedef struct sq_qlinear {
    size_t in_features, out_features;
    sq_qtensor *weight_q;   /* owned */
    sq_tensor *bias;        /* owned copy kept in float, or NULL */
} sq_qlinear;

/* Quantize l's weight with cfg (the bias stays float). Caller frees. */
sq_status sq_qlinear_from_linear(const sq_linear *l, const sq_qconfig *cfg,
                                 sq_qlinear **out, sq_error *err);
void sq_qlinear_free(sq_qlinear *ql);

/* Forward on the dequantized weight: y = x dequant(W)^T + b. Caller frees *y. */
sq_status sq_qlinear_forward(const sq_qlinear *ql, const sq_tensor *x, sq_tensor **y, sq_error *err);

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
