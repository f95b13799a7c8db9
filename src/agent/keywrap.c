/* Content keys wrapped for one device: ephemeral ECDH (X25519 or P-256) with the device's key,
 * HKDF-SHA256, AES-256-GCM. */
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "agent/internal.h"

#define WRAP_ALG "ECDH-ES+HKDF-SHA256+A256GCM"
#define WRAP_INFO "fwseal key wrap v1"
#define WRAP_AAD "fwseal-wrap/v1"
#define PUB_MAX 65

struct fws_enc_key {
    EVP_PKEY *pkey;
    int x25519; /* 1: X25519, 0: P-256 */
};

static fws_err classify(EVP_PKEY *p, int *x25519)
{
    if (EVP_PKEY_is_a(p, "X25519")) {
        *x25519 = 1;
        return FWS_OK;
    }
    char group[32] = "";
    size_t glen = 0;
    if (EVP_PKEY_is_a(p, "EC") &&
        EVP_PKEY_get_utf8_string_param(p, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &glen) == 1 &&
        strcmp(group, "prime256v1") == 0) {
        *x25519 = 0;
        return FWS_OK;
    }
    return FWS_ERR_KEY_TYPE;
}

static fws_err wrap_pkey(EVP_PKEY *p, fws_enc_key **out, fws_errbuf *eb)
{
    fws_enc_key *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        EVP_PKEY_free(p);
        return FWS_ERR_NOMEM;
    }
    k->pkey = p;
    if (classify(p, &k->x25519) != FWS_OK) {
        fws_enc_key_free(k);
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "a key-wrapping key must be X25519 or P-256");
    }
    *out = k;
    return FWS_OK;
}

void fws_enc_key_free(fws_enc_key *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

fws_err fws_enc_key_load(const char *path, fws_enc_key **out, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_err err = fws_file_read(path, FWS_KEYFILE_MAX, &data, &len, eb);
    if (err != FWS_OK)
        return err;
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    EVP_PKEY *p = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    if (p == NULL && bio != NULL) {
        BIO_free(bio);
        bio = BIO_new_mem_buf(data, (int)len);
        p = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    }
    BIO_free(bio);
    fws_wipe(data, len);
    free(data);
    if (p == NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "%s: not a PEM private or public key", path);
    err = wrap_pkey(p, out, eb);
    return err == FWS_OK ? FWS_OK : fws_errf(eb, err, "%s", path);
}

static fws_err pem_out(EVP_PKEY *p, int priv, const char *path, fws_errbuf *eb)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *text = NULL;
    int ok = bio && (priv ? PEM_write_bio_PrivateKey(bio, p, NULL, NULL, 0, NULL, NULL)
                          : PEM_write_bio_PUBKEY(bio, p)) == 1;
    long n = ok ? BIO_get_mem_data(bio, &text) : 0;
    fws_err err = ok && n > 0
                      ? fws_file_write_atomic(path, text, (size_t)n, priv ? 0600 : 0644, 0, eb)
                      : fws_errf(eb, FWS_ERR_CRYPTO, "cannot encode a key");
    if (text != NULL)
        fws_wipe(text, (size_t)n);
    BIO_free(bio);
    return err;
}

fws_err fws_enc_key_generate(const char *type, const char *priv_path, const char *pub_path,
                             fws_errbuf *eb)
{
    EVP_PKEY *p = NULL;
    if (strcmp(type, "x25519") == 0)
        p = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    else if (strcmp(type, "p256") == 0)
        p = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "key-wrapping keys are x25519 or p256");
    if (p == NULL)
        return fws_errf(eb, FWS_ERR_CRYPTO, "key generation failed");
    fws_err err = pem_out(p, 1, priv_path, eb);
    if (err == FWS_OK)
        err = pem_out(p, 0, pub_path, eb);
    EVP_PKEY_free(p);
    return err;
}

/* ---- the wrap ----------------------------------------------------------------------------------
 */

static fws_err raw_public(EVP_PKEY *p, uint8_t out[PUB_MAX], size_t *len)
{
    size_t n = 0;
    if (EVP_PKEY_is_a(p, "X25519")) {
        n = 32;
        if (EVP_PKEY_get_raw_public_key(p, out, &n) != 1)
            return FWS_ERR_CRYPTO;
    } else {
        unsigned char *enc = NULL;
        n = EVP_PKEY_get1_encoded_public_key(p, &enc);
        if (n == PUB_MAX)
            memcpy(out, enc, PUB_MAX);
        OPENSSL_free(enc);
        if (n != PUB_MAX)
            return FWS_ERR_CRYPTO;
    }
    *len = n;
    return FWS_OK;
}

static EVP_PKEY *public_from_raw(int x25519, const uint8_t *raw, size_t len)
{
    if (x25519)
        return len == 32 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, raw, len) : NULL;
    EVP_PKEY *p = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); /* parameters to hold the point */
    if (p != NULL && (len != PUB_MAX || EVP_PKEY_set1_encoded_public_key(p, raw, len) != 1)) {
        EVP_PKEY_free(p);
        p = NULL;
    }
    return p;
}

/* kek = HKDF-SHA256(ECDH(priv, peer), info = WRAP_INFO || epk || device public key). */
static fws_err derive_kek(EVP_PKEY *priv, EVP_PKEY *peer, const uint8_t *epk, size_t epk_len,
                          const uint8_t *dev, size_t dev_len, uint8_t kek[32])
{
    uint8_t secret[66], info[sizeof(WRAP_INFO) + 2 * PUB_MAX];
    size_t slen = sizeof(secret);
    EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new(priv, NULL);
    int ok = dc && EVP_PKEY_derive_init(dc) == 1 && EVP_PKEY_derive_set_peer(dc, peer) == 1 &&
             EVP_PKEY_derive(dc, secret, &slen) == 1;
    EVP_PKEY_CTX_free(dc);
    size_t ilen = strlen(WRAP_INFO);
    memcpy(info, WRAP_INFO, ilen);
    memcpy(info + ilen, epk, epk_len);
    memcpy(info + ilen + epk_len, dev, dev_len);
    ilen += epk_len + dev_len;
    EVP_KDF *kdf = ok ? EVP_KDF_fetch(NULL, "HKDF", NULL) : NULL;
    EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, secret, slen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, ilen),
        OSSL_PARAM_construct_end(),
    };
    ok = ok && kc && EVP_KDF_derive(kc, kek, 32, params) == 1;
    EVP_KDF_CTX_free(kc);
    EVP_KDF_free(kdf);
    fws_wipe(secret, sizeof(secret));
    return ok ? FWS_OK : FWS_ERR_CRYPTO;
}

static fws_err aead(int enc, const uint8_t kek[32], const uint8_t nonce[12], const uint8_t *in,
                    uint8_t *out, uint8_t tag[16])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0;
    int ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, kek, nonce, enc) == 1 &&
             EVP_CipherUpdate(c, NULL, &n, (const uint8_t *)WRAP_AAD, strlen(WRAP_AAD)) == 1 &&
             EVP_CipherUpdate(c, out, &n, in, FWS_ENC_KEY_LEN) == 1 &&
             (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1) &&
             EVP_CipherFinal_ex(c, out + n, &n) == 1 &&
             (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1);
    EVP_CIPHER_CTX_free(c);
    return ok ? FWS_OK : enc ? FWS_ERR_CRYPTO : FWS_ERR_SIGNATURE;
}

static void b64_set(json_t *o, const char *k, const uint8_t *d, size_t n)
{
    char b[FWS_BASE64_LEN(PUB_MAX) + 1];
    fws_base64_encode(d, n, b);
    json_object_set_new(o, k, json_string(b));
}

fws_err fws_enc_wrap_key(const fws_enc_key *device_pub, const uint8_t key[FWS_ENC_KEY_LEN],
                         char **json_out, fws_errbuf *eb)
{
    uint8_t epk[PUB_MAX], dev[PUB_MAX], kek[32], nonce[12], ct[FWS_ENC_KEY_LEN + 16];
    size_t epk_len = 0, dev_len = 0;
    EVP_PKEY *eph = device_pub->x25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "X25519")
                                       : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    fws_err err = eph ? raw_public(eph, epk, &epk_len) : FWS_ERR_CRYPTO;
    if (err == FWS_OK)
        err = raw_public(device_pub->pkey, dev, &dev_len);
    if (err == FWS_OK)
        err = derive_kek(eph, device_pub->pkey, epk, epk_len, dev, dev_len, kek);
    if (err == FWS_OK)
        err = fws_random(nonce, sizeof(nonce));
    if (err == FWS_OK)
        err = aead(1, kek, nonce, key, ct, ct + FWS_ENC_KEY_LEN);
    fws_wipe(kek, sizeof(kek));
    EVP_PKEY_free(eph);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot wrap a content key");
    json_t *o = json_object();
    json_object_set_new(o, "alg", json_string(WRAP_ALG));
    json_object_set_new(o, "crv", json_string(device_pub->x25519 ? "X25519" : "P-256"));
    b64_set(o, "epk", epk, epk_len);
    b64_set(o, "nonce", nonce, sizeof(nonce));
    b64_set(o, "ct", ct, sizeof(ct));
    size_t len = 0;
    err = fws_json_canonical(o, json_out, &len);
    json_decref(o);
    return err;
}

static fws_err b64_get(const json_t *o, const char *k, uint8_t *out, size_t want, fws_errbuf *eb)
{
    const char *s = NULL;
    size_t n = 0;
    fws_err err = fws_json_get_string(o, k, &s, eb);
    if (err == FWS_OK && (fws_base64_decode(s, strlen(s), out, want, &n) != FWS_OK || n != want))
        err = fws_errf(eb, FWS_ERR_FORMAT, "wrapped key: \"%s\" must be %zu bytes of base64", k,
                       want);
    return err;
}

fws_err fws_enc_unwrap_key(const fws_enc_key *device_priv, const char *unverified_json,
                           uint8_t key[FWS_ENC_KEY_LEN], fws_errbuf *eb)
{
    static const char *const allowed[] = {"alg", "crv", "epk", "nonce", "ct", NULL};
    json_t *o = NULL;
    const char *alg = NULL, *crv = NULL;
    uint8_t epk[PUB_MAX], dev[PUB_MAX], kek[32], nonce[12], ct[FWS_ENC_KEY_LEN + 16], k[32];
    size_t dev_len = 0, epk_len = device_priv->x25519 ? 32 : PUB_MAX;
    EVP_PKEY *peer = NULL;
    fws_err err = fws_json_parse((const uint8_t *)unverified_json, strlen(unverified_json),
                                 FWS_JSON_NO_FLOATS, NULL, &o, eb);
    if (err == FWS_OK)
        err = fws_json_only_keys(o, allowed, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(o, "alg", &alg, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(o, "crv", &crv, eb);
    if (err == FWS_OK &&
        (strcmp(alg, WRAP_ALG) != 0 || strcmp(crv, device_priv->x25519 ? "X25519" : "P-256") != 0))
        err = fws_errf(eb, FWS_ERR_UNSUPPORTED, "wrapped key: %s on %s is not for this key", alg,
                       crv);
    if (err == FWS_OK)
        err = b64_get(o, "epk", epk, epk_len, eb);
    if (err == FWS_OK)
        err = b64_get(o, "nonce", nonce, sizeof(nonce), eb);
    if (err == FWS_OK)
        err = b64_get(o, "ct", ct, sizeof(ct), eb);
    if (err == FWS_OK && (peer = public_from_raw(device_priv->x25519, epk, epk_len)) == NULL)
        err = fws_errf(eb, FWS_ERR_FORMAT, "wrapped key: ephemeral key is not a valid point");
    if (err == FWS_OK)
        err = raw_public(device_priv->pkey, dev, &dev_len);
    if (err == FWS_OK)
        err = derive_kek(device_priv->pkey, peer, epk, epk_len, dev, dev_len, kek);
    if (err == FWS_OK && (err = aead(0, kek, nonce, ct, k, ct + FWS_ENC_KEY_LEN)) != FWS_OK)
        err = fws_errf(eb, err, "wrapped key: does not authenticate for this device");
    if (err == FWS_OK)
        memcpy(key, k, sizeof(k));
    fws_wipe(kek, sizeof(kek));
    fws_wipe(k, sizeof(k));
    EVP_PKEY_free(peer);
    json_decref(o);
    return err;
}
