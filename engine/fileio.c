/* fileio.c - read-only file mappings protected against truncation, atomic
 * (temp + fsync + rename) writes that respect links, devices and signals, and
 * the output checks (see fileio.h for the design). */
/* madvise(MADV_DONTNEED), MAP_ANONYMOUS, lstat, readlink, sigtimedwait:
 * ask glibc for the POSIX and BSD interfaces. */
#define _DEFAULT_SOURCE 1

#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- registry of live mappings and the SIGBUS handler ------------------------------ */

#define MAP_SLOTS 256

typedef struct map_slot {
    _Atomic uintptr_t start;   /* 0: free */
    _Atomic uintptr_t end;     /* page-rounded end of the mapping */
    _Atomic int damaged;       /* a read hit a page past the file's end */
    _Atomic size_t ra_step;    /* bytes per WILLNEED call (sq_mapped_prefetch_all) */
    char *path;                /* for messages (not used by the handler) */
} map_slot;

static map_slot map_slots[MAP_SLOTS];
/* Set while sq_mapped_read copies in this thread: where a fault jumps to. */
static _Thread_local sigjmp_buf *volatile read_guard;
static size_t map_live;                 /* registered mappings (under reg_lock) */
static struct sigaction bus_old;        /* SIGBUS disposition before ours */
static _Atomic size_t bus_faults;

static size_t page_size(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    return pg > 0 ? (size_t)pg : 4096;
}

/* Pass a SIGBUS that is not ours to the previous disposition. */
static void bus_chain(int sig, siginfo_t *si, void *ctx)
{
    if ((bus_old.sa_flags & SA_SIGINFO) && bus_old.sa_sigaction) {
        bus_old.sa_sigaction(sig, si, ctx);
    } else if (!(bus_old.sa_flags & SA_SIGINFO) && bus_old.sa_handler != SIG_DFL &&
               bus_old.sa_handler != SIG_IGN) {
        bus_old.sa_handler(sig);
    } else {
        /* the default action: returning re-executes the access, which now kills */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(SIGBUS, &dfl, NULL);
    }
}

/* SIGBUS: a read past the end of a mapped file that shrank gets zero pages. */
static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
    uintptr_t a = (uintptr_t)si->si_addr;
    size_t page = page_size();
    for (size_t i = 0; i < MAP_SLOTS; i++) {
        uintptr_t s = atomic_load(&map_slots[i].start), e = atomic_load(&map_slots[i].end);
        if (!s || a < s || a >= e)
            continue;
        if (read_guard) { /* inside sq_mapped_read's copy: leave it */
            atomic_store(&map_slots[i].damaged, 1);
            atomic_fetch_add(&bus_faults, 1);
            siglongjmp(*read_guard, 1);
        }
        uintptr_t p = a / page * page;
        void *r = mmap((void *)p, e - p, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (r == MAP_FAILED)
            break;
        atomic_store(&map_slots[i].damaged, 1);
        atomic_fetch_add(&bus_faults, 1);
        return;
    }
    bus_chain(sig, si, ctx);
}

/* Register the mapping [data, data+size) of path (its WILLNEED step
 * ra_step); false when the registry is full (the mapping then works
 * unprotected). */
static bool map_register(const uint8_t *data, size_t size, const char *path, size_t ra_step)
{
    size_t page = page_size();
    char *copy = strdup(path);
    bool ok = false;
    pthread_mutex_lock(&reg_lock);
    for (size_t i = 0; i < MAP_SLOTS && !ok; i++) {
        if (atomic_load(&map_slots[i].start))
            continue;
        free(map_slots[i].path);
        map_slots[i].path = copy;
        atomic_store(&map_slots[i].damaged, 0);
        atomic_store(&map_slots[i].ra_step, ra_step);
        atomic_store(&map_slots[i].end, ((uintptr_t)data + size + page - 1) / page * page);
        atomic_store(&map_slots[i].start, (uintptr_t)data);
        ok = true;
    }
    if (ok && map_live++ == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGBUS, &sa, &bus_old);
    }
    pthread_mutex_unlock(&reg_lock);
    if (!ok)
        free(copy);
    return ok;
}

/* The registry slot of the mapping starting at data, or NULL. */
static map_slot *map_find(const uint8_t *data)
{
    if (!data)
        return NULL;
    for (size_t i = 0; i < MAP_SLOTS; i++)
        if (atomic_load(&map_slots[i].start) == (uintptr_t)data)
            return &map_slots[i];
    return NULL;
}

/* Remove the mapping starting at data from the registry (before munmap). */
static void map_unregister(const uint8_t *data)
{
    pthread_mutex_lock(&reg_lock);
    map_slot *s = map_find(data);
    if (s) {
        atomic_store(&s->start, 0);
        atomic_store(&s->end, 0);
        free(s->path);
        s->path = NULL;
        if (--map_live == 0)
            sigaction(SIGBUS, &bus_old, NULL);
    }
    pthread_mutex_unlock(&reg_lock);
}

/* The smallest and largest step of sq_mapped_prefetch_all: Linux's default
 * read-ahead window, and a bound on what one call may queue. */
#define RA_STEP_MIN ((size_t)128 << 10)
#define RA_STEP_MAX ((size_t)64 << 20)

/* Bytes Linux queues per WILLNEED call on a file of device dev: it reads at
 * most the larger of the device's read-ahead window (read_ahead_kb) and its
 * largest request (max_sectors_kb) per call and drops the rest of the range.
 * Read from sysfs (the queue of the device, or of the disk holding the
 * partition); RA_STEP_MIN when unknown (no block device: tmpfs, NFS,
 * overlay, btrfs subvolumes). Larger steps matter: on a virtual disk, 128 KB
 * requests cost several times the time of the same bytes in large ones. */
static size_t device_ra_step(dev_t dev)
{
    static const char *const names[] = {"queue/read_ahead_kb", "queue/max_sectors_kb", "../queue/read_ahead_kb",
                                        "../queue/max_sectors_kb"};
    size_t best = RA_STEP_MIN;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char p[96];
        unsigned long kb;
        snprintf(p, sizeof p, "/sys/dev/block/%u:%u/%s", major(dev), minor(dev), names[k]);
        FILE *f = fopen(p, "re");
        if (!f)
            continue;
        if (fscanf(f, "%lu", &kb) == 1 && kb <= RA_STEP_MAX >> 10 && (size_t)kb << 10 > best)
            best = (size_t)kb << 10;
        fclose(f);
    }
    return best;
}

/* "a FIFO", "a directory", ... for a file type. */
static const char *kind_name(mode_t m)
{
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a plain file";
}

sq_status sq_map_file(const char *path, sq_mapped *m, sq_error *err)
{
    struct stat sb;
    m->data = NULL;
    m->size = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return sq_fail(err, SQ_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return sq_fail(err, SQ_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return sq_fail(err, SQ_ERR_IO, "%s: not a regular file (%s)", path, kind_name(sb.st_mode));
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
    map_register(m->data, m->size, path, device_ra_step(sb.st_dev));
    return SQ_OK;
}

void sq_unmap_file(sq_mapped *m)
{
    if (m->data && m->size) {
        map_unregister(m->data);
        munmap((void *)m->data, m->size);
    }
    m->data = NULL;
    m->size = 0;
}

sq_status sq_mapped_check(const sq_mapped *m, sq_error *err)
{
    pthread_mutex_lock(&reg_lock);
    map_slot *s = map_find(m->data);
    sq_status st = SQ_OK;
    if (s && atomic_load(&s->damaged))
        st = sq_fail(err, SQ_ERR_IO, "%s: the file shrank while it was being read (truncated or rewritten in place "
                     "by another program); its data is incomplete", s->path ? s->path : "mapped file");
    pthread_mutex_unlock(&reg_lock);
    return st;
}

/* memcpy that a SIGBUS in a registered mapping leaves (sigsetjmp): false then. */
static bool guarded_copy(void *dst, const uint8_t *src, size_t n)
{
    sigjmp_buf jb;
    read_guard = NULL; /* the thread's TLS block exists before the handler can look */
    if (sigsetjmp(jb, 1) != 0) {
        read_guard = NULL;
        return false;
    }
    read_guard = &jb;
    memcpy(dst, src, n);
    read_guard = NULL;
    return true;
}

sq_status sq_mapped_read(const sq_mapped *m, size_t off, void *dst, size_t n, sq_error *err)
{
    if (off > m->size || n > m->size - off)
        return sq_fail(err, SQ_ERR_ARG, "bytes %zu..%zu outside a mapping of %zu bytes", off, off + n, m->size);
    if (n && !guarded_copy(dst, m->data + off, n))
        memset(dst, 0, n);
    return sq_mapped_check(m, err);
}

size_t sq_mapped_faults(void)
{
    return atomic_load(&bus_faults);
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
    size_t page = page_size();
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

void sq_mapped_prefetch_all(const sq_mapped *m, size_t off, size_t len)
{
    uintptr_t start, end;
    if (!page_span(m, off, len, true, &start, &end))
        return;
    map_slot *s = map_find(m->data); /* a hint: read without the lock, like the SIGBUS handler */
    size_t step = s ? atomic_load(&s->ra_step) : 0;
    if (step < RA_STEP_MIN)
        step = RA_STEP_MIN;
    for (uintptr_t a = start; a < end; a += step)
        posix_madvise((void *)a, end - a < step ? end - a : step, POSIX_MADV_WILLNEED);
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

/* ---- paths ---------------------------------------------------------------------- */

/* A new string: the directory part of path ("." when none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* A new string: the target of symbolic link `link` (size hint from lstat),
 * taken relative to the link's directory. NULL with errno set on failure. */
static char *link_target(const char *link, size_t hint)
{
    size_t cap = hint + 2;
    char *t = malloc(cap);
    ssize_t n;
    while (t && (n = readlink(link, t, cap)) >= 0 && (size_t)n >= cap) {
        char *bigger = realloc(t, cap * 2);
        if (!bigger) {
            free(t);
            return NULL;
        }
        t = bigger;
        cap *= 2;
    }
    if (!t || n < 0) {
        free(t);
        return NULL;
    }
    t[n] = '\0';
    const char *slash = strrchr(link, '/');
    if (t[0] == '/' || !slash)
        return t;
    size_t dl = (size_t)(slash - link) + 1, tl = (size_t)n;
    char *full = malloc(dl + tl + 1);
    if (full) {
        memcpy(full, link, dl);
        memcpy(full + dl, t, tl + 1);
    }
    free(t);
    return full;
}

/* Whether p lies where symbolic links stand for open descriptors
 * (/proc/self/fd/1, /dev/fd/1): their targets ("pipe:[123]", a file another
 * descriptor has open) are not paths to replace. */
static bool is_fd_dir(const char *p)
{
    return strncmp(p, "/proc/", 6) == 0 || strncmp(p, "/dev/fd/", 8) == 0;
}

/* *out = the file path names after following a chain of symbolic links (a
 * new string); *sb its lstat, *exists whether it exists. A link under /proc
 * or /dev/fd ends the chain: *fd_link is set, *out is that link and *sb the
 * stat of what it opens. Errors: IO (a loop, an unreadable link), NOMEM. */
static sq_status resolve_final(const char *path, char **out, struct stat *sb, bool *exists, bool *fd_link,
                               sq_error *err)
{
    char *cur = strdup(path);
    *fd_link = false;
    for (int hop = 0; cur; hop++) {
        if (lstat(cur, sb) == 0 && S_ISLNK(sb->st_mode) && is_fd_dir(cur)) {
            *fd_link = true;
            *exists = stat(cur, sb) == 0;
            *out = cur;
            return SQ_OK;
        }
        if (lstat(cur, sb) != 0) {
            *exists = false;
            *out = cur;
            return SQ_OK;
        }
        if (!S_ISLNK(sb->st_mode)) {
            *exists = true;
            *out = cur;
            return SQ_OK;
        }
        if (hop == 40) {
            free(cur);
            return sq_fail(err, SQ_ERR_IO, "%s: too many levels of symbolic links", path);
        }
        char *next = link_target(cur, (size_t)sb->st_size);
        int e = errno;
        free(cur);
        if (!next && e != ENOMEM)
            return sq_fail(err, SQ_ERR_IO, "%s: cannot read symbolic link: %s", path, strerror(e));
        cur = next;
    }
    return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
}

/* IO unless final (which names path) is something squint may write: a regular
 * file, a character device or a FIFO. */
static sq_status writable_kind(const char *path, const struct stat *sb, sq_error *err)
{
    if (S_ISREG(sb->st_mode) || S_ISCHR(sb->st_mode) || S_ISFIFO(sb->st_mode))
        return SQ_OK;
    return sq_fail(err, SQ_ERR_IO, "%s: is %s; refusing to write to it", path, kind_name(sb->st_mode));
}

/* IO unless the directory of final exists and is writable. */
static sq_status dir_writable(const char *path, const char *final, sq_error *err)
{
    char *dir = dir_of(final);
    if (!dir)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    struct stat sb;
    sq_status st = SQ_OK;
    if (stat(dir, &sb) != 0)
        st = sq_fail(err, SQ_ERR_IO, "%s: directory %s: %s", path, dir, strerror(errno));
    else if (!S_ISDIR(sb.st_mode))
        st = sq_fail(err, SQ_ERR_IO, "%s: %s is not a directory", path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        st = sq_fail(err, SQ_ERR_IO, "%s: cannot write in directory %s: %s", path, dir, strerror(errno));
    free(dir);
    return st;
}

/* "CSV" for ".csv" and so on: the format an extension stands for. */
static const char *format_name(const char *ext)
{
    static const char *const names[][2] = {{".csv", "CSV"}, {".json", "JSON"}, {".safetensors", "safetensors"},
                                           {".npy", "npy"}, {".gguf", "GGUF"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(ext, names[i][0]) == 0)
            return names[i][1];
    return ext;
}

/* ARG unless path ends with ext (any case). */
static sq_status ext_matches(const char *path, const char *ext, sq_error *err)
{
    size_t n = strlen(path), k = strlen(ext);
    if (n > k && strcasecmp(path + n - k, ext) == 0 && path[n - k - 1] != '/')
        return SQ_OK;
    return sq_fail(err, SQ_ERR_ARG, "%s: this output is %s; name it %s", path, format_name(ext), ext);
}

/* ARG when out (existing, sb its stat) is the same file as an input. */
static sq_status not_an_input(const char *out, const struct stat *sb, const char *const *inputs, size_t n,
                              sq_error *err)
{
    for (size_t i = 0; i < n; i++) {
        struct stat in;
        if (inputs[i] && stat(inputs[i], &in) == 0 && in.st_dev == sb->st_dev && in.st_ino == sb->st_ino)
            return sq_fail(err, SQ_ERR_ARG, "%s is the same file as the input %s; refusing to overwrite an input",
                           out, inputs[i]);
    }
    return SQ_OK;
}

sq_status sq_output_check(const char *out, const char *const *inputs, size_t n_inputs, const char *want_ext,
                          bool allow_stdout, sq_error *err)
{
    if (strcmp(out, "-") == 0)
        return allow_stdout ? SQ_OK
                            : sq_fail(err, SQ_ERR_ARG, "-: standard output is not possible for this output; "
                                      "name a file");
    struct stat sb;
    if (stat(out, &sb) == 0) {
        sq_status st = not_an_input(out, &sb, inputs, n_inputs, err);
        if (st == SQ_OK)
            st = writable_kind(out, &sb, err);
        if (st != SQ_OK)
            return st;
        if (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode))
            return access(out, W_OK) == 0 ? SQ_OK
                                          : sq_fail(err, SQ_ERR_IO, "%s: cannot write: %s", out, strerror(errno));
    }
    char *final;
    bool exists, fd_link;
    sq_status st = resolve_final(out, &final, &sb, &exists, &fd_link, err);
    if (st != SQ_OK)
        return st;
    if (fd_link) { /* an open descriptor (/dev/stdout): written in place, any name */
        free(final);
        return SQ_OK;
    }
    st = dir_writable(out, final, err);
    free(final);
    if (st == SQ_OK && want_ext)
        st = ext_matches(out, want_ext, err);
    return st;
}

sq_status sq_input_check(const char *path, sq_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || S_ISREG(sb.st_mode))
        return SQ_OK;
    return sq_fail(err, SQ_ERR_IO, "%s: not a regular file (%s)", path, kind_name(sb.st_mode));
}

/* ---- registry of temporary files and the termination-signal handler --------------- */

#define TMP_SLOTS 64

static const int term_signals[3] = {SIGINT, SIGTERM, SIGHUP};
static struct sigaction term_old[3];
static char *_Atomic tmp_paths[TMP_SLOTS];   /* live temporary files (NULL: free) */
static _Atomic int tmp_hit[TMP_SLOTS];       /* that file was removed by a signal */
static size_t tmp_live;                      /* registered files (under reg_lock) */

/* SIGINT/SIGTERM/SIGHUP: remove the temporary files, then pass the signal on
 * to what was there before. */
static void on_term(int sig, siginfo_t *si, void *ctx)
{
    int k = sig == SIGINT ? 0 : sig == SIGTERM ? 1 : 2;
    const struct sigaction *old = &term_old[k];
    bool info = (old->sa_flags & SA_SIGINFO) != 0;
    if (!info && old->sa_handler == SIG_IGN)
        return;
    int saved = errno;
    for (size_t i = 0; i < TMP_SLOTS; i++) {
        char *p = atomic_load(&tmp_paths[i]);
        if (p && !atomic_load(&tmp_hit[i])) {
            unlink(p);
            atomic_store(&tmp_hit[i], 1);
        }
    }
    if (info) {
        old->sa_sigaction(sig, si, ctx);
    } else if (old->sa_handler != SIG_DFL) {
        old->sa_handler(sig);
    } else {
        sigaction(sig, old, NULL);
        raise(sig); /* pending until this handler returns, then the default action */
    }
    errno = saved;
}

/* The three termination signals blocked (true) or restored to *old. */
static void block_term(bool block, sigset_t *old)
{
    if (block) {
        sigset_t s;
        sigemptyset(&s);
        for (int i = 0; i < 3; i++)
            sigaddset(&s, term_signals[i]);
        pthread_sigmask(SIG_BLOCK, &s, old);
    } else {
        pthread_sigmask(SIG_SETMASK, old, NULL);
    }
}

/* Register temporary file path; its slot, or -1 when the registry is full. */
static int tmp_register(char *path)
{
    int slot = -1;
    sigset_t old;
    block_term(true, &old);
    pthread_mutex_lock(&reg_lock);
    for (int i = 0; i < TMP_SLOTS && slot < 0; i++) {
        if (atomic_load(&tmp_paths[i]))
            continue;
        atomic_store(&tmp_hit[i], 0);
        atomic_store(&tmp_paths[i], path);
        slot = i;
    }
    if (slot >= 0 && tmp_live++ == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_term;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        for (int i = 0; i < 3; i++)
            sigaddset(&sa.sa_mask, term_signals[i]);
        for (int i = 0; i < 3; i++)
            sigaction(term_signals[i], &sa, &term_old[i]);
    }
    pthread_mutex_unlock(&reg_lock);
    block_term(false, &old);
    return slot;
}

/* Forget slot (termination signals must be blocked by the caller). */
static void tmp_unregister_locked(int slot)
{
    pthread_mutex_lock(&reg_lock);
    atomic_store(&tmp_paths[slot], NULL);
    if (--tmp_live == 0)
        for (int i = 0; i < 3; i++)
            sigaction(term_signals[i], &term_old[i], NULL);
    pthread_mutex_unlock(&reg_lock);
}

/* ---- atomic and direct writes ------------------------------------------------------ */

#define AFILE_BUF 65536

struct sq_afile {
    int fd;
    bool direct;        /* writing the target itself: stdout, a device, a FIFO */
    bool is_stdout;     /* fd 1, never closed */
    bool fd_link;       /* reached through /proc/.../fd or /dev/fd: appended to */
    char *path;         /* as given (or "standard output"), for messages */
    char *final;        /* the resolved target (atomic mode) */
    char *tmp;          /* temporary file (atomic mode) */
    int slot;           /* registry slot of tmp */
    int target_fd;      /* SQ_AFILE_SEEKABLE on a direct target: the target, while fd is the spool */
    size_t used;        /* bytes in buf */
    unsigned char buf[AFILE_BUF];
};

/* Free f's memory (files already closed/removed). */
static void afile_free(sq_afile *f)
{
    free(f->path);
    free(f->final);
    free(f->tmp);
    free(f);
}

/* Whether a termination signal has removed f's temporary file. */
static bool afile_hit(const sq_afile *f)
{
    return !f->direct && atomic_load(&tmp_hit[f->slot]);
}

/* Write all of [p, p+n) to fd; 0 or the errno. With guard_pipe, SIGPIPE is
 * held blocked and a SIGPIPE raised by this write is consumed. */
static int write_all(int fd, const unsigned char *p, size_t n, bool guard_pipe)
{
    sigset_t pipe_set, old, pend;
    bool pending_before = false;
    if (guard_pipe) {
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
        pending_before = sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE) == 1;
    }
    int e = 0;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            e = k < 0 ? errno : EIO;
            break;
        }
        p += k;
        n -= (size_t)k;
    }
    if (guard_pipe) {
        if (e == EPIPE && !pending_before) {
            struct timespec zero = {0, 0};
            sigtimedwait(&pipe_set, NULL, &zero);
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    return e;
}

/* Write out f's buffer. */
static sq_status afile_flush(sq_afile *f, sq_error *err)
{
    if (afile_hit(f))
        return sq_fail(err, SQ_ERR_INTERRUPTED, "%s: interrupted; left unchanged", f->path);
    int e = write_all(f->fd, f->buf, f->used, f->direct);
    f->used = 0;
    if (e)
        return sq_fail(err, SQ_ERR_IO, "%s: write failed: %s", f->path, strerror(e));
    return SQ_OK;
}

/* Open the target itself (stdout, a character device, a FIFO). */
static sq_status open_direct(sq_afile *f, sq_error *err)
{
    if (f->is_stdout) {
        fflush(stdout); /* what the program printed before comes first */
        f->fd = STDOUT_FILENO;
        return SQ_OK;
    }
    /* O_APPEND: /dev/stdout redirected to a file goes after what is already there */
    f->fd = open(f->final, O_WRONLY | O_CLOEXEC | O_NOCTTY | (f->fd_link ? O_APPEND : 0));
    if (f->fd < 0)
        return sq_fail(err, SQ_ERR_IO, "%s: cannot open: %s", f->path, strerror(errno));
    return SQ_OK;
}

/* Give the temporary file fd the permissions of the file it replaces (sb),
 * or 0666 minus the umask for a new file. */
static void set_mode(int fd, const struct stat *sb, bool exists)
{
    if (exists) {
        if (fchown(fd, sb->st_uid, sb->st_gid) != 0) {
            /* not permitted: the file becomes ours, as any rewrite would */
        }
        fchmod(fd, sb->st_mode & 07777);
        return;
    }
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
}

/* Create and register the temporary file beside f->final. */
static sq_status open_temp(sq_afile *f, const struct stat *sb, bool exists, sq_error *err)
{
    size_t n = strlen(f->final);
    if (!(f->tmp = malloc(n + sizeof ".tmp.XXXXXX")))
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", f->path);
    memcpy(f->tmp, f->final, n);
    memcpy(f->tmp + n, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    sigset_t old;
    block_term(true, &old); /* created and registered with no signal in between */
    f->fd = mkstemp(f->tmp);
    int e = errno;
    if (f->fd >= 0 && (f->slot = tmp_register(f->tmp)) < 0) {
        close(f->fd);
        unlink(f->tmp);
        f->fd = -1;
        block_term(false, &old);
        return sq_fail(err, SQ_ERR_ARG, "%s: too many files being written at once", f->path);
    }
    block_term(false, &old);
    if (f->fd < 0)
        return sq_fail(err, SQ_ERR_IO, "%s: cannot create: %s", f->path, strerror(e));
    set_mode(f->fd, sb, exists);
    return SQ_OK;
}

/* SQ_AFILE_SEEKABLE on a direct target: keep the target open in
 * target_fd and write to an unlinked spool file in $TMPDIR (or /tmp), copied
 * to the target at commit. */
static sq_status open_spool(sq_afile *f, sq_error *err)
{
    const char *dir = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    if (!dir || !*dir || (size_t)snprintf(tmpl, sizeof tmpl, "%s/squint-spool-XXXXXX", dir) >= sizeof tmpl)
        snprintf(tmpl, sizeof tmpl, "/tmp/squint-spool-XXXXXX");
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return sq_fail(err, SQ_ERR_IO, "%s: cannot create a spool file in %s: %s", f->path,
                       dir && *dir ? dir : "/tmp", strerror(errno));
    unlink(tmpl);
    f->target_fd = f->fd;
    f->fd = fd;
    return SQ_OK;
}

/* Open a direct target, spooled when the caller needs to seek. */
static sq_status open_direct_as(sq_afile *f, unsigned flags, sq_error *err)
{
    sq_status st = open_direct(f, err);
    if (st == SQ_OK && (flags & SQ_AFILE_SEEKABLE))
        st = open_spool(f, err);
    return st;
}

/* Decide how to write f->path and open it. */
static sq_status afile_start(sq_afile *f, unsigned flags, sq_error *err)
{
    if ((flags & SQ_AFILE_DASH_STDOUT) && strcmp(f->path, "-") == 0) {
        f->direct = f->is_stdout = true;
        return open_direct_as(f, flags, err);
    }
    struct stat sb;
    bool exists;
    sq_status st = resolve_final(f->path, &f->final, &sb, &exists, &f->fd_link, err);
    if (st != SQ_OK)
        return st;
    if (exists && (st = writable_kind(f->path, &sb, err)) != SQ_OK)
        return st;
    if (exists && (!S_ISREG(sb.st_mode) || f->fd_link)) {
        f->direct = true;
        return open_direct_as(f, flags, err);
    }
    return open_temp(f, &sb, exists, err);
}

sq_status sq_afile_open_flags(const char *path, unsigned flags, sq_afile **out, sq_error *err)
{
    *out = NULL;
    sq_afile *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    }
    f->fd = f->target_fd = -1;
    f->slot = -1;
    sq_status st = afile_start(f, flags, err);
    if (st != SQ_OK) {
        afile_free(f);
        return st;
    }
    if (f->is_stdout) {
        free(f->path);
        if (!(f->path = strdup("standard output"))) {
            afile_free(f);
            return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
        }
    }
    *out = f;
    return SQ_OK;
}

sq_status sq_afile_open(const char *path, sq_afile **out, sq_error *err)
{
    return sq_afile_open_flags(path, 0, out, err);
}

sq_status sq_afile_write(sq_afile *f, const void *buf, size_t n, sq_error *err)
{
    const unsigned char *p = buf;
    if (f->used == 0 && n >= AFILE_BUF && !afile_hit(f)) { /* large blocks skip the buffer */
        int e = write_all(f->fd, p, n, f->direct);
        if (e)
            return sq_fail(err, SQ_ERR_IO, "%s: write failed: %s", f->path, strerror(e));
        n = 0;
    }
    while (n > 0) {
        if (f->used == AFILE_BUF) {
            sq_status st = afile_flush(f, err);
            if (st != SQ_OK)
                return st;
        }
        size_t k = AFILE_BUF - f->used < n ? AFILE_BUF - f->used : n;
        memcpy(f->buf + f->used, p, k);
        f->used += k;
        p += k;
        n -= k;
    }
    if (afile_hit(f))
        return sq_fail(err, SQ_ERR_INTERRUPTED, "%s: interrupted; left unchanged", f->path);
    return SQ_OK;
}

sq_status sq_afile_seek(sq_afile *f, uint64_t off, sq_error *err)
{
    if (f->direct && f->target_fd < 0)
        return sq_fail(err, SQ_ERR_ARG, "%s: cannot go back in %s (not a regular file)", f->path,
                       f->is_stdout ? "standard output" : "a device or FIFO");
    sq_status st = afile_flush(f, err);
    if (st != SQ_OK)
        return st;
    if (off > (uint64_t)INT64_MAX || lseek(f->fd, (off_t)off, SEEK_SET) < 0)
        return sq_fail(err, SQ_ERR_IO, "%s: seek failed: %s", f->path, strerror(errno));
    return SQ_OK;
}

/* Close and delete the temporary file (or close the direct target), free f. */
static void afile_discard(sq_afile *f)
{
    if (f->target_fd >= 0) { /* a spool: close it, the target is f->target_fd */
        close(f->fd);
        f->fd = f->target_fd;
    }
    if (f->fd >= 0 && !f->is_stdout)
        close(f->fd);
    if (!f->direct && f->slot >= 0) {
        sigset_t old;
        block_term(true, &old);
        if (!atomic_load(&tmp_hit[f->slot]))
            unlink(f->tmp);
        tmp_unregister_locked(f->slot);
        block_term(false, &old);
    }
    afile_free(f);
}

/* The test hook: pause SQUINT_TEST_SLOW_WRITE seconds, or until a signal. */
static void test_pause(const sq_afile *f)
{
    const char *v = getenv("SQUINT_TEST_SLOW_WRITE");
    unsigned s = v ? (unsigned)strtoul(v, NULL, 10) : 0;
    while (s > 0 && !afile_hit(f))
        s = sleep(s);
}

/* Copy the spool (fd) to the target (target_fd), then make the target fd. */
static sq_status unspool(sq_afile *f, sq_error *err)
{
    static unsigned char chunk[1 << 16];
    sq_status st = SQ_OK;
    if (lseek(f->fd, 0, SEEK_SET) < 0)
        st = sq_fail(err, SQ_ERR_IO, "%s: spool: %s", f->path, strerror(errno));
    for (ssize_t k; st == SQ_OK && (k = read(f->fd, chunk, sizeof chunk)) != 0;) {
        if (k < 0 && errno == EINTR)
            continue;
        int e = k < 0 ? errno : write_all(f->target_fd, chunk, (size_t)k, true);
        if (e)
            st = sq_fail(err, SQ_ERR_IO, "%s: write failed: %s", f->path, strerror(e));
    }
    close(f->fd);
    f->fd = f->target_fd;
    f->target_fd = -1;
    return st;
}

/* Commit a direct write: flush (a spool: copy it over), close (not stdout). */
static sq_status commit_direct(sq_afile *f, sq_error *err)
{
    sq_status st = afile_flush(f, err);
    if (f->target_fd >= 0) {
        sq_status su = unspool(f, err);
        if (st == SQ_OK)
            st = su;
    }
    if (!f->is_stdout) {
        int rc = close(f->fd);
        f->fd = -1;
        if (rc != 0 && st == SQ_OK)
            st = sq_fail(err, SQ_ERR_IO, "%s: close failed: %s", f->path, strerror(errno));
    }
    afile_free(f);
    return st;
}

/* fsync the directory of path so the rename is durable (best effort). */
static void sync_dir(const char *path)
{
    char *dir = dir_of(path);
    int fd = dir ? open(dir, O_RDONLY | O_CLOEXEC | O_DIRECTORY) : -1;
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Rename the finished temporary file over the target, with the termination
 * signals held so that the handler cannot remove it half-way. */
static sq_status rename_into_place(sq_afile *f, sq_error *err)
{
    sigset_t old;
    block_term(true, &old);
    sq_status st = SQ_OK;
    if (atomic_load(&tmp_hit[f->slot]))
        st = sq_fail(err, SQ_ERR_INTERRUPTED, "%s: interrupted; left unchanged", f->path);
    else if (rename(f->tmp, f->final) != 0)
        st = sq_fail(err, SQ_ERR_IO, "%s: cannot rename temporary file over it: %s", f->path, strerror(errno));
    if (st == SQ_OK) {
        tmp_unregister_locked(f->slot);
        f->slot = -1;
    }
    block_term(false, &old);
    return st;
}

sq_status sq_afile_commit(sq_afile *f, sq_error *err)
{
    if (f->direct)
        return commit_direct(f, err);
    sq_status st = afile_flush(f, err);
    if (st == SQ_OK) {
        test_pause(f);
        if (fsync(f->fd) != 0)
            st = sq_fail(err, SQ_ERR_IO, "%s: fsync failed: %s", f->path, strerror(errno));
    }
    if (st == SQ_OK) {
        int rc = close(f->fd);
        f->fd = -1;
        if (rc != 0)
            st = sq_fail(err, SQ_ERR_IO, "%s: close failed: %s", f->path, strerror(errno));
    }
    if (st == SQ_OK)
        st = rename_into_place(f, err);
    if (st != SQ_OK) {
        afile_discard(f);
        return st;
    }
    sync_dir(f->final);
    afile_free(f);
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
