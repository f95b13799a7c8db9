/* The operational identity: a key generated on the device and its certificate from EST, kept in
 * STATE/identity, renewed at two thirds of its lifetime, enrolled again with the factory
 * identity when it is missing, expired or damaged. The EST exchange is the caller's
 * (fws_agent_enroller); what is checked and written is decided here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "fwseal/util.h"
#include "agent/internal.h"

#define ID_DIR "identity"
#define ID_CERT_MAX 65536 /* a PEM certificate file */
#define ID_DER_MAX 16384  /* a DER certificate from the server */
#define ID_URN "urn:fwseal:device:"

const char *fws_identity_action_name(fws_identity_action a)
{
    return a == FWS_IDENTITY_ENROLLED ? "enrolled" : a == FWS_IDENTITY_RENEWED ? "renewed" : "kept";
}

/* ---- certificates -------------------------------------------------------------------------- */

typedef struct cert_facts {
    int64_t not_before, not_after;
    uint8_t spki_sha256[FWS_SHA256_LEN];
    char device_id[FWS_AGENT_PRODUCT_MAX + 1]; /* "" when the certificate names none */
} cert_facts;

static fws_err asn1_time(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return FWS_ERR_FORMAT;
    *out = (int64_t)timegm(&tm);
    return FWS_OK;
}

static void san_device(X509 *x, char *out, size_t cap)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    size_t pre = strlen(ID_URN);
    out[0] = '\0';
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type != GEN_URI)
            continue;
        const char *uri = (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
        size_t n = (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier);
        if (n > pre && n - pre < cap && strncmp(uri, ID_URN, pre) == 0 &&
            memchr(uri, '\0', n) == NULL) {
            memcpy(out, uri + pre, n - pre);
            out[n - pre] = '\0';
            break;
        }
    }
    GENERAL_NAMES_free(names);
}

static fws_err facts_of(X509 *x, cert_facts *out)
{
    unsigned char *spki = NULL;
    int n = x ? i2d_PUBKEY(X509_get0_pubkey(x), &spki) : -1;
    fws_err err = n > 0 ? FWS_OK : FWS_ERR_FORMAT;
    if (err == FWS_OK)
        fws_sha256(spki, (size_t)n, out->spki_sha256);
    OPENSSL_free(spki);
    if (err == FWS_OK)
        err = asn1_time(X509_get0_notBefore(x), &out->not_before);
    if (err == FWS_OK)
        err = asn1_time(X509_get0_notAfter(x), &out->not_after);
    if (err == FWS_OK)
        san_device(x, out->device_id, sizeof(out->device_id));
    return err;
}

static fws_err facts_pem(const char *path, cert_facts *out, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_err err = fws_file_read(path, ID_CERT_MAX, &data, &len, eb);
    if (err != FWS_OK)
        return err;
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    err = facts_of(x, out);
    X509_free(x);
    BIO_free(bio);
    free(data);
    return err == FWS_OK ? FWS_OK : fws_errf(eb, err, "%s: not a PEM certificate", path);
}

static fws_err spki_sha256_of(const fws_key *k, uint8_t out[FWS_SHA256_LEN])
{
    uint8_t *der = NULL;
    size_t len = 0;
    fws_err err = fws_key_spki_der(k, &der, &len);
    if (err == FWS_OK)
        fws_sha256(der, len, out);
    free(der);
    return err;
}

static int64_t due_at(int64_t (*renew_at)(int64_t, int64_t), int64_t nb, int64_t na)
{
    return renew_at != NULL ? renew_at(nb, na) : nb + (na - nb) / 3 * 2;
}

/* ---- the files ----------------------------------------------------------------------------- */

static fws_err id_path(const char *state_dir, const char *name, char *out, size_t cap)
{
    return snprintf(out, cap, "%s/" ID_DIR "%s%s", state_dir, name[0] ? "/" : "", name) < (int)cap
               ? FWS_OK
               : FWS_ERR_TOO_BIG;
}

fws_err fws_agent_identity_load(const char *state_dir, const fws_passphrase *pp, int64_t now,
                                int64_t (*renew_at)(int64_t, int64_t), fws_agent_identity *out,
                                fws_errbuf *eb)
{
    fws_agent_identity id;
    cert_facts f;
    fws_key *k = NULL;
    uint8_t key_spki[FWS_SHA256_LEN];
    memset(&id, 0, sizeof(id));
    if (now == 0)
        now = (int64_t)time(NULL);
    fws_err err = id_path(state_dir, "operational.crt", id.cert, sizeof(id.cert));
    if (err == FWS_OK)
        err = id_path(state_dir, "operational.key", id.key, sizeof(id.key));
    if (err == FWS_OK)
        err = facts_pem(id.cert, &f, eb);
    if (err == FWS_OK)
        err = fws_key_load_private(id.key, pp, &k, eb);
    if (err == FWS_OK)
        err = spki_sha256_of(k, key_spki);
    fws_key_free(k);
    if (err == FWS_OK && !fws_ct_eq(key_spki, f.spki_sha256, FWS_SHA256_LEN))
        err = fws_errf(eb, FWS_ERR_KEY_MISMATCH, "%s is not the key of %s", id.key, id.cert);
    if (err == FWS_OK && (now < f.not_before || now >= f.not_after))
        err = fws_errf(eb, FWS_ERR_EXPIRED, "%s is not valid now", id.cert);
    if (err != FWS_OK)
        return err;
    id.not_before = f.not_before;
    id.not_after = f.not_after;
    id.renew_at = due_at(renew_at, f.not_before, f.not_after);
    memcpy(id.device_id, f.device_id, sizeof(id.device_id));
    id.action = FWS_IDENTITY_KEPT;
    *out = id;
    return FWS_OK;
}

/* The issued certificate as PEM text (malloc'd), after checking it against the new key, the
 * device and the time. */
static fws_err judge_issued(const uint8_t *der, size_t len, const fws_key *k, const char *device,
                            int64_t now, char **pem, size_t *pem_len, cert_facts *f, fws_errbuf *eb)
{
    const unsigned char *p = der;
    uint8_t key_spki[FWS_SHA256_LEN];
    X509 *x = len <= ID_DER_MAX ? d2i_X509(NULL, &p, (long)len) : NULL;
    fws_err err =
        x != NULL && p == der + len && facts_of(x, f) == FWS_OK
            ? FWS_OK
            : fws_errf(eb, FWS_ERR_FORMAT, "EST: the server sent a malformed certificate");
    if (err == FWS_OK)
        err = spki_sha256_of(k, key_spki);
    if (err == FWS_OK && !fws_ct_eq(key_spki, f->spki_sha256, FWS_SHA256_LEN))
        err = fws_errf(eb, FWS_ERR_KEY_MISMATCH, "EST: the certificate is for another key");
    if (err == FWS_OK && strcmp(f->device_id, device) != 0)
        err = fws_errf(eb, FWS_ERR_KEY_MISMATCH,
                       "EST: the certificate names device \"%s\", not this device (%s)",
                       f->device_id, device);
    if (err == FWS_OK && (now < f->not_before || now >= f->not_after))
        err = fws_errf(eb, FWS_ERR_EXPIRED, "EST: the certificate is not valid now");
    BIO *mem = err == FWS_OK ? BIO_new(BIO_s_mem()) : NULL;
    char *data = NULL;
    long n = 0;
    if (err == FWS_OK &&
        (mem == NULL || PEM_write_bio_X509(mem, x) != 1 ||
         (n = BIO_get_mem_data(mem, &data)) <= 0 || (*pem = malloc((size_t)n)) == NULL))
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK) {
        memcpy(*pem, data, (size_t)n);
        *pem_len = (size_t)n;
    }
    BIO_free(mem);
    X509_free(x);
    return err;
}

/* Writes key and certificate under new names, then renames them into place: a cut between the
 * two renames leaves a pair that fws_agent_identity_load refuses (KEY_MISMATCH) and the next
 * update enrolls again. */
static fws_err install(const char *state_dir, const fws_key *k, const fws_passphrase *pp,
                       const char *pem, size_t pem_len, fws_errbuf *eb)
{
    char dir[PATH_MAX], key[PATH_MAX], crt[PATH_MAX], key_new[PATH_MAX], crt_new[PATH_MAX];
    fws_err err = FWS_OK;
    if (id_path(state_dir, "", dir, sizeof(dir)) != FWS_OK ||
        id_path(state_dir, "operational.key", key, sizeof(key)) != FWS_OK ||
        id_path(state_dir, "operational.crt", crt, sizeof(crt)) != FWS_OK ||
        id_path(state_dir, "operational.key.new", key_new, sizeof(key_new)) != FWS_OK ||
        id_path(state_dir, "operational.crt.new", crt_new, sizeof(crt_new)) != FWS_OK)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: path too long", state_dir);
    err = fws_mkdirs(dir, 0700, eb);
    if (err == FWS_OK)
        err = fws_key_save_private(k, key_new, pp, 1, eb);
    if (err == FWS_OK)
        err = fws_file_write_atomic(crt_new, pem, pem_len, 0644, 1, eb);
    if (err == FWS_OK && (rename(key_new, key) != 0 || rename(crt_new, crt) != 0))
        err = fws_errf(eb, FWS_ERR_IO, "%s: %s", dir, strerror(errno));
    if (err == FWS_OK)
        err = fws_dir_sync(dir, eb);
    return err;
}

/* One exchange: a new key, its CSR, the certificate, checked and installed. */
static fws_err exchange(const char *state_dir, const fws_agent_est_config *c, int renew,
                        const char *cert, const char *key, const char *device, int64_t now,
                        cert_facts *f, fws_errbuf *eb)
{
    fws_key *k = NULL;
    fws_signer s;
    uint8_t *csr = NULL, *der = NULL;
    size_t csr_len = 0, der_len = 0, pem_len = 0;
    char *pem = NULL;
    memset(&s, 0, sizeof(s));
    fws_err err = fws_key_generate(FWS_KEY_P256, &k);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot generate the operational key");
    if ((err = fws_signer_from_key(k, &s)) != FWS_OK) {
        fws_key_free(k);
        return fws_errf(eb, err, "cannot use the operational key");
    }
    err = c->enroller->csr(c->enroller->ctx, &s, &csr, &csr_len, eb);
    if (err == FWS_OK)
        err = c->enroller->enroll(c->enroller->ctx, renew, cert, key, csr, csr_len, &der, &der_len,
                                  eb);
    if (err == FWS_OK)
        err = judge_issued(der, der_len, k, device, now, &pem, &pem_len, f, eb);
    if (err == FWS_OK)
        err = install(state_dir, k, c->pp, pem, pem_len, eb);
    free(pem);
    free(der);
    free(csr);
    fws_signer_free(&s); /* frees k */
    return err;
}

static fws_err factory_device(const fws_agent_est_config *c, char *out, size_t cap, fws_errbuf *eb)
{
    cert_facts f;
    fws_err err = facts_pem(c->factory_cert, &f, eb);
    if (err == FWS_OK && f.device_id[0] == '\0')
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: no %sID URI", c->factory_cert, ID_URN);
    if (err == FWS_OK)
        snprintf(out, cap, "%s", f.device_id);
    return err;
}

/* Renews the current identity (cur not NULL) with itself; when there is none, or the server
 * will not renew it, enrolls with the factory identity. */
static fws_err renew_or_enroll(const char *state_dir, const fws_agent_est_config *c,
                               const fws_agent_identity *cur, const char *device, int64_t now,
                               cert_facts *f, fws_identity_action *action, fws_errbuf *eb)
{
    fws_errbuf renew_eb = {{0}}, enroll_eb = {{0}};
    fws_err err = cur == NULL
                      ? FWS_ERR_NOT_FOUND
                      : exchange(state_dir, c, 1, cur->cert, cur->key, device, now, f, &renew_eb);
    *action = FWS_IDENTITY_RENEWED;
    if (err == FWS_ERR_IO) /* the server cannot be reached: the factory identity would not do */
        return fws_errf(eb, err, "%s", renew_eb.msg);
    if (err == FWS_OK)
        return FWS_OK;
    *action = FWS_IDENTITY_ENROLLED;
    err = exchange(state_dir, c, 0, c->factory_cert, c->factory_key, device, now, f, &enroll_eb);
    if (err != FWS_OK && renew_eb.msg[0] != '\0')
        return fws_errf(eb, err, "%.300s (renewal: %.200s)", enroll_eb.msg, renew_eb.msg);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s", enroll_eb.msg);
    return FWS_OK;
}

fws_err fws_agent_identity_update(const char *state_dir, const fws_agent_est_config *c,
                                  fws_agent_identity *out, fws_errbuf *eb)
{
    fws_agent_identity cur, id;
    fws_errbuf why = {{0}};
    cert_facts f;
    if (c == NULL || c->enroller == NULL || c->enroller->csr == NULL ||
        c->enroller->enroll == NULL || c->factory_cert == NULL || c->factory_key == NULL ||
        c->pp == NULL)
        return fws_errf(eb, FWS_ERR_ARG,
                        "EST needs an enroller, the factory identity and the "
                        "passphrase of its key");
    int64_t now = c->now ? c->now : (int64_t)time(NULL);
    memset(&id, 0, sizeof(id));
    fws_err err = factory_device(c, id.device_id, sizeof(id.device_id), eb);
    if (err == FWS_OK && (id_path(state_dir, "operational.crt", id.cert, sizeof(id.cert)) ||
                          id_path(state_dir, "operational.key", id.key, sizeof(id.key))))
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "%s: path too long", state_dir);
    if (err != FWS_OK)
        return err;
    fws_err have =
        fws_agent_identity_load(state_dir, c->pp, now, c->enroller->renew_at, &cur, &why);
    if (have == FWS_ERR_PASSPHRASE || have == FWS_ERR_IO || have == FWS_ERR_NOMEM)
        return fws_errf(eb, have, "%s", why.msg);
    if (have == FWS_OK && strcmp(cur.device_id, id.device_id) != 0)
        have = FWS_ERR_KEY_MISMATCH; /* another device's identity: enroll this one */
    if (have == FWS_OK && !c->force && now < cur.renew_at) {
        *out = cur;
        return FWS_OK;
    }
    err = renew_or_enroll(state_dir, c, have == FWS_OK ? &cur : NULL, id.device_id, now, &f,
                          &id.action, eb);
    if (err != FWS_OK)
        return err;
    id.not_before = f.not_before;
    id.not_after = f.not_after;
    id.renew_at = due_at(c->enroller->renew_at, f.not_before, f.not_after);
    *out = id;
    return FWS_OK;
}
