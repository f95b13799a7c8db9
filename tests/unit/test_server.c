/* The server's pure parts: the HTTP/1.1 head parser, request targets, routing, responses and
 * their error mapping, the rate limiter, metrics. */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "server/internal.h"

static int parse(const char *text, http_head *h, http_error *e, char **buf)
{
    *buf = strdup(text);
    return http_parse_head(*buf, strlen(text), h, e);
}

static void test_head_ok(void **state)
{
    (void)state;
    http_head h;
    http_error e;
    char *b;
    assert_int_equal(parse("GET /repo/metadata/timestamp.json?x=1 HTTP/1.1\r\nHost: a\r\n"
                           "X-Thing:  spaced value \t\r\nConnection: keep-alive\r\n\r\n",
                           &h, &e, &b),
                     0);
    assert_string_equal(h.method, "GET");
    assert_string_equal(h.target, "/repo/metadata/timestamp.json?x=1");
    assert_int_equal(h.minor, 1);
    assert_int_equal(h.n_fields, 3);
    assert_string_equal(http_field_get(&h, "x-thing"), "spaced value");
    assert_true(h.keep_alive);
    assert_false(h.has_length);
    free(b);
    /* HTTP/1.0 closes unless asked; bare LF line ends; Content-Length; Expect. */
    assert_int_equal(
        parse("POST /log/add HTTP/1.0\nContent-Length: 12\nExpect: 100-continue\n\n", &h, &e, &b),
        0);
    assert_false(h.keep_alive);
    assert_true(h.has_length);
    assert_int_equal(h.content_length, 12);
    assert_true(h.expect_continue);
    free(b);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &h, &e, &b),
                     0);
    assert_false(h.keep_alive);
    free(b);
}

static void expect_refused(const char *text, int status, const char *msg)
{
    http_head h;
    http_error e;
    char *b;
    assert_int_equal(parse(text, &h, &e, &b), -1);
    assert_int_equal(e.status, status);
    assert_non_null(strstr(e.message, msg));
    free(b);
}

static void test_head_refused(void **state)
{
    (void)state;
    expect_refused("\r\n\r\n", 400, "empty request");
    expect_refused("GET\r\n\r\n", 400, "malformed request line");
    expect_refused("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "HTTP/1.x");
    expect_refused("GET / HTTX/1.1\r\n\r\n", 400, "HTTP version");
    expect_refused("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "method");
    expect_refused("GET / HTTP/1.1\r\n\r\n", 400, "without Host");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400, "folding");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, "malformed header");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", 400, "header name");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", 400, "header value");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400,
                   "bad Content-Length");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                   400, "bad Content-Length");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                   400, "conflicting");
    expect_refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 501,
                   "Content-Length");
    expect_refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                   "Content-Length: 3\r\n\r\n",
                   400, "both");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n", 400, "Expect");
    /* Too many fields. */
    char text[4096] = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < 70; i++)
        strcat(text, "X: y\r\n");
    strcat(text, "\r\n");
    expect_refused(text, 431, "64 header fields");
    /* A NUL inside the head. */
    http_head h;
    http_error e;
    char nul[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
    assert_int_equal(http_parse_head(nul, sizeof(nul) - 1, &h, &e), -1);
    assert_int_equal(e.status, 400);
}

static void test_target(void **state)
{
    (void)state;
    char path[64];
    const char *q = NULL;
    http_error e;
    assert_int_equal(
        http_target_split("/repo/targets/hub/1.0/a%2Bb.bin?x=1&y", path, sizeof(path), &q, &e), 0);
    assert_string_equal(path, "/repo/targets/hub/1.0/a+b.bin");
    assert_string_equal(q, "x=1&y");
    assert_int_equal(http_target_split("/", path, sizeof(path), &q, &e), 0);
    assert_string_equal(q, "");
    assert_int_equal(http_target_split("/web/", path, sizeof(path), &q, &e), 0);
    const char *bad[] = {"repo",   "http://x/", "/a/../b", "/a/./b", "/a//b", "/%2e%2e/x",
                         "/a%00b", "/a%zz",     "/a%2",    "/a\\b",  "/.."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(http_target_split(bad[i], path, sizeof(path), &q, &e), -1);
        assert_int_equal(e.status, 400);
    }
    char longp[200];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    assert_int_equal(http_target_split(longp, path, sizeof(path), &q, &e), -1);
    assert_int_equal(e.status, 414);
    char out[8];
    assert_int_equal(http_pct_decode("a+b%20", 6, 1, out, sizeof(out)), 4);
    assert_string_equal(out, "a b ");
    assert_int_equal(http_pct_decode("abcdefgh", 8, 0, out, sizeof(out)), -2);
    assert_int_equal(http_pct_decode("%4", 2, 0, out, sizeof(out)), -1);
}

static fws_err dummy(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    (void)req;
    (void)resp;
    (void)ctx;
    (void)eb;
    return FWS_OK;
}

static void test_routes(void **state)
{
    (void)state;
    fws_server *srv = calloc(1, sizeof(*srv));
    assert_non_null(srv);
    const fws_route routes[] = {
        {.method = "GET", .path = "/", .match = FWS_MATCH_PREFIX, .on_loop = 1, .fn = dummy},
        {.method = "GET", .path = "/api/v1/things/", .match = FWS_MATCH_PREFIX, .fn = dummy},
        {.method = "DELETE", .path = "/api/v1/things/", .match = FWS_MATCH_PREFIX, .fn = dummy},
        {.method = "GET", .path = "/api/v1/things/special", .fn = dummy},
        {.method = "POST",
         .path = "/log/add",
         .auth = FWS_AUTH_TOKEN,
         .roles = FWS_ROLES_ADMIN,
         .fn = dummy},
    };
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_server_add_routes(srv, routes, 5, &eb), FWS_OK);
    assert_int_equal(fws_server_add_routes(srv, routes + 4, 1, &eb), FWS_ERR_EXISTS);
    fws_route bad = {.method = "GET", .path = "/x", .auth = FWS_AUTH_TOKEN, .fn = dummy};
    assert_int_equal(fws_server_add_routes(srv, &bad, 1, NULL), FWS_ERR_ARG); /* no roles */
    bad.roles = FWS_ROLES_ANY;
    bad.on_loop = 1;
    assert_int_equal(fws_server_add_routes(srv, &bad, 1, NULL), FWS_ERR_ARG); /* on the loop */
    bad.on_loop = 0;
    bad.body_max = FWS_SERVER_BODY_LIMIT + 1;
    assert_int_equal(fws_server_add_routes(srv, &bad, 1, NULL), FWS_ERR_ARG);

    const char *rest = NULL;
    int status = 0;
    char allow[64];
    const fws_route *r = srv_route_find(&srv->router, "GET", "/api/v1/things/42", &rest, &status,
                                        allow, sizeof(allow));
    assert_ptr_equal(r, &srv->router.routes[1]);
    assert_string_equal(rest, "42");
    r = srv_route_find(&srv->router, "GET", "/api/v1/things/special", &rest, &status, allow,
                       sizeof(allow));
    assert_ptr_equal(r, &srv->router.routes[3]); /* exact beats prefix */
    r = srv_route_find(&srv->router, "GET", "/index.html", &rest, &status, allow, sizeof(allow));
    assert_ptr_equal(r, &srv->router.routes[0]);
    assert_string_equal(rest, "index.html");
    /* The longest matching prefix decides, and its methods make the 405. */
    r = srv_route_find(&srv->router, "PUT", "/api/v1/things/7", &rest, &status, allow,
                       sizeof(allow));
    assert_null(r);
    assert_int_equal(status, 405);
    assert_string_equal(allow, "GET, HEAD, DELETE");
    r = srv_route_find(&srv->router, "GET", "/log/add", &rest, &status, allow, sizeof(allow));
    assert_null(r);
    assert_int_equal(status, 405);
    assert_string_equal(allow, "POST");
    free(srv);
}

static void test_resp(void **state)
{
    (void)state;
    fws_resp r;
    srv_resp_init(&r);
    assert_int_equal(fws_resp_header(&r, "X-A", "1"), FWS_OK);
    assert_int_equal(fws_resp_header(&r, "Content-Length", "1"), FWS_ERR_ARG);
    assert_int_equal(fws_resp_header(&r, "connection", "close"), FWS_ERR_ARG);
    assert_int_equal(fws_resp_header(&r, "X-B", "a\r\nInjected: 1"), FWS_ERR_ARG);
    assert_int_equal(fws_resp_header(&r, "X:B", "a"), FWS_ERR_ARG);
    char big[3000];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(fws_resp_header(&r, "X-Big", big), FWS_OK);
    assert_int_equal(fws_resp_header(&r, "X-Big2", big), FWS_ERR_TOO_BIG);
    assert_int_equal(fws_resp_error(&r, 404, "not_found", "no %s", "thing"), FWS_OK);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.content_type, "application/json");
    assert_memory_equal(
        r.body, "{\"error\":{\"code\":\"not_found\",\"message\":\"no thing\",\"status\":404}}\n",
        r.body_len);
    assert_int_equal(fws_resp_json(&r, 200, NULL), FWS_ERR_NOMEM);
    assert_int_equal(fws_resp_json(&r, 201, json_pack("{s:i}", "b", 2)), FWS_OK);
    assert_int_equal(r.status, 201);
    assert_memory_equal(r.body, "{\"b\":2}\n", r.body_len);
    struct evbuffer *out = evbuffer_new();
    assert_int_equal(srv_resp_head(&r, out, "Date: x\r\n", 0, 0), 0);
    size_t n = evbuffer_get_length(out);
    char *head = calloc(1, n + 1);
    evbuffer_remove(out, head, n);
    assert_non_null(strstr(head, "HTTP/1.1 201 Created\r\n"));
    assert_non_null(strstr(head, "Content-Length: 8\r\n"));
    assert_non_null(strstr(head, "X-A: 1\r\n"));
    assert_non_null(strstr(head, "Connection: close\r\n"));
    assert_string_equal(head + n - 4, "\r\n\r\n");
    free(head);
    evbuffer_free(out);
    srv_resp_reset(&r);

    assert_int_equal(fws_server_status_for(FWS_ERR_NOT_FOUND), 404);
    assert_int_equal(fws_server_status_for(FWS_ERR_SCHEMA), 400);
    assert_int_equal(fws_server_status_for(FWS_ERR_EXISTS), 409);
    assert_int_equal(fws_server_status_for(FWS_ERR_TOO_BIG), 413);
    assert_int_equal(fws_server_status_for(FWS_ERR_SIGNATURE), 422);
    assert_int_equal(fws_server_status_for(FWS_ERR_IO), 500);
    assert_string_equal(fws_server_code_for(FWS_ERR_SCHEMA), "schema");
    assert_string_equal(http_reason(431), "Request Header Fields Too Large");
}

static void test_ratelimit(void **state)
{
    (void)state;
    fws_ratelimit *rl = NULL;
    assert_int_equal(fws_ratelimit_new(0, 1, 10, &rl), FWS_ERR_ARG);
    assert_int_equal(fws_ratelimit_new(2.0, 3, 64, &rl), FWS_OK);
    uint64_t t = 1000, wait = 0;
    for (int i = 0; i < 3; i++)
        assert_true(fws_ratelimit_take(rl, "dev-a", t, &wait));
    assert_false(fws_ratelimit_take(rl, "dev-a", t, &wait));
    assert_true(wait > 0 && wait <= 501);
    assert_true(fws_ratelimit_take(rl, "dev-b", t, NULL)); /* separate buckets */
    assert_false(fws_ratelimit_take(rl, "dev-a", t + 400, NULL));
    assert_true(fws_ratelimit_take(rl, "dev-a", t + 501, NULL)); /* 2 per second */
    assert_false(fws_ratelimit_take(rl, "dev-a", t + 502, NULL));
    /* Refill stops at the burst. */
    for (int i = 0; i < 3; i++)
        assert_true(fws_ratelimit_take(rl, "dev-a", t + 100000, NULL));
    assert_false(fws_ratelimit_take(rl, "dev-a", t + 100000, NULL));
    /* Many keys: old buckets are forgotten (full again), the table never grows past its cap. */
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_true(fws_ratelimit_take(rl, key, t + 200000 + (uint64_t)i, NULL));
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        fws_ratelimit_take(rl, key, t + 300000, NULL);
    }
    fws_ratelimit_free(rl);
}

static void test_metrics(void **state)
{
    (void)state;
    fws_server *srv = calloc(1, sizeof(*srv));
    assert_non_null(srv);
    fws_metric *a = NULL, *b = NULL, *c = NULL;
    fws_errbuf eb = {{0}};
    assert_int_equal(
        fws_server_counter(srv, "fwseal_reports_total{kind=\"install\"}", "Reports.", &a, &eb),
        FWS_OK);
    assert_int_equal(fws_server_gauge(srv, "fwseal_queue", "Queue.", &c, &eb), FWS_OK);
    assert_int_equal(
        fws_server_counter(srv, "fwseal_reports_total{kind=\"rollback\"}", "Reports.", &b, &eb),
        FWS_OK);
    assert_int_equal(fws_server_counter(srv, "fwseal_queue", "x", &c, NULL), FWS_ERR_EXISTS);
    assert_int_equal(fws_server_counter(srv, "9bad", "x", &c, NULL), FWS_ERR_ARG);
    assert_int_equal(fws_server_counter(srv, "bad{x", "x", &c, NULL), FWS_ERR_ARG);
    fws_metric_add(a, 3);
    fws_metric_add(b, 1);
    fws_metric_set(c, 7);
    srv->started_ms = srv_now_ms();
    pthread_mutex_init(&srv->ledger.mu, NULL);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(srv_metrics_render(srv, &text, &len), 0);
    /* One family's series stay together under one HELP/TYPE. */
    const char *fam = strstr(text, "# TYPE fwseal_reports_total counter\n"
                                   "fwseal_reports_total{kind=\"install\"} 3\n"
                                   "fwseal_reports_total{kind=\"rollback\"} 1\n");
    assert_non_null(fam);
    assert_non_null(strstr(text, "# TYPE fwseal_queue gauge\nfwseal_queue 7\n"));
    assert_non_null(strstr(text, "fwseal_http_requests_total{code=\"2xx\"} 0\n"));
    free(text);
    pthread_mutex_destroy(&srv->ledger.mu);
    free(srv);
}

int main(void)
{
    /* A child or peer that hangs up early is the code's to handle, not a fatal signal. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_ok), cmocka_unit_test(test_head_refused),
        cmocka_unit_test(test_target),  cmocka_unit_test(test_routes),
        cmocka_unit_test(test_resp),    cmocka_unit_test(test_ratelimit),
        cmocka_unit_test(test_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
