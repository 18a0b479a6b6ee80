/* Metrics on the scored (copy) steps only: loss in nats per symbol, symbol and sequence accuracy,
 * (SPEC "Metrics"); the chance baselines beside them are the task's (task_chance_acc). */
#ifndef CS_METRICS_H
#define CS_METRICS_H

#include <math.h>   /* NAN */
#include <stdint.h> /* int64_t */

typedef struct {
    double loss;          /* Σ cross-entropy over scored steps, nats */
    int64_t symbols;      /* scored steps */
    int64_t correct;      /* scored steps predicted right (argmax) */
    int64_t sequences;
    int64_t seq_correct;  /* sequences with every scored step right */
} Metrics;

static inline void metrics_add(Metrics *to, const Metrics *m)
{
    to->loss += m->loss;
    to->symbols += m->symbols;
    to->correct += m->correct;
    to->sequences += m->sequences;
    to->seq_correct += m->seq_correct;
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

#endif
