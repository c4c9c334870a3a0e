/*
 * diff.h - the error between two tensors of one shape: a reference x and
 * another version y of it (another checkpoint's copy, a dequantized
 * export, a layer's output computed with quantized weights), measured as a
 * quantization round trip is (stats.h) with y in place of the dequantized x.
 *
 *     sq_diff d;  sq_hist h = {0};
 *     if (sq_diff_stats(ref, other, NULL, &d, &h, &err) != SQ_OK) ...;
 *     printf("SQNR %.2f dB, p95 |e| %g\n", d.sqnr_db, d.p95_abs_err);
 *     sq_hist_free(&h);
 *
 * Definitions (e = x - y formed in double precision, sums in double):
 *   mse, rmse, max_abs_err, mean_abs_err, sqnr_db, cosine, err_min, err_max
 *   exactly as stats.h defines them (sqnr_db +inf when sum e^2 = 0, -inf
 *   when sum x^2 = 0 < sum e^2; cosine 1 when both are all zero, 0 when
 *   exactly one is);
 *   median_abs_err, p95_abs_err: exact percentiles of |e| by the rule of
 *   report.h (linear interpolation between order statistics, numpy's
 *   default) over |e| rounded to float32 (relative rounding at most 2^-24;
 *   exact when every |e| is a float32 value, as for any two float32
 *   tensors whose difference is representable): the same values as
 *   sq_percentile_select gives, found without sorting;
 *   max_index: the flat (0-based) index of the first element reaching
 *   max_abs_err (print it 1-based).
 * For an empty pair every error figure is 0, sqnr_db +inf and cosine 1.
 *
 * Order of the sums, hence their last bits: the elements are cut into
 * parts of 2^18 (the last shorter), each part's sums run in two lanes
 * (even and odd offsets in the part) added at the end of the part, and the
 * parts' sums are added in part order. The parts run over the thread pool
 * (threads.h) and every figure is identical for any thread count. Large
 * pairs take two passes over the values (sums and a count of the top 16
 * bits of |e|; then the low bits of the values in the bins holding the
 * sought ranks) and no buffer of n values.
 *
 * Thread-safety: reads its inputs only.
 */
#ifndef SQ_DIFF_H
#define SQ_DIFF_H

#include <stddef.h>

#include "error.h"
#include "quant.h"
#include "stats.h"
#include "tensor.h"

typedef struct sq_diff {
    size_t numel;
    double mse, rmse, max_abs_err, mean_abs_err, sqnr_db, cosine;
    double err_min, err_max;            /* signed extremes of e (0 when empty) */
    double median_abs_err, p95_abs_err; /* exact percentiles of |e| (0 when empty) */
    double sum_x2, sum_y2, sum_e2;      /* for pooling over tensors */
    size_t max_index;                   /* flat index of max |e| (0 when empty) */
} sq_diff;

/* Compare other with the reference ref (same shape: same rank and the same
 * size on every dimension). Fills *out and, when hist is not NULL, a new
 * histogram of e (caller frees with sq_hist_free). opts may be NULL: 64
 * bins over the "data" range [-m, m], m = max |e| (1 when m is 0);
 * SQ_HIST_RANGE_STEP, which has no meaning here, is taken as the data
 * range; SQ_HIST_RANGE_FIXED uses opts->lo/hi; index_mse and code_counts
 * are ignored. Temporary memory: at most 2.5 MB per thread, or numel floats
 * for a pair of one part (numel <= 2^18). Errors: ARG for a
 * shape mismatch (naming both shapes and the first differing dimension,
 * 1-based) or bad options, NONFINITE when either tensor holds a NaN or an
 * infinity (naming which and where), NOMEM. On failure *out is zeroed and
 * hist left empty. */
sq_status sq_diff_stats(const sq_tensor *ref, const sq_tensor *other, const sq_stats_opts *opts, sq_diff *out,
                        sq_hist *hist, sq_error *err);

/* Fill *out from pooled sums only (as for a total over several tensors):
 * numel, sum_x2, sum_e2, max_abs_err as given; mse, rmse, sqnr_db from the
 * sums (sqnr_db by the rule above); the other figures NaN. Never fails. */
void sq_diff_pooled(size_t numel, double sum_x2, double sum_e2, double max_abs_err, sq_diff *out);

/* SQNR in dB of a signal energy sx and an error energy se by the rule above
 * (+inf when se = 0, -inf when sx = 0 < se). */
double sq_diff_sqnr_db(double sx, double se);

/* sq_diff_stats over two arrays of n doubles (no shape): e = ref - other.
 * Errors: NONFINITE (naming the side and the 1-based element), ARG (bad
 * options), NOMEM. */
sq_status sq_diff_doubles(const double *ref, const double *other, size_t n, const sq_stats_opts *opts, sq_diff *out,
                          sq_hist *hist, sq_error *err);

/* ---- the error a linear layer's output sees ------------------------------------
 *
 * Y = X W^T + b with W [out, in] (the layer's weight, PyTorch's layout), X
 * [n, in] (n tokens; a vector [in] is one token) and b [out] (or none), all
 * products and sums in double. The quantized layer computes Yq = Xq Wq^T + b
 * with Wq = dequant(quant(W, wcfg)) and Xq = dequant(quant(X, acfg)) when
 * acfg is given (W8A8 and the like: per-token = acfg->granularity CHANNEL
 * with axis 0, one dynamic range per row of X; per-tensor = one range), else
 * Xq = X. */
typedef struct sq_layer_err {
    sq_diff output;        /* Y against Yq (n x out values) */
    sq_diff weight;        /* W against Wq */
    sq_diff input;         /* X against Xq (all zero error without acfg) */
    size_t tokens, in_features, out_features;
} sq_layer_err;

/* Fill *out as described above. b and acfg may be NULL. Errors: ARG for a
 * shape that does not fit (naming the tensors and their 1-based dimensions)
 * or a configuration invalid for W or X (sq_qconfig_check's message,
 * prefixed "weight: " / "input: "), NONFINITE, NOMEM, OVERFLOW. */
sq_status sq_layer_error(const sq_tensor *w, const sq_tensor *x, const sq_tensor *b, const sq_qconfig *wcfg,
                         const sq_qconfig *acfg, sq_layer_err *out, sq_error *err);

#endif
