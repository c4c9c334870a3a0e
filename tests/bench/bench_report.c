/* bench_report.c - `make bench`: checkpoint-scan throughput of a report
 * against the raw read speed of the same file, measured in the same run,
 * with and without the overlap of reading the next tensor (sq_ckpt_prefetch)
 * with working on the current one.
 *
 * Writes a synthetic safetensors file of N f32 tensors of R x C (default
 * 64 x 2048 x 2048, about 1.07 GB; at most 2 GB) in $TMPDIR (or /tmp), then
 * runs three phases, each in a child process after dropping the file from
 * the page cache with posix_fadvise(POSIX_FADV_DONTNEED) (the residency is
 * measured with mincore and printed: cold or warm):
 *   1. reads the file with read() into an 8 MB buffer;
 *   2. runs sq_report_run with int4 symmetric per-group(32) over it;
 *   3. the same with SQUINT_NO_PREFETCH=1 (no read-ahead of the next tensor).
 * Six rounds, the phases in a different order in each (balanced: each runs
 * first, second and third and after each other phase equally often, as the
 * shared virtual disk is at times much faster for a phase that follows
 * another); medians printed, then the report once more on the cached file
 * (the work alone). Prints MB/s (file bytes / wall time), tensors/s, and the
 * report process's peak RSS (ru_maxrss) next to the largest tensor's float32
 * size. The file is deleted at the end. Usage: bench_report [tensors rows
 * cols]. */
#define _DEFAULT_SOURCE /* mkstemps, wait4, mincore */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "memtune.h"
#include "checkpoint.h"
#include "report.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Write all of buf; 0 on success. */
static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The synthetic checkpoint: header then nt tensors of weight-like values
 * (sum of four uniforms, scaled). Returns the file size, 0 on failure. */
static size_t write_checkpoint(const char *path, size_t nt, size_t rows, size_t cols)
{
    size_t tbytes = rows * cols * 4, cap = 64 + nt * 96;
    char *hdr = malloc(cap);
    float *buf = malloc(tbytes);
    if (!hdr || !buf)
        return 0;
    size_t h = (size_t)snprintf(hdr, cap, "{");
    for (size_t i = 0; i < nt; i++)
        h += (size_t)snprintf(hdr + h, cap - h, "%s\"layers.%03zu.weight\":{\"dtype\":\"F32\",\"shape\":[%zu,%zu],"
                                                "\"data_offsets\":[%zu,%zu]}",
                              i ? "," : "", i, rows, cols, i * tbytes, (i + 1) * tbytes);
    h += (size_t)snprintf(hdr + h, cap - h, "}");
    while (h % 8)
        hdr[h++] = ' ';
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    uint8_t len[8];
    for (int k = 0; k < 8; k++)
        len[k] = (uint8_t)((uint64_t)h >> (8 * k));
    int bad = fd < 0 || write_all(fd, len, 8) || write_all(fd, hdr, h);
    uint64_t s = 0x2545F4914F6CDD1DULL;
    for (size_t t = 0; t < nt && !bad; t++) {
        for (size_t i = 0; i < rows * cols; i++) {
            double u = 0;
            for (int k = 0; k < 4; k++) {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                u += (double)(s >> 11) * 0x1.0p-53;
            }
            buf[i] = (float)((u - 2.0) * 0.035 * (i % cols == 7 ? 20.0 : 1.0));
        }
        bad = write_all(fd, buf, tbytes);
    }
    if (fd >= 0 && (fdatasync(fd) || close(fd)))
        bad = 1;
    free(hdr);
    free(buf);
    return bad ? 0 : 8 + h + nt * tbytes;
}

/* Drop the file's pages from the cache (as far as the kernel agrees) and
 * return the resident fraction afterwards (-1 when unknown). */
static double drop_cache(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    struct stat st;
    double frac = -1;
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        size_t size = (size_t)st.st_size, pg = (size_t)sysconf(_SC_PAGESIZE), np = (size_t)(size + pg - 1) / pg;
        void *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        unsigned char *vec = malloc(np);
        if (m != MAP_FAILED && vec && mincore(m, size, vec) == 0) {
            size_t res = 0;
            for (size_t i = 0; i < np; i++)
                res += vec[i] & 1;
            frac = (double)res / (double)np;
        }
        free(vec);
        if (m != MAP_FAILED)
            munmap(m, size);
    }
    close(fd);
    return frac;
}

typedef struct result {
    double secs;
    size_t rows;
    int ok;
    double user, sys; /* CPU seconds of the child (filled by in_child) */
} result;

/* Phase 1 in a child: read() the whole file. */
static result phase_read(const char *path)
{
    result r = {0, 0, 0, 0, 0};
    int fd = open(path, O_RDONLY);
    char *buf = malloc(8u << 20);
    if (fd < 0 || !buf)
        return r;
    double t0 = now();
    ssize_t n;
    size_t total = 0;
    while ((n = read(fd, buf, 8u << 20)) > 0)
        total += (size_t)n;
    r.secs = now() - t0;
    r.ok = n == 0;
    r.rows = total;
    close(fd);
    free(buf);
    return r;
}

/* Phase 2 in a child: the report. */
static result phase_report(const char *path)
{
    result r = {0, 0, 0, 0, 0};
    sq_error err;
    sq_checkpoint *ck;
    sq_qconfig cfg = sq_qconfig_default();
    cfg.bits = 4;
    cfg.granularity = SQ_GRAN_GROUP;
    cfg.group_size = 32;
    double t0 = now();
    if (sq_ckpt_open(path, &ck, &err) != SQ_OK) {
        fprintf(stderr, "bench_report: %s\n", err.msg);
        return r;
    }
    sq_report *rep;
    if (sq_report_run(ck, path, &cfg, 1, NULL, &rep, &err) != SQ_OK) {
        fprintf(stderr, "bench_report: %s\n", err.msg);
        sq_ckpt_close(ck);
        return r;
    }
    r.secs = now() - t0;
    r.rows = rep->n_rows;
    r.ok = rep->totals[0].num_failed == 0;
    sq_report_free(rep);
    sq_ckpt_close(ck);
    return r;
}

/* Phase 3 in a child: the report without the read-ahead of the next tensor
 * (sq_ckpt_prefetch off), the baseline of the overlap. */
static result phase_report_noprefetch(const char *path)
{
    setenv("SQUINT_NO_PREFETCH", "1", 1);
    return phase_report(path);
}

/* Run a phase in a child process; its peak RSS (kB) in *maxrss. */
static result in_child(result (*fn)(const char *), const char *path, long *maxrss)
{
    result r = {0, 0, 0, 0, 0};
    int p[2];
    if (pipe(p))
        return r;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        r = fn(path);
        _exit(write_all(p[1], &r, sizeof r) ? 1 : 0);
    }
    close(p[1]);
    if (pid < 0 || read(p[0], &r, sizeof r) != (ssize_t)sizeof r)
        r.ok = 0;
    close(p[0]);
    int status;
    struct rusage ru;
    if (pid > 0 && wait4(pid, &status, 0, &ru) == pid) {
        *maxrss = ru.ru_maxrss;
        r.user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
        r.sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    }
    return r;
}

/* The median of n values (sorts v). */
static double median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *cache_word(double f)
{
    return f < 0 ? "unknown" : f < 0.05 ? "cold" : f > 0.95 ? "warm" : "partly cached";
}

int main(int argc, char **argv)
{
    size_t nt = 64, rows = 2048, cols = 2048;
    sq_memtune(); /* as the squint program does */
    if (argc == 4) {
        nt = strtoul(argv[1], NULL, 10);
        rows = strtoul(argv[2], NULL, 10);
        cols = strtoul(argv[3], NULL, 10);
    } else if (argc != 1) {
        fprintf(stderr, "usage: bench_report [tensors rows cols]\n");
        return 2;
    }
    if (!nt || !rows || !cols || cols % 32 || rows > (1u << 20) || cols > (1u << 20) ||
        (double)nt * (double)rows * (double)cols * 4 > 2e9) {
        fprintf(stderr, "bench_report: need cols a multiple of 32 and a file of at most 2 GB\n");
        return 2;
    }
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/squint-bench-XXXXXX.safetensors", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemps(path, 12);
    if (fd < 0) {
        perror("bench_report: mkstemps");
        return 1;
    }
    close(fd);
    double t0 = now();
    size_t size = write_checkpoint(path, nt, rows, cols);
    if (!size) {
        fprintf(stderr, "bench_report: could not write %s\n", path);
        unlink(path);
        return 1;
    }
    double mb = (double)size / 1e6, tensor_mb = (double)rows * (double)cols * 4 / 1e6;
    printf("bench_report: %zu tensors of %zu x %zu f32, file %.1f MB (%s, written in %.1f s)\n", nt, rows, cols, mb,
           path, now() - t0);
    /* ROUNDS rounds, each cold phase after dropping the file from the page
     * cache. The phases change their order from round to round (each phase
     * runs first, second and third, and after each other phase, equally
     * often): the shared virtual disk is at times much faster for a phase
     * that follows another one. Medians printed. */
    enum { ROUNDS = 6 };
    result rd[ROUNDS], rp[ROUNDS], rn[ROUNDS], rw;
    double cold[3 * ROUNDS], sr[ROUNDS], sp[ROUNDS], sn[ROUNDS];
    double ur[ROUNDS], up[ROUNDS], un[ROUNDS], yr[ROUNDS], yp[ROUNDS], yn[ROUNDS]; /* user, sys CPU s */
    long rss_read = 0, rss_rep = 0, rss_nopf = 0, rss_warm = 0, rss;
    int ok = 1;
    for (int k = 0; k < ROUNDS; k++) {
        static const int order[6][3] = {{0, 1, 2}, {1, 2, 0}, {2, 0, 1}, {0, 2, 1}, {2, 1, 0}, {1, 0, 2}};
        for (int o = 0; o < 3; o++) {
            int ph = order[k % 6][o];
            cold[3 * k + o] = drop_cache(path);
            if (ph == 0)
                rd[k] = in_child(phase_read, path, &rss);
            else if (ph == 1)
                rp[k] = in_child(phase_report, path, &rss);
            else
                rn[k] = in_child(phase_report_noprefetch, path, &rss);
            long *m = ph == 0 ? &rss_read : ph == 1 ? &rss_rep : &rss_nopf;
            *m = rss > *m ? rss : *m;
        }
        ok = ok && rd[k].ok && rp[k].ok && rp[k].rows == nt && rn[k].ok && rn[k].rows == nt;
        sr[k] = rd[k].secs;
        sp[k] = rp[k].secs;
        sn[k] = rn[k].secs;
        ur[k] = rd[k].user, up[k] = rp[k].user, un[k] = rn[k].user;
        yr[k] = rd[k].sys, yp[k] = rp[k].sys, yn[k] = rn[k].sys;
    }
    rw = in_child(phase_report, path, &rss_warm); /* the file is cached now: the work alone */
    unlink(path);
    if (!ok || !rw.ok || rw.rows != nt) {
        fprintf(stderr, "bench_report: a phase failed\n");
        return 1;
    }
    double cmax = 0;
    for (int k = 0; k < 3 * ROUNDS; k++)
        cmax = cold[k] > cmax ? cold[k] : cmax;
    printf("rounds (s): raw");
    for (int k = 0; k < ROUNDS; k++)
        printf(" %.2f", sr[k]);
    printf(", report");
    for (int k = 0; k < ROUNDS; k++)
        printf(" %.2f", sp[k]);
    printf(", no prefetch");
    for (int k = 0; k < ROUNDS; k++)
        printf(" %.2f", sn[k]);
    printf("\n");
    double trd = median(sr, ROUNDS), trp = median(sp, ROUNDS), trn = median(sn, ROUNDS);
    double raw = mb / trd, rep = mb / trp, nopf = mb / trn, warm = mb / rw.secs;
    printf("page cache before each cold phase: %s (at most %.1f%% resident); medians of %d rounds\n",
           cache_word(cmax), cmax * 100, ROUNDS);
    printf("%-36s %8.1f MB/s %7.1f tensors/s %6.2f s\n", "raw read() (8 MB buffer), cold", raw, nt / trd, trd);
    printf("%-36s %8.1f MB/s %7.1f tensors/s %6.2f s  = %.2f x raw read\n", "report, cold, no prefetch", nopf,
           nt / trn, trn, nopf / raw);
    printf("%-36s %8.1f MB/s %7.1f tensors/s %6.2f s  = %.2f x raw read, %.2f x no prefetch\n",
           "report int4 sym per-group(32), cold", rep, nt / trp, trp, rep / raw, rep / nopf);
    printf("%-36s %8.1f MB/s %7.1f tensors/s %6.2f s  (the work alone: the ceiling)\n", "report, warm (file cached)",
           warm, nt / rw.secs, rw.secs);
    printf("CPU seconds, user + sys (medians): raw read %.2f + %.2f, report %.2f + %.2f, no prefetch %.2f + %.2f, "
           "warm %.2f + %.2f\n", median(ur, ROUNDS), median(yr, ROUNDS), median(up, ROUNDS), median(yp, ROUNDS),
           median(un, ROUNDS), median(yn, ROUNDS), rw.user, rw.sys);
    printf("peak RSS of the report process %.1f MB = %.2f x the largest tensor as f32 (%.1f MB), %.3f x the file; "
           "without prefetch %.1f MB; raw-read process %.1f MB\n",
           rss_rep / 1e3 * 1.024, rss_rep * 1.024e3 / (tensor_mb * 1e6), tensor_mb, rss_rep * 1.024e3 / (double)size,
           rss_nopf / 1e3 * 1.024, rss_read / 1e3 * 1.024);
    (void)rss_warm;
    return 0;
}
