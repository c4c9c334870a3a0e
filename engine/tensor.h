/*
 * tensor.h - dense float tensors, the unit every squint analysis works on.
 *
 * A tensor holds its values as float32 (whatever the file it came from used)
 * and records the dtype of its source so that size accounting can say what
 * the original cost. Shapes have 0 to SQ_MAX_DIMS dimensions, row-major
 * (C order): the last index varies fastest.
 *
 *     size_t shape[2] = {256, 512};
 *     sq_tensor *w;
 *     if (sq_tensor_randn(shape, 2, 42, &w, &err) != SQ_OK) ...;
 *     ... w->data[i] ...
 *     sq_tensor_free(w);
 *
 * Thread-safety: functions touch only their arguments; distinct tensors may
 * be used from distinct threads.
 */
#ifndef SQ_TENSOR_H
#define SQ_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SQ_MAX_DIMS 8

/* Element types squint knows about (as a source dtype or a file dtype). */
typedef enum sq_dtype {
    SQ_DTYPE_F32 = 0,
    SQ_DTYPE_F16,
    SQ_DTYPE_BF16,
    SQ_DTYPE_F64,
    SQ_DTYPE_I8,
    SQ_DTYPE_U8,
    SQ_DTYPE_I16,
    SQ_DTYPE_I32,
    SQ_DTYPE_COUNT
} sq_dtype;

/* Lower-case name ("f32", "bf16", ...); "?" for an invalid value. */
const char *sq_dtype_name(sq_dtype dt);
/* Bytes per element of dt (0 for an invalid value). */
size_t sq_dtype_size(sq_dtype dt);
/* Parse a name as printed by sq_dtype_name (case-insensitive). Returns false
 * when the name is unknown. */
bool sq_dtype_parse(const char *name, sq_dtype *out);

/* IEEE half / bfloat16 conversions (round to nearest even, NaN kept NaN,
 * overflow to +-Inf). Exact for every half and bfloat16 value on the way in. */
float sq_half_to_float(uint16_t h);
uint16_t sq_float_to_half(float f);
float sq_bf16_to_float(uint16_t b);
uint16_t sq_float_to_bf16(float f);

typedef struct sq_tensor {
    int ndim;                    /* 0..SQ_MAX_DIMS; 0 is a scalar */
    size_t shape[SQ_MAX_DIMS];   /* shape[0..ndim-1]; unused entries are 0 */
    size_t numel;                /* product of shape (1 for a scalar) */
    sq_dtype dtype;              /* dtype of the source the values came from */
    float *data;                 /* numel values, owned by the tensor */
} sq_tensor;

/* Product of shape[0..ndim-1] into *numel. Fails with SQ_ERR_ARG for ndim
 * outside 0..SQ_MAX_DIMS and SQ_ERR_OVERFLOW when the element count, or its
 * size in bytes as float32, does not fit in size_t. */
sq_status sq_shape_numel(const size_t *shape, int ndim, size_t *numel, sq_error *err);

/* Format a shape as "[256, 512]" into buf (always NUL-terminated). Returns buf. */
char *sq_shape_format(const size_t *shape, int ndim, char *buf, size_t bufsize);

/* Allocate a zero-filled tensor. On success *out is a new tensor the caller
 * frees with sq_tensor_free; on failure *out is NULL. dtype only labels the
 * source. Errors: bad ndim/dtype (ARG), size overflow, allocation failure. */
sq_status sq_tensor_new(const size_t *shape, int ndim, sq_dtype dtype,
                        sq_tensor **out, sq_error *err);

/* Same as sq_tensor_new, then copies numel floats from values. */
sq_status sq_tensor_from_floats(const size_t *shape, int ndim, const float *values,
                                sq_tensor **out, sq_error *err);

/* A deep copy of t (caller frees). */
sq_status sq_tensor_clone(const sq_tensor *t, sq_tensor **out, sq_error *err);

/* Standard-normal values from a seeded generator (xoshiro256** seeded by
 * splitmix64, Box-Muller in double precision): the same seed gives the same
 * tensor on every run and machine with IEEE doubles. Caller frees. */
sq_status sq_tensor_randn(const size_t *shape, int ndim, uint64_t seed,
                          sq_tensor **out, sq_error *err);

/* Free t and its data. sq_tensor_free(NULL) is a no-op. */
void sq_tensor_free(sq_tensor *t);

/* Succeeds when every value of t is finite; otherwise SQ_ERR_NONFINITE with a
 * message giving how many values are NaN or infinite and the first one
 * (as a flat element number and as a multi-index, both 1-based: "first at
 * element 2 [1, 2] = nan"). what names the tensor in the
 * message (may be NULL). */
sq_status sq_tensor_check_finite(const sq_tensor *t, const char *what, sq_error *err);

/* Summary of a tensor's values: min, max, mean and population std over the
 * finite values, the count of NaN and of +-Inf. For an empty tensor (or one
 * with no finite value) min/max/mean/std are NaN. Never fails. */
typedef struct sq_summary {
    size_t count;        /* numel */
    size_t n_nan, n_inf;
    double min, max, mean, std;
} sq_summary;
void sq_tensor_summary(const sq_tensor *t, sq_summary *out);

/* The built-in demo tensor: a 256 x 512 weight-like matrix ([out, in],
 * N(0, 0.02^2) entries) whose output channels 7, 100 and 201 are scaled by
 * 25, 12 and 40 (outlier channels, as seen in real LLM layers). Fixed content:
 * the same on every call. Caller frees. */
sq_status sq_tensor_demo(sq_tensor **out, sq_error *err);

#endif
