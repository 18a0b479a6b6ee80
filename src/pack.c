/* Byte-buffer packing with bounds-checked reading. */
#include "pack.h"

#include <stdlib.h> /* realloc, free */
#include <string.h> /* memcpy, strlen */

#include "check.h" /* CS_FAIL */

void pack_init(Pack *p) { *p = (Pack){0}; }

void pack_free(Pack *p)
{
    free(p->buf);
    *p = (Pack){0};
}

void pack_bytes(Pack *p, const void *data, size_t n)
{
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < p->len + n) cap *= 2;
        unsigned char *b = realloc(p->buf, cap);
        if (!b) CS_FAIL("out of memory packing %zu bytes", p->len + n);
        p->buf = b, p->cap = cap;
    }
    if (n) memcpy(p->buf + p->len, data, n);
    p->len += n;
}

void pack_i64(Pack *p, int64_t v) { pack_bytes(p, &v, sizeof v); }
void pack_f64(Pack *p, double v) { pack_bytes(p, &v, sizeof v); }

void pack_str(Pack *p, const char *s)
{
    size_t n = strlen(s);
    pack_i64(p, (int64_t)n);
    pack_bytes(p, s, n);
}

Unpack unpack_start(const void *buf, size_t len) { return (Unpack){.buf = buf, .len = len}; }

void unpack_bytes(Unpack *u, void *data, size_t n)
{
    if (u->bad || n > u->len - u->pos) {
        u->bad = 1;
        memset(data, 0, n);
        return;
    }
    memcpy(data, u->buf + u->pos, n);
    u->pos += n;
}

int64_t unpack_i64(Unpack *u)
{
    int64_t v;
    unpack_bytes(u, &v, sizeof v);
    return v;
}

int64_t unpack_int(Unpack *u, int64_t lo, int64_t hi)
{
    int64_t v = unpack_i64(u);
    if (v < lo || v > hi) {
        u->bad = 1;
        return lo;
    }
    return v;
}

double unpack_f64(Unpack *u)
{
    double v;
    unpack_bytes(u, &v, sizeof v);
    return v;
}

void unpack_str(Unpack *u, char *s, size_t cap)
{
    size_t n = (size_t)unpack_int(u, 0, (int64_t)cap - 1);
    unpack_bytes(u, s, n);
    s[u->bad ? 0 : n] = '\0';
}

uint64_t pack_hash_more(uint64_t h, const void *data, size_t n)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull; /* FNV-1a prime */
    return h;
}

uint64_t pack_hash(const void *data, size_t n) { return pack_hash_more(PACK_HASH_START, data, n); }
