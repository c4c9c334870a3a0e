/* memtune.h - process-wide allocator settings suited to squint's workload. */
#ifndef SQ_MEMTUNE_H
#define SQ_MEMTUNE_H

#include <stdbool.h>

/* Tune the C library's allocator for repeated quantization of the same
 * tensors: blocks under 32 MiB (codes, scales, zero points and scratch of a
 * 4096 x 4096 tensor) come from the heap and stay there when freed (up to
 * 128 MiB kept), so the next quantization reuses them instead of mapping
 * fresh pages: per-group(32) quantization of 4096 x 4096 otherwise takes
 * about 6000 page faults per call with glibc's adaptive defaults. Blocks of
 * 32 MiB and more (large tensors) are still mapped and returned to the
 * system when freed, so scanning a checkpoint does not keep its tensors.
 * Process-wide: programs call it once at start-up (the squint program and
 * the benchmarks do); the engine never calls it itself. Returns whether the
 * allocator took the settings (glibc only; elsewhere it does nothing). */
bool sq_memtune(void);

#endif
