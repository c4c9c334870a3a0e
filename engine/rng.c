/* rng.c - xoshiro256** with splitmix64 seeding, and Box-Muller normals. */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sq_rng_seed(sq_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t sq_rng_next(sq_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double sq_rng_uniform(sq_rng *r)
{
    return (double)(sq_rng_next(r) >> 11) * 0x1p-53;
}

void sq_rng_fill_normal(sq_rng *r, float *out, size_t n)
{
    const double two_pi = 6.283185307179586476925286766559;
    for (size_t i = 0; i < n; i += 2) {
        double u1 = 1.0 - sq_rng_uniform(r); /* (0, 1]: log is finite */
        double u2 = sq_rng_uniform(r);
        double rad = sqrt(-2.0 * log(u1));
        out[i] = (float)(rad * cos(two_pi * u2));
        if (i + 1 < n)
            out[i + 1] = (float)(rad * sin(two_pi * u2));
    }
}
