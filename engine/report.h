/*
 * report.h - what one or more quantization configurations do to every tensor
 * of a checkpoint, tensor by tensor, and the quantized export of a checkpoint.
 *
 *     sq_checkpoint *ck;  sq_report *rep;
 *     sq_qconfig cfg[2] = {sq_qconfig_default(), sq_qconfig_default()};
 *     cfg[1].bits = 4; cfg[1].granularity = SQ_GRAN_GROUP; cfg[1].group_size = 32;
 *     sq_report_opts o = sq_report_opts_default();
 *     o.include = "\\.weight$";                  // POSIX extended regex
 *     if (sq_ckpt_open(path, &ck, &err) != SQ_OK) ...;
 *     if (sq_report_run(ck, cfg, 2, &o, &rep, &err) != SQ_OK) ...;
 *     for (size_t r = 0; r < rep->n_rows; r++) ... rep->rows[r].cells[c].sqnr_db ...
 *     ... rep->totals[c].quantized_bytes ...
 *     sq_report_write_csv(rep, "r.csv", &err);  sq_report_write_json(rep, "r.json", &err);
 *     sq_report_free(rep); sq_ckpt_close(ck);
 *
 * Rows. One per selected tensor, in file order. A tensor is selected when its
 * name matches `include` (if given) and does not match `exclude` (if given).
 * As in the seed's model statistics, tensors of rank >= 2 are quantized and
 * the others kept as fp32.
 *
 * Per (tensor, config) cell, with e = x - dequant(quant(x)) in float32:
 *   sqnr_db, rmse, max_abs_err   as sq_quantize_stats computes them;
 *   mse_round, mse_clip          its split of the MSE (JSON only);
 *   median_abs_err, p95_abs_err  exact percentiles of |e| over the tensor,
 *       linear interpolation between order statistics as numpy's default:
 *       with a = sorted |e| (n values), pos = p (n - 1), value =
 *       a[floor(pos)] + (a[floor(pos)+1] - a[floor(pos)]) * frac(pos).
 *       Found without sorting and without an |e| buffer: a sample of |e|
 *       places a window of values around each sought rank, one parallel
 *       pass (dequantized values formed chunk by chunk from the codes, bit
 *       for bit as sq_dequantize_into) counts the values below each window
 *       and gathers those inside, and a histogram then a selection among
 *       them give the order statistics; the counts prove the window holds
 *       the rank, else (few distinct errors, e.g. an all-zero tensor; and
 *       tensors under 65536 values) selection (quickselect with a
 *       pseudo-random pivot and a Hoare partition) over all of |e|. Results
 *       never depend on the thread count;
 *   sizes as sq_report_export writes the tensor (sq_st_qtensor_file_bytes):
 *       code_bytes  packed codes ceil(numel * bits / 8); meta_bytes the
 *       scales in cfg->scale_store (F64 by default; F32 where F16 fell
 *       back) plus, asymmetric, the zero points in the smallest exact dtype
 *       (I8 usually); after_bytes = code_bytes + meta_bytes;
 *   bits_per_weight = 8 * after_bytes / numel (the file's);
 *   bits_per_weight_f16 GGUF-style with f16 scales and zero points
 *       (sq_qtensor_bits_per_weight(q, SQ_SCALE_F16)).
 * A kept tensor (rank < 2) has after_bytes = file_bytes (the export copies
 * it as is), bits per weight 8 * file_bytes / numel, and no error figures
 * (NaN). Sizes of a quantized cell are first estimated from the shape
 * (zero points as I8) and made exact once the tensor is quantized. A tensor
 * whose data cannot be loaded or quantized has status FAILED, error figures
 * NaN, sizes of a kept tensor and a `note` saying why. A config that is
 * invalid for a rank >= 2 shape (e.g. a group size not dividing the last
 * dimension) gives status INCOMPATIBLE and the tensor is counted as kept.
 *
 * Totals. totals[c] sums the rows for config c. num_quantized, num_fp32 and
 * fp32_bytes are exactly what sq_model_stats_add gives for the same shapes
 * and config (when no cell is INCOMPATIBLE, for which sq_model_stats_add
 * would fail); quantized_bytes (the sum of after_bytes: with no filter, the
 * data bytes of the exported file) and compression_ratio = fp32_bytes /
 * quantized_bytes follow the export, not the seed's 16 B a scale. sqnr_db and rmse of
 * the total are over all quantized elements (sum x^2 / sum e^2 pooled),
 * max_abs_err the largest of the rows.
 *
 * Memory. One tensor is loaded at a time, as float32 into a buffer reused
 * from tensor to tensor (plain F32/F16/BF16 data converted over the thread
 * pool): peak memory is about the largest tensor as float32 plus its codes,
 * scales and the gathered window values (int4 per-group(32): about 1.3x),
 * whatever the checkpoint's size; about 2x when a window falls back to
 * selection over all of |e|, or for formats other than INT.
 *
 * Cancellation. When opts->cancel is not NULL it is read before each tensor;
 * once it is non-zero the run stops, and returns SQ_OK with the rows done so
 * far, rep->cancelled set, and totals over those rows. A signal handler may
 * set it (it is a volatile sig_atomic_t).
 *
 * Thread-safety: a run only reads the checkpoint; a report is plain data.
 */
#ifndef SQ_REPORT_H
#define SQ_REPORT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "checkpoint.h"
#include "error.h"
#include "quant.h"
#include "tensor.h"

/* Progress after each tensor: counts over the selected tensors; bytes are
 * the tensors' bytes in the file. */
typedef struct sq_report_progress {
    size_t tensors_done, tensors_total;
    size_t bytes_done, bytes_total;
} sq_report_progress;

typedef void (*sq_report_progress_fn)(const sq_report_progress *p, void *user);

typedef struct sq_report_opts {
    const char *include;                 /* POSIX ERE; NULL selects every tensor */
    const char *exclude;                 /* POSIX ERE; NULL excludes none */
    sq_report_progress_fn progress;      /* NULL for none; called after each tensor */
    void *progress_user;
    volatile sig_atomic_t *cancel;       /* NULL, or checked between tensors */
    /* Sharding: when shards > 1, only the selected tensors numbered shard,
     * shard + shards, shard + 2 shards, ... (1-based, in file order among
     * the selected ones) are processed; 1 <= shard <= shards. 0, 0: all. */
    size_t shard, shards;
} sq_report_opts;

/* No filters, no progress, no cancel flag, no sharding. */
sq_report_opts sq_report_opts_default(void);

typedef enum sq_report_status {
    SQ_REPORT_QUANTIZED = 0,   /* rank >= 2, quantized and measured */
    SQ_REPORT_KEPT,            /* rank < 2, kept as fp32 */
    SQ_REPORT_INCOMPATIBLE,    /* config invalid for this shape: counted as kept fp32 */
    SQ_REPORT_FAILED           /* data not loadable or not quantizable (see note) */
} sq_report_status;

/* "quantized", "kept", "incompatible", "failed". */
const char *sq_report_status_name(sq_report_status s);

typedef struct sq_report_cell {
    sq_report_status status;
    double sqnr_db, rmse, max_abs_err, median_abs_err, p95_abs_err;   /* NaN when not measured */
    double mse_round, mse_clip;                                       /* NaN when not measured */
    size_t clipped;
    size_t n_scales;              /* 0 when not quantized */
    size_t code_bytes;            /* packed codes (0 when kept) */
    size_t meta_bytes;            /* scales + zero points as exported (0 when kept) */
    size_t after_bytes;           /* code_bytes + meta_bytes, or file_bytes when kept */
    double bits_per_weight;       /* 8 * after_bytes / numel; 0 when empty */
    double bits_per_weight_f16;   /* GGUF-style, scales as f16 (kept: as bits_per_weight) */
    double sum_x2, sum_e2;        /* sums over the tensor (double), 0 when not measured */
    char *note;                   /* why INCOMPATIBLE/FAILED (owned), else NULL */
} sq_report_cell;

typedef struct sq_report_row {
    char *name;                   /* owned */
    size_t index;                 /* 1-based number among the selected tensors (file order) */
    int ndim;
    size_t shape[SQ_MAX_DIMS];
    size_t numel;
    char type_name[16];           /* the file's type name ("F32", "Q8_0", ...) */
    bool quantized;               /* rank >= 2 */
    size_t fp32_bytes;            /* numel * 4 */
    size_t file_bytes;            /* bytes of the tensor in the source file */
    sq_report_cell *cells;        /* n_configs cells, owned */
} sq_report_row;

typedef struct sq_report_total {
    size_t num_tensors;
    size_t num_quantized, num_fp32;   /* as sq_model_stats (INCOMPATIBLE counts as fp32) */
    size_t num_failed;
    size_t numel;
    size_t fp32_bytes, file_bytes;
    size_t code_bytes, meta_bytes;
    size_t quantized_bytes;           /* sum of after_bytes */
    double compression_ratio;         /* fp32_bytes / quantized_bytes (1 when empty) */
    double bits_per_weight, bits_per_weight_f16;   /* total after bits / numel */
    double sqnr_db, rmse, max_abs_err;              /* pooled over measured cells */
} sq_report_total;

typedef struct sq_report {
    char *source;                 /* path or label given to sq_report_run (owned) */
    size_t n_configs;
    sq_qconfig *configs;          /* owned copies */
    size_t tensors_in_file;
    size_t n_rows;
    sq_report_row *rows;          /* owned */
    sq_report_total *totals;      /* n_configs, owned */
    bool cancelled;               /* stopped early through opts->cancel */
    size_t selected;              /* tensors selected by the filters (all shards) */
    size_t shard, shards;         /* as in the options; 1, 1 when not sharded */
} sq_report;

/* Build a report over ck for n_configs (>= 1) configurations. source labels
 * the report (usually the path; may be NULL). opts may be NULL. On success
 * *out is a new report the caller frees with sq_report_free (also when the
 * run was cancelled: see above). On failure *out is NULL. Errors: no
 * config, a config invalid on its own, a regex that does not compile (ARG,
 * naming the pattern); no memory; size overflow. A tensor that cannot be
 * loaded or quantized is not an error (status FAILED). */
sq_status sq_report_run(const sq_checkpoint *ck, const char *source, const sq_qconfig *configs,
                        size_t n_configs, const sq_report_opts *opts, sq_report **out, sq_error *err);

/* Free rep and everything it owns. sq_report_free(NULL) is a no-op. */
void sq_report_free(sq_report *rep);

/* Exact percentile p (0..1) of v[0..n) by the rule above, reordering v.
 * Returns NaN for n == 0. Exposed for tests. */
double sq_percentile_select(float *v, size_t n, double p);

/* Write rep as CSV, atomically (fileio.h). One line per (tensor, config) and
 * one "total" line per config; columns: kind,name,shape,file_type,numel,
 * fp32_bytes,file_bytes,config,config_index,status,sqnr_db,rmse,
 * max_abs_err,median_abs_err,p95_abs_err,n_scales,code_bytes,meta_bytes,
 * after_bytes,bits_per_weight,bits_per_weight_f16,note,index,sum_x2,sum_e2,
 * bpw_f16_exact. Numbers as %.9g ("inf", "nan" for non-finite, as Python
 * reads them); names quoted when needed (RFC 4180). config_index is the
 * config's 1-based number (as sq.report's rows and the command line's
 * order of configurations). The last four columns
 * let sq_report_merge_csv recompute totals exactly: index is the row's
 * 1-based number among the selected tensors (a total line: the number
 * selected), sum_x2 and sum_e2 the cell's sums (a total line: pooled) and
 * bpw_f16_exact its bits_per_weight_f16, all three as %.17g (exact). A
 * shard's total lines carry the note "shard K/N". Errors: IO naming the
 * path, NOMEM. */
sq_status sq_report_write_csv(const sq_report *rep, const char *path, sq_error *err);

/* Write rep as JSON (jansson), atomically: {"source", "cancelled",
 * "tensors_in_file", "selected", "shard", "shards", "configs": [{describe, bits, mode, granularity, axis
 * (1-based, as on the command line), group_size, rounding, zero_in_range, calibration, scale_dtype (INT:
 * "f64", "f32" or "f16", the precision after_bytes counts; a format: how it stores its scales)}], "rows": [{name, index, shape,
 * file_type, quantized, numel, fp32_bytes, file_bytes, "results": [cell per
 * config]}], "totals": [one per config]}. Non-finite numbers (an SQNR of
 * +inf for a lossless tensor, NaN for an unmeasured one) are written as
 * null. Cells (and totals: the pooled sums) carry "sum_x2", "sum_e2" (and
 * cells "bpw_f16_exact") as exact decimal text, for sq_report_merge_json.
 * Errors: IO naming the path, NOMEM. */
sq_status sq_report_write_json(const sq_report *rep, const char *path, sq_error *err);

/* Join the CSV files of the shards of one report (sq_report_write_csv of
 * runs with shards = N and shard = 1..N, each exactly once, same file, filters and
 * configurations) into one CSV at out, atomically: the tensor lines in the
 * unsharded order (by index, then config), copied as they are, and total
 * lines recomputed from those rows exactly as sq_report_run totals them
 * (the pooled sums in row order, sizes, counts, bits per weight), so the
 * file is byte for byte the unsharded report's. A file that is not such a
 * CSV, a shard missing or given twice, shards of different reports (tensor
 * count, shard count, configurations), or a cancelled shard is an error
 * (ARG or FORMAT naming the file) and nothing is written. Errors also: IO,
 * NOMEM. */
sq_status sq_report_merge_csv(const char *out, const char *const *shards, size_t n, sq_error *err);

/* The same for the JSON files of the shards (sq_report_write_json): rows in
 * the unsharded order as written, totals recomputed exactly from each cell's
 * exact sums (its "sum_x2", "sum_e2" and "bpw_f16_exact", decimal text at
 * 17 digits), "shard": 1, "shards": 1: the unsharded report's JSON byte for
 * byte when the shards name the file as the unsharded run did ("source").
 * Errors as sq_report_merge_csv (also a "source" that differs). */
sq_status sq_report_merge_json(const char *out, const char *const *shards, size_t n, sq_error *err);

/* ---- quantized export ----------------------------------------------------- */

typedef struct sq_export_summary {
    size_t quantized;     /* tensors written quantized */
    size_t kept;          /* selected tensors copied as is (rank < 2, not quantizable, config incompatible) */
    size_t skipped;       /* always 0: every tensor is written (kept for compatibility) */
    size_t excluded;      /* tensors not selected by include/exclude (copied as is) */
} sq_export_summary;

/* Per-tensor notice during an export (a selected tensor copied as is and
 * why, or its F16 scales stored as F32). */
typedef void (*sq_export_warn_fn)(const char *name, const char *why, void *user);

/* Write every tensor of ck to a safetensors file at path, atomically and
 * streamed: the selected rank >= 2 tensors quantized with cfg
 * (sq_st_writer_add_qtensor: NAME.codes, NAME.scales in cfg->scale_store,
 * NAME.zero_points when asymmetric, squint.NAME.* metadata), every other
 * tensor copied byte for byte in its source dtype (unselected ones too; a
 * GGUF block-quantized type as U8 bytes with metadata squint.NAME.ggml_type
 * (the ggml type name, e.g. "Q4_K") and squint.NAME.shape). A selected
 * rank >= 2 tensor is copied as is, with a warning, when its type cannot be
 * converted to float, cfg does not fit its shape, its name is longer than
 * SQ_ST_MAX_QNAME, or it is a part (NAME.codes, ...) of a quantized tensor
 * of the source (re-exporting an export keeps its quantized tensors and
 * their squint.NAME.* metadata loadable). Metadata: the source's `__metadata__` (safetensors;
 * GGUF key-values are not carried over), then squint.config
 * (sq_qconfig_describe), squint.scale_dtype (cfg->scale_store's name) and
 * squint.source (the base name of source, when not NULL), replacing source
 * keys of those names.
 *
 * Streaming: a first pass over the header only declares every tensor with
 * the largest parts it can take (safetensors.h: Streaming) and sizes the
 * header; then tensors are written in file order, one at a time (load ->
 * quantize -> write -> free; copies straight from the mapping), so memory
 * stays near the largest tensor as float32 plus its codes, and time is
 * linear in the number of tensors. A name clash (a source tensor called
 * "w.codes" next to a quantized "w", a metadata key taken twice) or a name
 * that is not UTF-8 fails before anything is written.
 *
 * opts->progress and opts->cancel work as for sq_report_run (over all
 * tensors); a cancelled export writes nothing and returns
 * SQ_ERR_INTERRUPTED. summary may be NULL. Errors: bad cfg or regex (ARG),
 * name clashes (ARG, naming them), a tensor that cannot be loaded or holds
 * a non-finite value (naming it), IO, NOMEM, INTERRUPTED; the target is
 * untouched on any error. */
sq_status sq_report_export(const sq_checkpoint *ck, const char *source, const sq_qconfig *cfg,
                           const sq_report_opts *opts, const char *path, sq_export_warn_fn warn,
                           void *warn_user, sq_export_summary *summary, sq_error *err);

#endif
