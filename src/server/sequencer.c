/* The fleet's leader thread. Of all the `fwseal serve` processes that share a store, the one
 * holding the store leadership FWS_FLEET_LEADER (a PostgreSQL advisory lock, or a lock file
 * beside a SQLite database) moves accepted reports into the ledger, oldest first, marks each
 * one sequenced, and runs the rollout controller. When it dies its lock goes with its database
 * session and another server takes over on its next try.
 *
 * Exactly once: a report's ledger record is a function of the report alone and the ledger
 * returns the existing index for bytes it already holds, so a report appended just before a
 * crash, and not yet marked, is marked with the same index when it is sequenced again.
 *
 * Store handles: with PostgreSQL the thread has its own connection (the advisory lock lives on
 * it). With SQLite a process keeps one connection (SQLite's POSIX locks are per process, and
 * opening the file a second time would drop them), so the thread borrows the workers' shared
 * handle under its mutex, only around store calls, never across a ledger append. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fwseal/ledger.h"
#include "server/fleet.h"
#include "server/internal.h"

#define APPENDERS 8

typedef struct pending {
    int64_t id;
    uint8_t *body;
    size_t len;
    char *record;
    size_t record_len;
    uint64_t index;
    fws_err err;
    fws_errbuf eb;
} pending;

typedef struct page {
    pending items[FLEET_PAGE];
    size_t n;
    int64_t last_id;
    fleet *f;
} page;

static int skipped(const fleet *f, int64_t id)
{
    for (size_t i = 0; i < f->n_skip; i++) {
        if (f->skip[i] == id)
            return 1;
    }
    return 0;
}

static void skip(fleet *f, int64_t id)
{
    if (f->n_skip == FLEET_SKIP_MAX)
        f->n_skip = 0; /* forget them all: they are only tried again */
    f->skip[f->n_skip++] = id;
}

static fws_err collect(void *ctx, const fws_store_report *r, const uint8_t *body, size_t len)
{
    page *p = ctx;
    p->last_id = r->id;
    if (skipped(p->f, r->id) || p->n == FLEET_PAGE)
        return FWS_OK;
    pending *it = &p->items[p->n];
    memset(it, 0, sizeof(*it));
    it->body = malloc(len ? len : 1);
    if (it->body == NULL)
        return FWS_ERR_NOMEM;
    memcpy(it->body, body, len);
    it->len = len;
    it->id = r->id;
    p->n++;
    return FWS_OK;
}

typedef struct appender {
    fleet *f;
    page *p;
    size_t first, step;
} appender;

static void append_one(fleet *f, pending *it)
{
    fws_fleet_report r;
    it->err = fws_fleet_report_open(it->body, it->len, NULL, &r, &it->eb);
    if (it->err == FWS_OK)
        it->err = fws_fleet_report_record(&r, &it->record, &it->record_len, &it->eb);
    if (it->err == FWS_OK)
        it->err = fws_server_ledger_append(f->srv, (const uint8_t *)it->record, it->record_len,
                                           &it->index, &it->eb);
}

static void *append_slice(void *arg)
{
    appender *a = arg;
    for (size_t i = a->first; i < a->p->n; i += a->step)
        append_one(a->f, &a->p->items[i]);
    return NULL;
}

/* Appends every record of the page, several at once so the ledger can group them. */
static void append_all(fleet *f, page *p)
{
    pthread_t th[APPENDERS];
    appender args[APPENDERS];
    size_t n = p->n < APPENDERS ? p->n : APPENDERS;
    size_t started = 0;
    for (size_t i = 0; i < n; i++) {
        args[i] = (appender){.f = f, .p = p, .first = i, .step = n};
        if (i > 0 && pthread_create(&th[i], NULL, append_slice, &args[i]) == 0)
            started |= (size_t)1 << i;
        else if (i > 0)
            append_slice(&args[i]);
    }
    if (n > 0)
        append_slice(&args[0]);
    for (size_t i = 1; i < n; i++) {
        if (started & ((size_t)1 << i))
            pthread_join(th[i], NULL);
    }
}

/* Marks the appended reports in one transaction (one fsync on SQLite). */
static fws_err mark_all(fleet *f, fws_store *s, page *p, size_t *done, fws_errbuf *eb)
{
    size_t n = 0;
    fws_err err = fws_store_begin(s, eb);
    for (size_t i = 0; err == FWS_OK && i < p->n; i++) {
        pending *it = &p->items[i];
        if (it->err != FWS_OK)
            continue;
        fws_errbuf one = {{0}};
        fws_err e = fws_store_report_sequenced(s, it->id, (int64_t)it->index, &one);
        if (e == FWS_ERR_EXISTS || e == FWS_ERR_STATE) {
            char id[24];
            snprintf(id, sizeof(id), "%lld", (long long)it->id);
            fws_server_log(f->srv, "warn", "report set aside: its ledger record is already there",
                           "report", id, "error", one.msg, NULL);
            skip(f, it->id);
        } else if (e != FWS_OK) {
            err = fws_errf(eb, e, "%s", one.msg);
        } else {
            n++;
        }
    }
    if (err != FWS_OK) {
        fws_store_rollback(s);
        return err;
    }
    err = fws_store_commit(s, eb);
    if (err == FWS_OK)
        *done = n;
    return err;
}

static void page_free(page *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].body);
        free(p->items[i].record);
    }
    p->n = 0;
}

/* The first append error that is not about the record itself stops the pass (no ledger). */
static fws_err first_failure(fleet *f, page *p, fws_errbuf *eb)
{
    for (size_t i = 0; i < p->n; i++) {
        pending *it = &p->items[i];
        if (it->err == FWS_OK)
            continue;
        if (it->err == FWS_ERR_SCHEMA || it->err == FWS_ERR_FORMAT) {
            char id[24];
            snprintf(id, sizeof(id), "%lld", (long long)it->id);
            fws_server_log(f->srv, "error", "stored report cannot become a record", "report", id,
                           "error", it->eb.msg, NULL);
            skip(f, it->id);
            continue;
        }
        return fws_errf(eb, it->err, "ledger: %s", it->eb.msg);
    }
    return FWS_OK;
}

/* The store handle for this thread's next calls (NULL when it cannot be had); every acquire is
 * paired with a release. */
static fws_store *acquire(fleet *f, fws_errbuf *eb)
{
    srv_workers *w = &f->srv->workers;
    if (w->shared) {
        pthread_mutex_lock(&w->store_mu);
        return w->stores[0];
    }
    if (f->own == NULL && fws_store_open(f->store_url, &f->own, eb) != FWS_OK)
        return NULL;
    return f->own;
}

static void release(fleet *f)
{
    srv_workers *w = &f->srv->workers;
    if (w->shared)
        pthread_mutex_unlock(&w->store_mu);
}

fws_err fleet_sequence_pass(fleet *f, size_t *done, fws_errbuf *eb)
{
    page *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return FWS_ERR_NOMEM;
    p->f = f;
    size_t total = 0;
    int64_t after = 0;
    fws_err err = FWS_OK;
    for (int pages = 0; err == FWS_OK && pages < 8; pages++) {
        size_t n = 0;
        p->last_id = after;
        fws_store *s = acquire(f, eb);
        err = s != NULL ? fws_store_report_unsequenced(s, after, FLEET_PAGE, collect, p, eb)
                        : FWS_ERR_IO;
        release(f);
        if (err != FWS_OK || p->last_id == after)
            break;
        after = p->last_id;
        append_all(f, p);
        s = acquire(f, eb);
        err = s != NULL ? mark_all(f, s, p, &n, eb) : FWS_ERR_IO;
        release(f);
        fws_err fail = first_failure(f, p, eb);
        if (err == FWS_OK)
            err = fail;
        total += n;
        page_free(p);
    }
    page_free(p);
    free(p);
    *done = total;
    return err;
}

/* ---- the thread ------------------------------------------------------------------------------
 */

static void nap(fleet *f, unsigned ms)
{
    for (unsigned t = 0; t < ms && !atomic_load(&f->stop); t += 20) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void log_err(fleet *f, const char *what, const fws_errbuf *eb, fws_err err)
{
    fws_server_log(f->srv, "error", what, "error", eb->msg[0] ? eb->msg : fws_strerror(err), NULL);
}

static void control(fleet *f)
{
    uint64_t now_ms = srv_now_ms();
    if (now_ms - f->last_control_ms < FLEET_CONTROL_MS)
        return;
    f->last_control_ms = now_ms;
    fws_errbuf eb = {{0}};
    size_t changed = 0;
    fws_err err = FWS_OK;
    fws_store *s = acquire(f, &eb);
    if (s == NULL) {
        release(f);
        log_err(f, "rollout controller: no store", &eb, FWS_ERR_IO);
        return;
    }
    if (now_ms - f->last_devices_ms >= FLEET_DEVICES_MS) {
        f->last_devices_ms = now_ms;
        fws_pki *p = fws_server_pki_lock(f->srv);
        err = fws_fleet_sync_devices(s, p, (int)fws_server_env(f->srv), srv_now_s(), NULL, &eb);
        fws_server_pki_unlock(f->srv);
        if (err != FWS_OK)
            log_err(f, "device import failed", &eb, err);
        fws_errbuf_clear(&eb);
    }
    err = fws_fleet_sync_releases(s, f->deploy, &f->cfg, NULL, &eb);
    if (err != FWS_OK)
        log_err(f, "release import failed", &eb, err);
    fws_errbuf_clear(&eb);
    err = fws_fleet_rollouts_tick(s, f->deploy, srv_now_s(), &changed, &eb);
    release(f);
    if (err != FWS_OK)
        log_err(f, "rollout controller failed", &eb, err);
    fws_metric_add(f->m.rollout_moves, (int64_t)changed);
}

/* One round: 1 when there may be more work right away. */
static int round_once(fleet *f)
{
    fws_errbuf eb = {{0}};
    int leader = 0;
    fws_store *s = acquire(f, &eb);
    fws_err err = s != NULL ? fws_store_leader_try(s, FWS_FLEET_LEADER, &leader, &eb) : FWS_ERR_IO;
    release(f);
    if (err != FWS_OK)
        leader = 0;
    if (leader != f->leader)
        fws_server_log(f->srv, "info", leader ? "sequencer: leading" : "sequencer: following",
                       NULL);
    f->leader = leader;
    fws_metric_set(f->m.leader, leader);
    if (!leader)
        return 0;
    control(f);
    if (!f->srv->ledger.have_signer)
        return 0; /* no ledger key: reports wait in the store */
    size_t done = 0;
    fws_errbuf_clear(&eb);
    err = fleet_sequence_pass(f, &done, &eb);
    fws_metric_add(f->m.sequenced, (int64_t)done);
    if (err != FWS_OK) {
        log_err(f, "sequencer pass failed", &eb, err);
        return 0;
    }
    return done > 0;
}

static void *sequencer_main(void *arg)
{
    fleet *f = arg;
    while (!atomic_load(&f->stop)) {
        if (!round_once(f))
            nap(f, f->leader ? FLEET_TICK_MS : 500);
    }
    fws_store *s = acquire(f, NULL);
    if (s != NULL)
        fws_store_leader_release(s, FWS_FLEET_LEADER);
    release(f);
    fws_store_close(f->own);
    f->own = NULL;
    return NULL;
}

void fleet_sequencer_start(fleet *f)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&f->started, &expected, 1))
        return;
    if (pthread_create(&f->thread, NULL, sequencer_main, f) != 0) {
        fws_server_log(f->srv, "error", "sequencer thread could not start", NULL);
        atomic_store(&f->started, 2);
    }
}

void fleet_sequencer_stop(fleet *f)
{
    atomic_store(&f->stop, 1);
    if (atomic_load(&f->started) == 1)
        pthread_join(f->thread, NULL);
    atomic_store(&f->started, 0);
}
