/* The results store of a sweep: the results file FILE (the base) and its journal FILE.ckpt/journal.
 * Recording appends a record to the journal, at a cost that depends only on that record. The caller
 * only queues a record: a writer thread appends the queue's records in order, syncs the journal once
 * for all finished trials among them (group commit), and only then removes their checkpoints. The base catches up by compaction, a
 * copy of the base with the new records applied and renamed over it, run in a child process so that
 * the master never waits for it, and scheduled so that its total cost stays linear: when the records
 * not yet in the base are as large as the base (geometric growth), or when compaction has taken at
 * most 5 % of the time since the last one and at least COPYSWEEP_COMPACT_S seconds (default 30) have
 * passed (COPYSWEEP_COMPACT_S=0: back to back, for the tests). At the end of every run the journal is
 * compacted into the base and removed: users get one complete results file. Readers (analysis/load.py, `copysweep status`) read the base and then the
 * journal's records after the base's journal_seq, so they see every record at any moment. */
#ifndef CS_STORE_H
#define CS_STORE_H

#include <limits.h>    /* PATH_MAX */
#include <pthread.h>   /* pthread_* */
#include <stdio.h>     /* FILE */
#include <sys/types.h> /* pid_t */

#include "journal.h" /* Journal, JournalProgress */
#include "results.h" /* TrialRecord, RunRecord, ResultsIndex */
#include "trial_record.h"   /* CurveRow */

typedef struct StoreItem StoreItem;

typedef struct {
    char path[PATH_MAX], journal[PATH_MAX + 16];
    Journal j;                   /* the writer thread's while it runs */
    /* the queue and the writer thread */
    pthread_mutex_t mu;
    pthread_cond_t wake, drained;
    StoreItem *head, *tail;
    long long queued_bytes;
    int writer_started, closing;
    pthread_t writer;
    char error[PATH_MAX + 256];  /* the first failed write; the store takes no records after it */
    uint64_t written_seq;        /* the last record in the journal file, and its size there */
    long long written_size;
    double *sync_s;              /* the writer's time (append and sync) of each finished trial's record */
    long n_sync, cap_sync;
    uint64_t store_id, base_seq; /* the base holds the journal's records up to base_seq */
    long long base_bytes;        /* its size */
    long long journal_in_base;   /* the journal's bytes up to base_seq */
    pid_t child;                 /* a compaction running, or 0 */
    uint64_t child_seq;
    long long child_upto;
    double child_t0, last_compact_s, last_compact_end, min_interval_s;
    long long bytes_written;     /* journal and base files written for this run */
    long compactions;
} Store;

/* A fresh random id for a results file (its store_id attribute). */
uint64_t store_new_id(void);
/* A new store: the base at path with these trials (all pending) and an empty journal in dir. */
int store_create(Store *st, const char *path, const char *dir, const char *command, const char *job,
                 const TrialRecord *recs, long n, char *err, size_t errlen);
/* The statuses of ix (read with results_read_index) with the journal's records applied, read only:
 * 0; 1 if there is no journal; -1 with err (a damaged journal, or another file's). */
int store_replay(const char *journal, ResultsIndex *ix, char *err, size_t errlen);
/* The store of an existing base, whose index ix was read with results_read_index: the journal's
 * records are applied to ix->status, and the journal is opened for appending (or created). */
int store_resume(Store *st, const char *path, const char *dir, ResultsIndex *ix, char *err, size_t errlen);
/* The trials become recs[0..n) (a grown job): row k is the base's row old_of[k], or new. Before any
 * record. */
int store_regrid(Store *st, const char *command, const char *job, const TrialRecord *recs, long n,
                 const long *old_of, char *err, size_t errlen);

/* Before any record: the journal's records compacted into the base now (the journal stays), so that
 * the base holds every finished trial. 0, or -1 with err. */
int store_fold(Store *st, char *err, size_t errlen);

/* Records, queued for the writer thread. 0, or -1 with the reason in err once a write has failed. */
int store_status(Store *st, long trial, uint64_t key, int status, int rank, char *err, size_t errlen);
/* A finished trial: its image (results_trial_image; the store frees it), and its checkpoint, removed
 * once the record is synced (NULL: none). */
int store_final(Store *st, long trial, uint64_t key, int status, int rank, unsigned char *img, size_t n,
                const char *checkpoint, char *err, size_t errlen);
int store_curve(Store *st, long trial, uint64_t key, const CurveRow *rows, int n, char *err, size_t errlen);
int store_progress(Store *st, const JournalProgress *p, char *err, size_t errlen);

/* Start a compaction if one is due; collect one that ended. Cheap; call it often. */
void store_poll(Store *st);
/* End of a run: wait for a compaction, compact the journal with this run's row (run may be NULL)
 * into the base, and remove the journal. 0, or -1 with err (the journal stays, nothing is lost). */
int store_close(Store *st, const RunRecord *run, char *err, size_t errlen);

/* `copysweep status FILE`: counts by status, the running trials with their last epoch, the ETA.
 * 0; 2 (CS_EXIT_USER) with one line on stderr if FILE is not a results file or its journal is
 * damaged. */
int store_print_status(const char *path, FILE *out);
/* `copysweep merge A B [C ...] -o OUT`: 0; 2 if refused (one line on stderr, nothing written); 1 failure. */
int store_merge(const char *const *inputs, int n, const char *out, const char *command);

#endif
