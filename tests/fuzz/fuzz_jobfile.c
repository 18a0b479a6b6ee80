/* libFuzzer target: the job-file reader. Any text either parses into a grid whose every trial has
 * valid settings that format and parse back, or is refused with "PATH:LINE: ..."; nothing crashes,
 * leaks or reads out of bounds. With FUZZ_SEED_DIR set, a job with grids, zip, [when], [search] and
 * [halving], a job of [exec] with its own keys, and a TPE search are written there first, as seeds of
 * the corpus. Under sampler = tpe, each searched key's next value from the first generation's values
 * (tpe_suggest) lies in its range. */
#include <stdint.h> /* uint8_t */
#include <stdio.h>  /* FILE, fopen, snprintf */
#include <stdlib.h> /* malloc, free, abort */
#include <string.h> /* memcpy, strncmp */

#include "jobfile.h" /* Job, job_* */
#include "tpe.h"     /* tpe_suggest */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *dir = getenv("FUZZ_SEED_DIR");
    if (!dir) return 0;
    char seed[4096];
    snprintf(seed, sizeof seed, "%s/seed-job.ini", dir);
    FILE *f = fopen(seed, "w");
    if (!f) abort();
    fputs("[sweep]\noutput = x.h5\n[settings]\nmodel = lstm, gru\noptimizer = adam, sgd\nmomentum = 0.5, 0.9\n"
          "zip = optimizer, momentum\nT = 5, 6\nepochs = 4\ntrain-size = 64\n[grid a]\n[grid b]\nhidden = 8, 16\n"
          "[when optimizer = sgd]\nclip = 2\n[search]\nsamples = 3\nsampler-seed = 7\nlr = log-uniform 0.001 0.1\n"
          "dropout = uniform 0 0.5\nvocab = choice 4, 6\n[halving]\nrungs = 1, 2\nreduction = 2\nmetric = val-acc\n", f);
    fclose(f);
    snprintf(seed, sizeof seed, "%s/seed-exec.ini", dir);
    if (!(f = fopen(seed, "w"))) abort();
    fputs("[settings]\nwidth = 8, 16\nseed = 1, 2\nname = \"a b\"\nzip = width, seed\n[grid g]\n[grid h]\nwidth = 4\n"
          "[when seed = 2]\nname = c\n[search]\nsamples = 2\nlr = log-uniform 1e-3 0.1\nlayers = uniform 1 3\n"
          "[exec]\ncommand = prog --w {width} \"{name}\" {{lit}} {job_dir}/x --lr={lr} {layers}\nmetrics = acc, loss\n"
          "timeout-minutes = 1.5\nstop-signal = SIGUSR1\ngrace-seconds = 2\nversion-command = prog --version\n", f);
    fclose(f);
    snprintf(seed, sizeof seed, "%s/seed-tpe.ini", dir);
    if (!(f = fopen(seed, "w"))) abort();
    fputs("[settings]\nmodel = gru\nseed = 1, 2\n[search]\nsampler = tpe\ngenerations = 3\nper-generation = 2\n"
          "metric = val-loss\ndirection = minimize\nlr = log-uniform 1e-4 0.1\nhidden = uniform-int 4 64\n"
          "optimizer = choice adam, sgd\n[halving]\nrungs = 2\n", f);
    fclose(f);
    return 0;
}

/* Each searched key's TPE value from the first generation's samples (objective: their order). */
static void suggest_each(const Job *job)
{
    const Search *se = &job->search;
    const int n = se->per_generation;
    double xs[64], ys[64];
    if (n > 64) return;
    for (int j = 0; j < se->n_keys; j++) {
        const SearchKey *k = &se->keys[j];
        for (int i = 0; i < n; i++) {
            const char *v = se->values[(size_t)i * se->n_keys + j];
            xs[i] = strtod(v, NULL), ys[i] = (double)((i * 7) % 5);
            for (int c = 0; k->dist == DIST_CHOICE && c < k->n_choices; c++)
                if (strcmp(v, k->choices[c]) == 0) xs[i] = c;
        }
        Rng r = rng_stream(RNG_KEY(RNG_TEST, (uint64_t)j));
        const double v = tpe_suggest(k, xs, ys, n, &r);
        if (k->dist == DIST_CHOICE ? !(v >= 0 && v < k->n_choices && v == (int)v) : !(v >= k->lo && v <= k->hi)) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    char *text = malloc(size + 1), err[512];
    memcpy(text, data, size);
    text[size] = '\0';
    Job job;
    if (job_parse(&job, "fuzz.ini", text, err, sizeof err) == 0) {
        if (job.search.sampler == SAMPLER_TPE) suggest_each(&job);
        for (long k = 0; k < job.n_trials && k < 256; k++) {
            Settings s, back;
            char why[256], value[SETTINGS_TEXT_MAX];
            job_trial(&job, k, &s);
            if (settings_validate(&s, why, sizeof why)) abort(); /* job_parse validated every trial */
            settings_default(&back);
            for (const SettingInfo *info = settings_infos(&s); info->key; info++) {
                settings_format(&s, info, value, sizeof value);
                if (info->type == SET_OWN && !*value) continue; /* a key of the job's own that this trial has not */
                if (settings_parse(&back, info, value, why, sizeof why) != 0) abort();
            }
        }
    } else if (strncmp(err, "fuzz.ini:", 9) != 0) {
        abort(); /* every refusal names the file and line */
    }
    job_free(&job);
    free(text);
    return 0;
}
