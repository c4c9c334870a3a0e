/*
 * threads.h - a small persistent pool of worker threads for the engine.
 *
 * Large tensors are processed in fixed parts (their boundaries depend only on
 * the tensor's size and layout, never on the number of threads), each part's
 * floating-point partial results are kept apart and combined in part order,
 * so every result is bit-identical for any thread count. This file provides
 * the threads: sq_parallel_for runs tasks 0..n-1 on the calling thread plus
 * up to sq_threads_get() - 1 helper threads, created on first use and
 * joined by sq_threads_shutdown (registered with atexit).
 *
 *     sq_threads_set(4);                         // or SQUINT_THREADS=4
 *     sq_parallel_for(n_parts, part_fn, &job);   // part_fn(&job, i, worker)
 *
 * Nothing here fails: a helper thread that cannot be created leaves its
 * share of the work to the others (ultimately the calling thread alone).
 * Thread-safety: every function may be called from any thread. A call to
 * sq_parallel_run made while the pool is busy with another (including one
 * from inside a task) runs its tasks serially on the calling thread.
 */
#ifndef SQ_THREADS_H
#define SQ_THREADS_H

#include <stddef.h>

/* Upper bound on the thread count. */
#define SQ_THREADS_MAX 64

/* The thread count from the text of SQUINT_THREADS: a decimal integer in
 * 1..SQ_THREADS_MAX with optional surrounding blanks; 0 for anything else
 * (NULL, empty, negative, zero, too large, trailing garbage). */
int sq_threads_parse(const char *s);

/* The number of CPUs this process may run on (sched_getaffinity, else
 * sysconf), clamped to 1..SQ_THREADS_MAX. */
int sq_threads_cores(void);

/* The default thread count: SQUINT_THREADS when it parses, else the cores. */
int sq_threads_default(void);

/* Use n threads (the caller included) from now on; n <= 0 restores the
 * default (re-reading SQUINT_THREADS), n > SQ_THREADS_MAX is clamped. */
void sq_threads_set(int n);

/* The thread count in use: the last sq_threads_set, else the default
 * (evaluated once). Always in 1..SQ_THREADS_MAX. */
int sq_threads_get(void);

/* Stop and join the helper threads (waiting for a running job to end). The
 * pool is created again on the next parallel call. Registered with atexit
 * when the first helper starts. */
void sq_threads_shutdown(void);

/* A task: index in 0..n-1, worker in 0..workers-1. Two tasks running at the
 * same time never share a worker number, so per-worker scratch needs no
 * locking; which worker runs which task is not fixed. */
typedef void (*sq_task_fn)(void *ctx, size_t index, int worker);

/* How many workers a parallel call over n tasks would use now:
 * min(sq_threads_get(), n), at least 1. */
int sq_parallel_workers(size_t n);

/* Run fn(ctx, i, w) for every i in 0..n-1 with worker numbers w < workers
 * (workers <= 1 runs them in order on the calling thread); returns when all
 * are done. Tasks must not fail or stop the thread. */
void sq_parallel_run(size_t n, int workers, sq_task_fn fn, void *ctx);

/* sq_parallel_run(n, sq_parallel_workers(n), fn, ctx). */
void sq_parallel_for(size_t n, sq_task_fn fn, void *ctx);

#endif
