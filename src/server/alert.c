/* The alert engine: its thread, its store handle and leadership, the passes over the rules,
 * delivery in order with retries, and the fwseal_alerts_* metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "server/alert.h"
#include "server/internal.h"

#define ENGINE_TICK_MS 1000
#define FOLLOW_PER_PASS 65536 /* ledger entries read in one pass */
#define DELIVER_PER_PASS 256  /* alerts delivered in one pass */
#define DELIVER_TRIES 5       /* attempts for one alert before it is skipped */
#define DELIVER_MAX_AGE 86400 /* an alert older than this when first seen is not sent */
#define LEADER_NAME "alerts"

struct alert_engine {
    fws_server *srv;
    char store_url[FWS_STORE_PATH_MAX];
    char ledger_dir[SRV_PATH_MAX + 16];
    char state_dir[SRV_PATH_MAX + 32];
    alert_config cfg;
    fws_store *store;
    alert_stats *stats;
    alert_seen *seen;
    struct pending *pending; /* alerts to deliver in this pass */
    fws_metric *active[ALERT_KIND_COUNT];
    fws_metric *raised, *delivered_ok, *delivered_failed, *leader_metric;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int poked;
    _Atomic int started;
    _Atomic int stop;

    int leader;
    int64_t last_slow;
    int64_t device_since;
    int64_t failing_id; /* the alert whose delivery keeps failing, and how often it did */
    unsigned failing_tries;
};

alert_stats *alert_engine_stats(alert_engine *e)
{
    return e->stats;
}

const alert_config *alert_engine_config(const alert_engine *e)
{
    return &e->cfg;
}

void alert_engine_poke(alert_engine *e)
{
    pthread_mutex_lock(&e->mu);
    e->poked = 1;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

static void log_err(alert_engine *e, const char *what, fws_err err, const fws_errbuf *eb)
{
    fws_server_log(e->srv, "warn", what, "error", eb->msg[0] ? eb->msg : fws_strerror(err), NULL);
}

/* ---- delivery ------------------------------------------------------------------------------ */

typedef struct pending {
    fws_store_alert a[DELIVER_PER_PASS];
    size_t n;
} pending;

static fws_err pending_row(void *ctx, const fws_store_alert *a)
{
    pending *p = ctx;
    if (p->n < DELIVER_PER_PASS)
        p->a[p->n++] = *a;
    return FWS_OK;
}

static fws_err deliver_one(alert_engine *e, const fws_store_alert *a, fws_errbuf *eb)
{
    char *text = NULL;
    json_t *j = alert_json(a);
    fws_err err = j ? FWS_OK : FWS_ERR_NOMEM;
    if (err == FWS_OK && (text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
        err = FWS_ERR_NOMEM;
    json_decref(j);
    if (err == FWS_OK && e->cfg.webhook[0] != '\0')
        err = alert_post(&e->cfg, text, strlen(text), eb);
    if (err == FWS_OK && e->cfg.n_command > 0)
        err = alert_exec(&e->cfg, text, strlen(text), eb);
    free(text);
    return err;
}

/* The alerts not yet delivered, oldest first, each marked in the store once sent (or given up
 * on), so delivery resumes after a restart or on the server that takes over leadership. An
 * alert older than a day (raised while nothing delivered) is marked without being sent. */
static fws_err deliver(alert_engine *e, fws_errbuf *eb)
{
    pending *pp = e->pending;
    int64_t now = (int64_t)time(NULL);
    pp->n = 0;
    fws_err err = fws_store_alert_undelivered(e->store, 0, DELIVER_PER_PASS, pending_row, pp, eb);
    for (size_t i = 0; err == FWS_OK && i < pp->n && !atomic_load(&e->stop); i++) {
        const fws_store_alert *a = &pp->a[i];
        fws_errbuf why = {{0}};
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)a->id);
        if (now - a->time > DELIVER_MAX_AGE) {
            fws_server_log(e->srv, "info", "alert not sent: raised over a day ago", "id", id,
                           "kind", a->kind, NULL);
            err = fws_store_alert_delivered(e->store, a->id, -1, eb);
            continue;
        }
        int64_t mark = now > 0 ? now : 1; /* delivered; -1: given up */
        if (deliver_one(e, a, &why) == FWS_OK) {
            fws_metric_add(e->delivered_ok, 1);
            fws_server_log(e->srv, "info", "alert delivered", "id", id, "kind", a->kind, NULL);
        } else {
            fws_metric_add(e->delivered_failed, 1);
            e->failing_tries = e->failing_id == a->id ? e->failing_tries + 1 : 1;
            e->failing_id = a->id;
            fws_server_log(e->srv, "warn", "alert delivery failed", "id", id, "error", why.msg,
                           NULL);
            if (e->failing_tries < DELIVER_TRIES)
                return FWS_OK; /* in order: the next pass tries this one again */
            fws_server_log(e->srv, "warn", "alert given up", "id", id, NULL);
            mark = -1;
        }
        err = fws_store_alert_delivered(e->store, a->id, mark, eb);
    }
    return err;
}

static int delivering(const alert_engine *e)
{
    return e->cfg.webhook[0] != '\0' || e->cfg.n_command > 0;
}

/* ---- passes -------------------------------------------------------------------------------- */

static void set_active(alert_engine *e, const uint64_t active[ALERT_KIND_COUNT])
{
    for (int k = 0; k < ALERT_KIND_COUNT; k++)
        fws_metric_set(e->active[k], (int64_t)active[k]);
}

/* The slower rules, each on its own: one failing does not stop the others. */
static void slow_rules(alert_engine *e, alert_ctx *c)
{
    fws_errbuf eb = {{0}};
    fws_err err;
    if (e->cfg.cert_enabled && (err = alert_rule_certs(c, e->srv, &eb)) != FWS_OK)
        log_err(e, "alert rule certificate-expiry failed", err, &eb);
    fws_errbuf_clear(&eb);
    if (e->cfg.size_enabled &&
        (err = alert_rule_sizes(c, fws_server_deploy_dir(e->srv), &eb)) != FWS_OK)
        log_err(e, "alert rule update-size failed", err, &eb);
    fws_errbuf_clear(&eb);
    if (e->cfg.fork_enabled &&
        (err = alert_rule_fork(c, e->ledger_dir, e->state_dir, &eb)) != FWS_OK)
        log_err(e, "alert rule log-fork failed", err, &eb);
    fws_errbuf_clear(&eb);
    if ((err = alert_rule_devices(c, e->device_since, &eb)) != FWS_OK)
        log_err(e, "alert rule devices failed", err, &eb);
}

static void pass(alert_engine *e)
{
    fws_errbuf eb = {{0}};
    int64_t now = (int64_t)time(NULL);
    size_t read = 0;
    uint64_t active[ALERT_KIND_COUNT];
    int slow = now - e->last_slow >= e->cfg.interval;
    fws_err err = alert_stats_follow(e->stats, e->ledger_dir, e->cfg.backfill, FOLLOW_PER_PASS, now,
                                     &read, &eb);
    if (err != FWS_OK && err != FWS_ERR_NOT_FOUND)
        log_err(e, "alerts: cannot follow the ledger", err, &eb);
    fws_errbuf_clear(&eb);
    int leader = 0;
    if (fws_store_leader_try(e->store, LEADER_NAME, &leader, &eb) != FWS_OK)
        leader = 0;
    e->leader = leader;
    fws_metric_set(e->leader_metric, leader);
    if (!slow && read == 0 && !(leader && delivering(e)))
        return;
    err = alert_seen_load(e->store, e->seen, slow ? active : NULL, &eb);
    if (err != FWS_OK) {
        log_err(e, "alerts: cannot read the alerts", err, &eb);
        return;
    }
    alert_ctx c = {.store = e->store, .seen = e->seen, .cfg = &e->cfg, .now = now};
    if (leader && (read > 0 || slow) && (err = alert_rule_spikes(&c, e->stats, &eb)) != FWS_OK)
        log_err(e, "alert rule spikes failed", err, &eb);
    if (leader && slow) {
        slow_rules(e, &c);
        e->device_since = now - 1;
    }
    if (slow)
        e->last_slow = now;
    fws_metric_add(e->raised, (int64_t)c.raised);
    if (c.raised > 0 || slow) {
        fws_errbuf_clear(&eb);
        if (alert_seen_load(e->store, e->seen, active, &eb) == FWS_OK)
            set_active(e, active);
    }
    fws_errbuf_clear(&eb);
    if (leader && delivering(e) && (err = deliver(e, &eb)) != FWS_OK)
        log_err(e, "alerts: delivery pass failed", err, &eb);
}

static void *engine_main(void *arg)
{
    alert_engine *e = arg;
    while (!atomic_load(&e->stop)) {
        pass(e);
        pthread_mutex_lock(&e->mu);
        if (!e->poked && !atomic_load(&e->stop)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += ENGINE_TICK_MS / 1000;
            pthread_cond_timedwait(&e->cv, &e->mu, &ts);
        }
        e->poked = 0;
        pthread_mutex_unlock(&e->mu);
    }
    return NULL;
}

/* ---- life ---------------------------------------------------------------------------------- */

static fws_err start_task(fws_server *srv, fws_store *store, void *ctx, fws_errbuf *eb)
{
    alert_engine *e = ctx;
    (void)srv;
    (void)store;
    if (atomic_load(&e->started) || fws_server_stopping(e->srv))
        return FWS_OK;
    if (pthread_create(&e->thread, NULL, engine_main, e) != 0)
        return fws_errf(eb, FWS_ERR_NOMEM, "cannot start the alert engine's thread");
    atomic_store(&e->started, 1);
    return FWS_OK;
}

static void engine_free(alert_engine *e)
{
    fws_store_close(e->store);
    alert_stats_free(e->stats);
    free(e->seen);
    free(e->pending);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e);
}

static void on_shutdown(fws_server *srv, void *ctx)
{
    alert_engine *e = ctx;
    (void)srv;
    atomic_store(&e->stop, 1);
    alert_engine_poke(e);
    if (atomic_load(&e->started))
        pthread_join(e->thread, NULL);
    engine_free(e);
}

static fws_err metrics(alert_engine *e, fws_errbuf *eb)
{
    char name[160];
    fws_err err = FWS_OK;
    for (int k = 0; k < ALERT_KIND_COUNT && err == FWS_OK; k++) {
        snprintf(name, sizeof(name), "fwseal_alerts_active{kind=\"%s\"}",
                 alert_kind_name((alert_kind)k));
        err = fws_server_gauge(e->srv, name, "Alerts not acknowledged, by kind", &e->active[k], eb);
    }
    if (err == FWS_OK)
        err = fws_server_counter(e->srv, "fwseal_alerts_raised_total",
                                 "Alerts this server's rules raised", &e->raised, eb);
    if (err == FWS_OK)
        err = fws_server_counter(e->srv, "fwseal_alert_deliveries_total{result=\"ok\"}",
                                 "Alert deliveries to the webhook or command, by result",
                                 &e->delivered_ok, eb);
    if (err == FWS_OK)
        err = fws_server_counter(e->srv, "fwseal_alert_deliveries_total{result=\"failed\"}",
                                 "Alert deliveries to the webhook or command, by result",
                                 &e->delivered_failed, eb);
    if (err == FWS_OK)
        err = fws_server_gauge(e->srv, "fwseal_alert_engine_leader",
                               "1 while this server evaluates and delivers alerts",
                               &e->leader_metric, eb);
    return err;
}

static fws_err setup(alert_engine *e, fws_errbuf *eb)
{
    fws_err err = alert_config_load(fws_server_deploy_dir(e->srv), &e->cfg, eb);
    if (err == FWS_OK)
        err = fws_store_open(e->store_url, &e->store, eb);
    if (err == FWS_OK && (e->stats = alert_stats_new()) == NULL)
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK && (e->seen = calloc(1, sizeof(*e->seen))) == NULL)
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK && (e->pending = calloc(1, sizeof(*e->pending))) == NULL)
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = metrics(e, eb);
    if (err == FWS_OK)
        err = fws_server_add_task(e->srv, "alerts-start", 100, start_task, e, eb);
    if (err == FWS_OK)
        err = fws_server_on_shutdown(e->srv, on_shutdown, e, eb);
    return err;
}

fws_err alert_engine_start(fws_server *srv, const char *store_url, const char *ledger_dir,
                           alert_engine **out, fws_errbuf *eb)
{
    alert_engine *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return FWS_ERR_NOMEM;
    e->srv = srv;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    snprintf(e->store_url, sizeof(e->store_url), "%s", store_url);
    snprintf(e->ledger_dir, sizeof(e->ledger_dir), "%s", ledger_dir);
    snprintf(e->state_dir, sizeof(e->state_dir), "%s/alerts/monitor", fws_server_deploy_dir(srv));
    e->device_since = (int64_t)time(NULL) - 3600;
    fws_err err = setup(e, eb);
    if (err != FWS_OK) {
        engine_free(e);
        return fws_errf(eb, err, "alerts");
    }
    *out = e;
    return FWS_OK;
}
