/* Sealing key files inside a backup: scrypt (N 2^15, r 8, p 1) turns the passphrase and a random
 * salt into an AES-256-GCM key; the header is authenticated with the ciphertext.
 *   "fwseal-sealed/v1\n" || salt (16) || nonce (12) || ciphertext || tag (16) */
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdlib.h>
#include <string.h>
#include "audit/backup.h"
#include "fwseal/crypto.h"

#define MAGIC "fwseal-sealed/v1\n"
#define SALT_LEN 16
#define NONCE_LEN 12
#define TAG_LEN 16
#define HDR_LEN (sizeof(MAGIC) - 1 + SALT_LEN + NONCE_LEN)

static fws_err derive(const fws_passphrase *pp, const uint8_t *salt, uint8_t key[32])
{
    if (EVP_PBE_scrypt(pp->text, pp->len, salt, SALT_LEN, 1u << 15, 8, 1, 64u << 20, key, 32) != 1)
        return FWS_ERR_CRYPTO;
    return FWS_OK;
}

static fws_err gcm(int enc, const uint8_t key[32], const uint8_t *hdr, const uint8_t *in,
                   size_t len, uint8_t *out, uint8_t tag[TAG_LEN])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, ok = c != NULL &&
                    EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key,
                                      hdr + sizeof(MAGIC) - 1 + SALT_LEN, enc) == 1 &&
                    EVP_CipherUpdate(c, NULL, &n, hdr, (int)HDR_LEN) == 1 &&
                    (len == 0 || EVP_CipherUpdate(c, out, &n, in, (int)len) == 1);
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
    if (ok)
        ok = EVP_CipherFinal_ex(c, out + (len ? (size_t)n : 0), &n) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? FWS_OK : enc ? FWS_ERR_CRYPTO : FWS_ERR_PASSPHRASE;
}

fws_err au_seal(const fws_passphrase *pp, const uint8_t *in, size_t len, uint8_t **out,
                size_t *out_len)
{
    uint8_t key[32];
    if (len > (size_t)1 << 30)
        return FWS_ERR_TOO_BIG;
    uint8_t *b = malloc(HDR_LEN + len + TAG_LEN);
    if (b == NULL)
        return FWS_ERR_NOMEM;
    memcpy(b, MAGIC, sizeof(MAGIC) - 1);
    fws_err err = fws_random(b + sizeof(MAGIC) - 1, SALT_LEN + NONCE_LEN);
    if (err == FWS_OK)
        err = derive(pp, b + sizeof(MAGIC) - 1, key);
    if (err == FWS_OK)
        err = gcm(1, key, b, in, len, b + HDR_LEN, b + HDR_LEN + len);
    fws_wipe(key, sizeof(key));
    if (err != FWS_OK) {
        free(b);
        return err;
    }
    *out = b;
    *out_len = HDR_LEN + len + TAG_LEN;
    return FWS_OK;
}

fws_err au_unseal(const fws_passphrase *pp, const uint8_t *in, size_t len, uint8_t **out,
                  size_t *out_len, fws_errbuf *eb)
{
    uint8_t key[32];
    if (len < HDR_LEN + TAG_LEN || memcmp(in, MAGIC, sizeof(MAGIC) - 1) != 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "sealed keys: not a fwseal-sealed/v1 file");
    size_t n = len - HDR_LEN - TAG_LEN;
    uint8_t *b = malloc(n + 1);
    if (b == NULL)
        return FWS_ERR_NOMEM;
    uint8_t tag[TAG_LEN];
    memcpy(tag, in + HDR_LEN + n, TAG_LEN);
    fws_err err = derive(pp, in + sizeof(MAGIC) - 1, key);
    if (err == FWS_OK)
        err = gcm(0, key, in, in + HDR_LEN, n, b, tag);
    fws_wipe(key, sizeof(key));
    if (err != FWS_OK) {
        fws_wipe(b, n);
        free(b);
        return fws_errf(eb, err, "sealed keys: wrong passphrase or damaged");
    }
    *out = b;
    *out_len = n;
    return FWS_OK;
}
