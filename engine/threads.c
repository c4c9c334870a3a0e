/* threads.c - the engine's persistent worker pool.
 *
 * One job at a time: the dispatching thread posts (fn, ctx, n) under the
 * pool's mutex, bumps the generation and wakes the helpers; every thread
 * taking part (the dispatcher as worker 0, helpers 1..h) claims task numbers
 * from a shared counter until none are left. The dispatcher returns once all
 * h helpers have checked in. Tasks are coarse (the engine's parts are about a
 * megabyte of data), so claiming them under the mutex costs nothing
 * measurable. Waking a sleeping thread costs 40-100 us on a virtual machine,
 * more than a small job's work, and the engine posts jobs in quick
 * succession (a range pass, then the encoding pass, then the next tensor's),
 * so a helper that has finished polls for the next generation for up to
 * SPIN_NS before it sleeps on the condition variable, and the dispatcher
 * polls for the helpers' check-ins the same way (OpenMP runtimes do the same,
 * GOMP_SPINCOUNT). Only when the pool's threads fit in the cores: with more
 * threads than cores a polling thread would take the core another needs.
 * Helpers are created lazily, block every signal (signals go to
 * the program's own threads), and are joined by sq_threads_shutdown, which
 * runs at exit. A child process after fork() starts with an empty pool. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "threads.h"

#include <ctype.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* How long an idle thread polls before it sleeps (nanoseconds). */
#define SPIN_NS 300000L

typedef struct pool {
    pthread_mutex_t m;
    pthread_cond_t wake; /* helpers wait here for a new generation or stop */
    pthread_cond_t done; /* the dispatcher waits here for check-ins; shutdown for idleness */
    pthread_t tid[SQ_THREADS_MAX];
    unsigned long seen[SQ_THREADS_MAX]; /* the last generation each helper looked at */
    int n_helpers;                     /* helpers running (numbered 1..n_helpers) */
    bool stop, busy;
    bool spin;                         /* poll before sleeping (threads <= cores) */
    unsigned long gen;
    /* the current job */
    sq_task_fn fn;
    void *ctx;
    size_t n, next;
    int job_helpers, running;
} pool;

static pool P = {.m = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

static pthread_mutex_t count_m = PTHREAD_MUTEX_INITIALIZER;
static int chosen; /* the thread count in use; 0 until chosen (under count_m) */

/* ---- thread count ------------------------------------------------------------ */

int sq_threads_parse(const char *s)
{
    long v = 0;
    if (!s)
        return 0;
    while (isspace((unsigned char)*s))
        s++;
    if (!isdigit((unsigned char)*s))
        return 0;
    for (; isdigit((unsigned char)*s); s++) {
        v = v * 10 + (*s - '0');
        if (v > SQ_THREADS_MAX)
            return 0;
    }
    while (isspace((unsigned char)*s))
        s++;
    return *s == '\0' && v >= 1 ? (int)v : 0;
}

int sq_threads_cores(void)
{
    long n = 0;
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
#endif
    if (n < 1)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > SQ_THREADS_MAX ? SQ_THREADS_MAX : (int)n);
}

int sq_threads_default(void)
{
    int n = sq_threads_parse(getenv("SQUINT_THREADS"));
    return n ? n : sq_threads_cores();
}

void sq_threads_set(int n)
{
    if (n <= 0)
        n = sq_threads_default();
    pthread_mutex_lock(&count_m);
    chosen = n > SQ_THREADS_MAX ? SQ_THREADS_MAX : n;
    pthread_mutex_unlock(&count_m);
}

int sq_threads_get(void)
{
    pthread_mutex_lock(&count_m);
    if (!chosen)
        chosen = sq_threads_default();
    int n = chosen;
    pthread_mutex_unlock(&count_m);
    return n;
}

int sq_parallel_workers(size_t n)
{
    size_t t = (size_t)sq_threads_get();
    return n < 1 ? 1 : (int)(n < t ? n : t);
}

/* ---- the pool ------------------------------------------------------------------ */

static long elapsed_ns(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Poll, without the mutex, until *word differs from old or SPIN_NS pass;
 * true when it changed. Called with P.m not held. */
static bool spin_until_changed(const unsigned long *word, unsigned long old)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 1;; i++) {
        if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != old)
            return true;
        cpu_relax();
        if ((i & 63) == 0 && elapsed_ns(&t0) > SPIN_NS)
            return false;
    }
}

/* Run tasks of the current job until none are left; called with P.m held. */
static void take_tasks(int worker)
{
    while (P.next < P.n) {
        size_t t = P.next++;
        sq_task_fn fn = P.fn;
        void *ctx = P.ctx;
        pthread_mutex_unlock(&P.m);
        fn(ctx, t, worker);
        pthread_mutex_lock(&P.m);
    }
}

static void *helper_main(void *arg)
{
    int id = (int)(size_t)arg;
    pthread_mutex_lock(&P.m);
    for (;;) {
        if (P.spin && !P.stop && P.seen[id - 1] == P.gen) { /* poll a while before sleeping */
            unsigned long g = P.gen;
            pthread_mutex_unlock(&P.m);
            spin_until_changed(&P.gen, g);
            pthread_mutex_lock(&P.m);
        }
        while (!P.stop && P.seen[id - 1] == P.gen)
            pthread_cond_wait(&P.wake, &P.m);
        if (P.stop)
            break;
        P.seen[id - 1] = P.gen;
        if (id > P.job_helpers)
            continue; /* not needed for this job */
        take_tasks(id);
        if (__atomic_sub_fetch(&P.running, 1, __ATOMIC_RELEASE) == 0)
            pthread_cond_broadcast(&P.done);
    }
    pthread_mutex_unlock(&P.m);
    return NULL;
}

static void reset_after_fork(void)
{
    pthread_mutex_init(&P.m, NULL);
    pthread_cond_init(&P.wake, NULL);
    pthread_cond_init(&P.done, NULL);
    P.n_helpers = 0;
    P.stop = P.busy = false;
    P.running = P.job_helpers = 0;
}

static void lock_pool(void)
{
    pthread_mutex_lock(&P.m);
}

static void unlock_pool(void)
{
    pthread_mutex_unlock(&P.m);
}

static void register_hooks(void)
{
    atexit(sq_threads_shutdown);
    pthread_atfork(lock_pool, unlock_pool, reset_after_fork);
}

/* Start helpers until there are `want` of them (or one fails to start);
 * called with P.m held. */
static void grow(int want)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (want > SQ_THREADS_MAX - 1)
        want = SQ_THREADS_MAX - 1;
    if (P.n_helpers >= want)
        return;
    pthread_once(&once, register_hooks);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (P.n_helpers < want) {
        int id = P.n_helpers + 1;
        P.seen[id - 1] = P.gen;
        if (pthread_create(&P.tid[id - 1], NULL, helper_main, (void *)(size_t)id) != 0)
            break;
        P.n_helpers = id;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void run_serial(size_t n, sq_task_fn fn, void *ctx)
{
    for (size_t i = 0; i < n; i++)
        fn(ctx, i, 0);
}

void sq_parallel_run(size_t n, int workers, sq_task_fn fn, void *ctx)
{
    if ((size_t)workers > n)
        workers = (int)n;
    if (workers <= 1) {
        run_serial(n, fn, ctx);
        return;
    }
    pthread_mutex_lock(&P.m);
    if (P.busy) { /* another job, or a call from inside a task */
        pthread_mutex_unlock(&P.m);
        run_serial(n, fn, ctx);
        return;
    }
    grow(workers - 1);
    int h = workers - 1 < P.n_helpers ? workers - 1 : P.n_helpers;
    P.busy = true;
    P.fn = fn;
    P.ctx = ctx;
    P.n = n;
    P.next = 0;
    P.job_helpers = P.running = h;
    static int cores; /* the affinity, read once (under P.m) */
    if (!cores)
        cores = sq_threads_cores();
    P.spin = workers <= cores;
    __atomic_store_n(&P.gen, P.gen + 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&P.wake);
    take_tasks(0);
    if (P.spin && P.running > 0) { /* poll for the check-ins a while before sleeping */
        pthread_mutex_unlock(&P.m);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (unsigned i = 1; __atomic_load_n(&P.running, __ATOMIC_ACQUIRE) > 0; i++) {
            cpu_relax();
            if ((i & 63) == 0 && elapsed_ns(&t0) > SPIN_NS)
                break;
        }
        pthread_mutex_lock(&P.m);
    }
    while (P.running > 0)
        pthread_cond_wait(&P.done, &P.m);
    P.busy = false;
    pthread_cond_broadcast(&P.done);
    pthread_mutex_unlock(&P.m);
}

void sq_parallel_for(size_t n, sq_task_fn fn, void *ctx)
{
    sq_parallel_run(n, sq_parallel_workers(n), fn, ctx);
}

void sq_threads_shutdown(void)
{
    pthread_mutex_lock(&P.m);
    while (P.busy)
        pthread_cond_wait(&P.done, &P.m);
    P.busy = true; /* parallel calls meanwhile run serially */
    P.stop = true;
    pthread_cond_broadcast(&P.wake);
    int n = P.n_helpers;
    pthread_mutex_unlock(&P.m);
    for (int i = 0; i < n; i++)
        pthread_join(P.tid[i], NULL);
    pthread_mutex_lock(&P.m);
    P.n_helpers = 0;
    P.stop = false;
    P.busy = false;
    pthread_cond_broadcast(&P.done);
    pthread_mutex_unlock(&P.m);
}
