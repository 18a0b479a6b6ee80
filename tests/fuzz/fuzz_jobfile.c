/* libFuzzer target: the job-file reader. Any text either parses into a grid whose every trial has
 * valid settings that format and parse back, or is refused with "PATH:LINE: ..."; nothing crashes,
 * leaks or reads out of bounds. */
#include <stdint.h> /* uint8_t */
#include <stdlib.h> /* malloc, free, abort */
#include <string.h> /* memcpy, strncmp */

#include "jobfile.h" /* Job, job_* */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    char *text = malloc(size + 1), err[512];
    memcpy(text, data, size);
    text[size] = '\0';
    Job job;
    if (job_parse(&job, "fuzz.ini", text, err, sizeof err) == 0) {
        for (long k = 0; k < job.n_trials && k < 256; k++) {
            Settings s, back;
            char why[256], value[SETTINGS_TEXT_MAX];
            job_trial(&job, k, &s);
            if (settings_validate(&s, why, sizeof why)) abort(); /* job_parse validated every trial */
            settings_default(&back);
            for (const SettingInfo *info = settings_table; info->key; info++) {
                settings_format(&s, info, value, sizeof value);
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
