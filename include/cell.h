/* The shared cell interface: a model's layers and their parameter views, the activation buffer of
 * one batch chunk, and the table of functions each recurrent cell (lstm.c, gru.c, rnn.c) fills in.
 * Dimension letters, used in every shape comment:
 *   B  sequences in a batch chunk      L  time steps of a sequence
 *   I  input width of a layer (the task's for the first layer, H above it)
 *   H  hidden units                    G  gates per hidden unit (LSTM 4: i f o c; GRU 3: z r h)
 *   K  output classes (or bits)        N  steps of the scored window (T for copy)
 * A tensor written (L, B, H) is laid out with H fastest, then B, then L. */
#ifndef CS_CELL_H
#define CS_CELL_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* int16_t, int32_t, int64_t */

#include "batchmath.h" /* BmPacked, BmRowInit */
#include "real.h"      /* real */

#define MODEL_MAX_LAYERS 4

/* Views onto one layer's part of a parameter-layout buffer (parameters, gradients, optimizer
 * moments). The gates of W, U and b are stacked in the order of CellOps.gates: W_i is rows 0..H-1. */
typedef struct {
    real *W_m; /* (I, I)  multiplicative models only, else NULL */
    real *U_m; /* (I, H) */
    real *b_m; /* (I) */
    real *W;   /* (G·H, I) */
    real *U;   /* (G·H, H) */
    real *b;   /* (G·H) */
} Params;

typedef struct CellOps CellOps;

/* A named matrix of the equations of docs/method.md inside a parameter-layout buffer. */
typedef struct {
    char name[24]; /* "W_i", "U_m", "b_y"; with several layers "layer2/W_i" */
    size_t offset; /* in reals from the start of the buffer */
    int rows, cols; /* cols == 0: a vector of `rows` */
} Tensor;
#define MODEL_MAX_TENSORS (MODEL_MAX_LAYERS * 15 + 2) /* mlstm: 3 + 3·4 per layer, then W_y, b_y */

/* One recurrent layer. */
typedef struct {
    const CellOps *ops;
    int mult; /* 1: x̃_t = m_t ⊙ x_t feeds the cell (mlstm, mgru) */
    int I, H, G;
    Params p; /* views onto the model's parameter buffer */
} Layer;

/* A stack of layers and the output layer y_t = W_y h_t + b_y on the top layer, all parameters in
 * one buffer: layer 0, layer 1, ..., W_y, b_y, and with an embedding E. */
typedef struct {
    int kind; /* index in the registry of models (model_kinds.h) */
    const CellOps *ops;
    int mult;
    int layers;
    int I, H, K, G; /* I: the task's input width (with an embedding: the number of input symbols) */
    int D;          /* embedding width: layer 0 reads x_t = E[s_t] (width D); 0: the task's inputs */
    size_t n_params;
    real *mem;      /* the parameter buffer */
    Layer layer[MODEL_MAX_LAYERS];
    real *W_y;      /* (K, H) */
    real *b_y;      /* (K) */
    real *E;        /* (I, D) the embedding: row s is the vector of input symbol s [D > 0] */
} Model;

/* The weights of one layer in the layouts the time steps use, rebuilt for every batch (the
 * weights change after each update) and shared read-only by all chunks. */
typedef struct {
    BmPacked fwd[2]; /* LSTM: [0] Uᵀ (H, 4H). GRU: [0] [U_z; U_r]ᵀ (H, 2H), [1] U_hᵀ (H, H) */
    BmPacked bwd[2]; /* LSTM: [0] U (4H, H).  GRU: [0] [U_z; U_r] (2H, H),  [1] U_h (H, H) */
    real *WT;        /* (I, G·H) Wᵀ: row s holds the input weights of symbol s (one-hot inputs) */
    real *mem;       /* the storage of all of them */
} Packs;

/* What one layer needs for a forward and backward pass of a chunk. The first layer's inputs are
 * either symbol ids (one-hot tasks) or dense vectors; a layer above reads the layer below's h_t,
 * through dropout, as dense x_t. With B ≤ B_max sequences, a (L, B, X) view uses stride B. */
typedef struct {
    int L, B_max;
    int one_hot;
    int32_t *sym; /* (L, B) input symbol ids [one-hot, or embedded: x_t = E[sym]] */
    real *x;      /* (L, B, I) inputs [dense] */
    real *m;      /* (L, B, I) m_t [dense, mult] */
    real *xt;     /* (L, B, I) x̃_t [dense, mult]; == x for other dense layers */
    real *msym;   /* (L, B) m_t at the input symbol [one-hot, mult]: x̃_t = msym · e_sym */
    real *gates;  /* (L, B, G·H) gate activations; backward overwrites them with ∂L/∂pre-activations */
    real *h;      /* (L+1, B, H) h[0] = h_0 = 0, h[t+1] = h_t */
    real *c;      /* (L+1, B, H) LSTM: c[0] = c_0 = 0, c[t+1] = c_t */
    real *rh;     /* (L, B, H) GRU: r_t ⊙ h_{t-1} */
    real *dm;     /* (L, B, I) ∂L/∂m_t [dense, mult] */
    real *dh;     /* (B, H) ∂L/∂h_t during the backward sweep */
    real *dh_prev;/* (B, H) ∂L/∂h_{t-1} being built */
    real *dc;     /* (B, H) LSTM: ∂L/∂c_t through c_{t+1} */
    real *dtmp;   /* (B, max(H, I)) scratch: GRU ∂L/∂(r⊙h), dense mult ∂L/∂x̃ */
    real *dWT;    /* (I, G·H) ∂L/∂Wᵀ [one-hot] */
    real *dext;   /* (L, B, H) ∂L/∂h_t from the next layer [all but the top layer] */
    real *dx;     /* (L, B, I) ∂L/∂x_t, for the layer below [layers above the first] */
    real *mask;   /* (L, B, I) dropout of x_t: 0 or 1/(1 − p) [layers above the first, dropout > 0] */
    Params g;     /* views onto the chunk's gradient */
    const Packs *packs;
} LayerActs;

/* The activation buffer of one chunk: its layers, the output layer and loss, its gradient. */
typedef struct {
    int layers;
    int L, N, out_start, B_max;
    int drop;       /* 1: this batch runs with the dropout masks in mask and mask_out */
    int bce;        /* sigmoid outputs and per-bit binary cross-entropy, else softmax and cross-entropy */
    LayerActs layer[MODEL_MAX_LAYERS];
    real *hout;     /* (N, B, H) the top layer's h_t on the scored steps, through dropout [dropout > 0] */
    real *mask_out; /* (N, B, H) its dropout: 0 or 1/(1 − p) [dropout > 0] */
    real *probs;    /* (N, B, K) logits, then softmax (or sigmoid), then ∂L/∂logits */
    int16_t *y;     /* (N, B) target class (or bits), TASK_NO_TARGET where a step is not scored */
    double *flow;   /* (L) Σ_b ‖∂L/∂h_t‖² of the top layer */
    int64_t *pos_correct; /* (N) correct predictions per scored step */
    int64_t *pos_total;   /* (N) predictions per scored step */
    double *pos_loss;     /* (N) Σ over sequences of the loss of the target at each scored step */
    double *pos_loss_sq;  /* (N) Σ of its square */
    unsigned char *seq_ok; /* (B) scratch of model_score: 1 while a sequence has no error */
    double *seq_info;      /* (B) scratch of model_score: a sequence's Σ_j (memoryless − CE_j) */
    int hold_start, hold_end; /* the task's hold (TaskShape) */
    double *hold;   /* (G + 1, 3) over the hold, every layer, unit and sequence: count, Σ and Σ² of each
                       gate's activation, and (row G) of the multiplicative step's gain m_t */
    real *grad;     /* (n_params) this chunk's gradient */
    real *dW_y, *db_y; /* views onto grad */
    real *dE;          /* view onto grad [embedding] */
} Acts;

/* Everything that differs between cells. U is packed for the time steps in at most two blocks of
 * consecutive gates, each multiplied by its own input (LSTM: [U_i; U_f; U_o; U_c] by h_{t-1}; GRU:
 * [U_z; U_r] by h_{t-1}, then U_h by r_t ⊙ h_{t-1}). */
struct CellOps {
    const char *name;  /* "lstm", "gru" */
    int G;             /* gates per hidden unit */
    const char *gates; /* letter of each gate in docs/method.md, in stacking order: "ifoc", "zrh" */
    int n_blocks;      /* the packed blocks of U: */
    int block[2][2];   /* first gate, gates: LSTM {0, 4}; GRU {0, 2}, {2, 1} */
    int uses_c;        /* 1: the cell has a cell state c_t (LayerActs.c, dc) */
    int uses_rh;       /* 1: the cell keeps r_t ⊙ h_{t-1} (LayerActs.rh) */
    /* Gate biases with a meaning at initialization, −1 where the cell has none: keep_gate starts at
     * forget-bias, and with chrono at log T_j; write_gate starts at 0, and with chrono at −log T_j
     * (Tallec & Ollivier 2018). A cell with neither has no chrono initialization. */
    int keep_gate, write_gate;
    /* h_t (and c_t) from h_{t-1}; gates_t holds the activations on exit. On entry gates_t holds
     * W x̃_t + b, or, if init is not NULL, init gives it row by row (one-hot inputs). */
    void (*forward_step)(const Layer *m, LayerActs *a, int t, int B, const BmRowInit *init);
    /* From dh = ∂L/∂h_t: gates_t ← ∂L/∂pre-activations, dh_prev = ∂L/∂h_{t-1} through the cell. */
    void (*backward_step)(const Layer *m, LayerActs *a, int t, int B);
    /* dU += Σ_t ∂pre_tᵀ · (what U multiplied at step t), over all L steps. */
    void (*grad_U)(const Layer *m, LayerActs *a, int B);
    /* The per-step decay of ‖∂L/∂h_t‖ that the transition linearized at h = 0 predicts with every
     * bias 0 but the LSTM's forget bias and |λ(U)| = 1 (orthogonal U): docs/method.md "The gradient's decay
     * per step". */
    double (*linear_decay)(double forget_bias);
};

/* Rows of an (L, B, X) tensor at step t. */
static inline size_t cell_at(int t, int B, int X) { return (size_t)t * (size_t)B * (size_t)X; }

#endif
