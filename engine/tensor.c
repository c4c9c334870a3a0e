/* tensor.c - float tensors: allocation, dtypes, seeded normal values, summaries. */
#include "tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rng.h"
#include "threads.h"

static const struct {
    const char *name;
    size_t size;
} dtype_info[SQ_DTYPE_COUNT] = {
    [SQ_DTYPE_F32] = {"f32", 4}, [SQ_DTYPE_F16] = {"f16", 2}, [SQ_DTYPE_BF16] = {"bf16", 2},
    [SQ_DTYPE_F64] = {"f64", 8}, [SQ_DTYPE_I8] = {"i8", 1},   [SQ_DTYPE_U8] = {"u8", 1},
    [SQ_DTYPE_I16] = {"i16", 2}, [SQ_DTYPE_I32] = {"i32", 4},
};

const char *sq_dtype_name(sq_dtype dt)
{
    return (unsigned)dt < SQ_DTYPE_COUNT ? dtype_info[dt].name : "?";
}

size_t sq_dtype_size(sq_dtype dt)
{
    return (unsigned)dt < SQ_DTYPE_COUNT ? dtype_info[dt].size : 0;
}

bool sq_dtype_parse(const char *name, sq_dtype *out)
{
    for (int i = 0; i < SQ_DTYPE_COUNT; i++) {
        if (strcasecmp(name, dtype_info[i].name) == 0) {
            *out = (sq_dtype)i;
            return true;
        }
    }
    return false;
}

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float sq_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0) { /* zero or subnormal: mant * 2^-24, exact in float */
        float v = (float)mant * 0x1p-24f;
        return sign ? -v : v;
    }
    if (exp == 31)
        return bits_float(sign | 0x7f800000u | (mant << 13));
    return bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
}

/* Shift m right by s bits, rounding to nearest, ties to even. */
static uint32_t shift_round_even(uint32_t m, unsigned s)
{
    uint32_t q = m >> s, rem = m & ((1u << s) - 1u), half = 1u << (s - 1);
    if (rem > half || (rem == half && (q & 1u)))
        q++;
    return q;
}

uint16_t sq_float_to_half(float f)
{
    uint32_t x = float_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) /* >= 65520 (or Inf): rounds to Inf */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) { /* below 2^-14: half subnormal or zero */
        if (ax <= 0x33000000u)
            return sign;
        uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        return (uint16_t)(sign | shift_round_even(m, 126u - (ax >> 23)));
    }
    return (uint16_t)(sign | shift_round_even(ax - 0x38000000u, 13));
}

float sq_bf16_to_float(uint16_t b)
{
    return bits_float((uint32_t)b << 16);
}

uint16_t sq_float_to_bf16(float f)
{
    uint32_t x = float_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u);
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

sq_status sq_shape_numel(const size_t *shape, int ndim, size_t *numel, sq_error *err)
{
    size_t n = 1;
    if (ndim < 0 || ndim > SQ_MAX_DIMS)
        return sq_fail(err, SQ_ERR_ARG, "number of dimensions %d is outside 0..%d", ndim,
                       SQ_MAX_DIMS);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] != 0 && n > SIZE_MAX / shape[i])
            return sq_fail(err, SQ_ERR_OVERFLOW, "shape dimension %d (%zu) makes the element count overflow",
                           i + 1, shape[i]);
        n *= shape[i];
    }
    if (n > SIZE_MAX / sizeof(float))
        return sq_fail(err, SQ_ERR_OVERFLOW, "%zu elements do not fit in memory as float32", n);
    *numel = n;
    return SQ_OK;
}

char *sq_shape_format(const size_t *shape, int ndim, char *buf, size_t bufsize)
{
    size_t len = 0;
    if (bufsize == 0)
        return buf;
    buf[0] = '\0';
    len += (size_t)snprintf(buf, bufsize, "[");
    for (int i = 0; i < ndim && len < bufsize; i++)
        len += (size_t)snprintf(buf + len, bufsize - len, "%s%zu", i ? ", " : "", shape[i]);
    if (len < bufsize)
        snprintf(buf + len, bufsize - len, "]");
    return buf;
}

sq_status sq_tensor_new(const size_t *shape, int ndim, sq_dtype dtype, sq_tensor **out,
                        sq_error *err)
{
    size_t numel;
    sq_status st;
    *out = NULL;
    if ((unsigned)dtype >= SQ_DTYPE_COUNT)
        return sq_fail(err, SQ_ERR_ARG, "unknown dtype %d", (int)dtype);
    if ((st = sq_shape_numel(shape, ndim, &numel, err)) != SQ_OK)
        return st;
    sq_tensor *t = calloc(1, sizeof *t);
    if (!t)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory allocating a tensor header");
    t->data = calloc(numel ? numel : 1, sizeof(float));
    if (!t->data) {
        free(t);
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory allocating %zu floats", numel);
    }
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->numel = numel;
    t->dtype = dtype;
    *out = t;
    return SQ_OK;
}

sq_status sq_tensor_from_floats(const size_t *shape, int ndim, const float *values,
                                sq_tensor **out, sq_error *err)
{
    sq_status st = sq_tensor_new(shape, ndim, SQ_DTYPE_F32, out, err);
    if (st == SQ_OK && (*out)->numel)
        memcpy((*out)->data, values, (*out)->numel * sizeof(float));
    return st;
}

sq_status sq_tensor_clone(const sq_tensor *t, sq_tensor **out, sq_error *err)
{
    sq_status st = sq_tensor_from_floats(t->shape, t->ndim, t->data, out, err);
    if (st == SQ_OK)
        (*out)->dtype = t->dtype;
    return st;
}

sq_status sq_tensor_randn(const size_t *shape, int ndim, uint64_t seed, sq_tensor **out,
                          sq_error *err)
{
    sq_rng rng;
    sq_status st = sq_tensor_new(shape, ndim, SQ_DTYPE_F32, out, err);
    if (st != SQ_OK)
        return st;
    sq_rng_seed(&rng, seed);
    sq_rng_fill_normal(&rng, (*out)->data, (*out)->numel);
    return SQ_OK;
}

void sq_tensor_free(sq_tensor *t)
{
    if (t) {
        free(t->data);
        free(t);
    }
}

/* Write the multi-index of flat index i in shape as "[a, b, c]", 1-based. */
static void format_multi_index(const sq_tensor *t, size_t i, char *buf, size_t bufsize)
{
    size_t idx[SQ_MAX_DIMS];
    for (int d = t->ndim - 1; d >= 0; d--) {
        idx[d] = (t->shape[d] ? i % t->shape[d] : 0) + 1;
        i = t->shape[d] ? i / t->shape[d] : 0;
    }
    sq_shape_format(idx, t->ndim, buf, bufsize);
}

/* Elements per part of the parallel finiteness check (fixed; the counts
 * are integers, so the message never depends on the thread count). */
#define FINITE_PART ((size_t)1 << 18)

/* One part's non-finite values: how many, how many NaN, the first index. */
typedef struct finite_part {
    size_t bad, n_nan, first;
} finite_part;

typedef struct finite_job {
    const float *v;
    size_t n;
    finite_part *parts;
} finite_job;

/* Count the non-finite values of v[a..b) into *p. A first pass only ORs
 * one bit per value (set when every exponent bit is: inf or NaN), which
 * the compiler can vectorize; the counting runs only when it is set. */
static void finite_range(const float *v, size_t a, size_t b, finite_part *p)
{
    uint32_t any = 0;
    memset(p, 0, sizeof *p);
    for (size_t i = a; i < b; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        any |= ((u & 0x7F800000u) + 0x00800000u) & 0x80000000u;
    }
    if (!any)
        return;
    for (size_t i = a; i < b; i++)
        if (!isfinite(v[i])) {
            if (p->bad++ == 0)
                p->first = i;
            p->n_nan += isnan(v[i]) != 0;
        }
}

/* sq_task_fn: part t of a finite_job. */
static void finite_task(void *ctx, size_t t, int worker)
{
    const finite_job *j = ctx;
    size_t a = t * FINITE_PART, b = j->n - a < FINITE_PART ? j->n : a + FINITE_PART;
    (void)worker;
    finite_range(j->v, a, b, &j->parts[t]);
}

sq_status sq_tensor_check_finite(const sq_tensor *t, const char *what, sq_error *err)
{
    finite_part sum = {0, 0, 0};
    size_t np = (t->numel + FINITE_PART - 1) / FINITE_PART;
    finite_job j = {t->data, t->numel, np > 1 ? malloc(np * sizeof(finite_part)) : NULL};
    char where[160];
    if (j.parts) { /* parts in order: the first of the first part with any */
        sq_parallel_for(np, finite_task, &j);
        for (size_t k = 0; k < np; k++) {
            if (j.parts[k].bad && sum.bad == 0)
                sum.first = j.parts[k].first;
            sum.bad += j.parts[k].bad;
            sum.n_nan += j.parts[k].n_nan;
        }
        free(j.parts);
    } else { /* one part, or no memory for the parts' counts */
        finite_range(t->data, 0, t->numel, &sum);
    }
    size_t bad = sum.bad, first = sum.first, n_nan = sum.n_nan;
    if (bad == 0)
        return SQ_OK;
    format_multi_index(t, first, where, sizeof where);
    return sq_fail(err, SQ_ERR_NONFINITE,
                   "%s%s%zu non-finite value%s (%zu NaN, %zu Inf) of %zu; first at element %zu %s = %g",
                   what ? what : "", what ? " has " : "", bad, bad == 1 ? "" : "s", n_nan, bad - n_nan,
                   t->numel, first + 1, where, (double)t->data[first]);
}

void sq_tensor_summary(const sq_tensor *t, sq_summary *out)
{
    double sum = 0.0, mn = INFINITY, mx = -INFINITY;
    size_t nfin = 0;
    memset(out, 0, sizeof *out);
    out->count = t->numel;
    for (size_t i = 0; i < t->numel; i++) {
        double v = t->data[i];
        if (isnan(v)) {
            out->n_nan++;
        } else if (isinf(v)) {
            out->n_inf++;
        } else {
            sum += v;
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            nfin++;
        }
    }
    if (nfin == 0) {
        out->min = out->max = out->mean = out->std = NAN;
        return;
    }
    double mean = sum / (double)nfin, ss = 0.0;
    for (size_t i = 0; i < t->numel; i++) {
        double v = t->data[i];
        if (isfinite(v))
            ss += (v - mean) * (v - mean);
    }
    out->min = mn;
    out->max = mx;
    out->mean = mean;
    out->std = sqrt(ss / (double)nfin);
}

sq_status sq_tensor_demo(sq_tensor **out, sq_error *err)
{
    static const size_t shape[2] = {256, 512};
    static const struct { size_t row; float gain; } outliers[] = {{7, 25.0f}, {100, 12.0f}, {201, 40.0f}};
    sq_status st = sq_tensor_randn(shape, 2, 20261127u, out, err);
    if (st != SQ_OK)
        return st;
    for (size_t i = 0; i < (*out)->numel; i++)
        (*out)->data[i] *= 0.02f;
    for (size_t k = 0; k < sizeof outliers / sizeof outliers[0]; k++) {
        float *row = (*out)->data + outliers[k].row * shape[1];
        for (size_t j = 0; j < shape[1]; j++)
            row[j] *= outliers[k].gain;
    }
    return SQ_OK;
}
