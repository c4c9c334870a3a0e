/* fuzz_gguf.c - libFuzzer harness: open, list metadata, load every tensor. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sq_gguf *g;
    sq_error err;
    size_t sink = 0;
    if (sq_gguf_open_mem(data, size, "fuzz.gguf", &g, &err) != SQ_OK)
        return 0;
    for (size_t i = 0; i < sq_gguf_metadata_count(g); i++)
        sink += strlen(sq_gguf_metadata_value(g, i)) + strlen(sq_gguf_metadata_key(g, i));
    for (size_t i = 0; i < sq_gguf_count(g); i++) {
        sq_tensor *t = NULL;
        if (sq_gguf_load(g, i, &t, &err) == SQ_OK)
            sq_tensor_free(t);
    }
    sq_gguf_close(g);
    return (int)(sink & 0);
}
