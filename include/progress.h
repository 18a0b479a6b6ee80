/* The master's account of a sweep as it runs: this run's counts, the progress line (or bar, on a
 * terminal) with its ETA from the cost model, and the summary at the end: the makespan against its
 * lower bound, the master's time to record and to dispatch a trial, the workers' waits. */
#ifndef CS_PROGRESS_H
#define CS_PROGRESS_H

#include <stddef.h> /* size_t */

typedef struct {
    long total;          /* trials of the job */
    long final;          /* of them, with a final result now (done, diverged or pruned) */
    int halving;         /* the line counts pruned trials */
    int tty;             /* redraw a bar on stderr, else plain lines */
    /* this run */
    long finished, done, diverged, failed, stopped, running, pruned;
    double cost_todo, cost_done, compute_s, longest_s, wait_sum, wait_max;
    long waits;
    double dispatch_sum, dispatch_max; /* the master's time from a worker's message to its answer */
    long dispatches;
    double *record_s;    /* the master's time to record each finished trial, in order */
    double t0, last_line;
} Progress;

/* "3m05s", "1h02m", "?" for a negative or NaN time. */
void progress_duration(double s, char *buf, size_t n);
/* The mean of x[from..to) (seconds) in milliseconds; 0 for none. */
double progress_mean_ms(const double *x, long from, long to);
/* How many trials the summary's "first K, last K" means take of n: 100, 1,000 from 10,000 on. */
long progress_head(long n);
/* Seconds left by the cost model: the cost to do at the rate so far; -1 before any is done. */
double progress_eta(const Progress *p, double elapsed);
/* "N/M trials finished (this run: ...), R running, elapsed E, ETA X". */
void progress_line(const Progress *p, char *buf, size_t n);
/* A finished-trial line (event, or NULL) and the state of the sweep: redrawn on a terminal at
 * most twice a second, a plain line for every event (and every 300 s) otherwise. */
void progress_show(Progress *p, const char *event);
/* A trial finished with this status, cost and rank time (wait: how long its worker waited for it,
 * -1 if it did not). */
void progress_finished(Progress *p, int status, double cost, double compute, double wait);
/* The lines at the end of the sweep (its state, makespan, bound, record and dispatch times). */
void progress_summary(const Progress *p, double makespan, int workers);

#endif
