/* The standard LSTM cell of docs/method.md (gates i, f, o and candidate c̃, stacked in that order). */
#ifndef CS_LSTM_H
#define CS_LSTM_H

#include "cell.h" /* CellOps */

extern const CellOps lstm_ops;

#endif
