/* cmd_report.c - `squint report FILE [config]... [--include RE] [--exclude RE]
 * [--csv OUT] [--json OUT]`: a per-tensor table of what each configuration
 * does to a checkpoint, with a total row per configuration. */
#include "cmd_report.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cfgopts.h"
#include "checkpoint.h"
#include "cmd_diff.h"
#include "plot.h"
#include "textesc.h"
#include "fileio.h"

volatile sig_atomic_t sq_cmd_interrupted = 0;
static struct sigaction old_sigint;

/* SIGINT: only set the flag; the run stops between tensors. */
static void on_sigint(int sig)
{
    (void)sig;
    sq_cmd_interrupted = 1;
}

void sq_cmd_sigint_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sq_cmd_interrupted = 0;
    sigaction(SIGINT, &sa, &old_sigint);
}

void sq_cmd_sigint_restore(void)
{
    sigaction(SIGINT, &old_sigint, NULL);
}

/* ---- argument parsing ------------------------------------------------------- */

/* Strict integer in [lo, hi]; false otherwise. */
/* --calibration's value: minmax, mse, kl, percentile:P or clip:C into c;
 * false when malformed or out of range. */
static bool parse_calibration(const char *v, sq_qconfig *c)
{
    const char *colon = strchr(v, ':');
    char name[16];
    size_t len = colon ? (size_t)(colon - v) : strlen(v);
    if (len >= sizeof name)
        return false;
    memcpy(name, v, len);
    name[len] = '\0';
    sq_calibration k;
    if (!sq_calibration_parse(name, &k) || k == SQ_CALIB_RANGE)
        return false;
    if ((k == SQ_CALIB_PERCENTILE || k == SQ_CALIB_CLIP) != (colon != NULL))
        return false;
    if (colon) {
        char *end;
        errno = 0;
        double x = strtod(colon + 1, &end);
        double hi = k == SQ_CALIB_CLIP ? 1.0 : 100.0;
        if (end == colon + 1 || *end || errno || !(x > 0.0 && x <= hi))
            return false;
        if (k == SQ_CALIB_CLIP)
            c->clip = x;
        else
            c->percentile = x;
    }
    c->calibration = k;
    return true;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

/* Usage error: message naming the argument, status 2. */
static int usage_err(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "squint %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see `squint %s --help`)\n", cmd);
    return 2;
}

/* The configuration options modify; starts the first one when needed. */
static sq_qconfig *cur_cfg(sq_cmd_args *a, int *has_bits)
{
    if (a->n_cfg == 0) {
        a->cfg[0] = sq_qconfig_default();
        a->n_cfg = 1;
        *has_bits = 0;
    }
    return &a->cfg[a->n_cfg - 1];
}

/* Copy option o's field(s) from src to dst. */
static void copy_opt(sq_qconfig *dst, const sq_qconfig *src, int o)
{
    switch (o) {
    case SQ_OPT_BITS: dst->bits = src->bits; break;
    case SQ_OPT_MODE: dst->mode = src->mode; break;
    case SQ_OPT_GRANULARITY: dst->granularity = src->granularity; break;
    case SQ_OPT_AXIS: dst->axis = src->axis; break;
    case SQ_OPT_GROUP_SIZE: dst->group_size = src->group_size; break;
    case SQ_OPT_ROUNDING: dst->rounding = src->rounding; break;
    case SQ_OPT_ZERO_IN_RANGE: dst->zero_in_range = src->zero_in_range; break;
    case SQ_OPT_CALIBRATION:
        dst->calibration = src->calibration;
        dst->percentile = src->percentile;
        dst->clip = src->clip;
        break;
    case SQ_OPT_DOUBLE_QUANT: dst->double_quant = src->double_quant; break;
    default: break;
    }
}

/* --format NAME: a known format starts a new configuration (or turns the
 * current one, without bits or format yet, into one, keeping the options
 * given so far: `--group-size 128 --format nf4`); an unknown name is only
 * remembered (a GGUF type for `quantize OUT.gguf`). Returns 0, or 2 on too
 * many configurations. */
static int start_format(const char *cmd, sq_cmd_args *a, const char *v, int *has_bits, unsigned *set)
{
    sq_format f;
    a->format = v;
    a->format_unknown = !sq_format_parse(v, &f);
    if (a->format_unknown)
        return 0;
    if (a->n_cfg > 0 && *has_bits) {
        if (a->n_cfg >= SQ_CMD_MAX_CONFIGS)
            return usage_err(cmd, "too many configurations (at most 16) at --format %s", v);
        a->cfg[a->n_cfg++] = sq_qconfig_default();
        set[a->n_cfg - 1] = 0;
    }
    sq_qconfig *c = cur_cfg(a, has_bits), old = *c;
    *c = sq_qconfig_for_format(f);
    for (int o = 0; o < SQ_OPT_COUNT; o++)
        if (set[a->n_cfg - 1] & SQ_OPT_BIT(o))
            copy_opt(c, &old, o);
    *has_bits = 1;
    return 0;
}

/* Refuse options that do not apply (cfgopts.h) in every configuration, and
 * --scale-dtype when no configuration is an INT one. Returns 0 or 2. */
static int check_applicable(const char *cmd, const sq_cmd_args *a, const unsigned *set)
{
    char msg[300];
    bool any_int = false;
    for (size_t c = 0; c < a->n_cfg; c++) {
        any_int = any_int || a->cfg[c].format == SQ_FORMAT_INT;
        if (sq_opts_check(&a->cfg[c], set[c], SQ_OPTS_CLI, msg, sizeof msg) >= 0)
            return usage_err(cmd, "%s", msg);
    }
    if (a->scale_store_set && !any_int) {
        sq_qconfig c = a->cfg[0];
        c.scale_store = a->scale_store;
        if (sq_opts_check(&c, SQ_OPT_BIT(SQ_OPT_SCALE_DTYPE), SQ_OPTS_CLI, msg, sizeof msg) >= 0)
            return usage_err(cmd, "%s", msg);
    }
    return 0;
}

int sq_cmd_check_format(const char *cmd, const sq_cmd_args *a)
{
    char names[400];
    if (!a->format_unknown)
        return 0;
    fprintf(stderr, "squint %s: unknown --format '%s' (known: %s)\n(see `squint %s --help`)\n", cmd, a->format,
            sq_opts_format_list(names, sizeof names), cmd);
    return 2;
}

int sq_cmd_parse_args(int argc, char **argv, int want_pos, int allow_outputs, sq_cmd_args *a)
{
    const char *cmd = argv[0];
    memset(a, 0, sizeof *a);
    int has_bits = 0, rc;
    unsigned set[SQ_CMD_MAX_CONFIGS] = {0}; /* the options given, per configuration (cfgopts.h) */
#define MARK(o) (set[a->n_cfg - 1] |= SQ_OPT_BIT(o))
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || strcmp(arg, "--") == 0) {
            if (a->n_pos >= want_pos)
                return usage_err(cmd, "unexpected argument '%s'", arg);
            a->pos[a->n_pos++] = arg;
            continue;
        }
        if (strcmp(arg, "--zero-in-range") == 0) {
            cur_cfg(a, &has_bits)->zero_in_range = true;
            MARK(SQ_OPT_ZERO_IN_RANGE);
            continue;
        }
        if (strcmp(arg, "--double-quant") == 0) {
            cur_cfg(a, &has_bits)->double_quant = true;
            MARK(SQ_OPT_DOUBLE_QUANT);
            continue;
        }
        if (strcmp(arg, "--format") == 0 && i + 1 >= argc)
            return usage_err(cmd, "option '%s' needs a value", arg);
        if (strcmp(arg, "--format") == 0) {
            if ((rc = start_format(cmd, a, argv[++i], &has_bits, set)) != 0)
                return rc;
            continue;
        }
        if (strcmp(arg, "--activations") == 0 && allow_outputs && i + 1 < argc) {
            a->activations = argv[++i];
            continue;
        }
        static const char *const valued[] = {"--bits", "--mode", "--granularity", "--group-size", "--axis",
                                             "--rounding", "--include", "--exclude", "--csv", "--json",
                                             "--scale-dtype", "--calibration", "--plot"};
        int k = -1;
        for (int j = 0; j < (int)(sizeof valued / sizeof valued[0]); j++)
            if (strcmp(arg, valued[j]) == 0)
                k = j;
        if (k < 0 || ((k == 8 || k == 9 || k == 12) && !allow_outputs))
            return usage_err(cmd, "unknown option '%s'", arg);
        if (i + 1 >= argc)
            return usage_err(cmd, "option '%s' needs a value", arg);
        const char *v = argv[++i];
        long n;
        sq_qconfig *c;
        switch (k) {
        case 0:
            if (!parse_int(v, SQ_BITS_MIN, SQ_BITS_MAX, &n))
                return usage_err(cmd, "--bits wants an integer from 2 to 8, not '%s'", v);
            if (a->n_cfg > 0 && has_bits) {
                if (a->n_cfg >= SQ_CMD_MAX_CONFIGS)
                    return usage_err(cmd, "too many configurations (at most 16) at --bits %s", v);
                a->cfg[a->n_cfg++] = sq_qconfig_default();
                set[a->n_cfg - 1] = 0;
            }
            c = cur_cfg(a, &has_bits);
            c->bits = (int)n;
            has_bits = 1;
            MARK(SQ_OPT_BITS);
            break;
        case 1:
            if (!sq_mode_parse(v, &cur_cfg(a, &has_bits)->mode))
                return usage_err(cmd, "--mode wants symmetric or asymmetric, not '%s'", v);
            MARK(SQ_OPT_MODE);
            break;
        case 2:
            if (!sq_granularity_parse(v, &cur_cfg(a, &has_bits)->granularity))
                return usage_err(cmd, "--granularity wants tensor, channel or group, not '%s'", v);
            MARK(SQ_OPT_GRANULARITY);
            break;
        case 3:
            if (!parse_int(v, 1, LONG_MAX, &n))
                return usage_err(cmd, "--group-size wants a positive integer, not '%s'", v);
            cur_cfg(a, &has_bits)->group_size = (size_t)n;
            MARK(SQ_OPT_GROUP_SIZE);
            break;
        case 4:
            if (!parse_int(v, 1, SQ_MAX_DIMS, &n))
                return usage_err(cmd, "--axis wants a 1-based axis from 1 to 8, not '%s'", v);
            cur_cfg(a, &has_bits)->axis = (int)n - 1;
            MARK(SQ_OPT_AXIS);
            break;
        case 5:
            if (!sq_rounding_parse(v, &cur_cfg(a, &has_bits)->rounding))
                return usage_err(cmd, "--rounding wants away or even, not '%s'", v);
            MARK(SQ_OPT_ROUNDING);
            break;
        case 6: a->include = v; break;
        case 7: a->exclude = v; break;
        case 8: a->csv = v; break;
        case 9: a->json = v; break;
        case 12: a->plot = v; break;
        case 11:
            if (!parse_calibration(v, cur_cfg(a, &has_bits)))
                return usage_err(cmd, "--calibration wants minmax, mse, kl, percentile:P (0 < P <= 100) or "
                                      "clip:C (0 < C <= 1), not '%s'", v);
            MARK(SQ_OPT_CALIBRATION);
            break;
        default:
            if (!sq_scale_store_parse(v, &a->scale_store))
                return usage_err(cmd, "--scale-dtype wants f16, f32 or f64, not '%s'", v);
            a->scale_store_set = 1;
            break;
        }
    }
    if (a->n_pos != want_pos)
        return usage_err(cmd, "%s", want_pos == 1 ? "missing FILE argument" : "missing FILE or OUT argument");
#undef MARK
    if (a->n_cfg == 0) {
        a->cfg[0] = sq_qconfig_default();
        a->n_cfg = 1;
    }
    if ((rc = check_applicable(cmd, a, set)) != 0)
        return rc;
    for (size_t c = 0; c < a->n_cfg; c++)
        a->cfg[c].scale_store = a->scale_store;
    return 0;
}

/* ---- progress -------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

sq_report_opts sq_cmd_run_opts(const sq_cmd_args *a, sq_cmd_progress *prog)
{
    sq_report_opts o = sq_report_opts_default();
    sq_cmd_progress_init(prog);
    o.include = a->include;
    o.exclude = a->exclude;
    o.progress = sq_cmd_progress_cb;
    o.progress_user = prog;
    o.cancel = &sq_cmd_interrupted;
    sq_cmd_sigint_install();
    return o;
}

void sq_cmd_progress_init(sq_cmd_progress *p)
{
    p->enabled = isatty(STDERR_FILENO);
    p->t0 = p->last = now_s();
    p->drawn = 0;
}

/* Bytes as "12.3 MB". */
static char *human(double b, char *buf, size_t n)
{
    static const char *const u[] = {"B", "kB", "MB", "GB", "TB"};
    int i = 0;
    while (b >= 1000.0 && i < 4) {
        b /= 1000.0;
        i++;
    }
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
    return buf;
}

void sq_cmd_progress_cb(const sq_report_progress *pr, void *user)
{
    sq_cmd_progress *p = user;
    double t = now_s();
    if (!p->enabled || (t - p->last < 0.1 && pr->tensors_done < pr->tensors_total))
        return;
    p->last = t;
    char b1[32], b2[32], eta[32] = "--:--";
    if (pr->bytes_done > 0 && pr->bytes_total >= pr->bytes_done) {
        double rem = (t - p->t0) * (double)(pr->bytes_total - pr->bytes_done) / (double)pr->bytes_done;
        snprintf(eta, sizeof eta, "%d:%02d", (int)(rem / 60), (int)fmod(rem, 60.0));
    }
    fprintf(stderr, "\r%zu/%zu tensors  %s / %s  ETA %s\033[K", pr->tensors_done, pr->tensors_total,
            human((double)pr->bytes_done, b1, sizeof b1), human((double)pr->bytes_total, b2, sizeof b2), eta);
    fflush(stderr);
    p->drawn = 1;
}

void sq_cmd_progress_end(sq_cmd_progress *p)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->drawn = 0;
}

/* ---- the table ---------------------------------------------------------------------- */

/* Where the human-readable table goes: standard output, or standard error
 * when --csv - or --json - makes standard output the data's. */
static FILE *tbl_out;

/* A figure in `w` columns: "-" when NaN, "inf" when infinite. */
static void put_num(const char *fmt, double v, int w)
{
    char b[40];
    if (isnan(v))
        snprintf(b, sizeof b, "-");
    else if (isinf(v))
        snprintf(b, sizeof b, v > 0 ? "inf" : "-inf");
    else
        snprintf(b, sizeof b, fmt, v);
    fprintf(tbl_out, " %*s", w, b);
}

#define GROUP_W 60 /* width of one configuration's column group */

/* One configuration's columns of a row. */
static void put_group(double sqnr, double rmse, double maxe, double p50, double p95, size_t after, double bpw)
{
    char b[32];
    put_num("%.2f", sqnr, 7);
    put_num("%.2e", rmse, 8);
    put_num("%.2e", maxe, 8);
    put_num("%.2e", p50, 8);
    put_num("%.2e", p95, 8);
    fprintf(tbl_out, " %9s", human((double)after, b, sizeof b));
    put_num("%.2f", bpw, 5);
}

/* Print the aligned table of rep on stdout. */
static void print_table(const sq_report *rep)
{
    int nw = 24, sw = 5;
    char shp[200], b1[32], b2[32], name[512];
    for (size_t r = 0; r < rep->n_rows; r++) {
        int l = (int)sq_escape_text(name, sizeof name, rep->rows[r].name);
        nw = l > nw ? l : nw;
        l = (int)strlen(sq_shape_format(rep->rows[r].shape, rep->rows[r].ndim, shp, sizeof shp));
        sw = l > sw ? l : sw;
    }
    nw = nw > 60 ? 60 : nw; /* at least "TOTAL (N tensors)" wide */
    int lead = nw + 1 + sw + 1 + 6 + 1 + 5 + 1 + 9 + 1 + 9;
    fprintf(tbl_out, "%*s", lead, "");
    for (size_t c = 0; c < rep->n_configs; c++) {
        char d[96];
        sq_qconfig_describe_from(&rep->configs[c], 1, d, sizeof d);
        fprintf(tbl_out, " | %-*.*s", GROUP_W - 3, GROUP_W - 3, d);
    }
    fprintf(tbl_out, "\n%-*s %-*s %-6s %-5s %9s %9s", nw, "name", sw, "shape", "type", "kind", "fp32", "file");
    for (size_t c = 0; c < rep->n_configs; c++)
        fprintf(tbl_out, " %7s %8s %8s %8s %8s %9s %5s", "SQNR dB", "RMSE", "max|e|", "p50|e|", "p95|e|", "after", "bpw");
    fputc('\n', tbl_out);
    for (size_t r = 0; r < rep->n_rows; r++) {
        const sq_report_row *row = &rep->rows[r];
        sq_escape_text(name, sizeof name, row->name); /* control characters never reach the terminal */
        fprintf(tbl_out, "%-*s %-*s %-6s %-5s %9s %9s", nw, name, sw, sq_shape_format(row->shape, row->ndim, shp, sizeof shp),
               row->type_name, row->quantized ? "quant" : "kept", human((double)row->fp32_bytes, b1, sizeof b1),
               human((double)row->file_bytes, b2, sizeof b2));
        for (size_t c = 0; c < rep->n_configs; c++) {
            const sq_report_cell *x = &row->cells[c];
            put_group(x->sqnr_db, x->rmse, x->max_abs_err, x->median_abs_err, x->p95_abs_err, x->after_bytes,
                      x->bits_per_weight);
        }
        fputc('\n', tbl_out);
    }
    if (rep->n_configs == 0)
        return;
    const sq_report_total *t0 = &rep->totals[0];
    char cnt[64];
    snprintf(cnt, sizeof cnt, "TOTAL (%zu tensors)", t0->num_tensors);
    fprintf(tbl_out, "%-*s %-*s %-6s %-5s %9s %9s", nw, cnt, sw, "", "", "", human((double)t0->fp32_bytes, b1, sizeof b1),
           human((double)t0->file_bytes, b2, sizeof b2));
    for (size_t c = 0; c < rep->n_configs; c++) {
        const sq_report_total *t = &rep->totals[c];
        put_group(t->sqnr_db, t->rmse, t->max_abs_err, NAN, NAN, t->quantized_bytes, t->bits_per_weight);
    }
    fputc('\n', tbl_out);
    for (size_t c = 0; c < rep->n_configs; c++) {
        const sq_report_total *t = &rep->totals[c];
        char d[96];
        sq_qconfig_describe_from(&rep->configs[c], 1, d, sizeof d);
        fprintf(tbl_out, "%s: %zu quantized, %zu kept fp32, %zu bytes fp32 -> %zu bytes (as squint quantize writes them, "
               "%s scales), compression %.3fx, %.3f bits/weight (GGUF-style f16 %.3f)",
               d, t->num_quantized, t->num_fp32, t->fp32_bytes, t->quantized_bytes,
               rep->configs[c].format != SQ_FORMAT_INT ? "the format's" : sq_scale_store_name(rep->configs[c].scale_store),
               t->compression_ratio,
               t->bits_per_weight, t->bits_per_weight_f16);
        if (t->num_failed)
            fprintf(tbl_out, ", %zu failed", t->num_failed);
        fputc('\n', tbl_out);
    }
}

/* Notes of cells that were not measured, on stderr (each once per tensor and text). */
static void print_notes(const sq_report *rep)
{
    for (size_t r = 0; r < rep->n_rows; r++)
        for (size_t c = 0; c < rep->n_configs; c++) {
            const char *n = rep->rows[r].cells[c].note;
            char name[512];
            if (n && (c == 0 || !rep->rows[r].cells[c - 1].note || strcmp(n, rep->rows[r].cells[c - 1].note)))
                fprintf(stderr, "squint report: %s (config %zu): %s\n",
                        (sq_escape_text(name, sizeof name, rep->rows[r].name), name), c + 1, n);
        }
}

/* The number of tensors with a FAILED cell (the most over the configurations). */
static size_t report_failed(const sq_report *rep)
{
    size_t n = 0;
    for (size_t c = 0; c < rep->n_configs; c++)
        n = rep->totals[c].num_failed > n ? rep->totals[c].num_failed : n;
    return n;
}

/* Print "squint CMD: MSG" for a failed check; its exit status (2 for ARG, else 1). */
static int check_fail(const char *cmd, sq_status st, const sq_error *err)
{
    fprintf(stderr, "squint %s: %s\n", cmd, err->msg);
    return st == SQ_ERR_ARG ? 2 : 1;
}

int sq_cmd_check_paths(const char *cmd, const sq_cmd_args *a)
{
    sq_error err;
    sq_status st = sq_input_check(a->pos[0], &err);
    if (st != SQ_OK)
        return check_fail(cmd, st, &err);
    const char *in[1] = {a->pos[0]};
    const char *outs[3] = {a->n_pos > 1 ? a->pos[1] : NULL, a->csv, a->json};
    const char *exts[3] = {".safetensors", ".csv", ".json"};
    for (int i = 0; i < 3; i++) {
        if (outs[i] && (st = sq_output_check(outs[i], in, 1, exts[i], i > 0, &err)) != SQ_OK)
            return check_fail(cmd, st, &err);
    }
    if (a->plot) {
        size_t n = strlen(a->plot);
        if (n < 5 || (strcasecmp(a->plot + n - 4, ".png") != 0 && strcasecmp(a->plot + n - 4, ".svg") != 0)) {
            fprintf(stderr, "squint %s: --plot %s: a chart is written as .png or .svg; name the file so\n", cmd,
                    a->plot);
            return 2;
        }
        if ((st = sq_output_check(a->plot, in, 1, NULL, false, &err)) != SQ_OK)
            return check_fail(cmd, st, &err);
    }
    struct stat sb; /* one regular file cannot hold both (standard output, a device or a FIFO can) */
    if (a->csv && a->json && strcmp(a->csv, "-") != 0 && strcmp(a->csv, a->json) == 0 &&
        !(stat(a->csv, &sb) == 0 && (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode)))) {
        fprintf(stderr, "squint %s: --csv and --json both name %s\n", cmd, a->csv);
        return 2;
    }
    return 0;
}

/* --plot: SQNR against bits per weight (as exported) of every measured
 * (tensor, configuration), a series per configuration. */
static sq_status write_plot(const sq_report *rep, const char *path, sq_error *err)
{
    sq_plot_point *pts = calloc(rep->n_rows * rep->n_configs + 1, sizeof *pts);
    char(*names)[96] = calloc(rep->n_configs + 1, sizeof *names);
    const char *series[SQ_CMD_MAX_CONFIGS];
    sq_status st = SQ_OK;
    if (!pts || !names)
        st = sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    size_t n = 0;
    for (size_t c = 0; st == SQ_OK && c < rep->n_configs && c < SQ_CMD_MAX_CONFIGS; c++) {
        series[c] = sq_qconfig_describe_from(&rep->configs[c], 1, names[c], sizeof names[c]);
        for (size_t r = 0; r < rep->n_rows; r++) {
            const sq_report_cell *x = &rep->rows[r].cells[c];
            if (x->status == SQ_REPORT_QUANTIZED && !isnan(x->sqnr_db))
                pts[n++] = (sq_plot_point){x->bits_per_weight, x->sqnr_db, (int)c, NULL};
        }
    }
    sq_scene *s = NULL;
    if (st == SQ_OK && n == 0)
        st = sq_fail(err, SQ_ERR_ARG, "%s: no quantized tensor to plot", path);
    if (st == SQ_OK) {
        sq_plot_scatter sc = sq_plot_scatter_default();
        sc.title = "SQNR against bits per weight, per tensor";
        sc.subtitle = rep->source;
        sc.xlabel = "bits per weight (as exported)";
        sc.ylabel = "SQNR (dB)";
        sc.points = pts;
        sc.n_points = n;
        sc.series_names = series;
        sc.n_series = (int)(rep->n_configs < SQ_CMD_MAX_CONFIGS ? rep->n_configs : SQ_CMD_MAX_CONFIGS);
        if ((st = sq_plot_scatter_chart(&sc, &s, err)) == SQ_OK)
            st = sq_scene_write(s, path, err);
    }
    sq_scene_free(s);
    free(pts);
    free(names);
    return st;
}

/* Take `--shard K/N` out of argv (report's own option, before the shared
 * parser sees the rest): *k = K, *n = N, or 0, 0 when absent. Returns 0,
 * or 2 after a usage message. */
static int take_shard(int *argc, char **argv, size_t *k, size_t *n)
{
    *k = *n = 0;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--shard") != 0)
            continue;
        const char *v = i + 1 < *argc ? argv[i + 1] : NULL;
        long kk, nn;
        char ks[24], ns[24];
        const char *slash = v ? strchr(v, '/') : NULL;
        if (!v)
            return usage_err("report", "option '%s' needs a value", "--shard");
        if (!slash || (size_t)(slash - v) >= sizeof ks || strlen(slash + 1) >= sizeof ns)
            return usage_err("report", "--shard wants K/N (1 <= K <= N), not '%s'", v);
        memcpy(ks, v, (size_t)(slash - v));
        ks[slash - v] = 0;
        snprintf(ns, sizeof ns, "%s", slash + 1);
        if (!parse_int(ns, 1, 1000000, &nn) || !parse_int(ks, 1, nn, &kk))
            return usage_err("report", "--shard wants K/N (1 <= K <= N), not '%s'", v);
        *k = (size_t)kk;
        *n = (size_t)nn;
        memmove(argv + i, argv + i + 2, (size_t)(*argc - i - 2) * sizeof *argv);
        *argc -= 2;
        i--;
    }
    return 0;
}

int sq_cmd_report(int argc, char **argv)
{
    sq_cmd_args a;
    size_t shard, shards;
    int rc = take_shard(&argc, argv, &shard, &shards);
    if (rc)
        return rc;
    rc = sq_cmd_parse_args(argc, argv, 1, 1, &a);
    if (rc || (rc = sq_cmd_check_format("report", &a)) != 0)
        return rc;
    sq_error err;
    if ((rc = sq_cmd_check_paths("report", &a)) != 0 ||
        (a.activations && (rc = sq_cmd_activations_check(a.activations)) != 0))
        return rc;
    sq_checkpoint *ck;
    if (sq_ckpt_open(a.pos[0], &ck, &err) != SQ_OK) {
        fprintf(stderr, "squint report: %s\n", err.msg);
        return 1;
    }
    sq_cmd_progress prog;
    sq_report_opts o = sq_cmd_run_opts(&a, &prog);
    o.shard = shard;
    o.shards = shards;
    size_t faults = sq_mapped_faults();
    sq_report *rep;
    sq_status st = sq_report_run(ck, a.pos[0], a.cfg, a.n_cfg, &o, &rep, &err);
    sq_cmd_sigint_restore();
    sq_cmd_progress_end(&prog);
    sq_ckpt_close(ck);
    if (st != SQ_OK) {
        fprintf(stderr, "squint report: %s\n", err.msg);
        return st == SQ_ERR_ARG ? 2 : 1;
    }
    tbl_out = (a.csv && strcmp(a.csv, "-") == 0) || (a.json && strcmp(a.json, "-") == 0) ? stderr : stdout;
    print_table(rep);
    fflush(tbl_out);
    print_notes(rep);
    rc = 0;
    if (a.activations && !rep->cancelled && sq_cmd_report_activations(a.pos[0], a.activations, a.cfg, a.n_cfg, tbl_out))
        rc = 1; /* the output error section, after the table (cmd_diff.c) */
    if (a.csv && sq_report_write_csv(rep, a.csv, &err) != SQ_OK) {
        fprintf(stderr, "squint report: %s\n", err.msg);
        rc = 1;
    }
    if (a.json && sq_report_write_json(rep, a.json, &err) != SQ_OK) {
        fprintf(stderr, "squint report: %s\n", err.msg);
        rc = 1;
    }
    if (a.plot && write_plot(rep, a.plot, &err) != SQ_OK) {
        fprintf(stderr, "squint report: %s\n", err.msg);
        rc = 1;
    }
    size_t failed = report_failed(rep);
    if (failed > 0) {
        fprintf(stderr, "squint report: %zu tensor%s could not be processed (see the notes above)\n", failed,
                failed == 1 ? "" : "s");
        rc = rc ? rc : 1;
    }
    if (sq_mapped_faults() != faults) {
        fprintf(stderr, "squint report: %s: the file shrank while it was being read; the figures are not valid\n",
                a.pos[0]);
        rc = rc ? rc : 1;
    }
    if (rep->cancelled) {
        fprintf(stderr, "squint report: interrupted after %zu of the selected tensors\n", rep->n_rows);
        rc = 130;
    }
    sq_report_free(rep);
    return rc;
}
