/* Small readers of option text shared by the job file and the [halving] options: a trimmed word, a
 * comma-separated list, a number within bounds. */
#ifndef CS_TEXT_H
#define CS_TEXT_H

/* s without leading blanks and trailing blanks or line ends (cut in place). */
char *text_trim(char *s);
/* Split a comma-separated list in place into at most max trimmed items; -1 on an empty item or
 * more than max. */
int text_split_list(char *text, char **items, int max);
/* 0 and *v if text is one number in [lo, hi] (a whole one if integer), else -1. */
int text_number(const char *text, double lo, double hi, int integer, double *v);

#endif
