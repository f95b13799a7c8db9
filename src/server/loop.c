/* Event loops: one thread per loop, each with its own SO_REUSEPORT listening socket on the
 * shared address; completions from workers come back through a per-loop wake event. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "server/internal.h"

uint64_t srv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t srv_now_s(void)
{
    return (int64_t)time(NULL);
}

const char *srv_loop_date(srv_loop *lp)
{
    time_t now = time(NULL);
    if (now != lp->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(lp->date, sizeof(lp->date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        lp->date_sec = now;
    }
    return lp->date;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    (void)l;
    srv_conn_accept(arg, fd, sa, salen);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    srv_loop *lp = arg;
    int e = EVUTIL_SOCKET_ERROR();
    (void)l;
    /* Out of descriptors or memory: back off by not accepting until the next wake. */
    fws_server_log(lp->srv, "warn", "accept failed", "error", evutil_socket_error_to_string(e),
                   NULL);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    srv_loop *lp = arg;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&lp->mu);
    srv_request *rq = lp->done_head;
    lp->done_head = lp->done_tail = NULL;
    pthread_mutex_unlock(&lp->mu);
    while (rq != NULL) {
        srv_request *next = rq->next;
        srv_conn_finish(rq);
        rq = next;
    }
    if (atomic_load(&lp->srv->stopping) && !lp->draining)
        srv_conn_drain(lp);
}

void srv_loop_complete(srv_loop *lp, srv_request *rq)
{
    rq->next = NULL;
    pthread_mutex_lock(&lp->mu);
    if (lp->done_tail != NULL)
        lp->done_tail->next = rq;
    else
        lp->done_head = rq;
    lp->done_tail = rq;
    pthread_mutex_unlock(&lp->mu);
    event_active(lp->wake, EV_READ, 0);
}

/* Splits "host:port" or "[v6]:port". */
static fws_err parse_listen(const char *spec, char *host, size_t cap, unsigned *port,
                            fws_errbuf *eb)
{
    const char *colon;
    size_t hl;
    const char *h = spec;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || close[1] != ':')
            return fws_errf(eb, FWS_ERR_ARG, "--listen %s: expected [ADDRESS]:PORT", spec);
        h = spec + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(spec, ':');
        if (colon == NULL)
            return fws_errf(eb, FWS_ERR_ARG, "--listen %s: expected HOST:PORT", spec);
        hl = (size_t)(colon - spec);
    }
    char *end = NULL;
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || p > 65535)
        return fws_errf(eb, FWS_ERR_ARG, "--listen %s: bad port", spec);
    if (hl == 0 || hl >= cap)
        return fws_errf(eb, FWS_ERR_ARG, "--listen %s: bad host", spec);
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (unsigned)p;
    return FWS_OK;
}

static fws_err bind_one(fws_server *srv, const struct addrinfo *ai, unsigned port,
                        evutil_socket_t *out, fws_errbuf *eb)
{
    struct sockaddr_storage ss;
    memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, ai->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
        int e = errno;
        close(fd);
        return fws_errf(eb, FWS_ERR_IO, "cannot listen on %s: %s", srv->cfg.listen, strerror(e));
    }
    *out = fd;
    return FWS_OK;
}

static unsigned bound_port(evutil_socket_t fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

fws_err srv_loops_create(fws_server *srv, fws_errbuf *eb)
{
    srv->loops = calloc(srv->n_loops, sizeof(srv_loop));
    if (srv->loops == NULL)
        return FWS_ERR_NOMEM;
    for (unsigned i = 0; i < srv->n_loops; i++) {
        srv_loop *lp = &srv->loops[i];
        lp->srv = srv;
        lp->index = i;
        pthread_mutex_init(&lp->mu, NULL);
        lp->base = event_base_new();
        if (lp->base == NULL)
            return fws_errf(eb, FWS_ERR_NOMEM, "cannot create an event loop");
        lp->wake = event_new(lp->base, -1, 0, on_wake, lp);
        if (lp->wake == NULL)
            return FWS_ERR_NOMEM;
    }
    return FWS_OK;
}

/* Checks the listen address (at configuration time, so --check-config sees it). */
fws_err srv_listen_parse(fws_server *srv, fws_errbuf *eb)
{
    const char *spec = srv->cfg.listen ? srv->cfg.listen : "127.0.0.1:8443";
    fws_err err =
        parse_listen(spec, srv->listen_host, sizeof(srv->listen_host), &srv->listen_port, eb);
    if (err != FWS_OK)
        return err;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(srv->listen_host, NULL, &hints, &ai);
    if (rc != 0)
        return fws_errf(eb, FWS_ERR_ARG, "--listen %s: %s", spec, gai_strerror(rc));
    freeaddrinfo(ai);
    return FWS_OK;
}

fws_err fws_server_listen(fws_server *srv, fws_errbuf *eb)
{
    const char *spec = srv->cfg.listen ? srv->cfg.listen : "127.0.0.1:8443";
    unsigned port = srv->listen_port;
    fws_err err = FWS_OK;
    if (srv->listening)
        return fws_errf(eb, FWS_ERR_STATE, "already listening");
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char ps[8];
    snprintf(ps, sizeof(ps), "%u", port);
    int rc = getaddrinfo(srv->listen_host, ps, &hints, &ai);
    if (rc != 0)
        return fws_errf(eb, FWS_ERR_ARG, "--listen %s: %s", spec, gai_strerror(rc));
    for (unsigned i = 0; i < srv->n_loops && err == FWS_OK; i++) {
        evutil_socket_t fd = -1;
        err = bind_one(srv, ai, port, &fd, eb);
        if (err != FWS_OK)
            break;
        if (port == 0)
            port = bound_port(fd);
        srv_loop *lp = &srv->loops[i];
        lp->listener = evconnlistener_new(lp->base, on_accept, lp,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
        if (lp->listener == NULL) {
            close(fd);
            err = fws_errf(eb, FWS_ERR_IO, "cannot watch the listening socket");
            break;
        }
        evconnlistener_set_error_cb(lp->listener, on_accept_error);
    }
    freeaddrinfo(ai);
    if (err != FWS_OK)
        return err;
    srv->listen_port = port;
    srv->listening = 1;
    return FWS_OK;
}

unsigned fws_server_port(const fws_server *srv)
{
    return srv->listen_port;
}

static void *loop_main(void *arg)
{
    srv_loop *lp = arg;
    event_base_dispatch(lp->base);
    return NULL;
}

fws_err srv_loops_start(fws_server *srv, fws_errbuf *eb)
{
    for (unsigned i = 0; i < srv->n_loops; i++) {
        /* A persistent timer keeps the loop alive while it has nothing else to watch. */
        if (pthread_create(&srv->loops[i].thread, NULL, loop_main, &srv->loops[i]) != 0) {
            for (unsigned k = 0; k < i; k++) {
                event_base_loopbreak(srv->loops[k].base);
                pthread_join(srv->loops[k].thread, NULL);
            }
            return fws_errf(eb, FWS_ERR_NOMEM, "cannot start event loop threads");
        }
    }
    return FWS_OK;
}

static void on_shutdown_timeout(evutil_socket_t fd, short what, void *arg)
{
    srv_loop *lp = arg;
    (void)fd;
    (void)what;
    fws_server_log(lp->srv, "warn", "shutdown timeout: closing connections still open", NULL);
    event_base_loopbreak(lp->base);
}

void srv_loops_drain(fws_server *srv)
{
    unsigned ms = srv->cfg.shutdown_timeout_ms ? srv->cfg.shutdown_timeout_ms : 10000;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    for (unsigned i = 0; i < srv->n_loops; i++) {
        srv_loop *lp = &srv->loops[i];
        event_base_once(lp->base, -1, EV_TIMEOUT, on_shutdown_timeout, lp, &tv);
        event_active(lp->wake, EV_READ, 0);
    }
    for (unsigned i = 0; i < srv->n_loops; i++)
        pthread_join(srv->loops[i].thread, NULL);
}

void srv_loops_free(fws_server *srv)
{
    if (srv->loops == NULL)
        return;
    for (unsigned i = 0; i < srv->n_loops; i++) {
        srv_loop *lp = &srv->loops[i];
        /* Requests that came back after the loop stopped. */
        srv_request *rq = lp->done_head;
        lp->done_head = lp->done_tail = NULL;
        while (rq != NULL) {
            srv_request *next = rq->next;
            srv_conn_finish(rq);
            rq = next;
        }
        srv_conn_free_all(lp);
        if (lp->listener)
            evconnlistener_free(lp->listener);
        if (lp->wake)
            event_free(lp->wake);
        if (lp->base)
            event_base_free(lp->base);
        pthread_mutex_destroy(&lp->mu);
    }
    free(srv->loops);
    srv->loops = NULL;
}
