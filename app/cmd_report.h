/* cmd_report.h - `squint report` and the command-line parsing it shares with
 * `squint quantize` (configuration options, filters, progress, Ctrl-C). */
#ifndef SQ_CMD_REPORT_H
#define SQ_CMD_REPORT_H

#include <signal.h>
#include <stddef.h>

#include "quant.h"
#include "report.h"

#define SQ_CMD_MAX_CONFIGS 16

/* Parsed arguments of report/quantize. Strings point into argv. */
typedef struct sq_cmd_args {
    const char *pos[2];         /* positional arguments */
    int n_pos;
    sq_qconfig cfg[SQ_CMD_MAX_CONFIGS];
    size_t n_cfg;               /* 0 when no configuration option was given */
    const char *include, *exclude, *csv, *json;
    const char *plot;           /* --plot OUT.png|OUT.svg (report only) */
    sq_scale_store scale_store; /* --scale-dtype (applies to every configuration; default f64) */
    int scale_store_set;        /* --scale-dtype was given */
    const char *format;         /* the last --format NAME (also the GGUF type of quantize to .gguf) */
    int format_unknown;         /* that NAME is no sq_format (quant.h): only a GGUF type */
    const char *activations;    /* --activations ACTS (report only: output SQNR per weight, cmd_diff.c) */
} sq_cmd_args;

/* Parse argv[1..argc) (argv[0] is the command name): want_pos positional
 * arguments, configuration options (`--bits` or `--format NAME` starts a new
 * configuration once the current one has bits or a format; `--axis` is
 * 1-based; options that do not apply to their configuration, cfgopts.h,
 * are usage errors), --double-quant (nf4), --scale-dtype f16|f32|f64
 * (the precision scales are rounded to, for every configuration), --include/--exclude, and
 * --csv/--json when allow_outputs. Prints a message naming the bad argument
 * on stderr and returns 2 on a usage error, 0 otherwise. With no
 * configuration option, one default configuration (int8 symmetric
 * per-tensor) is set. */
int sq_cmd_parse_args(int argc, char **argv, int want_pos, int allow_outputs, sq_cmd_args *a);

/* After sq_cmd_parse_args: when the last --format named no sq_format, print
 * "squint CMD: unknown --format 'X' (known: int, q4_0, ...)" and return 2;
 * else 0. (Only `quantize OUT.gguf` takes other names: GGUF types.) */
int sq_cmd_check_format(const char *cmd, const sq_cmd_args *a);

/* Progress display state: stderr line with done/total, bytes and ETA, drawn
 * only when stderr is a terminal. */
typedef struct sq_cmd_progress {
    int enabled;
    double t0, last;
    int drawn;
} sq_cmd_progress;

/* Start a progress display (enabled when isatty(2)). */
void sq_cmd_progress_init(sq_cmd_progress *p);
/* Start a command's run: install the SIGINT handler, initialise prog and
 * return report options with a's include/exclude, prog as the progress
 * display and the interrupt flag as the cancel flag. */
sq_report_opts sq_cmd_run_opts(const sq_cmd_args *a, sq_cmd_progress *prog);
/* A sq_report_progress_fn; user is a sq_cmd_progress. */
void sq_cmd_progress_cb(const sq_report_progress *pr, void *user);
/* Erase the progress line, if one was drawn. */
void sq_cmd_progress_end(sq_cmd_progress *p);

/* The flag the SIGINT handler sets while sq_cmd_sigint_install is in effect. */
extern volatile sig_atomic_t sq_cmd_interrupted;
/* Install / remove (restore the previous) SIGINT handler. */
void sq_cmd_sigint_install(void);
void sq_cmd_sigint_restore(void);

/* Check a's paths before any work, printing "squint CMD: ..." on stderr:
 * pos[0] must be a regular file (a FIFO would hang the reader); the output
 * pos[1] (when a has two positional arguments: a .safetensors file), --csv
 * (.csv or "-") and --json (.json or "-") must not be the input, and their
 * directories must exist and be writable (sq_output_check). Returns 0, or the
 * exit status: 2 for a misnamed output or an output that is the input, 1 for
 * an unusable input or directory. */
int sq_cmd_check_paths(const char *cmd, const sq_cmd_args *a);

/* Run `squint report FILE [config options]... [--include RE] [--exclude RE]
 * [--csv OUT] [--json OUT]`; argv[0] is "report". Prints the table on stdout,
 * progress on stderr (terminal only), errors on stderr. Returns the exit
 * status: 0 ok, 1 unreadable file or failed write, 2 usage, 130 interrupted
 * (the rows done so far are printed and written). */
int sq_cmd_report(int argc, char **argv);

#endif
