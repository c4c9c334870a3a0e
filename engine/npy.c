/* npy.c - numpy .npy reader (versions 1-3, plain numeric dtypes) and writer. */
#include "npy.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtconv.h"
#include "fileio.h"

static const uint8_t npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* The parsed header dictionary. */
typedef struct npy_header {
    bool have_descr, have_order, have_shape;
    char descr[64];
    bool fortran;
    int ndim;
    size_t shape[SQ_MAX_DIMS];
} npy_header;

/* A cursor over the header text. */
typedef struct cursor {
    const char *p, *end;
    const char *name;
    sq_error *err;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Consume ch (after whitespace) or fail naming what was expected. */
static sq_status expect(cursor *c, char ch, const char *where)
{
    skip_ws(c);
    if (c->p >= c->end || *c->p != ch)
        return sq_fail(c->err, SQ_ERR_FORMAT, "%s: npy header: expected '%c' %s", c->name, ch, where);
    c->p++;
    return SQ_OK;
}

/* Parse a quoted Python string (no escapes allowed) into buf. */
static sq_status parse_string(cursor *c, char *buf, size_t bufsize)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return sq_fail(c->err, SQ_ERR_FORMAT, "%s: npy header: expected a quoted string", c->name);
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= bufsize)
            return sq_fail(c->err, SQ_ERR_FORMAT, "%s: npy header: string too long or escaped", c->name);
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return sq_fail(c->err, SQ_ERR_FORMAT, "%s: npy header: unterminated string", c->name);
    c->p++;
    buf[n] = '\0';
    return SQ_OK;
}

/* Parse the descr value: a string, or report a structured dtype. */
static sq_status parse_descr(cursor *c, npy_header *h)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == '[') {
        int len = 0;
        while (c->p + len < c->end && len < 40 && c->p[len] != '\n')
            len++;
        return sq_fail(c->err, SQ_ERR_UNSUPPORTED, "%s: unsupported dtype: structured dtype %.*s", c->name, len,
                       c->p);
    }
    h->have_descr = true;
    return parse_string(c, h->descr, sizeof h->descr);
}

/* Parse True or False. */
static sq_status parse_bool(cursor *c, bool *out)
{
    skip_ws(c);
    if ((size_t)(c->end - c->p) >= 4 && memcmp(c->p, "True", 4) == 0) {
        c->p += 4;
        *out = true;
        return SQ_OK;
    }
    if ((size_t)(c->end - c->p) >= 5 && memcmp(c->p, "False", 5) == 0) {
        c->p += 5;
        *out = false;
        return SQ_OK;
    }
    return sq_fail(c->err, SQ_ERR_FORMAT, "%s: npy header: fortran_order is not True or False", c->name);
}

/* Parse a shape tuple "(d0, d1, ...)" with optional trailing comma. */
static sq_status parse_shape(cursor *c, npy_header *h)
{
    sq_status st;
    if ((st = expect(c, '(', "to open the shape")) != SQ_OK)
        return st;
    h->ndim = 0;
    for (;;) {
        skip_ws(c);
        if (c->p < c->end && *c->p == ')') {
            c->p++;
            break;
        }
        if (c->p < c->end && *c->p == '-')
            return sq_fail(c->err, SQ_ERR_FORMAT, "%s: negative dimension in shape", c->name);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return sq_fail(c->err, SQ_ERR_FORMAT, "%s: npy header: bad shape", c->name);
        size_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            size_t d = (size_t)(*c->p++ - '0');
            if (v > (SIZE_MAX - d) / 10)
                return sq_fail(c->err, SQ_ERR_FORMAT, "%s: dimension too large in shape", c->name);
            v = v * 10 + d;
        }
        if (c->p < c->end && *c->p == 'L')
            c->p++;
        if (h->ndim >= SQ_MAX_DIMS)
            return sq_fail(c->err, SQ_ERR_UNSUPPORTED, "%s: more than %d dimensions", c->name, SQ_MAX_DIMS);
        h->shape[h->ndim++] = v;
        skip_ws(c);
        if (c->p < c->end && *c->p == ',')
            c->p++;
        else if (c->p >= c->end || *c->p != ')')
            return sq_fail(c->err, SQ_ERR_FORMAT, "%s: npy header: bad shape", c->name);
    }
    h->have_shape = true;
    return SQ_OK;
}

/* Parse the header dictionary text. */
static sq_status parse_header(cursor *c, npy_header *h)
{
    sq_status st;
    if ((st = expect(c, '{', "at the start of the header")) != SQ_OK)
        return st;
    for (;;) {
        char key[32];
        skip_ws(c);
        if (c->p < c->end && *c->p == '}')
            break;
        if ((st = parse_string(c, key, sizeof key)) != SQ_OK)
            return st;
        if ((st = expect(c, ':', "after a key")) != SQ_OK)
            return st;
        if (strcmp(key, "descr") == 0)
            st = parse_descr(c, h);
        else if (strcmp(key, "fortran_order") == 0) {
            st = parse_bool(c, &h->fortran);
            h->have_order = true;
        } else if (strcmp(key, "shape") == 0)
            st = parse_shape(c, h);
        else
            return sq_fail(c->err, SQ_ERR_FORMAT, "%s: npy header: unknown key '%s'", c->name, key);
        if (st != SQ_OK)
            return st;
        skip_ws(c);
        if (c->p < c->end && *c->p == ',')
            c->p++;
        else if (c->p >= c->end || *c->p != '}')
            return sq_fail(c->err, SQ_ERR_FORMAT, "%s: npy header: expected ',' or '}'", c->name);
    }
    if (!h->have_descr || !h->have_order || !h->have_shape)
        return sq_fail(c->err, SQ_ERR_FORMAT, "%s: npy header lacks %s", c->name,
                       !h->have_descr ? "'descr'" : !h->have_order ? "'fortran_order'" : "'shape'");
    return SQ_OK;
}

/* Map a numpy type string such as "<f4" to a dtype and byte order. */
static sq_status parse_dtype(const char *descr, const char *name, sq_dtype *dt, bool *big, sq_error *err)
{
    static const struct {
        const char *code;
        sq_dtype dt;
    } map[] = {{"f2", SQ_DTYPE_F16}, {"f4", SQ_DTYPE_F32}, {"f8", SQ_DTYPE_F64}, {"i1", SQ_DTYPE_I8},
               {"u1", SQ_DTYPE_U8},  {"i2", SQ_DTYPE_I16}, {"i4", SQ_DTYPE_I32}};
    char order = descr[0];
    if (order == '<' || order == '>' || order == '|' || order == '=') {
        *big = order == '>';
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
            if (strcmp(descr + 1, map[i].code) == 0) {
                *dt = map[i].dt;
                return SQ_OK;
            }
        }
    }
    return sq_fail(err, SQ_ERR_UNSUPPORTED, "%s: unsupported dtype '%s'", name, descr);
}

/* Reorder a Fortran-order array (src) into C order (dst). */
static void fortran_to_c(const float *src, float *dst, const size_t *shape, int ndim, size_t numel)
{
    size_t idx[SQ_MAX_DIMS] = {0}, stride[SQ_MAX_DIMS];
    size_t s = 1;
    for (int k = 0; k < ndim; k++) {
        stride[k] = s;
        s *= shape[k];
    }
    size_t off = 0;
    for (size_t i = 0; i < numel; i++) {
        dst[i] = src[off];
        for (int k = ndim - 1; k >= 0; k--) { /* increment the C-order multi-index */
            if (++idx[k] < shape[k]) {
                off += stride[k];
                break;
            }
            off -= (idx[k] - 1) * stride[k];
            idx[k] = 0;
        }
    }
}

/* Check the magic and version of the first avail bytes (at least
 * min(12, file_len)) and find the header text: it starts at *hstart and
 * takes *hlen bytes, inside a file of file_len bytes. */
static sq_status npy_prefix(const uint8_t *buf, size_t avail, size_t file_len, const char *name, size_t *hstart,
                            size_t *hlen, sq_error *err)
{
    if (avail < 6 || memcmp(buf, npy_magic, 6) != 0)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: not a .npy file: no \\x93NUMPY magic", name);
    if (avail < 10)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: truncated .npy header", name);
    int major = buf[6];
    if (major == 1) {
        *hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        *hstart = 10;
    } else if (major == 2 || major == 3) {
        if (avail < 12)
            return sq_fail(err, SQ_ERR_FORMAT, "%s: truncated .npy header", name);
        *hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        *hstart = 12;
    } else {
        return sq_fail(err, SQ_ERR_UNSUPPORTED, "%s: unsupported .npy format version %d.%d", name, major, buf[7]);
    }
    if (*hlen > file_len - *hstart)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: header length %zu runs past the end of the file (%zu bytes)", name,
                       *hlen, file_len);
    return SQ_OK;
}

/* Parse the header text (hlen bytes) into info's dtype, order and shape. */
static sq_status npy_dict(const uint8_t *text, size_t hlen, const char *name, sq_npy_info *info, sq_error *err)
{
    sq_status st;
    npy_header h;
    memset(&h, 0, sizeof h);
    cursor c = {(const char *)text, (const char *)text + hlen, name, err};
    if ((st = parse_header(&c, &h)) != SQ_OK)
        return st;
    info->dtype = SQ_DTYPE_F32;
    info->big_endian = false;
    if ((st = parse_dtype(h.descr, name, &info->dtype, &info->big_endian, err)) != SQ_OK)
        return st;
    if (sq_shape_numel(h.shape, h.ndim, &info->numel, err) != SQ_OK)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: shape's element count overflows", name);
    info->fortran = h.fortran;
    info->ndim = h.ndim;
    memcpy(info->shape, h.shape, sizeof info->shape);
    return SQ_OK;
}

sq_status sq_npy_check_data(const sq_npy_info *info, const char *name, sq_error *err)
{
    size_t w = sq_dtype_size(info->dtype), avail = info->data_present;
    if (info->numel > avail / w)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: truncated data: %zu elements of %zu bytes need more than the %zu bytes present",
                       name, info->numel, w, avail);
    if (avail != info->numel * w)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: %zu unexpected bytes after the data", name, avail - info->numel * w);
    return SQ_OK;
}

sq_status sq_npy_parse(const uint8_t *buf, size_t len, const char *name, sq_tensor **out, sq_error *err)
{
    sq_status st;
    sq_npy_info info;
    size_t hstart = 0, hlen = 0;
    *out = NULL;
    if ((st = npy_prefix(buf, len, len, name, &hstart, &hlen, err)) != SQ_OK ||
        (st = npy_dict(buf + hstart, hlen, name, &info, err)) != SQ_OK)
        return st;
    info.data_offset = hstart + hlen;
    info.data_present = len - info.data_offset;
    if ((st = sq_npy_check_data(&info, name, err)) != SQ_OK)
        return st;
    sq_tensor *t;
    if ((st = sq_tensor_new(info.shape, info.ndim, info.dtype, &t, err)) != SQ_OK)
        return sq_error_prefix(err, name);
    const uint8_t *data = buf + info.data_offset;
    size_t numel = info.numel;
    if (info.fortran && info.ndim > 1 && numel > 0) {
        float *tmp = malloc(numel * sizeof *tmp);
        if (!tmp) {
            sq_tensor_free(t);
            return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", name);
        }
        sq_decode_elements(info.dtype, info.big_endian, data, numel, tmp);
        fortran_to_c(tmp, t->data, info.shape, info.ndim, numel);
        free(tmp);
    } else {
        sq_decode_elements(info.dtype, info.big_endian, data, numel, t->data);
    }
    *out = t;
    return SQ_OK;
}

sq_status sq_npy_read(const char *path, sq_tensor **out, sq_error *err)
{
    sq_mapped m;
    *out = NULL;
    sq_status st = sq_map_file(path, &m, err);
    if (st != SQ_OK)
        return st;
    st = sq_npy_parse(m.data, m.size, path, out, err);
    sq_unmap_file(&m);
    return st;
}

/* Read exactly n bytes at offset off of fd into buf (retrying short reads). */
static sq_status read_at(int fd, size_t off, void *buf, size_t n, const char *name, sq_error *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return sq_fail(err, SQ_ERR_IO, "%s: cannot read: %s", name, strerror(errno));
        if (r == 0)
            return sq_fail(err, SQ_ERR_IO, "%s: cannot read: the file shrank while being read", name);
        got += (size_t)r;
    }
    return SQ_OK;
}

/* Open path read-only as a regular file; *size gets its length. */
static sq_status open_regular(const char *path, int *fd, size_t *size, sq_error *err)
{
    struct stat sb;
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return sq_fail(err, SQ_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(*fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uintmax_t)sb.st_size > (uintmax_t)SIZE_MAX) {
        close(*fd);
        *fd = -1;
        return sq_fail(err, SQ_ERR_IO, "%s: not a regular file", path);
    }
    *size = (size_t)sb.st_size;
    return SQ_OK;
}

/* Probe through an open descriptor (see sq_npy_probe). */
static sq_status probe_fd(int fd, size_t size, const char *path, sq_npy_info *info, sq_error *err)
{
    uint8_t pre[12];
    size_t hstart = 0, hlen = 0, avail = size < sizeof pre ? size : sizeof pre;
    sq_status st = read_at(fd, 0, pre, avail, path, err);
    if (st != SQ_OK || (st = npy_prefix(pre, avail, size, path, &hstart, &hlen, err)) != SQ_OK)
        return st;
    if (hlen > SQ_NPY_MAX_HEADER)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: header length %zu exceeds the %u-byte limit", path, hlen,
                       (unsigned)SQ_NPY_MAX_HEADER);
    uint8_t *text = malloc(hlen ? hlen : 1);
    if (!text)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    if ((st = read_at(fd, hstart, text, hlen, path, err)) == SQ_OK)
        st = npy_dict(text, hlen, path, info, err);
    free(text);
    info->data_offset = hstart + hlen;
    info->data_present = size - info->data_offset;
    return st;
}

sq_status sq_npy_probe(const char *path, sq_npy_info *info, sq_error *err)
{
    int fd;
    size_t size;
    memset(info, 0, sizeof *info);
    sq_status st = open_regular(path, &fd, &size, err);
    if (st != SQ_OK)
        return st;
    st = probe_fd(fd, size, path, info, err);
    close(fd);
    return st;
}

/* Running sums of the two summary passes. */
typedef struct npy_acc {
    double sum, mn, mx, mean, ss;
    size_t nfin, n_nan, n_inf;
} npy_acc;

/* Fold n values into a (pass 1: counts, sum, extremes; pass 2: squares). */
static void acc_chunk(npy_acc *a, const float *v, size_t n, int pass)
{
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (pass == 2) {
            if (isfinite(x))
                a->ss += (x - a->mean) * (x - a->mean);
        } else if (isnan(x)) {
            a->n_nan++;
        } else if (isinf(x)) {
            a->n_inf++;
        } else {
            a->sum += x;
            a->mn = x < a->mn ? x : a->mn;
            a->mx = x > a->mx ? x : a->mx;
            a->nfin++;
        }
    }
}

/* One pass over the data of fd, NPY_CHUNK elements at a time. */
static sq_status summary_pass(int fd, const sq_npy_info *info, const char *path, npy_acc *a, int pass, sq_error *err)
{
    enum { NPY_CHUNK = 16384 };
    static const size_t chunk = NPY_CHUNK;
    uint8_t raw[NPY_CHUNK * 8];
    float vals[NPY_CHUNK];
    size_t w = sq_dtype_size(info->dtype);
    for (size_t i = 0; i < info->numel; i += chunk) {
        size_t n = info->numel - i < chunk ? info->numel - i : chunk;
        sq_status st = read_at(fd, info->data_offset + i * w, raw, n * w, path, err);
        if (st != SQ_OK)
            return st;
        sq_decode_elements(info->dtype, info->big_endian, raw, n, vals);
        acc_chunk(a, vals, n, pass);
    }
    return SQ_OK;
}

sq_status sq_npy_summary(const char *path, sq_npy_info *info, sq_summary *out, sq_error *err)
{
    int fd;
    size_t size;
    npy_acc a = {0, INFINITY, -INFINITY, 0, 0, 0, 0, 0};
    memset(out, 0, sizeof *out);
    sq_status st = open_regular(path, &fd, &size, err);
    if (st != SQ_OK)
        return st;
    if ((st = probe_fd(fd, size, path, info, err)) == SQ_OK && (st = sq_npy_check_data(info, path, err)) == SQ_OK &&
        (st = summary_pass(fd, info, path, &a, 1, err)) == SQ_OK && a.nfin > 0) {
        a.mean = a.sum / (double)a.nfin;
        st = summary_pass(fd, info, path, &a, 2, err);
    }
    close(fd);
    if (st != SQ_OK)
        return st;
    out->count = info->numel;
    out->n_nan = a.n_nan;
    out->n_inf = a.n_inf;
    if (a.nfin == 0) {
        out->min = out->max = out->mean = out->std = NAN;
        return SQ_OK;
    }
    out->min = a.mn;
    out->max = a.mx;
    out->mean = a.mean;
    out->std = sqrt(a.ss / (double)a.nfin);
    return SQ_OK;
}

/* Build the padded header (magic, version, length, dict) into buf; *n gets its size. */
static sq_status make_header(const char *descr, const size_t *shape, int ndim, uint8_t *buf, size_t bufsize,
                             size_t *n, sq_error *err)
{
    char dict[512];
    int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < ndim; i++)
        k += snprintf(dict + k, sizeof dict - (size_t)k, "%zu%s", shape[i], ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
    k += snprintf(dict + k, sizeof dict - (size_t)k, "), }");
    size_t dl = (size_t)k;
    int major = dl + 1 + 10 > 65535 ? 2 : 1;
    size_t pre = major == 1 ? 10 : 12;
    size_t total = (pre + dl + 1 + 63) / 64 * 64;
    if (total > bufsize)
        return sq_fail(err, SQ_ERR_ARG, "npy header too long");
    size_t hlen = total - pre;
    memcpy(buf, npy_magic, 6);
    buf[6] = (uint8_t)major;
    buf[7] = 0;
    for (size_t b = 0; b < pre - 8; b++)
        buf[8 + b] = (uint8_t)(hlen >> (8 * b));
    memcpy(buf + pre, dict, dl);
    memset(buf + pre + dl, ' ', hlen - dl - 1);
    buf[total - 1] = '\n';
    *n = total;
    return SQ_OK;
}

/* Shared writer: header then numel elements produced chunk by chunk. */
static sq_status npy_write(const char *path, const char *descr, const size_t *shape, int ndim,
                           const float *vals, const int8_t *codes, sq_dtype dt, sq_error *err)
{
    uint8_t hdr[640];
    size_t hn = 0, numel;
    sq_status st;
    if ((st = sq_shape_numel(shape, ndim, &numel, err)) != SQ_OK)
        return st;
    if ((st = make_header(descr, shape, ndim, hdr, sizeof hdr, &hn, err)) != SQ_OK)
        return st;
    sq_afile *f;
    if ((st = sq_afile_open(path, &f, err)) != SQ_OK)
        return st;
    if ((st = sq_afile_write(f, hdr, hn, err)) != SQ_OK)
        goto fail;
    if (codes) {
        if ((st = sq_afile_write(f, codes, numel, err)) != SQ_OK)
            goto fail;
    } else {
        uint8_t chunk[8192];
        size_t w = sq_dtype_size(dt), per = sizeof chunk / w;
        for (size_t i = 0; i < numel; i += per) {
            size_t n = numel - i < per ? numel - i : per;
            if ((st = sq_encode_elements(dt, vals + i, n, chunk, err)) != SQ_OK) {
                sq_error_prefix(err, path);
                goto fail;
            }
            if ((st = sq_afile_write(f, chunk, n * w, err)) != SQ_OK)
                goto fail;
        }
    }
    return sq_afile_commit(f, err);
fail:
    sq_afile_abort(f);
    return st;
}

sq_status sq_npy_write(const char *path, const sq_tensor *t, sq_dtype dt, sq_error *err)
{
    static const char *const descr[SQ_DTYPE_COUNT] = {
        [SQ_DTYPE_F32] = "<f4", [SQ_DTYPE_F16] = "<f2", [SQ_DTYPE_F64] = "<f8", [SQ_DTYPE_I8] = "|i1",
        [SQ_DTYPE_U8] = "|u1",  [SQ_DTYPE_I16] = "<i2", [SQ_DTYPE_I32] = "<i4",
    };
    if ((unsigned)dt >= SQ_DTYPE_COUNT || !descr[dt])
        return sq_fail(err, SQ_ERR_UNSUPPORTED, "%s: numpy has no dtype for %s", path, sq_dtype_name(dt));
    return npy_write(path, descr[dt], t->shape, t->ndim, t->data, NULL, dt, err);
}

sq_status sq_npy_write_i8(const char *path, const size_t *shape, int ndim, const int8_t *codes, sq_error *err)
{
    return npy_write(path, "|i1", shape, ndim, NULL, codes, SQ_DTYPE_I8, err);
}
