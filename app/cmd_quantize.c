/* cmd_quantize.c - `squint quantize FILE OUT.safetensors [config options |
 * --format NAME [--double-quant]] [--scale-dtype f16|f32|f64] [--include RE]
 * [--exclude RE]`: the quantized export of a checkpoint (INT scales stored
 * as f16 unless told otherwise; a format's bytes as the format stores them). */
#include "cmd_quantize.h"

#include <stdio.h>

#include "checkpoint.h"
#include "cmd_quantize_gguf.h"
#include "cmd_report.h"
#include "report.h"

/* sq_export_warn_fn: a selected tensor copied as is, or scales stored as f32. */
static void warn_cb(const char *name, const char *why, void *user)
{
    sq_cmd_progress *p = user;
    sq_cmd_progress_end(p);
    fprintf(stderr, "squint quantize: %s: %s\n", name, why);
}

int sq_cmd_quantize(int argc, char **argv)
{
    sq_cmd_args a;
    int rc = sq_cmd_parse_args(argc, argv, 2, 0, &a);
    if (rc)
        return rc;
    if (sq_cmd_is_gguf(a.pos[1]))
        return sq_cmd_quantize_gguf(&a);
    if ((rc = sq_cmd_check_format("quantize", &a)) != 0)
        return rc;
    if (a.n_cfg != 1) {
        fprintf(stderr, "squint quantize: one configuration only (--bits or --format given more than once)\n");
        return 2;
    }
    if ((rc = sq_cmd_check_paths("quantize", &a)) != 0) /* before any work: never overwrite the input */
        return rc;
    if (!a.scale_store_set && a.cfg[0].format == SQ_FORMAT_INT)
        a.cfg[0].scale_store = SQ_SCALE_F16; /* files default to f16 scales */
    sq_error err;
    sq_checkpoint *ck;
    if (sq_ckpt_open(a.pos[0], &ck, &err) != SQ_OK) {
        fprintf(stderr, "squint quantize: %s\n", err.msg);
        return 1;
    }
    sq_cmd_progress prog;
    sq_report_opts o = sq_cmd_run_opts(&a, &prog);
    sq_export_summary sum;
    sq_status st = sq_report_export(ck, a.pos[0], &a.cfg[0], &o, a.pos[1], warn_cb, &prog, &sum, &err);
    sq_cmd_sigint_restore();
    sq_cmd_progress_end(&prog);
    sq_ckpt_close(ck);
    if (st != SQ_OK) {
        fprintf(stderr, "squint quantize: %s\n", err.msg);
        return st == SQ_ERR_INTERRUPTED ? 130 : st == SQ_ERR_ARG ? 2 : 1;
    }
    char d[96], sc[40] = "";
    if (a.cfg[0].format == SQ_FORMAT_INT) /* a format stores its scales its own way */
        snprintf(sc, sizeof sc, ", %s scales", sq_scale_store_name(a.cfg[0].scale_store));
    printf("wrote %s (%s%s): %zu quantized, %zu kept, %zu excluded (kept and excluded: copied as is)\n", a.pos[1],
           sq_qconfig_describe_from(&a.cfg[0], 1, d, sizeof d), sc, sum.quantized, sum.kept, sum.excluded);
    return 0;
}
