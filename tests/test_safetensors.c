/* test_safetensors.c - the generated fixture (every dtype, metadata, exact
 * values), writer round trips of float and quantized tensors (every format
 * too), writer errors, damaged quantized tensors. */
#include <limits.h>
#include <stdbool.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "quant.h"
#include "safetensors.h"
#include "testutil.h"

#define GOOD SQ_TEST_DATA "/good.safetensors"

static sq_safetensors *open_ok(const char *path)
{
    sq_safetensors *f = NULL;
    sq_error err;
    ck_assert_msg(sq_st_open(path, &f, &err) == SQ_OK, "%s", err.msg);
    return f;
}

static sq_tensor *load_name(const sq_safetensors *f, const char *name)
{
    size_t i;
    sq_tensor *t = NULL;
    sq_error err;
    ck_assert_msg(sq_st_find(f, name, &i, &err) == SQ_OK, "%s", err.msg);
    ck_assert_msg(sq_st_load(f, i, &t, &err) == SQ_OK, "%s", err.msg);
    return t;
}

START_TEST(test_fixture_listing_and_values)
{
    sq_safetensors *f = open_ok(GOOD);
    ck_assert_uint_eq(sq_st_count(f), 11);
    ck_assert_str_eq(sq_st_info(f, 0)->name, "a_f32");
    ck_assert_str_eq(sq_st_info(f, 2)->type_name, "BF16");
    ck_assert_uint_eq(sq_st_info(f, 3)->nbytes, 48);
    ck_assert_str_eq(sq_st_metadata_get(f, "format"), "pt");
    ck_assert_str_eq(sq_st_metadata_get(f, "author"), "squint tests");
    ck_assert_ptr_null(sq_st_metadata_get(f, "nope"));
    static const struct {
        const char *name;
        sq_dtype dt;
        double mul, add; /* value i -> i * mul + add */
    } c[] = {{"a_f32", SQ_DTYPE_F32, 0.5, -1},   {"b_f16", SQ_DTYPE_F16, 0.5, -1},
             {"c_bf16", SQ_DTYPE_BF16, 0.5, -1}, {"d_f64", SQ_DTYPE_F64, 0.5, -1},
             {"e_i8", SQ_DTYPE_I8, 1, -3},       {"f_u8", SQ_DTYPE_U8, 40, 0},
             {"g_i16", SQ_DTYPE_I16, 1000, -3000}, {"h_i32", SQ_DTYPE_I32, 100000, -300000}};
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        sq_tensor *t = load_name(f, c[k].name);
        ck_assert_int_eq(t->ndim, 2);
        ck_assert(t->shape[0] == 2 && t->shape[1] == 3);
        ck_assert_int_eq(t->dtype, c[k].dt);
        for (size_t i = 0; i < 6; i++)
            ck_assert_msg(t->data[i] == (float)((double)i * c[k].mul + c[k].add), "%s[%zu]=%g", c[k].name, i,
                          (double)t->data[i]);
        sq_tensor_free(t);
    }
    sq_tensor *s = load_name(f, "j_scalar");
    ck_assert(s->ndim == 0 && s->numel == 1 && s->data[0] == 7.5f);
    sq_tensor_free(s);
    sq_tensor *e = load_name(f, "k_empty");
    ck_assert(e->numel == 0 && e->shape[1] == 4);
    sq_tensor_free(e);
    /* I64 is listed but refused by name */
    size_t i;
    sq_error err;
    sq_tensor *t = (sq_tensor *)1;
    ck_assert(sq_st_find(f, "i_i64", &i, &err) == SQ_OK);
    ck_assert(!sq_st_info(f, i)->loadable);
    ck_assert_int_eq(sq_st_load(f, i, &t, &err), SQ_ERR_UNSUPPORTED);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err.msg, "I64") && strstr(err.msg, "i_i64") && strstr(err.msg, "good.safetensors"), "%s",
                  err.msg);
    ck_assert_int_eq(sq_st_find(f, "missing", &i, &err), SQ_ERR_NOTFOUND);
    /* a tensor number past the end is named 1-based, with the valid range */
    char want[64];
    snprintf(want, sizeof want, "tensor %zu is out of range 1..%zu", sq_st_count(f) + 1, sq_st_count(f));
    ck_assert_int_eq(sq_st_load(f, sq_st_count(f), &t, &err), SQ_ERR_ARG);
    ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
    sq_st_close(f);
}
END_TEST

/* Load every tensor of src, write them (same dtypes) to dst. */
static void copy_file(const char *src, const char *dst)
{
    sq_safetensors *f = open_ok(src);
    sq_st_writer *w;
    sq_error err;
    ck_assert(sq_st_writer_new(&w, &err) == SQ_OK);
    for (size_t i = 0; i < sq_st_count(f); i++) {
        sq_tensor *t;
        if (!sq_st_info(f, i)->loadable)
            continue;
        ck_assert(sq_st_load(f, i, &t, &err) == SQ_OK);
        ck_assert_msg(sq_st_writer_add_tensor(w, sq_st_info(f, i)->name, t, t->dtype, &err) == SQ_OK, "%s", err.msg);
        sq_tensor_free(t);
    }
    for (size_t i = 0; i < sq_st_metadata_count(f); i++)
        ck_assert(sq_st_writer_add_metadata(w, sq_st_metadata_key(f, i), sq_st_metadata_value(f, i), &err) == SQ_OK);
    ck_assert_msg(sq_st_writer_write(w, dst, &err) == SQ_OK, "%s", err.msg);
    sq_st_writer_free(w);
    sq_st_close(f);
}

START_TEST(test_round_trip_bit_identical)
{
    char p1[128], p2[128];
    snprintf(p1, sizeof p1, "tests/st-tmp-%ld-1.safetensors", (long)getpid());
    snprintf(p2, sizeof p2, "tests/st-tmp-%ld-2.safetensors", (long)getpid());
    copy_file(GOOD, p1);
    copy_file(p1, p2);
    sq_safetensors *a = open_ok(GOOD), *b = open_ok(p1), *c = open_ok(p2);
    ck_assert_uint_eq(sq_st_count(b), 10);
    ck_assert_str_eq(sq_st_metadata_get(c, "author"), "squint tests");
    for (size_t i = 0; i < sq_st_count(b); i++) {
        const sq_tinfo *ti = sq_st_info(b, i);
        sq_tensor *x = load_name(a, ti->name), *y = load_name(b, ti->name), *z = load_name(c, ti->name);
        ck_assert_str_eq(ti->type_name, sq_st_info(c, i)->type_name);
        ck_assert(x->numel == y->numel && y->numel == z->numel && x->dtype == z->dtype);
        if (x->numel) {
            ck_assert_mem_eq(x->data, y->data, x->numel * sizeof(float));
            ck_assert_mem_eq(x->data, z->data, x->numel * sizeof(float));
        }
        sq_tensor_free(x);
        sq_tensor_free(y);
        sq_tensor_free(z);
    }
    sq_st_close(a);
    sq_st_close(b);
    sq_st_close(c);
    unlink(p1);
    unlink(p2);
}
END_TEST

/* Quantize randn with cfg, save with a float tensor, reload: identical. */
static void qround(sq_qconfig cfg, const size_t *shape, int ndim)
{
    char p[128];
    sq_error err;
    sq_tensor *x;
    sq_qtensor *q, *r = NULL;
    sq_st_writer *w;
    snprintf(p, sizeof p, "tests/st-tmp-%ld-q.safetensors", (long)getpid());
    ck_assert(sq_tensor_randn(shape, ndim, 7, &x, &err) == SQ_OK);
    x->dtype = SQ_DTYPE_BF16;
    ck_assert_msg(sq_quantize(x, &cfg, &q, &err) == SQ_OK, "%s", err.msg);
    ck_assert(sq_st_writer_new(&w, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_tensor(w, "float", x, SQ_DTYPE_F32, &err) == SQ_OK);
    ck_assert_msg(sq_st_writer_add_qtensor(w, "layer.w", q, &err) == SQ_OK, "%s", err.msg);
    ck_assert(sq_st_writer_add_metadata(w, "note", "hello", &err) == SQ_OK);
    ck_assert_int_eq(sq_st_writer_add_qtensor(w, "layer.w", q, &err), SQ_ERR_ARG);
    ck_assert_msg(sq_st_writer_write(w, p, &err) == SQ_OK, "%s", err.msg);
    sq_st_writer_free(w);
    sq_safetensors *f = open_ok(p);
    ck_assert(sq_st_has_qtensor(f, "layer.w") && !sq_st_has_qtensor(f, "float"));
    ck_assert_str_eq(sq_st_metadata_get(f, "note"), "hello");
    ck_assert_msg(sq_st_load_qtensor(f, "layer.w", &r, &err) == SQ_OK, "%s", err.msg);
    ck_assert_mem_eq(&r->config, &q->config, sizeof q->config);
    ck_assert(r->ndim == q->ndim && r->numel == q->numel && r->orig_dtype == SQ_DTYPE_BF16);
    ck_assert_mem_eq(r->shape, q->shape, sizeof q->shape);
    ck_assert_uint_eq(r->code_bytes, q->code_bytes);
    ck_assert_mem_eq(r->codes, q->codes, q->code_bytes);
    ck_assert_uint_eq(r->n_scales, q->n_scales);
    ck_assert_mem_eq(r->scales, q->scales, q->n_scales * sizeof(double));
    for (size_t k = 0; k < q->n_scales; k++) /* equal values (a -0 zero point comes back as +0) */
        ck_assert(r->zero_points[k] == q->zero_points[k]);
    ck_assert_uint_eq(r->n_clipped, q->n_clipped);
    sq_tensor *dq, *dr;
    ck_assert(sq_dequantize(q, &dq, &err) == SQ_OK && sq_dequantize(r, &dr, &err) == SQ_OK);
    ck_assert_mem_eq(dr->data, dq->data, q->numel * sizeof(float));
    sq_tensor_free(dq);
    sq_tensor_free(dr);
    size_t zi, si;
    ck_assert(sq_st_find(f, "layer.w.scales", &si, &err) == SQ_OK);
    ck_assert_str_eq(sq_st_info(f, si)->type_name, q->config.scale_store == SQ_SCALE_F16   ? "F16"
                                                   : q->config.scale_store == SQ_SCALE_F32 ? "F32"
                                                                                           : "F64");
    ck_assert_int_eq(sq_st_find(f, "layer.w.zero_points", &zi, &err) == SQ_OK, cfg.mode == SQ_MODE_ASYMMETRIC);
    size_t i;
    ck_assert(sq_st_find(f, "layer.w.codes", &i, &err) == SQ_OK);
    ck_assert_str_eq(sq_st_info(f, i)->type_name, cfg.bits == 8 ? "I8" : "U8");
    if (cfg.bits == 8) { /* I8 codes are the signed codes a Python user expects */
        sq_tensor *c = load_name(f, "layer.w.codes");
        for (size_t k = 0; k < q->numel; k++)
            ck_assert(c->data[k] == (float)sq_qtensor_code(q, k));
        sq_tensor_free(c);
    }
    sq_tensor *xf = load_name(f, "float");
    ck_assert_mem_eq(xf->data, x->data, x->numel * sizeof(float));
    sq_tensor_free(xf);
    sq_st_close(f);
    sq_qtensor_free(q);
    sq_qtensor_free(r);
    sq_tensor_free(x);
    unlink(p);
}

START_TEST(test_qtensor_round_trip)
{
    const size_t s2[] = {6, 64};
    sq_qconfig c = sq_qconfig_default();
    qround(c, s2, 2);
    c.bits = 4;
    c.mode = SQ_MODE_ASYMMETRIC;
    c.granularity = SQ_GRAN_GROUP;
    c.group_size = 16;
    qround(c, s2, 2);
    c.bits = 3;
    c.granularity = SQ_GRAN_CHANNEL;
    c.axis = 1;
    c.rounding = SQ_ROUND_EVEN;
    c.zero_in_range = true;
    qround(c, s2, 2);
    c.scale_store = SQ_SCALE_F16;
    qround(c, s2, 2);
    c.zero_in_range = false;
    c.scale_store = SQ_SCALE_F32;
    qround(c, s2, 2);
    c = sq_qconfig_default();
    c.bits = 2;
    qround(c, s2, 1);
    c.granularity = SQ_GRAN_GROUP;
    c.bits = 4;
    c.scale_store = SQ_SCALE_F16;
    qround(c, s2, 2);
}
END_TEST

START_TEST(test_writer_errors)
{
    sq_st_writer *w;
    sq_error err;
    const size_t shape[] = {2};
    const float v[] = {1.5f, 300};
    sq_tensor *t = tu_tensor(shape, 1, v);
    ck_assert(sq_st_writer_new(&w, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_tensor(w, "a", t, SQ_DTYPE_F32, &err) == SQ_OK);
    ck_assert_int_eq(sq_st_writer_add_tensor(w, "a", t, SQ_DTYPE_F32, &err), SQ_ERR_ARG);
    ck_assert(strstr(err.msg, "duplicate"));
    ck_assert_int_eq(sq_st_writer_add_tensor(w, "__metadata__", t, SQ_DTYPE_F32, &err), SQ_ERR_ARG);
    ck_assert_int_eq(sq_st_writer_add_tensor(w, "b", t, SQ_DTYPE_I8, &err), SQ_ERR_ARG);
    ck_assert(strstr(err.msg, "not representable"));
    ck_assert(sq_st_writer_add_metadata(w, "k", "v", &err) == SQ_OK);
    ck_assert_int_eq(sq_st_writer_add_metadata(w, "k", "w", &err), SQ_ERR_ARG);
    ck_assert_int_eq(sq_st_writer_write(w, "/nonexistent-dir/o.safetensors", &err), SQ_ERR_IO);
    ck_assert_msg(strstr(err.msg, "/nonexistent-dir/o.safetensors") && strstr(err.msg, "No such file"), "%s", err.msg);
    sq_st_writer_free(w);
    sq_st_writer_free(NULL);
    sq_st_close(NULL);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_checkpoint_front)
{
    sq_checkpoint *ck;
    sq_error err;
    ck_assert_msg(sq_ckpt_open(GOOD, &ck, &err) == SQ_OK, "%s", err.msg);
    ck_assert_int_eq(sq_ckpt_get_format(ck), SQ_CKPT_SAFETENSORS);
    ck_assert_uint_eq(sq_ckpt_count(ck), 11);
    const char *k, *ty, *v;
    ck_assert(sq_ckpt_metadata(ck, 0, &k, &ty, &v));
    ck_assert_str_eq(k, "format");
    sq_tensor *t;
    ck_assert(sq_ckpt_load(ck, 0, &t, &err) == SQ_OK);
    ck_assert(t->data[5] == 1.5f);
    sq_tensor_free(t);
    sq_ckpt_close(ck);
    sq_ckpt_close(NULL);
}
END_TEST


/* A temporary directory for a test's files, and a path in it. */
static char tdir[64];

static void tdir_make(void)
{
    snprintf(tdir, sizeof tdir, "/tmp/sq_st_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tdir));
}

static void tdir_remove(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tdir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *tpath(const char *name)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", tdir, name);
    return p;
}

/* The bytes of tensor name in f. */
static const uint8_t *raw_of(const sq_safetensors *f, const char *name, size_t *len)
{
    size_t i;
    const uint8_t *p;
    sq_error err;
    ck_assert_msg(sq_st_find(f, name, &i, &err) == SQ_OK, "%s", err.msg);
    ck_assert(sq_st_raw(f, i, &p, len, &err) == SQ_OK);
    return p;
}

/* Save q under "t", reload it: every part as the writer chose, zero points
 * of dtype zd (NULL: none), scales of dtype sd; same dequantized floats. */
static void zp_round(const sq_qtensor *q, const char *sd, const char *zd)
{
    sq_error err;
    sq_st_writer *w;
    sq_qtensor *r;
    ck_assert(sq_st_writer_new(&w, &err) == SQ_OK);
    ck_assert_msg(sq_st_writer_add_qtensor(w, "t", q, &err) == SQ_OK, "%s", err.msg);
    ck_assert_msg(sq_st_writer_write(w, tpath("zp.safetensors"), &err) == SQ_OK, "%s", err.msg);
    sq_st_writer_free(w);
    sq_safetensors *f = open_ok(tpath("zp.safetensors"));
    size_t i, code, meta;
    ck_assert(sq_st_find(f, "t.scales", &i, &err) == SQ_OK);
    ck_assert_str_eq(sq_st_info(f, i)->type_name, sd);
    size_t total = sq_st_info(f, i)->nbytes;
    if (zd) {
        ck_assert(sq_st_find(f, "t.zero_points", &i, &err) == SQ_OK);
        ck_assert_str_eq(sq_st_info(f, i)->type_name, zd);
        total += sq_st_info(f, i)->nbytes;
    } else {
        ck_assert_int_eq(sq_st_find(f, "t.zero_points", &i, &err), SQ_ERR_NOTFOUND);
    }
    sq_st_qtensor_file_bytes(q, &code, &meta);
    ck_assert_uint_eq(meta, total);
    ck_assert_msg(sq_st_load_qtensor(f, "t", &r, &err) == SQ_OK, "%s", err.msg);
    for (size_t k = 0; k < q->n_scales; k++)
        ck_assert(r->scales[k] == q->scales[k] && r->zero_points[k] == q->zero_points[k]);
    sq_tensor *a, *b;
    ck_assert(sq_dequantize(q, &a, &err) == SQ_OK && sq_dequantize(r, &b, &err) == SQ_OK);
    ck_assert_mem_eq(a->data, b->data, a->numel * sizeof(float));
    sq_tensor_free(a);
    sq_tensor_free(b);
    sq_qtensor_free(r);
    sq_st_close(f);
}

START_TEST(test_zero_point_and_scale_dtypes)
{
    tdir_make();
    const size_t shape[] = {2, 4};
    const int8_t codes[8] = {-8, -1, 0, 7, 3, 2, 1, 0};
    sq_qconfig c = sq_qconfig_default();
    c.bits = 4;
    c.mode = SQ_MODE_ASYMMETRIC;
    c.granularity = SQ_GRAN_CHANNEL;
    static const struct {
        double zp[2], sc[2];
        sq_scale_store store;
        const char *sd, *zd;
    } cs[] = {
        {{-128, 127}, {0.5, 0.25}, SQ_SCALE_F16, "F16", "I8"},
        {{-129, 5}, {0.5, 0.25}, SQ_SCALE_F16, "F16", "I16"},
        {{32767, -32768}, {0.1, 0.25}, SQ_SCALE_F16, "F64", "I16"},   /* 0.1 is exact in neither f16 nor f32 */
        {{40000, 1}, {(double)0.1f, 0.25}, SQ_SCALE_F16, "F32", "F32"}, /* (double)0.1f: exact in f32 only */
        {{0.5, 1}, {0.5, 0.25}, SQ_SCALE_F64, "F64", "F32"},
        {{0.1, 2}, {0.5, 0.25}, SQ_SCALE_F32, "F32", "F64"},
    };
    for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        sq_qtensor *q;
        sq_error err;
        c.scale_store = cs[k].store;
        ck_assert_msg(sq_qtensor_from_parts(&c, shape, 2, SQ_DTYPE_F32, codes, cs[k].sc, cs[k].zp, &q, &err) == SQ_OK,
                      "%s", err.msg);
        zp_round(q, cs[k].sd, cs[k].zd);
        sq_qtensor_free(q);
    }
    /* symmetric: no zero points stored */
    sq_qtensor *q;
    sq_error err;
    const double sc[2] = {0.5, 2}, zz[2] = {0, 0};
    c.mode = SQ_MODE_SYMMETRIC;
    c.scale_store = SQ_SCALE_F16;
    const int8_t sc8[8] = {-7, -1, 0, 7, 3, 2, 1, 0};
    ck_assert(sq_qtensor_from_parts(&c, shape, 2, SQ_DTYPE_F32, sc8, sc, zz, &q, &err) == SQ_OK);
    zp_round(q, "F16", NULL);
    sq_qtensor_free(q);
    tdir_remove();
}
END_TEST

/* Write a 4-bit per-tensor [2, 4] quantized tensor "w" by hand: one scale
 * (dtype sd), zero points (dtype zd, or none), mode and n_clipped text. */
static void write_q(const char *path, const char *sd, double scale, const char *zd, double zp, const char *mode,
                    const char *clipped)
{
    sq_st_writer *w;
    sq_error err;
    const size_t s1[] = {1}, s4[] = {4};
    const uint8_t codes[4] = {0x88, 0x9a, 0x78, 0x88}; /* 0 0 2 1 0 -1 0 0 */
    uint8_t sb[8], zb[8];
    memcpy(sb, &scale, 8); /* little-endian host */
    memcpy(zb, &zp, 8);
    if (strcmp(sd, "F32") == 0) {
        float f = (float)scale;
        memcpy(sb, &f, 4);
    }
    ck_assert(sq_st_writer_new(&w, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_raw(w, "w.codes", "U8", s4, 1, codes, 4, &err) == SQ_OK);
    size_t sn = strcmp(sd, "F32") == 0 ? 4 : strcmp(sd, "I8") == 0 ? 1 : 8;
    ck_assert(sq_st_writer_add_raw(w, "w.scales", sd, s1, 1, sb, sn, &err) == SQ_OK);
    if (zd) {
        int8_t z8 = (int8_t)zp;
        ck_assert(sq_st_writer_add_raw(w, "w.zero_points", zd, s1, 1, strcmp(zd, "I8") == 0 ? (void *)&z8 : (void *)zb,
                                       strcmp(zd, "I8") == 0 ? 1 : 8, &err) == SQ_OK);
    }
    static const char *const kv[][2] = {{"bits", "4"},       {"granularity", "tensor"}, {"axis", "0"},
                                        {"group_size", "32"}, {"rounding", "away"},     {"zero_in_range", "false"},
                                        {"shape", "[2, 4]"},  {"orig_dtype", "f32"}};
    char key[64];
    for (size_t k = 0; k < sizeof kv / sizeof kv[0]; k++) {
        snprintf(key, sizeof key, "squint.w.%s", kv[k][0]);
        ck_assert(sq_st_writer_add_metadata(w, key, kv[k][1], &err) == SQ_OK);
    }
    ck_assert(sq_st_writer_add_metadata(w, "squint.w.mode", mode, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_metadata(w, "squint.w.n_clipped", clipped, &err) == SQ_OK);
    ck_assert_msg(sq_st_writer_write(w, path, &err) == SQ_OK, "%s", err.msg);
    sq_st_writer_free(w);
}

/* Loading write_q's file: status want, message containing each of m1, m2. */
static void load_q(const char *path, sq_status want, const char *m1, const char *m2)
{
    sq_safetensors *f = open_ok(path);
    sq_qtensor *q = NULL;
    sq_error err;
    sq_status st = sq_st_load_qtensor(f, "w", &q, &err);
    ck_assert_msg(st == want, "status %d: %s", st, st ? err.msg : "");
    if (st != SQ_OK) {
        ck_assert_msg(strstr(err.msg, m1) && strstr(err.msg, m2) && strstr(err.msg, "'w'"), "%s", err.msg);
        ck_assert_ptr_null(q);
    } else {
        ck_assert_int_eq(sq_qtensor_code(q, 0), 0);
        ck_assert_int_eq(sq_qtensor_code(q, 2), 2);
    }
    sq_qtensor_free(q);
    sq_st_close(f);
}

START_TEST(test_corrupt_qtensors_refused)
{
    tdir_make();
    const char *p = tpath("c.safetensors");
    write_q(p, "F64", 0.5, "F64", 0, "symmetric", "0"); /* the old layout: F64 scales and zero points */
    load_q(p, SQ_OK, "", "");
    write_q(p, "F32", 0.5, NULL, 0, "symmetric", "8"); /* the new one; n_clipped = numel is fine */
    load_q(p, SQ_OK, "", "");
    write_q(p, "F64", 0.0, NULL, 0, "symmetric", "0");
    load_q(p, SQ_ERR_FORMAT, "scale 1 is 0", "positive");
    write_q(p, "F64", -0.5, NULL, 0, "symmetric", "0");
    load_q(p, SQ_ERR_FORMAT, "scale 1 is -0.5", "positive");
    write_q(p, "F64", INFINITY, NULL, 0, "symmetric", "0");
    load_q(p, SQ_ERR_FORMAT, "scale 1 is inf", "finite");
    write_q(p, "F64", 0.5, "F64", 1.0, "symmetric", "0");
    load_q(p, SQ_ERR_FORMAT, "zero point 1 is 1", "symmetric");
    write_q(p, "F64", 0.5, "F64", NAN, "asymmetric", "0");
    load_q(p, SQ_ERR_FORMAT, "zero point 1 is nan", "not finite");
    write_q(p, "F64", 0.5, NULL, 0, "symmetric", "9");
    load_q(p, SQ_ERR_FORMAT, "n_clipped 9", "8 elements");
    write_q(p, "F64", 0.5, NULL, 0, "asymmetric", "0");
    load_q(p, SQ_ERR_FORMAT, "lacks", "w.zero_points");
    write_q(p, "F64", 0.5, "I8", 3, "asymmetric", "0");
    load_q(p, SQ_OK, "", "");
    write_q(p, "I8", 0.5, NULL, 0, "symmetric", "0");
    load_q(p, SQ_ERR_FORMAT, "w.scales", "F16, F32 or F64");
    tdir_remove();
}
END_TEST

START_TEST(test_streaming_raw_bytes)
{
    tdir_make();
    sq_error err;
    static const int32_t i32[3] = {INT32_MAX, 16777217, INT32_MIN};
    static const double f64[2] = {1e300, 1e-50};
    static const int64_t i64[2] = {INT64_MAX, -3};
    static const uint8_t bools[3] = {1, 0, 1}, f8[2] = {0x7f, 0x81};
    static const uint16_t f16[2] = {0x7c00, 0x0001};
    static const struct {
        const char *name, *dt;
        const void *p;
        size_t n, size;
    } t[] = {{"i32", "I32", i32, 12, 4},   {"f64", "F64", f64, 16, 8}, {"i64", "I64", i64, 16, 8},
             {"bool", "BOOL", bools, 3, 1}, {"f16", "F16", f16, 4, 2},  {"f8", "F8_E4M3", f8, 2, 1}};
    sq_st_writer *decl, *w;
    size_t reserve;
    /* declarations size the header; such a writer cannot write a file */
    ck_assert(sq_st_writer_new(&decl, &err) == SQ_OK && sq_st_writer_new(&w, &err) == SQ_OK);
    for (size_t k = 0; k < 6; k++) {
        size_t shape[1] = {t[k].n / t[k].size};
        ck_assert_msg(sq_st_writer_add_raw(decl, t[k].name, t[k].dt, shape, 1, NULL, t[k].n, &err) == SQ_OK, "%s",
                      err.msg);
    }
    ck_assert(sq_st_writer_add_metadata(decl, "k", "v", &err) == SQ_OK);
    ck_assert_int_eq(sq_st_writer_write(decl, tpath("d.safetensors"), &err), SQ_ERR_ARG);
    ck_assert(sq_st_writer_header_size(decl, &reserve, &err) == SQ_OK);
    ck_assert_msg(sq_st_writer_begin(w, tpath("s.safetensors"), reserve, &err) == SQ_OK, "%s", err.msg);
    ck_assert(sq_st_writer_add_metadata(w, "k", "v", &err) == SQ_OK);
    for (size_t k = 0; k < 6; k++) {
        size_t shape[1] = {t[k].n / t[k].size};
        ck_assert_msg(sq_st_writer_add_raw(w, t[k].name, t[k].dt, shape, 1, t[k].p, t[k].n, &err) == SQ_OK, "%s",
                      err.msg);
    }
    ck_assert_int_ne(access(tpath("s.safetensors"), F_OK), 0); /* not there until finished */
    ck_assert_msg(sq_st_writer_finish(w, &err) == SQ_OK, "%s", err.msg);
    sq_st_writer_free(w);
    sq_st_writer_free(decl);
    sq_safetensors *f = open_ok(tpath("s.safetensors"));
    ck_assert_str_eq(sq_st_metadata_get(f, "k"), "v");
    for (size_t k = 0; k < 6; k++) {
        size_t len;
        const uint8_t *p = raw_of(f, t[k].name, &len);
        ck_assert_uint_eq(len, t[k].n);
        ck_assert_mem_eq(p, t[k].p, len);
    }
    sq_st_close(f);
    /* a header larger than reserved: an error, nothing written */
    ck_assert(sq_st_writer_new(&w, &err) == SQ_OK);
    ck_assert(sq_st_writer_begin(w, tpath("small.safetensors"), 8, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_raw(w, "a", "I32", (size_t[]){3}, 1, i32, 12, &err) == SQ_OK);
    ck_assert_int_eq(sq_st_writer_finish(w, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "reserved"));
    ck_assert_int_ne(access(tpath("small.safetensors"), F_OK), 0);
    sq_st_writer_free(w);
    /* bad raw tensors */
    ck_assert(sq_st_writer_new(&w, &err) == SQ_OK);
    ck_assert_int_eq(sq_st_writer_add_raw(w, "a", "I33", (size_t[]){3}, 1, i32, 12, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "I33"));
    ck_assert_int_eq(sq_st_writer_add_raw(w, "a", "I32", (size_t[]){2}, 1, i32, 12, &err), SQ_ERR_ARG);
    ck_assert_int_eq(sq_st_writer_add_raw(w, "bad\xff", "I32", (size_t[]){3}, 1, i32, 12, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "UTF-8"));
    sq_st_writer_free(w);
    tdir_remove();
}
END_TEST

START_TEST(test_many_names)
{
    tdir_make();
    sq_error err;
    sq_st_writer *w;
    const uint8_t b = 7;
    const size_t s1[] = {1};
    char name[32], key[40];
    ck_assert(sq_st_writer_new(&w, &err) == SQ_OK);
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof name, "t.%d", i);
        snprintf(key, sizeof key, "m.%d", i);
        ck_assert(sq_st_writer_add_raw(w, name, "U8", s1, 1, &b, 1, &err) == SQ_OK);
        ck_assert(sq_st_writer_add_metadata(w, key, name, &err) == SQ_OK);
    }
    ck_assert_int_eq(sq_st_writer_add_raw(w, "t.19999", "U8", s1, 1, &b, 1, &err), SQ_ERR_ARG);
    ck_assert_msg(sq_st_writer_write(w, tpath("many.safetensors"), &err) == SQ_OK, "%s", err.msg);
    sq_st_writer_free(w);
    sq_safetensors *f = open_ok(tpath("many.safetensors"));
    ck_assert_uint_eq(sq_st_count(f), 20000);
    for (int i = 0; i < 20000; i += 7) {
        size_t k;
        snprintf(name, sizeof name, "t.%d", i);
        snprintf(key, sizeof key, "m.%d", i);
        ck_assert(sq_st_find(f, name, &k, &err) == SQ_OK);
        ck_assert_str_eq(sq_st_info(f, k)->name, name);
        ck_assert_str_eq(sq_st_metadata_get(f, key), name);
    }
    size_t k;
    ck_assert_int_eq(sq_st_find(f, "t.20000", &k, &err), SQ_ERR_NOTFOUND);
    ck_assert_ptr_null(sq_st_metadata_get(f, "m.20000"));
    sq_st_close(f);
    tdir_remove();
}
END_TEST

/* Quantize v (2 x 2) with F16 scales: the store quantize settled on. */
static sq_scale_store f16_store_of(const float *v, double *scale)
{
    const size_t shape[] = {2, 2};
    sq_tensor *x = tu_tensor(shape, 2, v);
    sq_qconfig c = sq_qconfig_default();
    c.scale_store = SQ_SCALE_F16;
    sq_qtensor *q;
    sq_error err;
    ck_assert(sq_quantize(x, &c, &q, &err) == SQ_OK);
    sq_scale_store s = q->config.scale_store;
    *scale = q->scales[0];
    sq_qtensor_free(q);
    sq_tensor_free(x);
    return s;
}

START_TEST(test_f16_scales_and_fallback)
{
    double s;
    const float normal[4] = {1, -2, 0.5f, 1.3f}, big[4] = {1e8f, 0, 0, 1}, tiny[4] = {1e-6f, 0, 0, -1e-7f};
    ck_assert_int_eq(f16_store_of(normal, &s), SQ_SCALE_F16);
    ck_assert(s == (double)sq_half_to_float(sq_float_to_half((float)(2.0 / 127)))); /* rounded to f16 */
    ck_assert(s != 2.0 / 127);
    ck_assert_int_eq(f16_store_of(big, &s), SQ_SCALE_F32); /* 1e8 / 127 > 65504 */
    ck_assert(s == (double)(float)(1e8f / 127.0));
    ck_assert_int_eq(f16_store_of(tiny, &s), SQ_SCALE_F32); /* below 2^-14 */
    ck_assert(s == (double)(float)((double)1e-6f / 127.0));
    /* the codes come from the rounded scale: 1.3 / s rounded */
    const size_t shape[] = {2, 2};
    sq_tensor *x = tu_tensor(shape, 2, normal);
    sq_qconfig c = sq_qconfig_default();
    c.scale_store = SQ_SCALE_F16;
    sq_qtensor *q;
    sq_error err;
    ck_assert(sq_quantize(x, &c, &q, &err) == SQ_OK);
    double hs = (double)sq_half_to_float(sq_float_to_half((float)(2.0 / 127)));
    ck_assert_int_eq(sq_qtensor_code(q, 3), (int)lround((double)1.3f / hs));
    ck_assert_int_eq(sq_qtensor_code(q, 1), -127);
    sq_qtensor_free(q);
    sq_tensor_free(x);
}
END_TEST

/* ---- formats (quant.h "Formats") ----------------------------------------------- */

/* Quantize randn with format cfg, write, reload: the same configuration,
 * bytes, scales, aux, tensor scale and dequantized floats; the parts a
 * format stores and the sizes the writer declares. */
static void fround(sq_qconfig cfg, const size_t *shape, int ndim)
{
    char p[128];
    sq_error err;
    sq_tensor *x, *dq, *dr;
    sq_qtensor *q, *r = NULL;
    sq_st_writer *w;
    size_t i, code, meta, dcode, dmeta;
    snprintf(p, sizeof p, "tests/st-tmp-%ld-f.safetensors", (long)getpid());
    ck_assert(sq_tensor_randn(shape, ndim, 5, &x, &err) == SQ_OK);
    ck_assert_msg(sq_quantize(x, &cfg, &q, &err) == SQ_OK, "%s", err.msg);
    ck_assert(sq_st_writer_new(&w, &err) == SQ_OK);
    ck_assert_msg(sq_st_writer_add_qtensor(w, "w", q, &err) == SQ_OK, "%s", err.msg);
    ck_assert_msg(sq_st_writer_write(w, p, &err) == SQ_OK, "%s", err.msg);
    sq_st_writer_free(w);
    sq_safetensors *f = open_ok(p);
    ck_assert_str_eq(sq_st_metadata_get(f, "squint.w.format"), sq_format_name(cfg.format));
    ck_assert_msg(sq_st_load_qtensor(f, "w", &r, &err) == SQ_OK, "%s: %s", sq_format_name(cfg.format), err.msg);
    ck_assert_mem_eq(&r->config, &q->config, sizeof q->config);
    ck_assert(r->numel == q->numel && r->code_bytes == q->code_bytes && r->aux_bytes == q->aux_bytes);
    ck_assert_mem_eq(r->codes, q->codes, q->code_bytes);
    if (q->aux_bytes)
        ck_assert_mem_eq(r->aux, q->aux, q->aux_bytes);
    ck_assert(r->tensor_scale == q->tensor_scale);
    ck_assert_uint_eq(r->n_scales, q->n_scales);
    for (size_t k = 0; k < q->n_scales; k++)
        ck_assert(r->scales[k] == q->scales[k] && r->zero_points[k] == q->zero_points[k]);
    ck_assert_uint_eq(r->n_clipped, q->n_clipped);
    ck_assert(sq_dequantize(q, &dq, &err) == SQ_OK && sq_dequantize(r, &dr, &err) == SQ_OK);
    ck_assert_mem_eq(dr->data, dq->data, q->numel * sizeof(float));
    /* parts: codes always (U8), scales where they live outside the bytes, aux, tensor_scale */
    const sq_format_info *fi = sq_format_info_of((int)cfg.format);
    bool has_scales = fi->any_granularity || (cfg.format == SQ_FORMAT_NF4 && !cfg.double_quant);
    size_t stored = 0;
    ck_assert(sq_st_find(f, "w.codes", &i, &err) == SQ_OK);
    ck_assert_str_eq(sq_st_info(f, i)->type_name, "U8");
    stored += sq_st_info(f, i)->nbytes;
    ck_assert_int_eq(sq_st_find(f, "w.scales", &i, &err) == SQ_OK, has_scales);
    if (has_scales) {
        ck_assert_str_eq(sq_st_info(f, i)->type_name, "F32");
        stored += sq_st_info(f, i)->nbytes;
    }
    ck_assert_int_eq(sq_st_find(f, "w.aux", &i, &err) == SQ_OK, cfg.double_quant);
    if (cfg.double_quant)
        stored += sq_st_info(f, i)->nbytes;
    ck_assert_int_eq(sq_st_find(f, "w.tensor_scale", &i, &err) == SQ_OK, cfg.format == SQ_FORMAT_NVFP4);
    if (cfg.format == SQ_FORMAT_NVFP4)
        stored += sq_st_info(f, i)->nbytes;
    ck_assert_int_eq(sq_st_find(f, "w.zero_points", &i, &err), SQ_ERR_NOTFOUND);
    /* the sizes: as stored, as the engine accounts them, as declared before quantizing */
    sq_st_qtensor_file_bytes(q, &code, &meta);
    ck_assert_uint_eq(code + meta, stored);
    ck_assert_uint_eq(stored, sq_qtensor_storage_bytes(q));
    ck_assert(sq_st_qconfig_file_bytes(&cfg, shape, ndim, false, &dcode, &dmeta, &err) == SQ_OK);
    ck_assert_uint_eq(dcode, code);
    ck_assert_uint_eq(dmeta, meta);
    sq_tensor_free(dq);
    sq_tensor_free(dr);
    sq_st_close(f);
    sq_qtensor_free(q);
    sq_qtensor_free(r);
    sq_tensor_free(x);
    unlink(p);
}

START_TEST(test_format_qtensors_round_trip)
{
    const size_t s2[] = {4, 512}, s3[] = {2, 3, 256};
    for (int fmt = 1; fmt < SQ_FORMAT_COUNT; fmt++) {
        fround(sq_qconfig_for_format((sq_format)fmt), s2, 2);
        fround(sq_qconfig_for_format((sq_format)fmt), s3, 3);
    }
    sq_qconfig c = sq_qconfig_for_format(SQ_FORMAT_NF4);
    c.double_quant = true;
    fround(c, s2, 2);
    c.group_size = 32;
    fround(c, s3, 3);
    c = sq_qconfig_for_format(SQ_FORMAT_FP8_E5M2);
    c.granularity = SQ_GRAN_CHANNEL;
    c.axis = 1;
    fround(c, s3, 3);
    c = sq_qconfig_for_format(SQ_FORMAT_FP4_E2M1);
    c.granularity = SQ_GRAN_GROUP;
    c.group_size = 64;
    fround(c, s2, 2);
}
END_TEST

/* Copy the file at src to dst, leaving out tensor skip, writing tensor
 * retype as I8, and setting metadata key to value (NULL: as it was). */
static void copy_changed(const char *src, const char *dst, const char *skip, const char *retype, const char *key,
                         const char *value)
{
    sq_error err;
    sq_st_writer *w;
    sq_safetensors *f = open_ok(src);
    ck_assert(sq_st_writer_new(&w, &err) == SQ_OK);
    for (size_t i = 0; i < sq_st_count(f); i++) {
        const sq_tinfo *ti = sq_st_info(f, i);
        const uint8_t *b;
        size_t n;
        if (skip && strcmp(ti->name, skip) == 0)
            continue;
        ck_assert(sq_st_raw(f, i, &b, &n, &err) == SQ_OK);
        const char *dt = retype && strcmp(ti->name, retype) == 0 ? "I8" : ti->type_name;
        ck_assert_msg(sq_st_writer_add_raw(w, ti->name, dt, ti->shape, ti->ndim, b, n, &err) == SQ_OK, "%s", err.msg);
    }
    for (size_t i = 0; i < sq_st_metadata_count(f); i++) {
        const char *k = sq_st_metadata_key(f, i);
        const char *v = key && strcmp(k, key) == 0 ? value : sq_st_metadata_value(f, i);
        ck_assert(sq_st_writer_add_metadata(w, k, v, &err) == SQ_OK);
    }
    ck_assert_msg(sq_st_writer_write(w, dst, &err) == SQ_OK, "%s", err.msg);
    sq_st_writer_free(w);
    sq_st_close(f);
}

START_TEST(test_corrupt_format_qtensors_refused)
{
    tdir_make();
    char good[512], bad[512]; /* tpath's buffer is reused */
    snprintf(good, sizeof good, "%s", tpath("good.safetensors"));
    snprintf(bad, sizeof bad, "%s", tpath("bad.safetensors"));
    const size_t shape[] = {2, 128};
    sq_error err;
    sq_tensor *x;
    sq_qtensor *q;
    sq_st_writer *w;
    sq_qconfig c = sq_qconfig_for_format(SQ_FORMAT_NF4);
    c.double_quant = true;
    ck_assert(sq_tensor_randn(shape, 2, 3, &x, &err) == SQ_OK);
    ck_assert_msg(sq_quantize(x, &c, &q, &err) == SQ_OK, "%s", err.msg);
    ck_assert(sq_st_writer_new(&w, &err) == SQ_OK);
    ck_assert(sq_st_writer_add_qtensor(w, "w", q, &err) == SQ_OK);
    ck_assert(sq_st_writer_write(w, good, &err) == SQ_OK);
    sq_st_writer_free(w);
    sq_qtensor_free(q);
    sq_tensor_free(x);
    static const struct {
        const char *skip, *retype, *key, *value, *m1, *m2;
    } cases[] = {
        {NULL, NULL, NULL, NULL, NULL, NULL},
        {"w.aux", NULL, NULL, NULL, "lacks its tensor", "'w.aux'"},
        {NULL, "w.codes", NULL, NULL, "'w.codes' should be U8", "(is I8)"},
        {NULL, NULL, "squint.w.format", "q9_k", "missing or bad metadata", "squint.w.format"},
        {NULL, NULL, "squint.w.double_quant", "maybe", "missing or bad metadata", "squint.w.double_quant"},
        {NULL, NULL, "squint.w.double_quant", "false", "lacks its tensor", "'w.scales'"},
        {NULL, NULL, "squint.w.bits", "8", "bits = 8 does not apply to format nf4", "'w'"},
        {NULL, NULL, "squint.w.group_size", "32", "'w.aux' should have 16 elements", "(has 12)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        copy_changed(good, bad, cases[k].skip, cases[k].retype, cases[k].key, cases[k].value);
        sq_safetensors *f = open_ok(bad);
        sq_qtensor *r = NULL;
        sq_status st = sq_st_load_qtensor(f, "w", &r, &err);
        if (!cases[k].m1) {
            ck_assert_msg(st == SQ_OK, "%s", err.msg);
        } else {
            ck_assert_msg(st == SQ_ERR_FORMAT, "case %zu: status %d", k, st);
            ck_assert_msg(strstr(err.msg, cases[k].m1) && strstr(err.msg, cases[k].m2), "case %zu: %s", k, err.msg);
            ck_assert_ptr_null(r);
        }
        sq_qtensor_free(r);
        sq_st_close(f);
    }
    tdir_remove();
}
END_TEST

static Suite *st_suite(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fixture_listing_and_values);
    tcase_add_test(tc, test_round_trip_bit_identical);
    tcase_add_test(tc, test_qtensor_round_trip);
    tcase_add_test(tc, test_writer_errors);
    tcase_add_test(tc, test_checkpoint_front);
    tcase_add_test(tc, test_zero_point_and_scale_dtypes);
    tcase_add_test(tc, test_corrupt_qtensors_refused);
    tcase_add_test(tc, test_streaming_raw_bytes);
    tcase_add_test(tc, test_many_names);
    tcase_add_test(tc, test_f16_scales_and_fallback);
    tcase_add_test(tc, test_format_qtensors_round_trip);
    tcase_add_test(tc, test_corrupt_format_qtensors_refused);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(st_suite)
