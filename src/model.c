/* The model: parameter layout and initialization, output layer and loss, chunked batches. */
#include "model.h"

#include <math.h>   /* sqrt, log, log1p, exp, fabs */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* free */
#include <string.h> /* memset, memcpy */

#include "batchmath.h" /* bm_* */
#include "check.h"     /* CS_ALLOC, CS_FAIL */
#include "gru.h"       /* gru_ops */
#include "lstm.h"      /* lstm_ops */
#include "mult.h"      /* mult_* */
#include "rng.h"       /* Rng, RNG_KEY */

/* ---- parameter layout -------------------------------------------------------------------- */

void model_views(const Model *m, real *base, Params *v)
{
    const size_t I = m->I, H = m->H, K = m->K, GH = (size_t)m->G * m->H;
    real *p = base;
    memset(v, 0, sizeof *v);
    if (m->mult) {
        v->W_m = p, p += I * I;
        v->U_m = p, p += I * H;
        v->b_m = p, p += I;
    }
    v->W = p, p += GH * I;
    v->U = p, p += GH * H;
    v->b = p, p += GH;
    v->W_y = p, p += K * H;
    v->b_y = p, p += K;
}

static size_t model_count_params(const Model *m)
{
    const size_t I = m->I, H = m->H, K = m->K, GH = (size_t)m->G * m->H;
    return (m->mult ? I * I + I * H + I : 0) + GH * (I + H + 1) + K * H + K;
}

size_t model_param_count(const Settings *s)
{
    TaskShape sh = task_shape(s);
    Model m = {.kind = s->model, .I = sh.I, .H = s->hidden, .K = sh.K};
    m.mult = (s->model == MODEL_MLSTM || s->model == MODEL_MGRU);
    m.G = (s->model == MODEL_LSTM || s->model == MODEL_MLSTM) ? lstm_ops.G : gru_ops.G;
    return model_count_params(&m);
}

void model_init(Model *m, int kind, const TaskShape *sh, int hidden)
{
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->ops = (kind == MODEL_LSTM || kind == MODEL_MLSTM) ? &lstm_ops : &gru_ops;
    m->mult = (kind == MODEL_MLSTM || kind == MODEL_MGRU);
    m->I = sh->I;
    m->H = hidden;
    m->K = sh->K;
    m->G = m->ops->G;
    m->n_params = model_count_params(m);
    m->mem = CS_CALLOC(m->n_params * sizeof(real));
    model_views(m, m->mem, &m->p);
}

void model_free(Model *m)
{
    free(m->mem);
    m->mem = NULL;
}

int model_tensors(const Model *m, Tensor *out)
{
    const int I = m->I, H = m->H, K = m->K, G = m->G;
    const char *gates = m->ops->gates;
    int n = 0;
#define ADD(ptr, r, c, ...)                                                                        \
    do {                                                                                           \
        snprintf(out[n].name, sizeof out[n].name, __VA_ARGS__);                                    \
        out[n].offset = (size_t)((ptr) - m->mem), out[n].rows = (r), out[n].cols = (c), n++;       \
    } while (0)
    if (m->mult) {
        ADD(m->p.W_m, I, I, "W_m");
        ADD(m->p.U_m, I, H, "U_m");
        ADD(m->p.b_m, I, 0, "b_m");
    }
    for (int g = 0; g < G; g++) ADD(m->p.W + (size_t)g * H * I, H, I, "W_%c", gates[g]);
    for (int g = 0; g < G; g++) ADD(m->p.U + (size_t)g * H * H, H, H, "U_%c", gates[g]);
    for (int g = 0; g < G; g++) ADD(m->p.b + (size_t)g * H, H, 0, "b_%c", gates[g]);
    ADD(m->p.W_y, K, H, "W_y");
    ADD(m->p.b_y, K, 0, "b_y");
#undef ADD
    return n;
}

/* ---- initialization ---------------------------------------------------------------------- */

/* w (rows, cols) ~ U(-a, a) */
static void init_uniform(real *w, size_t n, double a, Rng *r)
{
    for (size_t k = 0; k < n; k++) w[k] = (real)((2 * rng_uniform(r) - 1) * a);
}

/* Glorot/Xavier: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)) keeps the variance of
 * activations and gradients equal across the layer. */
static void init_glorot(real *w, int rows, int cols, Rng *r)
{
    init_uniform(w, (size_t)rows * cols, sqrt(6.0 / (rows + cols)), r);
}

/* A random orthogonal (n, n) matrix: Gram-Schmidt (modified, in double) on Gaussian rows. */
static void init_orthogonal(real *w, int n, Rng *r)
{
    double *q = CS_ALLOC((size_t)n * n * sizeof *q);
    for (size_t k = 0; k < (size_t)n * n; k++) q[k] = rng_normal(r);
    for (int i = 0; i < n; i++) {
        double *qi = q + (size_t)i * n;
        for (int j = 0; j < i; j++) {
            const double *qj = q + (size_t)j * n;
            double dot = 0;
            for (int k = 0; k < n; k++) dot += qi[k] * qj[k];
            for (int k = 0; k < n; k++) qi[k] -= dot * qj[k];
        }
        double norm = 0;
        for (int k = 0; k < n; k++) norm += qi[k] * qi[k];
        norm = sqrt(norm);
        for (int k = 0; k < n; k++) qi[k] /= norm;
    }
    for (size_t k = 0; k < (size_t)n * n; k++) w[k] = (real)q[k];
    free(q);
}

void model_init_weights(Model *m, const Settings *s)
{
    const int I = m->I, H = m->H, G = m->G;
    Rng r = rng_stream(RNG_KEY(RNG_INIT, (uint64_t)s->seed, (uint64_t)m->kind));
    memset(m->mem, 0, m->n_params * sizeof(real));
    if (m->mult) {
        /* m_t ≈ 1 at start, so x̃_t ≈ x_t: W_m, U_m small, b_m = 1 */
        init_uniform(m->p.W_m, (size_t)I * I, s->mult_init, &r);
        init_uniform(m->p.U_m, (size_t)I * H, s->mult_init, &r);
        for (int k = 0; k < I; k++) m->p.b_m[k] = 1;
    }
    for (int g = 0; g < G; g++) init_glorot(m->p.W + (size_t)g * H * I, H, I, &r);
    for (int g = 0; g < G; g++) {
        real *U_g = m->p.U + (size_t)g * H * H;
        if (s->init_u == INIT_ORTHOGONAL)
            init_orthogonal(U_g, H, &r);
        else
            init_glorot(U_g, H, H, &r);
    }
    if (m->ops == &lstm_ops)
        for (int j = 0; j < H; j++) m->p.b[H + j] = (real)s->forget_bias; /* b_f: gate 1 of "ifoc" */
    init_glorot(m->p.W_y, m->K, H, &r);
}

/* ---- activations -------------------------------------------------------------------------- */

/* Carve a's views from base (or only count the bytes when base is NULL); returns the bytes used. */
static size_t acts_carve(Acts *a, const Model *m, const TaskShape *sh, int B, char *base)
{
    const size_t L = sh->L, N = sh->n_out, I = m->I, H = m->H, K = m->K, GH = (size_t)m->G * m->H;
    const int lstm = m->ops == &lstm_ops, dense = !sh->one_hot;
    size_t off = 0;
#define CARVE(field, count)                                                                        \
    do {                                                                                           \
        size_t bytes_ = (count) * sizeof *a->field;                                                \
        a->field = (base && bytes_) ? (void *)(base + off) : NULL;                                 \
        off += (bytes_ + 63) / 64 * 64; /* 64-byte aligned views */                                \
    } while (0)
    CARVE(sym, dense ? 0 : L * B);
    CARVE(x, dense ? L * B * I : 0);
    CARVE(m, dense && m->mult ? L * B * I : 0);
    CARVE(xt, dense && m->mult ? L * B * I : 0);
    CARVE(msym, !dense && m->mult ? L * B : 0);
    CARVE(gates, L * B * GH);
    CARVE(h, (L + 1) * B * H);
    CARVE(c, lstm ? (L + 1) * B * H : 0);
    CARVE(rh, lstm ? 0 : L * B * H);
    CARVE(probs, N * B * K);
    CARVE(y, N * B);
    CARVE(dm, dense && m->mult ? L * B * I : 0);
    CARVE(dh, B * H);
    CARVE(dh_prev, B * H);
    CARVE(dc, lstm ? B * H : 0);
    CARVE(dtmp, B * (H > I ? H : I));
    CARVE(dWT, dense ? 0 : I * GH);
    CARVE(flow, L);
    CARVE(pos_correct, N);
    CARVE(pos_total, N);
    CARVE(grad, m->n_params);
#undef CARVE
    if (base) {
        if (dense && !m->mult) a->xt = a->x;
        a->L = (int)L, a->N = (int)N, a->out_start = sh->out_start, a->B_max = B, a->one_hot = sh->one_hot;
        a->bce = sh->bce;
        model_views(m, a->grad, &a->g);
    }
    return off;
}

int workspace_init(Workspace *w, const Model *m, const TaskShape *sh, int batch, int chunk, size_t *need)
{
    memset(w, 0, sizeof *w);
    w->L = sh->L;
    w->B_max = batch;
    w->chunk = chunk < batch ? chunk : batch;
    w->n_chunks = (batch + w->chunk - 1) / w->chunk;
    Acts probe;
    size_t per_chunk = acts_carve(&probe, m, sh, w->chunk, NULL);
    w->bytes = per_chunk * (size_t)w->n_chunks;
    if (need) *need = w->bytes;
    w->mem = cs_try_calloc(per_chunk * (size_t)w->n_chunks);
    if (!w->mem) return -1;
    w->acts = CS_CALLOC((size_t)w->n_chunks * sizeof *w->acts);
    for (int c = 0; c < w->n_chunks; c++) {
        acts_carve(&w->acts[c], m, sh, w->chunk, (char *)w->mem + (size_t)c * per_chunk);
        w->acts[c].packs = &w->packs;
    }
    /* the packed weights: forward and backward layouts of U, and Wᵀ */
    const int H = m->H, GH = m->G * m->H, lstm = m->ops == &lstm_ops;
    size_t sizes[5] = {lstm ? bm_packed_size(H, GH) : bm_packed_size(H, 2 * H), lstm ? 0 : bm_packed_size(H, H),
                       lstm ? bm_packed_size(GH, H) : bm_packed_size(2 * H, H), lstm ? 0 : bm_packed_size(H, H),
                       (size_t)m->I * GH};
    size_t total = 0;
    for (int k = 0; k < 5; k++) total += sizes[k];
    w->packs.mem = CS_ALLOC(total * sizeof(real));
    real *p = w->packs.mem;
    w->packs.fwd[0].p = p, p += sizes[0];
    w->packs.fwd[1].p = p, p += sizes[1];
    w->packs.bwd[0].p = p, p += sizes[2];
    w->packs.bwd[1].p = p, p += sizes[3];
    w->packs.WT = p;
    return 0;
}

void workspace_free(Workspace *w)
{
    free(w->mem);
    free(w->acts);
    free(w->packs.mem);
    memset(w, 0, sizeof *w);
}

/* The weights in the layouts of the time steps (see Packs), for the current weights. */
static void model_pack(const Model *m, Packs *pk)
{
    const int I = m->I, H = m->H, GH = m->G * m->H;
    const real *U = m->p.U;
    if (m->ops == &lstm_ops) {
        bm_pack(&pk->fwd[0], pk->fwd[0].p, U, H, GH, 1, H); /* Uᵀ: (k, n) = U[n][k] */
        bm_pack(&pk->bwd[0], pk->bwd[0].p, U, GH, H, H, 1); /* U:  (k, n) = U[k][n] */
    } else {
        const real *U_h = U + (size_t)2 * H * H;
        bm_pack(&pk->fwd[0], pk->fwd[0].p, U, H, 2 * H, 1, H);
        bm_pack(&pk->fwd[1], pk->fwd[1].p, U_h, H, H, 1, H);
        bm_pack(&pk->bwd[0], pk->bwd[0].p, U, 2 * H, H, H, 1);
        bm_pack(&pk->bwd[1], pk->bwd[1].p, U_h, H, H, H, 1);
    }
    for (int s = 0; s < I; s++)
        for (int n = 0; n < GH; n++) pk->WT[(size_t)s * GH + n] = m->p.W[(size_t)n * I + s];
}

void model_prepare(const Model *m, Workspace *w) { model_pack(m, &w->packs); }

/* ---- forward, loss, backward of one chunk ------------------------------------------------ */

/* From ∂pre_t: dWᵀ[s] += x̃_t[s] ∂pre_t and db += ∂pre_t for one-hot inputs (and the mult step). */
BM_VECTOR_CLONES static void input_backward_onehot(const Model *m, Acts *a, int t, int B)
{
    const int GH = m->G * m->H;
    if (m->mult) mult_backward_onehot(m, a, t, B);
    for (int b = 0; b < B; b++) {
        const int s = a->sym[(size_t)t * B + b];
        const real scale = m->mult ? a->msym[(size_t)t * B + b] : 1;
        const real *d = a->gates + cell_at(t, B, GH) + (size_t)b * GH;
        real *dw = a->dWT + (size_t)s * GH;
#pragma omp simd
        for (int n = 0; n < GH; n++) {
            dw[n] += scale * d[n];
            a->g.b[n] += d[n];
        }
    }
}

void model_forward(const Model *m, Acts *a, int B)
{
    const int I = m->I, H = m->H, K = m->K, GH = m->G * m->H, L = a->L;
    memset(a->h, 0, (size_t)B * H * sizeof *a->h); /* h_0 = 0 */
    if (a->c) memset(a->c, 0, (size_t)B * H * sizeof *a->c); /* c_0 = 0 */
    if (!a->one_hot) {
        if (m->mult) {
            mult_forward_input(m, a, B);
        } else {
            /* pre_t = W x_t + b for all t: (L·B, I)·(I, G·H) */
            bm_fill_rows(a->gates, m->p.b, L * B, GH);
            bm_gemm_nt(a->gates, GH, a->x, I, m->p.W, I, L * B, GH, I, 1);
        }
    }
    for (int t = 0; t < L; t++) {
        if (a->one_hot) {
            /* gates_t starts as b + W x̃_t = b + x̃_t[s]·W[:, s], s the input symbol, inside the product */
            if (m->mult) mult_forward_onehot(m, a, t, B);
            const BmRowInit init = {.bias = m->p.b, .table = a->packs->WT, .ld = GH, .sym = a->sym + (size_t)t * B,
                                    .scale = m->mult ? a->msym + (size_t)t * B : NULL};
            m->ops->forward_step(m, a, t, B, &init);
            continue;
        }
        if (m->mult) {
            mult_forward_step(m, a, t, B);
            /* pre_t = W x̃_t + b: (B, I)·(I, G·H) */
            real *gates = a->gates + cell_at(t, B, GH);
            bm_fill_rows(gates, m->p.b, B, GH);
            bm_gemm_nt(gates, GH, a->xt + cell_at(t, B, I), I, m->p.W, I, B, GH, I, 1);
        }
        m->ops->forward_step(m, a, t, B, NULL);
    }
    /* y_t = W_y h_t + b_y on the scored steps: (N·B, H)·(H, K) */
    bm_fill_rows(a->probs, m->p.b_y, a->N * B, K);
    bm_gemm_nt(a->probs, K, a->h + cell_at(a->out_start + 1, B, H), H, m->p.W_y, H, a->N * B, K, H, 1);
}

/* Cross-entropy of softmax(p) at class y; p becomes the softmax. Returns the loss, *hit the argmax. */
static double score_softmax(real *p, int K, int y, int *hit)
{
    int best = 0;
    real mx = p[0];
    for (int k = 1; k < K; k++)
        if (p[k] > mx) mx = p[k], best = k;
    /* softmax(p) = e^{p − max} / Σ e^{p − max};  −log softmax_y = log Σ − (p_y − max) */
    double shifted_y = (double)p[y] - mx, sum = 0;
    for (int k = 0; k < K; k++) sum += (p[k] = bm_exp(p[k] - mx));
    for (int k = 0; k < K; k++) p[k] = (real)(p[k] / sum);
    *hit = best == y;
    return log(sum) - shifted_y;
}

/* Σ over the K bits of the binary cross-entropy of σ(p_k) at bit k of y; p becomes σ(p).
 * Returns the loss, *hits the bits right (p_k > 0 predicts 1). */
static double score_bits(real *p, int K, int y, int *hits)
{
    double loss = 0;
    *hits = 0;
    for (int k = 0; k < K; k++) {
        const double z = p[k], bit = (y >> k) & 1;
        /* −[b log σ(z) + (1−b) log(1 − σ(z))] = max(z, 0) − b·z + log(1 + e^{−|z|}) */
        loss += (z > 0 ? z : 0) - bit * z + log1p(exp(-fabs(z)));
        *hits += (z > 0) == (bit > 0);
        p[k] = (real)(1 / (1 + exp(-z)));
    }
    return loss;
}

void model_score(const Model *m, Acts *a, int B, Metrics *out)
{
    const int K = m->K, N = a->N, per = a->bce ? K : 1; /* predictions per target */
    Metrics s = {0};
    memset(a->pos_correct, 0, (size_t)N * sizeof *a->pos_correct);
    memset(a->pos_total, 0, (size_t)N * sizeof *a->pos_total);
    unsigned char seq_ok[B]; /* B ≤ chunk size, small */
    memset(seq_ok, 1, sizeof seq_ok);
    for (int j = 0; j < N; j++)
        for (int b = 0; b < B; b++) {
            const int y = a->y[(size_t)j * B + b];
            if (y == TASK_NO_TARGET) continue;
            real *p = a->probs + ((size_t)j * B + b) * K;
            int hits;
            s.loss += a->bce ? score_bits(p, K, y, &hits) : score_softmax(p, K, y, &hits);
            s.correct += hits, s.symbols += per;
            a->pos_correct[j] += hits, a->pos_total[j] += per;
            if (hits < per) seq_ok[b] = 0;
        }
    s.sequences = B;
    for (int b = 0; b < B; b++) s.seq_correct += seq_ok[b];
    metrics_add(out, &s);
}

/* ∂h_t += ∂y_t W_y, the output path of a scored step: (B, K)·(K, H) */
BM_VECTOR_CLONES static void output_backward_step(const Model *m, Acts *a, int t, int B)
{
    const int H = m->H, K = m->K;
    const real *dy = a->probs + cell_at(t - a->out_start, B, K);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++) {
            const real d = dy[(size_t)b * K + k], *w = m->p.W_y + (size_t)k * H;
            real *dh = a->dh + (size_t)b * H;
#pragma omp simd
            for (int j = 0; j < H; j++) dh[j] += d * w[j];
        }
}

void model_backward(const Model *m, Acts *a, int B, real scale)
{
    const int I = m->I, H = m->H, K = m->K, GH = m->G * m->H, L = a->L, N = a->N;
    const real *h_out = a->h + cell_at(a->out_start + 1, B, H);
    memset(a->grad, 0, m->n_params * sizeof *a->grad);
    if (a->dWT) memset(a->dWT, 0, (size_t)I * GH * sizeof *a->dWT);

    /* ∂L/∂y_t = (softmax − onehot(target)) · scale, or (σ − bits) · scale, in place over the
     * probabilities; 0 where a step has no target */
    for (size_t n = 0; n < (size_t)N * B; n++) {
        real *p = a->probs + n * K;
        const int y = a->y[n];
        if (y == TASK_NO_TARGET) {
            memset(p, 0, (size_t)K * sizeof *p);
            continue;
        }
        if (a->bce)
            for (int k = 0; k < K; k++) p[k] -= (real)((y >> k) & 1);
        else
            p[y] -= 1;
        for (int k = 0; k < K; k++) p[k] *= scale;
    }
    /* dW_y += Σ ∂yᵀ h_t: (K, N·B)·(N·B, H);  db_y += Σ ∂y */
    bm_gemm_tn(a->g.W_y, H, a->probs, K, h_out, H, K, H, N * B, 1);
    bm_add_colsum(a->g.b_y, a->probs, K, N * B, K);

    memset(a->dh, 0, (size_t)B * H * sizeof *a->dh);
    if (a->dc) memset(a->dc, 0, (size_t)B * H * sizeof *a->dc);
    for (int t = L - 1; t >= 0; t--) {
        if (t >= a->out_start) output_backward_step(m, a, t, B);
        a->flow[t] = bm_sumsq_row(a->dh, (size_t)B * H);
        m->ops->backward_step(m, a, t, B);
        if (a->one_hot)
            input_backward_onehot(m, a, t, B);
        else if (m->mult)
            mult_backward_step(m, a, t, B);
        real *swap = a->dh; /* ∂h_{t-1} becomes the ∂h of the next (earlier) step */
        a->dh = a->dh_prev, a->dh_prev = swap;
    }
    m->ops->grad_U(m, a, B);
    if (a->one_hot) {
        /* dW[n][s] += dWᵀ[s][n] */
        for (int s = 0; s < I; s++)
            for (int n = 0; n < GH; n++) a->g.W[(size_t)n * I + s] += a->dWT[(size_t)s * GH + n];
    } else {
        /* dW += Σ_t ∂pre_tᵀ x̃_t: (G·H, L·B)·(L·B, I);  db += Σ ∂pre */
        bm_gemm_tn(a->g.W, I, a->gates, GH, a->xt, I, GH, I, L * B, 1);
        bm_add_colsum(a->g.b, a->gates, GH, L * B, GH);
        if (m->mult) mult_grads(m, a, B);
    }
}

/* ---- batches ----------------------------------------------------------------------------- */

void model_batch(const Model *m, Workspace *w, const Dataset *d, const int *idx, int B, Metrics *out,
                 int64_t *pos_correct, int64_t *pos_total, real *grad, double *flow)
{
    if (d->shape.L != w->L || B > w->B_max)
        CS_FAIL("workspace for L=%d, batch %d used with L=%d, batch %d", w->L, w->B_max, d->shape.L, B);
    const int n_chunks = (B + w->chunk - 1) / w->chunk;
    Metrics chunk_metrics[n_chunks];
    memset(chunk_metrics, 0, sizeof chunk_metrics);
    model_prepare(m, w);
    /* the mean over the whole batch: every chunk scales by the same 1/(targets · outputs per target) */
    const int64_t targets = task_count_targets(d, idx, B);
    const real scale = (real)(1.0 / ((double)(targets ? targets : 1) * (d->shape.bce ? d->shape.K : 1)));

    /* chunk c owns sequences [c·chunk, c·chunk + rows) and writes only its own Acts */
#pragma omp parallel for schedule(dynamic, 1)
    for (int c = 0; c < n_chunks; c++) {
        Acts *a = &w->acts[c];
        int rows = B - c * w->chunk < w->chunk ? B - c * w->chunk : w->chunk;
        task_fill(d, idx + (size_t)c * w->chunk, rows, a->x, a->sym, a->y);
        model_forward(m, a, rows);
        model_score(m, a, rows, &chunk_metrics[c]);
        if (grad) model_backward(m, a, rows, scale);
    }

    /* combine in chunk order */
    for (int c = 0; c < n_chunks; c++) {
        metrics_add(out, &chunk_metrics[c]);
        for (int j = 0; j < d->shape.n_out; j++) {
            if (pos_correct) pos_correct[j] += w->acts[c].pos_correct[j];
            if (pos_total) pos_total[j] += w->acts[c].pos_total[j];
        }
    }
    if (!grad) return;
    /* grad[k] = Σ_c grad_c[k], c in order: threads split over k */
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < m->n_params; k++) {
        real s = 0;
        for (int c = 0; c < n_chunks; c++) s += w->acts[c].grad[k];
        grad[k] = s;
    }
    if (flow) {
        for (int t = 0; t < w->L; t++) {
            double s = 0;
            for (int c = 0; c < n_chunks; c++) s += w->acts[c].flow[t];
            flow[t] = sqrt(s);
        }
    }
}
