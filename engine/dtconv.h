/*
 * dtconv.h - converting raw file elements to and from float32.
 *
 * Used by the file readers and writers: elements of any sq_dtype, stored
 * little- or big-endian (no alignment required), become float32 values
 * (exact for f16, bf16, the 8- and 16-bit integers; f64 and i32 are rounded
 * to nearest float). Thread-safe, no allocation. Large decodes run in parts
 * on the engine's thread pool (threads.h); results do not depend on it.
 */
#ifndef SQ_DTCONV_H
#define SQ_DTCONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tensor.h"

/* Decode n elements of dtype dt from src (n * sq_dtype_size(dt) bytes,
 * big_endian selecting the byte order) into dst. dt must be valid. */
void sq_decode_elements(sq_dtype dt, bool big_endian, const uint8_t *src, size_t n, float *dst);

/* Encode n floats as little-endian elements of dt into dst
 * (n * sq_dtype_size(dt) bytes). Floating dtypes round (f16/bf16 to nearest
 * even). Integer dtypes need every value integral and within the dtype's
 * range: otherwise SQ_ERR_ARG naming the first offending index and value
 * (dst is then partly written). */
sq_status sq_encode_elements(sq_dtype dt, const float *src, size_t n, uint8_t *dst, sq_error *err);

#endif
