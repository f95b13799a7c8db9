/* Internals shared by the crypto module's files. Nothing outside src/crypto includes this. */
#ifndef FWSEAL_CRYPTO_INTERNAL_H
#define FWSEAL_CRYPTO_INTERNAL_H

#include <openssl/evp.h>
#include "fwseal/crypto.h"

/* A key: the OpenSSL key, what fwseal calls its type, whether the private half is present, and
 * the key ID, computed once when the key is made so fws_key_id() cannot fail. */
struct fws_key {
    EVP_PKEY *pkey;
    fws_key_type type;
    int is_private;
    char id[FWS_KEYID_LEN];
};

/* Checks that pkey is Ed25519 or ECDSA P-256 and wraps it. Takes ownership of pkey in every
 * case (it is freed on failure). FWS_ERR_KEY_TYPE names the unsupported algorithm or curve. */
fws_err crypto_key_wrap(EVP_PKEY *pkey, int is_private, fws_key **out, fws_errbuf *eb);

/* The fwseal type of an OpenSSL key, or FWS_ERR_KEY_TYPE with a message naming what it is. */
fws_err crypto_pkey_type(const EVP_PKEY *pkey, fws_key_type *out, fws_errbuf *eb);

/* A bare public EVP_PKEY from raw bytes (Ed25519: 32 bytes; P-256: 65-byte uncompressed point).
 * FWS_ERR_KEY_TYPE when len does not fit the type, FWS_ERR_FORMAT for a point off the curve. */
fws_err crypto_pkey_from_raw_public(fws_key_type type, const uint8_t *raw, size_t len,
                                    EVP_PKEY **out);

/* 1 when a raw Ed25519 public key encodes a point of small order (refused everywhere). */
int crypto_ed25519_small_order(const uint8_t pub[32]);

/* Verifies with a bare EVP_PKEY of the given type: FWS_OK or FWS_ERR_SIGNATURE. */
fws_err crypto_pkey_verify(EVP_PKEY *pkey, fws_key_type type, const uint8_t *msg, size_t len,
                           const uint8_t *sig, size_t sig_len);

/* ---- PEM ---------------------------------------------------------------------------------- */

#define CRYPTO_PEM_LABEL_MAX 64

typedef enum crypto_pem_kind {
    CRYPTO_PEM_OTHER = 0,
    CRYPTO_PEM_PUBLIC,            /* PUBLIC KEY (SubjectPublicKeyInfo) */
    CRYPTO_PEM_PRIVATE,           /* PRIVATE KEY (unencrypted PKCS#8) */
    CRYPTO_PEM_ENCRYPTED_PRIVATE, /* ENCRYPTED PRIVATE KEY (PKCS#8 EncryptedPrivateKeyInfo) */
} crypto_pem_kind;

/* One decoded PEM block. der is wiped when freed (it may hold a private key). */
typedef struct crypto_pem {
    char label[CRYPTO_PEM_LABEL_MAX];
    crypto_pem_kind kind;
    unsigned char *der;
    size_t der_len;
} crypto_pem;

/* Finds the single PEM block in text and reports its label and kind without decoding it.
 * what names the input in messages (a path). FWS_ERR_FORMAT: empty input, no BEGIN line,
 * a truncated block (no END line), or more than one block. */
fws_err crypto_pem_scan(const char *text, size_t len, const char *what, crypto_pem *out,
                        const char **block, size_t *block_len, fws_errbuf *eb);

/* crypto_pem_scan, then base64-decodes the body into out->der. */
fws_err crypto_pem_decode(const char *text, size_t len, const char *what, crypto_pem *out,
                          fws_errbuf *eb);

/* "a public key (PUBLIC KEY)", "a CERTIFICATE PEM block"...: what a block holds, for messages.
 * buf (at least CRYPTO_PEM_LABEL_MAX + 16 bytes) is used for labels fwseal does not know. */
const char *crypto_pem_describe(const crypto_pem *p, char *buf, size_t cap);

/* Wipes and frees the decoded body. */
void crypto_pem_free(crypto_pem *p);

/* Parses SPKI DER (all of it) into a public key. */
fws_err crypto_key_from_spki(const uint8_t *der, size_t len, const char *what, fws_key **out,
                             fws_errbuf *eb);

#endif
