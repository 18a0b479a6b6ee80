/* The plain tanh RNN of docs/method.md ("The cells"): h_t = tanh(W x_t + U h_{t-1} + b). */
#ifndef CS_RNN_H
#define CS_RNN_H

#include "cell.h" /* CellOps */

extern const CellOps rnn_ops;

#endif
