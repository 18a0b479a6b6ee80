/* The standard GRU cell of docs/method.md: forward and backward of one time step, recurrent weight gradient.
 *   z_t = σ(W_z x_t + U_z h_{t-1} + b_z)      r_t = σ(W_r x_t + U_r h_{t-1} + b_r)
 *   ĥ_t = tanh(W_h x_t + U_h (r_t ⊙ h_{t-1}) + b_h)
 *   h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ ĥ_t
 * gates_t holds [z | r | ĥ] per row, (B, 3H); U = [U_z; U_r; U_h]. */
#include "gru.h"

#include "batchmath.h" /* bm_gemm_packed, bm_gemm_tn, bm_sigmoid, bm_tanh, BM_PATHS */

BM_BODY void gru_forward_step_body(const Layer *m, LayerActs *a, int t, int B, const BmRowInit *init)
{
    const int H = m->H, G3 = 3 * m->H;
    real *gates = a->gates + cell_at(t, B, G3);
    const real *h_prev = a->h + cell_at(t, B, H);
    real *rh = a->rh + cell_at(t, B, H);
    /* [pre_z | pre_r] = (W x̃_t + b)[z r] + h_{t-1} [U_z; U_r]ᵀ: (B, H)·(H, 2H) */
    bm_gemm_packed(gates, G3, h_prev, H, B, &a->packs->fwd[0], 1, init);
    for (int b = 0; b < B; b++) {
        real *gz = gates + (size_t)b * G3, *gr = gz + H;
        const real *hp = h_prev + (size_t)b * H;
        real *rhb = rh + (size_t)b * H;
#pragma omp simd
        for (int j = 0; j < H; j++) {
            /* z, r = σ(pre);  rh_t = r_t ⊙ h_{t-1} */
            gz[j] = bm_sigmoid(gz[j]);
            gr[j] = bm_sigmoid(gr[j]);
            rhb[j] = gr[j] * hp[j];
        }
    }
    /* pre_ĥ = (W x̃_t + b)[h] + (r_t ⊙ h_{t-1}) U_hᵀ: (B, H)·(H, H) */
    BmRowInit h_init;
    if (init) h_init = *init, h_init.bias += 2 * H, h_init.table += 2 * H;
    bm_gemm_packed(gates + 2 * H, G3, rh, H, B, &a->packs->fwd[1], 1, init ? &h_init : NULL);
    for (int b = 0; b < B; b++) {
        real *gz = gates + (size_t)b * G3, *gh = gz + 2 * H;
        const real *hp = h_prev + (size_t)b * H;
        real *h = a->h + cell_at(t + 1, B, H) + (size_t)b * H;
#pragma omp simd
        for (int j = 0; j < H; j++) {
            /* ĥ = tanh(pre);  h_t = (1 − z) ⊙ h_{t-1} + z ⊙ ĥ */
            gh[j] = bm_tanh(gh[j]);
            h[j] = (1 - gz[j]) * hp[j] + gz[j] * gh[j];
        }
    }
}
BM_PATHS(static, gru_forward_step, (const Layer *m, LayerActs *a, int t, int B, const BmRowInit *init), (m, a, t, B, init))

BM_BODY void gru_backward_step_body(const Layer *m, LayerActs *a, int t, int B)
{
    const int H = m->H, G3 = 3 * m->H;
    real *gates = a->gates + cell_at(t, B, G3);
    const real *h_prev = a->h + cell_at(t, B, H);
    real *drh = a->dtmp; /* (B, H) ∂L/∂(r ⊙ h_{t-1}) */
    for (int b = 0; b < B; b++) {
        real *gz = gates + (size_t)b * G3, *gh = gz + 2 * H;
        const real *hp = h_prev + (size_t)b * H, *dh = a->dh + (size_t)b * H;
        real *dhp = a->dh_prev + (size_t)b * H;
#pragma omp simd
        for (int j = 0; j < H; j++) {
            real z = gz[j], hh = gh[j];
            /* ∂pre_z = ∂h ⊙ (ĥ − h_{t-1}) ⊙ σ'(z), σ' = z(1 − z) from the cached gate */
            gz[j] = dh[j] * (hh - hp[j]) * z * (1 - z);
            /* ∂pre_ĥ = ∂h ⊙ z ⊙ (1 − ĥ²), tanh' from the cached ĥ */
            gh[j] = dh[j] * z * (1 - hh * hh);
            /* direct path: ∂h_{t-1} = ∂h ⊙ (1 − z) */
            dhp[j] = dh[j] * (1 - z);
        }
    }
    /* ∂(r ⊙ h_{t-1}) = ∂pre_ĥ U_h: (B, H)·(H, H) */
    bm_gemm_packed(drh, H, gates + 2 * H, G3, B, &a->packs->bwd[1], 0, NULL);
    for (int b = 0; b < B; b++) {
        real *gr = gates + (size_t)b * G3 + H;
        const real *hp = h_prev + (size_t)b * H, *d = drh + (size_t)b * H;
        real *dhp = a->dh_prev + (size_t)b * H;
#pragma omp simd
        for (int j = 0; j < H; j++) {
            real r = gr[j];
            /* ∂pre_r = ∂(r⊙h) ⊙ h_{t-1} ⊙ σ'(r);  ∂h_{t-1} += ∂(r⊙h) ⊙ r */
            gr[j] = d[j] * hp[j] * r * (1 - r);
            dhp[j] += d[j] * r;
        }
    }
    /* ∂h_{t-1} += [∂pre_z | ∂pre_r] [U_z; U_r]: (B, 2H)·(2H, H) */
    bm_gemm_packed(a->dh_prev, H, gates, G3, B, &a->packs->bwd[0], 1, NULL);
}
BM_PATHS(static, gru_backward_step, (const Layer *m, LayerActs *a, int t, int B), (m, a, t, B))

static void gru_grad_U(const Layer *m, LayerActs *a, int B)
{
    const int H = m->H, G3 = 3 * m->H, LB = a->L * B;
    /* [dU_z; dU_r] += Σ_t [∂pre_z | ∂pre_r]ᵀ h_{t-1}: (2H, L·B)·(L·B, H) */
    bm_gemm_tn(a->g.U, H, a->gates, G3, a->h, H, 2 * H, H, LB, 1);
    /* dU_h += Σ_t ∂pre_ĥᵀ (r_t ⊙ h_{t-1}): (H, L·B)·(L·B, H) */
    bm_gemm_tn(a->g.U + (size_t)2 * H * H, H, a->gates + 2 * H, G3, a->rh, H, H, H, LB, 1);
}

/* ∂h_t/∂h_{t-1} ≈ (1 − z) + z·r·|λ(U_h)| at h = 0 with z = r = σ(0): the keep and write
 * coefficients are coupled, so the decay cannot exceed 1 − z + z·r */
static double gru_linear_decay(double forget_bias)
{
    (void)forget_bias; /* the GRU has none */
    return 0.5 + 0.25;
}

const CellOps gru_ops = {
    .name = "gru",
    .G = 3,
    .gates = "zrh",
    .n_blocks = 2,
    .block = {{0, 2}, {2, 1}},
    .uses_rh = 1,
    .keep_gate = -1, /* 1 − z keeps: the same gate as writing */
    .write_gate = 0, /* z */
    .forward_step = gru_forward_step,
    .backward_step = gru_backward_step,
    .grad_U = gru_grad_U,
    .linear_decay = gru_linear_decay,
};
