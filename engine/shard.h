/*
 * shard.h - a sharded safetensors checkpoint (Hugging Face's layout) read
 * as one: an index file such as model.safetensors.index.json,
 *
 *     {"metadata": {"total_size": 123},
 *      "weight_map": {"a.weight": "model-00001-of-00002.safetensors", ...}}
 *
 * beside the shard files it names (paths relative to the index's
 * directory). Opening parses the index and opens every shard with
 * sq_st_open (header only). The tensors are those of the weight_map,
 * listed shard by shard (shards in name order), in data order inside a
 * shard, so a checkpoint split in file order lists as the unsplit file
 * does. Loading a tensor reads it from its shard (sq_st_load). Metadata:
 * the index's "metadata" entries (strings as they are, other JSON values
 * as compact JSON; type "string" or "json"), then the shards' __metadata__
 * entries whose key has not been seen (type "string").
 *
 * Errors, each naming the index file: not JSON, no "weight_map" object, a
 * value that is not a file name, a name that leaves the directory (absolute
 * or with a ".." part), a shard that cannot be opened (its message
 * included), a tensor absent from the shard the index names (naming both).
 */
#ifndef SQ_SHARD_H
#define SQ_SHARD_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "quant.h"
#include "tensor.h"
#include "tinfo.h"

typedef struct sq_shards sq_shards;

/* Open the index at path and its shards. Caller closes *out with
 * sq_shards_close. Errors: IO, FORMAT, NOMEM (see above). */
sq_status sq_shards_open(const char *path, sq_shards **out, sq_error *err);

/* Close s and its shards. sq_shards_close(NULL) is a no-op. */
void sq_shards_close(sq_shards *s);

/* Number of shard files, and the path of the k-th (owned by s). */
size_t sq_shards_file_count(const sq_shards *s);
const char *sq_shards_file(const sq_shards *s, size_t k);

/* Tensors: count, info of the i-th (owned by s; NULL out of range), lookup
 * by name (SQ_ERR_NOTFOUND naming the index otherwise). */
size_t sq_shards_count(const sq_shards *s);
const sq_tinfo *sq_shards_info(const sq_shards *s, size_t i);
sq_status sq_shards_find(const sq_shards *s, const char *name, size_t *index, sq_error *err);

/* Metadata entries (see above); strings owned by s; false out of range. */
size_t sq_shards_metadata_count(const sq_shards *s);
bool sq_shards_metadata(const sq_shards *s, size_t i, const char **key, const char **type, const char **value);

/* Convert tensor i to float32 (caller frees *out). Errors as sq_st_load,
 * ARG when i is out of range. */
sq_status sq_shards_load(const sq_shards *s, size_t i, sq_tensor **out, sq_error *err);

/* The shard handle holding tensor i (owned by s) and, in *local, the
 * tensor's index inside it: for code that works on one safetensors file
 * (raw bytes, quantized parts). NULL when i is out of range. */
typedef struct sq_safetensors sq_safetensors;
const sq_safetensors *sq_shards_tensor_file(const sq_shards *s, size_t i, size_t *local);

/* A squint-quantized tensor called name, looked up in the shard holding
 * name.codes (as sq_st_has_qtensor / sq_st_load_qtensor; NOTFOUND when no
 * shard holds it). */
bool sq_shards_has_qtensor(const sq_shards *s, const char *name);
sq_status sq_shards_load_qtensor(const sq_shards *s, const char *name, sq_qtensor **out, sq_error *err);

#endif
