/* Counter-based random streams (SplitMix64). */
#include "rng.h"

#include <math.h> /* sqrt */

#include "detmath.h" /* dm_log, dm_cos2pi */

#define RNG_GAMMA 0x9E3779B97F4A7C15ull /* 2^64 / golden ratio, SplitMix64's increment */

uint64_t rng_mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint64_t rng_hash(const uint64_t *parts, int n)
{
    uint64_t h = 0x6A09E667F3BCC909ull; /* any odd constant; fractional bits of sqrt(2) */
    for (int i = 0; i < n; i++) h = rng_mix(h ^ rng_mix(parts[i] + (uint64_t)(i + 1) * RNG_GAMMA));
    return h;
}

Rng rng_stream(uint64_t key) { return (Rng){.key = key, .ctr = 0}; }

uint64_t rng_next(Rng *r)
{
    r->ctr++;
    return rng_mix(r->key + r->ctr * RNG_GAMMA);
}

double rng_uniform(Rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

uint32_t rng_below(Rng *r, uint32_t n)
{
    /* Lemire's multiply-shift with rejection of the biased low range. */
    uint64_t m = (rng_next(r) >> 32) * (uint64_t)n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (rng_next(r) >> 32) * (uint64_t)n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double rng_normal(Rng *r)
{
    double u1 = 1.0 - rng_uniform(r); /* in (0, 1]: log is finite */
    double u2 = rng_uniform(r);
    /* libm-free log and cos: the initial weights are the same on every machine (detmath.h) */
    return sqrt(-2.0 * dm_log(u1)) * dm_cos2pi(u2);
}
