/* Counter-based random streams. Element i of a stream is mix(key + (i+1)·γ) (SplitMix64), so any
 * element is reproducible on any rank, thread or machine with no shared generator state. The key of
 * a stream is a hash of a tuple naming what it is for: (purpose, seed, model), (purpose, task, T,
 * seed, split, index), ... There is no default stream. */
#ifndef CS_RNG_H
#define CS_RNG_H

#include <stdint.h> /* uint64_t, uint32_t */

typedef struct {
    uint64_t key; /* hash of the tuple that names the stream */
    uint64_t ctr; /* how many values were drawn */
} Rng;

/* The purposes that key streams; a new purpose gets a new number, never a reused one. */
enum {
    RNG_DATA = 1,    /* (RNG_DATA, task, T, K, seed, split, index, attempt[, draw]): one sequence */
    RNG_SPLIT = 2,   /* (RNG_SPLIT, task, T, K): hash of a sequence that decides its split */
    RNG_INIT = 3,    /* (RNG_INIT, seed, model): initial weights */
    RNG_SHUFFLE = 4, /* (RNG_SHUFFLE, seed, epoch): order of the training set in one epoch */
    RNG_TEST = 5,    /* tests' own inputs */
    RNG_DROPOUT = 6, /* (RNG_DROPOUT, seed, update), then (that key, sequence, layer): dropout masks */
    RNG_SEARCH = 7,  /* (RNG_SEARCH, sampler-seed, sample, hash of the setting's key): a [search] value */
    RNG_TPE = 8,     /* (RNG_TPE, sampler-seed, group, sample, hash of the setting's key): a TPE draw */
};

/* SplitMix64 finalizer: a bijective 64-bit mix. */
uint64_t rng_mix(uint64_t x);
/* Hash of n 64-bit values, order-sensitive. */
uint64_t rng_hash(const uint64_t *parts, int n);
#define RNG_KEY(...)                                                                               \
    rng_hash((const uint64_t[]){__VA_ARGS__},                                                      \
             (int)(sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t)))
/* A stream starting at element 0. */
Rng rng_stream(uint64_t key);

uint64_t rng_next(Rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(Rng *r);
/* Uniform integer in [0, n), unbiased; n ≥ 1. */
uint32_t rng_below(Rng *r, uint32_t n);
/* Standard normal (Box-Muller, one value per call). */
double rng_normal(Rng *r);

#endif
