/* The registry of models (model_kinds.h). */
#include "model_kinds.h"

#include <string.h> /* strcmp */

#include "gru.h"  /* gru_ops */
#include "lstm.h" /* lstm_ops */
#include "rnn.h"  /* rnn_ops */

const ModelKind model_kinds[] = {
    {"lstm", "LSTM", &lstm_ops, 0},
    {"mlstm", "multiplicative LSTM", &lstm_ops, 1},
    {"gru", "GRU", &gru_ops, 0},
    {"mgru", "multiplicative GRU", &gru_ops, 1},
    {"rnn", "tanh RNN", &rnn_ops, 0},
    {"mrnn", "multiplicative tanh RNN", &rnn_ops, 1},
    {NULL, NULL, NULL, 0},
};

const int model_count = sizeof model_kinds / sizeof model_kinds[0] - 1;

int model_find(const char *name)
{
    for (int k = 0; model_kinds[k].name; k++)
        if (strcmp(model_kinds[k].name, name) == 0) return k;
    return -1;
}
