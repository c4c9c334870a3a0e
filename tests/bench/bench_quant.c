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
 * the squint program does. Exits non-zero when a target is missed.
 * Usage: bench_quant [rows cols] (default 4096 4096). */
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "memtune.h"

#include "quant.h"
#include "refquant.h"
#include "stats.h"

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

enum { N_CONFIGS = 12, ROUNDS = 7, BASE_ROUNDS = 2 };

int main(int argc, char **argv)
{
    size_t shape[2] = {4096, 4096};
    sq_error err;
    sq_tensor *x;
    sq_memtune(); /* as the squint program does */
    if (argc == 3) {
        shape[0] = strtoul(argv[1], NULL, 10);
        shape[1] = strtoul(argv[2], NULL, 10);
    }
    if (sq_tensor_randn(shape, 2, 7, &x, &err) != SQ_OK)
        return die(&err);
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
    free(xh);
    sq_tensor_free(x);
    return missed ? EXIT_FAILURE : EXIT_SUCCESS;
}
