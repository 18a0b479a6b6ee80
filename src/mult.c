/* The multiplicative input step of mlstm and mgru:
 *   m_t = W_m x_t + U_m h_{t-1} + b_m,   x̃_t = m_t ⊙ x_t */
#include "mult.h"

#include "batchmath.h" /* bm_gemm_*, bm_fill_rows, bm_add_colsum, bm_dot, BM_PATHS */

BM_BODY void mult_forward_onehot_body(const Layer *m, LayerActs *a, int t, int B)
{
    const int I = m->I, H = m->H;
    const int32_t *sym = a->sym + (size_t)t * B;
    const real *h_prev = a->h + cell_at(t, B, H);
    for (int b = 0; b < B; b++) {
        const int s = sym[b];
        const real *u = m->p.U_m + (size_t)s * H, *hp = h_prev + (size_t)b * H;
        /* m_t[s] = W_m[s, s] + U_m[s]·h_{t-1} + b_m[s] */
        a->msym[(size_t)t * B + b] = m->p.W_m[(size_t)s * I + s] + bm_dot(u, hp, H) + m->p.b_m[s];
    }
}
BM_PATHS(, mult_forward_onehot, (const Layer *m, LayerActs *a, int t, int B), (m, a, t, B))

BM_BODY void mult_backward_onehot_body(const Layer *m, LayerActs *a, int t, int B)
{
    const int I = m->I, H = m->H, GH = m->G * m->H;
    const int32_t *sym = a->sym + (size_t)t * B;
    const real *h_prev = a->h + cell_at(t, B, H), *dpre = a->gates + cell_at(t, B, GH);
    for (int b = 0; b < B; b++) {
        const int s = sym[b];
        const real *w = a->packs->WT + (size_t)s * GH, *d = dpre + (size_t)b * GH, *hp = h_prev + (size_t)b * H;
        /* ∂m_t[s] = ∂x̃_t[s] = ∂pre_t · W[:, s]  (x_t[s] = 1) */
        const real dm = bm_dot(d, w, GH);
        const real *u = m->p.U_m + (size_t)s * H;
        real *dhp = a->dh_prev + (size_t)b * H, *du = a->g.U_m + (size_t)s * H;
        /* ∂h_{t-1} += ∂m_t[s] U_m[s];  dU_m[s] += ∂m_t[s] h_{t-1};  dW_m[s, s], db_m[s] += ∂m_t[s] */
#pragma omp simd
        for (int j = 0; j < H; j++) {
            dhp[j] += dm * u[j];
            du[j] += dm * hp[j];
        }
        a->g.W_m[(size_t)s * I + s] += dm;
        a->g.b_m[s] += dm;
    }
}
BM_PATHS(, mult_backward_onehot, (const Layer *m, LayerActs *a, int t, int B), (m, a, t, B))

void mult_forward_input(const Layer *m, LayerActs *a, int B)
{
    const int I = m->I, LB = a->L * B;
    /* m_t = W_m x_t + b_m for all t: (L·B, I)·(I, I) */
    bm_fill_rows(a->m, m->p.b_m, LB, I);
    bm_gemm_nt(a->m, I, a->x, I, m->p.W_m, I, LB, I, I, 1);
}

void mult_forward_step(const Layer *m, LayerActs *a, int t, int B)
{
    const int I = m->I, H = m->H;
    real *m_t = a->m + cell_at(t, B, I);
    const real *x = a->x + cell_at(t, B, I);
    real *xt = a->xt + cell_at(t, B, I);
    /* m_t += U_m h_{t-1}: (B, H)·(H, I) */
    bm_gemm_nt(m_t, I, a->h + cell_at(t, B, H), H, m->p.U_m, H, B, I, H, 1);
    /* x̃_t = m_t ⊙ x_t */
    for (size_t k = 0; k < (size_t)B * I; k++) xt[k] = m_t[k] * x[k];
}

void mult_backward_step(const Layer *m, LayerActs *a, int t, int B)
{
    const int I = m->I, H = m->H, GH = m->G * m->H;
    const real *x = a->x + cell_at(t, B, I);
    real *dm = a->dm + cell_at(t, B, I);
    real *dxt = a->dtmp; /* (B, I) */
    /* ∂x̃_t = ∂pre_t W: (B, G·H)·(G·H, I) */
    bm_gemm_nn(dxt, I, a->gates + cell_at(t, B, GH), GH, m->p.W, I, B, I, GH, 0);
    /* ∂m_t = ∂x̃_t ⊙ x_t */
    for (size_t k = 0; k < (size_t)B * I; k++) dm[k] = dxt[k] * x[k];
    /* ∂h_{t-1} += ∂m_t U_m: (B, I)·(I, H) */
    bm_gemm_nn(a->dh_prev, H, dm, I, m->p.U_m, H, B, H, I, 1);
}

void mult_grads(const Layer *m, LayerActs *a, int B)
{
    const int I = m->I, H = m->H, LB = a->L * B;
    /* dW_m += Σ_t ∂m_tᵀ x_t: (I, L·B)·(L·B, I) */
    bm_gemm_tn(a->g.W_m, I, a->dm, I, a->x, I, I, I, LB, 1);
    /* dU_m += Σ_t ∂m_tᵀ h_{t-1}: (I, L·B)·(L·B, H) */
    bm_gemm_tn(a->g.U_m, H, a->dm, I, a->h, H, I, H, LB, 1);
    /* db_m += Σ_t Σ_b ∂m_t */
    bm_add_colsum(a->g.b_m, a->dm, I, LB, I);
}
