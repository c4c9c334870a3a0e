/* test_qlinear.c - the quantized linear layer's kernels (engine/qgemm*.c)
 * against a double-precision dequantize-then-multiply reference, within the
 * error bounds model.h states, on both the AVX-512 and the portable path. */
#include <math.h>
#include <string.h>

#include "model.h"
#include "rng.h"
#include "sgemm.h"
#include "simd.h"
#include "testutil.h"
#include "threads.h"

/* One random case: shapes, configuration and the layer. */
typedef struct qcase {
    size_t in, out, batch;
    sq_qconfig cfg;
    sq_linear *lin;
    sq_qlinear *ql;
    sq_tensor *x;
} qcase;

static void case_make(qcase *c, sq_rng *rng, bool bias)
{
    size_t ws[2] = {c->out, c->in}, xs[2] = {c->batch, c->in};
    sq_error err;
    sq_tensor *w;
    ck_assert(sq_tensor_new(ws, 2, SQ_DTYPE_F32, &w, &err) == SQ_OK);
    sq_rng_fill_normal(rng, w->data, w->numel);
    /* one-signed rows now and then: asymmetric zero points far from 0 */
    for (size_t i = 0; sq_rng_uniform(rng) < 0.3 && i < w->numel; i++)
        w->data[i] = fabsf(w->data[i]) + 0.5f;
    ck_assert(sq_tensor_new(xs, 2, SQ_DTYPE_F32, &c->x, &err) == SQ_OK);
    sq_rng_fill_normal(rng, c->x->data, c->x->numel);
    for (size_t i = 0; i < c->x->numel; i += 7) /* a wide dynamic range */
        c->x->data[i] *= 100.0f;
    sq_tensor *b = NULL;
    if (bias) {
        size_t bs[1] = {c->out};
        ck_assert(sq_tensor_new(bs, 1, SQ_DTYPE_F32, &b, &err) == SQ_OK);
        sq_rng_fill_normal(rng, b->data, b->numel);
    }
    ck_assert_msg(sq_linear_from(w, b, &c->lin, &err) == SQ_OK, "%s", err.msg);
    ck_assert_msg(sq_qlinear_from_linear(c->lin, &c->cfg, &c->ql, &err) == SQ_OK, "%s", err.msg);
    sq_tensor_free(w);
    sq_tensor_free(b);
}

static void case_free(qcase *c)
{
    sq_linear_free(c->lin);
    sq_qlinear_free(c->ql);
    sq_tensor_free(c->x);
}

/* Reference outputs (double) and the two bounds of model.h per output. */
typedef struct refout {
    double *y, *tol_exact, *tol_dyn, *tol_grp;
} refout;

static void reference(const qcase *c, refout *r)
{
    sq_error err;
    sq_tensor *wd;
    const sq_qtensor *q = c->ql->weight_q;
    ck_assert(sq_dequantize(q, &wd, &err) == SQ_OK);
    size_t n = c->batch * c->out;
    r->y = calloc(n, sizeof(double));
    r->tol_exact = calloc(n, sizeof(double));
    r->tol_dyn = calloc(n, sizeof(double));
    r->tol_grp = calloc(n, sizeof(double));
    ck_assert(r->y && r->tol_exact && r->tol_dyn && r->tol_grp);
    for (size_t b = 0; b < c->batch; b++) {
        const float *x = c->x->data + b * c->in;
        double m = 0;
        for (size_t k = 0; k < c->in; k++)
            m = fabs(x[k]) > m ? fabs(x[k]) : m;
        double sx = m > 0 ? m / 127.0 : 1.0;
        for (size_t o = 0; o < c->out; o++) {
            double y = 0, sq = 0, sqx = 0, sw = 0, swx = 0, bo = c->ql->bias ? c->ql->bias->data[o] : 0.0;
            for (size_t k = 0; k < c->in; k++) {
                size_t i = o * c->in + k, si = sq_qtensor_scale_index(q, i);
                double w = wd->data[i];
                y += w * x[k];
                double qs = (fabs((double)sq_qtensor_code(q, i)) + fabs(q->zero_points[si])) * q->scales[si];
                sq += qs * fabs(x[k]);
                sqx += qs * (fabs(x[k]) + sx);
                sw += fabs(w);
                swx += fabs(w) * (fabs(x[k]) + sx);
            }
            y += bo;
            r->y[b * c->out + o] = y;
            r->tol_exact[b * c->out + o] = (double)(c->in + 4) * 0x1p-24 * (sq + fabs(bo));
            r->tol_dyn[b * c->out + o] = (1 + 0x1p-20) * sx / 2 * sw + 0x1p-22 * (swx + fabs(bo));
            r->tol_grp[b * c->out + o] = r->tol_dyn[b * c->out + o] + (double)(c->in + 8) * 0x1p-24 * (sqx + fabs(bo));
        }
    }
    sq_tensor_free(wd);
}

static void refout_free(refout *r)
{
    free(r->y);
    free(r->tol_exact);
    free(r->tol_dyn);
    free(r->tol_grp);
}

static sq_tensor *forward(const qcase *c, sq_qlinear_mode mode, bool portable)
{
    sq_tensor *y;
    sq_error err;
    sq_simd_force_portable(portable);
    sq_status st = sq_qlinear_forward_mode(c->ql, c->x, mode, &y, &err);
    sq_simd_force_portable(false);
    ck_assert_msg(st == SQ_OK, "%s", err.msg);
    ck_assert(y->ndim == 2 && y->shape[0] == c->batch && y->shape[1] == c->out);
    return y;
}

static void check_within(const qcase *c, const sq_tensor *y, const double *ref, const double *tol, const char *what)
{
    char cfg[64];
    for (size_t i = 0; i < y->numel; i++)
        ck_assert_msg(fabs((double)y->data[i] - ref[i]) <= tol[i],
                      "%s %s in=%zu out=%zu batch=%zu: y[%zu] = %.9g, reference %.9g, bound %.3g", what,
                      sq_qconfig_describe(&c->cfg, cfg, sizeof cfg), c->in, c->out, c->batch, i,
                      (double)y->data[i], ref[i], tol[i]);
}

/* Both arithmetics on both paths for one case. */
static void run_case(qcase *c, sq_rng *rng)
{
    refout r;
    case_make(c, rng, sq_rng_uniform(rng) < 0.7);
    reference(c, &r);
    sq_tensor *fe = forward(c, SQ_QLINEAR_EXACT, false), *fp = forward(c, SQ_QLINEAR_EXACT, true);
    sq_tensor *de = forward(c, SQ_QLINEAR_DYNAMIC_INT8, false), *dp = forward(c, SQ_QLINEAR_DYNAMIC_INT8, true);
    check_within(c, fe, r.y, r.tol_exact, "exact");
    check_within(c, fp, r.y, r.tol_exact, "exact portable");
    bool grp = c->cfg.granularity == SQ_GRAN_GROUP;
    bool dyn = grp || c->cfg.granularity == SQ_GRAN_TENSOR || (c->cfg.granularity == SQ_GRAN_CHANNEL && c->cfg.axis == 0);
    ck_assert(sq_qlinear_dynamic_applies(c->ql) == dyn);
    /* per-group: the VNNI kernel sums the groups' exact integer sums in float lanes */
    check_within(c, de, r.y, dyn ? (grp ? r.tol_grp : r.tol_dyn) : r.tol_exact, "dynamic");
    check_within(c, dp, r.y, dyn ? r.tol_dyn : r.tol_exact, "dynamic portable");
    if (dyn && !grp) /* the integer kernels are exact: both paths give the same bits */
        ck_assert_mem_eq(de->data, dp->data, de->numel * sizeof(float));
    else if (!dyn) /* the exact arithmetic instead */
        ck_assert_mem_eq(de->data, fe->data, de->numel * sizeof(float));
    sq_tensor_free(fe);
    sq_tensor_free(fp);
    sq_tensor_free(de);
    sq_tensor_free(dp);
    refout_free(&r);
    case_free(c);
}

static size_t pick(sq_rng *rng, const size_t *v, size_t n)
{
    return v[(size_t)(sq_rng_uniform(rng) * (double)n)];
}

START_TEST(test_random_shapes_and_configs)
{
    static const size_t ins[] = {1, 2, 7, 16, 31, 33, 64, 96, 100, 130, 256, 258};
    static const size_t outs[] = {1, 3, 4, 5, 9, 17};
    static const size_t batches[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 33};
    sq_rng rng;
    sq_rng_seed(&rng, 11 + (uint64_t)_i);
    for (int t = 0; t < 40; t++) {
        qcase c;
        c.in = pick(&rng, ins, 12);
        c.out = pick(&rng, outs, 6);
        c.batch = pick(&rng, batches, 10);
        c.cfg = sq_qconfig_default();
        c.cfg.bits = 2 + (int)(sq_rng_uniform(&rng) * 7);
        if (sq_rng_uniform(&rng) < 0.5)
            c.cfg.bits = sq_rng_uniform(&rng) < 0.5 ? 8 : 4; /* the AVX-512 widths, more often */
        c.cfg.mode = sq_rng_uniform(&rng) < 0.5 ? SQ_MODE_SYMMETRIC : SQ_MODE_ASYMMETRIC;
        c.cfg.granularity = (sq_granularity)(sq_rng_uniform(&rng) * 3);
        c.cfg.axis = sq_rng_uniform(&rng) < 0.8 ? 0 : 1;
        c.cfg.group_size = c.in;
        static const size_t groups[] = {16, 32, 8, 3, 64, 2, 1, 48};
        for (int g = 0; g < 8; g++) {
            size_t gs = groups[(g + t) % 8];
            if (c.in % gs == 0) {
                c.cfg.group_size = gs;
                break;
            }
        }
        run_case(&c, &rng);
    }
}
END_TEST

/* Named cases the brief asks for: odd in-features, per-group, asymmetric,
 * batch 1 and 33, int4, and the widths only the portable path takes. */
START_TEST(test_named_cases)
{
    static const struct {
        int bits;
        sq_mode mode;
        sq_granularity gran;
        size_t group, in, out, batch;
    } cases[] = {
        {8, SQ_MODE_SYMMETRIC, SQ_GRAN_CHANNEL, 0, 257, 19, 1},
        {8, SQ_MODE_ASYMMETRIC, SQ_GRAN_CHANNEL, 0, 257, 19, 33},
        {8, SQ_MODE_SYMMETRIC, SQ_GRAN_TENSOR, 0, 1000, 6, 33},
        {8, SQ_MODE_ASYMMETRIC, SQ_GRAN_GROUP, 32, 320, 7, 33},
        /* the VNNI per-group kernel: groups within a 64-byte chunk, whole chunks, short rows */
        {8, SQ_MODE_SYMMETRIC, SQ_GRAN_GROUP, 4, 100, 5, 7},
        {8, SQ_MODE_ASYMMETRIC, SQ_GRAN_GROUP, 16, 96, 6, 5},
        {8, SQ_MODE_SYMMETRIC, SQ_GRAN_GROUP, 128, 640, 5, 33},
        {4, SQ_MODE_ASYMMETRIC, SQ_GRAN_GROUP, 8, 72, 5, 3},
        {4, SQ_MODE_SYMMETRIC, SQ_GRAN_GROUP, 16, 48, 9, 33},
        {4, SQ_MODE_SYMMETRIC, SQ_GRAN_GROUP, 256, 768, 3, 2},
        {4, SQ_MODE_ASYMMETRIC, SQ_GRAN_GROUP, 32, 4000, 5, 4},
        /* the exact mode's shared decoding in several pieces of 256 input rows */
        {8, SQ_MODE_ASYMMETRIC, SQ_GRAN_CHANNEL, 0, 40, 7, 300},
        {4, SQ_MODE_SYMMETRIC, SQ_GRAN_GROUP, 16, 48, 30, 260},
        {4, SQ_MODE_SYMMETRIC, SQ_GRAN_GROUP, 32, 256, 9, 1},
        {4, SQ_MODE_ASYMMETRIC, SQ_GRAN_GROUP, 64, 384, 9, 33},
        {4, SQ_MODE_ASYMMETRIC, SQ_GRAN_CHANNEL, 0, 250, 10, 33},
        {4, SQ_MODE_SYMMETRIC, SQ_GRAN_CHANNEL, 0, 129, 10, 2},
        {3, SQ_MODE_ASYMMETRIC, SQ_GRAN_GROUP, 24, 96, 5, 33},
        {2, SQ_MODE_SYMMETRIC, SQ_GRAN_CHANNEL, 0, 77, 5, 1},
        {5, SQ_MODE_ASYMMETRIC, SQ_GRAN_TENSOR, 0, 77, 5, 33},
        {6, SQ_MODE_SYMMETRIC, SQ_GRAN_GROUP, 16, 64, 5, 3},
        {7, SQ_MODE_ASYMMETRIC, SQ_GRAN_CHANNEL, 0, 65, 5, 9},
        /* past the 32-bit lanes of the VNNI kernel: the portable one in 32-bit pieces */
        {8, SQ_MODE_ASYMMETRIC, SQ_GRAN_TENSOR, 0, 70001, 2, 2},
    };
    sq_rng rng;
    sq_rng_seed(&rng, 5);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        qcase c;
        c.in = cases[i].in;
        c.out = cases[i].out;
        c.batch = cases[i].batch;
        c.cfg = sq_qconfig_default();
        c.cfg.bits = cases[i].bits;
        c.cfg.mode = cases[i].mode;
        c.cfg.granularity = cases[i].gran;
        c.cfg.group_size = cases[i].group ? cases[i].group : 32;
        run_case(&c, &rng);
    }
}
END_TEST

/* Weights on the int8 grid of scale 1 and integer inputs: every path is
 * exact, so outputs are the integer products, bias included. */
START_TEST(test_exact_integers)
{
    enum { IN = 40, OUT = 6, B = 5 };
    float w[OUT * IN], x[B * IN], bias[OUT];
    for (int o = 0; o < OUT; o++) {
        for (int k = 0; k < IN; k++)
            w[o * IN + k] = (float)((o * 37 + k * 11) % 255 - 127);
        w[o * IN] = 127; /* max |w| = 127 in every row: scale 1 */
        bias[o] = (float)o - 2.5f;
    }
    for (int i = 0; i < B * IN; i++)
        x[i] = (float)((i * 13) % 21 - 10);
    for (int b = 0; b < B; b++)
        x[b * IN + 3] = 127; /* max |x| = 127: activation scale 1, codes exact */
    const size_t ws[] = {OUT, IN}, bs[] = {OUT}, xs[] = {B, IN};
    sq_tensor *W = tu_tensor(ws, 2, w), *Bt = tu_tensor(bs, 1, bias), *X = tu_tensor(xs, 2, x);
    sq_linear *l;
    sq_qlinear *ql;
    sq_error err;
    sq_qconfig cfg = sq_qconfig_default();
    cfg.granularity = SQ_GRAN_CHANNEL;
    ck_assert(sq_linear_from(W, Bt, &l, &err) == SQ_OK);
    ck_assert(sq_qlinear_from_linear(l, &cfg, &ql, &err) == SQ_OK);
    for (int mode = 0; mode < 2; mode++) {
        for (int portable = 0; portable < 2; portable++) {
            sq_tensor *y;
            sq_simd_force_portable(portable);
            ck_assert(sq_qlinear_forward_mode(ql, X, (sq_qlinear_mode)mode, &y, &err) == SQ_OK);
            sq_simd_force_portable(false);
            for (int b = 0; b < B; b++)
                for (int o = 0; o < OUT; o++) {
                    double s = bias[o];
                    for (int k = 0; k < IN; k++)
                        s += (double)w[o * IN + k] * x[b * IN + k];
                    ck_assert_msg(y->data[b * OUT + o] == (float)s, "mode %d portable %d: %g != %g", mode,
                                  portable, (double)y->data[b * OUT + o], s);
                }
            sq_tensor_free(y);
        }
    }
    sq_qlinear_free(ql);
    sq_linear_free(l);
    sq_tensor_free(W);
    sq_tensor_free(Bt);
    sq_tensor_free(X);
}
END_TEST

/* A layer built from an NF4 tensor with double quantization owns its own
 * copy of the side data (freeing both is not a double free: valgrind and
 * ASan check it) and multiplies the decoded weight exactly as the float
 * product of the dequantized weight. */
START_TEST(test_from_format_qtensor)
{
    sq_rng rng;
    sq_error err;
    sq_rng_seed(&rng, 9);
    const size_t ws[] = {4, 128}, xs[] = {2, 128};
    float wv[4 * 128], xv[2 * 128];
    sq_rng_fill_normal(&rng, wv, 4 * 128);
    sq_rng_fill_normal(&rng, xv, 2 * 128);
    sq_tensor *w = tu_tensor(ws, 2, wv), *x = tu_tensor(xs, 2, xv);
    sq_qconfig cfg = sq_qconfig_for_format(SQ_FORMAT_NF4);
    cfg.double_quant = true;
    sq_qtensor *q;
    ck_assert(sq_quantize(w, &cfg, &q, &err) == SQ_OK);
    ck_assert(q->aux != NULL && q->aux_bytes > 0);
    sq_qlinear *ql;
    ck_assert(sq_qlinear_from_qtensor(q, NULL, &ql, &err) == SQ_OK);
    ck_assert(ql->weight_q->aux != q->aux);
    ck_assert_mem_eq(ql->weight_q->aux, q->aux, q->aux_bytes);
    sq_tensor *y, *yr;
    ck_assert(sq_qlinear_forward(ql, x, &y, &err) == SQ_OK);
    ck_assert(sq_qlinear_forward_reference(ql, x, &yr, &err) == SQ_OK);
    ck_assert_mem_eq(y->data, yr->data, y->numel * sizeof(float));
    ck_assert(!sq_qlinear_dynamic_applies(ql));
    sq_tensor *yd = (sq_tensor *)1;
    ck_assert_int_eq(sq_qlinear_forward_mode(ql, x, SQ_QLINEAR_DYNAMIC_INT8, &yd, &err), SQ_ERR_ARG);
    ck_assert(yd == NULL && strstr(err.msg, "nf4") != NULL);
    sq_tensor_free(y);
    sq_tensor_free(yr);
    sq_qlinear_free(ql);
    sq_qtensor_free(q);
    sq_tensor_free(w);
    sq_tensor_free(x);
}
END_TEST

START_TEST(test_from_qtensor_and_errors)
{
    sq_rng rng;
    sq_error err;
    qcase c = {.in = 48, .out = 5, .batch = 3};
    sq_rng_seed(&rng, 3);
    c.cfg = sq_qconfig_default();
    c.cfg.bits = 4;
    c.cfg.granularity = SQ_GRAN_GROUP;
    c.cfg.group_size = 16;
    case_make(&c, &rng, true);
    sq_qlinear *q2;
    ck_assert(sq_qlinear_from_qtensor(c.ql->weight_q, c.ql->bias, &q2, &err) == SQ_OK);
    ck_assert(q2->in_features == 48 && q2->out_features == 5 && q2->bias->ndim == 2);
    sq_tensor *y1, *y2, *y3;
    ck_assert(sq_qlinear_forward(c.ql, c.x, &y1, &err) == SQ_OK);
    ck_assert(sq_qlinear_forward(q2, c.x, &y2, &err) == SQ_OK);
    ck_assert_mem_eq(y1->data, y2->data, y1->numel * sizeof(float));
    /* x of shape [in]: y of shape [out] */
    const size_t s1[] = {48};
    sq_tensor *x1 = tu_tensor(s1, 1, c.x->data);
    ck_assert(sq_qlinear_forward_mode(q2, x1, SQ_QLINEAR_DYNAMIC_INT8, &y3, &err) == SQ_OK);
    ck_assert(y3->ndim == 1 && y3->shape[0] == 5);
    sq_tensor_free(y3);
    /* wrong input width, non-matrix weight, bias of the wrong size */
    const size_t s2[] = {2, 24};
    sq_tensor *bad = tu_tensor(s2, 2, c.x->data);
    ck_assert_int_eq(sq_qlinear_forward_mode(q2, bad, SQ_QLINEAR_DYNAMIC_INT8, &y3, &err), SQ_ERR_ARG);
    ck_assert_ptr_null(y3);
    ck_assert(strstr(err.msg, "input of shape [2, 24] does not end in in_features = 48") != NULL);
    sq_qlinear *q3;
    ck_assert_int_eq(sq_qlinear_from_qtensor(c.ql->weight_q, x1, &q3, &err), SQ_ERR_ARG);
    ck_assert(strstr(err.msg, "bias has 48 elements, expected out = 5") != NULL);
    sq_qtensor v = *c.ql->weight_q;
    v.ndim = 1;
    ck_assert_int_eq(sq_qlinear_from_qtensor(&v, NULL, &q3, &err), SQ_ERR_ARG);
    ck_assert_ptr_null(q3);
    ck_assert(strstr(err.msg, "[out, in]") != NULL);
    sq_qlinear_free(q2);
    sq_tensor_free(bad);
    sq_tensor_free(x1);
    sq_tensor_free(y1);
    sq_tensor_free(y2);
    case_free(&c);
}
END_TEST

/* The float layer (OpenBLAS when built with it) within its stated bound of
 * the double reference. */
START_TEST(test_linear_forward_within_bound)
{
    sq_rng rng;
    sq_error err;
    sq_rng_seed(&rng, 17);
    static const size_t dims[][3] = {{1, 1, 1}, {33, 7, 1}, {100, 17, 33}, {257, 64, 5}};
    for (size_t t = 0; t < 4; t++) {
        qcase c = {.in = dims[t][0], .out = dims[t][1], .batch = dims[t][2]};
        c.cfg = sq_qconfig_default();
        case_make(&c, &rng, true);
        sq_tensor *y, *yr;
        ck_assert(sq_linear_forward(c.lin, c.x, &y, &err) == SQ_OK);
        ck_assert(sq_linear_forward_reference(c.lin, c.x, &yr, &err) == SQ_OK);
        for (size_t b = 0; b < c.batch; b++)
            for (size_t o = 0; o < c.out; o++) {
                const float *w = c.lin->weight->data + o * c.in, *x = c.x->data + b * c.in;
                double ref = c.lin->bias->data[o], mag = fabs(ref);
                for (size_t k = 0; k < c.in; k++) {
                    ref += (double)w[k] * x[k];
                    mag += fabs((double)w[k] * x[k]);
                }
                double tol = (double)(c.in + 2) * 0x1p-24 * mag;
                ck_assert(fabs(y->data[b * c.out + o] - ref) <= tol);
                ck_assert(fabs(yr->data[b * c.out + o] - ref) <= 0x1p-24 * fabs(ref) + 1e-300);
            }
        sq_tensor_free(y);
        sq_tensor_free(yr);
        case_free(&c);
    }
}
END_TEST

/* The float layer's own AVX-512 product (engine/sgemm512.c) and whatever
 * sq_linear_forward takes with the kernels forced portable (OpenBLAS or the
 * loop): random shapes crossing the kernel's blocks (512 of the shared
 * dimension, tiles of 6 weight rows and 1 to 4 input rows, chunks of 48
 * rows), batch 1 to 33 and beyond, against a double reference; the kernel
 * within its own tighter bound of sgemm.h. */
START_TEST(test_sgemm_random_shapes)
{
    static const size_t ins[] = {1, 3, 15, 16, 17, 100, 511, 512, 513, 1030};
    static const size_t outs[] = {1, 2, 3, 4, 5, 7, 8, 9, 13};
    sq_rng rng;
    sq_error err;
    sq_rng_seed(&rng, 23 + (uint64_t)_i);
    for (int t = 0; t < 12; t++) {
        qcase c = {.in = pick(&rng, ins, 10), .out = pick(&rng, outs, 9)};
        c.batch = 1 + (size_t)(sq_rng_uniform(&rng) * 33);
        if (t == 11)
            c.batch = 49 + (size_t)(sq_rng_uniform(&rng) * 60); /* several chunks */
        c.cfg = sq_qconfig_default();
        case_make(&c, &rng, sq_rng_uniform(&rng) < 0.5);
        float *yk = malloc(c.batch * c.out * sizeof *yk);
        ck_assert(yk != NULL);
        bool kernel = sq_sgemm512_xwt(c.x->data, c.batch, c.lin->weight->data, c.in, c.out, yk);
        ck_assert(kernel == sq_use_avx512());
        sq_tensor *y[2];
        for (int portable = 0; portable < 2; portable++) {
            sq_simd_force_portable(portable);
            ck_assert(sq_linear_forward(c.lin, c.x, &y[portable], &err) == SQ_OK);
            sq_simd_force_portable(false);
        }
        for (size_t b = 0; b < c.batch; b++)
            for (size_t o = 0; o < c.out; o++) {
                const float *w = c.lin->weight->data + o * c.in, *x = c.x->data + b * c.in;
                double bo = c.lin->bias ? c.lin->bias->data[o] : 0.0, ref = 0, mag = 0;
                for (size_t k = 0; k < c.in; k++) {
                    ref += (double)w[k] * x[k];
                    mag += fabs((double)w[k] * x[k]);
                }
                double tol = (double)(c.in + 2) * 0x1p-24 * (mag + fabs(bo));
                size_t i = b * c.out + o;
                for (int p = 0; p < 2; p++)
                    ck_assert_msg(fabs(y[p]->data[i] - (ref + bo)) <= tol,
                                  "in=%zu out=%zu batch=%zu portable=%d y[%zu] = %.9g, reference %.9g", c.in,
                                  c.out, c.batch, p, i, (double)y[p]->data[i], ref + bo);
                if (kernel) /* no bias in the kernel: sgemm.h's bound */
                    ck_assert_msg(fabs(yk[i] - ref) <= (double)(c.in / 16 + 5) * 0x1p-24 * mag,
                                  "kernel in=%zu out=%zu batch=%zu: y[%zu] = %.9g, reference %.9g", c.in, c.out,
                                  c.batch, i, (double)yk[i], ref);
            }
        if (kernel && c.batch >= 2) /* sq_linear_forward took the kernel: its values plus the bias */
            for (size_t i = 0; i < y[0]->numel; i++)
                ck_assert(y[0]->data[i] == yk[i] + (c.lin->bias ? c.lin->bias->data[i % c.out] : 0.0f));
        free(yk);
        sq_tensor_free(y[0]);
        sq_tensor_free(y[1]);
        case_free(&c);
    }
}
END_TEST

/* The float kernel runs in parts of W's rows on the engine's threads: the
 * same bits for 1 and 3 threads, and the parts cover every output. */
START_TEST(test_sgemm_threads)
{
    sq_rng rng;
    sq_error err;
    sq_rng_seed(&rng, 31);
    qcase c = {.in = 300, .out = 250, .batch = 50};
    c.cfg = sq_qconfig_default();
    case_make(&c, &rng, true);
    sq_tensor *y[2];
    for (int t = 0; t < 2; t++) {
        sq_threads_set(t ? 3 : 1);
        ck_assert(sq_linear_forward(c.lin, c.x, &y[t], &err) == SQ_OK);
    }
    sq_threads_set(0);
    ck_assert_mem_eq(y[0]->data, y[1]->data, y[0]->numel * sizeof(float));
    for (size_t b = 0; b < c.batch; b += 7)
        for (size_t o = 0; o < c.out; o++) {
            const float *w = c.lin->weight->data + o * c.in, *x = c.x->data + b * c.in;
            double ref = c.lin->bias->data[o], mag = fabs(ref);
            for (size_t k = 0; k < c.in; k++) {
                ref += (double)w[k] * x[k];
                mag += fabs((double)w[k] * x[k]);
            }
            ck_assert(fabs(y[1]->data[b * c.out + o] - ref) <= (double)(c.in + 2) * 0x1p-24 * mag);
        }
    sq_tensor_free(y[0]);
    sq_tensor_free(y[1]);
    case_free(&c);
}
END_TEST

static Suite *qlinear_suite(void)
{
    Suite *s = suite_create("qlinear");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_random_shapes_and_configs, 0, 5);
    tcase_add_test(tc, test_named_cases);
    tcase_add_test(tc, test_exact_integers);
    tcase_add_test(tc, test_from_qtensor_and_errors);
    tcase_add_test(tc, test_from_format_qtensor);
    tcase_add_test(tc, test_linear_forward_within_bound);
    tcase_add_loop_test(tc, test_sgemm_random_shapes, 0, 4);
    tcase_add_test(tc, test_sgemm_threads);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(qlinear_suite)
