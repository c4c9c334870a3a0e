/*
 * npy.h - numpy's .npy files: read any plain numeric array numpy writes,
 * write float32 / float64 arrays and int8 codes.
 *
 *     sq_tensor *t;
 *     if (sq_npy_read("w.npy", &t, &err) != SQ_OK) fprintf(stderr, "%s\n", err.msg);
 *     ...
 *     if (sq_npy_write("w2.npy", t, SQ_DTYPE_F32, &err) != SQ_OK) ...;
 *     sq_tensor_free(t);
 *
 * Reading: format versions 1.0, 2.0 and 3.0; dtypes float16/32/64, int8,
 * uint8, int16, int32 in either byte order; C or Fortran order (Fortran
 * arrays are returned in C order); 0-d (a scalar tensor), n-d up to
 * SQ_MAX_DIMS, and empty arrays. The tensor's dtype field records the file's
 * dtype. Other dtypes (bool, int64, complex, object, strings, structured)
 * fail with SQ_ERR_UNSUPPORTED naming the dtype. Any malformed file fails
 * with SQ_ERR_FORMAT and a message "<file>: <problem>"; the size of the
 * data is checked against the file before anything is allocated.
 *
 * Writing: version 1.0 (2.0 if the header would exceed 65535 bytes), C
 * order, little-endian, header padded to a multiple of 64 bytes as numpy
 * does, written atomically (see fileio.h).
 */
#ifndef SQ_NPY_H
#define SQ_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tensor.h"

/* Read the .npy file at path (opened read-only). On success *out is a new
 * tensor the caller frees with sq_tensor_free; on failure *out is NULL and
 * err says why (IO, FORMAT, UNSUPPORTED, OVERFLOW, NOMEM), naming the file. */
sq_status sq_npy_read(const char *path, sq_tensor **out, sq_error *err);

/* Parse a .npy image held in memory (len bytes at buf); name labels error
 * messages. Same results and errors as sq_npy_read. buf is not modified. */
sq_status sq_npy_parse(const uint8_t *buf, size_t len, const char *name, sq_tensor **out, sq_error *err);

/* What a .npy header says, read without touching the data. */
typedef struct sq_npy_info {
    sq_dtype dtype;      /* the file's dtype */
    bool big_endian;     /* its byte order */
    bool fortran;        /* Fortran (column-major) order */
    int ndim;
    size_t shape[SQ_MAX_DIMS];
    size_t numel;
    size_t data_offset;  /* where the data starts in the file */
    size_t data_present; /* bytes in the file after the header */
} sq_npy_info;

/* The header size sq_npy_probe accepts (numpy writes a few hundred bytes). */
#define SQ_NPY_MAX_HEADER (16u * 1024u * 1024u)

/* Read only the header of the .npy file at path (its first bytes, by
 * pread: the data is neither read nor mapped, whatever the file's size).
 * The data's size is not checked (see sq_npy_check_data), so a file whose
 * data is truncated still probes. Errors: IO, FORMAT, UNSUPPORTED as
 * sq_npy_read, naming the file. */
sq_status sq_npy_probe(const char *path, sq_npy_info *info, sq_error *err);

/* Whether the data after the header has exactly numel elements: FORMAT
 * "<name>: truncated data: ..." or "... unexpected bytes after the data"
 * otherwise. */
sq_status sq_npy_check_data(const sq_npy_info *info, const char *name, sq_error *err);

/* Statistics of the .npy file's values (as sq_tensor_summary computes them
 * on the loaded tensor, in file order) read in chunks of 16384 elements:
 * memory stays small whatever the file's size; the file is read twice.
 * *info gets the header. Errors: those of sq_npy_probe and
 * sq_npy_check_data, IO. */
sq_status sq_npy_summary(const char *path, sq_npy_info *info, sq_summary *out, sq_error *err);

/* Write t to path with element type dt: F32, F64, F16, I8, U8, I16 or I32
 * (integer types need integral in-range values: SQ_ERR_ARG otherwise).
 * BF16 has no numpy dtype: SQ_ERR_UNSUPPORTED. IO errors name the path and
 * errno text and leave an existing file intact. */
sq_status sq_npy_write(const char *path, const sq_tensor *t, sq_dtype dt, sq_error *err);

/* Write signed codes (numel of shape values) as an int8 array ('|i1').
 * Errors as sq_npy_write. */
sq_status sq_npy_write_i8(const char *path, const size_t *shape, int ndim, const int8_t *codes,
                          sq_error *err);

#endif
