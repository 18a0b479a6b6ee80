/* The model: parameter layout and initialization, output layer and loss, chunked batches. */
#include "model.h"

#include <math.h>   /* sqrt, log, log1p, exp, fabs */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* free */
#include <string.h> /* memset, memcpy */

#include "batchmath.h" /* bm_* */
#include "check.h"     /* CS_ALLOC, CS_FAIL */
#include "detmath.h"   /* dm_log */
#include "model_kinds.h"     /* model_kinds */
#include "mult.h"      /* mult_* */
#include "rng.h"       /* Rng, RNG_KEY */
#include "task_kinds.h"     /* task_shape */

/* ---- parameter layout -------------------------------------------------------------------- */

static int layer_input(const Model *m, int k) { return k ? m->H : m->D ? m->D : m->I; }

static size_t layer_params(const Model *m, int k)
{
    const size_t I = (size_t)layer_input(m, k), H = m->H, GH = (size_t)m->G * m->H;
    return (m->mult ? I * I + I * H + I : 0) + GH * (I + H + 1);
}

static size_t count_params(const Model *m)
{
    size_t n = (size_t)m->K * m->H + m->K + (size_t)m->I * m->D;
    for (int k = 0; k < m->layers; k++) n += layer_params(m, k);
    return n;
}

/* Offset of layer k in the buffer: the layers in order, then W_y, b_y, E. */
static size_t layer_offset(const Model *m, int k)
{
    size_t off = 0;
    for (int j = 0; j < k; j++) off += layer_params(m, j);
    return off;
}

void model_layer_views(const Model *m, int k, real *base, Params *v)
{
    const size_t I = (size_t)layer_input(m, k), H = m->H, GH = (size_t)m->G * m->H;
    real *p = base + layer_offset(m, k);
    memset(v, 0, sizeof *v);
    if (m->mult) {
        v->W_m = p, p += I * I;
        v->U_m = p, p += I * H;
        v->b_m = p, p += I;
    }
    v->W = p, p += GH * I;
    v->U = p, p += GH * H;
    v->b = p;
}

static void model_shape(Model *m, int kind, const TaskShape *sh, int hidden, int layers, int embed)
{
    if (embed && !sh->one_hot) CS_FAIL("an embedding of dense inputs");
    memset(m, 0, sizeof *m);
    m->kind = kind;
    if (kind < 0 || kind >= model_count) CS_FAIL("model kind %d", kind);
    m->ops = model_kinds[kind].ops;
    m->mult = model_kinds[kind].mult;
    m->layers = layers;
    m->I = sh->I;
    m->H = hidden;
    m->K = sh->K;
    m->D = embed;
    m->G = m->ops->G;
    m->n_params = count_params(m);
}

size_t model_param_count(const Settings *s)
{
    TaskShape sh = task_shape(s);
    Model m;
    model_shape(&m, s->model, &sh, s->hidden, s->layers, s->embed);
    return m.n_params;
}

double model_linear_decay(const Settings *s)
{
    /* the linearization assumes orthogonal U (|λ| = 1) and the plain biases */
    if (s->init_u != INIT_ORTHOGONAL || s->chrono) return NAN;
    return model_kinds[s->model].ops->linear_decay(s->forget_bias);
}

void model_init(Model *m, int kind, const TaskShape *sh, int hidden, int layers, int embed)
{
    if (layers < 1 || layers > MODEL_MAX_LAYERS) CS_FAIL("%d layers", layers);
    model_shape(m, kind, sh, hidden, layers, embed);
    m->mem = CS_CALLOC(m->n_params * sizeof(real));
    for (int k = 0; k < layers; k++) {
        Layer *l = &m->layer[k];
        l->ops = m->ops, l->mult = m->mult, l->I = layer_input(m, k), l->H = m->H, l->G = m->G;
        model_layer_views(m, k, m->mem, &l->p);
    }
    m->W_y = m->mem + layer_offset(m, layers);
    m->b_y = m->W_y + (size_t)m->K * m->H;
    m->E = m->D ? m->b_y + m->K : NULL;
}

void model_free(Model *m)
{
    free(m->mem);
    m->mem = NULL;
}

int model_tensors(const Model *m, Tensor *out)
{
    const int H = m->H, K = m->K, G = m->G;
    const char *gates = m->ops->gates;
    char prefix[24] = "";
    int n = 0;
#define ADD(ptr, r, c, ...)                                                                        \
    do {                                                                                           \
        int len_ = snprintf(out[n].name, sizeof out[n].name, "%s", prefix);                        \
        snprintf(out[n].name + len_, sizeof out[n].name - (size_t)len_, __VA_ARGS__);              \
        out[n].offset = (size_t)((ptr) - m->mem), out[n].rows = (r), out[n].cols = (c), n++;       \
    } while (0)
    for (int k = 0; k < m->layers; k++) {
        const Layer *l = &m->layer[k];
        const int I = l->I;
        if (m->layers > 1) snprintf(prefix, sizeof prefix, "layer%d/", k + 1);
        if (m->mult) {
            ADD(l->p.W_m, I, I, "W_m");
            ADD(l->p.U_m, I, H, "U_m");
            ADD(l->p.b_m, I, 0, "b_m");
        }
        for (int g = 0; g < G; g++) ADD(l->p.W + (size_t)g * H * I, H, I, "W_%c", gates[g]);
        for (int g = 0; g < G; g++) ADD(l->p.U + (size_t)g * H * H, H, H, "U_%c", gates[g]);
        for (int g = 0; g < G; g++) ADD(l->p.b + (size_t)g * H, H, 0, "b_%c", gates[g]);
    }
    prefix[0] = '\0';
    ADD(m->W_y, K, H, "W_y");
    ADD(m->b_y, K, 0, "b_y");
    if (m->D) ADD(m->E, m->I, m->D, "E");
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

/* Chrono initialization (Tallec & Ollivier 2018): a unit's characteristic forgetting time T_j is
 * drawn uniform in [1, T_max − 1] and the gate biases are set so that the cell keeps its memory for
 * about that long at the start: the keep gate's bias log T_j, the write gate's −log T_j
 *   LSTM: b_f = log T_j, b_i = −b_f            GRU (h_t = (1 − z) h_{t-1} + z ĥ): b_z = −log T_j */
static void init_chrono(Model *m, int t_max, Rng *r)
{
    const int H = m->H, keep = m->ops->keep_gate, write = m->ops->write_gate;
    for (int k = 0; k < m->layers; k++) {
        real *b = m->layer[k].p.b;
        for (int j = 0; j < H; j++) {
            const double bias = dm_log(1 + rng_uniform(r) * (t_max - 2)); /* log U[1, T_max − 1] */
            if (keep >= 0) b[(size_t)keep * H + j] = (real)bias;
            if (write >= 0) b[(size_t)write * H + j] = (real)-bias;
        }
    }
}

void model_init_weights(Model *m, const Settings *s)
{
    const int H = m->H, G = m->G;
    Rng r = rng_stream(RNG_KEY(RNG_INIT, (uint64_t)s->seed, (uint64_t)m->kind));
    memset(m->mem, 0, m->n_params * sizeof(real));
    for (int k = 0; k < m->layers; k++) {
        Layer *l = &m->layer[k];
        const int I = l->I;
        if (m->mult) {
            /* m_t ≈ 1 at start, so x̃_t ≈ x_t: W_m, U_m small, b_m = 1 */
            init_uniform(l->p.W_m, (size_t)I * I, s->mult_init, &r);
            init_uniform(l->p.U_m, (size_t)I * H, s->mult_init, &r);
            for (int j = 0; j < I; j++) l->p.b_m[j] = 1;
        }
        for (int g = 0; g < G; g++) init_glorot(l->p.W + (size_t)g * H * I, H, I, &r);
        for (int g = 0; g < G; g++) {
            real *U_g = l->p.U + (size_t)g * H * H;
            if (s->init_u == INIT_ORTHOGONAL)
                init_orthogonal(U_g, H, &r);
            else
                init_glorot(U_g, H, H, &r);
        }
        const int keep = m->ops->keep_gate; /* the LSTM's forget gate starts at forget-bias */
        for (int j = 0; keep >= 0 && j < H; j++) l->p.b[(size_t)keep * H + j] = (real)s->forget_bias;
    }
    init_glorot(m->W_y, m->K, H, &r);
    /* E ~ N(0, 1/D): an embedded symbol has about the unit norm of a one-hot vector */
    for (size_t k = 0; m->D && k < (size_t)m->I * m->D; k++) m->E[k] = (real)(rng_normal(&r) / sqrt(m->D));
    /* drawn last: every other weight is as without it; chrono = auto takes T_max = L, the trial's length */
    if (s->chrono) init_chrono(m, s->chrono == SETTINGS_AUTO ? task_shape(s).L : s->chrono, &r);
}

/* ---- activations -------------------------------------------------------------------------- */

/* Carves views of (L, B, X) and smaller tensors from one buffer, 64-byte aligned; with base NULL
 * it only counts the bytes. */
typedef struct {
    char *base;
    size_t off;
} Carver;

static void *carve(Carver *c, size_t bytes)
{
    void *p = (c->base && bytes) ? c->base + c->off : NULL;
    c->off += (bytes + 63) / 64 * 64;
    return p;
}
#define CARVE(c, field, count) ((field) = carve((c), (size_t)(count) * sizeof *(field)))

static void layer_carve(LayerActs *a, const Model *m, int k, const TaskShape *sh, int B, int drop, Carver *cv)
{
    const size_t L = sh->L, I = (size_t)layer_input(m, k), H = m->H, GH = (size_t)m->G * m->H;
    const int dense = k > 0 || !sh->one_hot || m->D, mult = m->mult;
    const int ids = k == 0 && sh->one_hot; /* symbol ids: one-hot inputs, or the rows of E */
    CARVE(cv, a->sym, ids ? L * B : 0);
    CARVE(cv, a->x, dense ? L * B * I : 0);
    CARVE(cv, a->m, dense && mult ? L * B * I : 0);
    CARVE(cv, a->xt, dense && mult ? L * B * I : 0);
    CARVE(cv, a->msym, !dense && mult ? L * B : 0);
    CARVE(cv, a->gates, L * B * GH);
    CARVE(cv, a->h, (L + 1) * B * H);
    CARVE(cv, a->c, m->ops->uses_c ? (L + 1) * B * H : 0);
    CARVE(cv, a->rh, m->ops->uses_rh ? L * B * H : 0);
    CARVE(cv, a->dm, dense && mult ? L * B * I : 0);
    CARVE(cv, a->dh, B * H);
    CARVE(cv, a->dh_prev, B * H);
    CARVE(cv, a->dc, m->ops->uses_c ? B * H : 0);
    CARVE(cv, a->dtmp, B * (H > I ? H : I));
    CARVE(cv, a->dWT, dense ? 0 : I * GH);
    CARVE(cv, a->dext, k < m->layers - 1 ? L * B * H : 0); /* the top layer's comes from the output layer */
    CARVE(cv, a->dx, k > 0 || m->D ? L * B * I : 0); /* ∂x_t: for the layer below, or for E */
    CARVE(cv, a->mask, k > 0 && drop ? L * B * I : 0);
    if (cv->base) {
        if (dense && !mult) a->xt = a->x;
        a->L = (int)L, a->B_max = B, a->one_hot = !dense;
    }
}

/* Carve a's views from base (or only count the bytes when base is NULL); returns the bytes used. */
static size_t acts_carve(Acts *a, const Model *m, const TaskShape *sh, int B, int drop, char *base)
{
    const size_t N = sh->n_out, H = m->H, K = m->K;
    Carver cv = {.base = base};
    for (int k = 0; k < m->layers; k++) layer_carve(&a->layer[k], m, k, sh, B, drop, &cv);
    CARVE(&cv, a->hout, drop ? N * B * H : 0);
    CARVE(&cv, a->mask_out, drop ? N * B * H : 0);
    CARVE(&cv, a->probs, N * B * K);
    CARVE(&cv, a->y, N * B);
    CARVE(&cv, a->flow, sh->L);
    CARVE(&cv, a->pos_correct, N);
    CARVE(&cv, a->pos_total, N);
    CARVE(&cv, a->pos_loss, N);
    CARVE(&cv, a->pos_loss_sq, N);
    CARVE(&cv, a->seq_ok, B);
    CARVE(&cv, a->seq_info, B);
    CARVE(&cv, a->hold, 3 * (m->G + 1));
    CARVE(&cv, a->grad, m->n_params);
    if (base) {
        a->layers = m->layers;
        a->L = sh->L, a->N = (int)N, a->out_start = sh->out_start, a->B_max = B, a->bce = sh->bce;
        a->hold_start = sh->hold_start, a->hold_end = sh->hold_end;
        for (int k = 0; k < m->layers; k++) model_layer_views(m, k, a->grad, &a->layer[k].g);
        a->dW_y = a->grad + (m->W_y - m->mem);
        a->db_y = a->grad + (m->b_y - m->mem);
        a->dE = m->D ? a->grad + (m->E - m->mem) : NULL;
    }
    return cv.off;
}

int workspace_init(Workspace *w, const Model *m, const TaskShape *sh, int batch, int chunk, double dropout,
                   size_t *need)
{
    memset(w, 0, sizeof *w);
    w->L = sh->L;
    w->N = sh->n_out, w->bce = sh->bce;
    w->B_max = batch;
    w->chunk = chunk < batch ? chunk : batch;
    w->n_chunks = (batch + w->chunk - 1) / w->chunk;
    w->dropout = dropout;
    const int drop = dropout > 0;
    Acts probe;
    size_t per_chunk = acts_carve(&probe, m, sh, w->chunk, drop, NULL);
    w->bytes = per_chunk * (size_t)w->n_chunks;
    if (need) *need = w->bytes;
    w->mem = cs_try_calloc(per_chunk * (size_t)w->n_chunks);
    if (!w->mem) return -1;
    w->acts = CS_CALLOC((size_t)w->n_chunks * sizeof *w->acts);
    w->chunk_metrics = CS_CALLOC((size_t)w->n_chunks * sizeof *w->chunk_metrics);
    for (int c = 0; c < w->n_chunks; c++) {
        Acts *a = &w->acts[c];
        acts_carve(a, m, sh, w->chunk, drop, (char *)w->mem + (size_t)c * per_chunk);
        for (int k = 0; k < m->layers; k++) a->layer[k].packs = &w->packs[k];
    }
    /* the packed weights of every layer: forward and backward layouts of U, and Wᵀ */
    const int H = m->H, GH = m->G * m->H;
    for (int k = 0; k < m->layers; k++) {
        Packs *pk = &w->packs[k];
        /* the blocks of U: forward Uᵀ (H, rows), backward U (rows, H); then Wᵀ */
        size_t sizes[5] = {0, 0, 0, 0, (size_t)layer_input(m, k) * GH};
        for (int i = 0; i < m->ops->n_blocks; i++) {
            const int rows = m->ops->block[i][1] * H;
            sizes[i] = bm_packed_size(H, rows), sizes[2 + i] = bm_packed_size(rows, H);
        }
        size_t total = 0;
        for (int j = 0; j < 5; j++) total += sizes[j];
        pk->mem = CS_ALLOC(total * sizeof(real));
        real *p = pk->mem;
        pk->fwd[0].p = p, p += sizes[0];
        pk->fwd[1].p = p, p += sizes[1];
        pk->bwd[0].p = p, p += sizes[2];
        pk->bwd[1].p = p, p += sizes[3];
        pk->WT = p;
    }
    return 0;
}

void workspace_free(Workspace *w)
{
    free(w->mem);
    free(w->acts);
    free(w->chunk_metrics);
    for (int k = 0; k < MODEL_MAX_LAYERS; k++) free(w->packs[k].mem);
    memset(w, 0, sizeof *w);
}

/* The weights of a layer in the layouts of the time steps (see Packs), for the current weights. */
static void layer_pack(const Layer *l, Packs *pk)
{
    const int I = l->I, H = l->H, GH = l->G * l->H;
    for (int i = 0; i < l->ops->n_blocks; i++) {
        const real *U = l->p.U + (size_t)l->ops->block[i][0] * H * H;
        const int rows = l->ops->block[i][1] * H;
        bm_pack(&pk->fwd[i], pk->fwd[i].p, U, H, rows, 1, H); /* Uᵀ: (k, n) = U[n][k] */
        bm_pack(&pk->bwd[i], pk->bwd[i].p, U, rows, H, H, 1); /* U:  (k, n) = U[k][n] */
    }
    for (int s = 0; s < I; s++)
        for (int n = 0; n < GH; n++) pk->WT[(size_t)s * GH + n] = l->p.W[(size_t)n * I + s];
}

void model_prepare(const Model *m, Workspace *w)
{
    for (int k = 0; k < m->layers; k++) layer_pack(&m->layer[k], &w->packs[k]);
}

/* ---- forward, loss, backward of one chunk ------------------------------------------------ */

/* From ∂pre_t: dWᵀ[s] += x̃_t[s] ∂pre_t and db += ∂pre_t for one-hot inputs (and the mult step). */
BM_BODY void input_backward_onehot_body(const Layer *l, LayerActs *a, int t, int B)
{
    const int GH = l->G * l->H;
    if (l->mult) mult_backward_onehot(l, a, t, B);
    for (int b = 0; b < B; b++) {
        const int s = a->sym[(size_t)t * B + b];
        const real scale = l->mult ? a->msym[(size_t)t * B + b] : 1;
        const real *d = a->gates + cell_at(t, B, GH) + (size_t)b * GH;
        real *dw = a->dWT + (size_t)s * GH;
#pragma omp simd
        for (int n = 0; n < GH; n++) {
            dw[n] += scale * d[n];
            a->g.b[n] += d[n];
        }
    }
}
BM_PATHS(static, input_backward_onehot, (const Layer *l, LayerActs *a, int t, int B), (l, a, t, B))

/* h_1..h_L of one layer from its inputs (sym or x). */
static void layer_forward(const Layer *l, LayerActs *a, int B)
{
    const int I = l->I, H = l->H, GH = l->G * l->H, L = a->L;
    memset(a->h, 0, (size_t)B * H * sizeof *a->h); /* h_0 = 0 */
    if (a->c) memset(a->c, 0, (size_t)B * H * sizeof *a->c); /* c_0 = 0 */
    if (!a->one_hot) {
        if (l->mult) {
            mult_forward_input(l, a, B);
        } else {
            /* pre_t = W x_t + b for all t: (L·B, I)·(I, G·H) */
            bm_fill_rows(a->gates, l->p.b, L * B, GH);
            bm_gemm_nt(a->gates, GH, a->x, I, l->p.W, I, L * B, GH, I, 1);
        }
    }
    for (int t = 0; t < L; t++) {
        if (a->one_hot) {
            /* gates_t starts as b + W x̃_t = b + x̃_t[s]·W[:, s], s the input symbol, inside the product */
            if (l->mult) mult_forward_onehot(l, a, t, B);
            const BmRowInit init = {.bias = l->p.b, .table = a->packs->WT, .ld = GH, .sym = a->sym + (size_t)t * B,
                                    .scale = l->mult ? a->msym + (size_t)t * B : NULL};
            l->ops->forward_step(l, a, t, B, &init);
            continue;
        }
        if (l->mult) {
            mult_forward_step(l, a, t, B);
            /* pre_t = W x̃_t + b: (B, I)·(I, G·H) */
            real *gates = a->gates + cell_at(t, B, GH);
            bm_fill_rows(gates, l->p.b, B, GH);
            bm_gemm_nt(gates, GH, a->xt + cell_at(t, B, I), I, l->p.W, I, B, GH, I, 1);
        }
        l->ops->forward_step(l, a, t, B, NULL);
    }
}

/* to = from ⊙ mask, or a copy without a mask: n values */
static void apply_mask(real *to, const real *from, const real *mask, size_t n)
{
    if (!mask) {
        memcpy(to, from, n * sizeof *to);
        return;
    }
    for (size_t k = 0; k < n; k++) to[k] = from[k] * mask[k];
}

void model_forward(const Model *m, Acts *a, int B)
{
    const int H = m->H, K = m->K, L = a->L;
    for (int k = 0; k < m->layers; k++) {
        LayerActs *la = &a->layer[k];
        /* x_t of layer k = h_t of layer k−1, through dropout */
        if (k) apply_mask(la->x, a->layer[k - 1].h + cell_at(1, B, H), a->drop ? la->mask : NULL, (size_t)L * B * H);
        /* x_t = E[s_t]: (L·B) rows of E */
        for (size_t n = 0; !k && m->D && n < (size_t)L * B; n++)
            memcpy(la->x + n * m->D, m->E + (size_t)la->sym[n] * m->D, (size_t)m->D * sizeof *la->x);
        layer_forward(&m->layer[k], la, B);
    }
    const real *h_out = a->layer[m->layers - 1].h + cell_at(a->out_start + 1, B, H);
    if (a->drop) {
        apply_mask(a->hout, h_out, a->mask_out, (size_t)a->N * B * H);
        h_out = a->hout;
    }
    /* y_t = W_y h_t + b_y on the scored steps: (N·B, H)·(H, K) */
    bm_fill_rows(a->probs, m->b_y, a->N * B, K);
    bm_gemm_nt(a->probs, K, h_out, H, m->W_y, H, a->N * B, K, H, 1);
}

/* Cross-entropy of softmax(p) at class y; p becomes the softmax. Returns the loss, *hit the argmax. */
BM_BODY double score_softmax(real *p, int K, int y, int *hit)
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
        p[k] = bm_sigmoid(p[k]); /* what the gradient is made of: not libm's (detmath.h) */
    }
    return loss;
}

BM_BODY void model_score_body(const Model *m, Acts *a, int B, Metrics *out)
{
    const int K = m->K, N = a->N, per = a->bce ? K : 1; /* predictions per target */
    /* the memoryless loss of one target: log K, or K·log 2 for K bits (docs/method.md "Memory in bits") */
    const double memoryless = a->bce ? K * M_LN2 : log(K);
    Metrics s = {0};
    memset(a->pos_correct, 0, (size_t)N * sizeof *a->pos_correct);
    memset(a->pos_total, 0, (size_t)N * sizeof *a->pos_total);
    memset(a->pos_loss, 0, (size_t)N * sizeof *a->pos_loss);
    memset(a->pos_loss_sq, 0, (size_t)N * sizeof *a->pos_loss_sq);
    unsigned char *seq_ok = a->seq_ok;
    double *seq_info = a->seq_info;
    memset(seq_ok, 1, (size_t)B * sizeof *seq_ok);
    memset(seq_info, 0, (size_t)B * sizeof *seq_info);
    for (int j = 0; j < N; j++)
        for (int b = 0; b < B; b++) {
            const int y = a->y[(size_t)j * B + b];
            if (y == TASK_NO_TARGET) continue;
            real *p = a->probs + ((size_t)j * B + b) * K;
            int hits;
            const double loss = a->bce ? score_bits(p, K, y, &hits) : score_softmax(p, K, y, &hits);
            s.loss += loss;
            s.correct += hits, s.symbols += per;
            a->pos_correct[j] += hits, a->pos_total[j] += per;
            a->pos_loss[j] += loss, a->pos_loss_sq[j] += loss * loss;
            if (hits < per) seq_ok[b] = 0;
            /* u_b = Σ_j (memoryless − CE_j) */
            seq_info[b] += memoryless - loss;
            s.info_max += memoryless;
        }
    s.sequences = B;
    for (int b = 0; b < B; b++) {
        s.seq_correct += seq_ok[b];
        s.info += seq_info[b], s.info_sq += seq_info[b] * seq_info[b];
    }
    metrics_add(out, &s);
}
/* compiled per path: its softmax's e^x (bm_exp) has fused multiply-adds */
BM_PATHS(, model_score, (const Model *m, Acts *a, int B, Metrics *out), (m, a, B, out))

/* ∂h_t += (∂y_t W_y) ⊙ mask_t, the output path of a scored step of the top layer: (B, K)·(K, H) */
BM_BODY void output_backward_step_body(const Model *m, const Acts *ac, real *dh_all, int t, int B)
{
    const int H = m->H, K = m->K;
    const real *dy = ac->probs + cell_at(t - ac->out_start, B, K);
    const real *mask = ac->drop ? ac->mask_out + cell_at(t - ac->out_start, B, H) : NULL;
    for (int b = 0; b < B; b++) {
        real *dh = dh_all + (size_t)b * H;
        for (int k = 0; k < K; k++) {
            const real d = dy[(size_t)b * K + k], *w = m->W_y + (size_t)k * H;
            if (mask) {
                const real *mb = mask + (size_t)b * H;
#pragma omp simd
                for (int j = 0; j < H; j++) dh[j] += d * w[j] * mb[j];
            } else {
#pragma omp simd
                for (int j = 0; j < H; j++) dh[j] += d * w[j];
            }
        }
    }
}
BM_PATHS(static, output_backward_step, (const Model *m, const Acts *ac, real *dh_all, int t, int B), (m, ac, dh_all, t, B))

/* BPTT through one layer, with the gradient on its h_t from above: from the output layer (out, the
 * top layer) or in dext. flow (L, optional) gets Σ_b ‖∂L/∂h_t‖². Leaves ∂L/∂pre_t in gates and adds
 * the layer's weight gradients. */
static void layer_backward(const Layer *l, LayerActs *a, int B, const Model *m, const Acts *out, double *flow)
{
    const int I = l->I, H = l->H, GH = l->G * l->H, L = a->L;
    if (a->dWT) memset(a->dWT, 0, (size_t)I * GH * sizeof *a->dWT);
    memset(a->dh, 0, (size_t)B * H * sizeof *a->dh);
    if (a->dc) memset(a->dc, 0, (size_t)B * H * sizeof *a->dc);
    for (int t = L - 1; t >= 0; t--) {
        /* ∂h_t = ∂h_t (through h_{t+1}) + ∂h_t from above */
        if (out && t >= out->out_start) {
            output_backward_step(m, out, a->dh, t, B);
        } else if (!out) {
            const real *e = a->dext + cell_at(t, B, H);
            for (size_t k = 0; k < (size_t)B * H; k++) a->dh[k] += e[k];
        }
        if (flow) flow[t] = bm_sumsq_row(a->dh, (size_t)B * H);
        l->ops->backward_step(l, a, t, B);
        if (a->one_hot)
            input_backward_onehot(l, a, t, B);
        else if (l->mult)
            mult_backward_step(l, a, t, B);
        real *swap = a->dh; /* ∂h_{t-1} becomes the ∂h of the next (earlier) step */
        a->dh = a->dh_prev, a->dh_prev = swap;
    }
    l->ops->grad_U(l, a, B);
    if (a->one_hot) {
        /* dW[n][s] += dWᵀ[s][n] */
        for (int s = 0; s < I; s++)
            for (int n = 0; n < GH; n++) a->g.W[(size_t)n * I + s] += a->dWT[(size_t)s * GH + n];
        return;
    }
    /* dW += Σ_t ∂pre_tᵀ x̃_t: (G·H, L·B)·(L·B, I);  db += Σ ∂pre */
    bm_gemm_tn(a->g.W, I, a->gates, GH, a->xt, I, GH, I, L * B, 1);
    bm_add_colsum(a->g.b, a->gates, GH, L * B, GH);
    if (l->mult) mult_grads(l, a, B);
    if (!a->dx) return;
    /* ∂x̃_t = ∂pre_t W: (L·B, G·H)·(G·H, I) */
    bm_gemm_nn(a->dx, I, a->gates, GH, l->p.W, I, L * B, I, GH, 0);
    if (l->mult) {
        /* x̃_t = m_t ⊙ x_t, m_t = W_m x_t + ...:  ∂x_t = ∂x̃_t ⊙ m_t + ∂m_t W_m */
        for (size_t k = 0; k < (size_t)L * B * I; k++) a->dx[k] *= a->m[k];
        bm_gemm_nn(a->dx, I, a->dm, I, l->p.W_m, I, L * B, I, I, 1);
    }
}

void model_backward(const Model *m, Acts *a, int B, real scale)
{
    const int H = m->H, K = m->K, L = a->L, N = a->N, top = m->layers - 1;
    const real *h_out = a->drop ? a->hout : a->layer[top].h + cell_at(a->out_start + 1, B, H);
    memset(a->grad, 0, m->n_params * sizeof *a->grad);

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
    bm_gemm_tn(a->dW_y, H, a->probs, K, h_out, H, K, H, N * B, 1);
    bm_add_colsum(a->db_y, a->probs, K, N * B, K);

    for (int k = top; k >= 0; k--) {
        LayerActs *la = &a->layer[k];
        layer_backward(&m->layer[k], la, B, m, k == top ? a : NULL, k == top ? a->flow : NULL);
        if (k == 0) {
            /* dE[s_t] += ∂x_t, in the order of the steps */
            for (size_t n = 0; m->D && n < (size_t)L * B; n++) {
                real *row = a->dE + (size_t)la->sym[n] * m->D;
                const real *dx = la->dx + n * m->D;
                for (int j = 0; j < m->D; j++) row[j] += dx[j];
            }
            break;
        }
        /* ∂h_t of layer k−1 = ∂x_t of layer k, through dropout */
        apply_mask(a->layer[k - 1].dext, la->dx, a->drop ? la->mask : NULL, (size_t)L * B * H);
    }
}

/* ---- batches ----------------------------------------------------------------------------- */

/* Inverted dropout masks of the sequences idx[0..B) of a chunk: 0 with probability p, else 1/(1 − p),
 * from the stream (key, sequence, layer), two 32-bit draws per 64-bit value. */
static void dropout_masks(const Model *m, Acts *a, const int *idx, int B, double p, uint64_t key)
{
    const uint64_t cut = (uint64_t)(p * 4294967296.0);
    const real keep = (real)(1 / (1 - p));
    for (int k = 1; k <= m->layers; k++) {
        /* layers 1.. read the layer below; k == layers is the output layer's input */
        real *mask = k < m->layers ? a->layer[k].mask : a->mask_out;
        const int t0 = k < m->layers ? 0 : a->out_start, steps = a->L - t0, H = m->H;
        for (int b = 0; b < B; b++) {
            Rng r = rng_stream(RNG_KEY(key, (uint64_t)idx[b], (uint64_t)k));
            uint64_t bits = 0;
            int left = 0;
            for (int t = 0; t < steps; t++) {
                real *row = mask + ((size_t)t * B + b) * H;
                for (int j = 0; j < H; j++) {
                    if (!left) bits = rng_next(&r), left = 2;
                    row[j] = (bits & 0xFFFFFFFFu) < cut ? 0 : keep;
                    bits >>= 32, left--;
                }
            }
        }
    }
}

/* add v to a row (count, Σ, Σ²) of Acts.hold */
static void hold_add(double *row, double v) { row[0] += 1, row[1] += v, row[2] += v * v; }

/* Acts.hold of the chunk's B sequences after a forward pass: every gate activation and every gain
 * m_t of the multiplicative step (one-hot: m_t[s_t], the active channel; dense: every channel) over
 * the steps of the hold, in every layer. */
static void hold_sums(const Model *m, Acts *a, int B)
{
    const int G = m->G, H = m->H;
    double *s = a->hold;
    memset(s, 0, 3 * (size_t)(G + 1) * sizeof *s);
    for (int k = 0; k < m->layers; k++) {
        const LayerActs *la = &a->layer[k];
        const int I = m->layer[k].I;
        for (int t = a->hold_start; t < a->hold_end; t++)
            for (int b = 0; b < B; b++) {
                const real *g = la->gates + ((size_t)t * B + b) * G * H;
                for (int q = 0; q < G; q++)
                    for (int u = 0; u < H; u++) hold_add(s + 3 * q, g[q * H + u]);
                if (!m->layer[k].mult) continue;
                if (la->msym)
                    hold_add(s + 3 * G, la->msym[(size_t)t * B + b]);
                else
                    for (int i = 0; i < I; i++) hold_add(s + 3 * G, la->m[((size_t)t * B + b) * I + i]);
            }
    }
}

/* One batch (model.h): the chunks forward, scored and backward in parallel, then their sums in chunk
 * order. Kept whole: it is the step's parallel kernel, and reads top to bottom as the order of the work. */
void model_batch(const Model *m, Workspace *w, const Batch *b, uint64_t dropout_key, Metrics *out, const Scores *sc,
                 real *grad, double *flow)
{
    const int B = b->B, *idx = b->idx;
    if (B > w->B_max) CS_FAIL("workspace for batch %d used with batch %d", w->B_max, B);
    const int n_chunks = (B + w->chunk - 1) / w->chunk, drop = dropout_key && w->dropout > 0;
    const int N = w->N, K = m->K;
    Metrics *chunk_metrics = w->chunk_metrics; /* (n_chunks): on the heap, as many as a batch of 65,536 has */
    memset(chunk_metrics, 0, (size_t)n_chunks * sizeof *chunk_metrics);
    model_prepare(m, w);
    /* the mean over the whole batch: every chunk scales by the same 1/(targets · outputs per target) */
    const real scale = (real)(1.0 / ((double)(b->targets ? b->targets : 1) * (w->bce ? K : 1)));

    /* chunk c owns sequences [c·chunk, c·chunk + rows) and writes only its own Acts */
#pragma omp parallel for schedule(dynamic, 1)
    for (int c = 0; c < n_chunks; c++) {
        Acts *a = &w->acts[c];
        const int *cidx = idx + (size_t)c * w->chunk;
        int rows = B - c * w->chunk < w->chunk ? B - c * w->chunk : w->chunk;
        b->fill(b->data, cidx, rows, m->D ? NULL : a->layer[0].x, a->layer[0].sym, a->y);
        a->drop = drop;
        if (drop) dropout_masks(m, a, cidx, rows, w->dropout, dropout_key);
        model_forward(m, a, rows);
        if (sc && sc->logits) /* row i of the caller's (B, N, K) from the chunk's (N, rows, K) */
            for (int b = 0; b < rows; b++) {
                const size_t i = (size_t)c * w->chunk + b;
                for (int j = 0; j < N; j++) {
                    memcpy(sc->logits + (i * N + j) * K, a->probs + ((size_t)j * rows + b) * K, K * sizeof(real));
                    sc->targets[i * N + j] = a->y[(size_t)j * rows + b];
                }
            }
        model_score(m, a, rows, &chunk_metrics[c]);
        if (sc && sc->hold) hold_sums(m, a, rows);
        if (grad) model_backward(m, a, rows, scale);
    }

    /* combine in chunk order */
    for (int c = 0; c < n_chunks; c++) {
        metrics_add(out, &chunk_metrics[c]);
        for (int j = 0; sc && j < N; j++) {
            const Acts *a = &w->acts[c];
            if (sc->pos_correct) sc->pos_correct[j] += a->pos_correct[j];
            if (sc->pos_total) sc->pos_total[j] += a->pos_total[j];
            if (sc->pos_loss) sc->pos_loss[j] += a->pos_loss[j];
            if (sc->pos_loss_sq) sc->pos_loss_sq[j] += a->pos_loss_sq[j];
        }
        for (int i = 0; sc && sc->hold && i < 3 * (m->G + 1); i++) sc->hold[i] += w->acts[c].hold[i];
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
