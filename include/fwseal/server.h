/* `fwseal serve`: the HTTPS engine (libevent 2.1, OpenSSL 3) and the routing API that every
 * endpoint module plugs into. docs/SERVER.md describes the endpoints and operations.
 *
 * Threads
 *   loops    --threads N event loops (default: one per core), each with its own listening
 *            socket bound to the same address with SO_REUSEPORT; the kernel spreads new
 *            connections over them. A connection stays on the loop that accepted it. TLS, the
 *            HTTP/1.1 parser, routing, authentication by client certificate, rate limits,
 *            static files and every route with on_loop = 1 run there.
 *   workers  a small pool (default 4) that runs every route with on_loop = 0 and every
 *            background task. With PostgreSQL each worker owns one store handle (store.h: one
 *            handle per thread); with SQLite the workers share one handle and take turns (the
 *            database has a single writer anyway). The handle is passed in fws_req.store and
 *            is the caller's alone for the duration of the handler. A finished request is
 *            handed back to its loop,
 *            which writes the response. Anything that touches the store, the ledger, the PKI
 *            inventory or signing keys must run on a worker.
 *
 * Writing a handler
 *   A handler is synchronous: it reads the request, fills the response (fws_resp_*) and
 *   returns. Returning an error without having set a status makes the server answer a JSON
 *   error whose status follows the code (fws_server_status_for): FWS_ERR_NOT_FOUND 404,
 *   FWS_ERR_FORMAT/SCHEMA/ARG 400, FWS_ERR_EXISTS/STATE 409, FWS_ERR_TOO_BIG 413, others 500,
 *   with eb's message (or the code's description). Handlers never see a request that failed
 *   its route's authentication, role check, rate limit or body cap: the server has answered.
 *
 *   static fws_err get_thing(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb) {
 *       fws_store_device d;
 *       fws_err err = fws_store_device_get(req->store, req->device_id, &d, eb);
 *       if (err != FWS_OK)
 *           return err;
 *       return fws_resp_json(resp, 200, json_pack("{s:s}", "status", ...));
 *   }
 *   static const fws_route routes[] = {
 *       {.method = "GET", .path = "/api/v1/things/", .match = FWS_MATCH_PREFIX,
 *        .auth = FWS_AUTH_TOKEN, .roles = FWS_ROLES_READ, .fn = get_thing},
 *   };
 *   err = fws_server_add_routes(srv, routes, 1, eb);   (before fws_server_run)
 *
 * Error bodies are always {"error": {"status": N, "code": "short_code", "message": "..."}}.
 *
 * Modules
 *   An endpoint module (fleet, dashboard API, ...) exposes one registration function
 *       fws_err fws_<module>_register(fws_server *srv, fws_errbuf *eb);
 *   that adds its routes, tasks, metrics and shutdown hooks. fws_server_new calls the
 *   built-in registrations and then every function listed in src/server/modules.c (one line
 *   per module), so `fwseal serve` and the tests get every module without other changes.
 */
#ifndef FWSEAL_SERVER_H
#define FWSEAL_SERVER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"
#include "fwseal/crypto.h"
#include "fwseal/pki.h"
#include "fwseal/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits and defaults -------------------------------------------------------------------- */

#define FWS_SERVER_HEADER_MAX (16u * 1024)        /* request line + headers: 431 beyond */
#define FWS_SERVER_HEADERS_MAX 64                 /* header fields in one request: 431 beyond */
#define FWS_SERVER_URI_MAX 4096                   /* request target: 414 beyond */
#define FWS_SERVER_BODY_DEFAULT (64u * 1024)      /* a route's body cap when it sets none: 413 */
#define FWS_SERVER_BODY_LIMIT (16u * 1024 * 1024) /* the largest body cap a route may set */
#define FWS_SERVER_THREADS_MAX 64
#define FWS_SERVER_WORKERS_MAX 64
#define FWS_SERVER_ROUTES_MAX 256
#define FWS_SERVER_TASKS_MAX 32
#define FWS_SERVER_METRICS_MAX 128
#define FWS_SERVER_LISTEN_MAX 256

/* ---- configuration ------------------------------------------------------------------------- */

typedef enum fws_log_format {
    FWS_LOG_TEXT = 0, /* "2026-11-21T06:00:00Z info msg key=value ..." */
    FWS_LOG_JSON = 1, /* one JSON object a line: {"time", "level", "msg", fields...} */
} fws_log_format;

typedef struct fws_server_config {
    const char *deploy;       /* the deployment directory (required) */
    const char *listen;       /* "HOST:PORT", "[V6]:PORT"; NULL: "127.0.0.1:8443"; port 0: any */
    const char *store;        /* --store argument (fws_store_resolve); NULL: the SQLite default */
    const char *web_dir;      /* the dashboard's static files; NULL: the built-in default */
    fws_pki_env env;          /* device CA environment; 0: prod if it has a CA, else the only one */
    unsigned threads;         /* event loops; 0: one per online core */
    unsigned workers;         /* worker threads; 0: 4 */
    unsigned max_connections; /* 0: 10000; beyond, new connections are closed at once */
    unsigned idle_timeout_ms; /* keep-alive idle and stalled writes; 0: 60000 */
    unsigned request_timeout_ms;  /* TLS handshake + a whole request must arrive within; 0: 10000 */
    unsigned shutdown_timeout_ms; /* SIGTERM: how long in-flight requests may take; 0: 10000 */
    int allow_tls12;              /* 1: accept TLS 1.2 as well (default: TLS 1.3 only) */
    int access_log;               /* 1: one log line per request */
    fws_log_format log_format;
    const fws_passphrase *pp;    /* unlocks the CA issuer, timestamp and ledger keys (optional:
                                    without it EST enrollment, refresh and /log/add are off) */
    unsigned refresh_interval_s; /* how often the timestamp refresh task runs; 0: 60 */
    double device_rate;          /* requests per second per device on rate-limited routes; 0: 1 */
    unsigned device_burst;       /* bucket size; 0: 10 */
    int repo_device_auth;        /* 1: /repo/... needs a device certificate like device routes
                                    (default: public, as TUF metadata and targets are signed) */
} fws_server_config;

typedef struct fws_server fws_server;

/* Checks the configuration and loads everything the server needs (deployment, server
 * certificate and key, device CA and CRL, store, ledger, keys behind pp), without listening.
 * Built-in routes (repository, ledger, EST, CRL, operator API, metrics, health, dashboard) are
 * registered. Every failure names what and where. */
fws_err fws_server_new(const fws_server_config *cfg, fws_server **out,
                       fws_errbuf *eb) FWS_MUST_CHECK;
/* Binds the listeners (port 0 picks one: fws_server_port tells it). */
fws_err fws_server_listen(fws_server *srv, fws_errbuf *eb) FWS_MUST_CHECK;
/* The bound port (after fws_server_listen). */
unsigned fws_server_port(const fws_server *srv);
/* Runs the loops, workers and tasks until fws_server_stop (or SIGTERM/SIGINT when
 * handle_signals is set), then shuts down gracefully: listeners close, requests in flight are
 * answered (with "Connection: close"), idle connections close, tasks finish, the ledger
 * sequencer commits its last batch and publishes a checkpoint. */
fws_err fws_server_run(fws_server *srv, int handle_signals, fws_errbuf *eb) FWS_MUST_CHECK;
/* Async-signal-safe and thread-safe: asks the server to shut down. */
void fws_server_stop(fws_server *srv);
void fws_server_free(fws_server *srv); /* NULL is fine */

/* The deployment's server certificate: DEPLOY/server/server.crt (leaf then the environment's
 * intermediate), server.key (P-256, PKCS#8 PEM, mode 0600, unencrypted so the service starts
 * unattended) and pin (the key's "sha256//BASE64" SPKI pin, copied into device bundles). The
 * leaf is issued by the environment's intermediate CA (its key unlocked by pp), for the DNS
 * names and IP addresses given (localhost, 127.0.0.1 and ::1 are always included), valid
 * `days` (0: 397). An existing server.key is kept, so the pin survives renewal. */
typedef struct fws_server_cert_req {
    const char *deploy;
    fws_pki_env env;
    const char *const *names; /* DNS names or IP literals */
    size_t n_names;
    unsigned days;
    const fws_passphrase *pp;
    int64_t now;
} fws_server_cert_req;
fws_err fws_server_cert_issue(const fws_server_cert_req *req, char pin[FWS_PKI_PIN_LEN],
                              int64_t *not_after, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- routing ------------------------------------------------------------------------------- */

typedef enum fws_auth {
    FWS_AUTH_NONE = 0,   /* public */
    FWS_AUTH_DEVICE = 1, /* a client certificate from this environment's device CA, verified,
                            not revoked (CRL), not expired; req->device_id comes from its SAN
                            URI urn:fwseal:device:<id>. 401 without one, 403 for a bad one. */
    FWS_AUTH_TOKEN = 2,  /* "Authorization: Bearer fwst_..." (an operator token) whose role is
                            in the route's role set. 401 missing/unknown/revoked/expired, 403
                            for a role outside the set. Token routes always run on a worker. */
} fws_auth;

#define FWS_ROLE_BIT(r) (1u << (unsigned)(r))
#define FWS_ROLES_ANY                                                                              \
    (FWS_ROLE_BIT(FWS_STORE_ROLE_ADMIN) | FWS_ROLE_BIT(FWS_STORE_ROLE_RELEASE) |                   \
     FWS_ROLE_BIT(FWS_STORE_ROLE_FACTORY) | FWS_ROLE_BIT(FWS_STORE_ROLE_AUDITOR))
#define FWS_ROLES_ADMIN FWS_ROLE_BIT(FWS_STORE_ROLE_ADMIN)
#define FWS_ROLES_READ FWS_ROLES_ANY /* every role may read */

typedef enum fws_match {
    FWS_MATCH_EXACT = 0,  /* the path equals route.path */
    FWS_MATCH_PREFIX = 1, /* the path starts with route.path (which should end in '/');
                             req->rest is what follows. The longest matching prefix wins. */
} fws_match;

typedef struct fws_ratelimit fws_ratelimit;
typedef struct fws_req fws_req;
typedef struct fws_resp fws_resp;

typedef fws_err (*fws_route_fn)(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb);

typedef struct fws_route {
    const char *method; /* "GET" (also answers HEAD), "POST", "PUT", "DELETE", ... */
    const char *path;   /* absolute path, e.g. "/api/v1/devices/" */
    fws_match match;
    fws_auth auth;
    unsigned roles;       /* FWS_AUTH_TOKEN: FWS_ROLE_BIT set of roles allowed */
    int on_loop;          /* 1: short and non-blocking (no store, ledger, PKI): runs on the loop */
    size_t body_max;      /* 0: FWS_SERVER_BODY_DEFAULT; at most FWS_SERVER_BODY_LIMIT */
    fws_ratelimit *limit; /* optional: 429 with Retry-After when the caller's bucket is empty;
                             keyed by device ID (device routes), token ID (token routes) or
                             the client address (public routes) */
    const char *action;   /* token routes that change something: the audit action name, e.g.
                             "rollout.create". Every such request is written to the audit trail
                             (token, action, path, status, fws_resp_audit detail). NULL for
                             reads: not audited. */
    fws_route_fn fn;
    void *ctx;
} fws_route;

/* Copies the routes (the strings must outlive the server). FWS_ERR_EXISTS for a method and
 * path already routed, FWS_ERR_ARG for a bad route (token auth on the loop, empty role set,
 * body cap over the limit). Only before fws_server_listen. */
fws_err fws_server_add_routes(fws_server *srv, const fws_route *routes, size_t n,
                              fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- requests ------------------------------------------------------------------------------ */

#define FWS_REQ_ADDR_MAX 64

struct fws_req {
    const char *method;  /* "GET", "HEAD" (routed as GET), "POST", ... */
    const char *path;    /* percent-decoded path, no query; never contains "..", NUL or "//" */
    const char *rest;    /* prefix routes: the part of path after the route's prefix */
    const char *query;   /* raw query string after '?', "" when none */
    const uint8_t *body; /* unverified request body, NUL-terminated (not counted), within cap */
    size_t body_len;
    char remote_addr[FWS_REQ_ADDR_MAX];

    /* Who is calling, filled from the TLS connection and the store, never from the body. */
    fws_auth auth;                            /* what the route required and got */
    char device_id[FWS_STORE_ID_MAX + 1];     /* verified client certificate's device, or "" */
    fws_pki_env env;                          /* the server's device environment */
    int64_t token_id;                         /* FWS_AUTH_TOKEN: the token's ID, else 0 */
    char token_name[FWS_STORE_LABEL_MAX + 1]; /* FWS_AUTH_TOKEN: the token's name */
    fws_store_role role;                      /* FWS_AUTH_TOKEN: its role, else 0 */

    fws_store *store; /* worker routes: this worker's store handle; NULL on the loop */
    fws_server *srv;
    int64_t now;    /* seconds since the epoch when the request was complete */
    void *internal; /* the server's; do not touch */
};

/* A request header (case-insensitive name), or NULL. The last one wins for repeated fields. */
const char *fws_req_header(const fws_req *req, const char *name);
/* A query parameter, percent-decoded into buf. FWS_ERR_NOT_FOUND when absent, FWS_ERR_TOO_BIG
 * when it does not fit cap (with the NUL), FWS_ERR_FORMAT for a bad escape. */
fws_err fws_req_query(const fws_req *req, const char *name, char *buf, size_t cap) FWS_MUST_CHECK;
/* The body as a JSON object (new reference). A body that is not JSON, or not an object, gives
 * FWS_ERR_FORMAT with eb saying what and at which byte; an empty body too. */
fws_err fws_req_json(const fws_req *req, json_t **out, fws_errbuf *eb) FWS_MUST_CHECK;
/* The verified client certificate chain (DER, leaf first) when the peer sent one, else n = 0.
 * Borrowed until the handler returns. verified is 1 when it chains to the environment's CA,
 * is in its validity period and is not on the CRL. */
void fws_req_client_chain(const fws_req *req, const uint8_t *const **certs, const size_t **lens,
                          size_t *n, int *verified);

/* ---- responses ----------------------------------------------------------------------------- */

/* Status (100..599). */
void fws_resp_status(fws_resp *resp, int status);
/* Adds a header (copied). FWS_ERR_ARG for a name or value with CR, LF or NUL, or one of the
 * headers the server writes itself (Content-Length, Content-Type, Connection,
 * Transfer-Encoding, Date); FWS_ERR_TOO_BIG past 4 KiB of headers. */
fws_err fws_resp_header(fws_resp *resp, const char *name, const char *value);
/* Sets the body (copied) with its content type, and the status. */
fws_err fws_resp_body(fws_resp *resp, int status, const char *content_type, const void *data,
                      size_t len) FWS_MUST_CHECK;
/* Sets a JSON body (application/json; compact, sorted keys) and the status; steals j (NULL
 * from a failed json_pack gives FWS_ERR_NOMEM). */
fws_err fws_resp_json(fws_resp *resp, int status, json_t *j) FWS_MUST_CHECK;
/* Sets a JSON error body {"error": {"status", "code", "message"}}; returns FWS_OK. */
fws_err fws_resp_error(fws_resp *resp, int status, const char *code, const char *fmt, ...)
    FWS_PRINTF(4, 5);
/* A line of detail for this request's audit entry (token routes with an action). */
void fws_resp_audit(fws_resp *resp, const char *fmt, ...) FWS_PRINTF(2, 3);
/* The status a failed handler's error maps to, and its short code ("not_found", ...). */
int fws_server_status_for(fws_err err);
const char *fws_server_code_for(fws_err err);

/* ---- rate limiting ------------------------------------------------------------------------- */

/* A token bucket per key (device ID, token, address): rate tokens per second, up to burst,
 * each request takes one. Thread-safe; at most max_keys keys are tracked (the least recently
 * used bucket is forgotten, i.e. full again). */
fws_err fws_ratelimit_new(double rate, unsigned burst, size_t max_keys,
                          fws_ratelimit **out) FWS_MUST_CHECK;
void fws_ratelimit_free(fws_ratelimit *rl); /* NULL is fine */
/* 1 when key may go ahead now (now_ms: a monotonic clock); 0 when limited, with
 * *retry_after_ms (optional) the wait until the next token. */
int fws_ratelimit_take(fws_ratelimit *rl, const char *key, uint64_t now_ms,
                       uint64_t *retry_after_ms);
/* The server's per-device limiter (config device_rate / device_burst), for device routes
 * that must be limited, e.g. reports. Owned by the server. */
fws_ratelimit *fws_server_device_limit(fws_server *srv);

/* ---- background tasks, ledger, metrics, logs --------------------------------------------- */

/* Runs fn on a worker every interval_ms (first run one interval after start), with that
 * worker's store handle; a run is skipped while the previous one still runs. The error of a
 * run is logged under name. At shutdown a running task finishes; no new run starts. */
typedef fws_err (*fws_task_fn)(fws_server *srv, fws_store *store, void *ctx, fws_errbuf *eb);
fws_err fws_server_add_task(fws_server *srv, const char *name, unsigned interval_ms, fws_task_fn fn,
                            void *ctx, fws_errbuf *eb) FWS_MUST_CHECK;
/* Called once during shutdown, after the last request was answered and the last task run
 * finished, before the ledger is closed (in registration order, on the main thread); or, for
 * a server that never ran (--check-config, a failed start), by fws_server_free. Free what the
 * module allocated at registration here. */
typedef void (*fws_shutdown_fn)(fws_server *srv, void *ctx);
fws_err fws_server_on_shutdown(fws_server *srv, fws_shutdown_fn fn, void *ctx,
                               fws_errbuf *eb) FWS_MUST_CHECK;

/* The ledger: this process holds the log's lock and runs its sequencer (group commit) when it
 * could take the lock at start (another `fwseal serve` may hold it) and pp unlocks the ledger
 * key. Thread-safe, blocking (workers only): appends one record and returns after it is
 * durable. FWS_ERR_STATE when this process does not hold the ledger. */
fws_err fws_server_ledger_append(fws_server *srv, const uint8_t *record, size_t len,
                                 uint64_t *index, fws_errbuf *eb) FWS_MUST_CHECK;
/* 1 when this process holds the ledger. */
int fws_server_ledger_held(fws_server *srv);
/* Takes the ledger (opens it, starts the sequencer) or gives it up (commits, publishes, stops,
 * closes): for failover between instances. take is FWS_OK when already held and
 * FWS_ERR_STATE when another process holds the lock. */
fws_err fws_server_ledger_take(fws_server *srv, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_server_ledger_drop(fws_server *srv, fws_errbuf *eb) FWS_MUST_CHECK;

/* The PKI (inventory, environments' CAs, issuer when unlocked). Not thread-safe: use it only
 * between lock and unlock, on a worker. */
fws_pki *fws_server_pki_lock(fws_server *srv);
void fws_server_pki_unlock(fws_server *srv);

const char *fws_server_deploy_dir(const fws_server *srv);
fws_pki_env fws_server_env(const fws_server *srv);
/* 1 once shutdown has begun (long tasks should return early). */
int fws_server_stopping(const fws_server *srv);

/* Metrics in the Prometheus text format at /metrics. A counter or gauge is registered once
 * (before fws_server_listen) by its full name with labels, e.g.
 * "fwseal_reports_total{kind=\"install\"}"; series sharing a base name share help and type.
 * Updates are lock-free. */
typedef struct fws_metric fws_metric;
fws_err fws_server_counter(fws_server *srv, const char *name, const char *help, fws_metric **out,
                           fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_server_gauge(fws_server *srv, const char *name, const char *help, fws_metric **out,
                         fws_errbuf *eb) FWS_MUST_CHECK;
void fws_metric_add(fws_metric *m, int64_t delta);
void fws_metric_set(fws_metric *m, int64_t value);

/* Structured log lines (text or JSON per the configuration): msg and then key=value pairs as
 * alternating const char * arguments, ended by NULL. level: "debug", "info", "warn", "error".
 *   fws_server_log(srv, "warn", "report rejected", "device", id, "reason", eb.msg, NULL); */
void fws_server_log(fws_server *srv, const char *level, const char *msg, ...);

#ifdef __cplusplus
}
#endif
#endif
