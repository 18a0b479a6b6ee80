/* The shared cell interface: the model's parameter views, the activation buffer of one batch chunk,
 * and the table of functions each recurrent cell (lstm.c, gru.c) fills in.
 * Dimension letters, used in every shape comment:
 *   B  sequences in a batch chunk      L  time steps of a sequence
 *   I  input width (K + 2 for copy)    H  hidden units
 *   G  gates per hidden unit (LSTM 4: i f o c; GRU 3: z r h)
 *   K  output classes (or bits)        N  steps of the scored window (T for copy)
 * A tensor written (L, B, H) is laid out with H fastest, then B, then L. */
#ifndef CS_CELL_H
#define CS_CELL_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* int16_t, int32_t, int64_t */

#include "batchmath.h" /* BmPacked */
#include "real.h"      /* real */

/* Views onto one parameter buffer (and, with the same layout, onto a gradient or optimizer buffer).
 * The gates of W, U and b are stacked in the order of CellOps.gates: W_i is rows 0..H-1 of W. */
typedef struct {
    real *W_m; /* (I, I)  multiplicative models only, else NULL */
    real *U_m; /* (I, H) */
    real *b_m; /* (I) */
    real *W;   /* (G·H, I) */
    real *U;   /* (G·H, H) */
    real *b;   /* (G·H) */
    real *W_y; /* (K, H) */
    real *b_y; /* (K) */
} Params;

typedef struct CellOps CellOps;

typedef struct {
    int kind; /* MODEL_* */
    const CellOps *ops;
    int mult; /* 1: x̃_t = m_t ⊙ x_t feeds the cell (mlstm, mgru) */
    int I, H, K, G;
    size_t n_params;
    real *mem; /* the parameter buffer */
    Params p;  /* views onto mem */
} Model;

/* The weights in the layouts the time steps use, rebuilt for every batch (the weights change after
 * each update) and shared read-only by all chunks. */
typedef struct {
    BmPacked fwd[2]; /* LSTM: [0] Uᵀ (H, 4H). GRU: [0] [U_z; U_r]ᵀ (H, 2H), [1] U_hᵀ (H, H) */
    BmPacked bwd[2]; /* LSTM: [0] U (4H, H).  GRU: [0] [U_z; U_r] (2H, H),  [1] U_h (H, H) */
    real *WT;        /* (I, G·H) Wᵀ: row s holds the input weights of symbol s (one-hot inputs) */
    real *mem;       /* the storage of all of them */
} Packs;

/* Everything one batch chunk needs for a forward and backward pass, carved from one buffer sized
 * for up to B_max sequences of L steps. With B ≤ B_max sequences, a (L, B, X) view uses stride B.
 * Inputs are either symbol ids (one-hot tasks: copy) or dense vectors. */
typedef struct {
    int L, N, out_start, B_max;
    int one_hot;
    int bce;      /* sigmoid outputs and per-bit binary cross-entropy, else softmax and cross-entropy */
    int32_t *sym; /* (L, B) input symbol ids [one-hot] */
    real *x;      /* (L, B, I) inputs [dense] */
    real *m;      /* (L, B, I) m_t [dense, mult] */
    real *xt;     /* (L, B, I) x̃_t [dense, mult]; == x for other dense models */
    real *msym;   /* (L, B) m_t at the input symbol [one-hot, mult]: x̃_t = msym · e_sym */
    real *gates;  /* (L, B, G·H) gate activations; backward overwrites them with ∂L/∂pre-activations */
    real *h;      /* (L+1, B, H) h[0] = h_0 = 0, h[t+1] = h_t */
    real *c;      /* (L+1, B, H) LSTM: c[0] = c_0 = 0, c[t+1] = c_t */
    real *rh;     /* (L, B, H) GRU: r_t ⊙ h_{t-1} */
    real *probs;  /* (N, B, K) logits, then softmax (or sigmoid), then ∂L/∂logits */
    int16_t *y;   /* (N, B) target class (or bits), TASK_NO_TARGET where a step is not scored */
    real *dm;     /* (L, B, I) ∂L/∂m_t [dense, mult] */
    real *dh;     /* (B, H) ∂L/∂h_t during the backward sweep */
    real *dh_prev;/* (B, H) ∂L/∂h_{t-1} being built */
    real *dc;     /* (B, H) LSTM: ∂L/∂c_t through c_{t+1} */
    real *dtmp;   /* (B, max(H, I)) scratch: GRU ∂L/∂(r⊙h), dense mult ∂L/∂x̃ */
    real *dWT;    /* (I, G·H) ∂L/∂Wᵀ [one-hot] */
    double *flow; /* (L) Σ_b ‖∂L/∂h_t‖² */
    int64_t *pos_correct; /* (N) correct predictions per scored step */
    int64_t *pos_total;   /* (N) predictions per scored step */
    real *grad;   /* (n_params) this chunk's gradient */
    Params g;     /* views onto grad */
    const Packs *packs;
} Acts;

struct CellOps {
    const char *name;  /* "lstm", "gru" */
    int G;             /* gates per hidden unit */
    const char *gates; /* SPEC letter of each gate, in stacking order: "ifoc", "zrh" */
    /* h_t (and c_t) from h_{t-1}; gates_t holds the activations on exit. On entry gates_t holds
     * W x̃_t + b, or, if init is not NULL, init gives it row by row (one-hot inputs). */
    void (*forward_step)(const Model *m, Acts *a, int t, int B, const BmRowInit *init);
    /* From dh = ∂L/∂h_t: gates_t ← ∂L/∂pre-activations, dh_prev = ∂L/∂h_{t-1} through the cell. */
    void (*backward_step)(const Model *m, Acts *a, int t, int B);
    /* dU += Σ_t ∂pre_tᵀ · (what U multiplied at step t), over all L steps. */
    void (*grad_U)(const Model *m, Acts *a, int B);
};

/* Rows of an (L, B, X) tensor at step t. */
static inline size_t cell_at(int t, int B, int X) { return (size_t)t * (size_t)B * (size_t)X; }

#endif
