/* bench_calib.c - calibration cost: int4 symmetric per-group(32) on a
 * 4096 x 4096 f32 tensor, single-threaded, with min/max, mse, percentile
 * and clip ranges (wall and process CPU time, and the round-trip MSE), and
 * kl per tensor and per channel at int8. The target: mse under 1 s of CPU
 * time (the wall time also counts waiting for a shared CPU). Exit 1 when it
 * is missed. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

#include "quant.h"
#include "stats.h"
#include "threads.h"

static double now(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Round-trip MSE of q against x. */
static double mse_of(const sq_tensor *x, const sq_qtensor *q)
{
    sq_stats st;
    sq_error err;
    return sq_roundtrip_stats(x, q, NULL, &st, NULL, &err) == SQ_OK ? st.mse : -1.0;
}

int main(void)
{
    size_t shape[2] = {4096, 4096};
    sq_tensor *x;
    sq_error err;
    if (sq_tensor_randn(shape, 2, 1, &x, &err) != SQ_OK) {
        fprintf(stderr, "bench_calib: %s\n", err.msg);
        return 1;
    }
    sq_threads_set(1);
    static const char *const names[] = {"minmax", "mse", "percentile 99.9", "clip 0.9", "kl (int8 tensor)",
                                        "kl (int8 channel)"};
    sq_calibration cal[] = {SQ_CALIB_MINMAX, SQ_CALIB_MSE, SQ_CALIB_PERCENTILE, SQ_CALIB_CLIP, SQ_CALIB_KL, SQ_CALIB_KL};
    double mse_time = 0.0;
    int status = 0;
    for (int m = 0; m < 6; m++) {
        sq_qconfig c = sq_qconfig_default();
        c.bits = m < 4 ? 4 : 8;
        c.granularity = m < 4 ? SQ_GRAN_GROUP : (m == 4 ? SQ_GRAN_TENSOR : SQ_GRAN_CHANNEL);
        c.group_size = 32;
        c.calibration = cal[m];
        c.percentile = 99.9;
        c.clip = 0.9;
        sq_qtensor *q;
        double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        if (sq_quantize(x, &c, &q, &err) != SQ_OK) {
            fprintf(stderr, "bench_calib: %s\n", err.msg);
            status = 1;
            break;
        }
        double t = now(CLOCK_MONOTONIC) - t0, cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (cal[m] == SQ_CALIB_MSE)
            mse_time = cpu;
        char desc[96];
        printf("%-30s 4096x4096, 1 thread, %-18s quantize %.3f s (cpu %.3f s), clipped %8zu, mse %.6g\n",
               sq_qconfig_describe(&c, desc, sizeof desc), names[m], t, cpu, q->n_clipped, mse_of(x, q));
        sq_qtensor_free(q);
    }
    sq_tensor_free(x);
    if (status == 0 && mse_time >= 1.0) {
        printf("bench_calib: mse calibration took %.3f s of CPU time (target < 1 s)\n", mse_time);
        status = 1;
    }
    return status;
}
