/* libFuzzer target: resuming a sweep on a results file a user did not write. The input is the
 * file: its index is read as a resume reads it, and if that succeeds a trial's row is changed as a
 * compaction changes it. Each step succeeds or fails with a message; nothing crashes, leaks or
 * reads out of bounds, and a failed change leaves the file as it was. With FUZZ_SEED_DIR set, a
 * real results file of 3 trials is written there first, as the seed of the corpus. */
#include <stdint.h> /* uint8_t */
#include <stdio.h>  /* FILE, snprintf, remove */
#include <stdlib.h> /* getenv, abort, malloc */
#include <string.h> /* memcmp */
#include <unistd.h> /* getpid */

#include "settings_table.h" /* settings_default */
#include "results.h" /* results_* */
#include "train.h"   /* trial_facts */

#define STORE 0x5eedULL
#define N 3

static char path[64];

static void records(Settings *s, TrialRecord *recs)
{
    for (int k = 0; k < N; k++) {
        settings_default(&s[k]);
        s[k].T = 5 + k;
        recs[k] = (TrialRecord){.trial = k, .key = settings_key(&s[k]), .s = &s[k], .facts = trial_facts(&s[k]), .status = STATUS_PENDING, .host = "fuzz", .rank = k};
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(path, sizeof path, "/tmp/copysweep-fuzz-%d.h5", (int)getpid());
    const char *dir = getenv("FUZZ_SEED_DIR");
    if (!dir) return 0;
    Settings s[N];
    TrialRecord recs[N];
    char err[512], seed[4096];
    records(s, recs);
    snprintf(seed, sizeof seed, "%s/seed-results.h5", dir);
    if (results_write(seed, "fuzz", "[settings]\nT = 5, 6, 7\n", STORE, recs, N, err, sizeof err) != 0) abort();
    return 0;
}

static unsigned char *read_all(size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc(1 << 21);
    *n = fread(buf, 1, 1 << 21, f);
    fclose(f);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 20)) return 0;
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, size, f);
    fclose(f);
    char err[512], tmp[80];
    ResultsIndex ix;
    if (results_read_index(path, &ix, err, sizeof err) == 0) {
        if (ix.n > 1) {
            snprintf(tmp, sizeof tmp, "%s.tmp", path);
            ResultsEdit *e = results_edit_begin(path, tmp);
            results_edit_status(e, 1, ix.key[1], STATUS_RUNNING, 1);
            if (results_edit_end(e, ix.journal_seq + 1, path, err, sizeof err) != 0) {
                size_t n = 0;
                unsigned char *now = read_all(&n);
                if (!now || n != size || memcmp(now, data, size) != 0) abort(); /* must be left as it was */
                free(now);
            }
        }
        results_index_free(&ix);
    }
    remove(path);
    return 0;
}
