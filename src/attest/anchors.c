/* Trust anchors for AK certificates and the certificate check, on OpenSSL's X.509 verifier
 * (strict mode, the caller's time, CRLs when given). A store is read-only once built, so one
 * set of anchors serves verifier threads at once.
 *
 * A device presents the same AK certificate at every attestation, so a verified certificate
 * is remembered (by the SHA-256 of its DER, in a small direct-mapped table under a mutex)
 * together with the interval in which its whole chain is valid; inside that interval the
 * same certificate is accepted without parsing it again. With CRLs the interval ends at most
 * CACHE_CRL_SECONDS after the check, and adding a CRL or a certificate empties the table. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "fwseal/util.h"
#include "attest/internal.h"

#define ANCHOR_FILE_MAX (1024u * 1024)
#define OID_TCG_KP_AIK "2.23.133.8.3" /* tcg-kp-AIKCertificate */
#define CACHE_SLOTS 4096
#define CACHE_CRL_SECONDS 300

typedef struct cache_slot {
    int used;
    uint8_t id[FWS_SHA256_LEN]; /* SHA-256 of the certificate's DER */
    int64_t from, until;        /* the whole chain is valid in [from, until] */
    att_cert_info info;
} cache_slot;

struct fws_attest_anchors {
    X509_STORE *store;
    STACK_OF(X509) * inter;
    int has_crl;
    size_t n_roots;
    pthread_mutex_t lock;
    cache_slot *cache;
};

static void cache_clear(fws_attest_anchors *a)
{
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (a->cache[i].used)
            EVP_PKEY_free(a->cache[i].info.pkey);
    }
    memset(a->cache, 0, CACHE_SLOTS * sizeof(*a->cache));
    pthread_mutex_unlock(&a->lock);
}

static int cache_get(const fws_attest_anchors *a, const uint8_t id[FWS_SHA256_LEN], int64_t now,
                     att_cert_info *info)
{
    fws_attest_anchors *m = (fws_attest_anchors *)a; /* the table is mutable state */
    const cache_slot *s = &a->cache[(id[0] | (unsigned)id[1] << 8) % CACHE_SLOTS];
    int hit = 0;
    pthread_mutex_lock(&m->lock);
    if (s->used && memcmp(s->id, id, FWS_SHA256_LEN) == 0 && now >= s->from && now <= s->until &&
        EVP_PKEY_up_ref(s->info.pkey) == 1) {
        *info = s->info;
        hit = 1;
    }
    pthread_mutex_unlock(&m->lock);
    return hit;
}

static void cache_put(const fws_attest_anchors *a, const uint8_t id[FWS_SHA256_LEN], int64_t from,
                      int64_t until, const att_cert_info *info)
{
    fws_attest_anchors *m = (fws_attest_anchors *)a;
    cache_slot *s = &m->cache[(id[0] | (unsigned)id[1] << 8) % CACHE_SLOTS];
    if (EVP_PKEY_up_ref(info->pkey) != 1)
        return;
    pthread_mutex_lock(&m->lock);
    if (s->used)
        EVP_PKEY_free(s->info.pkey);
    s->used = 1;
    memcpy(s->id, id, FWS_SHA256_LEN);
    s->from = from;
    s->until = until;
    s->info = *info;
    pthread_mutex_unlock(&m->lock);
}

fws_err fws_attest_anchors_new(fws_attest_anchors **out)
{
    fws_attest_anchors *a = calloc(1, sizeof(*a));
    if (out == NULL)
        return FWS_ERR_ARG;
    if (a == NULL)
        return FWS_ERR_NOMEM;
    if (pthread_mutex_init(&a->lock, NULL) != 0) {
        free(a);
        return FWS_ERR_NOMEM;
    }
    if ((a->store = X509_STORE_new()) == NULL || (a->inter = sk_X509_new_null()) == NULL ||
        (a->cache = calloc(CACHE_SLOTS, sizeof(*a->cache))) == NULL) {
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
    if (a->cache != NULL)
        cache_clear(a);
    X509_STORE_free(a->store);
    sk_X509_pop_free(a->inter, X509_free);
    pthread_mutex_destroy(&a->lock);
    free(a->cache);
    free(a);
}

static fws_err add_one(fws_attest_anchors *a, X509 *x, int trusted)
{
    cache_clear(a);
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
    ERR_clear_error(); /* the read that ended the loop left "no start line" behind */
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
    if (crl == NULL) {
        ERR_clear_error();
        return fws_errf(eb, FWS_ERR_FORMAT, "not a CRL");
    }
    int ok = X509_STORE_add_crl(a->store, crl) == 1;
    X509_CRL_free(crl);
    if (!ok)
        return FWS_ERR_CRYPTO;
    a->has_crl = 1;
    cache_clear(a);
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

static int64_t asn1_seconds(const ASN1_TIME *t, int64_t fallback)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return fallback;
    return (int64_t)timegm(&tm);
}

/* The interval in which every certificate of the verified chain is valid. */
static void chain_interval(X509_STORE_CTX *ctx, int64_t now, int has_crl, int64_t *from,
                           int64_t *until)
{
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    *from = now;
    *until = now;
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        int64_t nb = asn1_seconds(X509_get0_notBefore(x), now);
        int64_t na = asn1_seconds(X509_get0_notAfter(x), now);
        lo = nb > lo ? nb : lo;
        hi = na < hi ? na : hi;
    }
    if (has_crl && hi > now + CACHE_CRL_SECONDS)
        hi = now + CACHE_CRL_SECONDS;
    if (lo <= now && now <= hi) {
        *from = lo;
        *until = hi;
    }
}

static fws_err verify_chain(const fws_attest_anchors *a, const fws_attest_evidence *ev, X509 *leaf,
                            int64_t now, int64_t *from, int64_t *until, fws_errbuf *eb)
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
    ERR_clear_error();
    if (err == FWS_OK)
        chain_interval(ctx, now, a->has_crl, from, until);
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
    info->pkey = X509_get0_pubkey(x);
    if (info->pkey == NULL || EVP_PKEY_up_ref(info->pkey) != 1) {
        info->pkey = NULL;
        err = FWS_ERR_CRYPTO;
        goto out;
    }
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
    uint8_t id[FWS_SHA256_LEN];
    int64_t from = 0, until = 0;
    att_cert_info got;
    fws_sha256(ev->ak_cert, ev->ak_cert_len, id);
    if (cache_get(a, id, now, info))
        return FWS_OK;
    memset(&got, 0, sizeof(got));
    X509 *leaf = d2i_X509(NULL, &p, (long)ev->ak_cert_len);
    fws_err err;
    if (leaf == NULL || p != ev->ak_cert + ev->ak_cert_len) {
        ERR_clear_error();
        err = fws_errf(eb, FWS_ERR_FORMAT, "akCert is not a DER certificate");
        goto out;
    }
    if (X509_check_ca(leaf) != 0) {
        err = fws_errf(eb, FWS_ERR_KEY_TYPE, "akCert is a CA certificate");
        goto out;
    }
    if ((err = leaf_info(leaf, &got, eb)) != FWS_OK ||
        (err = verify_chain(a, ev, leaf, now, &from, &until, eb)) != FWS_OK)
        goto out;
    cache_put(a, id, from, until, &got);
    *info = got;
    got.pkey = NULL;
out:
    att_cert_info_release(&got);
    X509_free(leaf);
    return err;
}

void att_cert_info_release(att_cert_info *info)
{
    if (info != NULL && info->pkey != NULL) {
        EVP_PKEY_free(info->pkey);
        info->pkey = NULL;
    }
}

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

fws_err att_cert_verify(const att_cert_info *info, const uint8_t *msg, size_t len,
                        const uint8_t *sig, size_t sig_len)
{
    static const uint8_t empty[1];
    if (info == NULL || info->pkey == NULL || sig_len == 0 || sig_len > FWS_SIG_MAX)
        return FWS_ERR_SIGNATURE;
    pthread_once(&sha256_once, sha256_fetch);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    fws_err err = FWS_ERR_SIGNATURE;
    if (ctx == NULL || sha256_md == NULL)
        err = FWS_ERR_CRYPTO;
    else if (EVP_DigestVerifyInit(ctx, NULL, sha256_md, NULL, info->pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, msg != NULL ? msg : empty, len) == 1)
        err = FWS_OK;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return err;
}
