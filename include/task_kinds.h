/* The registry of tasks: every task a user can name, as its TaskOps (in its own source file). Adding
 * a task is its source file and a line in task_kinds.c; nothing else compares task names or kinds. A
 * task's kind is its index in the registry, which keys its data streams: new entries go at the end. */
#ifndef CS_TASK_KINDS_H
#define CS_TASK_KINDS_H

#include "task.h" /* TaskOps */

typedef struct {
    const char *name; /* "copy": the value of the setting task */
    const TaskOps *ops;
} TaskKind;

extern const TaskKind task_kinds[]; /* terminated by name == NULL */
extern const int task_count;

/* The kind named name, or -1. */
int task_find(const char *name);

/* The shape the settings train on, and the shape of an evaluation at another length T'
 * (ntm-copy: every sequence has exactly T' vectors). */
TaskShape task_shape(const Settings *s);
TaskShape task_shape_eval(const Settings *s, int T_eval);

#endif
