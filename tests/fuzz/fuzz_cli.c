/* libFuzzer target: the command line of train, data, bench and the sweep. The input is split at NUL bytes into
 * arguments; the first byte picks the command. Every argument list is parsed or refused with one
 * line naming an option; nothing crashes or reads out of bounds. */
#include <stdint.h> /* uint8_t */
#include <stdlib.h> /* malloc, free, abort */
#include <string.h> /* memcpy, strchr, strstr */

#include "cli.h" /* cli_* */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"train", "data", "bench", "sweep"};
    if (size < 1 || size > 4096) return 0;
    const Command *cmd = cli_command(names[data[0] % 4]);
    char *buf = malloc(size), *argv[512], err[512];
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    int argc = 0;
    for (char *p = buf; p < buf + size - 1 && argc < 512; p += strlen(p) + 1) argv[argc++] = p;
    Options o;
    int rc = cli_parse(cmd, "job.ini", argc, argv, &o, err, sizeof err);
    if (rc < 0 && (strchr(err, '\n') || !(strstr(err, "option") || strstr(err, "argument")))) abort();
    free(buf);
    return 0;
}
