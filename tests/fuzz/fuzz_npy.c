/* fuzz_npy.c - libFuzzer harness for the .npy reader. */
#include <stddef.h>
#include <stdint.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sq_tensor *t = NULL;
    sq_error err;
    if (sq_npy_parse(data, size, "fuzz.npy", &t, &err) == SQ_OK)
        sq_tensor_free(t);
    return 0;
}
