/* bench_qlinear.c - `make bench`: the quantized linear layer (sq_qlinear_forward
 * and its dynamic int8 mode) and the float layer (sq_linear_forward) on a
 * 4096 x 4096 weight at batch 1 and 32, next to the old dequantize-then-multiply
 * path (sq_qlinear_forward_reference) and to PyTorch's nn.Linear and dynamic
 * int8 Linear measured in the same run by tests/bench/torch_linear.py, one
 * thread everywhere. The PyTorch comparison is skipped when torch cannot be
 * imported. Targets, int8 symmetric per-tensor (torch's dynamic default):
 * batch 1 no slower than torch (the exact and the dynamic path), batch 32
 * within 1.5x of torch (dynamic path), float layer within 1.3x of torch's
 * fp32 Linear. Times are CPU time of the calling thread on both sides (the
 * machine is shared). Exits non-zero when a target is missed.
 * Usage: bench_qlinear [in out [quick]] (default 4096 4096; quick: without
 * the old path and torch, for working on the kernels). The Python running
 * torch_linear.py: $SQ_PYTHON, else /usr/bin/python3 when it exists, else
 * python3 on PATH. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef SQ_HAVE_OPENBLAS
#include <cblas.h>
#endif

#include "memtune.h"
#include "model.h"
#include "simd.h"
#include "threads.h"

#ifndef SQ_TORCH_SCRIPT
#define SQ_TORCH_SCRIPT "tests/bench/torch_linear.py"
#endif

/* CPU time of this thread: every layer here runs in the calling thread, and
 * on a shared machine the wall clock also counts other programs' time. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int die(const sq_error *err)
{
    fprintf(stderr, "bench_qlinear: %s\n", err->msg);
    return EXIT_FAILURE;
}

typedef enum kind { K_EXACT, K_DYNAMIC, K_FLOAT, K_OLD, K_BLAS } kind;

/* One call of the layer of this kind. */
static sq_status call(kind k, const sq_linear *l, const sq_qlinear *ql, const sq_tensor *x, sq_error *err)
{
    sq_tensor *y = NULL;
    sq_status st;
    if (k == K_BLAS) { /* OpenBLAS alone, for comparison (no bias: the layer has none) */
#ifdef SQ_HAVE_OPENBLAS
        int rows = (int)x->shape[0], in = (int)l->in_features, out = (int)l->out_features;
        float *yb = malloc((size_t)rows * (size_t)out * sizeof *yb);
        if (!yb)
            return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
        if (rows == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, l->weight->data, in, x->data, 1, 0.0f, yb, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in, 1.0f, x->data, in, l->weight->data,
                        in, 0.0f, yb, out);
        free(yb);
#endif
        return SQ_OK;
    }
    if (k == K_FLOAT)
        st = sq_linear_forward(l, x, &y, err);
    else if (k == K_OLD)
        st = sq_qlinear_forward_reference(ql, x, &y, err);
    else
        st = sq_qlinear_forward_mode(ql, x, k == K_DYNAMIC ? SQ_QLINEAR_DYNAMIC_INT8 : SQ_QLINEAR_EXACT, &y, err);
    sq_tensor_free(y);
    return st;
}

/* Best milliseconds per call over `rounds` rounds of enough calls to fill
 * 50 ms (one call per round for slow paths). */
static int best_ms(kind k, const sq_linear *l, const sq_qlinear *ql, const sq_tensor *x, int rounds, double *ms)
{
    sq_error err;
    int calls = 1;
    double t0 = now();
    if (call(k, l, ql, x, &err) != SQ_OK)
        return die(&err);
    double one = now() - t0;
    while (calls * one < 0.05 && calls < 1024)
        calls *= 2;
    *ms = 1e30;
    for (int r = 0; r < rounds; r++) {
        t0 = now();
        for (int c = 0; c < calls; c++)
            if (call(k, l, ql, x, &err) != SQ_OK)
                return die(&err);
        double t = (now() - t0) / calls * 1e3;
        *ms = t < *ms ? t : *ms;
    }
    return 0;
}

/* PyTorch's figures: fp32 and int8 ms for batch 1 and 32; false when torch
 * is not available. */
static bool torch_ms(size_t in, size_t out, double fp32[2], double int8[2])
{
    /* SQ_PYTHON when set, else the system's python3 (a python3 earlier on
     * PATH, e.g. a pyenv shim, often has no torch), else python3 on PATH */
    const char *env = getenv("SQ_PYTHON");
    const char *pythons[2] = {"/usr/bin/python3", "python3"};
    int np = 2;
    if (env && *env)
        pythons[0] = env, np = 1;
    else if (access(pythons[0], X_OK) != 0)
        pythons[0] = "python3", np = 1;
    for (int p = 0; p < np; p++) {
        char cmd[1024], line[256];
        snprintf(cmd, sizeof cmd, "timeout 600 %s '%s' %zu %zu 1 32 2>/dev/null", pythons[p], SQ_TORCH_SCRIPT, in,
                 out);
        FILE *f = popen(cmd, "r");
        int got = 0;
        while (f && fgets(line, sizeof line, f)) {
            char what[8];
            int b;
            double ms;
            if (sscanf(line, "%7s %d %lf", what, &b, &ms) != 3 || (b != 1 && b != 32))
                continue;
            double *dst = strcmp(what, "fp32") == 0 ? fp32 : (strcmp(what, "int8") == 0 ? int8 : NULL);
            if (dst) {
                dst[b == 32] = ms;
                got++;
            }
        }
        if (f && pclose(f) == 0 && got == 4)
            return true;
    }
    return false;
}

static bool report(const char *what, double ms, double torch, bool have_torch, double limit)
{
    bool ok = !have_torch || limit <= 0 || ms <= limit * torch;
    printf("  %-34s %9.3f ms", what, ms);
    if (have_torch)
        printf("   torch %8.3f ms  %5.2fx", torch, ms / torch);
    if (have_torch && limit > 0)
        printf("   target <= %.1fx %s", limit, ok ? "ok" : "MISSED");
    printf("\n");
    return ok;
}

int main(int argc, char **argv)
{
    size_t in = 4096, out = 4096, batches[2] = {1, 32};
    sq_error err;
    sq_memtune();
#ifdef SQ_HAVE_OPENBLAS
    openblas_set_num_threads(1);
#endif
    sq_threads_set(1); /* the float kernel's threads: one, as torch and OpenBLAS here */
    if (argc >= 3) {
        in = strtoul(argv[1], NULL, 10);
        out = strtoul(argv[2], NULL, 10);
    }
    bool quick = argc >= 4 && strcmp(argv[3], "quick") == 0;
    double t_fp32[2] = {0, 0}, t_int8[2] = {0, 0};
    bool have_torch = !quick && torch_ms(in, out, t_fp32, t_int8);
    printf("squint bench_qlinear: %zu x %zu weight, one thread, best of several rounds; float layer: %s\n", out, in,
           sq_use_avx512() ? (sq_linear_have_blas() ? "squint's AVX-512 kernel (batch >= 2), OpenBLAS sgemv (batch 1)"
                                                    : "squint's AVX-512 kernel (batch >= 2), the portable loop (batch 1)")
                           : (sq_linear_have_blas() ? "OpenBLAS" : "the portable loop"));
    if (!have_torch)
        printf("(PyTorch not available: torch comparison skipped)\n");
    sq_linear *l;
    if (sq_linear_new(in, out, false, 1, &l, &err) != SQ_OK)
        return die(&err);
    static const struct {
        int bits;
        sq_granularity gran;
        bool targeted;
    } cfgs[] = {{8, SQ_GRAN_TENSOR, true}, {8, SQ_GRAN_CHANNEL, false}, {4, SQ_GRAN_GROUP, false},
                {8, SQ_GRAN_GROUP, false}};
    int missed = 0;
    for (int b = 0; b < 2; b++) {
        size_t xs[2] = {batches[b], in};
        sq_tensor *x;
        if (sq_tensor_randn(xs, 2, 3, &x, &err) != SQ_OK)
            return die(&err);
        printf("batch %zu:\n", batches[b]);
        double ms;
        if (best_ms(K_FLOAT, l, NULL, x, 5, &ms))
            return EXIT_FAILURE;
        missed += !report("float layer (sq_linear_forward)", ms, t_fp32[b], have_torch, 1.3);
        if (sq_linear_have_blas()) {
            if (best_ms(K_BLAS, l, NULL, x, 5, &ms))
                return EXIT_FAILURE;
            report("  OpenBLAS alone (no target)", ms, t_fp32[b], have_torch, 0);
        }
        for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
            sq_qconfig cfg = sq_qconfig_default();
            sq_qlinear *ql;
            char name[64], what[96];
            cfg.bits = cfgs[c].bits;
            cfg.granularity = cfgs[c].gran;
            sq_qconfig_describe(&cfg, name, sizeof name);
            size_t ws[2] = {out, in};
            if (sq_qconfig_check(&cfg, ws, 2, &err) != SQ_OK) {
                printf("  %-34s skipped: %s\n", name, err.msg);
                continue;
            }
            if (sq_qlinear_from_linear(l, &cfg, &ql, &err) != SQ_OK)
                return die(&err);
            double ms_old = 0, ms_exact, ms_dyn;
            if ((!quick && best_ms(K_OLD, l, ql, x, 1, &ms_old)) || best_ms(K_EXACT, l, ql, x, 7, &ms_exact) ||
                best_ms(K_DYNAMIC, l, ql, x, 7, &ms_dyn))
                return EXIT_FAILURE;
            bool t = cfgs[c].targeted;
            snprintf(what, sizeof what, "%s old dequant+mul", name);
            if (!quick)
                report(what, ms_old, t_int8[b], have_torch, 0);
            snprintf(what, sizeof what, "%s exact  (%.0fx old)", name, ms_old / ms_exact);
            missed += !report(what, ms_exact, t_int8[b], have_torch, t && b == 0 ? 1.0 : 0);
            snprintf(what, sizeof what, "%s dynamic (%.0fx old)", name, ms_old / ms_dyn);
            missed += !report(what, ms_dyn, t_int8[b], have_torch, t ? (b == 0 ? 1.0 : 1.5) : 0);
            sq_qlinear_free(ql);
        }
        sq_tensor_free(x);
    }
    printf("torch: fp32 = nn.Linear, int8 = quantize_dynamic (int8 per-tensor weights, activations quantized per "
           "call);\nexact = weight values formed in float from the codes; dynamic = activations quantized to int8 "
           "per row,\ninteger dot products (AVX-512 VNNI where the CPU has it).\n");
    sq_linear_free(l);
    return missed ? EXIT_FAILURE : EXIT_SUCCESS;
}
