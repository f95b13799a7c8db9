/* Downloads against a misbehaving loopback server (tests/unit/test_agent_httpd.mjs): resumes
 * after drops at many offsets, servers that ignore Range, stalls, endless data, definitive 4xx,
 * retries with backoff, and installs through the download layer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include "test_agent_util.h"

extern char **environ;

typedef struct fixture {
    device d;
    pid_t node;
    char base[64];
} fixture;

static int start_server(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    device_make(&f->d);
    char script[PATH_MAX], portfile[700];
    const char *src = getenv("FWS_SOURCE_DIR");
    if (src != NULL)
        snprintf(script, sizeof(script), "%s/tests/unit/test_agent_httpd.mjs", src);
    else
        snprintf(script, sizeof(script), "%s", __FILE__);
    if (src == NULL)
        strcpy(strrchr(script, '/') + 1, "test_agent_httpd.mjs");
    snprintf(portfile, sizeof(portfile), "%s/port", f->d.root);
    char *argv[] = {"node", script, f->d.v2_path, portfile, NULL};
    if (posix_spawnp(&f->node, "node", NULL, NULL, argv, environ) != 0)
        return -1;
    for (int i = 0; i < 200; i++) {
        uint8_t *data = NULL;
        size_t len = 0;
        if (fws_file_read(portfile, 16, &data, &len, NULL) == FWS_OK) {
            snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%s", (char *)data);
            free(data);
            *state = f;
            return 0;
        }
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static int stop_server(void **state)
{
    fixture *f = *state;
    kill(f->node, SIGTERM);
    waitpid(f->node, NULL, 0);
    device_free(&f->d);
    free(f);
    return 0;
}

typedef struct hashing {
    fws_sha256_ctx h;
    uint64_t n;
} hashing;

static fws_err hash_sink(void *ctx, const uint8_t *data, size_t len)
{
    hashing *s = ctx;
    fws_sha256_update(&s->h, data, len);
    s->n += len;
    return FWS_OK;
}

static fws_err fetch(fixture *f, const char *path, const fws_agent_http_opts *o, uint64_t max,
                     uint8_t digest[32], fws_agent_http_stats *stats, fws_errbuf *eb)
{
    fws_agent_http *h = NULL;
    char url[128];
    snprintf(url, sizeof(url), "%s%s", f->base, path);
    assert_int_equal(fws_agent_http_new(o, &h, NULL), FWS_OK);
    hashing s;
    fws_sha256_init(&s.h);
    s.n = 0;
    uint64_t total = 0;
    fws_err err = fws_agent_http_download(h, url, 0, max, hash_sink, &s, &total, eb);
    fws_sha256_final(&s.h, digest);
    assert_int_equal(total, s.n);
    fws_agent_http_get_stats(h, stats);
    fws_agent_http_free(h);
    return err;
}

static const fws_agent_http_opts quick = {NULL, NULL, NULL, NULL, NULL, 40, 5, 50, 0, 0, 0};

static void plain_download(void **state)
{
    fixture *f = *state;
    uint8_t d[32];
    fws_agent_http_stats st;
    assert_int_equal(fetch(f, "/img", &quick, V2_LEN, d, &st, NULL), FWS_OK);
    assert_memory_equal(d, f->d.v2_sha, 32);
    assert_int_equal(st.attempts, 1);
    assert_int_equal(st.resumes, 0);
}

static void drops_resume(void **state)
{
    fixture *f = *state;
    uint8_t d[32];
    fws_agent_http_stats st;
    /* 300 kB in pieces of 20 to 60 kB, each ending in a dropped connection. */
    assert_int_equal(fetch(f, "/drop/img", &quick, V2_LEN, d, &st, NULL), FWS_OK);
    assert_memory_equal(d, f->d.v2_sha, 32);
    assert_true(st.resumes >= 4);
    assert_int_equal(st.attempts, st.resumes + 1);
    printf("drops: %u requests, %u resumed with a Range\n", st.attempts, st.resumes);
    /* A server that ignores Range: the repeated bytes are skipped, not written twice. */
    assert_int_equal(fetch(f, "/norange/img", &quick, V2_LEN, d, &st, NULL), FWS_OK);
    assert_memory_equal(d, f->d.v2_sha, 32);
    assert_int_equal(st.attempts, 3);
}

static void stall_and_endless(void **state)
{
    fixture *f = *state;
    uint8_t d[32];
    fws_agent_http_stats st;
    fws_errbuf eb = {{0}};
    fws_agent_http_opts o = quick;
    o.attempts = 2;
    o.min_rate = 4096;
    o.stall_s = 1;
    assert_int_equal(fetch(f, "/stall/img", &o, V2_LEN, d, &st, &eb), FWS_ERR_IO);
    assert_non_null(strstr(eb.msg, "stalled"));
    assert_int_equal(st.stalls, 2);
    fws_errbuf_clear(&eb);
    assert_int_equal(fetch(f, "/endless", &quick, V2_LEN, d, &st, &eb), FWS_ERR_LENGTH);
    assert_non_null(strstr(eb.msg, "endless"));
    assert_int_equal(st.attempts, 1);
}

static void definitive_and_transient(void **state)
{
    fixture *f = *state;
    uint8_t d[32];
    fws_agent_http_stats st;
    fws_errbuf eb = {{0}};
    assert_int_equal(fetch(f, "/gone", &quick, V2_LEN, d, &st, &eb), FWS_ERR_NOT_FOUND);
    assert_non_null(strstr(eb.msg, "HTTP 404"));
    assert_int_equal(st.attempts, 1); /* no retry */
    assert_int_equal(fetch(f, "/forbidden", &quick, V2_LEN, d, &st, NULL), FWS_ERR_STATE);
    assert_int_equal(st.attempts, 1);
    assert_int_equal(fetch(f, "/flaky/img", &quick, V2_LEN, d, &st, NULL), FWS_OK);
    assert_int_equal(st.attempts, 3);
    assert_memory_equal(d, f->d.v2_sha, 32);
    /* Nobody listening: every try fails, then the last reason is given. */
    fixture closed = *f;
    snprintf(closed.base, sizeof(closed.base), "http://127.0.0.1:1");
    fws_agent_http_opts o = quick;
    o.attempts = 3;
    fws_errbuf_clear(&eb);
    assert_int_equal(fetch(&closed, "/img", &o, V2_LEN, d, &st, &eb), FWS_ERR_IO);
    assert_int_equal(st.attempts, 3);
    assert_non_null(strstr(eb.msg, "127.0.0.1:1"));
}

/* The whole install path: bytes from a dropping server stream through the verifier into the
 * slot; a stalled server is refused and reported, and the active slot is untouched. */
static void install_over_http(void **state)
{
    fixture *f = *state;
    device *d = &f->d;
    fws_slot_backend *b = NULL;
    fws_agent *a = NULL;
    assert_int_equal(device_open(d, NULL, NULL, &b, &a, NULL), FWS_OK);
    fws_agent_http *h = NULL;
    fws_agent_http_opts o = quick;
    o.min_rate = 4096;
    o.stall_s = 1;
    o.attempts = 2;
    assert_int_equal(fws_agent_http_new(&o, &h, NULL), FWS_OK);
    fws_agent_source src;
    fws_agent_http_source(h, &src);
    fws_agent_target t;
    device_target(d, &t);
    snprintf(t.url, sizeof(t.url), "%s/stall/img", f->base);
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_agent_install(a, &t, &src, &eb), FWS_ERR_IO);
    fws_agent_status st;
    fws_agent_get_status(a, &st);
    assert_int_equal(st.state, FWS_AGENT_IDLE);
    assert_non_null(strstr(st.reason, "stalled"));
    assert_int_equal(count_reports(d, "verification-failure"), 1);

    snprintf(t.url, sizeof(t.url), "%s/endless", f->base);
    assert_int_equal(fws_agent_install(a, &t, &src, NULL), FWS_ERR_LENGTH);
    assert_int_equal(count_reports(d, "verification-failure"), 2);

    o.attempts = 40;
    fws_agent_http_free(h);
    assert_int_equal(fws_agent_http_new(&o, &h, NULL), FWS_OK);
    fws_agent_http_source(h, &src);
    snprintf(t.url, sizeof(t.url), "%s/drop/img", f->base);
    assert_int_equal(fws_agent_install(a, &t, &src, NULL), FWS_OK);
    fws_agent_get_status(a, &st);
    assert_int_equal(st.state, FWS_AGENT_INSTALLED_PENDING);
    char img[700];
    snprintf(img, sizeof(img), "%s/slot-B.img", d->slots);
    assert_true(file_equals(img, d->v2, V2_LEN));
    snprintf(img, sizeof(img), "%s/slot-A.img", d->slots);
    assert_true(file_equals(img, d->v1, V1_LEN));
    fws_agent_http_free(h);
    fws_agent_close(a);
    fws_slot_close(b);
}

int main(void)
{
    /* A child or peer that hangs up early is the code's to handle, not a fatal signal. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_download),    cmocka_unit_test(drops_resume),
        cmocka_unit_test(stall_and_endless), cmocka_unit_test(definitive_and_transient),
        cmocka_unit_test(install_over_http),
    };
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
