/* qformat_int.h - internal: the non-INT format paths of quant.c and stats.c
 * (implemented in qformat.c). */
#ifndef SQ_QFORMAT_INT_H
#define SQ_QFORMAT_INT_H

#include "quant.h"

/* The format rules of sq_qconfig_check (quant.h, "Formats"), shape aside. */
sq_status sq_format_check(const sq_qconfig *cfg, sq_error *err);

/* sq_qtensor_levels for a non-INT format. */
size_t sq_format_levels(const sq_qtensor *q, size_t i, float *out, size_t max);

#endif
