/* cmd_info.c - `squint info FILE [NAME]`: tensors (and GGUF metadata) of a
 * safetensors, GGUF or .npy file, without converting data unless NAME asks. */
#include "cmd_info.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "npy.h"

/* Print the statistics line block of a loaded tensor. */
static void print_summary(const char *name, const sq_tensor *t)
{
    sq_summary s;
    sq_tensor_summary(t, &s);
    printf("tensor %s\n", name);
    printf("  min %.9g\n  max %.9g\n  mean %.9g\n  std %.9g\n  non-finite %zu (nan %zu, inf %zu)\n", s.min, s.max,
           s.mean, s.std, s.n_nan + s.n_inf, s.n_nan, s.n_inf);
}

/* .npy: one tensor named after nothing; NAME must be absent or "-". */
static int info_npy(const char *path, const char *name)
{
    sq_tensor *t;
    sq_error err;
    char shp[160];
    if (sq_npy_read(path, &t, &err) != SQ_OK) {
        fprintf(stderr, "squint: %s\n", err.msg);
        return 1;
    }
    printf("npy file %s: 1 tensor\n", path);
    printf("%-40s %-6s %-24s %zu bytes\n", "-", sq_dtype_name(t->dtype), sq_shape_format(t->shape, t->ndim, shp, sizeof shp),
           t->numel * sq_dtype_size(t->dtype));
    if (name)
        print_summary(name, t);
    sq_tensor_free(t);
    return 0;
}

/* True when path starts with numpy's magic. */
int sq_cmd_info(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: squint info FILE [NAME]\n");
        return 2;
    }
    const char *path = argv[1], *name = argc == 3 ? argv[2] : NULL;
    if (sq_file_is_npy(path))
        return info_npy(path, name);
    sq_checkpoint *ck;
    sq_error err;
    if (sq_ckpt_open(path, &ck, &err) != SQ_OK) {
        fprintf(stderr, "squint: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    if (name) {
        size_t i;
        sq_tensor *t;
        if (sq_ckpt_find(ck, name, &i, &err) != SQ_OK || sq_ckpt_load(ck, i, &t, &err) != SQ_OK) {
            fprintf(stderr, "squint: %s\n", err.msg);
            rc = 1;
        } else {
            const sq_tinfo *ti = sq_ckpt_info(ck, i);
            char shp[160];
            printf("%s %s %s %zu bytes\n", ti->name, ti->type_name, sq_shape_format(ti->shape, ti->ndim, shp, sizeof shp),
                   ti->nbytes);
            print_summary(name, t);
            sq_tensor_free(t);
        }
        sq_ckpt_close(ck);
        return rc;
    }
    int gguf = sq_ckpt_get_format(ck) == SQ_CKPT_GGUF;
    printf("%s file %s: %zu tensors, %zu metadata entries\n", gguf ? "gguf" : "safetensors", path, sq_ckpt_count(ck),
           sq_ckpt_metadata_count(ck));
    for (size_t i = 0; i < sq_ckpt_count(ck); i++) {
        const sq_tinfo *ti = sq_ckpt_info(ck, i);
        char shp[160];
        printf("%-40s %-6s %-24s %zu bytes\n", ti->name, ti->type_name,
               sq_shape_format(ti->shape, ti->ndim, shp, sizeof shp), ti->nbytes);
    }
    for (size_t i = 0; i < sq_ckpt_metadata_count(ck); i++) {
        const char *k, *ty, *v;
        if (sq_ckpt_metadata(ck, i, &k, &ty, &v))
            printf("meta %s (%s) = %s\n", k, ty, v);
    }
    sq_ckpt_close(ck);
    return rc;
}
