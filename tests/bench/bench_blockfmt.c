/* bench_blockfmt.c - `make bench`: throughput of llama.cpp block-format
 * quantization and dequantization (engine/blockfmt.h) over a 4096 x 4096
 * float32 tensor of weight-like values, per type, in M elements/s: the
 * default quantizers (the hand-written AVX-512 kernels where the CPU has
 * them) next to the portable lane code (sq_simd_force_portable) and the
 * plain scalar code (sq_block_force_scalar), all measured in the same run,
 * and the target: >= 400 M/s quantizing Q4_0 / Q8_0, >= 100 M/s for the
 * other types. Single thread; CPU time of the thread (other load on the
 * machine counts less); the default path is the best of five passes, the
 * slower baselines of two. Usage: bench_blockfmt [rows cols]. Exit status 1
 * when a quantizer misses its target or something fails. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blockfmt.h"
#include "simd.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Weight-like values: sums of four uniforms, a different scale per row and
 * an occasional outlier. */
static void fill(float *x, size_t rows, size_t cols)
{
    uint64_t s = 0x2545F4914F6CDD1DULL;
    for (size_t r = 0; r < rows; r++) {
        float scale = 0.01f + 0.002f * (float)(r % 50);
        for (size_t c = 0; c < cols; c++) {
            float v = 0;
            for (int k = 0; k < 4; k++) {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                v += (float)(s >> 40) * 0x1p-24f - 0.5f;
            }
            x[r * cols + c] = (s & 0x3ff) == 0 ? v * scale * 20 : v * scale;
        }
    }
}

/* Seconds for the best of `passes` passes of quantizing (dequantizing
 * when deq) every row; negative on failure. */
static double best_of(int passes, sq_block_type t, int deq, float *x, uint8_t *q, size_t rows, size_t cols,
                      size_t rb)
{
    double best = -1;
    sq_error err;
    for (int pass = 0; pass < passes; pass++) {
        double t0 = now();
        for (size_t r = 0; r < rows; r++) {
            sq_status st = deq ? sq_block_dequantize_row(t, q + r * rb, cols, x + r * cols, &err)
                               : sq_block_quantize_row(t, x + r * cols, cols, q + r * rb, &err);
            if (st != SQ_OK) {
                fprintf(stderr, "bench_blockfmt: %s\n", err.msg);
                return -1;
            }
        }
        double dt = now() - t0;
        if (best < 0 || dt < best)
            best = dt;
    }
    return best;
}

int main(int argc, char **argv)
{
    size_t rows = argc > 2 ? strtoul(argv[1], NULL, 10) : 4096, cols = argc > 2 ? strtoul(argv[2], NULL, 10) : 4096;
    if (rows == 0 || cols == 0 || cols % 256 != 0 || rows > 65536 || cols > 65536) {
        fprintf(stderr, "bench_blockfmt: rows and cols must be positive, at most 65536, cols a multiple of 256\n");
        return 2;
    }
    float *x = malloc(rows * cols * sizeof *x), *y = malloc(rows * cols * sizeof *y);
    uint8_t *q = malloc(rows * cols * 2);
    if (!x || !y || !q) {
        fprintf(stderr, "bench_blockfmt: out of memory\n");
        return 1;
    }
    fill(x, rows, cols);
    double n = (double)rows * (double)cols / 1e6;
    printf("block formats, %zu x %zu float32, one thread (M elements per CPU second; quantize: best of 5,\n"
           "portable lanes and scalar: best of 2, dequantize: best of 3)\n", rows, cols);
    printf("%-7s %10s %10s %10s %10s %8s\n", "type", "quantize", "(portable)", "(scalar)", "dequant", "target");
    int status = 0;
    for (size_t i = 0; i < SQ_BLOCK_TYPE_COUNT; i++) {
        const sq_block_info *bi = sq_block_info_at(i);
        size_t rb = cols / bi->block * bi->block_bytes;
        sq_block_force_scalar(true);
        double ts = best_of(2, bi->type, 0, x, q, rows, cols, rb);
        sq_block_force_scalar(false);
        sq_simd_force_portable(true);
        double tp = best_of(2, bi->type, 0, x, q, rows, cols, rb);
        sq_simd_force_portable(false);
        double tq = best_of(5, bi->type, 0, x, q, rows, cols, rb);
        double td = best_of(3, bi->type, 1, y, q, rows, cols, rb);
        if (tq < 0 || td < 0 || ts < 0 || tp < 0) {
            status = 1;
            break;
        }
        double target = bi->type == SQ_BLOCK_Q4_0 || bi->type == SQ_BLOCK_Q8_0 ? 400 : 100;
        printf("%-7s %10.1f %10.1f %10.1f %10.1f %8.0f%s\n", bi->name, n / tq, n / tp, n / ts, n / td, target,
               n / tq >= target ? "  met" : "  MISSED (quantize below target)");
        if (n / tq < target)
            status = 1;
    }
    free(x);
    free(y);
    free(q);
    return status;
}
