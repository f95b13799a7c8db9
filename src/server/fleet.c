/* The fleet module of `fwseal serve`: its context, registration, the assignment key, the
 * release index cache and the calling device's records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/x509.h>
#include "fwseal/core.h"
#include "fwseal/pki.h"
#include "fwseal/util.h"
#include "server/fleet.h"
#include "server/internal.h"

/* Modules live as long as their server; the server has no free hook for modules, so the live
 * ones are kept on this list (a module is freed at shutdown, after its last request). */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static fleet *live;

static void live_add(fleet *f)
{
    pthread_mutex_lock(&live_mu);
    f->next = live;
    live = f;
    pthread_mutex_unlock(&live_mu);
}

static void live_remove(fleet *f)
{
    pthread_mutex_lock(&live_mu);
    for (fleet **p = &live; *p != NULL; p = &(*p)->next) {
        if (*p == f) {
            *p = f->next;
            break;
        }
    }
    pthread_mutex_unlock(&live_mu);
}

/* ---- the assignment key --------------------------------------------------------------------- */

fws_err fws_fleet_assignment_key_ensure(const char *deploy, const fws_passphrase *pp, int *created,
                                        fws_errbuf *eb)
{
    char priv[FLEET_PATH_MAX + 32], pub[FLEET_PATH_MAX + 32], dir[FLEET_PATH_MAX];
    struct stat st;
    snprintf(dir, sizeof(dir), "%s/keys", deploy);
    snprintf(priv, sizeof(priv), "%s/assignment.pem", dir);
    snprintf(pub, sizeof(pub), "%s/assignment.pub", dir);
    if (created != NULL)
        *created = 0;
    if (stat(priv, &st) == 0)
        return FWS_OK;
    fws_key *k = NULL;
    fws_err err = fws_mkdirs(dir, 0700, eb);
    if (err == FWS_OK)
        err = fws_key_generate(FWS_KEY_ED25519, &k);
    if (err == FWS_OK)
        err = fws_key_save_public(k, pub, 1, eb);
    if (err == FWS_OK)
        err = fws_key_save_private(k, priv, pp, 0, eb);
    fws_key_free(k);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: cannot make the assignment key", priv);
    if (created != NULL)
        *created = 1;
    return FWS_OK;
}

static fws_err load_signer(fleet *f, const fws_passphrase *pp, fws_errbuf *eb)
{
    char priv[FLEET_PATH_MAX];
    int created = 0;
    fws_key *k = NULL;
    fws_err err = fws_fleet_assignment_key_ensure(f->deploy, pp, &created, eb);
    snprintf(priv, sizeof(priv), "%s/keys/assignment.pem", f->deploy);
    if (err == FWS_OK)
        err = fws_key_load_private(priv, pp, &k, eb);
    if (err == FWS_OK)
        err = fws_signer_from_key(k, &f->signer);
    if (err != FWS_OK) {
        fws_key_free(k);
        return fws_errf(eb, err, "assignment key");
    }
    f->have_signer = 1;
    if (created)
        fws_server_log(f->srv, "info", "assignment key made: copy it into device bundles", "path",
                       priv, NULL);
    return FWS_OK;
}

/* ---- the release index ---------------------------------------------------------------------- */

json_t *fleet_index(fleet *f)
{
    char path[FLEET_PATH_MAX];
    struct stat st;
    snprintf(path, sizeof(path), "%s/releases.json", f->deploy);
    int have = stat(path, &st) == 0;
    pthread_mutex_lock(&f->mu);
    if (f->index == NULL || !have || st.st_mtim.tv_sec != f->index_mtime.tv_sec ||
        st.st_mtim.tv_nsec != f->index_mtime.tv_nsec) {
        json_t *fresh = NULL;
        if (fleet_releases_read(f->deploy, &fresh, NULL) == FWS_OK) {
            json_decref(f->index);
            f->index = fresh;
            if (have)
                f->index_mtime = st.st_mtim;
        }
    }
    json_t *out = f->index != NULL ? json_incref(f->index) : json_array();
    pthread_mutex_unlock(&f->mu);
    return out;
}

/* ---- the calling device ----------------------------------------------------------------------
 */

fws_err fleet_device_load(fleet *f, fws_req *req, fws_store_device *out, fws_errbuf *eb)
{
    fws_errbuf inner = {{0}};
    fws_err err = fws_store_device_get(req->store, req->device_id, out, &inner);
    if (err != FWS_ERR_NOT_FOUND) {
        if (err != FWS_OK)
            return fws_errf(eb, err, "%s", inner.msg);
        return FWS_OK;
    }
    fws_pki *p = fws_server_pki_lock(f->srv);
    err = fws_fleet_device_register(req->store, p, req->device_id, req->now, eb);
    fws_server_pki_unlock(f->srv);
    if (err == FWS_OK)
        err = fws_store_device_get(req->store, req->device_id, out, eb);
    return err;
}

fws_err fleet_device_key(const fws_req *req, fws_key **out, fws_errbuf *eb)
{
    const uint8_t *const *certs = NULL;
    const size_t *lens = NULL;
    size_t n = 0;
    int verified = 0;
    fws_req_client_chain(req, &certs, &lens, &n, &verified);
    if (n == 0 || !verified)
        return fws_errf(eb, FWS_ERR_STATE, "no verified client certificate");
    const unsigned char *p = certs[0];
    X509 *x = d2i_X509(NULL, &p, (long)lens[0]);
    unsigned char *der = NULL;
    int len = x != NULL ? i2d_PUBKEY(X509_get0_pubkey(x), &der) : -1;
    X509_free(x);
    if (len <= 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "the client certificate's key cannot be read");
    fws_err err = fws_key_from_spki_der(der, (size_t)len, out, eb);
    OPENSSL_free(der);
    return err;
}

fws_err fleet_fail(fws_resp *resp, int status, const char *code, fws_err err, const fws_errbuf *eb)
{
    fws_resp_error(resp, status, code, "%s", eb->msg[0] ? eb->msg : fws_strerror(err));
    return err;
}

/* ---- registration ---------------------------------------------------------------------------- */

static fws_err metric(fws_server *srv, const char *name, const char *help, int gauge,
                      fws_metric **out, fws_errbuf *eb)
{
    return gauge ? fws_server_gauge(srv, name, help, out, eb)
                 : fws_server_counter(srv, name, help, out, eb);
}

static fws_err metrics(fleet *f, fws_errbuf *eb)
{
    fleet_metrics *m = &f->m;
    fws_server *s = f->srv;
    static const char help_a[] = "Assignments signed for devices";
    static const char help_r[] = "Device reports by outcome";
    fws_err err =
        metric(s, "fwseal_assignments_total{target=\"stay\"}", help_a, 0, &m->assignments, eb);
    if (err == FWS_OK)
        err = metric(s, "fwseal_assignments_total{target=\"release\"}", help_a, 0,
                     &m->assign_targets, eb);
    if (err == FWS_OK)
        err =
            metric(s, "fwseal_reports_total{outcome=\"accepted\"}", help_r, 0, &m->reports_new, eb);
    if (err == FWS_OK)
        err = metric(s, "fwseal_reports_total{outcome=\"duplicate\"}", help_r, 0, &m->reports_dup,
                     eb);
    if (err == FWS_OK)
        err = metric(s, "fwseal_reports_total{outcome=\"refused\"}", help_r, 0, &m->reports_refused,
                     eb);
    if (err == FWS_OK)
        err = metric(s, "fwseal_reports_sequenced_total", "Reports moved into the ledger", 0,
                     &m->sequenced, eb);
    if (err == FWS_OK)
        err = metric(s, "fwseal_sequencer_leader",
                     "1 while this server sequences the ledger (holds the store leadership)", 1,
                     &m->leader, eb);
    if (err == FWS_OK)
        err = metric(s, "fwseal_rollout_transitions_total",
                     "Rollout state changes and stage advances made by the controller", 0,
                     &m->rollout_moves, eb);
    return err;
}

static fws_err start_task(fws_server *srv, fws_store *store, void *ctx, fws_errbuf *eb)
{
    (void)srv;
    (void)store;
    (void)eb;
    fleet_sequencer_start(ctx);
    return FWS_OK;
}

static void on_shutdown(fws_server *srv, void *ctx)
{
    fleet *f = ctx;
    (void)srv;
    fleet_sequencer_stop(f);
    live_remove(f);
    if (f->have_signer)
        fws_signer_free(&f->signer);
    json_decref(f->index);
    fleet_attest_free(f);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static fws_err setup(fleet *f, fws_errbuf *eb)
{
    fws_err err = fws_fleet_config_load(f->deploy, &f->cfg, eb);
    if (err == FWS_OK)
        err = fleet_attest_setup(f, eb);
    if (err == FWS_OK && f->srv->have_pp)
        err = load_signer(f, &f->srv->pp, eb);
    if (err == FWS_OK)
        err = metrics(f, eb);
    if (err == FWS_OK)
        err = fleet_assign_routes(f, eb);
    if (err == FWS_OK)
        err = fleet_report_routes(f, eb);
    if (err == FWS_OK)
        err = fleet_api_routes(f, eb);
    if (err == FWS_OK)
        err = fleet_rollout_routes(f, eb);
    if (err == FWS_OK)
        err = fleet_attest_routes(f, eb);
    if (err == FWS_OK)
        err = fws_server_add_task(f->srv, "fleet-start", 100, start_task, f, eb);
    if (err == FWS_OK)
        err = fws_server_on_shutdown(f->srv, on_shutdown, f, eb);
    return err;
}

fws_err fws_fleet_register(fws_server *srv, fws_errbuf *eb)
{
    fleet *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return FWS_ERR_NOMEM;
    f->srv = srv;
    pthread_mutex_init(&f->mu, NULL);
    snprintf(f->deploy, sizeof(f->deploy), "%s", fws_server_deploy_dir(srv));
    snprintf(f->store_url, sizeof(f->store_url), "%s", srv->store_url);
    live_add(f);
    fws_err err = setup(f, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "fleet");
    return FWS_OK;
}
