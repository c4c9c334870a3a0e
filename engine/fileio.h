/*
 * fileio.h - reading files through a read-only mapping and writing them
 * atomically.
 *
 *     sq_mapped m;
 *     if (sq_map_file("model.safetensors", &m, &err) != SQ_OK) ...;
 *     ... m.data[0 .. m.size) ...          // read-only, never modified
 *     sq_unmap_file(&m);
 *
 *     sq_afile *f;
 *     if (sq_afile_open("out.npy", &f, &err) != SQ_OK) ...;
 *     if (sq_afile_write(f, buf, n, &err) != SQ_OK) { sq_afile_abort(f); ... }
 *     if (sq_afile_commit(f, &err) != SQ_OK) ...;   // frees f either way
 *
 * An atomic write goes to a temporary file in the target's directory, is
 * flushed and fsync'ed, then renamed over the target: on any failure the
 * previous file (if any) is left intact and the temporary file is removed.
 * Error messages name the path and the operating system's reason
 * (strerror(errno)).
 */
#ifndef SQ_FILEIO_H
#define SQ_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* A whole file mapped read-only (PROT_READ, MAP_PRIVATE). An empty file has
 * data == NULL and size 0. */
typedef struct sq_mapped {
    const uint8_t *data;
    size_t size;
} sq_mapped;

/* Map path read-only. The file is opened O_RDONLY and never written. On
 * failure *m is {NULL, 0}. Errors: IO (open/fstat/mmap failed, not a regular
 * file), OVERFLOW (file larger than the address space). Release with
 * sq_unmap_file. */
sq_status sq_map_file(const char *path, sq_mapped *m, sq_error *err);

/* Unmap m (no-op for an empty or already released mapping) and reset it. */
void sq_unmap_file(sq_mapped *m);

/* Ask the kernel to start reading bytes [off, off+len) of m now (one large
 * read-ahead instead of a page fault per page). Never fails. */
void sq_mapped_prefetch(const sq_mapped *m, size_t off, size_t len);

/* Tell the kernel that bytes [off, off+len) of m are no longer needed, so
 * their pages stop counting toward resident memory (they are re-read from
 * the file if touched again). Never fails; out-of-range parts are ignored. */
void sq_mapped_release(const sq_mapped *m, size_t off, size_t len);

/* An atomic output file in progress (opaque). */
typedef struct sq_afile sq_afile;

/* Create a temporary file next to path (same directory, mode 0644 subject to
 * the umask). On success *out is a handle that must be finished with
 * sq_afile_commit or sq_afile_abort. Errors: IO naming path and errno text,
 * NOMEM. */
sq_status sq_afile_open(const char *path, sq_afile **out, sq_error *err);

/* Append n bytes. Errors: IO naming the target path (e.g. "No space left on
 * device"). After a failure the caller still calls sq_afile_abort. */
sq_status sq_afile_write(sq_afile *f, const void *buf, size_t n, sq_error *err);

/* Move the write position to byte off (to fill in a header reserved at the
 * start, say). Errors: IO naming the target path. */
sq_status sq_afile_seek(sq_afile *f, uint64_t off, sq_error *err);

/* Flush, fsync and rename the temporary file over the target, then free f.
 * On failure the temporary file is removed, the target is untouched and f
 * is freed as well. */
sq_status sq_afile_commit(sq_afile *f, sq_error *err);

/* Discard the temporary file and free f. sq_afile_abort(NULL) is a no-op. */
void sq_afile_abort(sq_afile *f);

/* Replace path's contents with len bytes of data atomically (sq_afile_open,
 * write, commit). On failure path is untouched and err names path and the
 * system's reason. */
sq_status sq_write_file_atomic(const char *path, const void *data, size_t len, sq_error *err);

#endif
