/* atomic.h - replace a file's contents atomically (app-level helper).
 *
 * The data goes to a temporary file in the same directory as path, which is
 * flushed and fsync'ed, then renamed over path: a reader sees the old file or
 * the new one, never a partial write. (An engine-level equivalent is being
 * written separately; the two are to be unified.) */
#ifndef SQ_APP_ATOMIC_H
#define SQ_APP_ATOMIC_H

#include <stddef.h>

/* Write len bytes of data to path atomically. Returns 0 on success; on
 * failure returns -1, removes the temporary file, leaves path untouched and
 * writes "PATH: strerror" (naming the step when useful) into errbuf. */
int sq_atomic_write(const char *path, const void *data, size_t len, char *errbuf, size_t errlen);

#endif
