/* DSSE envelope: PAE, signing, strict parsing and threshold verification. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/dsse.h"
#include "fwseal/json.h"
#include "internal.h"

fws_err fws_dsse_pae(const char *payload_type, const uint8_t *payload, size_t len, uint8_t **out,
                     size_t *out_len)
{
    size_t tlen = strlen(payload_type);
    char head[FWS_DSSE_MAX_TYPE + 64];
    if (tlen >= FWS_DSSE_MAX_TYPE || len > FWS_DSSE_MAX_PAYLOAD)
        return FWS_ERR_TOO_BIG;
    int hlen = snprintf(head, sizeof(head), "DSSEv1 %zu %s %zu ", tlen, payload_type, len);
    if (hlen < 0 || (size_t)hlen >= sizeof(head))
        return FWS_ERR_TOO_BIG;
    uint8_t *buf = malloc((size_t)hlen + len + 1);
    if (buf == NULL)
        return FWS_ERR_NOMEM;
    memcpy(buf, head, (size_t)hlen);
    if (len > 0)
        memcpy(buf + hlen, payload, len);
    *out = buf;
    *out_len = (size_t)hlen + len;
    return FWS_OK;
}

static json_t *b64_string(const uint8_t *data, size_t len)
{
    char *text = malloc(FWS_BASE64_LEN(len) + 1);
    if (text == NULL)
        return NULL;
    fws_base64_encode(data, len, text);
    json_t *s = json_string(text);
    free(text);
    return s;
}

static fws_err sign_one(const fws_signer *s, const uint8_t *pae, size_t pae_len, json_t *sigs,
                        fws_errbuf *eb)
{
    uint8_t sig[FWS_SIG_MAX];
    size_t sig_len = 0;
    fws_err err = fws_signer_sign(s, pae, pae_len, sig, sizeof(sig), &sig_len);
    if (err != FWS_OK)
        return fws_errf(eb, err, "signing with key %s failed: %s", s->keyid, fws_strerror(err));
    json_t *o = json_pack("{s:s, s:o}", "keyid", s->keyid, "sig", b64_string(sig, sig_len));
    if (o == NULL || json_array_append_new(sigs, o) != 0)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    return FWS_OK;
}

fws_err fws_dsse_sign(const char *payload_type, const uint8_t *payload, size_t len,
                      const fws_signer *const *signers, size_t n_signers, char **envelope,
                      size_t *envelope_len, fws_errbuf *eb)
{
    uint8_t *pae = NULL;
    size_t pae_len = 0;
    json_t *env = NULL, *sigs = NULL;
    char *text = NULL;
    fws_err err;

    if (n_signers == 0 || n_signers > FWS_DSSE_MAX_SIGS)
        return fws_errf(eb, FWS_ERR_ARG, "between 1 and %d signers are needed", FWS_DSSE_MAX_SIGS);
    err = fws_dsse_pae(payload_type, payload, len, &pae, &pae_len);
    if (err != FWS_OK)
        return fws_errf(eb, err, "payload: %s", fws_strerror(err));
    sigs = json_array();
    if (sigs == NULL) {
        err = fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_signers; i++) {
        err = sign_one(signers[i], pae, pae_len, sigs, eb);
        if (err != FWS_OK)
            goto out;
    }
    env = json_pack("{s:o, s:s, s:O}", "payload", b64_string(payload, len), "payloadType",
                    payload_type, "signatures", sigs);
    if (env == NULL) {
        err = fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
        goto out;
    }
    err = fws_json_pretty(env, &text, envelope_len);
    if (err != FWS_OK) {
        err = fws_errf(eb, err, "encoding the envelope: %s", fws_strerror(err));
        goto out;
    }
    *envelope = text;
out:
    json_decref(env);
    json_decref(sigs);
    free(pae);
    return err;
}

static fws_err decode_b64_field(const char *what, const char *text, uint8_t *out, size_t cap,
                                size_t *len, fws_errbuf *eb)
{
    fws_err err = fws_base64_decode(text, strlen(text), out, cap, len);
    if (err == FWS_ERR_TOO_BIG)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "envelope: %s is longer than %zu bytes", what, cap);
    if (err != FWS_OK)
        return fws_errf(eb, FWS_ERR_FORMAT, "envelope: %s is not valid base64", what);
    return FWS_OK;
}

static fws_err parse_sig(const json_t *o, size_t i, fws_dsse_sig *out, fws_errbuf *eb)
{
    static const char *const allowed[] = {"keyid", "sig", NULL};
    const char *sig = NULL, *keyid = NULL;
    fws_err err;

    if (!json_is_object(o))
        return fws_errf(eb, FWS_ERR_SCHEMA, "envelope: signatures[%zu] is not an object", i);
    if ((err = fws_json_only_keys(o, allowed, eb)) != FWS_OK ||
        (err = fws_json_get_string(o, "sig", &sig, eb)) != FWS_OK)
        return fws_errf(eb, err, "envelope: signatures[%zu]", i);
    if (json_object_get(o, "keyid") != NULL) {
        if ((err = fws_json_get_string(o, "keyid", &keyid, eb)) != FWS_OK)
            return err;
        if (strlen(keyid) >= FWS_KEYID_LEN)
            return fws_errf(eb, FWS_ERR_FORMAT, "envelope: signatures[%zu].keyid is too long", i);
        memcpy(out->keyid, keyid, strlen(keyid) + 1);
    }
    return decode_b64_field("a signature", sig, out->sig, sizeof(out->sig), &out->sig_len, eb);
}

static fws_err parse_fields(const json_t *root, fws_dsse_envelope *env, fws_errbuf *eb)
{
    static const char *const allowed[] = {"payload", "payloadType", "signatures", NULL};
    const char *payload = NULL, *type = NULL;
    json_t *sigs = NULL;
    fws_err err;

    if (!json_is_object(root))
        return fws_errf(eb, FWS_ERR_SCHEMA, "envelope: not a JSON object");
    if ((err = fws_json_only_keys(root, allowed, eb)) != FWS_OK ||
        (err = fws_json_get_string(root, "payload", &payload, eb)) != FWS_OK ||
        (err = fws_json_get_string(root, "payloadType", &type, eb)) != FWS_OK ||
        (err = fws_json_get_array(root, "signatures", &sigs, eb)) != FWS_OK)
        return fws_errf(eb, err, "envelope: bad fields");
    if (strlen(type) == 0 || strlen(type) >= sizeof(env->payload_type))
        return fws_errf(eb, FWS_ERR_FORMAT, "envelope: payloadType is empty or too long");
    memcpy(env->payload_type, type, strlen(type) + 1);
    env->n_sigs = json_array_size(sigs);
    if (env->n_sigs == 0 || env->n_sigs > FWS_DSSE_MAX_SIGS)
        return fws_errf(eb, FWS_ERR_SCHEMA, "envelope: needs 1 to %d signatures, has %zu",
                        FWS_DSSE_MAX_SIGS, env->n_sigs);
    for (size_t i = 0; i < env->n_sigs; i++) {
        err = parse_sig(json_array_get(sigs, i), i, &env->sigs[i], eb);
        if (err != FWS_OK)
            return err;
    }
    size_t plen = strlen(payload);
    size_t cap = plen / 4 * 3 + 3;
    if (cap > FWS_DSSE_MAX_PAYLOAD + 3)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "envelope: payload over %u bytes",
                        FWS_DSSE_MAX_PAYLOAD);
    env->unverified_payload = malloc(cap + 1);
    if (env->unverified_payload == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    err = decode_b64_field("payload", payload, env->unverified_payload, cap, &env->payload_len, eb);
    if (err == FWS_OK)
        env->unverified_payload[env->payload_len] = 0;
    return err;
}

fws_err fws_dsse_parse(const uint8_t *unverified, size_t len, fws_dsse_envelope *out,
                       fws_errbuf *eb)
{
    fws_json_limits lim = fws_json_default_limits;
    json_t *root = NULL;
    fws_dsse_envelope env;
    fws_err err;

    if (unverified != NULL && out != NULL && dsse_parse_compact(unverified, len, &env)) {
        *out = env;
        return FWS_OK;
    }
    lim.max_bytes = FWS_DSSE_MAX_ENVELOPE;
    lim.max_depth = 4;
    lim.max_string = FWS_DSSE_MAX_ENVELOPE;
    lim.max_members = 64;
    memset(&env, 0, sizeof(env));
    err = fws_json_parse(unverified, len, FWS_JSON_NO_FLOATS, &lim, &root, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "envelope: %s", fws_strerror(err));
    err = parse_fields(root, &env, eb);
    json_decref(root);
    if (err != FWS_OK) {
        free(env.unverified_payload);
        return err;
    }
    *out = env;
    return FWS_OK;
}

void fws_dsse_envelope_free(fws_dsse_envelope *env)
{
    if (env == NULL)
        return;
    free(env->unverified_payload);
    env->unverified_payload = NULL;
    env->payload_len = 0;
}

/* Index of the key that made signature s, or -1. Errors only for a named key that fails. */
static fws_err match_sig(const fws_dsse_sig *s, const uint8_t *pae, size_t pae_len,
                         const fws_key *const *keys, size_t n_keys, long *which)
{
    fws_err result = FWS_ERR_KEY_MISMATCH;
    *which = -1;
    for (size_t k = 0; k < n_keys; k++) {
        char id[FWS_KEYID_LEN];
        fws_key_id(keys[k], id);
        if (s->keyid[0] != '\0' && strcmp(s->keyid, id) != 0)
            continue;
        if (fws_key_verify(keys[k], pae, pae_len, s->sig, s->sig_len) == FWS_OK) {
            *which = (long)k;
            return FWS_OK;
        }
        result = FWS_ERR_SIGNATURE;
    }
    return result;
}

fws_err fws_dsse_verify(const fws_dsse_envelope *env, const fws_key *const *keys, size_t n_keys,
                        size_t threshold, fws_errbuf *eb)
{
    uint8_t *pae = NULL;
    size_t pae_len = 0, good = 0;
    uint8_t counted[FWS_DSSE_MAX_SIGS] = {0};
    fws_err worst = FWS_ERR_KEY_MISMATCH;

    if (threshold == 0 || n_keys == 0 || n_keys > FWS_DSSE_MAX_SIGS)
        return fws_errf(eb, FWS_ERR_ARG, "verification needs 1 to %d keys and a threshold",
                        FWS_DSSE_MAX_SIGS);
    fws_err err =
        fws_dsse_pae(env->payload_type, env->unverified_payload, env->payload_len, &pae, &pae_len);
    if (err != FWS_OK)
        return fws_errf(eb, err, "envelope: %s", fws_strerror(err));
    for (size_t i = 0; i < env->n_sigs; i++) {
        long k = -1;
        err = match_sig(&env->sigs[i], pae, pae_len, keys, n_keys, &k);
        if (err == FWS_ERR_SIGNATURE)
            worst = FWS_ERR_SIGNATURE;
        if (k >= 0 && !counted[k]) {
            counted[k] = 1;
            good++;
        }
    }
    free(pae);
    if (good >= threshold)
        return FWS_OK;
    if (worst == FWS_ERR_SIGNATURE)
        return fws_errf(eb, FWS_ERR_SIGNATURE,
                        "envelope: the signature does not verify with the given key");
    if (good > 0)
        return fws_errf(eb, FWS_ERR_THRESHOLD, "envelope: %zu of %zu required keys signed", good,
                        threshold);
    if (env->sigs[0].keyid[0] != '\0')
        return fws_errf(eb, FWS_ERR_KEY_MISMATCH,
                        "envelope: signed by key %s, not by the given key", env->sigs[0].keyid);
    return fws_errf(eb, FWS_ERR_KEY_MISMATCH, "envelope: not signed by the given key");
}
