/* Job files (INI, read with libinih). [sweep] holds the sweep's own options; [settings] holds trial
 * settings, where a comma-separated list of values makes that setting an axis. The grid is the
 * product of the axes in the order they appear in the file, the first axis varying slowest; trial k
 * is the k-th grid point in that order.
 *
 * `zip = A, B` (in [settings] or a grid) makes axes A and B vary together, value i of A with value
 * i of B: one dimension of the grid, at A's place.
 *
 * A job may instead be a union of grids: each [grid NAME] section is a grid of its own, made of
 * [settings] with the section's settings over them (a single value replaces the [settings] one, a
 * list replaces it as an axis; an empty section is the [settings] grid itself). The trials are the
 * grids' points in the order of the sections, a point that an earlier point already has left out, so
 * that grids sharing a baseline run it once.
 *
 * [when KEY = VALUE] sets single values at the points where the axis (or searched setting) KEY has
 * VALUE, after the axes; the sections apply in file order.
 *
 * [search] draws `samples` values of each setting it names (uniform A B, log-uniform A B, choice V1,
 * V2, ...) from a stream keyed by (sampler-seed, sample, setting), so that a job has the same samples
 * on every run; the samples are one more dimension of every grid that does not set a searched
 * setting itself, varying fastest. [halving] (with [search]) stops trials early by asynchronous
 * successive halving (halving.h). Every error names PATH:LINE, the key and the value. */
#ifndef CS_JOBFILE_H
#define CS_JOBFILE_H

#include <stddef.h> /* size_t */

#include "jobgrid.h" /* Job */

/* Parse a job's text; path is used in messages. 0, or -1 with "PATH:LINE: ..." in err. */
int job_parse(Job *job, const char *path, const char *text, char *err, size_t errlen);
/* Read and parse the file at path. */
int job_load(Job *job, const char *path, char *err, size_t errlen);

#endif
