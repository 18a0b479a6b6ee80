/* libFuzzer target: resuming a trial from a checkpoint file a user did not write. An input whose
 * first byte is odd is a checkpoint body, framed here with a valid magic, length and checksum so
 * that the fuzzer reaches the body's reader; otherwise the rest is the whole file. The trial either
 * resumes and finishes or fails with a message naming the checkpoint; nothing crashes, leaks or
 * reads out of bounds. With FUZZ_SEED_DIR set, a real checkpoint of the same settings is written
 * there first, as the seed of the corpus. */
#include <stdint.h> /* uint8_t */
#include <stdio.h>  /* FILE, snprintf, remove */
#include <stdlib.h> /* getenv, abort */
#include <string.h> /* strstr */
#include <unistd.h> /* getpid */

#include "settings_table.h" /* settings_default */
#include "model_kinds.h"     /* model_kinds, model_find */
#include "checkpoint.h" /* checkpoint_* */
#include "model.h"      /* model_free */
#include "train.h"      /* train_trial */

static char path[64];

static void tiny(Settings *s)
{
    settings_default(s);
    s->model = model_find("mlstm"), s->T = 3, s->hidden = 4, s->batch = 4, s->chunk = 2, s->epochs = 2;
    s->train_size = 8, s->val_size = 4, s->test_size = 4;
}

static int stop_third(void *arg)
{
    int *polls = arg;
    return ++*polls == 3;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(path, sizeof path, "/tmp/copysweep-fuzz-%d.ckpt", (int)getpid());
    const char *dir = getenv("FUZZ_SEED_DIR");
    if (!dir) return 0;
    /* a trial stopped after 3 updates leaves its checkpoint; its body, marked odd, is the seed */
    Settings s;
    tiny(&s);
    int polls = 0;
    TrainCtx ctx = {.threads = 1, .should_stop = stop_third, .stop_arg = &polls, .checkpoint = path};
    Model m;
    TrialResult r;
    remove(path);
    train_trial(&s, &ctx, &m, &r);
    trial_result_free(&r), model_free(&m);
    Pack body;
    char err[512], seed[4096];
    if (checkpoint_read(path, &body, err, sizeof err) != 0) abort();
    snprintf(seed, sizeof seed, "%s/seed-checkpoint", dir);
    FILE *f = fopen(seed, "wb");
    if (!f) abort();
    fputc(1, f);
    fwrite(body.buf, 1, body.len, f);
    fclose(f);
    pack_free(&body);
    remove(path);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1 << 20)) return 0;
    char err[512];
    if (data[0] & 1) {
        Pack body = {.buf = (unsigned char *)data + 1, .len = size - 1};
        if (checkpoint_write(path, &body, err, sizeof err) != 0) abort();
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(data + 1, 1, size - 1, f);
        fclose(f);
    }
    Settings s;
    tiny(&s);
    TrainCtx ctx = {.threads = 1, .checkpoint = path};
    Model m;
    TrialResult r;
    train_trial(&s, &ctx, &m, &r);
    if (r.status == STATUS_FAILED && !strstr(r.stop_reason, "checkpoint")) abort();
    trial_result_free(&r);
    model_free(&m);
    remove(path);
    return 0;
}
