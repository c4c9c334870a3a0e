/* fileio.c - read-only file mappings and atomic (temp + fsync + rename) writes. */
/* madvise(MADV_DONTNEED) is not POSIX; ask glibc for it (Linux drops the pages). */
#define _DEFAULT_SOURCE 1

#include "fileio.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

sq_status sq_map_file(const char *path, sq_mapped *m, sq_error *err)
{
    struct stat sb;
    m->data = NULL;
    m->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sq_fail(err, SQ_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return sq_fail(err, SQ_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return sq_fail(err, SQ_ERR_IO, "%s: not a regular file", path);
    }
    if ((uintmax_t)sb.st_size > (uintmax_t)SIZE_MAX) {
        close(fd);
        return sq_fail(err, SQ_ERR_OVERFLOW, "%s: file too large to map", path);
    }
    if (sb.st_size == 0) {
        close(fd);
        return SQ_OK;
    }
    void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return sq_fail(err, SQ_ERR_IO, "%s: cannot map: %s", path, strerror(e));
    m->data = p;
    m->size = (size_t)sb.st_size;
    return SQ_OK;
}

void sq_unmap_file(sq_mapped *m)
{
    if (m->data && m->size)
        munmap((void *)m->data, m->size);
    m->data = NULL;
    m->size = 0;
}

/* The page-aligned span of bytes [off, off+len) of m (clipped to the map):
 * every page it touches (outward), or only whole pages inside it (inward).
 * Returns false when that span is empty. */
static bool page_span(const sq_mapped *m, size_t off, size_t len, bool outward, uintptr_t *start, uintptr_t *end)
{
    if (!m->data || off >= m->size)
        return false;
    if (len > m->size - off)
        len = m->size - off;
    long pg = sysconf(_SC_PAGESIZE);
    size_t page = pg > 0 ? (size_t)pg : 4096;
    uintptr_t a = (uintptr_t)(m->data + off), b = a + len;
    *start = outward ? a / page * page : (a + page - 1) / page * page;
    *end = outward ? b : b / page * page;
    return *end > *start;
}

void sq_mapped_prefetch(const sq_mapped *m, size_t off, size_t len)
{
    uintptr_t start, end;
    if (page_span(m, off, len, true, &start, &end))
        posix_madvise((void *)start, end - start, POSIX_MADV_WILLNEED);
}

void sq_mapped_release(const sq_mapped *m, size_t off, size_t len)
{
    uintptr_t start, end;
    /* only whole pages inside the range: neighbours may still be in use */
    if (!page_span(m, off, len, false, &start, &end))
        return;
#ifdef MADV_DONTNEED
    madvise((void *)start, end - start, MADV_DONTNEED);
#else
    posix_madvise((void *)start, end - start, POSIX_MADV_DONTNEED);
#endif
}

struct sq_afile {
    FILE *fp;
    char *path;
    char *tmp;
};

sq_status sq_afile_open(const char *path, sq_afile **out, sq_error *err)
{
    *out = NULL;
    sq_afile *f = calloc(1, sizeof *f);
    size_t n = strlen(path);
    if (!f)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    f->path = malloc(n + 1);
    f->tmp = malloc(n + sizeof ".tmp.XXXXXX");
    if (!f->path || !f->tmp) {
        free(f->path);
        free(f->tmp);
        free(f);
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(f->path, path, n + 1);
    memcpy(f->tmp, path, n);
    memcpy(f->tmp + n, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    int fd = mkstemp(f->tmp);
    if (fd < 0) {
        int e = errno;
        free(f->path);
        free(f->tmp);
        free(f);
        return sq_fail(err, SQ_ERR_IO, "%s: cannot create: %s", path, strerror(e));
    }
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        int e = errno;
        close(fd);
        unlink(f->tmp);
        free(f->path);
        free(f->tmp);
        free(f);
        return sq_fail(err, SQ_ERR_IO, "%s: cannot create: %s", path, strerror(e));
    }
    *out = f;
    return SQ_OK;
}

sq_status sq_afile_write(sq_afile *f, const void *buf, size_t n, sq_error *err)
{
    if (n && fwrite(buf, 1, n, f->fp) != n)
        return sq_fail(err, SQ_ERR_IO, "%s: write failed: %s", f->path, strerror(errno));
    return SQ_OK;
}

sq_status sq_afile_seek(sq_afile *f, uint64_t off, sq_error *err)
{
    if (off > (uint64_t)INT64_MAX || fseeko(f->fp, (off_t)off, SEEK_SET) != 0)
        return sq_fail(err, SQ_ERR_IO, "%s: seek failed: %s", f->path, strerror(errno));
    return SQ_OK;
}

/* Close and delete the temporary file, free f. */
static void afile_discard(sq_afile *f)
{
    if (f->fp)
        fclose(f->fp);
    unlink(f->tmp);
    free(f->path);
    free(f->tmp);
    free(f);
}

sq_status sq_afile_commit(sq_afile *f, sq_error *err)
{
    const char *what = NULL;
    int e = 0;
    if (fflush(f->fp) != 0)
        what = "write failed";
    else if (fsync(fileno(f->fp)) != 0)
        what = "fsync failed";
    if (what) {
        e = errno;
    } else {
        int rc = fclose(f->fp);
        f->fp = NULL;
        if (rc != 0) {
            e = errno;
            what = "close failed";
        } else if (rename(f->tmp, f->path) != 0) {
            e = errno;
            what = "cannot rename temporary file over it";
        }
    }
    if (what) {
        sq_status st = sq_fail(err, SQ_ERR_IO, "%s: %s: %s", f->path, what, strerror(e));
        afile_discard(f);
        return st;
    }
    free(f->path);
    free(f->tmp);
    free(f);
    return SQ_OK;
}

void sq_afile_abort(sq_afile *f)
{
    if (f)
        afile_discard(f);
}

sq_status sq_write_file_atomic(const char *path, const void *data, size_t len, sq_error *err)
{
    sq_afile *f;
    sq_status st = sq_afile_open(path, &f, err);
    if (st != SQ_OK)
        return st;
    if ((st = sq_afile_write(f, data, len, err)) != SQ_OK) {
        sq_afile_abort(f);
        return st;
    }
    return sq_afile_commit(f, err);
}
