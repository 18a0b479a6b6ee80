/* copysweep: parse the command line and dispatch to train, data, bench, status, merge, or the sweep of a
 * job file. */
#include <stdio.h>  /* printf, fprintf */
#include <stdlib.h> /* free, getenv */
#include <string.h> /* strcmp, strlen */
#include <unistd.h> /* gethostname, access */

#include "batchmath.h" /* bm_setup_threads, bm_path_select, bm_path_name */
#include "model_kinds.h"     /* model_kinds */
#include "check.h"     /* cs_user_error */
#include "cli.h"       /* Options, cli_* */
#include "model.h"     /* Model, model_free */
#include "results.h"   /* results_* */
#include "version.h"   /* COPYSWEEP_VERSION */
#include "settings_table.h" /* Settings, settings_* */
#include "store.h"     /* store_print_status, store_merge, store_new_id */
#include "sweep.h"     /* sweep_main */
#include "task.h"      /* Dataset, task_print */
#include "task_kinds.h"     /* task_shape */
#include "train.h"     /* train_trial, train_bench */

/* The command line as one string, for the results file. */
static void join_args(int argc, char **argv, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < argc && len + 1 < n; i++)
        len += (size_t)snprintf(buf + len, n - len, i ? " %s" : "%s", argv[i]);
}

/* The kernel path COPYSWEEP_KERNEL names (unset: the fastest), for a command that trains. */
static void select_kernel(void)
{
    char err[256];
    if (bm_path_select(getenv("COPYSWEEP_KERNEL"), err, sizeof err) != 0) cs_user_error("%s", err);
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
        rc = res.bad_input ? CS_EXIT_USER : CS_EXIT_FAILURE;
    } else if (o->output) {
        join_args(argc, argv, command, sizeof command);
        gethostname(host, sizeof host - 1);
        char *job = NULL;
        size_t job_len = 0;
        FILE *mem = open_memstream(&job, &job_len);
        if (!mem) CS_FAIL("open_memstream failed");
        settings_write_ini(&o->s, mem);
        fclose(mem);
        Tensor tensors[MODEL_MAX_TENSORS];
        TrialRecord rec = {.trial = 0, .key = settings_key(&o->s), .s = &o->s, .facts = trial_facts(&o->s), .status = res.status, .res = &res,
                           .weights = model.mem, .tensors = tensors, .n_tensors = model.mem ? model_tensors(&model, tensors) : 0,
                           .host = host, .rank = 0, .threads = ctx.threads,
                           .kernel = bm_path_name()};
        if (results_write(o->output, command, job, store_new_id(), &rec, 1, err, sizeof err) != 0) {
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
    char err[512];
    if (dataset_init(&d, &shape, o->s.seed, o->split, o->count, err, sizeof err) != 0) cs_user_error("%s", err);
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
        const int G = model_kinds[o->s.model].ops->G;
        const int chunk = o->s.chunk < o->s.batch ? o->s.chunk : o->s.batch;
        BmRates r = bm_measure_rates(o->s.hidden, G, sh.L, chunk);
        printf("rates (GFLOP/s, one thread, kernel %s): fma_peak %.1f step_fwd %.1f step_bwd %.1f wgrad %.1f\n",
               bm_path_name(), r.peak, r.step_fwd, r.step_bwd, r.wgrad);
    }
    return 0;
}

/* copysweep help [COMMAND | man]. */
static int run_help(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[2], "man") == 0) {
        cli_print_man(stdout); /* the man page, from the same text as the help */
        return 0;
    }
    const Command *about = argc > 2 ? cli_command(argv[2]) : NULL;
    if (argc > 2 && !about) {
        char names[256];
        cli_command_list(names, sizeof names, "man");
        cs_user_error("help: unknown command '%s' (expected %s)", argv[2], names);
    }
    if (about) cli_print_command_help(about, stdout);
    else cli_print_usage(stdout);
    return 0;
}

/* A command other than the sweep: its options parsed, then run. */
static int run_command(const Command *cmd, int argc, char **argv)
{
    Options o;
    char err[512];
    int rc = cli_parse(cmd, NULL, argc - 2, argv + 2, &o, err, sizeof err);
    if (rc < 0) cs_user_error("%s", err);
    if (rc > 0) {
        cli_print_command_help(cmd, stdout);
        return 0;
    }
    switch (cli_command_id(cmd)) {
    case CLI_TRAIN: select_kernel(); return run_train(argc, argv, &o);
    case CLI_DATA: return run_data(&o);
    case CLI_BENCH: select_kernel(); return run_bench(&o);
    case CLI_STATUS: return store_print_status(o.files[0], stdout);
    case CLI_MERGE: {
        char command[4096];
        join_args(argc, argv, command, sizeof command);
        return store_merge(o.files, o.n_files, o.output, command);
    }
    case CLI_SWEEP: break;
    }
    CS_FAIL("command '%s' has no runner", argv[1]);
}

int main(int argc, char **argv)
{
    /* libhdf5 closes what is still open at exit; after a write that failed (a full disk) that close
     * crashes. Every file copysweep writes is complete or removed before it exits, so skip it. */
    H5dont_atexit();
    if (argc < 2) {
        cli_print_short_usage(stderr);
        return CS_EXIT_USER;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        cli_print_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("copysweep %s\n", COPYSWEEP_VERSION);
        return 0;
    }
    const Command *cmd = cli_command(argv[1]);
    if (cmd && cli_command_id(cmd) == CLI_SWEEP) { /* "sweep" alone names no job file */
        if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
            cli_print_command_help(cmd, stdout);
            return 0;
        }
        cs_user_error("sweep: a job file is needed (expected 'copysweep JOB.ini [options]'; see 'copysweep help sweep')");
    }
    if (strcmp(argv[1], "help") == 0) return run_help(argc, argv);
    if (cmd) return run_command(cmd, argc, argv);
    /* anything else names a job file: the sweep */
    size_t len = strlen(argv[1]);
    if (access(argv[1], F_OK) == 0 || (len > 4 && strcmp(argv[1] + len - 4, ".ini") == 0))
        return sweep_main(argc, argv);
    char names[256];
    cli_command_list(names, sizeof names, "help");
    cs_user_error("unknown command '%s' (expected a job file, %s; see 'copysweep --help')", argv[1], names);
}
