/* Passphrases: the environment, a file's first line, a real pseudo-terminal with echo off, and
 * the clear refusal when none is available. */
/* posix_openpt, grantpt, unlockpt, ptsname: the X/Open pseudo-terminal calls. */
#define _XOPEN_SOURCE 700
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fwseal/crypto.h"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/fws-test-pp-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int each(void **state)
{
    (void)state;
    unsetenv("FWSEAL_PASSPHRASE");
    return 0;
}

static const char *file_with(const char *name, const void *data, size_t len)
{
    static char path[256];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void test_env(void **state)
{
    fws_passphrase pp;
    fws_errbuf eb = {{0}};
    const char *file = file_with("ignored.txt", "from-file\n", 10);
    (void)state;

    setenv("FWSEAL_PASSPHRASE", "from env", 1);
    /* The environment comes first, even when a file is named. */
    assert_int_equal(fws_passphrase_get(file, 1, NULL, &pp, &eb), FWS_OK);
    assert_string_equal(pp.text, "from env");
    assert_int_equal(pp.len, 8);
    fws_passphrase_wipe(&pp);
    assert_int_equal(pp.len, 0);
    assert_int_equal(pp.text[0], 0);

    setenv("FWSEAL_PASSPHRASE", "", 1);
    assert_int_equal(fws_passphrase_get(NULL, 0, NULL, &pp, &eb), FWS_ERR_PASSPHRASE);
    assert_non_null(strstr(eb.msg, "empty"));
}

static void test_env_too_long(void **state)
{
    char big[FWS_PASSPHRASE_MAX + 1];
    fws_passphrase pp;
    fws_errbuf eb = {{0}};
    (void)state;

    memset(big, 'p', sizeof(big) - 1);
    big[FWS_PASSPHRASE_MAX] = '\0'; /* 1024 bytes: one too many */
    setenv("FWSEAL_PASSPHRASE", big, 1);
    assert_int_equal(fws_passphrase_get(NULL, 0, NULL, &pp, &eb), FWS_ERR_TOO_BIG);
    big[FWS_PASSPHRASE_MAX - 1] = '\0'; /* 1023 bytes: the most there is room for */
    setenv("FWSEAL_PASSPHRASE", big, 1);
    assert_int_equal(fws_passphrase_get(NULL, 0, NULL, &pp, &eb), FWS_OK);
    assert_int_equal(pp.len, FWS_PASSPHRASE_MAX - 1);
    fws_passphrase_wipe(&pp);
}

static void test_file(void **state)
{
    fws_passphrase pp;
    fws_errbuf eb = {{0}};
    (void)state;

    assert_int_equal(
        fws_passphrase_get(file_with("a.txt", "first line\nsecond\n", 18), 1, NULL, &pp, &eb),
        FWS_OK);
    assert_string_equal(pp.text, "first line");
    assert_int_equal(fws_passphrase_get(file_with("b.txt", "crlf line\r\n", 11), 0, NULL, &pp, &eb),
                     FWS_OK);
    assert_string_equal(pp.text, "crlf line");
    assert_int_equal(fws_passphrase_get(file_with("c.txt", "no newline", 10), 0, NULL, &pp, &eb),
                     FWS_OK);
    assert_string_equal(pp.text, "no newline");
    assert_int_equal(
        fws_passphrase_get(file_with("d.txt", " spaces kept \n", 14), 0, NULL, &pp, &eb), FWS_OK);
    assert_string_equal(pp.text, " spaces kept ");
    fws_passphrase_wipe(&pp);

    assert_int_equal(fws_passphrase_get(file_with("e.txt", "\nsecond\n", 8), 0, NULL, &pp, &eb),
                     FWS_ERR_PASSPHRASE);
    assert_non_null(strstr(eb.msg, "empty"));
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_passphrase_get(file_with("f.txt", "", 0), 0, NULL, &pp, &eb),
                     FWS_ERR_PASSPHRASE);
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_passphrase_get("/nonexistent/pp.txt", 0, NULL, &pp, &eb),
                     FWS_ERR_NOT_FOUND);
    assert_non_null(strstr(eb.msg, "/nonexistent/pp.txt"));
}

static void test_file_caps(void **state)
{
    char line[FWS_PASSPHRASE_MAX + 8];
    fws_passphrase pp;
    fws_errbuf eb = {{0}};
    (void)state;

    memset(line, 'q', sizeof(line));
    line[FWS_PASSPHRASE_MAX - 1] = '\n'; /* 1023 bytes and a newline: fits */
    assert_int_equal(
        fws_passphrase_get(file_with("g.txt", line, FWS_PASSPHRASE_MAX), 0, NULL, &pp, &eb),
        FWS_OK);
    assert_int_equal(pp.len, FWS_PASSPHRASE_MAX - 1);
    memset(line, 'q', sizeof(line));
    line[FWS_PASSPHRASE_MAX] = '\n'; /* 1024 bytes: too long */
    assert_int_equal(
        fws_passphrase_get(file_with("h.txt", line, FWS_PASSPHRASE_MAX + 1), 0, NULL, &pp, &eb),
        FWS_ERR_TOO_BIG);
    memset(line, 'q', sizeof(line)); /* no newline at all within the cap */
    assert_int_equal(fws_passphrase_get(file_with("i.txt", line, sizeof(line)), 0, NULL, &pp, &eb),
                     FWS_ERR_TOO_BIG);
    fws_passphrase_wipe(&pp);
}

/* In a new session there is no controlling terminal: the error must say what to do. */
static void test_no_terminal(void **state)
{
    int fds[2];
    pid_t pid;
    char msg[FWS_ERRBUF_SIZE + 16] = {0};
    ssize_t n;
    int status = 0;
    (void)state;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fws_passphrase pp;
        fws_errbuf eb = {{0}};
        fws_err err;
        close(fds[0]);
        setsid();
        err = fws_passphrase_get(NULL, 0, NULL, &pp, &eb);
        dprintf(fds[1], "%d %s", (int)err, eb.msg);
        _exit(0);
    }
    close(fds[1]);
    n = read(fds[0], msg, sizeof(msg) - 1);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(n > 0);
    assert_true(strncmp(msg, "12 ", 3) == 0); /* FWS_ERR_PASSPHRASE */
    assert_non_null(strstr(msg, "FWSEAL_PASSPHRASE"));
    assert_non_null(strstr(msg, "--passphrase-file"));
}

/* Reads the terminal's output into out until it contains want (5 s at most). */
static int read_until(int master, char *out, size_t cap, size_t *used, const char *want)
{
    while (strstr(out, want) == NULL) {
        struct pollfd p = {.fd = master, .events = POLLIN};
        ssize_t n;
        if (poll(&p, 1, 5000) <= 0 || *used + 1 >= cap)
            return -1;
        n = read(master, out + *used, cap - 1 - *used);
        if (n <= 0)
            return -1;
        *used += (size_t)n;
        out[*used] = '\0';
    }
    return 0;
}

/* A child whose controlling terminal is a pseudo-terminal we drive: the prompts appear, the
 * typed text is not echoed, and with confirm set both entries must match. */
static void run_tty(const char *first, const char *second, char *result, size_t cap, char *screen,
                    size_t screen_cap)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    int fds[2];
    size_t used = 0;
    pid_t pid;
    int status = 0;
    ssize_t n;

    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fws_passphrase pp;
        fws_errbuf eb = {{0}};
        fws_err err;
        const char *name = ptsname(master);
        close(fds[0]);
        setsid();
        if (name == NULL || open(name, O_RDWR) < 0) /* becomes the controlling terminal */
            _exit(3);
        close(master);
        alarm(10);
        err = fws_passphrase_get(NULL, 1, "Key passphrase: ", &pp, &eb);
        dprintf(fds[1], "%d:%s", (int)err, err == FWS_OK ? pp.text : eb.msg);
        fws_passphrase_wipe(&pp);
        _exit(0);
    }
    close(fds[1]);
    screen[0] = '\0';
    assert_int_equal(read_until(master, screen, screen_cap, &used, "Key passphrase: "), 0);
    assert_int_equal(write(master, first, strlen(first)), (ssize_t)strlen(first));
    assert_int_equal(read_until(master, screen, screen_cap, &used, "Repeat passphrase: "), 0);
    assert_int_equal(write(master, second, strlen(second)), (ssize_t)strlen(second));
    n = read(fds[0], result, cap - 1);
    assert_true(n > 0);
    result[n] = '\0';
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(master);
}

static void test_terminal(void **state)
{
    char result[FWS_PASSPHRASE_MAX + 64], screen[4096];
    (void)state;

    run_tty("tty secret 1\n", "tty secret 1\n", result, sizeof(result), screen, sizeof(screen));
    assert_string_equal(result, "0:tty secret 1");
    assert_null(strstr(screen, "secret")); /* echo was off */

    run_tty("tty secret 1\n", "tty secret 2\n", result, sizeof(result), screen, sizeof(screen));
    assert_true(strncmp(result, "12:", 3) == 0);
    assert_non_null(strstr(result, "do not match"));
    assert_null(strstr(screen, "secret"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_env, each),
        cmocka_unit_test_setup(test_env_too_long, each),
        cmocka_unit_test_setup(test_file, each),
        cmocka_unit_test_setup(test_file_caps, each),
        cmocka_unit_test_setup(test_no_terminal, each),
        cmocka_unit_test_setup(test_terminal, each),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
