/* cmd_quantize_gguf.h - `squint quantize IN OUT.gguf --format TYPE`. */
#ifndef SQ_CMD_QUANTIZE_GGUF_H
#define SQ_CMD_QUANTIZE_GGUF_H

#include "cmd_report.h"

/* Whether path names a GGUF output (ends in ".gguf"). */
int sq_cmd_is_gguf(const char *path);

/* Run the GGUF export for parsed arguments a (pos[0] input, pos[1] output,
 * a->format the type). Prints the summary; returns the exit status (0, 1 on
 * failure, 2 on a usage error). */
int sq_cmd_quantize_gguf(const sq_cmd_args *a);

#endif
