/*
 * error.h - status codes and the error record every fallible engine call fills.
 *
 * Convention (whole engine): a fallible function returns an sq_status; on
 * failure it also writes a human-readable message into the sq_error the
 * caller passes (which may be NULL when the caller does not want the text).
 * The caller owns the sq_error; nothing in it needs freeing.
 *
 * Messages are for people, so every number in them that counts a position
 * is 1-based, as users (and Lua) count: axes ("axis 1" is the first
 * dimension), dimensions, channels, groups, tensors of a file, metadata
 * pairs and element indices (flat "element 1" is the first value; a
 * multi-index "[1, 2]" is row 1, column 2). The C API itself stays 0-based:
 * a function given index i names it as i + 1 in its message.
 *
 *     sq_error err;
 *     if (sq_tensor_new(shape, 2, SQ_DTYPE_F32, &t, &err) != SQ_OK)
 *         fprintf(stderr, "squint: %s\n", err.msg);
 */
#ifndef SQ_ERROR_H
#define SQ_ERROR_H

#include <stddef.h>

typedef enum sq_status {
    SQ_OK = 0,
    SQ_ERR_ARG,          /* an argument is out of its documented domain */
    SQ_ERR_NOMEM,        /* an allocation failed */
    SQ_ERR_OVERFLOW,     /* a size computation would overflow size_t */
    SQ_ERR_NONFINITE,    /* NaN or +-Inf where finite numbers are required */
    SQ_ERR_IO,           /* the operating system refused a read or write */
    SQ_ERR_FORMAT,       /* a file is malformed */
    SQ_ERR_UNSUPPORTED,  /* well-formed but not handled (dtype, version ...) */
    SQ_ERR_INTERRUPTED,  /* a long operation was cancelled by its caller */
    SQ_ERR_NOTFOUND      /* a named item (tensor, key) does not exist */
} sq_status;

#define SQ_ERROR_MSG_MAX 512

typedef struct sq_error {
    sq_status code;
    char msg[SQ_ERROR_MSG_MAX];
} sq_error;

/* Short constant name of a status ("invalid argument", ...). Never NULL. */
const char *sq_status_str(sq_status code);

/* Record code and a printf-style message in err (if err is not NULL) and
 * return code, so that callers can write `return sq_fail(err, ..., ...)`.
 * Messages longer than SQ_ERROR_MSG_MAX - 1 are truncated. */
sq_status sq_fail(sq_error *err, sq_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prefix the message already in err with "prefix: " (e.g. a file name).
 * Returns err->code (SQ_OK when err is NULL). */
sq_status sq_error_prefix(sq_error *err, const char *prefix);

/* Reset err to SQ_OK with an empty message. err may be NULL. */
void sq_error_clear(sq_error *err);

#endif
