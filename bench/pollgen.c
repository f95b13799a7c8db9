/* fwseal-pollgen: a small mutual-TLS keep-alive load generator. It opens --connections TLS
 * connections (client certificate and key, server verified against --cacert), and on each
 * sends GET --path again and again over the same connection, until --duration seconds have
 * passed or each connection has made --requests requests. With --hold, every connection stays
 * open until all of them are done, so all are open at once. Prints one JSON object: requests,
 * errors, seconds, requests per second, latency percentiles in milliseconds, and the largest
 * number of connections open at once. Exit 0 when there was no error. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#define HIST_US 10        /* histogram resolution */
#define HIST_SLOTS 200000 /* up to 2 s */
#define MAX_THREADS 16
#define RESP_HEAD_MAX 16384

typedef struct opts {
    const char *host, *servername, *path, *cert, *key, *cacert;
    int port, connections, threads, requests, hold, resume;
    double duration;
} opts;

typedef struct worker worker;

typedef struct conn {
    worker *w;
    struct bufferevent *bev;
    int done_requests;
    int want_body; /* -1: reading the head */
    size_t body_left;
    int status;
    uint64_t sent_us;
    int finished;
    int connected;
} conn;

struct worker {
    const opts *o;
    struct event_base *base;
    SSL_CTX *ctx;
    conn *conns;
    int n;
    int active; /* connections not finished yet */
    uint64_t requests, errors;
    uint32_t *hist;
    uint64_t overflow;
    double max_ms;
    pthread_t thread;
};

static atomic_int g_open, g_max_open, g_unfinished, g_resumed;
static uint64_t g_deadline_us;
static SSL_SESSION *g_session; /* --resume: every connection resumes this session */
static char g_request[1024];
static size_t g_request_len;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Says why a connection failed (the first few times only). */
static void report(const conn *c, const char *what, const char *detail)
{
    static atomic_int told;
    if (atomic_fetch_add(&told, 1) < 8)
        fprintf(stderr, "pollgen: connection %s after %d requests: %s%s%s\n",
                c->connected ? "open" : "opening", c->done_requests, what, detail[0] ? ": " : "",
                detail);
}

static void finish(conn *c, int error)
{
    worker *w = c->w;
    if (c->finished)
        return;
    c->finished = 1;
    if (error)
        w->errors++;
    w->active--;
    atomic_fetch_sub(&g_unfinished, 1);
    if (!w->o->hold || error) {
        if (c->bev) {
            bufferevent_free(c->bev);
            c->bev = NULL;
            if (c->connected)
                atomic_fetch_sub(&g_open, 1);
        }
    }
    if (w->active == 0 && !w->o->hold)
        event_base_loopexit(w->base, NULL);
}

static void send_request(conn *c)
{
    c->want_body = -1;
    c->sent_us = now_us();
    bufferevent_write(c->bev, g_request, g_request_len);
}

static void record(worker *w, uint64_t us)
{
    uint64_t slot = us / HIST_US;
    if (slot < HIST_SLOTS)
        w->hist[slot]++;
    else
        w->overflow++;
    double ms = (double)us / 1000.0;
    if (ms > w->max_ms)
        w->max_ms = ms;
}

/* Parses "HTTP/1.1 200 ..." and Content-Length from a head. */
static int parse_head(const char *h, int *status, size_t *len)
{
    if (strncmp(h, "HTTP/1.", 7) != 0 || strlen(h) < 12)
        return -1;
    *status = atoi(h + 9);
    const char *p = h;
    *len = 0;
    while ((p = strchr(p, '\n')) != NULL) {
        p++;
        if (strncasecmp(p, "Content-Length:", 15) == 0) {
            *len = (size_t)strtoull(p + 15, NULL, 10);
            return 0;
        }
    }
    return -1;
}

static void next_or_finish(conn *c)
{
    worker *w = c->w;
    const opts *o = w->o;
    c->done_requests++;
    int more = o->requests > 0 ? c->done_requests < o->requests : now_us() < g_deadline_us;
    if (more)
        send_request(c);
    else
        finish(c, 0);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        if (c->want_body < 0) {
            struct evbuffer_ptr e = evbuffer_search(in, "\r\n\r\n", 4, NULL);
            if (e.pos < 0) {
                if (evbuffer_get_length(in) > RESP_HEAD_MAX)
                    finish(c, 1);
                return;
            }
            char head[RESP_HEAD_MAX + 1];
            size_t hl = (size_t)e.pos + 4;
            if (hl > RESP_HEAD_MAX) {
                finish(c, 1);
                return;
            }
            evbuffer_remove(in, head, hl);
            head[hl] = '\0';
            if (parse_head(head, &c->status, &c->body_left) != 0) {
                finish(c, 1);
                return;
            }
            c->want_body = 1;
        }
        size_t have = evbuffer_get_length(in);
        size_t take = have < c->body_left ? have : c->body_left;
        evbuffer_drain(in, take);
        c->body_left -= take;
        if (c->body_left > 0)
            return;
        c->w->requests++;
        record(c->w, now_us() - c->sent_us);
        if (c->status != 200) {
            char st[16];
            snprintf(st, sizeof(st), "%d", c->status);
            report(c, "HTTP status", st);
            finish(c, 1);
            return;
        }
        next_or_finish(c);
        if (c->finished || evbuffer_get_length(in) == 0)
            return;
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        c->connected = 1;
        if (SSL_session_reused(bufferevent_openssl_get_ssl(bev)))
            atomic_fetch_add(&g_resumed, 1);
        int open = atomic_fetch_add(&g_open, 1) + 1;
        int max = atomic_load(&g_max_open);
        while (open > max && !atomic_compare_exchange_weak(&g_max_open, &max, open))
            ;
        send_request(c);
        return;
    }
    if (!c->finished) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        char buf[256] = "";
        if (e != 0)
            ERR_error_string_n(e, buf, sizeof(buf));
        else if (what & BEV_EVENT_ERROR)
            snprintf(buf, sizeof(buf), "%s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        report(c,
               (what & BEV_EVENT_EOF)       ? "closed by the server"
               : (what & BEV_EVENT_TIMEOUT) ? "timeout"
                                            : "error",
               buf);
        finish(c, 1);
    }
}

static int conn_start(worker *w, conn *c, const struct sockaddr_in *sa)
{
    SSL *ssl = SSL_new(w->ctx);
    if (ssl == NULL)
        return -1;
    SSL_set_tlsext_host_name(ssl, w->o->servername);
    SSL_set1_host(ssl, w->o->servername);
    if (g_session != NULL)
        SSL_set_session(ssl, g_session);
    c->w = w;
    c->bev = bufferevent_openssl_socket_new(w->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                            BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL)
        return -1;
    bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(c->bev, (const struct sockaddr *)sa, sizeof(*sa)) != 0)
        return -1;
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

static void on_hold_check(evutil_socket_t fd, short what, void *arg)
{
    worker *w = arg;
    (void)fd;
    (void)what;
    if (atomic_load(&g_unfinished) == 0)
        event_base_loopexit(w->base, NULL);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)w->o->port)};
    inet_pton(AF_INET, w->o->host, &sa.sin_addr);
    for (int i = 0; i < w->n; i++)
        if (conn_start(w, &w->conns[i], &sa) != 0) {
            w->conns[i].w = w;
            finish(&w->conns[i], 1);
        }
    struct event *hold = NULL;
    if (w->o->hold) {
        struct timeval tv = {0, 20000};
        hold = event_new(w->base, -1, EV_PERSIST, on_hold_check, w);
        event_add(hold, &tv);
    }
    if (w->active > 0 || w->o->hold)
        event_base_dispatch(w->base);
    if (hold)
        event_free(hold);
    for (int i = 0; i < w->n; i++)
        if (w->conns[i].bev) {
            bufferevent_free(w->conns[i].bev);
            w->conns[i].bev = NULL;
        }
    return NULL;
}

static SSL_CTX *client_ctx(const opts *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if ((o->cert && SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1) ||
        (o->key && SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1) ||
        SSL_CTX_load_verify_locations(ctx, o->cacert, NULL) != 1) {
        ERR_print_errors_fp(stderr);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

/* --resume: one blocking connection and request first; its session (with the client
 * certificate the server verified) is then resumed by every connection. */
static SSL_SESSION *prime_session(const opts *o, SSL_CTX *ctx)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    inet_pton(AF_INET, o->host, &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    SSL *ssl = SSL_new(ctx);
    SSL_SESSION *sess = NULL;
    char buf[4096];
    if (fd < 0 || ssl == NULL || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto out;
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, o->servername);
    SSL_set1_host(ssl, o->servername);
    if (SSL_connect(ssl) != 1 || SSL_write(ssl, g_request, (int)g_request_len) <= 0)
        goto out;
    /* Read until the head has arrived: the session tickets come before it. */
    size_t got = 0;
    while (got < sizeof(buf) - 1) {
        int n = SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got));
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL)
            break;
    }
    sess = SSL_get1_session(ssl);
    if (sess != NULL && !SSL_SESSION_is_resumable(sess)) {
        SSL_SESSION_free(sess);
        sess = NULL;
    }
    SSL_shutdown(ssl); /* without a clean shutdown the session is marked not resumable */
out:
    if (ssl != NULL)
        SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    return sess;
}

static double percentile(const uint32_t *hist, uint64_t total, double q)
{
    if (total == 0)
        return 0;
    uint64_t want = (uint64_t)ceil(q * (double)total), seen = 0;
    for (size_t i = 0; i < HIST_SLOTS; i++) {
        seen += hist[i];
        if (seen >= want)
            return (double)((i + 1) * HIST_US) / 1000.0;
    }
    return (double)(HIST_SLOTS * HIST_US) / 1000.0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: fwseal-pollgen --port P --cacert CA [--cert C --key K] [--host 127.0.0.1]\n"
               "         [--servername localhost] [--path /repo/metadata/timestamp.json]\n"
               "         [--connections 64] [--threads 1] (--duration S | --requests N) [--hold]\n"
               "         [--resume]\n");
}

static int parse(int argc, char **argv, opts *o)
{
    static const struct option lo[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"servername", required_argument, NULL, 's'},
        {"path", required_argument, NULL, 'P'},
        {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},
        {"cacert", required_argument, NULL, 'a'},
        {"connections", required_argument, NULL, 'n'},
        {"threads", required_argument, NULL, 't'},
        {"duration", required_argument, NULL, 'd'},
        {"requests", required_argument, NULL, 'r'},
        {"hold", no_argument, NULL, 'h'},
        {"resume", no_argument, NULL, 'R'},
        {"help", no_argument, NULL, '?'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'H':
            o->host = optarg;
            break;
        case 'p':
            o->port = atoi(optarg);
            break;
        case 's':
            o->servername = optarg;
            break;
        case 'P':
            o->path = optarg;
            break;
        case 'c':
            o->cert = optarg;
            break;
        case 'k':
            o->key = optarg;
            break;
        case 'a':
            o->cacert = optarg;
            break;
        case 'n':
            o->connections = atoi(optarg);
            break;
        case 't':
            o->threads = atoi(optarg);
            break;
        case 'd':
            o->duration = atof(optarg);
            break;
        case 'r':
            o->requests = atoi(optarg);
            break;
        case 'h':
            o->hold = 1;
            break;
        case 'R':
            o->resume = 1;
            break;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (o->port <= 0 || o->port > 65535 || o->cacert == NULL || o->connections < 1 ||
        o->connections > 100000 || o->threads < 1 || o->threads > MAX_THREADS ||
        (o->duration <= 0 && o->requests <= 0) || strlen(o->path) > 512) {
        usage(stderr);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts o = {.host = "127.0.0.1",
              .servername = "localhost",
              .path = "/repo/metadata/timestamp.json",
              .connections = 64,
              .threads = 1};
    if (parse(argc, argv, &o) != 0)
        return 2;
    g_request_len = (size_t)snprintf(
        g_request, sizeof(g_request),
        "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: fwseal-pollgen\r\n\r\n", o.path, o.servername);
    SSL_CTX *ctx = client_ctx(&o);
    if (ctx == NULL)
        return 2;
    if (o.resume && (g_session = prime_session(&o, ctx)) == NULL) {
        fprintf(stderr, "pollgen: --resume: no resumable session from the server\n");
        return 2;
    }
    worker ws[MAX_THREADS];
    memset(ws, 0, sizeof(ws));
    atomic_store(&g_unfinished, o.connections);
    uint64_t start = now_us();
    g_deadline_us = start + (uint64_t)(o.duration * 1e6);
    for (int t = 0; t < o.threads; t++) {
        worker *w = &ws[t];
        w->o = &o;
        w->ctx = ctx;
        w->n = o.connections / o.threads + (t < o.connections % o.threads);
        w->active = w->n;
        w->base = event_base_new();
        w->conns = calloc((size_t)w->n + 1, sizeof(conn));
        w->hist = calloc(HIST_SLOTS, sizeof(uint32_t));
        if (w->base == NULL || w->conns == NULL || w->hist == NULL)
            return 2;
        pthread_create(&w->thread, NULL, worker_main, w);
    }
    uint64_t requests = 0, errors = 0, overflow = 0;
    double max_ms = 0;
    uint32_t *hist = calloc(HIST_SLOTS, sizeof(uint32_t));
    for (int t = 0; t < o.threads; t++) {
        worker *w = &ws[t];
        pthread_join(w->thread, NULL);
        requests += w->requests;
        errors += w->errors;
        overflow += w->overflow;
        if (w->max_ms > max_ms)
            max_ms = w->max_ms;
        for (size_t i = 0; hist && i < HIST_SLOTS; i++)
            hist[i] += w->hist[i];
        free(w->hist);
        free(w->conns);
        event_base_free(w->base);
    }
    double secs = (double)(now_us() - start) / 1e6;
    printf("{\"requests\": %llu, \"errors\": %llu, \"seconds\": %.3f, \"rps\": %.1f, "
           "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, \"max_open\": %d, "
           "\"connections\": %d, \"resumed\": %d}\n",
           (unsigned long long)requests, (unsigned long long)errors, secs,
           secs > 0 ? (double)requests / secs : 0, percentile(hist, requests - overflow, 0.50),
           percentile(hist, requests - overflow, 0.99), max_ms, atomic_load(&g_max_open),
           o.connections, atomic_load(&g_resumed));
    free(hist);
    SSL_SESSION_free(g_session);
    SSL_CTX_free(ctx);
    return errors == 0 ? 0 : 1;
}
