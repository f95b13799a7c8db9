/* fws_audit_fetch_snapshot and fws_audit_remote without a server: the options they refuse, and
 * that a failed fetch (nothing listening, a peer that does not speak TLS) leaves nothing in the
 * temporary directory. The whole path against `fwseal serve` is tests/cli/audit_server.sh. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "fwseal/audit.h"

static char tmp[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof(tmp), "/tmp/fwseal-test-remote.XXXXXX");
    return mkdtemp(tmp) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(tmp);
}

static int dir_empty(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", dir);
    return system(cmd) == 0;
}

/* A listening socket on 127.0.0.1; *port receives its port. */
static int listener(unsigned *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void refused_options(void **state)
{
    char path[128];
    fws_errbuf eb = {{0}};
    fws_audit_remote_opts ro = {.server = "http://127.0.0.1:1", .token = "fwst_x"};
    (void)state;
    snprintf(path, sizeof(path), "%s/snap.tar", tmp);
    assert_int_equal(fws_audit_fetch_snapshot(&ro, path, NULL, &eb), FWS_ERR_ARG);
    assert_non_null(strstr(eb.msg, "must be an https:// URL"));
    ro.server = "https://127.0.0.1:1";
    const char *bad_tokens[] = {"", "fwst_a b", "fwst_\x01", "fwst_\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad_tokens) / sizeof(bad_tokens[0]); i++) {
        fws_errbuf_clear(&eb);
        ro.token = bad_tokens[i];
        assert_int_equal(fws_audit_fetch_snapshot(&ro, path, NULL, &eb), FWS_ERR_ARG);
    }
    char *long_token = malloc(FWS_AUDIT_TOKEN_MAX + 2);
    assert_non_null(long_token);
    memset(long_token, 'a', FWS_AUDIT_TOKEN_MAX + 1);
    long_token[FWS_AUDIT_TOKEN_MAX + 1] = '\0';
    ro.token = long_token;
    assert_int_equal(fws_audit_fetch_snapshot(&ro, path, NULL, &eb), FWS_ERR_ARG);
    free(long_token);
    /* the download never overwrites a file */
    ro.token = "fwst_x";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_audit_fetch_snapshot(&ro, path, NULL, &eb), FWS_ERR_EXISTS);
    unlink(path);
    /* the deployment, store and ledger come from the server */
    fws_audit_opts o = {.deploy = tmp};
    fws_audit_report *r = NULL;
    ro.tmp_dir = tmp;
    assert_int_equal(fws_audit_remote(&ro, &o, &r, &eb), FWS_ERR_ARG);
    o.deploy = NULL;
    o.ledger_url = "https://127.0.0.1:1/log";
    assert_int_equal(fws_audit_remote(&ro, &o, &r, &eb), FWS_ERR_ARG);
    assert_null(r);
    assert_true(dir_empty(tmp));
}

static void nothing_listening(void **state)
{
    unsigned port = 0;
    char url[64];
    fws_errbuf eb = {{0}};
    fws_audit_opts o = {.now = 1800000000};
    fws_audit_report *r = NULL;
    (void)state;
    close(listener(&port)); /* a port nobody listens on any more */
    snprintf(url, sizeof(url), "https://127.0.0.1:%u", port);
    fws_audit_remote_opts ro = {.server = url, .token = "fwst_x", .tmp_dir = tmp};
    assert_int_equal(fws_audit_remote(&ro, &o, &r, &eb), FWS_ERR_IO);
    assert_null(r);
    assert_true(dir_empty(tmp));
}

static void *not_tls(void *arg)
{
    int lfd = *(int *)arg;
    int fd = accept(lfd, NULL, NULL);
    static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\n"
                                 "Content-Length: 5\r\n\r\nhello";
    if (fd >= 0) {
        char buf[512];
        (void)!read(fd, buf, sizeof(buf));
        (void)!write(fd, answer, sizeof(answer) - 1);
        close(fd);
    }
    return NULL;
}

static void peer_without_tls(void **state)
{
    unsigned port = 0;
    char url[64];
    pthread_t th;
    fws_errbuf eb = {{0}};
    fws_audit_opts o = {.now = 1800000000};
    fws_audit_report *r = NULL;
    (void)state;
    int lfd = listener(&port);
    assert_int_equal(pthread_create(&th, NULL, not_tls, &lfd), 0);
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/", port);
    fws_audit_remote_opts ro = {.server = url, .token = "fwst_x", .tmp_dir = tmp, .timeout_s = 20};
    assert_int_equal(fws_audit_remote(&ro, &o, &r, &eb), FWS_ERR_IO);
    assert_non_null(strstr(eb.msg, "/api/v1/audit/snapshot"));
    pthread_join(th, NULL);
    close(lfd);
    assert_null(r);
    assert_true(dir_empty(tmp));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refused_options),
        cmocka_unit_test(nothing_listening),
        cmocka_unit_test(peer_without_tls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
