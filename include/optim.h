/* Optimizers over the flat parameter buffer: Adam (default) and SGD with momentum, and global
 * gradient-norm clipping. The moment buffers share the parameter layout, so an update is one loop. */
#ifndef CS_OPTIM_H
#define CS_OPTIM_H

#include <stddef.h> /* size_t */

#include "real.h"     /* real */
#include "settings.h" /* Settings */

typedef struct {
    int kind; /* OPT_* */
    double lr, momentum;
    double beta1, beta2, eps; /* Adam */
    long step;                /* updates done */
    size_t n;
    real *m; /* (n) first moment (Adam) or velocity (SGD) */
    real *v; /* (n) second moment (Adam) */
} Optimizer;

void optim_init(Optimizer *o, const Settings *s, size_t n);
void optim_free(Optimizer *o);
/* One update of params from grad. */
void optim_step(Optimizer *o, real *params, const real *grad);
/* Returns ‖grad‖₂; if max_norm > 0 and the norm exceeds it, scales grad to norm max_norm. */
double optim_clip(real *grad, size_t n, double max_norm);

#endif
