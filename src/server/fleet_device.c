/* Device quarantine (status and ledger record) and the two ways a fleet record reaches the
 * ledger: through the running server, or from the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/ledger.h"
#include "fwseal/pki.h"
#include "fwseal/repo.h"
#include "fwseal/tuf.h"
#include "server/fleet.h"

#define LOCAL_LOCK_WAIT_MS 10000

static fws_store_device_status status_of(fws_pki_status s)
{
    switch (s) {
    case FWS_DEVICE_ACTIVE:
        return FWS_STORE_DEV_ACTIVE;
    case FWS_DEVICE_REVOKED:
        return FWS_STORE_DEV_REVOKED;
    case FWS_DEVICE_DECOMMISSIONED:
        return FWS_STORE_DEV_DECOMMISSIONED;
    default:
        return FWS_STORE_DEV_PROVISIONED;
    }
}

fws_err fws_fleet_device_register(fws_store *s, fws_pki *p, const char *device_id, int64_t now,
                                  fws_errbuf *eb)
{
    fws_store_device d;
    fws_pki_device pd;
    fws_errbuf inner = {{0}};
    fws_err err = fws_store_device_get(s, device_id, &d, &inner);
    if (err != FWS_ERR_NOT_FOUND)
        return err == FWS_OK ? FWS_OK : fws_errf(eb, err, "%s", inner.msg);
    err = fws_pki_device_get(p, device_id, &pd, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "device %s is not in the inventory", device_id);
    memset(&d, 0, sizeof(d));
    snprintf(d.id, sizeof(d.id), "%s", pd.id);
    snprintf(d.environment, sizeof(d.environment), "%s", fws_pki_env_name(pd.env));
    if (snprintf(d.model, sizeof(d.model), "%s", pd.model) >= (int)sizeof(d.model))
        return fws_errf(eb, FWS_ERR_ARG, "device %s: model name too long", d.id);
    d.status = status_of(pd.status);
    d.created_at = now;
    d.updated_at = now;
    d.attest_result = FWS_STORE_ATTEST_NONE;
    return fws_store_device_put(s, &d, NULL, eb);
}

typedef struct pki_list {
    fws_pki_device *v;
    size_t n, cap;
    int failed;
} pki_list;

static int collect_pki(void *ctx, const fws_pki_device *d)
{
    pki_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        fws_pki_device *v = cap <= 1000000 ? realloc(l->v, cap * sizeof(*v)) : NULL;
        if (v == NULL) {
            l->failed = 1;
            return 1;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *d;
    return 0;
}

static fws_err add_missing(fws_store *s, const pki_list *l, int64_t now, size_t *added,
                           fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    for (size_t i = 0; err == FWS_OK && i < l->n; i++) {
        const fws_pki_device *pd = &l->v[i];
        fws_store_device d;
        err = fws_store_device_get(s, pd->id, &d, NULL);
        if (err != FWS_ERR_NOT_FOUND)
            continue;
        memset(&d, 0, sizeof(d));
        snprintf(d.id, sizeof(d.id), "%s", pd->id);
        snprintf(d.environment, sizeof(d.environment), "%s", fws_pki_env_name(pd->env));
        snprintf(d.model, sizeof(d.model), "%.64s", pd->model);
        d.status = status_of(pd->status);
        d.created_at = now;
        d.updated_at = now;
        d.attest_result = FWS_STORE_ATTEST_NONE;
        err = fws_store_device_put(s, &d, NULL, eb);
        if (err == FWS_OK)
            (*added)++;
    }
    return err;
}

fws_err fws_fleet_sync_devices(fws_store *s, fws_pki *p, int env, int64_t now, size_t *added,
                               fws_errbuf *eb)
{
    pki_list l = {.v = NULL};
    fws_pki_filter f = {.env = (fws_pki_env)env};
    size_t n = 0;
    fws_err err = fws_pki_device_list(p, &f, collect_pki, &l, eb);
    if (err == FWS_OK && l.failed)
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = fws_store_begin(s, eb);
    if (err == FWS_OK) {
        err = add_missing(s, &l, now, &n, eb);
        if (err == FWS_OK)
            err = fws_store_commit(s, eb);
        else
            fws_store_rollback(s);
    }
    free(l.v);
    if (err == FWS_OK && added != NULL)
        *added = n;
    return err;
}

fws_err fws_fleet_device_quarantine(fws_store *s, const char *device_id, int quarantine,
                                    const char *reason, int64_t now, char **record, size_t *len,
                                    fws_errbuf *eb)
{
    char when[FWS_TUF_TIME_LEN], *text = NULL;
    size_t n = 0;
    if (reason == NULL || reason[0] == '\0')
        reason = quarantine ? "quarantined by an operator" : "released by an operator";
    fws_err err = fws_tuf_time_format(now, when);
    json_t *o = json_pack("{s:s,s:i,s:s,s:s,s:s,s:s}", "type", "quarantine", "schema",
                          FWS_RECORD_SCHEMA, "time", when, "device", device_id, "reason", reason,
                          "action", quarantine ? "begin" : "end");
    if (err == FWS_OK && o == NULL)
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = fws_json_canonical(o, &text, &n);
    json_decref(o);
    char *canon = NULL;
    size_t clen = 0;
    if (err == FWS_OK)
        err = fws_record_validate((const uint8_t *)text, n, &canon, &clen, NULL, eb);
    free(text);
    if (err == FWS_OK)
        err = fws_store_device_set_status(
            s, device_id, quarantine ? FWS_STORE_DEV_QUARANTINED : FWS_STORE_DEV_ACTIVE, now, eb);
    if (err != FWS_OK) {
        free(canon);
        return err;
    }
    *record = canon;
    *len = clen;
    return FWS_OK;
}

fws_err fleet_ledger_append(fleet *f, const char *record, size_t len, uint64_t *index,
                            fws_errbuf *eb)
{
    return fws_server_ledger_append(f->srv, (const uint8_t *)record, len, index, eb);
}

fws_err fws_fleet_ledger_append_local(const char *deploy, const fws_passphrase *pp,
                                      const char *record, size_t len, uint64_t *index,
                                      fws_errbuf *eb)
{
    fws_deploy *d = NULL;
    fws_signer signer;
    int have_signer = 0;
    fws_ledger *l = NULL;
    char dir[FLEET_PATH_MAX];
    fws_err err = fws_deploy_open(deploy, &d, eb);
    if (err == FWS_OK) {
        snprintf(dir, sizeof(dir), "%s", fws_deploy_ledger_dir(d));
        err = fws_deploy_ledger_signer(d, pp, &signer, eb);
        have_signer = err == FWS_OK;
        fws_deploy_close(d);
    }
    fws_ledger_options opts = {.lock_wait_ms = LOCAL_LOCK_WAIT_MS};
    if (err == FWS_OK)
        err = fws_ledger_open(dir, &opts, &l, eb);
    if (err == FWS_OK)
        err = fws_ledger_set_signer(l, &signer, eb);
    fws_ledger_entry e = {.data = (const uint8_t *)record, .len = len};
    uint64_t idx = 0;
    if (err == FWS_OK)
        err = fws_ledger_append(l, &e, 1, &idx, NULL, eb);
    if (err == FWS_OK)
        err = fws_ledger_publish(l, eb);
    fws_ledger_close(l);
    if (have_signer)
        fws_signer_free(&signer);
    if (err == FWS_OK && index != NULL)
        *index = idx;
    return err;
}
