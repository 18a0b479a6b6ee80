/* The results file of one sweep, on rank 0: named (a shard's own name), checked, matched with the
 * plan, locked (one sweep at a time per file), opened as a store (created, resumed or grown to the
 * job's grid), the rungs of successive halving and the objectives of TPE read back from it, and closed at the end with the
 * run's row. Every user error is found before anything is written. */
#ifndef CS_SWEEPFILE_H
#define CS_SWEEPFILE_H

#include <limits.h> /* PATH_MAX */
#include <stddef.h> /* size_t */

#include "halving.h" /* Halving */
#include "plan.h"    /* Plan */
#include "results.h" /* RunRecord */
#include "store.h"   /* Store */

typedef struct {
    Store store;
    char output[PATH_MAX];   /* the results file */
    char ckpt_dir[PATH_MAX]; /* OUTPUT.ckpt: the journal, the lock and the trials' checkpoints */
    char command[4096];      /* the command line, for /runs */
    int lock_fd;             /* OUTPUT.ckpt/lock, flock'ed until the process ends */
    int *status;             /* (n) each trial's status as the file held it (journal folded in) */
    Halving *halving;        /* the rungs' values so far, with [halving]; NULL without */
    double *objective;       /* (n) with sampler = tpe: each finished trial's objective as the file holds
                                it (NaN: none); NULL without */
    char *drawn;             /* (n × searched keys × SETTINGS_TEXT_MAX) with sampler = tpe: a finished trial's
                                searched values as the file holds them ("" for the others); NULL without */
} SweepFile;

/* The output: -o, else the job's [sweep] output, as FILE.shard-I-of-N.h5 under --shard; and the
 * command line. 0, or -1 with err. */
int sweepfile_name(SweepFile *f, const Plan *p, const Options *a, int argc, char **argv, char *err, size_t errlen);
/* Check, match, lock and open the named file for the plan's chosen trials; --rerun (a->rerun)
 * against the statuses it holds. 0, or -1 with err (a user error: nothing written). */
int sweepfile_open(SweepFile *f, Plan *p, const Options *a, char *err, size_t errlen);
/* The journal into the file with this run's row (run NULL: none, the file as it was), its sizes
 * reported if `reported`; the lock and the empty checkpoint folder removed if `done`. 0, or -1 after
 * saying why on stderr. */
int sweepfile_close(SweepFile *f, const RunRecord *run, int reported, int done);
void sweepfile_free(SweepFile *f);

#endif
