/* test_sniff.c - format detection by magic bytes and the messages for files
 * that are not what the reader needs; sharded safetensors checkpoints read
 * as one (tests/data/shard, from make_kinds.py); terminal escaping; the
 * header-only .npy probe and streaming statistics. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "checkpoint.h"
#include "npy.h"
#include "safetensors.h"
#include "shard.h"
#include "sniff.h"
#include "textesc.h"
#include "testutil.h"

#define KINDS SQ_TEST_DATA "/kinds/"
#define SHARD SQ_TEST_DATA "/shard/"

static sq_file_kind kind_of(const void *buf, size_t len)
{
    return sq_sniff_bytes((const uint8_t *)buf, len);
}

START_TEST(test_sniff_bytes)
{
    static const uint8_t st[] = {16, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' '};
    static const uint8_t gguf_le[] = {'G', 'G', 'U', 'F', 3, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t gguf_be[] = {'G', 'G', 'U', 'F', 0, 0, 0, 3, 0, 0, 0, 0};
    static const uint8_t bin[] = {1, 2, 3, 0, 5, 6, 7, 8, 9, 10};
    ck_assert_int_eq(kind_of("", 0), SQ_FILE_EMPTY);
    ck_assert_int_eq(kind_of("\x93NUMPY\x01\x00", 8), SQ_FILE_NPY);
    ck_assert_int_eq(kind_of("PK\x03\x04\x14\x00", 6), SQ_FILE_ZIP);
    ck_assert_int_eq(kind_of("PK\x05\x06", 4), SQ_FILE_ZIP);
    ck_assert_int_eq(kind_of(st, sizeof st), SQ_FILE_SAFETENSORS);
    ck_assert_int_eq(kind_of(gguf_le, sizeof gguf_le), SQ_FILE_GGUF);
    ck_assert_int_eq(kind_of(gguf_be, sizeof gguf_be), SQ_FILE_GGUF_BE);
    ck_assert_int_eq(kind_of(bin, sizeof bin), SQ_FILE_UNKNOWN);
    const char *idx = " {\"metadata\": {}, \"weight_map\": {\"a\": \"m-1.safetensors\"}}";
    ck_assert_int_eq(kind_of(idx, strlen(idx)), SQ_FILE_SHARD_INDEX);
    ck_assert_int_eq(kind_of("{\"a\": 1}\n", 9), SQ_FILE_TEXT);
    /* text with '{' at byte 8 is still text, not a safetensors header */
    ck_assert_int_eq(kind_of("abcdefgh{xyz}\n", 14), SQ_FILE_TEXT);
}
END_TEST

START_TEST(test_sniff_files)
{
    static const struct {
        const char *path;
        sq_file_kind kind;
    } c[] = {
        {SQ_TEST_DATA "/npy/f4_le_c.npy", SQ_FILE_NPY},     {KINDS "text.npy", SQ_FILE_TEXT},
        {KINDS "arrays.npz", SQ_FILE_ZIP},                   {KINDS "big_endian.gguf", SQ_FILE_GGUF_BE},
        {KINDS "unknown.bin", SQ_FILE_UNKNOWN},              {SQ_TEST_DATA "/good.gguf", SQ_FILE_GGUF},
        {SQ_TEST_DATA "/good.safetensors", SQ_FILE_SAFETENSORS},
        {SHARD "model.safetensors.index.json", SQ_FILE_SHARD_INDEX},
        {SHARD "bad_no_map.index.json", SQ_FILE_SHARD_INDEX}, /* by its name */
        {SQ_TEST_DATA "/bad/npy_empty.npy", SQ_FILE_EMPTY},  {SHARD, SQ_FILE_DIRECTORY},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        sq_file_kind k;
        sq_error err;
        ck_assert_msg(sq_sniff_file(c[i].path, &k, &err) == SQ_OK, "%s", err.msg);
        ck_assert_msg(k == c[i].kind, "%s: kind %d (%s), wanted %d", c[i].path, k, sq_file_kind_name(k), c[i].kind);
    }
    sq_file_kind k;
    sq_error err;
    ck_assert_int_eq(sq_sniff_file(KINDS "no-such-file", &k, &err), SQ_ERR_IO);
    ck_assert_msg(strstr(err.msg, "no-such-file") && strstr(err.msg, "No such file"), "%s", err.msg);
}
END_TEST

/* sq_ckpt_open on path fails with status st and a message holding the
 * file's name and want, and not the old misleading header-length text. */
static void refused(const char *path, sq_status st, const char *want)
{
    sq_checkpoint *ck = (sq_checkpoint *)1;
    sq_error err;
    ck_assert_int_eq(sq_ckpt_open(path, &ck, &err), st);
    ck_assert_ptr_null(ck);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, want), "%s: '%s' lacks '%s'", path, err.msg, want);
    ck_assert_msg(!strstr(err.msg, "header length"), "%s", err.msg);
}

START_TEST(test_checkpoint_refusals)
{
    refused(SQ_TEST_DATA "/npy/f4_le_c.npy", SQ_ERR_UNSUPPORTED, "this is a .npy array: use info or --view");
    refused(KINDS "text.npy", SQ_ERR_FORMAT, "not a .npy file: no \\x93NUMPY magic");
    refused(KINDS "arrays.npz", SQ_ERR_UNSUPPORTED, ".npz archives are not read: unzip them");
    refused(KINDS "big_endian.gguf", SQ_ERR_UNSUPPORTED, "big-endian GGUF is not supported");
    refused(KINDS "unknown.bin", SQ_ERR_FORMAT, "unrecognised format");
    refused(SQ_TEST_DATA "/bad/npy_empty.npy", SQ_ERR_FORMAT, "the file is empty");
    refused(KINDS "missing.safetensors", SQ_ERR_IO, "No such file");
    /* an unrecognised binary named .safetensors still gets the reader's own diagnosis */
    refused(SQ_TEST_DATA "/bad/st_not_object.safetensors", SQ_ERR_FORMAT, "not a JSON object");
}
END_TEST

START_TEST(test_load_tensor_file_kinds)
{
    sq_tensor *t = NULL;
    sq_error err;
    ck_assert_msg(sq_load_tensor_file(SQ_TEST_DATA "/npy/f4_le_c.npy", NULL, &t, &err) == SQ_OK, "%s", err.msg);
    ck_assert_uint_eq(t->numel, 24);
    sq_tensor_free(t);
    ck_assert_int_eq(sq_load_tensor_file(KINDS "text.npy", NULL, &t, &err), SQ_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "text.npy: not a .npy file: no \\x93NUMPY magic (the file is text)"), "%s", err.msg);
    ck_assert_int_eq(sq_load_tensor_file(KINDS "arrays.npz", "a", &t, &err), SQ_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(err.msg, "arrays.npz: .npz archives are not read: unzip them"), "%s", err.msg);
    ck_assert_int_eq(sq_load_tensor_file(KINDS "unknown.bin", NULL, &t, &err), SQ_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "not .npy, safetensors or GGUF"), "%s", err.msg);
    ck_assert_msg(sq_load_tensor_file(SHARD "model.safetensors.index.json", "t2", &t, &err) == SQ_OK, "%s", err.msg);
    ck_assert(t->ndim == 2 && t->shape[0] == 3 && t->shape[1] == 2);
    for (size_t i = 0; i < 6; i++)
        ck_assert(t->data[i] == 20.0f + 0.5f * (float)i);
    sq_tensor_free(t);
}
END_TEST

static sq_checkpoint *open_ok(const char *path)
{
    sq_checkpoint *ck = NULL;
    sq_error err;
    ck_assert_msg(sq_ckpt_open(path, &ck, &err) == SQ_OK, "%s", err.msg);
    return ck;
}

/* Every tensor of a and b: same name, type, shape, size and float values. */
static void same_tensors(const sq_checkpoint *a, const sq_checkpoint *b)
{
    ck_assert_uint_eq(sq_ckpt_count(a), sq_ckpt_count(b));
    for (size_t i = 0; i < sq_ckpt_count(a); i++) {
        const sq_tinfo *x = sq_ckpt_info(a, i), *y = sq_ckpt_info(b, i);
        ck_assert_str_eq(x->name, y->name);
        ck_assert_str_eq(x->type_name, y->type_name);
        ck_assert_int_eq(x->ndim, y->ndim);
        ck_assert(memcmp(x->shape, y->shape, sizeof x->shape) == 0 && x->nbytes == y->nbytes);
        sq_tensor *p, *q;
        sq_error err;
        ck_assert_msg(sq_ckpt_load(a, i, &p, &err) == SQ_OK, "%s", err.msg);
        ck_assert_msg(sq_ckpt_load(b, i, &q, &err) == SQ_OK, "%s", err.msg);
        ck_assert(p->numel == q->numel && memcmp(p->data, q->data, p->numel * sizeof *p->data) == 0);
        for (size_t j = 0; j < p->numel; j++)
            ck_assert(p->data[j] == 10.0f * (float)i + 0.5f * (float)j);
        sq_tensor_free(p);
        sq_tensor_free(q);
    }
}

START_TEST(test_sharded_reads_as_unsharded)
{
    sq_checkpoint *whole = open_ok(SHARD "whole.safetensors");
    sq_checkpoint *sh = open_ok(SHARD "model.safetensors.index.json");
    sq_checkpoint *dir = open_ok(SQ_TEST_DATA "/shard");
    ck_assert_uint_eq(sq_ckpt_count(sh), 4);
    ck_assert_int_eq(sq_ckpt_get_format(sh), SQ_CKPT_SAFETENSORS);
    ck_assert_uint_eq(sq_ckpt_shard_count(whole), 0);
    ck_assert_uint_eq(sq_ckpt_shard_count(sh), 2);
    ck_assert_str_eq(sq_ckpt_shard_file(sh, 1), SHARD "model-00002-of-00002.safetensors");
    ck_assert_ptr_null(sq_ckpt_shard_file(sh, 2));
    same_tensors(whole, sh);
    same_tensors(whole, dir);
    size_t i;
    sq_error err;
    ck_assert(sq_ckpt_find(sh, "t3", &i, &err) == SQ_OK && i == 3);
    ck_assert_int_eq(sq_ckpt_find(sh, "t9", &i, &err), SQ_ERR_NOTFOUND);
    ck_assert_msg(strstr(err.msg, "model.safetensors.index.json: no tensor named 't9'"), "%s", err.msg);
    const char *k, *ty, *v;
    ck_assert_uint_eq(sq_ckpt_metadata_count(sh), 2);
    ck_assert(sq_ckpt_metadata(sh, 0, &k, &ty, &v));
    ck_assert(strcmp(k, "total_size") == 0 && strcmp(ty, "json") == 0 && strcmp(v, "84") == 0);
    ck_assert(sq_ckpt_metadata(sh, 1, &k, &ty, &v));
    ck_assert(strcmp(k, "format") == 0 && strcmp(ty, "string") == 0 && strcmp(v, "pt") == 0);
    ck_assert(!sq_ckpt_metadata(sh, 2, &k, &ty, &v));
    ck_assert(!sq_ckpt_has_qtensor(sh, "t0"));
    sq_shards *shards;
    size_t local = 9;
    ck_assert(sq_shards_open(SHARD "model.safetensors.index.json", &shards, &err) == SQ_OK);
    const sq_safetensors *f = sq_shards_tensor_file(shards, 3, &local);
    ck_assert(f && local == 1 && strcmp(sq_st_info(f, local)->name, "t3") == 0);
    ck_assert_ptr_null(sq_shards_tensor_file(shards, 4, &local));
    sq_shards_close(shards);
    sq_qtensor *q;
    ck_assert_int_eq(sq_ckpt_load_qtensor(sh, "t0", &q, &err), SQ_ERR_NOTFOUND);
    sq_ckpt_close(whole);
    sq_ckpt_close(sh);
    sq_ckpt_close(dir);
}
END_TEST

START_TEST(test_shard_errors)
{
    refused(SHARD "bad_missing_shard.index.json", SQ_ERR_IO, "shard 'model-00003-of-00003.safetensors'");
    refused(SHARD "bad_missing_shard.index.json", SQ_ERR_IO, "No such file");
    refused(SHARD "bad_missing_tensor.index.json", SQ_ERR_FORMAT,
            "tensor 'zz' is not in shard 'model-00002-of-00002.safetensors'");
    refused(SHARD "bad_no_map.index.json", SQ_ERR_FORMAT, "no \"weight_map\" object");
    /* a directory with several checkpoints and no index is ambiguous */
    refused(SQ_TEST_DATA "/kinds", SQ_ERR_ARG, "name the file to open");
}
END_TEST

/* Escape src into a buffer of size n; check the text and returned length. */
static void esc(const char *src, size_t n, const char *want, size_t want_len)
{
    char buf[128];
    size_t got = sq_escape_text(buf, n, src);
    ck_assert_uint_eq(got, want_len);
    ck_assert_str_eq(buf, want);
}

START_TEST(test_escape_text)
{
    esc("plain name.weight", 128, "plain name.weight", 17);
    esc("a\x1b[31mb", 128, "a\\x1b[31mb", 10);
    esc("l1\nl2\tx\ry\\z", 128, "l1\\nl2\\tx\\ry\\\\z", 15);
    esc("del\x7f", 128, "del\\x7f", 7);
    esc("csi\xc2\x9b", 128, "csi\\u009b", 9);        /* C1 control U+009B */
    esc("caf\xc3\xa9 \xe2\x82\xac", 128, "caf\xc3\xa9 \xe2\x82\xac", 9); /* valid UTF-8 kept */
    esc("bad\xff\xc0\x80", 128, "bad\\xff\\xc0\\x80", 15); /* invalid and overlong */
    esc("sur\xed\xa0\x80", 128, "sur\\xed\\xa0\\x80", 15); /* a surrogate is not UTF-8 */
    esc("trunc\xe2\x82", 128, "trunc\\xe2\\x82", 13);
    esc("a\x1b" "b", 5, "a", 6);  /* cut before an escape that does not fit */
    esc("abcdef", 4, "abc", 6);
    ck_assert_uint_eq(sq_escape_text(NULL, 0, "\x01"), 4);
    char *d = sq_escape_dup("x\x07y");
    ck_assert_str_eq(d, "x\\x07y");
    free(d);
}
END_TEST

/* Write a .npy header for a float32 vector of n elements into a new file in
 * dir; the data (zeros) is made by extending the file, which stays sparse. */
static void sparse_npy(const char *path, size_t n, size_t data_bytes)
{
    char dict[128], hdr[128];
    int dl = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu,), }", n);
    size_t total = ((size_t)dl + 11 + 63) / 64 * 64, hlen = total - 10;
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = (char)(hlen & 0xFF);
    hdr[9] = (char)(hlen >> 8);
    memcpy(hdr + 10, dict, (size_t)dl);
    memset(hdr + 10 + dl, ' ', hlen - (size_t)dl - 1);
    hdr[total - 1] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert(write(fd, hdr, total) == (ssize_t)total);
    ck_assert_int_eq(ftruncate(fd, (off_t)(total + data_bytes)), 0);
    close(fd);
}

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

START_TEST(test_npy_probe_header_only)
{
    sq_npy_info info;
    sq_error err;
    /* the data part is short: the probe still gives the shape */
    ck_assert_msg(sq_npy_probe(SQ_TEST_DATA "/bad/npy_truncated_data.npy", &info, &err) == SQ_OK, "%s", err.msg);
    ck_assert(info.ndim == 1 && info.shape[0] == 4 && info.numel == 4 && info.dtype == SQ_DTYPE_F32);
    ck_assert_uint_eq(info.data_present, 12);
    ck_assert_uint_eq(info.data_offset, 128);
    ck_assert_int_eq(sq_npy_check_data(&info, "x.npy", &err), SQ_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "x.npy: truncated data"), "%s", err.msg);
    ck_assert_int_eq(sq_npy_probe(KINDS "text.npy", &info, &err), SQ_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "no \\x93NUMPY magic"), "%s", err.msg);
    /* 64 GB announced, none present: only the header can have been read */
    char dir[] = "/tmp/sq_sniff_XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/huge.npy", dir);
    sparse_npy(path, (size_t)1 << 34, 0);
    ck_assert_msg(sq_npy_probe(path, &info, &err) == SQ_OK, "%s", err.msg);
    ck_assert(info.numel == (size_t)1 << 34 && info.data_present == 0);
    /* 64 MB of zeros: streaming statistics stay far below the file's size */
    size_t n = (size_t)16 << 20;
    sparse_npy(path, n, n * 4);
    long before = maxrss_kb();
    sq_summary s;
    ck_assert_msg(sq_npy_summary(path, &info, &s, &err) == SQ_OK, "%s", err.msg);
    long grown = maxrss_kb() - before;
    ck_assert_msg(grown < 16 * 1024, "resident memory grew by %ld KB", grown);
    ck_assert(s.count == n && s.min == 0 && s.max == 0 && s.mean == 0 && s.std == 0 && s.n_nan == 0);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_npy_summary_matches_loaded)
{
    static const char *const files[] = {"f4_le_c.npy", "f8_be_f.npy", "i2_le_f.npy", "f2_be_c.npy", "f4_empty.npy",
                                        "f4_0d.npy"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        char path[512];
        sq_tensor *t;
        sq_summary a, b;
        sq_npy_info info;
        sq_error err;
        snprintf(path, sizeof path, "%s/npy/%s", SQ_TEST_DATA, files[k]);
        ck_assert_msg(sq_npy_read(path, &t, &err) == SQ_OK, "%s", err.msg);
        sq_tensor_summary(t, &a);
        ck_assert_msg(sq_npy_summary(path, &info, &b, &err) == SQ_OK, "%s", err.msg);
        ck_assert_uint_eq(a.count, b.count);
        ck_assert_msg(a.min == b.min || (isnan(a.min) && isnan(b.min)), "%s min", files[k]);
        ck_assert_msg(a.max == b.max || (isnan(a.max) && isnan(b.max)), "%s max", files[k]);
        ck_assert_msg(a.mean == b.mean || (isnan(a.mean) && isnan(b.mean)), "%s mean", files[k]);
        ck_assert_msg(a.std == b.std || (isnan(a.std) && isnan(b.std)), "%s std", files[k]);
        ck_assert_int_eq(info.ndim, t->ndim);
        sq_tensor_free(t);
    }
    sq_summary s;
    sq_npy_info info;
    sq_error err;
    ck_assert_int_eq(sq_npy_summary(SQ_TEST_DATA "/bad/npy_truncated_data.npy", &info, &s, &err), SQ_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "truncated data"), "%s", err.msg);
}
END_TEST

static Suite *sniff_suite(void)
{
    Suite *s = suite_create("sniff");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sniff_bytes);
    tcase_add_test(tc, test_sniff_files);
    tcase_add_test(tc, test_checkpoint_refusals);
    tcase_add_test(tc, test_load_tensor_file_kinds);
    tcase_add_test(tc, test_sharded_reads_as_unsharded);
    tcase_add_test(tc, test_shard_errors);
    tcase_add_test(tc, test_escape_text);
    tcase_add_test(tc, test_npy_probe_header_only);
    tcase_add_test(tc, test_npy_summary_matches_loaded);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(sniff_suite)
