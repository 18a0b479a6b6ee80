/* The settings table: keys, types, defaults, ranges and help of every trial setting. */
#include "settings.h"

#include <errno.h>  /* errno, ERANGE */
#include <math.h>   /* isfinite */
#include <stdio.h>  /* snprintf, fprintf */
#include <stdlib.h> /* strtol, strtod */
#include <string.h> /* strcmp */

const char *const model_names[] = {"lstm", "mlstm", "gru", "mgru", NULL};
const char *const model_long_names[] = {"standard LSTM", "multiplicative LSTM", "standard GRU",
                                        "multiplicative GRU", NULL};
const char *const task_names[] = {"copy", NULL};
const char *const optimizer_names[] = {"adam", "sgd", NULL};
static const char *const init_names[] = {"orthogonal", "xavier", NULL};

#define OFF(field) offsetof(Settings, field)
#define BIG 1e9

const SettingInfo settings_table[] = {
    {"model", SET_CHOICE, OFF(model), "lstm", 0, 0, 0, model_names,
     "recurrent cell: lstm, mlstm (multiplicative LSTM), gru, mgru (multiplicative GRU)"},
    {"task", SET_CHOICE, OFF(task), "copy", 0, 0, 0, task_names, "task (SPEC: copy)"},
    {"T", SET_INT, OFF(T), "100", 1, 100000, 0, NULL, "symbols to copy"},
    {"delay", SET_INT, OFF(delay), "0", 0, 100000, 0, NULL,
     "blanks between the symbols and the delimiter"},
    {"vocab", SET_INT, OFF(vocab), "8", 2, 250, 0, NULL, "K, number of data symbols"},
    {"seed", SET_INT, OFF(seed), "1", 0, 2147483647, 0, NULL,
     "keys the data, the initial weights and the training order"},
    {"hidden", SET_INT, OFF(hidden), "128", 1, 8192, 0, NULL, "H, hidden units"},
    {"batch", SET_INT, OFF(batch), "32", 1, 65536, 0, NULL, "sequences per update"},
    {"chunk", SET_INT, OFF(chunk), "16", 1, 65536, 0, NULL,
     "sequences per parallel work item; fixes the summation order, so results depend on it and "
     "never on the thread count"},
    {"optimizer", SET_CHOICE, OFF(optimizer), "adam", 0, 0, 0, optimizer_names,
     "adam or sgd (with momentum)"},
    {"lr", SET_REAL, OFF(lr), "0.001", 0, BIG, 1, NULL, "learning rate"},
    {"momentum", SET_REAL, OFF(momentum), "0.9", 0, 1, 0, NULL, "momentum of sgd"},
    {"clip", SET_REAL, OFF(clip), "1", 0, BIG, 0, NULL,
     "clip the global gradient norm to this, 0 = no clipping"},
    {"epochs", SET_INT, OFF(epochs), "30", 1, 1000000, 0, NULL, "maximum epochs"},
    {"patience", SET_INT, OFF(patience), "10", 0, 1000000, 0, NULL,
     "stop after this many epochs without a better validation accuracy, 0 = never"},
    {"target-acc", SET_REAL, OFF(target_acc), "0.99", 0, 1, 1, NULL,
     "stop when the validation symbol accuracy reaches this"},
    {"train-size", SET_INT, OFF(train_size), "6400", 1, 100000000, 0, NULL,
     "training sequences (one epoch = train-size / batch updates)"},
    {"val-size", SET_INT, OFF(val_size), "512", 1, 100000000, 0, NULL, "validation sequences"},
    {"test-size", SET_INT, OFF(test_size), "1024", 1, 100000000, 0, NULL, "test sequences"},
    {"init-u", SET_CHOICE, OFF(init_u), "orthogonal", 0, 0, 0, init_names,
     "initialization of the recurrent weights U: orthogonal or xavier"},
    {"forget-bias", SET_REAL, OFF(forget_bias), "1", -100, 100, 0, NULL,
     "initial forget-gate bias b_f of the LSTMs"},
    {"mult-init", SET_REAL, OFF(mult_init), "0.01", 0, 100, 0, NULL,
     "W_m and U_m start uniform in (-a, a) and b_m at 1, so that x~_t starts near x_t"},
    {NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL},
};

static int *int_field(Settings *s, const SettingInfo *info) { return (int *)((char *)s + info->offset); }
static double *real_field(Settings *s, const SettingInfo *info)
{
    return (double *)((char *)s + info->offset);
}

int settings_get_int(const Settings *s, const SettingInfo *info)
{
    return *(const int *)((const char *)s + info->offset);
}

double settings_get_real(const Settings *s, const SettingInfo *info)
{
    return *(const double *)((const char *)s + info->offset);
}

void settings_default(Settings *s)
{
    char err[256];
    memset(s, 0, sizeof *s);
    for (const SettingInfo *info = settings_table; info->key; info++)
        if (settings_parse(s, info, info->def, err, sizeof err) != 0) {
            fprintf(stderr, "copysweep: bad default of '%s': %s\n", info->key, err);
            abort(); /* a programmer error in the table above */
        }
}

const SettingInfo *settings_find(const char *key)
{
    for (const SettingInfo *info = settings_table; info->key; info++)
        if (strcmp(info->key, key) == 0) return info;
    return NULL;
}

/* "an integer ≥ 1", "a number > 0 and ≤ 1", ... */
static void describe_range(const SettingInfo *info, char *buf, size_t n)
{
    const char *what = info->type == SET_INT ? "an integer" : "a number";
    const char *lo = info->min_open ? ">" : "≥";
    if (info->max >= BIG)
        snprintf(buf, n, "%s %s %g", what, lo, info->min);
    else
        snprintf(buf, n, "%s %s %g and ≤ %g", what, lo, info->min, info->max);
}

int settings_parse(Settings *s, const SettingInfo *info, const char *text, char *err, size_t errlen)
{
    char range[96];
    if (info->type == SET_CHOICE) {
        for (int i = 0; info->choices[i]; i++)
            if (strcmp(text, info->choices[i]) == 0) {
                *int_field(s, info) = i;
                return 0;
            }
        int len = snprintf(err, errlen, "'%s' is not a valid %s (expected one of", text, info->key);
        for (int i = 0; info->choices[i] && len > 0 && (size_t)len < errlen; i++)
            len += snprintf(err + len, errlen - (size_t)len, "%s %s", i ? "," : "", info->choices[i]);
        if (len > 0 && (size_t)len < errlen) snprintf(err + len, errlen - (size_t)len, ")");
        return -1;
    }
    describe_range(info, range, sizeof range);
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        snprintf(err, errlen, "'%s' is not a number (expected %s)", text, range);
        return -1;
    }
    if (info->type == SET_INT && (v != (double)(long)v || strpbrk(text, ".eE"))) {
        snprintf(err, errlen, "'%s' is not an integer (expected %s)", text, range);
        return -1;
    }
    if (v < info->min || (info->min_open && v == info->min) || v > info->max) {
        snprintf(err, errlen, "'%s' is out of range (expected %s)", text, range);
        return -1;
    }
    if (info->type == SET_INT)
        *int_field(s, info) = (int)v;
    else
        *real_field(s, info) = v;
    return 0;
}

const char *settings_validate(const Settings *s, char *err, size_t errlen)
{
    if (s->batch > s->train_size) {
        snprintf(err, errlen, "%d is larger than train-size %d (expected batch ≤ train-size)", s->batch,
                 s->train_size);
        return "batch";
    }
    return NULL;
}

void settings_format(const Settings *s, const SettingInfo *info, char *buf, size_t n)
{
    if (info->type == SET_CHOICE) {
        snprintf(buf, n, "%s", info->choices[settings_get_int(s, info)]);
    } else if (info->type == SET_INT) {
        snprintf(buf, n, "%d", settings_get_int(s, info));
    } else {
        /* the shortest %g that reads back to the same double */
        double v = settings_get_real(s, info);
        for (int digits = 6; digits <= 17; digits++) {
            snprintf(buf, n, "%.*g", digits, v);
            if (strtod(buf, NULL) == v) break;
        }
    }
}

void settings_print_help(FILE *out)
{
    for (const SettingInfo *info = settings_table; info->key; info++) {
        char opt[40];
        const char *arg = info->type == SET_CHOICE ? "NAME" : info->type == SET_INT ? "N" : "X";
        snprintf(opt, sizeof opt, "--%s %s", info->key, arg);
        fprintf(out, "  %-22s %s (default: %s)\n", opt, info->help, info->def);
    }
}

void settings_write_ini(const Settings *s, FILE *out)
{
    char buf[64];
    for (const SettingInfo *info = settings_table; info->key; info++) {
        settings_format(s, info, buf, sizeof buf);
        fprintf(out, "%s = %s\n", info->key, buf);
    }
}
