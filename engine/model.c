/* model.c - linear layers, named tensor sets and whole-model statistics. */
#include "model.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef SQ_HAVE_OPENBLAS
#include <cblas.h>
#endif

#include "qgemm.h"
#include "rng.h"
#include "sgemm.h"

static sq_linear *linear_alloc(size_t in, size_t out)
{
    sq_linear *l = calloc(1, sizeof *l);
    if (l) {
        l->in_features = in;
        l->out_features = out;
    }
    return l;
}

void sq_linear_free(sq_linear *l)
{
    if (l) {
        sq_tensor_free(l->weight);
        sq_tensor_free(l->bias);
        free(l);
    }
}

sq_status sq_linear_new(size_t in_features, size_t out_features, bool with_bias, uint64_t seed,
                        sq_linear **out, sq_error *err)
{
    size_t wshape[2] = {out_features, in_features}, bshape[2] = {1, out_features};
    sq_status st;
    sq_rng rng;
    *out = NULL;
    if (in_features == 0 || out_features == 0)
        return sq_fail(err, SQ_ERR_ARG, "a linear layer needs in and out features > 0 (got %zu, %zu)",
                       in_features, out_features);
    sq_linear *l = linear_alloc(in_features, out_features);
    if (!l)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory allocating a linear layer");
    if ((st = sq_tensor_new(wshape, 2, SQ_DTYPE_F32, &l->weight, err)) != SQ_OK ||
        (with_bias && (st = sq_tensor_new(bshape, 2, SQ_DTYPE_F32, &l->bias, err)) != SQ_OK)) {
        sq_linear_free(l);
        return st;
    }
    double bound = 1.0 / sqrt((double)in_features);
    sq_rng_seed(&rng, seed);
    for (size_t i = 0; i < l->weight->numel; i++)
        l->weight->data[i] = (float)((2.0 * sq_rng_uniform(&rng) - 1.0) * bound);
    for (size_t i = 0; l->bias && i < l->bias->numel; i++)
        l->bias->data[i] = (float)((2.0 * sq_rng_uniform(&rng) - 1.0) * bound);
    *out = l;
    return SQ_OK;
}

sq_status sq_linear_from(const sq_tensor *weight, const sq_tensor *bias, sq_linear **out, sq_error *err)
{
    sq_status st;
    *out = NULL;
    if (weight->ndim != 2 || weight->shape[0] == 0 || weight->shape[1] == 0)
        return sq_fail(err, SQ_ERR_ARG, "linear weight must be a non-empty [out, in] matrix (got %d dimensions)",
                       weight->ndim);
    if (bias && bias->numel != weight->shape[0])
        return sq_fail(err, SQ_ERR_ARG, "linear bias has %zu elements, expected out = %zu", bias->numel,
                       weight->shape[0]);
    sq_linear *l = linear_alloc(weight->shape[1], weight->shape[0]);
    if (!l)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory allocating a linear layer");
    if ((st = sq_tensor_clone(weight, &l->weight, err)) != SQ_OK) {
        sq_linear_free(l);
        return st;
    }
    if (bias) {
        size_t bshape[2] = {1, weight->shape[0]};
        if ((st = sq_tensor_from_floats(bshape, 2, bias->data, &l->bias, err)) != SQ_OK) {
            sq_linear_free(l);
            return st;
        }
        l->bias->dtype = bias->dtype;
    }
    *out = l;
    return SQ_OK;
}

/* A new y of shape [..., out] for x of shape [..., in]; *rows receives the
 * number of rows of x. */
static sq_status new_output(const sq_tensor *x, size_t in, size_t out, sq_tensor **y, size_t *rows, sq_error *err)
{
    size_t yshape[SQ_MAX_DIMS];
    int yd = x->ndim ? x->ndim : 1;
    size_t last = x->ndim ? x->shape[x->ndim - 1] : 1;
    *y = NULL;
    if (last != in) {
        char s[128];
        return sq_fail(err, SQ_ERR_ARG, "input of shape %s does not end in in_features = %zu",
                       sq_shape_format(x->shape, x->ndim, s, sizeof s), in);
    }
    for (int d = 0; d < x->ndim; d++)
        yshape[d] = x->shape[d];
    yshape[yd - 1] = out;
    *rows = in ? x->numel / in : 0;
    return sq_tensor_new(yshape, yd, SQ_DTYPE_F32, y, err);
}

/* y = x W^T + b with W given as out x in floats, accumulated in double. */
static sq_status affine(const float *w, size_t in, size_t out, const sq_tensor *bias, const sq_tensor *x,
                        sq_tensor **y, sq_error *err)
{
    size_t rows;
    sq_status st = new_output(x, in, out, y, &rows, err);
    if (st != SQ_OK)
        return st;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x->data + r * in;
        for (size_t o = 0; o < out; o++) {
            const float *wr = w + o * in;
            double s = bias ? bias->data[o] : 0.0;
            for (size_t k = 0; k < in; k++)
                s += (double)xr[k] * wr[k];
            (*y)->data[r * out + o] = (float)s;
        }
    }
    return SQ_OK;
}

/* y[r][o] += b[o] for every row. */
static void add_bias(float *y, size_t rows, size_t out, const sq_tensor *bias)
{
    for (size_t r = 0; bias && r < rows; r++)
        for (size_t o = 0; o < out; o++)
            y[r * out + o] += bias->data[o];
}

bool sq_linear_have_blas(void)
{
#ifdef SQ_HAVE_OPENBLAS
    return true;
#else
    return false;
#endif
}

sq_status sq_linear_forward(const sq_linear *l, const sq_tensor *x, sq_tensor **y, sq_error *err)
{
    size_t rows, in = l->in_features, out = l->out_features;
    sq_status st = new_output(x, in, out, y, &rows, err);
    if (st != SQ_OK)
        return st;
    /* two rows and more: squint's own AVX-512 product where the CPU has it */
    if (rows >= 2 && sq_sgemm512_xwt(x->data, rows, l->weight->data, in, out, (*y)->data)) {
        add_bias((*y)->data, rows, out, l->bias);
        return SQ_OK;
    }
#ifdef SQ_HAVE_OPENBLAS
    if (rows <= INT_MAX && in <= INT_MAX && out <= INT_MAX) {
        if (rows == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)out, (int)in, 1.0f, l->weight->data, (int)in, x->data, 1,
                        0.0f, (*y)->data, 1);
        else if (rows)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)out, (int)in, 1.0f, x->data,
                        (int)in, l->weight->data, (int)in, 0.0f, (*y)->data, (int)out);
        add_bias((*y)->data, rows, out, l->bias);
        return SQ_OK;
    }
#endif
    sq_tensor_free(*y);
    *y = NULL;
    return sq_linear_forward_reference(l, x, y, err);
}

sq_status sq_linear_forward_reference(const sq_linear *l, const sq_tensor *x, sq_tensor **y, sq_error *err)
{
    *y = NULL;
    return affine(l->weight->data, l->in_features, l->out_features, l->bias, x, y, err);
}

/* Fill ql's kernel parameters from its weight. The kernels multiply INT
 * codes; a block / float / codebook format's weight is decoded once into
 * floats (its exact values) and multiplied as the float layer does. */
static sq_status qlinear_prepare(sq_qlinear *ql, sq_error *err)
{
    if (ql->weight_q->config.format != SQ_FORMAT_INT)
        return sq_dequantize(ql->weight_q, &ql->weight_dq, err);
    ql->kparams = calloc(1, sizeof *ql->kparams);
    if (!ql->kparams)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory allocating a quantized linear layer");
    return sq_qgemm_params_init(ql->weight_q, ql->kparams, err);
}

sq_status sq_qlinear_from_linear(const sq_linear *l, const sq_qconfig *cfg, sq_qlinear **out, sq_error *err)
{
    sq_status st;
    *out = NULL;
    sq_qlinear *ql = calloc(1, sizeof *ql);
    if (!ql)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory allocating a quantized linear layer");
    ql->in_features = l->in_features;
    ql->out_features = l->out_features;
    if ((st = sq_quantize(l->weight, cfg, &ql->weight_q, err)) != SQ_OK ||
        (l->bias && (st = sq_tensor_clone(l->bias, &ql->bias, err)) != SQ_OK) ||
        (st = qlinear_prepare(ql, err)) != SQ_OK) {
        sq_qlinear_free(ql);
        return st;
    }
    *out = ql;
    return SQ_OK;
}

/* A copy of q (codes, scales, zero points). */
static sq_status qtensor_copy(const sq_qtensor *q, sq_qtensor **out, sq_error *err)
{
    sq_qtensor *c = calloc(1, sizeof *c);
    if (!c)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory copying a quantized tensor");
    *c = *q;
    c->codes = malloc(q->code_bytes ? q->code_bytes : 1);
    c->scales = malloc((q->n_scales ? q->n_scales : 1) * sizeof *c->scales);
    c->zero_points = malloc((q->n_scales ? q->n_scales : 1) * sizeof *c->zero_points);
    if (!c->codes || !c->scales || !c->zero_points) {
        sq_qtensor_free(c);
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory copying a quantized tensor");
    }
    memcpy(c->codes, q->codes, q->code_bytes);
    memcpy(c->scales, q->scales, q->n_scales * sizeof *c->scales);
    memcpy(c->zero_points, q->zero_points, q->n_scales * sizeof *c->zero_points);
    c->aux = NULL;
    if (q->aux_bytes) {
        if (!(c->aux = malloc(q->aux_bytes))) {
            sq_qtensor_free(c);
            return sq_fail(err, SQ_ERR_NOMEM, "out of memory copying a quantized tensor");
        }
        memcpy(c->aux, q->aux, q->aux_bytes);
    }
    *out = c;
    return SQ_OK;
}

sq_status sq_qlinear_from_qtensor(const sq_qtensor *weight, const sq_tensor *bias, sq_qlinear **out, sq_error *err)
{
    sq_status st;
    *out = NULL;
    if (weight->ndim != 2 || weight->shape[0] == 0 || weight->shape[1] == 0)
        return sq_fail(err, SQ_ERR_ARG, "quantized linear weight must be a non-empty [out, in] matrix (got %d dimensions)",
                       weight->ndim);
    if (bias && bias->numel != weight->shape[0])
        return sq_fail(err, SQ_ERR_ARG, "linear bias has %zu elements, expected out = %zu", bias->numel,
                       weight->shape[0]);
    sq_qlinear *ql = calloc(1, sizeof *ql);
    if (!ql)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory allocating a quantized linear layer");
    ql->in_features = weight->shape[1];
    ql->out_features = weight->shape[0];
    size_t bshape[2] = {1, weight->shape[0]};
    if ((st = qtensor_copy(weight, &ql->weight_q, err)) != SQ_OK ||
        (bias && (st = sq_tensor_from_floats(bshape, 2, bias->data, &ql->bias, err)) != SQ_OK) ||
        (st = qlinear_prepare(ql, err)) != SQ_OK) {
        sq_qlinear_free(ql);
        return st;
    }
    *out = ql;
    return SQ_OK;
}

void sq_qlinear_free(sq_qlinear *ql)
{
    if (ql) {
        sq_qtensor_free(ql->weight_q);
        sq_tensor_free(ql->bias);
        sq_tensor_free(ql->weight_dq);
        if (ql->kparams)
            sq_qgemm_params_free(ql->kparams);
        free(ql->kparams);
        free(ql);
    }
}

sq_status sq_qlinear_forward_mode(const sq_qlinear *ql, const sq_tensor *x, sq_qlinear_mode mode, sq_tensor **y,
                                  sq_error *err)
{
    size_t rows;
    if (ql->weight_dq) { /* a non-INT format: its decoded values, as the float layer multiplies them */
        *y = NULL;
        if (mode == SQ_QLINEAR_DYNAMIC_INT8)
            return sq_fail(err, SQ_ERR_ARG, "the dynamic int8 mode multiplies int codes; this layer's weight is %s",
                           sq_format_name(ql->weight_q->config.format));
        return affine(ql->weight_dq->data, ql->in_features, ql->out_features, ql->bias, x, y, err);
    }
    sq_status st = new_output(x, ql->in_features, ql->out_features, y, &rows, err);
    if (st != SQ_OK)
        return st;
    if (mode == SQ_QLINEAR_DYNAMIC_INT8)
        st = sq_qgemm_dynamic(ql->weight_q, ql->kparams, x->data, rows, (*y)->data, err);
    else
        st = sq_qgemm_float(ql->weight_q, ql->kparams, x->data, rows, (*y)->data, err);
    if (st != SQ_OK) {
        sq_tensor_free(*y);
        *y = NULL;
        return st;
    }
    add_bias((*y)->data, rows, ql->out_features, ql->bias);
    return SQ_OK;
}

bool sq_qlinear_dynamic_applies(const sq_qlinear *ql)
{
    return sq_qgemm_dynamic_applies(ql->weight_q);
}

sq_status sq_qlinear_forward(const sq_qlinear *ql, const sq_tensor *x, sq_tensor **y, sq_error *err)
{
    return sq_qlinear_forward_mode(ql, x, SQ_QLINEAR_EXACT, y, err);
}

sq_status sq_qlinear_forward_reference(const sq_qlinear *ql, const sq_tensor *x, sq_tensor **y, sq_error *err)
{
    sq_tensor *w;
    *y = NULL;
    sq_status st = sq_dequantize(ql->weight_q, &w, err);
    if (st != SQ_OK)
        return st;
    st = affine(w->data, ql->in_features, ql->out_features, ql->bias, x, y, err);
    sq_tensor_free(w);
    return st;
}

size_t sq_qlinear_memory_savings(const sq_qlinear *ql)
{
    return ql->weight_q->numel * 4 - sq_qtensor_size_bytes(ql->weight_q);
}

size_t sq_qlinear_num_parameters(const sq_qlinear *ql)
{
    (void)ql;
    return 0;
}

size_t sq_linear_named_parameters(const sq_linear *l, sq_named_tensor out[2])
{
    size_t n = 0;
    out[n].name = "weight";
    out[n++].tensor = l->weight;
    if (l->bias) {
        out[n].name = "bias";
        out[n++].tensor = l->bias;
    }
    return n;
}

void sq_named_qtensors_free(sq_named_qtensor *arr, size_t n)
{
    for (size_t i = 0; arr && i < n; i++) {
        free(arr[i].name);
        sq_qtensor_free(arr[i].qtensor);
    }
    free(arr);
}

sq_status sq_quantize_named(const sq_named_tensor *set, size_t n, const sq_qconfig *cfg,
                            sq_named_qtensor **out, size_t *n_out, sq_error *err)
{
    sq_named_qtensor *arr = calloc(n ? n : 1, sizeof *arr);
    size_t k = 0;
    *out = NULL;
    *n_out = 0;
    if (!arr)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for %zu named tensors", n);
    for (size_t i = 0; i < n; i++) {
        if (set[i].tensor->ndim < 2)
            continue;
        sq_status st = sq_quantize(set[i].tensor, cfg, &arr[k].qtensor, err);
        if (st == SQ_OK && !(arr[k].name = strdup(set[i].name)))
            st = sq_fail(err, SQ_ERR_NOMEM, "out of memory copying a tensor name");
        if (st != SQ_OK) {
            sq_error_prefix(err, set[i].name);
            sq_named_qtensors_free(arr, k + 1);
            return st;
        }
        k++;
    }
    *out = arr;
    *n_out = k;
    return SQ_OK;
}

void sq_model_stats_init(sq_model_stats *s)
{
    memset(s, 0, sizeof *s);
    s->compression_ratio = 1.0;
}

/* a += b, failing on overflow. */
static bool add_size(size_t *a, size_t b)
{
    if (*a > SIZE_MAX - b)
        return false;
    *a += b;
    return true;
}

sq_status sq_model_stats_add(sq_model_stats *s, const size_t *shape, int ndim, const sq_qconfig *cfg,
                             sq_error *err)
{
    size_t numel, qbytes, meta = 0;
    sq_status st = sq_shape_numel(shape, ndim, &numel, err);
    if (st != SQ_OK)
        return st;
    size_t fp32 = numel * 4;
    if (!add_size(&s->fp32_bytes, fp32))
        return sq_fail(err, SQ_ERR_OVERFLOW, "total fp32 bytes overflow");
    if (ndim >= 2) {
        if ((st = sq_qconfig_check(cfg, shape, ndim, err)) != SQ_OK ||
            (st = sq_packed_size(numel, cfg->bits, &qbytes, err)) != SQ_OK)
            return st;
        meta = sq_qconfig_scale_count(cfg, shape, ndim) * 16;
        if (!add_size(&s->quantized_bytes, qbytes) || !add_size(&s->quantized_bytes, meta))
            return sq_fail(err, SQ_ERR_OVERFLOW, "total quantized bytes overflow");
        s->num_quantized++;
    } else {
        if (!add_size(&s->quantized_bytes, fp32))
            return sq_fail(err, SQ_ERR_OVERFLOW, "total quantized bytes overflow");
        s->num_fp32++;
    }
    s->compression_ratio = s->quantized_bytes ? (double)s->fp32_bytes / (double)s->quantized_bytes : 1.0;
    return SQ_OK;
}

sq_status sq_model_stats_compute(const sq_named_tensor *set, size_t n, const sq_qconfig *cfg,
                                 sq_model_stats *out, sq_error *err)
{
    sq_model_stats_init(out);
    for (size_t i = 0; i < n; i++) {
        const sq_tensor *t = set[i].tensor;
        sq_status st = sq_model_stats_add(out, t->shape, t->ndim, cfg, err);
        if (st != SQ_OK)
            return sq_error_prefix(err, set[i].name);
    }
    return SQ_OK;
}
