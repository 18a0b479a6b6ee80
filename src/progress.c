/* The master's progress line, ETA and end-of-sweep summary. */
#include "progress.h"

#include <math.h>  /* fmax */
#include <stdio.h> /* fprintf, snprintf */
#include <sys/resource.h> /* getrusage */

#include "clock.h" /* cs_now_s */
#include "trial_record.h" /* STATUS_* */

#define PLAIN_PROGRESS_S 300.0 /* without a terminal, a progress line at least this often */

void progress_duration(double s, char *buf, size_t n)
{
    if (s < 0 || s != s) snprintf(buf, n, "?");
    else if (s < 60) snprintf(buf, n, "%.0fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

double progress_eta(const Progress *p, double elapsed)
{
    /* the cost still to do at the GFLOP per second so far */
    return p->cost_done > 0 ? fmax(0, p->cost_todo - p->cost_done) * elapsed / p->cost_done : -1;
}

void progress_line(const Progress *p, char *buf, size_t n)
{
    char el[32], eta[32], pruned[64] = "";
    const double elapsed = cs_now_s() - p->t0;
    progress_duration(elapsed, el, sizeof el);
    progress_duration(progress_eta(p, elapsed), eta, sizeof eta);
    if (p->halving) snprintf(pruned, sizeof pruned, ", %ld pruned", p->pruned);
    snprintf(buf, n, "%ld/%ld trials finished (this run: %ld done, %ld diverged, %ld failed%s), %ld running, "
             "elapsed %s, ETA %s", p->final, p->total, p->done, p->diverged, p->failed, pruned, p->running, el, eta);
}

void progress_show(Progress *p, const char *event)
{
    char line[512];
    progress_line(p, line, sizeof line);
    if (p->tty) {
        if (!event && cs_now_s() - p->last_line < 0.5) return; /* redraw twice a second at most */
        p->last_line = cs_now_s();
        const int width = 24;
        const int filled = p->cost_todo > 0 ? (int)(width * p->cost_done / p->cost_todo + 0.5) : width;
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
        bar[width] = '\0';
        if (event) fprintf(stderr, "\r\033[K%s\n", event);
        fprintf(stderr, "\r\033[K[%s] %s", bar, line);
    } else if (event || cs_now_s() - p->last_line >= PLAIN_PROGRESS_S) {
        fprintf(stderr, "%s%s%s\n", event ? event : "", event ? "; " : "", line);
        p->last_line = cs_now_s();
    }
    fflush(stderr);
}

void progress_finished(Progress *p, int status, double cost, double compute, double wait)
{
    p->running--;
    if (status == STATUS_PENDING) {
        p->stopped++;
    } else {
        p->finished++;
        p->done += status == STATUS_DONE, p->diverged += status == STATUS_DIVERGED;
        p->failed += status == STATUS_FAILED, p->pruned += status == STATUS_PRUNED;
        p->cost_done += cost;
        p->compute_s += compute;
        p->longest_s = compute > p->longest_s ? compute : p->longest_s;
    }
    if (wait >= 0) {
        p->wait_sum += wait, p->waits++;
        p->wait_max = wait > p->wait_max ? wait : p->wait_max;
    }
}

double progress_mean_ms(const double *x, long from, long to)
{
    double sum = 0;
    for (long i = from; i < to; i++) sum += x[i];
    return to > from ? 1e3 * sum / (double)(to - from) : 0;
}

long progress_head(long n) { return n < 100 ? n : n < 10000 ? 100 : 1000; }

void progress_summary(const Progress *p, double makespan, int workers)
{
    char line[512];
    progress_line(p, line, sizeof line);
    fprintf(stderr, "copysweep: %s\n", line);
    if (!p->finished) return;
    /* the bound counts the trials' own compute, as the ranks measured it; the time a result or a
     * worker waited for the master is reported on its own */
    const double bound = p->compute_s / workers > p->longest_s ? p->compute_s / workers : p->longest_s;
    fprintf(stderr, "copysweep: makespan %.2f s; the trials' own compute %.2f s in all, longest %.2f s; lower bound "
            "max(longest, compute / %d workers) = %.2f s; makespan / bound = %.3f\n", makespan, p->compute_s,
            p->longest_s, workers, bound, bound > 0 ? makespan / bound : 0);
    const long f = p->finished, head = progress_head(f);
    double max_record = 0;
    for (long i = 0; i < f; i++) max_record = p->record_s[i] > max_record ? p->record_s[i] : max_record;
    fprintf(stderr, "copysweep: the master's time to record a trial: first %ld mean %.3f ms, last %ld mean %.3f ms, "
            "max %.3f ms", head, progress_mean_ms(p->record_s, 0, head), head, progress_mean_ms(p->record_s, f - head, f),
            1e3 * max_record);
    if (p->dispatches)
        fprintf(stderr, "; dispatch (message seen to trial sent) mean %.3f ms, max %.3f ms",
                1e3 * p->dispatch_sum / p->dispatches, 1e3 * p->dispatch_max);
    if (p->waits)
        fprintf(stderr, "; workers waited for the master %.2f s in all (mean %.3f ms, max %.3f ms)", p->wait_sum,
                1e3 * p->wait_sum / p->waits, 1e3 * p->wait_max);
    struct rusage use;
    if (getrusage(RUSAGE_SELF, &use) == 0) /* the master's plan, progress and store: what grows with the trials */
        fprintf(stderr, "; the master's peak resident memory %.1f MB", (double)use.ru_maxrss / 1024);
    fputc('\n', stderr);
}
