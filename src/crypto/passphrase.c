/* Passphrases: from FWSEAL_PASSPHRASE, else the first line of a file, else the terminal. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "internal.h"

#define PASSPHRASE_ENV "FWSEAL_PASSPHRASE"

void fws_passphrase_wipe(fws_passphrase *p)
{
    if (p != NULL)
        fws_wipe(p, sizeof(*p));
}

/* Takes len bytes as the passphrase: no NUL inside, at most FWS_PASSPHRASE_MAX - 1 bytes. */
static fws_err take(const char *src, size_t len, const char *from, fws_passphrase *out,
                    fws_errbuf *eb)
{
    if (len >= FWS_PASSPHRASE_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "passphrase from %s: longer than %d bytes", from,
                        FWS_PASSPHRASE_MAX - 1);
    if (memchr(src, '\0', len) != NULL)
        return fws_errf(eb, FWS_ERR_PASSPHRASE, "passphrase from %s: contains a NUL byte", from);
    memcpy(out->text, src, len);
    out->text[len] = '\0';
    out->len = len;
    return FWS_OK;
}

static size_t strip_newline(const char *s, size_t len)
{
    if (len > 0 && s[len - 1] == '\n')
        len--;
    if (len > 0 && s[len - 1] == '\r')
        len--;
    return len;
}

/* Reads up to cap bytes, stopping after the first newline; returns the byte count. */
static ssize_t read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, 1);
        if (r < 0 && errno == EINTR)
            return -1; /* a signal: give up on this line */
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        n++;
        if (buf[n - 1] == '\n')
            break;
    }
    return (ssize_t)n;
}

static fws_err from_file(const char *path, fws_passphrase *out, fws_errbuf *eb)
{
    char buf[FWS_PASSPHRASE_MAX + 2];
    ssize_t n;
    fws_err err;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        int saved = errno;
        return fws_errf(eb, saved == ENOENT ? FWS_ERR_NOT_FOUND : FWS_ERR_IO,
                        "passphrase file %s: %s", path, strerror(saved));
    }
    n = read_line(fd, buf, sizeof(buf));
    close(fd);
    if (n < 0) {
        err = fws_errf(eb, FWS_ERR_IO, "passphrase file %s: read failed", path);
    } else {
        size_t len = strip_newline(buf, (size_t)n);
        if ((size_t)n == sizeof(buf) && buf[n - 1] != '\n')
            len = sizeof(buf); /* no newline within the cap: too long */
        err = take(buf, len, path, out, eb);
    }
    fws_wipe(buf, sizeof(buf));
    return err;
}

/* ---- the terminal ------------------------------------------------------------------------ */

/* Signals that would leave the terminal without echo are caught while the prompt is up, then
 * re-raised once the terminal is restored. */
static const int tty_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
#define N_TTY_SIGNALS (sizeof(tty_signals) / sizeof(tty_signals[0]))
static volatile sig_atomic_t tty_caught;

static void tty_on_signal(int sig)
{
    tty_caught = sig;
}

typedef struct tty_session {
    int fd;
    struct termios saved;
    struct sigaction old[N_TTY_SIGNALS];
} tty_session;

static fws_err tty_open(tty_session *t, fws_errbuf *eb)
{
    struct termios noecho;
    struct sigaction sa;

    t->fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (t->fd < 0 || tcgetattr(t->fd, &t->saved) != 0) {
        if (t->fd >= 0)
            close(t->fd);
        return fws_errf(eb, FWS_ERR_PASSPHRASE,
                        "no passphrase: set " PASSPHRASE_ENV
                        ", pass --passphrase-file, or run from a terminal");
    }
    tty_caught = 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = tty_on_signal; /* no SA_RESTART: a signal interrupts the read */
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_TTY_SIGNALS; i++)
        sigaction(tty_signals[i], &sa, &t->old[i]);
    noecho = t->saved;
    noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
    noecho.c_lflag |= ICANON;
    /* TCSAFLUSH drops anything typed before the prompt appeared. */
    (void)tcsetattr(t->fd, TCSAFLUSH, &noecho);
    return FWS_OK;
}

static void tty_close(tty_session *t)
{
    (void)tcsetattr(t->fd, TCSAFLUSH, &t->saved);
    for (size_t i = 0; i < N_TTY_SIGNALS; i++)
        sigaction(tty_signals[i], &t->old[i], NULL);
    close(t->fd);
    if (tty_caught != 0)
        raise(tty_caught);
}

static void tty_write(int fd, const char *s)
{
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR && tty_caught == 0)
            continue;
        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

static fws_err tty_ask(tty_session *t, const char *prompt, fws_passphrase *out, fws_errbuf *eb)
{
    char buf[FWS_PASSPHRASE_MAX + 2];
    ssize_t n;
    fws_err err;

    tty_write(t->fd, prompt);
    n = read_line(t->fd, buf, sizeof(buf));
    tty_write(t->fd, "\n");
    if (n < 0 || tty_caught != 0) {
        err = fws_errf(eb, FWS_ERR_PASSPHRASE, "passphrase entry interrupted");
    } else if (n == 0) {
        err = fws_errf(eb, FWS_ERR_PASSPHRASE, "no passphrase entered (end of input)");
    } else {
        size_t len = strip_newline(buf, (size_t)n);
        if ((size_t)n == sizeof(buf) && buf[n - 1] != '\n')
            len = sizeof(buf);
        err = take(buf, len, "the terminal", out, eb);
    }
    fws_wipe(buf, sizeof(buf));
    return err;
}

static fws_err from_tty(const char *prompt, int confirm, fws_passphrase *out, fws_errbuf *eb)
{
    fws_passphrase again;
    tty_session t;
    fws_err err;

    err = tty_open(&t, eb);
    if (err != FWS_OK)
        return err;
    err = tty_ask(&t, prompt != NULL ? prompt : "Passphrase: ", out, eb);
    if (err == FWS_OK && confirm && out->len > 0) {
        err = tty_ask(&t, "Repeat passphrase: ", &again, eb);
        if (err == FWS_OK && (again.len != out->len || !fws_ct_eq(again.text, out->text, out->len)))
            err = fws_errf(eb, FWS_ERR_PASSPHRASE, "the passphrases do not match");
        fws_passphrase_wipe(&again);
    }
    tty_close(&t);
    return err;
}

fws_err fws_passphrase_get(const char *file, int confirm, const char *prompt, fws_passphrase *out,
                           fws_errbuf *eb)
{
    fws_passphrase pp;
    const char *env = getenv(PASSPHRASE_ENV);
    const char *from;
    fws_err err;

    if (out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no passphrase buffer");
    memset(&pp, 0, sizeof(pp));
    if (env != NULL) {
        from = PASSPHRASE_ENV;
        err = take(env, strlen(env), from, &pp, eb);
    } else if (file != NULL) {
        from = file;
        err = from_file(file, &pp, eb);
    } else {
        from = "the terminal";
        err = from_tty(prompt, confirm, &pp, eb);
    }
    if (err == FWS_OK && pp.len == 0)
        err = fws_errf(eb, FWS_ERR_PASSPHRASE, "empty passphrase from %s: refused", from);
    if (err == FWS_OK)
        memcpy(out, &pp, sizeof(pp));
    fws_passphrase_wipe(&pp);
    return err;
}
