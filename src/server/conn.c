/* One TLS connection: handshake, request heads and bodies under caps and deadlines, dispatch
 * to the loop or a worker, responses (inline or streamed from a file), keep-alive. */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <event2/bufferevent_ssl.h>
#include "server/internal.h"

enum { CONN_IDLE, CONN_HEAD, CONN_BODY, CONN_BUSY, CONN_WRITING, CONN_LINGER };

/* After an error answer sent before the request was read to its end (413, 431, 400, ...),
 * the connection stops writing and discards what the client still sends for up to this long
 * before closing: closing with unread bytes would reset the connection, and the client's
 * kernel could then drop the answer before the client reads it. */
#define SRV_LINGER_MS 2000
#define SRV_LINGER_MAX (4u * 1024 * 1024)

struct srv_conn {
    srv_loop *lp;
    struct bufferevent *bev;
    struct event *timer;
    srv_conn *prev, *next;
    char addr[FWS_REQ_ADDR_MAX];
    int state;
    int handshake_done;
    int keep_alive;
    int dead; /* the peer went away while a worker had the request */
    srv_request *rq;
    uint64_t need_body;
    srv_peer peer;
    int stream_fd;
    uint64_t stream_left;
    int linger;        /* close through CONN_LINGER after this answer */
    uint64_t lingered; /* bytes discarded while lingering */
};

static void conn_process(srv_conn *c);

static void arm_timer(srv_conn *c, unsigned ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

static unsigned idle_ms(const srv_conn *c)
{
    return c->lp->srv->cfg.idle_timeout_ms ? c->lp->srv->cfg.idle_timeout_ms : 60000;
}

static unsigned request_ms(const srv_conn *c)
{
    return c->lp->srv->cfg.request_timeout_ms ? c->lp->srv->cfg.request_timeout_ms : 10000;
}

static void request_free(srv_request *rq)
{
    if (rq == NULL)
        return;
    srv_resp_reset(&rq->resp);
    free(rq->head_buf);
    free((void *)rq->pub.body);
    free(rq);
}

static void conn_free(srv_conn *c)
{
    srv_loop *lp = c->lp;
    if (c->prev)
        c->prev->next = c->next;
    else
        lp->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    lp->n_conns--;
    atomic_fetch_sub(&lp->srv->counters.connections_open, 1);
    request_free(c->rq);
    if (c->stream_fd >= 0)
        close(c->stream_fd);
    srv_peer_free(&c->peer);
    event_free(c->timer);
    bufferevent_free(c->bev); /* frees the SSL and closes the socket */
    free(c);
    if (lp->draining && lp->n_conns == 0)
        event_base_loopexit(lp->base, NULL);
}

static void conn_close(srv_conn *c)
{
    if (c->state == CONN_BUSY) {
        c->dead = 1;
        return;
    }
    conn_free(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    srv_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->state == CONN_BUSY)
        return;
    if ((c->state != CONN_IDLE && c->state != CONN_LINGER) || !c->handshake_done)
        atomic_fetch_add(&c->lp->srv->counters.timeouts, 1);
    conn_close(c);
}

static void count_status(fws_server *srv, int status)
{
    int cls = status / 100;
    if (cls >= 1 && cls <= 5)
        atomic_fetch_add_explicit(&srv->counters.requests[cls], 1, memory_order_relaxed);
}

static void observe(fws_server *srv, uint64_t us)
{
    int i = 0;
    while (i < SRV_DURATION_BUCKETS && (double)us / 1e6 > srv_duration_le[i])
        i++;
    atomic_fetch_add_explicit(&srv->counters.duration_buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&srv->counters.duration_sum_us, us, memory_order_relaxed);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void access_log(srv_conn *c, const srv_request *rq, int status, uint64_t len)
{
    char st[8], ln[24];
    snprintf(st, sizeof(st), "%d", status);
    snprintf(ln, sizeof(ln), "%llu", (unsigned long long)len);
    fws_server_log(c->lp->srv, "info", "request", "remote", c->addr, "method",
                   rq->head.method ? rq->head.method : "-", "path", rq->path[0] ? rq->path : "-",
                   "status", st, "bytes", ln, "device", rq->pub.device_id, "token",
                   rq->pub.token_name, NULL);
}

/* Moves the file part of a response onto the connection. */
static void start_stream(srv_conn *c, fws_resp *r, struct evbuffer *out)
{
    if (r->file_len <= SRV_INLINE_FILE_MAX) {
        uint64_t left = r->file_len;
        while (left > 0) {
            int n = evbuffer_read(out, r->file_fd, (int)left);
            if (n <= 0)
                break; /* a file that shrank: the connection closes short, the client sees it */
            left -= (uint64_t)n;
        }
        if (left > 0)
            c->keep_alive = 0;
        close(r->file_fd);
    } else {
        c->stream_fd = r->file_fd;
        c->stream_left = r->file_len;
        bufferevent_setwatermark(c->bev, EV_WRITE, SRV_STREAM_CHUNK / 2, 0);
    }
    r->file_fd = -1;
}

void srv_conn_finish(srv_request *rq)
{
    srv_conn *c = rq->conn;
    fws_server *srv = c->lp->srv;
    atomic_fetch_sub(&srv->inflight, 1);
    c->rq = NULL;
    if (c->dead) {
        request_free(rq);
        c->state = CONN_IDLE;
        conn_free(c);
        return;
    }
    fws_resp *r = &rq->resp;
    if (r->status == 0)
        r->status = r->body != NULL || r->file_fd >= 0 ? 200 : 204;
    if (c->lp->draining || r->status == 400 || r->status == 408 || r->status == 413 ||
        r->status == 431 || r->status == 414 || r->status == 501 || r->status == 505)
        c->keep_alive = 0;
    c->linger = !c->lp->draining &&
                (r->status == 400 || r->status == 413 || r->status == 431 || r->status == 414);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    uint64_t len = r->file_fd >= 0 ? r->file_len : r->body_len;
    srv_resp_head(r, out, srv_loop_date(c->lp), c->keep_alive, rq->head_only);
    if (!rq->head_only) {
        if (r->file_fd >= 0)
            start_stream(c, r, out);
        else if (r->body_len)
            evbuffer_add(out, r->body, r->body_len);
    }
    count_status(srv, r->status);
    observe(srv, now_us() - rq->start_ms);
    if (srv->cfg.access_log)
        access_log(c, rq, r->status, len);
    request_free(rq);
    c->state = CONN_WRITING;
    bufferevent_disable(c->bev, EV_READ);
    bufferevent_enable(c->bev, EV_WRITE);
}

/* Answers from the loop without a handler (errors found while reading the request). */
static void reply_now(srv_conn *c, srv_request *rq, int status, const char *code, const char *msg,
                      int close_after)
{
    if (rq == NULL) {
        rq = calloc(1, sizeof(*rq));
        if (rq == NULL) {
            conn_close(c);
            return;
        }
        srv_resp_init(&rq->resp);
        rq->conn = c;
        rq->start_ms = now_us();
    }
    if (close_after)
        c->keep_alive = 0;
    fws_resp_error(&rq->resp, status, code, "%s", msg);
    c->rq = rq;
    c->state = CONN_BUSY;
    atomic_fetch_add(&c->lp->srv->inflight, 1);
    srv_conn_finish(rq);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    srv_conn *c = arg;
    struct evbuffer *out = bufferevent_get_output(bev);
    if (c->state != CONN_WRITING)
        return;
    if (c->stream_left > 0) {
        size_t want = c->stream_left < SRV_STREAM_CHUNK ? (size_t)c->stream_left : SRV_STREAM_CHUNK;
        int n = evbuffer_read(out, c->stream_fd, (int)want);
        if (n <= 0) {
            conn_close(c); /* the file went short: close rather than send a wrong length */
            return;
        }
        c->stream_left -= (uint64_t)n;
        if (c->stream_left == 0) {
            close(c->stream_fd);
            c->stream_fd = -1;
            bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
        }
        return;
    }
    if (evbuffer_get_length(out) > 0)
        return;
    if (!c->keep_alive && c->linger) {
        /* the answer is with the kernel: stop sending, discard the rest of the request */
        shutdown(bufferevent_getfd(bev), SHUT_WR);
        c->state = CONN_LINGER;
        evtimer_del(c->timer);
        arm_timer(c, SRV_LINGER_MS);
        bufferevent_enable(bev, EV_READ);
        return;
    }
    if (!c->keep_alive) {
        conn_close(c);
        return;
    }
    c->state = CONN_IDLE;
    arm_timer(c, idle_ms(c));
    bufferevent_enable(bev, EV_READ);
    conn_process(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    srv_conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        c->handshake_done = 1;
        return;
    }
    if ((what & BEV_EVENT_ERROR) && !c->handshake_done)
        atomic_fetch_add(&c->lp->srv->counters.tls_failures, 1);
    if (what & BEV_EVENT_TIMEOUT)
        atomic_fetch_add(&c->lp->srv->counters.timeouts, 1);
    ERR_clear_error();
    conn_close(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    srv_conn *c = arg;
    if (c->state == CONN_LINGER) {
        struct evbuffer *in = bufferevent_get_input(bev);
        size_t n = evbuffer_get_length(in);
        c->lingered += n;
        evbuffer_drain(in, n);
        if (c->lingered > SRV_LINGER_MAX)
            conn_close(c);
        return;
    }
    conn_process(c);
}

void srv_conn_accept(srv_loop *lp, evutil_socket_t fd, const struct sockaddr *sa, int salen)
{
    fws_server *srv = lp->srv;
    unsigned cap = srv->cfg.max_connections ? srv->cfg.max_connections : 10000;
    (void)salen;
    atomic_fetch_add(&srv->counters.connections_total, 1);
    if (lp->draining || atomic_load(&srv->counters.connections_open) >= (int64_t)cap) {
        atomic_fetch_add(&srv->counters.connections_refused, 1);
        close(fd);
        return;
    }
    srv_conn *c = calloc(1, sizeof(*c));
    SSL *ssl = srv_tls_new_ssl(&srv->tls);
    if (c == NULL || ssl == NULL) {
        free(c);
        SSL_free(ssl);
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->lp = lp;
    c->stream_fd = -1;
    c->keep_alive = 1;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->addr, sizeof(c->addr));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, c->addr,
                  sizeof(c->addr));
    c->bev = bufferevent_openssl_socket_new(lp->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                            BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(lp->base, on_timer, c);
    if (c->bev == NULL || c->timer == NULL) {
        if (c->bev)
            bufferevent_free(c->bev);
        else {
            SSL_free(ssl);
            close(fd);
        }
        if (c->timer)
            event_free(c->timer);
        free(c);
        return;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    struct timeval wt = {.tv_sec = idle_ms(c) / 1000, .tv_usec = (idle_ms(c) % 1000) * 1000};
    bufferevent_set_timeouts(c->bev, NULL, &wt);
    bufferevent_enable(c->bev, EV_READ);
    c->next = lp->conns;
    if (lp->conns)
        lp->conns->prev = c;
    lp->conns = c;
    lp->n_conns++;
    atomic_fetch_add(&srv->counters.connections_open, 1);
    arm_timer(c, request_ms(c)); /* the handshake and the first request */
}

/* ---- reading a request ---------------------------------------------------------------------- */

static int rate_ok(srv_conn *c, srv_request *rq, const char *key)
{
    uint64_t wait = 0;
    if (fws_ratelimit_take(rq->route->limit, key, srv_now_ms(), &wait))
        return 1;
    char secs[24], msg[96];
    snprintf(secs, sizeof(secs), "%llu", (unsigned long long)((wait + 999) / 1000));
    snprintf(msg, sizeof(msg), "rate limit exceeded: retry in %s s", secs);
    atomic_fetch_add(&c->lp->srv->counters.rate_limited, 1);
    fws_resp_header(&rq->resp, "Retry-After", secs);
    reply_now(c, rq, 429, "rate_limited", msg, 0);
    return 0;
}

/* Device routes: the connection's verified certificate names the device. */
static int device_ok(srv_conn *c, srv_request *rq)
{
    if (!c->peer.present) {
        reply_now(c, rq, 401, "client_certificate_required",
                  "this endpoint needs a device client certificate", 0);
        return 0;
    }
    if (!c->peer.verified || c->peer.device_id[0] == '\0') {
        reply_now(c, rq, 403, "client_certificate_rejected", c->peer.problem, 0);
        return 0;
    }
    snprintf(rq->pub.device_id, sizeof(rq->pub.device_id), "%s", c->peer.device_id);
    return 1;
}

static void dispatch(srv_conn *c, srv_request *rq)
{
    fws_server *srv = c->lp->srv;
    c->state = CONN_BUSY;
    evtimer_del(c->timer);
    bufferevent_disable(c->bev, EV_READ);
    rq->pub.now = srv_now_s();
    if (c->peer.verified && rq->pub.device_id[0] == '\0')
        snprintf(rq->pub.device_id, sizeof(rq->pub.device_id), "%s", c->peer.device_id);
    atomic_fetch_add(&srv->inflight, 1);
    if (rq->route->on_loop) {
        srv_run_handler(srv, rq, NULL);
        srv_conn_finish(rq);
    } else {
        srv_workers_submit(srv, rq);
    }
}

static srv_request *request_new(srv_conn *c)
{
    srv_request *rq = calloc(1, sizeof(*rq));
    if (rq == NULL)
        return NULL;
    srv_resp_init(&rq->resp);
    rq->conn = c;
    rq->start_ms = now_us();
    rq->pub.srv = c->lp->srv;
    rq->pub.env = c->lp->srv->env;
    rq->pub.query = "";
    rq->pub.internal = rq;
    snprintf(rq->pub.remote_addr, sizeof(rq->pub.remote_addr), "%s", c->addr);
    return rq;
}

/* Everything decided from the head: route, body cap, authentication by certificate, rate. */
static int judge_head(srv_conn *c, srv_request *rq)
{
    fws_server *srv = c->lp->srv;
    http_error he;
    const char *query = "";
    if (http_target_split(rq->head.target, rq->path, sizeof(rq->path), &query, &he) != 0) {
        reply_now(c, rq, he.status, "bad_request", he.message, 1);
        return 0;
    }
    rq->pub.method = rq->head.method;
    rq->pub.path = rq->path;
    rq->pub.query = query;
    rq->head_only = strcmp(rq->head.method, "HEAD") == 0;
    c->keep_alive = rq->head.keep_alive;
    int status = 0;
    char allow[128], msg[FWS_SERVER_URI_MAX + 128];
    rq->route = srv_route_find(&srv->router, rq->head_only ? "GET" : rq->head.method, rq->path,
                               &rq->pub.rest, &status, allow, sizeof(allow));
    int has_body = rq->head.has_length && rq->head.content_length > 0;
    if (rq->route == NULL) {
        if (status == 405) {
            fws_resp_header(&rq->resp, "Allow", allow);
            snprintf(msg, sizeof(msg), "method %s not allowed here (allowed: %s)", rq->head.method,
                     allow);
            reply_now(c, rq, 405, "method_not_allowed", msg, has_body);
        } else {
            snprintf(msg, sizeof(msg), "no such endpoint: %s", rq->path);
            reply_now(c, rq, 404, "not_found", msg, has_body);
        }
        return 0;
    }
    size_t cap = rq->route->body_max ? rq->route->body_max : FWS_SERVER_BODY_DEFAULT;
    if (has_body && rq->head.content_length > cap) {
        snprintf(msg, sizeof(msg),
                 "request body of %llu bytes is over this endpoint's limit of %zu",
                 (unsigned long long)rq->head.content_length, cap);
        reply_now(c, rq, 413, "too_large", msg, 1);
        return 0;
    }
    if (!c->peer.done)
        srv_peer_load(&c->peer, bufferevent_openssl_get_ssl(c->bev));
    if (rq->route->auth == FWS_AUTH_DEVICE && !device_ok(c, rq))
        return 0;
    rq->pub.auth = rq->route->auth;
    if (rq->route->limit != NULL && rq->route->auth != FWS_AUTH_TOKEN &&
        !rate_ok(c, rq, rq->route->auth == FWS_AUTH_DEVICE ? rq->pub.device_id : c->addr))
        return 0;
    if (rq->head.expect_continue && has_body)
        bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    c->need_body = has_body ? rq->head.content_length : 0;
    return 1;
}

static void read_head(srv_conn *c, struct evbuffer *in)
{
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (end.pos < 0) {
        if (evbuffer_get_length(in) > FWS_SERVER_HEADER_MAX)
            reply_now(c, NULL, 431, "headers_too_large", "request head larger than 16384 bytes", 1);
        return;
    }
    size_t len = (size_t)end.pos + 4;
    if (len > FWS_SERVER_HEADER_MAX) {
        reply_now(c, NULL, 431, "headers_too_large", "request head larger than 16384 bytes", 1);
        return;
    }
    srv_request *rq = request_new(c);
    char *buf = rq ? malloc(len + 1) : NULL;
    if (buf == NULL) {
        free(rq);
        conn_close(c);
        return;
    }
    evbuffer_remove(in, buf, len);
    buf[len] = '\0';
    rq->head_buf = buf;
    http_error he;
    if (http_parse_head(buf, len, &rq->head, &he) != 0) {
        reply_now(c, rq, he.status, he.status == 431 ? "headers_too_large" : "bad_request",
                  he.message, 1);
        return;
    }
    if (!judge_head(c, rq))
        return;
    c->rq = rq;
    c->state = CONN_BODY;
}

static void read_body(srv_conn *c, struct evbuffer *in)
{
    srv_request *rq = c->rq;
    if (evbuffer_get_length(in) < c->need_body)
        return;
    uint8_t *body = malloc((size_t)c->need_body + 1);
    if (body == NULL) {
        reply_now(c, rq, 500, "internal", "out of memory", 1);
        return;
    }
    evbuffer_remove(in, body, (size_t)c->need_body);
    body[c->need_body] = '\0';
    rq->pub.body = body;
    rq->pub.body_len = (size_t)c->need_body;
    dispatch(c, rq);
}

static void conn_process(srv_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (c->state == CONN_IDLE) {
        if (evbuffer_get_length(in) == 0)
            return;
        if (c->lp->draining) {
            conn_close(c);
            return;
        }
        c->state = CONN_HEAD;
        arm_timer(c, request_ms(c)); /* the whole request must arrive in time */
    }
    if (c->state == CONN_HEAD)
        read_head(c, in);
    if (c->state == CONN_BODY)
        read_body(c, in);
}

void srv_conn_drain(srv_loop *lp)
{
    lp->draining = 1;
    if (lp->listener)
        evconnlistener_disable(lp->listener);
    srv_conn *c = lp->conns;
    while (c != NULL) {
        srv_conn *next = c->next;
        if (c->state == CONN_IDLE)
            conn_free(c);
        c = next;
    }
    if (lp->n_conns == 0)
        event_base_loopexit(lp->base, NULL);
}

void srv_conn_free_all(srv_loop *lp)
{
    while (lp->conns != NULL) {
        lp->conns->state = CONN_IDLE;
        conn_free(lp->conns);
    }
}

srv_loop *srv_conn_loop(const srv_request *rq)
{
    return rq->conn->lp;
}

void fws_req_client_chain(const fws_req *req, const uint8_t *const **certs, const size_t **lens,
                          size_t *n, int *verified)
{
    const srv_request *rq = req->internal;
    const srv_peer *p = &rq->conn->peer;
    *certs = (const uint8_t *const *)p->der;
    *lens = p->len;
    *n = p->n;
    *verified = p->verified;
}
