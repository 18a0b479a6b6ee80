/* Error reporting and checked allocation. */
#include "check.h"

#include <stdarg.h> /* va_list */
#include <stdio.h>  /* fprintf, vfprintf, snprintf */
#include <stdlib.h> /* exit, aligned_alloc */
#include <errno.h>  /* errno, EINTR */
#include <string.h> /* memset */
#include <unistd.h> /* write */

static char who[256] = "copysweep";
static void (*end_process)(int status) = exit;

void cs_set_process(const char *prefix, void (*end)(int status))
{
    if (prefix) snprintf(who, sizeof who, "%s", prefix);
    if (end) end_process = end;
}

char *cs_one_line(char *s)
{
    for (unsigned char *p = (unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) *p = '?';
    return s;
}

void cs_user_error(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", who, cs_one_line(msg));
    end_process(CS_EXIT_USER);
    exit(CS_EXIT_USER);
}

void cs_fail_at(const char *file, int line, const char *fmt, ...)
{
    /* one line, one write: under mpirun the ranks' stderr shares one stream, and a line written in
     * pieces can be cut by another rank's */
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s (at %s:%d)\n", who, msg, file, line);
    end_process(CS_EXIT_FAILURE);
    exit(CS_EXIT_FAILURE);
}

void *cs_alloc_at(size_t bytes, const char *file, int line)
{
    size_t rounded = (bytes + 63) / 64 * 64; /* aligned_alloc wants a multiple of the alignment */
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) cs_fail_at(file, line, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *cs_try_calloc(size_t bytes)
{
    size_t rounded = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (p) memset(p, 0, bytes);
    return p;
}

void *cs_calloc_at(size_t bytes, const char *file, int line)
{
    void *p = cs_alloc_at(bytes, file, line);
    memset(p, 0, bytes);
    return p;
}

int cs_write_all(int fd, const void *buf, size_t n)
{
    for (const char *p = buf; n;) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}
