/* `fwseal release revoke`: record a `revoke` in the ledger, remove the release's targets (image,
 * provenance, SBOM) from the metadata and re-sign. The files stay: older snapshots, which
 * clients may still be reading, name them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "repo_internal.h"

#define DEFAULT_REASON "revoked with fwseal release revoke"

static json_t *role_of(const repo_state *st, fws_tuf_kind kind)
{
    json_t *roles = json_object_get(st->docs[FWS_TUF_ROOT].signed_obj, "roles");
    return json_object_get(roles, fws_tuf_kind_name(kind));
}

/* Removes the release's targets from st (in memory). */
static fws_err remove_targets(fws_deploy *d, repo_state *st, const json_t *entry, fws_errbuf *eb)
{
    const char *image = json_string_value(json_object_get(entry, "target"));
    const char *names[3] = {image, NULL, NULL};
    names[1] = json_string_value(json_object_get(json_object_get(entry, "provenance"), "target"));
    names[2] = json_string_value(json_object_get(json_object_get(entry, "sbom"), "target"));
    fws_err err = repo_target_remove(d, st, image, eb);
    if (err == FWS_ERR_NOT_FOUND)
        return fws_errf(eb, FWS_ERR_STATE, "target %s is not in the published metadata", image);
    for (int i = 1; i < 3 && err == FWS_OK; i++) {
        if (names[i] != NULL &&
            (err = repo_target_remove(d, st, names[i], eb)) == FWS_ERR_NOT_FOUND)
            err = FWS_OK;
    }
    return err;
}

static fws_err revoke_record(const fws_revoke_req *r, char **out, size_t *len, fws_errbuf *eb)
{
    char when[FWS_TUF_TIME_LEN], id[RELEASE_PRODUCT_MAX + RELEASE_VERSION_MAX + 2];
    if (fws_tuf_time_format(r->now, when) != FWS_OK)
        return fws_errf(eb, FWS_ERR_ARG, "the time is out of range");
    snprintf(id, sizeof(id), "%s/%s", r->product, r->version);
    json_t *rec = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "type", "revoke", "schema", 1, "time",
                            when, "subject", "release", "id", id, "reason",
                            r->reason != NULL ? r->reason : DEFAULT_REASON);
    fws_err err = rec == NULL ? FWS_ERR_NOMEM : fws_json_canonical(rec, out, len);
    json_decref(rec);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot build the ledger record");
    return FWS_OK;
}

static fws_err check_request(const fws_revoke_req *r, fws_errbuf *eb)
{
    size_t n = r->reason == NULL ? 1 : strlen(r->reason);
    fws_err err;
    if ((err = repo_check_name("product", r->product, RELEASE_PRODUCT_MAX, "._+-", eb)) ||
        (err = repo_check_name("version", r->version, RELEASE_VERSION_MAX, "._+-", eb)))
        return err;
    if (n == 0 || n > FWS_REPO_MAX_CHANGELOG ||
        !fws_utf8_valid((const uint8_t *)(r->reason ? r->reason : "x"), n))
        return fws_errf(eb, FWS_ERR_ARG, "the reason must be 1 to %u bytes of UTF-8",
                        (unsigned)FWS_REPO_MAX_CHANGELOG);
    for (size_t i = 0; r->reason != NULL && i < n; i++) {
        unsigned char c = (unsigned char)r->reason[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
            return fws_errf(eb, FWS_ERR_ARG, "the reason holds a control character");
    }
    return FWS_OK;
}

/* Loads what the revocation needs and changes the metadata in memory. */
static fws_err prepare(fws_deploy *d, const fws_revoke_req *r, repo_state *st, repo_keyring *kr,
                       json_t **index, json_t **entry, fws_errbuf *eb)
{
    repo_signer_set set;
    fws_err err;
    if ((err = check_request(r, eb)) != FWS_OK || (err = repo_index_load(d, index, eb)) != FWS_OK)
        return err;
    *entry = repo_index_find(*index, r->product, r->version);
    if (*entry == NULL)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no release %s %s in %s", r->product, r->version,
                        d->dir);
    if (json_object_get(*entry, "revoked") != NULL)
        return fws_errf(eb, FWS_ERR_STATE, "%s %s is already revoked", r->product, r->version);
    if ((err = repo_state_load(d, st, eb)) != FWS_OK)
        return err;
    if ((err = repo_state_check_fresh(st, r->now, eb)) != FWS_OK ||
        (err = remove_targets(d, st, *entry, eb)) != FWS_OK)
        return err;
    /* The keys the commit will need, opened before the ledger is written. */
    if ((err = repo_keyring_role(kr, role_of(st, FWS_TUF_SNAPSHOT), "snapshot", &set, eb)))
        return err;
    return repo_commit_check_keys(d, st, kr, eb);
}

fws_err fws_release_revoke(fws_deploy *d, const fws_revoke_req *r, const fws_repo_ledger *ledger,
                           uint64_t *ledger_index, fws_errbuf *eb)
{
    repo_state st;
    repo_keyring kr;
    repo_undo undo = {0};
    json_t *index = NULL, *entry = NULL;
    char *record = NULL, when[FWS_TUF_TIME_LEN];
    size_t record_len = 0;
    uint64_t li = 0;
    fws_errbuf e = {{0}};
    fws_err err;

    if (d == NULL || r == NULL || ledger == NULL || ledger->append == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no ledger to record the revocation in");
    memset(&st, 0, sizeof(st));
    repo_keyring_init(&kr, d, r->pp, &r->extra_keys);
    if ((err = prepare(d, r, &st, &kr, &index, &entry, eb)) != FWS_OK ||
        (err = revoke_record(r, &record, &record_len, eb)) != FWS_OK ||
        (err = ledger->append(ledger->ctx, (const uint8_t *)record, record_len, &li, eb)))
        goto out;
    err = repo_commit(d, &st, &kr, r->now, &undo, &e);
    if (err == FWS_OK) {
        repo_undo_clear(&undo);
        json_t *rv = json_pack(
            "{s:s, s:I, s:s}", "at", fws_tuf_time_format(r->now, when) == FWS_OK ? when : "",
            "ledgerIndex", (json_int_t)li, "reason", r->reason ? r->reason : DEFAULT_REASON);
        if (rv == NULL || json_object_set_new(entry, "revoked", rv) != 0)
            err = fws_errf(&e, FWS_ERR_NOMEM, "out of memory");
        else
            err = repo_index_save(d, index, &e);
    }
    if (err != FWS_OK)
        err = fws_errf(eb, err, "ledger record %llu was appended, but the revocation failed: %s",
                       (unsigned long long)li, e.msg);
out:
    repo_undo_rollback(&undo);
    repo_keyring_free(&kr);
    repo_state_free(&st);
    json_decref(index);
    free(record);
    if (err == FWS_OK && ledger_index != NULL)
        *ledger_index = li;
    return err;
}
