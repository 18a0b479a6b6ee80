/* The plain tanh RNN cell of docs/method.md: forward and backward of one time step, recurrent weight gradient.
 *   h_t = tanh(W x_t + U h_{t-1} + b)
 * gates_t holds h_t itself per row, (B, H): the cell's one "gate" is its new state. */
#include "rnn.h"

#include "batchmath.h" /* bm_gemm_packed, bm_gemm_tn, bm_tanh, BM_PATHS */

BM_BODY void rnn_forward_step_body(const Layer *m, LayerActs *a, int t, int B, const BmRowInit *init)
{
    const int H = m->H;
    real *pre = a->gates + cell_at(t, B, H);
    /* pre_t = (W x̃_t + b) + h_{t-1} Uᵀ: (B, H)·(H, H) */
    bm_gemm_packed(pre, H, a->h + cell_at(t, B, H), H, B, &a->packs->fwd[0], 1, init);
    real *h = a->h + cell_at(t + 1, B, H);
#pragma omp simd
    for (size_t k = 0; k < (size_t)B * H; k++) {
        /* h_t = tanh(pre_t) */
        pre[k] = bm_tanh(pre[k]);
        h[k] = pre[k];
    }
}
BM_PATHS(static, rnn_forward_step, (const Layer *m, LayerActs *a, int t, int B, const BmRowInit *init), (m, a, t, B, init))

BM_BODY void rnn_backward_step_body(const Layer *m, LayerActs *a, int t, int B)
{
    const int H = m->H;
    real *g = a->gates + cell_at(t, B, H);
#pragma omp simd
    for (size_t k = 0; k < (size_t)B * H; k++) {
        /* ∂pre = ∂h ⊙ (1 − h_t²), tanh' from the cached h_t */
        g[k] = a->dh[k] * (1 - g[k] * g[k]);
    }
    /* ∂h_{t-1} = ∂pre U: (B, H)·(H, H) */
    bm_gemm_packed(a->dh_prev, H, g, H, B, &a->packs->bwd[0], 0, NULL);
}
BM_PATHS(static, rnn_backward_step, (const Layer *m, LayerActs *a, int t, int B), (m, a, t, B))

static void rnn_grad_U(const Layer *m, LayerActs *a, int B)
{
    const int H = m->H, LB = a->L * B;
    /* dU += Σ_t ∂pre_tᵀ h_{t-1}: (H, L·B)·(L·B, H) */
    bm_gemm_tn(a->g.U, H, a->gates, H, a->h, H, H, H, LB, 1);
}

/* ∂h_t/∂h_{t-1} = (1 − h_t²) U ≈ U at h = 0: |λ(U)| */
static double rnn_linear_decay(double forget_bias)
{
    (void)forget_bias; /* the RNN has no gate */
    return 1.0;
}

const CellOps rnn_ops = {
    .name = "rnn",
    .G = 1,
    .gates = "h",
    .n_blocks = 1,
    .block = {{0, 1}},
    .keep_gate = -1, /* no gates: no forget bias, no chrono initialization */
    .write_gate = -1,
    .forward_step = rnn_forward_step,
    .backward_step = rnn_backward_step,
    .grad_U = rnn_grad_U,
    .linear_decay = rnn_linear_decay,
};
