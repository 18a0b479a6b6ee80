/* libFuzzer target: a journal a user hands in (FILE.ckpt/journal, damaged or cut short). The input
 * is the journal: it is scanned as a reader scans it, and if that succeeds it is opened for
 * appending as a resuming sweep opens it (a torn last record cut off), a record is appended, and
 * the scan must then find exactly one record more. Nothing crashes, leaks or reads out of bounds.
 * With FUZZ_SEED_DIR set, a real journal of a few records is written there first, as the seed. */
#include <inttypes.h> /* SCNx64 */
#include <stdint.h>   /* uint8_t */
#include <stdio.h>    /* FILE, snprintf, remove */
#include <stdlib.h>   /* getenv, abort */
#include <string.h>   /* memcpy */
#include <unistd.h>   /* getpid */

#include "journal.h" /* journal_* */

static char path[64];

static int count(void *arg, uint64_t seq, int type, const unsigned char *payload, size_t n)
{
    (void)seq, (void)type;
    JournalTrial t;
    if (n >= sizeof t) memcpy(&t, payload, sizeof t); /* what readers do with a trial's record */
    ++*(long *)arg;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(path, sizeof path, "/tmp/copysweep-fuzz-journal-%d", (int)getpid());
    const char *dir = getenv("FUZZ_SEED_DIR");
    if (!dir) return 0;
    char seed[4096], err[512];
    snprintf(seed, sizeof seed, "%s/seed-journal", dir);
    remove(seed);
    Journal j;
    if (journal_create(&j, seed, 0x5eed, 0, "epoch:i4:0 val_acc:f8:8 size:16", err, sizeof err) != 0) abort();
    JournalTrial t = {.trial = 1, .key = 42, .status = 1, .rank = 1};
    const unsigned char image[40] = "an HDF5 image would be here";
    for (int k = 0; k < 3; k++)
        if (journal_append(&j, k == 1 ? JREC_FINAL : JREC_STATUS, &t, sizeof t, image, k == 1 ? sizeof image : 0, 0) != 0)
            abort();
    journal_close(&j);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, size, f);
    fclose(f);
    /* the store id the header names, so that the records are reached */
    char head[64] = {0};
    memcpy(head, data, size < sizeof head - 1 ? size : sizeof head - 1);
    uint64_t id = 0;
    const char *at = strstr(head, "\nstore ");
    if (at) sscanf(at + 7, "%16" SCNx64, &id);
    char err[512];
    long before = 0, after = 0;
    if (journal_scan(path, id, 0, -1, count, &before, NULL, err, sizeof err) == 0) {
        Journal j;
        if (journal_open(&j, path, id, 0, err, sizeof err) == 0) {
            JournalTrial t = {.trial = 0, .key = 1, .status = 2, .rank = 0};
            if (journal_append(&j, JREC_STATUS, &t, sizeof t, NULL, 0, 0) != 0) abort();
            journal_close(&j);
            if (journal_scan(path, id, 0, -1, count, &after, NULL, err, sizeof err) != 0 || after != before + 1)
                abort(); /* the appended record follows every whole one */
        }
    }
    remove(path);
    return 0;
}
