/* memtune.c - glibc malloc thresholds for repeated large allocations. */
#include "memtune.h"

#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif

bool sq_memtune(void)
{
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    return mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 128 << 20) == 1;
#else
    return false;
#endif
}
