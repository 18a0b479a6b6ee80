/* Checkpoint files: an opaque body (packed by the trainer) framed by a magic line, a format
 * version and a checksum, written to PATH.tmp-<pid> and renamed, so a checkpoint on disk is always
 * complete. Reading verifies all three before the body is trusted. */
#ifndef CS_CHECKPOINT_H
#define CS_CHECKPOINT_H

#include <stddef.h> /* size_t */

#include "pack.h" /* Pack */

/* 0 on success; -1 with the reason in err (an existing file at path is then unchanged). */
int checkpoint_write(const char *path, const Pack *body, char *err, size_t errlen);
/* 0 and the body in *body (pack_free it); -1 with the reason in err. */
int checkpoint_read(const char *path, Pack *body, char *err, size_t errlen);

#endif
