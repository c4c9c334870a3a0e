/* test_safetensors.c - the generated fixture (every dtype, metadata, exact
 * values), writer round trips of float and quantized tensors, writer errors. */
#include <math.h>
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

static Suite *st_suite(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fixture_listing_and_values);
    tcase_add_test(tc, test_round_trip_bit_identical);
    tcase_add_test(tc, test_qtensor_round_trip);
    tcase_add_test(tc, test_writer_errors);
    tcase_add_test(tc, test_checkpoint_front);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(st_suite)
