/* Memory in bits and the decay ρ (docs/method.md "Memory in bits", "The gradient's decay per step"): the bound
 * on hand-computed outputs, its standard error against a direct computation from per-sequence
 * losses of a real model's outputs, the model's running sums against the stored outputs, the
 * validation temperature, and ρ on synthetic exponential profiles. Exits 1 on the first failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings_table.h" /* settings_default */
#include "model_kinds.h"     /* model_kinds, model_find */
#include "info.h"
#include "model.h"
#include "task.h"
#include "task_kinds.h" /* task_find */
#include "expect.h"  /* EXPECT, failures */


static int close_to(double a, double b, double tol) { return fabs(a - b) <= tol * (1 + fabs(b)); }

static void test_hand_computed(void)
{
    /* K = 4, two sequences of two scored steps. Sequence 0: the target has probability 1/2 at both
     * steps (logits log 3, 0, 0, 0 give 3/6, 1/6, 1/6, 1/6): log 4 − log 2 = 1 bit each, u_0 = 2 bits.
     * Sequence 1: the target has 1/6 at step 0 (log2(4/6) = 1 − log2 3 bits) and uniform logits at
     * step 1 (0 bits). Bits = mean = (3 − log2 3)/2, SE = |u_0 − u_1| / 2 = (1 + log2 3)/2,
     * ceiling = 2·log2 4 = 4. */
    const real l3 = (real)log(3.0);
    const real logits[2 * 2 * 4] = {l3, 0, 0, 0, l3, 0, 0, 0, l3, 0, 0, 0, 0, 0, 0, 0};
    const int16_t targets[4] = {0, 0, 1, 2};
    Outputs o = {.n = 2, .N = 2, .K = 4, .logits = logits, .targets = targets};
    Metrics m = {0};
    info_score(&o, 1, &m);
    const double log2_3 = log2(3.0);
    EXPECT(close_to(metrics_bits(&m), (3 - log2_3) / 2, 1e-6), "bits %.9f, expected (3 − log2 3)/2 = %.9f",
           metrics_bits(&m), (3 - log2_3) / 2);
    EXPECT(close_to(metrics_bits_se(&m), (1 + log2_3) / 2, 1e-6), "SE %.9f, expected (1 + log2 3)/2 = %.9f",
           metrics_bits_se(&m), (1 + log2_3) / 2);
    EXPECT(close_to(metrics_bits_ceiling(&m), 4, 1e-12), "ceiling %.9f, expected 2·log2 4 = 4",
           metrics_bits_ceiling(&m));
    EXPECT(m.correct == 2 && m.symbols == 4 && m.seq_correct == 1, "accuracy counts %lld/%lld, sequences %lld",
           (long long)m.correct, (long long)m.symbols, (long long)m.seq_correct);
    /* at beta = 0 every output is uniform: exactly 0 bits, whatever the logits */
    Metrics z = {0};
    info_score(&o, 0, &z);
    EXPECT(fabs(metrics_bits(&z)) < 1e-12, "bits at beta = 0: %.3g, expected 0", metrics_bits(&z));

    /* bits (bce): K = 2 bits of one step; σ(log 3) = 3/4 on a 1 (log2 1.5 bits), σ(0) on a 0 (0 bits) */
    const real bl[2] = {l3, 0};
    const int16_t bt[1] = {1};
    Outputs b = {.n = 1, .N = 1, .K = 2, .bce = 1, .logits = bl, .targets = bt};
    Metrics mb = {0};
    info_score(&b, 1, &mb);
    EXPECT(close_to(metrics_bits(&mb), log2(1.5), 1e-6), "bce bits %.9f, expected log2 1.5 = %.9f",
           metrics_bits(&mb), log2(1.5));
    EXPECT(close_to(metrics_bits_ceiling(&mb), 2, 1e-12), "bce ceiling %.9f, expected 2", metrics_bits_ceiling(&mb));
    printf("  hand-computed: %.6f ± %.6f bits of 4 (expected (3 − log2 3)/2 ± (1 + log2 3)/2); bce %.6f bits\n",
           metrics_bits(&m), metrics_bits_se(&m), metrics_bits(&mb));
}

/* A trained-looking model on real copy data: model_batch's running sums against the stored outputs,
 * and the SE against the per-sequence NLL computed here from those outputs. */
static void test_model_sums(int bce)
{
    Settings s;
    settings_default(&s);
    s.task = task_find(bce ? "ntm-copy" : "copy");
    s.T = bce ? 6 : 12, s.hidden = 16, s.model = model_find("lstm");
    const int n = 300, B = 50;
    TaskShape sh = task_shape(&s);
    Dataset d;
    dataset_init(&d, &sh, 3, SPLIT_TEST, n, NULL, 0);
    Model m;
    model_init(&m, s.model, &sh, s.hidden, 1, 0);
    model_init_weights(&m, &s);
    /* large output weights, so that the outputs are confident and far from uniform */
    for (size_t k = 0; k < (size_t)m.K * m.H; k++) m.W_y[k] *= 8;
    Workspace w;
    workspace_init(&w, &m, &sh, B, 16, 0, NULL);
    const int N = sh.n_out, K = m.K;
    real *logits = calloc((size_t)n * N * K, sizeof *logits);
    int16_t *targets = calloc((size_t)n * N, sizeof *targets);
    double *pl = calloc((size_t)2 * N, sizeof *pl);
    int64_t *pt = calloc((size_t)N, sizeof *pt);
    int *idx = malloc((size_t)n * sizeof *idx);
    for (int i = 0; i < n; i++) idx[i] = i;
    Metrics met = {0};
    for (int i = 0; i < n; i += B) {
        Scores sc = {.pos_total = pt, .pos_loss = pl, .pos_loss_sq = pl + N, .logits = logits + (size_t)i * N * K,
                     .targets = targets + (size_t)i * N};
        const Batch b = task_batch(&d, idx + i, B);
        model_batch(&m, &w, &b, 0, &met, &sc, NULL, NULL);
    }
    Outputs o = {.n = n, .N = N, .K = K, .bce = bce, .logits = logits, .targets = targets};
    Metrics again = {0};
    info_score(&o, 1, &again);
    /* the per-sequence NLL, directly: u_s = Σ_j (memoryless − loss), then mean and sd / √n in bits */
    const double memoryless = bce ? K * log(2.0) : log((double)K);
    double su = 0, suu = 0, sce = 0;
    for (int i = 0; i < n; i++) {
        double u = 0;
        for (int j = 0; j < N; j++) {
            const int y = targets[(size_t)i * N + j];
            if (y == TASK_NO_TARGET) continue;
            const real *z = logits + ((size_t)i * N + j) * K;
            double nll = 0;
            if (bce) {
                for (int k = 0; k < K; k++) {
                    const double p = 1 / (1 + exp(-(double)z[k]));
                    nll -= ((y >> k) & 1) ? log(p) : log(1 - p);
                }
            } else {
                double sum = 0;
                for (int k = 0; k < K; k++) sum += exp((double)z[k]);
                nll = log(sum) - z[y];
            }
            u += memoryless - nll;
            sce += nll;
        }
        su += u, suu += u * u;
    }
    const double mean = su / n / M_LN2, sd = sqrt((suu - su * su / n) / (n - 1));
    const double se = sd / sqrt((double)n) / M_LN2;
    const char *what = bce ? "ntm-copy" : "copy";
    EXPECT(close_to(metrics_bits(&met), mean, 1e-4), "%s: model_batch bits %.6f, direct %.6f", what,
           metrics_bits(&met), mean);
    EXPECT(close_to(metrics_bits_se(&met), se, 1e-4), "%s: model_batch SE %.6f, direct sd/√n/ln 2 = %.6f", what,
           metrics_bits_se(&met), se);
    EXPECT(close_to(metrics_bits(&again), mean, 1e-9) && close_to(metrics_bits_se(&again), se, 1e-9),
           "%s: info_score %.9f ± %.9f, direct %.9f ± %.9f", what, metrics_bits(&again), metrics_bits_se(&again),
           mean, se);
    EXPECT(fabs(mean) > 4 * se, "%s: the test needs outputs far from uniform (%.3f ± %.3f bits)", what, mean, se);
    /* the per-position sums add up to the whole */
    double pos_loss = 0;
    for (int j = 0; j < N; j++) pos_loss += pl[j];
    EXPECT(close_to(pos_loss, met.loss, 1e-9) && close_to(sce, met.loss, 1e-4),
           "%s: per-position losses add to %.6f, direct %.6f, metrics %.6f", what, pos_loss, sce, met.loss);
    printf("  %s, %d sequences: %.4f ± %.4f bits (direct %.4f ± %.4f) of %.1f\n", what, n, metrics_bits(&met),
           metrics_bits_se(&met), mean, se, metrics_bits_ceiling(&met));
    free(logits), free(targets), free(pl), free(pt), free(idx);
    workspace_free(&w);
    model_free(&m);
    dataset_free(&d);
}

static void test_temperature(void)
{
    /* overconfident outputs that are right 3 times in 5: logit 6 on the predicted class. The loss is
     * lowest at the fitted beta, below 1, and the bound there is above the raw one. */
    enum { n = 200, N = 5, K = 8 };
    static real logits[n * N * K];
    static int16_t targets[n * N];
    for (int i = 0; i < n * N; i++) {
        targets[i] = (int16_t)((i * 7) % K);
        const int said = i % 5 < 3 ? targets[i] : (targets[i] + 1 + i % 3) % K;
        for (int k = 0; k < K; k++) logits[i * K + k] = k == said ? 6 : 0;
    }
    Outputs o = {.n = n, .N = N, .K = K, .logits = logits, .targets = targets};
    const double beta = info_fit_beta(&o);
    Metrics raw = {0}, at = {0}, lo = {0}, hi = {0};
    info_score(&o, 1, &raw), info_score(&o, beta, &at), info_score(&o, beta * 0.999, &lo);
    info_score(&o, beta * 1.001, &hi);
    EXPECT(beta > 0 && beta < 1 && at.loss < lo.loss && at.loss < hi.loss,
           "beta %.6f: loss %.9f, at 0.999·beta %.9f, at 1.001·beta %.9f", beta, at.loss, lo.loss, hi.loss);
    EXPECT(metrics_bits(&at) > metrics_bits(&raw), "recalibrated %.4f bits, raw %.4f", metrics_bits(&at),
           metrics_bits(&raw));
    /* at the optimum of softmax(beta·z) with logit a on one class, p = e^{βa}/(e^{βa} + K − 1) equals
     * the fraction right, 3/5: beta = log(0.6·(K − 1)/0.4) / a */
    const double want = log(0.6 * (K - 1) / 0.4) / 6;
    EXPECT(close_to(beta, want, 1e-9), "beta %.12f, expected log(0.6·7/0.4)/6 = %.12f", beta, want);
    EXPECT(metrics_acc(&at) == metrics_acc(&raw), "the temperature changed the accuracy");
    printf("  overconfident outputs right 3 times in 5: %.3f bits raw, temperature %.4f (expected %.4f) gives %.3f\n",
           metrics_bits(&raw), 1 / beta, 1 / want, metrics_bits(&at));
}

static void test_no_information(void)
{
    /* outputs that point at the wrong class: any beta > 0 is worse than uniform, so the fitted beta
     * is 0 and the recalibrated bound is exactly 0 */
    enum { n = 20, K = 4 };
    real logits[n * K];
    int16_t targets[n];
    for (int i = 0; i < n; i++) {
        targets[i] = (int16_t)(i % K);
        for (int k = 0; k < K; k++) logits[i * K + k] = k == (i + 1) % K ? 2 : 0;
    }
    Outputs o = {.n = n, .N = 1, .K = K, .logits = logits, .targets = targets};
    const double beta = info_fit_beta(&o);
    Metrics raw = {0}, cal = {0};
    info_score(&o, 1, &raw), info_score(&o, beta, &cal);
    EXPECT(beta == 0 && metrics_bits(&cal) == 0, "wrong outputs: beta %.6f, recalibrated %.6f bits", beta,
           metrics_bits(&cal));
    EXPECT(metrics_bits(&raw) < 0, "wrong outputs: raw bits %.4f, expected below 0", metrics_bits(&raw));
    printf("  outputs that point at the wrong class: %.4f bits raw, beta %.1f, %.1f bits recalibrated\n",
           metrics_bits(&raw), beta, metrics_bits(&cal));
}

static void test_decay(void)
{
    enum { n = 120 };
    double flow[n];
    /* ‖∂L/∂h_t‖ = 3·0.8^(n − t): ρ = 0.8 */
    for (int t = 0; t < n; t++) flow[t] = 3 * pow(0.8, n - t);
    double rho = info_decay(flow, n);
    EXPECT(close_to(rho, 0.8, 1e-12), "ρ of 3·0.8^(n−t): %.15f", rho);
    /* underflow at the far end (zeros and subnormal values) is left out */
    for (int t = 0; t < 30; t++) flow[t] = t % 2 ? 0 : 1e-40;
    double cut = info_decay(flow, n);
    EXPECT(close_to(cut, 0.8, 1e-12), "ρ with 30 underflowed steps: %.15f", cut);
    /* growth reads above 1; a profile of two usable steps gives NaN */
    for (int t = 0; t < n; t++) flow[t] = pow(1.05, n - t);
    double grow = info_decay(flow, n);
    EXPECT(close_to(grow, 1.05, 1e-12), "ρ of 1.05^(n−t): %.15f", grow);
    EXPECT(isnan(info_decay(flow, 2)), "ρ of two steps is %.3f, expected NaN", info_decay(flow, 2));
    printf("  ρ of synthetic profiles: %.6f (0.8), %.6f (0.8, underflowed start), %.6f (1.05)\n", rho, cut, grow);
}

/* Gate statistics over the hold (docs/method.md "Gate statistics"), hand-computed: a multiplicative LSTM with
 * U = 0, b = 0, W_m = U_m = 0 and b_m[s] = 1 + s/10 has gate pre-activations W[g·H + u, s]·m_s at a
 * step showing symbol s, whatever came before; its activations (σ for i, f, o, tanh for c) and gains
 * m_s, summed over the input phase of every test sequence (copy with no delay: steps 0..T-1) from the
 * sequences themselves, against model_batch's Scores.hold. And with a delay the hold is the blanks
 * between the last symbol and the delimiter. */
static void test_gate_statistics(void)
{
    Settings s;
    settings_default(&s);
    s.T = 5, s.vocab = 4, s.hidden = 3, s.model = model_find("mlstm");
    TaskShape sh = task_shape(&s);
    EXPECT(sh.hold_start == 0 && sh.hold_end == 5, "copy T = 5: hold [%d, %d), expected [0, 5)", sh.hold_start,
           sh.hold_end);
    const int n = 40, B = 16, H = s.hidden;
    Dataset d;
    dataset_init(&d, &sh, 3, SPLIT_TEST, n, NULL, 0);
    Model m;
    model_init(&m, s.model, &sh, H, 1, 0); /* every weight 0 */
    const Layer *ly = &m.layer[0];
    const int G = ly->G, I = ly->I;
    for (int r = 0; r < G * H; r++)
        for (int c = 0; c < I; c++) ly->p.W[(size_t)r * I + c] = (real)(0.3 * (c + 1) * ((r % 5) - 2) / (1 + r / H));
    for (int c = 0; c < I; c++) ly->p.b_m[c] = (real)(1 + 0.1 * c);
    Workspace w;
    workspace_init(&w, &m, &sh, B, 8, 0, NULL);
    double hold[3 * 5] = {0};
    int idx[64];
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int i = 0; i < n; i += B) {
        Metrics met = {0};
        Scores sc = {.hold = hold};
        const Batch b = task_batch(&d, idx + i, n - i < B ? n - i : B);
        model_batch(&m, &w, &b, 0, &met, &sc, NULL, NULL);
    }
    double want[3 * 5] = {0};
    for (int i = 0; i < n; i++)
        for (int t = 0; t < s.T; t++) {
            const int sym = task_input_symbol(&sh, d.content + (size_t)i * sh.cw, t);
            const double gain = 1 + 0.1 * sym;
            for (int g = 0; g < G; g++)
                for (int u = 0; u < H; u++) {
                    const double pre = ly->p.W[(size_t)(g * H + u) * I + sym] * gain;
                    const double v = g == 3 ? tanh(pre) : 1 / (1 + exp(-pre)); /* "ifoc" */
                    want[3 * g] += 1, want[3 * g + 1] += v, want[3 * g + 2] += v * v;
                }
            want[3 * G] += 1, want[3 * G + 1] += gain, want[3 * G + 2] += gain * gain;
        }
    for (int k = 0; k < 3 * (G + 1); k++)
        EXPECT(close_to(hold[k], want[k], 1e-5), "hold[%d] (gate %d, %s) %.8g, computed by hand %.8g", k, k / 3,
               k % 3 == 0 ? "count" : k % 3 == 1 ? "sum" : "sum of squares", hold[k], want[k]);
    printf("  gate statistics: %.0f values per gate over the input phase, f mean %.6f (by hand %.6f), m mean %.6f "
           "(by hand %.6f)\n", hold[3], hold[4] / hold[3], want[4] / want[3], hold[3 * G + 1] / hold[3 * G],
           want[3 * G + 1] / want[3 * G]);
    workspace_free(&w);
    model_free(&m);
    dataset_free(&d);
    s.delay = 7;
    sh = task_shape(&s);
    EXPECT(sh.hold_start == 5 && sh.hold_end == 12 && sh.lag == 13, "copy T = 5, delay 7: hold [%d, %d), lag %d; "
           "expected [5, 12), 13", sh.hold_start, sh.hold_end, sh.lag);
    s.task = task_find("copy-delay"), s.delay = 0, s.T = 100;
    sh = task_shape(&s);
    EXPECT(sh.hold_start == 10 && sh.hold_end == 109 && sh.lag == 110 && sh.S == 10, "copy-delay T = 100: hold [%d, "
           "%d), lag %d, load %d; expected [10, 109), 110, 10", sh.hold_start, sh.hold_end, sh.lag, sh.S);
}

int main(void)
{
    printf("memory in bits and the decay per step\n");
    test_hand_computed();
    test_model_sums(0);
    test_model_sums(1);
    test_temperature();
    test_no_information();
    test_decay();
    test_gate_statistics();
    if (failures) {
        printf("test_info: %d FAILED\n", failures);
        return 1;
    }
    printf("test_info: all passed\n");
    return 0;
}
