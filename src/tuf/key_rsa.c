/* RSASSA-PSS-SHA256 verification for TUF "rsa" keys. The crypto layer offers Ed25519 and
 * P-256 only, so this one verify-only path uses OpenSSL directly and stays inside src/tuf. */
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include "internal.h"
#include "fwseal/crypto.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192
#define RSA_PEM_MAX 16384

fws_err tuf_rsa_from_pem(const char *pem, size_t len, void **out, uint8_t fp[FWS_SHA256_LEN])
{
    BIO *bio = NULL;
    EVP_PKEY *pkey = NULL;
    unsigned char *der = NULL;
    fws_err err = FWS_ERR_FORMAT;

    if (len == 0 || len > RSA_PEM_MAX)
        return FWS_ERR_FORMAT;
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL)
        return FWS_ERR_NOMEM;
    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (pkey == NULL)
        goto out;
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA &&
        EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA_PSS) {
        err = FWS_ERR_KEY_TYPE;
        goto out;
    }
    int bits = EVP_PKEY_get_bits(pkey);
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
        err = FWS_ERR_KEY_TYPE;
        goto out;
    }
    int der_len = i2d_PUBKEY(pkey, &der);
    if (der_len <= 0)
        goto out;
    fws_sha256(der, (size_t)der_len, fp);
    *out = pkey;
    pkey = NULL;
    err = FWS_OK;
out:
    OPENSSL_free(der);
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    return err;
}

fws_err tuf_rsa_verify(void *key, const uint8_t *msg, size_t len, const uint8_t *sig,
                       size_t sig_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    fws_err err = FWS_ERR_SIGNATURE;

    if (ctx == NULL)
        return FWS_ERR_NOMEM;
    if (EVP_DigestVerifyInit_ex(ctx, &pctx, "SHA256", NULL, NULL, (EVP_PKEY *)key, NULL) != 1)
        goto out;
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1)
        goto out;
    if (EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1)
        err = FWS_OK;
out:
    EVP_MD_CTX_free(ctx);
    return err;
}

void tuf_rsa_free(void *key)
{
    EVP_PKEY_free((EVP_PKEY *)key);
}
