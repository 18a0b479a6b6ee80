/* Memory in bits and the gradient's decay per step (docs/method.md "Memory in bits", "The gradient's decay
 * per step"): the variational bound I(symbols; state) ≥ Σ_j (log K − CE_j) from a model's outputs,
 * the temperature that recalibrates it on the validation split, and ρ fitted to ‖∂L/∂h_t‖.
 * The running sums live in Metrics (metrics.h); this file works on stored outputs and profiles. */
#ifndef CS_INFO_H
#define CS_INFO_H

#include <stdint.h> /* int16_t */

#include "metrics.h" /* Metrics */
#include "real.h"    /* real */

/* The outputs of n sequences on the N steps of a scored window, as the model left them before the
 * softmax (or the sigmoids): logits (n, N, K), targets (n, N) a class, a bit pattern (bce), or
 * TASK_NO_TARGET. */
typedef struct {
    int n, N, K;
    int bce;
    const real *logits;
    const int16_t *targets;
} Outputs;

/* The scored outputs' metrics (loss, accuracy, sequences, bits) with every logit multiplied by beta
 * (softmax(beta·z), σ(beta·z)): at beta = 1 those of the model itself. */
void info_score(const Outputs *o, double beta, Metrics *out);

/* The beta ≥ 0 that minimizes the mean loss of these outputs (temperature 1/beta). The loss is convex
 * in beta and its minimum at beta = 0 is the memoryless loss, so the bound at this beta is ≥ 0 on the
 * outputs it was fitted on. Returns a value in [0, INFO_BETA_MAX]. */
#define INFO_BETA_MAX 1000.0
double info_fit_beta(const Outputs *o);

/* ρ = exp(−slope) of the least-squares line through (t, ln flow[t]) over t in [0, n): the factor by
 * which ‖∂L/∂h_t‖ shrinks per step back in time. Steps where flow is not finite or below
 * INFO_FLOW_FLOOR are left out (the per-unit float gradients that make up the norm are then near or
 * below the smallest normal float, or zero); NaN if fewer than three steps remain. */
#define INFO_FLOW_FLOOR 1e-30
double info_decay(const double *flow, int n);

#endif
