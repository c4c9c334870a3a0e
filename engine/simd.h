/* simd.h - internal: how hot kernels ask for vector code.
 *
 * SQ_HOT marks a kernel that gcc/clang compile twice on x86-64: once for the
 * baseline ISA and once for x86-64-v3 (AVX2, FMA off by -ffp-contract=off so
 * results stay bit-identical), chosen at load time by the CPU. configure
 * defines SQ_HAVE_TARGET_CLONES when the toolchain supports it.
 * SQ_SIMD_WITH(clauses) lets a loop with floating reductions vectorize (OpenMP
 * SIMD, enabled by -fopenmp-simd; ignored otherwise). The summation order then
 * differs from a scalar loop only in how partial sums are grouped. */
#ifndef SQ_SIMD_H
#define SQ_SIMD_H

#if defined(SQ_HAVE_TARGET_CLONES) && defined(__x86_64__)
#define SQ_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SQ_HOT
#endif

/* Hand-written x86 kernels (intrinsics, compiled for their ISA with a target
 * attribute and chosen at run time) exist for the hottest loops; each has a
 * portable twin with bit-identical results. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SQ_X86_KERNELS 1
#include <immintrin.h>
/* The ISA of the hand-written AVX-512 kernels. */
#define SQ_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl")))
/* The ISA of the quantized-layer kernels (engine/qgemm512.c): byte and word
 * operations (BW) and, for the integer dot products, VNNI's vpdpbusd. */
#define SQ_AVX512BW __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw")))
#define SQ_AVX512VNNI __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx512vnni")))
#else
#define SQ_X86_KERNELS 0
#endif

#include <stdbool.h>

/* Whether the AVX-512 kernels run: the CPU has AVX-512 F/DQ/VL and they were
 * not disabled (sq_simd_force_portable). */
bool sq_use_avx512(void);

/* Whether the AVX-512 kernels needing BW as well (byte loads and shifts) run,
 * on the same terms as sq_use_avx512. */
bool sq_use_avx512bw(void);

/* Whether the AVX-512 VNNI integer dot-product kernels run: BW and VNNI too. */
bool sq_use_avx512vnni(void);

/* Whether the BMI2 bit-packing kernels run (pext/pdep), on the same terms. */
bool sq_use_bmi2(void);

/* Make every kernel take its portable path (true) or the fastest the CPU
 * supports (false). For tests and benchmarks; not thread-safe. */
void sq_simd_force_portable(bool portable);

#define SQ_PRAGMA(x) _Pragma(#x)
#define SQ_SIMD SQ_PRAGMA(omp simd)
#define SQ_SIMD_WITH(...) SQ_PRAGMA(omp simd __VA_ARGS__)

#endif
