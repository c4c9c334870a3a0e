/* cmd_view.c - `squint --demo` and `squint --view`: open the panel. */
#include "cmd_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "demo.h"
#include "tensor.h"
#include "tui.h"

/* Print err and return the failure exit status. */
static int fail(const sq_error *err)
{
    fprintf(stderr, "squint: %s\n", err->msg);
    return EXIT_FAILURE;
}

/* The demo tensor in the panel (or as the table without a terminal). */
static int view_demo(bool table_fallback)
{
    sq_tensor *t;
    sq_error err;
    if (sq_tensor_demo(&t, &err) != SQ_OK)
        return fail(&err);
    sq_status s;
    if (sq_tui_available())
        s = sq_tui_view_tensor(t, "demo", NULL, &err);
    else if (table_fallback)
        s = sq_demo_print_table(stdout, t, "demo", &err);
    else
        s = sq_fail(&err, SQ_ERR_UNSUPPORTED, "--view needs a terminal (stdin and stdout a tty, TERM not 'dumb')");
    sq_tensor_free(t);
    return s == SQ_OK ? EXIT_SUCCESS : fail(&err);
}

int sq_cmd_demo_view(void)
{
    return view_demo(true);
}

/* ---- demo-set: a tiny built-in tensor set for the list view ------------- */

static const char *demo_set_names[] = {"demo.outlier_channels", "randn.256x256", "randn.4096", "ones.64x64",
                                       "randn.3x100"};

/* Name of entry i. */
static const char *demo_set_name(void *ctx, size_t i)
{
    (void)ctx;
    return demo_set_names[i];
}

/* Build entry i (a new tensor). */
static sq_status demo_set_load(void *ctx, size_t i, sq_tensor **out, sq_error *err)
{
    (void)ctx;
    size_t s2[2] = {256, 256}, s1[1] = {4096}, s3[2] = {64, 64}, s4[2] = {3, 100};
    switch (i) {
    case 0: return sq_tensor_demo(out, err);
    case 1: return sq_tensor_randn(s2, 2, 1, out, err);
    case 2: return sq_tensor_randn(s1, 1, 2, out, err);
    case 3: {
        sq_status s = sq_tensor_new(s3, 2, SQ_DTYPE_F32, out, err);
        for (size_t k = 0; s == SQ_OK && k < (*out)->numel; k++)
            (*out)->data[k] = 1.0f;
        return s;
    }
    default: return sq_tensor_randn(s4, 2, 3, out, err);
    }
}

/* The panel on quantized tensor name of path (SQ_ERR_NOTFOUND when path
 * has no such quantized tensor). */
static sq_status view_file_qtensor(const char *path, const char *name, sq_error *err)
{
    sq_checkpoint *ck;
    sq_qtensor *q = NULL;
    sq_status s = sq_ckpt_open(path, &ck, err);
    if (s != SQ_OK)
        return s;
    if (!sq_ckpt_has_qtensor(ck, name))
        s = sq_fail(err, SQ_ERR_NOTFOUND, "%s: no quantized tensor '%s'", path, name);
    else if ((s = sq_ckpt_load_qtensor(ck, name, &q, err)) == SQ_OK)
        s = sq_tui_view_qtensor(q, name, err);
    sq_qtensor_free(q);
    sq_ckpt_close(ck);
    return s;
}

/* The panel on one tensor of path (TENSOR given, or a .npy file); a
 * quantized tensor of a squint export is shown as it is. */
static int view_file_tensor(const char *path, const char *name)
{
    sq_tensor *t;
    sq_error err;
    if (name && !sq_file_is_npy(path)) {
        sq_status s = view_file_qtensor(path, name, &err);
        if (s != SQ_ERR_NOTFOUND)
            return s == SQ_OK ? EXIT_SUCCESS : fail(&err);
    }
    if (sq_load_tensor_file(path, name, &t, &err) != SQ_OK)
        return fail(&err);
    sq_status s = sq_tui_view_tensor(t, name ? name : path, NULL, &err);
    sq_tensor_free(t);
    return s == SQ_OK ? EXIT_SUCCESS : fail(&err);
}

/* The list of a checkpoint's tensors. */
static int view_checkpoint(const char *path)
{
    sq_checkpoint *ck;
    sq_error err;
    if (sq_ckpt_open(path, &ck, &err) != SQ_OK)
        return fail(&err);
    sq_status s = sq_tui_view_checkpoint(ck, path, NULL, &err);
    sq_ckpt_close(ck);
    return s == SQ_OK ? EXIT_SUCCESS : fail(&err);
}

int sq_cmd_view(int argc, char **argv)
{
    sq_error err;
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "squint: usage: squint --view FILE [TENSOR]   (FILE may be 'demo' or 'demo-set')\n");
        return 2;
    }
    const char *what = argv[1], *name = argc == 3 ? argv[2] : NULL;
    if (strcmp(what, "demo") == 0)
        return view_demo(false);
    if (!sq_tui_available()) {
        fprintf(stderr, "squint: --view needs a terminal (stdin and stdout a tty, TERM not 'dumb'); "
                        "use 'squint info %s' for a listing\n", what);
        return EXIT_FAILURE;
    }
    if (strcmp(what, "demo-set") == 0) {
        sq_tui_source src = {sizeof demo_set_names / sizeof demo_set_names[0], demo_set_name, demo_set_load, NULL,
                             NULL, NULL, NULL};
        if (sq_tui_view_source(&src, "demo-set", NULL, &err) != SQ_OK)
            return fail(&err);
        return EXIT_SUCCESS;
    }
    if (name || sq_file_is_npy(what))
        return view_file_tensor(what, name);
    return view_checkpoint(what);
}
