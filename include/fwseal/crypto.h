/* The crypto layer, on OpenSSL 3. No OpenSSL type appears in this header. */
#ifndef FWSEAL_CRYPTO_H
#define FWSEAL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"
#include "fwseal/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- hashing ---------------------------------------------------------------------------- */

/* SHA-256 and SHA-512 through OpenSSL's accelerated code, as core providers. Their state is a
 * plain struct: no allocation, so they can sit inside core contexts. */
extern const fws_hash_ops fws_sha256_ops;
extern const fws_hash_ops fws_sha512_ops;

typedef struct fws_sha256_ctx {
    _Alignas(16) uint8_t state[FWS_HASH_STATE_MAX];
} fws_sha256_ctx;
typedef struct fws_sha512_ctx {
    _Alignas(16) uint8_t state[FWS_HASH_STATE_MAX];
} fws_sha512_ctx;

void fws_sha256_init(fws_sha256_ctx *c);
void fws_sha256_update(fws_sha256_ctx *c, const void *data, size_t len);
void fws_sha256_final(fws_sha256_ctx *c, uint8_t out[FWS_SHA256_LEN]); /* wipes the state */
void fws_sha256(const void *data, size_t len, uint8_t out[FWS_SHA256_LEN]);

void fws_sha512_init(fws_sha512_ctx *c);
void fws_sha512_update(fws_sha512_ctx *c, const void *data, size_t len);
void fws_sha512_final(fws_sha512_ctx *c, uint8_t out[FWS_SHA512_LEN]);
void fws_sha512(const void *data, size_t len, uint8_t out[FWS_SHA512_LEN]);

/* Hashes a whole file (streamed in 64 KiB reads); fails with FWS_ERR_TOO_BIG past max_len bytes
 * (a regular file's size is checked before the first read). Either output may be NULL, and so
 * may len_out, which receives the file length. FWS_ERR_NOT_FOUND when the file is missing. */
fws_err fws_hash_file(const char *path, uint64_t max_len, uint8_t sha256[FWS_SHA256_LEN],
                      uint8_t sha512[FWS_SHA512_LEN], uint64_t *len_out,
                      fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- randomness -------------------------------------------------------------------------- */

/* Fills buf from OpenSSL's DRBG; FWS_ERR_CRYPTO if it cannot. */
fws_err fws_random(void *buf, size_t len) FWS_MUST_CHECK;

/* ---- keys -------------------------------------------------------------------------------- */

typedef enum fws_key_type {
    FWS_KEY_ED25519 = 1,
    FWS_KEY_P256 = 2,
} fws_key_type;

/* Hex SHA-256 of the key's SubjectPublicKeyInfo DER: 64 hex digits and a NUL. */
#define FWS_KEYID_LEN 65
/* Largest raw public key (uncompressed P-256 point) and signature (DER ECDSA P-256). */
#define FWS_PUBKEY_MAX 65
#define FWS_SIG_MAX 72
/* Largest key file fwseal reads. */
#define FWS_KEYFILE_MAX 65536

typedef struct fws_key fws_key; /* opaque; private or public only */

const char *fws_key_type_name(fws_key_type t); /* "ed25519", "p256" */
fws_err fws_key_type_parse(const char *name, fws_key_type *out) FWS_MUST_CHECK;

fws_err fws_key_generate(fws_key_type type, fws_key **out) FWS_MUST_CHECK;
void fws_key_free(fws_key *k); /* NULL is fine; wipes private material */

fws_key_type fws_key_get_type(const fws_key *k);
/* 1 when the key holds its private half. */
int fws_key_is_private(const fws_key *k);
void fws_key_id(const fws_key *k, char id[FWS_KEYID_LEN]);

/* Raw public key bytes as the core's fws_sig_ops expects them. */
fws_err fws_key_raw_public(const fws_key *k, uint8_t *out, size_t cap, size_t *len) FWS_MUST_CHECK;
/* SPKI DER of the public key into a buffer the caller frees with free(). */
fws_err fws_key_spki_der(const fws_key *k, uint8_t **der, size_t *len) FWS_MUST_CHECK;
/* SPKI PEM text (NUL-terminated) the caller frees with free(). */
fws_err fws_key_public_pem(const fws_key *k, char **pem) FWS_MUST_CHECK;
/* Builds a public key from raw bytes (Ed25519: 32 bytes; P-256: 65-byte uncompressed point).
 * FWS_ERR_KEY_TYPE when len does not fit the type, FWS_ERR_FORMAT for a compressed point or
 * one that is not on the curve. */
fws_err fws_key_from_raw_public(fws_key_type type, const uint8_t *raw, size_t len,
                                fws_key **out) FWS_MUST_CHECK;
/* Builds a private key from raw bytes (Ed25519: the 32-byte seed of RFC 8032; P-256: the 32-byte
 * big-endian scalar, 0 < d < n, else FWS_ERR_FORMAT). For test vectors and key import. */
fws_err fws_key_from_raw_private(fws_key_type type, const uint8_t *raw, size_t len,
                                 fws_key **out) FWS_MUST_CHECK;
/* Parses SPKI PEM from memory (a single "PUBLIC KEY" block, at most FWS_KEYFILE_MAX bytes). */
fws_err fws_key_from_public_pem(const char *pem, size_t len, fws_key **out,
                                fws_errbuf *eb) FWS_MUST_CHECK;
/* Parses SPKI DER (every byte of it). */
fws_err fws_key_from_spki_der(const uint8_t *der, size_t len, fws_key **out,
                              fws_errbuf *eb) FWS_MUST_CHECK;
/* A new public-only key with the same public half (and key ID) as k. */
fws_err fws_key_public_dup(const fws_key *k, fws_key **out) FWS_MUST_CHECK;

/* Passphrases: FWSEAL_PASSPHRASE, else the file (first line, newline stripped), else the
 * terminal (/dev/tty with echo off, asking twice when confirm is set; prompt may be NULL).
 * FWS_ERR_PASSPHRASE when none can be had, when it is empty (always refused) or when the two
 * entries differ; FWS_ERR_TOO_BIG past FWS_PASSPHRASE_MAX - 1 bytes. Wipe with
 * fws_passphrase_wipe. */
#define FWS_PASSPHRASE_MAX 1024
typedef struct fws_passphrase {
    char text[FWS_PASSPHRASE_MAX];
    size_t len;
} fws_passphrase;
fws_err fws_passphrase_get(const char *file, int confirm, const char *prompt, fws_passphrase *out,
                           fws_errbuf *eb) FWS_MUST_CHECK;
void fws_passphrase_wipe(fws_passphrase *p);

/* Key files. Private keys: PKCS#8 PEM encrypted with the passphrase (PBES2, AES-256-CBC,
 * PBKDF2-HMAC-SHA256), mode 0600. Public keys: SPKI PEM. Written to a temporary file in the
 * same directory, fsynced, then renamed: never a partial file. Refuses to overwrite unless
 * overwrite is set. */
fws_err fws_key_save_private(const fws_key *k, const char *path, const fws_passphrase *pp,
                             int overwrite, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_key_save_public(const fws_key *k, const char *path, int overwrite,
                            fws_errbuf *eb) FWS_MUST_CHECK;
/* Loads a private key (encrypted PKCS#8; pp may be NULL only for an unencrypted file) or a
 * public key. fws_key_load accepts either and says which through fws_key_is_private.
 * Errors, each with the path in eb: FWS_ERR_NOT_FOUND (missing file), FWS_ERR_TOO_BIG (over
 * FWS_KEYFILE_MAX), FWS_ERR_FORMAT (empty, not PEM, truncated, corrupted, or a PEM of another
 * kind: a certificate, or a public key where a private one is expected and vice versa),
 * FWS_ERR_PASSPHRASE (missing or wrong passphrase), FWS_ERR_KEY_TYPE (RSA, other curves). */
fws_err fws_key_load_private(const char *path, const fws_passphrase *pp, fws_key **out,
                             fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_key_load_public(const char *path, fws_key **out, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_key_load(const char *path, const fws_passphrase *pp, fws_key **out,
                     fws_errbuf *eb) FWS_MUST_CHECK;
/* Reads the PEM label to tell what a file holds without a passphrase:
 * 1 private (encrypted or not), 0 public. */
fws_err fws_key_file_kind(const char *path, int *is_private, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- signatures -------------------------------------------------------------------------- */

/* Ed25519 signs the message itself (64-byte signature); P-256 signs SHA-256(message) and
 * returns DER. sig_cap must be at least FWS_SIG_MAX. */
fws_err fws_key_sign(const fws_key *k, const uint8_t *msg, size_t len, uint8_t *sig, size_t sig_cap,
                     size_t *sig_len) FWS_MUST_CHECK;
/* FWS_OK for a valid signature; FWS_ERR_SIGNATURE for anything else, malformed DER and wrong
 * lengths included. A private key verifies with its public half. */
fws_err fws_key_verify(const fws_key *pub, const uint8_t *msg, size_t len, const uint8_t *sig,
                       size_t sig_len) FWS_MUST_CHECK;
/* The same, but first FWS_ERR_KEY_TYPE unless the key's type is the one alg names. */
fws_err fws_key_verify_alg(const fws_key *pub, fws_sig_alg alg, const uint8_t *msg, size_t len,
                           const uint8_t *sig, size_t sig_len) FWS_MUST_CHECK;

/* The core's signature provider, on OpenSSL. Its verify returns FWS_ERR_KEY_TYPE when the
 * public key's length does not fit alg (or alg is unknown), FWS_ERR_FORMAT for a point off the
 * curve, FWS_ERR_SIGNATURE for a bad signature. */
extern const fws_sig_ops fws_openssl_sig_ops;

/* A signer: anything that can sign with one key. File keys today; a PKCS#11 token or a TPM
 * later, behind the same interface, so callers never change. */
typedef struct fws_signer {
    fws_key_type type;
    char keyid[FWS_KEYID_LEN];
    fws_err (*sign)(void *impl, const uint8_t *msg, size_t len, uint8_t *sig, size_t sig_cap,
                    size_t *sig_len);
    fws_err (*public_key)(void *impl, fws_key **pub); /* a new public-only key */
    void (*destroy)(void *impl);
    void *impl;
} fws_signer;

/* Wraps a private key; on success the signer takes ownership of k (on failure the caller keeps
 * it). FWS_ERR_ARG for a public-only key. */
fws_err fws_signer_from_key(fws_key *k, fws_signer *out) FWS_MUST_CHECK;
fws_err fws_signer_sign(const fws_signer *s, const uint8_t *msg, size_t len, uint8_t *sig,
                        size_t sig_cap, size_t *sig_len) FWS_MUST_CHECK;
/* A new public-only key for the signer's key (free with fws_key_free). */
fws_err fws_signer_public_key(const fws_signer *s, fws_key **pub) FWS_MUST_CHECK;
/* Destroys the implementation (freeing a wrapped key) and wipes the struct. NULL is fine. */
void fws_signer_free(fws_signer *s);

/* ---- encodings --------------------------------------------------------------------------- */

/* Standard base64 with padding. Returns the encoded length; out needs 4*((n+2)/3)+1 bytes. */
size_t fws_base64_encode(const uint8_t *in, size_t n, char *out);
#define FWS_BASE64_LEN(n) (4 * (((n) + 2) / 3))
/* Strict decoding: padding required, no whitespace, no trailing bits set. Nothing is written
 * unless the whole input is valid. FWS_ERR_FORMAT (length not a multiple of 4, a character
 * outside the alphabet, misplaced '='), FWS_ERR_NOT_CANONICAL (non-zero bits left over by the
 * padding), FWS_ERR_TOO_BIG (more than cap bytes decoded). */
fws_err fws_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap,
                          size_t *out_len) FWS_MUST_CHECK;
void fws_hex_encode(const uint8_t *in, size_t n, char *out); /* lower case; out: 2n+1 bytes */
/* Accepts either case. FWS_ERR_FORMAT (odd length, non-hex character), FWS_ERR_TOO_BIG. */
fws_err fws_hex_decode(const char *in, size_t n, uint8_t *out, size_t cap,
                       size_t *out_len) FWS_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
