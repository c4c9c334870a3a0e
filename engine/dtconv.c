/* dtconv.c - raw element <-> float32 conversion for the file formats. */
#include "dtconv.h"

#include <math.h>
#include <string.h>

#include "threads.h"

/* Load an unsigned integer of w bytes at p in the given byte order. */
static uint64_t load_uint(const uint8_t *p, size_t w, bool big)
{
    uint64_t v = 0;
    for (size_t k = 0; k < w; k++)
        v |= (uint64_t)p[big ? w - 1 - k : k] << (8 * k);
    return v;
}

/* Whether this machine stores integers little-endian. */
static bool host_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Fast paths for little-endian data on a little-endian host: whole-buffer
 * copies or simple loops the compiler vectorizes. Returns false when dt has
 * none. */
static bool decode_native(sq_dtype dt, const uint8_t *src, size_t n, float *dst)
{
    switch (dt) {
    case SQ_DTYPE_F32:
        memcpy(dst, src, n * sizeof(float));
        return true;
    case SQ_DTYPE_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            dst[i] = sq_bf16_to_float(h);
        }
        return true;
    case SQ_DTYPE_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            dst[i] = sq_half_to_float(h);
        }
        return true;
    case SQ_DTYPE_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, src + 8 * i, 8);
            dst[i] = (float)d;
        }
        return true;
    default:
        return false;
    }
}

static void decode_span(sq_dtype dt, bool big, const uint8_t *src, size_t n, float *dst)
{
    size_t w = sq_dtype_size(dt);
    if (!big && host_little_endian() && decode_native(dt, src, n, dst))
        return;
    for (size_t i = 0; i < n; i++, src += w) {
        uint64_t u = load_uint(src, w, big);
        switch (dt) {
        case SQ_DTYPE_F32: {
            uint32_t b = (uint32_t)u;
            float f;
            memcpy(&f, &b, 4);
            dst[i] = f;
            break;
        }
        case SQ_DTYPE_F64: {
            double d;
            memcpy(&d, &u, 8);
            dst[i] = (float)d;
            break;
        }
        case SQ_DTYPE_F16: dst[i] = sq_half_to_float((uint16_t)u); break;
        case SQ_DTYPE_BF16: dst[i] = sq_bf16_to_float((uint16_t)u); break;
        case SQ_DTYPE_I8: dst[i] = (float)(int8_t)(uint8_t)u; break;
        case SQ_DTYPE_U8: dst[i] = (float)(uint8_t)u; break;
        case SQ_DTYPE_I16: dst[i] = (float)(int16_t)(uint16_t)u; break;
        case SQ_DTYPE_I32: dst[i] = (float)(int32_t)(uint32_t)u; break;
        default: dst[i] = NAN; break;
        }
    }
}

/* Large conversions run in parts of DECODE_PART elements over the thread
 * pool (each element is converted alone: the result is the same for any
 * thread count; a call from inside a pool task runs its parts in order). */
#define DECODE_PART ((size_t)1 << 18)

typedef struct decode_job {
    sq_dtype dt;
    bool big;
    const uint8_t *src;
    size_t n;
    float *dst;
} decode_job;

static void decode_part(void *ctx, size_t p, int worker)
{
    const decode_job *j = ctx;
    size_t a = p * DECODE_PART, m = j->n - a < DECODE_PART ? j->n - a : DECODE_PART;
    (void)worker;
    decode_span(j->dt, j->big, j->src + a * sq_dtype_size(j->dt), m, j->dst + a);
}

void sq_decode_elements(sq_dtype dt, bool big, const uint8_t *src, size_t n, float *dst)
{
    if (n < 2 * DECODE_PART) {
        decode_span(dt, big, src, n, dst);
        return;
    }
    decode_job j = {dt, big, src, n, dst};
    sq_parallel_for((n + DECODE_PART - 1) / DECODE_PART, decode_part, &j);
}

/* Store the low w bytes of v little-endian at p. */
static void store_le(uint8_t *p, uint64_t v, size_t w)
{
    for (size_t k = 0; k < w; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

sq_status sq_encode_elements(sq_dtype dt, const float *src, size_t n, uint8_t *dst, sq_error *err)
{
    size_t w = sq_dtype_size(dt);
    double lo = 0, hi = 0;
    switch (dt) {
    case SQ_DTYPE_I8: lo = -128; hi = 127; break;
    case SQ_DTYPE_U8: lo = 0; hi = 255; break;
    case SQ_DTYPE_I16: lo = -32768; hi = 32767; break;
    case SQ_DTYPE_I32: lo = -2147483648.0; hi = 2147483647.0; break;
    default: break;
    }
    for (size_t i = 0; i < n; i++, dst += w) {
        float f = src[i];
        switch (dt) {
        case SQ_DTYPE_F32: {
            uint32_t b;
            memcpy(&b, &f, 4);
            store_le(dst, b, 4);
            break;
        }
        case SQ_DTYPE_F64: {
            double d = f;
            uint64_t b;
            memcpy(&b, &d, 8);
            store_le(dst, b, 8);
            break;
        }
        case SQ_DTYPE_F16: store_le(dst, sq_float_to_half(f), 2); break;
        case SQ_DTYPE_BF16: store_le(dst, sq_float_to_bf16(f), 2); break;
        case SQ_DTYPE_I8:
        case SQ_DTYPE_U8:
        case SQ_DTYPE_I16:
        case SQ_DTYPE_I32:
            if (!(f >= lo && f <= hi) || f != floorf(f))
                return sq_fail(err, SQ_ERR_ARG, "value %g of element %zu is not representable as %s", (double)f,
                               i + 1, sq_dtype_name(dt));
            store_le(dst, (uint64_t)(int64_t)f, w);
            break;
        default: return sq_fail(err, SQ_ERR_ARG, "invalid dtype %d", (int)dt);
        }
    }
    return SQ_OK;
}
