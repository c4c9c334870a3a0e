/*
 * fileio.h - reading files through a read-only mapping, writing them
 * atomically, and the checks that keep an output from destroying an input.
 *
 *     sq_mapped m;
 *     if (sq_map_file("model.safetensors", &m, &err) != SQ_OK) ...;
 *     ... m.data[0 .. m.size) ...          // read-only, never modified
 *     if (sq_mapped_check(&m, &err) != SQ_OK) ...;   // the file shrank meanwhile
 *     sq_unmap_file(&m);
 *
 *     const char *in[] = {"model.safetensors"};
 *     if (sq_output_check("q.safetensors", in, 1, ".safetensors", false, &err) != SQ_OK) ...;
 *     sq_afile *f;
 *     if (sq_afile_open("out.npy", &f, &err) != SQ_OK) ...;
 *     if (sq_afile_write(f, buf, n, &err) != SQ_OK) { sq_afile_abort(f); ... }
 *     if (sq_afile_commit(f, &err) != SQ_OK) ...;   // frees f either way
 *
 * Writing. The target path is resolved first: a chain of symbolic links is
 * followed to the file it names (the links stay links; a dangling link's
 * target is created). Then:
 *   - a regular file, or nothing yet: the data goes to a temporary file
 *     "FINAL.tmp.XXXXXX" in the final file's directory, is flushed and
 *     fsync'ed, then renamed over the final file. On any failure the previous
 *     file (if any) is left intact and the temporary file is removed. A
 *     replaced file keeps its permission bits (and, when the process may,
 *     its owner and group); a new one gets 0666 minus the umask. Replacing
 *     breaks a hard link: the other names keep the old contents.
 *   - a character device or a FIFO: written directly (opened O_WRONLY, never
 *     truncated, renamed over or fsync'ed). A FIFO's open waits for a reader.
 *   - "-" with SQ_AFILE_DASH_STDOUT: standard output, written directly.
 *   - a link under /proc or /dev/fd that stands for an open descriptor
 *     (/dev/stdout -> /proc/self/fd/1): written directly, appending, whatever
 *     the descriptor is (a file, a pipe, a terminal); never renamed over.
 *   - a directory, a block device or a socket: refused.
 * Direct writes hold SIGPIPE blocked while they run, so a reader that went
 * away gives an error ("Broken pipe") instead of killing the process.
 *
 * Signals. While a temporary file exists its path is in a fixed-size,
 * async-signal-safe registry, and fileio's handler is installed for SIGINT,
 * SIGTERM and SIGHUP (the previous dispositions are saved when the first
 * temporary file is created and restored when the last one is gone; callers
 * should not change these dispositions in between). The handler unlinks every
 * registered temporary file, then passes the signal on: with SIG_DFL before,
 * the default action runs (the process ends by the signal, status 128 + N);
 * with a handler before, that handler runs and the interrupted write then
 * fails with SQ_ERR_INTERRUPTED leaving the target untouched; with SIG_IGN
 * before, nothing is done. A signal that arrives once the rename is under
 * way is handled after it, with the target replaced.
 *
 * Test hook: when the environment variable SQUINT_TEST_SLOW_WRITE holds a
 * number N > 0, sq_afile_commit pauses N seconds (less when a signal
 * arrives) with the complete temporary file in place, before fsync and
 * rename, so tests can deliver a signal at that point.
 *
 * Mappings that shrink. Reading a page of a mapping that lies past the
 * file's end (another program truncated it) raises SIGBUS, which would kill
 * the process. Every live mapping is therefore kept in a fixed-size registry,
 * and fileio installs a SIGBUS handler while any mapping exists (the previous
 * disposition is restored when the last one is unmapped). When the faulting
 * address lies in a registered mapping, the handler replaces the mapping from
 * the faulting page to its end with anonymous zero pages (mmap MAP_FIXED: a
 * system call, safe in the handler on Linux), marks that mapping as damaged
 * and returns: the read resumes and sees zeros, nothing crashes. The reader
 * learns about it from sq_mapped_check (per mapping) or sq_mapped_faults
 * (process-wide) and reports an error instead of results. This needs no jump
 * out of the interrupted code (no siglongjmp over library frames), so it is
 * safe wherever the mapped bytes are read (valgrind resumes such faults
 * imprecisely; native runs and ASan are exact). sq_mapped_read is the one
 * exception: it copies under sigsetjmp, and the handler jumps straight out of
 * its memcpy. SIGBUS at any other address goes to the previous handler (or
 * the default action). When
 * the registry is full (more than 256 mappings at once) a mapping still
 * works but is not protected.
 *
 * Reading. sq_map_file opens with O_NONBLOCK, so a FIFO is refused ("not a
 * regular file") instead of waiting for a writer; sq_input_check does the same
 * for a path before any other code opens it.
 *
 * Error messages name the path and the operating system's reason
 * (strerror(errno)). The registries are safe for signals arriving in the
 * thread that updates them; registration itself is serialised by a mutex.
 */
#ifndef SQ_FILEIO_H
#define SQ_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* A whole file mapped read-only (PROT_READ, MAP_PRIVATE). An empty file has
 * data == NULL and size 0. */
typedef struct sq_mapped {
    const uint8_t *data;
    size_t size;
} sq_mapped;

/* Map path read-only. The file is opened O_RDONLY | O_NONBLOCK and never
 * written. On failure *m is {NULL, 0}. Errors: IO (open/fstat/mmap failed,
 * not a regular file, e.g. a FIFO), OVERFLOW (file larger than the address
 * space). Release with sq_unmap_file. The mapping is protected against the
 * file shrinking (see above). */
sq_status sq_map_file(const char *path, sq_mapped *m, sq_error *err);

/* Unmap m (no-op for an empty or already released mapping) and reset it. */
void sq_unmap_file(sq_mapped *m);

/* SQ_OK while every byte read from m so far was the file's; IO ("PATH: the
 * file shrank while it was being read ...") once a read of m hit a page past
 * the file's end (that read saw zeros). Sticky until m is unmapped. */
sq_status sq_mapped_check(const sq_mapped *m, sq_error *err);

/* Copy bytes [off, off+n) of m to dst, then sq_mapped_check. Errors: ARG
 * (range outside the mapping), IO (the file shrank: dst is all zeros when
 * this copy hit the missing part). */
sq_status sq_mapped_read(const sq_mapped *m, size_t off, void *dst, size_t n, sq_error *err);

/* Number of reads of registered mappings, process-wide since start, that hit
 * a page past the end of a file that shrank. Never fails. */
size_t sq_mapped_faults(void);

/* Ask the kernel to start reading bytes [off, off+len) of m now (one large
 * read-ahead instead of a page fault per page): one madvise WILLNEED call,
 * of which Linux queues at most its read-ahead window (see below); the rest
 * is read as it is touched. For the data about to be read in this thread.
 * Never fails. */
void sq_mapped_prefetch(const sq_mapped *m, size_t off, size_t len);

/* The same for the whole range, for a reader working ahead in another
 * thread: madvise WILLNEED in steps of what Linux queues per call (it drops
 * the rest of a longer range): the larger of the device's read-ahead window
 * and largest request, read from sysfs when m was mapped; 128 KB, Linux's
 * default window, when unknown. Returns once the reads are queued, without
 * waiting for them (queueing can still take a few ms for tens of MB). Never
 * fails. */
void sq_mapped_prefetch_all(const sq_mapped *m, size_t off, size_t len);

/* Tell the kernel that bytes [off, off+len) of m are no longer needed, so
 * their pages stop counting toward resident memory (they are re-read from
 * the file if touched again). Never fails; out-of-range parts are ignored. */
void sq_mapped_release(const sq_mapped *m, size_t off, size_t len);

/* SQ_OK when path is a regular file (after symbolic links) or cannot be
 * inspected at all (the caller's open then reports why); IO "PATH: not a
 * regular file (a FIFO)" and the like otherwise. Opens nothing, so it never
 * blocks. */
sq_status sq_input_check(const char *path, sq_error *err);

/* Check an output path before any work is done:
 *   - "-" is accepted when allow_stdout (it means standard output), refused
 *     otherwise (ARG);
 *   - the output must not be the same file (device and inode, through
 *     symbolic and hard links) as any of inputs[0..n_inputs) (ARG, naming
 *     both); inputs that cannot be stat'ed are skipped;
 *   - a directory, block device or socket is refused (IO);
 *   - the final file's directory (after symbolic links) must exist and be
 *     writable (IO);
 *   - when want_ext is not NULL (".csv", ".json", ".safetensors", ".npy",
 *     ".gguf") and the target is not an existing character device or FIFO,
 *     the name must end with it, in any case (ARG: "out.npy: this output is
 *     safetensors; name it .safetensors").
 * Creates nothing. Errors as listed; NOMEM. */
sq_status sq_output_check(const char *out, const char *const *inputs, size_t n_inputs, const char *want_ext,
                          bool allow_stdout, sq_error *err);

/* An atomic output file in progress (opaque). */
typedef struct sq_afile sq_afile;

/* sq_afile_open_flags: "-" means standard output. */
#define SQ_AFILE_DASH_STDOUT 1u
/* The caller will seek (sq_afile_seek): a direct target (standard output, a
 * device, a FIFO) is then written through an unlinked spool file in $TMPDIR,
 * copied to it at commit. */
#define SQ_AFILE_SEEKABLE 2u

/* Start writing path as described above. On success *out is a handle that
 * must be finished with sq_afile_commit or sq_afile_abort. Errors: IO naming
 * path and errno text (directory missing or not writable, target a directory,
 * block device or socket, too many symbolic links), NOMEM, ARG (more than 64
 * temporary files at once). */
sq_status sq_afile_open_flags(const char *path, unsigned flags, sq_afile **out, sq_error *err);

/* sq_afile_open_flags(path, 0, out, err): "-" is a file named "-". */
sq_status sq_afile_open(const char *path, sq_afile **out, sq_error *err);

/* Append n bytes. Errors: IO naming the target path (e.g. "No space left on
 * device", "Broken pipe"), INTERRUPTED (a signal removed the temporary
 * file). After a failure the caller still calls sq_afile_abort. */
sq_status sq_afile_write(sq_afile *f, const void *buf, size_t n, sq_error *err);

/* Move the write position to byte off (to fill in a header reserved at the
 * start, say); pending bytes are written first. Errors: ARG for a direct
 * target opened without SQ_AFILE_SEEKABLE (standard output, a device, a
 * FIFO: nothing can be rewritten
 * there), IO naming the target path. */
sq_status sq_afile_seek(sq_afile *f, uint64_t off, sq_error *err);

/* Flush, fsync and rename the temporary file over the target (direct
 * targets: flush and close), then free f. On failure the temporary file is
 * removed, the target is untouched and f is freed as well. Errors: IO,
 * INTERRUPTED ("PATH: interrupted; left unchanged"). */
sq_status sq_afile_commit(sq_afile *f, sq_error *err);

/* Discard the temporary file and free f. sq_afile_abort(NULL) is a no-op. */
void sq_afile_abort(sq_afile *f);

/* Replace path's contents with len bytes of data atomically (sq_afile_open,
 * write, commit). On failure path is untouched and err names path and the
 * system's reason. */
sq_status sq_write_file_atomic(const char *path, const void *data, size_t len, sq_error *err);

#endif
