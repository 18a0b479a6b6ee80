/* The command line of every mode: the commands, their options besides the settings, help texts,
 * and one parser that reports every mistake as text (the caller turns it into a user error). */
#include "cli.h"

#include <errno.h>  /* errno, ERANGE */
#include <stdarg.h> /* va_list */
#include <stddef.h> /* offsetof */
#include <stdio.h>  /* open_memstream */
#include <stdlib.h> /* strtol, free */
#include <string.h> /* strcmp, strncmp, strchr */

#include "check.h"          /* cs_one_line, CS_FAIL */
#include "settings_table.h" /* settings_* */
#include "task.h"    /* split_names */
#include "version.h" /* COPYSWEEP_VERSION */

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

enum { TRAIN = 1 << CLI_TRAIN, DATA = 1 << CLI_DATA, BENCH = 1 << CLI_BENCH, SWEEP = 1 << CLI_SWEEP,
       STATUS = 1 << CLI_STATUS, MERGE = 1 << CLI_MERGE };

struct Command {
    CommandId id;
    const char *name;
    const char *usage;
    const char *about;
    const char *const *settings; /* the settings this command accepts; NULL: all */
    int files;                   /* the file arguments it takes (status: 1, merge: 2) */
};

static const char *const data_settings[] = {"task", "T", "delay", "vocab", "seed", "text", NULL};
static const char *const no_settings[] = {NULL};

static const Command commands[] = {
    {CLI_SWEEP, "sweep", "[mpirun -n N] copysweep JOB.ini [-o FILE] [--list] [--progress bar|lines] [--show-epochs] "
                         "[--shard I/N | --trial K] [--only KEY=V,...] [--rerun K | --rerun status=S,...]",
     "run every trial of a job file (the settings are in the file)", no_settings, 0},
    {CLI_STATUS, "status", "copysweep status FILE",
     "the trials of a results file by status, each running one with its epoch, and the ETA (also while a "
     "sweep writes it)", no_settings, 1},
    {CLI_MERGE, "merge", "copysweep merge A.h5 B.h5 [C.h5 ...] -o OUT.h5",
     "combine the results of compatible jobs or of a job's shards (the inputs are left as they are)", no_settings,
     CLI_MAX_FILES},
    {CLI_TRAIN, "train", "copysweep train [--SETTING VALUE ...] [--threads N] [-o FILE]",
     "train one model and test the selected weights", NULL, 0},
    {CLI_DATA, "data", "copysweep data [--task NAME --T N --delay N --vocab N --seed N --text PATH] --split NAME --count N",
     "print sequences of a split, as the models see them", data_settings, 0},
    {CLI_BENCH, "bench", "copysweep bench [--SETTING VALUE ...] [--threads N] [--steps N] [--warmup N] [--rates]",
     "median time of one training step", NULL, 0},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

/* The options besides the settings, and the commands that take each. */
typedef enum { ARG_INT, ARG_FLAG, ARG_FILE, ARG_SPLIT, ARG_PROGRESS, ARG_SHARD, ARG_ONLY } ArgType;
typedef struct {
    const char *name, *alias;
    ArgType type;
    size_t offset; /* of the int or const char * in Options */
    int min;       /* ARG_INT */
    int commands;  /* TRAIN | DATA | ... */
    const char *arg, *help;
} OptionInfo;

#define OPT(field) offsetof(Options, field)
static const OptionInfo options[] = {
    {"--threads", NULL, ARG_INT, OPT(threads), 0, TRAIN | BENCH, "N",
     "OpenMP threads, 0 = OMP_NUM_THREADS or all cores (default: 0)"},
    {"--output", "-o", ARG_FILE, OPT(output), 0, TRAIN, "FILE",
     "also write the trial to FILE (HDF5, the layout of results.h5)"},
    {"--output", "-o", ARG_FILE, OPT(output), 0, SWEEP, "FILE",
     "the results file (default: the job file's [sweep] output, else results.h5)"},
    {"--output", "-o", ARG_FILE, OPT(output), 0, MERGE, "FILE", "the merged file to write (required; must not exist)"},
    {"--list", NULL, ARG_FLAG, OPT(list), 0, SWEEP, NULL, "print the trials, their settings and costs, and exit"},
    {"--progress", NULL, ARG_PROGRESS, OPT(progress), 0, SWEEP, "bar|lines",
     "a progress bar, or a line per event (default: a bar if stderr is a terminal)"},
    {"--show-epochs", NULL, ARG_FLAG, OPT(show_epochs), 0, SWEEP, NULL,
     "also a line per finished epoch of every trial: its validation accuracy and bits (default: off)"},
    {"--shard", NULL, ARG_SHARD, OPT(shard), 0, SWEEP, "I/N",
     "run every N-th trial, from trial I - 1 (a shard of a job array), into FILE.shard-I-of-N.h5 (FILE: "
     "-o's, or the job's output); combine the shards with merge"},
    {"--trial", NULL, ARG_INT, OPT(trial), 0, SWEEP, "K", "run trial K alone (as --list numbers it)"},
    {"--only", NULL, ARG_ONLY, OPT(only), 0, SWEEP, "KEY=V,...",
     "run only the trials whose setting KEY is one of the values (repeatable: each narrows)"},
    {"--rerun", NULL, ARG_FILE, OPT(rerun), 0, SWEEP, "K|status=S,...",
     "run trial K, or the trials with one of these statuses, again even if finished (e.g. status=failed)"},
    {"--split", NULL, ARG_SPLIT, OPT(split), 0, DATA, "NAME", "train, validation or test (default: train)"},
    {"--count", NULL, ARG_INT, OPT(count), 0, DATA, "N", "sequences to print (default: 10)"},
    {"--steps", NULL, ARG_INT, OPT(steps), 1, BENCH, "N", "timed training steps (default: 20)"},
    {"--warmup", NULL, ARG_INT, OPT(warmup), 0, BENCH, "N", "untimed steps first (default: 3)"},
    {"--rates", NULL, ARG_FLAG, OPT(rates), 0, BENCH, NULL,
     "also measure, on one thread and the kernel path, the FMA peak and the rates of a chunk's products at these shapes"},
};
#define N_OPTIONS (int)(sizeof options / sizeof options[0])

/* How a user names the command: the sweep by its job file. */
static const char *called(const Command *cmd) { return cmd->id == CLI_SWEEP ? "JOB.ini" : cmd->name; }

static int *int_at(Options *o, const OptionInfo *op) { return (int *)((char *)o + op->offset); }
static const char **text_at(Options *o, const OptionInfo *op) { return (const char **)((char *)o + op->offset); }

static const OptionInfo *find_option(const Command *cmd, const char *name)
{
    for (int i = 0; i < N_OPTIONS; i++)
        if ((options[i].commands & (1 << cmd->id)) &&
            (strcmp(name, options[i].name) == 0 || (options[i].alias && strcmp(name, options[i].alias) == 0)))
            return &options[i];
    return NULL;
}

static int has_options(const Command *cmd)
{
    for (int i = 0; i < N_OPTIONS; i++)
        if (options[i].commands & (1 << cmd->id)) return 1;
    return 0;
}

static void print_options(const Command *cmd, FILE *out)
{
    for (int i = 0; i < N_OPTIONS; i++) {
        const OptionInfo *op = &options[i];
        if (!(op->commands & (1 << cmd->id))) continue;
        char opt[40];
        snprintf(opt, sizeof opt, "%s%s%s%s%s", op->alias ? op->alias : "", op->alias ? ", " : "", op->name,
                 op->arg ? " " : "", op->arg ? op->arg : "");
        fprintf(out, "  %-22s %s\n", opt, op->help);
    }
}

void cli_print_usage(FILE *out)
{
    fprintf(out, "copysweep %s: recurrent cells compared on memory tasks, swept over MPI ranks\n\nusage:\n",
            COPYSWEEP_VERSION);
    for (int c = 0; c < N_COMMANDS; c++) fprintf(out, "  %s\n", commands[c].usage);
    fprintf(out, "  copysweep COMMAND --help, copysweep JOB.ini --help\n  copysweep --version (-V)\n\ncommands:\n");
    for (int c = 0; c < N_COMMANDS; c++)
        fprintf(out, "  %-7s %s\n", called(&commands[c]), commands[c].about);
    fprintf(out, "\nsettings (train and bench options; keys of a job file's [settings] and [grid NAME]):\n");
    settings_print_help(out);
    for (int c = 0; c < N_COMMANDS; c++) {
        if (!has_options(&commands[c])) continue;
        fprintf(out, "\n%s options:\n", commands[c].id == CLI_SWEEP ? "sweep (JOB.ini)" : commands[c].name);
        print_options(&commands[c], out);
    }
    fprintf(out, "\nenvironment: COPYSWEEP_KERNEL = avx512, avx2 or generic: the kernel path of train, bench and the\n"
                 "  sweep (default: the fastest this CPU has); every path computes the same bits\n");
    fprintf(out, "\nexit status: 0 done; 1 a failure; 2 bad input (nothing written); 3 (sweep) stopped by a signal, "
                 "run the same command to resume; 4 (sweep) finished, but some trials failed (a diverged trial is a "
                 "result, not a failure)\n");
}

void cli_print_short_usage(FILE *out)
{
    fprintf(out, "usage:\n");
    for (int c = 0; c < N_COMMANDS; c++) fprintf(out, "  %s\n", commands[c].usage);
    fprintf(out, "every command, option and setting: copysweep --help; one command's: copysweep help COMMAND\n");
}

void cli_command_list(char *buf, size_t n, const char *last)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int c = 0; c < N_COMMANDS && len < n; c++) len += (size_t)snprintf(buf + len, n - len, "%s%s", c ? ", " : "", commands[c].name);
    if (len < n) snprintf(buf + len, n - len, " or %s", last);
}

void cli_print_command_help(const Command *cmd, FILE *out)
{
    fprintf(out, "usage: %s\n\n%s\n", cmd->usage, cmd->about);
    if (has_options(cmd)) fprintf(out, "\noptions:\n");
    print_options(cmd, out);
    if (cmd->id == CLI_SWEEP) {
        fprintf(out, "\nthe job file:\n"
                     "  [sweep]           output = FILE, checkpoint-minutes = X\n"
                     "  [settings]        KEY = VALUE, or KEY = V1, V2, ... (an axis of the grid)\n"
                     "                    zip = KEY, KEY, ...: those axes vary together (value i with value i)\n"
                     "  [grid NAME]       another grid over the same [settings]; the job is their union\n"
                     "  [when KEY = V]    single values where the axis KEY has the value V\n"
                     "  [search]          samples = N, sampler-seed = S, and per searched setting KEY = uniform A B,\n"
                     "                    log-uniform A B or choice V1, V2, ...: N samples, crossed with the grid;\n"
                     "                    or sampler = tpe, generations = G, per-generation = P, metric = val-bits |\n"
                     "                    val-acc | val-loss | test-bits | test-acc | test-loss | best-val-acc | an [exec]\n"
                     "                    metric, direction = maximize | minimize: G × P\n"
                     "                    samples per group, each generation drawn by TPE from the ones before\n"
                     "  [halving]         rungs = E1, E2, ... (epochs), reduction = 3, metric = val-bits | val-acc:\n"
                     "                    successive halving of the samples of each group; stopped trials are pruned\n"
                     "  every KEY is a setting of 'copysweep --help'\n"
                     "\nfiles:\n"
                     "  FILE              the results file (HDF5): /trials, /runs, /trial/<n>; always complete\n"
                     "  FILE.ckpt/journal the sweep's records not yet in FILE (removed at the end of a run)\n"
                     "  FILE.ckpt/trial-KEY.ckpt  a running trial's checkpoint\n"
                     "  FILE.ckpt/lock    held while a sweep writes FILE: a second sweep on FILE is refused\n"
                     "\nsignals:\n"
                     "  SIGTERM, SIGUSR1, SIGINT  every rank checkpoints its trial, the sweep exits with status 3\n"
                     "                    (mpirun forwards SIGUSR1 to every rank: kill -USR1 <mpirun pid>)\n"
                     "  SIGKILL           loses at most the running trials' work since their checkpoints\n"
                     "\nenvironment: OMP_NUM_THREADS (threads per rank), COPYSWEEP_KERNEL (avx512, avx2 or generic: the\n"
                     "  kernel path, default the fastest the CPU has; every path gives the same bits),\n"
                     "  COPYSWEEP_COMPACT_S (seconds between compactions of the journal, default 30),\n"
                     "  COPYSWEEP_READ_TIMEOUT (seconds to read a file, 120)\n"
                     "\nexit status: 0 every trial has a final status and none failed (done, diverged, pruned: a diverged "
                     "trial is a result); 1 a failure; 2 bad input, nothing written; 3 stopped by a signal, checkpoints "
                     "written: run the same command to resume; 4 finished, but some trials failed (copysweep status FILE "
                     "names them; --rerun status=failed runs them again)\n");
        return;
    }
    if (cmd->settings == no_settings) return;
    fprintf(out, "\nsettings:\n");
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
}

/* text as roff lines in no-fill mode: backslashes escaped, control characters at a line's start
 * neutralized. */
static void roff_text(FILE *out, const char *text)
{
    fputs(".nf\n", out);
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        const size_t n = end ? (size_t)(end - line) : strlen(line);
        if (*line == '.' || *line == '\'') fputs("\\&", out);
        for (size_t i = 0; i < n; i++)
            if (line[i] == '\\') fputs("\\e", out);
            else fputc(line[i], out);
        fputc('\n', out);
        line += n + (end != NULL);
    }
    fputs(".fi\n", out);
}

/* What a help function prints, as text (malloc'ed). */
static char *captured(void (*print)(const Command *, FILE *), const Command *cmd)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) CS_FAIL("open_memstream failed");
    print(cmd, mem);
    fclose(mem);
    return text;
}

static void print_usage_of(const Command *cmd, FILE *out)
{
    (void)cmd;
    cli_print_usage(out);
}

void cli_print_man(FILE *out)
{
    fprintf(out, ".TH COPYSWEEP 1 \"\" \"copysweep %s\" \"User Commands\"\n.SH NAME\n"
                 "copysweep \\- recurrent cells compared on memory tasks, swept over MPI ranks\n.SH SYNOPSIS\n",
            COPYSWEEP_VERSION);
    for (int c = 0; c < N_COMMANDS; c++) roff_text(out, commands[c].usage);
    fputs(".SH DESCRIPTION\nGenerated from the program's own help (copysweep --help and copysweep help COMMAND), "
          "so that the two say the same. The README of the source tree explains the experiments, the results "
          "file and running on a cluster.\n", out);
    char *text = captured(print_usage_of, NULL);
    roff_text(out, text);
    free(text);
    for (int c = 0; c < N_COMMANDS; c++) {
        fprintf(out, ".SH \"%s%s\"\n", c ? "COMMAND " : "THE SWEEP: ", c ? commands[c].name : "copysweep JOB.ini");
        text = captured(cli_print_command_help, &commands[c]);
        roff_text(out, text);
        free(text);
    }
    fputs(".SH SEE ALSO\nmpirun(1), sbatch(1), h5dump(1); copysweep-report(1) writes the report of a results file.\n", out);
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

CommandId cli_command_id(const Command *cmd) { return cmd->id; }

/* The value of an option into o: 0, or -1 with the reason in err. */
static int option_value(const OptionInfo *op, const char *opt, const char *value, Options *o, char *err, size_t errlen)
{
    switch (op->type) {
    case ARG_INT:
        return int_option(opt, value, op->min, int_at(o, op), err, errlen);
    case ARG_FILE:
        if (!*value) return fail(err, errlen, "option '%s': empty value", opt);
        *text_at(o, op) = value;
        return 0;
    case ARG_SPLIT:
        for (o->split = 0; split_names[o->split] && strcmp(split_names[o->split], value); o->split++) {}
        if (!split_names[o->split])
            return fail(err, errlen, "option '%s': '%s' is not a split (expected train, validation or test)", opt, value);
        return 0;
    case ARG_PROGRESS:
        if (strcmp(value, "bar") != 0 && strcmp(value, "lines") != 0)
            return fail(err, errlen, "option '%s': '%s' is not allowed (expected bar or lines)", opt, value);
        *int_at(o, op) = strcmp(value, "bar") == 0;
        return 0;
    case ARG_SHARD: {
        int i, n, end = 0;
        if (sscanf(value, "%d/%d%n", &i, &n, &end) != 2 || value[end] || n < 1 || n > 1000000 || i < 1 || i > n)
            return fail(err, errlen, "option '%s': '%s' is not allowed (expected I/N with 1 ≤ I ≤ N)", opt, value);
        o->shard = i, o->shards = n;
        return 0;
    }
    case ARG_ONLY:
        if (!strchr(value, '=') || value[0] == '=')
            return fail(err, errlen, "option '%s': '%s' is not allowed (expected KEY=VALUE[,VALUE...])", opt, value);
        if (o->n_only == CLI_MAX_ONLY) return fail(err, errlen, "option '%s': more than %d given", opt, CLI_MAX_ONLY);
        o->only[o->n_only++] = value;
        return 0;
    case ARG_FLAG:
        break;
    }
    return 0;
}

int cli_parse(const Command *cmd, const char *job, int argc, char **argv, Options *o, char *err, size_t errlen)
{
    char why[256];
    *o = (Options){.steps = 20, .warmup = 3, .count = 10, .job = job, .progress = -1, .trial = -1};
    settings_default(&o->s);
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) return 1;
        char opt[64];
        const char *value = NULL, *eq = strchr(arg, '=');
        if (strncmp(arg, "--", 2) == 0 && eq) { /* --key=value */
            snprintf(opt, sizeof opt, "%.*s", (int)(eq - arg), arg);
            value = eq + 1;
        } else {
            snprintf(opt, sizeof opt, "%s", arg);
        }
        if (strncmp(opt, "--", 2) != 0 && strcmp(opt, "-o") != 0 && o->n_files < cmd->files && arg[0] != '-') {
            o->files[o->n_files++] = arg;
            continue;
        }
        if (strncmp(opt, "--", 2) != 0 && strcmp(opt, "-o") != 0)
            return fail(err, errlen, "%s: unexpected argument '%s' (see 'copysweep %s --help')", cmd->name, arg,
                        called(cmd));
        const OptionInfo *op = find_option(cmd, opt);
        const SettingInfo *info = op ? NULL : settings_find(opt + 2);
        if (!op && !(info && accepts_setting(cmd, info->key)))
            return fail(err, errlen, "%s: unknown option '%s' (see 'copysweep %s --help')", cmd->name, opt,
                        called(cmd));
        if (op && op->type == ARG_FLAG) {
            if (value) return fail(err, errlen, "option '%s' takes no value", opt);
            *int_at(o, op) = 1;
            continue;
        }
        if (!value && i + 1 < argc) value = argv[++i];
        if (!value) return fail(err, errlen, "option '%s': missing value", opt);
        if (op) {
            if (option_value(op, opt, value, o, err, errlen) != 0) return -1;
        } else if (settings_parse(&o->s, info, value, why, sizeof why) != 0) {
            return fail(err, errlen, "option '%s': %s", opt, why);
        }
    }
    const int needed = cmd->files < 2 ? cmd->files : 2;
    if (o->n_files < needed)
        return fail(err, errlen, "%s: %s (expected '%s')", cmd->name, needed == 1 ? "a results file is needed"
                    : "two results files or more are needed", cmd->usage);
    if (o->shards && o->trial >= 0)
        return fail(err, errlen, "options '--shard' and '--trial' exclude each other (expected one of them)");
    if (cmd->id == CLI_MERGE && !o->output)
        return fail(err, errlen, "merge: option '-o FILE' is needed (expected '%s')", cmd->usage);
    if (cmd->settings == no_settings) return 0; /* the sweep's settings are the job file's */
    const char *key = settings_validate(&o->s, why, sizeof why);
    if (key) return fail(err, errlen, "option '--%s': %s", key, why);
    return 0;
}
