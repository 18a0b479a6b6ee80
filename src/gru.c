/* The standard GRU cell of SPEC: forward and backward of one time step, recurrent weight gradient.
 *   z_t = σ(W_z x_t + U_z h_{t-1} + b_z)      r_t = σ(W_r x_t + U_r h_{t-1} + b_r)
 *   ĥ_t = tanh(W_h x_t + U_h (r_t ⊙ h_{t-1}) + b_h)
 *   h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ ĥ_t
 * gates_t holds [z | r | ĥ] per row, (B, 3H); U = [U_z; U_r; U_h]. */
#include "gru.h"

#include "batchmath.h" /* bm_gemm_*, bm_sigmoid_inplace, bm_tanh_inplace */

static void gru_forward_step(const Model *m, Acts *a, int t, int B)
{
    const int H = m->H, G3 = 3 * m->H;
    real *gates = a->gates + cell_at(t, B, G3);
    const real *h_prev = a->h + cell_at(t, B, H);
    real *rh = a->rh + cell_at(t, B, H);
    real *h = a->h + cell_at(t + 1, B, H);
    const real *U_h = m->p.U + (size_t)2 * H * H;

    /* [pre_z | pre_r] += h_{t-1} [U_z; U_r]ᵀ: (B, H)·(H, 2H) */
    bm_gemm_nt(gates, G3, h_prev, H, m->p.U, H, B, 2 * H, H, 1);
    for (int b = 0; b < B; b++) {
        real *gz = gates + (size_t)b * G3, *gr = gz + H;
        const size_t r = (size_t)b * H;
        /* z, r = σ(pre) */
        bm_sigmoid_inplace(gz, (size_t)2 * H);
        /* rh_t = r_t ⊙ h_{t-1} */
        for (int j = 0; j < H; j++) rh[r + j] = gr[j] * h_prev[r + j];
    }
    /* pre_ĥ += (r_t ⊙ h_{t-1}) U_hᵀ: (B, H)·(H, H) */
    bm_gemm_nt(gates + 2 * H, G3, rh, H, U_h, H, B, H, H, 1);
    for (int b = 0; b < B; b++) {
        real *gz = gates + (size_t)b * G3, *gh = gz + 2 * H;
        const size_t r = (size_t)b * H;
        /* ĥ = tanh(pre) */
        bm_tanh_inplace(gh, (size_t)H);
        /* h_t = (1 − z) ⊙ h_{t-1} + z ⊙ ĥ */
        for (int j = 0; j < H; j++) h[r + j] = (1 - gz[j]) * h_prev[r + j] + gz[j] * gh[j];
    }
}

static void gru_backward_step(const Model *m, Acts *a, int t, int B)
{
    const int H = m->H, G3 = 3 * m->H;
    const real *gates = a->gates + cell_at(t, B, G3);
    real *dgates = a->dgates + cell_at(t, B, G3);
    const real *h_prev = a->h + cell_at(t, B, H);
    const real *U_h = m->p.U + (size_t)2 * H * H;
    real *drh = a->dtmp; /* (B, H) ∂L/∂(r ⊙ h_{t-1}) */

    for (int b = 0; b < B; b++) {
        const real *gz = gates + (size_t)b * G3, *gh = gz + 2 * H;
        real *dz = dgates + (size_t)b * G3, *dhh = dz + 2 * H;
        const size_t r = (size_t)b * H;
        for (int j = 0; j < H; j++) {
            real dh = a->dh[r + j], z = gz[j], hh = gh[j];
            /* ∂pre_z = ∂h ⊙ (ĥ − h_{t-1}) ⊙ σ'(z), σ' = z(1 − z) from the cached gate */
            dz[j] = dh * (hh - h_prev[r + j]) * z * (1 - z);
            /* ∂pre_ĥ = ∂h ⊙ z ⊙ (1 − ĥ²), tanh' from the cached ĥ */
            dhh[j] = dh * z * (1 - hh * hh);
            /* direct path: ∂h_{t-1} = ∂h ⊙ (1 − z) */
            a->dh_prev[r + j] = dh * (1 - z);
        }
    }
    /* ∂(r ⊙ h_{t-1}) = ∂pre_ĥ U_h: (B, H)·(H, H) */
    bm_gemm_nn(drh, H, dgates + 2 * H, G3, U_h, H, B, H, H, 0);
    for (int b = 0; b < B; b++) {
        const real *gr = gates + (size_t)b * G3 + H;
        real *dr = dgates + (size_t)b * G3 + H;
        const size_t r = (size_t)b * H;
        for (int j = 0; j < H; j++) {
            /* ∂pre_r = ∂(r⊙h) ⊙ h_{t-1} ⊙ σ'(r);  ∂h_{t-1} += ∂(r⊙h) ⊙ r */
            dr[j] = drh[r + j] * h_prev[r + j] * gr[j] * (1 - gr[j]);
            a->dh_prev[r + j] += drh[r + j] * gr[j];
        }
    }
    /* ∂h_{t-1} += [∂pre_z | ∂pre_r] [U_z; U_r]: (B, 2H)·(2H, H) */
    bm_gemm_nn(a->dh_prev, H, dgates, G3, m->p.U, H, B, H, 2 * H, 1);
}

static void gru_grad_U(const Model *m, Acts *a, int B)
{
    const int H = m->H, G3 = 3 * m->H, LB = a->L * B;
    /* [dU_z; dU_r] += Σ_t [∂pre_z | ∂pre_r]ᵀ h_{t-1}: (2H, L·B)·(L·B, H) */
    bm_gemm_tn(a->g.U, H, a->dgates, G3, a->h, H, 2 * H, H, LB, 1);
    /* dU_h += Σ_t ∂pre_ĥᵀ (r_t ⊙ h_{t-1}): (H, L·B)·(L·B, H) */
    bm_gemm_tn(a->g.U + (size_t)2 * H * H, H, a->dgates + 2 * H, G3, a->rh, H, H, H, LB, 1);
}

const CellOps gru_ops = {
    .name = "gru",
    .G = 3,
    .gates = "zrh",
    .forward_step = gru_forward_step,
    .backward_step = gru_backward_step,
    .grad_U = gru_grad_U,
};
