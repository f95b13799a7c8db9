/* Trust anchors for AK certificates and the certificate check, on OpenSSL's X.509 verifier
 * (strict mode, the caller's time, CRLs when given). A store is read-only once built, so one
 * set of anchors serves verifier threads at once. */
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "fwseal/util.h"
#include "attest/internal.h"

#define ANCHOR_FILE_MAX (1024u * 1024)
#define OID_TCG_KP_AIK "2.23.133.8.3" /* tcg-kp-AIKCertificate */

struct fws_attest_anchors {
    X509_STORE *store;
    STACK_OF(X509) * inter;
    int has_crl;
    size_t n_roots;
};

fws_err fws_attest_anchors_new(fws_attest_anchors **out)
{
    fws_attest_anchors *a = calloc(1, sizeof(*a));
    if (out == NULL)
        return FWS_ERR_ARG;
    if (a == NULL || (a->store = X509_STORE_new()) == NULL ||
        (a->inter = sk_X509_new_null()) == NULL) {
        fws_attest_anchors_free(a);
        return FWS_ERR_NOMEM;
    }
    *out = a;
    return FWS_OK;
}

void fws_attest_anchors_free(fws_attest_anchors *a)
{
    if (a == NULL)
        return;
    X509_STORE_free(a->store);
    sk_X509_pop_free(a->inter, X509_free);
    free(a);
}

static fws_err add_one(fws_attest_anchors *a, X509 *x, int trusted)
{
    if (trusted) {
        int ok = X509_STORE_add_cert(a->store, x) == 1;
        X509_free(x);
        a->n_roots += ok;
        return ok ? FWS_OK : FWS_ERR_CRYPTO;
    }
    if (sk_X509_push(a->inter, x) <= 0) {
        X509_free(x);
        return FWS_ERR_NOMEM;
    }
    return FWS_OK;
}

fws_err fws_attest_anchors_add(fws_attest_anchors *a, const uint8_t *data, size_t len, int trusted,
                               fws_errbuf *eb)
{
    size_t added = 0;
    fws_err err = FWS_OK;
    if (a == NULL || data == NULL || len == 0 || len > ANCHOR_FILE_MAX)
        return FWS_ERR_ARG;
    if (data[0] == 0x30) {
        const unsigned char *p = data;
        X509 *x = d2i_X509(NULL, &p, (long)len);
        if (x == NULL || p != data + len) {
            X509_free(x);
            return fws_errf(eb, FWS_ERR_FORMAT, "not a DER certificate");
        }
        return add_one(a, x, trusted);
    }
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    if (bio == NULL)
        return FWS_ERR_NOMEM;
    for (;;) {
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (x == NULL)
            break;
        if ((err = add_one(a, x, trusted)) != FWS_OK)
            break;
        added++;
    }
    BIO_free(bio);
    if (err == FWS_OK && added == 0)
        err = fws_errf(eb, FWS_ERR_FORMAT, "no PEM certificate found");
    return err;
}

fws_err fws_attest_anchors_add_file(fws_attest_anchors *a, const char *path, int trusted,
                                    fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_errbuf why = {{0}};
    fws_err err = fws_file_read(path, ANCHOR_FILE_MAX, &data, &len, &why);
    if (err == FWS_OK)
        err = len == 0 ? FWS_ERR_FORMAT : fws_attest_anchors_add(a, data, len, trusted, &why);
    free(data);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: %s", path, why.msg[0] ? why.msg : fws_strerror(err));
    return FWS_OK;
}

fws_err fws_attest_anchors_add_crl(fws_attest_anchors *a, const uint8_t *data, size_t len,
                                   fws_errbuf *eb)
{
    X509_CRL *crl = NULL;
    if (a == NULL || data == NULL || len == 0 || len > ANCHOR_FILE_MAX)
        return FWS_ERR_ARG;
    if (data[0] == 0x30) {
        const unsigned char *p = data;
        crl = d2i_X509_CRL(NULL, &p, (long)len);
    } else {
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        crl = bio != NULL ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
    }
    if (crl == NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "not a CRL");
    int ok = X509_STORE_add_crl(a->store, crl) == 1;
    X509_CRL_free(crl);
    if (!ok)
        return FWS_ERR_CRYPTO;
    a->has_crl = 1;
    return FWS_OK;
}

/* ---- the AK certificate ---------------------------------------------------------------------- */

static fws_err chain_error(int code, fws_errbuf *eb)
{
    const char *why = X509_verify_cert_error_string(code);
    if (code == X509_V_ERR_CERT_HAS_EXPIRED || code == X509_V_ERR_CERT_NOT_YET_VALID)
        return fws_errf(eb, FWS_ERR_EXPIRED, "AK certificate chain: %s", why);
    if (code == X509_V_ERR_CERT_REVOKED)
        return fws_errf(eb, FWS_ERR_STATE, "AK certificate chain: %s", why);
    return fws_errf(eb, FWS_ERR_SIGNATURE, "AK certificate does not chain to a trusted root: %s",
                    why);
}

static fws_err verify_chain(const fws_attest_anchors *a, const fws_attest_evidence *ev, X509 *leaf,
                            int64_t now, fws_errbuf *eb)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_dup(a->inter); /* borrows the anchors' entries */
    fws_err err = FWS_ERR_NOMEM;
    if (ctx == NULL || untrusted == NULL)
        goto out;
    for (size_t i = 0; i < ev->n_chain && i < FWS_ATTEST_CHAIN_MAX; i++) {
        const unsigned char *p = ev->chain[i];
        X509 *x = d2i_X509(NULL, &p, (long)ev->chain_len[i]);
        if (x == NULL || p != ev->chain[i] + ev->chain_len[i]) {
            X509_free(x);
            err = fws_errf(eb, FWS_ERR_FORMAT, "akChain[%zu] is not a DER certificate", i);
            goto out;
        }
        if (sk_X509_push(untrusted, x) <= 0) {
            X509_free(x);
            goto out;
        }
    }
    if (X509_STORE_CTX_init(ctx, a->store, leaf, untrusted) != 1)
        goto out;
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(vp, (time_t)now);
    X509_VERIFY_PARAM_set_flags(
        vp, X509_V_FLAG_X509_STRICT |
                (a->has_crl ? X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL : 0));
    err = X509_verify_cert(ctx) == 1 ? FWS_OK : chain_error(X509_STORE_CTX_get_error(ctx), eb);
out:
    X509_STORE_CTX_free(ctx);
    if (untrusted != NULL) {
        /* Free what this call parsed (the entries past the anchors' own). */
        for (int i = sk_X509_num(untrusted) - 1; i >= sk_X509_num(a->inter); i--)
            X509_free(sk_X509_value(untrusted, i));
        sk_X509_free(untrusted);
    }
    return err;
}

static int has_aik_purpose(X509 *x)
{
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    ASN1_OBJECT *aik = OBJ_txt2obj(OID_TCG_KP_AIK, 1);
    int found = 0;
    for (int i = 0; eku != NULL && aik != NULL && i < sk_ASN1_OBJECT_num(eku); i++)
        found |= OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), aik) == 0;
    ASN1_OBJECT_free(aik);
    EXTENDED_KEY_USAGE_free(eku);
    return found;
}

static fws_err leaf_info(X509 *x, att_cert_info *info, fws_errbuf *eb)
{
    unsigned char *spki = NULL, *cn = NULL;
    fws_key *k = NULL;
    size_t n = 0;
    fws_err err = FWS_ERR_KEY_TYPE;
    int len = i2d_PUBKEY(X509_get0_pubkey(x), &spki);
    if (len <= 0 || fws_key_from_spki_der(spki, (size_t)len, &k, NULL) != FWS_OK ||
        fws_key_get_type(k) != FWS_KEY_P256 ||
        fws_key_raw_public(k, info->point, sizeof(info->point), &n) != FWS_OK || n != 65) {
        err = fws_errf(eb, FWS_ERR_KEY_TYPE, "AK certificate: not a P-256 key");
        goto out;
    }
    X509_NAME *subj = X509_get_subject_name(x);
    int at = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
    ASN1_STRING *s = at >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, at)) : NULL;
    int cn_len = s != NULL ? ASN1_STRING_to_UTF8(&cn, s) : -1;
    if (cn_len <= 0 || cn_len > FWS_ATTEST_DEVICE_MAX || memchr(cn, 0, (size_t)cn_len) != NULL) {
        err = fws_errf(eb, FWS_ERR_FORMAT, "AK certificate: no usable subject CN");
        goto out;
    }
    memcpy(info->cn, cn, (size_t)cn_len);
    info->cn[cn_len] = '\0';
    info->aik_purpose = has_aik_purpose(x);
    err = FWS_OK;
out:
    OPENSSL_free(spki);
    OPENSSL_free(cn);
    fws_key_free(k);
    return err;
}

fws_err att_cert_check(const fws_attest_anchors *a, const fws_attest_evidence *ev, int64_t now,
                       att_cert_info *info, fws_errbuf *eb)
{
    const unsigned char *p = ev->ak_cert;
    att_cert_info got;
    memset(&got, 0, sizeof(got));
    X509 *leaf = d2i_X509(NULL, &p, (long)ev->ak_cert_len);
    fws_err err;
    if (leaf == NULL || p != ev->ak_cert + ev->ak_cert_len) {
        err = fws_errf(eb, FWS_ERR_FORMAT, "akCert is not a DER certificate");
        goto out;
    }
    if (X509_check_ca(leaf) != 0) {
        err = fws_errf(eb, FWS_ERR_KEY_TYPE, "akCert is a CA certificate");
        goto out;
    }
    if ((err = leaf_info(leaf, &got, eb)) != FWS_OK ||
        (err = verify_chain(a, ev, leaf, now, eb)) != FWS_OK)
        goto out;
    *info = got;
out:
    X509_free(leaf);
    return err;
}
