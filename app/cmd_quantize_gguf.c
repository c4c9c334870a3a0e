/* cmd_quantize_gguf.c - `squint quantize IN OUT.gguf --format TYPE`: the
 * checkpoint rewritten as GGUF in one of llama.cpp's formats. */
#include "cmd_quantize_gguf.h"

#include <stdio.h>
#include <string.h>

#include "gguf.h"
#include "gguf_export.h"

int sq_cmd_is_gguf(const char *path)
{
    size_t n = strlen(path);
    return n > 5 && strcmp(path + n - 5, ".gguf") == 0;
}

/* A tensor kept for its row length, on stderr. */
static void print_note(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "squint quantize: note: %s\n", msg);
}

int sq_cmd_quantize_gguf(const sq_cmd_args *a)
{
    sq_error err;
    int type;
    if (!a->format) {
        fprintf(stderr, "squint quantize: %s: a GGUF output needs --format TYPE (q4_k, q8_0, f16, ...)\n", a->pos[1]);
        return 2;
    }
    if (sq_gguf_format_lookup(a->format, &type, &err) != SQ_OK) {
        fprintf(stderr, "squint quantize: %s\n", err.msg);
        return 2;
    }
    sq_gguf_export_summary sum;
    sq_status st = sq_gguf_export(a->pos[0], a->pos[1], type, print_note, NULL, &sum, &err);
    if (st != SQ_OK) {
        fprintf(stderr, "squint quantize: %s\n", err.msg);
        return st == SQ_ERR_ARG ? 2 : 1;
    }
    printf("wrote %s (%s): %zu quantized, %zu kept, %zu skipped\n", a->pos[1], sq_ggml_type_name(type), sum.quantized,
           sum.kept, sum.skipped);
    return 0;
}
