/* Writing TPM structures (the software attester's quote, public area and signature), the PCR
 * digest, and the conversions between TPMT_SIGNATURE and DER ECDSA signatures. */
#include <string.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include "fwseal/crypto.h"
#include "attest/internal.h"

void att_wr_init(att_wr *w, uint8_t *p, size_t cap)
{
    w->p = p;
    w->cap = cap;
    w->len = 0;
    w->overflow = 0;
}

void att_wbytes(att_wr *w, const void *b, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = 1;
        return;
    }
    if (n > 0)
        memcpy(w->p + w->len, b, n);
    w->len += n;
}

void att_w8(att_wr *w, uint8_t v)
{
    att_wbytes(w, &v, 1);
}

void att_w16(att_wr *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    att_wbytes(w, b, 2);
}

void att_w32(att_wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    att_wbytes(w, b, 4);
}

void att_w64(att_wr *w, uint64_t v)
{
    att_w32(w, (uint32_t)(v >> 32));
    att_w32(w, (uint32_t)v);
}

void att_w2b(att_wr *w, const void *b, size_t n)
{
    if (n > 0xffff) {
        w->overflow = 1;
        return;
    }
    att_w16(w, (uint16_t)n);
    att_wbytes(w, b, n);
}

void att_pcr_digest(uint32_t mask, const uint8_t pcrs[FWS_ATTEST_PCRS][FWS_SHA256_LEN],
                    uint8_t out[FWS_SHA256_LEN])
{
    fws_sha256_ctx c;
    fws_sha256_init(&c);
    for (unsigned i = 0; i < FWS_ATTEST_PCRS; i++) {
        if (mask & (1u << i))
            fws_sha256_update(&c, pcrs[i], FWS_SHA256_LEN);
    }
    fws_sha256_final(&c, out);
}

void att_hex(const uint8_t *b, size_t n, char *out)
{
    fws_hex_encode(b, n, out);
}

fws_err att_unhex32(const char *s, uint8_t out[FWS_SHA256_LEN])
{
    size_t n = 0;
    if (s == NULL || strlen(s) != 2 * FWS_SHA256_LEN)
        return FWS_ERR_FORMAT;
    for (size_t i = 0; i < 2 * FWS_SHA256_LEN; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return FWS_ERR_FORMAT; /* lower-case hex only, one spelling per digest */
    }
    return fws_hex_decode(s, 2 * FWS_SHA256_LEN, out, FWS_SHA256_LEN, &n);
}

/* ---- signatures ------------------------------------------------------------------------------ */

fws_err att_sig_from_der(const uint8_t *der, size_t der_len, uint8_t *out, size_t cap, size_t *len)
{
    const unsigned char *p = der;
    uint8_t r[32], s[32];
    att_wr w;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (sig == NULL || p != der + der_len) {
        ECDSA_SIG_free(sig);
        return FWS_ERR_SIGNATURE;
    }
    int ok = BN_bn2binpad(ECDSA_SIG_get0_r(sig), r, 32) == 32 &&
             BN_bn2binpad(ECDSA_SIG_get0_s(sig), s, 32) == 32;
    ECDSA_SIG_free(sig);
    if (!ok)
        return FWS_ERR_SIGNATURE;
    att_wr_init(&w, out, cap);
    att_w16(&w, FWS_TPM_ALG_ECDSA);
    att_w16(&w, FWS_TPM_ALG_SHA256);
    att_w2b(&w, r, 32);
    att_w2b(&w, s, 32);
    if (w.overflow)
        return FWS_ERR_TOO_BIG;
    *len = w.len;
    return FWS_OK;
}

fws_err att_sig_to_der(const fws_tpmt_signature *s, uint8_t *der, size_t cap, size_t *len)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(s->r, (int)s->r_len, NULL);
    BIGNUM *sv = BN_bin2bn(s->s, (int)s->s_len, NULL);
    fws_err err = FWS_ERR_CRYPTO;
    if (sig == NULL || r == NULL || sv == NULL || ECDSA_SIG_set0(sig, r, sv) != 1) {
        BN_free(r);
        BN_free(sv);
        goto out;
    }
    int n = i2d_ECDSA_SIG(sig, NULL);
    if (n <= 0 || (size_t)n > cap) {
        err = FWS_ERR_TOO_BIG;
        goto out;
    }
    unsigned char *p = der;
    i2d_ECDSA_SIG(sig, &p);
    *len = (size_t)n;
    err = FWS_OK;
out:
    ECDSA_SIG_free(sig);
    return err;
}

/* ---- public areas ---------------------------------------------------------------------------- */

fws_err att_public_write(const uint8_t point[65], uint32_t attributes, uint16_t scheme,
                         uint8_t *out, size_t cap, size_t *len)
{
    att_wr w;
    att_wr_init(&w, out, cap);
    att_w16(&w, FWS_TPM_ALG_ECC);
    att_w16(&w, FWS_TPM_ALG_SHA256);
    att_w32(&w, attributes);
    att_w2b(&w, NULL, 0); /* authPolicy */
    att_w16(&w, FWS_TPM_ALG_NULL);
    att_w16(&w, scheme);
    if (scheme != FWS_TPM_ALG_NULL)
        att_w16(&w, FWS_TPM_ALG_SHA256);
    att_w16(&w, FWS_TPM_ECC_NIST_P256);
    att_w16(&w, FWS_TPM_ALG_NULL); /* kdf */
    att_w2b(&w, point + 1, 32);
    att_w2b(&w, point + 33, 32);
    if (w.overflow)
        return FWS_ERR_TOO_BIG;
    *len = w.len;
    return FWS_OK;
}

fws_err fws_attest_sw_public(const fws_key *pub, uint8_t *tpmt, size_t cap, size_t *len)
{
    uint8_t point[FWS_PUBKEY_MAX];
    size_t n = 0;
    if (pub == NULL || tpmt == NULL || len == NULL)
        return FWS_ERR_ARG;
    if (fws_key_get_type(pub) != FWS_KEY_P256)
        return FWS_ERR_KEY_TYPE;
    fws_err err = fws_key_raw_public(pub, point, sizeof(point), &n);
    if (err != FWS_OK)
        return err;
    if (n != 65)
        return FWS_ERR_KEY_TYPE;
    return att_public_write(point, FWS_TPMA_SIGN | FWS_TPMA_USERWITHAUTH, FWS_TPM_ALG_ECDSA, tpmt,
                            cap, len);
}
