/* Checkpoint files: magic, version, body length, body, FNV-1a checksum of everything before it. */
#include "checkpoint.h"

#include <errno.h>  /* errno */
#include <limits.h> /* PATH_MAX */
#include <stdint.h> /* uint64_t */
#include <stdio.h>  /* FILE, fopen, fwrite, rename */
#include <string.h> /* strerror, memcmp */
#include <unistd.h> /* getpid, unlink, fsync */

#define MAGIC "copysweep checkpoint\n"
#define VERSION 2 /* 2: memory in bits in the metrics and curves */
#define MAX_BODY ((size_t)1 << 36) /* 64 GiB: larger is a corrupt length field */

int checkpoint_write(const char *path, const Pack *body, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    Pack file;
    pack_init(&file);
    pack_bytes(&file, MAGIC, sizeof MAGIC - 1);
    pack_i64(&file, VERSION);
    pack_i64(&file, (int64_t)body->len);
    pack_bytes(&file, body->buf, body->len);
    uint64_t sum = pack_hash(file.buf, file.len);
    pack_bytes(&file, &sum, sizeof sum);
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(file.buf, 1, file.len, f) == file.len && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int saved = errno;
    if (f && fclose(f) != 0 && ok) ok = 0, saved = errno;
    if (ok && rename(tmp, path) != 0) ok = 0, saved = errno;
    pack_free(&file);
    if (!ok) {
        unlink(tmp);
        snprintf(err, errlen, "cannot write checkpoint '%s': %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

int checkpoint_read(const char *path, Pack *body, char *err, size_t errlen)
{
    pack_init(body);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read checkpoint '%s': %s", path, strerror(errno));
        return -1;
    }
    Pack file;
    pack_init(&file);
    unsigned char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && file.len <= MAX_BODY) pack_bytes(&file, chunk, n);
    int read_error = ferror(f);
    fclose(f);
    const char *problem = NULL;
    Unpack u = unpack_start(file.buf, file.len);
    char magic[sizeof MAGIC - 1];
    unpack_bytes(&u, magic, sizeof magic);
    int64_t version = unpack_i64(&u);
    size_t len = (size_t)unpack_int(&u, 0, (int64_t)MAX_BODY);
    if (read_error)
        problem = "read error";
    else if (u.bad || memcmp(magic, MAGIC, sizeof magic) != 0)
        problem = "not a copysweep checkpoint";
    else if (version != VERSION)
        problem = "checkpoint of another copysweep version";
    else if (file.len != u.pos + len + sizeof(uint64_t))
        problem = "truncated or padded";
    else {
        uint64_t sum;
        memcpy(&sum, file.buf + u.pos + len, sizeof sum);
        if (sum != pack_hash(file.buf, u.pos + len))
            problem = "checksum mismatch";
        else
            pack_bytes(body, file.buf + u.pos, len);
    }
    pack_free(&file);
    if (problem) {
        snprintf(err, errlen, "checkpoint '%s': %s", path, problem);
        return -1;
    }
    return 0;
}
