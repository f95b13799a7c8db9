/* Internals shared by the TUF module's files. Nothing outside src/tuf includes this. */
#ifndef FWSEAL_TUF_INTERNAL_H
#define FWSEAL_TUF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/tuf.h"

/* ---- RSA-PSS (key_rsa.c): verify-only, on OpenSSL directly ------------------------------- */

/* Parses an RSA SubjectPublicKeyInfo PEM (2048 to 8192 bits) into an opaque key and its
 * fingerprint (SHA-256 of the SPKI DER). FWS_ERR_FORMAT when it does not parse,
 * FWS_ERR_KEY_TYPE when it is not RSA or its size is out of range. */
fws_err tuf_rsa_from_pem(const char *pem, size_t len, void **out, uint8_t fp[FWS_SHA256_LEN]);
/* RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length recovered from the signature.
 * FWS_OK or FWS_ERR_SIGNATURE. */
fws_err tuf_rsa_verify(void *key, const uint8_t *msg, size_t len, const uint8_t *sig,
                       size_t sig_len);
void tuf_rsa_free(void *key);

/* ---- small helpers ----------------------------------------------------------------------- */

/* A growable byte buffer with a hard cap, used as a fetch sink. */
typedef struct tuf_buf {
    uint8_t *data;
    size_t len, cap, max;
} tuf_buf;

/* fws_tuf_sink that appends to a tuf_buf (ctx); FWS_ERR_TOO_BIG past max. */
fws_err tuf_buf_sink(void *ctx, const uint8_t *data, size_t len);
void tuf_buf_free(tuf_buf *b);

/* Joins base and name with exactly one '/' between them into a malloc'd string. */
char *tuf_url_join(const char *base, const char *name);

/* 1 when s is a non-empty string of hex digits (either case). */
int tuf_is_hex(const char *s);

#endif
