/* libFuzzer target: what an exec trial reads from a user: a line of its metrics file and the command
 * template of [exec]. The first byte picks which. A line is read as one record or refused with one
 * line saying why; a template is split into words and substituted, or refused; nothing crashes,
 * leaks or reads out of bounds. With FUZZ_SEED_DIR set, lines of the protocol are written there first,
 * as seeds. */
#include <stdint.h> /* uint8_t */
#include <stdio.h>  /* fopen, fputs */
#include <stdlib.h> /* malloc, free, abort, getenv */
#include <string.h> /* memcpy, strchr */

#include "exec.h" /* exec_* */

static const char *any_value(void *arg, const char *key)
{
    (void)arg;
    return key[0] == 'x' ? NULL : "v a l;$(u)";
}

static void seed(void)
{
    static const char *const lines[] = {"\x01{\"epoch\": 3, \"val_loss\": 0.41, \"x\": [1, {\"y\": null}]}",
                                        "\x01{\"val_loss\": NaN, \"test_acc\": 1e-3}",
                                        "\x02python3 train.py --lr {lr} \"a b\" {{x}} --seed={seed}"};
    const char *dir = getenv("FUZZ_SEED_DIR");
    for (int i = 0; dir && i < 3; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/seed-%d", dir, i);
        FILE *f = fopen(path, "wb");
        if (f) fputs(lines[i], f), fclose(f);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int seeded;
    if (!seeded) seeded = 1, seed();
    if (size < 1 || size > 65536) return 0;
    char *text = malloc(size), err[1024];
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] & 1) {
        static const char *const declared[] = {"val_loss", "test_acc"};
        ExecRecord r;
        if (exec_parse_record(text, size - 1, declared, 2, &r, err, sizeof err) != 0 && (strchr(err, '\n') || !err[0]))
            abort();
    } else {
        ExecCommand c;
        if (exec_command_parse(&c, text, err, sizeof err) == 0) {
            char **argv;
            if (exec_command_argv(&c, any_value, NULL, &argv, err, sizeof err) == 0) exec_argv_free(argv);
            char *names[16];
            const int n = exec_command_keys(&c, names, 16);
            for (int i = 0; i < n; i++) free(names[i]);
            exec_command_free(&c);
        }
    }
    free(text);
    return 0;
}
