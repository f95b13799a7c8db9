/* PKCS#10 certification requests (RFC 2986): made on the device side through any fws_signer,
 * and checked on the CA side (form, key type, proof of possession). */
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
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
