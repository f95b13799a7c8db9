/* TUF key objects: parsing, fingerprints, verification, and the key objects fwseal writes. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "fwseal/json.h"

struct fws_tuf_key {
    fws_tuf_keytype type;
    fws_key *key; /* Ed25519 and P-256, through the crypto layer */
    void *rsa;    /* RSA, through key_rsa.c */
    uint8_t fp[FWS_SHA256_LEN];
};

#define PEM_BEGIN "-----BEGIN "
#define PUBLIC_MAX 16384

int tuf_is_hex(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        char c = *s;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

/* An Ed25519 or P-256 key from hex of the raw public key or from SPKI PEM. */
static fws_err crypto_key_from_text(fws_key_type want, const char *pub, fws_key **out,
                                    fws_errbuf *eb)
{
    uint8_t raw[FWS_PUBKEY_MAX];
    size_t raw_len = 0, n = strlen(pub);
    fws_key *k = NULL;
    fws_err err;

    if (strncmp(pub, PEM_BEGIN, strlen(PEM_BEGIN)) == 0) {
        err = fws_key_from_public_pem(pub, n, &k, eb);
        if (err != FWS_OK)
            return fws_errf(eb, FWS_ERR_FORMAT, "keyval.public: not a public key PEM");
        fws_key_type got = fws_key_get_type(k);
        if (got != want) {
            fws_key_free(k);
            return fws_errf(eb, FWS_ERR_KEY_TYPE, "keyval.public: a %s key, not %s",
                            fws_key_type_name(got), fws_key_type_name(want));
        }
        *out = k;
        return FWS_OK;
    }
    if (!tuf_is_hex(pub) || fws_hex_decode(pub, n, raw, sizeof(raw), &raw_len) != FWS_OK)
        return fws_errf(eb, FWS_ERR_FORMAT, "keyval.public: neither hex nor PEM");
    err = fws_key_from_raw_public(want, raw, raw_len, &k);
    if (err != FWS_OK)
        return fws_errf(eb, FWS_ERR_FORMAT, "keyval.public: not a valid %s public key",
                        fws_key_type_name(want));
    *out = k;
    return FWS_OK;
}

static fws_tuf_keytype keytype_of(const char *keytype, const char *scheme)
{
    if (strcmp(keytype, "ed25519") == 0 && strcmp(scheme, "ed25519") == 0)
        return FWS_TUF_KEY_ED25519;
    if ((strcmp(keytype, "ecdsa") == 0 || strcmp(keytype, "ecdsa-sha2-nistp256") == 0) &&
        strcmp(scheme, "ecdsa-sha2-nistp256") == 0)
        return FWS_TUF_KEY_ECDSA_P256;
    if (strcmp(keytype, "rsa") == 0 && strcmp(scheme, "rsassa-pss-sha256") == 0)
        return FWS_TUF_KEY_RSA_PSS_SHA256;
    return FWS_TUF_KEY_UNUSABLE;
}

static fws_err load_value(fws_tuf_key *k, const char *pub, fws_errbuf *eb)
{
    char id[FWS_KEYID_LEN];
    size_t n = 0;
    fws_err err;

    if (k->type == FWS_TUF_KEY_RSA_PSS_SHA256) {
        err = tuf_rsa_from_pem(pub, strlen(pub), &k->rsa, k->fp);
        if (err != FWS_OK)
            return fws_errf(eb, err,
                            "keyval.public: not an RSA public key PEM of 2048 to 8192 bits");
        return FWS_OK;
    }
    err = crypto_key_from_text(k->type == FWS_TUF_KEY_ED25519 ? FWS_KEY_ED25519 : FWS_KEY_P256, pub,
                               &k->key, eb);
    if (err != FWS_OK)
        return err;
    /* fwseal's key ID is the hex SHA-256 of the SPKI DER: exactly the fingerprint. */
    fws_key_id(k->key, id);
    if (fws_hex_decode(id, strlen(id), k->fp, sizeof(k->fp), &n) != FWS_OK || n != sizeof(k->fp))
        return fws_errf(eb, FWS_ERR_CRYPTO, "key fingerprint");
    return FWS_OK;
}

fws_err fws_tuf_key_from_json(const json_t *key, fws_tuf_key **out, fws_errbuf *eb)
{
    const char *keytype, *scheme, *pub;
    json_t *keyval;
    fws_tuf_key *k = NULL;
    fws_err err;

    if (key == NULL || out == NULL)
        return FWS_ERR_ARG;
    if ((err = fws_json_get_string(key, "keytype", &keytype, eb)) != FWS_OK ||
        (err = fws_json_get_string(key, "scheme", &scheme, eb)) != FWS_OK ||
        (err = fws_json_get_object(key, "keyval", &keyval, eb)) != FWS_OK)
        return err;
    fws_tuf_keytype type = keytype_of(keytype, scheme);
    if (type == FWS_TUF_KEY_UNUSABLE)
        return fws_errf(eb, FWS_ERR_UNSUPPORTED, "key type \"%.40s\" with scheme \"%.40s\"",
                        keytype, scheme);
    if ((err = fws_json_get_string(keyval, "public", &pub, eb)) != FWS_OK)
        return err;
    if (strlen(pub) > PUBLIC_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "keyval.public: over %d bytes", PUBLIC_MAX);
    k = calloc(1, sizeof(*k));
    if (k == NULL)
        return FWS_ERR_NOMEM;
    k->type = type;
    err = load_value(k, pub, eb);
    if (err != FWS_OK) {
        fws_tuf_key_free(k);
        return err;
    }
    *out = k;
    return FWS_OK;
}

void fws_tuf_key_free(fws_tuf_key *k)
{
    if (k == NULL)
        return;
    fws_key_free(k->key);
    tuf_rsa_free(k->rsa);
    free(k);
}

fws_tuf_keytype fws_tuf_key_type(const fws_tuf_key *k)
{
    return k == NULL ? FWS_TUF_KEY_UNUSABLE : k->type;
}

void fws_tuf_key_fingerprint(const fws_tuf_key *k, uint8_t out[FWS_SHA256_LEN])
{
    memcpy(out, k->fp, FWS_SHA256_LEN);
}

fws_err fws_tuf_key_verify(const fws_tuf_key *k, const uint8_t *msg, size_t len, const uint8_t *sig,
                           size_t sig_len)
{
    if (k == NULL || (msg == NULL && len > 0) || (sig == NULL && sig_len > 0))
        return FWS_ERR_ARG;
    if (k->type == FWS_TUF_KEY_RSA_PSS_SHA256)
        return tuf_rsa_verify(k->rsa, msg, len, sig, sig_len);
    if (k->key == NULL)
        return FWS_ERR_SIGNATURE;
    return fws_key_verify(k->key, msg, len, sig, sig_len) == FWS_OK ? FWS_OK : FWS_ERR_SIGNATURE;
}

/* {"keytype": t, "scheme": s, "keyval": {"public": pub}} */
static fws_err key_object(const char *keytype, const char *scheme, const char *pub, json_t **out)
{
    json_t *o = json_object(), *kv = json_object();
    if (o == NULL || kv == NULL || json_object_set_new(kv, "public", json_string(pub)) != 0 ||
        json_object_set_new(o, "keytype", json_string(keytype)) != 0 ||
        json_object_set_new(o, "scheme", json_string(scheme)) != 0 ||
        json_object_set(o, "keyval", kv) != 0) {
        json_decref(o);
        json_decref(kv);
        return FWS_ERR_NOMEM;
    }
    json_decref(kv);
    *out = o;
    return FWS_OK;
}

fws_err fws_tuf_key_to_json(const fws_key *pub, json_t **out)
{
    uint8_t raw[FWS_PUBKEY_MAX];
    char hex[2 * FWS_PUBKEY_MAX + 1];
    char *pem = NULL;
    size_t n = 0;
    fws_err err;

    if (pub == NULL || out == NULL)
        return FWS_ERR_ARG;
    if (fws_key_get_type(pub) == FWS_KEY_ED25519) {
        err = fws_key_raw_public(pub, raw, sizeof(raw), &n);
        if (err != FWS_OK)
            return err;
        fws_hex_encode(raw, n, hex);
        return key_object("ed25519", "ed25519", hex, out);
    }
    if (fws_key_get_type(pub) != FWS_KEY_P256)
        return FWS_ERR_KEY_TYPE;
    err = fws_key_public_pem(pub, &pem);
    if (err != FWS_OK)
        return err;
    err = key_object("ecdsa", "ecdsa-sha2-nistp256", pem, out);
    free(pem);
    return err;
}

fws_err fws_tuf_keyid(const json_t *key, char id[FWS_TUF_KEYID_HEX_LEN])
{
    uint8_t d[FWS_SHA256_LEN];
    char *c = NULL;
    size_t n = 0;

    if (key == NULL || id == NULL)
        return FWS_ERR_ARG;
    fws_err err = fws_json_canonical(key, &c, &n);
    if (err != FWS_OK)
        return err;
    fws_sha256(c, n, d);
    free(c);
    fws_hex_encode(d, sizeof(d), id);
    return FWS_OK;
}
