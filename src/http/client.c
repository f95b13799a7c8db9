/* The HTTP client: options, the kept-alive connection, requests, responses and redirects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/core.h"
#include "http/internal.h"

#define READ_BUF 16384
#define REQUEST_HEAD_MAX 16384
#define WHAT_MAX 320 /* the URL as quoted in messages */

struct fws_http_client {
    fws_http_opts o; /* strings point at the copies below */
    char *user_agent, *ca_file, *pin, *cert_file, *key_file, *key_pass;
    http_tls *tls; /* made on the first https request */
    http_conn conn;
    http_parser parser;
    uint8_t buf[READ_BUF];
    size_t buf_len, buf_off;
    unsigned connections;
    fws_http_failure failure;
};

/* One exchange on the wire: what the request is, and what came back. */
typedef struct exchange {
    const fws_http_request *req;
    const char *method;
    const uint8_t *body; /* NULL for GET */
    size_t body_len;
    int send_headers;    /* the caller's extra headers (same origin as the first URL) */
    int may_redirect;    /* a 3xx with a Location is a redirect, not the final answer */
    char what[WHAT_MAX]; /* the URL, for messages */
    fws_http_response head;
    int redirect; /* the response was a redirect to parser.location */
    uint64_t got;
    uint64_t cap;
} exchange;

/* ---- options ------------------------------------------------------------------------------ */

static fws_err dup_str(const char *s, char **out)
{
    *out = NULL;
    if (s == NULL)
        return FWS_OK;
    *out = strdup(s);
    return *out ? FWS_OK : FWS_ERR_NOMEM;
}

static int header_text_ok(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
            return 0;
    }
    return 1;
}

static fws_err check_opts(const fws_http_opts *o, fws_errbuf *eb)
{
    size_t pins = 0;
    if (o->pin != NULL && http_pins_check(o->pin, &pins, eb) != FWS_OK)
        return FWS_ERR_ARG;
    if (o->no_verify && o->pin == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "HTTP client: no verification without a pin");
    if (o->user_agent != NULL && (!header_text_ok(o->user_agent) || strlen(o->user_agent) > 256))
        return fws_errf(eb, FWS_ERR_ARG, "HTTP client: bad user agent");
    if (o->key_file != NULL && o->cert_file == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "HTTP client: a key without a certificate");
    return FWS_OK;
}

static fws_err copy_opts(fws_http_client *c, const fws_http_opts *o)
{
    char ua[64];
    snprintf(ua, sizeof(ua), "fwseal/%s", FWS_VERSION);
    c->o = *o;
    if (dup_str(o->user_agent ? o->user_agent : ua, &c->user_agent) != FWS_OK ||
        dup_str(o->ca_file, &c->ca_file) != FWS_OK || dup_str(o->pin, &c->pin) != FWS_OK ||
        dup_str(o->cert_file, &c->cert_file) != FWS_OK ||
        dup_str(o->key_file, &c->key_file) != FWS_OK ||
        dup_str(o->key_pass, &c->key_pass) != FWS_OK)
        return FWS_ERR_NOMEM;
    c->o.user_agent = c->user_agent;
    c->o.ca_file = c->ca_file;
    c->o.pin = c->pin;
    c->o.cert_file = c->cert_file;
    c->o.key_file = c->key_file;
    c->o.key_pass = NULL; /* kept only in c->key_pass */
    c->o.connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 10000;
    c->o.timeout_ms = o->timeout_ms ? o->timeout_ms : 300000;
    c->o.header_max = o->header_max ? o->header_max : FWS_HTTP_HEADER_MAX_DEFAULT;
    c->o.body_max = o->body_max ? o->body_max : FWS_HTTP_BODY_MAX_DEFAULT;
    return FWS_OK;
}

fws_err fws_http_client_new(const fws_http_opts *opts, fws_http_client **out, fws_errbuf *eb)
{
    static const fws_http_opts none;
    const fws_http_opts *o = opts ? opts : &none;
    if (out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "HTTP client: no output");
    fws_err err = check_opts(o, eb);
    if (err != FWS_OK)
        return err;
    fws_http_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "HTTP client: out of memory");
    http_conn_init(&c->conn);
    if (copy_opts(c, o) != FWS_OK) {
        fws_http_client_free(c);
        return fws_errf(eb, FWS_ERR_NOMEM, "HTTP client: out of memory");
    }
    *out = c;
    return FWS_OK;
}

static void wipe_pass(fws_http_client *c)
{
    if (c->key_pass != NULL)
        fws_wipe(c->key_pass, strlen(c->key_pass));
    free(c->key_pass);
    c->key_pass = NULL;
}

void fws_http_client_free(fws_http_client *c)
{
    if (c == NULL)
        return;
    http_conn_close(&c->conn);
    http_tls_free(c->tls);
    wipe_pass(c);
    free(c->user_agent);
    free(c->ca_file);
    free(c->pin);
    free(c->cert_file);
    free(c->key_file);
    free(c);
}

fws_http_failure fws_http_last_failure(const fws_http_client *c)
{
    return c->failure;
}

unsigned fws_http_connections(const fws_http_client *c)
{
    return c->connections;
}

/* ---- the connection ------------------------------------------------------------------------ */

static int same_origin(const http_conn *k, const http_url *u)
{
    return k->fd >= 0 && k->tls == u->tls && k->port == u->port && strcmp(k->host, u->host) == 0;
}

static void drop_conn(fws_http_client *c)
{
    http_conn_close(&c->conn);
    c->buf_len = c->buf_off = 0;
}

/* The kept-alive connection if it can serve u, else a new one. *reused says which. */
static fws_err get_conn(fws_http_client *c, const http_url *u, http_timer *t, exchange *x,
                        int *reused, fws_errbuf *eb)
{
    *reused = same_origin(&c->conn, u) && !http_conn_stale(&c->conn);
    if (*reused)
        return FWS_OK;
    drop_conn(c);
    if (u->tls && c->tls == NULL) {
        fws_err err = http_tls_new(&c->o, c->key_pass, &c->tls, eb);
        if (err != FWS_OK)
            return err;
        wipe_pass(c); /* the key is loaded: the passphrase is no longer needed */
    }
    fws_err err = http_conn_open(&c->conn, u, c->tls, c->o.connect_timeout_ms, t, x->what, eb);
    if (err == FWS_OK)
        c->connections++;
    return err;
}

/* ---- the request -------------------------------------------------------------------------- */

static int extra_header_ok(const char *h)
{
    static const char *const reserved[] = {
        "host:", "content-length:", "transfer-encoding:", "connection:"};
    const char *colon = strchr(h, ':');
    if (colon == NULL || colon == h || !header_text_ok(h))
        return 0;
    for (const char *p = h; p < colon; p++) {
        if (*p == ' ' || *p == '\t')
            return 0;
    }
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (strncasecmp(h, reserved[i], strlen(reserved[i])) == 0)
            return 0;
    }
    return 1;
}

static fws_err build_head(fws_http_client *c, const http_url *u, const exchange *x, char *head,
                          size_t *len, fws_errbuf *eb)
{
    char host[HTTP_HOST_MAX + 16], clen[48] = "";
    size_t n = 0;
    snprintf(host, sizeof(host), "%s%s%s", u->ipv6 ? "[" : "", u->host, u->ipv6 ? "]" : "");
    if (!u->default_port)
        snprintf(host + strlen(host), sizeof(host) - strlen(host), ":%u", u->port);
    if (x->body != NULL || strcmp(x->method, "POST") == 0)
        snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", x->body_len);
    int k = snprintf(head, REQUEST_HEAD_MAX,
                     "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n%s", x->method,
                     u->target, host, c->o.user_agent, clen);
    if (k < 0 || k >= REQUEST_HEAD_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "%s: request head too long", x->what);
    n = (size_t)k;
    for (const char *const *h = x->req->headers; x->send_headers && h && *h; h++) {
        if (!extra_header_ok(*h))
            return fws_errf(eb, FWS_ERR_ARG, "%s: bad request header", x->what);
        k = snprintf(head + n, REQUEST_HEAD_MAX - n, "%s\r\n", *h);
        if (k < 0 || (size_t)k >= REQUEST_HEAD_MAX - n)
            return fws_errf(eb, FWS_ERR_ARG, "%s: request head too long", x->what);
        n += (size_t)k;
    }
    if (n + 2 >= REQUEST_HEAD_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "%s: request head too long", x->what);
    memcpy(head + n, "\r\n", 3);
    *len = n + 2;
    return FWS_OK;
}

static fws_err send_request(fws_http_client *c, const http_url *u, exchange *x, http_timer *t,
                            fws_errbuf *eb)
{
    char *head = malloc(REQUEST_HEAD_MAX);
    size_t len = 0;
    if (head == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = build_head(c, u, x, head, &len, eb);
    if (err == FWS_OK)
        err = http_conn_write(&c->conn, (const uint8_t *)head, len, t, x->what, eb);
    if (err == FWS_OK && x->body_len > 0)
        err = http_conn_write(&c->conn, x->body, x->body_len, t, x->what, eb);
    fws_wipe(head, len); /* the head may carry credentials (an Authorization header) */
    free(head);
    return err;
}

/* ---- the response ------------------------------------------------------------------------- */

static int is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static void fill_head(const http_parser *p, fws_http_response *h)
{
    h->status = p->status;
    h->content_length = p->content_length;
    h->chunked = p->chunked;
    memcpy(h->content_type, p->content_type, sizeof(h->content_type));
    memcpy(h->content_range, p->content_range, sizeof(h->content_range));
}

static fws_err on_head(fws_http_client *c, exchange *x, fws_errbuf *eb)
{
    const http_parser *p = &c->parser;
    const fws_http_request *r = x->req;
    fill_head(p, &x->head);
    x->redirect = x->may_redirect && is_redirect(p->status) && p->location[0] != '\0';
    int ok = p->status >= 200 && p->status < 300 && !x->redirect;
    x->cap = ok ? (r->body_max ? r->body_max : c->o.body_max)
                : (r->error_body_max ? r->error_body_max : FWS_HTTP_ERROR_BODY_MAX_DEFAULT);
    if (p->content_length >= 0 && (uint64_t)p->content_length > x->cap)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: declares %lld bytes, over the cap of %llu",
                        x->what, (long long)p->content_length, (unsigned long long)x->cap);
    if (!x->redirect && r->on_head != NULL)
        return r->on_head(r->ctx, &x->head);
    return FWS_OK;
}

static fws_err on_body(exchange *x, const http_event *ev, fws_errbuf *eb)
{
    if (ev->len > x->cap - x->got)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: body over %llu bytes", x->what,
                        (unsigned long long)x->cap);
    x->got += ev->len;
    if (x->redirect || x->req->sink == NULL)
        return FWS_OK;
    return x->req->sink(x->req->ctx, ev->data, ev->len);
}

/* Feeds buffered bytes to the parser until it needs more; *done at the end of the response. */
static fws_err drain_buffer(fws_http_client *c, exchange *x, int *done, fws_errbuf *eb)
{
    while (!*done) {
        http_event ev;
        size_t used = 0;
        fws_errbuf perr = {""};
        fws_err err = http_parser_feed(&c->parser, c->buf + c->buf_off, c->buf_len - c->buf_off,
                                       &used, &ev, &perr);
        if (err != FWS_OK)
            return fws_errf(eb, err, "%s: %s", x->what, perr.msg);
        c->buf_off += used;
        if (ev.kind == HTTP_EV_NONE)
            return FWS_OK;
        if (ev.kind == HTTP_EV_HEAD)
            err = on_head(c, x, eb);
        else if (ev.kind == HTTP_EV_BODY)
            err = on_body(x, &ev, eb);
        else
            *done = 1;
        if (err != FWS_OK)
            return err;
    }
    return FWS_OK;
}

/* Reads one response. *nothing: the connection ended (closed, reset) before a single byte of
 * it arrived, which on a reused connection means the server had dropped it. */
static fws_err read_response(fws_http_client *c, exchange *x, http_timer *t, int *nothing,
                             fws_errbuf *eb)
{
    int done = 0;
    uint64_t total = 0;
    http_parser_init(&c->parser, c->o.header_max);
    *nothing = 0;
    for (;;) {
        fws_err err = drain_buffer(c, x, &done, eb);
        if (err != FWS_OK || done)
            return err;
        size_t got = 0;
        err = http_conn_read(&c->conn, c->buf, sizeof(c->buf), &got, t, x->what, eb);
        *nothing = total == 0 && (err != FWS_OK || got == 0) && t->failure == FWS_HTTP_FAIL_NONE;
        if (err != FWS_OK)
            return err;
        c->buf_off = 0;
        c->buf_len = got;
        total += got;
        if (got == 0) {
            http_event ev;
            fws_errbuf perr = {""};
            if ((err = http_parser_eof(&c->parser, &ev, &perr)) != FWS_OK)
                return fws_errf(eb, err, "%s: %s", x->what, perr.msg);
            return FWS_OK;
        }
    }
}

/* Sends the request and reads the response. When sending fails (the server may have answered
 * early and closed), the response is still read if there is one. */
static fws_err exchange_on(fws_http_client *c, const http_url *u, exchange *x, http_timer *t,
                           int *nothing, fws_errbuf *eb)
{
    fws_errbuf late = {""};
    *nothing = 0;
    fws_err err = send_request(c, u, x, t, eb);
    if (err == FWS_OK)
        return read_response(c, x, t, nothing, eb);
    if (t->failure != FWS_HTTP_FAIL_NONE || err != FWS_ERR_IO)
        return err;
    if (read_response(c, x, t, nothing, &late) == FWS_OK) {
        fws_errbuf_clear(eb);
        c->parser.keep_alive = 0;
        return FWS_OK;
    }
    return err;
}

/* One request and its response (on a fresh connection when the kept-alive one turns out to
 * be dead before any byte of the response). */
static fws_err exchange_once(fws_http_client *c, const http_url *u, exchange *x, http_timer *t,
                             fws_errbuf *eb)
{
    for (int attempt = 0;; attempt++) {
        int reused = 0, nothing = 0;
        fws_errbuf local = {""};
        fws_err err = get_conn(c, u, t, x, &reused, &local);
        x->got = 0;
        if (err == FWS_OK)
            err = exchange_on(c, u, x, t, &nothing, &local);
        if (err == FWS_OK && (!c->parser.keep_alive || c->buf_off != c->buf_len))
            drop_conn(c);
        if (err == FWS_OK)
            return FWS_OK;
        drop_conn(c);
        if (!(reused && nothing && attempt == 0))
            return fws_errf(eb, err, "%s", local.msg);
    }
}

/* ---- redirects and the public call --------------------------------------------------------- */

/* Moves x to the redirect's target: checks the scheme, the method and the headers. */
static fws_err follow(const http_url *from, const char *location, int status, exchange *x,
                      http_url *to, fws_errbuf *eb)
{
    fws_errbuf local = {""};
    fws_err err = http_url_resolve(from, location, to, &local);
    if (err != FWS_OK)
        return fws_errf(eb, err == FWS_ERR_UNSUPPORTED ? FWS_ERR_STATE : err,
                        "%s: redirect refused: %s", x->what, local.msg);
    if (from->tls && !to->tls)
        return fws_errf(eb, FWS_ERR_STATE, "%s: redirect from https to http refused", x->what);
    if (status == 303 || ((status == 301 || status == 302) && strcmp(x->method, "POST") == 0)) {
        x->method = "GET";
        x->body = NULL;
        x->body_len = 0;
    }
    x->send_headers = x->send_headers && to->tls == from->tls && to->port == from->port &&
                      strcmp(to->host, from->host) == 0;
    if (http_url_format(to, x->what, sizeof(x->what)) != FWS_OK)
        snprintf(x->what, sizeof(x->what), "%.300s...", location);
    return FWS_OK;
}

static fws_err start(const fws_http_request *req, exchange *x, http_url *u, fws_errbuf *eb)
{
    memset(x, 0, sizeof(*x));
    x->req = req;
    if (req == NULL || req->url == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "HTTP: no URL");
    snprintf(x->what, sizeof(x->what), "%.300s%s", req->url, strlen(req->url) > 300 ? "..." : "");
    x->method = req->method ? req->method : req->body ? "POST" : "GET";
    if (strcmp(x->method, "GET") != 0 && strcmp(x->method, "POST") != 0)
        return fws_errf(eb, FWS_ERR_ARG, "%s: method %s is not supported", x->what, x->method);
    if (strcmp(x->method, "POST") == 0) {
        x->body = req->body ? req->body : (const uint8_t *)"";
        x->body_len = req->body ? req->body_len : 0;
    }
    x->send_headers = 1;
    fws_errbuf local = {""};
    fws_err err = http_url_parse(req->url, u, &local);
    if (err != FWS_OK)
        return fws_errf(eb, err == FWS_ERR_UNSUPPORTED ? FWS_ERR_ARG : err, "%s: %s", x->what,
                        local.msg);
    return FWS_OK;
}

static fws_err run(fws_http_client *c, const fws_http_request *req, exchange *x, http_timer *t,
                   fws_errbuf *eb)
{
    http_url *u = malloc(2 * sizeof(*u));
    if (u == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "HTTP: out of memory");
    fws_err err = start(req, x, &u[0], eb);
    for (unsigned hops = 0; err == FWS_OK; hops++) {
        x->may_redirect = c->o.max_redirects > 0;
        if ((err = exchange_once(c, &u[0], x, t, eb)) != FWS_OK || !x->redirect)
            break;
        if (hops == c->o.max_redirects) {
            err = fws_errf(eb, FWS_ERR_STATE, "%s: more than %u redirects", x->what,
                           c->o.max_redirects);
            break;
        }
        err = follow(&u[0], c->parser.location, x->head.status, x, &u[1], eb);
        u[0] = u[1];
    }
    free(u);
    return err;
}

fws_err fws_http_do(fws_http_client *c, const fws_http_request *req, fws_http_response *resp,
                    fws_errbuf *eb)
{
    exchange *x = malloc(sizeof(*x));
    http_timer t;
    if (c == NULL || x == NULL) {
        free(x);
        return fws_errf(eb, c ? FWS_ERR_NOMEM : FWS_ERR_ARG, "HTTP: no client");
    }
    unsigned timeout = req && req->timeout_ms ? req->timeout_ms : c->o.timeout_ms;
    http_timer_start(&t, timeout, c->o.min_rate, c->o.stall_s);
    fws_err err = run(c, req, x, &t, eb);
    c->failure = err == FWS_OK                     ? FWS_HTTP_FAIL_NONE
                 : t.failure != FWS_HTTP_FAIL_NONE ? t.failure
                                                   : FWS_HTTP_FAIL_OTHER;
    if (err != FWS_OK)
        drop_conn(c);
    if (err == FWS_OK && resp != NULL)
        *resp = x->head;
    free(x);
    return err;
}
