/* test_report.c - checkpoint reports: exact figures on a hand-computable
 * tensor, totals = sum of rows = sq_model_stats, filters, exact percentiles
 * against a sort, cancellation, CSV/JSON read back, quantized export reloaded
 * bit for bit, sq_ckpt_prefetch changing nothing. The fixture (mixed ranks
 * and dtypes) is written by the engine's safetensors writer into a temporary
 * directory. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <jansson.h>

#include "checkpoint.h"
#include "gguf.h"
#include "model.h"
#include "quant.h"
#include "report.h"
#include "safetensors.h"
#include "stats.h"
#include "testutil.h"
#include "threads.h"

static char dir[64];
static char fixture[128];

/* Seven tensors: one int8-lossless matrix, F32/F16/BF16 matrices, a rank-3
 * tensor, rank-1 and rank-0 tensors (kept), a [5, 7] matrix no group size
 * > 1 divides. */
static void make_fixture(void)
{
    snprintf(dir, sizeof dir, "/tmp/sq_report_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(fixture, sizeof fixture, "%s/fix.safetensors", dir);
    sq_error err;
    sq_st_writer *w;
    ck_assert(sq_st_writer_new(&w, &err) == SQ_OK);
    /* max |x| = 63.5 -> scale 0.5 exactly, every value a multiple of 0.5 */
    static const float ex[8] = {-63.5f, -32, 0, 0.5f, 1, 63.5f, 2.5f, -1.5f};
    size_t s24[2] = {2, 4};
    sq_tensor *t = tu_tensor(s24, 2, ex);
    ck_assert(sq_st_writer_add_tensor(w, "exact.weight", t, SQ_DTYPE_F32, &err) == SQ_OK);
    sq_tensor_free(t);
    static const struct {
        const char *name;
        int ndim;
        size_t shape[3];
        sq_dtype store;
    } sp[] = {{"layer.0.weight", 2, {16, 64, 0}, SQ_DTYPE_F32}, {"layer.0.bias", 1, {16, 0, 0}, SQ_DTYPE_F32},
              {"layer.1.weight", 2, {8, 32, 0}, SQ_DTYPE_F16},  {"layer.1.norm", 1, {32, 0, 0}, SQ_DTYPE_BF16},
              {"emb", 3, {4, 6, 8}, SQ_DTYPE_BF16},             {"odd.weight", 2, {5, 7, 0}, SQ_DTYPE_F32},
              {"scalar", 0, {0, 0, 0}, SQ_DTYPE_F32}};
    for (size_t k = 0; k < sizeof sp / sizeof sp[0]; k++) {
        ck_assert(sq_tensor_randn(sp[k].shape, sp[k].ndim, 100 + k, &t, &err) == SQ_OK);
        ck_assert_msg(sq_st_writer_add_tensor(w, sp[k].name, t, sp[k].store, &err) == SQ_OK, "%s", err.msg);
        sq_tensor_free(t);
    }
    ck_assert(sq_st_writer_add_metadata(w, "format", "pt", &err) == SQ_OK);
    ck_assert_msg(sq_st_writer_write(w, fixture, &err) == SQ_OK, "%s", err.msg);
    sq_st_writer_free(w);
}

static void remove_dir(void)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static sq_checkpoint *open_fixture(void)
{
    sq_checkpoint *ck;
    sq_error err;
    ck_assert_msg(sq_ckpt_open(fixture, &ck, &err) == SQ_OK, "%s", err.msg);
    return ck;
}

static sq_report *run(const sq_checkpoint *ck, const sq_qconfig *cfg, size_t n, const sq_report_opts *o)
{
    sq_report *rep = NULL;
    sq_error err;
    ck_assert_msg(sq_report_run(ck, fixture, cfg, n, o, &rep, &err) == SQ_OK, "%s", err.msg);
    return rep;
}

static const sq_report_row *find_row(const sq_report *rep, const char *name)
{
    for (size_t r = 0; r < rep->n_rows; r++)
        if (strcmp(rep->rows[r].name, name) == 0)
            return &rep->rows[r];
    ck_abort_msg("no row %s", name);
    return NULL;
}

static sq_qconfig cfg_group(int bits, size_t g, sq_mode m)
{
    sq_qconfig c = sq_qconfig_default();
    c.bits = bits;
    c.mode = m;
    c.granularity = SQ_GRAN_GROUP;
    c.group_size = g;
    return c;
}

/* Brute-force percentile: sort and interpolate as report.h defines. */
static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static double brute_percentile(const float *v, size_t n, double p)
{
    float *s = malloc(n * sizeof *s);
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_float);
    double pos = p * (double)(n - 1);
    size_t lo = (size_t)pos;
    double frac = pos - (double)lo, a = s[lo];
    double r = frac > 0 && lo + 1 < n ? a + ((double)s[lo + 1] - a) * frac : a;
    free(s);
    return r;
}

START_TEST(test_exact_tensor)
{
    sq_checkpoint *ck = open_fixture();
    sq_qconfig c = sq_qconfig_default();
    sq_report *rep = run(ck, &c, 1, NULL);
    ck_assert_uint_eq(rep->n_rows, 8);
    ck_assert_uint_eq(rep->tensors_in_file, 8);
    ck_assert(!rep->cancelled);
    const sq_report_row *r = find_row(rep, "exact.weight");
    const sq_report_cell *x = &r->cells[0];
    ck_assert_int_eq(x->status, SQ_REPORT_QUANTIZED);
    ck_assert(isinf(x->sqnr_db) && x->sqnr_db > 0);
    ck_assert(x->max_abs_err == 0 && x->rmse == 0 && x->median_abs_err == 0 && x->p95_abs_err == 0);
    ck_assert_uint_eq(r->numel, 8);
    ck_assert_uint_eq(r->fp32_bytes, 32);
    ck_assert_uint_eq(r->file_bytes, 32);
    ck_assert_uint_eq(x->code_bytes, 8);
    ck_assert_uint_eq(x->meta_bytes, 8); /* one f64 scale (the default store), no zero point */
    ck_assert_uint_eq(x->after_bytes, 16);
    ck_assert_uint_eq(x->n_scales, 1);
    ck_assert(x->bits_per_weight == 16.0 && x->bits_per_weight_f16 == (8.0 * 8 + 16) / 8);
    ck_assert_ptr_null(x->note);
    const sq_report_row *b = find_row(rep, "layer.0.bias");
    ck_assert(!b->quantized && b->cells[0].status == SQ_REPORT_KEPT);
    ck_assert_uint_eq(b->cells[0].after_bytes, 64);
    ck_assert(isnan(b->cells[0].sqnr_db) && b->cells[0].bits_per_weight == 32.0);
    const sq_report_row *nb = find_row(rep, "layer.1.norm"); /* kept: its BF16 bytes, as the export copies it */
    ck_assert_uint_eq(nb->cells[0].after_bytes, 64);
    ck_assert(nb->cells[0].bits_per_weight == 16.0);
    const sq_report_row *h = find_row(rep, "layer.1.weight");
    ck_assert_str_eq(h->type_name, "F16");
    ck_assert_uint_eq(h->file_bytes, 8 * 32 * 2);
    ck_assert(h->cells[0].sqnr_db > 30 && h->cells[0].sqnr_db < 50);
    ck_assert(find_row(rep, "emb")->quantized && !find_row(rep, "scalar")->quantized);
    sq_report_free(rep);
    sq_ckpt_close(ck);
}
END_TEST

/* Rows of rep sum to its totals, and the totals' counts and fp32 bytes are
 * sq_model_stats' (its quantized bytes follow the seed's 16 B a scale, the
 * report's what the export writes). */
static void check_totals(const sq_checkpoint *ck, const sq_report *rep, int expect_model_equal)
{
    for (size_t c = 0; c < rep->n_configs; c++) {
        size_t fp32 = 0, file = 0, after = 0, codes = 0, meta = 0, nq = 0, nk = 0, numel = 0;
        double bits = 0, sx = 0, se = 0, mx = 0;
        sq_model_stats ms;
        sq_model_stats_init(&ms);
        for (size_t r = 0; r < rep->n_rows; r++) {
            const sq_report_row *row = &rep->rows[r];
            const sq_report_cell *x = &row->cells[c];
            fp32 += row->fp32_bytes;
            file += row->file_bytes;
            after += x->after_bytes;
            codes += x->code_bytes;
            meta += x->meta_bytes;
            numel += row->numel;
            bits += x->bits_per_weight * (double)row->numel;
            if (x->status == SQ_REPORT_QUANTIZED || x->status == SQ_REPORT_FAILED)
                nq++;
            else
                nk++;
            if (x->status == SQ_REPORT_QUANTIZED) {
                sx += x->sum_x2;
                se += x->sum_e2;
                mx = x->max_abs_err > mx ? x->max_abs_err : mx;
                /* the row's sums agree with its figures */
                ck_assert(fabs(sqrt(x->sum_e2 / (double)row->numel) - x->rmse) <= 1e-12 * (1 + x->rmse));
            }
            size_t idx;
            sq_error err;
            ck_assert(sq_ckpt_find(ck, row->name, &idx, &err) == SQ_OK);
            const sq_tinfo *ti = sq_ckpt_info(ck, idx);
            if (expect_model_equal)
                ck_assert_msg(sq_model_stats_add(&ms, ti->shape, ti->ndim, &rep->configs[c], &err) == SQ_OK, "%s",
                              err.msg);
        }
        const sq_report_total *t = &rep->totals[c];
        ck_assert_uint_eq(t->num_tensors, rep->n_rows);
        ck_assert_uint_eq(t->fp32_bytes, fp32);
        ck_assert_uint_eq(t->file_bytes, file);
        ck_assert_uint_eq(t->quantized_bytes, after);
        ck_assert_uint_eq(t->code_bytes, codes);
        ck_assert_uint_eq(t->meta_bytes, meta);
        ck_assert_uint_eq(t->num_quantized, nq);
        ck_assert_uint_eq(t->num_fp32, nk);
        ck_assert_uint_eq(t->numel, numel);
        ck_assert(fabs(t->bits_per_weight - bits / (double)numel) < 1e-12);
        ck_assert(t->max_abs_err == mx);
        ck_assert(fabs(t->sqnr_db - 10 * log10(sx / se)) < 1e-9);
        if (expect_model_equal) {
            ck_assert_uint_eq(t->num_quantized, ms.num_quantized);
            ck_assert_uint_eq(t->num_fp32, ms.num_fp32);
            ck_assert_uint_eq(t->fp32_bytes, ms.fp32_bytes);
            ck_assert(t->compression_ratio == (double)ms.fp32_bytes / (double)after);
        }
    }
}

START_TEST(test_totals_equal_rows_and_model_stats)
{
    sq_checkpoint *ck = open_fixture();
    sq_qconfig c[4] = {sq_qconfig_default(), sq_qconfig_default(), cfg_group(4, 4, SQ_MODE_ASYMMETRIC),
                       cfg_group(3, 2, SQ_MODE_SYMMETRIC)};
    c[1].bits = 4;
    c[1].mode = SQ_MODE_ASYMMETRIC;
    c[1].granularity = SQ_GRAN_CHANNEL;
    /* every config fits every shape once odd.weight is excluded */
    sq_report_opts o = sq_report_opts_default();
    o.exclude = "^odd";
    sq_report *rep = run(ck, c, 4, &o);
    ck_assert_uint_eq(rep->n_rows, 7);
    check_totals(ck, rep, 1);
    /* the per-row bits per weight is the engine's */
    for (size_t k = 0; k < 4; k++) {
        const sq_report_row *r = find_row(rep, "layer.0.weight");
        sq_tensor *x;
        sq_qtensor *q;
        sq_error err;
        size_t i;
        ck_assert(sq_ckpt_find(ck, r->name, &i, &err) == SQ_OK && sq_ckpt_load(ck, i, &x, &err) == SQ_OK);
        ck_assert(sq_quantize(x, &c[k], &q, &err) == SQ_OK);
        size_t code, meta;
        sq_st_qtensor_file_bytes(q, &code, &meta);
        ck_assert(r->cells[k].bits_per_weight == 8.0 * (double)(code + meta) / (double)r->numel);
        ck_assert(r->cells[k].bits_per_weight_f16 == sq_qtensor_bits_per_weight(q, SQ_SCALE_F16));
        ck_assert_uint_eq(r->cells[k].code_bytes, sq_qtensor_size_bytes(q));
        ck_assert_uint_eq(r->cells[k].meta_bytes, meta);
        ck_assert_uint_eq(meta, q->n_scales * (c[k].mode == SQ_MODE_ASYMMETRIC ? 9 : 8)); /* f64 + I8 zero points */
        sq_qtensor_free(q);
        sq_tensor_free(x);
    }
    sq_report_free(rep);
    /* with odd.weight, the group configs are incompatible with it: kept fp32 */
    rep = run(ck, c, 4, NULL);
    const sq_report_row *odd = find_row(rep, "odd.weight");
    ck_assert_int_eq(odd->cells[0].status, SQ_REPORT_QUANTIZED);
    ck_assert_int_eq(odd->cells[2].status, SQ_REPORT_INCOMPATIBLE);
    ck_assert_ptr_nonnull(strstr(odd->cells[2].note, "group"));
    ck_assert_uint_eq(odd->cells[2].after_bytes, 35 * 4);
    check_totals(ck, rep, 0);
    ck_assert_uint_eq(rep->totals[2].num_fp32, rep->totals[0].num_fp32 + 1);
    sq_report_free(rep);
    sq_ckpt_close(ck);
}
END_TEST

START_TEST(test_filters)
{
    sq_checkpoint *ck = open_fixture();
    sq_qconfig c = sq_qconfig_default();
    sq_report_opts o = sq_report_opts_default();
    o.include = "weight$";
    sq_report *rep = run(ck, &c, 1, &o);
    ck_assert_uint_eq(rep->n_rows, 4);
    for (size_t r = 0; r < rep->n_rows; r++)
        ck_assert_ptr_nonnull(strstr(rep->rows[r].name, "weight"));
    sq_report_free(rep);
    o.exclude = "^layer\\.[01]\\.";
    rep = run(ck, &c, 1, &o);
    ck_assert_uint_eq(rep->n_rows, 2);
    ck_assert_str_eq(rep->rows[0].name, "exact.weight");
    ck_assert_str_eq(rep->rows[1].name, "odd.weight");
    ck_assert_uint_eq(rep->totals[0].num_tensors, 2);
    sq_report_free(rep);
    o.include = "nothing-matches";
    o.exclude = NULL;
    rep = run(ck, &c, 1, &o);
    ck_assert_uint_eq(rep->n_rows, 0);
    ck_assert(rep->totals[0].compression_ratio == 1.0 && rep->totals[0].quantized_bytes == 0);
    sq_report_free(rep);
    sq_error err;
    o.include = "(unclosed";
    ck_assert_int_eq(sq_report_run(ck, NULL, &c, 1, &o, &rep, &err), SQ_ERR_ARG);
    ck_assert_ptr_null(rep);
    ck_assert_ptr_nonnull(strstr(err.msg, "(unclosed"));
    o.include = NULL;
    o.exclude = "[";
    ck_assert_int_eq(sq_report_run(ck, NULL, &c, 1, &o, &rep, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "exclude"));
    c.bits = 9;
    ck_assert_int_eq(sq_report_run(ck, NULL, &c, 1, NULL, &rep, &err), SQ_ERR_ARG);
    ck_assert_int_eq(sq_report_run(ck, NULL, &c, 0, NULL, &rep, &err), SQ_ERR_ARG);
    sq_ckpt_close(ck);
}
END_TEST

START_TEST(test_percentiles_against_sort)
{
    uint64_t s = 12345;
    for (size_t n = 1; n < 600; n += (n < 20 ? 1 : 37)) {
        float *v = malloc(n * sizeof *v), *w = malloc(n * sizeof *w);
        for (size_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            /* few distinct values in some sizes: duplicates */
            v[i] = n % 3 == 0 ? (float)((s >> 40) % 5) : (float)((s >> 11) * 0x1.0p-53);
        }
        static const double ps[] = {0, 0.5, 0.95, 0.999, 1};
        for (size_t k = 0; k < 5; k++) {
            memcpy(w, v, n * sizeof *w);
            double got = sq_percentile_select(w, n, ps[k]);
            ck_assert_msg(got == brute_percentile(v, n, ps[k]), "n=%zu p=%g", n, ps[k]);
        }
        free(v);
        free(w);
    }
    float one = 0;
    ck_assert(isnan(sq_percentile_select(&one, 0, 0.5)));
    /* a row's median and p95 equal the sort of its |e| */
    sq_checkpoint *ck = open_fixture();
    sq_qconfig c[2] = {sq_qconfig_default(), cfg_group(4, 8, SQ_MODE_SYMMETRIC)};
    sq_report_opts o = sq_report_opts_default();
    o.exclude = "^odd";
    sq_report *rep = run(ck, c, 2, &o);
    size_t checked = 0;
    for (size_t r = 0; r < rep->n_rows; r++) {
        if (!rep->rows[r].quantized || rep->rows[r].numel == 0)
            continue;
        size_t i;
        sq_tensor *x, *xh;
        sq_qtensor *q;
        sq_error err;
        ck_assert(sq_ckpt_find(ck, rep->rows[r].name, &i, &err) == SQ_OK && sq_ckpt_load(ck, i, &x, &err) == SQ_OK);
        for (size_t k = 0; k < 2; k++) {
            if (rep->rows[r].cells[k].status != SQ_REPORT_QUANTIZED)
                continue;
            checked++;
            ck_assert(sq_quantize(x, &c[k], &q, &err) == SQ_OK && sq_dequantize(q, &xh, &err) == SQ_OK);
            float *e = malloc(x->numel * sizeof *e);
            for (size_t j = 0; j < x->numel; j++)
                e[j] = (float)fabs((double)x->data[j] - (double)xh->data[j]);
            ck_assert(rep->rows[r].cells[k].median_abs_err == brute_percentile(e, x->numel, 0.5));
            ck_assert(rep->rows[r].cells[k].p95_abs_err == brute_percentile(e, x->numel, 0.95));
            free(e);
            sq_tensor_free(xh);
            sq_qtensor_free(q);
        }
        sq_tensor_free(x);
    }
    ck_assert_uint_eq(checked, 7);
    sq_report_free(rep);
    sq_ckpt_close(ck);
}
END_TEST

/* Large tensors (several parallel parts; the windowed percentile path):
 * median and p95 equal the sort of |e| for several layouts, on 1 and 2
 * threads, bit for bit the same rows; also tensors whose |e| takes few
 * distinct values (all zero; four levels), where the windows hold most of
 * the values and the plain selection takes over. */
START_TEST(test_percentiles_large_against_sort)
{
    char path[200];
    snprintf(path, sizeof path, "%s/big.safetensors", dir);
    sq_error err;
    sq_st_writer *w;
    ck_assert(sq_st_writer_new(&w, &err) == SQ_OK);
    size_t s1[2] = {640, 1024}, s2[2] = {512, 992}, s3[2] = {600, 256}, s4[2] = {300, 512};
    sq_tensor *t;
    ck_assert(sq_tensor_randn(s1, 2, 7, &t, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_tensor(w, "big.normal", t, SQ_DTYPE_F32, &err) == SQ_OK);
    sq_tensor_free(t);
    ck_assert(sq_tensor_randn(s2, 2, 8, &t, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_tensor(w, "big.bf16", t, SQ_DTYPE_BF16, &err) == SQ_OK);
    sq_tensor_free(t);
    ck_assert(sq_tensor_randn(s3, 2, 9, &t, &err) == SQ_OK);
    for (size_t i = 0; i < t->numel; i++)
        t->data[i] = (float)((int)(i * 2654435761u % 4)) * 0.3f - 0.45f;
    ck_assert(sq_st_writer_add_tensor(w, "big.levels", t, SQ_DTYPE_F32, &err) == SQ_OK);
    sq_tensor_free(t);
    ck_assert(sq_tensor_new(s4, 2, SQ_DTYPE_F32, &t, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_tensor(w, "big.zeros", t, SQ_DTYPE_F32, &err) == SQ_OK);
    sq_tensor_free(t);
    ck_assert_msg(sq_st_writer_write(w, path, &err) == SQ_OK, "%s", err.msg);
    sq_st_writer_free(w);
    sq_qconfig c[4] = {cfg_group(4, 32, SQ_MODE_SYMMETRIC), sq_qconfig_default(), sq_qconfig_default(),
                       sq_qconfig_default()};
    c[1].mode = SQ_MODE_ASYMMETRIC;
    c[1].granularity = SQ_GRAN_CHANNEL;
    c[2].bits = 3;
    c[3].bits = 5;
    c[3].granularity = SQ_GRAN_CHANNEL;
    c[3].axis = 1; /* one element per run: the per-element decoding */
    sq_checkpoint *ck;
    ck_assert_msg(sq_ckpt_open(path, &ck, &err) == SQ_OK, "%s", err.msg);
    sq_report *rep[2];
    for (int th = 0; th < 2; th++) {
        sq_threads_set(th + 1);
        ck_assert_msg(sq_report_run(ck, path, c, 4, NULL, &rep[th], &err) == SQ_OK, "%s", err.msg);
    }
    sq_threads_set(0);
    ck_assert_uint_eq(rep[0]->n_rows, 4);
    for (size_t r = 0; r < 4; r++) {
        sq_tensor *x, *xh;
        sq_qtensor *q;
        ck_assert(sq_ckpt_load(ck, r, &x, &err) == SQ_OK);
        for (size_t k = 0; k < 4; k++) {
            const sq_report_cell *a = &rep[0]->rows[r].cells[k], *b = &rep[1]->rows[r].cells[k];
            ck_assert_int_eq(a->status, SQ_REPORT_QUANTIZED);
            ck_assert(memcmp(a, b, offsetof(sq_report_cell, note)) == 0);
            ck_assert(sq_quantize(x, &c[k], &q, &err) == SQ_OK && sq_dequantize(q, &xh, &err) == SQ_OK);
            float *e = malloc(x->numel * sizeof *e);
            for (size_t j = 0; j < x->numel; j++)
                e[j] = (float)fabs((double)x->data[j] - (double)xh->data[j]);
            ck_assert_msg(a->median_abs_err == brute_percentile(e, x->numel, 0.5), "%s config %zu",
                          rep[0]->rows[r].name, k + 1);
            ck_assert_msg(a->p95_abs_err == brute_percentile(e, x->numel, 0.95), "%s config %zu",
                          rep[0]->rows[r].name, k + 1);
            free(e);
            sq_tensor_free(xh);
            sq_qtensor_free(q);
        }
        sq_tensor_free(x);
    }
    ck_assert(rep[0]->rows[3].cells[0].median_abs_err == 0 && rep[0]->rows[3].cells[0].p95_abs_err == 0);
    sq_report_free(rep[0]);
    sq_report_free(rep[1]);
    sq_ckpt_close(ck);
}
END_TEST

/* The report forms |e| as fabsf(x - d) in float: the same bits as the
 * double formula (float)fabs((double)x - (double)d), on pairs of every
 * magnitude and sign (random bit patterns, non-finite ones skipped) and on
 * neighbours (differences near a rounding midpoint). */
START_TEST(test_abs_err_float_is_double)
{
    uint64_t s = 88172645463325252ULL;
    size_t checked = 0;
    for (size_t k = 0; k < 2000000; k++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        uint32_t a = (uint32_t)s, b = (uint32_t)(s >> 32);
        if (k % 2) /* close pairs: b a few ulps from a, or a power-of-two edge */
            b = (a & 0x80000000u) | ((a & 0x7fffffffu) + (uint32_t)(s >> 40) % 64u - 32u);
        float x, d;
        memcpy(&x, &a, 4);
        memcpy(&d, &b, 4);
        if (!isfinite(x) || !isfinite(d))
            continue;
        float f = fabsf(x - d), g = (float)fabs((double)x - (double)d);
        if (!isfinite(g))
            continue;
        ck_assert_msg(memcmp(&f, &g, 4) == 0, "%a %a", (double)x, (double)d);
        checked++;
    }
    ck_assert_uint_gt(checked, 1000000);
}
END_TEST

/* Progress callback that sets the cancel flag after two tensors. */
static volatile sig_atomic_t cancel_flag;
static size_t progress_calls;
static void cancel_after_two(const sq_report_progress *p, void *user)
{
    (void)user;
    progress_calls++;
    ck_assert_uint_eq(p->tensors_total, 8);
    ck_assert(p->bytes_done <= p->bytes_total);
    if (p->tensors_done == 2)
        cancel_flag = 1;
}

START_TEST(test_cancel)
{
    sq_checkpoint *ck = open_fixture();
    sq_qconfig c = sq_qconfig_default();
    sq_report_opts o = sq_report_opts_default();
    o.cancel = &cancel_flag;
    cancel_flag = 1;
    sq_report *rep = run(ck, &c, 1, &o);
    ck_assert(rep->cancelled && rep->n_rows == 0);
    sq_report_free(rep);
    cancel_flag = 0;
    progress_calls = 0;
    o.progress = cancel_after_two;
    rep = run(ck, &c, 1, &o);
    ck_assert(rep->cancelled);
    ck_assert_uint_eq(rep->n_rows, 2);
    ck_assert_uint_eq(progress_calls, 3); /* start, then after each tensor */
    ck_assert_uint_eq(rep->totals[0].num_tensors, 2);
    check_totals(ck, rep, 1);
    sq_report_free(rep);
    /* export: cancelled writes nothing */
    char out[200];
    snprintf(out, sizeof out, "%s/cancelled.safetensors", dir);
    cancel_flag = 0;
    sq_error err;
    ck_assert_int_eq(sq_report_export(ck, NULL, &c, &o, out, NULL, NULL, NULL, &err), SQ_ERR_INTERRUPTED);
    ck_assert_int_ne(access(out, F_OK), 0);
    sq_ckpt_close(ck);
}
END_TEST

/* Read a whole file into a new string. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

START_TEST(test_csv_json_parse_back)
{
    sq_checkpoint *ck = open_fixture();
    sq_qconfig c[2] = {sq_qconfig_default(), cfg_group(4, 8, SQ_MODE_ASYMMETRIC)};
    sq_report *rep = run(ck, c, 2, NULL);
    char csv[200], js[200];
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    snprintf(js, sizeof js, "%s/r.json", dir);
    sq_error err;
    ck_assert_msg(sq_report_write_csv(rep, csv, &err) == SQ_OK, "%s", err.msg);
    ck_assert_msg(sq_report_write_json(rep, js, &err) == SQ_OK, "%s", err.msg);
    /* CSV: header + rows x configs + one total per config; 26 fields a line
     * (quoted shapes hold commas) */
    char *s = slurp(csv);
    size_t lines = 0;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        size_t fields = 1;
        int q = 0;
        for (char *p = line; *p; p++) {
            if (*p == '"')
                q = !q;
            else if (*p == ',' && !q)
                fields++;
        }
        ck_assert_msg(fields == 26, "line %zu has %zu fields: %s", lines, fields, line);
        if (lines == 0)
            ck_assert(strncmp(line, "kind,name,shape,", 16) == 0);
        if (lines == 1)
            ck_assert_msg(strncmp(line, "tensor,exact.weight,\"[2, 4]\",F32,8,32,32,int8 sym per-tensor,1,quantized,inf,0,0,0,0,1,8,8,16,", 90) == 0, "%s", line);
    }
    ck_assert_uint_eq(lines, 1 + rep->n_rows * 2 + 2);
    free(s);
    /* JSON, read with jansson */
    json_error_t je;
    json_t *o = json_load_file(js, 0, &je);
    ck_assert_msg(o != NULL, "%s", je.text);
    ck_assert_str_eq(json_string_value(json_object_get(o, "source")), fixture);
    ck_assert(json_is_false(json_object_get(o, "cancelled")));
    json_t *rows = json_object_get(o, "rows"), *tots = json_object_get(o, "totals");
    ck_assert_uint_eq(json_array_size(rows), rep->n_rows);
    ck_assert_uint_eq(json_array_size(json_object_get(o, "configs")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(o, "configs"), 1), "group_size")), 8);
    for (size_t r = 0; r < rep->n_rows; r++) {
        json_t *row = json_array_get(rows, r);
        ck_assert_str_eq(json_string_value(json_object_get(row, "name")), rep->rows[r].name);
        ck_assert_uint_eq(json_array_size(json_object_get(row, "shape")), (size_t)rep->rows[r].ndim);
        for (size_t k = 0; k < 2; k++) {
            json_t *cell = json_array_get(json_object_get(row, "results"), k);
            const sq_report_cell *x = &rep->rows[r].cells[k];
            ck_assert_str_eq(json_string_value(json_object_get(cell, "status")), sq_report_status_name(x->status));
            ck_assert_int_eq(json_integer_value(json_object_get(cell, "after_bytes")), (json_int_t)x->after_bytes);
            json_t *sq = json_object_get(cell, "sqnr_db");
            if (isfinite(x->sqnr_db))
                ck_assert(fabs(json_real_value(sq) - x->sqnr_db) <= 1e-7 * fabs(x->sqnr_db));
            else
                ck_assert(json_is_null(sq));
        }
    }
    for (size_t k = 0; k < 2; k++) {
        json_t *t = json_array_get(tots, k);
        ck_assert_int_eq(json_integer_value(json_object_get(t, "quantized_bytes")),
                         (json_int_t)rep->totals[k].quantized_bytes);
        ck_assert_int_eq(json_integer_value(json_object_get(t, "num_quantized")), (json_int_t)rep->totals[k].num_quantized);
    }
    json_decref(o);
    /* an unwritable path is an IO error naming it */
    ck_assert_int_eq(sq_report_write_csv(rep, "/nonexistent-dir/r.csv", &err), SQ_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent-dir/r.csv"));
    ck_assert_int_eq(sq_report_write_json(rep, "/nonexistent-dir/r.json", &err), SQ_ERR_IO);
    sq_report_free(rep);
    sq_ckpt_close(ck);
}
END_TEST

START_TEST(test_export_reload_bitwise)
{
    sq_checkpoint *ck = open_fixture();
    sq_qconfig cfgs[3] = {cfg_group(4, 4, SQ_MODE_SYMMETRIC), cfg_group(3, 2, SQ_MODE_ASYMMETRIC),
                          sq_qconfig_default()};
    cfgs[2].mode = SQ_MODE_ASYMMETRIC;
    cfgs[2].granularity = SQ_GRAN_CHANNEL;
    cfgs[2].axis = 1;
    for (size_t k = 0; k < 3; k++) {
        char out[200];
        snprintf(out, sizeof out, "%s/q%zu.safetensors", dir, k);
        sq_error err;
        sq_export_summary sum;
        ck_assert_msg(sq_report_export(ck, "fix", &cfgs[k], NULL, out, NULL, NULL, &sum, &err) == SQ_OK, "%s", err.msg);
        /* per-group configs do not fit odd.weight [5, 7]: kept in float */
        ck_assert_uint_eq(sum.quantized + sum.kept, 8);
        ck_assert_uint_eq(sum.kept, k == 2 ? 3 : 4);
        sq_safetensors *f;
        ck_assert_msg(sq_st_open(out, &f, &err) == SQ_OK, "%s", err.msg);
        char desc[96];
        ck_assert_str_eq(sq_st_metadata_get(f, "squint.config"), sq_qconfig_describe_from(&cfgs[k], 1, desc, sizeof desc));
        ck_assert_str_eq(sq_st_metadata_get(f, "squint.source"), "fix");
        for (size_t i = 0; i < sq_ckpt_count(ck); i++) {
            const sq_tinfo *ti = sq_ckpt_info(ck, i);
            sq_tensor *x, *a, *b;
            ck_assert(sq_ckpt_load(ck, i, &x, &err) == SQ_OK);
            if (sq_st_has_qtensor(f, ti->name)) {
                sq_qtensor *q, *r;
                ck_assert(sq_quantize(x, &cfgs[k], &q, &err) == SQ_OK);
                ck_assert_msg(sq_st_load_qtensor(f, ti->name, &r, &err) == SQ_OK, "%s", err.msg);
                ck_assert(sq_dequantize(q, &a, &err) == SQ_OK && sq_dequantize(r, &b, &err) == SQ_OK);
                ck_assert_int_eq(r->orig_dtype, x->dtype);
                ck_assert_uint_eq(a->numel, b->numel);
                ck_assert_msg(memcmp(a->data, b->data, a->numel * sizeof(float)) == 0, "%s differs", ti->name);
                sq_qtensor_free(q);
                sq_qtensor_free(r);
            } else {
                size_t j;
                ck_assert(ti->ndim < 2 || (k < 2 && strcmp(ti->name, "odd.weight") == 0));
                ck_assert(sq_st_find(f, ti->name, &j, &err) == SQ_OK && sq_st_load(f, j, &b, &err) == SQ_OK);
                ck_assert_str_eq(sq_st_info(f, j)->type_name, ti->type_name);
                ck_assert(b->numel == x->numel && memcmp(b->data, x->data, x->numel * sizeof(float)) == 0);
                a = NULL;
            }
            sq_tensor_free(a);
            sq_tensor_free(b);
            sq_tensor_free(x);
        }
        sq_st_close(f);
    }
    sq_ckpt_close(ck);
}
END_TEST


/* ---- export: lossless copies, sizes, name clashes ---------------------------- */

/* The data bytes of a safetensors file: its size minus 8 and the header. */
static size_t data_bytes(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    uint8_t pre[8];
    ck_assert_uint_eq(fread(pre, 1, 8, f), 8);
    fseek(f, 0, SEEK_END);
    size_t n = (size_t)ftell(f), hl = 0;
    fclose(f);
    for (int i = 0; i < 8; i++)
        hl |= (size_t)pre[i] << (8 * i);
    return n - 8 - hl;
}

/* The bytes of tensor name of ck. */
static const uint8_t *ck_raw(const sq_checkpoint *ck, const char *name, size_t *len)
{
    size_t i;
    const uint8_t *p;
    sq_error err;
    ck_assert_msg(sq_ckpt_find(ck, name, &i, &err) == SQ_OK, "%s", err.msg);
    ck_assert(sq_ckpt_raw(ck, i, &p, len, &err) == SQ_OK);
    return p;
}

/* Tensors the old export changed or dropped, plus one to quantize. */
static void make_lossless_fixture(const char *path)
{
    static const int32_t i32[3] = {INT32_MAX, 16777217, INT32_MIN};
    static const double f64[3] = {1e300, 1e-50, -0.0};
    static const int64_t i64[4] = {INT64_MAX, -3, 1, 2};
    static const uint8_t bools[3] = {1, 0, 1};
    static const uint16_t f16[2] = {0x3c00, 0x0001};
    float w[64];
    for (int i = 0; i < 64; i++)
        w[i] = (float)(i % 13) - 6.0f;
    sq_st_writer *wr;
    sq_error err;
    ck_assert(sq_st_writer_new(&wr, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_raw(wr, "i32", "I32", (size_t[]){3}, 1, i32, 12, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_raw(wr, "f64", "F64", (size_t[]){3}, 1, f64, 24, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_raw(wr, "i64", "I64", (size_t[]){2, 2}, 2, i64, 32, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_raw(wr, "bool", "BOOL", (size_t[]){3}, 1, bools, 3, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_raw(wr, "f16", "F16", (size_t[]){2}, 1, f16, 4, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_raw(wr, "w", "F32", (size_t[]){2, 32}, 2, w, sizeof w, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_metadata(wr, "format", "pt", &err) == SQ_OK);
    ck_assert(sq_st_writer_add_metadata(wr, "squint.config", "stale", &err) == SQ_OK);
    ck_assert_msg(sq_st_writer_write(wr, path, &err) == SQ_OK, "%s", err.msg);
    sq_st_writer_free(wr);
}

static int warned;
static char warned_name[64];
static void count_warn(const char *name, const char *why, void *user)
{
    (void)why;
    (void)user;
    warned++;
    snprintf(warned_name, sizeof warned_name, "%s", name);
}

START_TEST(test_export_keeps_everything_exactly)
{
    char src[200], out[200];
    snprintf(src, sizeof src, "%s/lossless.safetensors", dir);
    snprintf(out, sizeof out, "%s/lossless-q.safetensors", dir);
    make_lossless_fixture(src);
    sq_checkpoint *ck, *ex;
    sq_error err;
    ck_assert(sq_ckpt_open(src, &ck, &err) == SQ_OK);
    sq_qconfig c = cfg_group(4, 16, SQ_MODE_SYMMETRIC);
    c.scale_store = SQ_SCALE_F16;
    for (int pass = 0; pass < 2; pass++) { /* all selected; then --exclude 'w' */
        sq_report_opts o = sq_report_opts_default();
        o.exclude = pass ? "w" : NULL;
        sq_export_summary sum;
        warned = 0;
        ck_assert_msg(sq_report_export(ck, src, &c, &o, out, count_warn, NULL, &sum, &err) == SQ_OK, "%s", err.msg);
        ck_assert_uint_eq(sum.quantized, pass ? 0 : 1);
        ck_assert_uint_eq(sum.kept, pass ? 5 : 5);
        ck_assert_uint_eq(sum.excluded, pass ? 1 : 0);
        ck_assert_int_eq(warned, 1); /* i64 [2, 2]: I64 cannot be quantized */
        ck_assert_str_eq(warned_name, "i64");
        ck_assert_msg(sq_ckpt_open(out, &ex, &err) == SQ_OK, "%s", err.msg);
        static const char *const kept[] = {"i32", "f64", "i64", "bool", "f16"};
        for (size_t k = 0; k < 5 + (size_t)pass; k++) {
            const char *name = k < 5 ? kept[k] : "w";
            size_t la, lb, ia, ib;
            const uint8_t *a = ck_raw(ck, name, &la), *b = ck_raw(ex, name, &lb);
            ck_assert_uint_eq(la, lb);
            ck_assert_mem_eq(a, b, la);
            ck_assert(sq_ckpt_find(ck, name, &ia, &err) == SQ_OK && sq_ckpt_find(ex, name, &ib, &err) == SQ_OK);
            ck_assert_str_eq(sq_ckpt_info(ck, ia)->type_name, sq_ckpt_info(ex, ib)->type_name);
            ck_assert_int_eq(sq_ckpt_info(ck, ia)->ndim, sq_ckpt_info(ex, ib)->ndim);
        }
        ck_assert(sq_ckpt_has_qtensor(ex, "w") == !pass);
        /* metadata: the source's kept, squint.* replaced, source as a base name */
        const char *k, *ty, *v, *fmt = NULL, *cfgv = NULL, *srcv = NULL;
        for (size_t i = 0; sq_ckpt_metadata(ex, i, &k, &ty, &v); i++) {
            fmt = strcmp(k, "format") == 0 ? v : fmt;
            cfgv = strcmp(k, "squint.config") == 0 ? v : cfgv;
            srcv = strcmp(k, "squint.source") == 0 ? v : srcv;
        }
        ck_assert_str_eq(fmt, "pt");
        ck_assert_str_eq(cfgv, "int4 sym per-group(16)");
        ck_assert_str_eq(srcv, "lossless.safetensors");
        sq_ckpt_close(ex);
    }
    sq_ckpt_close(ck);
}
END_TEST

START_TEST(test_export_sizes_are_the_file)
{
    char src[200], out[200];
    snprintf(src, sizeof src, "%s/big.safetensors", dir);
    snprintf(out, sizeof out, "%s/big-q.safetensors", dir);
    sq_tensor *t;
    sq_error err;
    size_t shape[2] = {64, 128};
    ck_assert(sq_tensor_randn(shape, 2, 5, &t, &err) == SQ_OK);
    ck_assert(sq_save_tensor_file(src, "w", t, &err) == SQ_OK);
    sq_checkpoint *ck, *ex;
    ck_assert(sq_ckpt_open(src, &ck, &err) == SQ_OK);
    sq_qconfig c[2] = {cfg_group(4, 32, SQ_MODE_SYMMETRIC), cfg_group(4, 32, SQ_MODE_ASYMMETRIC)};
    /* 8192 weights: 4096 code bytes, 256 f16 scales; asymmetric adds 256 I8 zero points */
    const size_t want[2] = {4096 + 512, 4096 + 512 + 256};
    for (int k = 0; k < 2; k++) {
        c[k].scale_store = SQ_SCALE_F16;
        ck_assert_msg(sq_report_export(ck, NULL, &c[k], NULL, out, NULL, NULL, NULL, &err) == SQ_OK, "%s", err.msg);
        ck_assert_uint_eq(data_bytes(out), want[k]);
        ck_assert(sq_ckpt_open(out, &ex, &err) == SQ_OK);
        size_t i;
        ck_assert_int_eq(sq_ckpt_find(ex, "w.zero_points", &i, &err), k ? SQ_OK : SQ_ERR_NOTFOUND);
        if (k)
            ck_assert_str_eq(sq_ckpt_info(ex, i)->type_name, "I8");
        ck_assert(sq_ckpt_find(ex, "w.scales", &i, &err) == SQ_OK);
        ck_assert_str_eq(sq_ckpt_info(ex, i)->type_name, "F16");
        /* the reloaded tensor dequantizes as the in-memory one, bit for bit */
        sq_qtensor *q, *r;
        sq_tensor *a, *b;
        ck_assert(sq_quantize(t, &c[k], &q, &err) == SQ_OK);
        ck_assert_msg(sq_ckpt_load_qtensor(ex, "w", &r, &err) == SQ_OK, "%s", err.msg);
        ck_assert(sq_dequantize(q, &a, &err) == SQ_OK && sq_dequantize(r, &b, &err) == SQ_OK);
        ck_assert_mem_eq(a->data, b->data, a->numel * sizeof(float));
        sq_tensor_free(b);
        sq_qtensor_free(r);
        /* re-exporting the export keeps w quantized and loadable */
        char again[220];
        snprintf(again, sizeof again, "%s.again", out);
        ck_assert_msg(sq_report_export(ex, NULL, &c[k], NULL, again, NULL, NULL, NULL, &err) == SQ_OK, "%s", err.msg);
        sq_ckpt_close(ex);
        ck_assert(sq_ckpt_open(again, &ex, &err) == SQ_OK);
        ck_assert_msg(sq_ckpt_load_qtensor(ex, "w", &r, &err) == SQ_OK, "%s", err.msg);
        ck_assert(sq_dequantize(r, &b, &err) == SQ_OK);
        ck_assert_mem_eq(a->data, b->data, a->numel * sizeof(float));
        sq_tensor_free(a);
        sq_tensor_free(b);
        sq_qtensor_free(q);
        sq_qtensor_free(r);
        sq_ckpt_close(ex);
        /* the report says the same */
        sq_report *rep = run(ck, &c[k], 1, NULL);
        ck_assert_uint_eq(rep->rows[0].cells[0].after_bytes, want[k]);
        ck_assert(rep->rows[0].cells[0].bits_per_weight == (k ? 4.75 : 4.5));
        ck_assert_uint_eq(rep->totals[0].quantized_bytes, want[k]);
        sq_report_free(rep);
    }
    sq_tensor_free(t);
    sq_ckpt_close(ck);
    /* on the mixed fixture (kept, incompatible, F16/BF16 sources) the total is the file's data */
    ck = open_fixture();
    sq_qconfig m = cfg_group(3, 4, SQ_MODE_ASYMMETRIC);
    m.scale_store = SQ_SCALE_F16;
    ck_assert_msg(sq_report_export(ck, NULL, &m, NULL, out, NULL, NULL, NULL, &err) == SQ_OK, "%s", err.msg);
    sq_report *rep = run(ck, &m, 1, NULL);
    ck_assert_uint_eq(rep->totals[0].quantized_bytes, data_bytes(out));
    sq_report_free(rep);
    sq_ckpt_close(ck);
}
END_TEST

START_TEST(test_export_name_clash)
{
    char src[200], out[200];
    snprintf(src, sizeof src, "%s/clash.safetensors", dir);
    snprintf(out, sizeof out, "%s/clash-q.safetensors", dir);
    const float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    sq_st_writer *w;
    sq_error err;
    ck_assert(sq_st_writer_new(&w, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_raw(w, "w", "F32", (size_t[]){2, 4}, 2, v, 32, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_raw(w, "w.codes", "F32", (size_t[]){3}, 1, v, 12, &err) == SQ_OK);
    ck_assert(sq_st_writer_write(w, src, &err) == SQ_OK);
    sq_st_writer_free(w);
    sq_checkpoint *ck;
    ck_assert(sq_ckpt_open(src, &ck, &err) == SQ_OK);
    sq_qconfig c = sq_qconfig_default();
    ck_assert_int_eq(sq_report_export(ck, NULL, &c, NULL, out, NULL, NULL, NULL, &err), SQ_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "w.codes") && strstr(err.msg, "duplicate") && strstr(err.msg, "clash"), "%s", err.msg);
    ck_assert_int_ne(access(out, F_OK), 0);
    /* excluding w leaves no clash */
    sq_report_opts o = sq_report_opts_default();
    o.exclude = "^w$";
    ck_assert_msg(sq_report_export(ck, NULL, &c, &o, out, NULL, NULL, NULL, &err) == SQ_OK, "%s", err.msg);
    sq_ckpt_close(ck);
    /* a rank-2 tensor whose name is too long for its metadata keys: copied as is, with a warning */
    char longname[451];
    memset(longname, 'n', 450);
    longname[450] = 0;
    ck_assert(sq_st_writer_new(&w, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_raw(w, longname, "F32", (size_t[]){2, 4}, 2, v, 32, &err) == SQ_OK);
    ck_assert(sq_st_writer_write(w, src, &err) == SQ_OK);
    sq_st_writer_free(w);
    ck_assert(sq_ckpt_open(src, &ck, &err) == SQ_OK);
    warned = 0;
    sq_export_summary sum;
    ck_assert_msg(sq_report_export(ck, NULL, &c, NULL, out, count_warn, NULL, &sum, &err) == SQ_OK, "%s", err.msg);
    ck_assert_int_eq(warned, 1);
    ck_assert_uint_eq(sum.kept, 1);
    sq_checkpoint *ex;
    size_t la, lb;
    ck_assert(sq_ckpt_open(out, &ex, &err) == SQ_OK);
    const uint8_t *a = ck_raw(ck, longname, &la), *b = ck_raw(ex, longname, &lb);
    ck_assert(la == 32 && lb == 32 && memcmp(a, b, 32) == 0);
    sq_ckpt_close(ex);
    sq_ckpt_close(ck);
}
END_TEST

/* ---- sq_ckpt_prefetch: a hint that changes nothing ------------------------------- */

/* The bytes of a file (caller frees) and their count. */
static uint8_t *file_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(len > 0 ? (size_t)len : 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* Every tensor of path loaded through a handle that is asked to prefetch
 * (next tensor, this one, out-of-range indices) equals its load through a
 * handle that never is: status, shape and every value bit for bit. */
static void prefetch_loads_equal(const char *path)
{
    sq_checkpoint *a, *b;
    sq_error err;
    ck_assert_msg(sq_ckpt_open(path, &a, &err) == SQ_OK, "%s: %s", path, err.msg);
    ck_assert_msg(sq_ckpt_open(path, &b, &err) == SQ_OK, "%s: %s", path, err.msg);
    size_t n = sq_ckpt_count(a);
    ck_assert_uint_gt(n, 1);
    sq_ckpt_prefetch(a, n);        /* one past the end */
    sq_ckpt_prefetch(a, n + 7);
    sq_ckpt_prefetch(a, SIZE_MAX);
    sq_ckpt_prefetch(NULL, 0);
    for (size_t i = n; i-- > 0;) /* more requests than the reader holds: the oldest are dropped */
        sq_ckpt_prefetch(a, i);
    for (size_t i = 0; i < n; i++) {
        sq_ckpt_prefetch(a, i + 1); /* the last one asks past the end */
        sq_ckpt_prefetch(a, i);
        sq_tensor *x = NULL, *y = NULL;
        sq_status sa = sq_ckpt_load(a, i, &x, &err), sb = sq_ckpt_load(b, i, &y, &err);
        ck_assert_int_eq(sa, sb);
        if (sa == SQ_OK) {
            ck_assert_uint_eq(x->numel, y->numel);
            ck_assert_int_eq(x->ndim, y->ndim);
            ck_assert_mem_eq(x->shape, y->shape, sizeof x->shape);
            ck_assert_mem_eq(x->data, y->data, x->numel * sizeof *x->data);
        }
        sq_tensor_free(x);
        sq_tensor_free(y);
        const uint8_t *pa, *pb;
        size_t la, lb;
        ck_assert(sq_ckpt_raw(a, i, &pa, &la, &err) == SQ_OK && sq_ckpt_raw(b, i, &pb, &lb, &err) == SQ_OK);
        ck_assert_uint_eq(la, lb);
        ck_assert_mem_eq(pa, pb, la);
        sq_ckpt_raw_release(a, i);
        sq_ckpt_raw_release(b, i);
    }
    sq_ckpt_prefetch(a, 0); /* closed with a request pending or in progress: joins, nothing leaks */
    sq_ckpt_close(a);
    sq_ckpt_close(b);
}

START_TEST(test_prefetch_harmless)
{
    prefetch_loads_equal(fixture);
    prefetch_loads_equal(SQ_TEST_DATA "/good.gguf");
    prefetch_loads_equal(SQ_TEST_DATA "/shard/model.safetensors.index.json");
    sq_checkpoint *ck = open_fixture(); /* opened and closed without a request: no thread to join */
    sq_ckpt_close(ck);
    /* images in memory are not file-backed: prefetching is a no-op */
    size_t n;
    sq_error err;
    uint8_t *img = file_bytes(fixture, &n);
    sq_safetensors *st;
    ck_assert_msg(sq_st_open_mem(img, n, "fix.safetensors", &st, &err) == SQ_OK, "%s", err.msg);
    for (size_t i = 0; i <= sq_st_count(st) + 1; i++)
        sq_st_prefetch(st, i);
    sq_st_prefetch(st, SIZE_MAX);
    sq_tensor *t;
    ck_assert(sq_st_load(st, 0, &t, &err) == SQ_OK); /* "exact.weight" */
    ck_assert_float_eq(t->data[0], -63.5f);
    ck_assert_float_eq(t->data[5], 63.5f);
    sq_tensor_free(t);
    sq_st_close(st);
    free(img);
    img = file_bytes(SQ_TEST_DATA "/good.gguf", &n);
    sq_gguf *g;
    ck_assert_msg(sq_gguf_open_mem(img, n, "good.gguf", &g, &err) == SQ_OK, "%s", err.msg);
    for (size_t i = 0; i <= sq_gguf_count(g) + 1; i++)
        sq_gguf_prefetch(g, i);
    sq_gguf_prefetch(g, SIZE_MAX);
    sq_gguf_close(g);
    free(img);
}
END_TEST

/* The JSON of a report of the fixture, with the prefetch on or off. */
static char *report_json(const sq_qconfig *c, size_t nc, const sq_report_opts *o, bool prefetch, const char *name)
{
    char path[200];
    sq_error err;
    snprintf(path, sizeof path, "%s/%s-%d.json", dir, name, (int)prefetch);
    if (prefetch)
        ck_assert_int_eq(unsetenv("SQUINT_NO_PREFETCH"), 0);
    else
        ck_assert_int_eq(setenv("SQUINT_NO_PREFETCH", "1", 1), 0);
    sq_checkpoint *ck = open_fixture();
    sq_report *rep = run(ck, c, nc, o);
    ck_assert_msg(sq_report_write_json(rep, path, &err) == SQ_OK, "%s", err.msg);
    sq_report_free(rep);
    sq_ckpt_close(ck);
    ck_assert_int_eq(unsetenv("SQUINT_NO_PREFETCH"), 0);
    return slurp(path);
}

START_TEST(test_prefetch_report_rows_identical)
{
    sq_qconfig c[2] = {cfg_group(4, 8, SQ_MODE_SYMMETRIC), cfg_group(3, 4, SQ_MODE_ASYMMETRIC)};
    sq_report_opts o[3] = {sq_report_opts_default(), sq_report_opts_default(), sq_report_opts_default()};
    o[1].shards = 2; /* the second of two shards: every other selected tensor */
    o[1].shard = 2;
    o[2].exclude = "layer\\.0"; /* the next tensor loaded lies past ones left out */
    static const char *const loaded[3] = {"odd.weight", "emb", "layer.1.weight"}; /* a row each report has */
    for (int k = 0; k < 3; k++) {
        char *on = report_json(c, 2, &o[k], true, "pf"), *off = report_json(c, 2, &o[k], false, "pf");
        ck_assert_str_eq(on, off);
        ck_assert_ptr_nonnull(strstr(on, loaded[k])); /* rows with figures, not two empty reports */
        ck_assert_ptr_nonnull(strstr(on, "sqnr"));
        free(on);
        free(off);
    }
    /* the quantized export: the same bytes */
    sq_checkpoint *ck = open_fixture();
    sq_error err;
    sq_export_summary sum;
    char out[2][200];
    for (int pf = 0; pf < 2; pf++) {
        snprintf(out[pf], sizeof out[pf], "%s/pf-export-%d.safetensors", dir, pf);
        ck_assert_int_eq(pf ? unsetenv("SQUINT_NO_PREFETCH") : setenv("SQUINT_NO_PREFETCH", "1", 1), 0);
        ck_assert_msg(sq_report_export(ck, fixture, &c[0], NULL, out[pf], NULL, NULL, &sum, &err) == SQ_OK, "%s",
                      err.msg);
    }
    ck_assert_int_eq(unsetenv("SQUINT_NO_PREFETCH"), 0);
    sq_ckpt_close(ck);
    size_t na, nb;
    uint8_t *a = file_bytes(out[0], &na), *b = file_bytes(out[1], &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert_mem_eq(a, b, na);
    free(a);
    free(b);
}
END_TEST

/* A child forked while the prefetch thread runs has no such thread: its
 * requests are served in its own thread and closing does not wait for one. */
START_TEST(test_prefetch_after_fork)
{
    /* the child reports through a pipe: its exit status may be changed by
     * tools (valgrind counts the parent's memory, gone with _exit, as left) */
    sq_checkpoint *ck = open_fixture();
    int fd[2];
    char verdict = '?';
    sq_ckpt_prefetch(ck, 1); /* starts the thread */
    ck_assert_int_eq(pipe(fd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        sq_error err;
        sq_tensor *t;
        sq_ckpt_prefetch(ck, 2);
        int ok = sq_ckpt_load(ck, 1, &t, &err) == SQ_OK && t->numel == 16 * 64;
        if (ok)
            sq_tensor_free(t);
        sq_ckpt_close(ck);
        verdict = ok ? 'y' : 'n';
        ssize_t w = write(fd[1], &verdict, 1);
        _exit(w == 1 ? 0 : 3);
    }
    close(fd[1]);
    ck_assert_int_eq(read(fd[0], &verdict, 1), 1);
    close(fd[0]);
    ck_assert_int_eq(verdict, 'y');
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    sq_ckpt_prefetch(ck, 2); /* the parent's thread still serves it */
    sq_ckpt_close(ck);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_add_unchecked_fixture(tc, make_fixture, remove_dir);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_exact_tensor);
    tcase_add_test(tc, test_totals_equal_rows_and_model_stats);
    tcase_add_test(tc, test_filters);
    tcase_add_test(tc, test_percentiles_against_sort);
    tcase_add_test(tc, test_percentiles_large_against_sort);
    tcase_add_test(tc, test_abs_err_float_is_double);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_csv_json_parse_back);
    tcase_add_test(tc, test_export_reload_bitwise);
    tcase_add_test(tc, test_export_keeps_everything_exactly);
    tcase_add_test(tc, test_export_sizes_are_the_file);
    tcase_add_test(tc, test_export_name_clash);
    tcase_add_test(tc, test_prefetch_harmless);
    tcase_add_test(tc, test_prefetch_report_rows_identical);
    tcase_add_test(tc, test_prefetch_after_fork);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(report_suite)
