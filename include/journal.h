/* The journal: an append-only file of checksummed records beside a results file, in which a sweep
 * records what happens (a trial's status, each epoch's curve row, a finished trial) at a cost that
 * depends only on the record. Knows nothing of HDF5 or trials: records are typed byte strings.
 *
 * Layout (little-endian): a text header of lines, "copysweep-journal 1", "store <16 hex digits>"
 * (the id of the results file it belongs to), "curve <field:type:offset ...> size:<bytes>" (the
 * layout of a curve row), then an empty line; then records, each a 32-byte head
 *     u32 magic "CSJR", u32 type, u64 seq, u64 length, u32 crc, u32 0
 * followed by `length` bytes of payload. crc is the CRC-32 (zlib's) of the head's bytes 4..24 and
 * the payload. seq counts records from 1 over the life of the results file. A record cut short at
 * the end of the file (a process killed while it wrote) is not a record: readers stop before it and
 * the next writer cuts it off. A bad record anywhere else makes the journal damaged. */
#ifndef CS_JOURNAL_H
#define CS_JOURNAL_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */

#define JOURNAL_MAGIC_LINE "copysweep-journal 1"
#define JOURNAL_HEAD_BYTES 32

enum {
    JREC_STATUS = 1, /* JournalTrial: a trial's status changed (running, pending) */
    JREC_FINAL,      /* JournalTrial + an HDF5 file image of its /trials row and /trial/<n> group */
    JREC_CURVE,      /* JournalTrial + `rank` curve rows: its rows so far past those already sent */
    JREC_PROGRESS,   /* JournalProgress: the sweep's counts and ETA */
};

/* The start of the payload of STATUS, FINAL and CURVE records. */
typedef struct {
    int64_t trial;  /* row of /trials */
    uint64_t key;   /* the trial's settings key: the row must hold the same */
    int32_t status; /* STATUS_* (CURVE: 0) */
    int32_t rank;   /* the rank running it (CURVE: the number of rows that follow) */
} JournalTrial;

typedef struct {
    double time;      /* Unix time of the record */
    double elapsed_s; /* since the run started */
    double eta_s;     /* estimated time left; < 0 unknown */
    int64_t finished, total, running;
} JournalProgress;

typedef struct {
    int fd;
    uint64_t store_id;
    uint64_t last_seq; /* of the last record in the file */
    long long size;    /* bytes in the file */
    long long written; /* bytes this process appended */
} Journal;

/* A new journal at path (fails if one exists) for the results file store_id, whose records so far
 * end at last_seq: the first record here is last_seq + 1. */
int journal_create(Journal *j, const char *path, uint64_t store_id, uint64_t last_seq, const char *curve_layout,
                   char *err, size_t errlen);
/* The journal at path opened for appending: checks its header, cuts off a torn last record. Its
 * records continue from its last one, or from last_seq if it has none. */
int journal_open(Journal *j, const char *path, uint64_t store_id, uint64_t last_seq, char *err, size_t errlen);
/* Append a record (seq = last_seq + 1); sync: fdatasync before returning. 0 or -1 with errno set. */
int journal_append(Journal *j, int type, const void *a, size_t na, const void *b, size_t nb, int sync);
void journal_close(Journal *j);

/* Called for each record; a nonzero return stops the scan and is returned by journal_scan. */
typedef int (*JournalVisit)(void *arg, uint64_t seq, int type, const unsigned char *payload, size_t n);

/* Every whole record of the journal at path with seq > after, in order, among its first `upto`
 * bytes (< 0: all). 0; 1 if there is no journal; -1 with the reason in err (not a journal, another
 * store's, damaged); or what visit returned. *end (if given) is the offset after the last whole
 * record. */
int journal_scan(const char *path, uint64_t store_id, uint64_t after, long long upto, JournalVisit visit,
                 void *arg, long long *end, char *err, size_t errlen);

uint32_t journal_crc32(uint32_t crc, const void *data, size_t n);

#endif
