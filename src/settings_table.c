/* The settings table (settings_table.h): keys, types, defaults, ranges and help of every trial setting. */
#include "settings_table.h"

#include <errno.h>  /* errno, ERANGE */
#include <math.h>   /* isfinite, floor */
#include <stdio.h>  /* snprintf, fprintf */
#include <stddef.h> /* offsetof */
#include <stdlib.h> /* strtol, strtod, calloc, realloc, free */
#include <string.h> /* strcmp, strerror */
#include <unistd.h> /* access */

#include "check.h"       /* CS_FAIL */
#include "model_kinds.h" /* model_kinds */
#include "pack.h"  /* pack_hash_more */
#include "task_kinds.h" /* task_kinds */

static const char *model_at(int i, const char **about)
{
    if (about) *about = NULL;
    return i >= 0 && i < model_count ? model_kinds[i].name : NULL;
}

static const char *task_at(int i, const char **about)
{
    if (i < 0 || i >= task_count) return NULL;
    if (about) *about = task_kinds[i].ops->about;
    return task_kinds[i].name;
}
const char *const optimizer_names[] = {"adam", "sgd", NULL};
static const char *const init_names[] = {"orthogonal", "xavier", NULL};
static const char *const train_data_names[] = {"fresh", "fixed", NULL};

#define OFF(field) offsetof(Settings, field)
#define BIG 1e9

#define INT(k, field, d, lo, hi, h)                                                                \
    {.key = k, .type = SET_INT, .offset = OFF(field), .def = d, .min = lo, .max = hi, .help = h}
#define REAL(k, field, d, lo, open, hi, h)                                                         \
    {.key = k, .type = SET_REAL, .offset = OFF(field), .def = d, .min = lo, .min_open = open,      \
     .max = hi, .help = h}
#define CHOICE(k, field, d, names, h)                                                              \
    {.key = k, .type = SET_CHOICE, .offset = OFF(field), .def = d, .choices = names, .help = h}

const SettingInfo settings_table[] = {
    {.key = "model", .type = SET_CHOICE, .offset = OFF(model), .def = "lstm", .choice_at = model_at,
     .help = "recurrent cell, one of the registry's models:"},
    {.key = "task", .type = SET_CHOICE, .offset = OFF(task), .def = "copy", .choice_at = task_at,
     .help = "one of the registry's tasks:"},
    INT("T", T, "100", 1, 100000,
        "copy: symbols to copy; copy-delay: the delay; temporal-order: shortest length; ntm-copy: most vectors; "
        "charlm: longest piece of a line"),
    INT("delay", delay, "0", 0, 100000, "copy: blanks between the symbols and the delimiter"),
    INT("vocab", vocab, "8", 2, 250, "copy, copy-delay: K, number of data symbols"),
    INT("seed", seed, "1", 0, 2147483647, "keys the data, the initial weights, the training order and the dropout masks"),
    INT("hidden", hidden, "128", 1, 8192, "H, hidden units"),
    INT("layers", layers, "1", 1, 4, "stacked recurrent layers of the same cell; layer k reads h_t of layer k-1"),
    REAL("dropout", dropout, "0", 0, 0, 0.95,
         "(inverted) dropout probability on the input of every layer above the first and of the output layer, "
         "in training only"),
    INT("batch", batch, "32", 1, 65536, "sequences per update"),
    INT("chunk", chunk, "16", 1, 65536,
        "sequences per parallel work item; fixes the summation order, so results depend on it and "
        "never on the thread count"),
    CHOICE("optimizer", optimizer, "adam", optimizer_names, "adam (beta 0.9, 0.999, eps 1e-8) or sgd (with momentum)"),
    REAL("lr", lr, "0.001", 0, 1, BIG, "learning rate"),
    REAL("momentum", momentum, "0.9", 0, 0, 1, "momentum of sgd"),
    REAL("clip", clip, "1", 0, 0, BIG, "clip the global gradient norm to this, 0 = no clipping"),
    /* "epochs" is also the results column of epochs run; the budget is stored as max_epochs */
    {.key = "epochs", .type = SET_INT, .offset = OFF(epochs), .def = "30", .min = 1, .max = 1000000,
     .auto_text = "auto", .column = "max_epochs",
     .help = "maximum epochs; auto = budget / (updates per epoch x L), rounded, at least 1: the same training "
             "cost at every sequence length L (auto is stored as -1; the max_updates column holds each trial's budget)"},
    INT("budget", budget, "0", 0, 2000000000,
        "with epochs = auto: the training budget of a trial in updates x L (time steps of updates); 0 = none"),
    INT("patience", patience, "10", 0, 1000000,
        "stop after this many epochs without a better validation accuracy, 0 = never"),
    REAL("target-acc", target_acc, "0.99", 0, 1, 1,
         "stop when the validation symbol accuracy reaches this"),
    INT("train-size", train_size, "6400", 1, 100000000,
        "training sequences (one epoch = train-size / batch updates)"),
    CHOICE("train-data", train_data, "fresh", train_data_names,
           "fresh: each epoch trains on train-size sequences drawn anew (epoch e from the stream keyed by e), so "
           "that no sequence is seen twice but by chance; fixed: the same train-size sequences every epoch "
           "(charlm's lines are always fixed)"),
    INT("val-size", val_size, "512", 1, 100000000, "validation sequences"),
    INT("test-size", test_size, "1024", 1, 100000000, "test sequences"),
    CHOICE("init-u", init_u, "orthogonal", init_names,
           "initialization of the recurrent weights U: orthogonal or xavier"),
    REAL("forget-bias", forget_bias, "1", -100, 0, 100, "initial forget-gate bias b_f of the LSTMs"),
    {.key = "chrono", .type = SET_INT, .offset = OFF(chrono), .def = "0", .min = 0, .max = 10000000,
     .auto_text = "auto",
     .help = "chrono initialization with this T_max: LSTM b_f ~ log U[1, T_max - 1], b_i = -b_f; GRU b_z = "
             "-log U[1, T_max - 1]; auto = the trial's sequence length L, so that one value serves a grid over T "
             "(stored as -1; not with charlm); 0 = off (forget-bias and zero biases)"},
    REAL("mult-init", mult_init, "0.01", 0, 0, 100,
         "W_m and U_m start uniform in (-a, a) and b_m at 1, so that x~_t starts near x_t"),
    INT("embed", embed, "0", 0, 4096,
        "D: feed the input symbols as learned dense vectors E[s] of width D (E starts N(0, 1/D)) instead of "
        "one-hot, and the multiplicative step acts on all D channels; 0 = one-hot; not with ntm-copy, whose "
        "inputs are bit vectors"),
    INT("curriculum", curriculum, "0", 0, 100000,
        "curriculum over T: train at this length first, then at longer ones up to T; 0 = off"),
    REAL("curriculum-growth", curriculum_growth, "2", 1, 1, 100,
         "the next length of the curriculum: min(T, ceil(length x growth))"),
    REAL("curriculum-unlock", curriculum_unlock, "0.9", 0, 1, 1,
         "validation accuracy at the current length that unlocks the next"),
    {.key = "eval-T", .type = SET_LIST, .offset = OFF(eval_T), .def = "none", .min = 1, .max = 100000,
     .help = "other lengths T the selected model is tested at (list: '200 500'), none = only T; one value of the "
             "setting, never an axis"},
    {.key = "text", .type = SET_TEXT, .offset = OFF(text), .def = "none",
     .help = "charlm: the text file whose lines are the sequences (relative to the current folder)"},
    {.key = NULL},
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

const IntList *settings_get_list(const Settings *s, const SettingInfo *info)
{
    return (const IntList *)((const char *)s + info->offset);
}

double settings_get_real(const Settings *s, const SettingInfo *info)
{
    return *(const double *)((const char *)s + info->offset);
}

/* The bytes of the setting's field. */
static size_t field_size(const SettingInfo *info)
{
    switch (info->type) {
    case SET_REAL: return sizeof(double);
    case SET_LIST: return sizeof(IntList);
    case SET_TEXT: return SETTINGS_TEXT_MAX;
    case SET_OWN: return sizeof(const char *);
    default: return sizeof(int);
    }
}

void settings_copy(Settings *dst, const Settings *src, const SettingInfo *info)
{
    memcpy((char *)dst + info->offset, (const char *)src + info->offset, field_size(info));
}

/* The value of a job's own key, "" if it is not set. */
static const char *own_value(const Settings *s, const SettingInfo *info)
{
    const char *v = *(const char *const *)((const char *)s + info->offset);
    return v ? v : "";
}

int settings_same(const Settings *a, const Settings *b, const SettingInfo *info)
{
    if (info->type == SET_OWN) return strcmp(own_value(a, info), own_value(b, info)) == 0;
    if (info->type == SET_TEXT) return strcmp((const char *)a + info->offset, (const char *)b + info->offset) == 0;
    if (info->type == SET_LIST) {
        const IntList *x = settings_get_list(a, info), *y = settings_get_list(b, info);
        return x->n == y->n && memcmp(x->v, y->v, (size_t)x->n * sizeof x->v[0]) == 0;
    }
    /* the bits of a double: -0 and 0 print differently, and so differ here too */
    return memcmp((const char *)a + info->offset, (const char *)b + info->offset, field_size(info)) == 0;
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

KeyPool *settings_pool_new(void)
{
    KeyPool *p = calloc(1, sizeof *p);
    if (!p) CS_FAIL("no memory for a job's keys");
    return p;
}

void settings_pool_free(KeyPool *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n_texts; i++) free(p->texts[i]);
    free(p->texts);
    free(p);
}

/* A copy of text that lives as long as the pool. */
static const char *pool_keep(KeyPool *p, const char *text)
{
    if (p->n_texts == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        char **grown = realloc(p->texts, p->cap * sizeof *grown);
        if (!grown) CS_FAIL("no memory for a job's values");
        p->texts = grown;
    }
    char *copy = strdup(text);
    if (!copy) CS_FAIL("no memory for a job's values");
    return p->texts[p->n_texts++] = copy;
}

const SettingInfo *settings_pool_key(KeyPool *p, const char *key, char *err, size_t errlen)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->names[i], key) == 0) return &p->infos[i];
    const size_t len = strlen(key);
    int ok = len > 0 && len < sizeof p->names[0] && ((*key >= 'a' && *key <= 'z') || (*key >= 'A' && *key <= 'Z'));
    for (const char *c = key; ok && *c; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_';
    if (!ok) {
        snprintf(err, errlen, "'%s' is not a key name (expected a letter, then letters, digits, '-' or '_', at most %d "
                 "bytes)", key, (int)sizeof p->names[0] - 1);
        return NULL;
    }
    if (p->n == SETTINGS_MAX_OWN) {
        snprintf(err, errlen, "'%s' is one key too many (expected at most %d keys in a job of [exec])", key,
                 SETTINGS_MAX_OWN);
        return NULL;
    }
    const int i = p->n++;
    memcpy(p->names[i], key, len + 1);
    p->infos[i] = (SettingInfo){.key = p->names[i], .type = SET_OWN, .def = "",
                                .offset = offsetof(Settings, own_values) + (size_t)i * sizeof(const char *),
                                .help = "a key of the job's own, passed to its program", .pool = p};
    return &p->infos[i];
}

const SettingInfo *settings_infos(const Settings *s) { return s->own ? s->own : settings_table; }

int settings_index(const SettingInfo *info)
{
    return (int)(info->pool ? info - info->pool->infos : info - settings_table);
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

/* "none", or integers separated by spaces or commas, each in range, no repeats */
static int parse_list(Settings *s, const SettingInfo *info, const char *text, const char *range, char *err,
                      size_t errlen)
{
    IntList list = {0};
    const char *p = text;
    while (*p == ' ' || *p == ',') p++;
    if (strcmp(p, "none") == 0) p += 4;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || (*end && *end != ' ' && *end != ',') || errno == ERANGE) {
            snprintf(err, errlen, "'%s' is not a list of integers (expected none, or integers %s separated by "
                     "spaces)", text, range);
            return -1;
        }
        if (v < info->min || v > info->max) {
            snprintf(err, errlen, "%ld in '%s' is out of range (expected integers %s)", v, text, range);
            return -1;
        }
        for (int i = 0; i < list.n; i++)
            if (list.v[i] == v) {
                snprintf(err, errlen, "%ld is listed twice in '%s' (expected distinct values)", v, text);
                return -1;
            }
        if (list.n == SETTINGS_MAX_LIST) {
            snprintf(err, errlen, "'%s' has more than %d values (expected at most %d)", text, SETTINGS_MAX_LIST,
                     SETTINGS_MAX_LIST);
            return -1;
        }
        list.v[list.n++] = (int)v;
        for (p = end; *p == ' ' || *p == ','; p++) {}
    }
    *(IntList *)((char *)s + info->offset) = list;
    return 0;
}

/* Name i of a choice setting, NULL past the last. */
static const char *choice_name(const SettingInfo *info, int i)
{
    return info->choice_at ? info->choice_at(i, NULL) : info->choices[i];
}

/* A text value (SET_TEXT: the field; SET_OWN: kept by the job's pool). */
static int parse_text(Settings *s, const SettingInfo *info, const char *text, char *err, size_t errlen)
{
    if (!*text || strlen(text) >= SETTINGS_TEXT_MAX) {
        snprintf(err, errlen, "'%s' is not allowed (expected %s of 1 to %d bytes%s)", text,
                 info->type == SET_OWN ? "a value" : "a file name", SETTINGS_TEXT_MAX - 1,
                 info->type == SET_OWN ? "" : ", or none");
        return -1;
    }
    if (info->type == SET_OWN)
        *(const char **)((char *)s + info->offset) = pool_keep(info->pool, text);
    else
        snprintf((char *)s + info->offset, SETTINGS_TEXT_MAX, "%s", text);
    return 0;
}

/* A name of a choice setting. */
static int parse_choice(Settings *s, const SettingInfo *info, const char *text, char *err, size_t errlen)
{
    for (int i = 0; choice_name(info, i); i++)
        if (strcmp(text, choice_name(info, i)) == 0) {
            *int_field(s, info) = i;
            return 0;
        }
    int len = snprintf(err, errlen, "'%s' is not a valid %s (expected one of", text, info->key);
    for (int i = 0; choice_name(info, i) && len > 0 && (size_t)len < errlen; i++)
        len += snprintf(err + len, errlen - (size_t)len, "%s %s", i ? "," : "", choice_name(info, i));
    if (len > 0 && (size_t)len < errlen) snprintf(err + len, errlen - (size_t)len, ")");
    return -1;
}

int settings_parse(Settings *s, const SettingInfo *info, const char *text, char *err, size_t errlen)
{
    char range[96];
    if (info->type == SET_OWN || info->type == SET_TEXT) return parse_text(s, info, text, err, errlen);
    if (info->type == SET_CHOICE) return parse_choice(s, info, text, err, errlen);
    if (info->type == SET_LIST) {
        snprintf(range, sizeof range, "≥ %g and ≤ %g", info->min, info->max);
        return parse_list(s, info, text, range, err, errlen);
    }
    describe_range(info, range, sizeof range);
    if (info->auto_text) {
        if (strcmp(text, info->auto_text) == 0) {
            *int_field(s, info) = SETTINGS_AUTO;
            return 0;
        }
        snprintf(range + strlen(range), sizeof range - strlen(range), ", or %s", info->auto_text);
    }
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        snprintf(err, errlen, "'%s' is not a number (expected %s)", text, range);
        return -1;
    }
    if (info->type == SET_INT && (v != floor(v) || strpbrk(text, ".eE"))) {
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

/* The length T is usable by the task; the key to blame is returned, with err. */
static const char *check_length(const Settings *s, const char *key, int T, char *err, size_t errlen)
{
    const TaskOps *ops = task_kinds[s->task].ops;
    return ops->check_length && ops->check_length(s, T, err, errlen) ? key : NULL;
}

/* A list of checks, one per rule between settings, in the order a user meets them; long as a table
 * is long. */
const char *settings_validate(const Settings *s, char *err, size_t errlen)
{
    if (s->own) return NULL; /* a job's own keys mean what its program makes of them */
    const TaskKind *task = &task_kinds[s->task];
    const char *bad = check_length(s, "T", s->T, err, errlen);
    if (bad) return bad;
    for (int i = 0; i < s->eval_T.n; i++)
        if ((bad = check_length(s, "eval-T", s->eval_T.v[i], err, errlen))) return bad;
    if (!task->ops->uses_delay && s->delay != 0) {
        snprintf(err, errlen, "%d is not used by %s (expected delay = 0; copy-delay's delay is T)", s->delay,
                 task->name);
        return "delay";
    }
    if (task->ops->uses_text) {
        if (strcmp(s->text, "none") == 0 || access(s->text, R_OK) != 0) {
            snprintf(err, errlen, "'%s' cannot be read%s%s (expected the text file of %s)", s->text,
                     strcmp(s->text, "none") ? ": " : "", strcmp(s->text, "none") ? strerror(errno) : "", task->name);
            return "text";
        }
        if (s->eval_T.n) {
            snprintf(err, errlen, "%d is not used by %s, whose sequences are the lines of its text "
                     "(expected none)", s->eval_T.v[0], task->name);
            return "eval-T";
        }
    } else if (strcmp(s->text, "none") != 0) {
        /* the tasks that read a text, "a, b" */
        char names[128] = "";
        for (int k = 0; k < task_count; k++)
            if (task_kinds[k].ops->uses_text)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", *names ? ", " : "",
                         task_kinds[k].name);
        snprintf(err, errlen, "'%s' is used only by %s (expected none, or task = %s)", s->text, names,
                 names);
        return "text";
    }
    if (task->ops->own_alphabet && s->vocab != 8) {
        snprintf(err, errlen, "%d is not used by %s, which has its own alphabet (expected vocab = 8, the default)",
                 s->vocab, task->name);
        return "vocab";
    }
    if (s->curriculum) {
        if (s->curriculum >= s->T) {
            snprintf(err, errlen, "%d is not below T = %d (expected a first length shorter than T, or 0 = off)",
                     s->curriculum, s->T);
            return "curriculum";
        }
        if ((bad = check_length(s, "curriculum", s->curriculum, err, errlen))) return bad;
    }
    if (s->chrono == 1) {
        snprintf(err, errlen, "1 leaves no range to draw from (expected 0 = off, auto, or T_max ≥ 2)");
        return "chrono";
    }
    const CellOps *ops = model_kinds[s->model].ops;
    if (s->chrono && ops->keep_gate < 0 && ops->write_gate < 0) {
        snprintf(err, errlen, "%s is not used by %s, which has no gate to set (expected 0 = off)",
                 s->chrono == SETTINGS_AUTO ? "auto" : "T_max", model_kinds[s->model].long_name);
        return "chrono";
    }
    if (s->chrono == SETTINGS_AUTO && task->ops->uses_text) {
        snprintf(err, errlen, "auto takes T_max from the length over which the task must remember, and %s "
                 "has none (expected 0 = off, or a number T_max ≥ 2)", task->name);
        return "chrono";
    }
    if (s->embed && task->ops->input_vector) {
        snprintf(err, errlen, "%d is not used by %s, whose inputs are vectors, not symbols (expected 0 = "
                 "one-hot)", s->embed, task->name);
        return "embed";
    }
    if (s->epochs == SETTINGS_AUTO && s->budget == 0) {
        snprintf(err, errlen, "auto needs a budget (expected a number of epochs, or budget = updates × L > 0)");
        return "epochs";
    }
    if (s->epochs != SETTINGS_AUTO && s->budget != 0) {
        snprintf(err, errlen, "%d is used only with epochs = auto (expected 0, or epochs = auto)", s->budget);
        return "budget";
    }
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
        snprintf(buf, n, "%s", choice_name(info, settings_get_int(s, info)));
    } else if (info->type == SET_TEXT) {
        snprintf(buf, n, "%s", (const char *)s + info->offset);
    } else if (info->type == SET_OWN) {
        snprintf(buf, n, "%s", own_value(s, info));
    } else if (info->type == SET_LIST) {
        const IntList *list = settings_get_list(s, info);
        int len = snprintf(buf, n, "%s", list->n ? "" : "none");
        for (int i = 0; i < list->n && len >= 0 && (size_t)len < n; i++)
            len += snprintf(buf + len, n - (size_t)len, i ? " %d" : "%d", list->v[i]);
    } else if (info->type == SET_INT) {
        const int v = settings_get_int(s, info);
        if (info->auto_text && v == SETTINGS_AUTO)
            snprintf(buf, n, "%s", info->auto_text);
        else
            snprintf(buf, n, "%d", v);
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
        const char *arg = info->type == SET_CHOICE ? "NAME" : info->type == SET_INT ? "N"
                        : info->type == SET_LIST ? "LIST" : info->type == SET_TEXT ? "PATH" : "X";
        snprintf(opt, sizeof opt, "--%s %s", info->key, arg);
        fprintf(out, "  %-22s %s", opt, info->help);
        const char *about = NULL;
        for (int i = 0; info->choice_at && info->choice_at(i, &about); i++)
            fprintf(out, "%s %s%s%s%s", i ? "," : "", info->choice_at(i, NULL), about ? " (" : "", about ? about : "",
                    about ? ")" : "");
        fprintf(out, " (default: %s)\n", info->def);
    }
}

void settings_column(const SettingInfo *info, char *buf, size_t n)
{
    snprintf(buf, n, "%s", info->column ? info->column : info->key);
    for (char *p = buf; *p; p++)
        if (*p == '-') *p = '_';
}

#define SETTINGS_MAX_INFOS 128 /* entries of settings_table, or of a pool */

/* The settings that s has a value of (every one of the table; the own keys that are set), an [exec]
 * trial's sorted by name; returns how many. */
static int infos_of(const Settings *s, const SettingInfo **out)
{
    int n = 0;
    for (const SettingInfo *info = settings_infos(s); info->key; info++)
        if (info->type != SET_OWN || *own_value(s, info)) {
            if (n == SETTINGS_MAX_INFOS) CS_FAIL("SETTINGS_MAX_INFOS is too small");
            out[n++] = info;
        }
    for (int i = 1; s->own && i < n; i++) /* insertion sort: a few keys */
        for (int j = i; j > 0 && strcmp(out[j - 1]->key, out[j]->key) > 0; j--) {
            const SettingInfo *t = out[j];
            out[j] = out[j - 1], out[j - 1] = t;
        }
    return n;
}

void settings_write_ini(const Settings *s, FILE *out)
{
    char buf[SETTINGS_TEXT_MAX];
    const SettingInfo *infos[SETTINGS_MAX_INFOS];
    const int n = infos_of(s, infos);
    for (int i = 0; i < n; i++) {
        settings_format(s, infos[i], buf, sizeof buf);
        fprintf(out, "%s = %s\n", infos[i]->key, buf);
    }
}

uint64_t settings_key(const Settings *s)
{
    /* the FNV-1a hash of the "key = value\n" lines of settings_write_ini */
    char buf[SETTINGS_TEXT_MAX];
    uint64_t h = PACK_HASH_START;
    const SettingInfo *infos[SETTINGS_MAX_INFOS];
    const int n = infos_of(s, infos);
    for (int i = 0; i < n; i++) {
        const SettingInfo *info = infos[i];
        settings_format(s, info, buf, sizeof buf);
        h = pack_hash_more(h, info->key, strlen(info->key));
        h = pack_hash_more(h, " = ", 3);
        h = pack_hash_more(h, buf, strlen(buf));
        h = pack_hash_more(h, "\n", 1);
    }
    return h;
}
