/* The trial record (trial_record.h). */
#include "trial_record.h"

#include <stdlib.h> /* free */
#include <string.h> /* memset */

const char *const status_names[] = {"pending", "running", "done", "diverged", "failed", "pruned", NULL};
const double conv_thresholds[CONV_COUNT] = {0.5, 0.9, 0.99};

/* A row is packed as its int fields, then its double fields, each group in declaration order (the
 * layout checkpoints have had since format 2). Each field is visited by both passes, and the pass
 * that is not its type does nothing. */
static void pack_int_int(Pack *p, const int *v) { pack_i64(p, *v); }
static void pack_int_double(Pack *p, const double *v) { (void)p, (void)v; }
static void pack_double_int(Pack *p, const int *v) { (void)p, (void)v; }
static void pack_double_double(Pack *p, const double *v) { pack_f64(p, *v); }
static void unpack_int_int(Unpack *u, int *v) { *v = (int)unpack_int(u, -1, 2147483647); }
static void unpack_int_double(Unpack *u, double *v) { (void)u, (void)v; }
static void unpack_double_int(Unpack *u, int *v) { (void)u, (void)v; }
static void unpack_double_double(Unpack *u, double *v) { *v = unpack_f64(u); }

void curve_rows_pack(Pack *p, const CurveRow *rows, int n)
{
    pack_i64(p, n);
    for (int e = 0; e < n; e++) {
#define PACK_INT(ctype, name, h5type, meaning) pack_int_##ctype(p, &rows[e].name);
#define PACK_DOUBLE(ctype, name, h5type, meaning) pack_double_##ctype(p, &rows[e].name);
        CURVE_FIELDS(PACK_INT)
        CURVE_FIELDS(PACK_DOUBLE)
#undef PACK_INT
#undef PACK_DOUBLE
    }
}

int curve_rows_unpack(Unpack *u, CurveRow *rows, int max)
{
    const int n = (int)unpack_int(u, 0, max);
    for (int e = 0; e < n && !u->bad; e++) {
#define UNPACK_INT(ctype, name, h5type, meaning) unpack_int_##ctype(u, &rows[e].name);
#define UNPACK_DOUBLE(ctype, name, h5type, meaning) unpack_double_##ctype(u, &rows[e].name);
        CURVE_FIELDS(UNPACK_INT)
        CURVE_FIELDS(UNPACK_DOUBLE)
#undef UNPACK_INT
#undef UNPACK_DOUBLE
    }
    return u->bad ? 0 : n;
}

void trial_result_free(TrialResult *res)
{
    free(res->curves);
    free(res->per_position);
    free(res->per_position_ce);
    free(res->per_position_bits);
    free(res->per_position_bits_se);
    free(res->grad_flow);
    for (int k = 0; k < res->n_eval; k++) free(res->eval[k].ex_out), free(res->eval[k].ex_target);
    free(res->eval);
    if (res->exec) free(res->exec->extra_values);
    free(res->exec);
    memset(res, 0, sizeof *res);
}
