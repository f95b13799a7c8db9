/* The HTTP client end to end against in-test servers on 127.0.0.1 (a thread each): framing,
 * keep-alive reuse, caps, redirects, timeouts and stalls, statuses, POST bodies; and over TLS
 * with certificates made here with the OpenSSL API: CA verification, name and IP checks, pins,
 * pin-only mode and client certificates. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "fwseal/http.h"

/* ---- the server --------------------------------------------------------------------------- */

typedef struct server {
    int fd, port;
    SSL_CTX *ctx; /* NULL: plain HTTP */
    pthread_t thread;
    int stop;
    int accepted;
    int other_port; /* where /to-other points */
    char last_head[8192];
    uint8_t last_body[300000];
    size_t last_body_len;
} server;

typedef struct sconn {
    int fd;
    SSL *ssl;
} sconn;

static int s_write(sconn *c, const void *p, size_t n)
{
    const char *b = p;
    while (n > 0) {
        ssize_t w = c->ssl ? SSL_write(c->ssl, b, (int)n) : send(c->fd, b, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int s_printf(sconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_printf(sconn *c, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(buf));
    return s_write(c, buf, (size_t)n);
}

static ssize_t s_read(sconn *c, void *p, size_t n)
{
    return c->ssl ? SSL_read(c->ssl, p, (int)n) : recv(c->fd, p, n, 0);
}

/* Waits until the client hangs up (at most 10 s). */
static void wait_close(sconn *c)
{
    char b[256];
    while (s_read(c, b, sizeof(b)) > 0) {
    }
}

static char *find_crlf2(char *buf, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i++) {
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
            return buf + i;
    }
    return NULL;
}

/* Reads one request: its head into s->last_head and its body into s->last_body. 0 at EOF. */
static int read_request(server *s, sconn *c, char *method, char *path)
{
    static char buf[sizeof(((server *)0)->last_head) + sizeof(((server *)0)->last_body)];
    size_t len = 0;
    char *end = NULL;
    while ((end = find_crlf2(buf, len)) == NULL) {
        ssize_t r =
            len < sizeof(s->last_head) ? s_read(c, buf + len, sizeof(s->last_head) - len) : -1;
        if (r <= 0)
            return 0;
        len += (size_t)r;
    }
    size_t head_len = (size_t)(end - buf) + 4, clen = 0;
    memcpy(s->last_head, buf, head_len);
    s->last_head[head_len] = '\0';
    if (sscanf(s->last_head, "%15s %255s", method, path) != 2)
        return 0;
    for (char *h = strstr(s->last_head, "\r\n"); h != NULL; h = strstr(h + 2, "\r\n")) {
        if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
            clen = strtoul(h + 17, NULL, 10);
    }
    assert_true(clen <= sizeof(s->last_body));
    size_t have = len - head_len;
    memcpy(s->last_body, buf + head_len, have);
    while (have < clen) {
        ssize_t r = s_read(c, s->last_body + have, clen - have);
        if (r <= 0)
            return 0;
        have += (size_t)r;
    }
    s->last_body_len = clen;
    return 1;
}

static void send_len(sconn *c, int status, const char *body)
{
    s_printf(c, "HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n", status,
             strlen(body));
    s_write(c, body, strlen(body));
}

/* One request: the answer depends on the path. 0 when the connection must close. */
static int answer(server *s, sconn *c, const char *method, const char *path)
{
    int n = 0;
    if (strcmp(path, "/len") == 0) {
        send_len(c, 200, "hello world");
    } else if (strcmp(path, "/chunked") == 0) {
        s_printf(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "6;ext=1\r\nhello \r\n7\r\nchunked\r\n0\r\nX-Trailer: t\r\n\r\n");
    } else if (strcmp(path, "/close") == 0) {
        s_printf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
        return 0;
    } else if (strcmp(path, "/conn-close") == 0) {
        s_printf(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
        return 0;
    } else if (strcmp(path, "/quiet-close") == 0) {
        send_len(c, 200, "bye"); /* keep-alive by the headers, closed all the same */
        return 0;
    } else if (strcmp(path, "/big-declared") == 0) {
        static char body[100000];
        memset(body, 'x', sizeof(body) - 1);
        send_len(c, 200, body);
    } else if (strcmp(path, "/big-stream") == 0) {
        static char chunk[4096];
        memset(chunk, 'y', sizeof(chunk));
        s_printf(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int i = 0; i < 25 && s_printf(c, "1000\r\n") == 0; i++) {
            if (s_write(c, chunk, sizeof(chunk)) != 0 || s_printf(c, "\r\n") != 0)
                break;
        }
        s_printf(c, "0\r\n\r\n");
    } else if (sscanf(path, "/redirect/%d", &n) == 1) {
        if (n == 0)
            send_len(c, 200, "landed");
        else
            s_printf(c, "HTTP/1.1 302 Found\r\nLocation: %d\r\nContent-Length: 5\r\n\r\nmoved",
                     n - 1);
    } else if (strcmp(path, "/see-other") == 0) {
        s_printf(c, "HTTP/1.1 303 See Other\r\nLocation: /echo\r\nContent-Length: 0\r\n\r\n");
    } else if (strcmp(path, "/to-other") == 0) {
        s_printf(c,
                 "HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:%d/len\r\n"
                 "Content-Length: 0\r\n\r\n",
                 s->other_port);
    } else if (strcmp(path, "/to-ftp") == 0) {
        s_printf(c, "HTTP/1.1 302 Found\r\nLocation: ftp://x/y\r\nContent-Length: 0\r\n\r\n");
    } else if (strcmp(path, "/stall") == 0) {
        s_printf(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
        wait_close(c);
        return 0;
    } else if (strcmp(path, "/hang") == 0) {
        wait_close(c);
        return 0;
    } else if (strcmp(path, "/404") == 0) {
        send_len(c, 404, "not here");
    } else if (strcmp(path, "/500") == 0) {
        s_printf(c, "HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\nbroken");
        return 0;
    } else if (strcmp(path, "/bad-chunk") == 0) {
        s_printf(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
        return 0;
    } else if (strcmp(path, "/echo") == 0) {
        s_printf(c,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/x-%s\r\nContent-Length: %zu\r\n\r\n",
                 method, s->last_body_len);
        s_write(c, s->last_body, s->last_body_len);
    } else {
        send_len(c, 404, "no route");
    }
    return 1;
}

static void serve_conn(server *s, int fd)
{
    sconn c = {fd, NULL};
    char method[16], path[256];
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (s->ctx != NULL) {
        c.ssl = SSL_new(s->ctx);
        SSL_set_fd(c.ssl, fd);
        if (SSL_accept(c.ssl) != 1)
            goto out;
    }
    while (read_request(s, &c, method, path) && answer(s, &c, method, path)) {
    }
out:
    if (c.ssl != NULL) {
        SSL_shutdown(c.ssl);
        SSL_free(c.ssl);
    }
    ERR_clear_error();
    close(fd);
}

static void *serve(void *arg)
{
    server *s = arg;
    while (!__atomic_load_n(&s->stop, __ATOMIC_SEQ_CST)) {
        struct pollfd p = {s->fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0)
            continue;
        __atomic_add_fetch(&s->accepted, 1, __ATOMIC_SEQ_CST);
        serve_conn(s, fd);
    }
    return NULL;
}

static void server_start(server *s, SSL_CTX *ctx)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int one = 1;
    memset(s, 0, sizeof(*s));
    s->ctx = ctx;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(server *s)
{
    __atomic_store_n(&s->stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(s->thread, NULL);
    close(s->fd);
    SSL_CTX_free(s->ctx);
}

static int accepted(server *s)
{
    return __atomic_load_n(&s->accepted, __ATOMIC_SEQ_CST);
}

/* ---- a sink and a request helper ---------------------------------------------------------- */

typedef struct got {
    uint8_t data[300000];
    size_t len;
    int heads, head_status;
} got;

static fws_err sink(void *ctx, const uint8_t *p, size_t n)
{
    got *g = ctx;
    assert_true(n <= sizeof(g->data) - g->len);
    memcpy(g->data + g->len, p, n);
    g->len += n;
    return FWS_OK;
}

static fws_err head_cb(void *ctx, const fws_http_response *h)
{
    got *g = ctx;
    g->heads++;
    g->head_status = h->status;
    assert_int_equal(g->len, 0); /* the head comes before any body byte */
    return FWS_OK;
}

static got g;
static fws_errbuf eb;
static fws_http_response resp;

static fws_err get(fws_http_client *c, const char *base, const char *path)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", base, path);
    memset(&g, 0, sizeof(g));
    memset(&resp, 0, sizeof(resp));
    fws_errbuf_clear(&eb);
    fws_http_request r = {.url = url, .on_head = head_cb, .sink = sink, .ctx = &g};
    return fws_http_do(c, &r, &resp, &eb);
}

static void expect_msg(const char *want)
{
    if (strstr(eb.msg, want) == NULL)
        fail_msg("\"%s\" lacks \"%s\"", eb.msg, want);
}

static void body_is(const char *want)
{
    assert_int_equal(g.len, strlen(want));
    assert_memory_equal(g.data, want, g.len);
}

/* ---- plain HTTP ----------------------------------------------------------------------------- */

typedef struct plain {
    server srv;
    char base[64];
} plain;

static int plain_setup(void **state)
{
    plain *p = calloc(1, sizeof(*p));
    server_start(&p->srv, NULL);
    snprintf(p->base, sizeof(p->base), "http://127.0.0.1:%d", p->srv.port);
    *state = p;
    return 0;
}

static int plain_teardown(void **state)
{
    plain *p = *state;
    server_stop(&p->srv);
    free(p);
    return 0;
}

static fws_http_client *client(const fws_http_opts *o)
{
    fws_http_client *c = NULL;
    fws_errbuf e = {""};
    if (fws_http_client_new(o, &c, &e) != FWS_OK)
        fail_msg("client: %s", e.msg);
    return c;
}

static void test_framing(void **state)
{
    plain *p = *state;
    fws_http_client *c = client(NULL);
    assert_int_equal(get(c, p->base, "/len"), FWS_OK);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.content_length, 11);
    assert_string_equal(resp.content_type, "text/plain");
    assert_int_equal(g.heads, 1);
    assert_int_equal(g.head_status, 200);
    body_is("hello world");
    assert_int_equal(get(c, p->base, "/chunked"), FWS_OK);
    assert_int_equal(resp.chunked, 1);
    assert_int_equal(resp.content_length, -1);
    body_is("hello chunked");
    assert_int_equal(get(c, p->base, "/close"), FWS_OK);
    body_is("until the end");
    assert_int_equal(get(c, p->base, "/bad-chunk"), FWS_ERR_FORMAT);
    expect_msg("HTTP response: bad chunk size");
    fws_http_client_free(c);
}

static void test_keep_alive(void **state)
{
    plain *p = *state;
    fws_http_client *c = client(NULL);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(get(c, p->base, i == 1 ? "/chunked" : "/len"), FWS_OK);
        assert_int_equal(resp.status, 200);
    }
    assert_int_equal(get(c, p->base, "/404"), FWS_OK); /* an error status keeps it too */
    assert_int_equal(fws_http_connections(c), 1);
    assert_int_equal(accepted(&p->srv), 1);
    /* Connection: close, then a close-delimited body: each ends its connection */
    assert_int_equal(get(c, p->base, "/conn-close"), FWS_OK);
    assert_int_equal(get(c, p->base, "/close"), FWS_OK);
    assert_int_equal(get(c, p->base, "/len"), FWS_OK);
    assert_int_equal(fws_http_connections(c), 3);
    /* a kept-alive connection the server dropped without a word is replaced */
    assert_int_equal(get(c, p->base, "/quiet-close"), FWS_OK);
    body_is("bye");
    assert_int_equal(get(c, p->base, "/len"), FWS_OK);
    body_is("hello world");
    assert_int_equal(fws_http_connections(c), 4);
    fws_http_client_free(c);
    assert_int_equal(accepted(&p->srv), 4);
}

static void test_caps(void **state)
{
    plain *p = *state;
    fws_http_opts o = {.body_max = 1000};
    fws_http_client *c = client(&o);
    assert_int_equal(get(c, p->base, "/big-declared"), FWS_ERR_TOO_BIG);
    expect_msg("declares 99999 bytes, over the cap of 1000");
    assert_int_equal(g.len, 0);
    assert_int_equal(g.heads, 0);
    assert_int_equal(get(c, p->base, "/big-stream"), FWS_ERR_TOO_BIG);
    expect_msg("body over 1000 bytes");
    assert_true(g.len <= 1000);
    /* the client is still usable after an aborted body */
    assert_int_equal(get(c, p->base, "/len"), FWS_OK);
    body_is("hello world");
    fws_http_client_free(c);
    /* a per-request cap overrides the client's */
    c = client(NULL);
    fws_http_request r = {.url = NULL, .body_max = 5, .sink = sink, .ctx = &g};
    char url[128];
    snprintf(url, sizeof(url), "%s/len", p->base);
    r.url = url;
    assert_int_equal(fws_http_do(c, &r, NULL, NULL), FWS_ERR_TOO_BIG);
    /* error bodies have their own cap */
    snprintf(url, sizeof(url), "%s/404", p->base);
    r.body_max = 0;
    r.error_body_max = 4;
    assert_int_equal(fws_http_do(c, &r, NULL, NULL), FWS_ERR_TOO_BIG);
    fws_http_client_free(c);
    /* a header block over its cap */
    fws_http_opts small = {.header_max = 32};
    c = client(&small);
    assert_int_equal(get(c, p->base, "/len"), FWS_ERR_TOO_BIG);
    expect_msg("header block over 32 bytes");
    fws_http_client_free(c);
}

static void test_redirects(void **state)
{
    plain *p = *state;
    fws_http_opts o = {.max_redirects = 3};
    fws_http_client *c = client(&o);
    assert_int_equal(get(c, p->base, "/redirect/3"), FWS_OK);
    assert_int_equal(resp.status, 200);
    assert_int_equal(g.heads, 1); /* only the final response is reported */
    body_is("landed");
    assert_int_equal(get(c, p->base, "/redirect/4"), FWS_ERR_STATE);
    expect_msg("more than 3 redirects");
    assert_int_equal(g.len, 0);
    assert_int_equal(get(c, p->base, "/to-ftp"), FWS_ERR_STATE);
    expect_msg("redirect refused");
    /* to another server */
    p->srv.other_port = p->srv.port;
    assert_int_equal(get(c, p->base, "/to-other"), FWS_OK);
    body_is("hello world");
    /* 303 turns a POST into a GET without a body */
    char url[128];
    snprintf(url, sizeof(url), "%s/see-other", p->base);
    memset(&g, 0, sizeof(g));
    fws_http_request r = {
        .url = url, .body = (const uint8_t *)"data", .body_len = 4, .sink = sink, .ctx = &g};
    assert_int_equal(fws_http_do(c, &r, &resp, NULL), FWS_OK);
    body_is("");
    assert_string_equal(resp.content_type, "application/x-GET");
    fws_http_client_free(c);
    /* without redirects allowed, the 302 is the answer */
    c = client(NULL);
    assert_int_equal(get(c, p->base, "/redirect/1"), FWS_OK);
    assert_int_equal(resp.status, 302);
    body_is("moved");
    fws_http_client_free(c);
}

static void test_timeouts(void **state)
{
    plain *p = *state;
    fws_http_opts o = {.min_rate = 1000, .stall_s = 1};
    fws_http_client *c = client(&o);
    assert_int_equal(get(c, p->base, "/stall"), FWS_ERR_IO);
    expect_msg("stalled: less than 1000 bytes/s for 1 s");
    assert_int_equal(fws_http_last_failure(c), FWS_HTTP_FAIL_STALL);
    body_is("0123456789"); /* what came before the stall was delivered */
    fws_http_client_free(c);
    fws_http_opts t = {.timeout_ms = 300};
    c = client(&t);
    assert_int_equal(get(c, p->base, "/hang"), FWS_ERR_IO);
    expect_msg("timed out after 300 ms");
    assert_int_equal(fws_http_last_failure(c), FWS_HTTP_FAIL_TIMEOUT);
    assert_int_equal(get(c, p->base, "/len"), FWS_OK);
    assert_int_equal(fws_http_last_failure(c), FWS_HTTP_FAIL_NONE);
    fws_http_client_free(c);
    /* a port nobody listens on */
    c = client(NULL);
    char base[64];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", ntohs(a.sin_port));
    assert_int_equal(get(c, base, "/x"), FWS_ERR_IO);
    char want[128];
    snprintf(want, sizeof(want), "connect to 127.0.0.1:%d: Connection refused", ntohs(a.sin_port));
    expect_msg(want);
    assert_int_equal(fws_http_last_failure(c), FWS_HTTP_FAIL_OTHER);
    close(fd);
    fws_http_client_free(c);
}

static void test_statuses_and_post(void **state)
{
    plain *p = *state;
    fws_http_client *c = client(NULL);
    assert_int_equal(get(c, p->base, "/404"), FWS_OK);
    assert_int_equal(resp.status, 404);
    body_is("not here");
    assert_int_equal(get(c, p->base, "/500"), FWS_OK);
    assert_int_equal(resp.status, 500);
    body_is("broken");
    /* a POST body arrives intact, with the caller's headers */
    static uint8_t body[200000];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)(i * 7 + i / 251);
    const char *hdrs[] = {"Content-Type: application/octet-stream", "X-Test: yes", NULL};
    char url[128];
    snprintf(url, sizeof(url), "%s/echo", p->base);
    memset(&g, 0, sizeof(g));
    fws_http_request r = {.url = url,
                          .headers = hdrs,
                          .body = body,
                          .body_len = sizeof(body),
                          .sink = sink,
                          .ctx = &g};
    assert_int_equal(fws_http_do(c, &r, &resp, &eb), FWS_OK);
    assert_int_equal(p->srv.last_body_len, sizeof(body));
    assert_memory_equal(p->srv.last_body, body, sizeof(body));
    assert_int_equal(g.len, sizeof(body));
    assert_memory_equal(g.data, body, sizeof(body));
    assert_string_equal(resp.content_type, "application/x-POST");
    assert_non_null(strstr(p->srv.last_head, "POST /echo HTTP/1.1\r\n"));
    assert_non_null(strstr(p->srv.last_head, "\r\nX-Test: yes\r\n"));
    assert_non_null(strstr(p->srv.last_head, "\r\nContent-Length: 200000\r\n"));
    assert_null(strstr(p->srv.last_head, "Accept-Encoding"));
    /* headers that would break framing are refused */
    const char *bad[] = {"Content-Length: 1", NULL};
    r.headers = bad;
    assert_int_equal(fws_http_do(c, &r, NULL, NULL), FWS_ERR_ARG);
    const char *crlf[] = {"X: a\r\nInjected: 1", NULL};
    r.headers = crlf;
    assert_int_equal(fws_http_do(c, &r, NULL, NULL), FWS_ERR_ARG);
    r.headers = NULL;
    r.url = "http://user@127.0.0.1/";
    assert_int_equal(fws_http_do(c, &r, NULL, NULL), FWS_ERR_ARG);
    r.url = "ftp://127.0.0.1/";
    assert_int_equal(fws_http_do(c, &r, NULL, NULL), FWS_ERR_ARG);
    fws_http_client_free(c);
}

/* ---- TLS ------------------------------------------------------------------------------------ */

typedef struct pki {
    char dir[64];
    char ca[128], cert[128], key[128], other_cert[128], other_key[128], client_cert[128],
        client_key[128];
    char pin[64], other_pin[64];
} pki;

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v;
    X509V3_set_ctx(&v, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       const char *san)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
    add_ext(x, issuer ? issuer : x, NID_basic_constraints,
            issuer ? "CA:FALSE" : "critical,CA:TRUE");
    if (issuer == NULL)
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    if (san != NULL)
        add_ext(x, issuer, NID_subject_alt_name, san);
    assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return x;
}

static void write_pem(const char *path, X509 *x, EVP_PKEY *key, const char *pass)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (x != NULL)
        assert_int_equal(PEM_write_X509(f, x), 1);
    if (key != NULL)
        assert_int_equal(PEM_write_PrivateKey(f, key, pass ? EVP_aes_256_cbc() : NULL,
                                              (unsigned char *)pass, pass ? (int)strlen(pass) : 0,
                                              NULL, NULL),
                         1);
    fclose(f);
}

static void pin_of(X509 *x, char *out)
{
    unsigned char *der = NULL, md[32];
    int n = i2d_PUBKEY(X509_get0_pubkey(x), &der);
    assert_true(n > 0);
    assert_int_equal(EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL), 1);
    OPENSSL_free(der);
    memcpy(out, "sha256//", 8);
    EVP_EncodeBlock((unsigned char *)out + 8, md, 32);
}

static void make_pki(pki *k)
{
    strcpy(k->dir, "/tmp/fws-http-XXXXXX");
    assert_non_null(mkdtemp(k->dir));
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
    EVP_PKEY *other_key = EVP_EC_gen("P-256"), *client_key = EVP_EC_gen("P-256");
    X509 *ca = make_cert(ca_key, "fwseal test CA", NULL, NULL, NULL);
    X509 *cert = make_cert(key, "localhost", ca, ca_key, "DNS:localhost");
    X509 *other = make_cert(other_key, "other", ca, ca_key, "DNS:other.example,IP:127.0.0.1");
    X509 *cl = make_cert(client_key, "device-1", ca, ca_key, NULL);
    snprintf(k->ca, sizeof(k->ca), "%s/ca.pem", k->dir);
    snprintf(k->cert, sizeof(k->cert), "%s/server.pem", k->dir);
    snprintf(k->key, sizeof(k->key), "%s/server.key", k->dir);
    snprintf(k->other_cert, sizeof(k->other_cert), "%s/other.pem", k->dir);
    snprintf(k->other_key, sizeof(k->other_key), "%s/other.key", k->dir);
    snprintf(k->client_cert, sizeof(k->client_cert), "%s/client.pem", k->dir);
    snprintf(k->client_key, sizeof(k->client_key), "%s/client.key", k->dir);
    write_pem(k->ca, ca, NULL, NULL);
    write_pem(k->cert, cert, NULL, NULL);
    write_pem(k->key, NULL, key, NULL);
    write_pem(k->other_cert, other, NULL, NULL);
    write_pem(k->other_key, NULL, other_key, NULL);
    write_pem(k->client_cert, cl, NULL, NULL);
    write_pem(k->client_key, NULL, client_key, "s3cret pass");
    pin_of(cert, k->pin);
    pin_of(other, k->other_pin);
    X509_free(ca);
    X509_free(cert);
    X509_free(other);
    X509_free(cl);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(client_key);
}

static SSL_CTX *server_ctx(const pki *k, const char *cert, const char *key, int need_client)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
    if (need_client) {
        assert_int_equal(SSL_CTX_load_verify_locations(ctx, k->ca, NULL), 1);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return ctx;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

typedef struct tls_world {
    pki k;
    server srv;  /* localhost certificate */
    server alt;  /* other.example and 127.0.0.1 */
    server mtls; /* wants a client certificate */
    server http; /* plain, for the downgrade */
} tls_world;

static int tls_setup(void **state)
{
    tls_world *w = calloc(1, sizeof(*w));
    make_pki(&w->k);
    server_start(&w->srv, server_ctx(&w->k, w->k.cert, w->k.key, 0));
    server_start(&w->alt, server_ctx(&w->k, w->k.other_cert, w->k.other_key, 0));
    server_start(&w->mtls, server_ctx(&w->k, w->k.cert, w->k.key, 1));
    server_start(&w->http, NULL);
    w->srv.other_port = w->http.port;
    *state = w;
    return 0;
}

static int tls_teardown(void **state)
{
    tls_world *w = *state;
    server_stop(&w->srv);
    server_stop(&w->alt);
    server_stop(&w->mtls);
    server_stop(&w->http);
    nftw(w->k.dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    free(w);
    return 0;
}

static void base_of(char *buf, const char *host, const server *s)
{
    sprintf(buf, "https://%s:%d", host, s->port);
}

static void test_tls_verify(void **state)
{
    tls_world *w = *state;
    char base[64];
    fws_http_opts o = {.ca_file = w->k.ca, .max_redirects = 2};
    fws_http_client *c = client(&o);
    base_of(base, "localhost", &w->srv);
    assert_int_equal(get(c, base, "/len"), FWS_OK);
    body_is("hello world");
    assert_int_equal(get(c, base, "/chunked"), FWS_OK);
    assert_int_equal(fws_http_connections(c), 1);
    /* the certificate names localhost only */
    base_of(base, "127.0.0.1", &w->srv);
    assert_int_equal(get(c, base, "/len"), FWS_ERR_IO);
    expect_msg("TLS handshake: certificate verify failed (IP address mismatch)");
    base_of(base, "localhost", &w->alt);
    assert_int_equal(get(c, base, "/len"), FWS_ERR_IO);
    expect_msg("TLS handshake: certificate verify failed (hostname mismatch)");
    base_of(base, "127.0.0.1", &w->alt);
    assert_int_equal(get(c, base, "/len"), FWS_OK); /* an IP address in the certificate */
    /* https -> http is refused */
    base_of(base, "localhost", &w->srv);
    assert_int_equal(get(c, base, "/to-other"), FWS_ERR_STATE);
    expect_msg("redirect from https to http refused");
    fws_http_client_free(c);
    /* without the CA, OpenSSL's default paths do not know this server */
    c = client(NULL);
    assert_int_equal(get(c, base, "/len"), FWS_ERR_IO);
    expect_msg("certificate verify failed");
    fws_http_client_free(c);
}

static void test_tls_pins(void **state)
{
    tls_world *w = *state;
    char base[64], two[160];
    base_of(base, "localhost", &w->srv);
    fws_http_opts o = {.ca_file = w->k.ca, .pin = w->k.pin};
    fws_http_client *c = client(&o);
    assert_int_equal(get(c, base, "/len"), FWS_OK);
    fws_http_client_free(c);
    o.pin = w->k.other_pin;
    c = client(&o);
    assert_int_equal(get(c, base, "/len"), FWS_ERR_IO);
    expect_msg("server public key does not match pinned public key");
    fws_http_client_free(c);
    snprintf(two, sizeof(two), "%s;%s", w->k.other_pin, w->k.pin);
    o.pin = two;
    c = client(&o);
    assert_int_equal(get(c, base, "/len"), FWS_OK);
    fws_http_client_free(c);
    /* pin only: neither the CA nor the name is checked, the key is */
    fws_http_opts pin_only = {.no_verify = 1, .pin = w->k.pin};
    c = client(&pin_only);
    base_of(base, "127.0.0.1", &w->srv);
    assert_int_equal(get(c, base, "/len"), FWS_OK);
    body_is("hello world");
    base_of(base, "127.0.0.1", &w->alt);
    assert_int_equal(get(c, base, "/len"), FWS_ERR_IO);
    expect_msg("server public key does not match pinned public key");
    fws_http_client_free(c);
    /* no verification without a pin, and malformed pins, are refused */
    fws_http_client *none = NULL;
    fws_http_opts bad = {.no_verify = 1};
    assert_int_equal(fws_http_client_new(&bad, &none, NULL), FWS_ERR_ARG);
    bad.pin = "sha256//short";
    assert_int_equal(fws_http_client_new(&bad, &none, NULL), FWS_ERR_ARG);
    assert_null(none);
}

static void test_tls_client_cert(void **state)
{
    tls_world *w = *state;
    char base[64];
    base_of(base, "localhost", &w->mtls);
    fws_http_opts o = {.ca_file = w->k.ca,
                       .cert_file = w->k.client_cert,
                       .key_file = w->k.client_key,
                       .key_pass = "s3cret pass"};
    fws_http_client *c = client(&o);
    assert_int_equal(get(c, base, "/len"), FWS_OK);
    body_is("hello world");
    fws_http_client_free(c);
    /* without a certificate the server hangs up */
    fws_http_opts no_cert = {.ca_file = w->k.ca};
    c = client(&no_cert);
    assert_int_not_equal(get(c, base, "/len"), FWS_OK);
    assert_true(eb.msg[0] != '\0');
    assert_int_equal(g.len, 0);
    fws_http_client_free(c);
    /* the wrong passphrase */
    o.key_pass = "wrong";
    c = client(&o);
    assert_int_equal(get(c, base, "/len"), FWS_ERR_PASSPHRASE);
    expect_msg(w->k.client_key);
    fws_http_client_free(c);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest plain_tests[] = {
        cmocka_unit_test_setup_teardown(test_framing, plain_setup, plain_teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive, plain_setup, plain_teardown),
        cmocka_unit_test_setup_teardown(test_caps, plain_setup, plain_teardown),
        cmocka_unit_test_setup_teardown(test_redirects, plain_setup, plain_teardown),
        cmocka_unit_test_setup_teardown(test_timeouts, plain_setup, plain_teardown),
        cmocka_unit_test_setup_teardown(test_statuses_and_post, plain_setup, plain_teardown),
        cmocka_unit_test_setup_teardown(test_tls_verify, tls_setup, tls_teardown),
        cmocka_unit_test_setup_teardown(test_tls_pins, tls_setup, tls_teardown),
        cmocka_unit_test_setup_teardown(test_tls_client_cert, tls_setup, tls_teardown),
    };
    return cmocka_run_group_tests(plain_tests, NULL, NULL);
}
