/* Small readers of option text: trimming, comma lists, bounded numbers. */
#include "text.h"

#include <errno.h>  /* errno */
#include <math.h>   /* floor */
#include <stdlib.h> /* strtod */
#include <string.h> /* strchr, strlen */

char *text_trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) *--e = '\0';
    return s;
}

int text_split_list(char *text, char **items, int max)
{
    int n = 0;
    for (char *tok = text, *comma;; tok = comma + 1) {
        comma = strchr(tok, ',');
        if (comma) *comma = '\0';
        char *v = text_trim(tok);
        if (!*v || n == max) return -1;
        items[n++] = v;
        if (!comma) return n;
    }
}

int text_number(const char *text, double lo, double hi, int integer, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(text, &end);
    return end == text || *end || errno || !(*v >= lo && *v <= hi) || (integer && *v != floor(*v)) ? -1 : 0;
}
