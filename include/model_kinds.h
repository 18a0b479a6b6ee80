/* The registry of models: every model a user can name, as a cell (its CellOps, in its own source
 * file) with or without the multiplicative step. Adding a cell is its source file and a line here
 * in model_kinds.c; nothing else compares model names or kinds. A model's kind is its index in the
 * registry, which keys its random streams: new entries go at the end. */
#ifndef CS_MODEL_KINDS_H
#define CS_MODEL_KINDS_H

#include "cell.h" /* CellOps */

typedef struct {
    const char *name;      /* "lstm": the value of the setting model */
    const char *long_name; /* "multiplicative LSTM": in headers, tables and figures */
    const CellOps *ops;
    int mult;              /* 1: x̃_t = m_t ⊙ x_t feeds the cell (docs/method.md "The cells") */
} ModelKind;

extern const ModelKind model_kinds[]; /* terminated by name == NULL */
extern const int model_count;

/* The kind named name, or -1. */
int model_find(const char *name);

#endif
