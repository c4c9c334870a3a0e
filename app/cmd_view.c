/* cmd_view.c - `squint --demo` and `squint --view`: open the panel. */
#include "cmd_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        s = sq_fail(&err, SQ_ERR_UNSUPPORTED, "--view needs a terminal");
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

int sq_cmd_view(int argc, char **argv)
{
    sq_error err;
    if (argc >= 1 && strcmp(argv[0], "demo") == 0)
        return view_demo(false);
    if (argc >= 1 && strcmp(argv[0], "demo-set") == 0) {
        sq_tui_source src = {sizeof demo_set_names / sizeof demo_set_names[0], demo_set_name, demo_set_load, NULL};
        if (sq_tui_view_source(&src, "demo-set", NULL, &err) != SQ_OK)
            return fail(&err);
        return EXIT_SUCCESS;
    }
    /* INTEGRATOR: open argv[0] with the file-format module here. */
    fprintf(stderr, "squint: --view %s: loading files is not in this build (only 'demo' and 'demo-set')\n",
            argc >= 1 ? argv[0] : "");
    return 2;
}
