/* Signatures: pure Ed25519 (RFC 8032, 64 bytes) and ECDSA P-256 over SHA-256 (DER, at most
 * 72 bytes), plus the core's signature provider on top of them. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <string.h>
#include "internal.h"

#define ED25519_SIG_LEN 64

/* EVP wants a non-NULL pointer even for an empty message. */
static const uint8_t empty_msg[1];

fws_err fws_key_sign(const fws_key *k, const uint8_t *msg, size_t len, uint8_t *sig, size_t sig_cap,
                     size_t *sig_len)
{
    uint8_t buf[FWS_SIG_MAX];
    size_t n = sizeof(buf);
    EVP_MD_CTX *ctx = NULL;
    fws_err err = FWS_ERR_CRYPTO;

    if (k == NULL || (msg == NULL && len > 0) || sig == NULL || sig_len == NULL)
        return FWS_ERR_ARG;
    if (!k->is_private || sig_cap < FWS_SIG_MAX)
        return FWS_ERR_ARG;
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        goto out;
    /* Ed25519 hashes internally (no digest may be named); ECDSA signs SHA-256(msg). */
    if (EVP_DigestSignInit_ex(ctx, NULL, k->type == FWS_KEY_P256 ? "SHA256" : NULL, NULL, NULL,
                              k->pkey, NULL) != 1)
        goto out;
    if (EVP_DigestSign(ctx, buf, &n, msg != NULL ? msg : empty_msg, len) != 1)
        goto out;
    memcpy(sig, buf, n);
    *sig_len = n;
    err = FWS_OK;
out:
    EVP_MD_CTX_free(ctx);
    if (err != FWS_OK)
        ERR_clear_error();
    return err;
}

fws_err crypto_pkey_verify(EVP_PKEY *pkey, fws_key_type type, const uint8_t *msg, size_t len,
                           const uint8_t *sig, size_t sig_len)
{
    EVP_MD_CTX *ctx;
    fws_err err = FWS_ERR_SIGNATURE;
    int rc;

    /* Lengths first: a wrong length is a bad signature, never something to hand to a parser. */
    if (type == FWS_KEY_ED25519 && sig_len != ED25519_SIG_LEN)
        return FWS_ERR_SIGNATURE;
    if (type == FWS_KEY_P256 && (sig_len == 0 || sig_len > FWS_SIG_MAX))
        return FWS_ERR_SIGNATURE;
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return FWS_ERR_NOMEM;
    if (EVP_DigestVerifyInit_ex(ctx, NULL, type == FWS_KEY_P256 ? "SHA256" : NULL, NULL, NULL, pkey,
                                NULL) != 1) {
        err = FWS_ERR_CRYPTO;
        goto out;
    }
    /* 1 is a valid signature; 0 a wrong one; < 0 a malformed one (e.g. bad DER). OpenSSL's
     * ECDSA verifier also rejects DER that does not re-encode to the same bytes. */
    rc = EVP_DigestVerify(ctx, sig, sig_len, msg != NULL ? msg : empty_msg, len);
    if (rc == 1)
        err = FWS_OK;
out:
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return err;
}

fws_err fws_key_verify(const fws_key *pub, const uint8_t *msg, size_t len, const uint8_t *sig,
                       size_t sig_len)
{
    if (pub == NULL || (msg == NULL && len > 0) || (sig == NULL && sig_len > 0))
        return FWS_ERR_ARG;
    if (sig == NULL)
        return FWS_ERR_SIGNATURE;
    return crypto_pkey_verify(pub->pkey, pub->type, msg, len, sig, sig_len);
}

fws_err fws_key_verify_alg(const fws_key *pub, fws_sig_alg alg, const uint8_t *msg, size_t len,
                           const uint8_t *sig, size_t sig_len)
{
    fws_key_type want;

    if (pub == NULL)
        return FWS_ERR_ARG;
    if (alg == FWS_SIG_ED25519)
        want = FWS_KEY_ED25519;
    else if (alg == FWS_SIG_ECDSA_P256)
        want = FWS_KEY_P256;
    else
        return FWS_ERR_KEY_TYPE;
    if (pub->type != want)
        return FWS_ERR_KEY_TYPE;
    return fws_key_verify(pub, msg, len, sig, sig_len);
}

/* The core provider works from raw public keys, with no key ID and no wrapper. */
static fws_err openssl_sig_verify(fws_sig_alg alg, const uint8_t *pub, size_t pub_len,
                                  const uint8_t *msg, size_t msg_len, const uint8_t *sig,
                                  size_t sig_len)
{
    EVP_PKEY *pkey = NULL;
    fws_key_type type;
    fws_err err;

    if (alg == FWS_SIG_ED25519)
        type = FWS_KEY_ED25519;
    else if (alg == FWS_SIG_ECDSA_P256)
        type = FWS_KEY_P256;
    else
        return FWS_ERR_KEY_TYPE;
    if (pub == NULL || (msg == NULL && msg_len > 0))
        return FWS_ERR_ARG;
    if (sig == NULL)
        return FWS_ERR_SIGNATURE;
    err = crypto_pkey_from_raw_public(type, pub, pub_len, &pkey);
    if (err != FWS_OK)
        return err;
    err = crypto_pkey_verify(pkey, type, msg, msg_len, sig, sig_len);
    EVP_PKEY_free(pkey);
    return err;
}

const fws_sig_ops fws_openssl_sig_ops = {
    .verify = openssl_sig_verify,
};
