/* checkpoint.c - a common front for safetensors and GGUF files. */
#include "checkpoint.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "safetensors.h"

struct sq_checkpoint {
    sq_ckpt_format fmt;
    sq_safetensors *st;
    sq_gguf *gg;
};

/* True when the file starts with "GGUF" (false on any read problem: the
 * safetensors reader then reports it). */
static bool looks_gguf(const char *path)
{
    char m[4];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool yes = read(fd, m, 4) == 4 && memcmp(m, "GGUF", 4) == 0;
    close(fd);
    return yes;
}

sq_status sq_ckpt_open(const char *path, sq_checkpoint **out, sq_error *err)
{
    *out = NULL;
    sq_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck)
        return sq_fail(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    sq_status st;
    if (looks_gguf(path)) {
        ck->fmt = SQ_CKPT_GGUF;
        st = sq_gguf_open(path, &ck->gg, err);
    } else {
        ck->fmt = SQ_CKPT_SAFETENSORS;
        st = sq_st_open(path, &ck->st, err);
    }
    if (st != SQ_OK) {
        free(ck);
        return st;
    }
    *out = ck;
    return SQ_OK;
}

void sq_ckpt_close(sq_checkpoint *ck)
{
    if (!ck)
        return;
    sq_st_close(ck->st);
    sq_gguf_close(ck->gg);
    free(ck);
}

sq_ckpt_format sq_ckpt_get_format(const sq_checkpoint *ck) { return ck->fmt; }

size_t sq_ckpt_count(const sq_checkpoint *ck)
{
    return ck->gg ? sq_gguf_count(ck->gg) : sq_st_count(ck->st);
}

const sq_tinfo *sq_ckpt_info(const sq_checkpoint *ck, size_t i)
{
    return ck->gg ? sq_gguf_info(ck->gg, i) : sq_st_info(ck->st, i);
}

sq_status sq_ckpt_find(const sq_checkpoint *ck, const char *name, size_t *index, sq_error *err)
{
    return ck->gg ? sq_gguf_find(ck->gg, name, index, err) : sq_st_find(ck->st, name, index, err);
}

size_t sq_ckpt_metadata_count(const sq_checkpoint *ck)
{
    return ck->gg ? sq_gguf_metadata_count(ck->gg) : sq_st_metadata_count(ck->st);
}

bool sq_ckpt_metadata(const sq_checkpoint *ck, size_t i, const char **key, const char **type, const char **value)
{
    if (i >= sq_ckpt_metadata_count(ck))
        return false;
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
    return ck->gg ? sq_gguf_load(ck->gg, i, out, err) : sq_st_load(ck->st, i, out, err);
}
