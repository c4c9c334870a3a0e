/* test_props.c - properties over random shapes and every configuration:
 * the fast engine agrees bit for bit with the scalar reference (codes,
 * scales, zero points, clipped counts, dequantized values), codes stay in
 * [qmin, qmax], unclipped errors stay within half a step, statistics match
 * the reference, and per-group over whole rows equals per-channel on axis 0. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"
#include "refquant.h"
#include "simd.h"
#include "stats.h"
#include "testutil.h"

static unsigned long long prng = 88172645463325252ull;

static unsigned next_u(unsigned bound)
{
    prng ^= prng << 13;
    prng ^= prng >> 7;
    prng ^= prng << 17;
    return (unsigned)(prng % bound);
}

/* A random tensor: 1..4 dims of 1..9 (last dim a multiple of 1..4 groups),
 * normal values with an occasional outlier, exact ties and zeros. */
static sq_tensor *random_tensor(void)
{
    size_t shape[4];
    int nd = 1 + (int)next_u(4);
    sq_tensor *t;
    sq_error err;
    for (int d = 0; d < nd; d++)
        shape[d] = 1 + next_u(9);
    shape[nd - 1] = (1 + next_u(4)) * (1 + next_u(8));
    ck_assert(sq_tensor_randn(shape, nd, prng, &t, &err) == SQ_OK);
    for (size_t i = 0; i < t->numel; i++) {
        unsigned r = next_u(40);
        if (r == 0)
            t->data[i] *= 30.0f;
        else if (r == 1)
            t->data[i] = 0.0f;
        else if (r == 2)
            t->data[i] = (float)((int)next_u(11) - 5) + 0.5f;
    }
    return t;
}

static void check_against_reference(const sq_tensor *x, const sq_qconfig *cfg)
{
    sq_qtensor *q;
    sq_error err;
    ref_result r;
    char d[64];
    sq_qconfig_describe(cfg, d, sizeof d);
    ck_assert_msg(sq_quantize(x, cfg, &q, &err) == SQ_OK, "%s: %s", d, err.msg);
    ck_assert(ref_quantize(x->data, x->shape, x->ndim, cfg, &r) == 0);
    ck_assert_uint_eq(q->n_scales, r.n_scales);
    ck_assert_uint_eq(q->n_clipped, r.clipped);
    for (size_t k = 0; k < r.n_scales; k++) {
        ck_assert_msg(q->scales[k] == r.scales[k], "%s scale %zu", d, k);
        ck_assert_msg(q->zero_points[k] == r.zps[k], "%s zp %zu", d, k);
    }
    int8_t *codes = malloc(x->numel ? x->numel : 1);
    float *xh = malloc((x->numel ? x->numel : 1) * sizeof(float));
    float *rh = malloc((x->numel ? x->numel : 1) * sizeof(float));
    ck_assert(codes && xh && rh);
    sq_qtensor_codes(q, 0, x->numel, codes);
    sq_dequantize_into(q, xh);
    ref_dequantize(&r, x->shape, x->ndim, cfg, rh);
    int qmin = sq_qconfig_qmin(cfg), qmax = sq_qconfig_qmax(cfg);
    for (size_t i = 0; i < x->numel; i++) {
        ck_assert_msg(codes[i] == r.codes[i], "%s: code %zu engine %d reference %d (x=%.9g)", d, i, codes[i],
                      r.codes[i], x->data[i]);
        ck_assert(codes[i] >= qmin && codes[i] <= qmax);
        ck_assert_msg(memcmp(&xh[i], &rh[i], sizeof(float)) == 0, "%s: x_hat %zu", d, i);
        size_t k = ref_scale_index(x->shape, x->ndim, cfg, i);
        ck_assert_uint_eq(sq_qtensor_scale_index(q, i), k);
        if (codes[i] > qmin && codes[i] < qmax) {
            /* unclipped: half a step, plus float32 rounding of x_hat */
            double bound = r.scales[k] * 0.5 + fabs((double)rh[i]) * 0x1p-23;
            ck_assert_msg(fabs((double)x->data[i] - xh[i]) <= bound, "%s: |err| %zu", d, i);
        }
    }
    /* statistics against the reference, over the step range */
    sq_stats st;
    sq_hist h;
    sq_stats_opts o = sq_stats_opts_default();
    ref_stats rs;
    o.hist_bins = 16;
    ck_assert(sq_roundtrip_stats(x, q, &o, &st, &h, &err) == SQ_OK);
    uint64_t rc[16] = {0};
    ref_stats_compute(x->data, rh, x->numel, &rs, 16, h.lo, h.hi, rc);
    ck_assert(fabs(st.mse - rs.mse) <= 1e-12 * rs.mse);
    ck_assert(st.max_abs_err == rs.max_abs);
    ck_assert(fabs(st.mean_abs_err - rs.mean_abs) <= 1e-12 * rs.mean_abs);
    ck_assert(fabs(st.cosine - rs.cosine) <= 1e-12);
    ck_assert(st.sqnr_db == rs.sqnr_db || fabs(st.sqnr_db - rs.sqnr_db) <= 1e-9);
    ck_assert_mem_eq(h.counts, rc, sizeof rc);
    /* every value lands somewhere; only clipped ones may leave the step range
     * (scales here are far above the 1e-30 below which 1/scale is taken as 0) */
    uint64_t total = h.below + h.above;
    for (int b = 0; b < 16; b++)
        total += h.counts[b];
    ck_assert_uint_eq(total, x->numel);
    ck_assert(h.below + h.above <= q->n_clipped);
    /* the fused single pass gives the same quantized tensor, stats and histogram */
    sq_qtensor *qf;
    sq_stats sf;
    sq_hist hf;
    double *im = malloc((q->n_scales ? q->n_scales : 1) * sizeof(double));
    double *im_ref = malloc((q->n_scales ? q->n_scales : 1) * sizeof(double));
    ck_assert(im && im_ref);
    uint64_t cc[256], cc_ref[256];
    o.index_mse = im;
    o.code_counts = cc;
    ck_assert_msg(sq_quantize_stats(x, cfg, &o, &qf, &sf, &hf, &err) == SQ_OK, "%s", err.msg);
    size_t used = sq_code_histogram(q, cc_ref);
    ck_assert_mem_eq(cc, cc_ref, ((size_t)1 << cfg->bits) * sizeof(uint64_t));
    { /* without a histogram: the same codes, statistics and code counts */
        sq_qtensor *qn;
        sq_stats sn;
        memset(cc, 0xff, sizeof cc);
        ck_assert(sq_quantize_stats(x, cfg, &o, &qn, &sn, NULL, &err) == SQ_OK);
        ck_assert_mem_eq(cc, cc_ref, ((size_t)1 << cfg->bits) * sizeof(uint64_t));
        ck_assert_mem_eq(qn->codes, q->codes, q->code_bytes ? q->code_bytes : 1);
        ck_assert(sn.mse == sf.mse && sn.cosine == sf.cosine && sn.err_min == sf.err_min && sn.clipped == sf.clipped);
        sq_qtensor_free(qn);
    }
    o.index_mse = NULL;
    o.code_counts = NULL;
    ck_assert_uint_gt(used, 0);
    ck_assert(sq_index_mse(x, q, im_ref, &err) == SQ_OK);
    for (size_t k = 0; k < q->n_scales; k++)
        ck_assert_msg(im[k] == im_ref[k], "%s: index mse %zu: %.17g vs %.17g", d, k, im[k], im_ref[k]);
    free(im);
    free(im_ref);
    ck_assert_uint_eq(qf->code_bytes, q->code_bytes);
    ck_assert_mem_eq(qf->codes, q->codes, q->code_bytes ? q->code_bytes : 1);
    ck_assert_uint_eq(qf->n_clipped, q->n_clipped);
    ck_assert(sf.mse == st.mse && sf.max_abs_err == st.max_abs_err && sf.cosine == st.cosine);
    ck_assert(sf.err_min == st.err_min && sf.err_max == st.err_max && sf.mean_abs_err == st.mean_abs_err);
    ck_assert(hf.lo == h.lo && hf.hi == h.hi && hf.below == h.below && hf.above == h.above);
    ck_assert_mem_eq(hf.counts, h.counts, sizeof rc);
    /* the portable kernels give the same bits as the hand-written x86 ones */
    sq_qtensor *qp;
    sq_stats sp;
    sq_hist hp;
    sq_simd_force_portable(true);
    ck_assert(sq_quantize_stats(x, cfg, &o, &qp, &sp, &hp, &err) == SQ_OK);
    sq_simd_force_portable(false);
    ck_assert_mem_eq(qp->codes, qf->codes, q->code_bytes ? q->code_bytes : 1);
    ck_assert(memcmp(&sp, &sf, sizeof sp) == 0);
    ck_assert_mem_eq(hp.counts, hf.counts, sizeof rc);
    sq_hist_free(&hp);
    sq_qtensor_free(qp);
    sq_hist_free(&hf);
    sq_qtensor_free(qf);
    sq_hist_free(&h);
    free(codes);
    free(xh);
    free(rh);
    ref_free(&r);
    sq_qtensor_free(q);
}

START_TEST(test_every_config_matches_reference)
{
    for (int iter = 0; iter < 15; iter++) {
        sq_tensor *x = random_tensor();
        sq_qconfig cfg = sq_qconfig_default();
        for (int bits = 2; bits <= 8; bits++) {
            for (int mode = 0; mode < 2; mode++) {
                for (int rnd = 0; rnd < 2; rnd++) {
                    for (int zir = 0; zir < 2; zir++) {
                        cfg.bits = bits;
                        cfg.mode = (sq_mode)mode;
                        cfg.rounding = (sq_rounding)rnd;
                        cfg.zero_in_range = zir;
                        cfg.granularity = SQ_GRAN_TENSOR;
                        check_against_reference(x, &cfg);
                        cfg.granularity = SQ_GRAN_CHANNEL;
                        for (cfg.axis = 0; cfg.axis < x->ndim; cfg.axis++)
                            check_against_reference(x, &cfg);
                        cfg.axis = 0;
                        cfg.granularity = SQ_GRAN_GROUP;
                        size_t last = x->shape[x->ndim - 1];
                        for (size_t g = 1; g <= last; g++) {
                            if (last % g == 0) {
                                cfg.group_size = g;
                                check_against_reference(x, &cfg);
                            }
                        }
                    }
                }
            }
        }
        sq_tensor_free(x);
    }
}
END_TEST

/* Large enough to cross chunk boundaries with long and short runs. */
START_TEST(test_large_tensors_match_reference)
{
    const size_t shapes[][3] = {{3, 1500, 7}, {5000, 3, 1}, {2, 2, 4099}};
    sq_error err;
    for (size_t s = 0; s < 3; s++) {
        sq_tensor *x;
        ck_assert(sq_tensor_randn(shapes[s], 3, s + 1, &x, &err) == SQ_OK);
        sq_qconfig cfg = sq_qconfig_default();
        for (int bits = 3; bits <= 8; bits += 5) {
            cfg.bits = bits;
            cfg.mode = bits == 3 ? SQ_MODE_ASYMMETRIC : SQ_MODE_SYMMETRIC;
            cfg.granularity = SQ_GRAN_TENSOR;
            check_against_reference(x, &cfg);
            cfg.granularity = SQ_GRAN_CHANNEL;
            for (cfg.axis = 0; cfg.axis < 3; cfg.axis++)
                check_against_reference(x, &cfg);
            cfg.axis = 0;
            cfg.granularity = SQ_GRAN_GROUP;
            cfg.group_size = shapes[s][2];
            check_against_reference(x, &cfg);
        }
        sq_tensor_free(x);
    }
}
END_TEST

/* Group sizes that are multiples of 16 (the vector range kernel, sixteen
 * groups at a time, with a remainder of groups done portably), with values
 * spread over several magnitudes and an outlier in some groups. */
START_TEST(test_vector_group_sizes_match_reference)
{
    const size_t shape[2] = {41, 96};
    sq_error err;
    sq_tensor *x;
    ck_assert(sq_tensor_randn(shape, 2, 99, &x, &err) == SQ_OK);
    for (size_t i = 0; i < x->numel; i += 37)
        x->data[i] *= 50.0f;
    sq_qconfig cfg = sq_qconfig_default();
    const size_t groups[] = {16, 32, 48, 96};
    for (int bits = 4; bits <= 8; bits += 4) {
        for (int mode = 0; mode < 2; mode++) {
            for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++) {
                cfg.bits = bits;
                cfg.mode = (sq_mode)mode;
                cfg.granularity = SQ_GRAN_GROUP;
                cfg.group_size = groups[gi];
                check_against_reference(x, &cfg);
            }
        }
    }
    /* a NaN inside the vector-done groups is found and named */
    x->data[5 * 96 + 17] = NAN;
    sq_qtensor *q;
    cfg.group_size = 32;
    ck_assert(sq_quantize(x, &cfg, &q, &err) == SQ_ERR_NONFINITE);
    ck_assert_msg(strstr(err.msg, "element 498 [6, 18]") != NULL, "%s", err.msg); /* 1-based: 5 * 96 + 17 + 1 */
    x->data[5 * 96 + 17] = INFINITY;
    ck_assert(sq_quantize(x, &cfg, &q, &err) == SQ_ERR_NONFINITE);
    sq_tensor_free(x);
}
END_TEST

/* Magnitudes far from 1 and a large common offset (zero points beyond the
 * float screening's range): the fused kernel's shortcuts (float screening,
 * binning without the below/above tests) must still give the exact codes,
 * sums and histogram. */
START_TEST(test_extreme_magnitudes_match_reference)
{
    const size_t shape[2] = {6, 64};
    const float scale[] = {1e-25f, 1e27f, 1.0f};
    const float offset[] = {0.0f, 0.0f, 1e6f};
    sq_error err;
    for (size_t v = 0; v < 3; v++) {
        sq_tensor *x;
        ck_assert(sq_tensor_randn(shape, 2, 40 + v, &x, &err) == SQ_OK);
        for (size_t i = 0; i < x->numel; i++)
            x->data[i] = x->data[i] * scale[v] + offset[v];
        sq_qconfig cfg = sq_qconfig_default();
        for (int bits = 2; bits <= 8; bits += 2) {
            for (int mode = 0; mode < 2; mode++) {
                cfg.bits = bits;
                cfg.mode = (sq_mode)mode;
                cfg.granularity = SQ_GRAN_TENSOR;
                check_against_reference(x, &cfg);
                cfg.granularity = SQ_GRAN_GROUP;
                cfg.group_size = 16;
                check_against_reference(x, &cfg);
            }
        }
        sq_tensor_free(x);
    }
}
END_TEST

/* Values placed at and next to rounding boundaries (half-integers of x/scale,
 * a few float ulps either side) at several scales and zero points: the float
 * screening must hand every one of them to the exact path or agree with it. */
START_TEST(test_near_ties_match_reference)
{
    const size_t shape[2] = {8, 256};
    const double steps[] = {0.37, 1e-3, 3.3e4, 1.0 / 3.0};
    sq_error err;
    for (size_t si = 0; si < sizeof steps / sizeof steps[0]; si++) {
        sq_tensor *x;
        ck_assert(sq_tensor_new(shape, 2, SQ_DTYPE_F32, &x, &err) == SQ_OK);
        for (size_t i = 0; i < x->numel; i++) {
            int k = (int)next_u(250) - 125;
            float v = (float)((k + 0.5) * steps[si]);
            int nudge = (int)next_u(7) - 3; /* -3..3 ulps */
            for (; nudge > 0; nudge--)
                v = nextafterf(v, INFINITY);
            for (; nudge < 0; nudge++)
                v = nextafterf(v, -INFINITY);
            x->data[i] = v;
        }
        x->data[0] = (float)(127.0 * steps[si]); /* sets max|x| near 127 steps */
        x->data[1] = (float)(-110.0 * steps[si]) + 7.0f * (float)steps[si] * (float)(si % 2);
        sq_qconfig cfg = sq_qconfig_default();
        for (int bits = 4; bits <= 8; bits += 4) {
            for (int mode = 0; mode < 2; mode++) {
                for (int rnd = 0; rnd < 2; rnd++) {
                    cfg.bits = bits;
                    cfg.mode = (sq_mode)mode;
                    cfg.rounding = (sq_rounding)rnd;
                    cfg.granularity = SQ_GRAN_TENSOR;
                    check_against_reference(x, &cfg);
                    cfg.granularity = SQ_GRAN_GROUP;
                    cfg.group_size = 32;
                    check_against_reference(x, &cfg);
                }
            }
        }
        sq_tensor_free(x);
    }
}
END_TEST

START_TEST(test_group_of_whole_rows_equals_channel_axis0)
{
    sq_error err;
    for (int iter = 0; iter < 30; iter++) {
        size_t shape[2] = {1 + next_u(12), 1 + next_u(70)};
        sq_tensor *x;
        sq_qtensor *a, *b;
        ck_assert(sq_tensor_randn(shape, 2, (uint64_t)iter, &x, &err) == SQ_OK);
        sq_qconfig cg = sq_qconfig_default(), cc = sq_qconfig_default();
        cg.bits = cc.bits = 2 + iter % 7;
        cg.mode = cc.mode = (sq_mode)(iter % 2);
        cg.granularity = SQ_GRAN_GROUP;
        cg.group_size = shape[1];
        cc.granularity = SQ_GRAN_CHANNEL;
        cc.axis = 0;
        ck_assert(sq_quantize(x, &cg, &a, &err) == SQ_OK);
        ck_assert(sq_quantize(x, &cc, &b, &err) == SQ_OK);
        ck_assert_uint_eq(a->n_scales, b->n_scales);
        ck_assert_mem_eq(a->scales, b->scales, a->n_scales * sizeof(double));
        ck_assert_mem_eq(a->zero_points, b->zero_points, a->n_scales * sizeof(double));
        ck_assert_uint_eq(a->code_bytes, b->code_bytes);
        ck_assert_mem_eq(a->codes, b->codes, a->code_bytes);
        sq_qtensor_free(a);
        sq_qtensor_free(b);
        sq_tensor_free(x);
    }
}
END_TEST

static Suite *props_suite(void)
{
    Suite *s = suite_create("properties");
    TCase *tc = tcase_create("properties");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_every_config_matches_reference);
    tcase_add_test(tc, test_large_tensors_match_reference);
    tcase_add_test(tc, test_vector_group_sizes_match_reference);
    tcase_add_test(tc, test_extreme_magnitudes_match_reference);
    tcase_add_test(tc, test_near_ties_match_reference);
    tcase_add_test(tc, test_group_of_whole_rows_equals_channel_axis0);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(props_suite)
