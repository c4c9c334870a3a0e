/* gguf_build.h - helpers shared by the GGUF tests (test_gguf.c,
 * test_gguf_write.c): GGUF files built byte by byte in a growing buffer,
 * little-endian stores, whole files read into memory. Every helper fails
 * the running Check test on an allocation or I/O failure. */
#ifndef SQ_GGUF_BUILD_H
#define SQ_GGUF_BUILD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "testutil.h"

/* Store v as n little-endian bytes at p. */
static inline void gb_store_le(uint8_t *p, uint64_t v, int n)
{
    for (int k = 0; k < n; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

/* A byte buffer that grows; start it as {NULL, 0, 0}, free(b.p) after. */
typedef struct gbuf {
    uint8_t *p;
    size_t n, cap;
} gbuf;

static inline void gb_put(gbuf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
        ck_assert_ptr_nonnull(b->p);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

/* v as w little-endian bytes. */
static inline void gb_le(gbuf *b, uint64_t v, int w)
{
    uint8_t c[8];
    gb_store_le(c, v, w);
    gb_put(b, c, (size_t)w);
}

/* Zeros up to the default GGUF alignment of 32. */
static inline void gb_pad(gbuf *b)
{
    while (b->n % 32)
        gb_le(b, 0, 1);
}

/* A version 3 header: magic, version, tensor and key-value counts. */
static inline void gb_header(gbuf *b, uint64_t n_tensors, uint64_t n_kv)
{
    gb_put(b, "GGUF", 4);
    gb_le(b, 3, 4);
    gb_le(b, n_tensors, 8);
    gb_le(b, n_kv, 8);
}

/* A 2-D tensor info: name, ne[0] (row length), ne[1], ggml type, offset. */
static inline void gb_tensor_info(gbuf *b, const char *name, uint32_t type, uint64_t ne0, uint64_t ne1, uint64_t off)
{
    gb_le(b, strlen(name), 8);
    gb_put(b, name, strlen(name));
    gb_le(b, 2, 4);
    gb_le(b, ne0, 8);
    gb_le(b, ne1, 8);
    gb_le(b, type, 4);
    gb_le(b, off, 8);
}

/* The whole file at path (caller frees) and its length in *len. */
static inline uint8_t *gb_read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* Each of the n rows {key, type name, value text} is a metadata pair of g
 * with that type and value (as sq_gguf_metadata_type/value give them). */
static inline void gb_expect_metadata(const sq_gguf *g, const char *const (*kv)[3], size_t n)
{
    for (size_t k = 0; k < n; k++) {
        size_t i;
        for (i = 0; i < sq_gguf_metadata_count(g); i++)
            if (strcmp(sq_gguf_metadata_key(g, i), kv[k][0]) == 0)
                break;
        ck_assert_msg(i < sq_gguf_metadata_count(g), "missing %s", kv[k][0]);
        ck_assert_str_eq(sq_gguf_metadata_type(g, i), kv[k][1]);
        ck_assert_str_eq(sq_gguf_metadata_value(g, i), kv[k][2]);
    }
}

#endif
