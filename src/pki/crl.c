/* v2 CRLs (RFC 5280 section 5) and PEM armour. */
#include <stdlib.h>
#include <string.h>
#include "pki/internal.h"

#define OID_AKI "\x55\x1d\x23"
#define OID_CRL_NUMBER "\x55\x1d\x14"
#define OID_REASON_CODE "\x55\x1d\x15"
#define CRL_ENTRY_MAX 96 /* bytes one revoked entry can take */
#define CRL_ENTRIES_MAX 1000000

static void ext(der_w *w, const char *oid, size_t oid_len, size_t mark)
{
    der_wrap(w, DER_OCTET_STRING, mark);
    der_oid(w, (const uint8_t *)oid, oid_len);
    der_wrap(w, DER_SEQUENCE, mark);
}

static void crl_entry(der_w *w, const pki_crl_entry *e)
{
    size_t m = der_mark(w);
    if (e->reason != FWS_REASON_UNSPECIFIED) {
        size_t exts = der_mark(w);
        size_t x = der_mark(w);
        uint8_t r = (uint8_t)e->reason;
        der_tlv(w, DER_ENUMERATED, &r, 1);
        ext(w, OID_REASON_CODE, sizeof(OID_REASON_CODE) - 1, x);
        der_wrap(w, DER_SEQUENCE, exts);
    }
    der_time(w, e->revoked_at);
    der_uint_bytes(w, e->serial, PKI_SERIAL_LEN);
    der_wrap(w, DER_SEQUENCE, m);
}

static void crl_tbs(der_w *w, fws_key_type sig_type, const uint8_t *issuer, size_t issuer_len,
                    const uint8_t aki[PKI_SKI_LEN], uint64_t number, int64_t this_update,
                    int64_t next_update, const pki_crl_entry *entries, size_t n)
{
    size_t tbs = der_mark(w);
    size_t exts = der_mark(w);
    size_t x = der_mark(w);
    der_uint(w, number);
    ext(w, OID_CRL_NUMBER, sizeof(OID_CRL_NUMBER) - 1, x);
    x = der_mark(w);
    size_t seq = der_mark(w);
    der_tlv(w, DER_CONTEXT | 0, aki, PKI_SKI_LEN);
    der_wrap(w, DER_SEQUENCE, seq);
    ext(w, OID_AKI, sizeof(OID_AKI) - 1, x);
    der_wrap(w, DER_SEQUENCE, exts);
    der_wrap(w, DER_CONTEXT_CON | 0, exts);
    if (n > 0) {
        size_t list = der_mark(w);
        for (size_t i = n; i-- > 0;)
            crl_entry(w, &entries[i]);
        der_wrap(w, DER_SEQUENCE, list);
    }
    der_time(w, next_update);
    der_time(w, this_update);
    der_raw(w, issuer, issuer_len);
    pki_sig_alg(w, sig_type);
    der_uint(w, 1);
    der_wrap(w, DER_SEQUENCE, tbs);
}

fws_err pki_crl_build(const fws_signer *s, const uint8_t *issuer_name, size_t issuer_name_len,
                      const uint8_t aki[PKI_SKI_LEN], uint64_t number, int64_t this_update,
                      int64_t next_update, const pki_crl_entry *entries, size_t n, uint8_t **der,
                      size_t *len, fws_errbuf *eb)
{
    uint8_t *tbs = NULL, *out = NULL;
    size_t tbs_len = 0, out_len = 0;
    der_w w;
    fws_err err = FWS_OK;
    if (n > CRL_ENTRIES_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "CRL: more than %d entries", CRL_ENTRIES_MAX);
    size_t cap = 1024 + issuer_name_len + n * CRL_ENTRY_MAX;
    tbs = malloc(cap);
    out = malloc(cap + 128);
    if (tbs == NULL || out == NULL) {
        err = FWS_ERR_NOMEM;
        goto out;
    }
    der_init(&w, tbs, cap);
    crl_tbs(&w, s->type, issuer_name, issuer_name_len, aki, number, this_update, next_update,
            entries, n);
    err = der_status(&w);
    if (err != FWS_OK) {
        err = fws_errf(eb, err, "cannot encode the CRL");
        goto out;
    }
    tbs_len = der_take(&w);
    err = pki_sign_wrap(s, tbs, tbs_len, out, cap + 128, &out_len);
    if (err != FWS_OK) {
        err = fws_errf(eb, err, "cannot sign the CRL: %s", fws_strerror(err));
        goto out;
    }
    *der = out;
    *len = out_len;
    out = NULL;
out:
    free(tbs);
    free(out);
    return err;
}

fws_err pki_pem(const char *label, const uint8_t *der, size_t len, char **pem, size_t *pem_len)
{
    size_t b64 = FWS_BASE64_LEN(len);
    size_t cap = b64 + b64 / 64 + 2 * strlen(label) + 64;
    char *text = malloc(cap);
    char *body = malloc(b64 + 1);
    size_t n = 0;
    if (text == NULL || body == NULL) {
        free(text);
        free(body);
        return FWS_ERR_NOMEM;
    }
    fws_base64_encode(der, len, body);
    n += (size_t)snprintf(text + n, cap - n, "-----BEGIN %s-----\n", label);
    for (size_t i = 0; i < b64; i += 64) {
        size_t k = b64 - i < 64 ? b64 - i : 64;
        memcpy(text + n, body + i, k);
        n += k;
        text[n++] = '\n';
    }
    n += (size_t)snprintf(text + n, cap - n, "-----END %s-----\n", label);
    free(body);
    *pem = text;
    *pem_len = n;
    return FWS_OK;
}
