/* checkpoint.c - a common front for safetensors and GGUF files. */
#include "checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "gguf.h"
#include "npy.h"
#include "safetensors.h"
#include "shard.h"
#include "sniff.h"

/* Requests the prefetcher holds; a request when it is full drops the oldest. */
#define PREFETCH_QUEUE 4

/* The background reader of sq_ckpt_prefetch: one thread per checkpoint,
 * started by the first request, that asks the kernel for the bytes of the
 * tensors requested, in order (the madvise calls block while the reads are
 * queued: a few ms per tens of MB, which the caller's thread does not wait
 * for). */
typedef struct prefetcher {
    pthread_mutex_t m;
    pthread_cond_t cv;
    pthread_t tid;
    pid_t pid;          /* the process that opened the checkpoint (a forked child reads in its own thread) */
    bool started, failed, stop;
    size_t queue[PREFETCH_QUEUE]; /* tensors to read, oldest first */
    size_t head, count;
} prefetcher;

struct sq_checkpoint {
    sq_ckpt_format fmt;
    sq_safetensors *st;
    sq_gguf *gg;
    sq_shards *sh;   /* a sharded checkpoint (fmt SAFETENSORS, st NULL) */
    char *path;      /* as opened */
    prefetcher *pf;  /* NULL when it could not be set up: prefetches are then made in the caller's thread */
};

/* ---- prefetching -------------------------------------------------------------- */

/* A new idle prefetcher (its thread starts with the first request); NULL
 * when out of memory or the mutex cannot be set up. */
static prefetcher *prefetcher_new(void)
{
    prefetcher *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (pthread_mutex_init(&p->m, NULL) != 0) {
        free(p);
        return NULL;
    }
    if (pthread_cond_init(&p->cv, NULL) != 0) {
        pthread_mutex_destroy(&p->m);
        free(p);
        return NULL;
    }
    p->pid = getpid();
    return p;
}

/* Stop and join p's thread, then free p. In a forked child the thread does
 * not exist (and the mutex may be held by it): only the memory is freed. */
static void prefetcher_free(prefetcher *p)
{
    if (!p)
        return;
    if (p->pid == getpid()) {
        pthread_mutex_lock(&p->m);
        p->stop = true;
        pthread_cond_signal(&p->cv);
        bool started = p->started;
        pthread_mutex_unlock(&p->m);
        if (started)
            pthread_join(p->tid, NULL);
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->m);
    }
    free(p);
}

/* Queue the reads of tensor i's bytes now, in this thread (i in range). */
static void prefetch_now(const sq_checkpoint *ck, size_t i)
{
    size_t local;
    const sq_safetensors *f;
    if (ck->sh) {
        if ((f = sq_shards_tensor_file(ck->sh, i, &local)))
            sq_st_prefetch(f, local);
    } else if (ck->gg) {
        sq_gguf_prefetch(ck->gg, i);
    } else {
        sq_st_prefetch(ck->st, i);
    }
}

/* The prefetcher's thread: reads the tensors asked for, in order, until told to stop. */
static void *prefetch_main(void *arg)
{
    const sq_checkpoint *ck = arg;
    prefetcher *p = ck->pf;
    pthread_mutex_lock(&p->m);
    for (;;) {
        while (!p->stop && p->count == 0)
            pthread_cond_wait(&p->cv, &p->m);
        if (p->stop)
            break;
        size_t i = p->queue[p->head];
        p->head = (p->head + 1) % PREFETCH_QUEUE;
        p->count--;
        pthread_mutex_unlock(&p->m);
        prefetch_now(ck, i);
        pthread_mutex_lock(&p->m);
    }
    pthread_mutex_unlock(&p->m);
    return NULL;
}

/* Start p's thread (called with p->m held); false when it cannot start. The
 * thread blocks every signal, so they keep going to the program's threads. */
static bool prefetcher_start(const sq_checkpoint *ck, prefetcher *p)
{
    if (p->started || p->failed)
        return p->started;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    p->started = pthread_create(&p->tid, NULL, prefetch_main, (void *)ck) == 0;
    p->failed = !p->started;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return p->started;
}

/* Whether SQUINT_NO_PREFETCH turns sq_ckpt_prefetch off (see checkpoint.h). */
static bool prefetch_off(void)
{
    const char *v = getenv("SQUINT_NO_PREFETCH");
    return v && *v && strcmp(v, "0") != 0;
}

void sq_ckpt_prefetch(const sq_checkpoint *ck, size_t i)
{
    if (!ck || i >= sq_ckpt_count(ck) || prefetch_off())
        return;
    prefetcher *p = ck->pf;
    if (p && p->pid == getpid()) {
        pthread_mutex_lock(&p->m);
        bool queued = prefetcher_start(ck, p);
        if (queued) {
            if (p->count == PREFETCH_QUEUE) { /* the oldest request matters least: the caller has moved on */
                p->head = (p->head + 1) % PREFETCH_QUEUE;
                p->count--;
            }
            p->queue[(p->head + p->count++) % PREFETCH_QUEUE] = i;
            pthread_cond_signal(&p->cv);
        }
        pthread_mutex_unlock(&p->m);
        if (queued)
            return;
    }
    prefetch_now(ck, i);
}

/* Whether the file at path starts with the len bytes of magic. */
static bool starts_with(const char *path, const char *magic, size_t len)
{
    char m[8];
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) /* never wait on a FIFO */
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return false;
    bool yes = read(fd, m, len) == (ssize_t)len && memcmp(m, magic, len) == 0;
    close(fd);
    return yes;
}

bool sq_file_is_npy(const char *path)
{
    return starts_with(path, "\x93NUMPY", 6);
}

bool sq_ckpt_has_qtensor(const sq_checkpoint *ck, const char *name)
{
    if (ck->sh)
        return sq_shards_has_qtensor(ck->sh, name);
    return ck->fmt == SQ_CKPT_SAFETENSORS && sq_st_has_qtensor(ck->st, name);
}

sq_status sq_ckpt_load_qtensor(const sq_checkpoint *ck, const char *name, sq_qtensor **out, sq_error *err)
{
    *out = NULL;
    if (ck->sh)
        return sq_shards_load_qtensor(ck->sh, name, out, err);
    if (ck->fmt != SQ_CKPT_SAFETENSORS)
        return sq_fail(err, SQ_ERR_NOTFOUND, "%s: GGUF files hold no squint-quantized tensors", name);
    return sq_st_load_qtensor(ck->st, name, out, err);
}

/* Whether name ends with suffix. */
static bool ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n >= k && strcmp(name + n - k, suffix) == 0;
}

/* The kind of path when it can be opened as wanted (a checkpoint, or for
 * SQ_WANT_TENSOR also a .npy file); otherwise the refusal saying why. An
 * unrecognised binary named *.safetensors goes to the safetensors reader,
 * whose messages say what is wrong with it. */
static sq_status ckpt_kind(const char *path, sq_file_want want, sq_file_kind *kind, sq_error *err)
{
    sq_status st = sq_sniff_file(path, kind, err);
    if (st != SQ_OK)
        return st;
    if (*kind == SQ_FILE_UNKNOWN && ends_with(path, ".safetensors"))
        *kind = SQ_FILE_SAFETENSORS;
    switch (*kind) {
    case SQ_FILE_SAFETENSORS: case SQ_FILE_GGUF: case SQ_FILE_SHARD_INDEX: case SQ_FILE_DIRECTORY:
        return SQ_OK;
    case SQ_FILE_NPY:
        if (want == SQ_WANT_TENSOR)
            return SQ_OK;
        break;
    default:
        break;
    }
    return sq_sniff_refuse(path, *kind, want, err);
}

sq_status sq_load_tensor_file(const char *path, const char *name, sq_tensor **out, sq_error *err)
{
    sq_checkpoint *ck;
    size_t index = 0;
    sq_status st;
    *out = NULL;
    sq_file_kind kind;
    if ((st = ckpt_kind(path, SQ_WANT_TENSOR, &kind, err)) != SQ_OK)
        return st;
    if (kind == SQ_FILE_NPY)
        return sq_npy_read(path, out, err);
    if ((st = sq_ckpt_open(path, &ck, err)) != SQ_OK)
        return st;
    if (name)
        st = sq_ckpt_find(ck, name, &index, err);
    else if (sq_ckpt_count(ck) != 1)
        st = sq_fail(err, SQ_ERR_ARG, "%s holds %zu tensors: name the one to load", path, sq_ckpt_count(ck));
    if (st == SQ_OK)
        st = sq_ckpt_load(ck, index, out, err);
    sq_ckpt_close(ck);
    return st;
}

sq_status sq_save_tensor_file(const char *path, const char *name, const sq_tensor *t, sq_error *err)
{
    if (ends_with(path, ".npy"))
        return sq_npy_write(path, t, SQ_DTYPE_F32, err);
    if (!ends_with(path, ".safetensors"))
        return sq_fail(err, SQ_ERR_ARG, "%s: unknown extension (use .npy or .safetensors)", path);
    sq_st_writer *w;
    sq_status st = sq_st_writer_new(&w, err);
    if (st != SQ_OK)
        return st;
    if ((st = sq_st_writer_add_tensor(w, name ? name : "tensor", t, SQ_DTYPE_F32, err)) == SQ_OK)
        st = sq_st_writer_write(w, path, err);
    sq_st_writer_free(w);
    return st;
}

sq_status sq_save_qtensor_file(const char *path, const char *name, const sq_qtensor *q, sq_error *err)
{
    if (!ends_with(path, ".safetensors"))
        return sq_fail(err, SQ_ERR_ARG, "%s: a quantized tensor is saved as .safetensors", path);
    sq_st_writer *w;
    sq_status st = sq_st_writer_new(&w, err);
    if (st != SQ_OK)
        return st;
    if ((st = sq_st_writer_add_qtensor(w, name ? name : "tensor", q, err)) == SQ_OK)
        st = sq_st_writer_write(w, path, err);
    sq_st_writer_free(w);
    return st;
}

/* The one checkpoint file in directory dir (an index, else a single
 * safetensors or GGUF file) as a new path in *out (caller frees). */
static sq_status dir_checkpoint(const char *dir, char **out, sq_error *err)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return sq_fail(err, SQ_ERR_IO, "%s: cannot read the directory: %s", dir, strerror(errno));
    char index[512] = "", single[512] = "";
    int n_index = 0, n_single = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (ends_with(e->d_name, ".safetensors.index.json") && n_index++ == 0)
            snprintf(index, sizeof index, "%s", e->d_name);
        else if ((ends_with(e->d_name, ".safetensors") || ends_with(e->d_name, ".gguf")) && n_single++ == 0)
            snprintf(single, sizeof single, "%s", e->d_name);
    }
    closedir(d);
    const char *pick = n_index == 1 ? index : n_index == 0 && n_single == 1 ? single : NULL;
    if (!pick)
        return sq_fail(err, SQ_ERR_ARG, "%s: is a directory with %d *.safetensors.index.json and %d other "
                       "checkpoint files: name the file to open", dir, n_index, n_single);
    size_t len = strlen(dir) + strlen(pick) + 2;
    if (!(*out = malloc(len)))
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", dir);
    snprintf(*out, len, "%s/%s", dir, pick);
    return SQ_OK;
}

/* Open a directory's checkpoint (see dir_checkpoint). */
static sq_status ckpt_open_dir(const char *dir, sq_checkpoint **out, sq_error *err)
{
    char *path;
    sq_status st = dir_checkpoint(dir, &path, err);
    if (st != SQ_OK)
        return st;
    sq_file_kind kind;
    if ((st = ckpt_kind(path, SQ_WANT_CHECKPOINT, &kind, err)) == SQ_OK)
        st = kind == SQ_FILE_DIRECTORY ? sq_fail(err, SQ_ERR_ARG, "%s: is a directory", path)
                                       : sq_ckpt_open(path, out, err);
    free(path);
    return st;
}

sq_status sq_ckpt_open(const char *path, sq_checkpoint **out, sq_error *err)
{
    *out = NULL;
    sq_file_kind kind;
    sq_status st = ckpt_kind(path, SQ_WANT_CHECKPOINT, &kind, err);
    if (st != SQ_OK)
        return st;
    if (kind == SQ_FILE_DIRECTORY)
        return ckpt_open_dir(path, out, err);
    sq_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck || !(ck->path = strdup(path))) {
        free(ck);
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    }
    if (kind == SQ_FILE_GGUF) {
        ck->fmt = SQ_CKPT_GGUF;
        st = sq_gguf_open(path, &ck->gg, err);
    } else if (kind == SQ_FILE_SHARD_INDEX) {
        ck->fmt = SQ_CKPT_SAFETENSORS;
        st = sq_shards_open(path, &ck->sh, err);
    } else {
        ck->fmt = SQ_CKPT_SAFETENSORS;
        st = sq_st_open(path, &ck->st, err);
    }
    if (st != SQ_OK) {
        free(ck->path);
        free(ck);
        return st;
    }
    ck->pf = prefetcher_new();
    *out = ck;
    return SQ_OK;
}

void sq_ckpt_close(sq_checkpoint *ck)
{
    if (!ck)
        return;
    prefetcher_free(ck->pf); /* first: the thread reads the mappings closed below */
    sq_st_close(ck->st);
    sq_gguf_close(ck->gg);
    sq_shards_close(ck->sh);
    free(ck->path);
    free(ck);
}

const char *sq_ckpt_path(const sq_checkpoint *ck)
{
    return ck->path ? ck->path : "";
}

sq_ckpt_format sq_ckpt_get_format(const sq_checkpoint *ck) { return ck->fmt; }

size_t sq_ckpt_count(const sq_checkpoint *ck)
{
    if (ck->sh)
        return sq_shards_count(ck->sh);
    return ck->gg ? sq_gguf_count(ck->gg) : sq_st_count(ck->st);
}

const sq_tinfo *sq_ckpt_info(const sq_checkpoint *ck, size_t i)
{
    if (ck->sh)
        return sq_shards_info(ck->sh, i);
    return ck->gg ? sq_gguf_info(ck->gg, i) : sq_st_info(ck->st, i);
}

sq_status sq_ckpt_find(const sq_checkpoint *ck, const char *name, size_t *index, sq_error *err)
{
    if (ck->sh)
        return sq_shards_find(ck->sh, name, index, err);
    return ck->gg ? sq_gguf_find(ck->gg, name, index, err) : sq_st_find(ck->st, name, index, err);
}

size_t sq_ckpt_metadata_count(const sq_checkpoint *ck)
{
    if (ck->sh)
        return sq_shards_metadata_count(ck->sh);
    return ck->gg ? sq_gguf_metadata_count(ck->gg) : sq_st_metadata_count(ck->st);
}

bool sq_ckpt_metadata(const sq_checkpoint *ck, size_t i, const char **key, const char **type, const char **value)
{
    if (i >= sq_ckpt_metadata_count(ck))
        return false;
    if (ck->sh)
        return sq_shards_metadata(ck->sh, i, key, type, value);
    if (ck->gg) {
        *key = sq_gguf_metadata_key(ck->gg, i);
        *type = sq_gguf_metadata_type(ck->gg, i);
        *value = sq_gguf_metadata_value(ck->gg, i);
    } else {
        *key = sq_st_metadata_key(ck->st, i);
        *type = "string";
        *value = sq_st_metadata_value(ck->st, i);
    }
    return true;
}

sq_status sq_ckpt_load(const sq_checkpoint *ck, size_t i, sq_tensor **out, sq_error *err)
{
    size_t faults = sq_mapped_faults();
    sq_status st;
    if (ck->sh)
        st = sq_shards_load(ck->sh, i, out, err);
    else
        st = ck->gg ? sq_gguf_load(ck->gg, i, out, err) : sq_st_load(ck->st, i, out, err);
    if (st == SQ_OK && sq_mapped_faults() != faults) { /* a read saw zeros where the file was cut */
        sq_tensor_free(*out);
        *out = NULL;
        const sq_tinfo *ti = sq_ckpt_info(ck, i);
        st = sq_fail(err, SQ_ERR_IO, "%s: tensor %s: the file shrank while it was being read", sq_ckpt_path(ck),
                     ti ? ti->name : "?");
    }
    return st;
}

size_t sq_ckpt_shard_count(const sq_checkpoint *ck)
{
    return ck->sh ? sq_shards_file_count(ck->sh) : 0;
}

const char *sq_ckpt_shard_file(const sq_checkpoint *ck, size_t k)
{
    return ck->sh ? sq_shards_file(ck->sh, k) : NULL;
}

sq_status sq_ckpt_raw(const sq_checkpoint *ck, size_t i, const uint8_t **data, size_t *len, sq_error *err)
{
    if (ck->sh) {
        size_t local;
        const sq_safetensors *f = sq_shards_tensor_file(ck->sh, i, &local);
        if (!f)
            return sq_fail(err, SQ_ERR_ARG, "tensor %zu (1-based) is out of range", i + 1);
        return sq_st_raw(f, local, data, len, err);
    }
    return ck->gg ? sq_gguf_raw(ck->gg, i, data, len, err) : sq_st_raw(ck->st, i, data, len, err);
}

void sq_ckpt_raw_release(const sq_checkpoint *ck, size_t i)
{
    size_t local;
    const sq_safetensors *f;
    if (ck->sh) {
        if ((f = sq_shards_tensor_file(ck->sh, i, &local)))
            sq_st_raw_release(f, local);
    } else if (ck->gg) {
        sq_gguf_raw_release(ck->gg, i);
    } else {
        sq_st_raw_release(ck->st, i);
    }
}
