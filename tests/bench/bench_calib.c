/* bench_calib.c - calibration cost: int4 symmetric per-group(32) on a
 * 4096 x 4096 f32 tensor, single-threaded, with min/max, mse, percentile
 * and clip ranges. The target: mse under 1 s. Exit 1 when it is missed. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

#include "quant.h"
#include "threads.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
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
    static const char *const names[] = {"minmax", "mse", "percentile 99.9", "clip 0.9"};
    sq_calibration cal[] = {SQ_CALIB_MINMAX, SQ_CALIB_MSE, SQ_CALIB_PERCENTILE, SQ_CALIB_CLIP};
    double mse_time = 0.0;
    int status = 0;
    for (int m = 0; m < 4; m++) {
        sq_qconfig c = sq_qconfig_default();
        c.bits = 4;
        c.granularity = SQ_GRAN_GROUP;
        c.group_size = 32;
        c.calibration = cal[m];
        c.percentile = 99.9;
        c.clip = 0.9;
        sq_qtensor *q;
        double t0 = now();
        if (sq_quantize(x, &c, &q, &err) != SQ_OK) {
            fprintf(stderr, "bench_calib: %s\n", err.msg);
            status = 1;
            break;
        }
        double t = now() - t0;
        if (cal[m] == SQ_CALIB_MSE)
            mse_time = t;
        printf("int4 sym per-group(32) 4096x4096, 1 thread, %-16s quantize %.3f s, clipped %zu\n", names[m], t,
               q->n_clipped);
        sq_qtensor_free(q);
    }
    sq_tensor_free(x);
    if (status == 0 && mse_time >= 1.0) {
        printf("bench_calib: mse calibration took %.3f s (target < 1 s)\n", mse_time);
        status = 1;
    }
    return status;
}
