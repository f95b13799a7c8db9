/* PKCS#10 certification requests (RFC 2986): made on the device side through any fws_signer,
 * and checked on the CA side (form, key type, proof of possession). */
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include "pki/internal.h"

fws_err fws_pki_csr_create(const fws_signer *s, const char *common_name, const char *serial,
                           uint8_t **der, size_t *len, fws_errbuf *eb)
{
    fws_key *pub = NULL;
    uint8_t *spki = NULL, *out = NULL;
    size_t spki_len = 0, name_len = 0, out_len = 0, info_len = 0;
    uint8_t name[PKI_NAME_MAX], info[FWS_PKI_CSR_MAX];
    pki_attr attrs[2];
    size_t n_attrs = 0;
    der_w w;
    fws_err err = pki_check_field("common name", common_name, 1, PKI_CHARSET_NAME, eb);
    if (err == FWS_OK)
        err = pki_check_field("serial", serial, 0, PKI_CHARSET_SERIAL, eb);
    if (err != FWS_OK)
        return err;
    attrs[n_attrs++] = (pki_attr)PKI_ATTR(pki_oid_cn, DER_UTF8_STRING, common_name);
    if (serial != NULL)
        attrs[n_attrs++] = (pki_attr)PKI_ATTR(pki_oid_serial_number, DER_PRINTABLE_STRING, serial);
    err = fws_signer_public_key(s, &pub);
    if (err == FWS_OK)
        err = fws_key_spki_der(pub, &spki, &spki_len);
    if (err == FWS_OK)
        err = pki_name(attrs, n_attrs, name, sizeof(name), &name_len);
    if (err != FWS_OK) {
        err = fws_errf(eb, err, "CSR: cannot get the signer's public key");
        goto out;
    }
    der_init(&w, info, sizeof(info));
    size_t m = der_mark(&w);
    der_tlv(&w, DER_CONTEXT_CON | 0, NULL, 0); /* attributes: none */
    der_raw(&w, spki, spki_len);
    der_raw(&w, name, name_len);
    der_uint(&w, 0);
    der_wrap(&w, DER_SEQUENCE, m);
    err = der_status(&w);
    if (err != FWS_OK)
        goto out;
    info_len = der_take(&w);
    out = malloc(FWS_PKI_CSR_MAX);
    if (out == NULL) {
        err = FWS_ERR_NOMEM;
        goto out;
    }
    err = pki_sign_wrap(s, info, info_len, out, FWS_PKI_CSR_MAX, &out_len);
    if (err != FWS_OK) {
        err = fws_errf(eb, err, "CSR: the signer failed: %s", fws_strerror(err));
        goto out;
    }
    *der = out;
    *len = out_len;
    out = NULL;
out:
    fws_key_free(pub);
    free(spki);
    free(out);
    return err;
}

static X509_REQ *csr_parse(const uint8_t *unverified, size_t len)
{
    X509_REQ *req = NULL;
    if (pki_find(unverified, len, "-----BEGIN ") != NULL) {
        BIO *bio = BIO_new_mem_buf(unverified, (int)len);
        if (bio != NULL)
            req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
        BIO_free(bio);
        return req;
    }
    const unsigned char *p = unverified;
    req = d2i_X509_REQ(NULL, &p, (long)len);
    if (req != NULL && (size_t)(p - unverified) != len) {
        X509_REQ_free(req);
        req = NULL;
    }
    return req;
}

static fws_err check_key(EVP_PKEY *pkey, fws_errbuf *eb)
{
    char group[64] = "";
    size_t glen = 0;
    if (pkey == NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "CSR: unreadable public key");
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC)
        return fws_errf(eb, FWS_ERR_KEY_TYPE,
                        "CSR: the key is %s; device identities are issued for P-256 keys only",
                        OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)));
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &glen) != 1 ||
        strcmp(group, "prime256v1") != 0)
        return fws_errf(eb, FWS_ERR_KEY_TYPE,
                        "CSR: the key is on curve %s; device identities are issued for P-256"
                        " keys only",
                        group[0] ? group : "(unknown)");
    return FWS_OK;
}

/* ---- the common case, without OpenSSL's generic decoders ---------------------------------- */

/* SubjectPublicKeyInfo of an uncompressed P-256 point, up to the point's 0x04. */
static const uint8_t p256_spki_prefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                           0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                           0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};
#define P256_SPKI_LEN 91
static const uint8_t ecdsa_sha256_alg[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                           0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};

/* The DER inside a single PEM block labelled CERTIFICATE REQUEST (or NEW CERTIFICATE REQUEST);
 * *der is malloc'd. Anything else is left to OpenSSL's reader. */
static int pem_body(const uint8_t *in, size_t len, uint8_t **der, size_t *der_len)
{
    static const char *const begins[] = {"-----BEGIN CERTIFICATE REQUEST-----",
                                         "-----BEGIN NEW CERTIFICATE REQUEST-----"};
    const uint8_t *b = NULL;
    size_t blen = 0;
    for (size_t i = 0; i < 2 && b == NULL; i++) {
        b = pki_find(in, len, begins[i]);
        blen = strlen(begins[i]);
    }
    if (b == NULL)
        return 0;
    const uint8_t *body = b + blen, *end = pki_find(body, len - (size_t)(body - in), "-----END");
    if (end == NULL)
        return 0;
    char *flat = malloc((size_t)(end - body) + 1);
    uint8_t *out = malloc((size_t)(end - body) + 1);
    size_t n = 0;
    int ok = flat != NULL && out != NULL;
    for (const uint8_t *c = body; ok && c < end; c++) {
        if (*c != '\n' && *c != '\r' && *c != ' ' && *c != '\t')
            flat[n++] = (char)*c;
    }
    ok = ok && fws_base64_decode(flat, n, out, (size_t)(end - body) + 1, der_len) == FWS_OK;
    free(flat);
    if (!ok) {
        free(out);
        return 0;
    }
    *der = out;
    return 1;
}

/* Splits a CertificationRequest into the signed info, the key and the signature when it has
 * exactly the shape of a P-256 request signed with ecdsa-with-SHA256; 0 otherwise. */
static int p256_parts(const uint8_t *der, size_t len, const uint8_t **info, size_t *info_len,
                      const uint8_t **key, const uint8_t **sig, size_t *sig_len)
{
    uint8_t tag;
    size_t hdr, body, ih, ib, h, b;
    if (der_read_header(der, len, &tag, &hdr, &body) != FWS_OK || tag != DER_SEQUENCE ||
        hdr + body != len)
        return 0;
    const uint8_t *p = der + hdr, *end = der + len;
    if (der_read_header(p, (size_t)(end - p), &tag, &ih, &ib) != FWS_OK || tag != DER_SEQUENCE)
        return 0;
    *info = p;
    *info_len = ih + ib;
    const uint8_t *q = p + ih, *info_end = p + ih + ib;
    static const uint8_t v1[] = {0x02, 0x01, 0x00};
    if ((size_t)(info_end - q) < sizeof(v1) || memcmp(q, v1, sizeof(v1)) != 0)
        return 0;
    q += sizeof(v1);
    if (der_read_header(q, (size_t)(info_end - q), &tag, &h, &b) != FWS_OK || tag != DER_SEQUENCE)
        return 0; /* the subject: not used */
    q += h + b;
    if ((size_t)(info_end - q) < P256_SPKI_LEN ||
        memcmp(q, p256_spki_prefix, sizeof(p256_spki_prefix)) != 0)
        return 0;
    *key = q;
    q += P256_SPKI_LEN;
    if (der_read_header(q, (size_t)(info_end - q), &tag, &h, &b) != FWS_OK ||
        tag != (DER_CONTEXT_CON | 0) || q + h + b != info_end)
        return 0; /* the attributes */
    p = info_end;
    if ((size_t)(end - p) < sizeof(ecdsa_sha256_alg) ||
        memcmp(p, ecdsa_sha256_alg, sizeof(ecdsa_sha256_alg)) != 0)
        return 0;
    p += sizeof(ecdsa_sha256_alg);
    if (der_read_header(p, (size_t)(end - p), &tag, &h, &b) != FWS_OK || tag != DER_BIT_STRING ||
        p + h + b != end || b < 2 || p[h] != 0)
        return 0;
    *sig = p + h + 1;
    *sig_len = b - 1;
    return 1;
}

/* 1: the signature verifies; 0: it does not; -1: the point is not usable. */
static int p256_verify(const uint8_t *key, const uint8_t *msg, size_t len, const uint8_t *sig,
                       size_t sig_len)
{
    char group[] = "prime256v1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                (void *)(key + sizeof(p256_spki_prefix) - 1), 65),
        OSSL_PARAM_END,
    };
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = -1;
    if (kctx != NULL && md != NULL && EVP_PKEY_fromdata_init(kctx) == 1 &&
        EVP_PKEY_fromdata(kctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1 &&
        EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) == 1)
        rc = EVP_DigestVerify(md, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(kctx);
    ERR_clear_error();
    return rc;
}

/* FWS_OK or FWS_ERR_SIGNATURE when the request has the common shape; FWS_ERR_UNSUPPORTED when it
 * does not (the general path judges it). */
static fws_err fast_check(const uint8_t *in, size_t len, uint8_t **spki, size_t *spki_len,
                          fws_errbuf *eb)
{
    uint8_t *pem_der = NULL;
    const uint8_t *der = in, *info, *key, *sig;
    size_t der_len = len, info_len, sig_len;
    fws_err err = FWS_ERR_UNSUPPORTED;
    if (len > 0 && in[0] != DER_SEQUENCE) {
        if (!pem_body(in, len, &pem_der, &der_len))
            return FWS_ERR_UNSUPPORTED;
        der = pem_der;
    }
    if (p256_parts(der, der_len, &info, &info_len, &key, &sig, &sig_len)) {
        int rc = p256_verify(key, info, info_len, sig, sig_len);
        if (rc == 0)
            err = fws_errf(eb, FWS_ERR_SIGNATURE,
                           "CSR: the signature does not verify with the request's own key (no"
                           " proof of possession)");
        else if (rc == 1 && (*spki = malloc(P256_SPKI_LEN)) == NULL)
            err = FWS_ERR_NOMEM;
        else if (rc == 1) {
            memcpy(*spki, key, P256_SPKI_LEN);
            *spki_len = P256_SPKI_LEN;
            err = FWS_OK;
        }
    }
    free(pem_der);
    return err;
}

fws_err fws_pki_csr_check(const uint8_t *unverified, size_t len, uint8_t **spki, size_t *spki_len,
                          fws_errbuf *eb)
{
    X509_REQ *req = NULL;
    const X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *obj = NULL;
    unsigned char *der = NULL;
    uint8_t *copy = NULL;
    fws_err err = FWS_OK;
    if (unverified == NULL || len == 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "CSR: empty");
    if (len > FWS_PKI_CSR_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "CSR: over %d bytes", FWS_PKI_CSR_MAX);
    err = fast_check(unverified, len, spki, spki_len, eb);
    if (err != FWS_ERR_UNSUPPORTED)
        return err;
    err = FWS_OK;
    req = csr_parse(unverified, len);
    if (req == NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "CSR: not a PKCS#10 request (PEM or DER)");
    if (X509_REQ_get_version(req) != 0) {
        err =
            fws_errf(eb, FWS_ERR_FORMAT, "CSR: version %ld, not v1", X509_REQ_get_version(req) + 1);
        goto out;
    }
    EVP_PKEY *pkey = X509_REQ_get0_pubkey(req);
    err = check_key(pkey, eb);
    if (err != FWS_OK)
        goto out;
    X509_REQ_get0_signature(req, NULL, &alg);
    X509_ALGOR_get0(&obj, NULL, NULL, alg);
    if (OBJ_obj2nid(obj) != NID_ecdsa_with_SHA256) {
        err = fws_errf(eb, FWS_ERR_KEY_TYPE, "CSR: signed with %s, not ecdsa-with-SHA256",
                       OBJ_nid2sn(OBJ_obj2nid(obj)));
        goto out;
    }
    if (X509_REQ_verify(req, pkey) != 1) {
        err = fws_errf(eb, FWS_ERR_SIGNATURE,
                       "CSR: the signature does not verify with the request's own key (no proof"
                       " of possession)");
        goto out;
    }
    int n = i2d_PUBKEY(pkey, &der);
    if (n <= 0 || (copy = malloc((size_t)n)) == NULL) {
        err = FWS_ERR_NOMEM;
        goto out;
    }
    memcpy(copy, der, (size_t)n);
    *spki = copy;
    *spki_len = (size_t)n;
out:
    OPENSSL_free(der);
    X509_REQ_free(req);
    return err;
}
