/* The deployment's ledger, held only while it is used: the first append takes the log's lock
 * and starts the group-commit sequencer; after SRV_LEDGER_IDLE_MS without appends the
 * sequencer publishes its checkpoint and the lock is given back, so `fwseal release add` and
 * `fwseal provision` can append between bursts. */
#include <stdio.h>
#include <string.h>
#include "fwseal/repo.h"
#include "server/internal.h"

#define SRV_LEDGER_IDLE_MS 2000
#define SRV_LEDGER_LOCK_WAIT_MS 5000

fws_err srv_ledger_init(fws_server *srv, fws_errbuf *eb)
{
    srv_ledger *l = &srv->ledger;
    fws_deploy *d = NULL;
    fws_err err = fws_deploy_open(srv->deploy, &d, eb);
    if (err != FWS_OK)
        return err;
    const char *dir = fws_deploy_ledger_dir(d);
    if (dir[0] == '/')
        snprintf(l->dir, sizeof(l->dir), "%s", dir);
    else if (realpath(dir, l->dir) == NULL)
        snprintf(l->dir, sizeof(l->dir), "%s/ledger", srv->deploy);
    if (srv->have_pp) {
        err = fws_deploy_ledger_signer(d, &srv->pp, &l->signer, eb);
        l->have_signer = err == FWS_OK;
        if (err != FWS_OK)
            err = fws_errf(eb, err, "ledger key");
    }
    fws_deploy_close(d);
    return err;
}

/* With l->mu held. */
static fws_err take_locked(fws_server *srv, fws_errbuf *eb)
{
    srv_ledger *l = &srv->ledger;
    if (l->seq != NULL)
        return FWS_OK;
    if (!l->have_signer)
        return fws_errf(eb, FWS_ERR_STATE,
                        "the ledger key is not unlocked (start serve with the passphrase)");
    fws_ledger_options opts = {.lock_wait_ms = SRV_LEDGER_LOCK_WAIT_MS};
    fws_err err = fws_ledger_open(l->dir, &opts, &l->log, eb);
    if (err == FWS_OK)
        err = fws_ledger_set_signer(l->log, &l->signer, eb);
    if (err == FWS_OK)
        err = fws_sequencer_start(l->log, NULL, &l->seq, eb);
    if (err != FWS_OK) {
        fws_ledger_close(l->log);
        l->log = NULL;
        return fws_errf(eb, err, "%s", l->dir);
    }
    l->last_use_ms = srv_now_ms();
    return FWS_OK;
}

static fws_err drop_locked(fws_server *srv, fws_errbuf *eb)
{
    srv_ledger *l = &srv->ledger;
    fws_err err = FWS_OK;
    if (l->seq != NULL)
        err = fws_sequencer_stop(l->seq, eb); /* drains, publishes the checkpoint */
    l->seq = NULL;
    fws_ledger_close(l->log);
    l->log = NULL;
    return err;
}

fws_err fws_server_ledger_take(fws_server *srv, fws_errbuf *eb)
{
    pthread_mutex_lock(&srv->ledger.mu);
    fws_err err = take_locked(srv, eb);
    pthread_mutex_unlock(&srv->ledger.mu);
    return err;
}

fws_err fws_server_ledger_drop(fws_server *srv, fws_errbuf *eb)
{
    pthread_mutex_lock(&srv->ledger.mu);
    fws_err err = drop_locked(srv, eb);
    pthread_mutex_unlock(&srv->ledger.mu);
    return err;
}

int fws_server_ledger_held(fws_server *srv)
{
    pthread_mutex_lock(&srv->ledger.mu);
    int held = srv->ledger.seq != NULL;
    pthread_mutex_unlock(&srv->ledger.mu);
    return held;
}

fws_err fws_server_ledger_append(fws_server *srv, const uint8_t *record, size_t len,
                                 uint64_t *index, fws_errbuf *eb)
{
    srv_ledger *l = &srv->ledger;
    atomic_fetch_add(&l->users, 1);
    pthread_mutex_lock(&l->mu);
    fws_err err = take_locked(srv, eb);
    fws_sequencer *seq = l->seq;
    pthread_mutex_unlock(&l->mu);
    if (err == FWS_OK)
        err = fws_sequencer_append(seq, record, len, index, eb);
    pthread_mutex_lock(&l->mu);
    l->last_use_ms = srv_now_ms();
    pthread_mutex_unlock(&l->mu);
    atomic_fetch_sub(&l->users, 1);
    return err;
}

void srv_ledger_idle_check(fws_server *srv, uint64_t now_ms)
{
    srv_ledger *l = &srv->ledger;
    pthread_mutex_lock(&l->mu);
    if (l->seq != NULL && atomic_load(&l->users) == 0 &&
        now_ms - l->last_use_ms >= SRV_LEDGER_IDLE_MS) {
        fws_errbuf eb = {{0}};
        if (drop_locked(srv, &eb) != FWS_OK)
            fws_server_log(srv, "error", "ledger release failed", "error", eb.msg, NULL);
    }
    pthread_mutex_unlock(&l->mu);
}

void srv_ledger_free(fws_server *srv)
{
    srv_ledger *l = &srv->ledger;
    fws_errbuf eb = {{0}};
    (void)drop_locked(srv, &eb);
    if (l->have_signer)
        fws_signer_free(&l->signer);
    l->have_signer = 0;
}
