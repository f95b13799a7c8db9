/* Key files: private keys as encrypted PKCS#8 PEM (RFC 5958 EncryptedPrivateKeyInfo with
 * PBES2 from RFC 8018: PBKDF2-HMAC-SHA256 and AES-256-CBC), public keys as SPKI PEM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include "fwseal/util.h"
#include "internal.h"

/* PBKDF2 iterations for new key files. Current guidance for PBKDF2-HMAC-SHA256 reaches 600,000,
 * which costs about half a second on this class of machine for every load and save: too slow
 * for the test suite and for batch signing. 100,000 keeps a load near 50 ms while still making
 * each passphrase guess cost 100,000 HMACs; the key file is also protected by mode 0600 and a
 * passphrase is required to be non-empty. Readers accept any count (openssl writes 2048). */
#define KEYFILE_PBKDF2_ITER 100000
#define KEYFILE_SALT_LEN 16

static fws_err check_passphrase(const fws_passphrase *pp, fws_errbuf *eb)
{
    if (pp == NULL || pp->len == 0)
        return fws_errf(eb, FWS_ERR_PASSPHRASE, "an empty passphrase is not allowed");
    if (pp->len >= FWS_PASSPHRASE_MAX)
        return fws_errf(eb, FWS_ERR_PASSPHRASE, "passphrase longer than %d bytes",
                        FWS_PASSPHRASE_MAX - 1);
    return FWS_OK;
}

/* Copies a memory BIO's contents into a malloc'd, NUL-terminated buffer. */
static fws_err bio_take(BIO *mem, char **out, size_t *len)
{
    char *data = NULL;
    long n = BIO_get_mem_data(mem, &data);
    char *copy;

    if (n <= 0)
        return FWS_ERR_CRYPTO;
    copy = malloc((size_t)n + 1);
    if (copy == NULL)
        return FWS_ERR_NOMEM;
    memcpy(copy, data, (size_t)n);
    copy[n] = '\0';
    *out = copy;
    *len = (size_t)n;
    return FWS_OK;
}

static fws_err encrypt_to_pem(EVP_PKEY *pkey, const fws_passphrase *pp, char **pem, size_t *len)
{
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    X509_ALGOR *pbe = NULL;
    X509_SIG *enc = NULL;
    BIO *mem = NULL;
    fws_err err = FWS_ERR_CRYPTO;

    /* The PKCS8_PRIV_KEY_INFO holds the key in the clear; freeing it clears it. */
    p8 = EVP_PKEY2PKCS8(pkey);
    if (p8 == NULL)
        goto out;
    pbe = PKCS5_pbe2_set_iv_ex(EVP_aes_256_cbc(), KEYFILE_PBKDF2_ITER, NULL, KEYFILE_SALT_LEN, NULL,
                               NID_hmacWithSHA256, NULL);
    if (pbe == NULL)
        goto out;
    enc = PKCS8_set0_pbe_ex(pp->text, (int)pp->len, p8, pbe, NULL, NULL);
    if (enc == NULL)
        goto out;
    pbe = NULL; /* now owned by enc */
    mem = BIO_new(BIO_s_mem());
    if (mem == NULL || PEM_write_bio_PKCS8(mem, enc) != 1)
        goto out;
    err = bio_take(mem, pem, len);
out:
    BIO_free(mem);
    X509_SIG_free(enc);
    X509_ALGOR_free(pbe);
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (err != FWS_OK)
        ERR_clear_error();
    return err;
}

fws_err fws_key_save_private(const fws_key *k, const char *path, const fws_passphrase *pp,
                             int overwrite, fws_errbuf *eb)
{
    char *pem = NULL;
    size_t len = 0;
    fws_err err;

    if (k == NULL || path == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no key or path");
    if (!k->is_private)
        return fws_errf(eb, FWS_ERR_ARG, "%s: the key has no private half to save", path);
    err = check_passphrase(pp, eb);
    if (err != FWS_OK)
        return err;
    err = encrypt_to_pem(k->pkey, pp, &pem, &len);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: cannot encrypt the private key", path);
    err = fws_file_write_atomic(path, pem, len, 0600, overwrite, eb);
    free(pem);
    return err;
}

fws_err fws_key_save_public(const fws_key *k, const char *path, int overwrite, fws_errbuf *eb)
{
    char *pem = NULL;
    fws_err err;

    if (k == NULL || path == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no key or path");
    err = fws_key_public_pem(k, &pem);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: cannot encode the public key", path);
    err = fws_file_write_atomic(path, pem, strlen(pem), 0644, overwrite, eb);
    free(pem);
    return err;
}

/* Reads a key file and decodes its one PEM block. The file buffer is wiped: it may hold an
 * unencrypted private key. */
static fws_err read_pem_file(const char *path, crypto_pem *out, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_err err;

    if (path == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no key file");
    err = fws_file_read(path, FWS_KEYFILE_MAX, &data, &len, eb);
    if (err != FWS_OK)
        return err;
    err = crypto_pem_decode((const char *)data, len, path, out, eb);
    fws_wipe(data, len);
    free(data);
    return err;
}

/* EVP_PKEY from a decrypted PKCS8_PRIV_KEY_INFO; names the algorithm if OpenSSL has no use
 * for it. */
static fws_err pkey_from_p8(const PKCS8_PRIV_KEY_INFO *p8, const char *path, EVP_PKEY **out,
                            fws_errbuf *eb)
{
    EVP_PKEY *pkey = EVP_PKCS82PKEY_ex(p8, NULL, NULL);
    const ASN1_OBJECT *alg = NULL;
    char name[80] = "unknown";

    if (pkey != NULL) {
        *out = pkey;
        return FWS_OK;
    }
    ERR_clear_error();
    if (PKCS8_pkey_get0(&alg, NULL, NULL, NULL, p8) == 1 && alg != NULL)
        OBJ_obj2txt(name, sizeof(name), alg, 0);
    return fws_errf(eb, FWS_ERR_KEY_TYPE, "%s: unsupported private key algorithm %s", path, name);
}

static fws_err decrypt_private(const crypto_pem *blk, const fws_passphrase *pp, const char *path,
                               EVP_PKEY **out, fws_errbuf *eb)
{
    const unsigned char *p = blk->der;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    X509_SIG *enc = NULL;
    fws_err err;

    if (pp == NULL)
        return fws_errf(eb, FWS_ERR_PASSPHRASE, "%s: the key is encrypted and needs a passphrase",
                        path);
    err = check_passphrase(pp, eb);
    if (err != FWS_OK)
        return err;
    enc = d2i_X509_SIG(NULL, &p, (long)blk->der_len);
    if (enc == NULL || p != blk->der + blk->der_len) {
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: malformed encrypted private key", path);
        goto out;
    }
    p8 = PKCS8_decrypt_ex(enc, pp->text, (int)pp->len, NULL, NULL);
    if (p8 == NULL) {
        err = fws_errf(eb, FWS_ERR_PASSPHRASE, "%s: wrong passphrase or corrupted key", path);
        goto out;
    }
    err = pkey_from_p8(p8, path, out, eb);
out:
    PKCS8_PRIV_KEY_INFO_free(p8);
    X509_SIG_free(enc);
    ERR_clear_error();
    return err;
}

static fws_err plain_private(const crypto_pem *blk, const char *path, EVP_PKEY **out,
                             fws_errbuf *eb)
{
    const unsigned char *p = blk->der;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)blk->der_len);
    fws_err err;

    if (p8 == NULL || p != blk->der + blk->der_len)
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: malformed PKCS#8 private key", path);
    else
        err = pkey_from_p8(p8, path, out, eb);
    PKCS8_PRIV_KEY_INFO_free(p8);
    ERR_clear_error();
    return err;
}

static fws_err load_private_blk(const crypto_pem *blk, const fws_passphrase *pp, const char *path,
                                fws_key **out, fws_errbuf *eb)
{
    char desc[CRYPTO_PEM_LABEL_MAX + 16];
    EVP_PKEY *pkey = NULL;
    fws_errbuf why;
    fws_err err;

    if (blk->kind == CRYPTO_PEM_ENCRYPTED_PRIVATE)
        err = decrypt_private(blk, pp, path, &pkey, eb);
    else if (blk->kind == CRYPTO_PEM_PRIVATE)
        err = plain_private(blk, path, &pkey, eb);
    else
        return fws_errf(eb, FWS_ERR_FORMAT, "%s: holds %s, not a private key", path,
                        crypto_pem_describe(blk, desc, sizeof(desc)));
    if (err != FWS_OK)
        return err;
    fws_errbuf_clear(&why);
    err = crypto_key_wrap(pkey, 1, out, &why);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: %s", path, why.msg);
    return FWS_OK;
}

static fws_err load_public_blk(const crypto_pem *blk, const char *path, fws_key **out,
                               fws_errbuf *eb)
{
    char desc[CRYPTO_PEM_LABEL_MAX + 16];

    if (blk->kind != CRYPTO_PEM_PUBLIC)
        return fws_errf(eb, FWS_ERR_FORMAT, "%s: holds %s, not a public key", path,
                        crypto_pem_describe(blk, desc, sizeof(desc)));
    return crypto_key_from_spki(blk->der, blk->der_len, path, out, eb);
}

fws_err fws_key_load_private(const char *path, const fws_passphrase *pp, fws_key **out,
                             fws_errbuf *eb)
{
    crypto_pem blk;
    fws_err err;

    if (out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no output key");
    err = read_pem_file(path, &blk, eb);
    if (err != FWS_OK)
        return err;
    err = load_private_blk(&blk, pp, path, out, eb);
    crypto_pem_free(&blk);
    return err;
}

fws_err fws_key_load_public(const char *path, fws_key **out, fws_errbuf *eb)
{
    crypto_pem blk;
    fws_err err;

    if (out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no output key");
    err = read_pem_file(path, &blk, eb);
    if (err != FWS_OK)
        return err;
    err = load_public_blk(&blk, path, out, eb);
    crypto_pem_free(&blk);
    return err;
}

fws_err fws_key_load(const char *path, const fws_passphrase *pp, fws_key **out, fws_errbuf *eb)
{
    crypto_pem blk;
    fws_err err;

    if (out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no output key");
    err = read_pem_file(path, &blk, eb);
    if (err != FWS_OK)
        return err;
    if (blk.kind == CRYPTO_PEM_PUBLIC)
        err = load_public_blk(&blk, path, out, eb);
    else if (blk.kind == CRYPTO_PEM_OTHER)
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: holds a %s PEM block, not a key", path, blk.label);
    else
        err = load_private_blk(&blk, pp, path, out, eb);
    crypto_pem_free(&blk);
    return err;
}

fws_err fws_key_file_kind(const char *path, int *is_private, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0, block_len = 0;
    const char *block = NULL;
    crypto_pem blk;
    fws_err err;

    if (path == NULL || is_private == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no key file");
    err = fws_file_read(path, FWS_KEYFILE_MAX, &data, &len, eb);
    if (err != FWS_OK)
        return err;
    err = crypto_pem_scan((const char *)data, len, path, &blk, &block, &block_len, eb);
    if (err == FWS_OK && blk.kind == CRYPTO_PEM_OTHER)
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: holds a %s PEM block, not a key", path, blk.label);
    if (err == FWS_OK)
        *is_private = blk.kind != CRYPTO_PEM_PUBLIC;
    fws_wipe(data, len);
    free(data);
    return err;
}
