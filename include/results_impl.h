/* What the four parts of the results file (results_write.c, results_edit.c, results_merge.c,
 * results_read.c) share; not part of the API (results.h). Every HDF5 call is checked through a
 * Writer that records the first failure; after a failure the remaining calls fail harmlessly on
 * invalid ids, the temporary file is removed, and the user's file at PATH is left as it was. */
#ifndef CS_RESULTS_IMPL_H
#define CS_RESULTS_IMPL_H

#include <errno.h>  /* errno (H5C) */
#include <limits.h> /* PATH_MAX */
#include <stddef.h> /* size_t */
#include <stdint.h> /* int64_t, uint64_t */

#include "results.h" /* hid_t, TrialRecord, RunRecord, ResultsEdit */

typedef struct {
    int failed;
    const char *call; /* the first call that failed */
    int saved_errno;  /* errno right after it, often the reason (ENOSPC, EACCES) */
    long long copied; /* bytes of an existing file copied */
} Writer;

/* r, recording call (and errno right after it) as w's first failure if r < 0 */
int64_t rw_check(Writer *w, int64_t r, const char *call);
/* errno is cleared first so that what rw_check sees was set by this call */
#define H5C(w, call) (errno = 0, rw_check((w), (int64_t)(call), #call))

#define STR_SHORT 16 /* the short string columns of /trials: status, cell, kernel, ... */

/* HDF5 prints a stack for every failed call unless told not to; failures are reported in one line */
typedef struct {
    H5E_auto2_t func;
    void *data;
} Quiet;

/* Silence HDF5's error stack; the previous handler, for rw_hdf5_restore. */
Quiet rw_hdf5_quiet(void);
/* Put back the handler rw_hdf5_quiet silenced. */
void rw_hdf5_restore(Quiet q);

/* A fixed-length, NUL-terminated string type of len bytes (the caller closes it). */
hid_t rw_string_type(Writer *w, size_t len);
/* Attribute name of loc set to an integer, replacing it if it exists. */
void rw_attr_set_int(Writer *w, hid_t loc, const char *name, long long v);
/* Attribute name of loc set to a string, replacing it if it exists. */
void rw_attr_set_str(Writer *w, hid_t loc, const char *name, const char *v);
/* A string attribute of loc, or "" if it is missing or not a string. */
void rw_attr_read_str(hid_t loc, const char *name, char *buf, size_t n);

/* The compound type of a /trials row and the rows of recs[0..n) packed with it. */
hid_t rw_trial_rows(Writer *w, const TrialRecord *recs, long n, unsigned char **rows);
/* loc/name: n rows of the compound type. chunk > 0: chunked and extendible; 0: contiguous. */
void rw_create_table(Writer *w, hid_t loc, const char *name, hid_t type, const void *rows, hsize_t n,
                     hsize_t chunk);
/* The compound type of a /runs row and the row of run (NULL: zeros) in *buf (malloc'ed). */
hid_t rw_run_type(Writer *w, const RunRecord *run, unsigned char **buf);
/* Sync tmp and rename it over path (path NULL: keep it as tmp), or remove it; 0, or -1 with err. */
int rw_commit(Writer *w, const char *tmp, const char *path, char *err, size_t errlen);

/* A change of a file (results_edit_begin); results_merge.c merges files into one. */
struct ResultsEdit {
    Writer w;
    Quiet q;
    char tmp[PATH_MAX];
    char problem[2048];  /* a semantic error (a record that does not fit the file) */
    hid_t f, table, group; /* the file, /trials, /trial */
    hid_t row_type;      /* /trials' type */
    size_t row_bytes;
    hid_t key_type, status_type; /* one-member and two-member views of a row */
    hid_t xfer;          /* row-sized conversion buffers: HDF5's default clears 2 MB per access */
};

/* All rows of /trials of the file f, in the memory type `type` (n rows; NULL and n = 0 on failure). */
unsigned char *rw_read_rows(Writer *w, hid_t f, hid_t type, long *n);
/* The byte offset of member name in the compound type, or -1. */
long rw_member_offset(hid_t type, const char *name);
/* Replace /trials of the edit by n rows (row_type), and move /trial/<from[k]> to /trial/<k>. */
void rw_replace_trials(ResultsEdit *e, const unsigned char *rows, long n, const long *from);

#endif
