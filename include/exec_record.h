/* The metrics line protocol of a user's program: it appends one JSON object per line to the file
 * named by COPYSWEEP_METRICS. An epoch row has an integer "epoch" ({"epoch": 3, "val_loss": 0.41});
 * the final record has none and holds every declared metric as a number; other numbers are kept (up
 * to EXEC_MAX_FIELDS, names under EXEC_MAX_NAME bytes) and other values dropped. A line that is not
 * a JSON object, is over EXEC_MAX_LINE bytes, or gives a declared metric (or "epoch") a value of the
 * wrong type is refused with the reason. */
#ifndef CS_EXEC_RECORD_H
#define CS_EXEC_RECORD_H

#include <stddef.h> /* size_t */

#define EXEC_MAX_FIELDS 64
#define EXEC_MAX_NAME 64
#define EXEC_MAX_LINE (1 << 20) /* bytes of one metrics line */

typedef struct {
    int epoch;                                /* ≥ 0 for an epoch row; -1 for the final record */
    int n;                                    /* numeric fields besides "epoch" */
    int n_declared;                           /* of them, declared metrics */
    char names[EXEC_MAX_FIELDS][EXEC_MAX_NAME];
    double values[EXEC_MAX_FIELDS];
} ExecRecord;

/* One line of the metrics file (without its newline) into r; a final record must hold every name
 * of declared[0..n_declared) as a number. 0, or -1 with the problem in err (one line, without a
 * place: the caller adds file and line). */
int exec_parse_record(const char *line, size_t len, const char *const *declared, int n_declared, ExecRecord *r,
                      char *err, size_t errlen);
/* The value of name in r, or NULL. */
const double *exec_record_value(const ExecRecord *r, const char *name);

#endif
