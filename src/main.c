/* copysweep: parse the command line and dispatch to train, data, bench, or the sweep of a job file. */
#include <stdio.h>  /* printf, fprintf */
#include <stdlib.h> /* strtol */
#include <string.h> /* strcmp, strncmp, strchr */
#include <unistd.h> /* gethostname, access */

#include "batchmath.h" /* bm_setup_threads */
#include "check.h"     /* cs_user_error */
#include "model.h"     /* Model, model_free */
#include "pack.h"      /* pack_hash */
#include "results.h"   /* results_*, COPYSWEEP_VERSION */
#include "settings.h"  /* Settings, settings_* */
#include "sweep.h"     /* sweep_main */
#include "task.h"      /* Dataset, task_print */
#include "train.h"     /* train_trial, train_bench */

/* The command's own options besides the settings; a NULL setting list means all settings. */
typedef struct {
    const char *name;
    const char *usage;
    const char *const *settings; /* the settings this command accepts; NULL: all */
    const char *extra_help;
} Command;

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

static void print_usage(FILE *out)
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

static void print_command_help(const Command *cmd)
{
    printf("usage: %s\n\noptions:\n", cmd->usage);
    if (cmd->settings) {
        for (const char *const *k = cmd->settings; *k; k++) {
            const SettingInfo *info = settings_find(*k);
            char opt[40];
            snprintf(opt, sizeof opt, "--%s %s", info->key, info->type == SET_CHOICE ? "NAME" : info->type == SET_LIST ? "LIST"
                     : info->type == SET_TEXT ? "PATH" : "N");
            printf("  %-22s %s (default: %s)\n", opt, info->help, info->def);
        }
    } else {
        settings_print_help(stdout);
    }
    fputs(cmd->extra_help, stdout);
}

static int accepts_setting(const Command *cmd, const char *key)
{
    if (!cmd->settings) return 1;
    for (const char *const *k = cmd->settings; *k; k++)
        if (strcmp(*k, key) == 0) return 1;
    return 0;
}

/* Integer option value ≥ min, or a user error naming the option. */
static int int_option(const char *opt, const char *text, int min)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < min || v > 1000000000)
        cs_user_error("option '%s': '%s' is not allowed (expected an integer ≥ %d)", opt, text, min);
    return (int)v;
}

typedef struct {
    Settings s;
    int threads, steps, warmup, count, split, rates;
    const char *output;
} Options;

static void parse_options(const Command *cmd, int argc, char **argv, Options *o)
{
    char err[256];
    settings_default(&o->s);
    o->threads = 0, o->steps = 20, o->warmup = 3, o->count = 10, o->split = 0, o->output = NULL, o->rates = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_command_help(cmd);
            exit(0);
        }
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
            cs_user_error("%s: unexpected argument '%s' (see 'copysweep %s --help')", cmd->name, arg,
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
        if (!known)
            cs_user_error("%s: unknown option '%s' (see 'copysweep %s --help')", cmd->name, opt, cmd->name);
        if (!value) cs_user_error("option '%s': missing value", opt);
        if (info && accepts_setting(cmd, info->key)) {
            if (settings_parse(&o->s, info, value, err, sizeof err) != 0)
                cs_user_error("option '%s': %s", opt, err);
        } else if (strcmp(opt, "--threads") == 0) {
            o->threads = int_option(opt, value, 0);
        } else if (strcmp(opt, "--steps") == 0) {
            o->steps = int_option(opt, value, 1);
        } else if (strcmp(opt, "--warmup") == 0) {
            o->warmup = int_option(opt, value, 0);
        } else if (strcmp(opt, "--count") == 0) {
            o->count = int_option(opt, value, 0);
        } else if (strcmp(opt, "--split") == 0) {
            for (o->split = 0; split_names[o->split] && strcmp(split_names[o->split], value); o->split++) {}
            if (!split_names[o->split])
                cs_user_error("option '--split': '%s' is not a split (expected train, validation or test)",
                              value);
        } else {
            if (!*value) cs_user_error("option '%s': empty file name", opt);
            o->output = value;
        }
    }
    const char *key = settings_validate(&o->s, err, sizeof err);
    if (key) cs_user_error("option '--%s': %s", key, err);
}

/* The command line as one string, for the results file. */
static void join_args(int argc, char **argv, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < argc && len + 1 < n; i++)
        len += (size_t)snprintf(buf + len, n - len, i ? " %s" : "%s", argv[i]);
}

static int run_train(int argc, char **argv, const Options *o)
{
    char err[512], command[4096], host[256] = "";
    if (o->output && results_check_writable(o->output, err, sizeof err) != 0)
        cs_user_error("option '-o': %s", err);
    TrainCtx ctx = {.log = stdout, .threads = bm_setup_threads(o->threads)};
    Model model;
    TrialResult res;
    train_trial(&o->s, &ctx, &model, &res);
    int rc = 0;
    if (res.status == STATUS_FAILED) {
        fprintf(stderr, "copysweep: the trial failed: %s\n", res.stop_reason);
        rc = CS_EXIT_FAILURE;
    } else if (o->output) {
        join_args(argc, argv, command, sizeof command);
        gethostname(host, sizeof host - 1);
        char *job = NULL;
        size_t job_len = 0;
        FILE *mem = open_memstream(&job, &job_len);
        if (!mem) CS_FAIL("open_memstream failed");
        settings_write_ini(&o->s, mem);
        fclose(mem);
        TrialRecord rec = {.trial = 0, .s = &o->s, .status = res.status, .res = &res, .model = &model,
                           .host = host, .rank = 0, .threads = ctx.threads};
        uint64_t grid = pack_hash(job, strlen(job));
        if (results_write(o->output, command, job, grid, &rec, 1, err, sizeof err) != 0) {
            fprintf(stderr, "copysweep: %s\n", err);
            rc = CS_EXIT_FAILURE;
        } else {
            printf("wrote %s\n", o->output);
        }
        free(job);
    }
    trial_result_free(&res);
    model_free(&model);
    return rc;
}

static int run_data(const Options *o)
{
    TaskShape shape = task_shape(&o->s);
    Dataset d;
    dataset_init(&d, &shape, o->s.seed, o->split, o->count);
    task_print(&d, o->count, stdout);
    dataset_free(&d);
    return 0;
}

static int run_bench(const Options *o)
{
    TrainCtx ctx = {.log = stdout, .threads = bm_setup_threads(o->threads)};
    train_bench(&o->s, &ctx, o->warmup, o->steps);
    if (o->rates) {
        TaskShape sh = task_shape(&o->s);
        const int G = (o->s.model == MODEL_LSTM || o->s.model == MODEL_MLSTM) ? 4 : 3;
        const int chunk = o->s.chunk < o->s.batch ? o->s.chunk : o->s.batch;
        BmRates r = bm_measure_rates(sh.I, o->s.hidden, G, o->s.batch, sh.L, chunk);
        printf("rates (GFLOP/s, one thread): fma_peak %.1f sgemm_step %.1f sgemm_wgrad %.1f packed_step %.1f; "
               "packed kernel %s; %s\n", r.peak, r.sgemm_step, r.sgemm_wgrad, r.packed_step, bm_kernel_name(),
               bm_blas_name());
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return CS_EXIT_USER;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("copysweep %s\n", COPYSWEEP_VERSION);
        return 0;
    }
    for (int c = 0; c < N_COMMANDS; c++) {
        if (strcmp(argv[1], commands[c].name) != 0) continue;
        Options o;
        parse_options(&commands[c], argc - 2, argv + 2, &o);
        if (c == 0) return run_train(argc, argv, &o);
        if (c == 1) return run_data(&o);
        return run_bench(&o);
    }
    /* anything else names a job file: the sweep */
    size_t len = strlen(argv[1]);
    if (access(argv[1], F_OK) == 0 || (len > 4 && strcmp(argv[1] + len - 4, ".ini") == 0))
        return sweep_main(argc, argv);
    cs_user_error("unknown command '%s' (expected train, data, bench or a job file; see 'copysweep --help')",
                  argv[1]);
}
