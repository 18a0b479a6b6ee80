/* The command line of train, data and bench: their options and settings, help texts, and parsing
 * that reports every mistake as text (main turns it into a user error). */
#include "cli.h"

#include <errno.h>  /* errno, ERANGE */
#include <stdarg.h> /* va_list */
#include <stdlib.h> /* strtol */
#include <string.h> /* strcmp, strncmp, strchr */

#include "check.h"   /* cs_one_line */
#include "version.h" /* COPYSWEEP_VERSION */
#include "task.h"    /* split_names */

/* Writes the message to err; returns -1. */
__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    cs_one_line(err);
    return -1;
}

/* The command's own options besides the settings; a NULL setting list means all settings. */
struct Command {
    const char *name;
    const char *usage;
    const char *const *settings; /* the settings this command accepts; NULL: all */
    const char *extra_help;
};

static const char *const data_settings[] = {"task", "T", "delay", "vocab", "seed", "text", NULL};

static const Command commands[] = {
    {"train", "copysweep train [--SETTING VALUE ...] [--threads N] [-o FILE]", NULL,
     "  --threads N            OpenMP threads, 0 = OMP_NUM_THREADS or all cores (default: 0)\n"
     "  -o, --output FILE      also write the trial to FILE (HDF5, the layout of results.h5)\n"},
    {"data", "copysweep data [--task NAME --T N --delay N --vocab N --seed N --text PATH] --split NAME --count N",
     data_settings,
     "  --split NAME           train, validation or test (default: train)\n"
     "  --count N              sequences to print (default: 10)\n"},
    {"bench", "copysweep bench [--SETTING VALUE ...] [--threads N] [--steps N] [--warmup N] [--rates]", NULL,
     "  --threads N            OpenMP threads, 0 = OMP_NUM_THREADS or all cores (default: 0)\n"
     "  --steps N              timed training steps (default: 20)\n"
     "  --warmup N             untimed steps first (default: 3)\n"
     "  --rates                also measure, on one thread, the FMA peak and the GEMM rates of these shapes\n"},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

void cli_print_usage(FILE *out)
{
    fprintf(out,
            "copysweep %s: LSTM, GRU and their multiplicative variants on the copy task\n\n"
            "usage:\n",
            COPYSWEEP_VERSION);
    for (int c = 0; c < N_COMMANDS; c++) fprintf(out, "  %s\n", commands[c].usage);
    fprintf(out, "  copysweep COMMAND --help\n\n"
                 "commands:\n"
                 "  train   train one model and test the selected weights\n"
                 "  data    print sequences of a split, as the models see them\n"
                 "  bench   median time of one training step\n\n"
                 "settings (train and bench):\n");
    settings_print_help(out);
    for (int c = 0; c < N_COMMANDS; c++) fprintf(out, "\n%s options:\n%s", commands[c].name, commands[c].extra_help);
}

void cli_print_command_help(const Command *cmd, FILE *out)
{
    fprintf(out, "usage: %s\n\noptions:\n", cmd->usage);
    if (cmd->settings) {
        for (const char *const *k = cmd->settings; *k; k++) {
            const SettingInfo *info = settings_find(*k);
            char opt[40];
            snprintf(opt, sizeof opt, "--%s %s", info->key, info->type == SET_CHOICE ? "NAME" : info->type == SET_LIST ? "LIST"
                     : info->type == SET_TEXT ? "PATH" : "N");
            fprintf(out, "  %-22s %s (default: %s)\n", opt, info->help, info->def);
        }
    } else {
        settings_print_help(out);
    }
    fputs(cmd->extra_help, out);
}

static int accepts_setting(const Command *cmd, const char *key)
{
    if (!cmd->settings) return 1;
    for (const char *const *k = cmd->settings; *k; k++)
        if (strcmp(*k, key) == 0) return 1;
    return 0;
}

/* Integer option value ≥ min into *v: 0, or -1 with the reason in err. */
static int int_option(const char *opt, const char *text, int min, int *v, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long x = strtol(text, &end, 10);
    if (end == text || *end || errno == ERANGE || x < min || x > 1000000000)
        return fail(err, errlen, "option '%s': '%s' is not allowed (expected an integer ≥ %d)", opt, text, min);
    *v = (int)x;
    return 0;
}

const Command *cli_command(const char *name)
{
    for (int c = 0; c < N_COMMANDS; c++)
        if (strcmp(name, commands[c].name) == 0) return &commands[c];
    return NULL;
}

const char *cli_command_name(const Command *cmd) { return cmd->name; }

int cli_parse(const Command *cmd, int argc, char **argv, Options *o, char *err, size_t errlen)
{
    char why[256];
    settings_default(&o->s);
    o->threads = 0, o->steps = 20, o->warmup = 3, o->count = 10, o->split = 0, o->output = NULL, o->rates = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) return 1;
        if (strcmp(arg, "--rates") == 0 && strcmp(cmd->name, "bench") == 0) {
            o->rates = 1;
            continue;
        }
        char opt[64];
        const char *value = NULL, *eq = strchr(arg, '=');
        if (strncmp(arg, "--", 2) == 0 && eq) { /* --key=value */
            snprintf(opt, sizeof opt, "%.*s", (int)(eq - arg), arg);
            value = eq + 1;
        } else {
            snprintf(opt, sizeof opt, "%s", arg);
            if (i + 1 < argc) value = argv[++i];
        }
        if (strncmp(opt, "--", 2) != 0 && strcmp(opt, "-o") != 0)
            return fail(err, errlen, "%s: unexpected argument '%s' (see 'copysweep %s --help')", cmd->name, arg,
                        cmd->name);
        const SettingInfo *info = settings_find(opt + 2);
        int is_output = strcmp(opt, "-o") == 0 || strcmp(opt, "--output") == 0;
        int known = (info && accepts_setting(cmd, info->key)) ||
                    (strcmp(opt, "--threads") == 0 && strcmp(cmd->name, "data") != 0) ||
                    (is_output && strcmp(cmd->name, "train") == 0) ||
                    ((strcmp(opt, "--steps") == 0 || strcmp(opt, "--warmup") == 0) &&
                     strcmp(cmd->name, "bench") == 0) ||
                    ((strcmp(opt, "--split") == 0 || strcmp(opt, "--count") == 0) &&
                     strcmp(cmd->name, "data") == 0);
        if (!known) return fail(err, errlen, "%s: unknown option '%s' (see 'copysweep %s --help')", cmd->name, opt,
                                cmd->name);
        if (!value) return fail(err, errlen, "option '%s': missing value", opt);
        int rc = 0;
        if (info && accepts_setting(cmd, info->key)) {
            if (settings_parse(&o->s, info, value, why, sizeof why) != 0)
                return fail(err, errlen, "option '%s': %s", opt, why);
        } else if (strcmp(opt, "--threads") == 0) {
            rc = int_option(opt, value, 0, &o->threads, err, errlen);
        } else if (strcmp(opt, "--steps") == 0) {
            rc = int_option(opt, value, 1, &o->steps, err, errlen);
        } else if (strcmp(opt, "--warmup") == 0) {
            rc = int_option(opt, value, 0, &o->warmup, err, errlen);
        } else if (strcmp(opt, "--count") == 0) {
            rc = int_option(opt, value, 0, &o->count, err, errlen);
        } else if (strcmp(opt, "--split") == 0) {
            for (o->split = 0; split_names[o->split] && strcmp(split_names[o->split], value); o->split++) {}
            if (!split_names[o->split])
                return fail(err, errlen, "option '--split': '%s' is not a split (expected train, validation or test)",
                            value);
        } else {
            if (!*value) return fail(err, errlen, "option '%s': empty file name", opt);
            o->output = value;
        }
        if (rc) return rc;
    }
    const char *key = settings_validate(&o->s, why, sizeof why);
    if (key) return fail(err, errlen, "option '--%s': %s", key, why);
    return 0;
}

