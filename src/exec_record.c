/* The metrics line protocol of a user's program (exec_record.h): a small JSON reader for one flat
 * object per line. */
#include "exec_record.h"

#include <math.h>   /* floor, INFINITY, NAN */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* strtod */
#include <string.h> /* memchr, memcpy, strcmp, strlen */

/* ---- the metrics protocol: one flat JSON object per line ------------------------------------ */

typedef struct {
    const char *p, *end;
    const char *problem;
} Json;

static void ws(Json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n')) j->p++;
}

static int fail_json(Json *j, const char *problem)
{
    if (!j->problem) j->problem = problem;
    return -1;
}

/* A JSON string into buf (escapes decoded; a character beyond ASCII kept as its UTF-8 bytes, \u
 * escapes beyond ASCII as '?'). */
static int json_string(Json *j, char *buf, size_t n)
{
    size_t len = 0;
    if (j->p >= j->end || *j->p != '"') return fail_json(j, "a string is expected");
    for (j->p++; j->p < j->end && *j->p != '"'; j->p++) {
        char ch = *j->p;
        if ((unsigned char)ch < 0x20) return fail_json(j, "a control character in a string");
        if (ch == '\\') {
            if (++j->p >= j->end) break;
            static const char escapes[] = "\"\\/bfnrtu", decoded[] = "\"\\/\b\f\n\r\t";
            const char *esc = *j->p ? strchr(escapes, *j->p) : NULL;
            if (!esc) return fail_json(j, "a bad escape in a string");
            if (*j->p == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (j->p + k >= j->end || !strchr("0123456789abcdefABCDEF", j->p[k]) || !j->p[k])
                        return fail_json(j, "a bad \\u escape in a string");
                const long code = strtol((char[]){j->p[1], j->p[2], j->p[3], j->p[4], 0}, NULL, 16);
                ch = code < 0x80 ? (char)code : '?';
                j->p += 4;
            } else {
                ch = decoded[esc - escapes];
            }
        }
        if (len + 1 < n) buf[len++] = (unsigned char)ch < 0x20 ? '?' : ch; /* messages stay one line */
    }
    if (j->p >= j->end) return fail_json(j, "a string is not closed");
    j->p++;
    buf[len] = '\0';
    return 0;
}

/* A JSON number (or Python's NaN, Infinity, -Infinity) into *v. */
static int json_number(Json *j, double *v)
{
    static const struct { const char *word; double v; } words[] = {{"NaN", NAN}, {"Infinity", INFINITY},
                                                                  {"-Infinity", -INFINITY}};
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        const size_t len = strlen(words[w].word);
        if ((size_t)(j->end - j->p) >= len && memcmp(j->p, words[w].word, len) == 0) {
            j->p += len, *v = words[w].v;
            return 0;
        }
    }
    const char *s = j->p;
    if (s < j->end && *s == '-') s++;
    if (s >= j->end || *s < '0' || *s > '9') return fail_json(j, "a value is not JSON");
    if (*s == '0') s++;
    else while (s < j->end && *s >= '0' && *s <= '9') s++;
    if (s < j->end && *s == '.') {
        if (++s >= j->end || *s < '0' || *s > '9') return fail_json(j, "a number is malformed");
        while (s < j->end && *s >= '0' && *s <= '9') s++;
    }
    if (s < j->end && (*s == 'e' || *s == 'E')) {
        if (++s < j->end && (*s == '+' || *s == '-')) s++;
        if (s >= j->end || *s < '0' || *s > '9') return fail_json(j, "a number is malformed");
        while (s < j->end && *s >= '0' && *s <= '9') s++;
    }
    char text[64];
    if ((size_t)(s - j->p) >= sizeof text) return fail_json(j, "a number is too long");
    memcpy(text, j->p, (size_t)(s - j->p));
    text[s - j->p] = '\0';
    *v = strtod(text, NULL);
    j->p = s;
    return 0;
}

enum { J_NUMBER, J_STRING, J_OTHER };

/* Any JSON value; *kind says which; a number's value into *v. Nested values are read and dropped. */
static int json_value(Json *j, int depth, int *kind, double *v)
{
    ws(j);
    if (j->p >= j->end) return fail_json(j, "a value is missing");
    if (depth > 32) return fail_json(j, "values nested too deep");
    char scratch[EXEC_MAX_NAME];
    const char c = *j->p;
    *kind = J_OTHER;
    if (c == '"') {
        *kind = J_STRING;
        return json_string(j, scratch, sizeof scratch);
    }
    if (c == '{' || c == '[') {
        const char close = c == '{' ? '}' : ']';
        j->p++;
        ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return 0;
        }
        for (;;) {
            int k;
            double x;
            if (c == '{') {
                ws(j);
                if (json_string(j, scratch, sizeof scratch) != 0) return -1;
                ws(j);
                if (j->p >= j->end || *j->p != ':') return fail_json(j, "':' is expected after a key");
                j->p++;
            }
            if (json_value(j, depth + 1, &k, &x) != 0) return -1;
            ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == close) {
                j->p++;
                return 0;
            }
            return fail_json(j, "',' or a closing bracket is expected");
        }
    }
    static const char *const words[] = {"true", "false", "null"};
    for (int w = 0; w < 3; w++) {
        const size_t len = strlen(words[w]);
        if ((size_t)(j->end - j->p) >= len && memcmp(j->p, words[w], len) == 0) {
            j->p += len;
            return 0;
        }
    }
    *kind = J_NUMBER;
    return json_number(j, v);
}

static const char *kind_name(int kind) { return kind == J_STRING ? "a string" : "not a number"; }

/* Field name with value v (of kind) into r: "epoch" an integer ≥ 0, a declared metric a number,
 * other numbers kept, other values dropped. */
static int add_field(ExecRecord *r, const char *name, int kind, double v, const char *const *declared,
                     int n_declared, char *err, size_t errlen)
{
    if (strcmp(name, "epoch") == 0) {
        if (kind != J_NUMBER || !(v >= 0 && v < 1e9 && v == floor(v))) {
            snprintf(err, errlen, "\"epoch\" is %s (expected an integer ≥ 0)", kind == J_NUMBER ? "not a whole number ≥ 0"
                     : kind_name(kind));
            return -1;
        }
        r->epoch = (int)v;
        return 0;
    }
    int is_declared = 0;
    for (int i = 0; i < n_declared; i++) is_declared |= strcmp(declared[i], name) == 0;
    if (kind != J_NUMBER) {
        if (!is_declared) return 0;
        snprintf(err, errlen, "\"%s\" is %s (expected a number)", name, kind_name(kind));
        return -1;
    }
    if (exec_record_value(r, name)) {
        snprintf(err, errlen, "\"%s\" is given twice", name);
        return -1;
    }
    /* a number the job did not declare is kept if it fits (a name of 1 to 63 bytes, 64 numbers) */
    const int room = EXEC_MAX_FIELDS - r->n - (is_declared ? 0 : n_declared - r->n_declared);
    const int fits = *name && strlen(name) < EXEC_MAX_NAME && room > 0;
    if (!fits && !is_declared) return 0;
    if (!fits) {
        snprintf(err, errlen, "more than %d numbers before the declared metric \"%s\"", EXEC_MAX_FIELDS, name);
        return -1;
    }
    r->n_declared += is_declared;
    memcpy(r->names[r->n], name, strlen(name) + 1); /* shorter than EXEC_MAX_NAME, checked above */
    r->values[r->n++] = v;
    return 0;
}

int exec_parse_record(const char *line, size_t len, const char *const *declared, int n_declared, ExecRecord *r,
                      char *err, size_t errlen)
{
    Json j = {.p = line, .end = line + len};
    r->epoch = -1, r->n = r->n_declared = 0;
    ws(&j);
    if (j.p >= j.end || *j.p != '{') {
        snprintf(err, errlen, "not a JSON object (expected one {...} per line)");
        return -1;
    }
    j.p++;
    ws(&j);
    int first = 1;
    while (j.p < j.end && *j.p != '}') {
        char name[256];
        int kind;
        double v = 0;
        if (!first) {
            if (*j.p != ',') break;
            j.p++;
            ws(&j);
        }
        first = 0;
        if (json_string(&j, name, sizeof name) != 0) break;
        ws(&j);
        if (j.p >= j.end || *j.p != ':') {
            fail_json(&j, "':' is expected after a key");
            break;
        }
        j.p++;
        if (json_value(&j, 1, &kind, &v) != 0) break;
        if (add_field(r, name, kind, v, declared, n_declared, err, errlen) != 0) return -1;
        ws(&j);
    }
    if (!j.problem && (j.p >= j.end || *j.p != '}')) j.problem = "',' or '}' is expected";
    if (!j.problem) {
        j.p++;
        ws(&j);
        if (j.p != j.end) j.problem = "text after the object";
    }
    if (j.problem) {
        snprintf(err, errlen, "not JSON: %s at byte %ld (expected one {...} per line)", j.problem, (long)(j.p - line) + 1);
        return -1;
    }
    for (int i = 0; r->epoch < 0 && i < n_declared; i++)
        if (!exec_record_value(r, declared[i])) {
            snprintf(err, errlen, "the final record (a line without \"epoch\") lacks the declared metric \"%s\"",
                     declared[i]);
            return -1;
        }
    return 0;
}

const double *exec_record_value(const ExecRecord *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0) return &r->values[i];
    return NULL;
}

