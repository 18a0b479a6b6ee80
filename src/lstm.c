/* The standard LSTM cell: forward and backward of one time step, and the recurrent weight gradient.
 *   i_t = σ(W_i x_t + U_i h_{t-1} + b_i)      f_t = σ(W_f x_t + U_f h_{t-1} + b_f)
 *   o_t = σ(W_o x_t + U_o h_{t-1} + b_o)      g_t = tanh(W_c x_t + U_c h_{t-1} + b_c)
 *   c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t           h_t = o_t ⊙ tanh(c_t)
 * gates_t holds [i | f | o | g] per row, (B, 4H). */
#include "lstm.h"

#include <math.h> /* exp */

#include "batchmath.h" /* bm_gemm_packed, bm_gemm_tn, bm_sigmoid, bm_tanh, BM_PATHS */

BM_BODY void lstm_forward_step_body(const Layer *m, LayerActs *a, int t, int B, const BmRowInit *init)
{
    const int H = m->H, G4 = 4 * m->H;
    real *gates = a->gates + cell_at(t, B, G4);
    /* pre_t = (W x̃_t + b) + h_{t-1} Uᵀ: (B, H)·(H, 4H) */
    bm_gemm_packed(gates, G4, a->h + cell_at(t, B, H), H, B, &a->packs->fwd[0], 1, init);
    for (int b = 0; b < B; b++) {
        real *gi = gates + (size_t)b * G4, *gf = gi + H, *go = gi + 2 * H, *gg = gi + 3 * H;
        const real *c_prev = a->c + cell_at(t, B, H) + (size_t)b * H;
        real *c = a->c + cell_at(t + 1, B, H) + (size_t)b * H, *h = a->h + cell_at(t + 1, B, H) + (size_t)b * H;
        /* two passes, so that each holds shorter chains of dependent operations (the loop is bound by
         * their latency, not by the number of operations) */
#pragma omp simd
        for (int j = 0; j < H; j++) {
            /* i, f, o = σ(pre), g = tanh(pre) */
            real i = bm_sigmoid(gi[j]), f = bm_sigmoid(gf[j]), g = bm_tanh(gg[j]);
            gi[j] = i, gf[j] = f, go[j] = bm_sigmoid(go[j]), gg[j] = g;
            /* c_t = f ⊙ c_{t-1} + i ⊙ g */
            c[j] = f * c_prev[j] + i * g;
        }
#pragma omp simd
        for (int j = 0; j < H; j++) {
            /* h_t = o ⊙ tanh(c_t) */
            h[j] = go[j] * bm_tanh(c[j]);
        }
    }
}
BM_PATHS(static, lstm_forward_step, (const Layer *m, LayerActs *a, int t, int B, const BmRowInit *init), (m, a, t, B, init))

BM_BODY void lstm_backward_step_body(const Layer *m, LayerActs *a, int t, int B)
{
    const int H = m->H, G4 = 4 * m->H;
    real *gates = a->gates + cell_at(t, B, G4);
    for (int b = 0; b < B; b++) {
        real *gi = gates + (size_t)b * G4, *gf = gi + H, *go = gi + 2 * H, *gg = gi + 3 * H;
        const real *c_prev = a->c + cell_at(t, B, H) + (size_t)b * H, *c = a->c + cell_at(t + 1, B, H) + (size_t)b * H;
        const real *dh = a->dh + (size_t)b * H;
        real *dc = a->dc + (size_t)b * H;
#pragma omp simd
        for (int j = 0; j < H; j++) {
            /* the cached gates; tanh(c_t) recomputed rather than stored */
            real i = gi[j], f = gf[j], o = go[j], g = gg[j], th = bm_tanh(c[j]);
            /* ∂c_t = ∂c_t (through c_{t+1}) + ∂h_t ⊙ o ⊙ (1 − tanh²(c_t)) */
            real dct = dc[j] + dh[j] * o * (1 - th * th);
            /* σ' = σ(1 − σ) and tanh' = 1 − tanh², written over the activations they came from */
            gi[j] = dct * g * i * (1 - i);          /* ∂pre_i = ∂c ⊙ g ⊙ σ'       */
            gf[j] = dct * c_prev[j] * f * (1 - f);  /* ∂pre_f = ∂c ⊙ c_{t-1} ⊙ σ' */
            go[j] = dh[j] * th * o * (1 - o);       /* ∂pre_o = ∂h ⊙ tanh(c) ⊙ σ' */
            gg[j] = dct * i * (1 - g * g);          /* ∂pre_g = ∂c ⊙ i ⊙ tanh'    */
            /* ∂c_{t-1} = ∂c_t ⊙ f_t */
            dc[j] = dct * f;
        }
    }
    /* ∂h_{t-1} = ∂pre_t U: (B, 4H)·(4H, H) */
    bm_gemm_packed(a->dh_prev, H, gates, G4, B, &a->packs->bwd[0], 0, NULL);
}
BM_PATHS(static, lstm_backward_step, (const Layer *m, LayerActs *a, int t, int B), (m, a, t, B))

static void lstm_grad_U(const Layer *m, LayerActs *a, int B)
{
    const int H = m->H, G4 = 4 * m->H, LB = a->L * B;
    /* dU += Σ_t ∂pre_tᵀ h_{t-1}: (4H, L·B)·(L·B, H) */
    bm_gemm_tn(a->g.U, H, a->gates, G4, a->h, H, G4, H, LB, 1);
}

/* ∂c_t/∂c_{t-1} ≈ f + i·o·|λ(U_c)| at h = 0: σ(b_f) + σ(0)² */
static double lstm_linear_decay(double forget_bias) { return 1 / (1 + exp(-forget_bias)) + 0.25; }

const CellOps lstm_ops = {
    .name = "lstm",
    .G = 4,
    .gates = "ifoc",
    .n_blocks = 1,
    .block = {{0, 4}},
    .uses_c = 1,
    .keep_gate = 1,  /* f */
    .write_gate = 0, /* i */
    .forward_step = lstm_forward_step,
    .backward_step = lstm_backward_step,
    .grad_U = lstm_grad_U,
    .linear_decay = lstm_linear_decay,
};
