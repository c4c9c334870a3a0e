/* demo.c - compare quantization configurations on a tensor, as a text table. */
#include "demo.h"

#include <math.h>

#include "stats.h"

#define CFG(b, m, g) {.bits = b, .mode = m, .granularity = g, .axis = 0, .group_size = 32}

static const sq_qconfig demo_configs[] = {
    CFG(8, SQ_MODE_SYMMETRIC, SQ_GRAN_TENSOR),  CFG(8, SQ_MODE_SYMMETRIC, SQ_GRAN_CHANNEL),
    CFG(8, SQ_MODE_ASYMMETRIC, SQ_GRAN_TENSOR), CFG(8, SQ_MODE_ASYMMETRIC, SQ_GRAN_CHANNEL),
    CFG(4, SQ_MODE_SYMMETRIC, SQ_GRAN_TENSOR),  CFG(4, SQ_MODE_SYMMETRIC, SQ_GRAN_CHANNEL),
    CFG(4, SQ_MODE_ASYMMETRIC, SQ_GRAN_TENSOR), CFG(4, SQ_MODE_ASYMMETRIC, SQ_GRAN_CHANNEL),
    CFG(4, SQ_MODE_SYMMETRIC, SQ_GRAN_GROUP),
};

size_t sq_demo_configs(const sq_qconfig **out)
{
    *out = demo_configs;
    return sizeof demo_configs / sizeof demo_configs[0];
}

/* One table row: quantize t with cfg and print its statistics. */
static sq_status print_row(FILE *out, const sq_tensor *t, const sq_qconfig *cfg, sq_error *err)
{
    sq_qtensor *q;
    sq_stats st;
    char name[64];
    sq_status s = sq_quantize(t, cfg, &q, err);
    if (s != SQ_OK)
        return s;
    s = sq_roundtrip_stats(t, q, NULL, &st, NULL, err);
    /* the one accounting (quant.h, sq_qtensor_storage_bytes), as q:stats() and sq.compare */
    size_t bytes = sq_qtensor_storage_bytes(q);
    if (s == SQ_OK)
        fprintf(out, "%-28s %8.2f %10.3e %10.3e %9.6f %9zu %9zu %6.2fx %6.2f\n",
                sq_qconfig_describe_from(cfg, 1, name, sizeof name), st.sqnr_db, st.rmse, st.max_abs_err,
                st.cosine, bytes, bytes - sq_qtensor_size_bytes(q), bytes ? 4.0 * (double)t->numel / (double)bytes : 1.0,
                t->numel ? 8.0 * (double)bytes / (double)t->numel : 0.0);
    sq_qtensor_free(q);
    return s;
}

sq_status sq_demo_print_table(FILE *out, const sq_tensor *t, const char *name, sq_error *err)
{
    char shape[128];
    sq_summary sum;
    sq_tensor_summary(t, &sum);
    fprintf(out, "%s %s %s, %zu elements, min %.4g max %.4g std %.4g\n\n", name,
            sq_shape_format(t->shape, t->ndim, shape, sizeof shape), sq_dtype_name(t->dtype), t->numel,
            sum.min, sum.max, sum.std);
    fprintf(out, "%-28s %8s %10s %10s %9s %9s %9s %7s %6s\n", "config", "SQNR dB", "RMSE", "max|err|",
            "cosine", "bytes", "scales B", "ratio", "bits/w");
    for (size_t i = 0; i < sizeof demo_configs / sizeof demo_configs[0]; i++) {
        sq_status s = print_row(out, t, &demo_configs[i], err);
        if (s != SQ_OK)
            return s;
    }
    fprintf(out, "\nbytes: packed codes + f64 scales (+ zero points when asymmetric), as q:stats().bytes and "
                 "sq.compare;\nscales B: the scales' (and zero points') part; ratio: 4 * numel / bytes; bits/w: "
                 "8 * bytes / numel.\nsquint quantize stores f16 scales (in Lua: scale_dtype = \"f16\").\n");
    return SQ_OK;
}
