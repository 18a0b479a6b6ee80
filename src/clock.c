/* Time as the program measures it (clock.h). */
#include "clock.h"

#include <time.h> /* clock_gettime, CLOCK_MONOTONIC */

double cs_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
