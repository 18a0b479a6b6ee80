/* Exec trials (exec.h): the command template, the metrics line protocol, and every outcome of a run
 * of tests/exec_prog.py: done, failed by its exit status, a signal, the timeout or a bad line,
 * stopped (it checkpoints and a second run resumes), pruned, and values that reach it as one
 * literal argument each. Run from the tree's root. */
#include <signal.h>   /* SIGTERM */
#include <stdio.h>    /* printf, fopen */
#include <stdlib.h>   /* free, mkdtemp, getenv */
#include <string.h>   /* strcmp, strstr */
#include <unistd.h>   /* access */

#include "clock.h" /* cs_now_s */
#include "exec.h"
#include "expect.h"

static char dir[64];
static char path_out[128], path_err[128], path_metrics[128], path_echo[128];

/* ---- the template ------------------------------------------------------------------------- */

static const char *lookup(void *arg, const char *key)
{
    const char *const *kv = arg; /* key, value, key, value, ..., NULL */
    for (int i = 0; kv[i]; i += 2)
        if (strcmp(kv[i], key) == 0) return kv[i + 1];
    return NULL;
}

static void test_template(void)
{
    ExecCommand c;
    char err[256], **argv;
    EXPECT(exec_command_parse(&c, "prog --lr={lr} \"two words\" {{literal}} {seed}", err, sizeof err) == 0, "%s", err);
    EXPECT(c.n == 5, "%d words", c.n);
    char *names[8];
    const int n = exec_command_keys(&c, names, 8);
    EXPECT(n == 2 && strcmp(names[0], "lr") == 0 && strcmp(names[1], "seed") == 0, "%d keys", n);
    for (int i = 0; i < n; i++) free(names[i]);
    const char *kv[] = {"lr", "0.1; rm -rf x", "seed", "$(touch y)", NULL};
    EXPECT(exec_command_argv(&c, lookup, kv, &argv, err, sizeof err) == 0, "%s", err);
    EXPECT(strcmp(argv[1], "--lr=0.1; rm -rf x") == 0, "argv[1] '%s'", argv[1]);
    EXPECT(strcmp(argv[2], "two words") == 0 && strcmp(argv[3], "{literal}") == 0, "'%s' '%s'", argv[2], argv[3]);
    EXPECT(strcmp(argv[4], "$(touch y)") == 0 && argv[5] == NULL, "argv[4] '%s'", argv[4]);
    exec_argv_free(argv);
    const char *lacking[] = {"lr", "1", NULL};
    EXPECT(exec_command_argv(&c, lookup, lacking, &argv, err, sizeof err) != 0 && strstr(err, "{seed}"),
           "a missing key: '%s'", err);
    exec_command_free(&c);
    EXPECT(exec_command_parse(&c, "   ", err, sizeof err) != 0 && strstr(err, "empty"), "empty: '%s'", err);
    EXPECT(exec_command_parse(&c, "prog {lr", err, sizeof err) != 0 && strstr(err, "not closed"), "'%s'", err);
    EXPECT(exec_command_parse(&c, "prog \"open", err, sizeof err) != 0 && strstr(err, "quote"), "'%s'", err);
    EXPECT(exec_command_parse(&c, "prog {}", err, sizeof err) != 0 && strstr(err, "empty"), "'%s'", err);
    EXPECT(exec_command_parse(&c, "prog {a{b}", err, sizeof err) != 0 && strstr(err, "holds a '{'"), "'%s'", err);
}

/* ---- the protocol ------------------------------------------------------------------------- */

static int parse(const char *line, ExecRecord *r, char *err, size_t n)
{
    static const char *const declared[] = {"val_loss", "test_acc"};
    return exec_parse_record(line, strlen(line), declared, 2, r, err, n);
}

static void test_protocol(void)
{
    ExecRecord r;
    char err[512];
    EXPECT(parse("{\"epoch\": 3, \"val_loss\": 0.41, \"note\": \"x\", \"deep\": {\"a\": [1, 2]}, \"ok\": true}", &r, err,
                 sizeof err) == 0, "%s", err);
    EXPECT(r.epoch == 3 && r.n == 1 && *exec_record_value(&r, "val_loss") == 0.41, "epoch %d, %d numbers", r.epoch, r.n);
    EXPECT(parse("{\"val_loss\": 1e-3, \"test_acc\": NaN, \"n\": -2}", &r, err, sizeof err) == 0, "%s", err);
    EXPECT(r.epoch == -1 && r.n == 3 && *exec_record_value(&r, "val_loss") == 1e-3, "final: %d numbers", r.n);
    EXPECT(*exec_record_value(&r, "test_acc") != *exec_record_value(&r, "test_acc"), "NaN kept");
    char many[8192];
    int len = snprintf(many, sizeof many, "{\"x%0100d\": 1", 0); /* a name too long: dropped */
    for (int i = 0; i < 80; i++) len += snprintf(many + len, sizeof many - (size_t)len, ", \"m%d\": %d", i, i);
    snprintf(many + len, sizeof many - (size_t)len, ", \"val_loss\": 2, \"test_acc\": 3}");
    EXPECT(parse(many, &r, err, sizeof err) == 0 && r.n == EXEC_MAX_FIELDS && *exec_record_value(&r, "test_acc") == 3 &&
           !exec_record_value(&r, "m62"), "80 extra numbers: %d kept (%s)", r.n, err);
    static const struct { const char *line, *says; } bad[] = {
        {"not json", "not a JSON object"},
        {"{\"epoch\": 1,}", "not JSON"},
        {"{\"epoch\": 1} extra", "text after"},
        {"{\"epoch\": 1.5}", "epoch"},
        {"{\"epoch\": \"1\"}", "epoch"},
        {"{\"epoch\": 1, \"val_loss\": \"high\"}", "\"val_loss\" is a string"},
        {"{\"val_loss\": 1}", "lacks the declared metric \"test_acc\""},
        {"{\"epoch\": 1, \"a\": 1, \"a\": 2}", "twice"},
        {"{\"epoch\": 01}", "not JSON"},
        {"{\"s\": \"\\q\"}", "escape"},
        {"{\"epoch\": 1, \"a\\nb\": 1, \"a\\nb\": 2}", "\"a?b\" is given twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        EXPECT(parse(bad[i].line, &r, err, sizeof err) != 0 && strstr(err, bad[i].says),
               "'%s' gave '%s' (expected a message with '%s')", bad[i].line, err, bad[i].says);
    }
}

/* ---- runs of tests/exec_prog.py ----------------------------------------------------------- */

typedef struct {
    int rows, prune_at;   /* on_epoch: rows seen; prune at this epoch (0: never) */
    int stop_rows;        /* should_stop: once this many rows arrived (0: never), so that the program
                             has its SIGTERM handler whatever the machine's load */
} Control;

static int on_epoch(void *arg, const ExecRecord *row)
{
    Control *c = arg;
    c->rows++;
    return !(c->prune_at && row->epoch >= c->prune_at);
}

static int should_stop(void *arg)
{
    Control *c = arg;
    return c->stop_rows > 0 && c->rows >= c->stop_rows;
}

/* A run of exec_prog.py with these extra words (mode, epochs, ...), fresh files unless keep. */
static void run(const char *const *words, Control *c, double timeout_s, int keep, ExecOutcome *o)
{
    if (!keep) remove(path_metrics), remove(path_out), remove(path_err);
    char *argv[32];
    int n = 0;
    argv[n++] = getenv("PYTHON") ? getenv("PYTHON") : "python3"; /* run_tests.sh's, else the PATH's */
    argv[n++] = "tests/exec_prog.py";
    for (int i = 0; words[i]; i++) argv[n++] = (char *)words[i];
    argv[n] = NULL;
    char metrics_env[160], ckpt_env[160];
    snprintf(metrics_env, sizeof metrics_env, "COPYSWEEP_METRICS=%s", path_metrics);
    snprintf(ckpt_env, sizeof ckpt_env, "COPYSWEEP_CHECKPOINT_DIR=%s", dir);
    char *env[] = {metrics_env, ckpt_env, "COPYSWEEP_LR=0.5", NULL};
    static const char *const declared[] = {"val_loss", "test_acc"};
    ExecRun r = {.argv = argv, .env = env, .stdout_path = path_out, .stderr_path = path_err,
                 .metrics_path = path_metrics, .declared = declared, .n_declared = 2, .timeout_s = timeout_s,
                 .stop_signal = SIGTERM, .grace_s = 2, .should_stop = should_stop, .stop_arg = c,
                 .on_epoch = on_epoch, .epoch_arg = c};
    char err[256];
    EXPECT(exec_run(&r, o, err, sizeof err) == 0, "exec_run: %s", err);
}

static void test_outcomes(void)
{
    ExecOutcome o;
    Control c = {0};
    char state[160];
    snprintf(state, sizeof state, "%s/state.json", dir);

    remove(state);
    run((const char *[]){"--epochs", "3", "--echo", path_echo, "--lr", "; rm -rf x", "$(touch y)", NULL}, &c, 0, 0, &o);
    EXPECT(o.status == EXEC_FAILED && strstr(o.stderr_tail, "could not convert"), "a bad --lr: status %d, '%s'", o.status,
           o.stderr_tail);
    FILE *f = fopen(path_echo, "r");
    char echo[8192] = "";
    if (f) (void)!fread(echo, 1, sizeof echo - 1, f), fclose(f);
    EXPECT(strstr(echo, "\"; rm -rf x\", \"$(touch y)\"") && strstr(echo, "\"COPYSWEEP_LR\": \"0.5\""),
           "the values arrive literally: %s", echo);
    EXPECT(access("y", F_OK) != 0, "no shell ran $(touch y)");

    remove(state), c = (Control){0};
    run((const char *[]){"--epochs", "3", NULL}, &c, 0, 0, &o);
    EXPECT(o.status == EXEC_DONE && o.epochs == 3 && c.rows == 3, "ok: status %d (%s), %d epochs", o.status, o.reason, o.epochs);
    EXPECT(o.final.n == 2 && *exec_record_value(&o.final, "test_acc") == 0.966667, "final: %d values", o.final.n);

    /* exit_code -2: stopped by the runner on its bad line, whenever the signal finds it */
    static const struct { const char *mode, *says; int exit_code, signal; } failing[] = {
        {"fail", "exited with status 3", 3, 0},
        {"crash", "killed by signal 11", -1, 11},
        {"garbage", ":2: not a JSON object", -2, 0},
        {"big", "more than 1048576 bytes", -2, 0},
        {"missing", "lacks the declared metric \"test_acc\"", -2, 0},
        {"wrongtype", ":2: \"val_loss\" is a string", -2, 0},
        {"nofinal", "without a final record", 0, 0},
    };
    for (size_t i = 0; i < sizeof failing / sizeof failing[0]; i++) {
        remove(state), c = (Control){0};
        run((const char *[]){"--mode", failing[i].mode, "--epochs", "3", NULL}, &c, 0, 0, &o);
        EXPECT(o.status == EXEC_FAILED && strstr(o.reason, failing[i].says), "%s: status %d, '%s'", failing[i].mode,
               o.status, o.reason);
        if (failing[i].exit_code != -2)
            EXPECT(o.exit_code == failing[i].exit_code && o.signal == failing[i].signal, "%s: exit %d, signal %d",
                   failing[i].mode, o.exit_code, o.signal);
    }
    remove(state), c = (Control){0};
    run((const char *[]){"--mode", "fail", NULL}, &c, 0, 0, &o);
    EXPECT(strstr(o.stderr_tail, "something went wrong\nexec_prog: giving up"), "stderr tail: '%s'", o.stderr_tail);

    remove(state), c = (Control){0};
    double t = cs_now_s();
    run((const char *[]){"--mode", "hang", NULL}, &c, 1.0, 0, &o);
    EXPECT(o.status == EXEC_FAILED && o.timed_out && strstr(o.reason, "timeout") && cs_now_s() - t < 10,
           "hang: status %d, '%s', %.1f s", o.status, o.reason, cs_now_s() - t);

    /* stopped after its first epoch (of 10 of 0.2 s): it checkpoints; the next run resumes */
    remove(state), c = (Control){.stop_rows = 1};
    run((const char *[]){"--epochs", "10", "--sleep", "0.2", NULL}, &c, 0, 0, &o);
    EXPECT(o.status == EXEC_STOPPED && o.epochs >= 1 && o.epochs < 10, "stop: status %d, %d epochs", o.status, o.epochs);
    const int first = o.epochs;
    c = (Control){0};
    run((const char *[]){"--epochs", "10", "--sleep", "0.2", NULL}, &c, 0, 1, &o);
    EXPECT(o.status == EXEC_DONE && o.epochs == 10 && *exec_record_value(&o.final, "test_acc") == 0.99,
           "resumed: status %d (%s), %d rows (%d before the stop)", o.status, o.reason, o.epochs, first);

    /* pruned at its second epoch: it gets SIGTERM, checkpoints and exits */
    remove(state), c = (Control){.prune_at = 2};
    run((const char *[]){"--epochs", "20", "--sleep", "0.3", NULL}, &c, 0, 0, &o);
    EXPECT(o.status == EXEC_PRUNED && o.epochs >= 2 && o.epochs < 20, "prune: status %d, %d epochs", o.status, o.epochs);

    const char *missing[] = {"/no/such/program", NULL};
    char err[256];
    ExecRun r = {.argv = (char **)missing, .stdout_path = path_out, .stderr_path = path_err,
                 .metrics_path = path_metrics, .stop_signal = SIGTERM};
    EXPECT(exec_run(&r, &o, err, sizeof err) != 0 && strstr(err, "cannot run '/no/such/program'") &&
           o.status == EXEC_FAILED, "a missing program: '%s'", err);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_exec.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    snprintf(path_out, sizeof path_out, "%s/out", dir);
    snprintf(path_err, sizeof path_err, "%s/err", dir);
    snprintf(path_metrics, sizeof path_metrics, "%s/metrics.jsonl", dir);
    snprintf(path_echo, sizeof path_echo, "%s/echo.json", dir);
    test_template();
    test_protocol();
    test_outcomes();
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    if (system(rm) != 0) printf("  could not remove %s\n", dir);
    printf("test_exec: %s\n", failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
}
