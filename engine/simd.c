/* simd.c - run-time choice between the hand-written x86 kernels and their
 * portable twins. */
#include "simd.h"

static int forced_portable;

void sq_simd_force_portable(bool portable)
{
    forced_portable = portable;
}

bool sq_use_avx512(void)
{
#if SQ_X86_KERNELS
    static int have = -1;
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl");
    }
    return have && !forced_portable;
#else
    return false;
#endif
}

bool sq_use_bmi2(void)
{
#if SQ_X86_KERNELS
    static int have = -1;
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("bmi2");
    }
    return have && !forced_portable;
#else
    return false;
#endif
}

bool sq_use_avx512bw(void)
{
#if SQ_X86_KERNELS
    static int have = -1;
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("avx512bw");
    }
    return have && sq_use_avx512();
#else
    return false;
#endif
}

bool sq_use_avx512vnni(void)
{
#if SQ_X86_KERNELS
    static int have = -1;
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("avx512vnni");
    }
    return have && sq_use_avx512bw();
#else
    return false;
#endif
}
