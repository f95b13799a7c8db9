/* The deployment's server certificate, issued by an environment's intermediate CA. The
 * certificate is built with OpenSSL and its to-be-signed part signed through fws_signer, so the
 * CA key may be a file or sit in a PKCS#11 token. */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "server/internal.h"

#define SERVER_DAYS_DEFAULT 397
#define SERVER_NAMES_MAX 32
#define BACKDATE_S 300

static fws_err cert_path(const char *deploy, const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/server/%s", deploy, name);
    return n < 0 || (size_t)n >= cap ? FWS_ERR_TOO_BIG : FWS_OK;
}

/* The intermediate's key reference from ca.json (a file in the environment's folder, or a
 * PKCS#11 URI), opened as a signer. */
static fws_err issuer_signer(const char *deploy, fws_pki_env env, const fws_passphrase *pp,
                             fws_signer *out, fws_errbuf *eb)
{
    char path[PATH_MAX];
    uint8_t *text = NULL;
    size_t len = 0;
    json_t *doc = NULL, *inter = NULL;
    const char *ref = NULL;
    fws_key *key = NULL;
    snprintf(path, sizeof(path), "%s/pki/%s/ca.json", deploy, fws_pki_env_name(env));
    fws_err err = fws_file_read(path, 1u << 16, &text, &len, eb);
    if (err == FWS_OK)
        err = fws_json_parse(text, len, 0, NULL, &doc, eb);
    if (err == FWS_OK)
        err = fws_json_get_object(doc, "intermediate", &inter, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(inter, "key", &ref, eb);
    if (err == FWS_OK && strncmp(ref, "pkcs11:", 7) == 0) {
        err = fws_pki_pkcs11_signer(ref, 0, out, eb);
    } else if (err == FWS_OK) {
        if (strchr(ref, '/') != NULL)
            err = fws_errf(eb, FWS_ERR_FORMAT, "%s: bad intermediate key reference", path);
        snprintf(path, sizeof(path), "%s/pki/%s/%s", deploy, fws_pki_env_name(env), ref);
        if (err == FWS_OK)
            err = fws_key_load_private(path, pp, &key, eb);
        if (err == FWS_OK)
            err = fws_signer_from_key(key, out);
        if (err != FWS_OK)
            fws_key_free(key);
    }
    json_decref(doc);
    free(text);
    return err;
}

/* server.key: the existing one, or a new P-256 key written mode 0600. */
static fws_err server_key(const char *deploy, EVP_PKEY **out, fws_errbuf *eb)
{
    char path[PATH_MAX];
    if (cert_path(deploy, "server.key", path, sizeof(path)) != FWS_OK)
        return FWS_ERR_TOO_BIG;
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        *out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        if (*out == NULL)
            return fws_errf(eb, FWS_ERR_FORMAT, "%s: not an unencrypted PEM private key", path);
        return FWS_OK;
    }
    EVP_PKEY *k = EVP_EC_gen("P-256");
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long len = 0;
    fws_err err = k && bio && PEM_write_bio_PKCS8PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL)
                      ? FWS_OK
                      : fws_errf(eb, FWS_ERR_CRYPTO, "cannot make the server key");
    if (err == FWS_OK)
        len = BIO_get_mem_data(bio, &pem);
    if (err == FWS_OK)
        err = fws_file_write_atomic(path, pem, (size_t)len, 0600, 0, eb);
    if (pem != NULL && len > 0)
        OPENSSL_cleanse(pem, (size_t)len);
    BIO_free(bio);
    if (err != FWS_OK) {
        EVP_PKEY_free(k);
        return err;
    }
    *out = k;
    return FWS_OK;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (e == NULL)
        return 0;
    int ok = X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

/* "DNS:a,IP:127.0.0.1,..." from the names (defaults always in). */
static fws_err san_text(const fws_server_cert_req *req, char *out, size_t cap, fws_errbuf *eb)
{
    static const char *const defaults[] = {"localhost", "127.0.0.1", "::1"};
    size_t used = 0;
    out[0] = '\0';
    if (req->n_names > SERVER_NAMES_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "at most %d names", SERVER_NAMES_MAX);
    for (size_t i = 0; i < req->n_names + 3; i++) {
        const char *n = i < req->n_names ? req->names[i] : defaults[i - req->n_names];
        unsigned char bin[16];
        int ip = inet_pton(AF_INET, n, bin) == 1 || inet_pton(AF_INET6, n, bin) == 1;
        if (n[0] == '\0' || strlen(n) > 253 || strpbrk(n, ",: \t\r\n") != NULL) {
            if (!ip)
                return fws_errf(eb, FWS_ERR_ARG, "bad server name \"%s\"", n);
        }
        int w = snprintf(out + used, cap - used, "%s%s:%s", used ? "," : "", ip ? "IP" : "DNS", n);
        if (w < 0 || (size_t)w >= cap - used)
            return fws_errf(eb, FWS_ERR_TOO_BIG, "too many server names");
        used += (size_t)w;
    }
    return FWS_OK;
}

static size_t der_len_bytes(size_t n, uint8_t *out)
{
    if (n < 0x80) {
        out[0] = (uint8_t)n;
        return 1;
    }
    size_t k = 0;
    for (size_t v = n; v; v >>= 8)
        k++;
    out[0] = (uint8_t)(0x80 | k);
    for (size_t i = 0; i < k; i++)
        out[1 + i] = (uint8_t)(n >> (8 * (k - 1 - i)));
    return 1 + k;
}

/* Certificate ::= SEQUENCE { tbs, signatureAlgorithm, BIT STRING signature }. */
static fws_err assemble(const uint8_t *tbs, size_t tbs_len, const uint8_t *alg, size_t alg_len,
                        const uint8_t *sig, size_t sig_len, uint8_t **out, size_t *out_len)
{
    uint8_t bl[8], sl[8];
    size_t bn = der_len_bytes(sig_len + 1, bl);
    size_t body = tbs_len + alg_len + 1 + bn + 1 + sig_len;
    size_t sn = der_len_bytes(body, sl);
    uint8_t *d = malloc(1 + sn + body);
    if (d == NULL)
        return FWS_ERR_NOMEM;
    size_t o = 0;
    d[o++] = 0x30;
    memcpy(d + o, sl, sn), o += sn;
    memcpy(d + o, tbs, tbs_len), o += tbs_len;
    memcpy(d + o, alg, alg_len), o += alg_len;
    d[o++] = 0x03;
    memcpy(d + o, bl, bn), o += bn;
    d[o++] = 0x00;
    memcpy(d + o, sig, sig_len), o += sig_len;
    *out = d;
    *out_len = o;
    return FWS_OK;
}

/* Signs x's to-be-signed part with s. The algorithm fields are set first by a throwaway key of
 * the same type, then the real signature replaces the throwaway one. */
static fws_err sign_tbs(X509 *x, const fws_signer *s, uint8_t **der, size_t *der_len)
{
    EVP_PKEY *dummy =
        s->type == FWS_KEY_ED25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") : EVP_EC_gen("P-256");
    const EVP_MD *md = s->type == FWS_KEY_ED25519 ? NULL : EVP_sha256();
    unsigned char *tbs = NULL, *alg = NULL;
    fws_err err = dummy && X509_sign(x, dummy, md) > 0 ? FWS_OK : FWS_ERR_CRYPTO;
    int tl = err == FWS_OK ? i2d_re_X509_tbs(x, &tbs) : -1;
    const X509_ALGOR *a = NULL;
    X509_get0_signature(NULL, &a, x);
    int al = tl > 0 && a ? i2d_X509_ALGOR(a, &alg) : -1;
    uint8_t sig[FWS_SIG_MAX];
    size_t sig_len = 0;
    if (err == FWS_OK && (tl <= 0 || al <= 0))
        err = FWS_ERR_CRYPTO;
    if (err == FWS_OK)
        err = fws_signer_sign(s, tbs, (size_t)tl, sig, sizeof(sig), &sig_len);
    if (err == FWS_OK)
        err = assemble(tbs, (size_t)tl, alg, (size_t)al, sig, sig_len, der, der_len);
    OPENSSL_free(tbs);
    OPENSSL_free(alg);
    EVP_PKEY_free(dummy);
    return err;
}

static fws_err build(const fws_server_cert_req *req, X509 *inter, EVP_PKEY *key,
                     const fws_signer *s, uint8_t **der, size_t *der_len, fws_errbuf *eb)
{
    char san[4096];
    unsigned char serial[16];
    fws_err err = san_text(req, san, sizeof(san), eb);
    if (err != FWS_OK)
        return err;
    if (fws_random(serial, sizeof(serial)) != FWS_OK)
        return FWS_ERR_CRYPTO;
    serial[0] = (serial[0] & 0x7f) | 0x40;
    unsigned days = req->days ? req->days : SERVER_DAYS_DEFAULT;
    int64_t nb = req->now - BACKDATE_S, na = req->now + (int64_t)days * 86400;
    int64_t inter_na = 0, inter_nb = 0;
    X509 *x = X509_new();
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    X509_NAME *subj = X509_NAME_new();
    const char *cn = req->n_names ? req->names[0] : "fwseal server";
    int ok = x && bn && subj && X509_set_version(x, 2) &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
             X509_NAME_add_entry_by_txt(subj, "O", MBSTRING_UTF8, (const unsigned char *)"fwseal",
                                        -1, -1, 0) &&
             X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                        -1, 0) &&
             X509_set_subject_name(x, subj) &&
             X509_set_issuer_name(x, X509_get_subject_name(inter)) && X509_set_pubkey(x, key);
    unsigned char *idder = NULL;
    int idlen = i2d_X509(inter, &idder);
    if (ok && idlen > 0 &&
        fws_pki_cert_validity(idder, (size_t)idlen, &inter_nb, &inter_na) == FWS_OK &&
        na > inter_na)
        na = inter_na; /* never past the issuer */
    OPENSSL_free(idder);
    ok = ok && ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) &&
         ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, inter, x, NULL, NULL, 0);
    ok = ok && add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
         add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") &&
         add_ext(x, &ctx, NID_ext_key_usage, "serverAuth") &&
         add_ext(x, &ctx, NID_subject_alt_name, san) &&
         add_ext(x, &ctx, NID_subject_key_identifier, "hash") &&
         add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
    err = ok ? sign_tbs(x, s, der, der_len)
             : fws_errf(eb, FWS_ERR_CRYPTO, "cannot build the server certificate");
    X509_NAME_free(subj);
    BN_free(bn);
    X509_free(x);
    return err;
}

/* Checks the new certificate against the intermediate, then writes server.crt and pin. */
static fws_err publish(const char *deploy, X509 *inter, const uint8_t *der, size_t len,
                       char pin[FWS_PKI_PIN_LEN], int64_t *not_after, fws_errbuf *eb)
{
    char path[PATH_MAX];
    const unsigned char *p = der;
    X509 *leaf = d2i_X509(NULL, &p, (long)len);
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    fws_err err =
        leaf && X509_verify(leaf, X509_get0_pubkey(inter)) == 1
            ? FWS_OK
            : fws_errf(eb, FWS_ERR_SIGNATURE, "the new server certificate does not verify");
    if (err == FWS_OK && !(bio && PEM_write_bio_X509(bio, leaf) && PEM_write_bio_X509(bio, inter)))
        err = FWS_ERR_NOMEM;
    long plen = err == FWS_OK ? BIO_get_mem_data(bio, &pem) : 0;
    int64_t nb = 0;
    if (err == FWS_OK)
        err = fws_pki_cert_validity(der, len, &nb, not_after);
    if (err == FWS_OK)
        err = fws_pki_pin_of_cert(der, len, pin);
    if (err == FWS_OK && cert_path(deploy, "server.crt", path, sizeof(path)) == FWS_OK)
        err = fws_file_write_atomic(path, pem, (size_t)plen, 0644, 1, eb);
    if (err == FWS_OK && cert_path(deploy, "pin", path, sizeof(path)) == FWS_OK) {
        char line[FWS_PKI_PIN_LEN + 1];
        int n = snprintf(line, sizeof(line), "%s\n", pin);
        err = fws_file_write_atomic(path, line, (size_t)n, 0644, 1, eb);
    }
    BIO_free(bio);
    X509_free(leaf);
    return err;
}

fws_err fws_server_cert_issue(const fws_server_cert_req *req, char pin[FWS_PKI_PIN_LEN],
                              int64_t *not_after, fws_errbuf *eb)
{
    char dir[PATH_MAX];
    fws_pki *pki = NULL;
    const uint8_t *root, *inter_der;
    size_t root_len, inter_len;
    fws_signer s;
    int have_signer = 0;
    EVP_PKEY *key = NULL;
    X509 *inter = NULL;
    uint8_t *der = NULL;
    size_t der_len = 0;
    if (req == NULL || req->deploy == NULL || fws_pki_env_name(req->env) == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "a deployment and an environment are needed");
    fws_err err = fws_pki_open(req->deploy, &pki, eb);
    if (err == FWS_OK &&
        fws_pki_ca_certs(pki, req->env, &root, &root_len, &inter_der, &inter_len) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_NOT_FOUND, "the %s environment has no CA (fwseal ca init)",
                       fws_pki_env_name(req->env));
    if (err == FWS_OK) {
        const unsigned char *p = inter_der;
        inter = d2i_X509(NULL, &p, (long)inter_len);
        err = inter ? FWS_OK : FWS_ERR_FORMAT;
    }
    if (err == FWS_OK) {
        err = issuer_signer(req->deploy, req->env, req->pp, &s, eb);
        have_signer = err == FWS_OK;
    }
    if (err == FWS_OK && snprintf(dir, sizeof(dir), "%s/server", req->deploy) < (int)sizeof(dir))
        err = fws_mkdirs(dir, 0755, eb);
    if (err == FWS_OK)
        err = server_key(req->deploy, &key, eb);
    if (err == FWS_OK)
        err = build(req, inter, key, &s, &der, &der_len, eb);
    if (err == FWS_OK)
        err = publish(req->deploy, inter, der, der_len, pin, not_after, eb);
    free(der);
    EVP_PKEY_free(key);
    X509_free(inter);
    if (have_signer)
        fws_signer_free(&s);
    fws_pki_close(pki);
    return err;
}
