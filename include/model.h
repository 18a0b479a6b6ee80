/* A whole model: one parameter buffer with named views, its initialization, the layers, the
 * output layer and loss, and the forward/backward pass of a batch. A batch is cut into chunks of a
 * fixed number of sequences; OpenMP threads take whole chunks through all time steps, and the
 * chunks' gradients and metrics are added in chunk order, so results never depend on the thread
 * count. Dropout (between layers and before the output layer) draws its masks from a stream keyed
 * by the batch and the sequence, so it does not depend on the chunking or threads either. */
#ifndef CS_MODEL_H
#define CS_MODEL_H

#include <stdint.h> /* int64_t, uint64_t */

#include "cell.h"     /* Model, Acts, Layer, Params */
#include "metrics.h"  /* Metrics */
#include "settings.h" /* Settings */
#include "task.h"     /* TaskShape, Batch */

/* Allocate a model of this kind for the task's shapes, with an embedding of width embed (0: none);
 * the weights are zero until model_init_weights. */
void model_init(Model *m, int kind, const TaskShape *shape, int hidden, int layers, int embed);
void model_free(Model *m);
/* Parameters of the model these settings describe, without building it. */
size_t model_param_count(const Settings *s);
/* ρ that the cell's transition linearized at h = 0 predicts for these settings (CellOps
 * linear_decay); NaN where its assumptions do not hold (U not orthogonal, chrono biases). */
double model_linear_decay(const Settings *s);
/* Draw the initial weights from the stream keyed (RNG_INIT, seed, model) as the settings say. */
void model_init_weights(Model *m, const Settings *s);
/* Views of layer k onto any buffer with the parameter layout (gradients, optimizer moments). */
void model_layer_views(const Model *m, int k, real *base, Params *views);
/* The tensors of docs/method.md in buffer order; returns how many. */
int model_tensors(const Model *m, Tensor *out);

typedef struct {
    int L, B_max, chunk, n_chunks;
    int N, bce;     /* the task's scored steps; 1: K sigmoid bits per target (the loss's mean over K) */
    double dropout; /* p of the masks the chunks have room for; 0: none */
    Acts *acts;   /* (n_chunks) */
    Metrics *chunk_metrics; /* (n_chunks) each chunk's metrics of a batch, added in chunk order */
    void *mem;    /* one buffer that every chunk's activations are carved from */
    size_t bytes; /* its size */
    Packs packs[MODEL_MAX_LAYERS]; /* the weights in the time steps' layouts, shared by the chunks */
} Workspace;

/* Buffers for batches of up to batch sequences, cut into chunks of `chunk`, with room for dropout
 * masks if dropout > 0. Returns 0, or -1 and the bytes it needed in *need if the memory is not there. */
int workspace_init(Workspace *w, const Model *m, const TaskShape *shape, int batch, int chunk, double dropout,
                   size_t *need);
void workspace_free(Workspace *w);

/* What an evaluation keeps besides the Metrics, each pointer optional. Per step j of the scored
 * window (N): predictions right and made, and Σ and Σ² over the sequences of the loss of the target
 * at j (for bce: its K bits together), and the gate statistics of the hold. With logits, the outputs before the softmax (or sigmoids)
 * and the targets of sequence idx[i] go to row i of logits (B, N, K) and targets (B, N). */
typedef struct {
    int64_t *pos_correct, *pos_total;
    double *pos_loss, *pos_loss_sq;
    real *logits;
    int16_t *targets;
    double *hold; /* (G + 1, 3) added: Acts.hold of every chunk (gate statistics over the hold) */
} Scores;

/* Forward over the batch; metrics added to *out, and what sc asks for added (or, the
 * logits, written) to it (optional). With grad != NULL also backward: grad = ∂(mean loss)/∂θ, and
 * with flow != NULL, flow (L) = ‖∂L/∂h_t‖ of the top layer over the batch. dropout_key != 0
 * (training) applies the workspace's dropout with masks keyed by it and by each sequence's index;
 * 0 (evaluation) applies none. */
void model_batch(const Model *m, Workspace *w, const Batch *b, uint64_t dropout_key, Metrics *out, const Scores *sc,
                 real *grad, double *flow);

/* Forward and backward of one chunk whose inputs and targets are already in a, without dropout
 * (for tests; call model_prepare after the weights change). */
void model_prepare(const Model *m, Workspace *w);
void model_forward(const Model *m, Acts *a, int B);
void model_score(const Model *m, Acts *a, int B, Metrics *out);
void model_backward(const Model *m, Acts *a, int B, real scale);

#endif
