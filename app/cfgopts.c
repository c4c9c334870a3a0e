/* cfgopts.c - which configuration options apply (see cfgopts.h). */
#include "cfgopts.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const lua_names[SQ_OPT_COUNT] = {"bits", "mode", "granularity", "axis", "group_size",
                                                    "rounding", "zero_in_range", "calibration", "double_quant",
                                                    "scale_dtype"};
static const char *const cli_names[SQ_OPT_COUNT] = {"--bits", "--mode", "--granularity", "--axis", "--group-size",
                                                    "--rounding", "--zero-in-range", "--calibration",
                                                    "--double-quant", "--scale-dtype"};

const char *sq_opt_name(sq_opt o, sq_opts_style s)
{
    if ((unsigned)o >= SQ_OPT_COUNT)
        return "?";
    return s == SQ_OPTS_CLI ? cli_names[o] : lua_names[o];
}

/* "name = value" (Lua, strings quoted) or "--name value" (CLI; a true flag
 * alone) of option o as cfg has it, into buf. */
static char *opt_text(const sq_qconfig *c, sq_opt o, sq_opts_style s, char *buf, size_t n)
{
    char v[48];
    bool str = true, flag = false;
    switch (o) {
    case SQ_OPT_BITS: snprintf(v, sizeof v, "%d", c->bits); str = false; break;
    case SQ_OPT_MODE: snprintf(v, sizeof v, "%s", sq_mode_name(c->mode)); break;
    case SQ_OPT_GRANULARITY: snprintf(v, sizeof v, "%s", sq_granularity_name(c->granularity)); break;
    case SQ_OPT_AXIS: snprintf(v, sizeof v, "%d", c->axis + 1); str = false; break;
    case SQ_OPT_GROUP_SIZE: snprintf(v, sizeof v, "%zu", c->group_size); str = false; break;
    case SQ_OPT_ROUNDING: snprintf(v, sizeof v, "%s", sq_rounding_name(c->rounding)); break;
    case SQ_OPT_ZERO_IN_RANGE:
        snprintf(v, sizeof v, "%s", c->zero_in_range ? "true" : "false");
        str = false;
        flag = c->zero_in_range;
        break;
    case SQ_OPT_CALIBRATION: snprintf(v, sizeof v, "%s", sq_calibration_name(c->calibration)); break;
    case SQ_OPT_DOUBLE_QUANT:
        snprintf(v, sizeof v, "%s", c->double_quant ? "true" : "false");
        str = false;
        flag = c->double_quant;
        break;
    default: snprintf(v, sizeof v, "%s", sq_scale_store_name(c->scale_store)); break;
    }
    if (s == SQ_OPTS_CLI && flag)
        snprintf(buf, n, "%s", cli_names[o]);
    else if (s == SQ_OPTS_CLI)
        snprintf(buf, n, "%s %s", cli_names[o], v);
    else
        snprintf(buf, n, str ? "%s = '%s'" : "%s = %s", lua_names[o], v);
    return buf;
}

/* Whether option o has the same value in a and b. */
static bool same(const sq_qconfig *a, const sq_qconfig *b, sq_opt o)
{
    switch (o) {
    case SQ_OPT_BITS: return a->bits == b->bits;
    case SQ_OPT_MODE: return a->mode == b->mode;
    case SQ_OPT_GRANULARITY: return a->granularity == b->granularity;
    case SQ_OPT_AXIS: return a->axis == b->axis;
    case SQ_OPT_GROUP_SIZE: return a->group_size == b->group_size;
    case SQ_OPT_ROUNDING: return a->rounding == b->rounding;
    case SQ_OPT_ZERO_IN_RANGE: return a->zero_in_range == b->zero_in_range;
    case SQ_OPT_CALIBRATION: return a->calibration == b->calibration;
    case SQ_OPT_DOUBLE_QUANT: return a->double_quant == b->double_quant;
    default: return a->scale_store == b->scale_store;
    }
}

/* Whether format fi fixes option o (its value must be the format's own). */
static bool fixes(const sq_format_info *fi, sq_opt o)
{
    switch (o) {
    case SQ_OPT_GRANULARITY: return !fi->any_granularity;
    case SQ_OPT_GROUP_SIZE: return fi->fixed_block;
    case SQ_OPT_AXIS: return false; /* applies with granularity channel, checked below */
    case SQ_OPT_DOUBLE_QUANT: return fi->format != SQ_FORMAT_NF4;
    default: return true;
    }
}

int sq_opts_check(const sq_qconfig *cfg, unsigned set, sq_opts_style s, char *msg, size_t n)
{
    char given[96], fixed[96];
    const sq_format_info *fi = sq_format_info_of((int)cfg->format);
    const char *fmt_opt = s == SQ_OPTS_CLI ? "--format" : "format";
    msg[0] = '\0';
    if (fi && cfg->format != SQ_FORMAT_INT) {
        sq_qconfig fx = sq_qconfig_for_format(cfg->format);
        fx.scale_store = SQ_SCALE_F32; /* out-of-row scales are float32 */
        for (int o = 0; o < SQ_OPT_COUNT; o++) {
            if (!(set & SQ_OPT_BIT(o)) || !fixes(fi, (sq_opt)o))
                continue;
            if (o == SQ_OPT_SCALE_DTYPE && fi->kind == SQ_FORMAT_KIND_BLOCK) {
                snprintf(msg, n, "%s does not apply to %s %s (it stores its own scales: %s)",
                         opt_text(cfg, (sq_opt)o, s, given, sizeof given), fmt_opt, fi->name, fi->scale_desc);
                return o;
            }
            if (o == SQ_OPT_DOUBLE_QUANT && cfg->double_quant) {
                snprintf(msg, n, "%s applies to %s nf4 only, not %s", sq_opt_name((sq_opt)o, s), fmt_opt, fi->name);
                return o;
            }
            if (same(cfg, &fx, (sq_opt)o))
                continue;
            if (s == SQ_OPTS_CLI && o == SQ_OPT_ZERO_IN_RANGE) { /* a flag: no value to show */
                snprintf(msg, n, "%s does not apply to --format %s", cli_names[o], fi->name);
                return o;
            }
            snprintf(msg, n, "%s does not apply to %s %s (it fixes %s)", opt_text(cfg, (sq_opt)o, s, given, sizeof given),
                     fmt_opt, fi->name, opt_text(&fx, (sq_opt)o, s, fixed, sizeof fixed));
            return o;
        }
    } else if ((set & SQ_OPT_BIT(SQ_OPT_DOUBLE_QUANT)) && cfg->double_quant) {
        snprintf(msg, n, "%s applies to %s nf4 only, not int", sq_opt_name(SQ_OPT_DOUBLE_QUANT, s), fmt_opt);
        return SQ_OPT_DOUBLE_QUANT;
    }
    static const struct {
        sq_opt opt;
        sq_granularity gran;
    } needs[] = {{SQ_OPT_GROUP_SIZE, SQ_GRAN_GROUP}, {SQ_OPT_AXIS, SQ_GRAN_CHANNEL}};
    for (size_t k = 0; k < sizeof needs / sizeof needs[0]; k++) {
        if (!(set & SQ_OPT_BIT(needs[k].opt)) || cfg->granularity == needs[k].gran)
            continue;
        if (s == SQ_OPTS_CLI)
            snprintf(msg, n, "%s applies to --granularity %s only (this configuration is per-%s)",
                     cli_names[needs[k].opt], sq_granularity_name(needs[k].gran),
                     sq_granularity_name(cfg->granularity));
        else
            snprintf(msg, n, "%s applies to granularity '%s' only (granularity is '%s')", lua_names[needs[k].opt],
                     sq_granularity_name(needs[k].gran), sq_granularity_name(cfg->granularity));
        return needs[k].opt;
    }
    return -1;
}

char *sq_opts_format_list(char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int f = 0; f < SQ_FORMAT_COUNT && used < n; f++) {
        int w = snprintf(buf + used, n - used, "%s%s", f ? ", " : "", sq_format_info_of(f)->name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}
