/* The ledger's `key` records of a rotation: one "add" record for each key a role gains and one
 * "revoke" record for each key it loses, each naming the key by fwseal's key ID (SHA-256 of its
 * SubjectPublicKeyInfo DER), so that an auditor sees every change of who may sign. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "repo_internal.h"
#include "repo_keylog.h"

/* The role's keys in a root "signed" object: fingerprints of the distinct public keys. */
static fws_err role_keys(const json_t *root, fws_tuf_kind kind, uint8_t fp[][FWS_SHA256_LEN],
                         size_t cap, size_t *n, fws_errbuf *eb)
{
    const json_t *keys = json_object_get(root, "keys");
    const json_t *role = json_object_get(json_object_get(root, "roles"), fws_tuf_kind_name(kind));
    const json_t *ids = json_object_get(role, "keyids");
    *n = 0;
    for (size_t i = 0; i < json_array_size(ids); i++) {
        const char *id = json_string_value(json_array_get(ids, i));
        fws_tuf_key *k = NULL;
        uint8_t one[FWS_SHA256_LEN];
        int seen = 0;
        if (id == NULL || fws_tuf_key_from_json(json_object_get(keys, id), &k, NULL) != FWS_OK)
            return fws_errf(eb, FWS_ERR_SCHEMA, "root names %s key %.16s but has no usable key",
                            fws_tuf_kind_name(kind), id ? id : "?");
        fws_tuf_key_fingerprint(k, one);
        fws_tuf_key_free(k);
        for (size_t j = 0; j < *n; j++)
            seen |= memcmp(fp[j], one, FWS_SHA256_LEN) == 0;
        if (seen)
            continue;
        if (*n == cap)
            return fws_errf(eb, FWS_ERR_TOO_BIG, "%s has more than %zu keys",
                            fws_tuf_kind_name(kind), cap);
        memcpy(fp[(*n)++], one, FWS_SHA256_LEN);
    }
    return FWS_OK;
}

static int listed(uint8_t fp[][FWS_SHA256_LEN], size_t n, const uint8_t *one)
{
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found |= memcmp(fp[i], one, FWS_SHA256_LEN) == 0;
    return found;
}

static fws_err append_record(const fws_repo_ledger *ledger, fws_tuf_kind kind, const uint8_t *fp,
                             const char *action, const char *when, uint64_t *index, fws_errbuf *eb)
{
    char hex[REPO_HEX256], *text = NULL;
    size_t len = 0;
    fws_hex_encode(fp, FWS_SHA256_LEN, hex);
    json_t *rec = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "type", "key", "schema", 1, "time",
                            when, "role", fws_tuf_kind_name(kind), "keyid", hex, "action", action);
    fws_err err = rec == NULL ? FWS_ERR_NOMEM : fws_json_canonical(rec, &text, &len);
    json_decref(rec);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot build the key record");
    err = ledger->append(ledger->ctx, (const uint8_t *)text, len, index, eb);
    free(text);
    if (err != FWS_OK)
        return fws_errf(eb, err, "the ledger refused the key record of %s key %.16s", action, hex);
    return FWS_OK;
}

fws_err repo_key_records(const json_t *old_root, const json_t *new_root, fws_tuf_kind kind,
                         int64_t now, const fws_repo_ledger *ledger, fws_rotate_result *out,
                         fws_errbuf *eb)
{
    uint8_t before[FWS_REPO_MAX_RECORDS][FWS_SHA256_LEN];
    uint8_t after[FWS_REPO_MAX_RECORDS][FWS_SHA256_LEN];
    size_t nb = 0, na = 0;
    char when[FWS_TUF_TIME_LEN];
    out->n_records = 0;
    if (ledger == NULL || ledger->append == NULL)
        return FWS_OK;
    if (fws_tuf_time_format(now, when) != FWS_OK)
        return fws_errf(eb, FWS_ERR_ARG, "the time is out of range");
    fws_err err = role_keys(old_root, kind, before, FWS_REPO_MAX_RECORDS, &nb, eb);
    if (err == FWS_OK)
        err = role_keys(new_root, kind, after, FWS_REPO_MAX_RECORDS, &na, eb);
    for (size_t i = 0; err == FWS_OK && i < na + nb; i++) {
        int adding = i < na;
        const uint8_t *fp = adding ? after[i] : before[i - na];
        if (listed(adding ? before : after, adding ? nb : na, fp))
            continue; /* kept by the rotation (--use with a key the role had) */
        if (out->n_records == FWS_REPO_MAX_RECORDS)
            return fws_errf(eb, FWS_ERR_TOO_BIG, "more than %d key records", FWS_REPO_MAX_RECORDS);
        size_t r = out->n_records;
        err = append_record(ledger, kind, fp, adding ? "add" : "revoke", when,
                            &out->records[r].index, eb);
        if (err == FWS_OK) {
            fws_hex_encode(fp, FWS_SHA256_LEN, out->records[r].keyid);
            out->records[r].added = adding;
            out->n_records++;
        }
    }
    return err;
}
