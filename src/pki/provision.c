/* Factory provisioning: check a request completely, then issue the factory identity, store the
 * device and its certificate, and record the event in the ledger, all or nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pki/internal.h"

#define HW_CHECKS_MAX 64
#define VALIDITY_DAYS_MAX 36500u

typedef struct prov_plan {
    int has_existing;
    fws_pki_device existing;
    uint8_t *spki;
    size_t spki_len;
    char spki_sha256[65];
} prov_plan;

static void plan_free(prov_plan *pl)
{
    free(pl->spki);
    memset(pl, 0, sizeof(*pl));
}

static fws_err check_hw(const json_t *o, fws_errbuf *eb)
{
    const char *name;
    json_t *v;
    if (o == NULL)
        return FWS_OK;
    if (!json_is_object(o))
        return fws_errf(eb, FWS_ERR_ARG, "hardware checks must be an object of results");
    if (json_object_size(o) > HW_CHECKS_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "more than %d hardware checks", HW_CHECKS_MAX);
    json_object_foreach((json_t *)o, name, v)
    {
        fws_err err = pki_check_field("hardware check name", name, 1, PKI_CHARSET_NAME, eb);
        if (err != FWS_OK)
            return err;
        const char *res = json_string_value(v);
        if (res == NULL ||
            (strcmp(res, "pass") != 0 && strcmp(res, "fail") != 0 && strcmp(res, "skip") != 0))
            return fws_errf(eb, FWS_ERR_ARG,
                            "hardware check '%s': result must be pass, fail or skip", name);
    }
    return FWS_OK;
}

static fws_err check_fields(const fws_pki *p, const fws_pki_provision_req *r, fws_errbuf *eb)
{
    fws_err err = pki_check_field("serial", r->serial, 1, PKI_CHARSET_SERIAL, eb);
    if (err == FWS_OK)
        err = pki_check_field("model", r->model, 1, PKI_CHARSET_NAME, eb);
    if (err == FWS_OK)
        err = pki_check_field("batch", r->batch, 1, PKI_CHARSET_NAME, eb);
    if (err == FWS_OK)
        err = pki_check_field("BOM version", r->bom_version, 0, PKI_CHARSET_VERSION, eb);
    if (err == FWS_OK)
        err = pki_check_field("station", r->station, 0, NULL, eb);
    if (err == FWS_OK)
        err = pki_check_field("operator", r->operator_name, 0, NULL, eb);
    if (err == FWS_OK)
        err = check_hw(r->hw_checks, eb);
    if (err == FWS_OK && r->validity_days > VALIDITY_DAYS_MAX)
        err = fws_errf(eb, FWS_ERR_ARG, "validity over %u days", VALIDITY_DAYS_MAX);
    if (err == FWS_OK && !fws_pki_model_known(p, r->model))
        err = fws_errf(eb, FWS_ERR_ARG,
                       "model '%s' is unknown to this deployment (fwseal device model add)",
                       r->model);
    return err;
}

static fws_err check_existing(fws_pki *p, const fws_pki_provision_req *r, prov_plan *pl,
                              fws_errbuf *eb)
{
    fws_err err = pki_store_device_get(p->store, r->serial, &pl->existing, NULL);
    if (err == FWS_ERR_NOT_FOUND)
        return FWS_OK;
    if (err != FWS_OK)
        return fws_errf(eb, err, "inventory lookup failed");
    if (strcmp(pl->existing.serial, r->serial) != 0)
        return fws_errf(eb, FWS_ERR_ARG, "serial '%s' is another device's ID", r->serial);
    pl->has_existing = 1;
    if (pl->existing.status == FWS_DEVICE_DECOMMISSIONED)
        return fws_errf(eb, FWS_ERR_STATE, "serial %s: device %s is decommissioned", r->serial,
                        pl->existing.id);
    if (!r->reprovision)
        return fws_errf(eb, FWS_ERR_EXISTS,
                        "serial %s is already provisioned (device %s, %s); use --reprovision to"
                        " issue a new identity",
                        r->serial, pl->existing.id, fws_pki_env_name(pl->existing.env));
    if (!p->ca[pl->existing.env].has_issuer)
        return fws_errf(eb, FWS_ERR_STATE,
                        "serial %s: reprovisioning needs the %s issuer to revoke the old"
                        " certificates",
                        r->serial, fws_pki_env_name(pl->existing.env));
    return FWS_OK;
}

static fws_err prov_check(fws_pki *p, const fws_pki_provision_req *r, prov_plan *pl, fws_errbuf *eb)
{
    memset(pl, 0, sizeof(*pl));
    if (fws_pki_env_name(r->env) == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "unknown environment");
    if (!p->ca[r->env].present)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "the %s environment has no CA (fwseal ca init)",
                        fws_pki_env_name(r->env));
    if (!p->ca[r->env].has_issuer)
        return fws_errf(eb, FWS_ERR_STATE, "the %s issuing key is not loaded",
                        fws_pki_env_name(r->env));
    fws_err err = check_fields(p, r, eb);
    if (err == FWS_OK && r->key_origin != NULL && strcmp(r->key_origin, "file") == 0 &&
        r->env != FWS_ENV_DEV)
        err = fws_errf(eb, FWS_ERR_STATE,
                       "keys generated into files are for development devices only (%s)",
                       fws_pki_env_name(r->env));
    if (err == FWS_OK)
        err = check_existing(p, r, pl, eb);
    if (err == FWS_OK)
        err = fws_pki_csr_check(r->unverified_csr, r->csr_len, &pl->spki, &pl->spki_len, eb);
    if (err == FWS_OK)
        err = pki_key_unique(p, pl->spki, pl->spki_len, pl->has_existing ? pl->existing.id : "",
                             pl->spki_sha256, eb);
    if (err != FWS_OK)
        plan_free(pl);
    return err;
}

fws_err pki_key_unique(fws_pki *p, const uint8_t *spki, size_t len, const char *device_id,
                       char spki_sha256[65], fws_errbuf *eb)
{
    char owner[FWS_PKI_ID_LEN];
    pki_sha256_hex(spki, len, spki_sha256);
    fws_err err = pki_store_key_owner(p->store, spki_sha256, device_id, owner, eb);
    if (err == FWS_ERR_NOT_FOUND)
        return FWS_OK;
    if (err != FWS_OK)
        return err;
    return fws_errf(eb, FWS_ERR_EXISTS,
                    "the request's key already belongs to device %s: every unit needs its own"
                    " key",
                    owner);
}

static void refuse(fws_pki *p, const fws_pki_provision_req *r, const fws_errbuf *local)
{
    pki_refusal(p, "provision", r->env, r->serial ? r->serial : "", local->msg);
}

fws_err fws_pki_provision_check(fws_pki *p, const fws_pki_provision_req *r, fws_errbuf *eb)
{
    prov_plan pl;
    fws_errbuf local = {{0}};
    fws_err err = prov_check(p, r, &pl, &local);
    if (err != FWS_OK) {
        refuse(p, r, &local);
        return fws_errf(eb, err, "%s", local.msg[0] ? local.msg : fws_strerror(err));
    }
    plan_free(&pl);
    return FWS_OK;
}

/* ---- issuing ------------------------------------------------------------------------------ */

static fws_err new_device_id(char id[FWS_PKI_ID_LEN])
{
    uint8_t raw[16];
    fws_err err = fws_random(raw, sizeof(raw));
    if (err == FWS_OK)
        fws_hex_encode(raw, sizeof(raw), id);
    return err;
}

fws_err pki_issue_device(fws_pki *p, fws_pki_env env, const pki_device_id *dev, const uint8_t *spki,
                         size_t spki_len, unsigned days, int64_t now, fws_pki_issued *out,
                         fws_errbuf *eb)
{
    pki_env_ca *ca = &p->ca[env];
    uint8_t name[PKI_NAME_MAX];
    size_t name_len = 0;
    char uri[64];
    pki_cert_spec spec;
    int64_t ca_nb = 0, ca_na = 0;
    pki_attr attrs[] = {
        PKI_ATTR(pki_oid_ou, DER_UTF8_STRING, dev->model),
        PKI_ATTR(pki_oid_serial_number, DER_PRINTABLE_STRING, dev->serial),
        PKI_ATTR(pki_oid_cn, DER_UTF8_STRING, dev->id),
    };
    if (!ca->has_issuer)
        return fws_errf(eb, FWS_ERR_STATE, "the %s issuing key is not loaded",
                        fws_pki_env_name(env));
    fws_err err = pki_name(attrs, 3, name, sizeof(name), &name_len);
    if (err == FWS_OK)
        err = pki_serial_new(spec.serial);
    if (err == FWS_OK)
        err = pki_x509_validity(ca->inter, &ca_nb, &ca_na);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot prepare the certificate");
    snprintf(uri, sizeof(uri), "urn:fwseal:device:%s", dev->id);
    spec.profile = PKI_PROFILE_DEVICE;
    spec.issuer_name = ca->inter_name;
    spec.issuer_name_len = ca->inter_name_len;
    spec.subject_name = name;
    spec.subject_name_len = name_len;
    spec.spki = spki;
    spec.spki_len = spki_len;
    spec.aki = ca->inter_ski;
    spec.not_before = now - PKI_BACKDATE;
    spec.not_after = now + (int64_t)days * PKI_DAY;
    if (spec.not_after > ca_na)
        spec.not_after = ca_na; /* never outlive the issuer */
    spec.san_uri = uri;
    err = pki_cert_issue(&spec, &ca->issuer, out->der, sizeof(out->der), &out->der_len, eb);
    if (err != FWS_OK)
        return err;
    if (out->device_id != dev->id) /* the caller may pass out->device_id itself */
        snprintf(out->device_id, sizeof(out->device_id), "%s", dev->id);
    fws_hex_encode(spec.serial, PKI_SERIAL_LEN, out->cert_serial);
    pki_sha256_hex(out->der, out->der_len, out->cert_sha256);
    out->not_before = spec.not_before;
    out->not_after = spec.not_after;
    return FWS_OK;
}

static fws_err build_cert(fws_pki *p, const fws_pki_provision_req *r, const prov_plan *pl,
                          int64_t now, fws_pki_issued *out, fws_errbuf *eb)
{
    pki_device_id dev = {out->device_id, r->serial, r->model};
    return pki_issue_device(p, r->env, &dev, pl->spki, pl->spki_len,
                            r->validity_days ? r->validity_days : FWS_PKI_FACTORY_DAYS, now, out,
                            eb);
}

static void device_row(const fws_pki_provision_req *r, const prov_plan *pl,
                       const fws_pki_issued *iss, int64_t now, fws_pki_device *d)
{
    char *checks = NULL;
    size_t len = 0;
    memset(d, 0, sizeof(*d));
    snprintf(d->id, sizeof(d->id), "%s", iss->device_id);
    snprintf(d->serial, sizeof(d->serial), "%s", r->serial);
    snprintf(d->model, sizeof(d->model), "%s", r->model);
    snprintf(d->batch, sizeof(d->batch), "%s", r->batch);
    snprintf(d->bom_version, sizeof(d->bom_version), "%s", r->bom_version ? r->bom_version : "");
    snprintf(d->station, sizeof(d->station), "%s", r->station ? r->station : "");
    snprintf(d->operator_name, sizeof(d->operator_name), "%s",
             r->operator_name ? r->operator_name : "");
    snprintf(d->key_origin, sizeof(d->key_origin), "%s", r->key_origin ? r->key_origin : "csr");
    if (r->hw_checks != NULL && fws_json_canonical(r->hw_checks, &checks, &len) == FWS_OK &&
        len < sizeof(d->hw_checks))
        memcpy(d->hw_checks, checks, len + 1);
    else
        snprintf(d->hw_checks, sizeof(d->hw_checks), "{}");
    free(checks);
    d->env = r->env;
    d->status = FWS_DEVICE_PROVISIONED;
    d->provisioned_at = pl->has_existing ? pl->existing.provisioned_at : now;
    d->updated_at = now;
    d->reprovisions = pl->has_existing ? pl->existing.reprovisions + 1 : 0;
}

static fws_err store_issued(fws_pki *p, const fws_pki_provision_req *r, const prov_plan *pl,
                            const fws_pki_issued *iss, int64_t now, fws_errbuf *eb)
{
    fws_pki_device d;
    fws_pki_cert c;
    size_t revoked = 0;
    fws_err err = FWS_OK;
    if (pl->has_existing)
        err = pki_store_certs_revoke(p->store, pl->existing.id, FWS_REASON_SUPERSEDED, now,
                                     &revoked, eb);
    device_row(r, pl, iss, now, &d);
    if (err == FWS_OK)
        err = pki_store_device_put(p->store, &d, eb);
    memset(&c, 0, sizeof(c));
    memcpy(c.serial, iss->cert_serial, sizeof(c.serial));
    memcpy(c.device_id, iss->device_id, sizeof(c.device_id));
    memcpy(c.sha256, iss->cert_sha256, sizeof(c.sha256));
    memcpy(c.spki_sha256, pl->spki_sha256, sizeof(c.spki_sha256));
    c.env = r->env;
    c.kind = FWS_CERT_FACTORY;
    c.status = FWS_CERT_VALID;
    c.not_before = iss->not_before;
    c.not_after = iss->not_after;
    if (err == FWS_OK)
        err = pki_store_cert_put(p->store, &c, iss->der, iss->der_len, eb);
    return err;
}

static fws_err issue_one(fws_pki *p, const fws_pki_provision_req *r, const prov_plan *pl,
                         int64_t now, fws_pki_issued *out, char **record, size_t *record_len,
                         fws_errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    fws_err err = FWS_OK;
    if (pl->has_existing)
        memcpy(out->device_id, pl->existing.id, sizeof(out->device_id));
    else
        err = new_device_id(out->device_id);
    out->reprovisioned = pl->has_existing;
    if (err == FWS_OK)
        err = build_cert(p, r, pl, now, out, eb);
    if (err == FWS_OK)
        err = store_issued(p, r, pl, out, now, eb);
    if (err == FWS_OK)
        err = pki_record_provision(r, out, now, record, record_len);
    return err;
}

/* ---- batches ------------------------------------------------------------------------------ */

static int cmp_serial(const void *a, const void *b)
{
    const fws_pki_provision_req *const *x = a, *const *y = b;
    return strcmp((*x)->serial, (*y)->serial);
}

/* Serials repeated inside the batch: the later row is reported. */
static fws_err check_duplicates(const fws_pki_provision_req *reqs, const size_t *rows, size_t n,
                                fws_errbuf *eb)
{
    const fws_pki_provision_req **sorted = malloc(n * sizeof(*sorted));
    fws_err err = FWS_OK;
    if (sorted == NULL)
        return FWS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        sorted[i] = &reqs[i];
    qsort(sorted, n, sizeof(*sorted), cmp_serial);
    for (size_t i = 1; i < n && err == FWS_OK; i++) {
        if (strcmp(sorted[i]->serial, sorted[i - 1]->serial) != 0)
            continue;
        size_t a = (size_t)(sorted[i - 1] - reqs), b = (size_t)(sorted[i] - reqs);
        size_t first = a < b ? a : b, second = a < b ? b : a;
        err = fws_errf(eb, FWS_ERR_EXISTS, "row %zu: serial %s is repeated (first on row %zu)",
                       rows ? rows[second] : second + 1, sorted[i]->serial,
                       rows ? rows[first] : first + 1);
    }
    free(sorted);
    return err;
}

static int cmp_key(const void *a, const void *b)
{
    const prov_plan *const *x = a, *const *y = b;
    return strcmp((*x)->spki_sha256, (*y)->spki_sha256);
}

/* Two rows of one batch with the same key: the later row is reported. */
static fws_err check_key_repeats(const prov_plan *plans, const size_t *rows, size_t n,
                                 fws_errbuf *eb)
{
    const prov_plan **sorted = malloc(n * sizeof(*sorted));
    fws_err err = FWS_OK;
    if (sorted == NULL)
        return FWS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        sorted[i] = &plans[i];
    qsort(sorted, n, sizeof(*sorted), cmp_key);
    for (size_t i = 1; i < n && err == FWS_OK; i++) {
        if (strcmp(sorted[i]->spki_sha256, sorted[i - 1]->spki_sha256) != 0)
            continue;
        size_t a = (size_t)(sorted[i - 1] - plans), b = (size_t)(sorted[i] - plans);
        size_t first = a < b ? a : b, second = a < b ? b : a;
        err = fws_errf(eb, FWS_ERR_EXISTS,
                       "row %zu: the same key as row %zu: every unit needs its own key",
                       rows ? rows[second] : second + 1, rows ? rows[first] : first + 1);
    }
    free(sorted);
    return err;
}

static fws_err check_all(fws_pki *p, const fws_pki_provision_req *reqs, const size_t *rows,
                         size_t n, prov_plan *plans, int prefix, fws_errbuf *eb)
{
    for (size_t i = 0; i < n; i++) {
        if (reqs[i].serial == NULL)
            return fws_errf(eb, FWS_ERR_ARG, "row %zu: serial is required", rows ? rows[i] : i + 1);
    }
    fws_err err = check_duplicates(reqs, rows, n, eb);
    if (err != FWS_OK) {
        pki_refusal(p, "provision", reqs[0].env, "batch", eb ? eb->msg : "repeated serial");
        return err;
    }
    for (size_t i = 0; i < n; i++) {
        fws_errbuf local = {{0}};
        err = prov_check(p, &reqs[i], &plans[i], &local);
        if (err == FWS_OK)
            continue;
        refuse(p, &reqs[i], &local);
        if (prefix)
            return fws_errf(eb, err, "row %zu: %s", rows ? rows[i] : i + 1,
                            local.msg[0] ? local.msg : fws_strerror(err));
        return fws_errf(eb, err, "%s", local.msg[0] ? local.msg : fws_strerror(err));
    }
    err = check_key_repeats(plans, rows, n, eb);
    if (err != FWS_OK)
        pki_refusal(p, "provision", reqs[0].env, "batch", eb ? eb->msg : "repeated key");
    return err;
}

/* Regenerates the CRL of every environment a reprovisioned device left certificates in. */
static fws_err crls_after(fws_pki *p, const prov_plan *plans, size_t n, fws_errbuf *eb)
{
    int touched[PKI_ENV_COUNT] = {0};
    fws_err err = FWS_OK;
    for (size_t i = 0; i < n; i++) {
        if (plans[i].has_existing)
            touched[plans[i].existing.env] = 1;
    }
    for (int e = FWS_ENV_DEV; e <= FWS_ENV_PROD && err == FWS_OK; e++) {
        if (touched[e])
            err = fws_pki_crl_update(p, (fws_pki_env)e, 0, eb);
    }
    return err;
}

static fws_err issue_all(fws_pki *p, const fws_pki_provision_req *reqs, const prov_plan *plans,
                         size_t n, fws_pki_issued *out, char **records, size_t *lens,
                         fws_pki_progress_fn progress, void *ctx, fws_errbuf *eb)
{
    int64_t now = (int64_t)time(NULL);
    uint64_t *idx = malloc(n * sizeof(*idx));
    int appended = 0;
    if (idx == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = pki_store_begin(p->store, eb);
    for (size_t i = 0; i < n && err == FWS_OK; i++) {
        err = issue_one(p, &reqs[i], &plans[i], now, &out[i], &records[i], &lens[i], eb);
        if (progress != NULL && (i + 1 == n || (i & 63) == 63))
            progress(ctx, i + 1, n);
    }
    if (err == FWS_OK)
        err = pki_ledger_append(p, records, lens, n, idx, &appended, eb);
    if (err == FWS_OK)
        err = pki_store_commit(p->store, eb);
    else
        pki_store_rollback(p->store);
    for (size_t i = 0; err == FWS_OK && appended && i < n; i++) {
        out[i].in_ledger = 1;
        out[i].ledger_index = idx[i];
    }
    free(idx);
    return err;
}

static fws_err provision_n(fws_pki *p, const fws_pki_provision_req *reqs, const size_t *rows,
                           size_t n, fws_pki_issued *out, fws_pki_progress_fn progress, void *ctx,
                           int prefix, fws_errbuf *eb)
{
    if (n == 0 || n > FWS_PKI_BATCH_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "a batch holds 1 to %d devices", FWS_PKI_BATCH_MAX);
    prov_plan *plans = calloc(n, sizeof(*plans));
    char **records = calloc(n, sizeof(*records));
    size_t *lens = calloc(n, sizeof(*lens));
    fws_err err = FWS_OK;
    if (plans == NULL || records == NULL || lens == NULL) {
        err = FWS_ERR_NOMEM;
        goto out;
    }
    err = check_all(p, reqs, rows, n, plans, prefix, eb);
    if (err == FWS_OK)
        err = issue_all(p, reqs, plans, n, out, records, lens, progress, ctx, eb);
    if (err == FWS_OK)
        err = crls_after(p, plans, n, eb);
out:
    for (size_t i = 0; plans != NULL && i < n; i++) {
        plan_free(&plans[i]);
        free(records ? records[i] : NULL);
    }
    free(plans);
    free(records);
    free(lens);
    return err;
}

fws_err fws_pki_provision(fws_pki *p, const fws_pki_provision_req *r, fws_pki_issued *out,
                          fws_errbuf *eb)
{
    fws_pki_issued *tmp = malloc(sizeof(*tmp));
    if (tmp == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = provision_n(p, r, NULL, 1, tmp, NULL, NULL, 0, eb);
    if (err == FWS_OK)
        *out = *tmp;
    free(tmp);
    return err;
}

fws_err fws_pki_provision_batch(fws_pki *p, const fws_pki_provision_req *reqs, const size_t *rows,
                                size_t n, fws_pki_issued *out, fws_pki_progress_fn progress,
                                void *progress_ctx, fws_errbuf *eb)
{
    return provision_n(p, reqs, rows, n, out, progress, progress_ctx, 1, eb);
}
