/* The multiplicative input step shared by mlstm and mgru (docs/method.md):
 *   m_t = W_m x_t + U_m h_{t-1} + b_m,   x̃_t = m_t ⊙ x_t
 * x̃_t then replaces x_t in the cell's equations. With one-hot inputs x_t = e_s only m_t[s] reaches
 * anything, so only it is computed: x̃_t = m_t[s] e_s, exactly; dense inputs take the full products. */
#ifndef CS_MULT_H
#define CS_MULT_H

#include "cell.h" /* Layer, LayerActs */

/* One-hot: msym_t = m_t[s] = W_m[s, s] + U_m[s]·h_{t-1} + b_m[s] for every row. */
void mult_forward_onehot(const Layer *m, LayerActs *a, int t, int B);
/* One-hot, from ∂pre_t in gates_t: ∂m_t[s] = ∂pre_t·W[:, s]; dh_prev += ∂m_t[s] U_m[s]; and the
 * gradients of W_m[s, s], U_m[s] and b_m[s]. */
void mult_backward_onehot(const Layer *m, LayerActs *a, int t, int B);

/* Dense: m_t = W_m x_t + b_m for every step, one product over all L·B rows. */
void mult_forward_input(const Layer *m, LayerActs *a, int B);
/* Dense: m_t += U_m h_{t-1}; x̃_t = m_t ⊙ x_t. */
void mult_forward_step(const Layer *m, LayerActs *a, int t, int B);
/* Dense, from ∂pre_t in gates_t: dm_t = (∂pre_t W) ⊙ x_t, dh_prev += dm_t U_m. */
void mult_backward_step(const Layer *m, LayerActs *a, int t, int B);
/* Dense: dW_m, dU_m, db_m from dm over all steps. */
void mult_grads(const Layer *m, LayerActs *a, int B);

#endif
