/* The [exec] section's options (exec_spec.h). */
#include "exec_spec.h"

#include <signal.h> /* SIGTERM, SIGINT, SIGUSR1, ... */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* free */
#include <string.h> /* strcmp, strdup, strlen */

#include "check.h" /* CS_FAIL */
#include "text.h"  /* text_split_list, text_number */

static const struct {
    const char *name;
    int sig;
} signals[] = {{"TERM", SIGTERM}, {"INT", SIGINT}, {"HUP", SIGHUP}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
               {"QUIT", SIGQUIT}, {"KILL", SIGKILL}};
#define N_SIGNALS (int)(sizeof signals / sizeof signals[0])

void exec_spec_init(ExecSpec *e) { *e = (ExecSpec){.stop_signal = SIGTERM, .grace_s = 30}; }

void exec_spec_free(ExecSpec *e)
{
    free(e->command_text);
    exec_command_free(&e->command);
    exec_command_free(&e->version);
    exec_spec_init(e);
}

void exec_env_name(const char *key, char *buf, size_t n)
{
    size_t i = 0;
    for (; key[i] && i + 1 < n; i++)
        buf[i] = key[i] == '-' ? '_' : (key[i] >= 'a' && key[i] <= 'z') ? (char)(key[i] - 'a' + 'A') : key[i];
    buf[i] = '\0';
}

const char *exec_signal_name(int sig)
{
    for (int i = 0; i < N_SIGNALS; i++)
        if (signals[i].sig == sig) return signals[i].name;
    return "?";
}

/* metrics = A, B, ...: distinct names of letters, digits and '_', not "epoch". */
static int parse_metrics(ExecSpec *e, const char *value, char *err, size_t errlen)
{
    char *list = strdup(value), *items[EXEC_MAX_FIELDS + 1];
    if (!list) CS_FAIL("out of memory");
    const int n = text_split_list(list, items, EXEC_MAX_FIELDS + 1);
    const char *bad = n < 1 ? "no name" : n > EXEC_MAX_FIELDS ? "too many names" : NULL;
    for (int i = 0; !bad && i < n; i++) {
        const char *m = items[i];
        int ok = *m && strlen(m) < EXEC_MAX_NAME && !(*m >= '0' && *m <= '9');
        for (const char *c = m; ok && *c; c++)
            ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_';
        if (!ok || strcmp(m, "epoch") == 0) {
            snprintf(err, errlen, "key 'metrics': '%s' is not a metric name (expected letters, digits and '_', not "
                     "epoch)", m);
            free(list);
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(items[j], m) == 0) {
                snprintf(err, errlen, "key 'metrics': '%s' named twice", m);
                free(list);
                return -1;
            }
        snprintf(e->metrics[i], sizeof e->metrics[i], "%s", m);
    }
    free(list);
    if (bad) {
        snprintf(err, errlen, "key 'metrics': '%s' has %s (expected metrics = NAME, NAME, ... with at most %d names)",
                 value, bad, EXEC_MAX_FIELDS);
        return -1;
    }
    e->n_metrics = n;
    return 0;
}

int exec_option(ExecSpec *e, const char *name, const char *value, int line, char *err, size_t errlen)
{
    char why[512];
    double v;
    if (strcmp(name, "command") == 0) {
        if (exec_command_parse(&e->command, value, why, sizeof why) != 0) {
            snprintf(err, errlen, "key 'command': %s", why);
            return -1;
        }
        e->command_text = strdup(value);
        if (!e->command_text) CS_FAIL("out of memory");
        e->command_line = line;
        return 0;
    }
    if (strcmp(name, "metrics") == 0) {
        e->metrics_line = line;
        return parse_metrics(e, value, err, errlen);
    }
    if (strcmp(name, "timeout-minutes") == 0 || strcmp(name, "grace-seconds") == 0) {
        if (text_number(value, 0, 1e7, 0, &v) != 0) {
            snprintf(err, errlen, "key '%s': '%s' is not allowed (expected a number ≥ 0%s)", name, value,
                     *name == 't' ? "; 0 = no timeout" : "");
            return -1;
        }
        if (*name == 't') e->timeout_s = 60 * v;
        else e->grace_s = v;
        return 0;
    }
    if (strcmp(name, "stop-signal") == 0) {
        const char *s = strncmp(value, "SIG", 3) == 0 ? value + 3 : value;
        for (int i = 0; i < N_SIGNALS; i++)
            if (strcmp(s, signals[i].name) == 0) {
                e->stop_signal = signals[i].sig;
                return 0;
            }
        snprintf(err, errlen, "key 'stop-signal': '%s' is not a signal (expected TERM, INT, HUP, USR1, USR2, QUIT or KILL)",
                 value);
        return -1;
    }
    if (strcmp(name, "version-command") == 0) {
        if (exec_command_parse(&e->version, value, why, sizeof why) != 0) {
            snprintf(err, errlen, "key 'version-command': %s", why);
            return -1;
        }
        char *keys[1];
        if (exec_command_keys(&e->version, keys, 1) > 0) {
            snprintf(err, errlen, "key 'version-command': '{%s}' in it (expected a command without placeholders: it runs "
                     "once per worker)", keys[0]);
            free(keys[0]);
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "unknown key '%s' in [exec] (expected command, metrics, timeout-minutes, stop-signal, "
             "grace-seconds or version-command)", name);
    return -1;
}

int exec_spec_check(const ExecSpec *e, char *err, size_t errlen)
{
    if (!e->command.n) {
        snprintf(err, errlen, "[exec] needs command = PROGRAM ARGS... (the program each trial runs)");
        return -1;
    }
    if (!e->n_metrics) {
        snprintf(err, errlen, "[exec] needs metrics = NAME, ... (the final metrics its program reports)");
        return -1;
    }
    return 0;
}
