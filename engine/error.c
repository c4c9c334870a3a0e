/* error.c - status names and the error record. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *sq_status_str(sq_status code)
{
    switch (code) {
    case SQ_OK: return "ok";
    case SQ_ERR_ARG: return "invalid argument";
    case SQ_ERR_NOMEM: return "out of memory";
    case SQ_ERR_OVERFLOW: return "size overflow";
    case SQ_ERR_NONFINITE: return "non-finite value";
    case SQ_ERR_IO: return "I/O error";
    case SQ_ERR_FORMAT: return "malformed file";
    case SQ_ERR_UNSUPPORTED: return "unsupported";
    case SQ_ERR_INTERRUPTED: return "interrupted";
    case SQ_ERR_NOTFOUND: return "not found";
    }
    return "unknown status";
}

sq_status sq_fail(sq_error *err, sq_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

sq_status sq_error_prefix(sq_error *err, const char *prefix)
{
    char tmp[2 * SQ_ERROR_MSG_MAX + 4];
    if (!err)
        return SQ_OK;
    snprintf(tmp, sizeof tmp, "%s: %s", prefix, err->msg);
    memcpy(err->msg, tmp, sizeof err->msg - 1);
    err->msg[sizeof err->msg - 1] = '\0';
    return err->code;
}

void sq_error_clear(sq_error *err)
{
    if (err) {
        err->code = SQ_OK;
        err->msg[0] = '\0';
    }
}
