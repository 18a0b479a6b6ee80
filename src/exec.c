/* A trial that runs a user's program: the command template and the run itself (fork and exec
 * without a shell, the metrics read as they are written (exec_record.c reads a line), the timeout,
 * the stop and its grace period, the outcome). */
#include "exec.h"

#include <errno.h>    /* errno, EINTR */
#include <fcntl.h>    /* open, O_* */
#include <signal.h>   /* kill, sigaction, sigprocmask, SIGKILL */
#include <linux/close_range.h> /* CLOSE_RANGE_CLOEXEC */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* free, getenv */
#include <string.h>   /* memchr, memcpy, memmove, strcmp, strlen, strsignal */
#include <sys/prctl.h> /* prctl, PR_SET_PDEATHSIG */
#include <sys/stat.h> /* fstat */
#include <sys/wait.h> /* waitid, waitpid, WIF* */
#include <time.h>     /* nanosleep */
#include <unistd.h>   /* fork, execve, pipe2, read, pread, lseek, close, close_range, dup2, chdir, setpgid, access */

#include "check.h" /* CS_ALLOC, CS_FAIL */
#include "clock.h" /* cs_now_s */

extern char **environ;

#define POLL_NS 20000000L /* 20 ms between looks at the program and its metrics file */

/* ---- the command template ------------------------------------------------------------------ */

int exec_command_parse(ExecCommand *c, const char *text, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        if (c->n == EXEC_MAX_WORDS) {
            snprintf(err, errlen, "more than %d words", EXEC_MAX_WORDS);
            exec_command_free(c);
            return -1;
        }
        char *word = CS_ALLOC(strlen(p) + 1);
        size_t len = 0;
        int quoted = 0;
        for (; *p && (quoted || (*p != ' ' && *p != '\t')); p++) {
            if (*p == '"') quoted = !quoted;
            else word[len++] = *p;
        }
        word[len] = '\0';
        c->words[c->n++] = word;
        if (quoted) {
            snprintf(err, errlen, "a quote '\"' is not closed");
            exec_command_free(c);
            return -1;
        }
        for (const char *b = word; (b = strchr(b, '{')) != NULL; b++) {
            if (b[1] == '{') { /* {{ is a literal brace */
                b++;
                continue;
            }
            const char *close = strchr(b, '}'), *inner = strchr(b + 1, '{');
            const char *bad = !close ? "not closed" : close == b + 1 ? "empty" : inner && inner < close ? "holds a '{'"
                              : close - b - 1 >= EXEC_MAX_NAME ? "longer than 63 bytes" : NULL;
            if (bad) {
                snprintf(err, errlen, "'%s': a placeholder is %s (expected {KEY})", word, bad);
                exec_command_free(c);
                return -1;
            }
            b = close;
        }
    }
    if (!c->n) {
        snprintf(err, errlen, "the command is empty (expected a program and its arguments)");
        return -1;
    }
    return 0;
}

void exec_command_free(ExecCommand *c)
{
    for (int i = 0; i < c->n; i++) free(c->words[i]);
    c->n = 0;
}

/* Calls f(arg, start, len) for each placeholder {KEY} of word (KEY = start[0..len)); a literal "{{"
 * or "}}" is skipped. */
static void each_key(const char *word, void (*f)(void *arg, const char *key, size_t len), void *arg)
{
    for (const char *b = word; (b = strchr(b, '{')) != NULL; b++) {
        if (b[1] == '{') {
            b++;
            continue;
        }
        const char *close = strchr(b, '}');
        if (!close) return;
        f(arg, b + 1, (size_t)(close - b - 1));
        b = close;
    }
}

typedef struct {
    char **names;
    int n, max;
} KeyList;

static void add_key(void *arg, const char *key, size_t len)
{
    KeyList *k = arg;
    for (int i = 0; i < k->n; i++)
        if (strlen(k->names[i]) == len && memcmp(k->names[i], key, len) == 0) return;
    if (k->n == k->max) return;
    char *name = CS_ALLOC(len + 1);
    memcpy(name, key, len);
    name[len] = '\0';
    k->names[k->n++] = name;
}

int exec_command_keys(const ExecCommand *c, char **names, int max)
{
    KeyList k = {.names = names, .max = max};
    for (int i = 0; i < c->n; i++) each_key(c->words[i], add_key, &k);
    return k.n;
}

/* word with its placeholders replaced (malloc'ed), or NULL with err. */
static char *substitute(const char *word, const char *(*value)(void *, const char *), void *arg, char *err,
                        size_t errlen)
{
    size_t cap = strlen(word) + 1, len = 0;
    char *out = CS_ALLOC(cap);
    for (const char *p = word; *p;) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) { /* a literal brace */
            out[len++] = *p;
            p += 2;
            continue;
        }
        if (*p != '{') {
            out[len++] = *p++;
            continue;
        }
        const char *close = strchr(p, '}');
        char key[EXEC_MAX_NAME];
        snprintf(key, sizeof key, "%.*s", (int)(close - p - 1), p + 1);
        const char *v = value(arg, key);
        if (!v) {
            snprintf(err, errlen, "placeholder {%s} names no setting of the trial", key);
            free(out);
            return NULL;
        }
        const size_t vl = strlen(v);
        if (len + vl + strlen(close) + 1 > cap) {
            cap = len + vl + strlen(close) + 1;
            char *grown = realloc(out, cap);
            if (!grown) CS_FAIL("out of memory");
            out = grown;
        }
        memcpy(out + len, v, vl);
        len += vl;
        p = close + 1;
    }
    out[len] = '\0';
    return out;
}

int exec_command_argv(const ExecCommand *c, const char *(*value)(void *arg, const char *key), void *arg,
                      char ***argv, char *err, size_t errlen)
{
    char **a = CS_CALLOC(((size_t)c->n + 1) * sizeof *a);
    for (int i = 0; i < c->n; i++)
        if (!(a[i] = substitute(c->words[i], value, arg, err, errlen))) {
            exec_argv_free(a);
            return -1;
        }
    *argv = a;
    return 0;
}

void exec_argv_free(char **argv)
{
    for (int i = 0; argv && argv[i]; i++) free(argv[i]);
    free(argv);
}

/* ---- one run of the program ---------------------------------------------------------------- */

/* The environment of the program: this process's, with env's entries added or replacing the same
 * names (malloc'ed array; the strings are borrowed). */
static char **program_environment(char *const *env)
{
    size_t n_old = 0, n_add = 0;
    while (environ[n_old]) n_old++;
    while (env && env[n_add]) n_add++;
    char **out = CS_ALLOC((n_old + n_add + 1) * sizeof *out);
    size_t n = 0;
    for (size_t i = 0; i < n_old; i++) {
        const size_t name = strcspn(environ[i], "=");
        int replaced = 0;
        for (size_t k = 0; k < n_add && !replaced; k++)
            replaced = strncmp(env[k], environ[i], name + 1) == 0;
        if (!replaced) out[n++] = environ[i];
    }
    for (size_t k = 0; k < n_add; k++) out[n++] = env[k];
    out[n] = NULL;
    return out;
}

int exec_find_program(const char *argv0, char *const *env, char *path, size_t n, char *err, size_t errlen)
{
    if (strchr(argv0, '/')) {
        snprintf(path, n, "%s", argv0);
        return 0;
    }
    const char *dirs = getenv("PATH");
    for (int i = 0; env && env[i]; i++)
        if (strncmp(env[i], "PATH=", 5) == 0) dirs = env[i] + 5;
    for (const char *d = dirs ? dirs : "/usr/local/bin:/usr/bin:/bin"; d && *d; d = strchr(d, ':') ? strchr(d, ':') + 1 : NULL) {
        const int len = (int)strcspn(d, ":");
        if (snprintf(path, n, "%.*s%s%s", len, d, len ? "/" : "", argv0) < (int)n && access(path, X_OK) == 0) return 0;
    }
    snprintf(err, errlen, "cannot run '%s': not found on the PATH", argv0);
    return -1;
}

/* In a child between fork and execve (only what is async-signal-safe: the parent may be threaded):
 * default dispositions, then no signal blocked; inherited descriptors closed at exec (MPI's and
 * libhdf5's stay with the parent); a process group of its own; killed if the parent dies. */
static void child_setup(pid_t parent)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL}; /* first: a signal that comes now is the program's */
    for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, NULL); /* SIGKILL, SIGSTOP: refused, harmless */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    setpgid(0, 0);
    /* a worker killed outright (its host lost, mpirun ending the job) takes its program along, so
     * that no program outlives its trial; a parent gone already ends it here */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
}

/* Start the program in a process group of its own, stdout and stderr appended to their files. The
 * child calls only what is async-signal-safe (it forks a threaded process): it resets the signal
 * mask and dispositions, marks every inherited descriptor close-on-exec, and reports a failed exec
 * through a pipe. The pid, or -1 with err. */
static pid_t start(const ExecRun *r, char *err, size_t errlen)
{
    char program[4096];
    if (exec_find_program(r->argv[0], r->env, program, sizeof program, err, errlen) != 0) return -1;
    char **envp = program_environment(r->env);
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) CS_FAIL("pipe2: %s", strerror(errno));
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) CS_FAIL("fork: %s", strerror(errno));
    if (pid == 0) {
        child_setup(parent);
        const int out = open(r->stdout_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        const int errfd = open(r->stderr_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int e = out < 0 || errfd < 0 ? errno : 0;
        if (!e && (dup2(out, 1) < 0 || dup2(errfd, 2) < 0)) e = errno;
        if (!e && r->dir && chdir(r->dir) != 0) e = errno;
        const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (!e && devnull >= 0) dup2(devnull, 0);
        if (!e) execve(program, r->argv, envp);
        e = e ? e : errno;
        (void)!write(report[1], &e, sizeof e);
        _exit(127);
    }
    setpgid(pid, pid); /* also here: the group exists before any signal is sent to it */
    close(report[1]);
    int e = 0;
    ssize_t got;
    while ((got = read(report[0], &e, sizeof e)) < 0 && errno == EINTR) {}
    close(report[0]);
    free(envp);
    if (got == (ssize_t)sizeof e) {
        waitpid(pid, NULL, 0);
        snprintf(err, errlen, "cannot run '%s': %s", program, strerror(e));
        return -1;
    }
    return pid;
}

/* What a run knows of its program while it runs. */
typedef struct {
    const ExecRun *r;
    ExecOutcome *o;
    int fd;           /* the metrics file, once it exists; -1 before */
    char *buf;        /* (EXEC_MAX_LINE + 1) the unfinished line */
    size_t len;
    long line;        /* lines read */
    int ending;       /* EXEC_* the run ends with, once decided (-1: not yet) */
    int prune;        /* on_epoch asked to stop the program: decided after the lines read with it */
    double stop_at;   /* when the stop signal went to the program; 0: not sent */
} Watch;

/* The run ends with status and reason (the first decision stands); the program is asked to stop. */
static void end_with(Watch *w, pid_t pid, int status, const char *reason)
{
    if (w->ending >= 0) return;
    w->ending = status;
    if (reason) snprintf(w->o->reason, sizeof w->o->reason, "%s", reason);
    kill(-pid, w->r->stop_signal);
    w->stop_at = cs_now_s();
}

/* One complete line of the metrics file. */
static void take_line(Watch *w, pid_t pid, const char *line, size_t len)
{
    w->line++;
    if (w->ending >= 0 && w->ending != EXEC_PRUNED && w->ending != EXEC_STOPPED) return;
    ExecRecord rec;
    char why[512], reason[1024];
    if (exec_parse_record(line, len, w->r->declared, w->r->n_declared, &rec, why, sizeof why) != 0) {
        snprintf(reason, sizeof reason, "%s:%ld: %s", w->r->metrics_path, w->line, why);
        w->ending = -1; /* a bad line outranks a stop */
        end_with(w, pid, EXEC_FAILED, reason);
        return;
    }
    if (rec.epoch < 0) {
        w->o->final = rec;
        return;
    }
    w->o->epochs++;
    if (w->r->on_epoch && !w->r->on_epoch(w->r->epoch_arg, &rec)) w->prune = 1;
}

/* The lines written since the last look (at the end, also a last line without its newline). */
static void read_metrics(Watch *w, pid_t pid, int at_end)
{
    if (w->fd < 0 && (w->fd = open(w->r->metrics_path, O_RDONLY | O_CLOEXEC)) >= 0 && w->r->metrics_from > 0)
        lseek(w->fd, w->r->metrics_from, SEEK_SET);
    if (w->fd < 0) return;
    for (;;) {
        const ssize_t got = read(w->fd, w->buf + w->len, EXEC_MAX_LINE + 1 - w->len);
        if (got <= 0) break;
        w->len += (size_t)got;
        char *start = w->buf, *nl;
        while ((nl = memchr(start, '\n', w->len - (size_t)(start - w->buf))) != NULL) {
            take_line(w, pid, start, (size_t)(nl - start));
            start = nl + 1;
        }
        w->len -= (size_t)(start - w->buf);
        memmove(w->buf, start, w->len);
        if (w->len > EXEC_MAX_LINE) {
            char reason[1024];
            snprintf(reason, sizeof reason, "%s:%ld: a line of more than %d bytes (expected one JSON object per "
                     "line)", w->r->metrics_path, w->line + 1, EXEC_MAX_LINE);
            w->ending = -1;
            end_with(w, pid, EXEC_FAILED, reason);
            w->len = 0;
            lseek(w->fd, 0, SEEK_END);
        }
    }
    if (at_end && w->len && w->ending < 0) /* a line cut short by a stop is not the program's last word */
        take_line(w, pid, w->buf, w->len);
    if (at_end) w->len = 0;
    /* a program that has ended, or has written its final record, is not pruned: it finished */
    if (w->prune && !at_end && w->o->final.epoch != -1 && w->ending < 0)
        end_with(w, pid, EXEC_PRUNED, "pruned at a rung of successive halving");
    w->prune = 0;
}

/* The last lines of the program's stderr, at most sizeof tail - 1 bytes from a line's start. */
static void stderr_tail(const char *path, char *tail, size_t n)
{
    tail[0] = '\0';
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    const off_t from = fstat(fd, &st) == 0 && st.st_size > (off_t)n - 1 ? st.st_size - (off_t)n + 1 : 0;
    const ssize_t got = pread(fd, tail, n - 1, from);
    close(fd);
    if (got <= 0) return;
    tail[got] = '\0';
    char *start = tail;
    if (from > 0 && (start = strchr(tail, '\n')) != NULL) start++; /* from a line's start */
    else if (from > 0) start = tail;
    memmove(tail, start, strlen(start) + 1);
}

/* Why the program ended as it did, for a run that ends FAILED (or DONE). */
static void classify(Watch *w, int wstatus)
{
    ExecOutcome *o = w->o;
    o->exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    o->signal = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
    const int finished = !o->signal && o->exit_code == 0 && o->final.epoch == -1;
    if (w->ending >= 0 && !(finished && (w->ending == EXEC_STOPPED || w->ending == EXEC_PRUNED))) {
        o->status = w->ending; /* a program that finished while asked to stop is done */
        return;
    }
    if (o->signal) {
        o->status = EXEC_FAILED;
        snprintf(o->reason, sizeof o->reason, "killed by signal %d (%s)", o->signal, strsignal(o->signal));
    } else if (o->exit_code != 0) {
        o->status = EXEC_FAILED;
        snprintf(o->reason, sizeof o->reason, "exited with status %d", o->exit_code);
    } else if (o->final.epoch != -1) {
        o->status = EXEC_FAILED;
        snprintf(o->reason, sizeof o->reason, "exited with status 0 without a final record (a line without "
                 "\"epoch\" in %s)", w->r->metrics_path);
    } else {
        o->status = EXEC_DONE;
    }
}

int exec_run(const ExecRun *r, ExecOutcome *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->final.epoch = -2; /* none yet */
    const double t0 = cs_now_s();
    const pid_t pid = start(r, err, errlen);
    if (pid < 0) {
        o->status = EXEC_FAILED, o->exit_code = 127, o->final.epoch = -1;
        snprintf(o->reason, sizeof o->reason, "%s", err);
        o->wall_s = cs_now_s() - t0;
        return -1;
    }
    Watch w = {.r = r, .o = o, .fd = -1, .buf = CS_ALLOC(EXEC_MAX_LINE + 1), .ending = -1};
    for (;;) {
        /* WNOWAIT: an ended program stays a zombie, so that its group id cannot be taken by another
         * process before the group's last members are killed below */
        siginfo_t info = {0};
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 && errno != EINTR)
            CS_FAIL("waitid: %s", strerror(errno));
        const int ended = info.si_pid == pid;
        read_metrics(&w, pid, ended);
        if (ended) break;
        const double now = cs_now_s();
        if (w.ending < 0 && r->should_stop && r->should_stop(r->stop_arg))
            end_with(&w, pid, EXEC_STOPPED, "stopped: the sweep was asked to stop; its checkpoint folder is kept");
        if (w.ending < 0 && r->timeout_s > 0 && now - t0 > r->timeout_s) {
            char reason[256];
            snprintf(reason, sizeof reason, "exceeded its timeout of %.4g minutes", r->timeout_s / 60);
            o->timed_out = 1;
            end_with(&w, pid, EXEC_FAILED, reason);
        }
        if (w.stop_at > 0 && now - w.stop_at > r->grace_s) kill(-pid, SIGKILL);
        nanosleep(&(struct timespec){0, POLL_NS}, NULL);
    }
    kill(-pid, SIGKILL); /* what the program left behind in its group */
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {}
    if (w.fd >= 0) close(w.fd);
    free(w.buf);
    classify(&w, wstatus);
    if (o->final.epoch == -2) o->final.epoch = -1, o->final.n = 0;
    if (o->status == EXEC_FAILED) stderr_tail(r->stderr_path, o->stderr_tail, sizeof o->stderr_tail);
    o->wall_s = cs_now_s() - t0;
    return 0;
}

int exec_capture(char *const *argv, const char *dir, char *out, size_t n, double timeout_s, char *err, size_t errlen)
{
    char program[4096];
    int fds[2];
    if (exec_find_program(argv[0], NULL, program, sizeof program, err, errlen) != 0) return -1;
    if (pipe2(fds, O_CLOEXEC) != 0) CS_FAIL("pipe2: %s", strerror(errno));
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) CS_FAIL("fork: %s", strerror(errno));
    if (pid == 0) {
        child_setup(parent);
        const int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (dup2(fds[1], 1) < 0 || devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 2) < 0 || (dir && chdir(dir) != 0))
            _exit(127);
        execve(program, argv, environ);
        _exit(127);
    }
    setpgid(pid, pid);
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    size_t len = 0;
    const double end = cs_now_s() + timeout_s;
    int late = 0;
    for (;;) {
        char buf[4096];
        const ssize_t got = read(fds[0], buf, sizeof buf);
        if (got > 0) {
            const size_t room = len + 1 < n ? n - 1 - len : 0, take = (size_t)got < room ? (size_t)got : room;
            memcpy(out + len, buf, take);
            len += take;
            continue;
        }
        if (got == 0 || (errno != EAGAIN && errno != EINTR)) break;
        if ((late = cs_now_s() > end)) break;
        nanosleep(&(struct timespec){0, POLL_NS}, NULL);
    }
    close(fds[0]);
    out[len] = '\0';
    out[strcspn(out, "\n")] = '\0'; /* its first line */
    kill(-pid, SIGKILL); /* it has ended, or ran past its time: what is left of its group goes */
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (late || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "'%s' %s", argv[0], late ? "did not end in time" : WIFEXITED(status) ?
                 "ended with a non-zero status" : "was killed by a signal");
        return -1;
    }
    return 0;
}
