/* Time as the program measures it: seconds of the monotonic clock, for durations only. */
#ifndef CS_CLOCK_H
#define CS_CLOCK_H

/* Seconds since an arbitrary fixed moment; never goes back. */
double cs_now_s(void);

#endif
