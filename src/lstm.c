/* The standard LSTM cell: forward and backward of one time step, and the recurrent weight gradient.
 *   i_t = σ(W_i x_t + U_i h_{t-1} + b_i)      f_t = σ(W_f x_t + U_f h_{t-1} + b_f)
 *   o_t = σ(W_o x_t + U_o h_{t-1} + b_o)      g_t = tanh(W_c x_t + U_c h_{t-1} + b_c)
 *   c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t           h_t = o_t ⊙ tanh(c_t)
 * gates_t holds [i | f | o | g] per row, (B, 4H). */
#include "lstm.h"

#include "batchmath.h" /* bm_gemm_*, bm_sigmoid_inplace, bm_tanh_inplace */

static void lstm_forward_step(const Model *m, Acts *a, int t, int B)
{
    const int H = m->H, G4 = 4 * m->H;
    real *gates = a->gates + cell_at(t, B, G4);
    const real *h_prev = a->h + cell_at(t, B, H);
    const real *c_prev = a->c + cell_at(t, B, H);
    real *c = a->c + cell_at(t + 1, B, H);
    real *tc = a->tc + cell_at(t, B, H);
    real *h = a->h + cell_at(t + 1, B, H);

    /* pre_t += h_{t-1} Uᵀ: (B, H)·(H, 4H) */
    bm_gemm_nt(gates, G4, h_prev, H, m->p.U, H, B, G4, H, 1);
    for (int b = 0; b < B; b++) {
        /* i, f, o = σ(pre), g = tanh(pre) */
        bm_sigmoid_inplace(gates + (size_t)b * G4, (size_t)3 * H);
        bm_tanh_inplace(gates + (size_t)b * G4 + 3 * H, (size_t)H);
    }
    for (int b = 0; b < B; b++) {
        const real *gi = gates + (size_t)b * G4, *gf = gi + H, *gg = gi + 3 * H;
        const size_t r = (size_t)b * H;
        /* c_t = f ⊙ c_{t-1} + i ⊙ g */
        for (int j = 0; j < H; j++) c[r + j] = tc[r + j] = gf[j] * c_prev[r + j] + gi[j] * gg[j];
    }
    bm_tanh_inplace(tc, (size_t)B * H);
    for (int b = 0; b < B; b++) {
        const real *go = gates + (size_t)b * G4 + 2 * H;
        const size_t r = (size_t)b * H;
        /* h_t = o ⊙ tanh(c_t) */
        for (int j = 0; j < H; j++) h[r + j] = go[j] * tc[r + j];
    }
}

static void lstm_backward_step(const Model *m, Acts *a, int t, int B)
{
    const int H = m->H, G4 = 4 * m->H;
    const real *gates = a->gates + cell_at(t, B, G4);
    real *dgates = a->dgates + cell_at(t, B, G4);
    const real *c_prev = a->c + cell_at(t, B, H);
    const real *tc = a->tc + cell_at(t, B, H);

    for (int b = 0; b < B; b++) {
        const real *gi = gates + (size_t)b * G4, *gf = gi + H, *go = gi + 2 * H, *gg = gi + 3 * H;
        real *di = dgates + (size_t)b * G4, *df = di + H, *dout = di + 2 * H, *dg = di + 3 * H;
        const size_t r = (size_t)b * H;
        for (int j = 0; j < H; j++) {
            real i = gi[j], f = gf[j], o = go[j], g = gg[j], th = tc[r + j], dh = a->dh[r + j];
            /* ∂c_t = ∂c_t (through c_{t+1}) + ∂h_t ⊙ o ⊙ (1 − tanh²(c_t)), tanh(c_t) cached */
            real dc = a->dc[r + j] + dh * o * (1 - th * th);
            /* σ' = σ(1 − σ) and tanh' = 1 − tanh² from the cached activations */
            di[j] = dc * g * i * (1 - i);              /* ∂pre_i = ∂c ⊙ g ⊙ σ'       */
            df[j] = dc * c_prev[r + j] * f * (1 - f);  /* ∂pre_f = ∂c ⊙ c_{t-1} ⊙ σ' */
            dout[j] = dh * th * o * (1 - o);           /* ∂pre_o = ∂h ⊙ tanh(c) ⊙ σ' */
            dg[j] = dc * i * (1 - g * g);              /* ∂pre_g = ∂c ⊙ i ⊙ tanh'    */
            /* ∂c_{t-1} = ∂c_t ⊙ f_t */
            a->dc[r + j] = dc * f;
        }
    }
    /* ∂h_{t-1} = ∂pre_t U: (B, 4H)·(4H, H) */
    bm_gemm_nn(a->dh_prev, H, dgates, G4, m->p.U, H, B, H, G4, 0);
}

static void lstm_grad_U(const Model *m, Acts *a, int B)
{
    const int H = m->H, G4 = 4 * m->H, LB = a->L * B;
    /* dU += Σ_t ∂pre_tᵀ h_{t-1}: (4H, L·B)·(L·B, H) */
    bm_gemm_tn(a->g.U, H, a->dgates, G4, a->h, H, G4, H, LB, 1);
}

const CellOps lstm_ops = {
    .name = "lstm",
    .G = 4,
    .gates = "ifoc",
    .forward_step = lstm_forward_step,
    .backward_step = lstm_backward_step,
    .grad_U = lstm_grad_U,
};
