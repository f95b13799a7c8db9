/* Certificate parsing helpers on OpenSSL and the PKCS#7 certs-only wrapper. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/pem.h>
#include "pki/internal.h"

#define OID_SIGNED_DATA "\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"
#define OID_DATA "\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01"

const uint8_t *pki_find(const uint8_t *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n > 0 && i + n <= len; i++) {
        if (hay[i] == (uint8_t)needle[0] && memcmp(hay + i, needle, n) == 0)
            return hay + i;
    }
    return NULL;
}

fws_err pki_x509_parse(const uint8_t *der, size_t len, X509 **out)
{
    const unsigned char *p = der;
    if (len == 0 || len > FWS_PKI_CERT_MAX * 4)
        return FWS_ERR_FORMAT;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL)
        return FWS_ERR_FORMAT;
    if ((size_t)(p - der) != len) {
        X509_free(x);
        return FWS_ERR_FORMAT;
    }
    *out = x;
    return FWS_OK;
}

fws_err fws_pki_cert_der(const uint8_t *unverified, size_t len, uint8_t **der, size_t *der_len,
                         fws_errbuf *eb)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    X509 *x = NULL;
    unsigned char *out = NULL;
    if (unverified == NULL || len == 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "empty certificate");
    if (len > FWS_PKI_CERT_MAX * 4)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "certificate over %d bytes", FWS_PKI_CERT_MAX * 4);
    if (pki_find(unverified, len, begin) != NULL) {
        BIO *bio = BIO_new_mem_buf(unverified, (int)len);
        if (bio == NULL)
            return FWS_ERR_NOMEM;
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
    } else if (pki_x509_parse(unverified, len, &x) != FWS_OK) {
        x = NULL;
    }
    if (x == NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "not an X.509 certificate (PEM or DER)");
    int n = i2d_X509(x, &out);
    X509_free(x);
    if (n <= 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "cannot encode the certificate");
    uint8_t *copy = malloc((size_t)n);
    if (copy == NULL) {
        OPENSSL_free(out);
        return FWS_ERR_NOMEM;
    }
    memcpy(copy, out, (size_t)n);
    OPENSSL_free(out);
    *der = copy;
    *der_len = (size_t)n;
    return FWS_OK;
}

static fws_err asn1_time(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return FWS_ERR_FORMAT;
    *out = (int64_t)timegm(&tm);
    return FWS_OK;
}

fws_err pki_x509_validity(const X509 *x, int64_t *not_before, int64_t *not_after)
{
    int64_t nb = 0, na = 0;
    if (asn1_time(X509_get0_notBefore(x), &nb) != FWS_OK ||
        asn1_time(X509_get0_notAfter(x), &na) != FWS_OK)
        return FWS_ERR_FORMAT;
    *not_before = nb;
    *not_after = na;
    return FWS_OK;
}

fws_err fws_pki_cert_validity(const uint8_t *der, size_t len, int64_t *not_before,
                              int64_t *not_after)
{
    X509 *x = NULL;
    fws_err err = pki_x509_parse(der, len, &x);
    if (err == FWS_OK)
        err = pki_x509_validity(x, not_before, not_after);
    X509_free(x);
    return err;
}

static int der_less(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = memcmp(a, b, n);
    return c < 0 || (c == 0 && al < bl);
}

fws_err fws_pki_certs_only(const uint8_t *const *certs, const size_t *lens, size_t n, uint8_t **der,
                           size_t *len)
{
    size_t order[FWS_PKI_CHAIN_MAX + 2];
    size_t cap = 128;
    der_w w;
    if (n == 0 || n > sizeof(order) / sizeof(order[0]))
        return FWS_ERR_ARG;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] > FWS_PKI_CERT_MAX * 4)
            return FWS_ERR_TOO_BIG;
        cap += lens[i];
        order[i] = i;
    }
    /* DER orders the members of a SET OF by their encodings. */
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0 && der_less(certs[order[j]], lens[order[j]], certs[order[j - 1]],
                                             lens[order[j - 1]]);
             j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    }
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return FWS_ERR_NOMEM;
    der_init(&w, buf, cap);
    size_t ci = der_mark(&w);
    size_t explicit0 = der_mark(&w);
    size_t sd = der_mark(&w);
    der_tlv(&w, DER_SET, NULL, 0); /* signerInfos: none */
    size_t set = der_mark(&w);
    for (size_t i = n; i-- > 0;)
        der_raw(&w, certs[order[i]], lens[order[i]]);
    der_wrap(&w, DER_CONTEXT_CON | 0, set); /* certificates [0] IMPLICIT SET OF */
    size_t eci = der_mark(&w);
    DER_OID_LIT(&w, OID_DATA);
    der_wrap(&w, DER_SEQUENCE, eci);
    der_tlv(&w, DER_SET, NULL, 0); /* digestAlgorithms: none */
    der_uint(&w, 1);
    der_wrap(&w, DER_SEQUENCE, sd);
    der_wrap(&w, DER_CONTEXT_CON | 0, explicit0);
    DER_OID_LIT(&w, OID_SIGNED_DATA);
    der_wrap(&w, DER_SEQUENCE, ci);
    if (der_status(&w) != FWS_OK) {
        free(buf);
        return FWS_ERR_TOO_BIG;
    }
    *len = der_take(&w);
    *der = buf;
    return FWS_OK;
}
