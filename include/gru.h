/* The standard GRU cell of docs/method.md (update z, reset r, candidate ĥ; the reset gate acts on h_{t-1}
 * before the product with U_h). */
#ifndef CS_GRU_H
#define CS_GRU_H

#include "cell.h" /* CellOps */

extern const CellOps gru_ops;

#endif
