/* The settings of one trial, as data (settings_table.h names, parses, checks and prints them).
 * Threads are not a setting: results never depend on them. */
#ifndef CS_SETTINGS_H
#define CS_SETTINGS_H

enum { OPT_ADAM, OPT_SGD };
enum { INIT_ORTHOGONAL, INIT_XAVIER };
enum { DATA_FRESH, DATA_FIXED };

#define SETTINGS_MAX_LIST 16
#define SETTINGS_TEXT_MAX 256 /* the longest value as text, with its NUL */
#define SETTINGS_MAX_OWN 32   /* keys of an [exec] job's own */
typedef struct {
    int n;
    int v[SETTINGS_MAX_LIST];
} IntList;

struct SettingInfo;

typedef struct {
    int model;       /* index in the registry of models (model_kinds.h) */
    int task;        /* index in the registry of tasks (task_kinds.h) */
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
    int train_data;  /* DATA_*: the training sequences drawn anew every epoch, or the same ones */
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
    /* A trial of an [exec] job has the job's own keys instead (settings_table.h KeyPool): the
     * fields above keep their defaults and are not its settings. */
    const struct SettingInfo *own;          /* the job's keys (key == NULL ends them); NULL: a built-in trial */
    const char *own_values[SETTINGS_MAX_OWN]; /* key i's value as written, kept by the job; NULL: not set */
} Settings;

#define SETTINGS_AUTO (-1) /* an integer setting given as its auto_text ("auto") */

#endif
