/* A small DER writer for the structures the PKI signs (certificates, CRLs, CSRs, PKCS#7
 * certs-only). It writes backwards from the end of a caller's buffer, so every length is known
 * when its header is written: write the last element first, then the one before it, then wrap
 * them with der_wrap(). No allocation; an overflow sets a sticky error checked once at the end.
 * Internal to src/pki. */
#ifndef FWSEAL_PKI_DER_H
#define FWSEAL_PKI_DER_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/err.h"

enum {
    DER_BOOLEAN = 0x01,
    DER_INTEGER = 0x02,
    DER_BIT_STRING = 0x03,
    DER_OCTET_STRING = 0x04,
    DER_NULL = 0x05,
    DER_OID = 0x06,
    DER_ENUMERATED = 0x0a,
    DER_UTF8_STRING = 0x0c,
    DER_PRINTABLE_STRING = 0x13,
    DER_IA5_STRING = 0x16,
    DER_UTC_TIME = 0x17,
    DER_GENERALIZED_TIME = 0x18,
    DER_SEQUENCE = 0x30,
    DER_SET = 0x31,
    DER_CONTEXT = 0x80,     /* | n: [n] IMPLICIT, primitive */
    DER_CONTEXT_CON = 0xa0, /* | n: [n] constructed (EXPLICIT, or IMPLICIT SEQUENCE/SET) */
};

typedef struct der_w {
    uint8_t *buf;
    size_t cap;
    size_t len; /* bytes written, at buf + cap - len */
    int overflow;
} der_w;

void der_init(der_w *w, uint8_t *buf, size_t cap);
/* Position marker: the number of bytes written so far. */
size_t der_mark(const der_w *w);
/* The written bytes (valid while nothing more is written), or NULL after an overflow. */
const uint8_t *der_data(const der_w *w);
/* FWS_OK, or FWS_ERR_TOO_BIG when anything did not fit. */
fws_err der_status(const der_w *w);
/* Moves the written bytes to the start of the buffer and returns their length (0 after an
 * overflow). */
size_t der_take(der_w *w);

void der_raw(der_w *w, const void *data, size_t len);
/* Prepends tag and length for everything written since mark. */
void der_wrap(der_w *w, uint8_t tag, size_t mark);
void der_tlv(der_w *w, uint8_t tag, const void *data, size_t len);
/* A non-negative INTEGER from big-endian magnitude bytes (leading zeros dropped, a 0x00 added
 * when the top bit is set). */
void der_uint_bytes(der_w *w, const uint8_t *be, size_t len);
void der_uint(der_w *w, uint64_t v);
void der_bool_true(der_w *w);
/* An OID from its content octets (the bytes after tag and length). */
void der_oid(der_w *w, const uint8_t *oid, size_t len);
#define DER_OID_LIT(w, lit) der_oid((w), (const uint8_t *)(lit), sizeof(lit) - 1)
/* UTCTime for years 1950-2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5). */
void der_time(der_w *w, int64_t unix_seconds);
/* BIT STRING with no unused bits. */
void der_bits(der_w *w, const uint8_t *data, size_t len);

/* Reading: the header of one TLV at p (at most len bytes). Definite lengths only, minimal
 * encoding not required. On success *hdr is the header length and *body the content length,
 * and hdr + body <= len. */
fws_err der_read_header(const uint8_t *p, size_t len, uint8_t *tag, size_t *hdr, size_t *body);

#endif
