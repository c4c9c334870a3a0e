/*
 * tinfo.h - what a tensor file says about one of its tensors, before any
 * data is read (shared by safetensors.h, gguf.h and checkpoint.h).
 */
#ifndef SQ_TINFO_H
#define SQ_TINFO_H

#include <stdbool.h>
#include <stddef.h>

#include "tensor.h"

typedef struct sq_tinfo {
    const char *name;       /* owned by the file handle, valid until it is closed */
    char type_name[16];     /* the file's own type name: "F32", "BF16", "Q4_0", ... */
    bool loadable;          /* squint can convert it to float32 */
    sq_dtype dtype;         /* label the loaded sq_tensor gets (meaningful when loadable) */
    int ndim;               /* row-major shape: the last index varies fastest */
    size_t shape[SQ_MAX_DIMS];
    size_t numel;
    size_t offset;          /* absolute byte offset of the data in the file */
    size_t nbytes;          /* bytes the data takes in the file (0 when size_unknown) */
    bool size_unknown;      /* the type is unknown to squint, so is its size (GGUF) */
} sq_tinfo;

#endif
