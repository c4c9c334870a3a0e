/* fuzz_safetensors.c - libFuzzer harness: open, list, load every tensor and
 * try each as a quantized tensor. */
#include <stddef.h>
#include <stdint.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sq_safetensors *f;
    sq_error err;
    if (sq_st_open_mem(data, size, "fuzz.safetensors", &f, &err) != SQ_OK)
        return 0;
    for (size_t i = 0; i < sq_st_count(f); i++) {
        sq_tensor *t = NULL;
        sq_qtensor *q = NULL;
        if (sq_st_load(f, i, &t, &err) == SQ_OK)
            sq_tensor_free(t);
        if (sq_st_load_qtensor(f, sq_st_info(f, i)->name, &q, &err) == SQ_OK)
            sq_qtensor_free(q);
    }
    sq_st_close(f);
    return 0;
}
