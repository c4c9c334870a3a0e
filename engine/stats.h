/*
 * stats.h - what quantization did to a tensor: error statistics, the error
 * histogram and the histogram of codes, computed in one pass over the
 * original values and the packed codes (the dequantized values are formed on
 * the fly, exactly as sq_dequantize forms them, as float32).
 *
 *     sq_stats st;  sq_hist h = {0};
 *     sq_stats_opts o = sq_stats_opts_default();      // 64 bins, step range
 *     if (sq_roundtrip_stats(x, q, &o, &st, &h, &err) != SQ_OK) ...;
 *     printf("SQNR %.2f dB\n", st.sqnr_db);
 *     sq_hist_free(&h);
 *
 * Definitions (e = x - x_hat, sums in double precision):
 *   mse = mean(e^2), rmse = sqrt(mse), max_abs_err = max|e|, mean_abs_err = mean|e|,
 *   sqnr_db = 10 log10(sum x^2 / sum e^2)  (+inf when sum e^2 = 0; -inf when
 *             sum x^2 = 0 < sum e^2),
 *   cosine = sum x x_hat / sqrt(sum x^2 sum x_hat^2)  (1 when both are all zero,
 *             0 when exactly one is),
 *   clipped = values whose rounded code fell outside [qmin, qmax] (non-INT
 *             formats: values beyond their block's extreme levels, quant.h),
 *   mse_clip = (sum of e^2 over the clipped values) / numel, mse_round = the
 *             rest, (sum e^2 - that) / numel: mse = mse_round + mse_clip up
 *             to rounding (the INT format; other formats: mse_clip = 0).
 * Non-INT formats (quant.h "Formats"): x_hat is the format decoder's value;
 * SQ_HIST_RANGE_STEP has no step bound there and means the data range
 * (as SQ_HIST_RANGE_DATA: [-m, m], m = max |e|), binned in a second pass;
 * size_bytes is the stored code bytes and both bits_per_weight fields are
 * 8 * sq_qtensor_storage_bytes / numel; code levels are the stored codes.
 * For an empty tensor every error figure is 0, sqnr_db is +inf and cosine 1.
 *
 * Thread-safety: reads its inputs only.
 */
#ifndef SQ_STATS_H
#define SQ_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "quant.h"
#include "tensor.h"

#define SQ_HIST_BINS_MAX 65536

/* A histogram with `bins` equal-width bins over [lo, hi]; a value equal to hi
 * goes in the last bin; values below lo / above hi are counted in below /
 * above, not in the bins. counts is owned (free with sq_hist_free). */
typedef struct sq_hist {
    int bins;
    double lo, hi;
    uint64_t *counts;
    uint64_t below, above;
} sq_hist;

/* Free h->counts and zero h. h may be NULL. */
void sq_hist_free(sq_hist *h);

typedef enum sq_hist_range {
    /* [-S/2, S/2], S = largest scale: the rounding-error bound of min/max
     * calibration, known before the pass, so everything is one pass. Values
     * beyond it go to below/above: clipped values, and the values of an
     * index whose scale is below 1e-30 (the seed then uses 1/scale = 0 and
     * every code is the zero point; max |x| in [1e-30, ~1.3e-28]). */
    SQ_HIST_RANGE_STEP = 0,
    /* [-m, m], m = the actual max |error| (one extra pass over the data). */
    SQ_HIST_RANGE_DATA,
    /* [lo, hi] as given in the options. */
    SQ_HIST_RANGE_FIXED
} sq_hist_range;

typedef struct sq_stats_opts {
    int hist_bins;            /* 1..SQ_HIST_BINS_MAX */
    sq_hist_range range;
    double lo, hi;            /* SQ_HIST_RANGE_FIXED only; lo < hi, finite */
    /* sq_quantize_stats only: when not NULL, receives the mean squared error
     * per scale index (sq_qconfig_scale_count entries, caller-owned), as
     * sq_index_mse computes it but from each chunk while it is in cache. */
    double *index_mse;
    /* sq_quantize_stats only: when not NULL, receives the code histogram as
     * sq_code_histogram gives it (2^bits entries, caller-owned), counted from
     * each chunk's codes as they are formed. */
    uint64_t *code_counts;
} sq_stats_opts;

/* 64 bins, SQ_HIST_RANGE_STEP. */
sq_stats_opts sq_stats_opts_default(void);

typedef struct sq_stats {
    size_t numel;
    double mse, rmse, max_abs_err, mean_abs_err, sqnr_db, cosine;
    double mse_round, mse_clip;   /* mse of rounding (unclipped values) and of clipping, over numel */
    double err_min, err_max;      /* signed extremes of e (0 when empty) */
    double sum_x2, sum_e2;        /* sum x^2 and sum e^2 (for pooling over tensors) */
    size_t clipped;               /* count of clipped values */
    double clipped_frac;          /* clipped / numel (0 when empty) */
    size_t fp32_bytes;            /* numel * 4 */
    size_t size_bytes;            /* packed code bytes (the seed's size) */
    size_t meta_bytes;            /* 16 per scale (the seed's accounting) */
    double compression;           /* fp32_bytes / size_bytes (seed) */
    double bits_per_weight;       /* scales stored as f32 */
    double bits_per_weight_f16;   /* scales stored as f16 */
} sq_stats;

/* Compare x with its quantized form q (same shape). Fills *out and, when hist
 * is not NULL, a new histogram of e (caller frees with sq_hist_free). opts may
 * be NULL for the defaults. Errors: shape mismatch, bad options (ARG), no memory. */
sq_status sq_roundtrip_stats(const sq_tensor *x, const sq_qtensor *q, const sq_stats_opts *opts,
                             sq_stats *out, sq_hist *hist, sq_error *err);

/* Quantize x with cfg and compute the statistics of the result in the same
 * pass over memory (each chunk is analysed while still in cache): the same
 * *q_out, *out and *hist as sq_quantize followed by sq_roundtrip_stats.
 * SQ_HIST_RANGE_DATA needs the errors' range first and so takes a second
 * pass. Caller frees *q_out (and hist). Errors: those of both functions. */
sq_status sq_quantize_stats(const sq_tensor *x, const sq_qconfig *cfg, const sq_stats_opts *opts,
                            sq_qtensor **q_out, sq_stats *out, sq_hist *hist, sq_error *err);

/* Mean squared error per scale index (per channel or per group): mse[k] over
 * the elements governed by scale k (0 for an index with no elements). mse
 * must have q->n_scales entries. One pass over x and the codes. For a
 * non-INT format each index's squared errors are added in element order
 * (sq_quantize_stats's index_mse gives the same values). Errors: shape
 * mismatch (ARG), no memory. */
sq_status sq_index_mse(const sq_tensor *x, const sq_qtensor *q, double *mse, sq_error *err);

/* Count each of the 2^bits code levels of q into counts[level], level =
 * code - (-2^(bits-1)), i.e. the stored offset-binary value; counts must have
 * 2^bits entries. Returns how many levels are used (count > 0). */
size_t sq_code_histogram(const sq_qtensor *q, uint64_t *counts);

/* Histogram of n floats over [lo, hi] (lo < hi) with `bins` bins; a new
 * counts array in h. Errors: bad bins/range (ARG), no memory. */
sq_status sq_histogram_floats(const float *v, size_t n, int bins, double lo, double hi,
                              sq_hist *h, sq_error *err);

#endif
