/* Ledger records of provisioning events: provision, revoke, decommission. The PKI appends them
 * to the deployment's log (C2SP tlog-tiles, include/fwseal/ledger.h) and publishes a signed
 * checkpoint, so each event has an inclusion proof. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "pki/internal.h"

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The log's signing key: key_ref as stored in log.json, tried as given, then under the log's
 * folder, then under the deployment. */
static fws_err ledger_key_path(const fws_pki *p, const char *ref, char *out, size_t cap)
{
    const char *bases[] = {NULL, p->ledger_dir, p->deploy};
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        if (bases[i] == NULL)
            snprintf(out, cap, "%s", ref);
        else if (ref[0] != '/')
            snprintf(out, cap, "%s/%s", bases[i], ref);
        else
            continue;
        if (exists(out))
            return FWS_OK;
    }
    return FWS_ERR_NOT_FOUND;
}

static fws_err ledger_signer(fws_pki *p, const fws_passphrase *pp, fws_errbuf *eb)
{
    fws_ledger_status *st = malloc(sizeof(*st));
    char path[PATH_MAX + 64];
    fws_key *key = NULL;
    fws_err err = FWS_OK;
    if (st == NULL)
        return FWS_ERR_NOMEM;
    fws_ledger_get_status(p->ledger, st);
    err = ledger_key_path(p, st->key_ref, path, sizeof(path));
    if (err != FWS_OK) {
        err = fws_errf(eb, err, "%s: the log's signing key %s is not found", p->ledger_dir,
                       st->key_ref);
        goto out;
    }
    err = fws_key_load_private(path, pp, &key, eb);
    if (err == FWS_OK)
        err = fws_signer_from_key(key, &p->ledger_signer);
    if (err != FWS_OK)
        goto out;
    key = NULL;
    p->has_ledger_signer = 1;
    err = fws_ledger_set_signer(p->ledger, &p->ledger_signer, eb);
out:
    fws_key_free(key);
    free(st);
    return err;
}

fws_err fws_pki_set_ledger(fws_pki *p, const char *ledger_dir, int required,
                           const fws_passphrase *pp, fws_errbuf *eb)
{
    char probe[PATH_MAX];
    fws_ledger_options opts = {10000, 0};
    if (p->ledger != NULL)
        return fws_errf(eb, FWS_ERR_STATE, "the PKI already has a ledger");
    int n = ledger_dir != NULL
                ? snprintf(p->ledger_dir, sizeof(p->ledger_dir), "%s", ledger_dir)
                : snprintf(p->ledger_dir, sizeof(p->ledger_dir), "%s/ledger", p->deploy);
    if (n < 0 || (size_t)n >= sizeof(p->ledger_dir) ||
        snprintf(probe, sizeof(probe), "%s/log.json", p->ledger_dir) >= (int)sizeof(probe))
        return fws_errf(eb, FWS_ERR_TOO_BIG, "ledger path too long");
    if (!exists(probe)) {
        if (required)
            return fws_errf(eb, FWS_ERR_NOT_FOUND,
                            "%s: no ledger there (fwseal init or fwseal"
                            " log init)",
                            p->ledger_dir);
        return FWS_OK;
    }
    fws_err err = fws_ledger_open(p->ledger_dir, &opts, &p->ledger, eb);
    if (err == FWS_OK && pp != NULL)
        err = ledger_signer(p, pp, eb);
    if (err != FWS_OK) {
        fws_ledger_close(p->ledger);
        p->ledger = NULL;
    }
    return err;
}

fws_err pki_ledger_append(fws_pki *p, char *const *records, const size_t *lens, size_t n,
                          uint64_t *indexes, int *appended, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    *appended = 0;
    if (p->ledger == NULL || n == 0)
        return FWS_OK;
    fws_ledger_entry *e = malloc(n * sizeof(*e));
    uint64_t *idx = indexes != NULL ? indexes : malloc(n * sizeof(*idx));
    if (e == NULL || idx == NULL) {
        err = FWS_ERR_NOMEM;
        goto out;
    }
    for (size_t done = 0; done < n && err == FWS_OK;) {
        size_t k = n - done < FWS_LEDGER_BATCH_MAX ? n - done : FWS_LEDGER_BATCH_MAX;
        for (size_t i = 0; i < k; i++) {
            e[i].data = (const uint8_t *)records[done + i];
            e[i].len = lens[done + i];
        }
        err = fws_ledger_append(p->ledger, e, k, idx + done, NULL, eb);
        done += k;
    }
    if (err == FWS_OK) {
        *appended = 1;
        if (p->has_ledger_signer)
            err = fws_ledger_publish(p->ledger, eb);
    }
out:
    free(e);
    if (idx != indexes)
        free(idx);
    return err;
}

/* ---- the records -------------------------------------------------------------------------- */

static fws_err finish(json_t *doc, char **text, size_t *len)
{
    if (doc == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = fws_json_canonical(doc, text, len);
    json_decref(doc);
    return err;
}

static json_t *record_head(const char *type, int64_t when)
{
    char t[32];
    pki_time_rfc3339(when, t);
    return json_pack("{s:s, s:i, s:s}", "type", type, "schema", FWS_RECORD_SCHEMA, "time", t);
}

static int set_opt(json_t *o, const char *key, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return 0;
    return json_object_set_new(o, key, json_string(value));
}

fws_err pki_record_provision(const fws_pki_provision_req *r, const fws_pki_issued *iss,
                             int64_t when, char **text, size_t *len)
{
    json_t *doc = record_head("provision", when);
    if (doc == NULL)
        return FWS_ERR_NOMEM;
    int bad =
        json_object_set_new(doc, "device", json_string(iss->device_id)) |
        json_object_set_new(doc, "serial", json_string(r->serial)) |
        json_object_set_new(doc, "model", json_string(r->model)) |
        json_object_set_new(doc, "batch", json_string(r->batch)) |
        json_object_set_new(doc, "environment", json_string(fws_pki_env_name(r->env))) |
        json_object_set_new(doc, "certificate", json_pack("{s:s}", "sha256", iss->cert_sha256)) |
        set_opt(doc, "bomVersion", r->bom_version) | set_opt(doc, "station", r->station) |
        set_opt(doc, "operator", r->operator_name);
    if (iss->reprovisioned)
        bad |= json_object_set_new(doc, "reprovision", json_true());
    if (r->hw_checks != NULL && json_object_size(r->hw_checks) > 0)
        bad |= json_object_set(doc, "checks", r->hw_checks);
    if (bad) {
        json_decref(doc);
        return FWS_ERR_NOMEM;
    }
    return finish(doc, text, len);
}

fws_err pki_record_device_event(const char *type, const char *device_id, const char *reason,
                                int64_t when, char **text, size_t *len)
{
    json_t *doc = record_head(type, when);
    if (doc == NULL)
        return FWS_ERR_NOMEM;
    int bad = json_object_set_new(doc, "reason", json_string(reason));
    if (strcmp(type, "revoke") == 0)
        bad |= json_object_set_new(doc, "subject", json_string("device")) |
               json_object_set_new(doc, "id", json_string(device_id));
    else
        bad |= json_object_set_new(doc, "device", json_string(device_id));
    if (bad) {
        json_decref(doc);
        return FWS_ERR_NOMEM;
    }
    return finish(doc, text, len);
}
