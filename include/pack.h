/* Packing values into a growable byte buffer and reading them back with bounds checks: the wire
 * format of trial results between MPI ranks and the body of checkpoint files. Readers never trust
 * the bytes: every read checks the remaining length, and a failed read sets `bad`. */
#ifndef CS_PACK_H
#define CS_PACK_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t, int64_t */

typedef struct {
    unsigned char *buf;
    size_t len, cap;
} Pack;

typedef struct {
    const unsigned char *buf;
    size_t len, pos;
    int bad; /* a read ran past the end or found an impossible value */
} Unpack;

void pack_init(Pack *p);
void pack_free(Pack *p);
void pack_bytes(Pack *p, const void *data, size_t n);
void pack_i64(Pack *p, int64_t v);
void pack_f64(Pack *p, double v);
void pack_str(Pack *p, const char *s); /* length, then bytes */

Unpack unpack_start(const void *buf, size_t len);
void unpack_bytes(Unpack *u, void *data, size_t n);
int64_t unpack_i64(Unpack *u);
/* An integer that must lie in [lo, hi]; otherwise bad is set and lo returned. */
int64_t unpack_int(Unpack *u, int64_t lo, int64_t hi);
double unpack_f64(Unpack *u);
void unpack_str(Unpack *u, char *s, size_t cap);

/* FNV-1a 64-bit hash of n bytes: checksums of checkpoints, fingerprints of grids. */
uint64_t pack_hash(const void *data, size_t n);
/* The same hash over data given in pieces: h = PACK_HASH_START, then pack_hash_more for each piece. */
#define PACK_HASH_START 0xcbf29ce484222325ull /* FNV-1a offset basis */
uint64_t pack_hash_more(uint64_t h, const void *data, size_t n);

#endif
