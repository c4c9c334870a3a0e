/* bench_quant.c - `make bench`: engine throughput against a scalar
 * double-precision baseline (tests/refquant.c) measured in the same run.
 *
 * For each of int8/int4 x symmetric/asymmetric x per-tensor/per-channel/
 * per-group(32) on a 4096 x 4096 f32 tensor it times quantize, dequantize and
 * the analysis pipeline (sq_quantize_stats: quantize + dequantize-on-the-fly
 * + stats + 64-bin error histogram) and prints elements per second with the
 * speed-up over the baseline doing the same work. Times are the best of
 * several rounds, each round timing every configuration in turn, so that
 * each configuration is sampled across the run on a machine whose speed
 * drifts. The baseline pipeline is ref_quantize + ref_dequantize +
 * ref_stats_compute with its histogram. The program calls sq_memtune() as
 * the squint program does. The table runs on one thread (sq_threads_set(1));
 * a second section times the pipeline at 1 and 2 threads (targets: 2
 * threads >= 1.7x one thread, on a machine with 2 cores or more; int8
 * per-tensor >= 1000 M elements/s on one thread) and prints the load
 * average, since figures taken on a busy machine mean little. Exits
 * non-zero when a target is missed.
 * A last section times every non-INT format (quant.h "Formats") on the same
 * tensor, one thread, in elements per CPU second (the machine is shared):
 * sq_quantize and sq_quantize_stats with the 64-bin histogram, against a
 * baseline doing the same work the straightforward way: the row kernels of
 * blockfmt.h / elemfmt.h called once per row to encode and decode, then the
 * scalar double statistics of tests/refquant.c. Targets (issue 12, quant +
 * stats + histogram): K-quants and IQ4 >= 100 M elements/s, q4_0, q8_0, fp8,
 * nf4 and mxfp4 >= 400; a miss makes the exit status non-zero.
 * Usage: bench_quant [--threads | --formats] [rows cols] (default 4096 4096);
 * --threads / --formats run that section alone. */
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blockfmt.h"
#include "elemfmt.h"
#include "memtune.h"

#include "quant.h"
#include "refquant.h"
#include "stats.h"
#include "threads.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct timing {
    double quant, dequant, pipeline;
} timing;

static int die(const sq_error *err)
{
    fprintf(stderr, "bench: %s\n", err->msg);
    return EXIT_FAILURE;
}

/* One timed run of the engine on one configuration; keeps the best times in t. */
static int time_engine(const sq_tensor *x, const sq_qconfig *cfg, float *xh, timing *t, double *sqnr)
{
    sq_error err;
    sq_qtensor *q;
    sq_stats st;
    sq_hist h;
    double t0 = now();
    if (sq_quantize(x, cfg, &q, &err) != SQ_OK)
        return die(&err);
    double t1 = now();
    sq_dequantize_into(q, xh);
    double t2 = now();
    sq_qtensor_free(q);
    double t3 = now();
    if (sq_quantize_stats(x, cfg, NULL, &q, &st, &h, &err) != SQ_OK)
        return die(&err);
    double t4 = now();
    t->quant = t1 - t0 < t->quant ? t1 - t0 : t->quant;
    t->dequant = t2 - t1 < t->dequant ? t2 - t1 : t->dequant;
    t->pipeline = t4 - t3 < t->pipeline ? t4 - t3 : t->pipeline;
    *sqnr = st.sqnr_db;
    sq_hist_free(&h);
    sq_qtensor_free(q);
    return 0;
}

/* One run of the scalar baseline; keeps the best times in t. */
static int time_baseline(const sq_tensor *x, const sq_qconfig *cfg, float *xh, timing *t)
{
    ref_result r;
    ref_stats rs;
    uint64_t counts[64] = {0};
    double t0 = now();
    if (ref_quantize(x->data, x->shape, x->ndim, cfg, &r) != 0)
        return EXIT_FAILURE;
    double t1 = now();
    ref_dequantize(&r, x->shape, x->ndim, cfg, xh);
    double t2 = now();
    ref_stats_compute(x->data, xh, x->numel, &rs, 64, -0.5, 0.5, counts);
    double t3 = now();
    t->quant = t1 - t0 < t->quant ? t1 - t0 : t->quant;
    t->dequant = t2 - t1 < t->dequant ? t2 - t1 : t->dequant;
    t->pipeline = t3 - t0 < t->pipeline ? t3 - t0 : t->pipeline;
    ref_free(&r);
    return 0;
}

enum { N_CONFIGS = 12, ROUNDS = 7, BASE_ROUNDS = 2, THREAD_ROUNDS = 21 };

/* CPU time of the whole process (every thread). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One timed sq_quantize_stats (with the 64-bin histogram) on `threads`
 * threads; keeps the best time in *best, adds the CPU time it took (all
 * threads) to *cpu and keeps the least CPU time in *cpu_best. */
static int time_pipeline(const sq_tensor *x, const sq_qconfig *cfg, int threads, double *best, double *cpu,
                         double *cpu_best)
{
    sq_error err;
    sq_qtensor *q;
    sq_stats st;
    sq_hist h;
    sq_threads_set(threads);
    double c0 = cpu_now(), t0 = now();
    if (sq_quantize_stats(x, cfg, NULL, &q, &st, &h, &err) != SQ_OK)
        return die(&err);
    double t = now() - t0, c = cpu_now() - c0;
    *cpu += c;
    *cpu_best = c < *cpu_best ? c : *cpu_best;
    *best = t < *best ? t : *best;
    sq_hist_free(&h);
    sq_qtensor_free(q);
    return 0;
}

/* The baseline of the formats section: encode and decode row by row with
 * the row kernels, then the scalar statistics; false on an error. */
static bool format_baseline(const sq_tensor *x, sq_format f, uint8_t *buf, float *xh)
{
    const sq_format_info *fi = sq_format_info_of((int)f);
    size_t cols = x->shape[1], rows = x->shape[0], rb;
    sq_error err;
    float s = 1.0f;
    if (fi->kind == SQ_FORMAT_KIND_BLOCK) {
        if (sq_block_row_bytes((sq_block_type)fi->native, cols, &rb, &err) != SQ_OK)
            return false;
    } else if (f == SQ_FORMAT_NF4) {
        rb = cols / 2;
    } else if (sq_elemfmt_row_bytes((sq_elemfmt)fi->native, cols, &rb, &err) != SQ_OK ||
               sq_elemfmt_row_scale((sq_elemfmt)fi->native, x->data, x->numel, &s, &err) != SQ_OK) {
        return false;
    }
    float absmax[64];
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x->data + r * cols;
        uint8_t *b = buf + r * rb;
        sq_status st;
        if (fi->kind == SQ_FORMAT_KIND_BLOCK)
            st = sq_block_quantize_row((sq_block_type)fi->native, xr, cols, b, &err) == SQ_OK
                     ? sq_block_dequantize_row((sq_block_type)fi->native, b, cols, xh + r * cols, &err)
                     : SQ_ERR_ARG;
        else if (f == SQ_FORMAT_NF4)
            st = sq_nf4_encode(xr, cols, 64, b, absmax, &err) == SQ_OK
                     ? sq_nf4_decode(b, absmax, cols, 64, xh + r * cols, &err)
                     : SQ_ERR_ARG;
        else
            st = sq_elemfmt_encode_row((sq_elemfmt)fi->native, xr, cols, s, b, &err) == SQ_OK
                     ? sq_elemfmt_decode_row((sq_elemfmt)fi->native, b, cols, s, xh + r * cols, &err)
                     : SQ_ERR_ARG;
        if (st != SQ_OK)
            return false;
    }
    ref_stats rs;
    uint64_t counts[64] = {0};
    ref_stats_compute(x->data, xh, x->numel, &rs, 64, -0.5, 0.5, counts);
    return true;
}

/* The issue-12 target of format f for quant+stats+h64 on one thread, in M
 * elements per CPU second (0: none): the K-quants and IQ4 >= 100, q4_0,
 * q8_0, fp8, nf4 and mxfp4 >= 400. */
static double format_target(sq_format f)
{
    switch (f) {
    case SQ_FORMAT_Q2_K:
    case SQ_FORMAT_Q3_K:
    case SQ_FORMAT_Q4_K:
    case SQ_FORMAT_Q5_K:
    case SQ_FORMAT_Q6_K:
    case SQ_FORMAT_IQ4_NL:
    case SQ_FORMAT_IQ4_XS: return 100.0;
    case SQ_FORMAT_Q4_0:
    case SQ_FORMAT_Q8_0:
    case SQ_FORMAT_FP8_E4M3:
    case SQ_FORMAT_FP8_E5M2:
    case SQ_FORMAT_NF4:
    case SQ_FORMAT_MXFP4: return 400.0;
    default: return 0.0;
    }
}

#define FMT_ROUNDS 5      /* engine rounds (best of) */
#define FMT_BASE_ROUNDS 2 /* baseline rounds (best of) */

/* Every non-INT format on x (columns a multiple of 256), single thread, in
 * M elements per CPU second: best of FMT_ROUNDS rounds for the engine, of
 * FMT_BASE_ROUNDS for the baseline, each round timing every format in turn.
 * Returns how many targets were missed, or -1 on an error. */
static int formats_section(const sq_tensor *y)
{
    sq_error err;
    if (y->shape[1] % 256 != 0) {
        fprintf(stderr, "bench: formats need columns divisible by 256\n");
        return -1;
    }
    uint8_t *buf = malloc(y->numel * 2);
    float *xh = malloc(y->numel * sizeof(float));
    if (!buf || !xh)
        return -1;
    double best[SQ_FORMAT_COUNT][3], n = (double)y->numel;
    for (int f = 1; f < SQ_FORMAT_COUNT; f++)
        best[f][0] = best[f][1] = best[f][2] = 1e30;
    for (int r = 0; r < FMT_ROUNDS; r++)
        for (int f = 1; f < SQ_FORMAT_COUNT; f++) {
            sq_qconfig cfg = sq_qconfig_for_format((sq_format)f);
            sq_qtensor *q;
            sq_stats st;
            sq_hist h;
            double t0 = cpu_now();
            if (sq_quantize(y, &cfg, &q, &err) != SQ_OK)
                return die(&err), -1;
            double t1 = cpu_now();
            sq_qtensor_free(q);
            double t2 = cpu_now();
            if (sq_quantize_stats(y, &cfg, NULL, &q, &st, &h, &err) != SQ_OK)
                return die(&err), -1;
            double t3 = cpu_now();
            sq_hist_free(&h);
            sq_qtensor_free(q);
            if (r < FMT_BASE_ROUNDS && !format_baseline(y, (sq_format)f, buf, xh))
                return -1;
            double t4 = cpu_now();
            best[f][0] = t1 - t0 < best[f][0] ? t1 - t0 : best[f][0];
            best[f][1] = t3 - t2 < best[f][1] ? t3 - t2 : best[f][1];
            if (r < FMT_BASE_ROUNDS)
                best[f][2] = t4 - t3 < best[f][2] ? t4 - t3 : best[f][2];
        }
    int missed = 0;
    printf("\nformats: %zu x %zu f32, single thread, M elements per CPU second; best of %d rounds (engine) and %d "
           "(baseline)\n", y->shape[0], y->shape[1], FMT_ROUNDS, FMT_BASE_ROUNDS);
    printf("%-10s %9s %16s %14s %5s  %s\n", "M elem/s", "quantize", "quant+stats+h64", "row baseline", "x",
           "target (quant+stats+h64)");
    for (int f = 1; f < SQ_FORMAT_COUNT; f++) {
        double pipe = n / best[f][1] / 1e6, want = format_target((sq_format)f);
        char target[32] = "";
        if (want > 0.0)
            snprintf(target, sizeof target, ">=%.0f %s", want, pipe >= want ? "ok" : "MISSED");
        missed += want > 0.0 && pipe < want;
        printf("%-10s %9.1f %16.1f %14.1f %5.2f  %s\n", sq_format_name((sq_format)f), n / best[f][0] / 1e6, pipe,
               n / best[f][2] / 1e6, best[f][2] / best[f][1], target);
    }
    printf("row baseline = the row kernels encoding and decoding row by row (one scale per tensor for\n"
           "fp8/fp4/nvfp4, nf4 blocks of 64), then the scalar double statistics and histogram of refquant.c.\n");
    free(buf);
    free(xh);
    return missed;
}

/* The 1-minute load average from /proc/loadavg, or -1 when unknown. */
static double load_average(void)
{
    double l = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1.0;
        fclose(f);
    }
    return l;
}

/* The threads section: the pipeline at 1 and 2 threads, best of
 * THREAD_ROUNDS rounds alternating the two (many rounds: the best of them
 * is what an idle machine would give, and on a machine shared with other
 * work a few rounds rarely catch both cores free); returns how many targets
 * were missed, or -1. For each thread count it prints the elapsed rate
 * (elements over the least elapsed time of a run) and the rate per
 * CPU-second (elements over the least CPU time of a run, all threads),
 * which a busy machine disturbs much less, then the elapsed ratio (the
 * target) and the CPU time per run at 2 threads over that at 1 (the
 * parallel overhead: 1.00 when threads cost nothing). */
static int threads_section(const sq_tensor *x, const sq_qconfig *cfgs, int n_cfgs)
{
    int cores = sq_threads_cores(), missed = 0;
    double n = (double)x->numel, load0 = load_average();
    printf("\nthreads: %d cores available; load average %.2f; best of %d rounds\n", cores, load0, THREAD_ROUNDS);
    printf("%-26s %17s %17s %6s %6s  %s\n", "pipeline M elem/s", "1 thread", "2 threads", "x", "cpu2/1",
           "target");
    printf("%-26s %8s %8s %8s %8s\n", "", "wall", "cpu-s", "wall", "cpu-s");
    for (int c = 0; c < n_cfgs; c++) {
        double t1 = 1e30, t2 = 1e30, c1 = 0.0, c2 = 0.0, b1 = 1e30, b2 = 1e30;
        for (int r = 0; r < THREAD_ROUNDS; r++)
            if (time_pipeline(x, &cfgs[c], 1, &t1, &c1, &b1) || time_pipeline(x, &cfgs[c], 2, &t2, &c2, &b2))
                return -1;
        char name[64], target[64] = "";
        double ratio = t1 / t2, one = n / t1 / 1e6;
        bool int8_tensor = cfgs[c].bits == 8 && cfgs[c].granularity == SQ_GRAN_TENSOR;
        if (cores >= 2) {
            missed += ratio < 1.7;
            snprintf(target, sizeof target, "x>=1.7 %s", ratio >= 1.7 ? "ok" : "MISSED");
        } else {
            snprintf(target, sizeof target, "x: n/a (1 core)");
        }
        if (int8_tensor) {
            missed += one < 1000.0;
            snprintf(target + strlen(target), sizeof target - strlen(target), "; 1 thread >=1000 %s",
                     one >= 1000.0 ? "ok" : "MISSED");
        }
        printf("%-26s %8.0f %8.0f %8.0f %8.0f %6.2f %6.2f  %s\n", sq_qconfig_describe(&cfgs[c], name, sizeof name),
               one, n / b1 / 1e6, n / t2 / 1e6, n / b2 / 1e6, ratio, c2 / c1, target);
    }
    printf("load average after: %.2f (elapsed figures on a loaded machine are unreliable)\n", load_average());
    sq_threads_set(1);
    return missed;
}

int main(int argc, char **argv)
{
    size_t shape[2] = {4096, 4096};
    sq_error err;
    sq_tensor *x;
    sq_memtune(); /* as the squint program does */
    sq_threads_set(1); /* the table: one thread; threads_section varies it */
    bool only_threads = argc > 1 && strcmp(argv[1], "--threads") == 0;
    bool only_formats = argc > 1 && strcmp(argv[1], "--formats") == 0;
    int skip = only_threads || only_formats;
    if (argc - skip == 3) {
        shape[0] = strtoul(argv[1 + skip], NULL, 10);
        shape[1] = strtoul(argv[2 + skip], NULL, 10);
    }
    if (sq_tensor_randn(shape, 2, 7, &x, &err) != SQ_OK)
        return die(&err);
    if (only_formats) {
        int m = formats_section(x);
        if (m > 0)
            printf("formats: %d target(s) missed\n", m);
        sq_tensor_free(x);
        return m ? EXIT_FAILURE : EXIT_SUCCESS;
    }
    if (only_threads) {
        sq_qconfig c[2] = {sq_qconfig_default(), sq_qconfig_default()};
        c[1].bits = 4;
        c[1].granularity = SQ_GRAN_GROUP;
        c[1].group_size = 32;
        int m = threads_section(x, c, 2);
        sq_tensor_free(x);
        return m ? EXIT_FAILURE : EXIT_SUCCESS;
    }
    float *xh = malloc(x->numel * sizeof(float));
    if (!xh)
        return EXIT_FAILURE;
    double n = (double)x->numel;
    printf("squint bench: %zu x %zu f32 (%.0f M elements), single thread; best of %d rounds (engine) and %d "
           "(baseline),\neach round timing every configuration in turn\n",
           shape[0], shape[1], n / 1e6, ROUNDS, BASE_ROUNDS);
    printf("M elem/s          quantize          dequantize      quant+deq+stats+hist64    target\n");
    printf("%-26s %7s %6s %5s %7s %6s %5s %7s %6s %5s\n", "config", "engine", "base", "x", "engine",
           "base", "x", "engine", "base", "x");
    static const int bits[] = {8, 4};
    sq_qconfig cfgs[N_CONFIGS];
    timing eng[N_CONFIGS], base[N_CONFIGS];
    double sqnr;
    for (int c = 0; c < N_CONFIGS; c++) { /* int8/int4 x sym/asym x tensor/channel/group(32) */
        cfgs[c] = sq_qconfig_default();
        cfgs[c].bits = bits[c / 6];
        cfgs[c].mode = (sq_mode)(c / 3 % 2);
        cfgs[c].granularity = (sq_granularity)(c % 3);
        cfgs[c].group_size = 32;
        eng[c] = base[c] = (timing){1e30, 1e30, 1e30};
    }
    { /* warm up: the allocator and the page tables settle before anything is timed */
        timing w = {1e30, 1e30, 1e30};
        for (int r = 0; r < 2; r++)
            if (time_engine(x, &cfgs[0], xh, &w, &sqnr))
                return EXIT_FAILURE;
    }
    /* Rounds go over every configuration in turn, so that each one is sampled
     * across the whole run rather than in one stretch of a shared machine's
     * slow or fast phases; each keeps its best time. */
    for (int r = 0; r < ROUNDS; r++) {
        for (int c = 0; c < N_CONFIGS; c++) {
            if (time_engine(x, &cfgs[c], xh, &eng[c], &sqnr) ||
                (r < BASE_ROUNDS && time_baseline(x, &cfgs[c], xh, &base[c])))
                return EXIT_FAILURE;
        }
    }
    int missed = 0;
    for (int c = 0; c < N_CONFIGS; c++) {
        const timing *e = &eng[c], *b = &base[c];
        char name[64];
        bool targeted = cfgs[c].mode == SQ_MODE_SYMMETRIC &&
                        ((cfgs[c].bits == 8 && cfgs[c].granularity == SQ_GRAN_TENSOR) ||
                         (cfgs[c].bits == 4 && cfgs[c].granularity == SQ_GRAN_GROUP));
        double pipe = n / e->pipeline / 1e6;
        missed += targeted && pipe < 500.0;
        printf("%-26s %7.0f %6.0f %5.1f %7.0f %6.0f %5.1f %7.0f %6.0f %5.1f  %s\n",
               sq_qconfig_describe(&cfgs[c], name, sizeof name), n / e->quant / 1e6, n / b->quant / 1e6,
               b->quant / e->quant, n / e->dequant / 1e6, n / b->dequant / 1e6, b->dequant / e->dequant, pipe,
               n / b->pipeline / 1e6, b->pipeline / e->pipeline,
               targeted ? (pipe >= 500.0 ? ">=500 ok" : ">=500 MISSED") : "");
    }
    printf("pipeline = sq_quantize_stats: quantize with each chunk's x_hat, statistics and 64-bin error\n"
           "histogram formed while the chunk is in cache (per-tensor: one range pass + that pass);\n"
           "baseline = scalar double reference (tests/refquant.c) doing quantize, dequantize, stats, histogram.\n");
    sq_qconfig tcfgs[2] = {cfgs[0], cfgs[8]}; /* int8 sym per-tensor, int4 sym per-group(32) */
    int tmissed = threads_section(x, tcfgs, 2), fmissed = tmissed < 0 ? -1 : formats_section(x);
    if (tmissed < 0 || fmissed < 0)
        return EXIT_FAILURE;
    free(xh);
    sq_tensor_free(x);
    return missed || tmissed || fmissed ? EXIT_FAILURE : EXIT_SUCCESS;
}
