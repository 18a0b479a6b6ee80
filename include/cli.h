/* The command line of every mode (train, data, bench, status, merge and the sweep of a job file): the options
 * besides the settings, help, and one parser. */
#ifndef CS_CLI_H
#define CS_CLI_H

#include <stddef.h> /* size_t */
#include <stdio.h>  /* FILE */

#include "settings.h" /* Settings */

typedef enum { CLI_TRAIN, CLI_DATA, CLI_BENCH, CLI_SWEEP, CLI_STATUS, CLI_MERGE } CommandId;
typedef struct Command Command;

#define CLI_MAX_ONLY 8
#define CLI_MAX_FILES 256

typedef struct {
    Settings s;
    int threads, steps, warmup, count, split, rates;
    const char *output; /* points into argv */
    const char *job;    /* the sweep's job file (points into argv) */
    int list;           /* the sweep: print the trials and exit */
    int progress;       /* the sweep: -1 a bar if stderr is a terminal, else lines; 0 lines; 1 a bar */
    int show_epochs;    /* the sweep: a line per finished epoch of every trial */
    int shard, shards;  /* the sweep: --shard I/N runs the trials k with k mod N = I - 1; 0/0: all */
    int trial;          /* the sweep: --trial K runs trial K alone; -1: all */
    const char *only[CLI_MAX_ONLY]; /* the sweep: --only KEY=V1[,V2...], each narrowing (into argv) */
    int n_only;
    const char *rerun;  /* the sweep: --rerun K or --rerun status=S[,S...]: finished trials run again */
    const char *files[CLI_MAX_FILES]; /* status FILE, merge A B [C ...] (point into argv) */
    int n_files;
} Options;

/* The command of this name (train, data, bench, sweep, status, merge), or NULL. */
const Command *cli_command(const char *name);
CommandId cli_command_id(const Command *cmd);
void cli_print_usage(FILE *out);
/* The usage of each command in one line each, for a command line with none (the whole help is
 * cli_print_usage's). */
void cli_print_short_usage(FILE *out);
/* "sweep, status, merge, train, data, bench or LAST": every command's name, then last. */
void cli_command_list(char *buf, size_t n, const char *last);
void cli_print_command_help(const Command *cmd, FILE *out);
/* The man page copysweep(1), in roff: the usage and every command's help. */
void cli_print_man(FILE *out);
/* Parse the arguments after the command name (for the sweep: after the job file, which is given as
 * job) into o: 0; 1 if help was asked for; -1 with one line naming the option, the value and what
 * was expected in err. */
int cli_parse(const Command *cmd, const char *job, int argc, char **argv, Options *o, char *err, size_t errlen);

#endif
