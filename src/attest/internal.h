/* Internals of the attestation module. */
#ifndef FWSEAL_ATTEST_INTERNAL_H
#define FWSEAL_ATTEST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/attest.h"

/* ---- a bounds-checked reader over untrusted bytes ---------------------------------------- */

typedef struct att_rd {
    const uint8_t *p;
    size_t len, off;
    const char *what; /* the structure, for messages */
    fws_errbuf *eb;
} att_rd;

void att_rd_init(att_rd *r, const uint8_t *p, size_t len, const char *what, fws_errbuf *eb);
fws_err att_u8(att_rd *r, const char *field, uint8_t *v) FWS_MUST_CHECK;
fws_err att_u16(att_rd *r, const char *field, uint16_t *v) FWS_MUST_CHECK;
fws_err att_u32(att_rd *r, const char *field, uint32_t *v) FWS_MUST_CHECK;
fws_err att_u64(att_rd *r, const char *field, uint64_t *v) FWS_MUST_CHECK;
/* A TPM2B: a 16-bit size, then that many bytes (at most cap) copied into out. */
fws_err att_tpm2b(att_rd *r, const char *field, uint8_t *out, size_t cap, size_t *n) FWS_MUST_CHECK;
fws_err att_rd_end(att_rd *r) FWS_MUST_CHECK;

/* ---- a bounded writer --------------------------------------------------------------------- */

typedef struct att_wr {
    uint8_t *p;
    size_t cap, len;
    int overflow;
} att_wr;

void att_wr_init(att_wr *w, uint8_t *p, size_t cap);
void att_w8(att_wr *w, uint8_t v);
void att_w16(att_wr *w, uint16_t v);
void att_w32(att_wr *w, uint32_t v);
void att_w64(att_wr *w, uint64_t v);
void att_wbytes(att_wr *w, const void *b, size_t n);
void att_w2b(att_wr *w, const void *b, size_t n); /* TPM2B */

/* ---- helpers shared by the attesters -------------------------------------------------------- */

/* SHA-256 over the selected PCR values in index order (the quote's pcrDigest). */
void att_pcr_digest(uint32_t mask, const uint8_t pcrs[FWS_ATTEST_PCRS][FWS_SHA256_LEN],
                    uint8_t out[FWS_SHA256_LEN]);
/* TPMT_SIGNATURE (ECDSA, SHA-256) from a DER ECDSA-Sig-Value, and back. */
fws_err att_sig_from_der(const uint8_t *der, size_t der_len, uint8_t *out, size_t cap,
                         size_t *len) FWS_MUST_CHECK;
fws_err att_sig_to_der(const fws_tpmt_signature *s, uint8_t *der, size_t cap,
                       size_t *len) FWS_MUST_CHECK;
/* TPMT_PUBLIC of an ECC P-256 key with the given attributes and scheme. */
fws_err att_public_write(const uint8_t point[65], uint32_t attributes, uint16_t scheme,
                         uint8_t *out, size_t cap, size_t *len) FWS_MUST_CHECK;
/* Checks the attester's own output before it leaves: the signature with the AK, the nonce, and
 * the PCR digest against the values read. */
fws_err att_evidence_selfcheck(const fws_attest_evidence *ev, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- the AK certificate (OpenSSL) ----------------------------------------------------------- */

typedef struct att_cert_info {
    char cn[FWS_ATTEST_DEVICE_MAX + 1];
    int aik_purpose; /* the certificate carries EKU tcg-kp-AIKCertificate */
    uint8_t point[65];
    void *pkey; /* the certified key (an OpenSSL EVP_PKEY reference), or NULL */
} att_cert_info;

/* Drops info's key reference. */
void att_cert_info_release(att_cert_info *info);
/* Verifies a DER ECDSA P-256 signature over SHA-256(msg) with info's key. */
fws_err att_cert_verify(const att_cert_info *info, const uint8_t *msg, size_t len,
                        const uint8_t *sig, size_t sig_len) FWS_MUST_CHECK;

/* Verifies the AK certificate with the evidence's intermediates against the anchors at now;
 * fills info (release it with att_cert_info_release). FWS_ERR_FORMAT (not a certificate),
 * FWS_ERR_SIGNATURE (chain), FWS_ERR_EXPIRED, FWS_ERR_STATE (revoked), FWS_ERR_KEY_TYPE (not
 * P-256). */
fws_err att_cert_check(const fws_attest_anchors *a, const fws_attest_evidence *ev, int64_t now,
                       att_cert_info *info, fws_errbuf *eb) FWS_MUST_CHECK;

/* Lower-case hex of n bytes into out (2n + 1). */
void att_hex(const uint8_t *b, size_t n, char *out);
/* Parses exactly 64 hex digits. */
fws_err att_unhex32(const char *s, uint8_t out[FWS_SHA256_LEN]) FWS_MUST_CHECK;

#endif
