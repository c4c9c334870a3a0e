#define _GNU_SOURCE /* memmem, mkdtemp */
/* test_threads.c - the worker pool (engine/threads.c) and the engine's
 * parallel passes: quantize, dequantize and the statistics give the same
 * bytes for 1, 2, 3 and 7 threads on tensors of several parts (SQ_PART
 * elements each, sizes not multiples of it) in every granularity; the pool
 * runs every task once on several threads, survives many set/use cycles,
 * nested calls and fork(); SQUINT_THREADS parsing. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blockfmt.h"
#include "dtconv.h"
#include "gguf_write.h"
#include "quant.h"
#include "quant_int.h"
#include "stats.h"
#include "testutil.h"
#include "threads.h"

static const int thread_counts[] = {1, 2, 3, 7};
enum { N_COUNTS = 4 };

/* Everything the engine computes for one tensor and configuration. */
typedef struct outcome {
    sq_qtensor *q;          /* sq_quantize */
    float *xh;              /* sq_dequantize_into */
    sq_qtensor *qf;         /* sq_quantize_stats, with every option */
    sq_stats sf, sr, sd;    /* fused; sq_roundtrip_stats (step range); data range */
    sq_hist hf, hr, hd;
    double *im, *im_ref;    /* fused per-index mse; sq_index_mse */
    uint64_t cc[256];
} outcome;

static void run_all(const sq_tensor *x, const sq_qconfig *cfg, outcome *o)
{
    sq_error err;
    memset(o, 0, sizeof *o);
    ck_assert_msg(sq_quantize(x, cfg, &o->q, &err) == SQ_OK, "%s", err.msg);
    size_t ns = o->q->n_scales ? o->q->n_scales : 1;
    o->xh = malloc(x->numel * sizeof(float));
    o->im = malloc(ns * sizeof(double));
    o->im_ref = malloc(ns * sizeof(double));
    ck_assert(o->xh && o->im && o->im_ref);
    sq_dequantize_into(o->q, o->xh);
    sq_stats_opts so = sq_stats_opts_default();
    so.hist_bins = 50;
    so.index_mse = o->im;
    so.code_counts = o->cc;
    ck_assert_msg(sq_quantize_stats(x, cfg, &so, &o->qf, &o->sf, &o->hf, &err) == SQ_OK, "%s", err.msg);
    ck_assert(sq_roundtrip_stats(x, o->q, &so, &o->sr, &o->hr, &err) == SQ_OK);
    so.range = SQ_HIST_RANGE_DATA;
    ck_assert(sq_roundtrip_stats(x, o->q, &so, &o->sd, &o->hd, &err) == SQ_OK);
    ck_assert(sq_index_mse(x, o->q, o->im_ref, &err) == SQ_OK);
}

static void outcome_free(outcome *o)
{
    sq_qtensor_free(o->q);
    sq_qtensor_free(o->qf);
    sq_hist_free(&o->hf);
    sq_hist_free(&o->hr);
    sq_hist_free(&o->hd);
    free(o->xh);
    free(o->im);
    free(o->im_ref);
}

static void same_hist(const sq_hist *a, const sq_hist *b, const char *what)
{
    ck_assert_msg(a->bins == b->bins && a->lo == b->lo && a->hi == b->hi, "%s: histogram range", what);
    ck_assert_msg(a->below == b->below && a->above == b->above, "%s: below/above", what);
    ck_assert_msg(memcmp(a->counts, b->counts, (size_t)a->bins * sizeof(uint64_t)) == 0, "%s: bins", what);
}

static void same_qtensor(const sq_qtensor *a, const sq_qtensor *b, const char *what)
{
    ck_assert_uint_eq(a->code_bytes, b->code_bytes);
    ck_assert_uint_eq(a->n_scales, b->n_scales);
    ck_assert_msg(memcmp(a->codes, b->codes, a->code_bytes) == 0, "%s: codes", what);
    ck_assert_msg(memcmp(a->scales, b->scales, a->n_scales * sizeof(double)) == 0, "%s: scales", what);
    ck_assert_msg(memcmp(a->zero_points, b->zero_points, a->n_scales * sizeof(double)) == 0, "%s: zero points",
                  what);
    ck_assert_msg(a->n_clipped == b->n_clipped, "%s: clipped %zu vs %zu", what, a->n_clipped, b->n_clipped);
}

/* o (with some thread count) is byte for byte the same as ref (1 thread). */
static void same_outcome(const outcome *o, const outcome *ref, size_t numel, const char *what)
{
    size_t ns = ref->q->n_scales;
    same_qtensor(o->q, ref->q, what);
    same_qtensor(o->qf, ref->q, what);
    ck_assert_msg(memcmp(o->xh, ref->xh, numel * sizeof(float)) == 0, "%s: dequantized", what);
    ck_assert_msg(memcmp(&o->sf, &ref->sf, sizeof o->sf) == 0, "%s: fused statistics", what);
    ck_assert_msg(memcmp(&o->sr, &ref->sr, sizeof o->sr) == 0, "%s: round-trip statistics", what);
    ck_assert_msg(memcmp(&o->sd, &ref->sd, sizeof o->sd) == 0, "%s: data-range statistics", what);
    ck_assert_msg(o->sf.mse == ref->sf.mse && o->sf.cosine == ref->sf.cosine && o->sf.sum_x2 == ref->sf.sum_x2,
                  "%s: sums", what);
    same_hist(&o->hf, &ref->hf, what);
    same_hist(&o->hr, &ref->hr, what);
    same_hist(&o->hd, &ref->hd, what);
    ck_assert_msg(memcmp(o->im, ref->im, ns * sizeof(double)) == 0, "%s: per-index mse", what);
    ck_assert_msg(memcmp(o->im_ref, ref->im_ref, ns * sizeof(double)) == 0, "%s: sq_index_mse", what);
    ck_assert_msg(memcmp(o->cc, ref->cc, ((size_t)1 << ref->q->config.bits) * sizeof(uint64_t)) == 0,
                  "%s: code counts", what);
}

/* Within one outcome: the fused pass agrees with the separate ones. */
static void self_consistent(const outcome *o, const char *what)
{
    size_t ns = o->q->n_scales;
    ck_assert_msg(memcmp(&o->sf, &o->sr, sizeof o->sf) == 0, "%s: fused vs round-trip statistics", what);
    same_hist(&o->hf, &o->hr, what);
    ck_assert_msg(memcmp(o->im, o->im_ref, ns * sizeof(double)) == 0, "%s: fused vs sq_index_mse", what);
    uint64_t cc[256];
    sq_code_histogram(o->q, cc);
    ck_assert_msg(memcmp(o->cc, cc, ((size_t)1 << o->q->config.bits) * sizeof(uint64_t)) == 0, "%s: code counts",
                  what);
}

/* Normal values with outliers, zeros and exact ties. */
static sq_tensor *test_tensor(const size_t *shape, int nd, uint64_t seed)
{
    sq_tensor *t;
    sq_error err;
    ck_assert(sq_tensor_randn(shape, nd, seed, &t, &err) == SQ_OK);
    for (size_t i = 0; i < t->numel; i += 97)
        t->data[i] = i % 3 == 0 ? 0.0f : (i % 3 == 1 ? 25.0f * t->data[i] : 1.5f);
    return t;
}

static void check_config(const sq_tensor *x, const sq_qconfig *cfg)
{
    char what[96];
    outcome ref, o;
    sq_qconfig_describe(cfg, what, sizeof what);
    sq_threads_set(1);
    run_all(x, cfg, &ref);
    self_consistent(&ref, what);
    for (int t = 1; t < N_COUNTS; t++) {
        sq_threads_set(thread_counts[t]);
        run_all(x, cfg, &o);
        same_outcome(&o, &ref, x->numel, what);
        outcome_free(&o);
    }
    outcome_free(&ref);
}

static sq_qconfig config(int bits, sq_mode mode, sq_granularity g, int axis, size_t group)
{
    sq_qconfig c = sq_qconfig_default();
    c.bits = bits;
    c.mode = mode;
    c.granularity = g;
    c.axis = axis;
    c.group_size = group;
    return c;
}

/* 1000 x 777: three parts, the last one short. */
START_TEST(test_identical_2d)
{
    size_t shape[2] = {1000, 777};
    sq_tensor *x = test_tensor(shape, 2, 11);
    ck_assert_uint_gt(sq_part_count(x->numel), 2);
    ck_assert_uint_ne(x->numel % SQ_PART, 0);
    sq_qconfig cfgs[] = {
        config(8, SQ_MODE_SYMMETRIC, SQ_GRAN_TENSOR, 0, 32),
        config(4, SQ_MODE_ASYMMETRIC, SQ_GRAN_TENSOR, 0, 32),
        config(3, SQ_MODE_SYMMETRIC, SQ_GRAN_TENSOR, 0, 32),
        config(8, SQ_MODE_SYMMETRIC, SQ_GRAN_CHANNEL, 0, 32),
        config(4, SQ_MODE_ASYMMETRIC, SQ_GRAN_CHANNEL, 1, 32),
        config(8, SQ_MODE_SYMMETRIC, SQ_GRAN_GROUP, 0, 37),
        config(3, SQ_MODE_ASYMMETRIC, SQ_GRAN_GROUP, 0, 7),
    };
    cfgs[1].rounding = SQ_ROUND_EVEN;
    cfgs[4].zero_in_range = true;
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++)
        check_config(x, &cfgs[i]);
    sq_tensor_free(x);
}
END_TEST

/* Shapes whose runs cross parts in every way: a channel longer than a part,
 * channels that repeat every element (run 1) with more channels than a part
 * holds, short runs of 3, groups of 64 (the AVX-512 range kernel). */
START_TEST(test_identical_odd_shapes)
{
    struct {
        size_t shape[3];
        int nd;
        sq_qconfig cfg;
    } cases[] = {
        {{2, 300007}, 2, config(8, SQ_MODE_SYMMETRIC, SQ_GRAN_CHANNEL, 0, 32)},
        {{3, 300007}, 2, config(8, SQ_MODE_ASYMMETRIC, SQ_GRAN_CHANNEL, 1, 32)},
        {{5, 70001, 3}, 3, config(4, SQ_MODE_SYMMETRIC, SQ_GRAN_CHANNEL, 1, 32)},
        {{600001}, 1, config(4, SQ_MODE_SYMMETRIC, SQ_GRAN_CHANNEL, 0, 32)},
        {{600001}, 1, config(8, SQ_MODE_ASYMMETRIC, SQ_GRAN_TENSOR, 0, 32)},
        {{9000, 64}, 2, config(4, SQ_MODE_SYMMETRIC, SQ_GRAN_GROUP, 0, 64)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sq_tensor *x = test_tensor(cases[i].shape, cases[i].nd, 100 + i);
        check_config(x, &cases[i].cfg);
        sq_tensor_free(x);
    }
}
END_TEST

/* A small tensor is one part; its results do not change with threads either. */
START_TEST(test_identical_small)
{
    size_t shape[2] = {64, 100};
    sq_tensor *x = test_tensor(shape, 2, 5);
    ck_assert_uint_eq(sq_part_count(x->numel), 1);
    ck_assert_uint_eq(sq_part_count(SQ_PART), 1);
    ck_assert_uint_eq(sq_part_count(SQ_PART + 1), 2);
    sq_qconfig c = config(8, SQ_MODE_SYMMETRIC, SQ_GRAN_CHANNEL, 1, 32);
    check_config(x, &c);
    sq_tensor_free(x);
}
END_TEST

/* A non-finite value in the last part is reported with any thread count. */
START_TEST(test_nonfinite_in_last_part)
{
    size_t shape[1] = {3 * SQ_PART + 6};
    sq_tensor *x = test_tensor(shape, 1, 3);
    x->data[x->numel - 2] = NAN;
    for (int t = 0; t < N_COUNTS; t++) {
        sq_qtensor *q;
        sq_stats st;
        sq_error err;
        sq_threads_set(thread_counts[t]);
        for (int g = 0; g < 3; g++) {
            sq_qconfig c = config(8, SQ_MODE_SYMMETRIC, (sq_granularity)g, 0, 3);
            ck_assert_int_eq(sq_quantize(x, &c, &q, &err), SQ_ERR_NONFINITE);
            ck_assert_ptr_null(q);
            ck_assert_int_eq(sq_quantize_stats(x, &c, NULL, &q, &st, NULL, &err), SQ_ERR_NONFINITE);
        }
    }
    sq_tensor_free(x);
}
END_TEST

/* ---- the pool ------------------------------------------------------------------ */

typedef struct count_job {
    int runs[1000];
    int max_worker;
    pthread_mutex_t m;
    pthread_t seen[SQ_THREADS_MAX];
    int n_seen;
    int want_seen; /* tasks wait (up to 5 s) until this many threads have taken part */
} count_job;

static void count_task(void *vjob, size_t i, int worker)
{
    count_job *j = vjob;
    pthread_mutex_lock(&j->m);
    j->runs[i]++;
    j->max_worker = worker > j->max_worker ? worker : j->max_worker;
    bool known = false;
    for (int k = 0; k < j->n_seen; k++)
        known |= pthread_equal(j->seen[k], pthread_self()) != 0;
    if (!known && j->n_seen < SQ_THREADS_MAX)
        j->seen[j->n_seen++] = pthread_self();
    pthread_mutex_unlock(&j->m);
    for (int spin = 0; i < 64 && spin < 5000; spin++) {
        pthread_mutex_lock(&j->m);
        bool enough = j->n_seen >= j->want_seen;
        pthread_mutex_unlock(&j->m);
        if (enough)
            break;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
}

static void count_job_init(count_job *j, int want_seen)
{
    memset(j, 0, sizeof *j);
    pthread_mutex_init(&j->m, NULL);
    j->want_seen = want_seen;
}

/* sq_decode_elements over the pool: the same floats as element by element,
 * for every thread count (bf16, f16 and big-endian f32; random bits,
 * NaNs included). */
START_TEST(test_decode_parallel)
{
    const size_t n = 3 * ((size_t)1 << 18) + 1234;
    const sq_dtype dts[3] = {SQ_DTYPE_BF16, SQ_DTYPE_F16, SQ_DTYPE_F32};
    uint8_t *src = malloc(4 * n);
    float *ref = malloc(n * sizeof(float)), *got = malloc(n * sizeof(float));
    ck_assert(src && ref && got);
    uint64_t r = 0x243F6A8885A308D3ULL;
    for (size_t i = 0; i < 4 * n; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        src[i] = (uint8_t)(r >> 56);
    }
    for (int d = 0; d < 3; d++) {
        bool big = dts[d] == SQ_DTYPE_F32;
        size_t w = sq_dtype_size(dts[d]);
        for (size_t i = 0; i < n; i++) /* one element a call: never split */
            sq_decode_elements(dts[d], big, src + i * w, 1, ref + i);
        for (int t = 0; t < N_COUNTS; t++) {
            sq_threads_set(thread_counts[t]);
            memset(got, 0, n * sizeof(float));
            sq_decode_elements(dts[d], big, src, n, got);
            ck_assert_msg(memcmp(got, ref, n * sizeof(float)) == 0, "dtype %d, %d threads", (int)dts[d],
                          thread_counts[t]);
        }
    }
    sq_threads_set(0);
    free(src);
    free(ref);
    free(got);
}
END_TEST

/* Read a whole file into a new buffer; its size in *len. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert(f != NULL);
    ck_assert(fseek(f, 0, SEEK_END) == 0);
    long sz = ftell(f);
    ck_assert(sz > 0 && fseek(f, 0, SEEK_SET) == 0);
    uint8_t *b = malloc((size_t)sz);
    ck_assert(b && fread(b, 1, (size_t)sz, f) == (size_t)sz);
    fclose(f);
    *len = (size_t)sz;
    return b;
}

/* The GGUF writer quantizes block types in batches of rows over the pool:
 * the file is the same for every thread count and holds exactly the rows
 * sq_block_quantize_row makes one by one. 203 rows: three batches and a
 * partial one. */
START_TEST(test_gguf_rows_parallel)
{
    const size_t rows = 203, cols = 512, shape[2] = {rows, cols};
    const sq_block_type types[2] = {SQ_BLOCK_Q4_K, SQ_BLOCK_Q8_0};
    char dir[] = "/tmp/sq_thr_XXXXXX", path[64];
    ck_assert(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/t.gguf", dir);
    float *x = malloc(rows * cols * sizeof(float));
    ck_assert(x != NULL);
    for (size_t i = 0; i < rows * cols; i++)
        x[i] = sinf((float)i * 0.37f) * (1.0f + (float)(i % 97) * 0.05f);
    for (int k = 0; k < 2; k++) {
        sq_error err;
        size_t rb, len0 = 0;
        ck_assert(sq_block_row_bytes(types[k], cols, &rb, &err) == SQ_OK);
        uint8_t *want = malloc(rows * rb), *first = NULL;
        ck_assert(want != NULL);
        for (size_t r = 0; r < rows; r++)
            ck_assert(sq_block_quantize_row(types[k], x + r * cols, cols, want + r * rb, &err) == SQ_OK);
        for (int t = 0; t < N_COUNTS; t++) {
            sq_gguf_writer *w;
            sq_threads_set(thread_counts[t]);
            ck_assert(sq_gguf_writer_new(path, &w, &err) == SQ_OK);
            ck_assert(sq_gguf_writer_add_tensor(w, "w", (int)types[k], shape, 2, &err) == SQ_OK);
            ck_assert_msg(sq_gguf_writer_write_floats(w, x, rows * cols, &err) == SQ_OK, "%s", err.msg);
            ck_assert_msg(sq_gguf_writer_finish(w, &err) == SQ_OK, "%s", err.msg);
            size_t len;
            uint8_t *got = slurp(path, &len);
            if (!first) {
                first = got;
                len0 = len;
                ck_assert(len >= rows * rb);
                ck_assert_msg(memmem(got, len, want, rows * rb) != NULL, "type %d: rows differ", (int)types[k]);
            } else {
                ck_assert_uint_eq(len, len0);
                ck_assert_msg(memcmp(got, first, len) == 0, "type %d, %d threads", (int)types[k], thread_counts[t]);
                free(got);
            }
        }
        free(first);
        free(want);
    }
    sq_threads_set(0);
    unlink(path);
    rmdir(dir);
    free(x);
}
END_TEST

START_TEST(test_every_task_once_on_several_threads)
{
    static count_job j;
    for (int w = 1; w <= 7; w++) {
        count_job_init(&j, w);
        sq_parallel_run(1000, w, count_task, &j);
        for (int i = 0; i < 1000; i++)
            ck_assert_int_eq(j.runs[i], 1);
        ck_assert_int_lt(j.max_worker, w);
        ck_assert_int_eq(j.n_seen, w); /* the caller and w - 1 helpers took part */
    }
    count_job_init(&j, 1);
    sq_parallel_run(3, 7, count_task, &j); /* more workers than tasks */
    ck_assert(j.runs[0] == 1 && j.runs[1] == 1 && j.runs[2] == 1 && j.runs[3] == 0);
    ck_assert_int_lt(j.max_worker, 3);
    count_job_init(&j, 1);
    sq_parallel_run(0, 4, count_task, &j); /* nothing to do */
    ck_assert_int_eq(j.runs[0], 0);
    sq_threads_shutdown();
    sq_threads_shutdown(); /* twice is fine */
}
END_TEST

START_TEST(test_set_use_cycles)
{
    static count_job j;
    for (int cycle = 0; cycle < 1000; cycle++) {
        sq_threads_set(1 + cycle % 7);
        ck_assert_int_eq(sq_threads_get(), 1 + cycle % 7);
        ck_assert_int_eq(sq_parallel_workers(10), 1 + cycle % 7);
        ck_assert_int_eq(sq_parallel_workers(2), cycle % 7 ? 2 : 1);
        count_job_init(&j, 1);
        sq_parallel_for(10, count_task, &j);
        for (int i = 0; i < 10; i++)
            ck_assert_int_eq(j.runs[i], 1);
        ck_assert_int_lt(j.max_worker, 1 + cycle % 7);
        if (cycle % 100 == 99)
            sq_threads_shutdown(); /* and started again by the next call */
    }
}
END_TEST

/* A parallel call from inside a task runs serially and completes. */
static void outer_task(void *vjob, size_t i, int worker)
{
    count_job *inner = (count_job *)vjob + i;
    (void)worker;
    count_job_init(inner, 1);
    sq_parallel_run(20, 4, count_task, inner);
}

START_TEST(test_nested_calls)
{
    static count_job jobs[6];
    sq_parallel_run(6, 3, outer_task, jobs);
    for (int k = 0; k < 6; k++)
        for (int i = 0; i < 20; i++)
            ck_assert_int_eq(jobs[k].runs[i], 1);
}
END_TEST

/* A child process forked after the pool started gets a working pool. The
 * child reports through a pipe: its exit status may be changed by tools
 * (valgrind counts the memory of the parent's threads, gone in the child,
 * as lost). */
START_TEST(test_fork)
{
    static count_job j;
    int fd[2];
    char verdict = '?';
    count_job_init(&j, 1);
    sq_parallel_run(50, 3, count_task, &j);
    ck_assert_int_eq(pipe(fd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        count_job_init(&j, 3);
        sq_parallel_run(50, 3, count_task, &j);
        int ok = j.n_seen == 3;
        for (int i = 0; i < 50; i++)
            ok &= j.runs[i] == 1;
        verdict = ok ? 'y' : 'n';
        ssize_t w = write(fd[1], &verdict, 1);
        _exit(w == 1 ? 0 : 1);
    }
    close(fd[1]);
    ck_assert_int_eq(read(fd[0], &verdict, 1), 1);
    close(fd[0]);
    ck_assert_int_eq(verdict, 'y');
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}
END_TEST

START_TEST(test_parse_and_defaults)
{
    ck_assert_int_eq(sq_threads_parse("4"), 4);
    ck_assert_int_eq(sq_threads_parse(" 3 "), 3);
    ck_assert_int_eq(sq_threads_parse("64"), 64);
    ck_assert_int_eq(sq_threads_parse("065"), 0);
    ck_assert_int_eq(sq_threads_parse("65"), 0);
    ck_assert_int_eq(sq_threads_parse("99999999999999999999999"), 0);
    ck_assert_int_eq(sq_threads_parse("0"), 0);
    ck_assert_int_eq(sq_threads_parse("-2"), 0);
    ck_assert_int_eq(sq_threads_parse("+2"), 0);
    ck_assert_int_eq(sq_threads_parse("2x"), 0);
    ck_assert_int_eq(sq_threads_parse("2 3"), 0);
    ck_assert_int_eq(sq_threads_parse("many"), 0);
    ck_assert_int_eq(sq_threads_parse(""), 0);
    ck_assert_int_eq(sq_threads_parse(NULL), 0);
    int cores = sq_threads_cores();
    ck_assert(cores >= 1 && cores <= SQ_THREADS_MAX);
    ck_assert_int_eq(setenv("SQUINT_THREADS", "5", 1), 0);
    ck_assert_int_eq(sq_threads_default(), 5);
    sq_threads_set(0);
    ck_assert_int_eq(sq_threads_get(), 5);
    const char *bad[] = {"", "0", "-1", "lots", "1000", "3.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(setenv("SQUINT_THREADS", bad[i], 1), 0);
        ck_assert_int_eq(sq_threads_default(), cores);
        sq_threads_set(-3);
        ck_assert_int_eq(sq_threads_get(), cores);
    }
    ck_assert_int_eq(unsetenv("SQUINT_THREADS"), 0);
    ck_assert_int_eq(sq_threads_default(), cores);
    sq_threads_set(1000);
    ck_assert_int_eq(sq_threads_get(), SQ_THREADS_MAX);
    sq_threads_set(2);
    ck_assert_int_eq(sq_threads_get(), 2);
}
END_TEST

/* Without any setting, the first use takes SQUINT_THREADS (run in a fresh
 * child, where nothing has chosen the count yet). */
START_TEST(test_env_first_use)
{
    const char *fork_mode = getenv("CK_FORK");
    if (fork_mode && strcmp(fork_mode, "no") == 0)
        return; /* earlier tests in this process chose the count already */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setenv("SQUINT_THREADS", " 6", 1);
        _exit(sq_threads_get() == 6 ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *pool = tcase_create("pool");
    tcase_set_timeout(pool, 120);
    tcase_add_test(pool, test_every_task_once_on_several_threads);
    tcase_add_test(pool, test_set_use_cycles);
    tcase_add_test(pool, test_nested_calls);
    tcase_add_test(pool, test_fork);
    tcase_add_test(pool, test_parse_and_defaults);
    tcase_add_test(pool, test_env_first_use);
    suite_add_tcase(s, pool);
    TCase *tc = tcase_create("identical");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_identical_2d);
    tcase_add_test(tc, test_identical_odd_shapes);
    tcase_add_test(tc, test_identical_small);
    tcase_add_test(tc, test_nonfinite_in_last_part);
    tcase_add_test(tc, test_decode_parallel);
    tcase_add_test(tc, test_gguf_rows_parallel);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(threads_suite)
