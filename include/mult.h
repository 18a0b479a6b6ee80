/* The multiplicative input step shared by mlstm and mgru (SPEC):
 *   m_t = W_m x_t + U_m h_{t-1} + b_m,   x̃_t = m_t ⊙ x_t
 * x̃_t then replaces x_t in the cell's equations. */
#ifndef CS_MULT_H
#define CS_MULT_H

#include "cell.h" /* Model, Acts */

/* m_t = W_m x_t + b_m for every step: one product over all L·B rows. */
void mult_forward_input(const Model *m, Acts *a, int B);
/* m_t += U_m h_{t-1}; x̃_t = m_t ⊙ x_t. */
void mult_forward_step(const Model *m, Acts *a, int t, int B);
/* From dgates_t: dm_t = (dgates_t W) ⊙ x_t, dh_prev += dm_t U_m. */
void mult_backward_step(const Model *m, Acts *a, int t, int B);
/* dW_m, dU_m, db_m from dm over all steps. */
void mult_grads(const Model *m, Acts *a, int B);

#endif
