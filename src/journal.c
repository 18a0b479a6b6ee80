/* The journal's framing: header, records, checksums, and the rule for a torn last record. */
#include "journal.h"

#include <errno.h>    /* errno */
#include <limits.h>   /* PATH_MAX */
#include <fcntl.h>    /* open, O_* */
#include <inttypes.h> /* PRIx64, SCNx64 */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* malloc, free */
#include <string.h>   /* memcpy, strerror, strncmp */
#include <sys/stat.h> /* fstat */
#include <sys/uio.h>  /* writev */
#include <unistd.h>   /* pread, write, fdatasync, ftruncate, close */

#include "check.h" /* cs_write_all */

#define RECORD_MAGIC 0x524a5343u /* "CSJR" read as a little-endian u32 */
#define HEADER_MAX 8192

uint32_t journal_crc32(uint32_t crc, const void *data, size_t n)
{
    /* the reflected polynomial 0xEDB88320 of zlib's crc32, a byte at a time */
    static uint32_t table[256];
    static int ready; /* filled once; every thread writes the same values */
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    const unsigned char *p = data;
    crc = ~crc;
    while (n--) crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int read_at(int fd, void *buf, size_t n, long long at)
{
    for (char *p = buf; n;) {
        ssize_t r = pread(fd, p, n, (off_t)at);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r, n -= (size_t)r, at += r;
    }
    return 0;
}

int journal_create(Journal *j, const char *path, uint64_t store_id, uint64_t last_seq, const char *curve_layout,
                   char *err, size_t errlen)
{
    char head[HEADER_MAX];
    int len = snprintf(head, sizeof head, "%s\nstore %016" PRIx64 "\ncurve %s\n\n", JOURNAL_MAGIC_LINE,
                       store_id, curve_layout);
    if (len >= (int)sizeof head) {
        snprintf(err, errlen, "journal header of %d bytes", len);
        return -1;
    }
    /* written whole under another name and renamed: a journal is never seen without its header */
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644), exists = 0;
    if (fd < 0 || cs_write_all(fd, head, (size_t)len) != 0 || fdatasync(fd) != 0 ||
        (exists = access(path, F_OK) == 0) || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot create '%s': %s", path, exists ? "it exists" : strerror(errno));
        if (fd >= 0) close(fd), unlink(tmp);
        return -1;
    }
    *j = (Journal){.fd = fd, .store_id = store_id, .last_seq = last_seq, .size = len, .written = len};
    return 0;
}

/* The header of the journal open as fd: its length (the first record's offset), or -1 with err. */
static long long read_header(int fd, const char *path, uint64_t store_id, char *err, size_t errlen)
{
    char head[HEADER_MAX + 1];
    ssize_t n = pread(fd, head, HEADER_MAX, 0);
    if (n < 0) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    head[n] = '\0';
    const size_t magic = strlen(JOURNAL_MAGIC_LINE);
    char *end = strstr(head, "\n\n");
    /* the line "store " and exactly 16 hex digits */
    const char *store = head + magic + 1;
    uint64_t id = 0;
    int ok = (size_t)n >= magic + 1 + 23 && strncmp(head, JOURNAL_MAGIC_LINE "\n", magic + 1) == 0 && end &&
             strncmp(store, "store ", 6) == 0 && store[22] == '\n';
    for (int i = 6; ok && i < 22; i++) {
        const char c = store[i];
        ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        id = id << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    if (!ok) {
        snprintf(err, errlen, "'%s' is not a copysweep journal (damaged header); move it away", path);
        return -1;
    }
    if (id != store_id) {
        snprintf(err, errlen, "'%s' belongs to another results file (store %016" PRIx64 ", the results file is "
                 "%016" PRIx64 "); move it away", path, id, store_id);
        return -1;
    }
    return (long long)(end + 2 - head);
}

static int all_zero(int fd, long long at, long long size)
{
    unsigned char buf[4096];
    for (; at < size; at += (long long)sizeof buf) {
        size_t n = size - at < (long long)sizeof buf ? (size_t)(size - at) : sizeof buf;
        if (read_at(fd, buf, n, at) != 0) return 0;
        for (size_t i = 0; i < n; i++)
            if (buf[i]) return 0;
    }
    return 1;
}

/* Walk the records of fd from `at`: see journal_scan. *end gets the offset after the last whole
 * record; torn: whether bytes after it are a cut-short last record. */
static int walk(int fd, const char *path, long long at, long long size, uint64_t after, JournalVisit visit,
                void *arg, long long *end, uint64_t *last_seq, char *err, size_t errlen)
{
    unsigned char head[JOURNAL_HEAD_BYTES];
    unsigned char *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    uint64_t prev = 0;
    while (rc == 0 && at < size) {
        const long long left = size - at;
        int whole = left >= JOURNAL_HEAD_BYTES && read_at(fd, head, sizeof head, at) == 0;
        uint64_t seq = whole ? get_u64(head + 8) : 0, len = whole ? get_u64(head + 16) : 0;
        whole = whole && get_u32(head) == RECORD_MAGIC && len <= (uint64_t)(left - JOURNAL_HEAD_BYTES);
        if (whole && len > cap) {
            free(buf);
            cap = len;
            buf = malloc(cap ? cap : 1);
            if (!buf) {
                snprintf(err, errlen, "'%s': no memory for a record of %llu bytes", path, (unsigned long long)len);
                return -1;
            }
        }
        if (whole && len && read_at(fd, buf, len, at + JOURNAL_HEAD_BYTES) != 0) whole = 0;
        if (whole) {
            uint32_t crc = journal_crc32(journal_crc32(0, head + 4, 20), buf, len);
            whole = crc == get_u32(head + 24) && seq > 0 && (prev == 0 || seq == prev + 1);
        }
        if (!whole) {
            /* the last record, cut short (its head says it reaches the end of the file, or the rest
             * is zeros, as a crash can leave), or a bad one with records after it */
            int torn = left < JOURNAL_HEAD_BYTES;
            if (!torn && get_u32(head) == RECORD_MAGIC) torn = len >= (uint64_t)(left - JOURNAL_HEAD_BYTES);
            else if (!torn) torn = all_zero(fd, at, size);
            if (torn) break;
            snprintf(err, errlen, "'%s' is damaged: a bad record at byte %lld (of %lld) with records after it; "
                     "move it away", path, at, size);
            rc = -1;
            break;
        }
        prev = seq;
        if (seq > after) rc = visit ? visit(arg, seq, (int)get_u32(head + 4), buf, len) : 0;
        at += JOURNAL_HEAD_BYTES + (long long)len;
        if (last_seq) *last_seq = seq;
    }
    free(buf);
    if (end) *end = at;
    return rc;
}

int journal_open(Journal *j, const char *path, uint64_t store_id, uint64_t last_seq, char *err, size_t errlen)
{
    int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    long long first = fstat(fd, &st) == 0 ? read_header(fd, path, store_id, err, errlen) : -1;
    long long end = 0;
    uint64_t last = 0;
    if (first < 0 || walk(fd, path, first, (long long)st.st_size, UINT64_MAX, NULL, NULL, &end, &last, err,
                          errlen) != 0) {
        close(fd);
        return -1;
    }
    if (end < (long long)st.st_size && ftruncate(fd, (off_t)end) != 0) { /* a torn last record */
        snprintf(err, errlen, "cannot cut the torn last record off '%s': %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    *j = (Journal){.fd = fd, .store_id = store_id, .last_seq = last > last_seq ? last : last_seq, .size = end};
    return 0;
}

int journal_append(Journal *j, int type, const void *a, size_t na, const void *b, size_t nb, int sync)
{
    unsigned char head[JOURNAL_HEAD_BYTES] = {0};
    const uint64_t seq = j->last_seq + 1;
    put_u32(head, RECORD_MAGIC);
    put_u32(head + 4, (uint32_t)type);
    put_u64(head + 8, seq);
    put_u64(head + 16, (uint64_t)(na + nb));
    uint32_t crc = journal_crc32(0, head + 4, 20);
    crc = journal_crc32(journal_crc32(crc, a, na), b, nb);
    put_u32(head + 24, crc);
    /* one record, one write: a process killed midway leaves at most a cut-short last record */
    const size_t n = sizeof head + na + nb;
    struct iovec iov[3] = {{head, sizeof head}, {(void *)a, na}, {(void *)b, nb}};
    ssize_t w;
    while ((w = writev(j->fd, iov, 3)) < 0 && errno == EINTR) {}
    if (w < 0) return -1;
    if ((size_t)w < n) { /* a short write: the rest, piece by piece */
        size_t done = (size_t)w;
        for (int i = 0; i < 3; i++) {
            if (done >= iov[i].iov_len) {
                done -= iov[i].iov_len;
                continue;
            }
            if (cs_write_all(j->fd, (char *)iov[i].iov_base + done, iov[i].iov_len - done) != 0) return -1;
            done = 0;
        }
    }
    if (sync && fdatasync(j->fd) != 0) return -1;
    j->last_seq = seq;
    j->size += (long long)n, j->written += (long long)n;
    return 0;
}

void journal_close(Journal *j)
{
    if (j->fd > 0) close(j->fd);
    j->fd = -1;
}

int journal_scan(const char *path, uint64_t store_id, uint64_t after, long long upto, JournalVisit visit,
                 void *arg, long long *end, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 1;
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    long long first = fstat(fd, &st) == 0 ? read_header(fd, path, store_id, err, errlen) : -1;
    long long size = upto >= 0 && upto < (long long)st.st_size ? upto : (long long)st.st_size;
    int rc = first < 0 ? -1 : walk(fd, path, first, size, after, visit, arg, end, NULL, err, errlen);
    close(fd);
    return rc;
}
