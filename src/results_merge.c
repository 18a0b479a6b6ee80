/* Merging results files (results_merge): the rows of one file after another's, a finished trial
 * replacing an unfinished one, their groups and runs, refused where the files cannot be combined. */
#include "results.h"

#include <inttypes.h> /* PRIx64 */
#include <limits.h>   /* PATH_MAX */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* qsort, bsearch, free */
#include <string.h>   /* strcmp, strnlen, memcpy */
#include <unistd.h>   /* getpid */

#include "check.h"        /* CS_CALLOC */
#include "results_impl.h" /* Writer, H5C, struct ResultsEdit */

/* "a value of column name" as text, for messages */
static void member_text(hid_t type, const char *name, const unsigned char *row, char *buf, size_t n)
{
    int i = H5Tget_member_index(type, name);
    hid_t t = i < 0 ? -1 : H5Tget_member_type(type, (unsigned)i);
    const unsigned char *p = row + (i < 0 ? 0 : H5Tget_member_offset(type, (unsigned)i));
    snprintf(buf, n, "?");
    if (t < 0) return;
    size_t size = H5Tget_size(t);
    /* the row is packed: a member may sit at any byte, so it is copied out, not dereferenced */
    int32_t i32;
    long long i64;
    double f64;
    if (H5Tget_class(t) == H5T_STRING)
        snprintf(buf, n, "%.*s", (int)strnlen((const char *)p, size), (const char *)p);
    else if (H5Tget_class(t) == H5T_INTEGER && size == 4)
        memcpy(&i32, p, 4), snprintf(buf, n, "%d", i32);
    else if (H5Tget_class(t) == H5T_INTEGER && size == 8)
        memcpy(&i64, p, 8), snprintf(buf, n, "%lld", i64);
    else if (H5Tget_class(t) == H5T_FLOAT && size == 8)
        memcpy(&f64, p, 8), snprintf(buf, n, "%.17g", f64);
    H5Tclose(t);
}

static int cmp_key(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The columns that are a trial's result, compared when two files hold the same trial; an [exec]
 * trial's are its status, how its program ended and its declared metrics (the float columns after
 * status, exec_row in results_write.c). */
static const char *const result_columns[] = {"status", "epochs", "best_epoch", "best_val_acc", "test_loss",
                                             "test_acc", "test_seq_acc", NULL};
static const char *const exec_result_columns[] = {"status", "epoch_rows", "exit_code", "signal", "timed_out", NULL};

/* The names of the result columns of rows of type t into names (each H5free_memory'd by the caller
 * where owned[i]); returns how many. */
static int result_names(hid_t t, char **names, int *owned, int max)
{
    const int exec = H5Tget_member_index(t, "exit_code") >= 0;
    const char *const *fixed = exec ? exec_result_columns : result_columns;
    int n = 0;
    for (; fixed[n] && n < max; n++) names[n] = (char *)fixed[n], owned[n] = 0;
    const int status = H5Tget_member_index(t, "status");
    for (int i = status + 1; exec && status >= 0 && i < H5Tget_nmembers(t) && n < max; i++) {
        if (H5Tget_member_class(t, (unsigned)i) != H5T_FLOAT) break;
        names[n] = H5Tget_member_name(t, (unsigned)i), owned[n++] = 1;
    }
    return n;
}

/* A merge of file b into the edit of a copy of a. */
typedef struct {
    ResultsEdit *e;
    hid_t fb;
    const char *a_name, *b_name;
    unsigned char *ra, *rb; /* (na), (nb) the rows of a and b in the edit's row type */
    long na, nb;
    unsigned char *rows;    /* (n) the merged rows */
    long n;
    long *from;             /* (n) the row of a, or of b where from_b, that row k comes from */
    int *from_b;
} Merge;

/* Files that cannot be combined: other precision, another copysweep version or other columns. */
static void merge_check(Merge *m)
{
    ResultsEdit *e = m->e;
    Writer *w = &e->w;
    char real_a[32] = "", real_b[32] = "", version_a[64] = "", version_b[64] = "";
    rw_attr_read_str(e->f, "real", real_a, sizeof real_a);
    rw_attr_read_str(m->fb, "real", real_b, sizeof real_b);
    rw_attr_read_str(e->f, "copysweep_version", version_a, sizeof version_a);
    rw_attr_read_str(m->fb, "copysweep_version", version_b, sizeof version_b);
    hid_t tb = H5C(w, H5Dopen2(m->fb, "trials", H5P_DEFAULT)), type_b = H5C(w, H5Dget_type(tb));
    int same = !w->failed && H5Tget_nmembers(type_b) == H5Tget_nmembers(e->row_type);
    for (int i = 0; same && i < H5Tget_nmembers(type_b); i++) {
        char *name = H5Tget_member_name(type_b, (unsigned)i);
        same = H5Tget_member_index(e->row_type, name) >= 0;
        H5free_memory(name);
    }
    H5C(w, H5Tclose(type_b));
    H5C(w, H5Dclose(tb));
    if (w->failed) return;
    if (strcmp(real_a, real_b) != 0)
        snprintf(e->problem, sizeof e->problem, "%s holds %s results and %s %s results: they cannot be merged",
                 m->a_name, real_a, m->b_name, real_b), w->failed = 1;
    else if (!same || strcmp(version_a, version_b) != 0)
        snprintf(e->problem, sizeof e->problem, "%s was written by copysweep %s and %s by copysweep %s%s: "
                 "their results cannot be merged", m->a_name, version_a, m->b_name, version_b,
                 same ? "" : " (other /trials columns)"), w->failed = 1;
}

static int final_status(const unsigned char *row, long at_status)
{
    char st[STR_SHORT + 1] = "";
    memcpy(st, row + at_status, STR_SHORT);
    return strcmp(st, "pending") != 0 && strcmp(st, "running") != 0;
}

/* m->rows: a's rows, then b's trials that a lacks; a finished trial of b replaces a's unfinished one;
 * a trial finished in both must have the same result. */
static void merge_rows(Merge *m)
{
    ResultsEdit *e = m->e;
    const size_t bytes = e->row_bytes;
    const long at_key = rw_member_offset(e->row_type, "key"), at_trial = rw_member_offset(e->row_type, "trial");
    const long at_status = rw_member_offset(e->row_type, "status");
    uint64_t (*sorted)[2] = CS_CALLOC((size_t)m->na * sizeof *sorted + 1); /* (key, row of a) */
    for (long k = 0; k < m->na; k++) {
        memcpy(&sorted[k][0], m->ra + (size_t)k * bytes + at_key, 8);
        sorted[k][1] = (uint64_t)k;
    }
    qsort(sorted, (size_t)m->na, sizeof *sorted, cmp_key);
    m->rows = CS_CALLOC((size_t)(m->na + m->nb) * bytes + 1);
    memcpy(m->rows, m->ra, (size_t)m->na * bytes);
    m->from = CS_CALLOC((size_t)(m->na + m->nb) * sizeof *m->from + 1);
    m->from_b = CS_CALLOC((size_t)(m->na + m->nb) * sizeof *m->from_b + 1);
    for (long k = 0; k < m->na; k++) m->from[k] = k;
    m->n = m->na;
    char va[SETTINGS_TEXT_MAX + 32], vb[SETTINGS_TEXT_MAX + 32], *columns[96];
    int owned[96];
    const int n_columns = result_names(e->row_type, columns, owned, 96);
    for (long j = 0; j < m->nb && !e->w.failed; j++) {
        const unsigned char *row = m->rb + (size_t)j * bytes;
        uint64_t key;
        memcpy(&key, row + at_key, 8);
        uint64_t (*hit)[2] = bsearch(&key, sorted, (size_t)m->na, sizeof *sorted, cmp_key);
        const long k = hit ? (long)(*hit)[1] : m->n++;
        if (hit) {
            const int final_a = final_status(m->rows + (size_t)k * bytes, at_status), final_b = final_status(row, at_status);
            for (int c = 0; final_a && final_b && c < n_columns && !e->w.failed; c++) {
                member_text(e->row_type, columns[c], m->rows + (size_t)k * bytes, va, sizeof va);
                member_text(e->row_type, columns[c], row, vb, sizeof vb);
                if (strcmp(va, vb) != 0)
                    snprintf(e->problem, sizeof e->problem, "trial %ld of %s and trial %ld of %s have the same settings "
                             "and different results (%s %s and %s): they cannot be merged", k, m->a_name, j, m->b_name,
                             columns[c], va, vb), e->w.failed = 1;
            }
            if (final_a || !final_b) continue; /* a's row stays */
        }
        memcpy(m->rows + (size_t)k * bytes, row, bytes);
        const int32_t t = (int32_t)k;
        memcpy(m->rows + (size_t)k * bytes + at_trial, &t, 4);
        m->from[k] = j, m->from_b[k] = 1;
    }
    for (int c = 0; c < n_columns; c++)
        if (owned[c]) H5free_memory(columns[c]);
    free(sorted);
}

/* The merged /trials, a's groups renumbered and b's copied in (through /b, since b's numbers are
 * a's too). */
static void merge_groups(Merge *m)
{
    ResultsEdit *e = m->e;
    Writer *w = &e->w;
    hid_t gb = H5C(w, H5Gcreate2(e->f, "b", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    char src[64], name[32];
    for (long k = 0; k < m->n && !w->failed; k++) {
        if (!m->from_b[k]) continue;
        snprintf(src, sizeof src, "trial/%ld", m->from[k]);
        snprintf(name, sizeof name, "%ld", k);
        if (H5Lexists(m->fb, src, H5P_DEFAULT) > 0) H5C(w, H5Ocopy(m->fb, src, gb, name, H5P_DEFAULT, H5P_DEFAULT));
        if (k < m->na && H5Lexists(e->group, name, H5P_DEFAULT) > 0) H5C(w, H5Ldelete(e->group, name, H5P_DEFAULT));
        m->from[k] = -1; /* not one of a's groups */
    }
    if (!w->failed) rw_replace_trials(e, m->rows, m->n, m->from);
    for (long k = 0; k < m->n && !w->failed; k++) {
        snprintf(name, sizeof name, "%ld", k);
        if (m->from_b[k] && H5Lexists(gb, name, H5P_DEFAULT) > 0)
            H5C(w, H5Lmove(gb, name, e->group, name, H5P_DEFAULT, H5P_DEFAULT));
    }
    if (gb >= 0) {
        H5C(w, H5Gclose(gb));
        H5C(w, H5Ldelete(e->f, "b", H5P_DEFAULT));
    }
}

/* b's /runs rows after a's. */
static void merge_runs(Merge *m)
{
    Writer *w = &m->e->w;
    hid_t runs_b = H5C(w, H5Dopen2(m->fb, "runs", H5P_DEFAULT)), runs_a = H5C(w, H5Dopen2(m->e->f, "runs", H5P_DEFAULT));
    hid_t type = H5C(w, H5Dget_type(runs_a));
    hid_t sb = H5C(w, H5Dget_space(runs_b)), sa = H5C(w, H5Dget_space(runs_a));
    hsize_t mb = 0, ma = 0;
    H5C(w, H5Sget_simple_extent_dims(sb, &mb, NULL));
    H5C(w, H5Sget_simple_extent_dims(sa, &ma, NULL));
    if (!w->failed && mb) {
        unsigned char *buf = CS_CALLOC((size_t)mb * H5Tget_size(type));
        H5C(w, H5Dread(runs_b, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf));
        hsize_t grown = ma + mb;
        H5C(w, H5Dset_extent(runs_a, &grown));
        hid_t space = H5C(w, H5Dget_space(runs_a));
        H5C(w, H5Sselect_hyperslab(space, H5S_SELECT_SET, &ma, NULL, &mb, NULL));
        hid_t mem = H5C(w, H5Screate_simple(1, &mb, NULL));
        H5C(w, H5Dwrite(runs_a, type, mem, space, H5P_DEFAULT, buf));
        H5C(w, H5Sclose(mem));
        H5C(w, H5Sclose(space));
        free(buf);
    }
    H5C(w, H5Sclose(sa)), H5C(w, H5Sclose(sb)), H5C(w, H5Tclose(type));
    H5C(w, H5Dclose(runs_a)), H5C(w, H5Dclose(runs_b));
}

/* Merge the file at path (name for messages) into the edit, whose trials come from first. */
static void merge_one(ResultsEdit *e, const char *first, const char *path, const char *name)
{
    Merge m = {.e = e, .a_name = first, .b_name = name};
    Writer *w = &e->w;
    m.fb = H5C(w, H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT));
    if (!w->failed) merge_check(&m);
    if (!w->failed) {
        m.ra = rw_read_rows(w, e->f, e->row_type, &m.na);
        m.rb = rw_read_rows(w, m.fb, e->row_type, &m.nb);
    }
    if (!w->failed) merge_rows(&m);
    if (!w->failed) merge_groups(&m);
    if (!w->failed) merge_runs(&m);
    if (m.fb >= 0) H5Fclose(m.fb);
    free(m.ra), free(m.rb), free(m.rows), free(m.from), free(m.from_b);
}

int results_merge(const char *const *paths, const char *const *names, int n, const char *out, const char *command,
                  uint64_t store_id, char *err, size_t errlen)
{
    char tmp[PATH_MAX], id[20], merged[4096] = "";
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out, (long)getpid());
    ResultsEdit *e = results_edit_begin(paths[0], tmp);
    for (int i = 1; i < n && !e->w.failed; i++) merge_one(e, names[0], paths[i], names[i]);
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof merged; i++)
        len += (size_t)snprintf(merged + len, sizeof merged - len, "%s%s", i ? " + " : "", names[i]);
    snprintf(id, sizeof id, "%016" PRIx64, store_id);
    if (!e->w.failed) {
        rw_attr_set_str(&e->w, e->f, "store_id", id);
        rw_attr_set_str(&e->w, e->f, "command", command);
        rw_attr_set_str(&e->w, e->f, "merged_from", merged);
    }
    const int refused = e->problem[0] != '\0';
    int rc = results_edit_end(e, 0, out, err, errlen);
    return rc != 0 && refused ? -2 : rc;
}
