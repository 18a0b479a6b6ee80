/* The table that describes the settings of a trial (settings.h). The same table drives the
 * command-line options (--hidden 128), the job file keys (hidden = 128), --help, the header a trial
 * prints, and the columns and attributes a trial writes to HDF5, so a setting is added in one place.
 * It takes the names of models and tasks from their registries (model_kinds.h, task_kinds.h). */
#ifndef CS_SETTINGS_TABLE_H
#define CS_SETTINGS_TABLE_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */
#include <stdio.h>  /* FILE */

#include "settings.h" /* Settings */

/* SET_LIST: integers separated by spaces or commas; SET_TEXT: a string such as a file name. Each is one
 * value of the setting, never a sweep axis. */
/* SET_OWN: a key of an [exec] job's own (KeyPool), whose value is any text, passed to its program. */
typedef enum { SET_INT, SET_REAL, SET_CHOICE, SET_LIST, SET_TEXT, SET_OWN } SettingType;

struct KeyPool;

typedef struct SettingInfo {
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
    struct KeyPool *pool;  /* SET_OWN: the job's pool, which keeps its values */
} SettingInfo;

extern const SettingInfo settings_table[]; /* terminated by key == NULL */

extern const char *const optimizer_names[];

/* The keys of an [exec] job: every key its sections name is one of its own (type SET_OWN, in the
 * order first named), and every value parsed into one is kept here, for the job's lifetime. */
typedef struct KeyPool {
    int n;
    SettingInfo infos[SETTINGS_MAX_OWN + 1]; /* terminated by key == NULL */
    char names[SETTINGS_MAX_OWN][64];
    char **texts;                            /* the values kept */
    size_t n_texts, cap;
} KeyPool;

KeyPool *settings_pool_new(void);
void settings_pool_free(KeyPool *p);
/* key's entry, added if new. NULL with err if key is not a name (a letter, then letters, digits,
 * '-' or '_', at most 63 bytes) or the pool is full. */
const SettingInfo *settings_pool_key(KeyPool *p, const char *key, char *err, size_t errlen);
/* The settings of s: the table, or its job's own keys. */
const SettingInfo *settings_infos(const Settings *s);
/* The index of a setting among its kind's (settings_table, or its pool's). */
int settings_index(const SettingInfo *info);

void settings_default(Settings *s);
const SettingInfo *settings_find(const char *key);
/* Parse text into the setting. On failure returns -1 and writes "PROBLEM (expected ...)" to err. */
int settings_parse(Settings *s, const SettingInfo *info, const char *text, char *err, size_t errlen);
/* Checks that involve several settings; on failure returns the key to blame and writes err. */
const char *settings_validate(const Settings *s, char *err, size_t errlen);
/* dst's value of the setting becomes src's (a parsed value carried without parsing it again). */
void settings_copy(Settings *dst, const Settings *src, const SettingInfo *info);
/* Whether a and b hold the same value of the setting: exactly when their settings_format texts agree. */
int settings_same(const Settings *a, const Settings *b, const SettingInfo *info);
/* The value as text that parses back to the same value. */
void settings_format(const Settings *s, const SettingInfo *info, char *buf, size_t n);
int settings_get_int(const Settings *s, const SettingInfo *info);
const IntList *settings_get_list(const Settings *s, const SettingInfo *info);
double settings_get_real(const Settings *s, const SettingInfo *info);
/* "  --key VALUE   help (default: D)" for every setting. */
void settings_print_help(FILE *out);
/* The setting's name in results files: column, else the key with '-' as '_' (train-size → train_size). */
void settings_column(const SettingInfo *info, char *buf, size_t n);
/* "key = value" lines, the form of a job file (an [exec] trial: the keys it has a value of). */
void settings_write_ini(const Settings *s, FILE *out);
/* The identity of a trial: the 64-bit FNV-1a hash of its settings_write_ini lines (an [exec]
 * trial's in the order of their keys' names, so that it does not depend on where the job names them). */
uint64_t settings_key(const Settings *s);

#endif
