/* cfgopts.h - which configuration options apply to a configuration, shared
 * by the Lua configuration tables (app/lsquint.c) and the command line
 * (app/cmd_report.c), so both refuse the same things with the same words.
 *
 *     unsigned set = 0;                       // one bit per option the user gave
 *     set |= SQ_OPT_BIT(SQ_OPT_GROUP_SIZE);
 *     char msg[200];
 *     if (sq_opts_check(&cfg, set, SQ_OPTS_LUA, msg, sizeof msg) >= 0) error(msg);
 *
 * The rules (quant.h, "Formats"; issue 14):
 *   - group_size applies to granularity group only, axis to granularity channel only;
 *   - a non-INT format fixes bits and mode; the fixed-block formats (ggml's,
 *     mxfp4/mxfp8, nvfp4) also granularity and group_size; nf4 fixes
 *     granularity group (group_size free); every format fixes rounding, zero_in_range
 *     and calibration (minmax), and the scale precision (scale_dtype);
 *     an option the format fixes is an error when the value given differs from it;
 *   - double_quant applies to nf4 only.
 * Axes in messages are 1-based. */
#ifndef SQ_CFGOPTS_H
#define SQ_CFGOPTS_H

#include <stddef.h>

#include "quant.h"

typedef enum sq_opt {
    SQ_OPT_BITS = 0, SQ_OPT_MODE, SQ_OPT_GRANULARITY, SQ_OPT_AXIS, SQ_OPT_GROUP_SIZE, SQ_OPT_ROUNDING,
    SQ_OPT_ZERO_IN_RANGE, SQ_OPT_CALIBRATION, SQ_OPT_DOUBLE_QUANT, SQ_OPT_SCALE_DTYPE, SQ_OPT_COUNT
} sq_opt;

#define SQ_OPT_BIT(o) (1u << (o))

/* How messages spell options: Lua keys ("group_size = 16") or command-line
 * options ("--group-size 16"). */
typedef enum sq_opts_style { SQ_OPTS_LUA = 0, SQ_OPTS_CLI } sq_opts_style;

/* The name of option o in style s ("group_size" / "--group-size"). */
const char *sq_opt_name(sq_opt o, sq_opts_style s);

/* Check the options whose bits are set in `set` against cfg (its format and
 * granularity). Returns -1 when they all apply, else the first offending
 * option, with a message naming it in msg (always NUL-terminated). Does not
 * check values on their own (sq_qconfig_check does). */
int sq_opts_check(const sq_qconfig *cfg, unsigned set, sq_opts_style s, char *msg, size_t n);

/* The known format names, comma separated ("int, q4_0, ..."), into buf. */
char *sq_opts_format_list(char *buf, size_t n);

#endif
