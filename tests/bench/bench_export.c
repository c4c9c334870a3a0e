/* bench_export.c - `make bench`: memory and time of the streamed quantized
 * export (sq_report_export), int4 symmetric per-group(32), f16 scales.
 *
 *   1. Memory: a safetensors file of N f32 tensors of R x C (default
 *      16 x 2048 x 2048, 256 MiB) in $TMPDIR (or /tmp) is exported in a
 *      child process; its peak RSS (ru_maxrss) is printed next to the
 *      largest tensor's float32 size. Target: peak <= 2 x largest + 48 MiB
 *      (the program, its libraries and the allocator's kept blocks).
 *   2. Time: files of 10000 and 20000 tiny [2, 4] tensors are exported; the
 *      time per tensor is printed for both. Target: the larger takes less
 *      than 3 x the time of the smaller (linear, not quadratic: the old
 *      name lookups made 100k tensors take over 300 s).
 * Exits non-zero when a target is missed. Files are deleted at the end.
 * Usage: bench_export [tensors rows cols], or bench_export --tiny N (only
 * the time of N tiny tensors). */
#define _DEFAULT_SOURCE /* wait4 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "memtune.h"
#include "report.h"
#include "safetensors.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Stream nt tensors "layer.K.weight" of rows x cols f32 values to path. */
static int write_source(const char *path, size_t nt, size_t rows, size_t cols)
{
    sq_error err;
    sq_st_writer *decl, *w;
    size_t shape[2] = {rows, cols}, n = rows * cols, reserve;
    float *v = malloc(n * sizeof *v);
    if (!v || sq_st_writer_new(&decl, &err) != SQ_OK || sq_st_writer_new(&w, &err) != SQ_OK)
        return -1;
    char name[64];
    for (size_t t = 0; t < nt; t++) {
        snprintf(name, sizeof name, "layer.%zu.weight", t);
        if (sq_st_writer_add_raw(decl, name, "F32", shape, 2, NULL, n * 4, &err) != SQ_OK)
            return -1;
    }
    if (sq_st_writer_header_size(decl, &reserve, &err) != SQ_OK ||
        sq_st_writer_begin(w, path, reserve, &err) != SQ_OK)
        return -1;
    uint64_t s = 88172645463325252ULL;
    for (size_t t = 0; t < nt; t++) {
        for (size_t i = 0; i < n; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            v[i] = (float)((double)(s >> 11) * 0x1p-53 - 0.5) * 0.04f;
        }
        snprintf(name, sizeof name, "layer.%zu.weight", t);
        if (sq_st_writer_add_raw(w, name, "F32", shape, 2, v, n * 4, &err) != SQ_OK)
            return -1;
    }
    free(v);
    int rc = sq_st_writer_finish(w, &err) == SQ_OK ? 0 : -1;
    if (rc)
        fprintf(stderr, "bench_export: %s\n", err.msg);
    sq_st_writer_free(w);
    sq_st_writer_free(decl);
    return rc;
}

/* Export src to dst; seconds taken, or -1 on failure. */
static double export_once(const char *src, const char *dst)
{
    sq_error err;
    sq_checkpoint *ck;
    sq_qconfig c = sq_qconfig_default();
    c.bits = 4;
    c.granularity = SQ_GRAN_GROUP;
    c.group_size = 32;
    c.scale_store = SQ_SCALE_F16;
    if (sq_ckpt_open(src, &ck, &err) != SQ_OK) {
        fprintf(stderr, "bench_export: %s\n", err.msg);
        return -1;
    }
    double t0 = now();
    sq_status st = sq_report_export(ck, NULL, &c, NULL, dst, NULL, NULL, NULL, &err);
    double dt = now() - t0;
    sq_ckpt_close(ck);
    if (st != SQ_OK)
        fprintf(stderr, "bench_export: %s\n", err.msg);
    return st == SQ_OK ? dt : -1;
}

/* export_once in a child process; its peak RSS (kB) in *maxrss. */
static double export_child(const char *src, const char *dst, long *maxrss)
{
    int p[2];
    double dt = -1;
    if (pipe(p))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        sq_memtune();
        dt = export_once(src, dst);
        _exit(write(p[1], &dt, sizeof dt) == (ssize_t)sizeof dt ? 0 : 1);
    }
    close(p[1]);
    if (pid < 0 || read(p[0], &dt, sizeof dt) != (ssize_t)sizeof dt)
        dt = -1;
    close(p[0]);
    int status;
    struct rusage ru;
    if (pid > 0 && wait4(pid, &status, 0, &ru) == pid)
        *maxrss = ru.ru_maxrss;
    return dt;
}

int main(int argc, char **argv)
{
    size_t nt = 16, rows = 2048, cols = 2048, tiny = 0;
    if (argc == 3 && strcmp(argv[1], "--tiny") == 0)
        tiny = strtoul(argv[2], NULL, 10);
    if (argc == 4) {
        nt = strtoul(argv[1], NULL, 10);
        rows = strtoul(argv[2], NULL, 10);
        cols = strtoul(argv[3], NULL, 10);
    }
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char src[512], dst[512];
    snprintf(src, sizeof src, "%s/sq_bench_export_%ld.safetensors", tmp, (long)getpid());
    snprintf(dst, sizeof dst, "%s/sq_bench_export_%ld.q.safetensors", tmp, (long)getpid());
    int fail = 0;
    long rss = 0;
    if (tiny) {
        if (write_source(src, tiny, 2, 4) != 0)
            return 1;
        double dt = export_once(src, dst);
        printf("export of %zu tiny tensors: %.3f s (%.1f us a tensor)\n", tiny, dt, dt / (double)tiny * 1e6);
        unlink(src);
        unlink(dst);
        return dt < 0;
    }
    if (write_source(src, nt, rows, cols) != 0) {
        fprintf(stderr, "bench_export: cannot write %s\n", src);
        unlink(src);
        return 1;
    }
    double dt = export_child(src, dst, &rss), largest = (double)rows * (double)cols * 4 / 1048576.0;
    double peak = (double)rss / 1024.0, limit = 2 * largest + 48;
    printf("export of %zu x [%zu, %zu] f32 (%.0f MiB): %.2f s, peak RSS %.1f MiB = %.2f x the largest tensor "
           "(%.1f MiB; target <= 2 x + 48 MiB = %.0f MiB)%s\n",
           nt, rows, cols, largest * (double)nt, dt, peak, peak / largest, largest, limit,
           dt < 0 || peak > limit ? "  MISSED" : "");
    fail |= dt < 0 || peak > limit;
    unlink(src);
    unlink(dst);
    double t[2];
    const size_t counts[2] = {10000, 20000};
    for (int k = 0; k < 2; k++) {
        if (write_source(src, counts[k], 2, 4) != 0)
            return 1;
        t[k] = export_once(src, dst);
        printf("export of %zu tiny tensors: %.3f s (%.1f us a tensor)\n", counts[k], t[k], t[k] / (double)counts[k] * 1e6);
        unlink(src);
        unlink(dst);
    }
    int linear = t[0] > 0 && t[1] > 0 && t[1] < 3 * t[0];
    printf("20000 / 10000 tensors: %.2f x the time (target < 3: linear)%s\n", t[1] / t[0], linear ? "" : "  MISSED");
    return fail || !linear;
}
