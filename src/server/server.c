/* The server's life: configuration and loading, the supervisor (signals, tasks, CRL reloads,
 * ledger idling), graceful shutdown. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <event2/thread.h>
#include "fwseal/core.h"
#include "server/internal.h"

#ifndef FWS_WEB_DIR
#define FWS_WEB_DIR "/usr/share/fwseal/web"
#endif

static pthread_once_t evthread_once = PTHREAD_ONCE_INIT;
static void evthread_setup(void)
{
    evthread_use_pthreads();
}

static fws_err pick_env(fws_server *srv, fws_errbuf *eb)
{
    if (srv->cfg.env != 0) {
        if (fws_pki_env_name(srv->cfg.env) == NULL)
            return fws_errf(eb, FWS_ERR_ARG, "unknown environment");
        if (!fws_pki_has_env(srv->pki, srv->cfg.env))
            return fws_errf(eb, FWS_ERR_NOT_FOUND,
                            "%s/pki/%s: no device CA for this environment (fwseal ca init)",
                            srv->deploy, fws_pki_env_name(srv->cfg.env));
        srv->env = srv->cfg.env;
        return FWS_OK;
    }
    if (fws_pki_has_env(srv->pki, FWS_ENV_PROD)) {
        srv->env = FWS_ENV_PROD;
        return FWS_OK;
    }
    int found = 0;
    for (int e = FWS_ENV_DEV; e <= FWS_ENV_PROD; e++)
        if (fws_pki_has_env(srv->pki, (fws_pki_env)e)) {
            srv->env = (fws_pki_env)e;
            found++;
        }
    if (found == 1)
        return FWS_OK;
    if (found == 0)
        return fws_errf(eb, FWS_ERR_NOT_FOUND,
                        "%s/pki: no device CA (fwseal ca init --dir %s --env prod)", srv->deploy,
                        srv->deploy);
    return fws_errf(eb, FWS_ERR_ARG,
                    "several environments have a device CA and none is prod: choose one with "
                    "--env");
}

static fws_err check_dir(const char *path, const char *what, fws_errbuf *eb)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "%s: %s not found", path, what);
    return FWS_OK;
}

/* The server certificate: issued from the environment's CA when it is missing. */
static fws_err ensure_cert(fws_server *srv, fws_errbuf *eb)
{
    char path[SRV_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/server/server.crt", srv->deploy);
    if (access(path, R_OK) == 0)
        return FWS_OK;
    if (!srv->have_pp)
        return fws_errf(eb, FWS_ERR_NOT_FOUND,
                        "%s: no server certificate (run fwseal serve cert, or give the keys' "
                        "passphrase so serve issues one)",
                        path);
    fws_server_cert_req req = {
        .deploy = srv->deploy, .env = srv->env, .pp = &srv->pp, .now = srv_now_s()};
    char pin[FWS_PKI_PIN_LEN];
    int64_t not_after;
    fws_err err = fws_server_cert_issue(&req, pin, &not_after, eb);
    if (err == FWS_OK)
        fws_server_log(srv, "info", "server certificate issued", "path", path, "pin", pin, NULL);
    return err;
}

/* PostgreSQL: one handle per worker. SQLite: one handle that the workers take turns on (the
 * database has one writer at a time anyway, and one connection per process keeps SQLite's
 * POSIX locks in one place). */
static fws_err open_stores(fws_server *srv, fws_errbuf *eb)
{
    srv_workers *w = &srv->workers;
    fws_err err =
        fws_store_resolve(srv->cfg.store, srv->deploy, srv->store_url, sizeof(srv->store_url), eb);
    if (err == FWS_OK)
        err = fws_store_open(srv->store_url, &w->stores[0], eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "store");
    w->n_stores = 1;
    w->shared = strcmp(fws_store_engine(w->stores[0]), "sqlite") == 0;
    for (unsigned i = 1; !w->shared && i < w->n; i++) {
        err = fws_store_open(srv->store_url, &w->stores[i], eb);
        if (err != FWS_OK)
            return fws_errf(eb, err, "store");
        w->n_stores++;
    }
    return FWS_OK;
}

static fws_err load(fws_server *srv, fws_errbuf *eb)
{
    fws_err err = check_dir(srv->deploy, "deployment directory", eb);
    if (err == FWS_OK)
        err = srv_listen_parse(srv, eb);
    if (err == FWS_OK)
        err = check_dir(srv->repo_dir, "TUF repository (fwseal init)", eb);
    if (err == FWS_OK)
        err = fws_pki_open(srv->deploy, &srv->pki, eb);
    if (err == FWS_OK)
        err = pick_env(srv, eb);
    if (err == FWS_OK && srv->have_pp) {
        err = fws_pki_load_issuer(srv->pki, srv->env, &srv->pp, eb);
        srv->pki_issuer = err == FWS_OK;
    }
    if (err == FWS_OK)
        err = ensure_cert(srv, eb);
    if (err == FWS_OK)
        err = srv_tls_init(srv, eb);
    if (err == FWS_OK)
        err = open_stores(srv, eb);
    if (err == FWS_OK)
        err = srv_ledger_init(srv, eb);
    if (err == FWS_OK) {
        double rate = srv->cfg.device_rate > 0 ? srv->cfg.device_rate : 1.0;
        unsigned burst = srv->cfg.device_burst ? srv->cfg.device_burst : 10;
        err = fws_ratelimit_new(rate, burst, 100000, &srv->device_limit);
    }
    if (err == FWS_OK)
        err = srv_routes_files(srv, eb);
    if (err == FWS_OK)
        err = srv_routes_est(srv, eb);
    if (err == FWS_OK)
        err = srv_routes_api(srv, eb);
    if (err == FWS_OK)
        err = srv_routes_ops(srv, eb);
    if (err == FWS_OK)
        err = srv_refresh_init(srv, eb);
    if (err == FWS_OK)
        err = srv_modules_register(srv, eb);
    if (err == FWS_OK)
        err = srv_loops_create(srv, eb);
    return err;
}

fws_err fws_server_new(const fws_server_config *cfg, fws_server **out, fws_errbuf *eb)
{
    if (cfg == NULL || cfg->deploy == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "a deployment directory is required (--dir)");
    if (cfg->threads > FWS_SERVER_THREADS_MAX || cfg->workers > FWS_SERVER_WORKERS_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "at most %d threads and %d workers",
                        FWS_SERVER_THREADS_MAX, FWS_SERVER_WORKERS_MAX);
    pthread_once(&evthread_once, evthread_setup);
    fws_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return FWS_ERR_NOMEM;
    srv->cfg = *cfg;
    srv->cfg.pp = NULL;
    srv->started_ms = srv_now_ms();
    pthread_mutex_init(&srv->log_mu, NULL);
    pthread_mutex_init(&srv->pki_mu, NULL);
    pthread_mutex_init(&srv->workers.mu, NULL);
    pthread_cond_init(&srv->workers.cv, NULL);
    pthread_mutex_init(&srv->workers.store_mu, NULL);
    pthread_mutex_init(&srv->ledger.mu, NULL);
    if (realpath(cfg->deploy, srv->deploy) == NULL) {
        int e = errno;
        free(srv);
        return fws_errf(eb, e == ENOENT ? FWS_ERR_NOT_FOUND : FWS_ERR_IO, "%s: %s", cfg->deploy,
                        strerror(e));
    }
    snprintf(srv->repo_dir, sizeof(srv->repo_dir), "%s/repo", srv->deploy);
    snprintf(srv->web_dir, sizeof(srv->web_dir), "%s", cfg->web_dir ? cfg->web_dir : FWS_WEB_DIR);
    if (cfg->pp != NULL) {
        srv->pp = *cfg->pp;
        srv->have_pp = 1;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    srv->n_loops = cfg->threads ? cfg->threads : (unsigned)(cores > 0 ? cores : 1);
    if (srv->n_loops > FWS_SERVER_THREADS_MAX)
        srv->n_loops = FWS_SERVER_THREADS_MAX;
    srv->workers.n = cfg->workers ? cfg->workers : 4;
    fws_err err = load(srv, eb);
    if (err != FWS_OK) {
        fws_server_free(srv);
        return err;
    }
    *out = srv;
    return FWS_OK;
}

void fws_server_stop(fws_server *srv)
{
    atomic_store(&srv->stop, 1);
}

int fws_server_stopping(const fws_server *srv)
{
    return atomic_load(&srv->stopping);
}

static void supervise(fws_server *srv, int handle_signals, const sigset_t *set)
{
    uint64_t last_crl = srv_now_ms();
    while (!atomic_load(&srv->stop)) {
        if (handle_signals) {
            struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
            siginfo_t si;
            int sig = sigtimedwait(set, &si, &ts);
            if (sig == SIGTERM || sig == SIGINT) {
                fws_server_log(srv, "info", "signal received: shutting down", "signal",
                               sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
                break;
            }
        } else {
            struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        uint64_t now = srv_now_ms();
        srv_tasks_tick(srv, now);
        srv_ledger_idle_check(srv, now);
        if (now - last_crl >= 1000) {
            srv_tls_check_crl(srv);
            last_crl = now;
        }
    }
}

/* Once: at the end of a run, or when a server that never ran is freed. */
static void run_hooks(fws_server *srv)
{
    if (srv->hooks_ran)
        return;
    srv->hooks_ran = 1;
    for (size_t i = 0; i < srv->n_hooks; i++)
        srv->hooks[i].fn(srv, srv->hooks[i].ctx);
}

fws_err fws_server_run(fws_server *srv, int handle_signals, fws_errbuf *eb)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    if (handle_signals)
        pthread_sigmask(SIG_BLOCK, &set, &old);
    fws_err err = srv->listening ? FWS_OK : fws_server_listen(srv, eb);
    if (err == FWS_OK)
        err = srv_workers_start(srv, eb);
    if (err == FWS_OK) {
        err = srv_loops_start(srv, eb);
        if (err != FWS_OK)
            srv_workers_stop(srv);
    }
    if (err != FWS_OK) {
        if (handle_signals)
            pthread_sigmask(SIG_SETMASK, &old, NULL);
        return err;
    }
    char port[8], threads[8];
    snprintf(port, sizeof(port), "%u", srv->listen_port);
    snprintf(threads, sizeof(threads), "%u", srv->n_loops);
    fws_server_log(srv, "info", "listening", "address", srv->listen_host, "port", port, "env",
                   fws_pki_env_name(srv->env), "threads", threads, "store",
                   fws_store_engine(srv->workers.stores[0]), NULL);
    supervise(srv, handle_signals, &set);
    atomic_store(&srv->stopping, 1);
    srv_loops_drain(srv);  /* listeners off, requests in flight answered */
    srv_workers_stop(srv); /* the queue and task runs finish */
    run_hooks(srv);
    fws_errbuf leb = {{0}};
    if (fws_server_ledger_drop(srv, &leb) != FWS_OK)
        fws_server_log(srv, "error", "ledger shutdown failed", "error", leb.msg, NULL);
    fws_server_log(srv, "info", "stopped", NULL);
    if (handle_signals)
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    return FWS_OK;
}

void fws_server_free(fws_server *srv)
{
    if (srv == NULL)
        return;
    run_hooks(srv);
    srv_loops_free(srv);
    for (unsigned i = 0; i < srv->workers.n_stores; i++)
        fws_store_close(srv->workers.stores[i]);
    pthread_mutex_destroy(&srv->workers.store_mu);
    srv_ledger_free(srv);
    srv_tls_free(&srv->tls);
    fws_ratelimit_free(srv->device_limit);
    fws_pki_close(srv->pki);
    fws_wipe(&srv->pp, sizeof(srv->pp));
    pthread_mutex_destroy(&srv->log_mu);
    pthread_mutex_destroy(&srv->pki_mu);
    pthread_mutex_destroy(&srv->workers.mu);
    pthread_cond_destroy(&srv->workers.cv);
    pthread_mutex_destroy(&srv->ledger.mu);
    free(srv);
}

fws_err fws_server_on_shutdown(fws_server *srv, fws_shutdown_fn fn, void *ctx, fws_errbuf *eb)
{
    if (fn == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "shutdown hook without a function");
    if (srv->n_hooks == sizeof(srv->hooks) / sizeof(srv->hooks[0]))
        return fws_errf(eb, FWS_ERR_TOO_BIG, "too many shutdown hooks");
    srv->hooks[srv->n_hooks].fn = fn;
    srv->hooks[srv->n_hooks].ctx = ctx;
    srv->n_hooks++;
    return FWS_OK;
}

fws_pki *fws_server_pki_lock(fws_server *srv)
{
    pthread_mutex_lock(&srv->pki_mu);
    return srv->pki;
}

void fws_server_pki_unlock(fws_server *srv)
{
    pthread_mutex_unlock(&srv->pki_mu);
}

const char *fws_server_deploy_dir(const fws_server *srv)
{
    return srv->deploy;
}

fws_pki_env fws_server_env(const fws_server *srv)
{
    return srv->env;
}

fws_ratelimit *fws_server_device_limit(fws_server *srv)
{
    return srv->device_limit;
}
