/* cmd_info.c - `squint info FILE [NAME]`: tensors (and metadata) of a
 * safetensors, GGUF, sharded safetensors or .npy file, without converting
 * data unless NAME asks. Names and metadata are printed escaped. */
#include "cmd_info.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "npy.h"
#include "sniff.h"
#include "textesc.h"

/* Print s escaped for the terminal (sq_escape_text). */
static void put_escaped(const char *s)
{
    char buf[512];
    if (sq_escape_text(buf, sizeof buf, s) < sizeof buf) {
        fputs(buf, stdout);
        return;
    }
    char *big = sq_escape_dup(s);
    fputs(big ? big : "(out of memory)", stdout);
    free(big);
}

/* Print the statistics block of a tensor. */
static void print_stats(const char *name, const sq_summary *s)
{
    printf("tensor ");
    put_escaped(name);
    printf("\n  min %.9g\n  max %.9g\n  mean %.9g\n  std %.9g\n  non-finite %zu (nan %zu, inf %zu)\n", s->min,
           s->max, s->mean, s->std, s->n_nan + s->n_inf, s->n_nan, s->n_inf);
}

/* One listing line: name, type, shape, size. */
static void print_row(const char *name, const char *type, const size_t *shape, int ndim, size_t nbytes, bool unknown)
{
    char shp[160], esc[41];
    size_t n = sq_escape_text(esc, sizeof esc, name);
    if (n < sizeof esc)
        printf("%-40s ", esc);
    else
        put_escaped(name), putchar(' ');
    printf("%-6s %-24s ", type, sq_shape_format(shape, ndim, shp, sizeof shp));
    if (unknown)
        printf("? bytes (unsupported %s)\n", type);
    else
        printf("%zu bytes\n", nbytes);
}

/* .npy: one tensor named "-", listed from its header alone; NAME asks for
 * statistics, computed streaming. A file whose data is short is listed,
 * then reported (exit status 1). */
static int info_npy(const char *path, const char *name)
{
    sq_npy_info info;
    sq_error err;
    if (sq_npy_probe(path, &info, &err) != SQ_OK) {
        fprintf(stderr, "squint: %s\n", err.msg);
        return 1;
    }
    printf("npy file ");
    put_escaped(path);
    printf(": 1 tensor\n");
    print_row("-", sq_dtype_name(info.dtype), info.shape, info.ndim, info.numel * sq_dtype_size(info.dtype), false);
    if (sq_npy_check_data(&info, path, &err) != SQ_OK) {
        fprintf(stderr, "squint: %s\n", err.msg);
        return 1;
    }
    if (!name)
        return 0;
    sq_summary s;
    if (sq_npy_summary(path, &info, &s, &err) != SQ_OK) {
        fprintf(stderr, "squint: %s\n", err.msg);
        return 1;
    }
    print_stats(name, &s);
    return 0;
}

/* Statistics of one tensor of a checkpoint. */
static int info_tensor(const sq_checkpoint *ck, const char *name)
{
    size_t i;
    sq_tensor *t;
    sq_error err;
    if (sq_ckpt_find(ck, name, &i, &err) != SQ_OK || sq_ckpt_load(ck, i, &t, &err) != SQ_OK) {
        fprintf(stderr, "squint: %s\n", err.msg);
        return 1;
    }
    const sq_tinfo *ti = sq_ckpt_info(ck, i);
    char shp[160];
    put_escaped(ti->name);
    printf(" %s %s %zu bytes\n", ti->type_name, sq_shape_format(ti->shape, ti->ndim, shp, sizeof shp), ti->nbytes);
    sq_summary s;
    sq_tensor_summary(t, &s);
    print_stats(name, &s);
    sq_tensor_free(t);
    return 0;
}

/* The heading line, shards, tensors and metadata of a checkpoint. */
static void list_checkpoint(const sq_checkpoint *ck, const char *path)
{
    size_t shards = sq_ckpt_shard_count(ck);
    if (shards)
        printf("sharded safetensors checkpoint ");
    else
        printf("%s file ", sq_ckpt_get_format(ck) == SQ_CKPT_GGUF ? "gguf" : "safetensors");
    put_escaped(path);
    if (shards)
        printf(" (%zu shards)", shards);
    printf(": %zu tensors, %zu metadata entries\n", sq_ckpt_count(ck), sq_ckpt_metadata_count(ck));
    for (size_t k = 0; k < shards; k++) {
        printf("shard ");
        put_escaped(sq_ckpt_shard_file(ck, k));
        putchar('\n');
    }
    for (size_t i = 0; i < sq_ckpt_count(ck); i++) {
        const sq_tinfo *ti = sq_ckpt_info(ck, i);
        print_row(ti->name, ti->type_name, ti->shape, ti->ndim, ti->nbytes, ti->size_unknown);
    }
    for (size_t i = 0; i < sq_ckpt_metadata_count(ck); i++) {
        const char *k, *ty, *v;
        if (!sq_ckpt_metadata(ck, i, &k, &ty, &v))
            continue;
        printf("meta ");
        put_escaped(k);
        printf(" (%s) = ", ty);
        put_escaped(v);
        /* squint.NAME.axis is a file-format field, 0-based as stored (safetensors.h);
         * say which axis it is in the 1-based count users read and type */
        size_t kl = strlen(k);
        char *e;
        long ax = strtol(v, &e, 10);
        if (kl > 12 && strncmp(k, "squint.", 7) == 0 && strcmp(k + kl - 5, ".axis") == 0 && *v && !*e && ax >= 0 &&
            ax < SQ_MAX_DIMS)
            printf(" (0-based in the file: axis %ld)", ax + 1);
        putchar('\n');
    }
}

int sq_cmd_info(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: squint info FILE [NAME]\n");
        return 2;
    }
    const char *path = argv[1], *name = argc == 3 ? argv[2] : NULL;
    sq_file_kind kind;
    sq_checkpoint *ck;
    sq_error err;
    if (sq_sniff_file(path, &kind, &err) != SQ_OK) {
        fprintf(stderr, "squint: %s\n", err.msg);
        return 1;
    }
    if (kind == SQ_FILE_NPY)
        return info_npy(path, name);
    if (sq_ckpt_open(path, &ck, &err) != SQ_OK) {
        fprintf(stderr, "squint: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    if (name)
        rc = info_tensor(ck, name);
    else
        list_checkpoint(ck, path);
    sq_ckpt_close(ck);
    return rc;
}
