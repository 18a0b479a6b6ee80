/* Metrics on the scored (copy) steps only: loss in nats per symbol, symbol and sequence accuracy,
 * (docs/method.md "Metrics"), and memory in bits (docs/method.md "Memory in bits"); the chance baselines beside them
 * are the task's (task_chance_acc). */
#ifndef CS_METRICS_H
#define CS_METRICS_H

#include <math.h>   /* NAN, sqrt, M_LN2 */
#include <stdint.h> /* int64_t */

typedef struct {
    double loss;          /* Σ cross-entropy over scored steps, nats */
    int64_t symbols;      /* scored steps (for bce: bits) */
    int64_t correct;      /* scored steps predicted right (argmax) */
    int64_t sequences;
    int64_t seq_correct;  /* sequences with every scored step right */
    /* per sequence s, u_s = Σ over its scored targets of (memoryless loss − loss), nats: the bound
     * on what its outputs know of its targets */
    double info;          /* Σ_s u_s */
    double info_sq;       /* Σ_s u_s² */
    double info_max;      /* Σ_s of its targets' memoryless loss: where u_s would be with no error */
} Metrics;

static inline void metrics_add(Metrics *to, const Metrics *m)
{
    to->loss += m->loss;
    to->symbols += m->symbols;
    to->correct += m->correct;
    to->sequences += m->sequences;
    to->seq_correct += m->seq_correct;
    to->info += m->info;
    to->info_sq += m->info_sq;
    to->info_max += m->info_max;
}
static inline double metrics_loss(const Metrics *m) { return m->symbols ? m->loss / m->symbols : NAN; }
static inline double metrics_acc(const Metrics *m)
{
    return m->symbols ? (double)m->correct / m->symbols : NAN;
}
static inline double metrics_seq_acc(const Metrics *m)
{
    return m->sequences ? (double)m->seq_correct / m->sequences : NAN;
}
/* bits = mean_s u_s / ln 2 */
static inline double metrics_bits(const Metrics *m)
{
    return m->sequences ? m->info / (double)m->sequences / M_LN2 : NAN;
}
/* SE = sd_s(u_s) / √n / ln 2 (sd with n − 1) */
static inline double metrics_bits_se(const Metrics *m)
{
    if (m->sequences < 2) return NAN;
    const double n = (double)m->sequences, var = (m->info_sq - m->info * m->info / n) / (n - 1);
    return sqrt(var > 0 ? var : 0) / sqrt(n) / M_LN2;
}
/* the ceiling: mean_s of what u_s would be with no error, in bits (T·log2 K for copy) */
static inline double metrics_bits_ceiling(const Metrics *m)
{
    return m->sequences ? m->info_max / (double)m->sequences / M_LN2 : NAN;
}

#endif
