/* The settings of one trial and the table that describes them. The same table drives the
 * command-line options (--hidden 128), the job file keys (hidden = 128), --help, the header a trial
 * prints, and the columns and attributes a trial writes to HDF5, so a setting is added in one place.
 * Threads are not a setting: results never depend on them. */
#ifndef CS_SETTINGS_H
#define CS_SETTINGS_H

#include <stddef.h> /* size_t */
#include <stdio.h>  /* FILE */

enum { OPT_ADAM, OPT_SGD };
enum { INIT_ORTHOGONAL, INIT_XAVIER };

#define SETTINGS_MAX_LIST 16
#define SETTINGS_TEXT_MAX 256 /* the longest value as text, with its NUL */
typedef struct {
    int n;
    int v[SETTINGS_MAX_LIST];
} IntList;

typedef struct {
    int model;       /* index in the registry of models (cells.h) */
    int task;        /* index in the registry of tasks (tasks.h) */
    int T;           /* symbols to copy */
    int delay;       /* blanks between the symbols and the delimiter */
    int vocab;       /* K data symbols */
    int seed;
    int hidden;      /* H */
    int layers;      /* stacked recurrent layers */
    double dropout;  /* p of dropout between layers and before the output layer, in training */
    int batch;       /* sequences per update */
    int chunk;       /* sequences per parallel work item (fixes the summation order) */
    int optimizer;   /* OPT_* */
    double lr;
    double momentum; /* SGD only */
    double clip;     /* max global gradient norm, 0 = off */
    int epochs;      /* budget; SETTINGS_AUTO: from budget (trial_epochs) */
    int budget;      /* with epochs = auto: the training budget of a trial in updates × L */
    int patience;    /* epochs without validation improvement before stopping, 0 = off */
    double target_acc; /* stop when validation symbol accuracy reaches this */
    int train_size, val_size, test_size;
    int init_u;      /* INIT_*: recurrent weights */
    double forget_bias; /* b_f of the LSTMs at start */
    int chrono;         /* chrono initialization with this T_max (Tallec & Ollivier 2018); 0 = off;
                           SETTINGS_AUTO: the trial's sequence length L (settings_chrono) */
    int curriculum;     /* first training length of a curriculum over T; 0 = off (train at T) */
    double curriculum_growth; /* the next length: min(T, ⌈length · growth⌉) */
    double curriculum_unlock; /* validation accuracy at the current length that unlocks the next */
    double mult_init;   /* W_m, U_m ~ U(-a, a) at start; b_m = 1 */
    int embed;          /* D: the input symbols as learned vectors E[s] of width D; 0 = one-hot */
    IntList eval_T;     /* lengths the selected model is also tested at */
    char text[SETTINGS_TEXT_MAX]; /* charlm: the text file, or "none" */
} Settings;

/* SET_LIST: integers separated by spaces or commas; SET_TEXT: a string such as a file name. Each is one
 * value of the setting, never a sweep axis. */
typedef enum { SET_INT, SET_REAL, SET_CHOICE, SET_LIST, SET_TEXT } SettingType;

typedef struct {
    const char *key;     /* --key on the command line, key = in a job file */
    SettingType type;
    size_t offset;       /* of the int, double, IntList or char[SETTINGS_TEXT_MAX] field in Settings */
    const char *def;     /* default, as text */
    double min, max;     /* allowed range, inclusive (SET_INT, SET_REAL; each value of SET_LIST) */
    int min_open;        /* 1: the minimum itself is not allowed */
    const char *const *choices; /* SET_CHOICE: names, NULL-terminated; the value is the index */
    /* SET_CHOICE instead of choices: name i, NULL past the last; about: a few words on it, or NULL */
    const char *(*choice_at)(int i, const char **about);
    const char *help;
    const char *column; /* name in results files if not the key with '-' as '_' */
    const char *auto_text; /* SET_INT: this word stands for SETTINGS_AUTO, a value derived per trial */
} SettingInfo;

#define SETTINGS_AUTO (-1) /* an integer setting given as its auto_text ("auto") */

extern const SettingInfo settings_table[]; /* terminated by key == NULL */

extern const char *const optimizer_names[];

void settings_default(Settings *s);
const SettingInfo *settings_find(const char *key);
/* Parse text into the setting. On failure returns -1 and writes "PROBLEM (expected ...)" to err. */
int settings_parse(Settings *s, const SettingInfo *info, const char *text, char *err, size_t errlen);
/* Checks that involve several settings; on failure returns the key to blame and writes err. */
const char *settings_validate(const Settings *s, char *err, size_t errlen);
/* The value as text that parses back to the same value. */
void settings_format(const Settings *s, const SettingInfo *info, char *buf, size_t n);
int settings_get_int(const Settings *s, const SettingInfo *info);
const IntList *settings_get_list(const Settings *s, const SettingInfo *info);
double settings_get_real(const Settings *s, const SettingInfo *info);
/* "  --key VALUE   help (default: D)" for every setting. */
void settings_print_help(FILE *out);
/* The setting's name in results files: column, else the key with '-' as '_' (train-size → train_size). */
void settings_column(const SettingInfo *info, char *buf, size_t n);
/* "key = value" lines, the form of a job file. */
void settings_write_ini(const Settings *s, FILE *out);

#endif
