/* The command line of train, data and bench: the options besides the settings, help, parsing. */
#ifndef CS_CLI_H
#define CS_CLI_H

#include <stddef.h> /* size_t */
#include <stdio.h>  /* FILE */

#include "settings.h" /* Settings */

typedef struct Command Command;

typedef struct {
    Settings s;
    int threads, steps, warmup, count, split, rates;
    const char *output; /* points into argv */
} Options;

/* The command of this name (train, data, bench), or NULL. */
const Command *cli_command(const char *name);
const char *cli_command_name(const Command *cmd);
void cli_print_usage(FILE *out);
void cli_print_command_help(const Command *cmd, FILE *out);
/* Parse the arguments after the command name into o: 0; 1 if help was asked for; -1 with one line
 * naming the option, the value and what was expected in err. */
int cli_parse(const Command *cmd, int argc, char **argv, Options *o, char *err, size_t errlen);

#endif
