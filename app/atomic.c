/* atomic.c - write a whole file atomically: temp file, fsync, rename. */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fill errbuf with "path: what: strerror(e)" (what may be NULL); returns -1. */
static int atomic_fail(char *errbuf, size_t errlen, const char *path, const char *what, int e)
{
    if (errbuf && errlen)
        snprintf(errbuf, errlen, "%s: %s%s%s", path, what ? what : "", what ? ": " : "", strerror(e));
    return -1;
}

/* Write all of data to fd, retrying on short writes and EINTR. */
static int atomic_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fsync the directory holding path so that the rename itself is durable;
 * failures are ignored (some file systems refuse fsync on directories). */
static void atomic_sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

int sq_atomic_write(const char *path, const void *data, size_t len, char *errbuf, size_t errlen)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof ".tmp.XXXXXX");
    if (!tmp)
        return atomic_fail(errbuf, errlen, path, NULL, ENOMEM);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return atomic_fail(errbuf, errlen, path, NULL, e);
    }
    const char *step = NULL;
    if (fchmod(fd, 0644) != 0)
        step = "chmod";
    else if (atomic_write_all(fd, data, len) != 0)
        step = "write";
    else if (fsync(fd) != 0)
        step = "fsync";
    int e = errno;
    if (close(fd) != 0 && !step) {
        step = "close";
        e = errno;
    }
    if (!step && rename(tmp, path) != 0) {
        step = "rename";
        e = errno;
    }
    if (step) {
        unlink(tmp);
        free(tmp);
        return atomic_fail(errbuf, errlen, path, step, e);
    }
    free(tmp);
    atomic_sync_dir(path);
    return 0;
}
