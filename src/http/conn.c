/* Connections of the HTTP client: time limits, name resolution, non-blocking connect, and
 * reads and writes that wait with poll() for at most the time left. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "http/internal.h"

/* ---- time limits ------------------------------------------------------------------------- */

int64_t http_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void http_timer_start(http_timer *t, unsigned timeout_ms, long min_rate, long stall_s)
{
    int64_t now = http_now_ms();
    t->timeout_ms = timeout_ms;
    t->deadline_ms = now + (int64_t)timeout_ms;
    t->min_rate = min_rate > 0 ? min_rate : 0;
    t->stall_s = stall_s > 0 ? stall_s : 30;
    t->window_start = now;
    t->window_bytes = 0;
    t->failure = FWS_HTTP_FAIL_NONE;
}

void http_timer_progress(http_timer *t, size_t n)
{
    t->window_bytes += n;
}

static fws_err timed_out(http_timer *t, const char *what, fws_errbuf *eb)
{
    t->failure = FWS_HTTP_FAIL_TIMEOUT;
    if (t->timeout_ms % 1000 == 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: timed out after %u s", what, t->timeout_ms / 1000);
    return fws_errf(eb, FWS_ERR_IO, "%s: timed out after %u ms", what, t->timeout_ms);
}

/* Closes the stall window when it is over: an error when too few bytes moved in it. */
static fws_err check_stall(http_timer *t, int64_t now, const char *what, fws_errbuf *eb)
{
    int64_t window_ms = (int64_t)t->stall_s * 1000;
    if (t->min_rate == 0 || now - t->window_start < window_ms)
        return FWS_OK;
    if (t->window_bytes < (uint64_t)t->min_rate * (uint64_t)t->stall_s) {
        t->failure = FWS_HTTP_FAIL_STALL;
        return fws_errf(eb, FWS_ERR_IO, "%s: stalled: less than %ld bytes/s for %ld s", what,
                        t->min_rate, t->stall_s);
    }
    t->window_start = now;
    t->window_bytes = 0;
    return FWS_OK;
}

fws_err http_timer_wait(http_timer *t, int fd, short events, int64_t limit_ms, int *limit_hit,
                        const char *what, fws_errbuf *eb)
{
    *limit_hit = 0;
    for (;;) {
        int64_t now = http_now_ms();
        fws_err err = check_stall(t, now, what, eb);
        if (err != FWS_OK)
            return err;
        if (now >= t->deadline_ms)
            return timed_out(t, what, eb);
        if (limit_ms >= 0 && now >= limit_ms) {
            *limit_hit = 1;
            return FWS_OK;
        }
        int64_t until = t->deadline_ms;
        if (limit_ms >= 0 && limit_ms < until)
            until = limit_ms;
        if (t->min_rate > 0 && t->window_start + (int64_t)t->stall_s * 1000 < until)
            until = t->window_start + (int64_t)t->stall_s * 1000;
        int64_t wait = until - now;
        struct pollfd pfd = {fd, events, 0};
        int r = poll(&pfd, 1, wait > 0 ? (int)(wait > 60000 ? 60000 : wait) : 0);
        if (r < 0 && errno != EINTR)
            return fws_errf(eb, FWS_ERR_IO, "poll: %s", strerror(errno));
        if (r > 0)
            return FWS_OK; /* ready, or an error the next call reports */
    }
}

/* ---- connecting --------------------------------------------------------------------------- */

void http_conn_init(http_conn *c)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

static void addr_text(const struct addrinfo *ai, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN + 1] = "?", port[8] = "?";
    getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), port, sizeof(port),
                NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(buf, cap, ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* One address: a non-blocking connect that waits at most connect_ms. -1 and a message in
 * why on failure (the caller tries the next address). */
static int connect_one(const struct addrinfo *ai, unsigned connect_ms, http_timer *t, char *why,
                       size_t why_cap, int *timed_out, const char *what, fws_errbuf *eb,
                       fws_err *fatal)
{
    char addr[INET6_ADDRSTRLEN + 16];
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    int e = fd < 0 ? errno : 0, hit = 0, one = 1;
    addr_text(ai, addr, sizeof(addr));
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        e = errno;
    if (fd >= 0 && e == EINPROGRESS) {
        socklen_t len = sizeof(e);
        fws_err err = http_timer_wait(t, fd, POLLOUT, http_now_ms() + connect_ms, &hit, what, eb);
        if (err != FWS_OK) {
            close(fd);
            *fatal = err;
            return -1;
        }
        if (hit)
            e = ETIMEDOUT;
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
            e = errno;
    }
    if (e != 0) {
        *timed_out |= hit;
        if (hit)
            snprintf(why, why_cap, "connect to %s: timed out after %u ms", addr, connect_ms);
        else
            snprintf(why, why_cap, "connect to %s: %s", addr, strerror(e));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static fws_err connect_any(http_conn *c, const http_url *u, unsigned connect_ms, http_timer *t,
                           const char *what, fws_errbuf *eb)
{
    struct addrinfo hints, *res = NULL;
    char port[8], why[FWS_ERRBUF_SIZE] = "no address";
    fws_err fatal = FWS_OK;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (u->ip ? AI_NUMERICHOST : 0);
    snprintf(port, sizeof(port), "%u", u->port);
    int rc = getaddrinfo(u->host, port, &hints, &res);
    if (rc != 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: cannot resolve %s: %s", what, u->host,
                        rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
    int timed_out = 0;
    for (const struct addrinfo *ai = res; ai != NULL && c->fd < 0 && fatal == FWS_OK;
         ai = ai->ai_next) {
        c->fd = connect_one(ai, connect_ms, t, why, sizeof(why), &timed_out, what, eb, &fatal);
    }
    freeaddrinfo(res);
    if (fatal != FWS_OK)
        return fatal;
    if (c->fd < 0) {
        t->failure = timed_out ? FWS_HTTP_FAIL_TIMEOUT : FWS_HTTP_FAIL_OTHER;
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", what, why);
    }
    return FWS_OK;
}

fws_err http_conn_open(http_conn *c, const http_url *u, http_tls *tls, unsigned connect_ms,
                       http_timer *t, const char *what, fws_errbuf *eb)
{
    http_conn_init(c);
    fws_err err = connect_any(c, u, connect_ms, t, what, eb);
    if (err == FWS_OK && u->tls)
        err = http_tls_connect(tls, c, u, t, what, eb);
    if (err != FWS_OK) {
        http_conn_close(c);
        return err;
    }
    c->tls = u->tls;
    snprintf(c->host, sizeof(c->host), "%s", u->host);
    c->port = u->port;
    return FWS_OK;
}

/* ---- reading and writing ----------------------------------------------------------------- */

fws_err http_conn_write(http_conn *c, const uint8_t *p, size_t n, http_timer *t, const char *what,
                        fws_errbuf *eb)
{
    if (c->ssl != NULL)
        return http_tls_write(c, p, n, t, what, eb);
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        int hit = 0;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            fws_err err = http_timer_wait(t, c->fd, POLLOUT, -1, &hit, what, eb);
            if (err != FWS_OK)
                return err;
            continue;
        }
        if (w < 0)
            return fws_errf(eb, FWS_ERR_IO, "%s: send: %s", what, strerror(errno));
        http_timer_progress(t, (size_t)w);
        p += w;
        n -= (size_t)w;
    }
    return FWS_OK;
}

fws_err http_conn_read(http_conn *c, uint8_t *buf, size_t cap, size_t *got, http_timer *t,
                       const char *what, fws_errbuf *eb)
{
    if (c->ssl != NULL)
        return http_tls_read(c, buf, cap, got, t, what, eb);
    for (;;) {
        ssize_t r = recv(c->fd, buf, cap, 0);
        int hit = 0;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            fws_err err = http_timer_wait(t, c->fd, POLLIN, -1, &hit, what, eb);
            if (err != FWS_OK)
                return err;
            continue;
        }
        if (r < 0)
            return fws_errf(eb, FWS_ERR_IO, "%s: receive: %s", what, strerror(errno));
        http_timer_progress(t, (size_t)r);
        *got = (size_t)r;
        return FWS_OK;
    }
}

int http_conn_stale(const http_conn *c)
{
    struct pollfd pfd = {c->fd, POLLIN, 0};
    if (c->fd < 0)
        return 1;
    return poll(&pfd, 1, 0) != 0; /* readable while idle: closed, or bytes nobody asked for */
}

void http_conn_close(http_conn *c)
{
    if (c->ssl != NULL)
        http_tls_close(c);
    if (c->fd >= 0)
        close(c->fd);
    http_conn_init(c);
}
