/* Error reporting and checked library calls.
 * User errors (bad option, bad value, unwritable path) print one line and exit with status 2;
 * failures of the machine or a library (out of memory, HDF5 error) exit with status 1.
 * Every message starts with "copysweep: " and names where the problem is. */
#ifndef CS_CHECK_H
#define CS_CHECK_H

#include <stddef.h> /* size_t */

#define CS_EXIT_USER 2    /* the user's input was wrong; nothing was written */
#define CS_EXIT_FAILURE 1 /* the machine or a library failed */

/* Control characters of s (a newline in a value the user gave, say) become '?', so that a message
 * that quotes the value stays one line. Returns s. */
char *cs_one_line(char *s);
/* Who reports an error and how the process ends: messages start with "PREFIX: " ("copysweep" unless
 * set; a worker rank of a sweep sets "copysweep: rank R on HOST"), and end(status) ends the process
 * (exit unless set; a sweep of several ranks sets one that aborts them all through MPI). Set once,
 * at start, before other threads run; the only process-wide state of the program. */
void cs_set_process(const char *prefix, void (*end)(int status));
/* Print "copysweep: MESSAGE" (one line) to stderr and exit with CS_EXIT_USER. */
void cs_user_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Print "copysweep: MESSAGE (at FILE:LINE)" to stderr and exit with CS_EXIT_FAILURE. */
void cs_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
#define CS_FAIL(...) cs_fail_at(__FILE__, __LINE__, __VA_ARGS__)

/* malloc/calloc that never return NULL; memory is aligned to 64 bytes for the vector kernels. */
void *cs_alloc_at(size_t bytes, const char *file, int line);
void *cs_calloc_at(size_t bytes, const char *file, int line);
/* Zeroed, 64-byte aligned, or NULL: for the large buffers whose failure a trial reports. */
void *cs_try_calloc(size_t bytes);
#define CS_ALLOC(bytes) cs_alloc_at((bytes), __FILE__, __LINE__)
#define CS_CALLOC(bytes) cs_calloc_at((bytes), __FILE__, __LINE__)

/* Write all n bytes to fd (retrying short writes and EINTR): 0, or -1 with errno set. */
int cs_write_all(int fd, const void *buf, size_t n);

#endif
