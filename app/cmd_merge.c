/* cmd_merge.c - `squint merge OUT.csv SHARD.csv...` and `squint merge
 * OUT.json SHARD.json...`. */
#include "cmd_merge.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fileio.h"
#include "report.h"

int sq_cmd_merge(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "squint merge: %s\n(see `squint help merge`)\n",
                argc < 2 ? "missing OUT.csv and SHARD.csv arguments" : "missing SHARD.csv arguments");
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--", 2) == 0) {
            fprintf(stderr, "squint merge: unknown option '%s'\n(see `squint help merge`)\n", argv[i]);
            return 2;
        }
    const char *out = argv[1];
    const char *const *in = (const char *const *)(argv + 2);
    size_t n = (size_t)argc - 2;
    sq_error err;
    sq_status st;
    const char *name = strcmp(out, "-") == 0 ? in[0] : out; /* JSON by OUT's name (standard output: the shards') */
    size_t nl = strlen(name);
    bool json = nl >= 5 && strcasecmp(name + nl - 5, ".json") == 0;
    for (size_t k = 0; k < n; k++)
        if ((st = sq_input_check(in[k], &err)) != SQ_OK) {
            fprintf(stderr, "squint merge: %s\n", err.msg);
            return st == SQ_ERR_ARG ? 2 : 1;
        }
    if ((st = sq_output_check(out, in, n, json ? ".json" : ".csv", true, &err)) != SQ_OK) {
        fprintf(stderr, "squint merge: %s\n", err.msg);
        return st == SQ_ERR_ARG ? 2 : 1;
    }
    if ((st = json ? sq_report_merge_json(out, in, n, &err) : sq_report_merge_csv(out, in, n, &err)) != SQ_OK) {
        fprintf(stderr, "squint merge: %s\n", err.msg);
        return st == SQ_ERR_ARG ? 2 : 1;
    }
    return 0;
}
