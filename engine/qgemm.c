/* qgemm.c - products with a quantized weight: parameter forms, activation
 * quantization, the portable kernels and the choice of kernel. */
#include "qgemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "simd.h"

sq_status sq_qgemm_params_init(const sq_qtensor *w, sq_qgemm_params *p, sq_error *err)
{
    size_t n = w->n_scales ? w->n_scales : 1;
    p->ok = false;
    p->fscale = malloc(n * sizeof *p->fscale);
    p->fshift = malloc(n * sizeof *p->fshift);
    if (!p->fscale || !p->fshift) {
        sq_qgemm_params_free(p);
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for %zu layer scales", n);
    }
    bool ok = true;
    for (size_t i = 0; i < w->n_scales; i++) {
        p->fscale[i] = (float)w->scales[i];
        p->fshift[i] = (float)(-w->zero_points[i] * w->scales[i]);
        ok = ok && isfinite(p->fscale[i]) && isfinite(p->fshift[i]);
    }
    p->ok = ok;
    return SQ_OK;
}

void sq_qgemm_params_free(sq_qgemm_params *p)
{
    free(p->fscale);
    free(p->fshift);
    p->fscale = p->fshift = NULL;
    p->ok = false;
}

/* ---- portable exact float ------------------------------------------------------ */

/* Row o of W as floats, bit-identical to sq_dequantize's values. */
static void dequant_row(const sq_qtensor *w, const sq_layout *l, size_t o, int8_t *q, float *row)
{
    size_t in = w->shape[1];
    sq_unpack_codes(w->codes, o * in, in, w->config.bits, q);
    sq_run r = sq_run_at(l, o * in);
    for (size_t k = 0; k < in;) {
        size_t len = r.left < in - k ? r.left : in - k;
        double s = w->scales[r.k], zp = w->zero_points[r.k];
        for (size_t t = k; t < k + len; t++)
            row[t] = (float)(((double)q[t] - zp) * s);
        k += len;
        sq_run_advance(l, &r, len);
    }
}

SQ_HOT
static float dot_f(const float *a, const float *b, size_t n)
{
    float s = 0.0f;
    SQ_SIMD_WITH(reduction(+ : s))
    for (size_t k = 0; k < n; k++)
        s += a[k] * b[k];
    return s;
}

static sq_status float_portable(const sq_qtensor *w, const float *x, size_t batch, float *y, sq_error *err)
{
    size_t in = w->shape[1], out = w->shape[0];
    int8_t *q = malloc(in);
    float *row = malloc(in * sizeof *row);
    sq_layout l;
    if (!q || !row) {
        free(q);
        free(row);
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for a weight row of %zu values", in);
    }
    sq_layout_init(&l, &w->config, w->shape, w->ndim, w->numel);
    for (size_t o = 0; o < out; o++) {
        dequant_row(w, &l, o, q, row);
        for (size_t b = 0; b < batch; b++)
            y[b * out + o] = dot_f(row, x + b * in, in);
    }
    free(q);
    free(row);
    return SQ_OK;
}

sq_status sq_qgemm_float(const sq_qtensor *w, const sq_qgemm_params *p, const float *x, size_t batch, float *y,
                         sq_error *err)
{
    if (p && p->ok && sq_qgemm512_float(w, p, x, batch, y))
        return SQ_OK;
    return float_portable(w, x, batch, y, err);
}

/* ---- dynamic int8 ------------------------------------------------------------- */

/* Code of x with 1/sx = inv: round half to even (the 1.5 * 2^52 trick, exact
 * here as |x * inv| <= 128), clamped to +-127. */
static inline int8_t act_code(float x, double inv)
{
    double v = ((double)x * inv + 0x1.8p52) - 0x1.8p52;
    return (int8_t)(v > 127.0 ? 127.0 : (v < -127.0 ? -127.0 : v));
}

/* Quantize one row of n values into dst (plain order); returns the scale and
 * the code sum in *sum. */
SQ_HOT
static double quantize_row(const float *x, size_t n, int8_t *dst, int64_t *sum)
{
    float m = 0.0f;
    SQ_SIMD_WITH(reduction(max : m))
    for (size_t k = 0; k < n; k++)
        m = fabsf(x[k]) > m ? fabsf(x[k]) : m;
    double sx = m > 0.0f ? (double)m / 127.0 : 1.0, inv = m > 0.0f ? 127.0 / (double)m : 0.0;
    int64_t s = 0;
    SQ_SIMD_WITH(reduction(+ : s))
    for (size_t k = 0; k < n; k++) {
        dst[k] = act_code(x[k], inv);
        s += dst[k];
    }
    *sum = s;
    return sx;
}

/* Reorder a plain row of n codes into the int4 layout (see sq_qact). */
static void to_int4_layout(const int8_t *src, size_t n, int8_t *dst)
{
    for (size_t k = 0; k < n; k++)
        dst[k / 128 * 128 + (k & 1) * 64 + (k % 128) / 2] = src[k];
}

static void qact_free(sq_qact *a)
{
    free(a->a);
    free(a->sx);
    free(a->sum);
}

static sq_status qact_make(const float *x, size_t batch, size_t in, bool int4_layout, sq_qact *a, sq_error *err)
{
    /* whole 128-element blocks, plus 64 bytes so that rows are not a multiple
     * of 4 KiB apart (such rows share L1 sets and evict each other) */
    a->stride = (in + 127) / 128 * 128 + 64;
    if (a->stride < in || batch > SIZE_MAX / a->stride)
        return sq_fail(err, SQ_ERR_OVERFLOW, "activation buffer of %zu x %zu overflows", batch, in);
    a->a = calloc(batch * a->stride, 1);
    a->sx = malloc(batch * sizeof *a->sx);
    a->sum = malloc(batch * sizeof *a->sum);
    int8_t *tmp = int4_layout ? calloc(a->stride, 1) : NULL;
    if (!a->a || !a->sx || !a->sum || (int4_layout && !tmp)) {
        qact_free(a);
        free(tmp);
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory quantizing %zu activation rows", batch);
    }
    for (size_t b = 0; b < batch; b++) {
        int8_t *row = a->a + b * a->stride;
        a->sx[b] = quantize_row(x + b * in, in, int4_layout ? tmp : row, &a->sum[b]);
        if (int4_layout)
            to_int4_layout(tmp, in, row);
    }
    free(tmp);
    return SQ_OK;
}

/* sum q[k] a[k] and sum a[k] over n codes, in 32-bit pieces. */
SQ_HOT
static void dot_i8(const int8_t *q, const int8_t *a, size_t n, int64_t *d, int64_t *asum)
{
    int64_t dd = 0, ss = 0;
    for (size_t k0 = 0; k0 < n; k0 += 32768) {
        size_t m = n - k0 < 32768 ? n - k0 : 32768;
        int32_t pd = 0, ps = 0;
        SQ_SIMD_WITH(reduction(+ : pd, ps))
        for (size_t k = k0; k < k0 + m; k++) {
            pd += (int32_t)q[k] * a[k];
            ps += a[k];
        }
        dd += pd;
        ss += ps;
    }
    *d = dd;
    *asum = ss;
}

/* One output of the portable dynamic kernel: runs of row o against one row
 * of activation codes. */
static float dyn_one(const sq_qtensor *w, const sq_layout *l, size_t o, const int8_t *q, const int8_t *a,
                     double sx)
{
    size_t in = w->shape[1];
    sq_run r = sq_run_at(l, o * in);
    double acc = 0.0;
    for (size_t k = 0; k < in;) {
        size_t len = r.left < in - k ? r.left : in - k;
        int64_t d, s;
        dot_i8(q + k, a + k, len, &d, &s);
        acc += sq_qgemm_dyn_run(d, s, w->scales[r.k], w->zero_points[r.k]);
        k += len;
        sq_run_advance(l, &r, len);
    }
    return sq_qgemm_dyn_out(acc, sx);
}

static sq_status dynamic_portable(const sq_qtensor *w, const sq_qact *act, size_t batch, float *y, sq_error *err)
{
    size_t in = w->shape[1], out = w->shape[0];
    int8_t *q = malloc(in);
    sq_layout l;
    if (!q)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for a weight row of %zu codes", in);
    sq_layout_init(&l, &w->config, w->shape, w->ndim, w->numel);
    for (size_t o = 0; o < out; o++) {
        sq_unpack_codes(w->codes, o * in, in, w->config.bits, q);
        for (size_t b = 0; b < batch; b++)
            y[b * out + o] = dyn_one(w, &l, o, q, act->a + b * act->stride, act->sx[b]);
    }
    free(q);
    return SQ_OK;
}

bool sq_qgemm_dynamic_applies(const sq_qtensor *w)
{
    const sq_qconfig *c = &w->config;
    return w->ndim == 2 && c->format == SQ_FORMAT_INT && (c->granularity == SQ_GRAN_TENSOR || c->granularity == SQ_GRAN_GROUP ||
                            (c->granularity == SQ_GRAN_CHANNEL && c->axis == 0));
}

sq_status sq_qgemm_dynamic(const sq_qtensor *w, const sq_qgemm_params *p, const float *x, size_t batch, float *y,
                           sq_error *err)
{
    sq_qact act;
    if (!sq_qgemm_dynamic_applies(w))
        return sq_qgemm_float(w, p, x, batch, y, err);
    bool vnni = sq_qgemm512_dynamic_takes(w);
    sq_status st = qact_make(x, batch, w->shape[1], vnni && w->config.bits == 4, &act, err);
    if (st != SQ_OK)
        return st;
    if (!(vnni && (sq_qgemm512_dynamic_group(w, p, &act, batch, y) || sq_qgemm512_dynamic(w, &act, batch, y))))
        st = dynamic_portable(w, &act, batch, y, err);
    qact_free(&act);
    return st;
}
