/* rng.h - internal: the seeded generator behind randn and layer initialisation
 * (xoshiro256** seeded through splitmix64). Not part of the public API. */
#ifndef SQ_RNG_H
#define SQ_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct sq_rng {
    uint64_t s[4];
} sq_rng;

/* Seed the state from one 64-bit value. */
void sq_rng_seed(sq_rng *r, uint64_t seed);
/* Next 64 random bits. */
uint64_t sq_rng_next(sq_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double sq_rng_uniform(sq_rng *r);
/* n standard-normal floats (Box-Muller in double precision). */
void sq_rng_fill_normal(sq_rng *r, float *out, size_t n);

#endif
