/* The registry of tasks (task_kinds.h). */
#include "task_kinds.h"

#include <string.h> /* strcmp */

extern const TaskOps copy_ops, copy_delay_ops, temporal_order_ops, ntm_copy_ops, charlm_ops;

const TaskKind task_kinds[] = {
    {"copy", &copy_ops},
    {"copy-delay", &copy_delay_ops},
    {"temporal-order", &temporal_order_ops},
    {"ntm-copy", &ntm_copy_ops},
    {"charlm", &charlm_ops},
    {NULL, NULL},
};

const int task_count = sizeof task_kinds / sizeof task_kinds[0] - 1;

int task_find(const char *name)
{
    for (int k = 0; task_kinds[k].name; k++)
        if (strcmp(task_kinds[k].name, name) == 0) return k;
    return -1;
}

static TaskShape shape_at(const Settings *s, int T, int fixed)
{
    const TaskOps *ops = task_kinds[s->task].ops;
    TaskShape sh = ops->shape(s, T, fixed);
    sh.task = s->task;
    sh.name = task_kinds[s->task].name;
    sh.ops = ops;
    sh.T = T;
    sh.one_hot = ops->input_symbol != NULL;
    sh.out_start = sh.L - sh.n_out;
    return sh;
}

TaskShape task_shape(const Settings *s) { return shape_at(s, s->T, 0); }
TaskShape task_shape_eval(const Settings *s, int T_eval) { return shape_at(s, T_eval, 1); }
