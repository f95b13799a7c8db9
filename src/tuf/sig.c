/* Roles, signed bytes, threshold verification and signing. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "fwseal/json.h"

fws_err fws_tuf_role_parse(const json_t *role, fws_tuf_role *out, fws_errbuf *eb)
{
    json_t *ids;
    int64_t threshold = 0;
    fws_err err;

    if (out == NULL)
        return FWS_ERR_ARG;
    if ((err = fws_json_get_array(role, "keyids", &ids, eb)) != FWS_OK ||
        (err = fws_json_get_int(role, "threshold", &threshold, eb)) != FWS_OK)
        return err;
    if (threshold < 1 || threshold > UINT32_MAX)
        return fws_errf(eb, FWS_ERR_SCHEMA, "\"threshold\" must be at least 1");
    size_t n = json_array_size(ids);
    if (n > FWS_TUF_ROLE_KEYS_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "\"keyids\": more than %d", FWS_TUF_ROLE_KEYS_MAX);
    for (size_t i = 0; i < n; i++) {
        const json_t *a = json_array_get(ids, i);
        if (!json_is_string(a) || json_string_length(a) == 0 ||
            json_string_length(a) > FWS_TUF_KEYID_MAX ||
            strlen(json_string_value(a)) != json_string_length(a))
            return fws_errf(eb, FWS_ERR_SCHEMA, "\"keyids\" must hold key ID strings");
        for (size_t j = 0; j < i; j++) {
            if (strcmp(json_string_value(a), json_string_value(json_array_get(ids, j))) == 0)
                return fws_errf(eb, FWS_ERR_SCHEMA, "\"keyids\": key ID %.64s listed twice",
                                json_string_value(a));
        }
    }
    out->keyids = ids;
    out->threshold = (uint32_t)threshold;
    return FWS_OK;
}

fws_err fws_tuf_signed_bytes(const json_t *md, char **out, size_t *len, fws_errbuf *eb)
{
    const json_t *s = json_is_object(md) ? json_object_get(md, "signed") : NULL;
    if (out == NULL || len == NULL)
        return FWS_ERR_ARG;
    if (!json_is_object(s))
        return fws_errf(eb, FWS_ERR_SCHEMA, "missing object \"signed\"");
    fws_err err = fws_json_canonical(s, out, len);
    if (err != FWS_OK)
        return fws_errf(eb, err, "\"signed\" has no canonical form");
    return FWS_OK;
}

/* Checks the signatures array: objects with a key ID string and a hex "sig", no key ID twice. */
static fws_err check_signatures(const json_t *sigs, fws_errbuf *eb)
{
    size_t n = json_array_size(sigs);
    if (!json_is_array(sigs))
        return fws_errf(eb, FWS_ERR_SCHEMA, "\"signatures\" must be an array");
    if (n > FWS_TUF_SIGS_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "more than %d signatures", FWS_TUF_SIGS_MAX);
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(sigs, i);
        const json_t *id = json_object_get(s, "keyid"), *sig = json_object_get(s, "sig");
        if (!json_is_string(id) || !json_is_string(sig) ||
            strlen(json_string_value(id)) != json_string_length(id))
            return fws_errf(eb, FWS_ERR_SCHEMA, "signature %zu needs string keyid and sig", i);
        for (size_t j = 0; j < i; j++) {
            const json_t *o = json_object_get(json_array_get(sigs, j), "keyid");
            if (json_equal((json_t *)o, (json_t *)id))
                return fws_errf(eb, FWS_ERR_SCHEMA, "two signatures by key ID %.64s",
                                json_string_value(id));
        }
    }
    return FWS_OK;
}

/* 1 when the role lists keyid. */
static int role_lists(const fws_tuf_role *role, const char *keyid)
{
    for (size_t i = 0; i < json_array_size(role->keyids); i++) {
        if (strcmp(json_string_value(json_array_get(role->keyids, i)), keyid) == 0)
            return 1;
    }
    return 0;
}

/* 1 when signature s verifies by a key of the role that has not counted yet; records it. */
static int counts(const json_t *s, const uint8_t *msg, size_t len, const fws_tuf_keyring *ring,
                  const fws_tuf_role *role, uint8_t (*seen)[FWS_SHA256_LEN], size_t n_seen)
{
    uint8_t sig[FWS_TUF_SIG_HEX_MAX / 2], fp[FWS_SHA256_LEN];
    size_t sig_len = 0;
    const char *keyid = json_string_value(json_object_get(s, "keyid"));
    const char *hex = json_string_value(json_object_get(s, "sig"));
    size_t hex_len = json_string_length(json_object_get(s, "sig"));

    if (!role_lists(role, keyid))
        return 0;
    const fws_tuf_key *k = fws_tuf_keyring_get(ring, keyid);
    if (k == NULL || hex_len > FWS_TUF_SIG_HEX_MAX)
        return 0;
    if (fws_hex_decode(hex, hex_len, sig, sizeof(sig), &sig_len) != FWS_OK)
        return 0;
    fws_tuf_key_fingerprint(k, fp);
    for (size_t i = 0; i < n_seen; i++) {
        if (memcmp(seen[i], fp, FWS_SHA256_LEN) == 0)
            return 0; /* the same public key under another key ID */
    }
    if (fws_tuf_key_verify(k, msg, len, sig, sig_len) != FWS_OK)
        return 0;
    memcpy(seen[n_seen], fp, FWS_SHA256_LEN);
    return 1;
}

fws_err fws_tuf_verify_role(const json_t *unverified_md, const uint8_t *signed_bytes, size_t len,
                            const fws_tuf_keyring *ring, const fws_tuf_role *role, const char *what,
                            fws_errbuf *eb)
{
    const json_t *sigs =
        json_is_object(unverified_md) ? json_object_get(unverified_md, "signatures") : NULL;
    uint8_t(*seen)[FWS_SHA256_LEN] = NULL;
    size_t valid = 0;
    fws_err err;

    if (signed_bytes == NULL || role == NULL || role->keyids == NULL || what == NULL)
        return FWS_ERR_ARG;
    if ((err = check_signatures(sigs, eb)) != FWS_OK)
        return err;
    size_t n = json_array_size(sigs);
    if (n > 0 && (seen = calloc(n, FWS_SHA256_LEN)) == NULL)
        return FWS_ERR_NOMEM;
    for (size_t i = 0; i < n && valid < role->threshold; i++)
        valid +=
            (size_t)counts(json_array_get(sigs, i), signed_bytes, len, ring, role, seen, valid);
    free(seen);
    if (valid < role->threshold)
        return fws_errf(eb, FWS_ERR_THRESHOLD, "%s: %zu valid signature%s, threshold %u", what,
                        valid, valid == 1 ? "" : "s", role->threshold);
    return FWS_OK;
}

/* Removes any signature by keyid from the array. */
static void drop_signature(json_t *sigs, const char *keyid)
{
    for (size_t i = json_array_size(sigs); i-- > 0;) {
        const json_t *id = json_object_get(json_array_get(sigs, i), "keyid");
        if (json_is_string(id) && strcmp(json_string_value(id), keyid) == 0)
            json_array_remove(sigs, i);
    }
}

fws_err fws_tuf_sign(json_t *md, const fws_signer *signer, const char *keyid, fws_errbuf *eb)
{
    uint8_t sig[FWS_SIG_MAX];
    char hex[2 * FWS_SIG_MAX + 1];
    char *bytes = NULL;
    size_t len = 0, sig_len = 0;
    json_t *sigs, *entry = NULL;
    fws_err err;

    if (md == NULL || signer == NULL || keyid == NULL)
        return FWS_ERR_ARG;
    if ((err = fws_tuf_signed_bytes(md, &bytes, &len, eb)) != FWS_OK)
        return err;
    err = fws_signer_sign(signer, (const uint8_t *)bytes, len, sig, sizeof(sig), &sig_len);
    free(bytes);
    if (err != FWS_OK)
        return fws_errf(eb, err, "signing with key %.64s", keyid);
    fws_hex_encode(sig, sig_len, hex);
    sigs = json_object_get(md, "signatures");
    if (sigs == NULL) {
        if (json_object_set_new(md, "signatures", json_array()) != 0)
            return FWS_ERR_NOMEM;
        sigs = json_object_get(md, "signatures");
    }
    if (!json_is_array(sigs))
        return fws_errf(eb, FWS_ERR_SCHEMA, "\"signatures\" must be an array");
    drop_signature(sigs, keyid);
    entry = json_pack("{s:s, s:s}", "keyid", keyid, "sig", hex);
    if (entry == NULL || json_array_append_new(sigs, entry) != 0)
        return FWS_ERR_NOMEM;
    return FWS_OK;
}
