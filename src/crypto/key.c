/* Keys: an opaque wrapper around an OpenSSL EVP_PKEY that is Ed25519 or ECDSA P-256. */
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "internal.h"

const char *fws_key_type_name(fws_key_type t)
{
    switch (t) {
    case FWS_KEY_ED25519:
        return "ed25519";
    case FWS_KEY_P256:
        return "p256";
    }
    return "unknown";
}

fws_err fws_key_type_parse(const char *name, fws_key_type *out)
{
    if (name == NULL || out == NULL)
        return FWS_ERR_ARG;
    if (strcmp(name, "ed25519") == 0) {
        *out = FWS_KEY_ED25519;
        return FWS_OK;
    }
    if (strcmp(name, "p256") == 0) {
        *out = FWS_KEY_P256;
        return FWS_OK;
    }
    return FWS_ERR_KEY_TYPE;
}

fws_err crypto_pkey_type(const EVP_PKEY *pkey, fws_key_type *out, fws_errbuf *eb)
{
    char group[64];
    size_t glen = 0;

    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        uint8_t raw[32];
        size_t n = sizeof(raw);
        if (EVP_PKEY_get_raw_public_key(pkey, raw, &n) != 1 || n != sizeof(raw)) {
            ERR_clear_error();
            return fws_errf(eb, FWS_ERR_CRYPTO, "cannot read the Ed25519 public key");
        }
        if (crypto_ed25519_small_order(raw))
            return fws_errf(eb, FWS_ERR_FORMAT, "Ed25519 public key of small order (refused)");
        *out = FWS_KEY_ED25519;
        return FWS_OK;
    }
    if (!EVP_PKEY_is_a(pkey, "EC")) {
        const char *name = EVP_PKEY_get0_type_name(pkey);
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "%s keys are not supported (ed25519 or p256 only)",
                        name != NULL ? name : "such");
    }
    if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) != 1) {
        ERR_clear_error();
        return fws_errf(eb, FWS_ERR_KEY_TYPE,
                        "EC key with explicit curve parameters is not supported (p256 only)");
    }
    if (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "EC curve %s is not supported (p256 only)", group);
    *out = FWS_KEY_P256;
    return FWS_OK;
}

static fws_err compute_id(EVP_PKEY *pkey, char id[FWS_KEYID_LEN])
{
    unsigned char *der = NULL;
    uint8_t digest[FWS_SHA256_LEN];
    int n = i2d_PUBKEY(pkey, &der);

    if (n <= 0) {
        ERR_clear_error();
        return FWS_ERR_CRYPTO;
    }
    fws_sha256(der, (size_t)n, digest);
    OPENSSL_free(der);
    fws_hex_encode(digest, sizeof(digest), id);
    return FWS_OK;
}

fws_err crypto_key_wrap(EVP_PKEY *pkey, int is_private, fws_key **out, fws_errbuf *eb)
{
    fws_key *k = NULL;
    fws_key_type type;
    fws_err err;

    if (pkey == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no key");
    err = crypto_pkey_type(pkey, &type, eb);
    if (err != FWS_OK)
        goto out;
    k = calloc(1, sizeof(*k));
    if (k == NULL) {
        err = fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
        goto out;
    }
    err = compute_id(pkey, k->id);
    if (err != FWS_OK) {
        err = fws_errf(eb, err, "cannot encode the public key");
        goto out;
    }
    k->pkey = pkey;
    k->type = type;
    k->is_private = is_private ? 1 : 0;
    *out = k;
    return FWS_OK;
out:
    free(k);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return err;
}

fws_err fws_key_generate(fws_key_type type, fws_key **out)
{
    EVP_PKEY *pkey = NULL;

    if (out == NULL)
        return FWS_ERR_ARG;
    if (type == FWS_KEY_ED25519)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else if (type == FWS_KEY_P256)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else
        return FWS_ERR_KEY_TYPE;
    if (pkey == NULL) {
        ERR_clear_error();
        return FWS_ERR_CRYPTO;
    }
    return crypto_key_wrap(pkey, 1, out, NULL);
}

void fws_key_free(fws_key *k)
{
    if (k == NULL)
        return;
    /* EVP_PKEY_free clears the private scalar or seed before releasing it. */
    EVP_PKEY_free(k->pkey);
    fws_wipe(k, sizeof(*k));
    free(k);
}

fws_key_type fws_key_get_type(const fws_key *k)
{
    return k->type;
}

int fws_key_is_private(const fws_key *k)
{
    return k->is_private;
}

void fws_key_id(const fws_key *k, char id[FWS_KEYID_LEN])
{
    memcpy(id, k->id, FWS_KEYID_LEN);
}

fws_err fws_key_spki_der(const fws_key *k, uint8_t **der, size_t *len)
{
    uint8_t *buf;
    unsigned char *p;
    int n;

    if (k == NULL || der == NULL || len == NULL)
        return FWS_ERR_ARG;
    n = i2d_PUBKEY(k->pkey, NULL);
    if (n <= 0) {
        ERR_clear_error();
        return FWS_ERR_CRYPTO;
    }
    buf = malloc((size_t)n);
    if (buf == NULL)
        return FWS_ERR_NOMEM;
    p = buf;
    if (i2d_PUBKEY(k->pkey, &p) != n) {
        free(buf);
        ERR_clear_error();
        return FWS_ERR_CRYPTO;
    }
    *der = buf;
    *len = (size_t)n;
    return FWS_OK;
}

fws_err fws_key_public_pem(const fws_key *k, char **pem)
{
    BIO *mem = NULL;
    char *text = NULL, *data;
    long n;
    fws_err err = FWS_ERR_CRYPTO;

    if (k == NULL || pem == NULL)
        return FWS_ERR_ARG;
    mem = BIO_new(BIO_s_mem());
    if (mem == NULL || PEM_write_bio_PUBKEY(mem, k->pkey) != 1)
        goto out;
    n = BIO_get_mem_data(mem, &data);
    if (n <= 0)
        goto out;
    text = malloc((size_t)n + 1);
    if (text == NULL) {
        err = FWS_ERR_NOMEM;
        goto out;
    }
    memcpy(text, data, (size_t)n);
    text[n] = '\0';
    *pem = text;
    err = FWS_OK;
out:
    BIO_free(mem);
    if (err != FWS_OK)
        ERR_clear_error();
    return err;
}

fws_err crypto_key_from_spki(const uint8_t *der, size_t len, const char *what, fws_key **out,
                             fws_errbuf *eb)
{
    const unsigned char *p = der;
    EVP_PKEY *pkey;
    fws_errbuf why;
    fws_err err;

    if (len == 0 || len > (size_t)FWS_KEYFILE_MAX)
        return fws_errf(eb, FWS_ERR_FORMAT, "%s: bad SubjectPublicKeyInfo length", what);
    pkey = d2i_PUBKEY(NULL, &p, (long)len);
    if (pkey == NULL) {
        ERR_clear_error();
        return fws_errf(eb, FWS_ERR_FORMAT, "%s: malformed SubjectPublicKeyInfo", what);
    }
    if (p != der + len) {
        EVP_PKEY_free(pkey);
        return fws_errf(eb, FWS_ERR_FORMAT, "%s: trailing bytes after SubjectPublicKeyInfo", what);
    }
    fws_errbuf_clear(&why);
    err = crypto_key_wrap(pkey, 0, out, &why);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: %s", what, why.msg);
    return FWS_OK;
}

fws_err fws_key_from_spki_der(const uint8_t *der, size_t len, fws_key **out, fws_errbuf *eb)
{
    if ((der == NULL && len > 0) || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no public key");
    return crypto_key_from_spki(der, len, "public key", out, eb);
}

fws_err fws_key_public_dup(const fws_key *k, fws_key **out)
{
    uint8_t *der = NULL;
    size_t len = 0;
    fws_err err;

    if (k == NULL || out == NULL)
        return FWS_ERR_ARG;
    err = fws_key_spki_der(k, &der, &len);
    if (err != FWS_OK)
        return err;
    err = crypto_key_from_spki(der, len, "public key", out, NULL);
    free(der);
    return err;
}
