/* The C tests' check: EXPECT(cond, "what was seen", ...) prints a FAIL line with the place and counts
 * it; a test's main returns failures ? 1 : 0. */
#ifndef CS_TESTS_EXPECT_H
#define CS_TESTS_EXPECT_H

#include <stdio.h> /* printf */

static int failures;
#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("  FAIL %s:%d: ", __FILE__, __LINE__);                                          \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#endif
