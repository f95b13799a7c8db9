/* Internals of the server module, shared by its files (src/server only). */
#ifndef FWSEAL_SERVER_INTERNAL_H
#define FWSEAL_SERVER_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <openssl/ssl.h>
#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/buffer.h>
#include <event2/listener.h>
#include "fwseal/server.h"
#include "fwseal/ledger.h"
#include "server/http.h"

#define SRV_PATH_MAX 4096
#define SRV_RESP_HEADERS_MAX 4096
#define SRV_INLINE_FILE_MAX (256u * 1024) /* files up to this are read whole; larger stream */
#define SRV_STREAM_CHUNK (128u * 1024)
#define SRV_AUDIT_MAX FWS_STORE_TEXT_MAX
#define SRV_CHAIN_MAX FWS_PKI_CHAIN_MAX

typedef struct srv_loop srv_loop;
typedef struct srv_conn srv_conn;

/* ---- logs (log.c) ---- */
void srv_logv(fws_server *srv, const char *level, const char *msg, va_list ap);

/* ---- metrics (metrics.c) ---- */
struct fws_metric {
    char name[160];
    char base[96];
    const char *help;
    int gauge;
    _Atomic int64_t value;
};

typedef struct srv_metrics {
    fws_metric items[FWS_SERVER_METRICS_MAX];
    size_t n;
} srv_metrics;

/* Text exposition of every metric, malloc'd. */
int srv_metrics_render(fws_server *srv, char **out, size_t *len);

/* ---- TLS (tls.c) ---- */
typedef struct srv_tls {
    pthread_mutex_t mu;
    SSL_CTX *ctx; /* the current context; new connections take a reference */
    char crl_path[SRV_PATH_MAX + 64];
    struct timespec crl_mtime;
    off_t crl_size;
} srv_tls;

fws_err srv_tls_init(fws_server *srv, fws_errbuf *eb);
void srv_tls_free(srv_tls *t);
/* A new SSL for a connection from the current context. */
SSL *srv_tls_new_ssl(srv_tls *t);
/* Reloads the CRL (a new context) when its file changed. */
void srv_tls_check_crl(fws_server *srv);

/* What a connection's client certificate says (worked out once per connection). */
typedef struct srv_peer {
    int done;
    int present;  /* the client sent a certificate */
    int verified; /* it verified against the environment's CA and CRL */
    char device_id[FWS_STORE_ID_MAX + 1];
    char problem[160]; /* why it cannot authenticate a device, when it cannot */
    size_t n;
    uint8_t *der[SRV_CHAIN_MAX];
    size_t len[SRV_CHAIN_MAX];
} srv_peer;
void srv_peer_load(srv_peer *p, SSL *ssl);
void srv_peer_free(srv_peer *p);

/* ---- responses (resp.c) ---- */
struct fws_resp {
    int status;
    char headers[SRV_RESP_HEADERS_MAX]; /* "Name: value\r\n"... */
    size_t headers_len;
    int headers_overflow;
    const char *content_type; /* static or owned_type */
    char owned_type[128];
    uint8_t *body;
    size_t body_len;
    int file_fd; /* >= 0: stream file_len bytes from file_off */
    uint64_t file_off, file_len;
    char audit[SRV_AUDIT_MAX + 1];
};
void srv_resp_init(fws_resp *r);
void srv_resp_reset(fws_resp *r);
/* Serialises the status line and headers into out. */
int srv_resp_head(const fws_resp *r, struct evbuffer *out, const char *date, int keep_alive,
                  int head_only);

/* ---- requests (conn.c) ---- */
typedef struct srv_request {
    fws_req pub;
    fws_resp resp;
    http_head head;
    char *head_buf;
    char path[FWS_SERVER_URI_MAX + 1];
    const fws_route *route;
    srv_conn *conn;
    int head_only;
    fws_err err;
    fws_errbuf eb;
    uint64_t start_ms;
    struct srv_request *next;
} srv_request;

/* ---- routes (router.c) ---- */
typedef struct srv_router {
    fws_route routes[FWS_SERVER_ROUTES_MAX];
    size_t n;
} srv_router;

/* Finds the route for method and path. Returns it, or NULL with *status 404 or 405 (and
 * allow filled with the allowed methods for 405). */
const fws_route *srv_route_find(const srv_router *r, const char *method, const char *path,
                                const char **rest, int *status, char *allow, size_t allow_cap);

/* Runs a request's handler on the current thread, with its authentication by token (needs
 * store), token rate limits, error mapping and audit. */
void srv_run_handler(fws_server *srv, srv_request *rq, fws_store *store);

/* ---- workers and tasks (workers.c) ---- */
typedef struct srv_job {
    struct srv_job *next;
    srv_request *rq; /* a request, or NULL for a task run */
    int task;
} srv_job;

typedef struct srv_task {
    char name[64];
    unsigned interval_ms;
    fws_task_fn fn;
    void *ctx;
    uint64_t next_ms;
    _Atomic int running;
} srv_task;

typedef struct srv_worker_arg {
    fws_server *srv;
    unsigned index;
} srv_worker_arg;

typedef struct srv_workers {
    srv_worker_arg args[FWS_SERVER_WORKERS_MAX];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    srv_job *head, *tail;
    int stopping;
    unsigned n;
    pthread_t threads[FWS_SERVER_WORKERS_MAX];
    fws_store *stores[FWS_SERVER_WORKERS_MAX];
    unsigned n_stores;
    int shared; /* SQLite: one handle for every worker, used under store_mu */
    pthread_mutex_t store_mu;
    unsigned started;
} srv_workers;

fws_err srv_workers_start(fws_server *srv, fws_errbuf *eb);
void srv_workers_stop(fws_server *srv);
/* Queues a request for a worker (it comes back through srv_loop_complete). */
void srv_workers_submit(fws_server *srv, srv_request *rq);
/* Submits the tasks that are due (called by the supervisor). */
void srv_tasks_tick(fws_server *srv, uint64_t now_ms);

/* ---- loops and connections (loop.c, conn.c) ---- */
struct srv_loop {
    fws_server *srv;
    unsigned index;
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *wake; /* completions and shutdown */
    pthread_t thread;
    pthread_mutex_t mu;
    srv_request *done_head, *done_tail; /* finished worker requests, linked by next */
    srv_conn *conns;                    /* doubly linked list of open connections */
    size_t n_conns;
    int draining;
    char date[64]; /* "Date: ..." cached for the current second */
    time_t date_sec;
};

fws_err srv_loops_create(fws_server *srv, fws_errbuf *eb);
fws_err srv_listen_parse(fws_server *srv, fws_errbuf *eb);
fws_err srv_loops_start(fws_server *srv, fws_errbuf *eb);
/* Asks each loop to drain; returns once every loop thread has returned. */
void srv_loops_drain(fws_server *srv);
void srv_loops_free(fws_server *srv);
/* From a worker: hands a finished request back to its loop. */
void srv_loop_complete(srv_loop *lp, srv_request *rq);
const char *srv_loop_date(srv_loop *lp);

/* conn.c */
void srv_conn_accept(srv_loop *lp, evutil_socket_t fd, const struct sockaddr *sa, int salen);
void srv_conn_finish(srv_request *rq); /* on the loop: write the response of rq */
void srv_conn_drain(srv_loop *lp);     /* close idle connections, stop reading new requests */
void srv_conn_free_all(srv_loop *lp);
srv_loop *srv_conn_loop(const srv_request *rq);

/* ---- ledger (ledger.c) ---- */
typedef struct srv_ledger {
    pthread_mutex_t mu;
    char dir[SRV_PATH_MAX + 16];
    int have_signer;
    fws_signer signer;
    fws_ledger *log;
    fws_sequencer *seq;
    _Atomic int users;
    uint64_t last_use_ms;
} srv_ledger;
fws_err srv_ledger_init(fws_server *srv, fws_errbuf *eb);
void srv_ledger_idle_check(fws_server *srv, uint64_t now_ms);
void srv_ledger_free(fws_server *srv);

/* ---- files (files.c) ---- */
/* Opens a file under root for rel (already a safe relative path) and fills resp (200 with
 * body or a stream; 206 for a Range; 404). cache_control may be NULL. */
fws_err srv_serve_file(fws_server *srv, const fws_req *req, fws_resp *resp, const char *root,
                       const char *rel, const char *content_type, const char *cache_control);
const char *srv_content_type(const char *name);

/* ---- built-in routes ---- */
fws_err srv_routes_files(fws_server *srv, fws_errbuf *eb);
fws_err srv_routes_est(fws_server *srv, fws_errbuf *eb);
fws_err srv_routes_api(fws_server *srv, fws_errbuf *eb);
fws_err srv_routes_ops(fws_server *srv, fws_errbuf *eb);
fws_err srv_refresh_init(fws_server *srv, fws_errbuf *eb);
/* Module registrations (modules.c). */
fws_err srv_modules_register(fws_server *srv, fws_errbuf *eb);

/* ---- the server ---- */
typedef struct srv_counters {
    _Atomic uint64_t requests[6]; /* by status class 1xx..5xx, [0] unused */
    _Atomic uint64_t connections_total;
    _Atomic int64_t connections_open;
    _Atomic uint64_t connections_refused;
    _Atomic uint64_t tls_failures;
    _Atomic uint64_t timeouts;
    _Atomic uint64_t rate_limited;
    _Atomic uint64_t duration_buckets[12];
    _Atomic uint64_t duration_sum_us;
} srv_counters;

#define SRV_DURATION_BUCKETS 11
extern const double srv_duration_le[SRV_DURATION_BUCKETS]; /* seconds */

typedef struct srv_hook {
    fws_shutdown_fn fn;
    void *ctx;
} srv_hook;

struct fws_server {
    fws_server_config cfg;
    char deploy[SRV_PATH_MAX];
    char repo_dir[SRV_PATH_MAX + 16];
    char web_dir[SRV_PATH_MAX];
    char store_url[FWS_STORE_PATH_MAX];
    char listen_host[FWS_SERVER_LISTEN_MAX];
    unsigned listen_port;
    fws_pki_env env;
    int have_pp;
    fws_passphrase pp;

    srv_router router;
    srv_metrics metrics;
    srv_counters counters;
    srv_tls tls;
    srv_workers workers;
    srv_task tasks[FWS_SERVER_TASKS_MAX];
    size_t n_tasks;
    srv_hook hooks[16];
    size_t n_hooks;
    int hooks_ran;
    srv_ledger ledger;

    pthread_mutex_t pki_mu;
    fws_pki *pki;
    int pki_issuer;
    fws_ratelimit *device_limit;

    srv_loop *loops;
    unsigned n_loops;
    int listening;
    _Atomic int stop;
    _Atomic int stopping;
    _Atomic long inflight;
    pthread_mutex_t log_mu;
    uint64_t started_ms;
};

uint64_t srv_now_ms(void);
int64_t srv_now_s(void);

#endif
