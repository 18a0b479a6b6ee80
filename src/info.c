/* Memory in bits from stored outputs, its recalibration on validation, and the decay rate ρ. */
#include "info.h"

#include <math.h> /* exp, log, log1p, fabs, isfinite, M_LN2 */

#include "task.h" /* TASK_NO_TARGET */

/* The loss of one target at beta; *hits the predictions right (argmax, or each bit's sign). */
static double target_loss(const Outputs *o, const real *z, int y, double beta, int *hits)
{
    double loss = 0;
    *hits = 0;
    if (o->bce) {
        for (int k = 0; k < o->K; k++) {
            const double v = beta * z[k], bit = (y >> k) & 1;
            /* −[b log σ(v) + (1−b) log(1 − σ(v))] = max(v, 0) − b·v + log(1 + e^{−|v|}) */
            loss += (v > 0 ? v : 0) - bit * v + log1p(exp(-fabs(v)));
            *hits += (z[k] > 0) == (bit > 0);
        }
        return loss;
    }
    int best = 0;
    double mx = beta * z[0];
    for (int k = 1; k < o->K; k++) {
        if (z[k] > z[best]) best = k;
        if (beta * z[k] > mx) mx = beta * z[k];
    }
    /* −log softmax(beta·z)_y = log Σ_k e^{beta z_k − max} − (beta z_y − max) */
    double sum = 0;
    for (int k = 0; k < o->K; k++) sum += exp(beta * z[k] - mx);
    *hits = best == y;
    return log(sum) - (beta * z[y] - mx);
}

void info_score(const Outputs *o, double beta, Metrics *out)
{
    const int per = o->bce ? o->K : 1;
    /* the memoryless loss of one target: log K, or K·log 2 for K bits */
    const double memoryless = o->bce ? o->K * M_LN2 : log(o->K);
    Metrics s = {0};
    for (int i = 0; i < o->n; i++) {
        double u = 0;
        int ok = 1;
        for (int j = 0; j < o->N; j++) {
            const int y = o->targets[(size_t)i * o->N + j];
            if (y == TASK_NO_TARGET) continue;
            int hits;
            const double loss = target_loss(o, o->logits + ((size_t)i * o->N + j) * o->K, y, beta, &hits);
            s.loss += loss, s.symbols += per, s.correct += hits;
            if (hits < per) ok = 0;
            /* u_s = Σ_j (memoryless − CE_j) */
            u += memoryless - loss;
            s.info_max += memoryless;
        }
        s.sequences++, s.seq_correct += ok;
        s.info += u, s.info_sq += u * u;
    }
    metrics_add(out, &s);
}

/* First and second derivative of the summed loss in beta. Softmax: d/dβ = Σ (E_p[z] − z_y),
 * d²/dβ² = Σ Var_p[z]; sigmoid bits: Σ_k (σ(βz_k) − b_k) z_k and Σ_k σ(1 − σ) z_k². */
static void loss_derivatives(const Outputs *o, double beta, double *d1, double *d2)
{
    double g = 0, h = 0;
    for (int i = 0; i < o->n; i++)
        for (int j = 0; j < o->N; j++) {
            const int y = o->targets[(size_t)i * o->N + j];
            if (y == TASK_NO_TARGET) continue;
            const real *z = o->logits + ((size_t)i * o->N + j) * o->K;
            if (o->bce) {
                for (int k = 0; k < o->K; k++) {
                    const double p = 1 / (1 + exp(-beta * z[k]));
                    g += (p - ((y >> k) & 1)) * z[k];
                    h += p * (1 - p) * z[k] * z[k];
                }
                continue;
            }
            double mx = beta * z[0], sum = 0, m1 = 0, m2 = 0;
            for (int k = 1; k < o->K; k++) mx = beta * z[k] > mx ? beta * z[k] : mx;
            for (int k = 0; k < o->K; k++) {
                const double e = exp(beta * z[k] - mx);
                sum += e, m1 += e * z[k], m2 += e * z[k] * z[k];
            }
            m1 /= sum, m2 /= sum;
            g += m1 - z[y];
            h += m2 - m1 * m1;
        }
    *d1 = g, *d2 = h;
}

double info_fit_beta(const Outputs *o)
{
    double g, h;
    loss_derivatives(o, 0, &g, &h);
    if (!(g < 0)) return 0; /* the loss does not fall below the memoryless loss for any beta > 0 */
    /* bracket the root of the derivative (increasing: the loss is convex), then safeguarded Newton */
    double lo = 0, hi = 1;
    for (loss_derivatives(o, hi, &g, &h); g < 0 && hi < INFO_BETA_MAX; loss_derivatives(o, hi, &g, &h))
        lo = hi, hi = hi * 2 < INFO_BETA_MAX ? hi * 2 : INFO_BETA_MAX;
    if (g < 0) return INFO_BETA_MAX;
    double beta = 1 > lo && 1 < hi ? 1 : 0.5 * (lo + hi);
    for (int it = 0; it < 100 && hi - lo > 1e-12 * hi; it++) {
        loss_derivatives(o, beta, &g, &h);
        if (g == 0) return beta;
        if (g < 0)
            lo = beta;
        else
            hi = beta;
        const double newton = h > 0 ? beta - g / h : -1;
        const double next = newton > lo && newton < hi ? newton : 0.5 * (lo + hi);
        if (fabs(next - beta) <= 1e-12 * beta) return next;
        beta = next;
    }
    return beta;
}

double info_decay(const double *flow, int n)
{
    double st = 0, sy = 0, stt = 0, sty = 0;
    int m = 0;
    for (int t = 0; t < n; t++) {
        if (!isfinite(flow[t]) || flow[t] < INFO_FLOW_FLOOR) continue;
        const double y = log(flow[t]);
        st += t, sy += y, stt += (double)t * t, sty += t * y, m++;
    }
    if (m < 3) return NAN;
    /* slope of ln ‖∂L/∂h_t‖ against t by least squares; ρ = e^{−slope} per step back in time */
    const double slope = (m * sty - st * sy) / (m * stt - st * st);
    return exp(-slope);
}
