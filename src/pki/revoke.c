/* Revocation, decommissioning and CRLs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fwseal/util.h"
#include "pki/internal.h"

typedef struct crl_list {
    pki_crl_entry *e;
    size_t n, cap;
    int failed;
} crl_list;

static int collect(void *ctx, const fws_pki_cert *c)
{
    crl_list *l = ctx;
    size_t len = 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        pki_crl_entry *grown = realloc(l->e, cap * sizeof(*grown));
        if (grown == NULL) {
            l->failed = 1;
            return 1;
        }
        l->e = grown;
        l->cap = cap;
    }
    pki_crl_entry *e = &l->e[l->n];
    if (fws_hex_decode(c->serial, strlen(c->serial), e->serial, sizeof(e->serial), &len) !=
            FWS_OK ||
        len != PKI_SERIAL_LEN) {
        l->failed = 1;
        return 1;
    }
    e->revoked_at = c->revoked_at;
    e->reason = c->reason;
    l->n++;
    return 0;
}

fws_err fws_pki_crl_update(fws_pki *p, fws_pki_env env, unsigned next_days, fws_errbuf *eb)
{
    crl_list l = {NULL, 0, 0, 0};
    uint8_t *der = NULL;
    char *pem = NULL;
    size_t der_len = 0, pem_len = 0;
    uint64_t number = 0;
    char path[PATH_MAX + 64];
    int64_t now = (int64_t)time(NULL);
    if (fws_pki_env_name(env) == NULL || !p->ca[env].present)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no CA for that environment");
    pki_env_ca *ca = &p->ca[env];
    if (!ca->has_issuer)
        return fws_errf(eb, FWS_ERR_STATE, "the %s issuing key is not loaded",
                        fws_pki_env_name(env));
    fws_err err = pki_store_revoked(p->store, env, now, collect, &l, eb);
    if (err == FWS_OK && l.failed)
        err = fws_errf(eb, FWS_ERR_FORMAT, "a revoked certificate has a malformed serial");
    if (err == FWS_OK)
        err = pki_store_crl_number(p->store, env, &number, eb);
    if (err == FWS_OK)
        err = pki_crl_build(&ca->issuer, ca->inter_name, ca->inter_name_len, ca->inter_ski,
                            number + 1, now - PKI_BACKDATE,
                            now + (int64_t)(next_days ? next_days : 7) * PKI_DAY, l.e, l.n, &der,
                            &der_len, eb);
    if (err == FWS_OK)
        err = pki_pem("X509 CRL", der, der_len, &pem, &pem_len);
    if (err == FWS_OK)
        err = pki_env_path(p, env, "crl.pem", path, sizeof(path));
    if (err == FWS_OK)
        err = fws_file_write_atomic(path, pem, pem_len, 0644, 1, eb);
    free(l.e);
    free(der);
    free(pem);
    return err;
}

/* Revokes what is still valid and sets the device's final status, with its ledger record, in
 * one transaction. */
static fws_err retire(fws_pki *p, fws_pki_device *d, fws_pki_status status, fws_pki_reason reason,
                      const char *record_type, fws_pki_issued *rec, fws_errbuf *eb)
{
    int64_t now = (int64_t)time(NULL);
    size_t revoked = 0;
    char *text = NULL;
    size_t len = 0;
    uint64_t index = 0;
    int appended = 0;
    fws_err err = pki_store_begin(p->store, eb);
    if (err != FWS_OK)
        return err;
    err = pki_store_certs_revoke(p->store, d->id, (int)reason, now, &revoked, eb);
    if (err == FWS_OK && revoked > 0 && !p->ca[d->env].has_issuer)
        err = fws_errf(eb, FWS_ERR_STATE, "the %s issuing key is not loaded: cannot sign the CRL",
                       fws_pki_env_name(d->env));
    d->status = status;
    d->updated_at = now;
    snprintf(d->reason, sizeof(d->reason), "%s", fws_pki_reason_name(reason));
    if (err == FWS_OK)
        err = pki_store_device_put(p->store, d, eb);
    if (err == FWS_OK)
        err = pki_record_device_event(record_type, d->id, fws_pki_reason_name(reason), now, &text,
                                      &len);
    if (err == FWS_OK)
        err = pki_ledger_append(p, &text, &len, 1, &index, &appended, eb);
    if (err == FWS_OK)
        err = pki_store_commit(p->store, eb);
    else
        pki_store_rollback(p->store);
    free(text);
    if (err == FWS_OK && revoked > 0)
        err = fws_pki_crl_update(p, d->env, 0, eb);
    if (err == FWS_OK && rec != NULL) {
        memset(rec, 0, sizeof(*rec));
        memcpy(rec->device_id, d->id, sizeof(rec->device_id));
        rec->in_ledger = appended;
        rec->ledger_index = index;
    }
    return err;
}

fws_err fws_pki_revoke(fws_pki *p, const char *id_or_serial, fws_pki_reason reason,
                       fws_pki_issued *record, fws_errbuf *eb)
{
    fws_pki_device *d = malloc(sizeof(*d));
    if (d == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = pki_store_device_get(p->store, id_or_serial, d, eb);
    if (err == FWS_OK &&
        (d->status == FWS_DEVICE_REVOKED || d->status == FWS_DEVICE_DECOMMISSIONED))
        err = fws_errf(eb, FWS_ERR_STATE, "device %s is already %s", d->id,
                       fws_pki_status_name(d->status));
    if (err == FWS_OK && !p->ca[d->env].has_issuer)
        err = fws_errf(eb, FWS_ERR_STATE, "the %s issuing key is not loaded",
                       fws_pki_env_name(d->env));
    if (err == FWS_OK)
        err = retire(p, d, FWS_DEVICE_REVOKED, reason, "revoke", record, eb);
    free(d);
    return err;
}

fws_err fws_pki_decommission(fws_pki *p, const char *id_or_serial, fws_pki_issued *record,
                             fws_errbuf *eb)
{
    fws_pki_device *d = malloc(sizeof(*d));
    if (d == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = pki_store_device_get(p->store, id_or_serial, d, eb);
    if (err == FWS_OK && d->status == FWS_DEVICE_DECOMMISSIONED)
        err = fws_errf(eb, FWS_ERR_STATE, "device %s is already decommissioned", d->id);
    if (err == FWS_OK)
        err = retire(p, d, FWS_DEVICE_DECOMMISSIONED, FWS_REASON_CESSATION, "decommission", record,
                     eb);
    free(d);
    return err;
}

/* ---- inventory views ---------------------------------------------------------------------- */

fws_err fws_pki_device_get(fws_pki *p, const char *id_or_serial, fws_pki_device *out,
                           fws_errbuf *eb)
{
    if (id_or_serial == NULL || out == NULL)
        return FWS_ERR_ARG;
    return pki_store_device_get(p->store, id_or_serial, out, eb);
}

fws_err fws_pki_device_list(fws_pki *p, const fws_pki_filter *f, fws_pki_device_fn fn, void *ctx,
                            fws_errbuf *eb)
{
    return pki_store_device_list(p->store, f, fn, ctx, eb);
}

fws_err fws_pki_device_certs(fws_pki *p, const char *device_id, fws_pki_cert_fn fn, void *ctx,
                             fws_errbuf *eb)
{
    return pki_store_cert_list(p->store, device_id, fn, ctx, eb);
}

fws_err fws_pki_refusals(fws_pki *p, fws_pki_refusal_fn fn, void *ctx, fws_errbuf *eb)
{
    return pki_store_refusals(p->store, fn, ctx, eb);
}
